/* test_ratelimit.c — the brute-force limits (oas_ratelimit.c) and the
 * default store's failure counters, without a server: a real default store
 * in a temp dir, a real registry, the token and introspection endpoints
 * called with plain C requests. */
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
#include "oas_ratelimit.h"
#include "oas_credcache.h"

static int pw_calls;

static const char *registry_json(void)
{
    return apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"m2m\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]},"
        "{\"client_id\":\"other\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]},"
        "{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"password\"],\"scopes\":[\"read\"],\"refresh_limit\":0}"
        "]}", fx_sha_hash("m2m-secret"), fx_sha_hash("other-secret"), fx_sha_hash("app-secret"));
}

static int fake_password(void *baton, const char *user, const char *password)
{
    pw_calls++;
    return strcmp(password, "right") == 0 ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

static void setup(void)
{
    fx_setup("rl", registry_json, NULL, 16);
    cfg.refresh_lifetime = 0;
    cfg.fail_limit = 3;
    cfg.fail_window = 60;
    cfg.fail_lockout = 60;
    pw_calls = 0;
}
static oas_http_req_t form_req(const char *auth, const char *body)
{
    return fx_form_req(auth, body, fake_password);
}
static oas_response_t *cc(const char *id, const char *secret)
{
    oas_http_req_t req = form_req(fx_basic(id, secret), "grant_type=client_credentials");
    return oas_token_endpoint(&cfg, &req, pool);
}

static oas_response_t *pw(const char *user, const char *password)
{
    oas_http_req_t req = form_req(fx_basic("app", "app-secret"),
                                  apr_psprintf(pool, "grant_type=password&username=%s"
                                               "&password=%s", user, password));
    return oas_token_endpoint(&cfg, &req, pool);
}

static const char *jerror(const oas_response_t *r)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *e;
    ck_assert_ptr_nonnull(j);
    e = apr_pstrdup(pool, json_string_value(json_object_get(j, "error")));
    json_decref(j);
    return e;
}

/* 429 temporarily_unavailable, Retry-After in (0, max] seconds, no-store */
static void assert_locked(const oas_response_t *r, long max)
{
    const char *ra = apr_table_get(r->headers, "Retry-After");
    ck_assert_int_eq(r->status, 429);
    ck_assert_str_eq(jerror(r), "temporarily_unavailable");
    ck_assert_ptr_nonnull(ra);
    ck_assert(atol(ra) >= 1 && atol(ra) <= max);
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-store");
    ck_assert_ptr_null(apr_table_get(r->headers, "WWW-Authenticate"));
}

static long mem_counters(void)
{
    oas_store_stats_t st;
    ck_assert_int_eq(cfg.store->stats(cfg.store, &st), APR_SUCCESS);
    return st.mem_entries[OAS_KIND_AUTH_FAILURES];
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_locked_for)
{
    ck_assert_int_eq(oas_rl_locked_for(&cfg, 2, 1100, 1000), 0);     /* below the limit */
    ck_assert_int_eq(oas_rl_locked_for(&cfg, 3, 1100, 1000), 100);
    ck_assert_int_eq(oas_rl_locked_for(&cfg, 9, 1001, 1000), 1);
    ck_assert_int_eq(oas_rl_locked_for(&cfg, 3, 1000, 1000), 0);     /* ended */
    cfg.fail_limit = 0;
    ck_assert_int_eq(oas_rl_locked_for(&cfg, 99, 1100, 1000), 0);    /* Off */
}
END_TEST

