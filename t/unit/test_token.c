/* test_token.c — the token endpoint's protocol logic, without a server:
 * a real default store in a temp dir, a real registry, the endpoint called
 * with plain C requests. */
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_sha1.h>
#include <apr_base64.h>
#include <apr_global_mutex.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_grant.h"
#include "oas_form.h"

static int pw_answer;
static const char *pw_user;         /* the one user fake_password knows */

static const char *registry_json(void)
{
    return apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"m2m\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\",\"write\"]},"
        "{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://app.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"password\"],\"scopes\":[\"read\",\"write\"],"
        " \"refresh_limit\":2},"
        "{\"client_id\":\"other\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"redirect_uris\":[\"https://other.example/cb\"],"
        " \"grant_types\":[\"authorization_code\",\"password\"],\"scopes\":[\"read\"],"
        " \"refresh_limit\":-1},"
        "{\"client_id\":\"spa\",\"type\":\"public\","
        " \"redirect_uris\":[\"https://spa.example/cb\"],"
        " \"grant_types\":[\"authorization_code\"],\"scopes\":[\"read\"],\"refresh_limit\":-1},"
        "{\"client_id\":\"off\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],\"enabled\":false}"
        "]}", fx_sha_hash("m2m-secret"), fx_sha_hash("app-secret"), fx_sha_hash("other-secret"),
        fx_sha_hash("off-secret"));
}

static int fake_password(void *baton, const char *user, const char *password)
{
    if (pw_answer != OAS_PW_GRANTED) {
        return pw_answer;
    }
    return strcmp(user, pw_user) == 0 && strcmp(password, "wonderland") == 0
           ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static void setup(void)
{
    fx_setup("token", registry_json, NULL, 64);
    pw_answer = OAS_PW_GRANTED;
    pw_user = "alice";
}
static oas_http_req_t form_req(const char *auth, const char *body)
{
    return fx_form_req(auth, body, fake_password);
}
static oas_response_t *post(const char *auth, const char *body)
{
    oas_http_req_t req = form_req(auth, body);
    return oas_token_endpoint(&cfg, &req, pool);
}

static json_t *body_json(const oas_response_t *r)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *jstr(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    return v && json_is_string(v) ? apr_pstrdup(pool, json_string_value(v)) : NULL;
}

/* assert an OAuth error answer and return nothing */
static void assert_error(const oas_response_t *r, int status, const char *error)
{
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(jstr(j, "error"), error);
    ck_assert_ptr_nonnull(jstr(j, "error_description"));
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-store");
    json_decref(j);
}

static long store_total(void)
{
    oas_store_stats_t st;
    long n = 0;
    int k;
    ck_assert_int_eq(cfg.store->stats(cfg.store, &st), APR_SUCCESS);
    for (k = 0; k < OAS_KIND_MAX; k++) {
        n += st.mem_entries[k];
    }
    return n + st.disk_entries;
}

static int token_active(const char *prefix, const char *token)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    oas_store_key(key, prefix, token);
    return cfg.store->get(cfg.store, key, &e, pool) == APR_SUCCESS
           && (e.kind == OAS_KIND_ACCESS || e.kind == OAS_KIND_REFRESH);
}

START_TEST(client_credentials_ok)
{
    oas_response_t *r = post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials");
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(j, "token_type"), "Bearer");
    ck_assert_int_eq(strlen(jstr(j, "access_token")), 43);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "expires_in")), 3600);
    ck_assert_str_eq(jstr(j, "scope"), "read write");
    ck_assert_ptr_null(json_object_get(j, "refresh_token"));
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-store");
    ck_assert(token_active(OAS_PREFIX_ACCESS, jstr(j, "access_token")));
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_CLIENT_CREDENTIALS], 1);
    json_decref(j);
}
END_TEST

