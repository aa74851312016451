/* test_store.c — the default store: shm + SDBM (SPEC §8). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <apr_file_io.h>
#include <apr_global_mutex.h>
#include <apr_sdbm.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "oas_store.h"
#include "unit.h"

#define NCHILD 16

static apr_pool_t *pool;
static char tmpdir[64];
static const char *base;          /* SDBM base path of the test */
static apr_global_mutex_t *mutex;

/* ------------------------------------------------------------ fixtures */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/oas_store_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    base = apr_pstrcat(pool, tmpdir, "/tokens", NULL);
    ck_assert_int_eq(apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
}

/* remove the temp dir, files first */
static void rm_tmp(void)
{
    unit_rm_dir(tmpdir);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    rm_tmp();
}

static oas_store_t *mk_store_on(const char *path, int mem, int disk, apr_pool_t *p)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.path = path;
    c.mem_entries = mem;
    c.disk_entries = disk;
    c.mutex = mutex;
    ck_assert_int_eq(oas_store_default_create(&s, &c, p), APR_SUCCESS);
    ck_assert_ptr_nonnull(s);
    return s;
}

static oas_store_t *mk_store(int mem, int disk)
{
    return mk_store_on(base, mem, disk, pool);
}

/* a well-spread 32-byte key from n (splitmix64) */
static void key_of(unsigned char *key, unsigned n)
{
    unit_key_of(key, n);
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

/* an entry whose payload is "payload-<n>" */
static oas_entry_t entry(int kind, long long exp, int fam, unsigned n, apr_pool_t *p)
{
    oas_entry_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.exp = exp;
    if (fam) {
        memset(e.family, fam, OAS_FAMILY_LEN);
    }
    e.data = apr_psprintf(p, "payload-%u", n);
    e.len = strlen(e.data);
    return e;
}

static apr_status_t put(oas_store_t *s, unsigned n, int kind, long long exp, int fam)
{
    unsigned char k[32];
    oas_entry_t e = entry(kind, exp, fam, n, pool);

    key_of(k, n);
    return s->put(s, k, &e, pool);
}

/* APR_SUCCESS and the payload/kind checked, or the status */
static apr_status_t get(oas_store_t *s, unsigned n, int kind)
{
    unsigned char k[32];
    oas_entry_t e;
    apr_status_t rv;
    char want[32];

    key_of(k, n);
    rv = s->get(s, k, &e, pool);
    if (rv == APR_SUCCESS) {
        snprintf(want, sizeof(want), "payload-%u", n);
        ck_assert_int_eq(e.kind, kind);
        ck_assert_uint_eq(e.len, strlen(want));
        ck_assert(memcmp(e.data, want, e.len) == 0);
    }
    return rv;
}

static apr_status_t del(oas_store_t *s, unsigned n)
{
    unsigned char k[32];

    key_of(k, n);
    return s->remove(s, k, pool);
}

static oas_store_stats_t stats(oas_store_t *s)
{
    oas_store_stats_t st;

    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    return st;
}

static long mem_total(const oas_store_stats_t *st)
{
    long n = 0;
    int k;

    for (k = 0; k < OAS_KIND_MAX; k++) {
        n += st->mem_entries[k];
    }
    return n;
}

/* the SDBM file (base path) of key's shard: picked by byte 8 of the key */
#define SHARDS OAS_STORE_SHARDS
static const char *shard_path(const unsigned char *key, apr_pool_t *p)
{
    return apr_psprintf(p, "%s.%d", base, key[8] % SHARDS);
}

/* 1 if key n has a record in its SDBM file (read with a separate handle) */
static int on_disk(unsigned n)
{
    apr_sdbm_t *db;
    apr_sdbm_datum_t k, v;
    unsigned char key[32];
    apr_pool_t *p;
    int found;

    apr_pool_create(&p, pool);
    key_of(key, n);
    ck_assert_int_eq(apr_sdbm_open(&db, shard_path(key, p), APR_FOPEN_READ
                                   | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p), APR_SUCCESS);
    k.dptr = (char *)key;
    k.dsize = 32;
    v.dptr = NULL;
    ck_assert_int_eq(apr_sdbm_fetch(db, &v, k), APR_SUCCESS);
    found = v.dptr != NULL;
    apr_sdbm_close(db);
    apr_pool_destroy(p);
    return found;
}

/* number of SDBM keys in every shard: records (only) or all (second parts
 * of long records too) */
static int count_keys(int records_only)
{
    apr_sdbm_t *db;
    apr_sdbm_datum_t k;
    apr_pool_t *p;
    apr_status_t rv;
    int n = 0, i;

    apr_pool_create(&p, pool);
    for (i = 0; i < SHARDS; i++) {
        ck_assert_int_eq(apr_sdbm_open(&db, apr_psprintf(p, "%s.%d", base, i), APR_FOPEN_READ
                                       | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p), APR_SUCCESS);
        apr_sdbm_lock(db, APR_FLOCK_SHARED);
        for (rv = apr_sdbm_firstkey(db, &k); rv == APR_SUCCESS && k.dptr;
             rv = apr_sdbm_nextkey(db, &k)) {
            n += !records_only || k.dsize == 32;
        }
        apr_sdbm_unlock(db);
        apr_sdbm_close(db);
    }
    apr_pool_destroy(p);
    return n;
}

/* number of records in the SDBM files (second parts of long ones not counted) */
static int disk_records(void)
{
    return count_keys(1);
}

/* number of SDBM keys, second parts included */
static int disk_keys(void)
{
    return count_keys(0);
}

static int wait_child(pid_t pid)
{
    int st = 0;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* --------------------------------------------------------------- basics */

START_TEST(test_kinds)
{
    oas_store_t *s = mk_store(16, 64);
    long long exp = now_sec() + 100;
    int k;

    for (k = OAS_KIND_CODE; k < OAS_KIND_MAX; k++) {
        ck_assert_int_eq(put(s, k, k, exp, k), APR_SUCCESS);
    }
    for (k = OAS_KIND_CODE; k < OAS_KIND_MAX; k++) {
        unsigned char key[32], fam[OAS_FAMILY_LEN];
        oas_entry_t e;

        key_of(key, k);
        memset(fam, k, sizeof(fam));
        ck_assert_int_eq(s->get(s, key, &e, pool), APR_SUCCESS);
        ck_assert_int_eq(e.kind, k);
        ck_assert(e.exp == exp);
        ck_assert(memcmp(e.family, fam, sizeof(fam)) == 0);
        ck_assert_int_eq(del(s, k), APR_SUCCESS);
        ck_assert_int_eq(get(s, k, k), APR_NOTFOUND);
        ck_assert_int_eq(del(s, k), APR_NOTFOUND);
    }
    {
        oas_store_stats_t st = stats(s);
        ck_assert_int_eq(mem_total(&st), 0);
        ck_assert_int_eq(st.disk_entries, 0);
    }
}
END_TEST

START_TEST(test_replace)
{
    oas_store_t *s = mk_store(16, 64);
    long long exp = now_sec() + 100;
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_ACCESS, exp, 0, 7, pool), got;

    key_of(k, 1);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    e.kind = OAS_KIND_REFRESH;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_REFRESH);
    ck_assert_int_eq(stats(s).disk_entries, 1);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 0);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_REFRESH], 1);
    /* durable -> volatile: the disk record goes */
    e.kind = OAS_KIND_USED_CODE;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(stats(s).disk_entries, 0);
    ck_assert(!on_disk(1));
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_USED_CODE);
    /* volatile -> durable */
    e.kind = OAS_KIND_ACCESS;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert(on_disk(1));
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_USED_CODE], 0);
    ck_assert_int_eq(stats(s).disk_entries, 1);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_ACCESS);
}
END_TEST

