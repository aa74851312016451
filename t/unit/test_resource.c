/* test_resource.c — introspection (RFC 7662), revocation (RFC 7009),
 * metadata (RFC 8414), status and the bearer check (RFC 6750, SPEC §6-§7),
 * without a server: a real default store in a temp dir, a real registry,
 * tokens obtained from the real token endpoint. */
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_sha1.h>
#include <apr_base64.h>
#include <apr_time.h>
#include <apr_global_mutex.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_grant.h"
#include "oas_form.h"

#define INACTIVE "{\"active\":false}"
#define RS_AUTH  fx_basic("rs", "rs-secret")

static const oas_registry_t *reg_disabled;   /* the same clients, app and m2m disabled */

/* The registry; with off set, "app" and "m2m" are disabled. */
static const char *registry_json(int off)
{
    const char *en = off ? "false" : "true";
    return apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"m2m\",\"type\":\"confidential\",\"secret\":\"%s\",\"enabled\":%s,"
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\",\"write\"]},"
        "{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\",\"enabled\":%s,"
        " \"redirect_uris\":[\"https://app.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"password\"],\"scopes\":[\"read\",\"write\"],"
        " \"refresh_limit\":-1},"
        "{\"client_id\":\"other\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\",\"password\"],\"scopes\":[\"read\"],"
        " \"refresh_limit\":-1},"
        "{\"client_id\":\"rs\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]},"
        "{\"client_id\":\"forever\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],"
        " \"access_token_lifetime\":0},"
        "{\"client_id\":\"spa\",\"type\":\"public\","
        " \"redirect_uris\":[\"https://spa.example/cb\"],"
        " \"grant_types\":[\"authorization_code\"],\"scopes\":[\"read\"],\"refresh_limit\":-1},"
        "{\"client_id\":\"off\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],\"enabled\":false}"
        "]}", fx_sha_hash("m2m-secret"), en, fx_sha_hash("app-secret"), en, fx_sha_hash("other-secret"),
        fx_sha_hash("rs-secret"), fx_sha_hash("forever-secret"), fx_sha_hash("off-secret"));
}

static const oas_registry_t *make_registry(int off)
{
    return fx_registry(registry_json(off));
}
static int fake_password(void *baton, const char *user, const char *password)
{
    return strcmp(user, "alice") == 0 && strcmp(password, "wonderland") == 0
           ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static const char *registry_on(void)
{
    return registry_json(0);
}

static void setup(void)
{
    fx_setup("resource", registry_on, NULL, 64);
    reg_disabled = make_registry(1);
}
/* ---- requests ----------------------------------------------------------- */

static oas_http_req_t form_req(const char *auth, const char *body)
{
    return fx_form_req(auth, body, fake_password);
}
static oas_http_req_t get_req(void)
{
    oas_http_req_t req;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.is_https = 1;
    req.path = "/";
    return req;
}

static oas_response_t *token_post(const char *auth, const char *body)
{
    oas_http_req_t req = form_req(auth, body);
    return oas_token_endpoint(&cfg, &req, pool);
}

static oas_response_t *introspect(const char *auth, const char *body)
{
    oas_http_req_t req = form_req(auth, body);
    return oas_introspect_endpoint(&cfg, &req, pool);
}

static oas_response_t *revocation(const char *auth, const char *body)
{
    oas_http_req_t req = form_req(auth, body);
    return oas_revoke_endpoint(&cfg, &req, pool);
}

static const char *tok_param(const char *token)
{
    return apr_pstrcat(pool, "token=", token, NULL);
}

/* ---- answers ------------------------------------------------------------ */

static json_t *body_json(const oas_response_t *r)
{
    json_t *j;
    ck_assert_ptr_nonnull(r->body);
    j = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *jstr(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    return v && json_is_string(v) ? apr_pstrdup(pool, json_string_value(v)) : NULL;
}

static long long jint(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    ck_assert_msg(v && json_is_integer(v), "'%s' is not an integer", k);
    return json_integer_value(v);
}

static void assert_no_store(const oas_response_t *r)
{
    ck_assert_ptr_nonnull(r->headers);
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-store");
}

static void assert_error(const oas_response_t *r, int status, const char *error)
{
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(jstr(j, "error"), error);
    ck_assert_ptr_nonnull(jstr(j, "error_description"));
    assert_no_store(r);
    if (status == 401) {
        ck_assert_str_eq(apr_table_get(r->headers, "WWW-Authenticate"), "Basic realm=\"oauth\"");
    }
    json_decref(j);
}

static void assert_inactive(const oas_response_t *r)
{
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "application/json");
    ck_assert_int_eq(r->body_len, strlen(INACTIVE));
    ck_assert_str_eq(r->body, INACTIVE);
    assert_no_store(r);
}

/* the answer of a successful revocation */
static void assert_revoke_ok(const oas_response_t *r)
{
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->error, OAS_ERR_MAX);
    assert_no_store(r);
}

/* "active" of the introspection of token, asked by the resource server */
static int is_active(const char *token)
{
    oas_response_t *r = introspect(RS_AUTH, tok_param(token));
    json_t *j = body_json(r);
    int active;
    ck_assert_int_eq(r->status, 200);
    active = json_is_true(json_object_get(j, "active"));
    if (!active) {
        ck_assert_str_eq(r->body, INACTIVE);
    }
    json_decref(j);
    return active;
}

static int bearer_result(const char *authorization)
{
    oas_bearer_t b;
    oas_bearer_check(&b, &cfg, authorization, NULL, pool);
    return b.result;
}

static int bearer_ok(const char *token)
{
    return bearer_result(apr_pstrcat(pool, "Bearer ", token, NULL)) == OAS_BEARER_OK;
}

/* assert that the object has exactly these keys (NULL-terminated) */
static void assert_keys(json_t *j, const char *const *keys)
{
    size_t n = 0;
    for (; keys[n]; n++) {
        ck_assert_msg(json_object_get(j, keys[n]) != NULL, "'%s' missing", keys[n]);
    }
    ck_assert_int_eq(json_object_size(j), n);
}

/* ---- the store ------------------------------------------------------------ */

static oas_store_stats_t stats(void)
{
    oas_store_stats_t st;
    ck_assert_int_eq(cfg.store->stats(cfg.store, &st), APR_SUCCESS);
    return st;
}

static void assert_same_stats(const oas_store_stats_t *a)
{
    oas_store_stats_t b = stats();
    int k;
    for (k = 0; k < OAS_KIND_MAX; k++) {
        ck_assert_int_eq(a->mem_entries[k], b.mem_entries[k]);
    }
    ck_assert_int_eq(a->disk_entries, b.disk_entries);
    ck_assert_int_eq(a->purged, b.purged);
    ck_assert_int_eq(a->full, b.full);
}

