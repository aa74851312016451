/* test_store_reads.c — the default store's lock-free reads: a get of an
 * entry in memory takes no lock (a seqlock on the slots), so these tests
 * make writers move slots under readers (evictions, backward-shift deletes,
 * replacements) and check that a reader never sees another key's entry, a
 * torn one, or an old one after a remove has returned. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "oas_store.h"
#include "unit.h"

#define R_KEYS     300        /* more keys than memory slots: constant eviction */
#define R_HOT_KEYS 8          /* codes (memory only): a few, rewritten all the time */
#define R_MEM      64
#define R_READERS  4
#define R_WRITERS  2
#define R_SECONDS  2

static apr_pool_t *pool;
static char tmpdir[64];
static oas_store_t *store;
static volatile int stop;
static int kind = OAS_KIND_ACCESS;      /* what the writers put */
static unsigned nkeys = R_KEYS;

static void setup(void)
{
    apr_global_mutex_t *mutex;
    oas_store_default_conf_t c;

    apr_pool_create(&pool, NULL);
    strcpy(tmpdir, "/tmp/oas_reads_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, pool), APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    c.path = apr_pstrcat(pool, tmpdir, "/store", NULL);
    c.mem_entries = R_MEM;
    c.disk_entries = 100000;
    c.mutex = mutex;
    ck_assert_int_eq(oas_store_default_create(&store, &c, pool), APR_SUCCESS);
    stop = 0;
    kind = OAS_KIND_ACCESS;
    nkeys = R_KEYS;
}

static void teardown(void)
{
    char cmd[128];
    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Keys of codes share 8 home slots (long clusters: deletes shift many
 * entries); tokens spread over the table. */
static void key_of(unsigned char *key, unsigned n)
{
    unsigned home = kind == OAS_KIND_CODE ? n % 8 : n;

    memset(key, 0, OAS_DIGEST_LEN);
    memcpy(key, &home, sizeof(home));
    memcpy(key + 8, &n, sizeof(n));
    key[OAS_DIGEST_LEN - 1] = 0x5a;
}

/* Entry of key n, version v: a payload of n's own length, filled with n and v. */
static void entry_of(oas_entry_t *e, unsigned char *buf, unsigned n, unsigned v)
{
    unsigned i;

    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->exp = (long long)apr_time_sec(apr_time_now()) + 3600;
    e->len = 16 + (n * 37) % (OAS_ENTRY_MAX - 16);
    for (i = 0; i + 8 <= e->len; i += 8) {
        memcpy(buf + i, &n, 4);
        memcpy(buf + i + 4, &v, 4);
    }
    memset(buf + i, (int)(n & 0xff), e->len - i);
    memcpy(e->family, &n, sizeof(n));
    e->data = buf;
}

/* 1 if e is a whole entry of key n, of one version */
static int entry_sound(const oas_entry_t *e, unsigned n)
{
    const unsigned char *d = e->data;
    unsigned i, v0, got, v;

    if (e->kind != kind || e->len != 16 + (n * 37) % (OAS_ENTRY_MAX - 16)
        || memcmp(e->family, &n, sizeof(n)) != 0) {
        return 0;
    }
    memcpy(&v0, d + 4, 4);
    for (i = 0; i + 8 <= e->len; i += 8) {
        memcpy(&got, d + i, 4);
        memcpy(&v, d + i + 4, 4);
        if (got != n || v != v0) {
            return 0;
        }
    }
    for (; i < e->len; i++) {
        if (d[i] != (n & 0xff)) {
            return 0;
        }
    }
    return 1;
}

static void *reader(void *arg)
{
    unsigned char key[OAS_DIGEST_LEN];
    unsigned seed = (unsigned)(size_t)arg, n;
    long bad = 0, reads = 0;
    apr_pool_t *p;
    oas_entry_t e;

    apr_pool_create(&p, NULL);
    while (!stop) {
        n = (unsigned)rand_r(&seed) % nkeys;
        key_of(key, n);
        if (store->get(store, key, &e, p) == APR_SUCCESS) {
            bad += !entry_sound(&e, n);
            reads++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return (void *)(bad ? -1L : reads);
}

static void *writer(void *arg)
{
    unsigned char key[OAS_DIGEST_LEN], buf[OAS_ENTRY_MAX];
    unsigned seed = (unsigned)(size_t)arg, n, v = 0;
    apr_pool_t *p;
    oas_entry_t e;

    apr_pool_create(&p, NULL);
    while (!stop) {
        n = (unsigned)rand_r(&seed) % nkeys;
        key_of(key, n);
        if (rand_r(&seed) % 4 == 0) {
            store->remove(store, key, p);
        }
        else {
            entry_of(&e, buf, n, ++v);
            store->put(store, key, &e, p);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void torture(void)
{
    pthread_t r[R_READERS], w[R_WRITERS];
    void *res;
    long total = 0;
    int i;

    for (i = 0; i < R_WRITERS; i++) {
        ck_assert_int_eq(pthread_create(&w[i], NULL, writer, (void *)(size_t)(i + 1)), 0);
    }
    for (i = 0; i < R_READERS; i++) {
        ck_assert_int_eq(pthread_create(&r[i], NULL, reader, (void *)(size_t)(i + 100)), 0);
    }
    apr_sleep(apr_time_from_sec(R_SECONDS));
    stop = 1;
    for (i = 0; i < R_WRITERS; i++) {
        pthread_join(w[i], NULL);
    }
    for (i = 0; i < R_READERS; i++) {
        pthread_join(r[i], &res);
        ck_assert_msg((long)res >= 0, "reader %d saw a torn or foreign entry", i);
        total += (long)res;
    }
    ck_assert_int_gt(total, 1000);
}

/* tokens: written through to disk, evicted from memory and read back */
START_TEST(readers_never_see_torn_or_foreign_tokens)
{
    torture();
}
END_TEST

/* codes: memory only, replaced in place and shifted by deletes, as fast as
 * writers go */
START_TEST(readers_never_see_torn_or_foreign_codes)
{
    kind = OAS_KIND_CODE;
    nkeys = R_HOT_KEYS;
    torture();
}
END_TEST

/* Sequential: what a reader gets is what was last put, and nothing after a
 * remove, whether the entry is in memory or only on disk. */
START_TEST(latest_version_and_removal)
{
    unsigned char key[OAS_DIGEST_LEN], buf[OAS_ENTRY_MAX];
    oas_entry_t e, got;
    unsigned n, v;

    for (v = 1; v <= 3; v++) {
        for (n = 0; n < R_KEYS; n++) {
            key_of(key, n);
            entry_of(&e, buf, n, v);
            ck_assert_int_eq(store->put(store, key, &e, pool), APR_SUCCESS);
        }
        for (n = 0; n < R_KEYS; n++) {
            key_of(key, n);
            ck_assert_int_eq(store->get(store, key, &got, pool), APR_SUCCESS);
            ck_assert(entry_sound(&got, n));
            ck_assert_int_eq(((const unsigned char *)got.data)[4], v);
        }
    }
    for (n = 0; n < R_KEYS; n += 2) {
        key_of(key, n);
        ck_assert_int_eq(store->remove(store, key, pool), APR_SUCCESS);
        ck_assert_int_eq(store->get(store, key, &got, pool), APR_NOTFOUND);
    }
}
END_TEST

/* An expired entry in memory is not returned by the lock-free path either. */
START_TEST(expired_not_read)
{
    unsigned char key[OAS_DIGEST_LEN], buf[OAS_ENTRY_MAX];
    oas_entry_t e, got;

    kind = OAS_KIND_CODE;                        /* memory only */
    key_of(key, 7);
    entry_of(&e, buf, 7, 1);
    e.exp = (long long)apr_time_sec(apr_time_now()) - 1;
    ck_assert_int_eq(store->put(store, key, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(store->get(store, key, &got, pool), APR_NOTFOUND);
}
END_TEST

static Suite *reads_suite(void)
{
    Suite *s = suite_create("store reads");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, readers_never_see_torn_or_foreign_tokens);
    tcase_add_test(tc, readers_never_see_torn_or_foreign_codes);
    tcase_add_test(tc, latest_version_and_removal);
    tcase_add_test(tc, expired_not_read);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(reads_suite)
