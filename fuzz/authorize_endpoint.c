/* fuzz/authorize_endpoint.c — the authorization endpoint as a whole
 * (oas_authorize_endpoint, include/oas_proto.h): client and redirect URI
 * matching, response types, scope, PKCE, the approval page and its CSRF
 * token (fuzz/lib/fuzz_ep.h gives the input format). When the page is
 * shown, its form is posted back approved (as a browser would), so code and
 * implicit issuing run on fuzzed parameters too.
 * Properties: a known status; a redirect only to a URI registered for the
 * request's client_id, followed by '?', '&' or '#'; HTML answers never
 * carry a raw "<script"; no error-level log line (except the documented
 * set-up error of a request without a user). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "fuzz_ep.h"
#include "oas_form.h"

static const char *req_param(const oas_http_req_t *req, const char *name, apr_pool_t *p)
{
    apr_table_t *t = NULL;
    int post = strcmp(req->method, "POST") == 0;
    const char *data = post ? req->body : req->query;
    apr_size_t len = post ? req->body_len : (data ? strlen(data) : 0);

    if (oas_form_parse(&t, data, len, p, NULL) != APR_SUCCESS) {
        return NULL;
    }
    return apr_table_get(t, name);
}

/* A Location goes to a URI registered for the request's client, nowhere else. */
static void check_location(const oas_config_t *cfg, const oas_http_req_t *req,
                           const oas_response_t *r, apr_pool_t *p)
{
    const char *loc = apr_table_get(r->headers, "Location");
    const char *id = req_param(req, "client_id", p);
    const oas_client_t *c = id ? oas_registry_get(cfg->registry, id) : NULL;
    int i, ok = 0;

    FUZZ_CHECK(r->status == 302 || r->status == 303);
    FUZZ_CHECK(c != NULL && c->enabled);
    for (i = 0; i < c->redirect_uris->nelts && !ok; i++) {
        const char *u = APR_ARRAY_IDX(c->redirect_uris, i, const char *);
        size_t n = strlen(u);
        ok = strncmp(loc, u, n) == 0 && loc[n] != '\0' && strchr("?&#", loc[n]) != NULL;
    }
    FUZZ_CHECK(ok);
    FUZZ_CHECK(strchr(loc, '\r') == NULL && strchr(loc, '\n') == NULL);
    FUZZ_CHECK(strstr(loc, "iss=https%3A%2F%2Fas.example") != NULL);
}

static void check(const oas_config_t *cfg, const oas_http_req_t *req, const oas_response_t *r,
                  apr_pool_t *p)
{
    int no_user = !req->user || !*req->user;

    FUZZ_CHECK(r != NULL && r->headers != NULL);
    FUZZ_CHECK(r->status == 200 || r->status == 302 || r->status == 303 || r->status == 400
               || r->status == 403 || r->status == 405 || (r->status == 500 && no_user));
    FUZZ_CHECK(fuzz_ep_errors == 0 || no_user);
    FUZZ_CHECK(strcmp(apr_table_get(r->headers, "Cache-Control"), "no-store") == 0);
    if (apr_table_get(r->headers, "Location")) {
        check_location(cfg, req, r, p);
        return;
    }
    FUZZ_CHECK(r->status != 302 && r->status != 303);
    FUZZ_CHECK(r->content_type && strncmp(r->content_type, "text/html", 9) == 0);
    FUZZ_CHECK(strstr(apr_pstrmemdup(p, r->body, r->body_len), "<script") == NULL);
}

/* &amp; &lt; &gt; &quot; &#39; back to bytes */
static char *unescape(const char *s, apr_size_t n, apr_pool_t *p)
{
    static const char *const ENT[][2] = {
        { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&#39;", "'" }
    };
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i = 0, k;

    while (i < n) {
        for (k = 0; k < 5; k++) {
            size_t el = strlen(ENT[k][0]);
            if (i + el <= n && strncmp(s + i, ENT[k][0], el) == 0) {
                *o++ = ENT[k][1][0];
                i += el;
                break;
            }
        }
        if (k == 5) {
            *o++ = s[i++];
        }
    }
    *o = '\0';
    return out;
}

static const char *pct(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (apr_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        }
        else {
            o += sprintf(o, "%%%02X", c);
        }
    }
    *o = '\0';
    return out;
}

/* The page's hidden fields plus decision=approve, form-encoded. */
static const char *approval_body(const char *html, apr_pool_t *p)
{
    static const char IN[] = "<input type=\"hidden\" name=\"";
    const char *body = "decision=approve", *at = html;

    while ((at = strstr(at, IN)) != NULL) {
        const char *name = at + sizeof(IN) - 1, *q = strchr(name, '"'), *v, *vend;
        FUZZ_CHECK(q != NULL && strncmp(q, "\" value=\"", 9) == 0);
        v = q + 9;
        vend = strchr(v, '"');
        FUZZ_CHECK(vend != NULL);
        body = apr_pstrcat(p, body, "&", apr_pstrmemdup(p, name, (apr_size_t)(q - name)), "=",
                           pct(p, unescape(v, (apr_size_t)(vend - v), p)), NULL);
        at = vend;
    }
    return body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oas_config_t *cfg = fuzz_ep_config();
    oas_http_req_t req, post;
    oas_response_t *r;

    apr_pool_create(&p, fuzz_pool_root());
    fuzz_ep_request(&req, cfg, data, size, p);
    r = oas_authorize_endpoint(cfg, &req, p);
    check(cfg, &req, r, p);
    if (r->status == 200) {
        const char *html = apr_pstrmemdup(p, r->body, r->body_len);
        FUZZ_CHECK(strstr(html, "name=\"csrf\"") != NULL);
        post = req;
        post.method = "POST";
        post.content_type = "application/x-www-form-urlencoded";
        post.body = approval_body(html, p);
        post.body_len = strlen(post.body);
        post.query = NULL;
        post.body_too_large = 0;
        r = oas_authorize_endpoint(cfg, &post, p);
        check(cfg, &post, r, p);
        if (cfg->require_https && !post.is_https) {
            FUZZ_CHECK(r->status == 400);
        }
        else {
            const char *loc = apr_table_get(r->headers, "Location");
            FUZZ_CHECK(loc != NULL);
            /* a code or token; server_error only when the user name cannot fit a
             * store entry (docs/security-and-reliability.md "Limits") */
            FUZZ_CHECK(strstr(loc, "code=") != NULL || strstr(loc, "#access_token=") != NULL
                       || (strstr(loc, "error=server_error") != NULL && strlen(post.user) > 200));
        }
    }
    apr_pool_destroy(p);
    return 0;
}