/* Put a token straight into the store, as an endpoint would have issued it. */
static const char *put_token(int kind, const char *client, const char *user, long long iat,
                             long long exp)
{
    oas_token_t t;
    oas_entry_t e;
    unsigned char key[OAS_DIGEST_LEN];
    const char *value = oas_random_token(pool, OAS_TOKEN_BYTES);

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.iat = iat;
    t.exp = exp;
    t.grant = user ? OAS_GRANT_PASSWORD : OAS_GRANT_CLIENT_CREDENTIALS;
    t.client_id = client;
    t.username = user;
    t.scope = "read";
    t.refresh_left = -1;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    oas_store_key(key, kind == OAS_KIND_ACCESS ? OAS_PREFIX_ACCESS : OAS_PREFIX_REFRESH, value);
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    return value;
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

/* A backend whose TTL lags: it hands entries out with lag_exp as their
 * expiry, even past it. */
static oas_store_t *lag_from;
static oas_store_t lagging;
static long long lag_exp;

static apr_status_t lagging_get(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                apr_pool_t *p)
{
    apr_status_t rv = lag_from->get(lag_from, key, e, p);
    if (rv == APR_SUCCESS) {
        e->exp = lag_exp;
    }
    return rv;
}

/* call an endpoint helper with the lagging store, entries expired 1 s ago */
static oas_response_t *with_lagging_store(oas_response_t *(*fn)(const char *, const char *),
                                          const char *auth, const char *body)
{
    oas_response_t *r;
    lag_from = cfg.store;
    lagging = *lag_from;
    lagging.get = lagging_get;
    lag_exp = now_sec() - 1;
    cfg.store = &lagging;
    r = fn(auth, body);
    cfg.store = lag_from;
    return r;
}

/* ---- tokens from the token endpoint --------------------------------------- */

static const char *cc_token(const char *client, const char *secret, const char *extra)
{
    oas_response_t *r = token_post(fx_basic(client, secret),
                                   apr_pstrcat(pool, "grant_type=client_credentials", extra, NULL));
    json_t *j = body_json(r);
    const char *at = jstr(j, "access_token");
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(at);
    json_decref(j);
    return at;
}

/* a password grant for app (or other): access and refresh token */
static void pw_pair(const char *client, const char *secret, const char *extra,
                    const char **pat, const char **prt)
{
    oas_response_t *r = token_post(fx_basic(client, secret),
        apr_pstrcat(pool, "grant_type=password&username=alice&password=wonderland", extra, NULL));
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    *pat = jstr(j, "access_token");
    *prt = jstr(j, "refresh_token");
    ck_assert_ptr_nonnull(*pat);
    ck_assert_ptr_nonnull(*prt);
    json_decref(j);
}

static void refresh(const char *auth, const char *rt, const char **pat, const char **prt)
{
    oas_response_t *r = token_post(auth, apr_pstrcat(pool, "grant_type=refresh_token",
                                                     "&refresh_token=", rt, NULL));
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    *pat = jstr(j, "access_token");
    *prt = jstr(j, "refresh_token");
    ck_assert_ptr_nonnull(*pat);
    ck_assert_ptr_nonnull(*prt);
    json_decref(j);
}

/* tokens of the public client spa: a code as the authorization endpoint
 * would store it, redeemed with PKCE */
static void spa_pair(const char **pat, const char **prt)
{
    oas_token_t t;
    oas_entry_t e;
    unsigned char key[OAS_DIGEST_LEN];
    const char *code = oas_random_token(pool, OAS_TOKEN_BYTES);
    oas_response_t *r;
    json_t *j;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_CODE;
    t.iat = now_sec();
    t.exp = t.iat + 600;
    ck_assert_int_eq(oas_random_bytes(t.family, OAS_FAMILY_LEN), APR_SUCCESS);
    t.grant = OAS_GRANT_AUTHORIZATION_CODE;
    t.client_id = "spa";
    t.username = "bob";
    t.scope = "read";
    t.refresh_left = -1;
    t.redirect_uri = "https://spa.example/cb";
    t.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    t.code_challenge_method = "S256";
    t.issuer = cfg.issuer;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    oas_store_key(key, OAS_PREFIX_CODE, code);
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    r = token_post(NULL, apr_pstrcat(pool, "grant_type=authorization_code&client_id=spa&code=",
                                     code, "&redirect_uri=https%3A%2F%2Fspa.example%2Fcb",
                                     "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                     NULL));
    j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    *pat = jstr(j, "access_token");
    *prt = jstr(j, "refresh_token");
    ck_assert_ptr_nonnull(*pat);
    ck_assert_ptr_nonnull(*prt);
    json_decref(j);
}

/* ======================================================================== */
/* introspection                                                            */
/* ======================================================================== */

START_TEST(introspect_caller_auth)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    const char *body = tok_param(at);
    oas_store_stats_t before = stats();

    assert_error(introspect(NULL, body), 401, "invalid_client");
    assert_error(introspect(NULL, apr_pstrcat(pool, body, "&client_id=spa", NULL)), 401,
                 "invalid_client");                              /* public client */
    assert_error(introspect(fx_basic("spa", ""), body), 401, "invalid_client");
    assert_error(introspect(fx_basic("spa", "x"), body), 401, "invalid_client");
    assert_error(introspect(NULL, apr_pstrcat(pool, body, "&client_id=rs", NULL)), 401,
                 "invalid_client");                              /* confidential without Basic */
    assert_error(introspect(fx_basic("rs", "wrong"), body), 401, "invalid_client");
    assert_error(introspect(fx_basic("nobody", "x"), body), 401, "invalid_client");
    assert_error(introspect(fx_basic("off", "off-secret"), body), 401, "invalid_client");
    assert_error(introspect(NULL, apr_pstrcat(pool, body, "&client_id=rs&client_secret=rs-secret",
                                              NULL)), 401, "invalid_client");
    assert_error(introspect(RS_AUTH, apr_pstrcat(pool, body, "&client_secret=rs-secret", NULL)),
                 401, "invalid_client");
    assert_error(introspect("Basic !!!", body), 401, "invalid_client");
    assert_error(introspect(apr_pstrcat(pool, "Bearer ", at, NULL), body), 401, "invalid_client");
    assert_same_stats(&before);
    ck_assert_int_eq(counters.errors[OAS_ERR_INVALID_CLIENT], 12);
    ck_assert_int_eq(counters.introspections, 0);
    /* any confidential client may introspect any token */
    ck_assert_int_eq(introspect(RS_AUTH, body)->status, 200);
    ck_assert(strstr(introspect(fx_basic("other", "other-secret"), body)->body, "\"active\":true"));
    ck_assert(strstr(introspect(fx_basic("m2m", "m2m-secret"), body)->body, "\"active\":true"));
    ck_assert_int_eq(counters.introspections, 3);
}
END_TEST

static void transport_rules(oas_response_t *(*ep)(const oas_config_t *, const oas_http_req_t *,
                                                    apr_pool_t *), const char *auth,
                            const char *token)
{
    const char *body = tok_param(token);
    oas_http_req_t req;
    oas_response_t *r;
    oas_store_stats_t before = stats();
    static const char *const bad_bodies[] = {
        "", "token_type_hint=access_token", "token=", "token", "token=a&token=a",
        "token=a&token=", "token=%zz", "token=a%00b", "token=a%0Ab", "=a", NULL
    };
    int i;
    unsigned errs = counters.errors[OAS_ERR_INVALID_REQUEST];

    req = form_req(auth, body);
    req.method = "GET";
    r = ep(&cfg, &req, pool);
    assert_error(r, 405, "invalid_request");
    ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "POST");
    req.method = "PUT";
    ck_assert_int_eq(ep(&cfg, &req, pool)->status, 405);
    req.method = "POST";
    req.is_https = 0;
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    req.is_https = 1;
    req.content_type = NULL;
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    req.content_type = "application/json";
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    req.content_type = "multipart/form-data";
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    req.content_type = "application/x-www-form-urlencoded; charset=UTF-8";
    req.body_too_large = 1;
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    req.body_too_large = 0;
    for (i = 0; bad_bodies[i]; i++) {
        req.body = bad_bodies[i];
        req.body_len = strlen(bad_bodies[i]);
        r = ep(&cfg, &req, pool);
        ck_assert_msg(r->status == 400, "body '%s': %d", bad_bodies[i], r->status);
        assert_error(r, 400, "invalid_request");
    }
    req.body = NULL;
    req.body_len = 0;
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    /* the token twice, even with the same value */
    req.body = apr_pstrcat(pool, body, "&", body, NULL);
    req.body_len = strlen(req.body);
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    ck_assert_int_eq(counters.errors[OAS_ERR_INVALID_REQUEST], errs + 19);
    assert_same_stats(&before);
    ck_assert_int_eq(counters.introspections, 0);
    ck_assert_int_eq(counters.revocations, 0);
    ck_assert(bearer_ok(token));
    /* OAuthASRequirePost Off opens only the token endpoint to GET */
    cfg.require_post = 0;
    req = form_req(auth, body);
    req.method = "GET";
    ck_assert_int_eq(ep(&cfg, &req, pool)->status, 405);
    req.body = NULL;
    req.body_len = 0;
    req.content_type = NULL;
    req.query = body;
    ck_assert_int_eq(ep(&cfg, &req, pool)->status, 405);
    assert_same_stats(&before);
    /* OAuthASRequireHTTPS Off: plain HTTP is served */
    cfg.require_https = 0;
    req = form_req(auth, body);
    req.is_https = 0;
    ck_assert_int_eq(ep(&cfg, &req, pool)->status, 200);
}

START_TEST(introspect_transport)
{
    transport_rules(oas_introspect_endpoint, RS_AUTH, cc_token("m2m", "m2m-secret", ""));
    ck_assert_int_eq(counters.introspections, 1);
}
END_TEST

START_TEST(introspect_client_credentials)
{
    static const char *const keys[] = { "active", "scope", "client_id", "sub", "token_type",
                                        "exp", "iat", "iss", "aud", NULL };
    long long t0 = now_sec();
    const char *at = cc_token("m2m", "m2m-secret", "&scope=write");
    oas_response_t *r = introspect(RS_AUTH, tok_param(at));
    json_t *j = body_json(r);

    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "application/json");
    assert_no_store(r);
    assert_keys(j, keys);
    ck_assert(json_is_true(json_object_get(j, "active")));
    ck_assert_str_eq(jstr(j, "scope"), "write");
    ck_assert_str_eq(jstr(j, "client_id"), "m2m");
    ck_assert_str_eq(jstr(j, "sub"), "m2m");
    ck_assert_ptr_null(json_object_get(j, "username"));
    ck_assert_str_eq(jstr(j, "token_type"), "Bearer");
    ck_assert_int_ge(jint(j, "iat"), t0);
    ck_assert_int_le(jint(j, "iat"), now_sec());
    ck_assert_int_eq(jint(j, "exp"), jint(j, "iat") + 3600);
    ck_assert_str_eq(jstr(j, "iss"), "https://as.example");
    ck_assert_str_eq(jstr(j, "aud"), "https://as.example");   /* the default resource */
    json_decref(j);
    /* the hint only orders the search */
    j = body_json(introspect(RS_AUTH, apr_pstrcat(pool, tok_param(at),
                                                  "&token_type_hint=refresh_token", NULL)));
    ck_assert(json_is_true(json_object_get(j, "active")));
    ck_assert_str_eq(jstr(j, "token_type"), "Bearer");
    json_decref(j);
    j = body_json(introspect(RS_AUTH, apr_pstrcat(pool, tok_param(at),
                                                  "&token_type_hint=urn:unknown", NULL)));
    ck_assert(json_is_true(json_object_get(j, "active")));
    json_decref(j);
    ck_assert_int_eq(counters.introspections, 3);
}
END_TEST

