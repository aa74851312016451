/* test_store_shards.c — the default store's disk tier in shards (issue 18):
 * each key's record in its own shard file, a store of one SDBM file (the
 * layout before the shards) moved into them on start, and single use exact
 * when forked children and their threads consume the same keys at once. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <apr_global_mutex.h>
#include <apr_sdbm.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "oas_store.h"
#include "unit.h"
#include "unit_store.h"

static void setup(void)
{
    unit_store_setup("shards");
}

static void teardown(void)
{
    unit_store_teardown();
}

static oas_store_t *mk_store(int mem, int disk, apr_pool_t *p)
{
    return unit_store_make(mem, disk, p);
}

/* a well-spread 32-byte key from n (splitmix64) */
static void key_of(unsigned char *key, unsigned n)
{
    unit_key_of(key, n + 6);
}

static int shard_of(const unsigned char *key)
{
    return key[8] % OAS_STORE_SHARDS;
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

static char *payload(unsigned n, apr_size_t len, apr_pool_t *p)
{
    char *s = apr_palloc(p, len + 1);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        s[i] = (char)('a' + (n + i) % 26);
    }
    s[len] = '\0';
    return s;
}

static oas_entry_t entry(int kind, long long exp, unsigned n, apr_size_t len, apr_pool_t *p)
{
    oas_entry_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.exp = exp;
    memset(e.family, (int)(n % 200) + 1, OAS_FAMILY_LEN);
    e.data = payload(n, len, p);
    e.len = len;
    return e;
}

/* whether key has a record in shard i's file (a handle of its own) */
static int in_shard(int i, const unsigned char *key)
{
    apr_sdbm_datum_t k = { (char *)key, 32 }, v = { NULL, 0 };
    apr_sdbm_t *db;
    apr_pool_t *p;
    int found;

    apr_pool_create(&p, pool);
    ck_assert_int_eq(apr_sdbm_open(&db, apr_psprintf(p, "%s.%d", base, i), APR_FOPEN_READ
                                   | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p), APR_SUCCESS);
    ck_assert_int_eq(apr_sdbm_fetch(db, &v, k), APR_SUCCESS);
    found = v.dptr != NULL;
    apr_sdbm_close(db);
    apr_pool_destroy(p);
    return found;
}

static void assert_entry(oas_store_t *s, unsigned n, int kind, apr_size_t len)
{
    unsigned char k[32];
    oas_entry_t e;

    key_of(k, n);
    ck_assert_int_eq(s->get(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(e.kind, kind);
    ck_assert_uint_eq(e.len, len);
    ck_assert(memcmp(e.data, payload(n, len, pool), len) == 0);
}

static long stats_disk(oas_store_t *s)
{
    oas_store_stats_t st;

    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    return st.disk_entries;
}

static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------- shards */

/* Keys of two shards: each record is in its own shard's file, and nowhere
 * else; both come back after a restart (a new store on the same files). */
START_TEST(keys_of_two_shards_in_their_own_files)
{
    oas_store_t *s = mk_store(4, 64, pool);
    unsigned char ka[32], kb[32];
    unsigned a = 0, b = 1;
    oas_entry_t e;
    apr_pool_t *p;
    int i;

    for (key_of(kb, b); (key_of(ka, a), shard_of(ka)) == shard_of(kb); a++) {
    }
    e = entry(OAS_KIND_ACCESS, now_sec() + 100, a, 40, pool);
    ck_assert_int_eq(s->put(s, ka, &e, pool), APR_SUCCESS);
    e = entry(OAS_KIND_REFRESH, now_sec() + 100, b, 800, pool);    /* in two parts */
    ck_assert_int_eq(s->put(s, kb, &e, pool), APR_SUCCESS);
    for (i = 0; i < OAS_STORE_SHARDS; i++) {
        ck_assert_int_eq(in_shard(i, ka), i == shard_of(ka));
        ck_assert_int_eq(in_shard(i, kb), i == shard_of(kb));
    }
    apr_pool_create(&p, pool);
    s = mk_store(4, 64, p);
    ck_assert_int_eq(stats_disk(s), 2);
    assert_entry(s, a, OAS_KIND_ACCESS, 40);
    assert_entry(s, b, OAS_KIND_REFRESH, 800);
    ck_assert_int_eq(s->remove(s, kb, pool), APR_SUCCESS);
    ck_assert_int_eq(in_shard(shard_of(kb), kb), 0);
    ck_assert_int_eq(in_shard(shard_of(ka), ka), 1);
}
END_TEST

/* The lock an outside copy takes (docs/stores.md, backup: flock(1) on the
 * shard's .dir, the lock apr_sdbm_lock takes) holds back a write to that
 * shard until it is let go, and a write to another shard not at all. */
START_TEST(backup_lock_holds_writers_of_its_shard)
{
    oas_store_t *s = mk_store(4, 64, pool);
    unsigned char ka[32], kb[32];
    unsigned a = 0, b = 1;
    apr_time_t t0;
    oas_entry_t e;
    int go[2], fd;
    pid_t pid;
    char c;

    for (key_of(kb, b); (key_of(ka, a), shard_of(ka)) == shard_of(kb); a++) {
    }
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fd = open(apr_psprintf(pool, "%s.%d.dir", base, shard_of(ka)), O_RDONLY);
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(go[1], "x", 1) != 1) {
            _exit(1);
        }
        usleep(400 * 1000);
        _exit(0);                           /* the lock ends with the process */
    }
    close(go[1]);
    ck_assert_int_eq(read(go[0], &c, 1), 1);
    t0 = apr_time_now();
    e = entry(OAS_KIND_ACCESS, now_sec() + 100, b, 40, pool);
    ck_assert_int_eq(s->put(s, kb, &e, pool), APR_SUCCESS);
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(300));
    e = entry(OAS_KIND_ACCESS, now_sec() + 100, a, 40, pool);
    ck_assert_int_eq(s->put(s, ka, &e, pool), APR_SUCCESS);
    ck_assert_int_ge(apr_time_now() - t0, apr_time_from_msec(300));
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    close(go[0]);
}
END_TEST

