/* test_dynclient.c — self-registered clients (oas_dynclient.c, oas_regmeta.c,
 * oas_ep_register.c): the metadata rules, the record, the one lookup (registry
 * first, issuer-bound), expiry refresh, the limit, RFC 7592. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "fixture.h"
#include "oas_dynclient.h"
#include "oas_grant.h"

static const char *registry_json(void)
{
    return apr_psprintf(pool,
        "{\"clients\": [{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://app.example/cb\"],"
        " \"grant_types\":[\"authorization_code\"],\"scopes\":[\"read\"]}]}",
        fx_sha_hash("app-secret"));
}

static void setup(void)
{
    fx_setup("dynclient", registry_json, NULL, 64);
    cfg.reg_grants = OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_REFRESH_TOKEN
                     | OAS_GRANT_CLIENT_CREDENTIALS;
    cfg.reg_scopes = NULL;
    cfg.reg_limit = 3;
    cfg.reg_max_idle = 7776000;
    cfg.url_register = "https://as.example/oauth/register";
    cfg.require_https = 1;
}

static void teardown(void)
{
    fx_teardown();
}

static json_t *check(const char *text, oas_regmeta_error_t *err)
{
    json_t *in = json_loads(text, 0, NULL), *out = oas_regmeta_check(&cfg, in, err, pool);
    json_decref(in);
    return out;
}

static void refused(const char *text, const char *code)
{
    oas_regmeta_error_t err;
    json_t *out = check(text, &err);

    ck_assert_msg(out == NULL, "accepted: %s", text);
    ck_assert_str_eq(err.code, code);
}

START_TEST(test_meta_defaults)
{
    oas_regmeta_error_t err;
    json_t *m = check("{\"redirect_uris\":[\"https://a.example/cb\"],\"x\":1}", &err);

    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(json_string_value(json_object_get(m, "token_endpoint_auth_method")),
                     "client_secret_basic");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "grant_types"), 0)),
                     "authorization_code");
    ck_assert_str_eq(json_string_value(json_object_get(m, "scope")), "read write");
    ck_assert_ptr_null(json_object_get(m, "x"));
    json_decref(m);
}
END_TEST

START_TEST(test_meta_redirect_rules)
{
    oas_regmeta_error_t err;
    json_t *m;

    refused("{\"redirect_uris\":[\"http://a.example/cb\"]}", "invalid_redirect_uri");
    refused("{\"redirect_uris\":[\"https://a.example/cb#f\"]}", "invalid_redirect_uri");
    refused("{\"client_name\":\"x\"}", "invalid_redirect_uri");
    refused("{\"redirect_uris\":[\"com.example:/cb\"]}", "invalid_redirect_uri");
    m = check("{\"redirect_uris\":[\"com.example:/cb\",\"http://127.0.0.1:9/cb\"],"
              "\"token_endpoint_auth_method\":\"none\"}", &err);
    ck_assert_ptr_nonnull(m);
    json_decref(m);
}
END_TEST

START_TEST(test_meta_policy)
{
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],\"grant_types\":[\"password\"]}",
            "invalid_client_metadata");
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],\"grant_types\":[\"implicit\"]}",
            "invalid_client_metadata");
    refused("{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":\"none\"}",
            "invalid_client_metadata");
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],\"scope\":\"admin\"}",
            "invalid_client_metadata");
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],"
            "\"token_endpoint_auth_method\":\"private_key_jwt\"}", "invalid_client_metadata");
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":7}",
            "invalid_client_metadata");
    refused("[1]", "invalid_client_metadata");
    cfg.reg_scopes = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH((apr_array_header_t *)cfg.reg_scopes, const char *) = "read";
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],\"scope\":\"write\"}",
            "invalid_client_metadata");
    cfg.reg_grants = OAS_GRANT_AUTHORIZATION_CODE;
    refused("{\"redirect_uris\":[\"https://a.example/cb\"],"
            "\"grant_types\":[\"authorization_code\",\"refresh_token\"]}",
            "invalid_client_metadata");
}
END_TEST

/* the record: round trip, bound to its issuer, too large, and the lookup */
START_TEST(test_record_and_lookup)
{
    unsigned char key[OAS_DIGEST_LEN];
    json_t *meta = json_pack("{s:s,s:[s],s:[s,s],s:s}", "token_endpoint_auth_method", "none",
                             "redirect_uris", "https://a.example/cb", "grant_types",
                             "authorization_code", "refresh_token", "scope", "read");
    const oas_client_t *c;
    oas_entry_t e;
    char big[1000];

    ck_assert_int_eq(oas_dynclient_encode(&e, cfg.issuer, "dyn1", 100, NULL, "ab", meta, 1000,
                                          50, pool), APR_SUCCESS);
    ck_assert_int_eq(e.kind, OAS_KIND_CLIENT);
    ck_assert(e.exp == 1050);
    oas_dynclient_key(key, cfg.issuer, "dyn1");
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    e.exp = 0;
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    c = oas_client_get(&cfg, "dyn1", pool);
    ck_assert_ptr_nonnull(c);
    ck_assert(c->self_registered && !c->confidential && c->refresh_limit == -1);
    ck_assert(c->grants == OAS_GRANT_AUTHORIZATION_CODE);
    ck_assert_str_eq(APR_ARRAY_IDX(c->scopes, 0, const char *), "read");
    ck_assert_ptr_null(oas_dynclient_decode(&e, "https://other.example", pool));
    cfg.issuer = "https://other.example";
    ck_assert_ptr_null(oas_client_get(&cfg, "dyn1", pool));
    cfg.issuer = "https://as.example";
    /* a record under a registry client's id never shadows it */
    oas_dynclient_encode(&e, cfg.issuer, "app", 100, NULL, "ab", meta, 1000, 0, pool);
    oas_dynclient_key(key, cfg.issuer, "app");
    cfg.store->put(cfg.store, key, &e, pool);
    c = oas_client_get(&cfg, "app", pool);
    ck_assert(c && !c->self_registered && c->confidential);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(meta, "client_uri", json_string(big));
    ck_assert_int_eq(oas_dynclient_encode(&e, cfg.issuer, "dyn2", 100, NULL, "ab", meta, 1000,
                                          0, pool), APR_ENOSPC);
    json_decref(meta);
}
END_TEST

