/* oas_ep_token.c — the token endpoint (SPEC §5, RFC 6749 §3.2, §4.1.3,
 * §4.3, §4.4, §6). */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_json.h"
#include "oas_ratelimit.h"
#include "oas_resource.h"
#include "oas_device.h"
#include "oas_reuse.h"
#include "oas_mtls.h"
#include "oas_dpop.h"
#include "oas_credcache.h"

/* README "Limits": what does not fit a store entry is the request's fault */
#define TOO_LONG "the user name or scope is too long"

typedef struct tok_req_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;
    apr_pool_t *p;
    apr_table_t *params;
    const oas_client_t *client;
    int reused;            /* a rotated refresh token, again within the reuse window */
    const char *jkt;               /* the DPoP proof's key thumbprint; NULL: no proof */
    const char *x5t;               /* RFC 8705 §3: the bound certificate's x5t#S256 */
} tok_req_t;

static oas_response_t *bad(tok_req_t *t, int status, oas_error_t err, const char *why)
{
    OAS_LOG(&t->req->log, OAS_LOG_INFO, 0, OASLOGNO(00410) "token request refused: %s: %s",
            oas_error_name(err), why);
    return oas_response_error(t->p, t->cfg, status, err, why);
}

/* HTTPS, method, size, content type, then the parameters: the shared rules
 * (GET too with OAuthASRequirePost Off). */
static oas_response_t *read_params(tok_req_t *t)
{
    unsigned allow = OAS_ALLOW_POST | (t->cfg->require_post ? 0 : OAS_ALLOW_GET);
    oas_req_problem_t prob;
    oas_response_t *r;

    if (!oas_request_params(&t->params, &prob, t->cfg, t->req, allow, t->p)) {
        return NULL;
    }
    r = bad(t, prob.status, OAS_ERR_INVALID_REQUEST, prob.why);
    if (prob.allow) {
        apr_table_setn(r->headers, "Allow", prob.allow);
    }
    return r;
}

static const char *param(tok_req_t *t, const char *name)
{
    return apr_table_get(t->params, name);
}

/* The success answer, RFC 6749 §5.1. */
static oas_response_t *token_answer(tok_req_t *t, const oas_issued_t *is, const char *scope,
                                    unsigned grant)
{
    long long now = oas_req_now(t->req);
    oas_jw_t o;

    oas_jw_begin(&o, t->p);
    oas_jw_str(&o, "access_token", is->access_token);
    oas_jw_str(&o, "token_type", t->jkt ? "DPoP" : "Bearer");
    if (is->access_exp) {
        oas_jw_int(&o, "expires_in", is->access_exp - now);
    }
    if (scope && *scope) {
        oas_jw_str(&o, "scope", scope);
    }
    if (is->refresh_token) {
        oas_jw_str(&o, "refresh_token", is->refresh_token);
    }
    oas_count_issued(t->cfg, grant);
    OAS_LOG(&t->req->log, OAS_LOG_INFO, 0, OASLOGNO(00411)
            "issued %s token%s to client '%s' (grant %s, scope '%s')",
            "an access", is->refresh_token ? " and a refresh" : "", t->client->client_id,
            oas_grant_name(grant), scope ? scope : "");
    return oas_response_json(t->p, 200, oas_jw_end(&o));
}

/* The `resource` parameters (RFC 8707 §2): declared, allowed to the client and,
 * with within (the grant's audience), a part of it. *paud: the named ones;
 * when none was named, within (NULL: the default resource). */
static oas_response_t *target(tok_req_t *t, const char *within, const char **paud)
{
    const char *why = oas_resource_check(paud, t->cfg, t->client,
                                         oas_resource_params(t->params, t->p), within, t->p);

    if (why) {
        return bad(t, 400, OAS_ERR_INVALID_TARGET, why);
    }
    *paud = *paud ? *paud : within;
    return NULL;
}

/* The answer when oas_issue_tokens failed with rv. */
static oas_response_t *issue_refused(tok_req_t *t, apr_status_t rv)
{
    if (rv == APR_EACCES) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT, "the grant has been revoked");
    }
    if (rv == OAS_ISSUE_TOO_LONG) {
        return bad(t, 400, OAS_ERR_INVALID_REQUEST, TOO_LONG);
    }
    return oas_store_failure(t->cfg, t->req, rv, "issuing a token", t->p);
}

