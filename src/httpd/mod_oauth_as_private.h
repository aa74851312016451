/* mod_oauth_as_private.h — what the glue files share. Only the glue
 * (mod_oauth_as.c, src/httpd/mod_oauth_as_*.c) includes httpd headers. */
#ifndef MOD_OAUTH_AS_PRIVATE_H
#define MOD_OAUTH_AS_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include "oas_proto.h"

extern module AP_MODULE_DECLARE_DATA oauth_as_module;

#define OAS_MUTEX_TYPE OAS_STORE_MUTEX_TYPE

/* The default OAuthASStoreFile, under ServerRoot: in a directory the module
 * makes (until issue 12: "oauth_as/store", in a directory shared with
 * whatever else was there, which the module gave to User). */
#define OAS_DEF_STORE_FILE     "oauth_as/store/tokens"
#define OAS_OLD_DEF_STORE_FILE "oauth_as/store"
#define OAS_UNSET -1
#define OAS_PASSWORD_CACHE_MAX 3600   /* OAuthASPasswordCache: most seconds */

/* Server-wide settings (server config, virtual host). -1/NULL: not set here. */
typedef struct oas_srv_conf_t {
    const char *issuer;               /* OAuthASIssuer */
    const char *clients_path;         /* OAuthASClients */
    oas_scopes_t *scopes;             /* OAuthASScope, merged */
    const char *store_spec;           /* OAuthASStore */
    const char *store_file;           /* OAuthASStoreFile */
    int store_memory;                 /* OAuthASStoreMemory */
    int store_disk;                   /* OAuthASStoreDisk */
    const char *redis_prefix;         /* OAuthASRedisPrefix */
    int redis_timeout;                /* OAuthASRedisTimeout, seconds */
    int redis_pool[4];                /* OAuthASRedisPool min, smax, max, ttl (OAS_UNSET each) */
    int require_https;                /* OAuthASRequireHTTPS */
    int require_post;                 /* OAuthASRequirePost */
    long long code_lifetime;          /* OAuthASCodeLifetime */
    long long access_lifetime;        /* OAuthASAccessTokenLifetime */
    long long refresh_lifetime;       /* OAuthASRefreshTokenLifetime */
    int require_pkce;                 /* OAuthASRequirePKCE */
    apr_table_t *page;                /* OAuthASApprovalPage title|heading|logo|footer */
    const char *csrf_key_file;        /* OAuthASCSRFKeyFile */
    int fail_limit;                   /* OAuthASAuthFailLimit N (0: Off) */
    int fail_window;                  /* OAuthASAuthFailLimit ... SECONDS */
    int fail_lockout;                 /* OAuthASAuthFailLockout */
    apr_array_header_t *resources;    /* OAuthASResource: const char *, merged (union) */
    const char *default_resource;     /* OAuthASDefaultResource */
    apr_array_header_t *protected;    /* every OAuthASProtectedResource of this server's
                                       * sections (recorded when read), merged (union) */
    apr_array_header_t *signing_key_paths; /* OAuthASSigningKey: const char * */
    int token_format;                 /* OAuthASAccessTokenFormat: OAS_FORMAT_* */
    long long device_lifetime;        /* OAuthASDeviceCodeLifetime */
    int device_interval;              /* OAuthASDevicePollInterval */
    int require_par;                  /* OAuthASRequirePAR */
    long long par_lifetime;           /* OAuthASPARLifetime */
    long long refresh_window;         /* OAuthASRefreshReuseWindow */
    int reg_grants;                   /* OAuthASRegistrationGrants: OAS_GRANT_* bits */
    apr_array_header_t *reg_scopes;   /* OAuthASRegistrationScopes: const char * */
    long long reg_limit;              /* OAuthASRegistrationLimit */
    long long reg_max_idle;           /* OAuthASRegistrationMaxIdle */
    int dpop_nonce;                   /* OAuthASDPoPNonce */
    int cimd;                         /* OAuthASClientMetadataDocuments On|Off */
    apr_array_header_t *cimd_nets;    /* ... its ranges: oas_cidr_t */
    const char *outbound_ca;          /* OAuthASOutboundCA */
    /* filled in check_config / post_config */
    apr_array_header_t *signing_keys; /* oas_jose_key_t *, loaded from signing_key_paths */
    const oas_registry_t *registry;
    oas_config_t *rt;                 /* the effective settings the core uses */
} oas_srv_conf_t;

/* A virtual host's settings (inline: every glue file uses it) */
static inline oas_srv_conf_t *oas_srv_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &oauth_as_module);
}

