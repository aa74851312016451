/* test_credcache.c — the cache of verified client credentials: hits,
 * misses, wrong secrets, a changed hash, the size bound, LRU eviction,
 * concurrent threads, a forked child's own cache; and the checks it
 * remembers for others (recall/remember: expiry, contexts, failures). */
#include <string.h>
#include <stdio.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include <apr_sha1.h>
#include <apr_md5.h>
#include "unit.h"
#include "oas_credcache.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *sha_hash(const char *secret)
{
    char buf[64];
    apr_sha1_base64(secret, (int)strlen(secret), buf);
    return apr_pstrdup(pool, buf);
}

static const char *bcrypt_hash(const char *secret, const char *salt16)
{
    char buf[64];
    ck_assert_int_eq(apr_bcrypt_encode(secret, 4, (const unsigned char *)salt16, 16, buf,
                                       sizeof(buf)), APR_SUCCESS);
    return apr_pstrdup(pool, buf);
}

static oas_credcache_t *make(unsigned n)
{
    oas_credcache_t *c = NULL;
    ck_assert_int_eq(oas_credcache_create(&c, n, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(c);
    return c;
}

static oas_credcache_stats_t stats(oas_credcache_t *c)
{
    oas_credcache_stats_t st;
    oas_credcache_stats(c, &st);
    return st;
}

START_TEST(hit_after_first_verification)
{
    oas_credcache_t *c = make(16);
    const char *h = bcrypt_hash("s3cret", "0123456789abcdef");

    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "s3cret"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "s3cret"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "s3cret"), OAS_CRED_CACHED);
    ck_assert_uint_eq(stats(c).hits, 2);
    ck_assert_uint_eq(stats(c).misses, 1);
    ck_assert_uint_eq(stats(c).entries, 1);
}
END_TEST

START_TEST(miss_for_other_client)
{
    oas_credcache_t *c = make(16);
    const char *h = sha_hash("same");

    ck_assert_int_eq(oas_credcache_check(c, "a", h, "same"), OAS_CRED_VERIFIED);
    /* another client with the same hash and secret is verified on its own */
    ck_assert_int_eq(oas_credcache_check(c, "b", h, "same"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "a", h, "same"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "b", h, "same"), OAS_CRED_CACHED);
    ck_assert_uint_eq(stats(c).entries, 2);
}
END_TEST

START_TEST(wrong_secret_never_cached)
{
    oas_credcache_t *c = make(16);
    const char *h = bcrypt_hash("right", "fedcba9876543210");

    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "wrong"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "wrong"), OAS_CRED_BAD);
    ck_assert_uint_eq(stats(c).entries, 0);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "right"), OAS_CRED_VERIFIED);
    /* with the right one cached, wrong ones (a prefix, longer, empty) still fail */
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "wrong"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "righ"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "right!"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, ""), OAS_CRED_BAD);
    /* and do not evict it */
    ck_assert_int_eq(oas_credcache_check(c, "m2m", h, "right"), OAS_CRED_CACHED);
    ck_assert_uint_eq(stats(c).hits, 1);
    ck_assert_uint_eq(stats(c).misses, 7);
}
END_TEST

START_TEST(changed_hash_invalidates)
{
    oas_credcache_t *c = make(16);
    const char *old = sha_hash("old-secret"), *rotated = sha_hash("new-secret");
    const char *rehashed = bcrypt_hash("old-secret", "aaaaaaaaaaaaaaaa");

    ck_assert_int_eq(oas_credcache_check(c, "m2m", old, "old-secret"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", old, "old-secret"), OAS_CRED_CACHED);
    /* rotate-secret: the old secret against the new hash fails at once */
    ck_assert_int_eq(oas_credcache_check(c, "m2m", rotated, "old-secret"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", rotated, "new-secret"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", rotated, "new-secret"), OAS_CRED_CACHED);
    /* the same secret under another hash is checked again, not taken from the cache */
    ck_assert_int_eq(oas_credcache_check(c, "m2m", rehashed, "old-secret"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "m2m", rotated, "new-secret"), OAS_CRED_VERIFIED);
    ck_assert_uint_eq(stats(c).entries, 1);
}
END_TEST

START_TEST(size_is_bounded)
{
    oas_credcache_t *c = make(8);
    const char *h = sha_hash("x");
    char id[32];
    int i;

    ck_assert_uint_eq(stats(c).capacity, 8);
    for (i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "client-%d", i);
        ck_assert_int_eq(oas_credcache_check(c, id, h, "x"), OAS_CRED_VERIFIED);
        ck_assert_uint_le(stats(c).entries, 8);
    }
    ck_assert_uint_eq(stats(c).entries, 8);
    /* most of the first ones are gone */
    for (i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "client-%d", i);
        ck_assert_int_ne(oas_credcache_check(c, id, h, "x"), OAS_CRED_BAD);
    }
    ck_assert_uint_lt(stats(c).hits, 8);
}
END_TEST

