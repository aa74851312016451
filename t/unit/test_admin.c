/* test_admin.c — what oauth-as-client relies on: the default store's named
 * memory and PATH.info, attaching to a live store from another process under
 * the same (flock) mutex, and token administration (oas_admin.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <apr_file_io.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "oas_admin.h"
#include "oas_store.h"
#include "oas_token.h"
#include "unit.h"
#include "../../src/store/oas_store_sd.h"     /* the memory's header, to damage it */

static apr_pool_t *pool;
static char tmpdir[64];
static const char *base;          /* SDBM base path */
static const char *shm_file;      /* its named memory */
static const char *lock_file;     /* the flock mutex */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/oas_admin_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    base = apr_pstrcat(pool, tmpdir, "/store", NULL);
    shm_file = apr_pstrcat(pool, base, ".shm", NULL);
    lock_file = apr_pstrcat(pool, tmpdir, "/", OAS_STORE_MUTEX_TYPE, "-",
                            oas_store_mutex_id(base, pool), NULL);   /* as httpd names it */
}

static void teardown(void)
{
    apr_pool_t *tp;

    unlink(lock_file);
    apr_pool_destroy(pool);
    apr_pool_create(&tp, NULL);
    (void)apr_shm_remove(apr_pstrcat(tp, tmpdir, "/store.shm", NULL), tp);  /* a failed test's */
    apr_pool_destroy(tp);
    unit_rm_dir(tmpdir);
}

/* A store as httpd makes it: named memory, a flock mutex on lock_file. */
static oas_store_t *mk_live(apr_pool_t *p, int mem, int disk)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = mem;
    c.disk_entries = disk;
    c.shm_file = shm_file;
    unlink(lock_file);
    ck_assert_int_eq(apr_global_mutex_create(&c.mutex, lock_file, APR_LOCK_FLOCK, p),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_store_default_create(&s, &c, p), APR_SUCCESS);
    return s;
}

/* A store of its own on the files (anonymous memory, private mutex). */
static oas_store_t *mk_private(apr_pool_t *p)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = 50;
    c.disk_entries = 1000;
    ck_assert_int_eq(apr_global_mutex_create(&c.mutex, NULL, APR_LOCK_DEFAULT, p),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_store_default_create(&s, &c, p), APR_SUCCESS);
    return s;
}

static oas_store_t *attach(apr_pool_t *p)
{
    oas_store_t *s = NULL;
    const char *err = NULL;
    apr_status_t rv = oas_store_default_attach(&s, base, NULL, p, &err);

    ck_assert_msg(rv == APR_SUCCESS, "attach: %d %s", rv, err ? err : "");
    return s;
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

/* Put a token of client/user (family byte fam, 0: none); its key from name. */
static void put_tok(oas_store_t *s, const char *name, int kind, const char *client,
                    const char *user, int fam, long long exp)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_token_t t;
    oas_entry_t e;

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.iat = now_sec();
    t.exp = exp;
    memset(t.family, fam, OAS_FAMILY_LEN);
    t.grant = user ? 0x08 : 0x04;
    t.client_id = client;
    t.username = user;
    t.scope = "read";
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    oas_store_key(key, OAS_PREFIX_ACCESS, name);
    ck_assert_int_eq(s->put(s, key, &e, pool), APR_SUCCESS);
}

static int has(oas_store_t *s, const char *name)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    oas_store_key(key, OAS_PREFIX_ACCESS, name);
    return s->get(s, key, &e, pool) == APR_SUCCESS;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------ info file */

START_TEST(info_round_trip)
{
    oas_store_info_t in, out;
    const char *err;
    apr_pool_t *sub;

    memset(&in, 0, sizeof(in));
    in.pid = (long)getpid();
    in.shm_file = shm_file;
    in.mutex = "flock";
    in.lockfile = lock_file;
    in.mem_entries = 10;
    in.disk_entries = 20;
    apr_pool_create(&sub, pool);
    ck_assert_int_eq(oas_store_info_write(base, &in, sub), APR_SUCCESS);
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(out.pid, in.pid);
    ck_assert_str_eq(out.shm_file, in.shm_file);
    ck_assert_str_eq(out.mutex, "flock");
    ck_assert_str_eq(out.lockfile, in.lockfile);
    ck_assert_int_eq(out.mem_entries, 10);
    ck_assert_int_eq(out.disk_entries, 20);
    apr_pool_destroy(sub);                        /* removes it */
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_ENOENT);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(info_bad_or_stale)
{
    const char *info = apr_pstrcat(pool, base, ".info", NULL), *err;
    oas_store_info_t out;

    write_file(info, "format 1\npid 12x\nshm /a\nmutex flock\n");
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed"));
    write_file(info, "format 99\npid 1\nshm /a\nmutex flock\n");
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
    /* a process that is gone: no httpd holds the store */
    write_file(info, "format 1\npid 2147483000\nshm /a\nmutex flock\nlockfile /l\n");
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "gone"));
}
END_TEST

