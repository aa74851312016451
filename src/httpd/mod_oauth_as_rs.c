/* mod_oauth_as_rs.c — httpd as resource server (SPEC §7): AuthType Bearer
 * (an authn step reading Authorization: Bearer and checking the shared
 * store), the authz providers "oauth-scope" and "oauth-scope-path", and
 * the RFC 6750 §3 challenges. With OAuthASRequireHTTPS On (the default) a
 * plain-HTTP request gets 400 invalid_request (RFC 6750 §5.3). */
#include <string.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_provider.h>
#include <mod_auth.h>
#include "mod_oauth_as_private.h"
#include "oas_form.h"
#include "oas_resource.h"
#include "oas_dpop.h"

APLOG_USE_MODULE(oauth_as);

#define NOTE_SCOPE     "oauth_as:scope"
#define NOTE_CHALLENGE "oauth_as:challenge"
#define NOTE_DPOP      "oauth_as:dpop"      /* the request used the DPoP scheme */

/* AuthType Bearer (both schemes) or DPoP (RFC 9449 only) */
static int is_bearer(request_rec *r)
{
    const char *type = ap_auth_type(r);
    return type && (!strcasecmp(type, "Bearer") || !strcasecmp(type, "DPoP"));
}

static const oas_dir_conf_t *dir_conf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &oauth_as_module);
}

/* AuthType DPoP, or OAuthASRequireDPoP On */
static int dpop_only(request_rec *r)
{
    const oas_dir_conf_t *dc = dir_conf(r);
    const char *type = ap_auth_type(r);
    return (type && !strcasecmp(type, "DPoP")) || (dc && dc->require_dpop == 2);
}

/* WWW-Authenticate: Bearer realm="...", error=..., ... (RFC 6750 §3), and
 * resource_metadata where the section is an OAuthASProtectedResource
 * (RFC 9728 §5.1) */
static const char *challenge_of(request_rec *r, const char *scheme, const char *error,
                                const char *extra)
{
    const char *realm = ap_auth_name(r) ? ap_auth_name(r) : "oauth";
    const char *h = apr_psprintf(r->pool, "%s realm=\"%s\"", scheme,
                                 ap_escape_quotes(r->pool, realm));
    const oas_dir_conf_t *dc = dir_conf(r);

    if (*scheme == 'D') {
        h = apr_pstrcat(r->pool, h, ", algs=\"" OAS_DPOP_ALGS "\"", NULL);
    }
    if (error) {
        h = apr_psprintf(r->pool, "%s, error=\"%s\"%s", h, error, extra ? extra : "");
    }
    if (dc && dc->prm_url) {
        h = apr_psprintf(r->pool, "%s, resource_metadata=\"%s\"", h, dc->prm_url);
    }
    return h;
}

/* The Bearer challenge (unless the section takes DPoP only), and the DPoP
 * one (RFC 9449 §7.1) where the section takes DPoP only or the request used
 * it; the error goes with the scheme the request used. */
static void challenge(request_rec *r, const char *error, const char *extra)
{
    int dpop = dpop_only(r), used = apr_table_get(r->notes, NOTE_DPOP) != NULL;

    apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    if (!dpop) {
        apr_table_addn(r->err_headers_out, "WWW-Authenticate",
                       challenge_of(r, "Bearer", used ? NULL : error, extra));
    }
    if (dpop || used) {
        apr_table_addn(r->err_headers_out, "WWW-Authenticate",
                       challenge_of(r, "DPoP", error, extra));
    }
}

static int token_in_query(request_rec *r)
{
    apr_table_t *q = NULL;
    const char *err;
    if (!r->args) {
        return 0;
    }
    if (oas_form_parse(&q, r->args, strlen(r->args), r->pool, &err) != APR_SUCCESS) {
        return strstr(r->args, "access_token") != NULL;
    }
    return apr_table_get(q, "access_token") != NULL;
}

/* REMOTE_USER goes into the environment too (CGI would get it from r->user
 * anyway): "%{REMOTE_USER}e" of mod_headers and mod_log_config, which read
 * r->subprocess_env, then see the user like OAUTH_CLIENT_ID and the others. */
static void set_env(request_rec *r, const oas_token_t *t)
{
    apr_table_setn(r->subprocess_env, "REMOTE_USER", r->user);
    apr_table_setn(r->subprocess_env, "OAUTH_CLIENT_ID", t->client_id);
    apr_table_setn(r->subprocess_env, "OAUTH_SCOPE", t->scope ? t->scope : "");
    apr_table_setn(r->subprocess_env, "OAUTH_EXPIRES",
                   apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)t->exp));
    apr_table_setn(r->notes, NOTE_SCOPE, t->scope ? t->scope : "");
}