START_TEST(least_recently_used_goes)
{
    oas_credcache_t *c = make(4);      /* one set of four ways */
    const char *h = sha_hash("k");

    ck_assert_uint_eq(stats(c).capacity, 4);
    ck_assert_int_eq(oas_credcache_check(c, "a", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "b", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "c", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "d", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, "a", h, "k"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "e", h, "k"), OAS_CRED_VERIFIED);   /* b goes */
    ck_assert_int_eq(oas_credcache_check(c, "a", h, "k"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "c", h, "k"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "b", h, "k"), OAS_CRED_VERIFIED);   /* d goes */
    ck_assert_int_eq(oas_credcache_check(c, "e", h, "k"), OAS_CRED_CACHED);
    ck_assert_int_eq(oas_credcache_check(c, "d", h, "k"), OAS_CRED_VERIFIED);
}
END_TEST

START_TEST(bad_arguments)
{
    oas_credcache_t *c = make(8);
    const char *h = sha_hash("k");
    char long_id[300];

    ck_assert_int_eq(oas_credcache_check(c, NULL, h, "k"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "a", NULL, "k"), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "a", h, NULL), OAS_CRED_BAD);
    ck_assert_int_eq(oas_credcache_check(c, "a", "not a hash", "k"), OAS_CRED_BAD);
    /* without a cache every check validates */
    ck_assert_int_eq(oas_credcache_check(NULL, "a", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(NULL, "a", h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(NULL, "a", h, "no"), OAS_CRED_BAD);
    /* an id longer than a registry allows is never cached */
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    ck_assert_int_eq(oas_credcache_check(c, long_id, h, "k"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(c, long_id, h, "k"), OAS_CRED_VERIFIED);
    ck_assert_uint_eq(stats(c).entries, 0);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

#define T_THREADS 8
#define T_ROUNDS  3000
#define T_CLIENTS 24

typedef struct t_arg_t {
    oas_credcache_t *c;
    const char **hashes;
    unsigned seed;
    int wrong_accepted, right_refused;
} t_arg_t;

static void *t_run(void *data)
{
    t_arg_t *a = data;
    char id[16], secret[16];
    int i, n, wrong, rc;

    for (i = 0; i < T_ROUNDS; i++) {
        n = (int)(rand_r(&a->seed) % T_CLIENTS);
        wrong = rand_r(&a->seed) % 4 == 0;
        snprintf(id, sizeof(id), "c%d", n);
        snprintf(secret, sizeof(secret), "%s%d", wrong ? "bad" : "s", n);
        rc = oas_credcache_check(a->c, id, a->hashes[n], secret);
        a->wrong_accepted += wrong && rc != OAS_CRED_BAD;
        a->right_refused += !wrong && rc == OAS_CRED_BAD;
    }
    return NULL;
}

START_TEST(threads_agree)
{
    oas_credcache_t *c = make(16);     /* fewer entries than clients: evictions race */
    const char *hashes[T_CLIENTS];
    pthread_t th[T_THREADS];
    t_arg_t args[T_THREADS];
    char secret[16];
    oas_credcache_stats_t st;
    int i;

    for (i = 0; i < T_CLIENTS; i++) {
        snprintf(secret, sizeof(secret), "s%d", i);
        hashes[i] = sha_hash(secret);
    }
    for (i = 0; i < T_THREADS; i++) {
        args[i] = (t_arg_t){ c, hashes, (unsigned)i * 7919u + 1, 0, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, t_run, &args[i]), 0);
    }
    for (i = 0; i < T_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].wrong_accepted, 0);
        ck_assert_int_eq(args[i].right_refused, 0);
    }
    st = stats(c);
    ck_assert_uint_le(st.entries, st.capacity);
    ck_assert_uint_eq(st.hits + st.misses, T_THREADS * T_ROUNDS);
    ck_assert_uint_gt(st.hits, 0);
}
END_TEST

/* ---- the process cache ------------------------------------------------ */

