/* test_refresh_window.c — the refresh reuse window at the token endpoint when
 * a refresh loses the race for its token (OAuthASRefreshReuseWindow, SPEC §5).
 *
 * Against a real server the race is rarely lost this way: a refresh takes a
 * tenth of a millisecond, so 16 simultaneous ones mostly find the tombstone
 * at their lookup (t/38_refresh_window.t). Here the interleaving is forced:
 * the real default store, with one other complete refresh of the same token
 * run inside the first consume, i.e. after this request's lookup saw the
 * token live and before it takes it; and on the key-value layer of the
 * shared stores, another node's delete coming first. */
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "unit.h"
#include "fixture.h"
#include "oas_grant.h"

static const char *app_registry(void)
{
    return fx_app_registry(3);
}

static oas_store_t real_store, racy_store;
static const char *race_token;       /* the refresh token the interleaved request sends */
static oas_response_t *race_answer;  /* what that request got */







/* the first consume lets another refresh of race_token run to its end first */
static apr_status_t racy_consume(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                 const oas_entry_t *repl, apr_pool_t *p)
{
    if (race_token) {
        const char *rt = race_token;
        race_token = NULL;
        cfg.store = &real_store;
        race_answer = fx_app_refresh(rt);
        cfg.store = &racy_store;
    }
    return real_store.consume(&real_store, key, e, repl, p);
}

static void setup(void)
{
    fx_setup("refresh-window", app_registry, NULL, 64);
    real_store = *cfg.store;
    racy_store = real_store;
    racy_store.consume = racy_consume;
    race_token = NULL;
    race_answer = NULL;
}

static void teardown(void)
{
    cfg.store = NULL;
    fx_teardown();
}

/* a refresh that lost the race to another: its answer, race_answer the winner's */
static oas_response_t *lose_race(const char **prt)
{
    oas_response_t *first = fx_app_post("grant_type=password&username=alice&password=wonderland");
    oas_response_t *r;

    ck_assert_int_eq(first->status, 200);
    *prt = fx_member(first, "refresh_token");
    race_token = *prt;
    cfg.store = &racy_store;
    r = fx_app_refresh(*prt);
    cfg.store = &real_store;
    ck_assert_ptr_null(race_token);          /* the interleaved refresh did run */
    ck_assert_ptr_nonnull(race_answer);
    ck_assert_int_eq(race_answer->status, 200);
    return r;
}

