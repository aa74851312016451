/* oas_store_info.c — PATH.info of the default store: how oauth-as-client
 * finds the shared memory and the mutex of a running httpd.
 *
 *   # mod_oauth_as store ...
 *   format 1
 *   pid 1234
 *   shm /var/lib/apache2/oauth_as/store.shm
 *   mutex flock
 *   lockfile /var/run/apache2/oauth-as-store-....1234
 *   memory 1000
 *   disk 20000
 *
 * Joining the mutex: APR has no "open an existing mutex" call. flock locks
 * of separate opens of one file exclude each other, whatever process made
 * them: so we open httpd's lock file ourselves (no link followed) and make
 * a process mutex of that descriptor (apr_os_proc_mutex_put_ex, with no
 * cleanup: nothing of httpd's is ever removed). fcntl unlinks its file
 * right after creating it: joining it would silently lock nothing, hence
 * refused.
 *
 * Whether httpd still runs: the info file is removed when httpd exits
 * cleanly, and names the process; after a crash the process is gone.
 *
 * Trust: httpd's parent writes the file as root, in the store's directory,
 * which httpd's User owns. oauth-as-client (root) reads only a regular
 * file that root or its own user wrote and no one else may write, and
 * checks every field against what httpd would have written for this path:
 * nothing that User puts there can point it at another file. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "oas_store.h"
#include "oas_store_dir.h"

#define INFO_FORMAT 1
#define INFO_MAX    4096

static const char *info_text(const oas_store_info_t *info, apr_pool_t *p)
{
    return apr_psprintf(p, "# mod_oauth_as store: how oauth-as-client joins it "
                        "(written at start, removed at exit)\n"
                        "format %d\npid %ld\nshm %s\nmutex %s\nlockfile %s\n"
                        "memory %ld\ndisk %ld\n", INFO_FORMAT, info->pid, info->shm_file,
                        info->mutex ? info->mutex : "none",
                        info->lockfile ? info->lockfile : "-",
                        info->mem_entries, info->disk_entries);
}

/* Write text as file, atomically (a temporary file of a name no one else
 * can have taken, then renamed over file): mode 0644, owned by this process'
 * user. Used for PATH.info and PATH.count (oas_store_default_kept.c). */