START_TEST(introspect_password)
{
    static const char *const keys[] = { "active", "scope", "client_id", "username", "sub",
                                        "token_type", "exp", "iat", "iss", "aud", NULL };
    const char *at, *rt;
    oas_response_t *r;
    json_t *j;

    pw_pair("app", "app-secret", "&scope=read", &at, &rt);
    r = introspect(RS_AUTH, apr_pstrcat(pool, tok_param(at), "&token_type_hint=access_token",
                                        NULL));
    j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    assert_no_store(r);
    assert_keys(j, keys);
    ck_assert(json_is_true(json_object_get(j, "active")));
    ck_assert_str_eq(jstr(j, "scope"), "read");
    ck_assert_str_eq(jstr(j, "client_id"), "app");
    ck_assert_str_eq(jstr(j, "username"), "alice");
    ck_assert_str_eq(jstr(j, "sub"), "alice");
    ck_assert_str_eq(jstr(j, "token_type"), "Bearer");
    ck_assert_int_eq(jint(j, "exp"), jint(j, "iat") + 3600);
    ck_assert_str_eq(jstr(j, "iss"), cfg.issuer);
    json_decref(j);
}
END_TEST

START_TEST(introspect_never_expires)
{
    static const char *const keys[] = { "active", "scope", "client_id", "sub", "token_type",
                                        "iat", "iss", "aud", NULL };
    const char *at = cc_token("forever", "forever-secret", "");
    oas_response_t *r = introspect(RS_AUTH, tok_param(at));
    json_t *j = body_json(r);
    oas_bearer_t b;

    ck_assert_int_eq(r->status, 200);
    assert_keys(j, keys);
    ck_assert(json_is_true(json_object_get(j, "active")));
    ck_assert_str_eq(jstr(j, "sub"), "forever");
    ck_assert_ptr_null(json_object_get(j, "exp"));
    json_decref(j);
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", at, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_OK);
    ck_assert_int_eq(b.token.exp, 0);
}
END_TEST