START_TEST(info_mutex_only_flock)
{
    oas_store_info_t info;
    apr_proc_mutex_t *m;
    const char *err;

    memset(&info, 0, sizeof(info));
    info.mutex = "fcntl";
    info.lockfile = lock_file;
    ck_assert_int_eq(oas_store_info_mutex(&m, &info, pool, &err), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(err, "Mutex flock:"));
    info.mutex = "pthread";
    info.lockfile = NULL;
    ck_assert_int_eq(oas_store_info_mutex(&m, &info, pool, &err), APR_ENOTIMPL);
    info.mutex = "flock";
    info.lockfile = apr_pstrcat(pool, tmpdir, "/missing", NULL);
    ck_assert_int_ne(oas_store_info_mutex(&m, &info, pool, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "lock file"));
}
END_TEST

/* The store's directory belongs to httpd's User; the tool runs as root.
 * Nothing that user can put in PATH.info, or in place of it or of the lock
 * file, may point the tool at another file (issue 12 item 1). */
static void write_info(const char *shm, const char *lock)
{
    const char *info = apr_pstrcat(pool, base, ".info", NULL);

    unlink(info);
    write_file(info, apr_psprintf(pool, "format 1\npid %ld\nshm %s\nmutex flock\n"
                                  "lockfile %s\n", (long)getpid(), shm, lock));
    chmod(info, 0644);
}

START_TEST(info_refuses_links_and_loose_modes)
{
    const char *info = apr_pstrcat(pool, base, ".info", NULL);
    const char *real = apr_pstrcat(pool, tmpdir, "/other", NULL), *err;
    oas_store_info_t out;

    write_info(shm_file, lock_file);
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_SUCCESS);
    chmod(info, 0664);                          /* others may write it */
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "refused"));
    chmod(info, 0644);
    ck_assert_int_eq(rename(info, real), 0);    /* a symbolic link to a good one */
    ck_assert_int_eq(symlink(real, info), 0);
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EACCES);
    unlink(info);
    ck_assert_int_eq(link(real, info), 0);      /* a second name of it */
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EACCES);
    unlink(info);
    ck_assert_int_eq(mkfifo(info, 0644), 0);    /* no hang on a FIFO */
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EACCES);
    unlink(info);
    unlink(real);
}
END_TEST

START_TEST(info_refuses_other_paths)
{
    const char *dir = apr_pstrcat(pool, tmpdir, "/", NULL), *err;
    oas_store_info_t out;

    write_info("/etc/passwd.shm", lock_file);
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "shm"));
    write_info(shm_file, "/etc/shadow");
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "lockfile"));
    write_info(shm_file, apr_pstrcat(pool, dir, "../", strrchr(lock_file, '/') + 1, NULL));
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
    write_info(shm_file, apr_psprintf(pool, "%s.%ld", lock_file, (long)getpid()));
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_SUCCESS);
    write_info(shm_file, apr_psprintf(pool, "%s.%ld", lock_file, (long)getpid() + 1));
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EINVAL);
}
END_TEST

START_TEST(info_mutex_no_link_no_fifo)
{
    const char *other = apr_pstrcat(pool, tmpdir, "/other", NULL), *err;
    oas_store_info_t info;
    apr_proc_mutex_t *m;

    memset(&info, 0, sizeof(info));
    info.mutex = "flock";
    info.lockfile = lock_file;
    write_file(other, "");
    unlink(lock_file);
    ck_assert_int_eq(symlink(other, lock_file), 0);
    ck_assert_int_ne(oas_store_info_mutex(&m, &info, pool, &err), APR_SUCCESS);
    unlink(lock_file);
    ck_assert_int_eq(mkfifo(lock_file, 0600), 0);   /* would block a plain open */
    ck_assert_int_ne(oas_store_info_mutex(&m, &info, pool, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "lock file"));
    unlink(lock_file);
    unlink(other);
}
END_TEST

