/* test_store_kv.c — the key-value layer of the shared stores (oas_store_kv.c)
 * on an in-memory fake service that can fail on demand: records, single use,
 * the lock around whole operations, outage episodes and their log lines,
 * fail-fast after a timeout, and misses confirmed by a probe after a failure
 * (APR-util's memcache/redis clients answer "not found" for a dead server). */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "oas_store.h"
#include "oas_token.h"
#include "unit.h"

#define FAKE_MAX 16

typedef struct fake_t {
    unsigned char key[FAKE_MAX][OAS_KV_KEY_LEN];
    char val[FAKE_MAX][1024];
    apr_size_t len[FAKE_MAX];
    long long ttl[FAKE_MAX];
    int used[FAKE_MAX];
    apr_status_t fail;          /* every call answers this (0: none) */
    int dead_notfound;          /* every call answers APR_NOTFOUND ("no live server") */
    int calls, locks, unlocks, locked;
} fake_t;

static apr_pool_t *pool;
static fake_t fake;
static int nerr, nnotice;

static int fake_find(const unsigned char *key)
{
    int i;
    for (i = 0; i < FAKE_MAX; i++) {
        if (fake.used[i] && memcmp(fake.key[i], key, OAS_KV_KEY_LEN) == 0) {
            return i;
        }
    }
    return -1;
}

static int has(const unsigned char *digest, char tag)
{
    unsigned char k[OAS_KV_KEY_LEN];

    memcpy(k, digest, OAS_DIGEST_LEN);
    k[OAS_DIGEST_LEN] = (unsigned char)tag;
    return fake_find(k) >= 0;
}

static apr_status_t fake_state(void)
{
    fake.calls++;
    return fake.fail ? fake.fail : fake.dead_notfound ? APR_NOTFOUND : APR_SUCCESS;
}

static apr_status_t fake_get(void *kv, const unsigned char *key, char **pval, apr_size_t *plen,
                             apr_pool_t *p)
{
    apr_status_t rv = fake_state();
    int i = fake_find(key);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (i < 0) {
        return APR_NOTFOUND;
    }
    *pval = apr_pmemdup(p, fake.val[i], fake.len[i] + 1);
    *plen = fake.len[i];
    return APR_SUCCESS;
}

static apr_status_t fake_set(void *kv, const unsigned char *key, const char *val, apr_size_t len,
                             long long ttl, apr_pool_t *p)
{
    apr_status_t rv = fake_state();
    int i = fake_find(key);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = i >= 0 ? i : 0; i < FAKE_MAX && fake.used[i] && fake_find(key) != i; i++) {
        continue;                                /* the key's slot, or the first free one */
    }
    ck_assert_int_lt(i, FAKE_MAX);
    memcpy(fake.key[i], key, OAS_KV_KEY_LEN);
    memcpy(fake.val[i], val, len);
    fake.len[i] = len;
    fake.ttl[i] = ttl;
    fake.used[i] = 1;
    return APR_SUCCESS;
}

static apr_status_t fake_del(void *kv, const unsigned char *key, apr_pool_t *p)
{
    apr_status_t rv = fake_state();
    int i = fake_find(key);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (i < 0) {
        return APR_NOTFOUND;
    }
    fake.used[i] = 0;
    return APR_SUCCESS;
}

static apr_status_t fake_lock(void *kv)
{
    ck_assert_int_eq(fake.locked, 0);
    fake.locked = 1;
    fake.locks++;
    return APR_SUCCESS;
}

static void fake_unlock(void *kv)
{
    ck_assert_int_eq(fake.locked, 1);
    fake.locked = 0;
    fake.unlocks++;
}

static const oas_kv_ops_t fake_ops = {
    .get = fake_get, .set = fake_set, .del = fake_del, .lock = fake_lock, .unlock = fake_unlock,
};

static void log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                   const char *msg)
{
    if (level <= OAS_LOG_ERR) {
        nerr++;
    }
    else if (level == OAS_LOG_NOTICE) {
        nnotice++;
    }
}

static const oas_logger_t logger = { log_cb, NULL, OAS_LOG_DEBUG };

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    memset(&fake, 0, sizeof(fake));
    nerr = nnotice = 0;
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static oas_store_t *mk(int notfound_after_error)
{
    oas_store_kv_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.name = "fake";
    c.where = "the fake";
    c.ops = &fake_ops;
    c.notfound_after_error = notfound_after_error;
    c.retry = apr_time_from_msec(300);
    c.log = &logger;
    ck_assert_int_eq(oas_store_kv_create(&s, &c, pool), APR_SUCCESS);
    ck_assert_str_eq(s->name, "fake");
    return s;
}