/* ---------------------------------------------------------- migration */

/* A record as the store of one SDBM file wrote it (before the shards,
 * oas_store_sdbm.c of then): u8 kind | i64 exp LE | family[16] | u16 len LE
 * | payload; longer than 470 bytes: the rest under key|'c', after the
 * FNV-1a sum (native order) of the whole record. */
static void old_put(apr_sdbm_t *db, const unsigned char *key, const oas_entry_t *e)
{
    unsigned char buf[2048], ck[33];
    unsigned long long x = (unsigned long long)e->exp;
    apr_size_t n = 27 + e->len, first = n > 470 ? 470 : n;
    apr_uint32_t sum = 2166136261u;
    apr_sdbm_datum_t k, v;
    apr_size_t i;

    buf[0] = (unsigned char)e->kind;
    for (i = 0; i < 8; i++) {
        buf[1 + i] = (unsigned char)(x >> (8 * i));
    }
    memcpy(buf + 9, e->family, 16);
    buf[25] = (unsigned char)(e->len & 0xff);
    buf[26] = (unsigned char)(e->len >> 8);
    memcpy(buf + 27, e->data, e->len);
    for (i = 0; i < n; i++) {
        sum = (sum ^ buf[i]) * 16777619u;
    }
    if (n > first) {
        unsigned char part[600];
        memcpy(part, &sum, 4);
        memcpy(part + 4, buf + first, n - first);
        memcpy(ck, key, 32);
        ck[32] = 'c';
        k.dptr = (char *)ck;
        k.dsize = 33;
        v.dptr = (char *)part;
        v.dsize = (int)(4 + n - first);
        ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    }
    k.dptr = (char *)key;
    k.dsize = 32;
    v.dptr = (char *)buf;
    v.dsize = (int)first;
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
}

#define OLD_SMALL 40    /* access tokens, 60 bytes of payload */
#define OLD_BIG   6     /* refresh tokens of 850 bytes: two parts each */
#define OLD_GONE  4     /* expired access tokens */

/* the file at base: OLD_SMALL + OLD_BIG live records, OLD_GONE expired ones
 * and a malformed one */
static void write_old_store(void)
{
    apr_sdbm_datum_t k = { "short", 5 }, v = { "garbage", 7 };
    unsigned char key[32];
    apr_sdbm_t *db;
    oas_entry_t e;
    apr_pool_t *p;
    unsigned n;

    apr_pool_create(&p, pool);
    ck_assert_int_eq(apr_sdbm_open(&db, base, APR_FOPEN_READ | APR_FOPEN_WRITE
                                   | APR_FOPEN_CREATE | APR_FOPEN_SHARELOCK,
                                   APR_FPROT_UREAD | APR_FPROT_UWRITE, p), APR_SUCCESS);
    for (n = 0; n < OLD_SMALL + OLD_BIG + OLD_GONE; n++) {
        key_of(key, n);
        e = n < OLD_SMALL ? entry(OAS_KIND_ACCESS, now_sec() + 3600, n, 60, p)
            : n < OLD_SMALL + OLD_BIG ? entry(OAS_KIND_REFRESH, 0, n, 850, p)
            : entry(OAS_KIND_ACCESS, now_sec() - 10, n, 60, p);
        old_put(db, key, &e);
    }
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    apr_sdbm_close(db);
    apr_pool_destroy(p);
}

