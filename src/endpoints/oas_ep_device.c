/* oas_ep_device.c — the device authorization grant (RFC 8628, SPEC §14):
 * the device authorization endpoint, the verification page where a signed-in
 * user enters a user code and decides, and the token endpoint's polling
 * answers. The store side is oas_device.c. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dynclient.h"
#include "oas_device.h"
#include "oas_approval_page.h"
#include "oas_grant.h"
#include "oas_json.h"
#include "oas_ratelimit.h"

#define DEVICE_PAGE_TITLE "Connect a device"

/* ---- device authorization endpoint (RFC 8628 §3.1, §3.2) ------------------- */

static oas_response_t *da_refuse(const oas_config_t *cfg, const oas_http_req_t *req,
                                 apr_pool_t *p, oas_error_t err, const char *why)
{
    OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(07800)
            "device authorization request refused: %s: %s", oas_error_name(err), why);
    return oas_response_error(p, cfg, 400, err, why);
}

static oas_response_t *da_answer(const oas_config_t *cfg, const oas_device_t *d,
                                 const char *device_code, apr_pool_t *p)
{
    const char *shown = oas_user_code_format(d->user_code, p);
    oas_jw_t w;

    oas_jw_begin(&w, p);
    oas_jw_str(&w, "device_code", device_code);
    oas_jw_str(&w, "user_code", shown);
    oas_jw_str(&w, "verification_uri", cfg->url_device);
    oas_jw_str(&w, "verification_uri_complete",
               apr_pstrcat(p, cfg->url_device, "?user_code=", shown, NULL));
    oas_jw_int(&w, "expires_in", d->exp - d->iat);
    oas_jw_int(&w, "interval", d->interval);
    return oas_response_json(p, 200, oas_jw_end(&w));
}

oas_response_t *oas_device_authorization_endpoint(const oas_config_t *cfg,
                                                  const oas_http_req_t *req, apr_pool_t *p)
{
    const oas_client_t *client = NULL;
    const char *why, *device_code = NULL;
    apr_table_t *params;
    oas_req_problem_t prob;
    oas_response_t *r;
    oas_device_t d;
    apr_status_t rv;

    if (oas_request_params(&params, &prob, cfg, req, OAS_ALLOW_POST, p)) {
        return oas_response_problem(cfg, &prob, p);
    }
    if ((r = oas_client_authenticate(&client, cfg, req, params, 1, p))) {
        return r;
    }
    if (!(client->grants & OAS_GRANT_DEVICE_CODE)) {
        return da_refuse(cfg, req, p, OAS_ERR_UNAUTHORIZED_CLIENT,
                         "client may not use the device_code grant");
    }
    memset(&d, 0, sizeof(d));
    if ((why = oas_scope_resolve(&d.scope, cfg, client, apr_table_get(params, "scope"), p))) {
        return da_refuse(cfg, req, p, OAS_ERR_INVALID_SCOPE, why);
    }
    if (!cfg->url_device) {
        OAS_LOG(&req->log, OAS_LOG_ERR, 0, OASLOGNO(07801)
                "device authorization: no Location has SetHandler oauth-as-device, so "
                "users have nowhere to enter the code");
        return oas_response_error(p, cfg, 500, OAS_ERR_SERVER_ERROR,
                                  "the device verification page is not configured");
    }
    d.issuer = cfg->issuer;
    d.client_id = client->client_id;
    d.interval = cfg->device_interval > 0 ? cfg->device_interval : 5;
    d.iat = oas_req_now(req);
    d.exp = d.iat + (cfg->device_lifetime > 0 ? cfg->device_lifetime : 600);
    if ((rv = oas_device_create(&device_code, &d, cfg, p)) != APR_SUCCESS) {
        return oas_store_failure(cfg, req, rv, "starting a device grant", p);
    }
    OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(07802)
            "device grant started for client '%s' (scope '%s')", client->client_id, d.scope);
    return da_answer(cfg, &d, device_code, p);
}

/* ---- token endpoint: polling (RFC 8628 §3.4, §3.5) ---------------------------- */

