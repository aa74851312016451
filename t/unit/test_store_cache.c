/* test_store_cache.c — what the default store's memory tier caches of what
 * it reads from disk (issue 18: a working set many times the tier's size).
 * While the tier has room, every read from disk is cached; once it is full,
 * one read in SD_ADMIT_EVERY (8) of a process is: entries that were read
 * lately are not all pushed out by a scan of tokens read once, and a token
 * read again and again still gets in. The real store, in a temp dir. */
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "oas_store.h"
#include "oas_util.h"
#include "unit.h"
#include "unit_store.h"

#define CAP 32            /* OAuthASStoreMemory of the tests */

static void setup(void)
{
    unit_store_setup("cache");
}

static void teardown(void)
{
    unit_store_teardown();
}

static oas_store_t *mk_store_in(apr_pool_t *p)
{
    oas_store_t *s = unit_store_make(CAP, 10000, p);

    ck_assert_int_eq(s->child_init(s, p), APR_SUCCESS);
    return s;
}

static oas_store_t *mk_store(void)
{
    return mk_store_in(pool);
}

static void put(oas_store_t *s, int kind, unsigned n)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.exp = (long long)apr_time_sec(apr_time_now()) + 600;
    e.data = apr_psprintf(pool, "payload-%u", n);
    e.len = strlen(e.data);
    unit_key_of(key, n);
    ck_assert_int_eq(s->put(s, key, &e, pool), APR_SUCCESS);
}

static void get(oas_store_t *s, unsigned n, int kind)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    unit_key_of(key, n);
    ck_assert_int_eq(s->get(s, key, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(e.kind, kind);
}

static long in_memory(oas_store_t *s, int kind)
{
    oas_store_stats_t st;

    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    return st.mem_entries[kind];
}

/* 8 * CAP access tokens on disk (written first), then 2 * CAP refresh
 * tokens: the tier is full, of refresh tokens only. */
static oas_store_t *full_store(void)
{
    oas_store_t *s = mk_store();
    unsigned i;

    for (i = 0; i < 8 * CAP; i++) {
        put(s, OAS_KIND_ACCESS, 1000 + i);
    }
    for (i = 0; i < 2 * CAP; i++) {
        put(s, OAS_KIND_REFRESH, i);
    }
    ck_assert_int_eq(in_memory(s, OAS_KIND_REFRESH), CAP);
    ck_assert_int_eq(in_memory(s, OAS_KIND_ACCESS), 0);
    return s;
}

/* Reading 4 * CAP tokens once each from a full tier caches about one in 8
 * of them: most of what the tier held stays (every read used to evict one,
 * and the scan pushed out all of it). */
START_TEST(test_scan_does_not_flush)
{
    oas_store_t *s = full_store();
    unsigned i;

    for (i = 0; i < 4 * CAP; i++) {
        get(s, 1000 + i, OAS_KIND_ACCESS);
    }
    ck_assert_int_le(in_memory(s, OAS_KIND_ACCESS), 4 * CAP / 8 + 1);
    ck_assert_int_ge(in_memory(s, OAS_KIND_REFRESH), CAP - 4 * CAP / 8 - 1);
    for (i = 0; i < 2 * CAP; i++) {
        get(s, i, OAS_KIND_REFRESH);                 /* still right, cached or not */
    }
}
END_TEST

/* A token read again and again gets in. */
START_TEST(test_hot_token_gets_in)
{
    oas_store_t *s = full_store();
    unsigned i;

    for (i = 0; i < 16; i++) {
        get(s, 1000, OAS_KIND_ACCESS);
    }
    ck_assert_int_eq(in_memory(s, OAS_KIND_ACCESS), 1);
}
END_TEST

/* While the tier has room, every read from disk is cached: a store made
 * anew on files written before (an empty tier, as after a restart). */
START_TEST(test_room_caches_all)
{
    apr_pool_t *first;
    oas_store_t *s;
    unsigned i;

    ck_assert_int_eq(apr_pool_create(&first, pool), APR_SUCCESS);
    s = mk_store_in(first);
    for (i = 0; i < 2 * CAP; i++) {
        put(s, OAS_KIND_ACCESS, 1000 + i);
    }
    apr_pool_destroy(first);
    s = mk_store_in(pool);
    ck_assert_int_eq(in_memory(s, OAS_KIND_ACCESS), 0);
    for (i = 0; i < CAP / 2; i++) {
        get(s, 1000 + i, OAS_KIND_ACCESS);
    }
    ck_assert_int_eq(in_memory(s, OAS_KIND_ACCESS), CAP / 2);
}
END_TEST

/* The store keeps its process id (glibc's getpid() is a system call, once
 * per operation before): a forked child must see its own, or it would use
 * the parent's SDBM handles, whose file offsets the two would share. */
START_TEST(test_pid_after_fork)
{
    oas_store_t *s = mk_store();
    pid_t pid;
    int status;

    ck_assert_int_eq(oas_pid(), getpid());
    put(s, OAS_KIND_ACCESS, 1);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsigned char key[OAS_DIGEST_LEN];
        oas_entry_t e;

        unit_key_of(key, 1);
        _exit(oas_pid() == getpid() && s->child_init(s, pool) == APR_SUCCESS
              && s->get(s, key, &e, pool) == APR_SUCCESS ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(oas_pid(), getpid());
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *su = suite_create("store_cache");
    TCase *tc = tcase_create("cache");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scan_does_not_flush);
    tcase_add_test(tc, test_hot_token_gets_in);
    tcase_add_test(tc, test_room_caches_all);
    tcase_add_test(tc, test_pid_after_fork);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(cache_suite)