START_TEST(test_invalid)
{
    oas_store_t *s = mk_store(4, 8);
    unsigned char k[32];
    char big[OAS_ENTRY_MAX + 1];
    oas_entry_t e = entry(OAS_KIND_ACCESS, 0, 0, 1, pool);

    key_of(k, 1);
    memset(big, 'x', sizeof(big));
    e.data = big;
    e.len = OAS_ENTRY_MAX + 1;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_EINVAL);
    e.len = OAS_ENTRY_MAX;                        /* the largest payload fits SDBM */
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert(on_disk(1));
    e.kind = OAS_KIND_NONE;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_EINVAL);
    e.kind = OAS_KIND_MAX;
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_EINVAL);
    {
        unsigned char zero[OAS_FAMILY_LEN] = { 0 };
        int n = -1;
        ck_assert_int_eq(s->remove_family(s, zero, &n, pool), APR_EINVAL);
        ck_assert_int_eq(n, 0);
    }
}
END_TEST

START_TEST(test_expired_invisible)
{
    oas_store_t *s = mk_store(16, 64);
    long long past = now_sec() - 5;
    unsigned char k[32];
    oas_entry_t e;

    ck_assert_int_eq(put(s, 1, OAS_KIND_CODE, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 2, OAS_KIND_ACCESS, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 3, OAS_KIND_REFRESH, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 4, OAS_KIND_ACCESS, 0, 0), APR_SUCCESS);   /* never expires */
    ck_assert_int_eq(get(s, 1, OAS_KIND_CODE), APR_NOTFOUND);
    ck_assert_int_eq(get(s, 2, OAS_KIND_ACCESS), APR_NOTFOUND);
    key_of(k, 3);
    ck_assert_int_eq(s->consume(s, k, &e, NULL, pool), APR_NOTFOUND);
    ck_assert_int_eq(get(s, 4, OAS_KIND_ACCESS), APR_SUCCESS);
}
END_TEST

/* ------------------------------------------------------- purge and disk */

START_TEST(test_purge)
{
    oas_store_t *s = mk_store(4, 64);       /* small memory: some durable only on disk */
    long long past = now_sec() - 5, future = now_sec() + 100;
    oas_store_stats_t st;
    long before;
    unsigned i;
    int n = -1;

    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(put(s, 100 + i, OAS_KIND_CODE, past, 0), APR_SUCCESS);
    }
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(put(s, 200 + i, OAS_KIND_ACCESS, past, 0), APR_SUCCESS);
        ck_assert_int_eq(put(s, 300 + i, OAS_KIND_REFRESH, future, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 400, OAS_KIND_CODE, future, 0), APR_SUCCESS);
    /* the clock hand may have dropped some expired ones already */
    st = stats(s);
    before = st.purged;
    ck_assert_int_eq(disk_records(), st.disk_entries);
    ck_assert_int_ge(st.disk_entries, 10);
    ck_assert_int_le(st.disk_entries, 20);
    ck_assert_int_eq(s->purge(s, &n, pool), APR_SUCCESS);
    st = stats(s);
    ck_assert_int_eq(n, 12 - before);
    /* every expired one went, whether found in memory or on disk */
    ck_assert_int_eq(disk_records(), 10);
    ck_assert_int_eq(st.disk_entries, 10);
    for (i = 0; i < 10; i++) {
        ck_assert(!on_disk(200 + i));
        ck_assert(on_disk(300 + i));
        ck_assert_int_eq(get(s, 300 + i, OAS_KIND_REFRESH), APR_SUCCESS);
    }
    ck_assert_int_eq(get(s, 400, OAS_KIND_CODE), APR_SUCCESS);
    ck_assert_int_eq(st.purged, 12);
    ck_assert_int_eq(s->purge(s, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_purge_count)
{
    oas_store_t *s = mk_store(64, 64);      /* big memory: nothing purged inline */
    long long past = now_sec() - 5;
    unsigned i;
    int n = -1;

    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(put(s, 100 + i, OAS_KIND_USED_CODE, past, 0), APR_SUCCESS);
        ck_assert_int_eq(put(s, 200 + i, OAS_KIND_USED_REFRESH, past, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 300, OAS_KIND_ACCESS, 0, 0), APR_SUCCESS);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_USED_CODE], 5);
    ck_assert_int_eq(s->purge(s, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 10);
    ck_assert_int_eq(stats(s).purged, 10);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_USED_CODE], 0);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_USED_REFRESH], 0);
    ck_assert_int_eq(stats(s).disk_entries, 1);
    ck_assert_int_eq(disk_records(), 1);
}
END_TEST

START_TEST(test_volatile_not_on_disk)
{
    oas_store_t *s = mk_store(16, 64);
    long long exp = now_sec() + 100;

    ck_assert_int_eq(put(s, 1, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 2, OAS_KIND_USED_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 3, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 4, OAS_KIND_REFRESH, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 5, OAS_KIND_USED_REFRESH, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 6, OAS_KIND_FAMILY_REVOKED, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 7, OAS_KIND_CSRF, exp, 0), APR_SUCCESS);
    ck_assert(!on_disk(7));
    ck_assert(!on_disk(1));
    ck_assert(!on_disk(2));
    ck_assert(on_disk(3));
    ck_assert(on_disk(4));
    ck_assert(on_disk(5));
    ck_assert(on_disk(6));
    ck_assert_int_eq(disk_records(), 4);
    ck_assert_int_eq(stats(s).disk_entries, 4);
}
END_TEST

/* the child creates its own store, writes, and dies without any cleanup */
START_TEST(test_durability_crash)
{
    long long exp = now_sec() + 100;
    oas_store_t *s;
    pid_t pid;
    unsigned i;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        apr_pool_create(&cp, pool);
        s = mk_store_on(base, 32, 64, cp);
        for (i = 0; i < 20; i++) {
            if (put(s, i, OAS_KIND_ACCESS, exp, 0) != APR_SUCCESS
                || put(s, 100 + i, i < 8 ? OAS_KIND_CODE : OAS_KIND_USED_CODE, exp, 0)
                   != APR_SUCCESS) {
                _exit(1);
            }
        }
        _exit(0);                               /* like kill -9: nothing closed */
    }
    ck_assert_int_eq(wait_child(pid), 0);
    s = mk_store(8, 64);                        /* fresh shm, same file */
    ck_assert_int_eq(stats(s).disk_entries, 20);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), APR_SUCCESS);
    }
    for (i = 0; i < 16; i++) {
        ck_assert_int_eq(get(s, 100 + i, OAS_KIND_CODE), APR_NOTFOUND);
    }
}
END_TEST

/* a process killed while it held the lock and was changing the memory table
 * (issue 5 item 2): the next holder finds seq odd, empties the table; durable
 * entries come back from disk, volatile ones are gone, nothing torn is read,
 * the store goes on working, and the mutex was not left held */