static oas_response_t *poll_answer(const oas_config_t *cfg, const oas_http_req_t *req,
                                   apr_pool_t *p, oas_error_t err, const char *why)
{
    OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(07803) "device poll: %s: %s",
            oas_error_name(err), why);
    return oas_response_error(p, cfg, 400, err, why);
}

/* The record of device_code for client; NULL, or the answer. */
static oas_response_t *poll_lookup(oas_device_t *d, const unsigned char *key,
                                   const oas_config_t *cfg, const oas_http_req_t *req,
                                   const oas_client_t *client, apr_pool_t *p)
{
    oas_entry_t e;
    apr_status_t rv = cfg->store->get(cfg->store, key, &e, p);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return oas_store_failure(cfg, req, rv, "looking up a device code", p);
    }
    if (rv == APR_NOTFOUND || oas_device_decode(d, &e, p) != APR_SUCCESS
        || strcmp(d->issuer, cfg->issuer) != 0) {
        return poll_answer(cfg, req, p, OAS_ERR_INVALID_GRANT, "unknown device_code");
    }
    if (strcmp(d->client_id, client->client_id) != 0) {
        OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(07804)
                "device poll by client '%s' with a device code of another client",
                client->client_id);
        return oas_response_error(p, cfg, 400, OAS_ERR_INVALID_GRANT,
                                  "device_code was issued to another client");
    }
    return NULL;
}

oas_response_t *oas_device_redeem(oas_device_t *d, const oas_config_t *cfg,
                                  const oas_http_req_t *req, const char *device_code,
                                  const oas_client_t *client, apr_pool_t *p)
{
    long long now = oas_req_now(req);
    unsigned char key[OAS_DIGEST_LEN];
    oas_response_t *r;
    oas_entry_t got;
    int interval;
    apr_status_t rv;

    if (!device_code) {
        return poll_answer(cfg, req, p, OAS_ERR_INVALID_REQUEST, "device_code is required");
    }
    oas_device_key(key, device_code);
    if ((r = poll_lookup(d, key, cfg, req, client, p))) {
        return r;
    }
    if (now >= d->exp) {
        return poll_answer(cfg, req, p, OAS_ERR_EXPIRED_TOKEN, "the device_code has expired");
    }
    if (d->status == OAS_DEVICE_DENIED) {
        return poll_answer(cfg, req, p, OAS_ERR_ACCESS_DENIED, "the user denied the request");
    }
    if (d->status != OAS_DEVICE_APPROVED) {
        if (oas_device_too_fast(cfg, device_code, d, now, &interval, p)) {
            return poll_answer(cfg, req, p, OAS_ERR_SLOW_DOWN,
                               apr_psprintf(p, "polled too fast; wait %d seconds between "
                                            "requests", interval));
        }
        return poll_answer(cfg, req, p, OAS_ERR_AUTHORIZATION_PENDING,
                           "the user has not decided yet");
    }
    rv = cfg->store->consume(cfg->store, key, &got, NULL, p);
    if (rv == APR_NOTFOUND) {
        return poll_answer(cfg, req, p, OAS_ERR_INVALID_GRANT, "device_code already used");
    }
    if (rv != APR_SUCCESS) {
        return oas_store_failure(cfg, req, rv, "redeeming a device code", p);
    }
    return NULL;
}

/* ---- the verification page (RFC 8628 §3.3) --------------------------------------- */

typedef struct dv_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;
    apr_pool_t *p;
    apr_table_t *params;
    long long now;
} dv_t;

static const char *dv_param(dv_t *v, const char *name)
{
    return v->params ? apr_table_get(v->params, name) : NULL;
}