START_TEST(lost_race_within_window_keeps_its_pair)
{
    const char *rt0;
    oas_response_t *r;

    cfg.refresh_reuse_window = 60;
    r = lose_race(&rt0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_ne(fx_member(r, "access_token"), fx_member(race_answer, "access_token"));
    ck_assert_str_ne(fx_member(r, "refresh_token"), fx_member(race_answer, "refresh_token"));
    ck_assert(fx_live(&real_store, OAS_PREFIX_ACCESS, fx_member(r, "access_token")));
    ck_assert(fx_live(&real_store, OAS_PREFIX_REFRESH, fx_member(r, "refresh_token")));
    ck_assert(fx_live(&real_store, OAS_PREFIX_ACCESS, fx_member(race_answer, "access_token")));
    ck_assert(fx_live(&real_store, OAS_PREFIX_REFRESH, fx_member(race_answer, "refresh_token")));
    ck_assert(!fx_live(&real_store, OAS_PREFIX_REFRESH, rt0));
}
END_TEST

START_TEST(lost_race_without_window_revokes)
{
    const char *rt0;
    oas_response_t *r;

    cfg.refresh_reuse_window = 0;
    r = lose_race(&rt0);
    ck_assert_int_eq(r->status, 400);
    ck_assert_str_eq(fx_member(r, "error"), "invalid_grant");
    ck_assert(!fx_live(&real_store, OAS_PREFIX_ACCESS, fx_member(race_answer, "access_token")));
    ck_assert(!fx_live(&real_store, OAS_PREFIX_REFRESH, fx_member(race_answer, "refresh_token")));
}
END_TEST

/* ---- the shared stores: a refresh that loses the delete --------------------- */

/* A key-value service in memory (what Redis or memcached is to the store),
 * whose next delete of an entry key first lets "another node" take that
 * entry: the record moves to the replacement key as the refresh token's
 * tombstone, as the winning node's consume leaves it, and the delete then
 * finds nothing (oas_store_kv.c: the loser sees APR_NOTFOUND). */
#define MEM_SLOTS 32
static struct {
    unsigned char key[OAS_KV_KEY_LEN];
    char *val;
    apr_size_t len;
} mem[MEM_SLOTS];
static int steal_next_delete;

static int mem_slot(const unsigned char *key, int create)
{
    int i, unused = -1;

    for (i = 0; i < MEM_SLOTS; i++) {
        if (mem[i].val && memcmp(mem[i].key, key, OAS_KV_KEY_LEN) == 0) {
            return i;
        }
        unused = (!mem[i].val && unused < 0) ? i : unused;
    }
    ck_assert(!create || unused >= 0);
    if (create) {
        memcpy(mem[unused].key, key, OAS_KV_KEY_LEN);
    }
    return create ? unused : -1;
}

static apr_status_t mem_get(void *kv, const unsigned char *key, char **pval, apr_size_t *plen,
                            apr_pool_t *p)
{
    int i = mem_slot(key, 0);

    if (i < 0) {
        return APR_NOTFOUND;
    }
    *pval = apr_pmemdup(p, mem[i].val, mem[i].len + 1);
    *plen = mem[i].len;
    return APR_SUCCESS;
}

static apr_status_t mem_set(void *kv, const unsigned char *key, const char *val, apr_size_t len,
                            long long ttl, apr_pool_t *p)
{
    int i = mem_slot(key, 1);

    mem[i].val = apr_pcalloc(pool, len + 1);
    memcpy(mem[i].val, val, len);
    mem[i].len = len;
    return APR_SUCCESS;
}

static void another_node_takes(int i)
{
    unsigned char repl[OAS_KV_KEY_LEN];
    int j;

    memcpy(repl, mem[i].key, OAS_DIGEST_LEN);
    repl[OAS_DIGEST_LEN] = OAS_KV_TAG_REPL;
    j = mem_slot(repl, 1);
    mem[j].val = mem[i].val;
    mem[j].len = mem[i].len;
    mem[j].val[1] = OAS_KIND_USED_REFRESH;     /* byte 1 of a record: its kind */
    mem[i].val = NULL;
}

static apr_status_t mem_del(void *kv, const unsigned char *key, apr_pool_t *p)
{
    int i = mem_slot(key, 0);

    if (i >= 0 && steal_next_delete && key[OAS_DIGEST_LEN] == OAS_KV_TAG_ENTRY) {
        steal_next_delete = 0;
        another_node_takes(i);
        return APR_NOTFOUND;
    }
    if (i < 0) {
        return APR_NOTFOUND;
    }
    mem[i].val = NULL;
    return APR_SUCCESS;
}

static const char *lose_delete(long long window)
{
    static const oas_kv_ops_t ops = { .get = mem_get, .set = mem_set, .del = mem_del };
    oas_store_kv_conf_t c;
    oas_store_t *s = NULL;
    oas_response_t *first, *r;

    memset(&c, 0, sizeof(c));
    c.name = "memory";
    c.where = "a service in memory";
    c.ops = &ops;
    memset(mem, 0, sizeof(mem));
    ck_assert_int_eq(oas_store_kv_create(&s, &c, pool), APR_SUCCESS);
    cfg.store = s;
    cfg.refresh_reuse_window = window;
    first = fx_app_post("grant_type=password&username=alice&password=wonderland");
    ck_assert_int_eq(first->status, 200);
    steal_next_delete = 1;
    r = fx_app_refresh(fx_member(first, "refresh_token"));
    ck_assert_int_eq(steal_next_delete, 0);    /* the other node did take it */
    return apr_psprintf(pool, "%d %s", r->status,
                        r->status == 200 ? "pair" : fx_member(r, "error"));
}

START_TEST(kv_lost_delete_within_window)
{
    ck_assert_str_eq(lose_delete(60), "200 pair");
}
END_TEST

START_TEST(kv_lost_delete_without_window)
{
    ck_assert_str_eq(lose_delete(0), "400 invalid_grant");
}
END_TEST

static Suite *window_suite(void)
{
    Suite *s = suite_create("refresh_window");
    TCase *tc = tcase_create("lost race");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lost_race_within_window_keeps_its_pair);
    tcase_add_test(tc, lost_race_without_window_revokes);
    tcase_add_test(tc, kv_lost_delete_within_window);
    tcase_add_test(tc, kv_lost_delete_without_window);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(window_suite)
