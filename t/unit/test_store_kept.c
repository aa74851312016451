/* test_store_kept.c — the default store's record count kept at a clean
 * stop (PATH.count, issue 18 item 4): a start after a clean close takes the
 * count from it and reads no record; after an unclean end, a shard file
 * changed since, or a count file not to trust, the start reads every record
 * as before; the purge then drops the expired records and the count ends
 * exact. Real stores on real files. The tell of a start that read no record:
 * an expired record planted before the close is still there and counted. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <apr_global_mutex.h>
#include <apr_sdbm.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "oas_store.h"
#include "unit.h"
#include "unit_store.h"

#define LIVE 40                         /* live records put */
#define DEAD 3                          /* expired ones */

static const char *count_file;

static void setup(void)
{
    unit_store_setup("kept");
    count_file = apr_pstrcat(pool, base, ".count", NULL);
}

static void teardown(void)
{
    unit_store_teardown();
}

/* a store on the files at base, in a pool of its own (destroying it is
 * what an end without a close looks like: kill -9, a crash) */
static oas_store_t *open_store(apr_pool_t **pp)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;

    ck_assert_int_eq(apr_pool_create(pp, pool), APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = 16;                 /* most records live on disk only */
    c.disk_entries = 1000;
    c.mutex = mutex;
    c.mutex_file = lock;
    ck_assert_int_eq(oas_store_default_create(&s, &c, *pp), APR_SUCCESS);
    return s;
}

static long stats_disk(oas_store_t *s)
{
    oas_store_stats_t st;

    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    return st.disk_entries;
}

static long stats_corrupt(oas_store_t *s)
{
    oas_store_stats_t st;

    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    return st.corrupt;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void put(oas_store_t *s, unsigned n, long long exp)
{
    unsigned char key[32];
    oas_entry_t e;

    unit_key_of(key, n + 900);
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_ACCESS;
    e.exp = exp;
    memset(e.family, (int)n % 200 + 1, OAS_FAMILY_LEN);
    e.data = (const unsigned char *)"a token's record";
    e.len = 16;
    ck_assert_int_eq(s->put(s, key, &e, pool), APR_SUCCESS);
}

/* A store with LIVE live and DEAD expired records on disk, closed cleanly
 * (PATH.count written) unless clean is 0 (its pool goes, nothing else). */
static void fill(int clean)
{
    long long now = (long long)apr_time_sec(apr_time_now());
    apr_pool_t *p;
    oas_store_t *s = open_store(&p);
    unsigned i;

    for (i = 0; i < LIVE + DEAD; i++) {
        put(s, i, i < LIVE ? now + 3600 : now - 5);
    }
    ck_assert_int_eq(stats_disk(s), LIVE + DEAD);
    if (clean) {
        ck_assert_int_eq(oas_store_default_close(s, p), APR_SUCCESS);
        ck_assert(exists(count_file));
    }
    apr_pool_destroy(p);
}

/* Open again: the count the start found, whether it took PATH.count, and
 * PATH.count is gone either way. */
static long reopen(int *pkept)
{
    apr_pool_t *p;
    oas_store_t *s = open_store(&p);
    long n = stats_disk(s);

    *pkept = oas_store_default_started(s, NULL);
    ck_assert(!exists(count_file));
    apr_pool_destroy(p);
    return n;
}

/* The start read every record: the expired ones went, the count is exact. */
static void assert_scanned(void)
{
    int kept = -1;

    ck_assert_int_eq(reopen(&kept), LIVE);
    ck_assert_int_eq(kept, 0);
}

static void write_text(const char *file, const char *text, mode_t mode)
{
    FILE *f = fopen(file, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(file, mode), 0);
}

static char *read_text(const char *file)
{
    static char buf[8192];
    FILE *f = fopen(file, "r");
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---------------------------------------------------------------- tests */

/* After a clean close, the next start takes the kept count and reads no
 * record: the expired ones are still there, counted; the purge then drops
 * them and the count is exact. */
START_TEST(clean_close_keeps_the_count)
{
    apr_pool_t *p;
    oas_store_t *s;
    double sec = -1;
    int n = 0;

    fill(1);
    ck_assert(strstr(read_text(count_file), "\ncount 43\n") != NULL);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_started(s, &sec), 1);
    ck_assert(sec >= 0 && sec < 5);
    ck_assert(!exists(count_file));                 /* a crash from now on: a scan */
    ck_assert_int_eq(stats_disk(s), LIVE + DEAD);   /* the expired ones not read */
    ck_assert_int_eq(s->purge(s, &n, p), APR_SUCCESS);
    ck_assert_int_eq(n, DEAD);
    ck_assert_int_eq(stats_disk(s), LIVE);
    put(s, 5000, (long long)apr_time_sec(apr_time_now()) + 60);
    ck_assert_int_eq(stats_disk(s), LIVE + 1);
    ck_assert_int_eq(oas_store_default_close(s, p), APR_SUCCESS);
    apr_pool_destroy(p);
    s = open_store(&p);                              /* and again, from the new count */
    ck_assert_int_eq(oas_store_default_started(s, NULL), 1);
    ck_assert_int_eq(stats_disk(s), LIVE + 1);
    apr_pool_destroy(p);
}
END_TEST

/* No close (kill -9, a crash): no count kept, the start reads everything. */
START_TEST(unclean_end_scans)
{
    fill(0);
    ck_assert(!exists(count_file));
    assert_scanned();
}
END_TEST

/* A start after a clean close that took the count, then a crash: the count
 * was removed at that start, so the next one scans. */
START_TEST(crash_after_a_counted_start_scans)
{
    apr_pool_t *p;
    oas_store_t *s;

    fill(1);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_started(s, NULL), 1);
    put(s, 7000, 0);                                  /* one more, then no close */
    apr_pool_destroy(p);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_started(s, NULL), 0);
    ck_assert_int_eq(stats_disk(s), LIVE + 1);
    apr_pool_destroy(p);
}
END_TEST

