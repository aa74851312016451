/* test_store_dir.c — the default store's directory and files (issue 12 item
 * 1, SPEC §9): the module gives away only a directory it made itself; an
 * existing one keeps its owner and mode, and is refused unless the httpd
 * user may write it and it holds the store alone; a root process opens the
 * SDBM files with their owner's rights only, so a link planted in their
 * place reaches nothing of root's. The ownership cases need root (make unit
 * runs as root in CI, tools/run-tests steps 1-2); as another user they check
 * what they can. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <apr_file_io.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>

#include "oas_store.h"
#include "oas_store_dir.h"
#include "unit.h"

#define NOBODY 65534

static apr_pool_t *pool;
static char tmpdir[64];
static oas_store_user_t who;       /* httpd's User: nobody as root, else ourselves */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/oas_sdir_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    memset(&who, 0, sizeof(who));
    who.uid = geteuid() == 0 ? NOBODY : geteuid();
    who.gid = geteuid() == 0 ? NOBODY : getegid();
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    apr_pool_destroy(pool);
}

static const char *in_tmp(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

static void touch(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static struct stat stat_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    return st;
}

static apr_status_t prepare(const char *path, int make, int *pmade, const char **perr)
{
    return oas_store_dir_prepare(path, &who, make, pmade, pool, perr);
}

/* A missing directory is made, mode 0700, and only it is given to User. */
START_TEST(dir_made_and_given)
{
    const char *err;
    int made = 0;
    struct stat st;

    ck_assert_int_eq(prepare(in_tmp("a/b/tokens"), 0, &made, &err), APR_SUCCESS);
    ck_assert_int_eq(access(in_tmp("a"), F_OK), -1);   /* configtest makes nothing */
    ck_assert_int_eq(prepare(in_tmp("a/b/tokens"), 1, &made, &err), APR_SUCCESS);
    ck_assert_int_eq(made, 1);
    st = stat_of(in_tmp("a/b"));
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq(st.st_uid, who.uid);
    st = stat_of(in_tmp("a"));                            /* a parent: not given away */
    ck_assert_int_eq(st.st_uid, geteuid());
    ck_assert_int_eq(prepare(in_tmp("a/b/tokens"), 1, &made, &err), APR_SUCCESS);
    ck_assert_int_eq(made, 0);                            /* exists now: checked */
}
END_TEST

/* /etc/apache2 with OAuthASStoreFile oauth_store: not writable by User, so
 * refused, and its owner and mode stay. */
START_TEST(dir_not_writable_refused_untouched)
{
    const char *dir = in_tmp("conf"), *err = NULL;
    struct stat before, after;
    int made = 0;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    touch(in_tmp("conf/apache2.conf"), "ServerRoot /etc/apache2\n");
    if (geteuid() != 0) {
        chmod(dir, 0555);                                 /* as root: owned by root */
    }
    before = stat_of(dir);
    ck_assert_int_eq(prepare(in_tmp("conf/oauth_store"), 1, &made, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "not writable"));
    ck_assert_ptr_nonnull(strstr(err, "install -d"));
    after = stat_of(dir);
    ck_assert_int_eq(after.st_uid, before.st_uid);
    ck_assert_int_eq(after.st_gid, before.st_gid);
    ck_assert_int_eq(after.st_mode, before.st_mode);
    chmod(dir, 0755);
}
END_TEST

/* A directory User may write (given away by an earlier version, say) that
 * holds more than the store: refused, the foreign entry named. */
START_TEST(dir_with_other_files_refused)
{
    const char *dir = in_tmp("lib"), *err = NULL;
    int made = 0;

    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chown(dir, who.uid, who.gid), 0);
    touch(in_tmp("lib/tokens.dir"), "");
    touch(in_tmp("lib/tokens.pag"), "");
    touch(in_tmp("lib/tokens.info"), "");
    touch(in_tmp("lib/tokens.info.Ab12Cd"), "");
    touch(in_tmp("lib/tokens.count"), "");          /* the count kept at a clean stop */
    touch(in_tmp("lib/tokens.count.Ab12Cd"), "");
    ck_assert_int_eq(prepare(in_tmp("lib/tokens"), 1, &made, &err), APR_SUCCESS);
    ck_assert_int_eq(mkdir(in_tmp("lib/modules"), 0755), 0);
    ck_assert_int_eq(prepare(in_tmp("lib/tokens"), 1, &made, &err), APR_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "'modules'"));
    rmdir(in_tmp("lib/modules"));
    unlink(in_tmp("lib/tokens.pag"));
    ck_assert_int_eq(symlink("/etc/passwd", in_tmp("lib/tokens.pag")), 0);
    ck_assert_int_eq(prepare(in_tmp("lib/tokens"), 0, &made, &err), APR_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "'tokens.pag' (a symbolic link)"));
    ck_assert_int_eq(made, 0);
}
END_TEST

/* Root only: the store made in a directory of User's, where User put links
 * to root's files in place of the SDBM files. Root must neither write them
 * nor give them away. */