START_TEST(introspect_refresh_token)
{
    const char *at, *rt, *hints[] = { "", "&token_type_hint=refresh_token",
                                      "&token_type_hint=access_token" };
    int i;

    pw_pair("app", "app-secret", "", &at, &rt);
    for (i = 0; i < 3; i++) {
        oas_response_t *r = introspect(RS_AUTH, apr_pstrcat(pool, tok_param(rt), hints[i], NULL));
        json_t *j = body_json(r);
        ck_assert_int_eq(r->status, 200);
        assert_no_store(r);
        ck_assert(json_is_true(json_object_get(j, "active")));
        ck_assert_str_eq(jstr(j, "client_id"), "app");
        ck_assert_str_eq(jstr(j, "username"), "alice");
        ck_assert_str_eq(jstr(j, "sub"), "alice");
        ck_assert_str_eq(jstr(j, "scope"), "read write");
        ck_assert_str_eq(jstr(j, "iss"), cfg.issuer);
        ck_assert_ptr_null(json_object_get(j, "token_type"));  /* not a bearer token */
        ck_assert_int_eq(jint(j, "exp"), jint(j, "iat") + 86400);
        json_decref(j);
    }
    ck_assert_int_eq(counters.introspections, 3);
}
END_TEST

START_TEST(introspect_inactive)
{
    const char *at, *rt, *rt2, *at2, *cc, *expired, *soon;
    long long now = now_sec();
    oas_store_stats_t before;
    oas_http_req_t req;

    pw_pair("app", "app-secret", "", &at, &rt);
    cc = cc_token("m2m", "m2m-secret", "");
    /* unknown, or not even token syntax */
    before = stats();
    assert_inactive(introspect(RS_AUTH, "token=no-such-token"));
    assert_inactive(introspect(RS_AUTH, "token=no-such-token&token_type_hint=refresh_token"));
    assert_inactive(introspect(RS_AUTH, "token=a+b%22%7D"));
    assert_inactive(introspect(RS_AUTH, apr_pstrcat(pool, "token=", at, "x", NULL)));
    assert_inactive(introspect(RS_AUTH, apr_pstrcat(pool, "token=", at + 1, NULL)));
    assert_same_stats(&before);
    /* expired: the store's entry (which has the token's exp) */
    expired = put_token(OAS_KIND_ACCESS, "m2m", NULL, now - 100, now - 10);
    assert_inactive(introspect(RS_AUTH, tok_param(expired)));
    expired = put_token(OAS_KIND_REFRESH, "app", "alice", now - 100, now - 1);
    assert_inactive(introspect(RS_AUTH, tok_param(expired)));
    /* expired by the request's clock (the store's clock has not got there) */
    soon = put_token(OAS_KIND_ACCESS, "m2m", NULL, now, now + 60);
    req = form_req(RS_AUTH, tok_param(soon));
    req.now = now + 59;
    ck_assert(strstr(oas_introspect_endpoint(&cfg, &req, pool)->body, "\"active\":true"));
    req.now = now + 60;
    assert_inactive(oas_introspect_endpoint(&cfg, &req, pool));
    /* expired, though a backend with a lagging TTL still hands it out */
    assert_inactive(with_lagging_store(introspect, RS_AUTH, tok_param(soon)));
    /* a used (rotated) refresh token */
    refresh(fx_basic("app", "app-secret"), rt, &at2, &rt2);
    assert_inactive(introspect(RS_AUTH, tok_param(rt)));
    assert_inactive(introspect(RS_AUTH, apr_pstrcat(pool, tok_param(rt),
                                                    "&token_type_hint=refresh_token", NULL)));
    ck_assert(is_active(rt2));
    /* revoked */
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), tok_param(cc)));
    assert_inactive(introspect(RS_AUTH, tok_param(cc)));
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(at2)));
    assert_inactive(introspect(RS_AUTH, tok_param(at2)));
    assert_inactive(introspect(RS_AUTH, tok_param(rt2)));
    assert_inactive(introspect(RS_AUTH, tok_param(at)));
}
END_TEST

START_TEST(introspect_disabled_client)
{
    const char *at, *rt, *cc = cc_token("m2m", "m2m-secret", ""), *oc;
    oas_store_stats_t before;

    pw_pair("app", "app-secret", "", &at, &rt);
    oc = cc_token("other", "other-secret", "");
    before = stats();
    cfg.registry = reg_disabled;
    assert_inactive(introspect(RS_AUTH, tok_param(cc)));
    assert_inactive(introspect(RS_AUTH, tok_param(at)));
    assert_inactive(introspect(RS_AUTH, tok_param(rt)));
    ck_assert(is_active(oc));                    /* other clients are unaffected */
    /* a disabled client can no longer introspect either */
    assert_error(introspect(fx_basic("m2m", "m2m-secret"), tok_param(oc)), 401, "invalid_client");
    /* a token of a client the registry no longer has */
    cfg.registry = make_registry(0);
    ck_assert(is_active(cc));
    assert_same_stats(&before);
}
END_TEST

START_TEST(introspect_client_gone)
{
    const char *gone = put_token(OAS_KIND_ACCESS, "deleted-client", NULL, now_sec(),
                                 now_sec() + 60);
    assert_inactive(introspect(RS_AUTH, tok_param(gone)));
    ck_assert_int_eq(bearer_ok(gone), 0);
}
END_TEST

/* ======================================================================== */
/* revocation                                                               */
/* ======================================================================== */

START_TEST(revoke_client_credentials)
{
    const char *cc1 = cc_token("m2m", "m2m-secret", "");
    const char *cc2 = cc_token("m2m", "m2m-secret", "");
    oas_response_t *r;

    ck_assert(bearer_ok(cc1));
    r = revocation(fx_basic("m2m", "m2m-secret"), tok_param(cc1));
    assert_revoke_ok(r);
    ck_assert_str_eq(r->body, "{}");
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Bearer ", cc1, NULL)), OAS_BEARER_INVALID);
    ck_assert(!is_active(cc1));
    /* a token without family goes alone */
    ck_assert(bearer_ok(cc2));
    ck_assert(is_active(cc2));
    ck_assert_int_eq(counters.revocations, 1);
    /* revoking it again: unknown now, still 200 */
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), tok_param(cc1)));
    ck_assert_int_eq(counters.revocations, 1);
    /* a hint of the wrong kind does not stop it */
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"),
                            apr_pstrcat(pool, tok_param(cc2), "&token_type_hint=refresh_token",
                                        NULL)));
    ck_assert(!bearer_ok(cc2));
}
END_TEST

START_TEST(revoke_access_takes_refresh)
{
    const char *at, *rt, *at_b, *rt_b;
    oas_response_t *r;

    pw_pair("app", "app-secret", "", &at, &rt);
    pw_pair("app", "app-secret", "", &at_b, &rt_b);     /* another family of the same client */
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"),
                            apr_pstrcat(pool, tok_param(at), "&token_type_hint=access_token",
                                        NULL)));
    ck_assert(!is_active(at));
    ck_assert(!is_active(rt));
    ck_assert(!bearer_ok(at));
    r = token_post(fx_basic("app", "app-secret"),
                   apr_pstrcat(pool, "grant_type=refresh_token&refresh_token=", rt, NULL));
    assert_error(r, 400, "invalid_grant");
    ck_assert(is_active(at_b));
    ck_assert(is_active(rt_b));
    ck_assert(bearer_ok(at_b));
}
END_TEST