/* "used" moves the expiry, at most once a day */
START_TEST(test_touch)
{
    unsigned char key[OAS_DIGEST_LEN];
    json_t *meta = json_pack("{s:s,s:[s]}", "token_endpoint_auth_method", "none",
                             "redirect_uris", "https://a.example/cb");
    long long now = oas_req_now(&(oas_http_req_t){ 0 });
    const oas_client_t *c;
    oas_entry_t e;

    cfg.reg_max_idle = 10 * 86400;
    oas_dynclient_encode(&e, cfg.issuer, "t1", now, NULL, "ab", meta, now - 3600,
                         cfg.reg_max_idle, pool);
    oas_dynclient_key(key, cfg.issuer, "t1");
    cfg.store->put(cfg.store, key, &e, pool);
    c = oas_client_get(&cfg, "t1", pool);
    oas_dynclient_touch(&cfg, c, now, pool);          /* an hour old: no write */
    ck_assert(oas_client_get(&cfg, "t1", pool)->reg_exp == now - 3600 + cfg.reg_max_idle);
    oas_dynclient_touch(&cfg, c, now + 2 * 86400, pool);   /* older than a day: moved */
    ck_assert(oas_client_get(&cfg, "t1", pool)->reg_exp == now + 2 * 86400 + cfg.reg_max_idle);
    json_decref(meta);
}
END_TEST

static oas_response_t *call(const char *method, const char *path, const char *auth,
                            const char *body)
{
    oas_http_req_t req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.is_https = 1;
    req.path = path;
    req.authorization = auth;
    req.content_type = body ? "application/json" : NULL;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.remote_ip = "192.0.2.1";
    return oas_register_endpoint(&cfg, &req, pool);
}

