/* oas_proto.h — the OAuth protocol logic of the core: each endpoint takes an
 * HTTP request described in plain C and returns the complete response
 * (status, headers, body). The httpd glue only copies in and out. */
#ifndef OAS_PROTO_H
#define OAS_PROTO_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include <apr_atomic.h>
#include <jansson.h>
#include "oas_log.h"
#include "oas_scope.h"
#include "oas_registry.h"
#include "oas_store.h"
#include "oas_token.h"

#define OAS_PKCE_PUBLIC 0
#define OAS_PKCE_ALL    1
#define OAS_PKCE_OFF    2

/* access token formats (OAuthASAccessTokenFormat, a client's access_token_format) */
#define OAS_FORMAT_OPAQUE 0
#define OAS_FORMAT_JWT    1

typedef struct oas_jose_key_t oas_jose_key_t;   /* oas_jose.h */

/* OAuth error codes, as indexes of the error counters */
typedef enum {
    OAS_ERR_INVALID_REQUEST = 0,
    OAS_ERR_INVALID_CLIENT,
    OAS_ERR_INVALID_GRANT,
    OAS_ERR_UNAUTHORIZED_CLIENT,
    OAS_ERR_UNSUPPORTED_GRANT_TYPE,
    OAS_ERR_INVALID_SCOPE,
    OAS_ERR_ACCESS_DENIED,
    OAS_ERR_UNSUPPORTED_RESPONSE_TYPE,
    OAS_ERR_SERVER_ERROR,
    OAS_ERR_TEMPORARILY_UNAVAILABLE,
    OAS_ERR_INVALID_TOKEN,
    OAS_ERR_INSUFFICIENT_SCOPE,
    OAS_ERR_INVALID_TARGET,          /* RFC 8707 §2 */
    OAS_ERR_AUTHORIZATION_PENDING,    /* RFC 8628 §3.5 */
    OAS_ERR_SLOW_DOWN,
    OAS_ERR_EXPIRED_TOKEN,
    OAS_ERR_INVALID_DPOP_PROOF,       /* RFC 9449 §5, §7.1 */
    OAS_ERR_USE_DPOP_NONCE,           /* RFC 9449 §8 */
    OAS_ERR_MAX
} oas_error_t;

const char *oas_error_name(oas_error_t e);

/* grant counter indexes */
#define OAS_CNT_GRANT_AUTHORIZATION_CODE 0
#define OAS_CNT_GRANT_IMPLICIT           1
#define OAS_CNT_GRANT_CLIENT_CREDENTIALS 2
#define OAS_CNT_GRANT_PASSWORD           3
#define OAS_CNT_GRANT_REFRESH_TOKEN      4
#define OAS_CNT_GRANT_DEVICE_CODE        5
#define OAS_CNT_GRANT_MAX                6

/* Counters shared by all processes (in shared memory, apr_atomic). */
#define OAS_RL_BUCKETS 256

typedef struct oas_counters_t {
    volatile apr_uint32_t issued[OAS_CNT_GRANT_MAX];   /* access tokens issued per grant */
    volatile apr_uint32_t errors[OAS_ERR_MAX];        /* error answers per code */
    volatile apr_uint32_t codes_issued;
    volatile apr_uint32_t introspections;
    volatile apr_uint32_t revocations;
    volatile apr_uint32_t bearer_ok;
    volatile apr_uint32_t bearer_refused;
    volatile apr_uint32_t purges;                     /* purge runs */
    volatile apr_uint32_t auth_lockouts;              /* clients/users locked (limit reached) */
    volatile apr_uint32_t auth_refused;               /* attempts refused while locked (429) */
    /* brute-force limits failing closed (oas_ratelimit.c): until when (seconds
     * since the epoch) names whose counter key falls in a bucket are refused
     * unchecked, after a failure there could not be counted */
    volatile apr_uint32_t auth_uncounted_until[OAS_RL_BUCKETS];
} oas_counters_t;

/* password grant: checks username/password through httpd's authn providers */
#define OAS_PW_GRANTED   0
#define OAS_PW_DENIED    1    /* wrong password or unknown user */
#define OAS_PW_ERROR     2    /* provider failure */
#define OAS_PW_NONE      3    /* no OAuthASPasswordProvider configured */
typedef int oas_password_fn(void *baton, const char *user, const char *password);