START_TEST(revoke_refresh_takes_access)
{
    const char *at, *rt;

    pw_pair("app", "app-secret", "", &at, &rt);
    ck_assert(bearer_ok(at));
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"),
                            apr_pstrcat(pool, tok_param(rt), "&token_type_hint=refresh_token",
                                        NULL)));
    ck_assert(!is_active(rt));
    ck_assert(!is_active(at));
    ck_assert(!bearer_ok(at));
    ck_assert_int_eq(counters.revocations, 1);
    /* without a hint, and with the wrong one */
    pw_pair("app", "app-secret", "", &at, &rt);
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(rt)));
    ck_assert(!bearer_ok(at));
    pw_pair("app", "app-secret", "", &at, &rt);
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"),
                            apr_pstrcat(pool, tok_param(rt), "&token_type_hint=access_token",
                                        NULL)));
    ck_assert(!bearer_ok(at));
    ck_assert(!is_active(rt));
    ck_assert_int_eq(counters.revocations, 3);
}
END_TEST

START_TEST(revoke_family_after_refresh)
{
    const char *at1, *rt1, *at2, *rt2, *at3, *rt3;

    pw_pair("app", "app-secret", "", &at1, &rt1);
    refresh(fx_basic("app", "app-secret"), rt1, &at2, &rt2);
    refresh(fx_basic("app", "app-secret"), rt2, &at3, &rt3);
    ck_assert(bearer_ok(at1) && bearer_ok(at2) && bearer_ok(at3));
    /* the oldest access token takes every later member of its family */
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(at1)));
    ck_assert(!bearer_ok(at1));
    ck_assert(!bearer_ok(at2));
    ck_assert(!bearer_ok(at3));
    ck_assert(!is_active(rt3));
    assert_error(token_post(fx_basic("app", "app-secret"),
                            apr_pstrcat(pool, "grant_type=refresh_token&refresh_token=", rt3,
                                        NULL)), 400, "invalid_grant");
    /* and the current refresh token takes the older access tokens */
    pw_pair("app", "app-secret", "", &at1, &rt1);
    refresh(fx_basic("app", "app-secret"), rt1, &at2, &rt2);
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(rt2)));
    ck_assert(!bearer_ok(at1));
    ck_assert(!bearer_ok(at2));
}
END_TEST

START_TEST(revoke_other_clients_token)
{
    const char *at, *rt, *cc = cc_token("m2m", "m2m-secret", "");
    oas_store_stats_t before;

    pw_pair("app", "app-secret", "", &at, &rt);
    before = stats();
    assert_revoke_ok(revocation(fx_basic("other", "other-secret"), tok_param(at)));
    assert_revoke_ok(revocation(fx_basic("other", "other-secret"), tok_param(rt)));
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), tok_param(rt)));
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(cc)));
    assert_revoke_ok(revocation(NULL, apr_pstrcat(pool, tok_param(at), "&client_id=spa", NULL)));
    assert_same_stats(&before);
    ck_assert(bearer_ok(at));
    ck_assert(bearer_ok(cc));
    ck_assert(is_active(rt));
    ck_assert_int_eq(counters.revocations, 0);
}
END_TEST

START_TEST(revoke_unknown)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    oas_store_stats_t before = stats();

    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), "token=no-such-token"));
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"),
                            "token=no-such-token&token_type_hint=refresh_token"));
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), "token=a+b%22%7D"));
    assert_revoke_ok(revocation(NULL, "token=nope&client_id=spa"));
    assert_same_stats(&before);
    ck_assert(bearer_ok(at));
    ck_assert_int_eq(counters.revocations, 0);
}
END_TEST

START_TEST(revoke_public_client)
{
    const char *at, *rt, *at2, *rt2;

    spa_pair(&at, &rt);
    ck_assert(bearer_ok(at));
    /* a public client identifies itself with client_id */
    assert_error(revocation(NULL, tok_param(rt)), 401, "invalid_client");
    assert_error(revocation(fx_basic("spa", ""), tok_param(rt)), 401, "invalid_client");
    ck_assert(is_active(rt));
    assert_revoke_ok(revocation(NULL, apr_pstrcat(pool, tok_param(rt), "&client_id=spa", NULL)));
    ck_assert(!is_active(rt));
    ck_assert(!bearer_ok(at));
    spa_pair(&at2, &rt2);
    assert_revoke_ok(revocation(NULL, apr_pstrcat(pool, "client_id=spa&", tok_param(at2), NULL)));
    ck_assert(!is_active(rt2));
    ck_assert(!bearer_ok(at2));
    ck_assert_int_eq(counters.revocations, 2);
}
END_TEST

START_TEST(revoke_auth_failures)
{
    const char *at, *rt, *body;
    oas_store_stats_t before;

    pw_pair("app", "app-secret", "", &at, &rt);
    body = tok_param(at);
    before = stats();
    assert_error(revocation(NULL, body), 401, "invalid_client");
    assert_error(revocation(NULL, apr_pstrcat(pool, body, "&client_id=app", NULL)), 401,
                 "invalid_client");                   /* confidential without Basic */
    assert_error(revocation(fx_basic("app", "wrong"), body), 401, "invalid_client");
    assert_error(revocation(fx_basic("nobody", "x"), body), 401, "invalid_client");
    assert_error(revocation(fx_basic("off", "off-secret"), body), 401, "invalid_client");
    assert_error(revocation(NULL, apr_pstrcat(pool, body, "&client_id=app&client_secret=app-secret",
                                          NULL)), 401, "invalid_client");
    assert_error(revocation(fx_basic("app", "app-secret"), apr_pstrcat(pool, body,
                                                                "&client_id=other", NULL)),
                 401, "invalid_client");              /* client_id not the Basic user */
    assert_error(revocation(NULL, apr_pstrcat(pool, body, "&client_id=nobody", NULL)), 401,
                 "invalid_client");
    assert_error(revocation("Basic !!!", body), 401, "invalid_client");
    cfg.registry = reg_disabled;                      /* app itself disabled */
    assert_error(revocation(fx_basic("app", "app-secret"), body), 401, "invalid_client");
    cfg.registry = make_registry(0);
    assert_same_stats(&before);
    ck_assert(bearer_ok(at));
    ck_assert(is_active(rt));
    ck_assert_int_eq(counters.errors[OAS_ERR_INVALID_CLIENT], 10);
    ck_assert_int_eq(counters.revocations, 0);
}
END_TEST

START_TEST(revoke_transport)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    transport_rules(oas_revoke_endpoint, fx_basic("m2m", "m2m-secret"), at);
    ck_assert(!bearer_ok(at));
    ck_assert_int_eq(counters.revocations, 1);
}
END_TEST

/* ======================================================================== */
/* store failures                                                           */
/* ======================================================================== */