static void count(const oas_config_t *rt, int ok)
{
    if (rt->counters) {
        apr_atomic_inc32(ok ? &rt->counters->bearer_ok : &rt->counters->bearer_refused);
    }
}

/* OAuthASProtectedResource: the token must be meant for this resource
 * (RFC 8707; SPEC §7). OK or 401 invalid_token. */
static int check_audience(request_rec *r, const oas_config_t *rt, const oas_token_t *t)
{
    const oas_dir_conf_t *dc = dir_conf(r);

    if (!dc || !dc->protected_resource
        || oas_token_aud_has(t, rt, dc->protected_resource, r->pool)) {
        return OK;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, OASLOGNO(07601)
                  "bearer: token of client '%s' refused: its audience '%s' does not hold %s",
                  t->client_id, oas_token_aud_string(t, rt), dc->protected_resource);
    challenge(r, "invalid_token", ", error_description=\"the token is not meant for this "
              "resource\"");
    count(rt, 0);
    return HTTP_UNAUTHORIZED;
}

/* 400 invalid_request (RFC 6750 §3.1), before any token is looked at */
static int bad_request(request_rec *r, const oas_config_t *rt, const char *why)
{
    challenge(r, "invalid_request",
              apr_psprintf(r->pool, ", error_description=\"%s\"", why));
    count(rt, 0);
    return HTTP_BAD_REQUEST;
}

static void check(oas_bearer_t *b, request_rec *r, const oas_config_t *rt, oas_logger_t *lg)
{
    oas_rs_req_t rq;
    int verified;

    memset(&rq, 0, sizeof(rq));
    rq.authorization = apr_table_get(r->headers_in, "Authorization");
    rq.dpop = oas_request_dpop(r, &rq.dpop_count);
    rq.method = r->method;
    /* the proof's htu: scheme, ServerName and port as httpd sees them
     * (UseCanonicalName), and the path without query */
    rq.url = ap_construct_url(r->pool, r->uri, r);
    rq.require_dpop = dpop_only(r);
    rq.client_cert = oas_request_client_cert(r, &verified);
    rq.now = (long long)apr_time_sec(r->request_time);
    oas_token_check(b, rt, &rq, lg, r->pool);
    if (b->dpop) {
        apr_table_setn(r->notes, NOTE_DPOP, "1");
    }
}

static int bearer_authn(request_rec *r)
{
    oas_config_t *rt;
    oas_logger_t lg;
    oas_bearer_t b;

    if (!is_bearer(r)) {
        return DECLINED;
    }
    rt = oas_srv_conf(r->server)->rt;
    oas_request_logger(&lg, r);
    /* RFC 6750 §5.3: TLS (OAuthASRequireHTTPS, as at the endpoints) */
    if (rt->require_https && !oas_request_is_https(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, OASLOGNO(07101)
                      "bearer: plain-HTTP request refused (OAuthASRequireHTTPS On)");
        return bad_request(r, rt, "bearer tokens are accepted over HTTPS only");
    }
    if (token_in_query(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, OASLOGNO(03001)
                      "bearer: token in the query string refused");
        return bad_request(r, rt, "send the token in the Authorization header, "
                           "not the query string");
    }
    check(&b, r, rt, &lg);
    switch (b.result) {
    case OAS_BEARER_OK:
        if (check_audience(r, rt, &b.token) != OK) {
            return HTTP_UNAUTHORIZED;
        }
        r->user = (char *)(b.token.username ? b.token.username : b.token.client_id);
        r->ap_auth_type = b.dpop ? "DPoP" : "Bearer";
        set_env(r, &b.token);
        count(rt, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, OASLOGNO(03002)
                      "bearer: token of client '%s' for '%s' accepted (scope '%s')",
                      b.token.client_id, r->user, b.token.scope ? b.token.scope : "");
        return OK;
    case OAS_BEARER_NONE:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, OASLOGNO(03003) "bearer: no token sent");
        challenge(r, NULL, NULL);
        return HTTP_UNAUTHORIZED;
    case OAS_BEARER_UNAVAILABLE:
        return HTTP_SERVICE_UNAVAILABLE;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, OASLOGNO(03004) "bearer: token refused: %s",
                      b.error_description);
        challenge(r, b.bad_proof ? "invalid_dpop_proof" : "invalid_token",
                  apr_psprintf(r->pool, ", error_description=\"%s\"", b.error_description));
        count(rt, 0);
        return HTTP_UNAUTHORIZED;
    }
}

