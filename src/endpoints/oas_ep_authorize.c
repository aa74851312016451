/* oas_ep_authorize.c — the authorization endpoint (SPEC §4; RFC 6749 §3.1,
 * §4.1.1-4.1.2.1, §4.2.1-4.2.2.1; RFC 7636; RFC 9207; RFC 9700).
 *
 * Until the client and its redirect URI are known, errors are HTML pages
 * (never a redirect: no open redirector). After that every answer is a
 * redirect to that URI carrying state and iss: in the query for
 * response_type=code, in the fragment for token. A valid request shows the
 * approval page; its form comes back as a POST with decision and csrf.
 * A request may also have been pushed before (RFC 9126): then it is taken
 * from the store by its request_uri (oas_ep_par.c), and the same checks run
 * on the pushed parameters, here and (answering JSON) at the PAR endpoint. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dynclient.h"
#include "oas_cimd.h"
#include "oas_grant.h"
#include "oas_form.h"
#include "oas_approval_page.h"
#include "oas_resource.h"
#include "oas_dpop.h"
#include "oas_json.h"
#include "oas_par.h"

#define CODE_LIFETIME_DEFAULT 600

typedef struct az_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;  /* points at rq */
    oas_http_req_t rq;          /* the request, with one clock reading for all of it */
    apr_pool_t *p;
    int is_post;
    int in_fragment;          /* answers go in the fragment (response_type=token) */
    int json;                 /* errors are JSON answers: the PAR endpoint's checks */
    int pushed;               /* the parameters are a pushed request's (RFC 9126) */
    apr_table_t *params;
    oas_authz_t a;
} az_t;

static const char *param(az_t *z, const char *name)
{
    return apr_table_get(z->params, name);
}

static const char *client_id_of(az_t *z)
{
    return z->a.client ? z->a.client->client_id : "-";
}

/* ---- answers ------------------------------------------------------------ */

/* At the PAR endpoint every refusal is a JSON 400 (RFC 9126 §2.3). */
static oas_response_t *json_error(az_t *z, oas_error_t err, const char *why)
{
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(07700)
            "pushed authorization request of client '%s' refused: %s: %s",
            z->a.client ? z->a.client->client_id : "-", oas_error_name(err), why);
    return oas_response_error(z->p, z->cfg, 400, err, why);
}

/* An HTML error page: nothing may be redirected (yet). */
static oas_response_t *page_error(az_t *z, int status, oas_error_t err, const char *why)
{
    if (z->json) {
        return json_error(z, err, why);
    }
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(02000)
            "authorization request refused (%d %s): %s", status, oas_error_name(err), why);
    return oas_html_error(z->cfg, z->p, status, err, why);
}

/* Percent-encoding for query and fragment values: RFC 3986 unreserved kept. */
static const char *pct_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

static apr_array_header_t *parts_make(az_t *z)
{
    return apr_array_make(z->p, 8, sizeof(const char *));
}

static void part(az_t *z, apr_array_header_t *parts, const char *name, const char *value)
{
    if (value) {
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(z->p, name, "=",
                                                          pct_encode(z->p, value), NULL);
    }
}

/* Where the parameters start: '#', or '?' / '&' after an existing query. */
static const char *separator(az_t *z, const char *base)
{
    apr_size_t n = strlen(base);

    if (z->in_fragment) {
        return "#";
    }
    if (!strchr(base, '?')) {
        return "?";
    }
    return (n && (base[n - 1] == '?' || base[n - 1] == '&')) ? "" : "&";
}

/* The redirect to the client: parts, then state and iss (RFC 9207). */
static oas_response_t *redirect(az_t *z, apr_array_header_t *parts)
{
    oas_response_t *r = apr_pcalloc(z->p, sizeof(*r));
    const char *base = z->a.redirect_to;

    part(z, parts, "state", z->a.state);
    part(z, parts, "iss", z->cfg->issuer);
    r->status = z->is_post ? 303 : 302;
    r->headers = apr_table_make(z->p, 4);
    r->error = OAS_ERR_MAX;
    apr_table_setn(r->headers, "Location",
                   apr_pstrcat(z->p, base, separator(z, base),
                               apr_array_pstrcat(z->p, parts, '&'), NULL));
    apr_table_setn(r->headers, "Cache-Control", "no-store");
    apr_table_setn(r->headers, "Pragma", "no-cache");
    apr_table_setn(r->headers, "Referrer-Policy", "no-referrer");
    return r;
}