/* A shard file touched (a restore with other times) after the close. */
START_TEST(shard_touched_scans)
{
    struct utimbuf t = { 1000000000, 1000000000 };

    fill(1);
    ck_assert_int_eq(utime(apr_pstrcat(pool, base, ".3.pag", NULL), &t), 0);
    assert_scanned();
}
END_TEST

/* A shard file grown after the close: a pair written there by another
 * hand (here a malformed one, which the scan drops and counts; its byte 8
 * names shard 5, as the store's own walk expects). */
START_TEST(shard_grown_scans)
{
    apr_sdbm_datum_t k = { "odd-key-5abc", 12 }, v = { "odd value", 9 };
    apr_sdbm_t *db;
    int kept = -1;

    fill(1);
    ck_assert_int_eq(apr_sdbm_open(&db, apr_pstrcat(pool, base, ".5", NULL), APR_FOPEN_READ
                                   | APR_FOPEN_WRITE, APR_OS_DEFAULT, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    apr_sdbm_close(db);
    ck_assert_int_eq(reopen(&kept), LIVE);
    ck_assert_int_eq(kept, 0);
}
END_TEST

/* A shard file replaced by a copy with the same size and times (cp -p of a
 * backup): another inode, a new ctime. */
START_TEST(shard_replaced_scans)
{
    const char *pag = apr_pstrcat(pool, base, ".2.pag", NULL);
    const char *cp = apr_pstrcat(pool, "cp -p ", pag, " ", pag, ".x && mv ", pag, ".x ", pag,
                                 NULL);

    fill(1);
    ck_assert_int_eq(system(cp), 0);
    assert_scanned();
}
END_TEST

/* Counts not to believe: each ignored, the start reads every record. */
START_TEST(forged_counts_ignored)
{
    static const char *const bad[] = { "12x", "-5", "99999999999999", "999999999999999999999",
                                       "", "043", "44 " };
    char *good, *at, *line_end;
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unit_rm_dir(tmpdir);
        ck_assert_int_eq(mkdir(tmpdir, 0700), 0);
        fill(1);
        good = apr_pstrdup(pool, read_text(count_file));
        at = strstr(good, "\ncount ");
        ck_assert_ptr_nonnull(at);
        line_end = strchr(at + 7, '\n');
        *(at + 7) = '\0';
        write_text(count_file, apr_pstrcat(pool, good, bad[i], line_end, NULL), 0644);
        assert_scanned();
    }
}
END_TEST

/* A count file others may write, a link to one, one that is not about
 * these files, or (as root) one of another user: ignored. */
START_TEST(untrusted_files_ignored)
{
    const char *other = apr_pstrcat(pool, tmpdir, "/elsewhere", NULL);
    char *text;

    fill(1);
    ck_assert_int_eq(chmod(count_file, 0666), 0);              /* anyone may write */
    assert_scanned();

    fill(1);
    text = apr_pstrdup(pool, read_text(count_file));
    write_text(other, text, 0644);
    ck_assert_int_eq(unlink(count_file), 0);
    ck_assert_int_eq(symlink(other, count_file), 0);           /* a link */
    assert_scanned();

    fill(1);
    write_text(count_file, "format 1\ncount 43\n", 0644);      /* names no file */
    assert_scanned();

    if (geteuid() == 0) {                                      /* another user's */
        fill(1);
        ck_assert_int_eq(chown(count_file, 12345, 12345), 0);
        assert_scanned();
    }
}
END_TEST

/* A process (a child of httpd) killed while it held a shard: its write may
 * be half done and the count off; the clean stop keeps no count. */
START_TEST(death_holding_a_shard_keeps_none)
{
    apr_pool_t *p;
    oas_store_t *s;
    pid_t pid;
    int st = 0;

    fill(0);
    s = open_store(&p);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (s->child_init(s, p) != APR_SUCCESS || oas_store_default_die_in_write(s) != 0) {
            _exit(1);
        }
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_ne(oas_store_default_close(s, p), APR_SUCCESS);
    ck_assert(!exists(count_file));
    apr_pool_destroy(p);
    assert_scanned();
}
END_TEST

/* Two stores on the same files, both closed: neither count is sure (the
 * second finds the first's file): none is kept. */
START_TEST(two_closers_keep_none)
{
    apr_pool_t *p1, *p2;
    oas_store_t *s1, *s2;

    fill(1);
    s1 = open_store(&p1);
    s2 = open_store(&p2);
    put(s2, 8000, 0);
    ck_assert_int_eq(oas_store_default_close(s2, p2), APR_SUCCESS);
    ck_assert(exists(count_file));
    ck_assert_int_ne(oas_store_default_close(s1, p1), APR_SUCCESS);
    ck_assert(!exists(count_file));
    apr_pool_destroy(p2);
    apr_pool_destroy(p1);
}
END_TEST

/* A process that takes a shard after the close (oauth-as-client attached
 * to a stopping httpd) removes the count: it may change the files. */
START_TEST(use_after_close_forgets_the_count)
{
    apr_pool_t *p;
    oas_store_t *s;

    fill(0);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_close(s, p), APR_SUCCESS);
    ck_assert(exists(count_file));
    put(s, 9000, 0);
    ck_assert(!exists(count_file));
    apr_pool_destroy(p);
}
END_TEST

