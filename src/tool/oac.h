/* oac.h — oauth-as-client, the administrator's tool (in the spirit of
 * htpasswd): client registry editing and token administration. It links the
 * core library only: the registry is validated by oas_registry_parse(), the
 * store is the module's own (oas_store_default_attach()). */
#ifndef OAC_H
#define OAC_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "oas_registry.h"
#include "oas_scope.h"

#define OAC_OK     0
#define OAC_ERROR  1      /* bad input, invalid registry, store failure: nothing changed */
#define OAC_USAGE  2      /* bad command line */

#define OAC_BCRYPT_COST 5
#define OAC_SECRET_BYTES 32

/* Everything the command line says. */
typedef struct oac_opts_t {
    apr_pool_t *p;
    const char *cmd;
    apr_array_header_t *args;          /* positional arguments after the command */
    int help;
    unsigned given;                    /* OPT_* bits of the options seen */
    /* where */
    const char *registry;              /* -r, or OAuthASClients of -f */
    const char *config;                /* -f */
    const char *store;                 /* -s, or OAuthASStoreFile of -f */
    apr_array_header_t *defined;       /* -S NAME: defined scopes */
    oas_scopes_t *scope_defs;          /* from -S and -f; NULL: scopes not checked */
    /* client fields (add, set); lists NULL when not given */
    const char *name;
    const char *type;
    const char *comment;
    apr_array_header_t *redirect_uris;
    apr_array_header_t *grants;
    apr_array_header_t *scopes;
    const char *lifetime;              /* seconds, or "default" */
    const char *refresh_limit;
    int cost;                          /* bcrypt cost */
    /* token filters */
    const char *client;
    const char *user;
} oac_opts_t;

/* option bits (which options a command takes) */
#define OPT_REGISTRY   0x0001
#define OPT_CONFIG     0x0002
#define OPT_DEFINED    0x0004
#define OPT_STORE      0x0008
#define OPT_NAME       0x0010
#define OPT_TYPE       0x0020
#define OPT_COMMENT    0x0040
#define OPT_REDIRECT   0x0080
#define OPT_GRANT      0x0100
#define OPT_SCOPE      0x0200
#define OPT_LIFETIME   0x0400
#define OPT_REFRESH    0x0800
#define OPT_COST       0x1000
#define OPT_CLIENT     0x2000
#define OPT_USER       0x4000

/* Print "oauth-as-client: ..." to stderr; returns OAC_ERROR. */
int oac_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* oac_config.c: read OAuthASScope / OAuthASClients / OAuthASStoreFile from -f. */
int oac_read_config(oac_opts_t *o);

/* oac_registry.c: the registry commands */
int oac_cmd_add(oac_opts_t *o);
int oac_cmd_list(oac_opts_t *o);
int oac_cmd_show(oac_opts_t *o);
int oac_cmd_set(oac_opts_t *o);
int oac_cmd_enable(oac_opts_t *o);
int oac_cmd_disable(oac_opts_t *o);
int oac_cmd_rotate(oac_opts_t *o);
int oac_cmd_remove(oac_opts_t *o);

/* oac_regfile.c: locked, validated, atomic registry file updates */
typedef int oac_edit_fn(oac_opts_t *o, json_t *root, void *baton);
/* Lock the registry, load it (create = start from an empty one when it does
 * not exist), validate it, let edit change the tree, validate the result with
 * the module's parser, write it atomically. Nothing changes on any error. */
int oac_registry_update(oac_opts_t *o, int create, oac_edit_fn *edit, void *baton);
/* Load and validate the registry for reading; *preg for the client view. */
int oac_registry_read(oac_opts_t *o, oas_registry_t **preg);
/* The client object with this id in root's "clients", or NULL. */
json_t *oac_find_client(json_t *root, const char *client_id, size_t *pindex);

/* oac_keys.c: keygen ec|rsa|ed25519 FILE */
int oac_cmd_keygen(oac_opts_t *o);

/* oac_tokens.c: the token commands */
int oac_cmd_tokens(oac_opts_t *o);

/* The default store at o->store: the running httpd's, or the files alone
 * (*poffline = 1), oac_tokens.c. */
typedef struct oas_store_t oas_store_t;
int oac_open_store(oac_opts_t *o, oas_store_t **ps, int *poffline);

/* Self-registered clients (RFC 7591) in the store, oac_dynclients.c: list
 * them; remove one (and its tokens): OAC_OK, or *pfound 0 when none has
 * that id. */
int oac_dynclients_list(oac_opts_t *o);
int oac_dynclients_remove(oac_opts_t *o, const char *client_id, int *pfound);
int oac_cmd_revoke_tokens(oac_opts_t *o);
int oac_cmd_purge(oac_opts_t *o);

#endif