/* A store written in the layout of before the shards: every live record is
 * in its shard after the start, byte for byte; the expired and malformed
 * ones are dropped; the old file is gone, and a second start finds the
 * same. */
START_TEST(migrates_a_store_of_one_file)
{
    oas_store_t *s;
    oas_store_stats_t st;
    unsigned char key[32];
    apr_pool_t *p;
    unsigned n;

    write_old_store();
    ck_assert(file_exists(apr_pstrcat(pool, base, ".pag", NULL)));
    s = mk_store(8, 1000, pool);
    ck_assert(!file_exists(apr_pstrcat(pool, base, ".pag", NULL)));
    ck_assert(!file_exists(apr_pstrcat(pool, base, ".dir", NULL)));
    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    ck_assert_int_eq(st.disk_entries, OLD_SMALL + OLD_BIG);
    ck_assert_int_ge(st.corrupt, 1);
    for (n = 0; n < OLD_SMALL + OLD_BIG + OLD_GONE; n++) {
        key_of(key, n);
        ck_assert_int_eq(in_shard(shard_of(key), key), n < OLD_SMALL + OLD_BIG);
        if (n < OLD_SMALL) {
            assert_entry(s, n, OAS_KIND_ACCESS, 60);
        }
        else if (n < OLD_SMALL + OLD_BIG) {
            assert_entry(s, n, OAS_KIND_REFRESH, 850);
        }
    }
    apr_pool_create(&p, pool);
    s = mk_store(8, 1000, p);
    ck_assert_int_eq(stats_disk(s), OLD_SMALL + OLD_BIG);
    for (n = OLD_SMALL; n < OLD_SMALL + OLD_BIG; n++) {
        assert_entry(s, n, OAS_KIND_REFRESH, 850);
    }
}
END_TEST

/* A start that died halfway through the move left the old file and part of
 * the shards: the next start moves it again, and nothing is lost or twice. */
START_TEST(migration_again_after_a_crash)
{
    apr_pool_t *p;
    oas_store_t *s;
    char cmd[512];
    unsigned n;

    write_old_store();
    snprintf(cmd, sizeof(cmd), "cp %s.pag %s.keep.pag && cp %s.dir %s.keep.dir", base, base,
             base, base);
    ck_assert_int_eq(system(cmd), 0);
    apr_pool_create(&p, pool);
    (void)mk_store(8, 1000, p);
    apr_pool_destroy(p);
    snprintf(cmd, sizeof(cmd), "mv %s.keep.pag %s.pag && mv %s.keep.dir %s.dir", base, base,
             base, base);
    ck_assert_int_eq(system(cmd), 0);
    s = mk_store(8, 1000, pool);
    ck_assert_int_eq(stats_disk(s), OLD_SMALL + OLD_BIG);
    for (n = 0; n < OLD_SMALL; n++) {
        assert_entry(s, n, OAS_KIND_ACCESS, 60);
    }
}
END_TEST

/* ------------------------------------------------ single use, exactly */

#define RACE_KEYS   256
#define RACE_PROCS  4
#define RACE_THREADS 4

