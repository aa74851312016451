/* test_refresh_rules.c — issue 12 items 6 and 8 and the user names JSON cannot
 * carry, in the core without a server (a real default store, a real registry;
 * t/16_refresh_rules.t does the same against httpd):
 *   - a used refresh token or code presented by another client changes nothing;
 *     its own client's replay still revokes the family;
 *   - a refresh checks the client's current registry entry: the grant that
 *     began the family, refresh_limit 0, a lowered refresh_limit counting the
 *     refreshes already done;
 *   - a user name that is not valid UTF-8 gets no token, and a token record
 *     that holds one introspects inactive. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_grant.h"

#define LATIN1_USER "j\xe9r\xf4me"           /* "jérôme" in ISO-8859-1 */
#define UTF8_USER   "j\xc3\xa9r\xc3\xb4me"   /* the same in UTF-8 */

static const char *app_grants;   /* registry of "app": its grant_types and refresh_limit */
static int app_limit;

static const char *registry_json(void)
{
    return apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://app.example/cb\"],"
        " \"grant_types\":[%s],\"scopes\":[\"read\",\"write\"],\"refresh_limit\":%d},"
        "{\"client_id\":\"other\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://other.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"password\"],\"scopes\":[\"read\"],"
        " \"refresh_limit\":-1},"
        "{\"client_id\":\"rs\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[]},"
        "{\"client_id\":\"spa\",\"type\":\"public\","
        " \"redirect_uris\":[\"https://spa.example/cb\"],"
        " \"grant_types\":[\"authorization_code\"],\"scopes\":[\"read\"],\"refresh_limit\":-1}"
        "]}", fx_sha_hash("app-secret"), app_grants, app_limit, fx_sha_hash("other-secret"),
        fx_sha_hash("rs-secret"));
}

static const char *pw_user;

static int fake_password(void *baton, const char *user, const char *password)
{
    return strcmp(user, pw_user) == 0 && strcmp(password, "wonderland") == 0
           ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static void setup(void)
{
    app_grants = "\"authorization_code\",\"password\"";
    app_limit = 5;
    pw_user = "alice";
    fx_setup("refresh", registry_json, NULL, 64);
}

/* what a graceful restart with a changed registry does */
static void reload_registry(const char *grants, int limit)
{
    app_grants = grants;
    app_limit = limit;
    cfg.registry = fx_registry(registry_json());
}

static oas_response_t *post(const char *auth, const char *body)
{
    oas_http_req_t req = fx_form_req(auth, body, fake_password);
    return oas_token_endpoint(&cfg, &req, pool);
}

static const char *jstr(const oas_response_t *r, const char *k)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL), *v;
    const char *s = NULL;

    ck_assert_ptr_nonnull(j);
    if ((v = json_object_get(j, k)) && json_is_string(v)) {
        s = apr_pstrdup(pool, json_string_value(v));
    }
    json_decref(j);
    return s;
}

static void assert_error(const oas_response_t *r, int status, const char *error)
{
    ck_assert_msg(r->status == status, "status %d, want %d: %s", r->status, status, r->body);
    ck_assert_str_eq(jstr(r, "error"), error);
}

/* an access or refresh token introspects active (as the "rs" client asks) */
static int active(const char *token)
{
    oas_http_req_t req = fx_form_req(fx_basic("rs", "rs-secret"),
                                     apr_pstrcat(pool, "token=", token, NULL), NULL);
    oas_response_t *r = oas_introspect_endpoint(&cfg, &req, pool);

    ck_assert_int_eq(r->status, 200);
    return strstr(r->body, "\"active\":true") != NULL;
}

static oas_response_t *password(const char *client, const char *user)
{
    return post(fx_basic(client, apr_pstrcat(pool, client, "-secret", NULL)),
                apr_pstrcat(pool, "grant_type=password&password=wonderland&username=",
                            user, NULL));
}

static oas_response_t *refresh_as(const char *auth, const char *extra, const char *rt)
{
    return post(auth, apr_pstrcat(pool, "grant_type=refresh_token", extra ? extra : "",
                                  "&refresh_token=", rt, NULL));
}