static oas_response_t *redirect_error_uncounted(az_t *z, oas_error_t err, const char *why)
{
    apr_array_header_t *parts = parts_make(z);
    oas_response_t *r;

    part(z, parts, "error", oas_error_name(err));
    part(z, parts, "error_description", why);
    r = redirect(z, parts);
    r->error = err;
    r->log_note = why;
    return r;
}

/* An OAuth error sent back to the client (RFC 6749 §4.1.2.1, §4.2.2.1). */
static oas_response_t *redirect_error(az_t *z, oas_error_t err, const char *why)
{
    if (z->json) {
        return json_error(z, err, why);
    }
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(02001)
            "authorization request of client '%s' refused: %s: %s", client_id_of(z),
            oas_error_name(err), why);
    oas_count_error(z->cfg, err);
    return redirect_error_uncounted(z, err, why);
}

/* A store failure: logged and counted by oas_store_failure, answered as a
 * temporarily_unavailable redirect. */
static oas_response_t *store_failed(az_t *z, apr_status_t rv, const char *what)
{
    oas_response_t *json = oas_store_failure(z->cfg, z->req, rv, what, z->p);
    return redirect_error_uncounted(z, OAS_ERR_TEMPORARILY_UNAVAILABLE, json->log_note);
}

/* ---- step 1: transport, method, parameters -------------------------------- */

/* The shared transport rules (HTTPS, GET or POST, size, content type) and
 * the one parser; a refusal is an HTML page here, never a redirect. */
static oas_response_t *read_params(az_t *z)
{
    oas_req_problem_t prob;
    oas_response_t *r;

    z->is_post = z->req->method && strcmp(z->req->method, "POST") == 0;
    if (!oas_request_params(&z->params, &prob, z->cfg, z->req,
                            OAS_ALLOW_GET | OAS_ALLOW_POST, z->p)) {
        return NULL;
    }
    r = page_error(z, prob.status, OAS_ERR_INVALID_REQUEST,
                   apr_pstrcat(z->p, "The request was refused: ", prob.why, ".", NULL));
    if (prob.allow) {
        apr_table_setn(r->headers, "Allow", prob.allow);
    }
    return r;
}

/* ---- step 2: the server's own set-up -------------------------------------- */

static oas_response_t *check_setup(az_t *z)
{
    if (!z->req->user || !*z->req->user) {
        OAS_LOG(&z->req->log, OAS_LOG_ERR, 0, OASLOGNO(02002)
                "the authorization endpoint's Location authenticates nobody: "
                "configure AuthType and Require");
        return oas_html_error(z->cfg, z->p, 500, OAS_ERR_SERVER_ERROR,
                              "This server cannot tell who you are, so it cannot ask for "
                              "your approval. The administrator has been told.");
    }
    if (!oas_jw_str_ok(z->req->user)) {
        OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(07300)
                "authorization request refused: the signed-in user name is not valid UTF-8");
        return oas_html_error(z->cfg, z->p, 400, OAS_ERR_INVALID_REQUEST,
                              "Your user name is not valid UTF-8, so this server cannot "
                              "issue tokens for it.");
    }
    if (!z->cfg->csrf_key || z->cfg->csrf_key_len == 0) {
        OAS_LOG(&z->req->log, OAS_LOG_ERR, 0, OASLOGNO(02003)
                "the authorization endpoint has no key to sign approval forms with "
                "(CSRF key not set up)");
        return oas_html_error(z->cfg, z->p, 500, OAS_ERR_SERVER_ERROR,
                              "The approval page is not available on this server. "
                              "The administrator has been told.");
    }
    return NULL;
}

/* ---- step 2b: a pushed request (RFC 9126 §4) ------------------------------ */

/* With request_uri the pushed parameters replace the request's: of the
 * request itself only client_id (the client that pushed) and request_uri
 * are read, anything else in it is ignored and can never widen the push.
 * Every refusal is a page: the redirect URI is not known yet. */