/* After a counted start, the purge drops what the scan would have: the
 * expired records (the count goes down by each) and a malformed pair that
 * appeared meanwhile (counted as malformed, as the scan did; not in the
 * count of records); the next counted start has the exact count. */
START_TEST(purge_after_a_counted_start)
{
    apr_sdbm_datum_t k = { "odd-key-0abc", 12 }, v = { "odd value", 9 };
    apr_sdbm_t *db;
    apr_pool_t *p;
    oas_store_t *s;
    int n = 0;

    fill(1);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_started(s, NULL), 1);
    ck_assert_int_eq(apr_sdbm_open(&db, apr_pstrcat(pool, base, ".0", NULL), APR_FOPEN_READ
                                   | APR_FOPEN_WRITE | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT,
                                   pool), APR_SUCCESS);
    ck_assert_int_eq(apr_sdbm_lock(db, APR_FLOCK_EXCLUSIVE), APR_SUCCESS);
    ck_assert_int_eq(apr_sdbm_store(db, k, v, APR_SDBM_REPLACE), APR_SUCCESS);
    ck_assert_int_eq(apr_sdbm_unlock(db), APR_SUCCESS);
    apr_sdbm_close(db);
    ck_assert_int_eq(stats_disk(s), LIVE + DEAD);
    ck_assert_int_eq(s->purge(s, &n, p), APR_SUCCESS);
    ck_assert_int_eq(n, DEAD);
    ck_assert_int_eq(stats_corrupt(s), 1);
    ck_assert_int_eq(stats_disk(s), LIVE);
    ck_assert_int_eq(oas_store_default_close(s, p), APR_SUCCESS);
    apr_pool_destroy(p);
    s = open_store(&p);
    ck_assert_int_eq(oas_store_default_started(s, NULL), 1);
    ck_assert_int_eq(stats_disk(s), LIVE);
    ck_assert_int_eq(s->purge(s, &n, p), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(stats_corrupt(s), 0);
    ck_assert_int_eq(stats_disk(s), LIVE);
    apr_pool_destroy(p);
}
END_TEST

static Suite *store_kept_suite(void)
{
    Suite *su = suite_create("store kept count");
    TCase *tc = tcase_create("kept");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, clean_close_keeps_the_count);
    tcase_add_test(tc, unclean_end_scans);
    tcase_add_test(tc, crash_after_a_counted_start_scans);
    tcase_add_test(tc, shard_touched_scans);
    tcase_add_test(tc, shard_grown_scans);
    tcase_add_test(tc, shard_replaced_scans);
    tcase_add_test(tc, forged_counts_ignored);
    tcase_add_test(tc, untrusted_files_ignored);
    tcase_add_test(tc, death_holding_a_shard_keeps_none);
    tcase_add_test(tc, two_closers_keep_none);
    tcase_add_test(tc, use_after_close_forgets_the_count);
    tcase_add_test(tc, purge_after_a_counted_start);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(store_kept_suite)
