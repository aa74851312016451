/* oas_store_dir.c — the default store's directory: made by the module and
 * given to httpd's User, or checked and left alone; and working on the
 * store's files as their owner when this process is root. See
 * oas_store_dir.h for why. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "oas_store_dir.h"

#define GROUPS_MAX 1024

/* The directory part of path ("/" for "/x", "." for "x"). */
static char *dir_of(const char *path, apr_pool_t *p)
{
    char *d = apr_pstrdup(p, path), *slash = strrchr(d, '/');

    if (slash == NULL) {
        return apr_pstrdup(p, ".");
    }
    while (slash > d && slash[-1] == '/') {
        slash--;
    }
    if (slash == d) {
        return apr_pstrdup(p, "/");
    }
    *slash = '\0';
    return d;
}

static int in_group(const oas_store_user_t *who, gid_t gid, apr_pool_t *p)
{
    gid_t *groups = apr_palloc(p, GROUPS_MAX * sizeof(gid_t));
    int i, n = GROUPS_MAX;

    if (who->gid == gid) {
        return 1;
    }
    if (who->name != NULL) {
        n = getgrouplist(who->name, who->gid, groups, &n) < 0 ? 0 : n;
    }
    else {
        n = getgroups(GROUPS_MAX, groups);
    }
    for (i = 0; i < n; i++) {
        if (groups[i] == gid) {
            return 1;
        }
    }
    return 0;
}

/* May who create files in a directory of these attributes? (Mode bits;
 * access control lists are not read.) */
static int may_write(const struct stat *st, const oas_store_user_t *who, apr_pool_t *p)
{
    mode_t need;

    if (who->uid == 0) {
        return 1;
    }
    need = st->st_uid == who->uid ? (S_IWUSR | S_IXUSR)
         : in_group(who, st->st_gid, p) ? (S_IWGRP | S_IXGRP) : (S_IWOTH | S_IXOTH);
    return (st->st_mode & need) == need;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n > t && strcmp(s + n - t, tail) == 0;
}

/* A name the default store makes: NAME.dir, .pag, .info, .shm, .count, and
 * the temporary NAME.info.XXXXXX or NAME.count.XXXXXX of one being written. */
static int store_name(const char *name)
{
    const char *info = strstr(name, ".info."), *count = strstr(name, ".count.");

    return ends_with(name, ".dir") || ends_with(name, ".pag") || ends_with(name, ".info")
           || ends_with(name, ".shm") || ends_with(name, ".count")
           || (info && info > name && strlen(info) == 12)
           || (count && count > name && strlen(count) == 13);
}

static const char *who_name(const oas_store_user_t *who, apr_pool_t *p)
{
    return who->name ? who->name : apr_psprintf(p, "uid %ld", (long)who->uid);
}

/* The first entry of dir that is not a store file (regular), or NULL. */
static const char *foreign_entry(const char *dir, apr_pool_t *p, apr_status_t *prv)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;

    if ((*prv = apr_dir_open(&d, dir, p)) != APR_SUCCESS) {
        return NULL;
    }
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, d))
           == APR_SUCCESS || rv == APR_INCOMPLETE) {
        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0) {
            continue;
        }
        if (fi.filetype != APR_REG || !store_name(fi.name)) {
            apr_dir_close(d);
            return apr_psprintf(p, "'%s'%s", fi.name, fi.filetype == APR_LNK
                                ? " (a symbolic link)" : fi.filetype != APR_REG
                                ? " (not a regular file)" : "");
        }
    }
    apr_dir_close(d);
    return NULL;
}

static apr_status_t check_dir(const char *dir, const char *path, const oas_store_user_t *who,
                              const struct stat *st, apr_pool_t *p, const char **perr)
{
    const char *u = who_name(who, p), *g = who->group ? who->group : u, *other;
    apr_status_t rv = APR_SUCCESS;

    if (!S_ISDIR(st->st_mode)) {
        *perr = apr_psprintf(p, "%s (the directory of OAuthASStoreFile %s) is not a directory",
                             dir, path);
        return APR_ENOTDIR;
    }
    if (!may_write(st, who, p)) {
        *perr = apr_psprintf(p, "%s, the directory of the token store (OAuthASStoreFile %s), "
                             "is not writable by %s, the user httpd runs as. The module "
                             "gives away no directory it did not make: make one for the "
                             "store alone (install -d -o %s -g %s -m 700 %s), or name a "
                             "store file in a directory that does not exist yet (the module "
                             "makes it)", dir, path, u, u, g, dir);
        return APR_EACCES;
    }
    if ((other = foreign_entry(dir, p, &rv)) != NULL || rv != APR_SUCCESS) {
        *perr = other ? apr_psprintf(p, "%s, the directory of the token store (OAuthASStoreFile "
                                     "%s), holds %s, which is not a file of the store: a "
                                     "directory that %s may write must hold the store alone. "
                                     "Give the store a directory of its own (a new one: the "
                                     "module makes it); if an earlier version of mod_oauth_as "
                                     "gave this directory to %s, give it back (chown root:root "
                                     "%s)", dir, path, other, u, u, dir)
                      : apr_psprintf(p, "%s (the directory of OAuthASStoreFile %s) cannot be "
                                     "read", dir, path);
        return other ? APR_EEXIST : rv;
    }
    return APR_SUCCESS;
}

