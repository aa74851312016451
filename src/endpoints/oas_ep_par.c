/* oas_ep_par.c — the pushed authorization request endpoint (RFC 9126, SPEC
 * §14); the store entry and its taking by the authorization endpoint are in
 * src/core/oas_par.c.
 *
 * POST with client authentication as at the token endpoint and the
 * parameters of an authorization request; they are checked by the
 * authorization endpoint's own code (oas_authorize_check, JSON errors), then
 * kept in the store for OAuthASPARLifetime seconds under a fresh request_uri
 * (oas_par.h has the entry's layout). Nothing is stored for a refused push. */
#include <string.h>
#include <apr_strings.h>
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_json.h"
#include "oas_par.h"

typedef struct par_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;
    apr_pool_t *p;
    apr_table_t *params;
    const oas_client_t *client;
} par_t;

static oas_response_t *bad(par_t *x, oas_error_t err, const char *why)
{
    OAS_LOG(&x->req->log, OAS_LOG_INFO, 0, OASLOGNO(07701)
            "pushed authorization request of client '%s' refused: %s: %s",
            x->client ? x->client->client_id : "-", oas_error_name(err), why);
    return oas_response_error(x->p, x->cfg, 400, err, why);
}

static long long par_lifetime(const oas_config_t *cfg)
{
    return cfg->par_lifetime > 0 ? cfg->par_lifetime : OAS_PAR_LIFETIME_DEFAULT;
}

/* ---- the endpoint ---------------------------------------------------------- */

static oas_response_t *keep(par_t *x, const oas_authz_t *a)
{
    long long life = par_lifetime(x->cfg);
    const char *token = oas_random_token(x->p, OAS_TOKEN_BYTES), *uri;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    apr_status_t rv;
    oas_jw_t o;

    if (oas_par_encode(&e, x->cfg, x->client->client_id, x->params, oas_req_now(x->req) + life,
                       x->p) != APR_SUCCESS) {
        return bad(x, OAS_ERR_INVALID_REQUEST, apr_psprintf(x->p, "the pushed request is too "
                   "large to keep (its parameters may take at most %d bytes, encoded)",
                   OAS_ENTRY_MAX - (int)strlen(x->cfg->issuer)
                   - (int)strlen(x->client->client_id) - 2));
    }
    if (!token) {
        OAS_LOG(&x->req->log, OAS_LOG_ERR, 0, OASLOGNO(07702)
                "could not make a request_uri for client '%s' (no randomness)",
                x->client->client_id);
        return oas_response_error(x->p, x->cfg, 500, OAS_ERR_SERVER_ERROR,
                                  "the request_uri could not be made");
    }
    uri = apr_pstrcat(x->p, OAS_PAR_URN_PREFIX, token, NULL);
    oas_store_key(key, OAS_PREFIX_PAR, uri);
    if ((rv = x->cfg->store->put(x->cfg->store, key, &e, x->p)) != APR_SUCCESS) {
        return oas_store_failure(x->cfg, x->req, rv, "keeping a pushed authorization request",
                                 x->p);
    }
    OAS_LOG(&x->req->log, OAS_LOG_INFO, 0, OASLOGNO(07703)
            "client '%s' pushed an authorization request (response_type %s, scope '%s', "
            "%lld s)", x->client->client_id, a->response_type, a->scope, life);
    oas_jw_begin(&o, x->p);
    oas_jw_str(&o, "request_uri", uri);
    oas_jw_int(&o, "expires_in", life);
    return oas_response_json(x->p, 201, oas_jw_end(&o));
}

oas_response_t *oas_par_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                 apr_pool_t *p)
{
    par_t x;
    oas_req_problem_t prob;
    oas_authz_t a;
    oas_response_t *r;

    memset(&x, 0, sizeof(x));
    x.cfg = cfg;
    x.req = req;
    x.p = p;
    if (oas_request_params(&x.params, &prob, cfg, req, OAS_ALLOW_POST, p)) {
        return oas_response_problem(cfg, &prob, p);
    }
    if ((r = oas_client_authenticate(&x.client, cfg, req, x.params, 1, p))) {
        return r;
    }
    if (apr_table_get(x.params, "request_uri")) {
        return bad(&x, OAS_ERR_INVALID_REQUEST, "request_uri may not be pushed");
    }
    if ((r = oas_authorize_check(&a, cfg, req, x.params, x.client, p))) {
        return r;
    }
    return keep(&x, &a);
}