START_TEST(test_store_counter)
{
    oas_store_t *s = cfg.store;
    unsigned char k[OAS_DIGEST_LEN];
    long long now = (long long)apr_time_sec(apr_time_now()), x = -1;
    long n = -1;

    oas_store_key(k, "fc:", "unit");
    ck_assert_int_eq(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 0 && x == 0);
    ck_assert_int_eq(mem_counters(), 0);                               /* a read made none */
    ck_assert_int_eq(s->count(s, k, 1, now + 60, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 1 && x == now + 60);
    ck_assert_int_eq(s->count(s, k, 2, now + 30, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 3 && x == now + 60);                                /* only later */
    ck_assert_int_eq(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);   /* lock-free read */
    ck_assert(n == 3 && x == now + 60);
    ck_assert_int_eq(s->count(s, k, 0, now + 5, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 3 && x == now + 5);                                 /* delta 0 sets it */
    ck_assert_int_eq(s->count(s, k, 0, now - 1, &n, &x, pool), APR_SUCCESS);
    ck_assert_int_eq(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 0 && x == 0);                                       /* expired: gone */
    ck_assert_int_eq(s->count(s, k, 1, 0, &n, &x, pool), APR_EINVAL);  /* never expiring */
    ck_assert_int_eq(s->count(s, k, -1, now + 5, &n, &x, pool), APR_EINVAL);
    ck_assert_int_eq(s->count(s, NULL, 1, now + 5, &n, &x, pool), APR_EINVAL);
}
END_TEST

/* Counters never push codes out of a full memory tier: they are the ones
 * that go (16 entries here). */
START_TEST(test_counters_evicted_first)
{
    oas_store_t *s = cfg.store;
    unsigned char k[OAS_DIGEST_LEN];
    long long now = (long long)apr_time_sec(apr_time_now());
    oas_entry_t e, got;
    long n;
    int i;

    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CODE;
    e.exp = now + 600;
    e.data = "c";
    e.len = 1;
    for (i = 0; i < 8; i++) {
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    for (i = 0; i < 200; i++) {     /* a flood of distinct names */
        oas_store_key(k, "fu:", apr_itoa(pool, i));
        ck_assert_int_eq(s->count(s, k, 1, now + 60, &n, NULL, pool), APR_SUCCESS);
        ck_assert_int_eq(n, 1);
    }
    ck_assert_int_le(mem_counters(), 8);
    for (i = 0; i < 8; i++) {       /* every code is still there */
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    }
    for (i = 8; i < 16; i++) {      /* and new codes still fit */
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    ck_assert_int_eq(mem_counters(), 0);
}
END_TEST

/* Issue 12 item 3: the limits fail closed. Memory full of live codes (16
 * here): a failure cannot be counted, so it is answered 503
 * temporarily_unavailable (not 401), and then that name is refused
 * unchecked, the right secret too, rather than guessed at unlimited. */
START_TEST(test_fails_closed)
{
    oas_store_t *s = cfg.store;
    unsigned char k[OAS_DIGEST_LEN];
    oas_entry_t e;
    oas_response_t *r;
    int i;

    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CODE;
    e.exp = (long long)apr_time_sec(apr_time_now()) + 600;
    e.data = "c";
    e.len = 1;
    for (i = 0; i < 16; i++) {
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    for (i = 0; i < 5; i++) {
        r = cc("m2m", "wrong");
        ck_assert_msg(r->status == 503, "failure %d: status %d", i + 1, r->status);
        ck_assert_str_eq(jerror(r), "temporarily_unavailable");
    }
    r = cc("m2m", "m2m-secret");
    ck_assert_int_eq(r->status, 503);                           /* not checked */
    ck_assert_ptr_nonnull(apr_table_get(r->headers, "Retry-After"));
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_CLIENT_CREDENTIALS], 0);
    ck_assert_int_eq(pw("alice", "wrong")->status, 503);       /* users too */
    ck_assert_int_eq(pw("alice", "right")->status, 503);
    ck_assert_int_eq(pw_calls, 1);                              /* the second unchecked */
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_PASSWORD], 0);
}
END_TEST

START_TEST(test_client_lockout)
{
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cc("m2m", "wrong")->status, 401);
    }
    ck_assert_int_eq(counters.auth_lockouts, 1);
    assert_locked(cc("m2m", "wrong"), 60);
    assert_locked(cc("m2m", "m2m-secret"), 60);                 /* the right one too */
    ck_assert_int_eq(counters.auth_refused, 2);
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_CLIENT_CREDENTIALS], 0);
    ck_assert_int_eq(cc("other", "other-secret")->status, 200); /* others go on */
    {   /* introspection shares the count: m2m is locked there too */
        oas_http_req_t req = form_req(fx_basic("m2m", "m2m-secret"), "token=x");
        assert_locked(oas_introspect_endpoint(&cfg, &req, pool), 60);
    }
    ck_assert_int_eq(counters.auth_lockouts, 1);                /* locked once */
}
END_TEST