static oas_entry_t entry(int kind, long long exp, const char *payload)
{
    oas_entry_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.exp = exp;
    memset(e.family, 4, OAS_FAMILY_LEN);
    e.data = payload;
    e.len = strlen(payload);
    return e;
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

/* --------------------------------------------------------------- tests */

START_TEST(test_records_and_ttl)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, "abc"), got;

    memset(k, 1, sizeof(k));
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.ttl[0], 100);                    /* the lifetime is the TTL */
    ck_assert_int_eq(fake.key[0][32], OAS_KV_TAG_ENTRY);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert(got.kind == e.kind && got.exp == e.exp && got.len == 3
              && memcmp(got.data, "abc", 3) == 0 && memcmp(got.family, e.family, 16) == 0);
    e.exp = 0;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.ttl[0], 0);                      /* never expires: no TTL */
    e.exp = now_sec() - 5;                                 /* expired: the key goes */
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_eq(fake.locks, 5);                       /* around every operation */
    ck_assert_int_eq(fake.unlocks, 5);
    memcpy(fake.val[0], "junk that is no record of ours", 30); /* a foreign value */
    fake.len[0] = 30;
    fake.used[0] = 1;
    memcpy(fake.key[0], k, 32);
    fake.key[0][32] = OAS_KV_TAG_ENTRY;
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
}
END_TEST

/* failure counters: read-add-write with the expiry as TTL; a read creates
 * nothing; delta 0 sets the expiry; a failing service is an error, not 0 */
START_TEST(test_count)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    long n = -1;
    long long x = -1, now = now_sec();
    oas_entry_t e = entry(OAS_KIND_ACCESS, now + 100, "abc");

    memset(k, 3, sizeof(k));
    ck_assert_int_eq(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 0 && x == 0);
    ck_assert_int_eq(fake.used[0], 0);                       /* a read creates nothing */
    ck_assert_int_eq(s->count(s, k, 1, now + 60, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 1 && x == now + 60);
    ck_assert_int_eq(fake.ttl[0], 60);
    ck_assert_int_eq(s->count(s, k, 1, now + 30, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 2 && x == now + 60);                      /* the expiry only moves later */
    ck_assert_int_eq(s->count(s, k, 0, now + 10, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 2 && x == now + 10);                      /* delta 0 sets it */
    ck_assert_int_eq(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 2 && x == now + 10);
    ck_assert_int_eq(s->count(s, k, 1, 0, &n, &x, pool), APR_EINVAL);
    ck_assert_int_eq(s->count(s, k, -1, now + 5, &n, &x, pool), APR_EINVAL);
    ck_assert_int_eq(s->remove(s, k, pool), APR_SUCCESS);
    ck_assert_int_eq(s->count(s, k, 0, now + 10, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 0 && x == 0);                             /* nothing to set: none made */
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);   /* a key of another kind */
    ck_assert_int_eq(s->count(s, k, 1, now + 5, &n, &x, pool), APR_EINVAL);
    fake.fail = APR_ECONNREFUSED;
    ck_assert_int_ne(s->count(s, k, 0, 0, &n, &x, pool), APR_SUCCESS);
    ck_assert(n == 0 && x == 0);
}
END_TEST

START_TEST(test_consume_tags)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_CODE, now_sec() + 100, "code");
    oas_entry_t tomb = entry(OAS_KIND_USED_CODE, now_sec() + 100, ""), got;

    memset(k, 2, sizeof(k));
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_CODE);
    ck_assert(!has(k, OAS_KV_TAG_ENTRY));                  /* the entry is deleted */
    ck_assert(has(k, OAS_KV_TAG_REPL));                    /* the tombstone beside it */
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_USED_CODE);
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_USED_CODE);        /* a replay sees it */
    ck_assert_int_eq(s->remove(s, k, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_eq(fake.locks, fake.unlocks);
}
END_TEST

/* SPEC section 8 on a shared store: the record keeps its issuer, and so
 * does the tombstone the token endpoint leaves (the record, kind changed). */
START_TEST(test_issuer_in_record)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_token_t t, got_t;
    oas_entry_t e, tomb, got;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_REFRESH;
    t.exp = now_sec() + 100;
    memset(t.family, 5, OAS_FAMILY_LEN);
    t.client_id = "twin";
    t.issuer = "https://a.example";
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    memset(k, 3, sizeof(k));
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_token_lookup(&got, &got_t, s, k, "https://a.example", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(got_t.issuer, "https://a.example");
    ck_assert_int_eq(oas_token_lookup(&got, &got_t, s, k, "https://b.example", pool),
                     APR_NOTFOUND);
    tomb = e;
    tomb.kind = OAS_KIND_USED_REFRESH;
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_token_lookup(&got, &got_t, s, k, "https://a.example", pool),
                     APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_USED_REFRESH);
    ck_assert_int_eq(oas_token_lookup(&got, &got_t, s, k, "https://b.example", pool),
                     APR_NOTFOUND);
}
END_TEST