static oas_response_t *use_pushed(az_t *z)
{
    const char *uri = param(z, "request_uri"), *id = param(z, "client_id");
    apr_table_t *pushed = NULL;
    apr_status_t rv = APR_SUCCESS;
    int rc;

    if (!uri) {
        return NULL;
    }
    if (!id) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST, "client_id is required.");
    }
    rc = oas_par_take(&pushed, z->cfg, uri, id, &rv, z->p);
    if (rc == OAS_PAR_STORE) {
        OAS_LOG(&z->req->log, OAS_STORE_FAIL_LEVEL(z->cfg->store), rv, OASLOGNO(07704)
                "taking a pushed authorization request: the token store (%s) failed",
                z->cfg->store->name);
        return page_error(z, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                          "This server cannot take authorization requests right now; "
                          "try again later.");
    }
    if (rc == OAS_PAR_OTHER_CLIENT) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST,
                          "request_uri was not pushed by this client.");
    }
    if (rc != OAS_PAR_OK) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST,
                          "request_uri is unknown, has expired or was used already; "
                          "start again from the application.");
    }
    z->params = pushed;
    z->pushed = 1;
    return NULL;
}

/* ---- step 3: client and redirect URI: no redirect on failure ---------------- */

static oas_response_t *check_redirect_uri(az_t *z)
{
    const char *uri = param(z, "redirect_uri");
    const apr_array_header_t *reg = z->a.client->redirect_uris;
    int i, n = reg ? reg->nelts : 0;

    if (!uri) {
        if (n != 1) {
            return page_error(z, 400, OAS_ERR_INVALID_REQUEST, n == 0
                              ? "The client has no registered redirect URI."
                              : "redirect_uri is required: the client has several.");
        }
        z->a.redirect_to = APR_ARRAY_IDX(reg, 0, const char *);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(uri, APR_ARRAY_IDX(reg, i, const char *)) == 0) {
            z->a.redirect_uri = z->a.redirect_to = APR_ARRAY_IDX(reg, i, const char *);
            return NULL;
        }
    }
    return page_error(z, 400, OAS_ERR_INVALID_REQUEST,
                      "redirect_uri is not registered for this client.");
}

static oas_response_t *check_client(az_t *z)
{
    const char *id = param(z, "client_id");
    const oas_client_t *c = id ? oas_client_get(z->cfg, id, z->p) : NULL;

    if (!id) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST, "client_id is required.");
    }
    if (!c && oas_cimd_refusal(z->p)) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST,
                          apr_pstrcat(z->p, "The client's metadata document was refused: ",
                                      oas_cimd_refusal(z->p), ".", NULL));
    }
    if (!c) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST, "The client is not known.");
    }
    if (!c->enabled) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST, "The client is disabled.");
    }
    z->a.client = c;
    return check_redirect_uri(z);
}

/* ---- step 4: the rest; every failure is a redirect ------------------------- */

static oas_response_t *check_response_type(az_t *z)
{
    const char *rt = param(z, "response_type");
    unsigned need;

    z->in_fragment = rt && strcmp(rt, "token") == 0;
    if (!rt) {
        return redirect_error(z, OAS_ERR_INVALID_REQUEST, "response_type is required");
    }
    if (strcmp(rt, "password") == 0 || strcmp(rt, "client_credentials") == 0) {
        return redirect_error(z, OAS_ERR_INVALID_REQUEST, "this grant is used at the token "
                              "endpoint, not at the authorization endpoint");
    }
    if (strcmp(rt, "code") != 0 && strcmp(rt, "token") != 0) {
        return redirect_error(z, OAS_ERR_UNSUPPORTED_RESPONSE_TYPE,
                              "response_type must be code or token");
    }
    need = z->in_fragment ? OAS_GRANT_IMPLICIT : OAS_GRANT_AUTHORIZATION_CODE;
    if (!(z->a.client->grants & need)) {
        return redirect_error(z, OAS_ERR_UNAUTHORIZED_CLIENT,
                              apr_psprintf(z->p, "client may not use the %s grant",
                                           oas_grant_name(need)));
    }
    z->a.response_type = z->in_fragment ? "token" : "code";
    return NULL;
}

