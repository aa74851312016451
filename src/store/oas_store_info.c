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
 * Joining the mutex: APR has no "open an existing mutex" call. For flock a
 * child process re-opens the lock file by name (apr_proc_mutex_child_init),
 * and flock locks of separate opens of one file exclude each other, whatever
 * process made them. So a process mutex of our own (on a temporary file) is
 * re-pointed at httpd's lock file that way; its cleanup removes only the
 * temporary file. (The same with a global mutex would not do: its cleanup
 * destroys the re-pointed process mutex, which unlinks httpd's lock file.)
 * fcntl unlinks its file right after creating it, and its child_init is a
 * no-op: joining it would silently lock nothing, hence refused.
 *
 * Whether httpd still runs: the info file is removed when httpd exits
 * cleanly, and names the process; after a crash the process is gone. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "oas_store.h"

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

apr_status_t oas_store_info_write(const char *path, const oas_store_info_t *info, apr_pool_t *p)
{
    const char *text, *dest = apr_pstrcat(p, path, OAS_STORE_INFO_SUFFIX, NULL);
    char *tmp = apr_pstrcat(p, dest, ".XXXXXX", NULL);
    apr_file_t *fp;
    apr_size_t n;
    apr_status_t rv;

    if (info->shm_file == NULL || strpbrk(info->shm_file, "\r\n")
        || (info->lockfile && strpbrk(info->lockfile, "\r\n"))) {
        return APR_EINVAL;
    }
    text = info_text(info, p);
    n = strlen(text);
    if ((rv = apr_file_mktemp(&fp, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                              p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_write_full(fp, text, n, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD
                                     | APR_FPROT_WREAD);
        rv = rv == APR_ENOTIMPL ? APR_SUCCESS : rv;
    }
    apr_file_close(fp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, dest, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        return rv;
    }
    /* removed by APR's own cleanup when p goes (a cleanup of ours would
     * point into httpd's module DSO, unloaded before the process pool) */
    return apr_file_open(&fp, dest, APR_FOPEN_READ | APR_FOPEN_DELONCLOSE, APR_OS_DEFAULT, p);
}

static apr_status_t read_small(char **ptext, const char *file, apr_pool_t *p)
{
    apr_file_t *fp;
    apr_size_t n = INFO_MAX;
    apr_status_t rv;

    if ((rv = apr_file_open(&fp, file, APR_FOPEN_READ, APR_OS_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    *ptext = apr_palloc(p, INFO_MAX + 1);
    rv = apr_file_read_full(fp, *ptext, INFO_MAX, &n);
    apr_file_close(fp);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return rv;
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

static int process_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

apr_status_t oas_store_info_read(oas_store_info_t *info, const char *path, apr_pool_t *p,
                                 const char **perr)
{
    const char *file = apr_pstrcat(p, path, OAS_STORE_INFO_SUFFIX, NULL);
    char *text, *line, *last;
    int format = 0;
    apr_status_t rv;

    memset(info, 0, sizeof(*info));
    *perr = NULL;
    if ((rv = read_small(&text, file, p)) != APR_SUCCESS) {
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
    return APR_SUCCESS;
}

apr_status_t oas_store_info_mutex(apr_proc_mutex_t **pm, const oas_store_info_t *info,
                                  apr_pool_t *p, const char **perr)
{
    char buf[120];
    apr_status_t rv;

    *perr = NULL;
    if (info->mutex == NULL || strcmp(info->mutex, "flock") != 0 || info->lockfile == NULL) {
        *perr = apr_psprintf(p, "httpd guards the store with a '%s' mutex, which another "
                             "process cannot join; use 'Mutex flock:DIR oauth-as-store' "
                             "(the module's default) and restart httpd",
                             info->mutex ? info->mutex : "?");
        return APR_ENOTIMPL;
    }
    rv = apr_proc_mutex_create(pm, NULL, APR_LOCK_FLOCK, p);
    if (rv == APR_SUCCESS) {
        rv = apr_proc_mutex_child_init(pm, info->lockfile, p);
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot open the store's lock file %s: %s (run as root or "
                             "as httpd's User)", info->lockfile,
                             apr_strerror(rv, buf, sizeof(buf)));
    }
    return rv;
}