/* Root only: an info file of another user is not believed. */
START_TEST(info_refuses_other_owner)
{
    const char *info = apr_pstrcat(pool, base, ".info", NULL), *err;
    oas_store_info_t out;

    if (geteuid() != 0) {
        return;                                 /* needs root: make unit as root (CI) */
    }
    write_info(shm_file, lock_file);
    ck_assert_int_eq(chown(info, 65534, 65534), 0);
    ck_assert_int_eq(oas_store_info_read(&out, base, pool, &err), APR_EACCES);
}
END_TEST

/* ---------------------------------------------------------------- attach */

START_TEST(attach_none)
{
    oas_store_t *s;
    const char *err;

    ck_assert_int_eq(oas_store_default_attach(&s, base, NULL, pool, &err), APR_ENOENT);
    ck_assert_ptr_null(s);
    mk_private(pool);                         /* anonymous memory writes no info */
    ck_assert_int_eq(oas_store_default_attach(&s, base, NULL, pool, &err), APR_ENOENT);
}
END_TEST

START_TEST(attach_sees_and_changes)
{
    oas_store_t *live = mk_live(pool, 100, 1000), *a;
    oas_store_stats_t s1, s2;
    apr_pool_t *sub;

    ck_assert(file_exists(apr_pstrcat(pool, base, ".info", NULL)));
    put_tok(live, "t1", OAS_KIND_ACCESS, "c1", NULL, 0, 0);
    put_tok(live, "t2", OAS_KIND_CODE, "c1", "alice", 0, now_sec() + 60);  /* memory only */
    apr_pool_create(&sub, pool);
    a = attach(sub);
    ck_assert(has(a, "t1"));
    ck_assert(has(a, "t2"));
    put_tok(a, "t3", OAS_KIND_ACCESS, "c2", NULL, 0, 0);
    ck_assert(has(live, "t3"));
    {
        unsigned char key[OAS_DIGEST_LEN];
        oas_store_key(key, OAS_PREFIX_ACCESS, "t2");
        ck_assert_int_eq(a->remove(a, key, pool), APR_SUCCESS);
    }
    ck_assert(!has(live, "t2"));               /* the volatile entry went from shm */
    ck_assert_int_eq(live->stats(live, &s1), APR_SUCCESS);
    ck_assert_int_eq(a->stats(a, &s2), APR_SUCCESS);
    ck_assert_int_eq(s1.disk_entries, 2);
    ck_assert_int_eq(s2.disk_entries, 2);
    ck_assert_int_eq(s2.mem_capacity, 100);
    apr_pool_destroy(sub);                     /* detaching leaves the live store */
    ck_assert(has(live, "t1"));
    ck_assert(file_exists(apr_pstrcat(pool, base, ".info", NULL)));
    ck_assert(file_exists(lock_file));         /* and httpd's lock file */
    a = attach(pool);                          /* again */
    ck_assert(has(a, "t3"));
}
END_TEST

/* A forked process attaches by name (as the tool does) and changes the store. */
START_TEST(attach_from_other_process)
{
    oas_store_t *live = mk_live(pool, 100, 1000);
    pid_t pid;
    int st = -1;

    put_tok(live, "old", OAS_KIND_ACCESS, "c1", NULL, 0, 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        oas_store_t *a = NULL;
        const char *err;
        apr_pool_create(&cp, NULL);
        if (oas_store_default_attach(&a, base, NULL, cp, &err) != APR_SUCCESS
            || !has(a, "old")) {
            _exit(1);
        }
        put_tok(a, "new", OAS_KIND_CODE, "c1", "bob", 0, now_sec() + 60);
        apr_pool_destroy(cp);                  /* its temporary lock file goes */
        _exit(0);
    }
    waitpid(pid, &st, 0);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert(has(live, "new"));
}
END_TEST

