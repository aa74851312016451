/* test_reuse.c — oas_reuse: the tombstones of rotated refresh tokens and the
 * refresh reuse window's decision (who, when, what is reissued). */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "oas_reuse.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* a live refresh token entry of client "app", user alice */
static oas_entry_t live_entry(const char *scope)
{
    oas_token_t t;
    oas_entry_t e;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_REFRESH;
    t.iat = 1000;
    t.exp = 5000;
    memset(t.family, 7, OAS_FAMILY_LEN);
    t.grant = 1;
    t.client_id = "app";
    t.username = "alice";
    t.scope = scope;
    t.refresh_left = 3;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    return e;
}

START_TEST(window_off_plain_tombstone)
{
    oas_entry_t live = live_entry("read"), tomb;
    oas_token_t rec;
    long long used = 0;

    oas_reuse_tombstone(&tomb, &live, 2000, 0, pool);
    ck_assert_int_eq(tomb.kind, OAS_KIND_USED_REFRESH);
    ck_assert_uint_eq(tomb.len, 0);
    ck_assert(tomb.exp == 5000);
    ck_assert(memcmp(tomb.family, live.family, OAS_FAMILY_LEN) == 0);
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &tomb, "app", 2000, 60, pool), 0);
}
END_TEST

START_TEST(window_same_client_inside)
{
    oas_entry_t live = live_entry("read write"), tomb;
    oas_token_t rec;
    long long used = 0;

    oas_reuse_tombstone(&tomb, &live, 2000, 10, pool);
    ck_assert_int_eq(tomb.kind, OAS_KIND_USED_REFRESH);
    ck_assert(tomb.exp == 5000);
    ck_assert(oas_reuse_allowed(&rec, &used, &tomb, "app", 2000, 10, pool));
    ck_assert(used == 2000);
    ck_assert(oas_reuse_allowed(&rec, &used, &tomb, "app", 2010, 10, pool));
    ck_assert(oas_reuse_allowed(&rec, &used, &tomb, "app", 1999, 10, pool));   /* a racer */
    ck_assert_int_eq(rec.kind, OAS_KIND_REFRESH);
    ck_assert_str_eq(rec.client_id, "app");
    ck_assert_str_eq(rec.username, "alice");
    ck_assert_str_eq(rec.scope, "read write");
    ck_assert_int_eq(rec.refresh_left, 3);
    ck_assert(memcmp(rec.family, live.family, OAS_FAMILY_LEN) == 0);
}
END_TEST

START_TEST(window_refused)
{
    oas_entry_t live = live_entry("read"), tomb, bad;
    oas_token_t rec;
    long long used = 0;

    oas_reuse_tombstone(&tomb, &live, 2000, 10, pool);
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &tomb, "app", 2011, 10, pool), 0);
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &tomb, "other", 2001, 10, pool), 0);
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &tomb, "app", 2001, 0, pool), 0);
    bad = tomb;                              /* a live token is no tombstone */
    bad.kind = OAS_KIND_REFRESH;
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &bad, "app", 2001, 10, pool), 0);
    bad = tomb;                              /* a cut record */
    bad.len -= 1;
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &bad, "app", 2001, 10, pool), 0);
}
END_TEST

/* a record within 9 bytes of the entry limit: no room for the window */
START_TEST(window_record_too_long)
{
    char scope[OAS_ENTRY_MAX];
    oas_entry_t live, tomb;
    oas_token_t rec;
    long long used = 0;
    apr_size_t n;

    memset(scope, 'a', sizeof(scope));
    for (n = 1; n < sizeof(scope); n++) {      /* the longest scope that still encodes */
        scope[n] = '\0';
        live = live_entry(scope);
        scope[n] = 'a';
        if (live.len > OAS_ENTRY_MAX - 9) {
            break;
        }
    }
    ck_assert_uint_gt(live.len, OAS_ENTRY_MAX - 9);
    ck_assert_uint_le(live.len, OAS_ENTRY_MAX);
    oas_reuse_tombstone(&tomb, &live, 2000, 10, pool);
    ck_assert_uint_eq(tomb.len, 0);
    ck_assert_int_eq(oas_reuse_allowed(&rec, &used, &tomb, "app", 2000, 10, pool), 0);
}
END_TEST

static Suite *reuse_suite(void)
{
    Suite *s = suite_create("reuse");
    TCase *tc = tcase_create("reuse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, window_off_plain_tombstone);
    tcase_add_test(tc, window_same_client_inside);
    tcase_add_test(tc, window_refused);
    tcase_add_test(tc, window_record_too_long);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(reuse_suite)