static oas_response_t *issue(tok_req_t *t, oas_issue_t *in, unsigned count_grant)
{
    oas_issued_t is;
    apr_status_t rv;

    in->jkt = t->jkt;
    in->x5t = t->x5t;
    rv = oas_issue_tokens(&is, t->cfg, in, t->req, t->p);

    if (rv != APR_SUCCESS) {
        return issue_refused(t, rv);
    }
    return token_answer(t, &is, in->scope, count_grant);
}

static oas_response_t *grant_client_credentials(tok_req_t *t)
{
    oas_issue_t in;
    oas_response_t *r;
    const char *why;

    memset(&in, 0, sizeof(in));
    if ((why = oas_scope_resolve(&in.scope, t->cfg, t->client, param(t, "scope"), t->p))) {
        return bad(t, 400, OAS_ERR_INVALID_SCOPE, why);
    }
    if ((r = target(t, NULL, &in.audience))) {
        return r;
    }
    in.client = t->client;
    in.grant = OAS_GRANT_CLIENT_CREDENTIALS;
    return issue(t, &in, OAS_GRANT_CLIENT_CREDENTIALS);
}

/* OAS_PW_*: the providers' answer, or a grant they gave within the last
 * password_cache seconds in this process (OAuthASPasswordCache), which is
 * remembered here; failures are never remembered. */
static int owner_password(tok_req_t *t, const char *user, const char *pw)
{
    const oas_http_req_t *q = t->req;
    int cache = q->password_cache > 0 && q->password_context != NULL;
    long long now = oas_req_now(q);
    int rc;

    if (cache && oas_credcache_recall(oas_credcache_process(), user, q->password_context, pw,
                                      now)) {
        return OAS_PW_GRANTED;
    }
    rc = q->check_password ? q->check_password(q->password_baton, user, pw) : OAS_PW_NONE;
    if (cache && rc == OAS_PW_GRANTED) {
        oas_credcache_remember(oas_credcache_process(), user, q->password_context, pw,
                               now + q->password_cache);
    }
    return rc;
}

/* The user's password, unless the brute-force limits lock the user name
 * (429, nothing checked). A wrong password or unknown user counts as a
 * failure; provider errors count as nothing; a remembered grant counts as
 * a success. */
static oas_response_t *check_owner_password(tok_req_t *t, const char *user, const char *pw)
{
    oas_response_t *r;
    oas_rl_t rl;
    int rc;

    if ((r = oas_rl_check(&rl, t->cfg, t->req, OAS_RL_USER, user, t->p))) {
        return r;
    }
    rc = owner_password(t, user, pw);
    if ((rc == OAS_PW_GRANTED || rc == OAS_PW_DENIED)
        && (r = oas_rl_result(&rl, t->cfg, t->req, rc == OAS_PW_GRANTED, t->p))) {
        return r;                     /* a failure that could not be counted: 503 */
    }
    switch (rc) {
    case OAS_PW_GRANTED:
        return NULL;
    case OAS_PW_DENIED:
        return bad(t, 400, OAS_ERR_INVALID_GRANT, "invalid resource owner credentials");
    case OAS_PW_NONE:
        OAS_LOG(&t->req->log, OAS_LOG_ERR, 0, OASLOGNO(00412)
                "password grant: no OAuthASPasswordProvider is configured for this location");
        return oas_response_error(t->p, t->cfg, 500, OAS_ERR_SERVER_ERROR,
                                  "the password grant is not configured on this server");
    default:
        OAS_LOG(&t->req->log, OAS_LOG_ERR, 0, OASLOGNO(00413)
                "password grant: the authn provider failed");
        return oas_response_error(t->p, t->cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                                  "the user database is unavailable, try again later");
    }
}

static oas_response_t *grant_password(tok_req_t *t)
{
    const char *user = param(t, "username"), *pw = param(t, "password"), *why;
    oas_response_t *r;
    oas_issue_t in;

    if (!user || !pw) {
        return bad(t, 400, OAS_ERR_INVALID_REQUEST, "username and password are required");
    }
    if (!oas_jw_str_ok(user)) {
        return bad(t, 400, OAS_ERR_INVALID_REQUEST, "username is not valid UTF-8");
    }
    memset(&in, 0, sizeof(in));
    if ((why = oas_scope_resolve(&in.scope, t->cfg, t->client, param(t, "scope"), t->p))) {
        return bad(t, 400, OAS_ERR_INVALID_SCOPE, why);
    }
    if ((r = target(t, NULL, &in.audience)) || (r = check_owner_password(t, user, pw))) {
        return r;
    }
    in.client = t->client;
    in.username = user;
    in.grant = OAS_GRANT_PASSWORD;
    in.auth_time = oas_req_now(t->req);
    in.with_refresh = t->client->refresh_limit != 0;
    in.refresh_left = t->client->refresh_limit;
    return issue(t, &in, OAS_GRANT_PASSWORD);
}