/* The joined mutex excludes httpd's holders: while one holds it, the other waits. */
START_TEST(attach_same_mutex)
{
    oas_store_info_t info;
    apr_proc_mutex_t *mine;
    const char *err;

    mk_live(pool, 10, 10);
    ck_assert_int_eq(oas_store_info_read(&info, base, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(info.mutex, "flock");
    ck_assert_str_eq(info.lockfile, lock_file);
    ck_assert_str_eq(info.shm_file, shm_file);
    ck_assert_int_eq(oas_store_info_mutex(&mine, &info, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(apr_proc_mutex_lock(mine), APR_SUCCESS);
    if (fork() == 0) {
        apr_pool_t *cp;
        apr_proc_mutex_t *m2;
        apr_status_t rv;
        apr_pool_create(&cp, NULL);
        if (oas_store_info_mutex(&m2, &info, cp, &err) != APR_SUCCESS) {
            _exit(2);
        }
        rv = apr_proc_mutex_trylock(m2);
        apr_pool_destroy(cp);
        _exit(APR_STATUS_IS_EBUSY(rv) ? 0 : 1);
    }
    {
        int st = -1;
        wait(&st);
        ck_assert_int_eq(WEXITSTATUS(st), 0);
    }
    apr_proc_mutex_unlock(mine);
}
END_TEST

/* A crash leaves the named memory and a stale info file: attach says no
 * httpd runs, and the next create removes the leftover. */
START_TEST(attach_after_crash)
{
    oas_store_t *s;
    const char *err;
    pid_t pid;
    int st = -1;

    pid = fork();
    if (pid == 0) {
        apr_pool_t *cp;
        apr_pool_create(&cp, NULL);
        pool = cp;
        put_tok(mk_live(cp, 10, 10), "t", OAS_KIND_ACCESS, "c", NULL, 0, 0);
        _exit(0);                               /* no cleanup runs */
    }
    waitpid(pid, &st, 0);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert(file_exists(apr_pstrcat(pool, base, ".info", NULL)));
    ck_assert_int_eq(oas_store_default_attach(&s, base, NULL, pool, &err), APR_ENOENT);
    s = mk_live(pool, 10, 10);                  /* the same shm name again */
    ck_assert(has(s, "t"));
    ck_assert(has(attach(pool), "t"));
}
END_TEST

/* httpd's User may write the shared memory (any code in an httpd child can):
 * the tool (root) indexes it only by what it checked when it attached. */
START_TEST(attach_survives_hostile_memory)
{
    oas_store_t *live = mk_live(pool, 10, 1000), *a;
    apr_shm_t *shm;
    sd_header_t *h;
    int i;

    put_tok(live, "before", OAS_KIND_ACCESS, "c", NULL, 0, 0);
    a = attach(pool);
    ck_assert_int_eq(apr_shm_attach(&shm, shm_file, pool), APR_SUCCESS);
    h = apr_shm_baseaddr_get(shm);
    h->nslots = 1u << 30;                       /* far past the mapping */
    h->hand = 0xfffffff0u;
    for (i = 0; i < 40; i++) {                  /* more than memory holds: the evictor runs */
        put_tok(a, apr_psprintf(pool, "x%d", i), OAS_KIND_ACCESS, "c", NULL, 0, 0);
    }
    ck_assert(has(a, "before"));
    ck_assert(has(a, "x39"));
    apr_shm_detach(shm);
}
END_TEST

START_TEST(attach_refuses_foreign_memory)
{
    oas_store_info_t info;
    apr_shm_t *shm;
    oas_store_t *s;
    const char *err;

    apr_shm_remove(shm_file, pool);
    ck_assert_int_eq(apr_shm_create(&shm, 4096, shm_file, pool), APR_SUCCESS);
    memset(apr_shm_baseaddr_get(shm), 0x5a, 4096);
    unlink(lock_file);
    write_file(lock_file, "");
    memset(&info, 0, sizeof(info));
    info.pid = (long)getpid();
    info.shm_file = shm_file;
    info.mutex = "flock";
    info.lockfile = lock_file;
    ck_assert_int_eq(oas_store_info_write(base, &info, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_default_attach(&s, base, NULL, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "layout"));
}
END_TEST

/* ----------------------------------------------------------------- admin */

START_TEST(admin_list_filters)
{
    oas_store_t *s = mk_private(pool);
    oas_admin_filter_t f = { "c1", NULL };
    apr_array_header_t *l;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t marker;

    put_tok(s, "a", OAS_KIND_ACCESS, "c1", "alice", 1, 0);
    put_tok(s, "b", OAS_KIND_REFRESH, "c1", "alice", 1, 0);
    put_tok(s, "c", OAS_KIND_ACCESS, "c1", NULL, 0, 0);
    put_tok(s, "d", OAS_KIND_ACCESS, "c2", "alice", 2, 0);
    put_tok(s, "e", OAS_KIND_CODE, "c2", "bob", 3, now_sec() + 60);
    memset(&marker, 0, sizeof(marker));
    marker.kind = OAS_KIND_USED_REFRESH;
    marker.data = "";
    oas_store_key(key, OAS_PREFIX_REFRESH, "used");
    ck_assert_int_eq(s->put(s, key, &marker, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_admin_list(&l, s, NULL, pool), APR_SUCCESS);
    ck_assert_int_eq(l->nelts, 5);                  /* not the tombstone */
    ck_assert_int_eq(oas_admin_list(&l, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(l->nelts, 3);
    f.client_id = NULL;
    f.username = "alice";
    ck_assert_int_eq(oas_admin_list(&l, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(l->nelts, 3);
    f.client_id = "c2";
    ck_assert_int_eq(oas_admin_list(&l, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(l->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(l, 0, oas_admin_token_t).token.client_id, "c2");
    oas_store_key(key, OAS_PREFIX_ACCESS, "d");
    ck_assert_mem_eq(APR_ARRAY_IDX(l, 0, oas_admin_token_t).key, key, OAS_DIGEST_LEN);
    ck_assert_str_eq(oas_admin_kind_name(OAS_KIND_REFRESH), "refresh_token");
}
END_TEST

START_TEST(admin_revoke_client)
{
    oas_store_t *s = mk_private(pool);
    oas_admin_filter_t f = { "c1", NULL };
    unsigned char fam[OAS_FAMILY_LEN], key[OAS_DIGEST_LEN];
    oas_entry_t e;
    int n = -1;

    put_tok(s, "a", OAS_KIND_ACCESS, "c1", "alice", 1, now_sec() + 100);
    put_tok(s, "b", OAS_KIND_REFRESH, "c1", "alice", 1, now_sec() + 1000);
    put_tok(s, "c", OAS_KIND_ACCESS, "c1", NULL, 0, 0);
    put_tok(s, "d", OAS_KIND_ACCESS, "c2", "alice", 2, 0);
    ck_assert_int_eq(oas_admin_revoke(&n, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 3);
    ck_assert(!has(s, "a") && !has(s, "b") && !has(s, "c"));
    ck_assert(has(s, "d"));
    /* the family is marked revoked, as the grant code checks it */
    memset(fam, 1, sizeof(fam));
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, fam, OAS_FAMILY_LEN));
    ck_assert_int_eq(s->get(s, key, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(e.kind, OAS_KIND_FAMILY_REVOKED);
    ck_assert(e.exp >= now_sec() + 999);
    /* by user */
    f.client_id = NULL;
    f.username = "alice";
    ck_assert_int_eq(oas_admin_revoke(&n, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert(!has(s, "d"));
    /* nothing left: 0; no filter: refused */
    ck_assert_int_eq(oas_admin_revoke(&n, s, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    f.username = NULL;
    ck_assert_int_eq(oas_admin_revoke(&n, s, &f, pool), APR_EINVAL);
    ck_assert_int_eq(oas_admin_revoke(&n, s, NULL, pool), APR_EINVAL);
}
END_TEST

/* Revoking through an attached store takes the tokens from the live one. */
START_TEST(admin_revoke_attached)
{
    oas_store_t *live = mk_live(pool, 4, 100), *a;
    oas_admin_filter_t f = { "c1", NULL };
    int i, n = 0;

    for (i = 0; i < 10; i++) {   /* more than memory holds: some on disk only */
        put_tok(live, apr_psprintf(pool, "t%d", i), OAS_KIND_ACCESS, i % 2 ? "c1" : "c2",
                NULL, 0, 0);
    }
    a = attach(pool);
    ck_assert_int_eq(oas_admin_revoke(&n, a, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 5);
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(has(live, apr_psprintf(pool, "t%d", i)), i % 2 ? 0 : 1);
    }
}
END_TEST

static Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, info_round_trip);
    tcase_add_test(tc, info_bad_or_stale);
    tcase_add_test(tc, info_mutex_only_flock);
    tcase_add_test(tc, info_refuses_links_and_loose_modes);
    tcase_add_test(tc, info_refuses_other_paths);
    tcase_add_test(tc, info_mutex_no_link_no_fifo);
    tcase_add_test(tc, info_refuses_other_owner);
    tcase_add_test(tc, attach_none);
    tcase_add_test(tc, attach_sees_and_changes);
    tcase_add_test(tc, attach_from_other_process);
    tcase_add_test(tc, attach_same_mutex);
    tcase_add_test(tc, attach_after_crash);
    tcase_add_test(tc, attach_refuses_foreign_memory);
    tcase_add_test(tc, attach_survives_hostile_memory);
    tcase_add_test(tc, admin_list_filters);
    tcase_add_test(tc, admin_revoke_client);
    tcase_add_test(tc, admin_revoke_attached);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(admin_suite)