static oas_response_t *refresh(const char *rt)
{
    return refresh_as(fx_basic("app", "app-secret"), NULL, rt);
}

/* ---- item 6 ----------------------------------------------------------------- */

START_TEST(used_refresh_token_of_another_client)
{
    oas_response_t *r = password("app", "alice");
    const char *rt1 = jstr(r, "refresh_token"), *rt2, *at2;

    r = refresh(rt1);
    ck_assert_int_eq(r->status, 200);
    rt2 = jstr(r, "refresh_token");
    at2 = jstr(r, "access_token");
    /* rt1 is used now; other clients present it */
    assert_error(refresh_as(NULL, "&client_id=spa", rt1), 400, "invalid_grant");
    assert_error(refresh_as(fx_basic("other", "other-secret"), NULL, rt1), 400,
                 "invalid_grant");
    assert_error(refresh_as(fx_basic("app", "wrong"), NULL, rt1), 401, "invalid_client");
    assert_error(refresh_as(NULL, "&client_id=app", rt1), 401, "invalid_client");
    ck_assert_msg(active(at2) && active(rt2), "another client's replay revoked the family");
    /* its own client's replay still revokes the family */
    assert_error(refresh(rt1), 400, "invalid_grant");
    ck_assert(!active(at2) && !active(rt2));
}
END_TEST

static const char *make_code(void)
{
    oas_token_t t;
    oas_entry_t e;
    unsigned char key[OAS_DIGEST_LEN];
    const char *code = oas_random_token(pool, OAS_TOKEN_BYTES);

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_CODE;
    t.iat = apr_time_sec(apr_time_now());
    t.exp = t.iat + 600;
    ck_assert_int_eq(oas_random_bytes(t.family, OAS_FAMILY_LEN), APR_SUCCESS);
    t.grant = OAS_GRANT_AUTHORIZATION_CODE;
    t.client_id = "app";
    t.username = "alice";
    t.scope = "read";
    t.redirect_uri = "https://app.example/cb";
    t.issuer = cfg.issuer;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    oas_store_key(key, OAS_PREFIX_CODE, code);
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    return code;
}

START_TEST(used_code_of_another_client)
{
    const char *body = apr_pstrcat(pool, "grant_type=authorization_code&code=", make_code(),
                                   "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", NULL);
    oas_response_t *r = post(fx_basic("app", "app-secret"), body);
    const char *at = jstr(r, "access_token"), *rt = jstr(r, "refresh_token");

    ck_assert_int_eq(r->status, 200);
    assert_error(post(NULL, apr_pstrcat(pool, body, "&client_id=spa", NULL)), 400,
                 "invalid_grant");
    assert_error(post(fx_basic("other", "other-secret"), body), 400, "invalid_grant");
    assert_error(post(fx_basic("app", "wrong"), body), 401, "invalid_client");
    ck_assert_msg(active(at) && active(rt), "another client's replay revoked the family");
    assert_error(post(fx_basic("app", "app-secret"), body), 400, "invalid_grant");
    ck_assert(!active(at) && !active(rt));
}
END_TEST

/* ---- item 8 ----------------------------------------------------------------- */

START_TEST(refresh_checks_the_current_registry)
{
    const char *rt_a = jstr(password("app", "alice"), "refresh_token");
    const char *rt_b = jstr(password("app", "alice"), "refresh_token");

    reload_registry("\"authorization_code\"", 5);          /* password taken away */
    assert_error(refresh(rt_a), 400, "unauthorized_client");
    reload_registry("\"authorization_code\",\"password\"", 0);   /* no refresh tokens */
    assert_error(refresh(rt_b), 400, "unauthorized_client");
    /* refused presentations took nothing: with the grant back both refresh */
    reload_registry("\"authorization_code\",\"password\"", 5);
    ck_assert_int_eq(refresh(rt_a)->status, 200);
    ck_assert_int_eq(refresh(rt_b)->status, 200);
}
END_TEST

