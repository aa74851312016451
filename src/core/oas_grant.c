/* oas_grant.c — shared pieces of the endpoints: client authentication,
 * scope resolution, issuing tokens, revoking families. */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <apr_md5.h>
#include "oas_dynclient.h"
#include "oas_cimd.h"
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_credcache.h"
#include "oas_ratelimit.h"
#include "oas_resource.h"
#include "oas_jwt.h"
#include "oas_dpop.h"
#include "oas_mtls.h"

long long oas_access_lifetime(const oas_config_t *cfg, const oas_client_t *client)
{
    return client->access_token_lifetime >= 0 ? client->access_token_lifetime
                                              : cfg->access_lifetime;
}

oas_response_t *oas_store_failure(const oas_config_t *cfg, const oas_http_req_t *req,
                                  apr_status_t rv, const char *what, apr_pool_t *p)
{
    if (rv == APR_ENOSPC) {
        OAS_LOG(&req->log, OAS_LOG_ERR, rv, OASLOGNO(00401)
                "%s: the token store is full of live entries (raise OAuthASStoreMemory / "
                "OAuthASStoreDisk); nothing was issued", what);
        return oas_response_error(p, cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                                  "the token store is full, try again later");
    }
    OAS_LOG(&req->log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(00402)
            "%s: the token store (%s) failed", what, cfg->store ? cfg->store->name : "none");
    return oas_response_error(p, cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "the token store is unavailable, try again later");
}

/* ---- client authentication ------------------------------------------ */

static oas_response_t *client_error(const oas_config_t *cfg, const oas_http_req_t *req,
                                    const char *why, const char *client_id, apr_pool_t *p)
{
    OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(00403)
            "client authentication failed for '%s': %s", client_id ? client_id : "-", why);
    return oas_response_error(p, cfg, 401, OAS_ERR_INVALID_CLIENT, why);
}

/* The store that holds self-registered clients failed: 503 as for any
 * store failure (SPEC §8), never "unknown client". */
static oas_response_t *client_store_failed(const oas_config_t *cfg, const oas_http_req_t *req,
                                           apr_pool_t *p)
{
    OAS_LOG(&req->log, OAS_STORE_FAIL_LEVEL(cfg->store), 0, OASLOGNO(08304)
            "client authentication: the store of self-registered clients failed");
    return oas_response_error(p, cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "the client store is unavailable, try again later");
}

/* The end of every method: a failure (why) counts under the brute-force
 * limits and may turn into 429, a success resets the count; a disabled
 * client is refused once its credentials are known good. */
static oas_response_t *auth_end(const oas_client_t **pc, const oas_config_t *cfg,
                                const oas_http_req_t *req, oas_rl_t *rl,
                                const oas_client_t *c, const char *why, apr_pool_t *p)
{
    oas_response_t *r;

    if (why) {
        return (r = oas_rl_result(rl, cfg, req, 0, p)) ? r
               : client_error(cfg, req, why, c ? c->client_id : NULL, p);
    }
    oas_rl_result(rl, cfg, req, 1, p);
    if (!c->enabled) {
        return client_error(cfg, req, "client is disabled", c->client_id, p);
    }
    *pc = c;
    return NULL;
}

/* A client id locked by the brute-force limits gets 429 before anything is
 * checked; unknown ids count like known ones, and their secret is checked
 * against the registry's dummy hash, as costly as its costliest secret,
 * outside the credential cache (neither the answer nor its time tells
 * which ids exist). A client registered with another method (SPEC §3)
 * is refused like an unknown one. */
