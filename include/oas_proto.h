/* oas_proto.h — the OAuth protocol logic of the core: each endpoint takes an
 * HTTP request described in plain C and returns the complete response
 * (status, headers, body). The httpd glue only copies in and out. */
#ifndef OAS_PROTO_H
#define OAS_PROTO_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include <apr_atomic.h>
#include "oas_log.h"
#include "oas_scope.h"
#include "oas_registry.h"
#include "oas_store.h"
#include "oas_token.h"

#define OAS_PKCE_PUBLIC 0
#define OAS_PKCE_ALL    1
#define OAS_PKCE_OFF    2

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
    OAS_ERR_MAX
} oas_error_t;

const char *oas_error_name(oas_error_t e);

/* grant counter indexes */
#define OAS_CNT_GRANT_AUTHORIZATION_CODE 0
#define OAS_CNT_GRANT_IMPLICIT           1
#define OAS_CNT_GRANT_CLIENT_CREDENTIALS 2
#define OAS_CNT_GRANT_PASSWORD           3
#define OAS_CNT_GRANT_REFRESH_TOKEN      4
#define OAS_CNT_GRANT_MAX                5

/* Counters shared by all processes (in shared memory, apr_atomic). */
typedef struct oas_counters_t {
    volatile apr_uint32_t issued[OAS_CNT_GRANT_MAX];   /* access tokens issued per grant */
    volatile apr_uint32_t errors[OAS_ERR_MAX];        /* error answers per code */
    volatile apr_uint32_t codes_issued;
    volatile apr_uint32_t introspections;
    volatile apr_uint32_t revocations;
    volatile apr_uint32_t bearer_ok;
    volatile apr_uint32_t bearer_refused;
    volatile apr_uint32_t purges;                     /* purge runs */
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
} oas_config_t;

/* An HTTP request as the core sees it. */
typedef struct oas_http_req_t {
    const char *method;            /* "POST", "GET", ... */
    int is_https;
    const char *content_type;      /* NULL if none */
    const char *body;              /* NULL if none */
    apr_size_t body_len;
    int body_too_large;            /* the glue stopped reading above OAS_FORM_MAX_BODY */
    const char *query;             /* query string or NULL */
    const char *authorization;     /* Authorization header or NULL */
    const char *user;              /* authorize endpoint: r->user, NULL if none */
    oas_password_fn *check_password;
    void *password_baton;
    oas_logger_t log;
    long long now;                 /* seconds; 0: the core takes the clock */
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
/* A JSON answer with Cache-Control: no-store. */
oas_response_t *oas_response_json(apr_pool_t *p, int status, const char *json);

/* The token endpoint, SPEC §5. Never returns NULL. */
oas_response_t *oas_token_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                   apr_pool_t *p);

#endif
