/* oas_approval_page.c — the HTML of the authorization endpoint: the approval
 * page (SPEC §4) and the error pages. Accessible HTML5, readable without CSS;
 * everything echoed is escaped. */
#include <stdarg.h>
#include <string.h>
#include <apr_strings.h>
#include "oas_approval_page.h"
#include "oas_grant.h"

#define PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src https: 'self'; " \
                 "frame-ancestors 'none'"

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;"
    "color:#1b1b1b;background:#f4f4f4}"
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;"
    "border:1px solid #c8c8c8;border-radius:6px}"
    "h1{font-size:1.5rem;margin-top:0}"
    "img{max-width:12rem;max-height:4rem}"
    ".scope-desc{color:#3b3b3b}"
    ".actions{margin-top:1.5rem}"
    "button{font:inherit;padding:.5rem 1.5rem;margin:0 .75rem .5rem 0;border-radius:4px;"
    "border:1px solid #555;background:#fff;color:#1b1b1b;cursor:pointer}"
    "button[value=approve]{background:#1a5fb4;border-color:#1a5fb4;color:#fff}"
    "button:focus-visible{outline:3px solid #e66100;outline-offset:2px}"
    "footer{max-width:34rem;margin:0 auto;font-size:.9rem;color:#3b3b3b}";

/* A growing list of HTML pieces, joined once at the end. */
typedef struct html_t {
    apr_pool_t *p;
    apr_array_header_t *parts;
} html_t;

static void add(html_t *h, const char *s)
{
    APR_ARRAY_PUSH(h->parts, const char *) = s;
}

static void addn(html_t *h, ...)
{
    const char *s;
    va_list ap;
    va_start(ap, h);
    while ((s = va_arg(ap, const char *)) != NULL) {
        add(h, s);
    }
    va_end(ap);
}

const char *oas_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s ? s : ""; *c; c++) {
        n += strchr("&<>\"'", *c) ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s ? s : ""; *c; c++) {
        switch (*c) {
        case '&':  memcpy(o, "&amp;", 5);  o += 5; break;
        case '<':  memcpy(o, "&lt;", 4);   o += 4; break;
        case '>':  memcpy(o, "&gt;", 4);   o += 4; break;
        case '"':  memcpy(o, "&quot;", 6); o += 6; break;
        case '\'': memcpy(o, "&#39;", 5);  o += 5; break;
        default:   *o++ = *c; break;
        }
    }
    *o = '\0';
    return out;
}

void oas_html_headers(apr_table_t *headers)
{
    apr_table_setn(headers, "X-Frame-Options", "DENY");
    apr_table_setn(headers, "Content-Security-Policy", PAGE_CSP);
    apr_table_setn(headers, "Cache-Control", "no-store");
    apr_table_setn(headers, "Pragma", "no-cache");
    apr_table_setn(headers, "Referrer-Policy", "no-referrer");
    apr_table_setn(headers, "X-Content-Type-Options", "nosniff");
}

static oas_response_t *html_response(apr_pool_t *p, int status, const char *body)
{
    oas_response_t *r = apr_pcalloc(p, sizeof(*r));
    r->status = status;
    r->content_type = "text/html; charset=utf-8";
    r->body = body;
    r->body_len = strlen(body);
    r->headers = apr_table_make(p, 8);
    r->error = OAS_ERR_MAX;
    oas_html_headers(r->headers);
    return r;
}

static void page_head(html_t *h, const char *title)
{
    addn(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n<title>",
         oas_html_escape(h->p, title), "</title>\n<style>", page_style,
         "</style>\n</head>\n<body>\n<main>\n", NULL);
}

static void page_tail(html_t *h, const oas_config_t *cfg)
{
    add(h, "</main>\n");
    if (cfg && cfg->page_footer) {
        addn(h, "<footer><p>", oas_html_escape(h->p, cfg->page_footer), "</p></footer>\n",
             NULL);
    }
    add(h, "</body>\n</html>\n");
}

static const char *joined(html_t *h)
{
    return apr_array_pstrcat(h->p, h->parts, 0);
}

static html_t *html_make(apr_pool_t *p)
{
    html_t *h = apr_palloc(p, sizeof(*h));
    h->p = p;
    h->parts = apr_array_make(p, 64, sizeof(const char *));
    return h;
}

oas_response_t *oas_html_error(const oas_config_t *cfg, apr_pool_t *p, int status,
                               oas_error_t err, const char *message)
{
    html_t *h = html_make(p);
    oas_response_t *r;

    page_head(h, "Authorization request refused");
    addn(h, "<h1>Authorization request refused</h1>\n<p>",
         oas_html_escape(p, message ? message : "The request was not valid."), "</p>\n"
         "<p>Error: <code>", oas_error_name(err), "</code></p>\n"
         "<p>Return to the application you came from and try again. "
         "If this keeps happening, tell its administrator.</p>\n", NULL);
    page_tail(h, cfg);
    r = html_response(p, status, joined(h));
    r->error = err;
    r->log_note = message;
    if (cfg) {
        oas_count_error(cfg, err);
    }
    return r;
}

/* One <li> per requested scope, with its description. */
static void scope_list(html_t *h, const oas_config_t *cfg, const char *scope)
{
    apr_array_header_t *names = (scope && *scope) ? oas_scope_split(scope, h->p) : NULL;
    int i;

    if (!names || names->nelts == 0) {
        add(h, "<p id=\"scopes\">No particular permissions are requested.</p>\n");
        return;
    }
    add(h, "<p id=\"scopes\">It asks for these permissions:</p>\n<ul aria-labelledby=\"scopes\">\n");
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const oas_scope_def_t *d = cfg->scopes ? oas_scopes_get(cfg->scopes, name) : NULL;
        addn(h, "<li><strong>", oas_html_escape(h->p, name), "</strong>", NULL);
        if (d && d->description && *d->description) {
            addn(h, ": <span class=\"scope-desc\">", oas_html_escape(h->p, d->description),
                 "</span>", NULL);
        }
        add(h, "</li>\n");
    }
    add(h, "</ul>\n");
}