static apr_status_t failing_get(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                apr_pool_t *p)
{
    return APR_EGENERAL;
}

START_TEST(store_failure_is_503)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    oas_store_t broken = *cfg.store;
    oas_bearer_t b;

    broken.get = failing_get;
    cfg.store = &broken;
    assert_error(introspect(RS_AUTH, tok_param(at)), 503, "temporarily_unavailable");
    assert_error(revocation(fx_basic("m2m", "m2m-secret"), tok_param(at)), 503,
                 "temporarily_unavailable");
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", at, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_UNAVAILABLE);
    cfg.store = NULL;
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", at, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_UNAVAILABLE);
    ck_assert_int_eq(counters.errors[OAS_ERR_TEMPORARILY_UNAVAILABLE], 2);
}
END_TEST

/* ======================================================================== */
/* metadata                                                                 */
/* ======================================================================== */

static void assert_array(json_t *j, const char *name, const char *const *want)
{
    json_t *a = json_object_get(j, name);
    size_t i;
    ck_assert_msg(a && json_is_array(a), "'%s' is not an array", name);
    for (i = 0; want[i]; i++) {
        ck_assert_msg(i < json_array_size(a), "'%s' too short", name);
        ck_assert_str_eq(json_string_value(json_array_get(a, i)), want[i]);
    }
    ck_assert_int_eq(json_array_size(a), i);
}

static void set_urls(void)
{
    cfg.url_authorize = "https://as.example/oauth/authorize";
    cfg.url_token = "https://as.example/oauth/token";
    cfg.url_introspect = "https://as.example/oauth/introspect";
    cfg.url_revoke = "https://as.example/oauth/revoke";
    cfg.url_metadata = "https://as.example/.well-known/oauth-authorization-server";
    cfg.url_status = "https://as.example/oauth/status";
}

START_TEST(metadata_fields)
{
    static const char *const scopes[] = { "read", "write", NULL };
    static const char *const rtypes[] = { "code", "token", NULL };
    static const char *const grants[] = { "authorization_code", "implicit", "client_credentials",
                                          "password", "refresh_token", NULL };
    static const char *const tauth[] = { "client_secret_basic", "client_secret_post",
                                         "private_key_jwt", "tls_client_auth",
                                         "self_signed_tls_client_auth", "none", NULL };
    static const char *const iauth[] = { "client_secret_basic", "client_secret_post",
                                         "private_key_jwt", "tls_client_auth",
                                         "self_signed_tls_client_auth", NULL };
    static const char *const pkce[] = { "S256", "plain", NULL };
    oas_http_req_t req = get_req();
    oas_response_t *r;
    json_t *j;

    set_urls();
    r = oas_metadata_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "application/json");
    assert_no_store(r);
    j = body_json(r);
    ck_assert_str_eq(jstr(j, "issuer"), "https://as.example");
    ck_assert_str_eq(jstr(j, "authorization_endpoint"), cfg.url_authorize);
    ck_assert_str_eq(jstr(j, "token_endpoint"), cfg.url_token);
    ck_assert_str_eq(jstr(j, "introspection_endpoint"), cfg.url_introspect);
    ck_assert_str_eq(jstr(j, "revocation_endpoint"), cfg.url_revoke);
    assert_array(j, "scopes_supported", scopes);
    assert_array(j, "response_types_supported", rtypes);
    assert_array(j, "grant_types_supported", grants);
    assert_array(j, "token_endpoint_auth_methods_supported", tauth);
    assert_array(j, "revocation_endpoint_auth_methods_supported", tauth);
    assert_array(j, "introspection_endpoint_auth_methods_supported", iauth);
    assert_array(j, "code_challenge_methods_supported", pkce);
    ck_assert(json_is_true(json_object_get(j, "authorization_response_iss_parameter_supported")));
    ck_assert(json_is_true(json_object_get(j, "tls_client_certificate_bound_access_tokens")));
    /* RFC 8414 §2: a signing method (private_key_jwt) needs its algorithms at every
     * endpoint that takes it (authlib's validate() insists) */
    ck_assert(json_equal(json_object_get(j, "token_endpoint_auth_signing_alg_values_supported"),
                         json_object_get(j, "revocation_endpoint_auth_signing_alg_values_supported")));
    ck_assert(json_equal(json_object_get(j, "token_endpoint_auth_signing_alg_values_supported"),
                         json_object_get(j, "introspection_endpoint_auth_signing_alg_values_supported")));
    /* nothing that would tell a client about JWT access tokens */
    ck_assert_ptr_null(json_object_get(j, "jwks_uri"));
    json_decref(j);
    /* HEAD is GET without the body (httpd drops it) */
    req.method = "HEAD";
    ck_assert_int_eq(oas_metadata_endpoint(&cfg, &req, pool)->status, 200);
}
END_TEST

START_TEST(metadata_unmapped)
{
    static const char *const none[] = { NULL };
    oas_http_req_t req = get_req();
    oas_response_t *r;
    json_t *j;

    cfg.url_token = "https://as.example/t";
    r = oas_metadata_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 200);
    j = body_json(r);
    ck_assert_str_eq(jstr(j, "token_endpoint"), "https://as.example/t");
    ck_assert_ptr_null(json_object_get(j, "authorization_endpoint"));
    ck_assert_ptr_null(json_object_get(j, "introspection_endpoint"));
    ck_assert_ptr_null(json_object_get(j, "revocation_endpoint"));
    ck_assert_ptr_null(strstr(r->body, "null"));
    json_decref(j);
    /* without OAuthASScope, an empty list */
    cfg.scopes = NULL;
    j = body_json(oas_metadata_endpoint(&cfg, &req, pool));
    assert_array(j, "scopes_supported", none);
    json_decref(j);
}
END_TEST

static void get_only(oas_response_t *(*ep)(const oas_config_t *, const oas_http_req_t *,
                                             apr_pool_t *))
{
    oas_http_req_t req = get_req();
    oas_response_t *r;
    oas_store_stats_t before = stats();
    const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS", NULL };
    int i;

    for (i = 0; methods[i]; i++) {
        req.method = methods[i];
        r = ep(&cfg, &req, pool);
        assert_error(r, 405, "invalid_request");
        ck_assert_ptr_nonnull(strstr(apr_table_get(r->headers, "Allow"), "GET"));
        ck_assert_ptr_null(strstr(apr_table_get(r->headers, "Allow"), "POST"));
    }
    req = get_req();
    req.is_https = 0;
    assert_error(ep(&cfg, &req, pool), 400, "invalid_request");
    assert_same_stats(&before);
    cfg.require_https = 0;
    ck_assert_int_eq(ep(&cfg, &req, pool)->status, 200);
}

START_TEST(metadata_transport)
{
    set_urls();
    get_only(oas_metadata_endpoint);
}
END_TEST

/* ======================================================================== */
/* status                                                                   */
/* ======================================================================== */