START_TEST(lowered_refresh_limit_counts_done_refreshes)
{
    oas_response_t *r;
    const char *rt_c = jstr(password("app", "alice"), "refresh_token");
    const char *rt_d = jstr(password("app", "alice"), "refresh_token");

    rt_c = jstr(refresh(rt_c), "refresh_token");           /* c: 1 refresh done */
    rt_d = jstr(refresh(rt_d), "refresh_token");           /* d: 2 refreshes done */
    rt_d = jstr(refresh(rt_d), "refresh_token");
    ck_assert_ptr_nonnull(rt_c);
    ck_assert_ptr_nonnull(rt_d);
    reload_registry("\"authorization_code\",\"password\"", 2);
    r = refresh(rt_c);                                     /* c's 2nd, the last */
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(jstr(r, "access_token"));
    ck_assert_ptr_null(jstr(r, "refresh_token"));
    assert_error(refresh(rt_d), 400, "invalid_grant");     /* d is past the new limit */
    /* raised again: d's own token still has refreshes left */
    reload_registry("\"authorization_code\",\"password\"", -1);
    ck_assert_int_eq(refresh(rt_d)->status, 200);
}
END_TEST

/* ---- user names JSON cannot carry --------------------------------------------- */

START_TEST(password_grant_user_not_utf8)
{
    oas_response_t *r;

    pw_user = LATIN1_USER;
    r = password("app", "j%E9r%F4me");
    assert_error(r, 400, "invalid_request");
    ck_assert_str_eq(jstr(r, "error_description"), "username is not valid UTF-8");
    pw_user = UTF8_USER;                                   /* UTF-8 is fine */
    r = password("app", "j%C3%A9r%C3%B4me");
    ck_assert_int_eq(r->status, 200);
    ck_assert(active(jstr(r, "access_token")));
}
END_TEST

/* the authorization endpoint: the signed-in user's name as httpd has it */
static oas_response_t *authorize_as(const char *user)
{
    oas_http_req_t req;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.is_https = 1;
    req.path = "/authorize";
    req.user = user;
    req.query = "response_type=code&client_id=app&state=s1";
    return oas_authorize_endpoint(&cfg, &req, pool);
}

START_TEST(authorize_user_not_utf8)
{
    oas_response_t *r;

    cfg.csrf_key = (const unsigned char *)"0123456789abcdef0123456789abcdef";
    cfg.csrf_key_len = 32;
    r = authorize_as(LATIN1_USER);
    ck_assert_int_eq(r->status, 400);
    ck_assert_ptr_null(apr_table_get(r->headers, "Location"));
    ck_assert_ptr_nonnull(strstr(r->body, "not valid UTF-8"));
    ck_assert_int_eq(authorize_as(UTF8_USER)->status, 200);      /* the approval page */
}
END_TEST

/* a record written before such names were refused */
START_TEST(introspect_user_not_utf8)
{
    oas_http_req_t req;
    oas_issued_t is;
    oas_issue_t in;
    oas_response_t *r;

    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(cfg.registry, "app");
    in.username = LATIN1_USER;
    in.scope = "read";
    in.grant = OAS_GRANT_PASSWORD;
    ck_assert_int_eq(oas_issue_tokens(&is, &cfg, &in, &req, pool), APR_SUCCESS);
    req = fx_form_req(fx_basic("rs", "rs-secret"),
                      apr_pstrcat(pool, "token=", is.access_token, NULL), NULL);
    r = oas_introspect_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strcmp(r->body, "{\"active\":false}") == 0,
                  "active without username and sub: %s", r->body);
}
END_TEST

static Suite *refresh_suite(void)
{
    Suite *su = suite_create("refresh rules");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, used_refresh_token_of_another_client);
    tcase_add_test(tc, used_code_of_another_client);
    tcase_add_test(tc, refresh_checks_the_current_registry);
    tcase_add_test(tc, lowered_refresh_limit_counts_done_refreshes);
    tcase_add_test(tc, password_grant_user_not_utf8);
    tcase_add_test(tc, introspect_user_not_utf8);
    tcase_add_test(tc, authorize_user_not_utf8);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(refresh_suite)