static void hidden(html_t *h, const char *name, const char *value)
{
    if (value) {
        addn(h, "<input type=\"hidden\" name=\"", name, "\" value=\"",
             oas_html_escape(h->p, value), "\">\n", NULL);
    }
}

/* One hidden input per space-separated value (the repeatable `resource`). */
static void hidden_list(html_t *h, const char *name, const char *values)
{
    const char *s = values, *sp;

    while (s && *s) {
        sp = strchr(s, ' ');
        hidden(h, name, sp ? apr_pstrndup(h->p, s, (apr_size_t)(sp - s)) : s);
        s = sp ? sp + 1 : NULL;
    }
}

/* The resources the token will be for (RFC 8707), when the request named any. */
static void resource_list(html_t *h, const char *resources)
{
    if (resources && *resources) {
        addn(h, "<p id=\"resources\">For use at: <code>",
             oas_html_escape(h->p, resources), "</code></p>\n", NULL);
    }
}

static void approval_form(html_t *h, const oas_http_req_t *req, const oas_authz_t *a,
                          const char *csrf)
{
    addn(h, "<form method=\"post\" action=\"", oas_html_escape(h->p, req->path ? req->path : ""),
         "\">\n", NULL);
    hidden(h, "response_type", a->response_type);
    hidden(h, "client_id", a->client->client_id);
    hidden(h, "redirect_uri", a->redirect_uri);
    hidden(h, "scope", (a->scope && *a->scope) ? a->scope : NULL);
    hidden(h, "state", a->state);
    hidden(h, "code_challenge", a->code_challenge);
    hidden(h, "code_challenge_method", a->code_challenge_method);
    hidden_list(h, "resource", a->resource);
    hidden(h, "dpop_jkt", a->dpop_jkt);
    hidden(h, "csrf", csrf);
    add(h, "<div class=\"actions\">\n"
        "<button type=\"submit\" name=\"decision\" value=\"approve\" autofocus>Approve</button>\n"
        "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n"
        "</div>\n</form>\n");
}

/* A client that registered itself (RFC 7591) chose its own name: say so,
 * and where it sends the answer. */
static void self_registered_note(html_t *h, const oas_authz_t *a, apr_pool_t *p)
{
    const char *uri = a->redirect_to, *host = uri ? strstr(uri, "://") : NULL;

    if (!a->client->self_registered) {
        return;
    }
    host = host ? apr_pstrndup(p, host + 3, strcspn(host + 3, "/?:")) : uri;
    addn(h, "<p class=\"self-registered\"><strong>This application registered itself"
         "</strong>: the server does not vouch for its name.", NULL);
    if (host) {
        addn(h, " It is at <strong class=\"redirect-host\">", oas_html_escape(p, host),
             "</strong>.", NULL);
    }
    add(h, "</p>\n");
}

oas_response_t *oas_approval_page(const oas_config_t *cfg, const oas_http_req_t *req,
                                  const oas_authz_t *a, const char *csrf, apr_pool_t *p)
{
    html_t *h = html_make(p);
    const char *name = oas_html_escape(p, a->client->name ? a->client->name
                                                          : a->client->client_id);

    page_head(h, cfg->page_title ? cfg->page_title : OAS_PAGE_TITLE);
    if (cfg->page_logo) {
        addn(h, "<img src=\"", oas_html_escape(p, cfg->page_logo), "\" alt=\"\">\n", NULL);
    }
    if (cfg->page_heading) {
        addn(h, "<h1>", oas_html_escape(p, cfg->page_heading), "</h1>\n", NULL);
    }
    else {
        addn(h, "<h1>Authorize ", name, "</h1>\n", NULL);
    }
    addn(h, "<p>You are signed in as <strong>", oas_html_escape(p, req->user),
         "</strong>. The application <strong>", name,
         "</strong> asks to access your account.</p>\n", NULL);
    self_registered_note(h, a, p);
    scope_list(h, cfg, a->scope);
    resource_list(h, a->resource);
    if (a->redirect_to) {
        addn(h, "<p>If you approve, you will be sent back to <code>",
             oas_html_escape(p, a->redirect_to), "</code>.</p>\n", NULL);
    }
    else {   /* the device grant: nothing to go back to; state is the user code */
        addn(h, "<p>If you approve, the device that shows the code <strong id=\"user-code\">",
             oas_html_escape(p, a->state), "</strong> gets this access. Approve only if "
             "your device shows this code.</p>\n", NULL);
    }
    approval_form(h, req, a, csrf);
    page_tail(h, cfg);
    return html_response(p, 200, joined(h));
}

oas_response_t *oas_html_page(const oas_config_t *cfg, apr_pool_t *p, int status,
                              const char *title, const char *inner)
{
    html_t *h = html_make(p);

    page_head(h, cfg && cfg->page_title ? cfg->page_title : title);
    if (cfg && cfg->page_logo) {
        addn(h, "<img src=\"", oas_html_escape(p, cfg->page_logo), "\" alt=\"\">\n", NULL);
    }
    add(h, inner);
    page_tail(h, cfg);
    return html_response(p, status, joined(h));
}