static int pkce_required(az_t *z)
{
    return z->cfg->require_pkce == OAS_PKCE_ALL
           || (z->cfg->require_pkce == OAS_PKCE_PUBLIC && !z->a.client->confidential);
}

/* RFC 7636 §4.3, §4.4.1 (code flow only). */
static oas_response_t *check_pkce(az_t *z)
{
    const char *ch = param(z, "code_challenge"), *m = param(z, "code_challenge_method");
    const char *jkt = param(z, "dpop_jkt");

    if (z->in_fragment) {
        return NULL;
    }
    if (jkt && !oas_dpop_jkt_valid(jkt)) {       /* RFC 9449 §10 */
        return redirect_error(z, OAS_ERR_INVALID_REQUEST,
                              "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)");
    }
    z->a.dpop_jkt = jkt;
    if (m && strcmp(m, "S256") != 0 && strcmp(m, "plain") != 0) {
        return redirect_error(z, OAS_ERR_INVALID_REQUEST,
                              "code_challenge_method must be S256 or plain");
    }
    if (!ch) {
        if (m || pkce_required(z)) {
            return redirect_error(z, OAS_ERR_INVALID_REQUEST, "code_challenge required");
        }
        return NULL;
    }
    if (!oas_pkce_valid_value(ch)) {
        return redirect_error(z, OAS_ERR_INVALID_REQUEST, "malformed code_challenge");
    }
    z->a.code_challenge = ch;
    z->a.code_challenge_method = (m && strcmp(m, "S256") == 0) ? "S256" : "plain";
    return NULL;
}

static oas_response_t *check_request(az_t *z)
{
    oas_response_t *r;
    const char *why;

    z->a.state = param(z, "state");
    if ((r = check_response_type(z))) {
        return r;
    }
    if ((why = oas_scope_resolve(&z->a.scope, z->cfg, z->a.client, param(z, "scope"), z->p))) {
        return redirect_error(z, OAS_ERR_INVALID_SCOPE, why);
    }
    if ((why = oas_resource_check(&z->a.resource, z->cfg, z->a.client,
                                  oas_resource_params(z->params, z->p), NULL, z->p))) {
        return redirect_error(z, OAS_ERR_INVALID_TARGET, why);
    }
    return check_pkce(z);
}

/* OAuthASRequirePAR On, or the client's require_pushed_authorization_requests:
 * a request shown to the user must have been pushed. The decision posted
 * from the approval page carries no request_uri: its CSRF token proves the
 * page was shown, which only a pushed request got. */
static oas_response_t *check_pushed_required(az_t *z, int deciding)
{
    if (z->pushed || deciding || !(z->cfg->require_par || z->a.client->require_par)) {
        return NULL;
    }
    return redirect_error(z, OAS_ERR_INVALID_REQUEST, "this client must push its "
                          "authorization requests to the PAR endpoint first (RFC 9126)");
}

/* ---- step 5: the approval page ---------------------------------------------- */

static oas_response_t *show_page(az_t *z)
{
    const char *csrf = NULL;
    apr_status_t rv = oas_csrf_issue(&csrf, z->cfg, z->req->user, &z->a,
                                     oas_req_now(z->req), z->p);

    if (rv != APR_SUCCESS) {           /* nothing is stored: only randomness can fail */
        OAS_LOG(&z->req->log, OAS_LOG_ERR, rv, OASLOGNO(07200)
                "could not make the approval form's CSRF token (no randomness)");
        return redirect_error(z, OAS_ERR_SERVER_ERROR, "the approval page could not be made");
    }
    OAS_LOG(&z->req->log, OAS_LOG_DEBUG, 0, OASLOGNO(02004)
            "approval page shown to user '%s' for client '%s'", z->req->user,
            client_id_of(z));
    return oas_approval_page(z->cfg, z->req, &z->a, csrf, z->p);
}

/* ---- steps 6 and 7: the decision ------------------------------------------ */

