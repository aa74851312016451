/* test_reuse.c — oas_reuse: the tombstones of rotated refresh tokens (the
 * record, and when it was first used) and the reuse window's decision. */
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

static oas_token_t decoded(const oas_entry_t *e)
{
    oas_token_t t;
    ck_assert_int_eq(oas_token_decode(&t, e, pool), APR_SUCCESS);
    return t;
}

START_TEST(tombstone_keeps_record_and_first_use)
{
    oas_entry_t live = live_entry("read write"), tomb;
    oas_token_t rec;

    oas_reuse_tombstone(&tomb, &live, 2000, pool);
    ck_assert_int_eq(tomb.kind, OAS_KIND_USED_REFRESH);
    ck_assert(tomb.exp == 5000);
    ck_assert(memcmp(tomb.family, live.family, OAS_FAMILY_LEN) == 0);
    ck_assert_uint_eq(tomb.len, live.len);
    rec = decoded(&tomb);
    ck_assert_int_eq(rec.kind, OAS_KIND_USED_REFRESH);
    ck_assert(rec.iat == 2000);
    ck_assert_str_eq(rec.client_id, "app");
    ck_assert_str_eq(rec.username, "alice");
    ck_assert_str_eq(rec.scope, "read write");
    ck_assert_int_eq(rec.refresh_left, 3);
}
END_TEST

START_TEST(window_same_client_inside)
{
    oas_entry_t live = live_entry("read"), tomb;
    oas_token_t rec;

    oas_reuse_tombstone(&tomb, &live, 2000, pool);
    rec = decoded(&tomb);
    ck_assert(oas_reuse_allowed(&rec, "app", 2000, 10));
    ck_assert(oas_reuse_allowed(&rec, "app", 2010, 10));
    ck_assert(oas_reuse_allowed(&rec, "app", 1999, 10));   /* a racer that began earlier */
}
END_TEST

START_TEST(window_refused)
{
    oas_entry_t live = live_entry("read"), tomb;
    oas_token_t rec, alive;

    oas_reuse_tombstone(&tomb, &live, 2000, pool);
    rec = decoded(&tomb);
    ck_assert_int_eq(oas_reuse_allowed(&rec, "app", 2011, 10), 0);    /* after */
    ck_assert_int_eq(oas_reuse_allowed(&rec, "other", 2001, 10), 0);  /* another client */
    ck_assert_int_eq(oas_reuse_allowed(&rec, "app", 2001, 0), 0);     /* no window */
    alive = decoded(&live);                                           /* no tombstone */
    ck_assert_int_eq(oas_reuse_allowed(&alive, "app", 1000, 10), 0);
}
END_TEST

/* a record that does not decode: only the kind changes, never a reuse */
START_TEST(tombstone_of_a_bad_record)
{
    oas_entry_t live = live_entry("read"), tomb;
    oas_token_t rec;

    live.len -= 1;
    oas_reuse_tombstone(&tomb, &live, 2000, pool);
    ck_assert_int_eq(tomb.kind, OAS_KIND_USED_REFRESH);
    ck_assert_uint_eq(tomb.len, live.len);
    ck_assert_int_ne(oas_token_decode(&rec, &tomb, pool), APR_SUCCESS);
}
END_TEST

static Suite *reuse_suite(void)
{
    Suite *s = suite_create("reuse");
    TCase *tc = tcase_create("reuse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tombstone_keeps_record_and_first_use);
    tcase_add_test(tc, window_same_client_inside);
    tcase_add_test(tc, window_refused);
    tcase_add_test(tc, tombstone_of_a_bad_record);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(reuse_suite)