START_TEST(client_credentials_scope)
{
    oas_response_t *r = post(fx_basic("m2m", "m2m-secret"),
                             "grant_type=client_credentials&scope=write");
    json_t *j = body_json(r);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(j, "scope"), "write");
    json_decref(j);
    assert_error(post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials&scope=admin"),
                 400, "invalid_scope");
    assert_error(post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials&scope=read%20%20write"),
                 400, "invalid_scope");
}
END_TEST

START_TEST(client_auth_failures)
{
    long before = store_total();
    oas_response_t *r = post(NULL, "grant_type=client_credentials&client_id=m2m");
    assert_error(r, 401, "invalid_client");
    ck_assert_str_eq(apr_table_get(r->headers, "WWW-Authenticate"), "Basic realm=\"oauth\"");
    assert_error(post(fx_basic("m2m", "wrong"), "grant_type=client_credentials"), 401,
                 "invalid_client");
    assert_error(post(fx_basic("nobody", "x"), "grant_type=client_credentials"), 401,
                 "invalid_client");
    assert_error(post(fx_basic("off", "off-secret"), "grant_type=client_credentials"), 401,
                 "invalid_client");
    assert_error(post(NULL, "grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret"),
                 401, "invalid_client");
    assert_error(post("Basic !!!notbase64", "grant_type=client_credentials"), 401,
                 "invalid_client");
    assert_error(post(fx_basic("spa", ""), "grant_type=client_credentials"), 401,
                 "invalid_client");
    ck_assert_int_eq(store_total(), before);
    ck_assert_int_eq(counters.errors[OAS_ERR_INVALID_CLIENT], 7);
}
END_TEST

START_TEST(grant_rules)
{
    long before = store_total();
    assert_error(post(fx_basic("app", "app-secret"), "grant_type=client_credentials"), 400,
                 "unauthorized_client");
    assert_error(post(fx_basic("m2m", "m2m-secret"), "grant_type=urn:x"), 400,
                 "unsupported_grant_type");
    assert_error(post(fx_basic("m2m", "m2m-secret"), "scope=read"), 400, "invalid_request");
    assert_error(post(fx_basic("m2m", "m2m-secret"),
                      "grant_type=client_credentials&grant_type=client_credentials"), 400,
                 "invalid_request");
    assert_error(post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials&scope=%zz"),
                 400, "invalid_request");
    assert_error(post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials&scope=a%00b"),
                 400, "invalid_request");
    ck_assert_int_eq(store_total(), before);
}
END_TEST

START_TEST(transport_rules)
{
    oas_http_req_t req = form_req(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials");
    oas_response_t *r;
    long before = store_total();

    req.is_https = 0;
    assert_error(oas_token_endpoint(&cfg, &req, pool), 400, "invalid_request");
    req.is_https = 1;
    req.method = "GET";
    r = oas_token_endpoint(&cfg, &req, pool);
    assert_error(r, 405, "invalid_request");
    ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "POST");
    req.method = "POST";
    req.content_type = "application/json";
    assert_error(oas_token_endpoint(&cfg, &req, pool), 400, "invalid_request");
    req.content_type = "application/x-www-form-urlencoded; charset=UTF-8";
    req.body_too_large = 1;
    assert_error(oas_token_endpoint(&cfg, &req, pool), 400, "invalid_request");
    req.body_too_large = 0;
    req.body_unreadable = 1;        /* malformed chunks, or too slow: the glue gave up */
    assert_error(oas_token_endpoint(&cfg, &req, pool), 400, "invalid_request");
    req.body_unreadable = 0;
    ck_assert_int_eq(store_total(), before);
    /* switched off: plain HTTP and GET are accepted */
    cfg.require_https = 0;
    cfg.require_post = 0;
    req.body_too_large = 0;
    req.is_https = 0;
    req.method = "GET";
    req.body = NULL;
    req.body_len = 0;
    req.query = "grant_type=client_credentials";
    ck_assert_int_eq(oas_token_endpoint(&cfg, &req, pool)->status, 200);
    req.method = "PUT";
    r = oas_token_endpoint(&cfg, &req, pool);
    ck_assert_int_eq(r->status, 405);
    ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "GET, POST");
}
END_TEST