START_TEST(store_create_follows_no_planted_link)
{
    const char *dir = in_tmp("store"), *victim = in_tmp("shadow");
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;
    struct stat before, after;

    if (geteuid() != 0) {
        return;                                           /* needs root */
    }
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
    chmod(tmpdir, 0755);
    touch(victim, "root:secret:1:0:99999:7:::\n");
    chmod(victim, 0600);
    ck_assert_int_eq(symlink(victim, in_tmp("store/tokens.pag")), 0);   /* to migrate */
    ck_assert_int_eq(symlink(victim, in_tmp("store/tokens.dir")), 0);
    ck_assert_int_eq(symlink(victim, in_tmp("store/tokens.0.pag")), 0); /* a shard */
    ck_assert_int_eq(symlink(victim, in_tmp("store/tokens.0.dir")), 0);
    before = stat_of(victim);
    memset(&c, 0, sizeof(c));
    c.path = in_tmp("store/tokens");
    c.mem_entries = 10;
    c.disk_entries = 10;
    c.file_uid = NOBODY;
    c.file_gid = NOBODY;
    ck_assert_int_eq(apr_global_mutex_create(&c.mutex, NULL, APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    after = stat_of(victim);
    ck_assert_int_eq(after.st_uid, 0);
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert_int_eq(after.st_mtime, before.st_mtime);
    ck_assert_int_eq(geteuid(), 0);                        /* root again afterwards */
    /* links of the old single file's names alone: not followed, left */
    unlink(in_tmp("store/tokens.0.pag"));
    unlink(in_tmp("store/tokens.0.dir"));
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    after = stat_of(victim);
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert_int_eq(after.st_mtime, before.st_mtime);
    /* without the links: the files are made, and are User's */
    unlink(in_tmp("store/tokens.pag"));
    unlink(in_tmp("store/tokens.dir"));
    ck_assert_int_eq(oas_store_default_create(&s, &c, pool), APR_SUCCESS);
    ck_assert_int_eq(stat_of(in_tmp("store/tokens.0.pag")).st_uid, NOBODY);
    ck_assert_int_eq(stat_of(in_tmp("store/tokens.7.dir")).st_uid, NOBODY);
}
END_TEST

/* Who oauth-as-client acts as: the directory's owner; a root-owned one that
 * others may write is refused. */
START_TEST(dir_owner_for_the_tool)
{
    const char *err;
    uid_t uid;
    gid_t gid;

    ck_assert_int_eq(mkdir(in_tmp("d"), 0700), 0);
    ck_assert_int_eq(oas_store_dir_owner(&uid, &gid, in_tmp("d/tokens"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(uid, geteuid());
    if (geteuid() != 0) {
        return;
    }
    ck_assert_int_eq(chown(in_tmp("d"), NOBODY, NOBODY), 0);
    ck_assert_int_eq(oas_store_dir_owner(&uid, &gid, in_tmp("d/tokens"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(uid, NOBODY);
    ck_assert_int_eq(chown(in_tmp("d"), 0, NOBODY), 0);
    chmod(in_tmp("d"), 0770);
    ck_assert_int_eq(oas_store_dir_owner(&uid, &gid, in_tmp("d/tokens"), pool, &err),
                     APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "others may write"));
}
END_TEST

START_TEST(as_user_and_back)
{
    oas_as_user_t as;
    uid_t me = geteuid();

    ck_assert_int_eq(oas_as_user_begin(&as, NOBODY, NOBODY, pool), APR_SUCCESS);
    ck_assert_int_eq(as.active, me == 0);                 /* only root switches */
    if (as.active) {
        ck_assert_int_eq(geteuid(), NOBODY);
        ck_assert_int_eq(getegid(), NOBODY);
        ck_assert_int_eq(open("/etc/shadow", O_RDONLY), -1);
    }
    oas_as_user_end(&as);
    ck_assert_int_eq(geteuid(), me);
    ck_assert_int_eq(open("/etc/shadow", O_RDONLY) >= 0, me == 0);
}
END_TEST

/* For good: the tool, after opening the store, cannot become root again. */
START_TEST(become_user_for_good)
{
    pid_t pid;
    int st = -1;

    if (geteuid() != 0) {
        ck_assert_int_eq(oas_become_user(NOBODY, NOBODY), APR_SUCCESS);  /* a no-op */
        return;
    }
    if ((pid = fork()) == 0) {
        int ok = oas_become_user(NOBODY, NOBODY) == APR_SUCCESS && getuid() == NOBODY
                 && geteuid() == NOBODY && getegid() == NOBODY && seteuid(0) != 0
                 && open("/etc/shadow", O_RDONLY) < 0;
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

static Suite *store_dir_suite(void)
{
    Suite *s = suite_create("store_dir");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dir_made_and_given);
    tcase_add_test(tc, dir_not_writable_refused_untouched);
    tcase_add_test(tc, dir_with_other_files_refused);
    tcase_add_test(tc, store_create_follows_no_planted_link);
    tcase_add_test(tc, dir_owner_for_the_tool);
    tcase_add_test(tc, as_user_and_back);
    tcase_add_test(tc, become_user_for_good);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(store_dir_suite)