/* The effective settings of one virtual host. */
typedef struct oas_config_t {
    const char *issuer;
    const oas_registry_t *registry;   /* NULL: no OAuthASClients, nothing is issued */
    const oas_scopes_t *scopes;
    oas_store_t *store;
    oas_counters_t *counters;         /* may be NULL */
    long long code_lifetime;
    long long access_lifetime;        /* 0 = never */
    long long refresh_lifetime;       /* 0 = never */
    int require_https;
    int require_post;
    int require_pkce;                 /* OAS_PKCE_* */
    /* brute-force limits (OAuthASAuthFailLimit, OAuthASAuthFailLockout):
     * fail_limit failures, each less than fail_window seconds after the one
     * before, lock the client id or user name for fail_lockout seconds;
     * fail_limit 0: off */
    int fail_limit;
    int fail_window;
    int fail_lockout;
    /* approval page (OAuthASApprovalPage); NULL: built-in text */
    const char *page_title;
    const char *page_heading;
    const char *page_logo;            /* URL of a logo image, or NULL */
    const char *page_footer;
    /* HMAC key for CSRF tokens of the approval form (OAuthASCSRFKeyFile, or
     * random per server start) */
    const unsigned char *csrf_key;
    apr_size_t csrf_key_len;
    /* absolute URLs of the endpoints as mapped with SetHandler; NULL if unmapped */
    const char *url_authorize;
    const char *url_token;
    const char *url_introspect;
    const char *url_revoke;
    const char *url_metadata;
    const char *url_status;
    /* resource indicators (SPEC §11, oas_resource.h) */
    const apr_array_header_t *resources;   /* const char *: every URI of OAuthASResource
                                            * and OAuthASProtectedResource; NULL: none */
    const char *default_resource;          /* OAuthASDefaultResource; NULL: the issuer */
    const apr_array_header_t *protected_resources;  /* const char *: OAuthASProtectedResource
                                                     * URIs of this server; NULL: none */
    const char *url_jwks;
    /* signing keys (OAuthASSigningKey): [0] signs, all are published */
    oas_jose_key_t *const *signing_keys;
    int nsigning_keys;
    const char *jwks_text;            /* the JWK Set of their public keys */
    int token_format;                 /* OAS_FORMAT_*: OAuthASAccessTokenFormat */

    /* the device grant (RFC 8628): OAuthASDeviceCodeLifetime,
     * OAuthASDevicePollInterval, and its two endpoints' URLs */
    long long device_lifetime;
    int device_interval;
    const char *url_device_authorization;
    const char *url_device;
    const char *url_par;              /* oauth-as-par; NULL: PAR is off */
    /* pushed authorization requests, RFC 9126 (OAuthASRequirePAR, OAuthASPARLifetime) */
    int require_par;
    long long par_lifetime;           /* seconds a request_uri lives */
    /* OAuthASRefreshReuseWindow: seconds after a refresh token's first use in
     * which its client may present it again; 0: strict rotation */
    long long refresh_reuse_window;

    /* dynamic registration (RFC 7591, SPEC §12): OAuthASRegistrationGrants
     * (OAS_GRANT_* bits; OAS_GRANT_REFRESH_TOKEN allows refresh tokens),
     * OAuthASRegistrationScopes (NULL: every defined scope),
     * OAuthASRegistrationLimit, OAuthASRegistrationMaxIdle (0: never), and the
     * endpoint's URL */
    unsigned reg_grants;
    const apr_array_header_t *reg_scopes;
    long reg_limit;
    long long reg_max_idle;
    const char *url_register;
    /* DPoP (RFC 9449): OAuthASDPoPNonce, the server nonces required in proofs */
    int dpop_nonce;

    /* client metadata documents (SPEC §12, oas_cimd.h): OAuthASClientMetadataDocuments
     * (on, and the address ranges allowed besides public ones: oas_cidr_t of
     * oas_fetch.h), OAuthASOutboundCA (NULL: the system's CA store) */
    int cimd;
    const apr_array_header_t *cimd_nets;
    const char *outbound_ca;
} oas_config_t;

/* An HTTP request as the core sees it. */
typedef struct oas_http_req_t {
    const char *method;            /* "POST", "GET", ... */
    int is_https;
    const char *content_type;      /* NULL if none */
    const char *body;              /* NULL if none */
    apr_size_t body_len;
    int body_too_large;            /* the glue stopped reading above OAS_FORM_MAX_BODY */
    int body_unreadable;           /* the glue could not read the body (malformed, too slow) */
    const char *query;             /* query string or NULL */
    const char *path;              /* URL-path of the request (r->uri), without query */
    const char *authorization;     /* Authorization header or NULL */
    const char *dpop;              /* DPoP header (RFC 9449) or NULL */
    int dpop_count;                /* how many DPoP headers the request had */
    const char *user;              /* authorize endpoint: r->user, NULL if none */
    oas_password_fn *check_password;
    void *password_baton;
    int password_cache;            /* seconds a granted password is remembered; 0: never */
    const char *password_context;  /* what checks it (vhost, Location, providers): the
                                    * cache's context (oas_credcache_recall) */
    oas_logger_t log;
    long long now;                 /* seconds; 0: the core takes the clock */
    const char *remote_ip;         /* the client's address (r->useragent_ip); NULL if unknown */
    const char *client_cert;       /* the TLS client certificate of the connection (PEM, from
                                    * mod_ssl; never from a header); NULL: none */
    int client_cert_verified;      /* mod_ssl verified it against SSLCACertificateFile */
} oas_http_req_t;

/* A complete HTTP response. */
typedef struct oas_response_t {
    int status;
    const char *content_type;      /* NULL for no body */
    const char *body;
    apr_size_t body_len;
    apr_table_t *headers;          /* extra headers: Cache-Control, WWW-Authenticate, Allow, Location, ... */
    oas_error_t error;             /* OAS_ERR_MAX when not an error */
    const char *log_note;          /* short reason for the error log (no secrets) */
} oas_response_t;