/* Make dir (its parents 0755 as this process', dir 0700) and, as root, give
 * dir alone to who. APR_EEXIST: it exists already. */
static apr_status_t make_dir(const char *dir, const oas_store_user_t *who, apr_pool_t *p,
                             const char **perr)
{
    const char *parent = dir_of(dir, p);
    apr_status_t rv;
    int fd;

    rv = apr_dir_make_recursive(parent, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                                        | APR_FPROT_GREAD | APR_FPROT_GEXECUTE
                                        | APR_FPROT_WREAD | APR_FPROT_WEXECUTE, p);
    if (rv == APR_SUCCESS && mkdir(dir, 0700) != 0) {
        rv = errno == EEXIST ? APR_EEXIST : APR_FROM_OS_ERROR(errno);
    }
    if (rv == APR_SUCCESS && geteuid() == 0 && who->uid != 0) {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchown(fd, who->uid, who->gid) != 0) {
            rv = APR_FROM_OS_ERROR(errno);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        char buf[120];
        *perr = apr_psprintf(p, "cannot make the store directory %s for %s: %s", dir,
                             who_name(who, p), apr_strerror(rv, buf, sizeof(buf)));
    }
    return rv;
}

apr_status_t oas_store_dir_prepare(const char *path, const oas_store_user_t *who, int make,
                                   int *pmade, apr_pool_t *p, const char **perr)
{
    const char *dir = dir_of(path, p);
    struct stat st;
    apr_status_t rv;

    *perr = NULL;
    *pmade = 0;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            *perr = apr_psprintf(p, "cannot reach %s (the directory of OAuthASStoreFile %s)",
                                 dir, path);
            return APR_FROM_OS_ERROR(errno);
        }
        if (!make) {
            return APR_SUCCESS;        /* made at start */
        }
        if ((rv = make_dir(dir, who, p, perr)) != APR_EEXIST) {
            *pmade = rv == APR_SUCCESS;
            return rv;
        }
        if (stat(dir, &st) != 0) {
            *perr = apr_psprintf(p, "cannot reach %s", dir);
            return APR_FROM_OS_ERROR(errno);
        }
    }
    return check_dir(dir, path, who, &st, p, perr);
}

apr_status_t oas_store_dir_owner(uid_t *puid, gid_t *pgid, const char *path, apr_pool_t *p,
                                 const char **perr)
{
    const char *dir = dir_of(path, p);
    struct stat st;

    *perr = NULL;
    *puid = 0;
    *pgid = 0;
    if (stat(dir, &st) != 0) {
        *perr = apr_psprintf(p, "cannot reach %s, the store's directory", dir);
        return APR_FROM_OS_ERROR(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        *perr = apr_psprintf(p, "%s (the store's directory) is not a directory", dir);
        return APR_ENOTDIR;
    }
    if (st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        *perr = apr_psprintf(p, "%s, the store's directory, belongs to root and others may "
                             "write to it: a root process cannot safely open files there. "
                             "Give it to httpd's User (chown USER:GROUP %s; chmod 700 %s) "
                             "or let only root write to it", dir, dir, dir);
        return APR_EACCES;
    }
    *puid = st.st_uid;
    *pgid = st.st_gid;
    return APR_SUCCESS;
}

apr_status_t oas_as_user_begin(oas_as_user_t *saved, uid_t uid, gid_t gid, apr_pool_t *p)
{
    apr_status_t rv;
    int n;

    memset(saved, 0, sizeof(*saved));
    if (geteuid() != 0 || uid == 0) {
        return APR_SUCCESS;
    }
    saved->egid = getegid();
    if ((n = getgroups(0, NULL)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    saved->groups = apr_palloc(p, ((apr_size_t)n + 1) * sizeof(gid_t));
    if ((saved->ngroups = getgroups(n, saved->groups)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    saved->active = 1;
    if (setgroups(1, &gid) != 0 || setegid(gid) != 0 || seteuid(uid) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        oas_as_user_end(saved);
        return rv;
    }
    return APR_SUCCESS;
}

void oas_as_user_end(oas_as_user_t *saved)
{
    if (!saved->active) {
        return;
    }
    saved->active = 0;
    if (seteuid(0) != 0 || setegid(saved->egid) != 0
        || setgroups((size_t)saved->ngroups, saved->groups) != 0) {
        abort();
    }
}

apr_status_t oas_become_user(uid_t uid, gid_t gid)
{
    if (geteuid() != 0 || uid == 0) {
        return APR_SUCCESS;
    }
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0
        || setresuid(uid, uid, uid) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}
