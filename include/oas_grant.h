/* oas_grant.h — pieces every endpoint shares: client authentication, scope
 * resolution, issuing tokens into the store, and revoking token families. */
#ifndef OAS_GRANT_H
#define OAS_GRANT_H

#include <jansson.h>
#include "oas_proto.h"

/* What to issue. */
typedef struct oas_issue_t {
    const oas_client_t *client;
    const char *username;          /* NULL for client_credentials */
    const char *scope;             /* resolved scope string, may be "" */
    unsigned grant;                /* OAS_GRANT_* of the original grant */
    int with_refresh;              /* issue a refresh token too */
    int refresh_left;              /* for that refresh token; -1 unlimited */
    int refreshes;                 /* refreshes done in the family before; -1 unknown */
    const unsigned char *family;   /* NULL: a new family (or none without refresh) */
    const char *audience;          /* the access token's (oas_resource.h); NULL: the default */
    const char *refresh_audience;  /* the refresh token's (the grant's); NULL: as audience */
    long long auth_time;           /* when the user signed in (a JWT's auth_time); 0: unknown */
    const char *jkt;               /* DPoP key thumbprint: the access token (and a public
                                    * client's refresh token) is bound to it; NULL: none */
    const char *x5t;               /* RFC 8705 §3: x5t#S256 the access token is bound to */
} oas_issue_t;

/* What was issued. */
typedef struct oas_issued_t {
    const char *access_token;
    const char *refresh_token;     /* NULL if none */
    long long access_exp;          /* 0 = never */
    unsigned char family[OAS_FAMILY_LEN];
} oas_issued_t;

/* Issue an access token (and a refresh token) into the store. When the
 * family turns out to be revoked meanwhile, the new tokens are removed and
 * APR_EACCES is returned. OAS_ISSUE_TOO_LONG when user name, client id and
 * scope do not fit a store entry (OAS_ENTRY_MAX): the request's fault, not
 * the store's. Store errors (APR_ENOSPC, ...) are returned as is; nothing
 * is left half-issued. */
#define OAS_ISSUE_TOO_LONG APR_ENAMETOOLONG
apr_status_t oas_issue_tokens(oas_issued_t *out, const oas_config_t *cfg, const oas_issue_t *in,
                              const oas_http_req_t *req, apr_pool_t *p);

/* Revoke the family of member (a token, code or tombstone of it) everywhere:
 * a durable marker first, then every member. The marker lives until now
 * plus the server's access and refresh lifetimes; on a store that cannot
 * remove the members (families_by_marker: Redis, socache) as long as the
 * longest-lived member may, too: past member's own expiry and now plus its
 * client's access lifetime. A lifetime of 0, or (there) a family whose
 * client is not in the registry, makes it never expire. */
apr_status_t oas_family_revoke(const oas_config_t *cfg, const oas_entry_t *member,
                               const oas_http_req_t *req, apr_pool_t *p);

/* The token-endpoint style client authentication (SPEC §5): HTTP Basic for
 * confidential clients, client_id for public ones (when allow_public).
 * Returns NULL and sets *pc on success, or the error response. */
oas_response_t *oas_client_authenticate(const oas_client_t **pc, const oas_config_t *cfg,
                                        const oas_http_req_t *req, apr_table_t *params,
                                        int allow_public, apr_pool_t *p);

/* Resolve a requested scope string against the client (SPEC §4, §5):
 * NULL requested → all the client's scopes. Returns NULL and sets *pscope,
 * or an error description for invalid_scope. */
const char *oas_scope_resolve(const char **pscope, const oas_config_t *cfg,
                              const oas_client_t *client, const char *requested, apr_pool_t *p);

/* 503 temporarily_unavailable for a store failure, logged once. */
oas_response_t *oas_store_failure(const oas_config_t *cfg, const oas_http_req_t *req,
                                  apr_status_t rv, const char *what, apr_pool_t *p);

/* Effective access token lifetime for a client (0 = never). */
long long oas_access_lifetime(const oas_config_t *cfg, const oas_client_t *client);

/* The transport rules every endpoint shares (oas_request.c). */
#define OAS_ALLOW_POST 0x1
#define OAS_ALLOW_GET  0x2
#define OAS_ALLOW_HEAD 0x4
typedef struct oas_req_problem_t {
    int status;            /* 400 or 405 */
    const char *why;       /* safe to show to the client */
    const char *allow;     /* the Allow header of a 405, else NULL */
} oas_req_problem_t;

/* HTTPS (when required), the method (one of allow), a POST's size and
 * content type, then the parameters of the body (POST) or query (other
 * methods) with the one form parser (skipped when pparams is NULL).
 * 0 on success; 1 and *prob filled when the request is refused. */
int oas_request_params(apr_table_t **pparams, oas_req_problem_t *prob, const oas_config_t *cfg,
                       const oas_http_req_t *req, unsigned allow, apr_pool_t *p);

/* The JSON invalid_request answer of such a refusal (with Allow on a 405). */
oas_response_t *oas_response_problem(const oas_config_t *cfg, const oas_req_problem_t *prob,
                                     apr_pool_t *p);


#endif
