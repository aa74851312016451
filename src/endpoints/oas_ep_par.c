/* oas_ep_par.c — the pushed authorization request endpoint (RFC 9126, SPEC
 * §14), and the taking of a pushed request by the authorization endpoint.
 *
 * POST with client authentication as at the token endpoint and the
 * parameters of an authorization request; they are checked by the
 * authorization endpoint's own code (oas_authorize_check, JSON errors), then
 * kept in the store for OAuthASPARLifetime seconds under a fresh request_uri
 * (oas_par.h has the entry's layout). Nothing is stored for a refused push. */
#include <string.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_json.h"
#include "oas_par.h"

/* Parameters never kept with a push: client authentication, the request_uri
 * refused below, and what only the approval form carries. client_id is kept
 * apart, as the client the request is bound to. */
static const char *const not_kept[] = {
    "client_id", "client_secret", "client_assertion", "client_assertion_type",
    "request_uri", "decision", "csrf", NULL
};

typedef struct par_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;
    apr_pool_t *p;
    apr_table_t *params;
    const oas_client_t *client;
    apr_array_header_t *parts;      /* the kept parameters, form-encoded */
} par_t;

/* A pushed request as its store entry holds it. */
typedef struct pushed_t {
    const char *issuer;
    const char *client_id;
    const char *params;
} pushed_t;

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

/* ---- the store entry ------------------------------------------------------ */

static int keep_one(void *ctx, const char *name, const char *value)
{
    par_t *x = ctx;
    int i;

    for (i = 0; not_kept[i]; i++) {
        if (strcmp(name, not_kept[i]) == 0) {
            return 1;
        }
    }
    APR_ARRAY_PUSH(x->parts, const char *) =
        apr_pstrcat(x->p, apr_pescape_urlencoded(x->p, name), "=",
                    apr_pescape_urlencoded(x->p, value), NULL);
    return 1;
}

/* issuer \0 client_id \0 parameters; APR_ENAMETOOLONG above OAS_ENTRY_MAX */
static apr_status_t encode(oas_entry_t *e, par_t *x, long long exp)
{
    const char *params;
    apr_size_t n1 = strlen(x->cfg->issuer) + 1, n2 = strlen(x->client->client_id) + 1, n3;
    char *buf;

    x->parts = apr_array_make(x->p, 8, sizeof(const char *));
    apr_table_do(keep_one, x, x->params, NULL);
    params = apr_array_pstrcat(x->p, x->parts, '&');
    n3 = strlen(params);
    if (n1 + n2 + n3 > OAS_ENTRY_MAX) {
        return APR_ENAMETOOLONG;
    }
    buf = apr_palloc(x->p, n1 + n2 + n3 + 1);
    memcpy(buf, x->cfg->issuer, n1);
    memcpy(buf + n1, x->client->client_id, n2);
    memcpy(buf + n1 + n2, params, n3 + 1);
    memset(e, 0, sizeof(*e));
    e->kind = OAS_KIND_PAR;
    e->exp = exp;
    e->data = buf;
    e->len = n1 + n2 + n3;
    return APR_SUCCESS;
}

static apr_status_t decode(pushed_t *pu, const oas_entry_t *e, apr_pool_t *p)
{
    const char *s = apr_pstrmemdup(p, e->data, e->len), *end = s + e->len;

    if (e->kind != OAS_KIND_PAR) {
        return APR_EINVAL;
    }
    pu->issuer = s;
    pu->client_id = s + strlen(s) + 1;
    if (pu->client_id >= end) {
        return APR_EINVAL;
    }
    pu->params = pu->client_id + strlen(pu->client_id) + 1;
    return pu->params <= end ? APR_SUCCESS : APR_EINVAL;
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

    if (encode(&e, x, oas_req_now(x->req) + life) != APR_SUCCESS) {
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

/* ---- the authorization endpoint's side -------------------------------------- */

int oas_par_take(apr_table_t **pparams, const oas_config_t *cfg, const char *request_uri,
                 const char *client_id, apr_status_t *prv, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e, got;
    pushed_t pu;
    const char *err = NULL;

    oas_store_key(key, OAS_PREFIX_PAR, request_uri);
    if ((*prv = cfg->store->get(cfg->store, key, &e, p)) != APR_SUCCESS) {
        return *prv == APR_NOTFOUND ? OAS_PAR_UNKNOWN : OAS_PAR_STORE;
    }
    if (decode(&pu, &e, p) != APR_SUCCESS || strcmp(pu.issuer, cfg->issuer) != 0) {
        return OAS_PAR_UNKNOWN;
    }
    if (strcmp(pu.client_id, client_id) != 0) {
        return OAS_PAR_OTHER_CLIENT;
    }
    /* single use: of simultaneous takers exactly one gets it */
    if ((*prv = cfg->store->consume(cfg->store, key, &got, NULL, p)) != APR_SUCCESS) {
        return *prv == APR_NOTFOUND ? OAS_PAR_UNKNOWN : OAS_PAR_STORE;
    }
    if (decode(&pu, &got, p) != APR_SUCCESS
        || oas_form_parse(pparams, pu.params, strlen(pu.params), p, &err) != APR_SUCCESS) {
        return OAS_PAR_UNKNOWN;
    }
    apr_table_setn(*pparams, "client_id", pu.client_id);
    return OAS_PAR_OK;
}
