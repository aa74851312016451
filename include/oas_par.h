/* oas_par.h — pushed authorization requests (RFC 9126, SPEC §14): what the
 * PAR endpoint (oas_ep_par.c) and the authorization endpoint share
 * (src/core/oas_par.c: the store entry).
 *
 * A push is checked exactly as the authorization endpoint checks a request
 * (oas_authorize_check, the same code answering JSON), then its parameters
 * go into the store under SHA-256("pr:" || request_uri) as one entry of kind
 * OAS_KIND_PAR (memory only on the default store, with its lifetime as TTL
 * on the shared ones). The payload is
 *     issuer \0 client_id \0 parameters (application/x-www-form-urlencoded)
 * The authorization endpoint takes the entry once (oas_par_take), for the
 * client that pushed it, and uses those parameters and nothing else. */
#ifndef OAS_PAR_H
#define OAS_PAR_H

#include "oas_csrf.h"

#define OAS_PAR_URN_PREFIX "urn:ietf:params:oauth:request_uri:"
#define OAS_PAR_LIFETIME_DEFAULT 60

/* The checks of the authorization endpoint (SPEC §4) on the parameters of a
 * request that client (already authenticated) made: client_id (when sent)
 * must name it, then redirect URI, response type, scope, PKCE (and whatever
 * the endpoint checks later). NULL and *a filled, or a JSON error answer
 * (400). Defined in oas_ep_authorize.c. */
oas_response_t *oas_authorize_check(oas_authz_t *a, const oas_config_t *cfg,
                                    const oas_http_req_t *req, apr_table_t *params,
                                    const oas_client_t *client, apr_pool_t *p);

/* The store entry of a push: issuer, client_id and params (less client
 * authentication, request_uri, decision and csrf), kind OAS_KIND_PAR.
 * APR_ENAMETOOLONG when it would not fit OAS_ENTRY_MAX. oas_par.c. */
apr_status_t oas_par_encode(oas_entry_t *e, const oas_config_t *cfg, const char *client_id,
                            apr_table_t *params, long long exp, apr_pool_t *p);

/* results of oas_par_take */
#define OAS_PAR_OK            0
#define OAS_PAR_UNKNOWN       1   /* never pushed, expired, already used, or another issuer's */
#define OAS_PAR_OTHER_CLIENT  2   /* pushed by another client: nothing was taken */
#define OAS_PAR_STORE         3   /* the store failed; *prv says how */

/* Take the pushed request request_uri for client_id: once only, and only
 * for the client that pushed it. On OAS_PAR_OK *pparams holds the pushed
 * parameters, client_id set to the client's. */
int oas_par_take(apr_table_t **pparams, const oas_config_t *cfg, const char *request_uri,
                 const char *client_id, apr_status_t *prv, apr_pool_t *p);

#endif