/* A used code or refresh token came back: revoke what it produced. */
static oas_response_t *replayed(tok_req_t *t, const oas_entry_t *e, const char *what)
{
    OAS_LOG(&t->req->log, OAS_LOG_WARNING, 0, OASLOGNO(00414)
            "a used %s was presented again by client '%s': revoking every token issued "
            "from it", what, t->client->client_id);
    oas_family_revoke(t->cfg, e, t->req, t->p);
    return bad(t, 400, OAS_ERR_INVALID_GRANT, apr_psprintf(t->p, "%s already used", what));
}

/* A tombstone written before tombstones kept the record: whose it was is
 * unknown, and a presentation revokes as it always did. */
static int bare_tombstone(const oas_entry_t *e, int used_kind)
{
    return e->kind == used_kind && e->len == 0;
}

/* OAuthASRefreshReuseWindow: a used refresh token presented again by its
 * client within the window is no replay. rec: its tombstone's record. */
static int reuse_ok(tok_req_t *t, const oas_token_t *rec)
{
    long long now = oas_req_now(t->req);

    if (!oas_reuse_allowed(rec, t->client->client_id, now, t->cfg->refresh_reuse_window)) {
        return 0;
    }
    OAS_LOG(&t->req->log, OAS_LOG_INFO, 0, OASLOGNO(07710)
            "a used refresh token was presented again by client '%s' %lld s after its "
            "first use, within OAuthASRefreshReuseWindow (%lld s): a new pair of the same "
            "family, nothing revoked", t->client->client_id, now - rec->iat,
            t->cfg->refresh_reuse_window);
    t->reused = 1;
    return 1;
}

/* Look up a code or refresh token by its store key. A used one is a replay
 * only when its own client presents it: another client's presentation
 * changes nothing (issue 12 item 6); within OAuthASRefreshReuseWindow its
 * own client's is no replay either. */
static oas_response_t *lookup(tok_req_t *t, const unsigned char *key, oas_entry_t *e,
                              oas_token_t *tok, int used_kind, const char *what)
{
    apr_status_t rv = oas_token_lookup(e, tok, t->cfg->store, key, t->cfg->issuer, t->p);

    if (rv == APR_NOTFOUND) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   apr_psprintf(t->p, "unknown or expired %s", what));
    }
    if (rv != APR_SUCCESS) {
        return oas_store_failure(t->cfg, t->req, rv, "looking up a grant", t->p);
    }
    if (bare_tombstone(e, used_kind)) {
        return replayed(t, e, what);
    }
    if (!tok->client_id) {      /* another kind's bare tombstone: nothing of ours */
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   apr_psprintf(t->p, "unknown or expired %s", what));
    }
    if (strcmp(tok->client_id, t->client->client_id) != 0) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   apr_psprintf(t->p, "%s was issued to another client", what));
    }
    if (e->kind == used_kind) {
        return used_kind == OAS_KIND_USED_REFRESH && reuse_ok(t, tok) ? NULL
                                                                       : replayed(t, e, what);
    }
    return NULL;
}

/* The shared stores answer a consume that lost the delete with APR_NOTFOUND,
 * and the winner's tombstone follows a moment later: within a reuse window,
 * look for it (a few times, 20 ms apart) before refusing. */
static apr_status_t lost_delete(tok_req_t *t, const unsigned char *key, oas_entry_t *got)
{
    apr_status_t rv = APR_NOTFOUND;
    int i;

    for (i = 0; i < 5 && rv == APR_NOTFOUND; i++) {
        if (i) {
            apr_sleep(apr_time_from_msec(20));
        }
        rv = t->cfg->store->get(t->cfg->store, key, got, t->p);
    }
    return rv;
}

/* Take the code/refresh token once; a tombstone remembers it was used
 * (a refresh token's: its record and when, for the reuse window, oas_reuse.h). */
