/* oas_registry.h — the client registry (OAuthASClients), JSON, SPEC §3. */
#ifndef OAS_REGISTRY_H
#define OAS_REGISTRY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include "oas_scope.h"

#define OAS_GRANT_AUTHORIZATION_CODE  0x01
#define OAS_GRANT_IMPLICIT            0x02
#define OAS_GRANT_CLIENT_CREDENTIALS  0x04
#define OAS_GRANT_PASSWORD            0x08
#define OAS_GRANT_REFRESH_TOKEN       0x10   /* only as a counter index, never in a registry */
#define OAS_GRANT_DEVICE_CODE         0x20   /* urn:ietf:params:oauth:grant-type:device_code */

#define OAS_CLIENT_ID_MAX     128
#define OAS_REDIRECT_URI_MAX  512
#define OAS_NAME_MAX          200

typedef struct oas_client_t {
    const char *client_id;
    const char *name;                    /* defaults to client_id */
    int confidential;                    /* 1: "confidential", 0: "public" */
    const char *secret_hash;             /* confidential only; apr_password_validate() form */
    apr_array_header_t *redirect_uris;   /* const char * */
    unsigned grants;                     /* OAS_GRANT_* bits */
    apr_array_header_t *scopes;          /* const char *, each defined */
    long long access_token_lifetime;     /* seconds; -1 = not set (use the server's); 0 = never */
    int refresh_limit;                   /* 0 none, -1 unlimited, N */
    int enabled;                         /* default 1 */
    apr_array_header_t *resources;       /* const char *: resources it may name (RFC 8707);
                                          * NULL: every declared one */
    int access_token_format;             /* OAS_FORMAT_* of oas_proto.h; -1 = not set (the server's) */
    int require_par;                     /* require_pushed_authorization_requests (RFC 9126) */
    /* self-registered clients only (RFC 7591, oas_dynclient.h); 0/NULL for the registry's */
    int self_registered;
    long long reg_issued_at;             /* client_id_issued_at */
    long long reg_exp;                   /* the store entry's expiry (0: never) */
    const char *reg_token_digest;        /* hex SHA-256 of the registration access token */
    const char *reg_metadata;            /* the registered metadata, JSON text */
    const char *reg_record;              /* the store record (payload) as read */
    int auth_method;                     /* OAS_AUTH_*: token_endpoint_auth_method */
    const void *jwks;                    /* json_t *: its public keys ({"keys": [...]}), or NULL */
    int dpop_bound;                      /* dpop_bound_access_tokens */
    const char *tls_subject_dn;          /* tls_client_auth_subject_dn (RFC 4514) */
    int tls_bound;                       /* tls_client_certificate_bound_access_tokens */
} oas_client_t;

/* token_endpoint_auth_method (SPEC §3, §5) */
#define OAS_AUTH_NONE                0   /* public clients */
#define OAS_AUTH_CLIENT_SECRET_BASIC 1   /* confidential default */
#define OAS_AUTH_CLIENT_SECRET_POST  2
#define OAS_AUTH_PRIVATE_KEY_JWT     3
#define OAS_AUTH_TLS_CLIENT_AUTH     4   /* RFC 8705 §2.1 */
#define OAS_AUTH_SELF_SIGNED_TLS     5   /* RFC 8705 §2.2: self_signed_tls_client_auth */

typedef struct oas_registry_t oas_registry_t;

/* Parse and validate registry JSON text. source names the file in messages.
 * scopes: the defined scopes every client scope must be among; NULL skips
 * that check. On failure returns APR_EINVAL (or the read error) and *perr
 * names the file, the client and the field, e.g.
 *   "/etc/apache2/clients.json: client 'webapp': field 'redirect_uris': ..."
 * Rules: see SPEC §3 and README "Client registry". */
apr_status_t oas_registry_parse(oas_registry_t **preg, const char *text, apr_size_t len,
                                const char *source, const oas_scopes_t *scopes,
                                apr_pool_t *p, const char **perr);

/* Read the file at path and parse it as above. */
apr_status_t oas_registry_load(oas_registry_t **preg, const char *path,
                               const oas_scopes_t *scopes, apr_pool_t *p, const char **perr);

/* The client with this id, or NULL. Disabled clients are returned too. */
const oas_client_t *oas_registry_get(const oas_registry_t *reg, const char *client_id);

/* All clients in file order (const oas_client_t *). */
const apr_array_header_t *oas_registry_clients(const oas_registry_t *reg);

/* The hash whose check an unknown client id (or a public client presenting
 * a secret) pays instead of a known one's: the scheme and cost of the
 * registry's costliest secret (a bcrypt cost-12 client: a cost-12 bcrypt
 * hash nobody knows the secret of), at least cost-5 bcrypt. Made once, when
 * the registry is parsed. reg may be NULL. Never check it through the
 * credential cache (an unknown id must pay in full, and take no entry). */
const char *oas_registry_dummy_hash(const oas_registry_t *reg);

/* The source text it was parsed from (kept so a graceful restart can fall back to it). */
const char *oas_registry_text(const oas_registry_t *reg);

/* "authorization_code" -> OAS_GRANT_AUTHORIZATION_CODE, ... ; 0 if unknown. */
unsigned oas_grant_from_name(const char *name);
const char *oas_grant_name(unsigned grant);

/* 1 if uri is acceptable as a registered redirect URI: absolute, a scheme
 * of [A-Za-z][A-Za-z0-9+.-]*, no fragment, no whitespace or control
 * characters, not javascript:/data:/vbscript:/file:, at most
 * OAS_REDIRECT_URI_MAX bytes; http only for loopback hosts. */
int oas_redirect_uri_valid(const char *uri, const char **pwhy);

/* Check a secret against the client's hash (apr_password_validate).
 * 1 if it matches; 0 for public clients, NULL secret or mismatch. */
int oas_client_check_secret(const oas_client_t *c, const char *secret);

#endif
