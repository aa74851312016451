/* fuzz_ep.c — see fuzz_ep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_sha1.h>
#include <jansson.h>
#include "fuzz_ep.h"
#include "oas_token.h"
#include "oas_grant.h"

int fuzz_ep_errors;
static oas_config_t cfg;
static oas_counters_t counters;

static const char *sha(apr_pool_t *p, const char *secret)
{
    char buf[64];
    apr_sha1_base64(secret, (int)strlen(secret), buf);
    return apr_pstrdup(p, buf);
}

static const oas_registry_t *make_registry(apr_pool_t *p, const oas_scopes_t *scopes)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;
    const char *text = apr_psprintf(p,
        "{\"clients\": ["
        "{\"client_id\":\"web\",\"name\":\"Web <b>&</b> 'Co'\",\"type\":\"confidential\","
        " \"secret\":\"%s\",\"redirect_uris\":[\"https://app.example/cb\","
        " \"https://app.example/cb?x=1\"],"
        " \"grant_types\":[\"authorization_code\",\"password\",\"refresh_token\"],"
        " \"scopes\":[\"read\",\"write\"],\"refresh_limit\":1},"
        "{\"client_id\":\"spa\",\"type\":\"public\",\"redirect_uris\":[\"https://spa.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"implicit\"],\"scopes\":[\"read\"],"
        " \"refresh_limit\":-1,\"access_token_lifetime\":0},"
        "{\"client_id\":\"cc\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\",\"admin\"]},"
        "{\"client_id\":\"loop\",\"type\":\"public\","
        " \"redirect_uris\":[\"http://127.0.0.1:8080/cb\",\"com.example.app:/cb\"],"
        " \"grant_types\":[\"authorization_code\"]},"
        "{\"client_id\":\"off\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://off.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"client_credentials\"],\"enabled\":false}"
        "]}", sha(p, "web-secret"), sha(p, "cc-secret"), sha(p, "off-secret"));

    if (oas_registry_parse(&reg, text, strlen(text), "fuzz.json", scopes, p, &err)
        != APR_SUCCESS) {
        fuzz_fail(__FILE__, __LINE__, err);
    }
    return reg;
}

static void seed(const char *prefix, const char *value, oas_token_t *t, int kind)
{
    apr_pool_t *p;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    apr_pool_create(&p, fuzz_pool_root());
    FUZZ_CHECK(oas_token_encode(&e, t, p) == APR_SUCCESS);
    e.kind = kind;
    if (kind != t->kind) {
        e.data = "";
        e.len = 0;
    }
    oas_store_key(key, prefix, value);
    FUZZ_CHECK(cfg.store->put(cfg.store, key, &e, p) == APR_SUCCESS);
    apr_pool_destroy(p);
}

static oas_token_t grant(int kind, const char *client, unsigned char fam, int left)
{
    oas_token_t t;
    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.iat = FUZZ_NOW - 10;
    t.exp = FUZZ_NOW + 600;
    memset(t.family, fam, OAS_FAMILY_LEN);
    t.grant = OAS_GRANT_AUTHORIZATION_CODE;
    t.client_id = client;
    t.username = "alice";
    t.scope = "read";
    t.refresh_left = left;
    return t;
}

static void seed_store(void)
{
    oas_token_t t;
    oas_http_req_t req;
    oas_entry_t member;
    apr_pool_t *p;

    fuzz_store_reset();
    t = grant(OAS_KIND_CODE, "web", 1, 1);
    t.redirect_uri = "https://app.example/cb";
    t.code_challenge = FUZZ_CHALLENGE;
    t.code_challenge_method = "S256";
    t.issuer = cfg.issuer;
    t.scope = "read write";
    seed(OAS_PREFIX_CODE, "code-web", &t, OAS_KIND_CODE);
    t = grant(OAS_KIND_CODE, "spa", 2, -1);
    t.code_challenge = "plain-verifier-plain-verifier-plain-verifier-0123";
    t.code_challenge_method = "plain";
    t.issuer = cfg.issuer;
    seed(OAS_PREFIX_CODE, "code-spa", &t, OAS_KIND_CODE);
    t = grant(OAS_KIND_CODE, "web", 3, 1);
    seed(OAS_PREFIX_CODE, "code-used", &t, OAS_KIND_USED_CODE);
    t = grant(OAS_KIND_REFRESH, "web", 4, 1);
    t.scope = "read write";
    seed(OAS_PREFIX_REFRESH, "rt-web", &t, OAS_KIND_REFRESH);
    t = grant(OAS_KIND_REFRESH, "spa", 5, -1);
    seed(OAS_PREFIX_REFRESH, "rt-spa", &t, OAS_KIND_REFRESH);
    t = grant(OAS_KIND_REFRESH, "web", 6, 1);
    seed(OAS_PREFIX_REFRESH, "rt-used", &t, OAS_KIND_USED_REFRESH);
    t = grant(OAS_KIND_REFRESH, "web", 7, 1);
    seed(OAS_PREFIX_REFRESH, "rt-revoked", &t, OAS_KIND_REFRESH);
    t = grant(OAS_KIND_ACCESS, "web", 4, 0);
    seed(OAS_PREFIX_ACCESS, "at-web", &t, OAS_KIND_ACCESS);
    /* family 7 revoked as the token endpoint does it: a marker, members gone */
    memset(&req, 0, sizeof(req));
    req.now = FUZZ_NOW;
    t = grant(OAS_KIND_REFRESH, "web", 7, 1);
    apr_pool_create(&p, fuzz_pool_root());
    FUZZ_CHECK(oas_token_encode(&member, &t, p) == APR_SUCCESS);
    FUZZ_CHECK(oas_family_revoke(&cfg, &member, &req, p) == APR_SUCCESS);
    apr_pool_destroy(p);
}