static void die_in_write_case(apr_lockmech_e mech)
{
    long long exp = now_sec() + 100;
    apr_global_mutex_t *m = NULL;
    const char *lockfile = apr_pstrcat(pool, tmpdir, "/lock", NULL);
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;
    pid_t pid;
    unsigned i;
    int st = 0;

    ck_assert_int_eq(apr_global_mutex_create(&m, lockfile, mech, pool), APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = 64;
    c.disk_entries = 64;
    c.mutex = m;
    c.mutex_file = lockfile;
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
        ck_assert_int_eq(put(s, 100 + i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (s->child_init(s, pool) != APR_SUCCESS
            || oas_store_default_die_in_write(s) != APR_SUCCESS) {
            _exit(1);
        }
        kill(getpid(), SIGKILL);                /* dies holding the lock, seq odd */
        _exit(2);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    for (i = 0; i < 20; i++) {                  /* the lock is free again */
        ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), APR_SUCCESS);
        ck_assert_int_eq(get(s, 100 + i, OAS_KIND_CODE), APR_NOTFOUND);
    }
    ck_assert_int_eq(stats(s).disk_entries, 20);
    ck_assert_int_eq(stats(s).recovered, 1);
    ck_assert_int_eq(put(s, 500, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(get(s, 500, OAS_KIND_CODE), APR_SUCCESS);
    ck_assert_int_eq(put(s, 501, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(get(s, 501, OAS_KIND_ACCESS), APR_SUCCESS);
}

START_TEST(test_die_in_write_flock)
{
    die_in_write_case(APR_LOCK_FLOCK);
}
END_TEST

START_TEST(test_die_in_write_pthread)
{
    die_in_write_case(APR_LOCK_PROC_PTHREAD);
}
END_TEST

/* a store kept by one process and used by another: parent's store object,
 * child's writes, the parent's fresh store sees them */
START_TEST(test_durability_shared)
{
    oas_store_t *s = mk_store(4, 64);
    long long exp = now_sec() + 100;
    pid_t pid;
    unsigned i;

    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (i = 0; i < 10; i++) {
            if (put(s, i, OAS_KIND_REFRESH, exp, 0) != APR_SUCCESS) {
                _exit(1);
            }
        }
        _exit(0);
    }
    ck_assert_int_eq(wait_child(pid), 0);
    {
        apr_pool_t *p2;
        oas_store_t *s2;
        apr_pool_create(&p2, pool);
        s2 = mk_store_on(base, 4, 64, p2);
        for (i = 0; i < 10; i++) {
            ck_assert_int_eq(get(s2, i, OAS_KIND_REFRESH), APR_SUCCESS);
        }
    }
}
END_TEST

/* the largest records, one per SDBM page: children split pages and the
 * directory while the others read them */
static apr_status_t put_big(oas_store_t *s, unsigned n)
{
    unsigned char k[32], buf[OAS_ENTRY_MAX];
    oas_entry_t e = entry(OAS_KIND_REFRESH, 0, 0, n, pool);

    memset(buf, (int)(n & 0xff), sizeof(buf));
    e.data = buf;
    e.len = sizeof(buf) - (n % 50);
    key_of(k, n);
    return s->put(s, k, &e, pool);
}

/* 1: found and intact, -1: not found, 0: wrong */
static int get_big(oas_store_t *s, unsigned n)
{
    unsigned char k[32];
    oas_entry_t e;
    apr_status_t rv;
    apr_size_t i;

    key_of(k, n);
    if ((rv = s->get(s, k, &e, pool)) != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? -1 : 0;
    }
    if (e.len != OAS_ENTRY_MAX - (n % 50)) {
        return 0;
    }
    for (i = 0; i < e.len; i++) {
        if (((const unsigned char *)e.data)[i] != (n & 0xff)) {
            return 0;
        }
    }
    return 1;
}

/* key's shard file, opened for writing with a separate handle */
static void open_rw(apr_sdbm_t **db, const unsigned char *key, apr_pool_t *p)
{
    ck_assert_int_eq(apr_sdbm_open(db, shard_path(key, p), APR_FOPEN_READ | APR_FOPEN_WRITE
                                   | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p), APR_SUCCESS);
}

/* a store of before the shards (one SDBM file at base) with garbage: it is
 * migrated, and the start-up scan drops what is malformed */
START_TEST(test_corrupt_record)
{
    apr_sdbm_t *db;
    apr_sdbm_datum_t k, v;
    unsigned char key[32];
    oas_store_t *s;
    apr_pool_t *p;

    apr_pool_create(&p, pool);
    ck_assert_int_eq(apr_sdbm_open(&db, base, APR_FOPEN_READ | APR_FOPEN_WRITE
                                   | APR_FOPEN_CREATE | APR_FOPEN_SHARELOCK,
                                   APR_FPROT_UREAD | APR_FPROT_UWRITE, p), APR_SUCCESS);
    key_of(key, 1);
    k.dptr = (char *)key;
    k.dsize = 32;
    v.dptr = "garbage";
    v.dsize = 7;
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    k.dptr = "short";
    k.dsize = 5;
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    apr_sdbm_close(db);
    apr_pool_destroy(p);
    /* a long record whose second part is lost, and an orphan second part */
    s = mk_store(4, 8);
    ck_assert_int_eq(put_big(s, 2), APR_SUCCESS);
    ck_assert_int_eq(put_big(s, 3), APR_SUCCESS);
    ck_assert_int_eq(put_big(s, 4), APR_SUCCESS);
    apr_pool_create(&p, pool);
    {
        unsigned char ck[33];
        key_of(ck, 2);
        ck[32] = 'c';
        k.dptr = (char *)ck;
        k.dsize = 33;
        open_rw(&db, ck, p);
        ck_assert_int_eq(apr_sdbm_delete(db, k), APR_SUCCESS);
        apr_sdbm_close(db);
        key_of(ck, 4);                      /* same length, other bytes: the sum says no */
        ck[32] = 'c';
        open_rw(&db, ck, p);
        v.dptr = NULL;
        ck_assert_int_eq(apr_sdbm_fetch(db, &v, k), APR_SUCCESS);
        ck_assert_ptr_nonnull(v.dptr);
        {
            char copy[512];
            memcpy(copy, v.dptr, (size_t)v.dsize);
            copy[v.dsize - 1] ^= 1;
            v.dptr = copy;
            ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
        }
        apr_sdbm_close(db);
        key_of(key, 3);
        k.dptr = (char *)key;
        k.dsize = 32;
        open_rw(&db, key, p);
        ck_assert_int_eq(apr_sdbm_delete(db, k), APR_SUCCESS);
        apr_sdbm_close(db);
    }
    apr_pool_destroy(p);
    apr_pool_create(&p, pool);
    s = mk_store_on(base, 4, 8, p);
    ck_assert_int_eq(stats(s).disk_entries, 0);
    ck_assert_int_eq(disk_records(), 0);
    ck_assert_int_eq(disk_keys(), 0);
    ck_assert_int_eq(get(s, 1, OAS_KIND_ACCESS), APR_NOTFOUND);
    ck_assert_int_eq(get_big(s, 2), -1);
    ck_assert_int_eq(get_big(s, 3), -1);
    ck_assert_int_eq(get_big(s, 4), -1);
}
END_TEST

static char logged[1024];

static void log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                   const char *msg)
{
    if (level <= OAS_LOG_WARNING) {
        snprintf(logged, sizeof(logged), "%s", msg);
    }
}

START_TEST(test_create_errors)
{
    oas_logger_t lg = { log_cb, NULL, OAS_LOG_DEBUG };
    oas_store_default_conf_t c;
    oas_store_t *s = (oas_store_t *)1;

    memset(&c, 0, sizeof(c));
    c.path = "/nonexistent-dir-oas/tokens";
    c.mem_entries = 4;
    c.disk_entries = 8;
    c.mutex = mutex;
    c.log = &lg;
    logged[0] = '\0';
    ck_assert_int_ne(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(logged, "/nonexistent-dir-oas/tokens.0.dir"));
    c.path = base;
    c.mem_entries = 0;
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_EINVAL);
    c.mem_entries = 4;
    c.mutex = NULL;
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_EINVAL);
}
END_TEST

START_TEST(test_same)
{
    oas_store_t *s = mk_store(4, 8);
    oas_store_default_conf_t c;

    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = 4;
    c.disk_entries = 8;
    ck_assert_int_eq(oas_store_default_same(s, &c), 1);
    c.disk_entries = 9;
    ck_assert_int_eq(oas_store_default_same(s, &c), 0);
    c.disk_entries = 8;
    c.mem_entries = 5;
    ck_assert_int_eq(oas_store_default_same(s, &c), 0);
    c.mem_entries = 4;
    c.path = "/tmp/other";
    ck_assert_int_eq(oas_store_default_same(s, &c), 0);
    ck_assert_str_eq(s->name, "default");
}
END_TEST

/* ------------------------------------------------------------ capacity */

START_TEST(test_capacity_disk)
{
    oas_store_t *s = mk_store(4, 8);
    long long exp = now_sec() + 100;
    unsigned i;

    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(put(s, i, i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH, exp, 0),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 8, OAS_KIND_ACCESS, exp, 0), APR_ENOSPC);
    ck_assert_int_eq(put(s, 9, OAS_KIND_USED_REFRESH, exp, 0), APR_ENOSPC);
    ck_assert_int_eq(stats(s).full, 2);
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(get(s, i, i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH), APR_SUCCESS);
    }
    ck_assert_int_eq(get(s, 8, OAS_KIND_ACCESS), APR_NOTFOUND);
    /* replacing an existing key never fails for capacity */
    ck_assert_int_eq(put(s, 3, OAS_KIND_ACCESS, exp + 1, 0), APR_SUCCESS);
    /* volatile entries do not need the disk */
    ck_assert_int_eq(put(s, 50, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(del(s, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 8, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(stats(s).disk_entries, 8);
    ck_assert_int_eq(disk_records(), 8);
}
END_TEST

/* put_many (issue 18 item 3): the entries through to disk under one hold of
 * the lock; the marker's look after them takes them back; so does a store
 * too full for the second, and nothing half-written stays. */
START_TEST(test_put_many)
{
    oas_store_t *s = mk_store(4, 3);
    long long exp = now_sec() + 100;
    unsigned char k1[32], k2[32], fk[32];
    oas_entry_t a = entry(OAS_KIND_ACCESS, exp, 5, 1, pool);
    oas_entry_t r = entry(OAS_KIND_REFRESH, exp, 5, 2, pool);
    oas_store_write_t w[2] = { { k1, &a }, { k2, &r } };

    key_of(k1, 1);
    key_of(k2, 2);
    key_of(fk, 9);
    ck_assert_int_eq(oas_store_put_many(s, w, 2, fk, pool), APR_SUCCESS);
    ck_assert_int_eq(get(s, 1, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(get(s, 2, OAS_KIND_REFRESH), APR_SUCCESS);
    ck_assert(on_disk(1) && on_disk(2));
    ck_assert_int_eq(del(s, 1), APR_SUCCESS);
    ck_assert_int_eq(del(s, 2), APR_SUCCESS);
    ck_assert_int_eq(put(s, 9, OAS_KIND_FAMILY_REVOKED, exp, 5), APR_SUCCESS);
    ck_assert_int_eq(oas_store_put_many(s, w, 2, fk, pool), APR_EACCES);
    ck_assert_int_eq(get(s, 1, OAS_KIND_ACCESS), APR_NOTFOUND);
    ck_assert_int_eq(get(s, 2, OAS_KIND_REFRESH), APR_NOTFOUND);
    ck_assert(!on_disk(1) && !on_disk(2));
    ck_assert_int_eq(stats(s).disk_entries, 1);
    ck_assert_int_eq(put(s, 7, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);   /* 2 of 3 used */
    ck_assert_int_eq(oas_store_put_many(s, w, 2, NULL, pool), APR_ENOSPC);
    ck_assert_int_eq(get(s, 1, OAS_KIND_ACCESS), APR_NOTFOUND);
    ck_assert_int_eq(stats(s).disk_entries, 2);
    ck_assert_int_eq(disk_records(), 2);
    ck_assert_int_eq(oas_store_put_many(s, w, 0, NULL, pool), APR_EINVAL);
    ck_assert_int_eq(oas_store_put_many(s, w, OAS_STORE_BATCH_MAX + 1, NULL, pool), APR_EINVAL);
}
END_TEST

START_TEST(test_capacity_disk_expired)
{
    oas_store_t *s = mk_store(4, 8);
    long long exp = now_sec() + 100, past = now_sec() - 5;
    unsigned i;

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 6, OAS_KIND_ACCESS, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 7, OAS_KIND_REFRESH, past, 0), APR_SUCCESS);
    /* full of records, two of them expired: they make room */
    ck_assert_int_eq(put(s, 8, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 9, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 10, OAS_KIND_ACCESS, exp, 0), APR_ENOSPC);
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), APR_SUCCESS);
    }
    ck_assert_int_eq(get(s, 8, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(get(s, 9, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(stats(s).purged, 2);
    ck_assert_int_eq(stats(s).full, 1);
}
END_TEST

static apr_status_t add(oas_store_t *s, unsigned n, int kind, long long exp)
{
    unsigned char k[32];
    oas_entry_t e = entry(kind, exp, 0, n, pool);

    key_of(k, n);
    return s->add(s, k, &e, pool);
}

static apr_status_t fail_count(oas_store_t *s, unsigned n, long long exp)
{
    unsigned char k[32];
    long c = 0;

    key_of(k, n);
    return s->count(s, k, 1, exp, &c, NULL, pool);
}

/* add: only where there is no live entry, in either tier */
START_TEST(test_add)
{
    oas_store_t *s = mk_store(8, 16);
    long long exp = now_sec() + 100, past = now_sec() - 5;
    unsigned i;

    ck_assert_int_eq(add(s, 1, OAS_KIND_CSRF, exp), APR_SUCCESS);
    ck_assert_int_eq(add(s, 1, OAS_KIND_CSRF, exp + 5), APR_EEXIST);
    ck_assert_int_eq(get(s, 1, OAS_KIND_CSRF), APR_SUCCESS);
    ck_assert_int_eq(put(s, 2, OAS_KIND_CSRF, past, 0), APR_SUCCESS);
    ck_assert_int_eq(add(s, 2, OAS_KIND_CSRF, exp), APR_SUCCESS);       /* expired: none */
    ck_assert_int_eq(put(s, 3, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(add(s, 3, OAS_KIND_CSRF, exp), APR_EEXIST);        /* durable one */
    ck_assert_int_eq(get(s, 3, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CSRF], 2);
    for (i = 4; i < 9; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(fail_count(s, 9, exp), APR_SUCCESS);
    ck_assert_int_eq(put(s, 10, OAS_KIND_CODE, exp, 0), APR_SUCCESS);    /* 2 nonces went */
    ck_assert_int_eq(put(s, 11, OAS_KIND_CODE, exp, 0), APR_SUCCESS);    /* the cached token */
    ck_assert_int_eq(add(s, 12, OAS_KIND_CSRF, exp), APR_ENOSPC);        /* nothing may go */
}
END_TEST

/* Nonces of posted approval forms (anyone signed in makes them) hold at
 * most a quarter of the memory tier, and are the first to go: codes,
 * tombstones and failure counters take their place; a nonce takes the
 * place of no counter or code, nor of a cached token beyond its share. */
START_TEST(test_capacity_csrf_first)
{
    oas_store_t *s = mk_store(8, 16);
    long long exp = now_sec() + 100;
    unsigned i;

    for (i = 0; i < 8; i++) {       /* a flood: they replace each other */
        ck_assert_int_eq(put(s, 10 + i, OAS_KIND_CSRF, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CSRF], 2);
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(put(s, 30 + i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 6);        /* full */
    ck_assert_int_eq(put(s, 20, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(fail_count(s, 21, exp), APR_SUCCESS);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CSRF], 0);          /* nonces went first */
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 6);
    for (i = 0; i < 3; i++) {       /* up to their share in cached tokens' places */
        ck_assert_int_eq(put(s, 40 + i, OAS_KIND_CSRF, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CSRF], 2);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 4);
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(put(s, 22 + i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 27, OAS_KIND_USED_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CSRF], 0);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 0);
    /* full of codes, tombstones and a counter: no room for a nonce */
    ck_assert_int_eq(put(s, 50, OAS_KIND_CSRF, exp, 0), APR_ENOSPC);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_AUTH_FAILURES], 1);
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(get(s, i ? 21 + i : 20, OAS_KIND_CODE), APR_SUCCESS);
        ck_assert_int_eq(get(s, 30 + i, OAS_KIND_ACCESS), APR_SUCCESS);   /* from disk */
    }
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_AUTH_FAILURES], 1);
}
END_TEST

START_TEST(test_capacity_mem)
{
    oas_store_t *s = mk_store(4, 8);
    long long exp = now_sec() + 100, past = now_sec() - 5;
    unsigned i;

    /* two cached durable entries, then volatile ones push them out */
    ck_assert_int_eq(put(s, 1, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 2, OAS_KIND_REFRESH, exp, 0), APR_SUCCESS);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(put(s, 10 + i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 14, OAS_KIND_CODE, exp, 0), APR_ENOSPC);
    ck_assert_int_eq(put(s, 15, OAS_KIND_USED_CODE, exp, 0), APR_ENOSPC);
    ck_assert_int_eq(stats(s).full, 2);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CODE], 4);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_ACCESS], 0);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(get(s, 10 + i, OAS_KIND_CODE), APR_SUCCESS);
    }
    /* durable ones still work: from disk, without a memory slot */
    ck_assert_int_eq(get(s, 1, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(get(s, 2, OAS_KIND_REFRESH), APR_SUCCESS);
    ck_assert_int_eq(put(s, 3, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(get(s, 3, OAS_KIND_ACCESS), APR_SUCCESS);
    /* replacing a volatile entry needs no room */
    ck_assert_int_eq(put(s, 11, OAS_KIND_USED_CODE, exp, 0), APR_SUCCESS);
    /* an expired code makes room */
    ck_assert_int_eq(put(s, 12, OAS_KIND_CODE, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 14, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(get(s, 14, OAS_KIND_CODE), APR_SUCCESS);
    ck_assert_int_eq(get(s, 12, OAS_KIND_CODE), APR_NOTFOUND);
}
END_TEST

START_TEST(test_eviction)
{
    oas_store_t *s = mk_store(4, 200);
    long long exp = now_sec() + 1000;
    oas_store_stats_t st;
    unsigned i, round;

    for (i = 0; i < 150; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 150; i++) {
            ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), APR_SUCCESS);
        }
    }
    st = stats(s);
    ck_assert_int_le(mem_total(&st), 4);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_ACCESS], 4);
    ck_assert_int_eq(st.disk_entries, 150);
    ck_assert_int_eq(st.full, 0);
    for (i = 0; i < 150; i += 2) {
        ck_assert_int_eq(del(s, i), APR_SUCCESS);
    }
    for (i = 0; i < 150; i++) {
        ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), i % 2 ? APR_SUCCESS : APR_NOTFOUND);
    }
    ck_assert_int_eq(stats(s).disk_entries, 75);
}
END_TEST