/* add: written only where no live entry (nor a consume's tombstone) is;
 * an existing one is APR_EEXIST, not an outage; a failing service is one */
START_TEST(test_add)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_CSRF, now_sec() + 100, ""), got;
    oas_entry_t code = entry(OAS_KIND_CODE, now_sec() + 100, "code");
    oas_entry_t tomb = entry(OAS_KIND_USED_CODE, now_sec() + 100, "");

    memset(k, 4, sizeof(k));
    ck_assert_int_eq(s->add(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.ttl[0], 100);
    ck_assert_int_eq(s->add(s, k, &e, pool), APR_EEXIST);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_CSRF);
    memset(k, 5, sizeof(k));
    ck_assert_int_eq(s->put(s, k, &code, pool), APR_SUCCESS);
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert_int_eq(s->add(s, k, &e, pool), APR_EEXIST);  /* the tombstone counts */
    ck_assert_int_eq(nerr, 0);
    fake.fail = APR_ECONNREFUSED;
    memset(k, 6, sizeof(k));
    ck_assert_int_eq(s->add(s, k, &e, pool), APR_ECONNREFUSED);
    ck_assert_int_eq(fake.locks, fake.unlocks);
}
END_TEST

/* an error begins an episode (one ERR line); success ends it (one NOTICE) */
START_TEST(test_episode)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, "x"), got;
    int i;

    memset(k, 3, sizeof(k));
    fake.fail = APR_ECONNREFUSED;
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(s->get(s, k, &got, pool), APR_ECONNREFUSED);
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_ECONNREFUSED);
    }
    ck_assert_int_eq(fake.calls, 10);                      /* refused: tried every time */
    ck_assert_int_eq(nerr, 1);
    fake.fail = 0;
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(nnotice, 1);
    fake.fail = APR_EGENERAL;
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_EGENERAL);
    ck_assert_int_eq(nerr, 2);                             /* a new episode */
    ck_assert_int_eq(fake.locks, fake.unlocks);
}
END_TEST

/* after a timeout: at once for the retry time, then one caller tries */
START_TEST(test_fail_fast)
{
    oas_store_t *s = mk(0);
    unsigned char k[32];
    oas_entry_t got;
    int i, before;

    memset(k, 4, sizeof(k));
    fake.fail = APR_TIMEUP;
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_TIMEUP);
    before = fake.calls;
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(s->get(s, k, &got, pool), APR_TIMEUP);
    }
    ck_assert_int_eq(fake.calls, before);                  /* the service was not asked */
    fake.fail = 0;
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_TIMEUP); /* still within the retry time */
    apr_sleep(apr_time_from_msec(350));
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_eq(nerr, 1);
    ck_assert_int_eq(nnotice, 1);
}
END_TEST

/* a client library that answers "not found" for a dead server: after a
 * failure a miss is checked with a probe write */
START_TEST(test_confirm_miss)
{
    oas_store_t *s = mk(1);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, "x"), got;

    memset(k, 5, sizeof(k));
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);   /* no failure yet: trusted */
    ck_assert_int_eq(fake.calls, 2);                            /* entry, replacement */
    fake.fail = APR_ECONNREFUSED;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_ECONNREFUSED);
    fake.fail = 0;
    fake.dead_notfound = 1;                                     /* the library's "dead" */
    ck_assert_int_ne(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_ne(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(nerr, 1);
    fake.dead_notfound = 0;                                     /* alive again */
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);   /* probe write succeeded */
    ck_assert_int_eq(nnotice, 1);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
}
END_TEST