oas_config_t *fuzz_ep_config(void)
{
    static const char *const NAMES[] = { "read", "write", "admin" };
    apr_pool_t *p = fuzz_pool_root();
    size_t i;

    if (cfg.store == NULL) {
        oas_scopes_t *scopes = oas_scopes_make(p);
        apr_array_header_t *paths = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(paths, const char *) = "/api";
        for (i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
            FUZZ_CHECK(oas_scopes_add(scopes, NAMES[i], "a <scope> & \"more\"", paths, p)
                       == NULL);
        }
        cfg.issuer = "https://as.example";
        cfg.scopes = scopes;
        cfg.registry = make_registry(p, scopes);
        cfg.store = fuzz_store();
        cfg.counters = &counters;
        cfg.code_lifetime = 600;
        cfg.access_lifetime = 3600;
        cfg.refresh_lifetime = 86400;
        cfg.csrf_key = (const unsigned char *)"0123456789abcdef0123456789abcdef";
        cfg.csrf_key_len = 32;
    }
    cfg.require_https = 1;
    cfg.require_post = 1;
    cfg.require_pkce = OAS_PKCE_PUBLIC;
    seed_store();
    return &cfg;
}

/* ---- requests -------------------------------------------------------------- */

static void count_errors(void *baton, const char *file, int line, int level, apr_status_t rv,
                         const char *msg)
{
    static int show = -1;
    if (show < 0) {
        show = getenv("FUZZ_LOG") != NULL;     /* FUZZ_LOG=1: print the core's log */
    }
    if (show) {
        fprintf(stderr, "log %d: %s\n", level, msg);
    }
    if (level <= OAS_LOG_ERR) {
        fuzz_ep_errors++;
    }
}

static int password_check(void *baton, const char *user, const char *password)
{
    return strcmp(password, "wonderland") == 0 ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static void first_line(oas_http_req_t *req, oas_config_t *c, char *line, apr_pool_t *p)
{
    char *last = NULL, *w = apr_strtok(line, " ", &last);

    req->method = w ? w : "";
    while (w != NULL && (w = apr_strtok(NULL, " ", &last)) != NULL) {
        if (strcmp(w, "http") == 0) {
            req->is_https = 0;
        }
        else if (strcmp(w, "getok") == 0) {
            c->require_post = 0;
        }
        else if (strcmp(w, "pkce-all") == 0) {
            c->require_pkce = OAS_PKCE_ALL;
        }
        else if (strcmp(w, "pkce-off") == 0) {
            c->require_pkce = OAS_PKCE_OFF;
        }
        else if (strcmp(w, "big") == 0) {
            req->body_too_large = 1;
        }
        else if (strncmp(w, "user=", 5) == 0) {
            req->user = w + 5;
        }
    }
}

int fuzz_ep_request(oas_http_req_t *req, oas_config_t *c, const uint8_t *data, size_t size,
                    apr_pool_t *p)
{
    const uint8_t *rest;
    size_t restlen;
    int ct_set = 0;
    char *line = fuzz_split(p, data, size, '\n', &rest, &restlen);

    memset(req, 0, sizeof(*req));
    req->is_https = 1;
    req->user = "alice";
    req->path = "/oauth";
    req->now = FUZZ_NOW;
    req->check_password = password_check;
    req->log.cb = count_errors;
    req->log.level = OAS_LOG_DEBUG;
    fuzz_ep_errors = 0;
    first_line(req, c, line, p);
    while (rest != NULL) {
        line = fuzz_split(p, rest, restlen, '\n', &rest, &restlen);
        if (line[0] == '\0') {
            break;
        }
        if (strncasecmp(line, "Authorization: ", 15) == 0) {
            req->authorization = line + 15;
        }
        else if (strncasecmp(line, "Content-Type: ", 14) == 0) {
            req->content_type = strcmp(line + 14, "-") == 0 ? NULL : line + 14;
            ct_set = 1;
        }
    }
    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "INTROSPECT") == 0
        || strcmp(req->method, "REVOKE") == 0) {
        req->body = rest ? fuzz_cstr(p, rest, restlen) : NULL;
        req->body_len = rest ? restlen : 0;
        if (!ct_set) {
            req->content_type = "application/x-www-form-urlencoded";
        }
    }
    else if (rest != NULL) {
        req->query = fuzz_cstr(p, rest, restlen);
    }
    return 1;
}

void fuzz_ep_check_json(const oas_response_t *r)
{
    json_error_t jerr;
    json_t *o, *err;

    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(r->status == 200 || r->status == 400 || r->status == 401 || r->status == 405);
    FUZZ_CHECK(r->content_type && strncmp(r->content_type, "application/json", 16) == 0);
    FUZZ_CHECK(r->headers && apr_table_get(r->headers, "Cache-Control")
               && strcmp(apr_table_get(r->headers, "Cache-Control"), "no-store") == 0);
    o = json_loadb(r->body, r->body_len, 0, &jerr);
    FUZZ_CHECK(o != NULL && json_is_object(o));
    err = json_object_get(o, "error");
    FUZZ_CHECK((r->status == 200) == (err == NULL));
    if (err != NULL) {
        FUZZ_CHECK(json_is_string(err)
                   && strcmp(json_string_value(err), oas_error_name(r->error)) == 0);
    }
    else {
        FUZZ_CHECK(json_is_string(json_object_get(o, "access_token")));
    }
    json_decref(o);
}
