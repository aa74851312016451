/* fuzz/redirect_uri.c — redirect URI validation (oas_redirect_uri_valid,
 * include/oas_registry.h) and matching at the authorization endpoint.
 * Input: "registered\nrequested" (requested may be absent).
 * Properties: an accepted URI is at most OAS_REDIRECT_URI_MAX bytes, has a
 * scheme, no fragment, no space, control or non-ASCII byte, no forbidden
 * scheme, and plain http only to a loopback host without user info; a
 * registry listing it loads exactly when it is accepted; the authorization
 * endpoint takes the requested URI exactly when it is byte-equal to the
 * registered one, and never redirects anywhere else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <jansson.h>
#include "fuzz_ep.h"

static void check_valid(const char *u)
{
    size_t n = strlen(u), i, s = 0;
    const char *host;

    FUZZ_CHECK(n > 0 && n <= OAS_REDIRECT_URI_MAX);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#');
    }
    while (apr_isalnum(u[s]) || strchr("+.-", u[s]) != NULL) {
        s++;
    }
    FUZZ_CHECK(s > 0 && apr_isalpha(u[0]) && u[s] == ':' && u[s + 1] != '\0');
    FUZZ_CHECK(strncasecmp(u, "javascript:", 11) != 0 && strncasecmp(u, "data:", 5) != 0
               && strncasecmp(u, "vbscript:", 9) != 0 && strncasecmp(u, "file:", 5) != 0);
    if (strncasecmp(u, "http:", 5) == 0) {
        host = u + 5;
        FUZZ_CHECK(strncmp(host, "//", 2) == 0);
        host += 2;
        FUZZ_CHECK(strncasecmp(host, "localhost", 9) == 0 || strncmp(host, "127.0.0.1", 9) == 0
                   || strncmp(host, "[::1]", 5) == 0);
        host += host[0] == '[' ? 5 : 9;
        FUZZ_CHECK(*host == '\0' || strchr(":/?", *host) != NULL);
        FUZZ_CHECK(memchr(u, '@', strcspn(u + 7, "/?") + 7) == NULL);
    }
    if (strncasecmp(u, "https:", 6) == 0) {
        FUZZ_CHECK(strncmp(u + 6, "//", 2) == 0);
        FUZZ_CHECK(memchr(u, '@', strcspn(u + 8, "/?") + 8) == NULL);
    }
}

static const char *pct(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        o += sprintf(o, "%%%02X", (unsigned char)*s);
    }
    *o = '\0';
    return out;
}

/* A registry of one public client "c" with this redirect URI. */
static const oas_registry_t *registry_with(const char *uri, const oas_scopes_t *scopes,
                                           apr_pool_t *p)
{
    json_t *o = json_pack("{s:[{s:s,s:s,s:[s],s:[s]}]}", "clients", "client_id", "c",
                          "type", "public", "redirect_uris", uri,
                          "grant_types", "authorization_code");
    char *text;
    oas_registry_t *reg = NULL;
    const char *err = NULL, *why = NULL;
    apr_status_t rv;

    if (o == NULL) {           /* not UTF-8: jansson takes no such string */
        return NULL;
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    FUZZ_CHECK(text != NULL);
    rv = oas_registry_parse(&reg, text, strlen(text), "fuzz.json", scopes, p, &err);
    free(text);
    FUZZ_CHECK((rv == APR_SUCCESS) == oas_redirect_uri_valid(uri, &why));
    return rv == APR_SUCCESS ? reg : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const uint8_t *rest;
    size_t restlen;
    const char *uri, *requested, *why = "x";
    oas_config_t cfg;
    oas_http_req_t req;
    oas_response_t *r;
    int valid;

    apr_pool_create(&p, fuzz_pool_root());
    uri = fuzz_split(p, data, size, '\n', &rest, &restlen);
    requested = rest ? fuzz_cstr(p, rest, restlen) : NULL;
    valid = oas_redirect_uri_valid(uri, &why);
    FUZZ_CHECK(valid ? why == NULL : why != NULL && *why != '\0');
    if (valid) {
        check_valid(uri);
    }
    cfg = *fuzz_ep_config();
    cfg.require_pkce = OAS_PKCE_OFF;
    if ((cfg.registry = registry_with(uri, cfg.scopes, p)) != NULL) {
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.is_https = 1;
        req.user = "alice";
        req.now = FUZZ_NOW;
        req.query = apr_pstrcat(p, "response_type=code&client_id=c&state=s",
                                requested ? "&redirect_uri=" : "",
                                requested ? pct(p, requested) : "", NULL);
        r = oas_authorize_endpoint(&cfg, &req, p);
        if (requested == NULL || *requested == '\0' || strcmp(requested, uri) == 0) {
            FUZZ_CHECK(r->status == 200);
        }
        else {
            FUZZ_CHECK(r->status == 400 && apr_table_get(r->headers, "Location") == NULL);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