START_TEST(test_success_resets)
{
    int round, i;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < 2; i++) {
            ck_assert_int_eq(cc("m2m", "wrong")->status, 401);
        }
        ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
    }
    ck_assert_int_eq(counters.auth_lockouts, 0);
    ck_assert_int_eq(mem_counters(), 0);                        /* cleared, not just 0 */
}
END_TEST

/* Unknown client ids count like known ones: a 429 does not tell which exist. */
START_TEST(test_unknown_client)
{
    oas_credcache_stats_t before, after;
    int i;

    oas_credcache_stats(oas_credcache_process(), &before);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cc("nosuch", "x")->status, 401);
    }
    oas_credcache_stats(oas_credcache_process(), &after);      /* never through the cache */
    ck_assert(after.entries == before.entries && after.hits == before.hits
              && after.misses == before.misses);
    assert_locked(cc("nosuch", "x"), 60);
    ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
}
END_TEST

START_TEST(test_lock_ends)
{
    int i;

    cfg.fail_lockout = 1;
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cc("m2m", "wrong")->status, 401);
    }
    assert_locked(cc("m2m", "m2m-secret"), 1);
    sleep(2);
    ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
    ck_assert_int_eq(cc("m2m", "wrong")->status, 401);          /* counting starts over */
    ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
}
END_TEST

START_TEST(test_user_lockout)
{
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(jerror(pw("alice", "wrong")), "invalid_grant");
    }
    ck_assert_int_eq(pw_calls, 3);
    assert_locked(pw("alice", "right"), 60);
    assert_locked(pw("alice", "wrong"), 60);
    ck_assert_int_eq(pw_calls, 3);                  /* nothing was checked while locked */
    ck_assert_int_eq(pw("bob", "right")->status, 200);
    ck_assert_int_eq(counters.issued[OAS_CNT_GRANT_PASSWORD], 1);
    ck_assert_int_eq(cc("app", "app-secret")->status, 400);   /* the client is not locked */
    ck_assert_int_eq(counters.auth_lockouts, 1);
}
END_TEST

START_TEST(test_off)
{
    int i;

    cfg.fail_limit = 0;
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(cc("m2m", "wrong")->status, 401);
        ck_assert_str_eq(jerror(pw("alice", "wrong")), "invalid_grant");
    }
    ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
    ck_assert_int_eq(pw("alice", "right")->status, 200);
    ck_assert_int_eq(mem_counters(), 0);
}
END_TEST

/* Keys of one name in two issuers (virtual hosts on one store) differ. */
START_TEST(test_per_issuer)
{
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cc("m2m", "wrong")->status, 401);
    }
    assert_locked(cc("m2m", "m2m-secret"), 60);
    cfg.issuer = "https://other.example";
    ck_assert_int_eq(cc("m2m", "m2m-secret")->status, 200);
}
END_TEST

static Suite *rl_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_locked_for);
    tcase_add_test(tc, test_store_counter);
    tcase_add_test(tc, test_counters_evicted_first);
    tcase_add_test(tc, test_fails_closed);
    tcase_add_test(tc, test_client_lockout);
    tcase_add_test(tc, test_success_resets);
    tcase_add_test(tc, test_unknown_client);
    tcase_add_test(tc, test_lock_ends);
    tcase_add_test(tc, test_user_lockout);
    tcase_add_test(tc, test_off);
    tcase_add_test(tc, test_per_issuer);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(rl_suite)