static json_t *password_grant(const char *extra)
{
    oas_response_t *r = post(fx_basic("app", "app-secret"),
                             apr_pstrcat(pool, "grant_type=password&username=alice&password=wonderland",
                                         extra, NULL));
    ck_assert_int_eq(r->status, 200);
    return body_json(r);
}

START_TEST(password_grant_ok)
{
    json_t *j = password_grant("&scope=read");
    ck_assert_str_eq(jstr(j, "scope"), "read");
    ck_assert_int_eq(strlen(jstr(j, "refresh_token")), 43);
    ck_assert(token_active(OAS_PREFIX_REFRESH, jstr(j, "refresh_token")));
    json_decref(j);
}
END_TEST

START_TEST(password_grant_failures)
{
    long before = store_total();
    assert_error(post(fx_basic("app", "app-secret"),
                      "grant_type=password&username=alice&password=nope"), 400, "invalid_grant");
    assert_error(post(fx_basic("app", "app-secret"), "grant_type=password&username=alice"), 400,
                 "invalid_request");
    assert_error(post(fx_basic("m2m", "m2m-secret"),
                      "grant_type=password&username=alice&password=wonderland"), 400,
                 "unauthorized_client");
    pw_answer = OAS_PW_NONE;
    assert_error(post(fx_basic("app", "app-secret"),
                      "grant_type=password&username=alice&password=wonderland"), 500,
                 "server_error");
    pw_answer = OAS_PW_ERROR;
    assert_error(post(fx_basic("app", "app-secret"),
                      "grant_type=password&username=alice&password=wonderland"), 503,
                 "temporarily_unavailable");
    ck_assert_int_eq(store_total(), before);
}
END_TEST

static oas_response_t *refresh(const char *who, const char *secret, const char *rt,
                               const char *extra)
{
    return post(fx_basic(who, secret), apr_pstrcat(pool, "grant_type=refresh_token&refresh_token=",
                                                rt, extra, NULL));
}

START_TEST(refresh_rotation_and_limit)
{
    json_t *j = password_grant("");
    const char *rt1 = jstr(j, "refresh_token"), *rt2, *at2;
    oas_response_t *r;
    json_decref(j);

    r = refresh("app", "app-secret", rt1, "&scope=read");   /* 1st of 2 refreshes */
    ck_assert_int_eq(r->status, 200);
    j = body_json(r);
    rt2 = jstr(j, "refresh_token");
    at2 = jstr(j, "access_token");
    ck_assert_str_eq(jstr(j, "scope"), "read");
    ck_assert_str_ne(rt1, rt2);
    ck_assert(!token_active(OAS_PREFIX_REFRESH, rt1));
    json_decref(j);
    assert_error(refresh("app", "app-secret", rt2, "&scope=write"), 400, "invalid_scope");
    r = refresh("app", "app-secret", rt2, "");              /* 2nd and last */
    ck_assert_int_eq(r->status, 200);
    j = body_json(r);
    ck_assert_ptr_null(json_object_get(j, "refresh_token"));
    ck_assert(token_active(OAS_PREFIX_ACCESS, at2));
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_REFRESH_TOKEN], 2);
    json_decref(j);
}
END_TEST

START_TEST(refresh_replay_revokes_family)
{
    json_t *j = password_grant("");
    const char *rt1 = jstr(j, "refresh_token"), *at1 = jstr(j, "access_token"), *rt2, *at2;
    oas_response_t *r;
    json_decref(j);

    r = refresh("app", "app-secret", rt1, "");
    j = body_json(r);
    rt2 = jstr(j, "refresh_token");
    at2 = jstr(j, "access_token");
    json_decref(j);
    ck_assert(token_active(OAS_PREFIX_ACCESS, at2));
    assert_error(refresh("app", "app-secret", rt1, ""), 400, "invalid_grant");  /* replay */
    ck_assert(!token_active(OAS_PREFIX_ACCESS, at1));
    ck_assert(!token_active(OAS_PREFIX_ACCESS, at2));
    ck_assert(!token_active(OAS_PREFIX_REFRESH, rt2));
    assert_error(refresh("app", "app-secret", rt2, ""), 400, "invalid_grant");
}
END_TEST