/* the endpoint: register, the limit, RFC 7592 read/replace/delete */
START_TEST(test_endpoint)
{
    const char *reg = "{\"redirect_uris\":[\"http://127.0.0.1/cb\"],"
                      "\"token_endpoint_auth_method\":\"none\"}";
    oas_response_t *r = call("POST", "/oauth/register", NULL, reg);
    json_t *j = json_loads(r->body, 0, NULL);
    const char *id, *tok, *path;
    long n = 0;

    ck_assert_int_eq(r->status, 201);
    id = apr_pstrdup(pool, json_string_value(json_object_get(j, "client_id")));
    tok = apr_pstrcat(pool, "Bearer ",
                      json_string_value(json_object_get(j, "registration_access_token")), NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "registration_client_uri")),
                     apr_pstrcat(pool, cfg.url_register, "/", id, NULL));
    json_decref(j);
    path = apr_pstrcat(pool, "/oauth/register/", id, NULL);
    ck_assert_int_eq(oas_dynclient_count(&cfg, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(call("GET", path, tok, NULL)->status, 200);
    ck_assert_int_eq(call("GET", path, "Bearer nope", NULL)->status, 401);
    ck_assert_int_eq(call("GET", path, NULL, NULL)->status, 401);
    ck_assert_int_eq(call("GET", "/oauth/register/app", tok, NULL)->status, 401);
    ck_assert_int_eq(call("PUT", path, tok, reg)->status, 400);    /* no client_id */
    ck_assert_int_eq(call("PUT", path, tok, apr_pstrcat(pool, "{\"client_id\":\"", id,
        "\",\"redirect_uris\":[\"http://127.0.0.1/x\"],\"token_endpoint_auth_method\":"
        "\"none\",\"client_name\":\"N\"}", NULL))->status, 200);
    ck_assert_str_eq(oas_client_get(&cfg, id, pool)->name, "N");
    ck_assert_int_eq(call("POST", "/oauth/register", NULL, reg)->status, 201);
    ck_assert_int_eq(call("POST", "/oauth/register", NULL, reg)->status, 201);
    r = call("POST", "/oauth/register", NULL, reg);               /* the limit, 3 */
    ck_assert_int_eq(r->status, 400);
    ck_assert_ptr_nonnull(strstr(r->body, "limit of 3"));
    ck_assert_int_eq(call("DELETE", path, tok, NULL)->status, 204);
    ck_assert_ptr_null(oas_client_get(&cfg, id, pool));
    ck_assert_int_eq(call("GET", path, tok, NULL)->status, 401);
    ck_assert_int_eq(call("POST", "/oauth/register", NULL, reg)->status, 201);
}
END_TEST

static apr_status_t failing_get(oas_store_t *st, const unsigned char *key, oas_entry_t *e,
                                apr_pool_t *p)
{
    return APR_EGENERAL;
}

/* the store fails: an id the registry does not know gets 503, not "unknown
 * client"; the registry's clients go on */
START_TEST(test_store_failure)
{
    oas_store_t broken = *cfg.store;
    const oas_client_t *c = NULL;
    apr_table_t *params = apr_table_make(pool, 2);
    oas_http_req_t req = fx_form_req(fx_basic("dyn9", "x"), "grant_type=client_credentials",
                                     NULL);
    oas_response_t *r;
    int failed = 0;

    broken.get = failing_get;
    cfg.store = &broken;
    ck_assert_ptr_null(oas_client_find(&cfg, "dyn9", &failed, pool));
    ck_assert_int_eq(failed, 1);
    r = oas_client_authenticate(&c, &cfg, &req, params, 1, pool);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->status, 503);
    req = fx_form_req(NULL, "", NULL);
    apr_table_set(params, "client_id", "dyn9");
    r = oas_client_authenticate(&c, &cfg, &req, params, 1, pool);
    ck_assert(r && r->status == 503);
    req = fx_form_req(fx_basic("app", "app-secret"), "", NULL);
    apr_table_clear(params);
    ck_assert_ptr_null(oas_client_authenticate(&c, &cfg, &req, params, 1, pool));
}
END_TEST

static Suite *dynclient_suite(void)
{
    Suite *s = suite_create("dynclient");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_meta_defaults);
    tcase_add_test(tc, test_meta_redirect_rules);
    tcase_add_test(tc, test_meta_policy);
    tcase_add_test(tc, test_record_and_lookup);
    tcase_add_test(tc, test_touch);
    tcase_add_test(tc, test_endpoint);
    tcase_add_test(tc, test_store_failure);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(dynclient_suite)