static oas_response_t *check_csrf(az_t *z)
{
    static const char *const reasons[] = {
        "valid", "missing or not made for this user and request", "expired",
        "already used or unknown", "store failure"
    };
    apr_status_t rv;
    int rc = oas_csrf_check(z->cfg, param(z, "csrf"), z->req->user, &z->a,
                            oas_req_now(z->req), &rv, z->p);

    if (rc == OAS_CSRF_OK) {
        return NULL;
    }
    if (rc == OAS_CSRF_STORE) {
        return store_failed(z, rv, "checking an approval form");
    }
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(02005)
            "approval form of user '%s' for client '%s' refused: CSRF token %s",
            z->req->user, client_id_of(z), reasons[rc]);
    return oas_html_error(z->cfg, z->p, 403, OAS_ERR_INVALID_REQUEST,
                          "The approval form was not valid or has expired; "
                          "start again from the application.");
}

/* The code's store entry, as the token endpoint redeems it. */
static apr_status_t code_entry(az_t *z, oas_entry_t *e)
{
    long long now = oas_req_now(z->req);
    long long life = z->cfg->code_lifetime > 0 ? z->cfg->code_lifetime : CODE_LIFETIME_DEFAULT;
    oas_token_t t;
    apr_status_t rv;

    memset(&t, 0, sizeof(t));
    if ((rv = oas_random_bytes(t.family, OAS_FAMILY_LEN)) != APR_SUCCESS) {
        return rv;
    }
    t.kind = OAS_KIND_CODE;
    t.iat = now;
    t.exp = now + life;
    t.grant = OAS_GRANT_AUTHORIZATION_CODE;
    t.client_id = z->a.client->client_id;
    t.username = z->req->user;
    t.scope = z->a.scope;
    t.refresh_left = z->a.client->refresh_limit;
    t.redirect_uri = z->a.redirect_uri;
    t.code_challenge = z->a.code_challenge;
    t.code_challenge_method = z->a.code_challenge_method;
    t.issuer = z->cfg->issuer;
    t.audience = z->a.resource ? z->a.resource : oas_default_resource(z->cfg);
    t.jkt = z->a.dpop_jkt;
    return oas_token_encode(e, &t, z->p) == APR_SUCCESS ? APR_SUCCESS : OAS_ISSUE_TOO_LONG;
}

static oas_response_t *issue_code(az_t *z)
{
    const char *code = oas_random_token(z->p, OAS_TOKEN_BYTES);
    unsigned char key[OAS_DIGEST_LEN];
    apr_array_header_t *parts;
    oas_entry_t e;
    apr_status_t rv = code ? code_entry(z, &e) : APR_EGENERAL;

    if (rv == OAS_ISSUE_TOO_LONG) {     /* the request's own, not the server's (README "Limits") */
        return redirect_error(z, OAS_ERR_SERVER_ERROR,
                              "the user name, scope and redirect URI are too long for a code");
    }
    if (rv != APR_SUCCESS) {
        OAS_LOG(&z->req->log, OAS_LOG_ERR, rv, OASLOGNO(02006)
                "could not make an authorization code for client '%s' (no randomness)",
                client_id_of(z));
        return redirect_error(z, OAS_ERR_SERVER_ERROR, "the authorization code could not be made");
    }
    oas_store_key(key, OAS_PREFIX_CODE, code);
    if ((rv = z->cfg->store->put(z->cfg->store, key, &e, z->p)) != APR_SUCCESS) {
        return store_failed(z, rv, "issuing an authorization code");
    }
    if (z->cfg->counters) {
        apr_atomic_inc32(&z->cfg->counters->codes_issued);
    }
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(02007)
            "issued an authorization code to client '%s' for user '%s' (scope '%s', PKCE %s)",
            client_id_of(z), z->req->user, z->a.scope,
            z->a.code_challenge_method ? z->a.code_challenge_method : "none");
    parts = parts_make(z);
    part(z, parts, "code", code);
    return redirect(z, parts);
}

