/* test_refresh_ops.c — how many store operations a refresh_token grant costs
 * (issue 18 item 3), so that the count cannot creep back: the real default
 * store, each operation counted on its way through. A refresh was five
 * (get the token, put the access token, put the refresh token, get the
 * family's marker, consume the token) and is three: get, one put_many (both
 * new tokens and the look at the marker, under one hold of the store's
 * mutex), consume. The writes stay three (two new tokens and the old one's
 * tombstone): each is needed (SPEC §8: a token given out is on disk; the
 * tombstone makes a replay seen after a restart). What the operations still
 * guarantee is asserted here too: a refresh of a revoked family is refused
 * and leaves nothing behind. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_grant.h"

enum { OP_GET, OP_PUT, OP_PUT_MANY, OP_ADD, OP_CONSUME, OP_REMOVE, OP_OTHER, OP_N };

static const char *app_registry(void)
{
    return fx_app_registry(-1);
}

static oas_store_t real_store, counted;
static int ops[OP_N], writes;

static int total_ops(void)
{
    int i, n = 0;

    for (i = 0; i < OP_N; i++) {
        n += ops[i];
    }
    return n;
}

static apr_status_t c_get(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                          apr_pool_t *p)
{
    ops[OP_GET]++;
    return real_store.get(&real_store, key, e, p);
}

static apr_status_t c_put(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                          apr_pool_t *p)
{
    ops[OP_PUT]++;
    writes++;
    return real_store.put(&real_store, key, e, p);
}

static apr_status_t c_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                               const unsigned char *unless, apr_pool_t *p)
{
    ops[OP_PUT_MANY]++;
    writes += n;
    return real_store.put_many(&real_store, w, n, unless, p);
}

static apr_status_t c_add(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                          apr_pool_t *p)
{
    ops[OP_ADD]++;
    writes++;
    return real_store.add(&real_store, key, e, p);
}

static apr_status_t c_consume(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                              const oas_entry_t *repl, apr_pool_t *p)
{
    ops[OP_CONSUME]++;
    writes++;                  /* the tombstone (or the removal) */
    return real_store.consume(&real_store, key, e, repl, p);
}

static apr_status_t c_remove(oas_store_t *s, const unsigned char *key, apr_pool_t *p)
{
    ops[OP_REMOVE]++;
    writes++;
    return real_store.remove(&real_store, key, p);
}

static apr_status_t c_count(oas_store_t *s, const unsigned char *key, long delta,
                            long long exp, long *pn, long long *pexp, apr_pool_t *p)
{
    ops[OP_OTHER]++;
    return real_store.count(&real_store, key, delta, exp, pn, pexp, p);
}






static void count_reset(void)
{
    memset(ops, 0, sizeof(ops));
    writes = 0;
}


static void setup(void)
{
    fx_setup("refresh-ops", app_registry, NULL, 64);
    real_store = *cfg.store;
    counted = real_store;
    counted.get = c_get;
    counted.put = c_put;
    counted.put_many = c_put_many;
    counted.add = c_add;
    counted.consume = c_consume;
    counted.remove = c_remove;
    counted.count = c_count;
    cfg.store = &counted;
    count_reset();
}

static void teardown(void)
{
    cfg.store = NULL;
    fx_teardown();
}

START_TEST(refresh_takes_three_store_operations)
{
    oas_response_t *r = fx_app_post("grant_type=password&username=alice&password=wonderland");
    const char *rt;
    int i;

    ck_assert_int_eq(r->status, 200);
    rt = fx_member(r, "refresh_token");
    for (i = 0; i < 3; i++) {               /* the same on each turn of the family */
        count_reset();
        r = fx_app_refresh(rt);
        ck_assert_int_eq(r->status, 200);
        ck_assert_int_eq(ops[OP_GET], 1);           /* the refresh token */
        ck_assert_int_eq(ops[OP_PUT_MANY], 1);      /* both new tokens, the marker's look */
        ck_assert_int_eq(ops[OP_CONSUME], 1);       /* the old one, for its tombstone */
        ck_assert_int_eq(ops[OP_PUT] + ops[OP_ADD] + ops[OP_REMOVE], 0);
        ck_assert_int_eq(total_ops() - ops[OP_OTHER], 3);
        ck_assert_int_eq(writes, 3);
        ck_assert(fx_live(&real_store, OAS_PREFIX_ACCESS, fx_member(r, "access_token")));
        ck_assert(!fx_live(&real_store, OAS_PREFIX_REFRESH, rt));
        rt = fx_member(r, "refresh_token");
        ck_assert(fx_live(&real_store, OAS_PREFIX_REFRESH, rt));
    }
}
END_TEST

/* A new family has no marker to look at: the password grant's two tokens in
 * one operation. */
START_TEST(new_family_takes_one_store_operation)
{
    oas_response_t *r = fx_app_post("grant_type=password&username=alice&password=wonderland");

    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(ops[OP_PUT_MANY], 1);
    ck_assert_int_eq(total_ops() - ops[OP_OTHER], 1);
    ck_assert_int_eq(writes, 2);
}
END_TEST

/* The look at the marker within put_many still refuses a refresh of a family
 * revoked (its marker written) while its members were still there, and what
 * was written for it goes again. */
START_TEST(refresh_of_revoked_family_refused)
{
    oas_response_t *r = fx_app_post("grant_type=password&username=alice&password=wonderland");
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e, marker;
    const char *rt;
    int before;
    oas_store_stats_t st;

    ck_assert_int_eq(r->status, 200);
    rt = fx_member(r, "refresh_token");
    oas_store_key(key, OAS_PREFIX_REFRESH, rt);
    ck_assert_int_eq(real_store.get(&real_store, key, &e, pool), APR_SUCCESS);
    memset(&marker, 0, sizeof(marker));
    marker.kind = OAS_KIND_FAMILY_REVOKED;
    memcpy(marker.family, e.family, OAS_FAMILY_LEN);
    marker.data = "";
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, e.family, OAS_FAMILY_LEN));
    ck_assert_int_eq(real_store.put(&real_store, key, &marker, pool), APR_SUCCESS);
    ck_assert_int_eq(real_store.stats(&real_store, &st), APR_SUCCESS);
    before = (int)st.disk_entries;
    r = fx_app_refresh(rt);
    ck_assert_int_eq(r->status, 400);
    ck_assert_str_eq(fx_member(r, "error"), "invalid_grant");
    ck_assert_int_eq(real_store.stats(&real_store, &st), APR_SUCCESS);
    ck_assert_int_eq((int)st.disk_entries, before);       /* nothing new stayed */
    ck_assert(fx_live(&real_store, OAS_PREFIX_REFRESH, rt));              /* and nothing was taken */
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("refresh_ops");
    TCase *tc = tcase_create("operations");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, refresh_takes_three_store_operations);
    tcase_add_test(tc, new_family_takes_one_store_operation);
    tcase_add_test(tc, refresh_of_revoked_family_refused);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(ops_suite)
