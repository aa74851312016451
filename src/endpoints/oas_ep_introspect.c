/* oas_ep_introspect.c — token introspection (RFC 7662) and revocation
 * (RFC 7009). Both take POST from an authenticated client. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dynclient.h"
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_json.h"
#include "oas_resource.h"
#include "oas_jwt.h"
#include "oas_mtls.h"

typedef struct tk_lookup_t {
    int found;
    const char *prefix;
    oas_entry_t entry;
    oas_token_t token;
} tk_lookup_t;

/* POST, HTTPS, form body: the transport rules of the two endpoints. */
static oas_response_t *read_form(apr_table_t **pparams, const oas_config_t *cfg,
                                 const oas_http_req_t *req, apr_pool_t *p)
{
    oas_req_problem_t prob;

    if (oas_request_params(pparams, &prob, cfg, req, OAS_ALLOW_POST, p)) {
        return oas_response_problem(cfg, &prob, p);
    }
    if (!apr_table_get(*pparams, "token")) {
        return oas_response_error(p, cfg, 400, OAS_ERR_INVALID_REQUEST, "token is required");
    }
    return NULL;
}

static apr_status_t lookup_one(tk_lookup_t *lk, const oas_config_t *cfg, const char *prefix,
                               const char *value, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    apr_status_t rv;
    int want = strcmp(prefix, OAS_PREFIX_ACCESS) == 0 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH;

    oas_store_key(key, prefix, value);
    /* a token of another issuer sharing the store is unknown here: inactive,
     * and a revocation leaves it alone (SPEC §8) */
    rv = oas_token_lookup(&lk->entry, &lk->token, cfg->store, key, cfg->issuer, p);
    if (rv == APR_SUCCESS && lk->entry.kind == want) {
        /* a store that cannot remove a family's members keeps them: the
         * family's revocation marker says they are gone */
        rv = oas_store_family_revoked(cfg->store, lk->entry.family, p);
        lk->found = rv == APR_SUCCESS;
        lk->prefix = prefix;
    }
    return rv == APR_NOTFOUND || rv == APR_EACCES ? APR_SUCCESS : rv;
}

/* Find an access or refresh token, the hinted kind first. */
static apr_status_t lookup_token(tk_lookup_t *lk, const oas_config_t *cfg, const char *value,
                                 const char *hint, apr_pool_t *p)
{
    int refresh_first = hint && strcmp(hint, "refresh_token") == 0;
    const char *order[2] = { OAS_PREFIX_ACCESS, OAS_PREFIX_REFRESH };
    apr_status_t rv = APR_SUCCESS;
    int i;

    memset(lk, 0, sizeof(*lk));
    if (!cfg->store) {
        return APR_SUCCESS;
    }
    for (i = 0; i < 2 && !lk->found && rv == APR_SUCCESS; i++) {
        rv = lookup_one(lk, cfg, order[refresh_first ? 1 - i : i], value, p);
    }
    return rv;
}

static int client_active(const oas_config_t *cfg, const char *client_id, apr_pool_t *p)
{
    const oas_client_t *c = oas_client_get(cfg, client_id, p);
    return c && c->enabled;
}

/* Found, not past its own exp (whatever a backend's TTL did), of an
 * enabled client, and of a user name the answer can carry (valid UTF-8:
 * such names are refused at issue, an older version let them through). */
static int token_active(const oas_config_t *cfg, const tk_lookup_t *lk, long long now,
                        apr_pool_t *p)
{
    return lk->found && (lk->token.exp == 0 || lk->token.exp > now)
           && client_active(cfg, lk->token.client_id, p)
           && (!lk->token.username || oas_jw_str_ok(lk->token.username));
}