START_TEST(refresh_other_client)
{
    json_t *j = password_grant("");
    const char *rt1 = jstr(j, "refresh_token");
    json_decref(j);
    assert_error(refresh("other", "other-secret", rt1, ""), 400, "invalid_grant");
    ck_assert(token_active(OAS_PREFIX_REFRESH, rt1));  /* not consumed by the wrong client */
    assert_error(refresh("app", "app-secret", "no-such-token", ""), 400, "invalid_grant");
    assert_error(post(fx_basic("app", "app-secret"), "grant_type=refresh_token"), 400,
                 "invalid_request");
}
END_TEST

/* A code as the authorization endpoint would store it. */
static const char *make_code(const char *client, const char *redirect_uri,
                             const char *challenge, const char *method)
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
    t.client_id = client;
    t.username = "alice";
    t.scope = "read";
    t.redirect_uri = redirect_uri;
    t.code_challenge = challenge;
    t.code_challenge_method = method;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    oas_store_key(key, OAS_PREFIX_CODE, code);
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    return code;
}

START_TEST(code_redeem_once)
{
    const char *code = make_code("app", "https://app.example/cb", NULL, NULL);
    const char *body = apr_pstrcat(pool, "grant_type=authorization_code&code=", code,
                                   "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", NULL);
    oas_response_t *r = post(fx_basic("app", "app-secret"), body);
    json_t *j = body_json(r);
    const char *at = jstr(j, "access_token"), *rt = jstr(j, "refresh_token");

    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(j, "scope"), "read");
    ck_assert(token_active(OAS_PREFIX_ACCESS, at));
    json_decref(j);
    /* the second use fails and revokes what the first produced */
    assert_error(post(fx_basic("app", "app-secret"), body), 400, "invalid_grant");
    ck_assert(!token_active(OAS_PREFIX_ACCESS, at));
    ck_assert(!token_active(OAS_PREFIX_REFRESH, rt));
}
END_TEST

START_TEST(code_bindings)
{
    const char *code = make_code("app", "https://app.example/cb", NULL, NULL);
    const char *pre = apr_pstrcat(pool, "grant_type=authorization_code&code=", code, NULL);
    assert_error(post(fx_basic("app", "app-secret"), pre), 400, "invalid_grant");
    assert_error(post(fx_basic("app", "app-secret"),
                      apr_pstrcat(pool, pre, "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F",
                                  NULL)), 400, "invalid_grant");
    assert_error(post(fx_basic("other", "other-secret"),
                      apr_pstrcat(pool, pre, "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
                                  NULL)), 400, "invalid_grant");
    /* none of those consumed it */
    ck_assert_int_eq(post(fx_basic("app", "app-secret"),
                          apr_pstrcat(pool, pre, "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
                                      NULL))->status, 200);
    /* a code issued without redirect_uri must be redeemed without one */
    code = make_code("app", NULL, NULL, NULL);
    pre = apr_pstrcat(pool, "grant_type=authorization_code&code=", code, NULL);
    assert_error(post(fx_basic("app", "app-secret"),
                      apr_pstrcat(pool, pre, "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
                                  NULL)), 400, "invalid_grant");
    ck_assert_int_eq(post(fx_basic("app", "app-secret"), pre)->status, 200);
}
END_TEST