static oas_response_t *auth_secret(const oas_client_t **pc, const oas_config_t *cfg,
                                   const oas_http_req_t *req, const char *user,
                                   const char *pass, int method, apr_pool_t *p)
{
    const oas_client_t *c;
    oas_response_t *r;
    oas_rl_t rl;
    int failed = 0;

    if ((r = oas_rl_check(&rl, cfg, req, OAS_RL_CLIENT, user, p))) {
        return r;
    }
    c = oas_client_find(cfg, user, &failed, p);
    if (failed) {
        return client_store_failed(cfg, req, p);
    }
    if (!c || !c->confidential || c->auth_method != method) {
        apr_password_validate(pass, oas_registry_dummy_hash(cfg->registry));
        return auth_end(pc, cfg, req, &rl, c, "unknown client or bad credentials", p);
    }
    /* a secret that passed apr_password_validate() against this very hash
     * before costs one HMAC (oas_credcache.h); a wrong one always the full check */
    return auth_end(pc, cfg, req, &rl, c,
                    oas_credcache_check(oas_credcache_process(), c->client_id, c->secret_hash,
                                        pass) == OAS_CRED_BAD
                    ? "unknown client or bad credentials" : NULL, p);
}

/* private_key_jwt (RFC 7523 §2.2): counted under the assertion's iss */
static oas_response_t *auth_jwt(const oas_client_t **pc, const oas_config_t *cfg,
                                const oas_http_req_t *req, apr_table_t *params, apr_pool_t *p)
{
    const char *type = apr_table_get(params, "client_assertion_type");
    const char *assertion = apr_table_get(params, "client_assertion");
    const char *client_id = apr_table_get(params, "client_id");
    const char *iss = oas_client_assertion_iss(assertion, p), *why = NULL;
    const oas_client_t *c;
    oas_response_t *r;
    apr_status_t rv;
    oas_rl_t rl;
    int rc;

    if (!type || strcmp(type, OAS_ASSERTION_TYPE) != 0 || !assertion || !iss) {
        return client_error(cfg, req, "client_assertion_type must be " OAS_ASSERTION_TYPE
                            " with a client_assertion JWT that has an iss", NULL, p);
    }
    if (client_id && strcmp(client_id, iss) != 0) {
        return client_error(cfg, req, "client_id is not the assertion's iss", NULL, p);
    }
    if ((r = oas_rl_check(&rl, cfg, req, OAS_RL_CLIENT, iss, p))) {
        return r;
    }
    c = cfg->registry ? oas_registry_get(cfg->registry, iss) : NULL;
    rc = (!c || c->auth_method != OAS_AUTH_PRIVATE_KEY_JWT) ? 1
         : oas_client_assertion_check(c, cfg, assertion, oas_req_now(req), p, &why, &rv);
    if (rc == 2) {
        return oas_store_failure(cfg, req, rv, "checking a client assertion", p);
    }
    return auth_end(pc, cfg, req, &rl, c,
                    rc ? (why ? why : "unknown client or bad credentials") : NULL, p);
}

/* The registry's client registered with tls_client_auth or
 * self_signed_tls_client_auth under this id, or NULL. */
static const oas_client_t *tls_client(const oas_config_t *cfg, const char *client_id)
{
    const oas_client_t *c = cfg->registry && client_id
                            ? oas_registry_get(cfg->registry, client_id) : NULL;

    return c && (c->auth_method == OAS_AUTH_TLS_CLIENT_AUTH
                 || c->auth_method == OAS_AUTH_SELF_SIGNED_TLS) ? c : NULL;
}

/* RFC 8705 §2: the TLS client certificate of the connection, under the
 * brute-force limits of client_id like any other method */
static oas_response_t *auth_tls(const oas_client_t **pc, const oas_config_t *cfg,
                                const oas_http_req_t *req, const oas_client_t *c,
                                apr_pool_t *p)
{
    const char *why;
    oas_response_t *r;
    oas_rl_t rl;

    if ((r = oas_rl_check(&rl, cfg, req, OAS_RL_CLIENT, c->client_id, p))) {
        return r;
    }
    if ((why = oas_mtls_client_problem(c, req, p))) {
        OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(08700)
                "client '%s': mutual-TLS authentication failed: %s", c->client_id, why);
    }
    return auth_end(pc, cfg, req, &rl, c, why ? "unknown client or bad credentials" : NULL, p);
}

/* A client id that makes the server fetch a document (oas_cimd.h) can be
 * sent by anyone: a refused document counts against the sender's address as a
 * registration does (OAS_RL_REGISTER), so a locked address fetches nothing. */