START_TEST(status_figures)
{
    const char *at, *rt, *at2, *rt2, *cc1, *cc2, *secrets[] = { "m2m-secret", "app-secret",
        "rs-secret", "other-secret", "off-secret", "wonderland", NULL };
    const char *tokens[8];
    oas_http_req_t req = get_req();
    oas_response_t *r;
    oas_store_stats_t st;
    json_t *j, *store, *cnt, *mem;
    int i;

    cc1 = cc_token("m2m", "m2m-secret", "");
    cc2 = cc_token("other", "other-secret", "");
    pw_pair("app", "app-secret", "", &at, &rt);
    refresh(fx_basic("app", "app-secret"), rt, &at2, &rt2);
    assert_error(token_post(fx_basic("app", "wrong"), "grant_type=password"), 401, "invalid_client");
    ck_assert(is_active(at2));
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), tok_param(cc1)));
    tokens[0] = cc1; tokens[1] = cc2; tokens[2] = at; tokens[3] = rt;
    tokens[4] = at2; tokens[5] = rt2; tokens[6] = NULL;

    r = oas_status_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "application/json");
    assert_no_store(r);
    j = body_json(r);
    ck_assert_str_eq(jstr(j, "store_type"), "default");
    store = json_object_get(j, "store");
    ck_assert_ptr_nonnull(store);
    st = stats();
    ck_assert_int_eq(jint(store, "memory_capacity"), 64);
    ck_assert_int_eq(jint(store, "disk_capacity"), 64);
    ck_assert_int_eq(jint(store, "disk_entries"), st.disk_entries);
    ck_assert_int_eq(jint(store, "purged"), st.purged);
    ck_assert_int_eq(jint(store, "full"), st.full);
    mem = json_object_get(store, "memory_entries");
    ck_assert_ptr_nonnull(mem);
    ck_assert_int_eq(jint(mem, "access_token"), st.mem_entries[OAS_KIND_ACCESS]);
    ck_assert_int_eq(jint(mem, "refresh_token"), st.mem_entries[OAS_KIND_REFRESH]);
    ck_assert_int_eq(jint(mem, "used_refresh_token"), st.mem_entries[OAS_KIND_USED_REFRESH]);
    ck_assert_int_eq(jint(mem, "code"), st.mem_entries[OAS_KIND_CODE]);
    ck_assert_int_ge(st.mem_entries[OAS_KIND_ACCESS] + st.disk_entries, 3);
    cnt = json_object_get(j, "counters");
    ck_assert_ptr_nonnull(cnt);
    ck_assert_int_eq(jint(json_object_get(cnt, "tokens_issued"), "client_credentials"), 2);
    ck_assert_int_eq(jint(json_object_get(cnt, "tokens_issued"), "password"), 1);
    ck_assert_int_eq(jint(json_object_get(cnt, "tokens_issued"), "refresh_token"), 1);
    ck_assert_int_eq(jint(json_object_get(cnt, "tokens_issued"), "authorization_code"), 0);
    ck_assert_int_eq(jint(json_object_get(cnt, "errors"), "invalid_client"), 1);
    ck_assert_int_eq(jint(json_object_get(cnt, "errors"), "invalid_request"), 0);
    ck_assert_int_eq(jint(cnt, "introspections"), 1);
    ck_assert_int_eq(jint(cnt, "revocations"), 1);
    ck_assert_int_eq(jint(cnt, "codes_issued"), 0);
    ck_assert_ptr_nonnull(json_object_get(cnt, "bearer_accepted"));
    ck_assert_ptr_nonnull(json_object_get(cnt, "bearer_refused"));
    ck_assert_ptr_nonnull(json_object_get(cnt, "purge_runs"));
    json_decref(j);
    /* no token, no secret, no secret hash, no user */
    for (i = 0; tokens[i]; i++) {
        ck_assert_ptr_null(strstr(r->body, tokens[i]));
        ck_assert_ptr_null(strstr(r->body, apr_pstrndup(pool, tokens[i], 12)));
    }
    for (i = 0; secrets[i]; i++) {
        ck_assert_ptr_null(strstr(r->body, secrets[i]));
        ck_assert_ptr_null(strstr(r->body, fx_sha_hash(secrets[i])));
    }
    ck_assert_ptr_null(strstr(r->body, "alice"));
    /* without counters or store, still a document */
    cfg.counters = NULL;
    cfg.store = NULL;
    r = oas_status_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 200);
    j = body_json(r);
    ck_assert_str_eq(jstr(j, "issuer"), cfg.issuer);
    json_decref(j);
}
END_TEST

START_TEST(status_transport)
{
    get_only(oas_status_endpoint);
}
END_TEST

/* ======================================================================== */
/* the bearer check                                                         */
/* ======================================================================== */

START_TEST(bearer_none)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    oas_store_stats_t before = stats();
    oas_bearer_t b;

    oas_bearer_check(&b, &cfg, NULL, NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_NONE);
    ck_assert_ptr_null(b.error_description);
    /* an empty header carries no credentials: RFC 6750 §3.1, no error code */
    ck_assert_int_eq(bearer_result(""), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result("   "), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result(fx_basic("m2m", "m2m-secret")), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Basic ", at, NULL)), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Digest ", at, NULL)), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Bearer2 ", at, NULL)), OAS_BEARER_NONE);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "MAC ", at, NULL)), OAS_BEARER_NONE);
    assert_same_stats(&before);
}
END_TEST

START_TEST(bearer_malformed)
{
    const char *at = cc_token("m2m", "m2m-secret", "");
    char big[2100];
    oas_store_stats_t before = stats();
    const char *bad[] = {
        "Bearer", "Bearer ", "Bearer    ", "Bearer\t", "Bearer a b",
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    };
    int i, n = 5;
    oas_bearer_t b;

    memset(big, 0, sizeof(big));
    memcpy(big, "Bearer ", 7);
    memset(big + 7, 'A', 2048);
    bad[n++] = big;
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, " ", at, NULL);
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, "\xc3\xa9", NULL);         /* non-ASCII */
    bad[n++] = apr_pstrcat(pool, "Bearer \xe9", at, NULL);
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, "\x01", NULL);              /* control chars */
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, "\x7f", NULL);
    bad[n++] = apr_pstrcat(pool, "Bearer ab\ncd", NULL);
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, ",", NULL);
    bad[n++] = apr_pstrcat(pool, "Bearer ", at, "=x", NULL);
    bad[n++] = "Bearer ===";
    bad[n++] = apr_pstrcat(pool, "Bearer\t", at, NULL);
    for (i = 0; i < n; i++) {
        oas_bearer_check(&b, &cfg, bad[i], NULL, pool);
        ck_assert_msg(b.result == OAS_BEARER_INVALID, "header %d: %d", i, b.result);
        ck_assert_ptr_nonnull(b.error_description);
        ck_assert_ptr_null(b.token.client_id);
    }
    assert_same_stats(&before);
    /* the scheme is case-insensitive (RFC 7235 §2.1); surrounding spaces are fine */
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "bearer ", at, NULL)), OAS_BEARER_OK);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "BEARER  ", at, " ", NULL)), OAS_BEARER_OK);
}
END_TEST