START_TEST(code_pkce_public)
{
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *code = make_code("spa", "https://spa.example/cb",
                                 "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256");
    const char *pre = apr_pstrcat(pool, "grant_type=authorization_code&client_id=spa&code=",
                                  code, "&redirect_uri=https%3A%2F%2Fspa.example%2Fcb", NULL);
    oas_response_t *r;
    json_t *j;

    assert_error(post(NULL, pre), 400, "invalid_grant");
    assert_error(post(NULL, apr_pstrcat(pool, pre, "&code_verifier="
                                        "aBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", NULL)),
                 400, "invalid_grant");
    assert_error(post(NULL, apr_pstrcat(pool, pre, "&client_id=spa", NULL)), 400,
                 "invalid_request");
    r = post(NULL, apr_pstrcat(pool, pre, "&code_verifier=", verifier, NULL));
    ck_assert_int_eq(r->status, 200);
    j = body_json(r);
    ck_assert_ptr_nonnull(jstr(j, "refresh_token"));
    /* the public client refreshes with client_id, no secret */
    r = post(NULL, apr_pstrcat(pool, "grant_type=refresh_token&client_id=spa&refresh_token=",
                               jstr(j, "refresh_token"), NULL));
    ck_assert_int_eq(r->status, 200);
    json_decref(j);
    /* a confidential client cannot pose as public */
    assert_error(post(NULL, "grant_type=authorization_code&client_id=app&code=x"), 401,
                 "invalid_client");
}
END_TEST

/* Found by fuzz/token_endpoint.c: a user name the password provider accepts
 * but that does not fit a store entry got 503 temporarily_unavailable and an
 * error-level "the token store failed"; docs/security-and-reliability.md "Limits" promises
 * invalid_request, and the store was never at fault. */
START_TEST(password_grant_user_too_long)
{
    char name[1001];
    long before = store_total();
    oas_response_t *r;
    json_t *j;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    pw_user = name;
    r = post(fx_basic("app", "app-secret"),
             apr_pstrcat(pool, "grant_type=password&username=", name,
                         "&password=wonderland", NULL));
    assert_error(r, 400, "invalid_request");
    j = body_json(r);
    ck_assert_str_eq(jstr(j, "error_description"), "the user name or scope is too long");
    json_decref(j);
    ck_assert_int_eq(store_total(), before);
    ck_assert_int_eq(counters.errors[OAS_ERR_TEMPORARILY_UNAVAILABLE], 0);
    /* a long name that does fit is still served */
    name[300] = '\0';
    r = post(fx_basic("app", "app-secret"),
             apr_pstrcat(pool, "grant_type=password&username=", name,
                         "&password=wonderland", NULL));
    ck_assert_int_eq(r->status, 200);
}
END_TEST

START_TEST(store_full_is_503)
{
    const char *issued[64];
    oas_store_stats_t st;
    oas_response_t *r = NULL;
    int i, ok = 0;

    for (i = 0; i < 200; i++) {
        json_t *j;
        r = post(fx_basic("m2m", "m2m-secret"), "grant_type=client_credentials");
        if (r->status != 200) {
            break;
        }
        j = body_json(r);
        issued[ok++] = jstr(j, "access_token");
        json_decref(j);
    }
    ck_assert_int_eq(ok, 64);            /* OAuthASStoreDisk of this test */
    assert_error(r, 503, "temporarily_unavailable");
    for (i = 0; i < ok; i++) {           /* nothing issued was dropped */
        ck_assert(token_active(OAS_PREFIX_ACCESS, issued[i]));
    }
    ck_assert_int_eq(cfg.store->stats(cfg.store, &st), APR_SUCCESS);
    ck_assert_int_eq(st.disk_entries, 64);
    ck_assert_int_ge(st.full, 1);
}
END_TEST

/* A record of kind under prefix+value, of issuer (NULL: none, as written
 * before issuers were recorded); bare: a tombstone without a payload. */
static void put_record(const char *prefix, const char *value, int kind, const char *issuer,
                       int bare)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_token_t t;
    oas_entry_t e;

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.iat = apr_time_sec(apr_time_now());
    t.exp = t.iat + 600;
    t.grant = OAS_GRANT_AUTHORIZATION_CODE;
    t.client_id = "app";
    t.scope = "read";
    t.redirect_uri = "https://app.example/cb";
    t.issuer = issuer;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    if (bare) {
        e.data = "";
        e.len = 0;
    }
    oas_store_key(key, prefix, value);
    ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
}