static const char *active_json(const oas_config_t *cfg, const tk_lookup_t *lk,
                               const char *value, apr_pool_t *p)
{
    const oas_token_t *t = &lk->token;
    oas_jw_t o;

    oas_jw_begin(&o, p);
    oas_jw_bool(&o, "active", 1);
    oas_jw_str(&o, "scope", t->scope ? t->scope : "");
    oas_jw_str(&o, "client_id", t->client_id);
    if (t->username) {
        oas_jw_str(&o, "username", t->username);
    }
    oas_jw_str(&o, "sub", t->username ? t->username : t->client_id);
    if (t->kind == OAS_KIND_ACCESS) {
        oas_jw_str(&o, "token_type", t->jkt ? "DPoP" : "Bearer");
    }
    if (t->jkt || t->x5t) {      /* RFC 9449 §6.2, RFC 8705 §3.2 */
        oas_jw_json(&o, "cnf", oas_token_cnf(t));
    }
    if (t->exp) {
        oas_jw_int(&o, "exp", t->exp);
    }
    oas_jw_int(&o, "iat", t->iat);
    oas_jw_str(&o, "iss", cfg->issuer);
    oas_jw_json(&o, "aud", oas_aud_json(oas_token_aud(t, cfg, p)));
    if (t->kind == OAS_KIND_ACCESS) {
        oas_jwt_introspect_claims(&o, value, p);     /* a JWT's jti */
    }
    return oas_jw_end(&o);
}

oas_response_t *oas_introspect_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                        apr_pool_t *p)
{
    apr_table_t *params = NULL;
    const oas_client_t *caller;
    tk_lookup_t lk;
    oas_response_t *r;
    apr_status_t rv;

    if ((r = read_form(&params, cfg, req, p))
        || (r = oas_client_authenticate(&caller, cfg, req, params, 0, p))) {
        return r;
    }
    if (cfg->counters) {
        apr_atomic_inc32(&cfg->counters->introspections);
    }
    rv = lookup_token(&lk, cfg, apr_table_get(params, "token"),
                      apr_table_get(params, "token_type_hint"), p);
    if (rv != APR_SUCCESS) {
        return oas_store_failure(cfg, req, rv, "introspection", p);
    }
    if (!token_active(cfg, &lk, oas_req_now(req), p)) {
        OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(00420)
                "introspection by '%s': token inactive", caller->client_id);
        return oas_response_json(p, 200, "{\"active\":false}");
    }
    OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(00421)
            "introspection by '%s': active token of client '%s'", caller->client_id,
            lk.token.client_id);
    return oas_response_json(p, 200, active_json(cfg, &lk, apr_table_get(params, "token"), p));
}

/* Revoke one token: its whole family when it has one (so the access token
 * and refresh token of a pair go together), else just itself. */
static apr_status_t revoke_found(const oas_config_t *cfg, const oas_http_req_t *req,
                                 const tk_lookup_t *lk, const char *value, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    apr_status_t rv;

    if (!oas_family_none(lk->entry.family)) {
        return oas_family_revoke(cfg, &lk->entry, req, p);
    }
    oas_store_key(key, lk->prefix, value);
    rv = cfg->store->remove(cfg->store, key, p);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

oas_response_t *oas_revoke_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p)
{
    apr_table_t *params = NULL;
    const oas_client_t *caller;
    const char *value;
    tk_lookup_t lk;
    oas_response_t *r;
    apr_status_t rv;

    if ((r = read_form(&params, cfg, req, p))
        || (r = oas_client_authenticate(&caller, cfg, req, params, 1, p))) {
        return r;
    }
    value = apr_table_get(params, "token");
    rv = lookup_token(&lk, cfg, value, apr_table_get(params, "token_type_hint"), p);
    if (rv == APR_SUCCESS && lk.found && strcmp(lk.token.client_id, caller->client_id) == 0) {
        rv = revoke_found(cfg, req, &lk, value, p);
        if (cfg->counters && rv == APR_SUCCESS) {
            apr_atomic_inc32(&cfg->counters->revocations);
        }
        OAS_LOG(&req->log, OAS_LOG_INFO, rv, OASLOGNO(00422)
                "client '%s' revoked one of its tokens", caller->client_id);
    }
    else if (rv == APR_SUCCESS && lk.found) {
        OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(00423)
                "client '%s' tried to revoke a token of client '%s': ignored",
                caller->client_id, lk.token.client_id);
    }
    if (rv != APR_SUCCESS) {
        return oas_store_failure(cfg, req, rv, "revocation", p);
    }
    return oas_response_json(p, 200, "{}");
}