static oas_response_t *take(tok_req_t *t, const unsigned char *key, const oas_entry_t *e,
                            int used_kind, const char *what)
{
    oas_entry_t tomb = *e, got;
    oas_token_t rec;
    apr_status_t rv;

    /* the tombstone keeps the record (its issuer above all: a replay at
     * another issuer is no replay there) */
    tomb.kind = used_kind;
    if (used_kind == OAS_KIND_USED_REFRESH) {   /* the record, and when it was used */
        oas_reuse_tombstone(&tomb, e, oas_req_now(t->req), t->p);
    }
    rv = t->cfg->store->consume(t->cfg->store, key, &got, &tomb, t->p);
    if (rv == APR_NOTFOUND && used_kind == OAS_KIND_USED_REFRESH
        && t->cfg->refresh_reuse_window > 0) {
        rv = lost_delete(t, key, &got);
    }
    if (rv == APR_NOTFOUND) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   apr_psprintf(t->p, "unknown or expired %s", what));
    }
    if (rv != APR_SUCCESS) {
        return oas_store_failure(t->cfg, t->req, rv, "redeeming a grant", t->p);
    }
    if (got.kind == used_kind) {
        /* lost the race to an earlier use: within the window the pair
         * issued for this request stays, as a reuse would get one */
        return used_kind == OAS_KIND_USED_REFRESH
               && oas_token_decode(&rec, &got, t->p) == APR_SUCCESS && reuse_ok(t, &rec)
               ? NULL : replayed(t, &got, what);
    }
    return NULL;
}

/* Tokens issued for a redemption that then lost the race for the code or
 * refresh token: they go again, nobody ever saw them. */
static void unissue(tok_req_t *t, const oas_issued_t *is)
{
    unsigned char key[OAS_DIGEST_LEN];

    if (is->access_token) {
        oas_store_key(key, OAS_PREFIX_ACCESS, is->access_token);
        t->cfg->store->remove(t->cfg->store, key, t->p);
    }
    if (is->refresh_token) {
        oas_store_key(key, OAS_PREFIX_REFRESH, is->refresh_token);
        t->cfg->store->remove(t->cfg->store, key, t->p);
    }
}

/* Redeem a code or a refresh token (SPEC §5, §8): the new tokens are written
 * first, then the grant is taken. Of simultaneous redemptions exactly one
 * takes it and answers 200; the others take back what they wrote, and as
 * replays revoke the family, the winner's tokens included (RFC 6749
 * §4.1.2, §10.4). Taking first and writing after would let such a
 * revocation land between the two, and then nobody succeeds. */
static oas_response_t *redeem(tok_req_t *t, oas_issue_t *in, const unsigned char *key,
                              const oas_entry_t *e, int used_kind, const char *what,
                              unsigned count_grant)
{
    oas_issued_t is;
    oas_response_t *r;
    apr_status_t rv = oas_issue_tokens(&is, t->cfg, (in->jkt = t->jkt, in->x5t = t->x5t, in), t->req, t->p);

    if (rv != APR_SUCCESS) {
        return issue_refused(t, rv);
    }
    if ((r = take(t, key, e, used_kind, what))) {
        unissue(t, &is);
        return r;
    }
    return token_answer(t, &is, in->scope, count_grant);
}

/* Narrow a refresh token's scope (RFC 6749 §6). Scopes the client may no
 * longer receive are dropped. */
static const char *refresh_scope(tok_req_t *t, const char *orig, const char **pscope)
{
    apr_array_header_t *had = oas_scope_split(orig, t->p), *want, *keep;
    const char *req = param(t, "scope");
    int i;

    if (!had) {
        had = apr_array_make(t->p, 1, sizeof(const char *));
    }
    want = req ? oas_scope_split(req, t->p) : had;
    if (!want) {
        return "malformed scope";
    }
    if (!oas_scope_subset(want, had)) {
        return "a refresh may only narrow the scope";
    }
    keep = apr_array_make(t->p, want->nelts, sizeof(const char *));
    for (i = 0; i < want->nelts; i++) {
        const char *s = APR_ARRAY_IDX(want, i, const char *);
        if (oas_scope_in(t->client->scopes, s)) {
            APR_ARRAY_PUSH(keep, const char *) = s;
        }
        else if (req) {
            return apr_psprintf(t->p, "scope '%s' is not allowed for this client", s);
        }
    }
    *pscope = oas_scope_join(keep, t->p);
    return NULL;
}

/* The client's current registry entry decides too (SPEC §5): it must still
 * hold the grant that began the family and refresh tokens at all
 * (refresh_limit not 0), and a refresh_limit lowered since counts the
 * refreshes already done. *pleft: what the new refresh token may do. */