/* An OAuth JSON error answer (RFC 6749 §5.2): the one error writer. */
oas_response_t *oas_response_error(apr_pool_t *p, const oas_config_t *cfg, int status,
                                   oas_error_t err, const char *description);
/* 404 without a body: the glue answers with httpd's own Not Found page. */
oas_response_t *oas_response_not_found(apr_pool_t *p);
/* Serialise a jansson object (compact, in insertion order) into p; frees o. */
const char *oas_json_dump(json_t *o, apr_pool_t *p);

/* Counters of issued tokens per grant and of errors per code (no-ops
 * without counters), oas_response.c. */
void oas_count_issued(const oas_config_t *cfg, unsigned grant);
void oas_count_error(const oas_config_t *cfg, oas_error_t err);

/* Seconds since the epoch for this request (req->now, or the clock),
 * oas_request.c. */
long long oas_req_now(const oas_http_req_t *req);

/* A JSON answer with Cache-Control: no-store. */
oas_response_t *oas_response_json(apr_pool_t *p, int status, const char *json);

/* The endpoints. Each never returns NULL. */
/* token endpoint, SPEC §5 */
oas_response_t *oas_token_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                   apr_pool_t *p);
/* authorization endpoint, SPEC §4: GET/POST request → approval page (HTML);
 * POST with decision → redirect. req->user is the authenticated resource owner. */
oas_response_t *oas_authorize_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                       apr_pool_t *p);
/* pushed authorization requests, RFC 9126 (oas_ep_par.c) */
oas_response_t *oas_par_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                 apr_pool_t *p);
/* introspection, RFC 7662 */
oas_response_t *oas_introspect_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                        apr_pool_t *p);
/* revocation, RFC 7009 */
oas_response_t *oas_revoke_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p);
/* metadata, RFC 8414 */
oas_response_t *oas_metadata_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                      apr_pool_t *p);
/* protected resource metadata, RFC 9728: the document of the
 * OAuthASProtectedResource whose well-known path is req->path, else 404 */
oas_response_t *oas_resource_metadata_endpoint(const oas_config_t *cfg,
                                               const oas_http_req_t *req, apr_pool_t *p);

/* the public signing keys, a JWK Set (RFC 7517 §5) */
oas_response_t *oas_jwks_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                  apr_pool_t *p);

/* device authorization endpoint (RFC 8628 §3.1) and the verification page
 * (§3.3; req->user is the signed-in user), src/endpoints/oas_ep_device.c */
oas_response_t *oas_device_authorization_endpoint(const oas_config_t *cfg,
                                                  const oas_http_req_t *req, apr_pool_t *p);
oas_response_t *oas_device_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p);
/* dynamic client registration (RFC 7591) and, on the endpoint's URL + "/" +
 * client_id, client management (RFC 7592), src/endpoints/oas_ep_register.c */
oas_response_t *oas_register_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                      apr_pool_t *p);
/* status: store and counters as JSON */
oas_response_t *oas_status_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p);

/* Resource-server check of a bearer token (SPEC §7). */
#define OAS_BEARER_OK           0
#define OAS_BEARER_NONE         1   /* no Authorization: Bearer header */
#define OAS_BEARER_INVALID      2   /* malformed, unknown, expired, revoked, disabled client */
#define OAS_BEARER_UNAVAILABLE  3   /* the store failed */
typedef struct oas_bearer_t {
    int result;                 /* OAS_BEARER_* */
    int dpop;                   /* the scheme was DPoP (RFC 9449 §7.1) */
    int bad_proof;              /* INVALID because of the DPoP proof: invalid_dpop_proof */
    const char *error_description;
    oas_token_t token;          /* when OK: client_id, username, scope, exp */
} oas_bearer_t;

/* Check the Authorization header value (NULL if absent). */
void oas_bearer_check(oas_bearer_t *out, const oas_config_t *cfg, const char *authorization,
                      const oas_logger_t *log, apr_pool_t *p);

/* A request at a resource, for the check of Bearer and DPoP tokens. */
typedef struct oas_rs_req_t {
    const char *authorization;  /* NULL if absent */
    const char *dpop;           /* DPoP header or NULL */
    int dpop_count;
    const char *method;
    const char *url;            /* this request's URL without query (the proof's htu) */
    int require_dpop;           /* only DPoP-bound tokens with a valid proof */
    const char *client_cert;    /* the connection's TLS client certificate (PEM) or NULL */
    long long now;
} oas_rs_req_t;

/* Bearer (not DPoP-bound tokens only, unless require_dpop) or DPoP
 * (RFC 9449 §7: a bound token, a proof of its key with htm, htu and ath of
 * this request, jti single use). */
void oas_token_check(oas_bearer_t *out, const oas_config_t *cfg, const oas_rs_req_t *rq,
                     const oas_logger_t *log, apr_pool_t *p);

#endif
