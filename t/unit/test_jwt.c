/* test_jwt.c — JWT access tokens in the core (oas_jwt.c, SPEC §10): the format
 * chosen per server and per client, the claims, and a JWT treated like an
 * opaque token by the bearer check and introspection (a real store, a real
 * registry, the endpoints called with plain C requests). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_jose.h"

static oas_jose_key_t *key;

static const char *registry_json(void)
{
    const char *h = fx_sha_hash("s3cret");

    return apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"m2m\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\",\"write\"]},"
        "{\"client_id\":\"opq\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],"
        " \"access_token_format\":\"opaque\"},"
        "{\"client_id\":\"jwtc\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],"
        " \"access_token_format\":\"jwt\",\"access_token_lifetime\":600},"
        "{\"client_id\":\"pw\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"password\"],\"scopes\":[\"read\"],\"refresh_limit\":-1},"
        "{\"client_id\":\"rs\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[]}"
        "]}", h, h, h, h, h);
}

static int alice(void *baton, const char *user, const char *password)
{
    return strcmp(user, "alice") == 0 && strcmp(password, "wonderland") == 0
           ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static void setup(void)
{
    const char *pem, *err = NULL, *path;
    FILE *f;

    fx_setup("jwt", registry_json, NULL, 64);
    ck_assert_int_eq(oas_jose_key_generate(&pem, "ec", pool, &err), APR_SUCCESS);
    path = apr_pstrcat(pool, tmpdir, "/key.pem", NULL);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fputs(pem, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(oas_jose_key_load(&key, path, pool, &err), APR_SUCCESS);
    cfg.signing_keys = (oas_jose_key_t *const *)&key;
    cfg.nsigning_keys = 1;
    cfg.token_format = OAS_FORMAT_OPAQUE;
}

static void teardown(void)
{
    fx_teardown();
}

/* the access token of a token request, from its JSON answer */
static const char *token(const char *client, const char *body)
{
    oas_http_req_t req = fx_form_req(fx_basic(client, "s3cret"), body, alice);
    oas_response_t *r = oas_token_endpoint(&cfg, &req, pool);
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *at;

    ck_assert_int_eq(r->status, 200);
    at = apr_pstrdup(pool, json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    return at;
}

static const char *cc(const char *client)
{
    return token(client, "grant_type=client_credentials");
}

/* verified against the key; the claims (the test fails if it does not verify) */
static json_t *claims_of(const char *jwt, json_t **phdr)
{
    json_t *c = NULL;
    const char *err = NULL;

    ck_assert_int_eq(oas_jose_verify(phdr, &c, jwt, oas_jose_key_jwk(key), pool, &err),
                     APR_SUCCESS);
    return c;
}

static long long num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(format_per_server_and_client)
{
    ck_assert_ptr_null(strchr(cc("m2m"), '.'));         /* server opaque */
    ck_assert_ptr_nonnull(claims_of(cc("jwtc"), NULL)); /* the client's jwt */
    cfg.token_format = OAS_FORMAT_JWT;
    ck_assert_ptr_nonnull(claims_of(cc("m2m"), NULL));  /* server jwt */
    ck_assert_ptr_null(strchr(cc("opq"), '.'));         /* the client's opaque */
}
END_TEST

START_TEST(claims_client_credentials)
{
    json_t *h = NULL, *c = claims_of(cc("jwtc"), &h);

    ck_assert_str_eq(str(h, "typ"), "at+jwt");
    ck_assert_str_eq(str(h, "alg"), "ES256");
    ck_assert_str_eq(str(h, "kid"), oas_jose_key_kid(key));
    ck_assert_str_eq(str(c, "iss"), "https://as.example");
    ck_assert_str_eq(str(c, "sub"), "jwtc");
    ck_assert_str_eq(str(c, "aud"), "https://as.example");
    ck_assert_str_eq(str(c, "client_id"), "jwtc");
    ck_assert_str_eq(str(c, "scope"), "read");
    ck_assert_int_eq(num(c, "exp") - num(c, "iat"), 600);
    ck_assert_uint_ge(strlen(str(c, "jti")), 22);
    ck_assert_ptr_null(json_object_get(c, "auth_time"));
}
END_TEST

START_TEST(claims_password_grant)
{
    json_t *c;

    cfg.token_format = OAS_FORMAT_JWT;
    c = claims_of(token("pw", "grant_type=password&username=alice&password=wonderland"), NULL);
    ck_assert_str_eq(str(c, "sub"), "alice");
    ck_assert_str_eq(str(c, "client_id"), "pw");
    ck_assert_int_eq(num(c, "auth_time"), num(c, "iat"));
    ck_assert_int_eq(num(c, "exp") - num(c, "iat"), cfg.access_lifetime);
}
END_TEST

START_TEST(each_jwt_is_new)
{
    json_t *a, *b;

    cfg.token_format = OAS_FORMAT_JWT;
    a = claims_of(cc("m2m"), NULL);
    b = claims_of(cc("m2m"), NULL);
    ck_assert_str_ne(str(a, "jti"), str(b, "jti"));
}
END_TEST

START_TEST(bearer_and_introspection)
{
    const char *jwt;
    oas_bearer_t out;
    oas_logger_t quiet = { NULL, NULL, 0 };
    oas_http_req_t req;
    oas_response_t *r;
    json_t *c, *j;

    cfg.token_format = OAS_FORMAT_JWT;
    jwt = cc("m2m");
    c = claims_of(jwt, NULL);
    oas_bearer_check(&out, &cfg, apr_pstrcat(pool, "Bearer ", jwt, NULL), &quiet, pool);
    ck_assert_int_eq(out.result, OAS_BEARER_OK);
    ck_assert_str_eq(out.token.client_id, "m2m");
    oas_bearer_check(&out, &cfg, apr_pstrcat(pool, "Bearer ", jwt, "x", NULL), &quiet, pool);
    ck_assert_int_eq(out.result, OAS_BEARER_INVALID);
    req = fx_form_req(fx_basic("rs", "s3cret"), apr_pstrcat(pool, "token=", jwt, NULL), NULL);
    r = oas_introspect_endpoint(&cfg, &req, pool);
    j = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert(json_is_true(json_object_get(j, "active")));
    ck_assert_str_eq(str(j, "jti"), str(c, "jti"));
    ck_assert_str_eq(str(j, "aud"), "https://as.example");
    json_decref(j);
}
END_TEST

START_TEST(no_key_no_jwt)
{
    oas_http_req_t req = fx_form_req(fx_basic("jwtc", "s3cret"), "grant_type=client_credentials",
                                     NULL);
    oas_response_t *r;

    cfg.nsigning_keys = 0;       /* start-up refuses this; the core still issues nothing */
    r = oas_token_endpoint(&cfg, &req, pool);
    ck_assert_int_ne(r->status, 200);
    ck_assert_ptr_null(strstr(r->body, "access_token"));
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, format_per_server_and_client);
    tcase_add_test(tc, claims_client_credentials);
    tcase_add_test(tc, claims_password_grant);
    tcase_add_test(tc, each_jwt_is_new);
    tcase_add_test(tc, bearer_and_introspection);
    tcase_add_test(tc, no_key_no_jwt);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(jwt_suite)