START_TEST(bearer_ok_fills)
{
    const char *cc = cc_token("m2m", "m2m-secret", "&scope=write%20read");
    const char *at, *rt;
    long long t0 = now_sec();
    oas_bearer_t b;
    oas_store_stats_t before;

    pw_pair("app", "app-secret", "&scope=write", &at, &rt);
    before = stats();
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", cc, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_OK);
    ck_assert_ptr_null(b.error_description);
    ck_assert_int_eq(b.token.kind, OAS_KIND_ACCESS);
    ck_assert_str_eq(b.token.client_id, "m2m");
    ck_assert_ptr_null(b.token.username);
    ck_assert_str_eq(b.token.scope, "write read");
    ck_assert_int_ge(b.token.exp, t0 + 3600 - 1);
    ck_assert_int_le(b.token.exp, now_sec() + 3600);
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", at, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_OK);
    ck_assert_str_eq(b.token.client_id, "app");
    ck_assert_str_eq(b.token.username, "alice");
    ck_assert_str_eq(b.token.scope, "write");
    ck_assert_int_eq(b.token.exp, b.token.iat + 3600);
    /* checking is read-only */
    assert_same_stats(&before);
}
END_TEST

START_TEST(bearer_refused_tokens)
{
    const char *at, *rt, *cc = cc_token("m2m", "m2m-secret", ""), *expired;
    long long now = now_sec();
    oas_bearer_t b;

    pw_pair("app", "app-secret", "", &at, &rt);
    ck_assert_int_eq(bearer_result("Bearer no-such-token"), OAS_BEARER_INVALID);
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Bearer ", at, "A", NULL)),
                     OAS_BEARER_INVALID);
    /* a refresh token is no bearer token */
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", rt, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_INVALID);
    ck_assert_ptr_null(b.token.client_id);
    ck_assert(bearer_ok(at));
    /* expired */
    expired = put_token(OAS_KIND_ACCESS, "m2m", NULL, now - 100, now - 10);
    ck_assert_int_eq(bearer_ok(expired), 0);
    /* a backend with a lagging TTL still hands it out */
    lag_from = cfg.store;
    lag_exp = now - 1;
    cfg.store = &lagging;
    lagging = *lag_from;
    lagging.get = lagging_get;
    ck_assert_int_eq(bearer_ok(cc), 0);
    lag_exp = now + 60;
    ck_assert(bearer_ok(cc));
    lag_exp = 0;
    ck_assert(bearer_ok(cc));
    cfg.store = lag_from;
    ck_assert(bearer_ok(put_token(OAS_KIND_ACCESS, "m2m", NULL, now, now + 60)));
    ck_assert(bearer_ok(put_token(OAS_KIND_ACCESS, "m2m", NULL, now, 0)));
    /* revoked */
    assert_revoke_ok(revocation(fx_basic("m2m", "m2m-secret"), tok_param(cc)));
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Bearer ", cc, NULL)), OAS_BEARER_INVALID);
    assert_revoke_ok(revocation(fx_basic("app", "app-secret"), tok_param(rt)));
    ck_assert_int_eq(bearer_result(apr_pstrcat(pool, "Bearer ", at, NULL)), OAS_BEARER_INVALID);
}
END_TEST

START_TEST(bearer_disabled_client)
{
    const char *at, *rt, *cc = cc_token("m2m", "m2m-secret", ""), *oc;
    oas_bearer_t b;

    pw_pair("app", "app-secret", "", &at, &rt);
    oc = cc_token("other", "other-secret", "");
    cfg.registry = reg_disabled;
    oas_bearer_check(&b, &cfg, apr_pstrcat(pool, "Bearer ", cc, NULL), NULL, pool);
    ck_assert_int_eq(b.result, OAS_BEARER_INVALID);
    ck_assert_ptr_nonnull(b.error_description);
    ck_assert_ptr_null(b.token.client_id);      /* a refusal carries no token data */
    ck_assert_ptr_null(b.token.scope);
    ck_assert_int_eq(bearer_ok(at), 0);
    ck_assert(bearer_ok(oc));
    cfg.registry = NULL;                       /* no registry: nobody's tokens */
    ck_assert_int_eq(bearer_ok(oc), 0);
    cfg.registry = make_registry(0);           /* enabled again */
    ck_assert(bearer_ok(cc));
    ck_assert(bearer_ok(at));
}
END_TEST

static Suite *resource_suite(void)
{
    Suite *s = suite_create("resource server endpoints");
    TCase *ti = tcase_create("introspection");
    TCase *tr = tcase_create("revocation");
    TCase *tm = tcase_create("metadata and status");
    TCase *tb = tcase_create("bearer check");

    tcase_add_checked_fixture(ti, setup, fx_teardown);
    tcase_set_timeout(ti, 30);
    tcase_add_test(ti, introspect_caller_auth);
    tcase_add_test(ti, introspect_transport);
    tcase_add_test(ti, introspect_client_credentials);
    tcase_add_test(ti, introspect_password);
    tcase_add_test(ti, introspect_never_expires);
    tcase_add_test(ti, introspect_refresh_token);
    tcase_add_test(ti, introspect_inactive);
    tcase_add_test(ti, introspect_disabled_client);
    tcase_add_test(ti, introspect_client_gone);
    tcase_add_test(ti, store_failure_is_503);
    suite_add_tcase(s, ti);

    tcase_add_checked_fixture(tr, setup, fx_teardown);
    tcase_set_timeout(tr, 30);
    tcase_add_test(tr, revoke_client_credentials);
    tcase_add_test(tr, revoke_access_takes_refresh);
    tcase_add_test(tr, revoke_refresh_takes_access);
    tcase_add_test(tr, revoke_family_after_refresh);
    tcase_add_test(tr, revoke_other_clients_token);
    tcase_add_test(tr, revoke_unknown);
    tcase_add_test(tr, revoke_public_client);
    tcase_add_test(tr, revoke_auth_failures);
    tcase_add_test(tr, revoke_transport);
    suite_add_tcase(s, tr);

    tcase_add_checked_fixture(tm, setup, fx_teardown);
    tcase_set_timeout(tm, 30);
    tcase_add_test(tm, metadata_fields);
    tcase_add_test(tm, metadata_unmapped);
    tcase_add_test(tm, metadata_transport);
    tcase_add_test(tm, status_figures);
    tcase_add_test(tm, status_transport);
    suite_add_tcase(s, tm);

    tcase_add_checked_fixture(tb, setup, fx_teardown);
    tcase_set_timeout(tb, 30);
    tcase_add_test(tb, bearer_none);
    tcase_add_test(tb, bearer_malformed);
    tcase_add_test(tb, bearer_ok_fills);
    tcase_add_test(tb, bearer_refused_tokens);
    tcase_add_test(tb, bearer_disabled_client);
    suite_add_tcase(s, tb);
    return s;
}

OAS_UNIT_MAIN(resource_suite)