apr_status_t oas_store_small_write(const char *file, const char *text, apr_pool_t *p)
{
    char *tmp = apr_pstrcat(p, file, ".XXXXXX", NULL);
    apr_file_t *fp;
    apr_os_file_t fd;
    apr_status_t rv;

    if ((rv = apr_file_mktemp(&fp, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                              p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_write_full(fp, text, strlen(text), NULL);
    if (rv == APR_SUCCESS && apr_os_file_get(&fd, fp) == APR_SUCCESS
        && fchmod(fd, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH) != 0) {
        rv = APR_FROM_OS_ERROR(errno);  /* not chmod by name: the directory is not ours */
    }
    apr_file_close(fp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, file, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
    }
    return rv;
}

apr_status_t oas_store_info_write(const char *path, const oas_store_info_t *info, apr_pool_t *p)
{
    const char *dest = apr_pstrcat(p, path, OAS_STORE_INFO_SUFFIX, NULL);
    apr_file_t *fp;
    apr_status_t rv;

    if (info->shm_file == NULL || strpbrk(info->shm_file, "\r\n")
        || (info->lockfile && strpbrk(info->lockfile, "\r\n"))) {
        return APR_EINVAL;
    }
    if ((rv = oas_store_small_write(dest, info_text(info, p), p)) != APR_SUCCESS) {
        return rv;
    }
    /* removed by APR's own cleanup when p goes (a cleanup of ours would
     * point into httpd's module DSO, unloaded before the process pool);
     * non-blocking, should a FIFO have taken its place meanwhile */
    return apr_file_open(&fp, dest, APR_FOPEN_READ | APR_FOPEN_DELONCLOSE | APR_FOPEN_NONBLOCK,
                         APR_OS_DEFAULT, p);
}

/* A small file (at most max bytes) that root, this process' user or owner
 * wrote: a regular file (not a link: O_NOFOLLOW; not a FIFO: O_NONBLOCK),
 * of one name, that no one else may write. APR_EACCES otherwise. Used for
 * PATH.info and PATH.count. */
apr_status_t oas_store_small_read(char **ptext, const char *file, uid_t owner,
                                  apr_size_t max, apr_pool_t *p)
{
    struct stat st;
    ssize_t n;
    int fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    *ptext = NULL;
    if (fd < 0) {
        return errno == ELOOP ? APR_EACCES : APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1
        || (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != owner)
        || (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size > (off_t)max) {
        close(fd);
        return APR_EACCES;
    }
    *ptext = apr_palloc(p, max + 1);
    n = read(fd, *ptext, max);
    close(fd);
    if (n < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    (*ptext)[n] = '\0';
    return APR_SUCCESS;
}

/* Take one "key value" line into info; 0 if the key or value is bad. */
static int info_line(oas_store_info_t *info, int *pformat, char *line, apr_pool_t *p)
{
    char *val = strchr(line, ' '), *end;
    long num;

    if (line[0] == '#' || line[0] == '\0') {
        return 1;
    }
    if (val == NULL || val[1] == '\0') {
        return 0;
    }
    *val++ = '\0';
    num = strtol(val, &end, 10);
    if (strcmp(line, "shm") == 0) {
        info->shm_file = apr_pstrdup(p, val);
    }
    else if (strcmp(line, "mutex") == 0) {
        info->mutex = apr_pstrdup(p, val);
    }
    else if (strcmp(line, "lockfile") == 0) {
        info->lockfile = strcmp(val, "-") == 0 ? NULL : apr_pstrdup(p, val);
    }
    else if (*end != '\0' || num < 0) {
        return 0;                      /* the rest are numbers */
    }
    else if (strcmp(line, "format") == 0) {
        *pformat = (int)num;
    }
    else if (strcmp(line, "pid") == 0) {
        info->pid = num;
    }
    else if (strcmp(line, "memory") == 0) {
        info->mem_entries = num;
    }
    else if (strcmp(line, "disk") == 0) {
        info->disk_entries = num;
    }
    return 1;                          /* unknown keys: from a later version */
}

const char *oas_store_mutex_id(const char *path, apr_pool_t *p)
{
    unsigned char digest[OAS_DIGEST_LEN];

    oas_sha256(digest, path, strlen(path));
    return oas_hex(p, digest, 8);
}

/* The lock file httpd's mutex of this store has: DIR/TYPE-ID or
 * DIR/TYPE-ID.PID, DIR absolute and without "." or ".." parts. */
static int lockfile_ok(const char *lockfile, const char *path, long pid, apr_pool_t *p)
{
    const char *base = strrchr(lockfile, '/');
    const char *want = apr_pstrcat(p, OAS_STORE_MUTEX_TYPE, "-", oas_store_mutex_id(path, p),
                                   NULL);

    if (lockfile[0] != '/' || strstr(lockfile, "/./") || strstr(lockfile, "/../")
        || strstr(lockfile, "//")) {
        return 0;
    }
    base++;
    return strcmp(base, want) == 0
           || strcmp(base, apr_psprintf(p, "%s.%ld", want, pid)) == 0;
}

/* What is wrong with the fields of a well-formed info file, or NULL. */
static const char *info_check(const oas_store_info_t *info, const char *path, apr_pool_t *p)
{
    const char *m;

    if (info->pid > INT_MAX) {
        return "pid out of range";
    }
    if (strcmp(info->shm_file, apr_pstrcat(p, path, ".shm", NULL)) != 0) {
        return apr_psprintf(p, "shm is not %s.shm", path);
    }
    for (m = info->mutex; *m; m++) {
        if (!((*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9') || *m == '_')) {
            return "mutex is not a mechanism's name";
        }
    }
    if (info->lockfile && !lockfile_ok(info->lockfile, path, info->pid, p)) {
        return apr_psprintf(p, "lockfile is not DIR/%s-%s[.PID]", OAS_STORE_MUTEX_TYPE,
                            oas_store_mutex_id(path, p));
    }
    return NULL;
}

static int process_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

apr_status_t oas_store_info_read(oas_store_info_t *info, const char *path, apr_pool_t *p,
                                 const char **perr)
{
    const char *file = apr_pstrcat(p, path, OAS_STORE_INFO_SUFFIX, NULL), *err;
    char *text, *line, *last;
    int format = 0;
    apr_status_t rv;

    memset(info, 0, sizeof(*info));
    *perr = NULL;
    if ((rv = oas_store_small_read(&text, file, 0, INFO_MAX, p)) == APR_EACCES) {
        *perr = apr_psprintf(p, "%s: refused: not a regular file that only root (or you) "
                             "may write; the store's directory belongs to httpd's User, and "
                             "this file was not written by httpd. Remove it and restart "
                             "httpd", file);
        return APR_EACCES;
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "%s: cannot read it", file);
        return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
    }
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        if (!info_line(info, &format, line, p)) {
            *perr = apr_psprintf(p, "%s: malformed line (key value)", file);
            return APR_EINVAL;
        }
    }
    if (format != INFO_FORMAT || info->pid <= 0 || info->shm_file == NULL
        || info->mutex == NULL) {
        *perr = apr_psprintf(p, "%s: not a store info file of this version (format %d)",
                             file, format);
        return APR_EINVAL;
    }
    if (!process_alive(info->pid)) {
        *perr = apr_psprintf(p, "%s: process %ld is gone", file, info->pid);
        return APR_ENOENT;
    }
    if ((err = info_check(info, path, p)) != NULL) {
        *perr = apr_psprintf(p, "%s: refused: %s", file, err);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Open httpd's lock file without following a link or blocking on a FIFO
 * (its directory may be httpd's User's: Debian's APACHE_LOCK_DIR is). */
static apr_status_t open_lockfile(int *pfd, const char *lockfile)
{
    struct stat st;
    int fd = open(lockfile, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return APR_EACCES;
    }
    *pfd = fd;
    return APR_SUCCESS;
}

apr_status_t oas_store_info_mutex(apr_proc_mutex_t **pm, const oas_store_info_t *info,
                                  apr_pool_t *p, const char **perr)
{
    apr_os_proc_mutex_t os;
    char buf[120];
    apr_status_t rv;
    int fd = -1;

    *perr = NULL;
    if (info->mutex == NULL || strcmp(info->mutex, "flock") != 0 || info->lockfile == NULL) {
        *perr = apr_psprintf(p, "httpd guards the store with a '%s' mutex, which another "
                             "process cannot join; use 'Mutex flock:DIR oauth-as-store' "
                             "(the module's default) and restart httpd",
                             info->mutex ? info->mutex : "?");
        return APR_ENOTIMPL;
    }
    *pm = NULL;
    memset(&os, 0, sizeof(os));
    if ((rv = open_lockfile(&fd, info->lockfile)) == APR_SUCCESS) {
        os.crossproc = fd;             /* flock on our own open of httpd's file */
        rv = apr_os_proc_mutex_put_ex(pm, &os, APR_LOCK_FLOCK, 0, p);
    }
    if (rv != APR_SUCCESS) {
        if (fd >= 0) {
            close(fd);
        }
        *perr = apr_psprintf(p, "cannot open the store's lock file %s: %s (run as root or "
                             "as httpd's User)", info->lockfile,
                             rv == APR_EACCES ? "not a regular file"
                                              : apr_strerror(rv, buf, sizeof(buf)));
    }
    return rv;
}