/* Directory settings. */
typedef struct oas_dir_conf_t {
    apr_array_header_t *pw_providers; /* OAuthASPasswordProvider: const char * */
    int pw_cache;                     /* OAuthASPasswordCache seconds + 1; 0: unset */
    const char *protected_resource;   /* OAuthASProtectedResource URI */
    const char *prm_url;              /* ... and the URL of its metadata document */
    int require_dpop;                 /* OAuthASRequireDPoP: 0 unset, 1 Off, 2 On */
} oas_dir_conf_t;

/* mod_oauth_as_config.c */
extern const command_rec oas_cmds[];

/* the registration directives (mod_oauth_as_register.c) */
const char *oas_set_reg_grants(cmd_parms *cmd, void *dc, const char *arg);
const char *oas_set_reg_scopes(cmd_parms *cmd, void *dc, const char *arg);
const char *oas_set_reg_number(cmd_parms *cmd, void *dc, const char *arg);
const char *oas_set_cimd(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *oas_set_outbound_ca(cmd_parms *cmd, void *dc, const char *arg);
void oas_runtime_cimd(oas_config_t *rt, const oas_srv_conf_t *sc);
void oas_runtime_registration(oas_config_t *rt, const oas_srv_conf_t *sc);
void *oas_create_srv_conf(apr_pool_t *p, server_rec *s);
void *oas_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
void *oas_create_dir_conf(apr_pool_t *p, char *dir);
void *oas_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
int oas_load_registries(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* mod_oauth_as_check.c: the check_config hook */
int oas_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void oas_store_settings(const oas_srv_conf_t *sc, apr_pool_t *p, const char **ppath,
                        int *pmem, int *pdisk);
oas_config_t *oas_runtime_config(server_rec *s, oas_srv_conf_t *sc, apr_pool_t *p);
void oas_redis_settings(const oas_srv_conf_t *sc, apr_pool_t *p, oas_store_redis_conf_t *c);
apr_status_t oas_load_csrf_key(server_rec *s, oas_srv_conf_t *sc, oas_config_t *rt,
                               apr_pool_t *p);

/* mod_oauth_as_log.c: the core's logger on httpd's error log */
void oas_server_logger(oas_logger_t *lg, server_rec *s);
void oas_request_logger(oas_logger_t *lg, request_rec *r);

/* mod_oauth_as_store.c */
int oas_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
/* mod_oauth_as_store.c: the default stores' directories (check_config) */
int oas_check_store_dirs(server_rec *s, apr_pool_t *ptemp);
int oas_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void oas_child_init(apr_pool_t *p, server_rec *s);
int oas_monitor(apr_pool_t *p, server_rec *s);

/* mod_oauth_as_socache.c: the store of OAuthASStore socache:PROVIDER[:ARGS],
 * made in post_config for this generation; NULL (logged) on failure */
oas_store_t *oas_socache_store(server_rec *s, const oas_srv_conf_t *sc, apr_pool_t *pconf,
                               apr_pool_t *ptemp);
const char *oas_socache_check_spec(apr_pool_t *p, const char *spec);

/* mod_oauth_as_keys.c */
const char *oas_set_signing_key(cmd_parms *cmd, void *dc, const char *arg);
const char *oas_set_token_format(cmd_parms *cmd, void *dc, const char *arg);
int oas_check_signing_keys(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
void oas_runtime_keys(server_rec *s, oas_config_t *rt, const oas_srv_conf_t *sc,
                      apr_pool_t *p);

/* mod_oauth_as_urls.c */
void oas_find_endpoint_urls(server_rec *main_s, apr_pool_t *p);

/* mod_oauth_as_rs.c */
void oas_register_rs_hooks(apr_pool_t *p);

/* mod_oauth_as_status.c */
void oas_register_status_hook(void);

/* mod_oauth_as_http.c */
/* 1 when the client reached this request over TLS: the connection is TLS
 * (mod_ssl), or the server says its scheme is https (ServerName https://...,
 * TLS terminated in front of httpd). What OAuthASRequireHTTPS asks for, at
 * the endpoints and at the access hook alike. */
int oas_request_is_https(request_rec *r);

/* The DPoP request header (the first), and in *pcount how many there were. */
const char *oas_request_dpop(request_rec *r, int *pcount);
/* the connection's TLS client certificate (PEM) from mod_ssl, or NULL;
 * *pverified: SSL_CLIENT_VERIFY is SUCCESS */
const char *oas_request_client_cert(request_rec *r, int *pverified);
int oas_handler(request_rec *r);
int oas_send_response(request_rec *r, const oas_response_t *resp);

#endif