static oas_response_t *cimd_refused(const oas_config_t *cfg, const oas_http_req_t *req,
                                    oas_rl_t *rl, const char *client_id, apr_pool_t *p)
{
    oas_response_t *r = oas_rl_result(rl, cfg, req, 0, p);

    return r ? r : client_error(cfg, req, apr_pstrcat(p, "client metadata document refused: ",
                                                      oas_cimd_refusal(p), NULL),
                                client_id, p);
}

static oas_response_t *auth_public(const oas_client_t **pc, const oas_config_t *cfg,
                                   const oas_http_req_t *req, const char *client_id,
                                   apr_pool_t *p)
{
    int failed = 0, doc = cfg->cimd && oas_cimd_is_url(client_id);
    const oas_client_t *c;
    oas_response_t *r;
    oas_rl_t rl;

    if (doc && (r = oas_rl_check(&rl, cfg, req, OAS_RL_REGISTER,
                                 req->remote_ip ? req->remote_ip : "-", p))) {
        return r;
    }
    c = oas_client_find(cfg, client_id, &failed, p);
    if (failed) {
        return client_store_failed(cfg, req, p);
    }
    if (!c && doc && oas_cimd_refusal(p)) {
        return cimd_refused(cfg, req, &rl, client_id, p);
    }
    if (!c) {
        return client_error(cfg, req, "unknown client", NULL, p);
    }
    if (c->confidential) {
        return client_error(cfg, req, "confidential clients authenticate with the method "
                            "registered for them", c->client_id, p);
    }
    if (!c->enabled) {
        return client_error(cfg, req, "client is disabled", c->client_id, p);
    }
    *pc = c;
    return NULL;
}

/* One method per request (RFC 6749 §2.3): Basic, a secret in the body, or
 * an assertion. */
oas_response_t *oas_client_authenticate(const oas_client_t **pc, const oas_config_t *cfg,
                                        const oas_http_req_t *req, apr_table_t *params,
                                        int allow_public, apr_pool_t *p)
{
    const char *user = NULL, *pass = NULL;
    const char *client_id = apr_table_get(params, "client_id");
    const char *secret = apr_table_get(params, "client_secret");
    int jwt = apr_table_get(params, "client_assertion") || apr_table_get(params,
                                                                         "client_assertion_type");
    apr_status_t rv = oas_basic_parse(req->authorization, &user, &pass, p);

    *pc = NULL;
    if (rv == APR_EINVAL) {
        return client_error(cfg, req, "malformed HTTP Basic credentials", NULL, p);
    }
    if ((rv == APR_SUCCESS) + (secret != NULL) + jwt > 1) {
        return client_error(cfg, req, "more than one client authentication method", NULL, p);
    }
    if (jwt) {
        return auth_jwt(pc, cfg, req, params, p);
    }
    if (secret) {
        if (!client_id) {
            return client_error(cfg, req, "client_secret without client_id", NULL, p);
        }
        return auth_secret(pc, cfg, req, client_id, secret, OAS_AUTH_CLIENT_SECRET_POST, p);
    }
    if (rv == APR_SUCCESS) {
        if (allow_public && client_id && strcmp(client_id, user) != 0) {
            return client_error(cfg, req, "client_id does not match the authenticated client",
                                NULL, p);
        }
        return auth_secret(pc, cfg, req, user, pass, OAS_AUTH_CLIENT_SECRET_BASIC, p);
    }
    if (tls_client(cfg, client_id)) {
        return auth_tls(pc, cfg, req, tls_client(cfg, client_id), p);
    }
    if (!allow_public || !client_id) {
        return client_error(cfg, req, "client authentication required (HTTP Basic)", NULL, p);
    }
    return auth_public(pc, cfg, req, client_id, p);
}

/* ---- scope ------------------------------------------------------------- */