/* The implicit grant (RFC 6749 §4.2.2): never a refresh token. */
static oas_response_t *issue_implicit(az_t *z)
{
    apr_array_header_t *parts = parts_make(z);
    oas_issued_t is;
    oas_issue_t in;
    apr_status_t rv;

    memset(&in, 0, sizeof(in));
    in.client = z->a.client;
    in.username = z->req->user;
    in.scope = z->a.scope;
    in.grant = OAS_GRANT_IMPLICIT;
    in.auth_time = oas_req_now(z->req);
    in.with_refresh = 0;
    in.audience = z->a.resource;
    rv = oas_issue_tokens(&is, z->cfg, &in, z->req, z->p);
    if (rv == OAS_ISSUE_TOO_LONG) {     /* as for a code (README "Limits") */
        return redirect_error(z, OAS_ERR_SERVER_ERROR, "the user name or scope is too long");
    }
    if (rv != APR_SUCCESS) {
        return store_failed(z, rv, "issuing an access token");
    }
    oas_count_issued(z->cfg, OAS_GRANT_IMPLICIT);
    OAS_LOG(&z->req->log, OAS_LOG_INFO, 0, OASLOGNO(02008)
            "issued an access token to client '%s' for user '%s' (grant implicit, scope '%s')",
            client_id_of(z), z->req->user, z->a.scope);
    part(z, parts, "access_token", is.access_token);
    part(z, parts, "token_type", "Bearer");
    if (is.access_exp) {
        part(z, parts, "expires_in",
             apr_psprintf(z->p, "%" APR_INT64_T_FMT,
                          (apr_int64_t)(is.access_exp - oas_req_now(z->req))));
    }
    part(z, parts, "scope", *z->a.scope ? z->a.scope : NULL);
    return redirect(z, parts);
}

static oas_response_t *take_decision(az_t *z, const char *decision)
{
    int approve = strcmp(decision, "approve") == 0;
    oas_response_t *r;

    if (!approve && strcmp(decision, "deny") != 0) {
        return page_error(z, 400, OAS_ERR_INVALID_REQUEST, "decision must be approve or deny.");
    }
    if ((r = check_csrf(z))) {
        return r;
    }
    OAS_LOG(&z->req->log, OAS_LOG_DEBUG, 0, OASLOGNO(02009)
            "user '%s' %s the request of client '%s'", z->req->user,
            approve ? "approved" : "denied", client_id_of(z));
    if (!approve) {
        return redirect_error(z, OAS_ERR_ACCESS_DENIED, "the resource owner denied the request");
    }
    return z->in_fragment ? issue_implicit(z) : issue_code(z);
}

static void az_init(az_t *z, const oas_config_t *cfg, const oas_http_req_t *req, apr_pool_t *p)
{
    memset(z, 0, sizeof(*z));
    z->cfg = cfg;
    z->rq = *req;
    z->rq.now = oas_req_now(req);
    z->req = &z->rq;
    z->p = p;
}

oas_response_t *oas_authorize_check(oas_authz_t *a, const oas_config_t *cfg,
                                    const oas_http_req_t *req, apr_table_t *params,
                                    const oas_client_t *client, apr_pool_t *p)
{
    const char *id = apr_table_get(params, "client_id");
    oas_response_t *r;
    az_t z;

    az_init(&z, cfg, req, p);
    z.json = 1;
    z.params = params;
    z.a.client = client;
    if (id && strcmp(id, client->client_id) != 0) {
        return json_error(&z, OAS_ERR_INVALID_REQUEST,
                          "client_id does not match the authenticated client");
    }
    if ((r = check_redirect_uri(&z)) || (r = check_request(&z))) {
        return r;
    }
    *a = z.a;
    return NULL;
}

oas_response_t *oas_authorize_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                       apr_pool_t *p)
{
    az_t z;
    oas_response_t *r;
    const char *decision;

    az_init(&z, cfg, req, p);
    if ((r = read_params(&z)) || (r = check_setup(&z)) || (r = use_pushed(&z))
        || (r = check_client(&z)) || (r = check_request(&z))) {
        return r;
    }
    decision = z.is_post && !z.pushed ? param(&z, "decision") : NULL;
    if ((r = check_pushed_required(&z, decision != NULL))) {
        return r;
    }
    OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(02010)
            "authorization request checked: client '%s', user '%s', response_type %s, "
            "scope '%s', PKCE %s", client_id_of(&z), req->user, z.a.response_type, z.a.scope,
            z.a.code_challenge_method ? z.a.code_challenge_method : "none");
    return decision ? take_decision(&z, decision) : show_page(&z);
}