static oas_response_t *refresh_allowed(tok_req_t *t, const oas_token_t *old, int *pleft)
{
    const oas_client_t *c = t->client;
    int left = old->refresh_left, by_limit;

    if (c->refresh_limit == 0) {
        return bad(t, 400, OAS_ERR_UNAUTHORIZED_CLIENT,
                   "client may no longer use the refresh_token grant");
    }
    if (!(c->grants & old->grant)) {
        return bad(t, 400, OAS_ERR_UNAUTHORIZED_CLIENT,
                   apr_psprintf(t->p, "client may no longer use the %s grant that issued "
                                "this refresh token", oas_grant_name(old->grant)));
    }
    if (c->refresh_limit > 0) {
        by_limit = c->refresh_limit - (old->refreshes > 0 ? old->refreshes : 0);
        by_limit = by_limit > 0 ? by_limit : 0;
        if (left < 0 || by_limit < left) {
            left = by_limit;
        }
    }
    if (left == 0) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT, "refresh limit reached");
    }
    *pleft = left < 0 ? -1 : left - 1;
    return NULL;
}

static oas_response_t *grant_refresh(tok_req_t *t)
{
    const char *value = param(t, "refresh_token"), *why;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    oas_token_t old;
    oas_issue_t in;
    oas_response_t *r;

    if (!value) {
        return bad(t, 400, OAS_ERR_INVALID_REQUEST, "refresh_token is required");
    }
    oas_store_key(key, OAS_PREFIX_REFRESH, value);
    if ((r = lookup(t, key, &e, &old, OAS_KIND_USED_REFRESH, "refresh token"))) {
        return r;
    }
    if (old.kind != OAS_KIND_REFRESH && !t->reused) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT, "unknown or expired refresh token");
    }
    /* RFC 9449 §5: a bound refresh token needs a proof with the same key */
    if (old.jkt && (!t->jkt || strcmp(old.jkt, t->jkt) != 0)) {
        return bad(t, 400, OAS_ERR_INVALID_DPOP_PROOF,
                   "the refresh token is bound to another DPoP key");
    }
    memset(&in, 0, sizeof(in));
    if ((why = refresh_scope(t, old.scope, &in.scope))) {
        return bad(t, 400, OAS_ERR_INVALID_SCOPE, why);
    }
    if ((r = refresh_allowed(t, &old, &in.refresh_left))) {
        return r;
    }
    in.refresh_audience = oas_token_aud_string(&old, t->cfg);
    if ((r = target(t, in.refresh_audience, &in.audience))) {
        return r;
    }
    in.client = t->client;
    in.username = old.username;
    in.grant = old.grant;
    in.family = old.family;
    in.refreshes = old.refreshes >= 0 ? old.refreshes + 1 : -1;
    in.with_refresh = in.refresh_left != 0;
    if (t->reused) {    /* nothing to take: the token was taken at its first use */
        return issue(t, &in, OAS_GRANT_REFRESH_TOKEN);
    }
    return redeem(t, &in, key, &e, OAS_KIND_USED_REFRESH, "refresh token",
                  OAS_GRANT_REFRESH_TOKEN);
}

/* RFC 6749 §4.1.3 and RFC 7636 §4.6 checks of a code against the request. */
static oas_response_t *check_code(tok_req_t *t, const oas_token_t *code)
{
    const char *redirect_uri = param(t, "redirect_uri");
    const char *verifier = param(t, "code_verifier");

    if (code->kind != OAS_KIND_CODE) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT, "unknown or expired code");
    }
    /* RFC 9449 §10: dpop_jkt at the authorization endpoint */
    if (code->jkt && (!t->jkt || strcmp(code->jkt, t->jkt) != 0)) {
        return bad(t, 400, OAS_ERR_INVALID_DPOP_PROOF,
                   "the DPoP proof's key is not the dpop_jkt of the authorization request");
    }
    if (code->redirect_uri ? !redirect_uri || strcmp(redirect_uri, code->redirect_uri) != 0
                           : redirect_uri != NULL) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   "redirect_uri does not match the authorization request");
    }
    if (code->code_challenge) {
        if (!verifier) {
            return bad(t, 400, OAS_ERR_INVALID_GRANT, "code_verifier is required");
        }
        if (!oas_pkce_verify(code->code_challenge_method, code->code_challenge, verifier)) {
            return bad(t, 400, OAS_ERR_INVALID_GRANT, "code_verifier does not match");
        }
    }
    else if (verifier) {
        return bad(t, 400, OAS_ERR_INVALID_GRANT,
                   "code_verifier sent, but the authorization request had no code_challenge");
    }
    return NULL;
}