/* the marker lookup: only for stores that revoke by marker, only for a family */
START_TEST(test_family_revoked)
{
    static const unsigned char zero[OAS_FAMILY_LEN];
    oas_store_t *s = mk(0), plain;
    unsigned char fam[OAS_FAMILY_LEN], key[32];
    oas_entry_t marker = entry(OAS_KIND_FAMILY_REVOKED, now_sec() + 100, "");

    memset(fam, 7, sizeof(fam));
    memset(&plain, 0, sizeof(plain));          /* no get at all: it must not be called */
    ck_assert_int_eq(oas_store_family_revoked(&plain, fam, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_family_revoked(NULL, fam, pool), APR_SUCCESS);
    ck_assert_int_eq(s->families_by_marker, 1);
    ck_assert_int_eq(oas_store_family_revoked(s, zero, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.calls, 0);
    ck_assert_int_eq(oas_store_family_revoked(s, fam, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.calls, 1);           /* the marker's key only, no replacement */
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, fam, OAS_FAMILY_LEN));
    ck_assert_int_eq(s->put(s, key, &marker, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_family_revoked(s, fam, pool), APR_EACCES);
    fake.fail = APR_ECONNREFUSED;
    ck_assert_int_eq(oas_store_family_revoked(s, fam, pool), APR_ECONNREFUSED);
}
END_TEST

/* put_many: the writes, then the look at unless, as one operation (one
 * lock of the provider, one request each); a marker found takes them back. */
START_TEST(test_put_many)
{
    oas_store_t *s = mk(0);
    unsigned char k1[32], k2[32], fk[32];
    oas_entry_t a = entry(OAS_KIND_ACCESS, now_sec() + 100, "a");
    oas_entry_t r = entry(OAS_KIND_REFRESH, now_sec() + 100, "r");
    oas_entry_t marker = entry(OAS_KIND_FAMILY_REVOKED, now_sec() + 100, ""), got;
    oas_store_write_t w[2] = { { k1, &a }, { k2, &r } };

    memset(k1, 1, sizeof(k1));
    memset(k2, 2, sizeof(k2));
    memset(fk, 3, sizeof(fk));
    ck_assert_int_eq(oas_store_put_many(s, w, 2, fk, pool), APR_SUCCESS);
    ck_assert_int_eq(fake.calls, 3);           /* set, set, get of the marker's key */
    ck_assert_int_eq(fake.locks, 1);
    ck_assert_int_eq(s->get(s, k1, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k2, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(s->remove(s, k1, pool), APR_SUCCESS);
    ck_assert_int_eq(s->remove(s, k2, pool), APR_SUCCESS);
    ck_assert_int_eq(s->put(s, fk, &marker, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_put_many(s, w, 2, fk, pool), APR_EACCES);
    ck_assert(!has(k1, OAS_KV_TAG_ENTRY));
    ck_assert(!has(k2, OAS_KV_TAG_ENTRY));
    ck_assert_int_eq(nerr, 0);                 /* a revoked family is no outage */
    ck_assert_int_eq(oas_store_put_many(s, w, 0, NULL, pool), APR_EINVAL);
    ck_assert_int_eq(oas_store_put_many(s, w, OAS_STORE_BATCH_MAX + 1, NULL, pool), APR_EINVAL);
    fake.fail = APR_ECONNREFUSED;
    ck_assert_int_eq(oas_store_put_many(s, w, 2, NULL, pool), APR_ECONNREFUSED);
    ck_assert_int_eq(nerr, 1);
}
END_TEST

START_TEST(test_create_errors)
{
    oas_store_kv_conf_t c;
    oas_kv_ops_t none;
    oas_store_t *s = (oas_store_t *)1;

    memset(&c, 0, sizeof(c));
    memset(&none, 0, sizeof(none));
    ck_assert_int_eq(oas_store_kv_create(&s, NULL, pool), APR_EINVAL);
    ck_assert_ptr_null(s);
    c.name = "x";
    c.ops = &none;
    ck_assert_int_eq(oas_store_kv_create(&s, &c, pool), APR_EINVAL);
}
END_TEST

static Suite *kv_suite(void)
{
    Suite *su = suite_create("store_kv");
    TCase *tc = tcase_create("kv");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_records_and_ttl);
    tcase_add_test(tc, test_consume_tags);
    tcase_add_test(tc, test_issuer_in_record);
    tcase_add_test(tc, test_count);
    tcase_add_test(tc, test_add);
    tcase_add_test(tc, test_episode);
    tcase_add_test(tc, test_fail_fast);
    tcase_add_test(tc, test_confirm_miss);
    tcase_add_test(tc, test_family_revoked);
    tcase_add_test(tc, test_put_many);
    tcase_add_test(tc, test_create_errors);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(kv_suite)