/* many keys through a table that stays full: probing and backward shift */
START_TEST(test_table_churn)
{
    oas_store_t *s = mk_store(64, 16);
    long long exp = now_sec() + 100;
    unsigned i, j;

    for (i = 0; i < 64; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    /* a sliding window: the oldest key goes, a new one comes */
    for (j = 0; j < 3000; j++) {
        ck_assert_int_eq(del(s, j), APR_SUCCESS);
        ck_assert_int_eq(put(s, 64 + j, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
        ck_assert_int_eq(get(s, j + 1 + (j * 7) % 64, OAS_KIND_CODE), APR_SUCCESS);
    }
    for (i = 3000; i < 3064; i++) {
        ck_assert_int_eq(get(s, i, OAS_KIND_CODE), APR_SUCCESS);
    }
    ck_assert_int_eq(get(s, 2999, OAS_KIND_CODE), APR_NOTFOUND);
    ck_assert_int_eq(stats(s).mem_entries[OAS_KIND_CODE], 64);
}
END_TEST

/* a graceful restart with new settings: children of the old generation
 * (old shm, old mutex) and of the new one share the file for a while */
START_TEST(test_two_generations)
{
    oas_store_t *old = mk_store(8, 64), *cur;
    apr_global_mutex_t *m2;
    long long exp = now_sec() + 100;
    unsigned char k[32];
    oas_entry_t e;
    apr_pool_t *p2;

    ck_assert_int_eq(put(old, 1, OAS_KIND_REFRESH, exp, 0), APR_SUCCESS);   /* cached in old */
    ck_assert_int_eq(apr_global_mutex_create(&m2, NULL, APR_LOCK_DEFAULT, pool), APR_SUCCESS);
    mutex = m2;
    apr_pool_create(&p2, pool);
    cur = mk_store_on(base, 4, 64, p2);
    /* the new generation takes the token; the old one's cache must not win too */
    key_of(k, 1);
    ck_assert_int_eq(cur->consume(cur, k, &e, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(old->consume(old, k, &e, NULL, pool), APR_NOTFOUND);
    /* a token the old generation issues is found by the new one */
    ck_assert_int_eq(del(cur, 2), APR_NOTFOUND);
    ck_assert_int_eq(put(old, 2, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(get(cur, 2, OAS_KIND_ACCESS), APR_SUCCESS);
}
END_TEST

/* --------------------------------------------------------- cross-process */

START_TEST(test_cross_process)
{
    oas_store_t *s = mk_store(32, 100);
    long long exp = now_sec() + 100;
    pid_t pids[4];
    unsigned i;
    int c;

    ck_assert_int_eq(put(s, 1, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(put(s, 100 + i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    for (c = 0; c < 4; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            int bad = 0;
            if (c % 2 == 0 && s->child_init(s, pool) != APR_SUCCESS) {
                _exit(3);
            }
            bad |= get(s, 1, OAS_KIND_CODE) != APR_SUCCESS;
            for (i = 0; i < 20; i++) {
                bad |= get(s, 100 + i, OAS_KIND_ACCESS) != APR_SUCCESS;
            }
            for (i = 0; i < 10; i++) {
                bad |= put(s, 1000 + c * 100 + i, i % 2 ? OAS_KIND_CODE : OAS_KIND_REFRESH,
                           exp, 0) != APR_SUCCESS;
            }
            _exit(bad);
        }
    }
    for (c = 0; c < 4; c++) {
        ck_assert_int_eq(wait_child(pids[c]), 0);
    }
    for (c = 0; c < 4; c++) {
        for (i = 0; i < 10; i++) {
            ck_assert_int_eq(get(s, 1000 + c * 100 + i, i % 2 ? OAS_KIND_CODE : OAS_KIND_REFRESH),
                             APR_SUCCESS);
        }
    }
    ck_assert_int_eq(stats(s).disk_entries, 20 + 4 * 5);
    ck_assert_int_eq(disk_records(), 40);
}
END_TEST

/* children alternate writes on the disk tier with a tiny memory tier, so
 * each must see pages the others rewrote (SDBM cache invalidation) */
START_TEST(test_cross_process_disk)
{
    oas_store_t *s = mk_store(1, 400);
    long long exp = now_sec() + 100;
    pid_t pids[4];
    unsigned i;
    int c;

    for (c = 0; c < 4; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            int bad = 0;
            s->child_init(s, pool);
            for (i = 0; i < 60; i++) {
                bad |= put(s, c * 1000 + i, OAS_KIND_ACCESS, exp, 0) != APR_SUCCESS;
                bad |= get(s, c * 1000 + i, OAS_KIND_ACCESS) != APR_SUCCESS;
                if (i >= 10) {
                    bad |= del(s, c * 1000 + i - 10) != APR_SUCCESS;
                }
            }
            _exit(bad);
        }
    }
    for (c = 0; c < 4; c++) {
        ck_assert_int_eq(wait_child(pids[c]), 0);
    }
    for (c = 0; c < 4; c++) {
        for (i = 0; i < 60; i++) {
            ck_assert_int_eq(get(s, c * 1000 + i, OAS_KIND_ACCESS),
                             i >= 50 ? APR_SUCCESS : APR_NOTFOUND);
        }
    }
    ck_assert_int_eq(stats(s).disk_entries, 40);
    ck_assert_int_eq(disk_records(), 40);
}
END_TEST

/* thousands of the longest records: SDBM alone cannot split such pairs
 * apart when their hashes agree in the bits it tries */
START_TEST(test_big_records)
{
    oas_store_t *s = mk_store(8, 5000);
    unsigned char k[32];
    oas_entry_t e = entry(OAS_KIND_ACCESS, 0, 0, 7, pool);
    unsigned i;

    for (i = 0; i < 3000; i++) {
        ck_assert_int_eq(put_big(s, i), APR_SUCCESS);
    }
    for (i = 0; i < 3000; i++) {
        ck_assert_int_eq(get_big(s, i), 1);
    }
    ck_assert_int_eq(disk_records(), 3000);
    /* a long record turned short, and removed: no second part left behind */
    key_of(k, 7);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    for (i = 0; i < 3000; i += 2) {
        ck_assert_int_eq(del(s, i), APR_SUCCESS);
    }
    ck_assert_int_eq(disk_keys(), 1500 + 1499);   /* 1500 records, all but #7 long */
    ck_assert_int_eq(stats(s).disk_entries, 1500);
    /* purge and a new store's scan keep the second parts of live records */
    ck_assert_int_eq(s->purge(s, NULL, pool), APR_SUCCESS);
    {
        apr_pool_t *p2;
        apr_pool_create(&p2, pool);
        s = mk_store_on(base, 8, 5000, p2);
    }
    ck_assert_int_eq(stats(s).disk_entries, 1500);
    ck_assert_int_eq(disk_keys(), 1500 + 1499);
    for (i = 1; i < 3000; i += 2) {
        ck_assert_int_eq(i == 7 ? get(s, 7, OAS_KIND_ACCESS) == APR_SUCCESS : get_big(s, i), 1);
    }
}
END_TEST

START_TEST(test_cross_process_big)
{
    oas_store_t *s = mk_store(2, 1000);
    pid_t pids[4];
    unsigned i;
    int c;

    for (c = 0; c < 4; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            int bad = 0;
            s->child_init(s, pool);
            for (i = 0; i < 100; i++) {
                bad |= put_big(s, c * 1000 + i) != APR_SUCCESS;
                bad |= get_big(s, ((c + 1) % 4) * 1000 + i) == 0;  /* maybe not yet */
                bad |= get_big(s, c * 1000 + i / 2) != 1;
            }
            _exit(bad);
        }
    }
    for (c = 0; c < 4; c++) {
        ck_assert_int_eq(wait_child(pids[c]), 0);
    }
    for (c = 0; c < 4; c++) {
        for (i = 0; i < 100; i++) {
            ck_assert_int_eq(get_big(s, c * 1000 + i), 1);
        }
    }
    ck_assert_int_eq(disk_records(), 400);
}
END_TEST

/* results of a consume race, as child exit codes */
enum { R_ORIGINAL = 0, R_NOTFOUND = 1, R_REPLACEMENT = 2, R_ERROR = 3 };

static int consume_child(oas_store_t *s, int rfd, int kind, const oas_entry_t *repl, int init)
{
    unsigned char k[32];
    oas_entry_t e;
    apr_status_t rv;
    char c;

    if (init && s->child_init(s, pool) != APR_SUCCESS) {
        return R_ERROR;
    }
    if (read(rfd, &c, 1) != 0) {               /* the parent closes: everybody goes */
        return R_ERROR;
    }
    key_of(k, 42);
    rv = s->consume(s, k, &e, repl, pool);
    if (rv == APR_NOTFOUND) {
        return R_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return R_ERROR;
    }
    if (e.kind == kind && e.len == 10 && memcmp(e.data, "payload-42", 10) == 0) {
        return R_ORIGINAL;
    }
    if (repl && e.kind == repl->kind && e.len == repl->len) {
        return R_REPLACEMENT;
    }
    return R_ERROR;
}

#define RACE_REPLACE   1     /* consume with a replacement */
#define RACE_ALL_INIT  2     /* every child calls child_init (else every other one) */
#define RACE_DISK_ONLY 4     /* push the key out of the memory tier first */

/* NCHILD processes released together consume key 42; exactly one wins */
static void race(oas_store_t *s, int kind, int flags)
{
    int with_repl = flags & RACE_REPLACE;
    oas_entry_t repl = entry(kind == OAS_KIND_CODE ? OAS_KIND_USED_CODE
                             : OAS_KIND_USED_REFRESH, now_sec() + 100, 0, 4242, pool);
    int fds[2], count[4] = { 0, 0, 0, 0 }, c;
    pid_t pids[NCHILD];

    ck_assert_int_eq(put(s, 42, kind, now_sec() + 100, 0), APR_SUCCESS);
    if (flags & RACE_DISK_ONLY) {       /* the one memory slot goes to 43, then 44 */
        ck_assert_int_eq(put(s, 43, kind, now_sec() + 100, 0), APR_SUCCESS);
        ck_assert_int_eq(put(s, 44, kind, now_sec() + 100, 0), APR_SUCCESS);
        ck_assert_int_eq(stats(s).mem_entries[kind], 1);
    }
    ck_assert_int_eq(pipe(fds), 0);
    for (c = 0; c < NCHILD; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            close(fds[1]);
            _exit(consume_child(s, fds[0], kind, with_repl ? &repl : NULL,
                                (flags & RACE_ALL_INIT) || c % 2));
        }
    }
    close(fds[0]);
    usleep(100 * 1000);                         /* let them all block in read() */
    close(fds[1]);
    for (c = 0; c < NCHILD; c++) {
        count[wait_child(pids[c])]++;
    }
    ck_assert_int_eq(count[R_ERROR], 0);
    ck_assert_int_eq(count[R_ORIGINAL], 1);
    if (with_repl) {
        ck_assert_int_eq(count[R_NOTFOUND], 0);
        ck_assert_int_eq(count[R_REPLACEMENT], NCHILD - 1);
        {
            unsigned char k[32];
            oas_entry_t e;
            key_of(k, 42);
            ck_assert_int_eq(s->get(s, k, &e, pool), APR_SUCCESS);
            ck_assert_int_eq(e.kind, repl.kind);
            ck_assert(e.len == repl.len && memcmp(e.data, repl.data, e.len) == 0);
        }
    }
    else {
        ck_assert_int_eq(count[R_NOTFOUND], NCHILD - 1);
        ck_assert_int_eq(get(s, 42, kind), APR_NOTFOUND);
    }
}

START_TEST(test_race_volatile)
{
    race(mk_store(8, 16), OAS_KIND_CODE, 0);
}
END_TEST

START_TEST(test_race_durable)
{
    race(mk_store(8, 16), OAS_KIND_REFRESH, 0);
}
END_TEST

START_TEST(test_race_durable_disk_only)
{
    race(mk_store(1, 16), OAS_KIND_ACCESS, RACE_DISK_ONLY);
}
END_TEST

START_TEST(test_race_replace_disk_only)
{
    race(mk_store(1, 16), OAS_KIND_REFRESH, RACE_DISK_ONLY | RACE_REPLACE);
}
END_TEST

START_TEST(test_race_replace_volatile)
{
    race(mk_store(8, 16), OAS_KIND_CODE, RACE_REPLACE);
}
END_TEST

START_TEST(test_race_replace_durable)
{
    race(mk_store(8, 16), OAS_KIND_REFRESH, RACE_REPLACE);
}
END_TEST

/* the same race with a file-based mutex that needs child_init (flock: the
 * lock file must be reopened in each child) */
START_TEST(test_race_flock)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;
    const char *lock = apr_pstrcat(pool, tmpdir, "/lock", NULL);

    ck_assert_int_eq(apr_global_mutex_create(&mutex, lock, APR_LOCK_FLOCK, pool), APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = 8;
    c.disk_entries = 16;
    c.mutex = mutex;
    c.mutex_file = lock;
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    race(s, OAS_KIND_REFRESH, RACE_REPLACE | RACE_ALL_INIT);
}
END_TEST

/* threads of one process: the global mutex is a thread mutex too */
typedef struct {
    oas_store_t *s;
    int result;
} thr_arg_t;

static void *APR_THREAD_FUNC thr_consume(apr_thread_t *t, void *data)
{
    thr_arg_t *a = data;
    unsigned char k[32];
    oas_entry_t e;
    apr_pool_t *p;

    apr_pool_create_unmanaged(&p);
    key_of(k, 42);
    a->result = a->s->consume(a->s, k, &e, NULL, p);
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(test_race_threads)
{
    oas_store_t *s = mk_store(8, 16);
    apr_thread_t *t[8];
    thr_arg_t a[8];
    apr_status_t trv;
    int i, wins = 0;

    ck_assert_int_eq(put(s, 42, OAS_KIND_REFRESH, now_sec() + 100, 0), APR_SUCCESS);
    for (i = 0; i < 8; i++) {
        a[i].s = s;
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, thr_consume, &a[i], pool), APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        apr_thread_join(&trv, t[i]);
        ck_assert(a[i].result == APR_SUCCESS || a[i].result == APR_NOTFOUND);
        wins += a[i].result == APR_SUCCESS;
    }
    ck_assert_int_eq(wins, 1);
}
END_TEST

/* -------------------------------------------- families, iterate, stats */

START_TEST(test_remove_family)
{
    oas_store_t *s = mk_store(4, 64);       /* some of the family only on disk */
    long long exp = now_sec() + 100, past = now_sec() - 5;
    unsigned char fam[OAS_FAMILY_LEN];
    unsigned i;
    int n = -1;

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(put(s, i, i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH, exp, 7),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 10, OAS_KIND_CODE, exp, 7), APR_SUCCESS);
    ck_assert_int_eq(put(s, 11, OAS_KIND_USED_REFRESH, past, 7), APR_SUCCESS);  /* expired */
    ck_assert_int_eq(put(s, 20, OAS_KIND_FAMILY_REVOKED, exp, 7), APR_SUCCESS);
    ck_assert_int_eq(put(s, 30, OAS_KIND_ACCESS, exp, 8), APR_SUCCESS);
    ck_assert_int_eq(put(s, 31, OAS_KIND_CODE, exp, 8), APR_SUCCESS);
    ck_assert_int_eq(put(s, 32, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    memset(fam, 7, sizeof(fam));
    ck_assert_int_eq(s->remove_family(s, fam, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 7);
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(get(s, i, i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH), APR_NOTFOUND);
        ck_assert(!on_disk(i));
    }
    ck_assert_int_eq(get(s, 10, OAS_KIND_CODE), APR_NOTFOUND);
    ck_assert(!on_disk(11));
    ck_assert_int_eq(get(s, 20, OAS_KIND_FAMILY_REVOKED), APR_SUCCESS);
    ck_assert_int_eq(get(s, 30, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(get(s, 31, OAS_KIND_CODE), APR_SUCCESS);
    ck_assert_int_eq(get(s, 32, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(stats(s).disk_entries, 3);
    ck_assert_int_eq(disk_records(), 3);
    ck_assert_int_eq(s->remove_family(s, fam, NULL, pool), APR_SUCCESS);
}
END_TEST

/* VmData of this process, KiB (APR's allocator maps its own memory: malloc
 * statistics do not see it) */
static long vm_data_kib(void)
{
    char line[128];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmData: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    ck_assert_int_ge(kib, 0);
    return kib;
}

/* A family revocation or a purge on a big file costs memory for what it
 * removes, not for the file (the soak found children growing with the store:
 * every key of the file used to be copied first, and an APR allocator keeps
 * what it once had). 20,000 records; the allocator's high-water mark may
 * not move by more than 256 KiB (copying every key took over 1.5 MiB). */
START_TEST(test_sweep_memory)
{
    oas_store_t *s = mk_store(16, 30000);
    long long exp = now_sec() + 100;
    unsigned char fam[OAS_FAMILY_LEN];
    long before, after;
    unsigned i;
    int n = -1;

    for (i = 0; i < 20000; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(put(s, 30000 + i, OAS_KIND_REFRESH, exp, 9), APR_SUCCESS);
    }
    memset(fam, 9, sizeof(fam));
    before = vm_data_kib();
    ck_assert_int_eq(s->remove_family(s, fam, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(s->purge(s, NULL, pool), APR_SUCCESS);
    after = vm_data_kib();
    ck_assert_int_eq(n, 3);
    ck_assert_msg(after < before + 256, "a sweep of 20000 records took %ld KiB",
                  after - before);
    ck_assert_int_eq(stats(s).disk_entries, 20000);
    ck_assert_int_eq(get(s, 19999, OAS_KIND_ACCESS), APR_SUCCESS);
    ck_assert_int_eq(get(s, 30000, OAS_KIND_REFRESH), APR_NOTFOUND);
}
END_TEST

typedef struct {
    int seen[64];
    int calls;
    int stop_after;
    oas_store_t *s;
} iter_ctx_t;

static int iter_cb(void *ctx, const unsigned char *key, const oas_entry_t *e)
{
    iter_ctx_t *c = ctx;
    unsigned char k[32];
    unsigned i;

    for (i = 0; i < 64; i++) {
        key_of(k, i);
        if (memcmp(k, key, 32) == 0) {
            c->seen[i]++;
            ck_assert_int_eq(e->len, strlen(apr_psprintf(pool, "payload-%u", i)));
        }
    }
    if (c->s) {                                 /* the callback may use the store */
        oas_store_stats_t st;
        ck_assert_int_eq(c->s->stats(c->s, &st), APR_SUCCESS);
    }
    return ++c->calls == c->stop_after;
}

START_TEST(test_iterate)
{
    oas_store_t *s = mk_store(4, 64);
    long long exp = now_sec() + 100, past = now_sec() - 5;
    iter_ctx_t ctx;
    unsigned i;

    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    for (i = 20; i < 22; i++) {
        ck_assert_int_eq(put(s, i, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 30, OAS_KIND_REFRESH, past, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 31, OAS_KIND_CODE, past, 0), APR_SUCCESS);
    for (i = 0; i < 20; i += 3) {
        ck_assert_int_eq(get(s, i, OAS_KIND_ACCESS), APR_SUCCESS);    /* some cached */
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.s = s;
    ck_assert_int_eq(s->iterate(s, iter_cb, &ctx, pool), APR_SUCCESS);
    for (i = 0; i < 64; i++) {
        ck_assert_int_eq(ctx.seen[i], i < 22 ? 1 : 0);
    }
    ck_assert_int_eq(ctx.calls, 22);
    memset(&ctx, 0, sizeof(ctx));
    ctx.stop_after = 5;
    ck_assert_int_eq(s->iterate(s, iter_cb, &ctx, pool), APR_SUCCESS);
    ck_assert_int_eq(ctx.calls, 5);
}
END_TEST

START_TEST(test_stats)
{
    oas_store_t *s = mk_store(8, 32);
    long long exp = now_sec() + 100;
    oas_store_stats_t st;

    ck_assert_int_eq(put(s, 1, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 2, OAS_KIND_CODE, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 3, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 4, OAS_KIND_REFRESH, exp, 0), APR_SUCCESS);
    ck_assert_int_eq(put(s, 5, OAS_KIND_USED_CODE, exp, 0), APR_SUCCESS);
    st = stats(s);
    ck_assert_int_eq(st.mem_capacity, 8);
    ck_assert_int_eq(st.disk_capacity, 32);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_CODE], 2);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_ACCESS], 1);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_REFRESH], 1);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_USED_CODE], 1);
    ck_assert_int_eq(mem_total(&st), 5);
    ck_assert_int_eq(st.disk_entries, 2);
    ck_assert_int_eq(st.purged, 0);
    ck_assert_int_eq(st.full, 0);
    {
        unsigned char k[32];
        oas_entry_t e, r = entry(OAS_KIND_USED_CODE, exp, 0, 1, pool);
        key_of(k, 1);
        ck_assert_int_eq(s->consume(s, k, &e, &r, pool), APR_SUCCESS);
        ck_assert_int_eq(e.kind, OAS_KIND_CODE);
        key_of(k, 3);
        ck_assert_int_eq(s->consume(s, k, &e, NULL, pool), APR_SUCCESS);
        ck_assert_int_eq(e.kind, OAS_KIND_ACCESS);
        ck_assert_int_eq(s->consume(s, k, &e, NULL, pool), APR_NOTFOUND);
    }
    st = stats(s);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_CODE], 1);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_USED_CODE], 2);
    ck_assert_int_eq(st.mem_entries[OAS_KIND_ACCESS], 0);
    ck_assert_int_eq(st.disk_entries, 1);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *store_suite(void)
{
    Suite *su = suite_create("store");
    TCase *tc = tcase_create("default");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kinds);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_expired_invisible);
    tcase_add_test(tc, test_purge);
    tcase_add_test(tc, test_purge_count);
    tcase_add_test(tc, test_volatile_not_on_disk);
    tcase_add_test(tc, test_durability_crash);
    tcase_add_test(tc, test_durability_shared);
    tcase_add_test(tc, test_die_in_write_flock);
    tcase_add_test(tc, test_die_in_write_pthread);
    tcase_add_test(tc, test_corrupt_record);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_same);
    tcase_add_test(tc, test_capacity_disk);
    tcase_add_test(tc, test_capacity_disk_expired);
    tcase_add_test(tc, test_capacity_mem);
    tcase_add_test(tc, test_add);
    tcase_add_test(tc, test_put_many);
    tcase_add_test(tc, test_capacity_csrf_first);
    tcase_add_test(tc, test_eviction);
    tcase_add_test(tc, test_table_churn);
    tcase_add_test(tc, test_cross_process);
    tcase_add_test(tc, test_cross_process_disk);
    tcase_add_test(tc, test_big_records);
    tcase_add_test(tc, test_cross_process_big);
    tcase_add_test(tc, test_two_generations);
    tcase_add_test(tc, test_race_volatile);
    tcase_add_test(tc, test_race_durable);
    tcase_add_test(tc, test_race_durable_disk_only);
    tcase_add_test(tc, test_race_replace_disk_only);
    tcase_add_test(tc, test_race_replace_volatile);
    tcase_add_test(tc, test_race_replace_durable);
    tcase_add_test(tc, test_race_flock);
    tcase_add_test(tc, test_race_threads);
    tcase_add_test(tc, test_remove_family);
    tcase_add_test(tc, test_sweep_memory);
    tcase_add_test(tc, test_iterate);
    tcase_add_test(tc, test_stats);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(store_suite)