static oas_response_t *grant_code(tok_req_t *t)
{
    const char *value = param(t, "code");
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    oas_token_t code;
    oas_issue_t in;
    oas_response_t *r;

    if (!value) {
        return bad(t, 400, OAS_ERR_INVALID_REQUEST, "code is required");
    }
    oas_store_key(key, OAS_PREFIX_CODE, value);
    if ((r = lookup(t, key, &e, &code, OAS_KIND_USED_CODE, "code"))
        || (r = check_code(t, &code))) {
        return r;
    }
    memset(&in, 0, sizeof(in));
    in.refresh_audience = oas_token_aud_string(&code, t->cfg);
    if ((r = target(t, in.refresh_audience, &in.audience))) {
        return r;
    }
    in.client = t->client;
    in.username = code.username;
    in.scope = code.scope;
    in.grant = OAS_GRANT_AUTHORIZATION_CODE;
    in.auth_time = code.iat;      /* the user was signed in to approve */
    in.family = code.family;
    in.refresh_left = t->client->refresh_limit;
    in.with_refresh = t->client->refresh_limit != 0;
    return redeem(t, &in, key, &e, OAS_KIND_USED_CODE, "code", OAS_GRANT_AUTHORIZATION_CODE);
}

/* RFC 8628 §3.4: the device code is taken before the tokens are issued (no
 * family to revoke on a replay, so nothing can land in between). */
static oas_response_t *grant_device(tok_req_t *t)
{
    oas_device_t d;
    oas_issue_t in;
    oas_response_t *r;

    if ((r = oas_device_redeem(&d, t->cfg, t->req, param(t, "device_code"), t->client,
                               t->p))) {
        return r;
    }
    memset(&in, 0, sizeof(in));
    in.client = t->client;
    in.username = d.username;
    in.scope = d.scope;
    in.grant = OAS_GRANT_DEVICE_CODE;
    in.refresh_left = t->client->refresh_limit;
    in.with_refresh = t->client->refresh_limit != 0;
    return issue(t, &in, OAS_GRANT_DEVICE_CODE);
}

static const struct {
    const char *name;
    unsigned grant;
    int allow_public;
    oas_response_t *(*handle)(tok_req_t *t);
} grants[] = {
    { "authorization_code", OAS_GRANT_AUTHORIZATION_CODE, 1, grant_code },
    { "client_credentials", OAS_GRANT_CLIENT_CREDENTIALS, 0, grant_client_credentials },
    { "password",           OAS_GRANT_PASSWORD,           0, grant_password },
    { "refresh_token",      0,                            1, grant_refresh },
    { OAS_DEVICE_GRANT_NAME, OAS_GRANT_DEVICE_CODE,       1, grant_device },
};

oas_response_t *oas_token_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                   apr_pool_t *p)
{
    tok_req_t t = { cfg, req, p, NULL, NULL, 0, NULL, NULL };
    const char *gt;
    oas_response_t *r;
    size_t i;

    if ((r = read_params(&t))) {
        return r;
    }
    if (!(gt = param(&t, "grant_type"))) {
        return bad(&t, 400, OAS_ERR_INVALID_REQUEST, "grant_type is required");
    }
    for (i = 0; i < sizeof(grants) / sizeof(grants[0]); i++) {
        if (strcmp(gt, grants[i].name) != 0) {
            continue;
        }
        OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(00415) "token request: grant_type %s",
                grants[i].name);
        if ((r = oas_client_authenticate(&t.client, cfg, req, t.params,
                                         grants[i].allow_public, p))) {
            return r;
        }
        if (grants[i].grant && !(t.client->grants & grants[i].grant)) {
            return bad(&t, 400, OAS_ERR_UNAUTHORIZED_CLIENT,
                       apr_psprintf(p, "client may not use the %s grant", gt));
        }
        if ((r = oas_dpop_token_request(&t.jkt, cfg, req, t.client, p))
            || (r = oas_mtls_token_request(&t.x5t, cfg, req, t.client, p))) {
            return r;
        }
        return grants[i].handle(&t);
    }
    return bad(&t, 400, OAS_ERR_UNSUPPORTED_GRANT_TYPE, "unsupported grant_type");
}