/* The form that asks for the user code; note (HTML, escaped) above it. */
static oas_response_t *code_form(dv_t *v, int status, const char *note, const char *typed)
{
    const char *h = v->cfg->page_heading ? v->cfg->page_heading : DEVICE_PAGE_TITLE;
    const char *inner = apr_pstrcat(v->p,
        "<h1>", oas_html_escape(v->p, h), "</h1>\n",
        "<p>You are signed in as <strong>", oas_html_escape(v->p, v->req->user),
        "</strong>. Enter the code that your device shows.</p>\n",
        note ? note : "",
        "<form method=\"post\" action=\"", oas_html_escape(v->p, v->req->path), "\">\n"
        "<p><label for=\"user_code\">Code</label><br>\n"
        "<input id=\"user_code\" name=\"user_code\" value=\"", oas_html_escape(v->p, typed),
        "\" autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" "
        "maxlength=\"32\" required autofocus style=\"font:inherit;font-size:1.4rem;"
        "letter-spacing:.15em;padding:.4rem;width:12rem\"></p>\n"
        "<div class=\"actions\">\n<button type=\"submit\">Continue</button>\n</div>\n"
        "</form>\n", NULL);
    return oas_html_page(v->cfg, v->p, status, DEVICE_PAGE_TITLE, inner);
}

static oas_response_t *done_page(dv_t *v, int approved)
{
    const char *inner = apr_pstrcat(v->p, "<h1>",
        approved ? "Device connected" : "Request denied", "</h1>\n<p>",
        approved ? "You approved the request. Your device can continue now; you may close "
                   "this page."
                 : "You denied the request. The device gets no access; you may close this "
                   "page.", "</p>\n", NULL);
    return oas_html_page(v->cfg, v->p, 200, DEVICE_PAGE_TITLE, inner);
}

static oas_response_t *dv_setup(dv_t *v)
{
    oas_req_problem_t prob;
    oas_response_t *r;

    if (oas_request_params(&v->params, &prob, v->cfg, v->req,
                           OAS_ALLOW_GET | OAS_ALLOW_HEAD | OAS_ALLOW_POST, v->p)) {
        r = oas_html_error(v->cfg, v->p, prob.status, OAS_ERR_INVALID_REQUEST, prob.why);
        if (prob.allow) {
            apr_table_setn(r->headers, "Allow", prob.allow);
        }
        return r;
    }
    if (!v->req->user || !*v->req->user) {
        OAS_LOG(&v->req->log, OAS_LOG_ERR, 0, OASLOGNO(07805)
                "the device verification page's Location authenticates nobody: "
                "configure AuthType and Require");
        return oas_html_error(v->cfg, v->p, 500, OAS_ERR_SERVER_ERROR,
                              "This server cannot tell who you are, so it cannot ask for "
                              "your approval. The administrator has been told.");
    }
    if (!v->cfg->csrf_key || v->cfg->csrf_key_len == 0 || !v->cfg->store) {
        OAS_LOG(&v->req->log, OAS_LOG_ERR, 0, OASLOGNO(07806)
                "the device verification page has no key to sign approval forms with");
        return oas_html_error(v->cfg, v->p, 500, OAS_ERR_SERVER_ERROR,
                              "The approval page is not available on this server.");
    }
    return NULL;
}

/* The brute-force limits' 429 as a page. */
static oas_response_t *locked_page(dv_t *v, const oas_response_t *json)
{
    oas_response_t *r = oas_html_page(v->cfg, v->p, json->status, DEVICE_PAGE_TITLE,
        "<h1>Too many wrong codes</h1>\n<p>Too many wrong codes were entered for your "
        "account. Wait a while, then try again.</p>\n");
    const char *ra = apr_table_get(json->headers, "Retry-After");

    if (ra) {
        apr_table_setn(r->headers, "Retry-After", ra);
    }
    r->error = OAS_ERR_TEMPORARILY_UNAVAILABLE;
    return r;
}

static void device_authz(oas_authz_t *a, const oas_client_t *client, const char *scope,
                         const char *user_code)
{
    memset(a, 0, sizeof(*a));
    a->client = client;
    a->response_type = OAS_DEVICE_RESPONSE_TYPE;
    a->scope = scope ? scope : "";
    a->state = user_code;        /* the form carries it back, the CSRF token binds it */
}