const char *oas_scope_resolve(const char **pscope, const oas_config_t *cfg,
                              const oas_client_t *client, const char *requested, apr_pool_t *p)
{
    apr_array_header_t *want;
    int i;

    if (!requested) {
        *pscope = oas_scope_join(client->scopes, p);
        return NULL;
    }
    if (!(want = oas_scope_split(requested, p))) {
        return "malformed scope";
    }
    for (i = 0; i < want->nelts; i++) {
        const char *s = APR_ARRAY_IDX(want, i, const char *);
        if (!cfg->scopes || !oas_scopes_get(cfg->scopes, s)) {
            return apr_psprintf(p, "unknown scope '%s'", s);
        }
        if (!oas_scope_in(client->scopes, s)) {
            return apr_psprintf(p, "scope '%s' is not allowed for this client", s);
        }
    }
    *pscope = oas_scope_join(want, p);
    return NULL;
}

/* ---- issuing ------------------------------------------------------------ */

/* The store entry of t under prefix+token (token NULL: making it failed). */
static apr_status_t token_write(oas_store_write_t *w, unsigned char *key, oas_entry_t *e,
                                const oas_token_t *t, const char *prefix, const char *token,
                                apr_pool_t *p)
{
    if (!token) {
        return APR_EGENERAL;
    }
    if (oas_token_encode(e, t, p) != APR_SUCCESS) {
        return OAS_ISSUE_TOO_LONG;      /* the only way encoding fails */
    }
    oas_store_key(key, prefix, token);
    w->key = key;
    w->e = e;
    return APR_SUCCESS;
}

static void fill_template(oas_token_t *t, const oas_config_t *cfg, const oas_issue_t *in,
                          const unsigned char *family, long long now)
{
    long long life = oas_access_lifetime(cfg, in->client);
    memset(t, 0, sizeof(*t));
    t->kind = OAS_KIND_ACCESS;
    t->iat = now;
    t->exp = life ? now + life : 0;
    memcpy(t->family, family, OAS_FAMILY_LEN);
    t->grant = in->grant;
    t->client_id = in->client->client_id;
    t->username = in->username;
    t->scope = in->scope;
    t->refresh_left = in->refresh_left;
    t->audience = in->audience ? in->audience : oas_default_resource(cfg);
    t->issuer = cfg->issuer;
    t->refreshes = in->refreshes;
    t->jkt = in->jkt;
    t->x5t = in->x5t;
}

/* The new tokens of a family that existed (in->family) go in with the look
 * at its revocation marker, after them, in the same store operation: a
 * revocation that came first is seen, one that comes after removes them (or
 * its marker revokes them). A new family has no marker to look at. */
static apr_status_t put_tokens(const oas_config_t *cfg, const oas_issue_t *in,
                               const oas_issued_t *out, const oas_store_write_t *w, int n,
                               apr_pool_t *p)
{
    unsigned char fkey[OAS_DIGEST_LEN];

    if (in->family && !oas_family_none(out->family)) {
        oas_store_key(fkey, OAS_PREFIX_FAMILY, oas_hex(p, out->family, OAS_FAMILY_LEN));
        return oas_store_put_many(cfg->store, w, n, fkey, p);
    }
    return oas_store_put_many(cfg->store, w, n, NULL, p);
}