static apr_status_t lookup_as(const char *prefix, const char *value, const char *issuer,
                              oas_entry_t *e, oas_token_t *t)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_store_key(key, prefix, value);
    return oas_token_lookup(e, t, cfg.store, key, issuer, pool);
}

/* SPEC §8: a record of another issuer is unknown, compared exactly; one
 * without an issuer (older version) and a bare tombstone belong to all. */
START_TEST(issuer_lookup)
{
    oas_entry_t e;
    oas_token_t t;

    put_record(OAS_PREFIX_ACCESS, "mine", OAS_KIND_ACCESS, cfg.issuer, 0);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "mine", cfg.issuer, &e, &t), APR_SUCCESS);
    ck_assert_str_eq(t.issuer, cfg.issuer);
    ck_assert_str_eq(t.client_id, "app");
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "mine", "https://AS.example", &e, &t),
                     APR_NOTFOUND);
    ck_assert_int_eq(e.kind, OAS_KIND_NONE);            /* nothing of it is handed out */
    ck_assert_ptr_null(t.client_id);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "mine", "https://as.example/", &e, &t),
                     APR_NOTFOUND);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "mine", NULL, &e, &t), APR_NOTFOUND);
    put_record(OAS_PREFIX_ACCESS, "old", OAS_KIND_ACCESS, NULL, 0);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "old", "https://any.example", &e, &t),
                     APR_SUCCESS);
    put_record(OAS_PREFIX_CODE, "tomb", OAS_KIND_USED_CODE, cfg.issuer, 1);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_CODE, "tomb", "https://any.example", &e, &t),
                     APR_SUCCESS);
    ck_assert_int_eq(t.kind, OAS_KIND_USED_CODE);
    put_record(OAS_PREFIX_CODE, "corrupt", OAS_KIND_CODE, cfg.issuer, 1);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_CODE, "corrupt", cfg.issuer, &e, &t), APR_NOTFOUND);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_ACCESS, "absent", cfg.issuer, &e, &t), APR_NOTFOUND);
}
END_TEST

/* A code of another issuer: invalid_grant, not consumed, no replay. */
START_TEST(code_other_issuer)
{
    const char *body = "grant_type=authorization_code&code=theirs"
                       "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    long before;
    oas_entry_t e;
    oas_token_t t;

    put_record(OAS_PREFIX_CODE, "theirs", OAS_KIND_CODE, "https://other.example", 0);
    before = store_total();
    assert_error(post(fx_basic("app", "app-secret"), body), 400, "invalid_grant");
    ck_assert_int_eq(store_total(), before);
    ck_assert_int_eq(lookup_as(OAS_PREFIX_CODE, "theirs", "https://other.example", &e, &t),
                     APR_SUCCESS);
    ck_assert_int_eq(e.kind, OAS_KIND_CODE);
    put_record(OAS_PREFIX_CODE, "theirs", OAS_KIND_USED_CODE, "https://other.example", 0);
    assert_error(post(fx_basic("app", "app-secret"), body), 400, "invalid_grant");
    ck_assert_int_eq(store_total(), before);         /* no family marker: no replay */
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("token endpoint");
    TCase *tc = tcase_create("grants");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, client_credentials_ok);
    tcase_add_test(tc, client_credentials_scope);
    tcase_add_test(tc, client_auth_failures);
    tcase_add_test(tc, grant_rules);
    tcase_add_test(tc, transport_rules);
    tcase_add_test(tc, password_grant_ok);
    tcase_add_test(tc, password_grant_failures);
    tcase_add_test(tc, password_grant_user_too_long);
    tcase_add_test(tc, refresh_rotation_and_limit);
    tcase_add_test(tc, refresh_replay_revokes_family);
    tcase_add_test(tc, refresh_other_client);
    tcase_add_test(tc, code_redeem_once);
    tcase_add_test(tc, code_bindings);
    tcase_add_test(tc, code_pkce_public);
    tcase_add_test(tc, store_full_is_503);
    tcase_add_test(tc, issuer_lookup);
    tcase_add_test(tc, code_other_issuer);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(token_suite)