/* ap_note_auth_failure() for AuthType Bearer: a plain challenge unless a
 * more precise one was set already. */
static int bearer_note_failure(request_rec *r, const char *auth_type)
{
    if (!auth_type || (strcasecmp(auth_type, "Bearer") && strcasecmp(auth_type, "DPoP"))) {
        return DECLINED;
    }
    if (!apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        challenge(r, NULL, NULL);
    }
    return OK;
}

static void insufficient(request_rec *r, const char *needed)
{
    challenge(r, "insufficient_scope",
              apr_psprintf(r->pool, ", scope=\"%s\"", ap_escape_quotes(r->pool, needed)));
    apr_table_setn(r->notes, NOTE_CHALLENGE, "1");
}

/* A challenge set by a provider that was outvoted by another Require is
 * dropped once access is granted. */
static int drop_challenge(request_rec *r)
{
    if (apr_table_get(r->notes, NOTE_CHALLENGE)) {
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    return DECLINED;
}

static const char *parse_scope_line(cmd_parms *cmd, const char *line, const void **parsed)
{
    apr_array_header_t *want = oas_scope_split(line, cmd->pool);
    if (!want) {
        return apr_psprintf(cmd->pool, "Require oauth-scope: '%s' is not a list of scopes", line);
    }
    *parsed = want;
    return NULL;
}

static authz_status scope_authz(request_rec *r, const char *line, const void *parsed)
{
    const apr_array_header_t *want = parsed;
    const char *had = apr_table_get(r->notes, NOTE_SCOPE);
    apr_array_header_t *granted;
    int i;

    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    granted = had ? oas_scope_split(had, r->pool) : NULL;
    for (i = 0; granted && i < want->nelts; i++) {
        if (oas_scope_in(granted, APR_ARRAY_IDX(want, i, const char *))) {
            return AUTHZ_GRANTED;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, OASLOGNO(03005)
                  "oauth-scope: token scope '%s' holds none of '%s'", had ? had : "", line);
    if (is_bearer(r)) {
        insufficient(r, oas_scope_join(want, r->pool));
    }
    return AUTHZ_DENIED;
}

/* the scopes whose paths cover this URL: what the client should ask for */
static const char *covering_scopes(request_rec *r, const oas_scopes_t *defs)
{
    const apr_array_header_t *list = defs ? oas_scopes_list(defs) : NULL;
    apr_array_header_t *out = apr_array_make(r->pool, 2, sizeof(const char *));
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        const oas_scope_def_t *d = APR_ARRAY_IDX(list, i, const oas_scope_def_t *);
        apr_array_header_t *one = apr_array_make(r->pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = d->name;
        if (oas_scopes_cover_path(defs, one, r->uri)) {
            APR_ARRAY_PUSH(out, const char *) = d->name;
        }
    }
    return oas_scope_join(out, r->pool);
}

static authz_status scope_path_authz(request_rec *r, const char *line, const void *parsed)
{
    const oas_scopes_t *defs = oas_srv_conf(r->server)->rt->scopes;
    const char *had = apr_table_get(r->notes, NOTE_SCOPE);
    apr_array_header_t *granted;

    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    granted = had ? oas_scope_split(had, r->pool) : NULL;
    if (granted && defs && oas_scopes_cover_path(defs, granted, r->uri)) {
        return AUTHZ_GRANTED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, OASLOGNO(03006)
                  "oauth-scope-path: no scope of '%s' covers %s", had ? had : "", r->uri);
    if (is_bearer(r)) {
        insufficient(r, covering_scopes(r, defs));
    }
    return AUTHZ_DENIED;
}

static const authz_provider scope_provider = { scope_authz, parse_scope_line };
static const authz_provider scope_path_provider = { scope_path_authz, NULL };

void oas_register_rs_hooks(apr_pool_t *p)
{
    ap_hook_check_authn(bearer_authn, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(bearer_note_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(drop_challenge, NULL, NULL, APR_HOOK_FIRST);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "oauth-scope", AUTHZ_PROVIDER_VERSION,
                              &scope_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "oauth-scope-path",
                              AUTHZ_PROVIDER_VERSION, &scope_path_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