START_TEST(process_cache_per_process)
{
    oas_credcache_t *mine = oas_credcache_process();
    const char *h = sha_hash("p");
    pid_t pid;
    int status = -1;

    ck_assert_ptr_nonnull(mine);
    ck_assert_ptr_eq(oas_credcache_process(), mine);
    ck_assert_int_eq(oas_credcache_check(mine, "p", h, "p"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_check(mine, "p", h, "p"), OAS_CRED_CACHED);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the child has a cache of its own, empty, with its own key */
        oas_credcache_t *child = oas_credcache_process();
        int ok = child != NULL && child != mine && oas_credcache_process() == child
                 && oas_credcache_check(child, "p", h, "p") == OAS_CRED_VERIFIED
                 && oas_credcache_check(child, "p", h, "p") == OAS_CRED_CACHED;
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(oas_credcache_check(mine, "p", h, "p"), OAS_CRED_CACHED);
}
END_TEST

/* Checks made elsewhere (the password grant): recall what was remembered,
 * until it expires. */
#define CTX_A "pw 0x1 6:/token file"
#define CTX_B "pw 0x1 6:/other file"

START_TEST(remembered_hit_miss_expiry)
{
    oas_credcache_t *c = make(16);

    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1000), 0);
    oas_credcache_remember(c, "alice", CTX_A, "wonderland", 1003);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1000), 1);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1002), 1);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1003), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 5000), 0);
    /* remembered again: a new expiry */
    oas_credcache_remember(c, "alice", CTX_A, "wonderland", 5010);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 5009), 1);
    /* another user with the same password was never remembered */
    ck_assert_int_eq(oas_credcache_recall(c, "bob", CTX_A, "wonderland", 5000), 0);
    ck_assert_uint_eq(stats(c).entries, 1);
    /* 0: never expires */
    oas_credcache_remember(c, "bob", CTX_A, "builder", 0);
    ck_assert_int_eq(oas_credcache_recall(c, "bob", CTX_A, "builder", 1LL << 40), 1);
}
END_TEST

START_TEST(remembered_other_context_never_matches)
{
    oas_credcache_t *c = make(16);

    oas_credcache_remember(c, "alice", CTX_A, "wonderland", 2000);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_B, "wonderland", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", "", "wonderland", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A "x", "wonderland", 1000), 0);
    /* HMAC(context NUL secret): context and secret do not run together */
    ck_assert_int_eq(oas_credcache_recall(c, "alice", "pw 0x1 6:/token fil", "ewonderland",
                                          1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1000), 1);
}
END_TEST

START_TEST(remembered_wrong_secret_never_matches)
{
    oas_credcache_t *c = make(16);

    oas_credcache_remember(c, "alice", CTX_A, "wonderland", 2000);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderlan", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland!", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "Wonderland", 1000), 0);
    /* the wrong ones neither evicted nor replaced it */
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "wonderland", 1000), 1);
    ck_assert_uint_eq(stats(c).entries, 1);
}
END_TEST

START_TEST(remembered_failures_never_cached)
{
    oas_credcache_t *c = make(16);

    /* recall never stores: a secret that was never granted stays unknown */
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "guess", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", CTX_A, "guess", 1000), 0);
    ck_assert_uint_eq(stats(c).entries, 0);
    ck_assert_uint_eq(stats(c).misses, 2);
    /* NULLs, a NULL cache and an id too long to cache do nothing */
    oas_credcache_remember(NULL, "alice", CTX_A, "x", 2000);
    oas_credcache_remember(c, NULL, CTX_A, "x", 2000);
    oas_credcache_remember(c, "alice", NULL, "x", 2000);
    oas_credcache_remember(c, "alice", CTX_A, NULL, 2000);
    ck_assert_int_eq(oas_credcache_recall(NULL, "alice", CTX_A, "x", 1000), 0);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", NULL, "x", 1000), 0);
    {
        char longid[200];
        memset(longid, 'u', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        oas_credcache_remember(c, longid, CTX_A, "x", 2000);
        ck_assert_int_eq(oas_credcache_recall(c, longid, CTX_A, "x", 1000), 0);
    }
    ck_assert_uint_eq(stats(c).entries, 0);
}
END_TEST

START_TEST(remembered_apart_from_client_secrets)
{
    oas_credcache_t *c = make(16);
    const char *h = sha_hash("same");

    /* a client and a user of the same name: two entries that do not meet */
    oas_credcache_remember(c, "alice", h, "same", 0);
    ck_assert_int_eq(oas_credcache_check(c, "alice", h, "same"), OAS_CRED_VERIFIED);
    ck_assert_int_eq(oas_credcache_recall(c, "alice", h, "same", 1000), 1);
    ck_assert_uint_eq(stats(c).entries, 2);
    /* a client check never reads a remembered password */
    oas_credcache_remember(c, "carol", h, "other", 0);
    ck_assert_int_eq(oas_credcache_check(c, "carol", h, "other"), OAS_CRED_BAD);
}
END_TEST

static Suite *credcache_suite(void)
{
    Suite *s = suite_create("credcache");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hit_after_first_verification);
    tcase_add_test(tc, miss_for_other_client);
    tcase_add_test(tc, wrong_secret_never_cached);
    tcase_add_test(tc, changed_hash_invalidates);
    tcase_add_test(tc, size_is_bounded);
    tcase_add_test(tc, least_recently_used_goes);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, threads_agree);
    tcase_add_test(tc, process_cache_per_process);
    tcase_add_test(tc, remembered_hit_miss_expiry);
    tcase_add_test(tc, remembered_other_context_never_matches);
    tcase_add_test(tc, remembered_wrong_secret_never_matches);
    tcase_add_test(tc, remembered_failures_never_cached);
    tcase_add_test(tc, remembered_apart_from_client_secrets);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(credcache_suite)