/* A user code was entered: a wrong one counts for the brute-force limits. */
static oas_response_t *enter_code(dv_t *v, const char *typed)
{
    const oas_client_t *client;
    unsigned char dkey[OAS_DIGEST_LEN];
    const char *csrf = NULL;
    oas_response_t *r;
    oas_device_t d;
    oas_authz_t a;
    oas_rl_t rl;
    apr_status_t rv;

    if ((r = oas_rl_check(&rl, v->cfg, v->req, OAS_RL_USER_CODE, v->req->user, v->p))) {
        return locked_page(v, r);
    }
    rv = oas_device_by_user_code(&d, dkey, v->cfg, typed, v->now, v->p);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return oas_html_error(v->cfg, v->p, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "The server cannot check codes right now; try again later.");
    }
    client = rv == APR_SUCCESS ? oas_client_get(v->cfg, d.client_id, v->p) : NULL;
    if (!client || !client->enabled || !(client->grants & OAS_GRANT_DEVICE_CODE)) {
        oas_rl_result(&rl, v->cfg, v->req, 0, v->p);   /* never cleared by a right one */
        OAS_LOG(&v->req->log, OAS_LOG_INFO, 0, OASLOGNO(07807)
                "device page: user '%s' entered an unknown, used or expired user code",
                v->req->user);
        return code_form(v, 400, "<p role=\"alert\"><strong>That code is not valid or has "
                         "expired.</strong> Check the code on your device and try "
                         "again.</p>\n", typed);
    }
    device_authz(&a, client, d.scope, oas_user_code_format(d.user_code, v->p));
    if ((rv = oas_csrf_issue(&csrf, v->cfg, v->req->user, &a, v->now, v->p)) != APR_SUCCESS) {
        return oas_html_error(v->cfg, v->p, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "The server cannot show the approval page right now.");
    }
    return oas_approval_page(v->cfg, v->req, &a, csrf, v->p);
}

/* The approval form came back: its CSRF token first (it binds user, client,
 * scope and user code), then the one decision the user code allows. */
static oas_response_t *decide(dv_t *v, const char *decision)
{
    int approve = strcmp(decision, "approve") == 0;
    const char *cid = dv_param(v, "client_id");
    const oas_client_t *client = cid ? oas_client_get(v->cfg, cid, v->p) : NULL;
    const char *code = dv_param(v, "state");
    apr_status_t rv = APR_SUCCESS;
    oas_authz_t a;

    if (!approve && strcmp(decision, "deny") != 0) {
        return oas_html_error(v->cfg, v->p, 400, OAS_ERR_INVALID_REQUEST,
                              "decision must be approve or deny.");
    }
    device_authz(&a, client, dv_param(v, "scope"), code);
    if (!client || !code || oas_csrf_check(v->cfg, dv_param(v, "csrf"), v->req->user, &a,
                                           v->now, &rv, v->p) != OAS_CSRF_OK) {
        OAS_LOG(&v->req->log, OAS_LOG_INFO, rv, OASLOGNO(07808)
                "device page: approval form of user '%s' refused: CSRF token not valid",
                v->req->user);
        return oas_html_error(v->cfg, v->p, 403, OAS_ERR_INVALID_REQUEST,
                              "The approval form was not valid or has expired; "
                              "enter the code again.");
    }
    rv = oas_device_decide(v->cfg, code, approve, v->req->user, v->now, v->p);
    if (rv == APR_NOTFOUND) {
        return oas_html_error(v->cfg, v->p, 400, OAS_ERR_INVALID_REQUEST,
                              "This code has already been used or has expired.");
    }
    if (rv != APR_SUCCESS) {
        return oas_html_error(v->cfg, v->p, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "The server cannot record your decision right now.");
    }
    OAS_LOG(&v->req->log, OAS_LOG_INFO, 0, OASLOGNO(07809)
            "device page: user '%s' %s the device grant of client '%s'", v->req->user,
            approve ? "approved" : "denied", client->client_id);
    return done_page(v, approve);
}

oas_response_t *oas_device_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p)
{
    dv_t v = { cfg, req, p, NULL, oas_req_now(req) };
    const char *decision;
    oas_response_t *r;

    if ((r = dv_setup(&v))) {
        return r;
    }
    if (strcmp(req->method, "POST") != 0) {
        return code_form(&v, 200, NULL, dv_param(&v, "user_code"));
    }
    if ((decision = dv_param(&v, "decision"))) {
        return decide(&v, decision);
    }
    return enter_code(&v, dv_param(&v, "user_code"));
}