typedef struct {
    oas_store_t *s;
    unsigned *wins;                /* shared memory: RACE_KEYS counters */
    unsigned *seen_repl;           /* ... and how many saw the replacement */
    const oas_entry_t *repl;
    int first;                     /* where this thread starts in the keys */
    int errors;
} racer_t;

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    racer_t *r = data;
    unsigned char k[32];
    oas_entry_t e;
    apr_pool_t *p;
    apr_status_t rv;
    int i, n;

    apr_pool_create_unmanaged(&p);
    for (i = 0; i < RACE_KEYS; i++) {
        n = (r->first + i) % RACE_KEYS;
        key_of(k, (unsigned)n);
        apr_pool_clear(p);
        rv = r->s->consume(r->s, k, &e, r->repl, p);
        if (rv == APR_SUCCESS && r->repl && e.kind == r->repl->kind) {
            __atomic_add_fetch(&r->seen_repl[n], 1, __ATOMIC_SEQ_CST);
        }
        else if (rv == APR_SUCCESS) {
            __atomic_add_fetch(&r->wins[n], 1, __ATOMIC_SEQ_CST);
        }
        else if (rv != APR_NOTFOUND) {
            r->errors++;
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* In a forked child: child_init, then RACE_THREADS threads; exit 1 on an
 * error answer. */
static int race_child(oas_store_t *s, unsigned *wins, unsigned *seen, const oas_entry_t *repl,
                      int c, int go)
{
    apr_thread_t *t[RACE_THREADS];
    racer_t r[RACE_THREADS];
    apr_pool_t *p;
    apr_status_t trv;
    char b;
    int i, errors = 0;

    apr_pool_create(&p, NULL);
    if (s->child_init(s, p) != APR_SUCCESS || read(go, &b, 1) != 0) {
        return 1;                          /* all start when the parent closes go */
    }
    for (i = 0; i < RACE_THREADS; i++) {
        r[i] = (racer_t){ s, wins, seen, repl, ((c * RACE_THREADS + i) * 3) % 8, 0 };
        if (apr_thread_create(&t[i], NULL, racer, &r[i], p) != APR_SUCCESS) {
            return 1;
        }
    }
    for (i = 0; i < RACE_THREADS; i++) {
        apr_thread_join(&trv, t[i]);
        errors += r[i].errors;
    }
    return errors != 0;
}

/* RACE_KEYS keys of kind (spread over every shard) consumed by every
 * thread of every child at once: each exactly once; with a replacement,
 * every other consumer gets the replacement. */
static void race(int mem, int kind, int with_repl)
{
    oas_store_t *s = mk_store(mem, 2 * RACE_KEYS, pool);
    unsigned *wins = mmap(NULL, 2 * RACE_KEYS * sizeof(unsigned), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0), *seen = wins + RACE_KEYS;
    oas_entry_t repl = entry(OAS_KIND_USED_REFRESH, now_sec() + 100, 999, 8, pool);
    int shards[OAS_STORE_SHARDS] = { 0 };
    unsigned char k[32];
    pid_t pids[RACE_PROCS];
    oas_entry_t e;
    int c, n, st, go[2];

    ck_assert_ptr_ne(wins, MAP_FAILED);
    memset(wins, 0, 2 * RACE_KEYS * sizeof(unsigned));
    for (n = 0; n < RACE_KEYS; n++) {
        key_of(k, (unsigned)n);
        shards[shard_of(k)]++;
        e = entry(kind, now_sec() + 100, (unsigned)n, 60, pool);
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    for (c = 0; c < OAS_STORE_SHARDS; c++) {
        ck_assert_int_gt(shards[c], 0);
    }
    ck_assert_int_eq(pipe(go), 0);
    for (c = 0; c < RACE_PROCS; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            close(go[1]);
            _exit(race_child(s, wins, seen, with_repl ? &repl : NULL, c, go[0]));
        }
    }
    close(go[0]);
    usleep(100 * 1000);                    /* let them all wait in read() */
    close(go[1]);
    for (c = 0; c < RACE_PROCS; c++) {
        ck_assert_int_eq(waitpid(pids[c], &st, 0), pids[c]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (n = 0; n < RACE_KEYS; n++) {
        ck_assert_msg(wins[n] == 1, "key %d consumed %u times", n, wins[n]);
        if (with_repl) {
            ck_assert_uint_eq(seen[n], RACE_PROCS * RACE_THREADS - 1);
        }
    }
    munmap(wins, 2 * RACE_KEYS * sizeof(unsigned));
}

START_TEST(one_winner_codes)
{
    race(256, OAS_KIND_CODE, 0);
}
END_TEST

START_TEST(one_winner_refresh_cached)
{
    race(256, OAS_KIND_REFRESH, 0);
}
END_TEST

START_TEST(one_winner_refresh_on_disk_only)
{
    race(1, OAS_KIND_REFRESH, 0);
}
END_TEST

START_TEST(one_winner_refresh_replaced)
{
    race(4, OAS_KIND_REFRESH, 1);
}
END_TEST

static Suite *store_shards_suite(void)
{
    Suite *su = suite_create("store shards");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, keys_of_two_shards_in_their_own_files);
    tcase_add_test(tc, backup_lock_holds_writers_of_its_shard);
    tcase_add_test(tc, migrates_a_store_of_one_file);
    tcase_add_test(tc, migration_again_after_a_crash);
    tcase_add_test(tc, one_winner_codes);
    tcase_add_test(tc, one_winner_refresh_cached);
    tcase_add_test(tc, one_winner_refresh_on_disk_only);
    tcase_add_test(tc, one_winner_refresh_replaced);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(store_shards_suite)