apr_status_t oas_issue_tokens(oas_issued_t *out, const oas_config_t *cfg, const oas_issue_t *in,
                              const oas_http_req_t *req, apr_pool_t *p)
{
    long long now = oas_req_now(req);
    unsigned char akey[OAS_DIGEST_LEN], rkey[OAS_DIGEST_LEN];
    const char *access, *refresh = NULL;
    oas_store_write_t w[2];
    oas_entry_t ae, re;
    oas_token_t t;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (in->family) {
        memcpy(out->family, in->family, OAS_FAMILY_LEN);
    }
    else if (in->with_refresh && oas_random_bytes(out->family, OAS_FAMILY_LEN) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    fill_template(&t, cfg, in, out->family, now);
    out->access_exp = t.exp;
    access = oas_access_token_new(cfg, in->client, &t, in->auth_time, p);
    if ((rv = token_write(&w[0], akey, &ae, &t, OAS_PREFIX_ACCESS, access, p)) != APR_SUCCESS) {
        return rv;
    }
    if (in->with_refresh) {
        t.kind = OAS_KIND_REFRESH;
        t.exp = cfg->refresh_lifetime ? now + cfg->refresh_lifetime : 0;
        t.audience = in->refresh_audience ? in->refresh_audience : t.audience;
        /* RFC 9449 §5: a public client's refresh token is bound to the key too */
        t.jkt = in->client->confidential ? NULL : in->jkt;
        t.x5t = NULL;       /* RFC 8705 §3: the client authenticates at each refresh */
        refresh = oas_random_token(p, OAS_TOKEN_BYTES);
        if ((rv = token_write(&w[1], rkey, &re, &t, OAS_PREFIX_REFRESH, refresh, p))
            != APR_SUCCESS) {
            return rv;
        }
    }
    /* one store operation: both tokens, and the family's marker after them */
    if ((rv = put_tokens(cfg, in, out, w, refresh ? 2 : 1, p)) == APR_SUCCESS) {
        out->access_token = access;
        out->refresh_token = refresh;
        oas_dynclient_touch(cfg, in->client, now, p);   /* "used": at most once a day */
    }
    return rv;
}

/* the later of two expiries, 0 (never) being the latest */
static long long later_exp(long long a, long long b)
{
    return (a == 0 || b == 0) ? 0 : (a > b ? a : b);
}

static long long life_end(long long now, long long life)
{
    return life ? now + life : 0;
}

/* How long a family's revocation marker must live. On a store where
 * members may stay until they expire (revoked_members_stay: the shared
 * stores, and the default store's disk tier) the marker must outlive every
 * one: they were issued up to now with the access lifetime of the family's
 * client and the server's lifetimes, and member is one of them, perhaps
 * issued under settings changed since; a family of an unknown client:
 * never. A store that removes every member needs the marker only against
 * tokens being issued meanwhile: the server's lifetimes, as always. */
static long long marker_exp(const oas_config_t *cfg, const oas_entry_t *member, long long now,
                            apr_pool_t *p)
{
    const oas_client_t *c = NULL;
    oas_token_t t;
    long long exp = later_exp(life_end(now, cfg->access_lifetime),
                              life_end(now, cfg->refresh_lifetime));

    if (!cfg->store->revoked_members_stay && !cfg->store->families_by_marker) {
        return exp;
    }
    if (oas_token_decode(&t, member, p) == APR_SUCCESS && t.client_id) {
        c = oas_client_get(cfg, t.client_id, p);
    }
    if (!c) {
        return 0;
    }
    exp = later_exp(exp, member->exp);
    return later_exp(exp, life_end(now, oas_access_lifetime(cfg, c)));
}

apr_status_t oas_family_revoke(const oas_config_t *cfg, const oas_entry_t *member,
                               const oas_http_req_t *req, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    const unsigned char *family = member->family;
    oas_entry_t e;
    apr_status_t rv, rv2;
    int n = 0;

    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_FAMILY_REVOKED;
    e.exp = marker_exp(cfg, member, oas_req_now(req), p);
    memcpy(e.family, family, OAS_FAMILY_LEN);
    e.data = "";
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(p, family, OAS_FAMILY_LEN));
    /* the marker stops tokens being added to the family concurrently and
     * refuses the members the store leaves (on the default store, those
     * only on disk); without it the store removes every member it can */
    rv = cfg->store->put(cfg->store, key, &e, p);
    rv2 = cfg->store->remove_family(cfg->store, family, &n, p);
    rv = rv != APR_SUCCESS ? rv : rv2;
    OAS_LOG(&req->log, OAS_LOG_NOTICE, rv, OASLOGNO(00404)
            "token family %.8s... revoked: %d tokens removed%s",
            oas_hex(p, family, OAS_FAMILY_LEN), n,
            cfg->store->revoked_members_stay
            ? ", any others refused by its marker and purged at expiry" : "");
    return rv;
}
