/* oas_store_default_kept.c — the default store's record count kept at a
 * clean stop (PATH.count), so that a start need not read every record of
 * the shards to count them (issue 18: 1,000,000 tokens took 6 to 15 s).
 *
 *   # mod_oauth_as store: ...
 *   format 1
 *   count 123456
 *   file 0.dir DEV INO SIZE MTIME.NS CTIME.NS
 *   file 0.pag ...                           (each of the 16 shard files)
 *
 * Written by oas_store_default_close with every shard locked (no writer in
 * between), only when no process died holding a shard (hdr->holds). Taken
 * at start: the file is removed first (a crash later must leave no count),
 * and used only if it is one we trust (oas_store_small_read: a regular file
 * of root, this process' user or the store's owner, that no one else may
 * write) and every shard file is still the one it names, untouched
 * (device, inode, size, mtime and ctime: a copy put in place, even with the
 * old times kept, has a new ctime). Anything else: the full scan. Expired
 * records counted in it are dropped by the regular purge, which lowers the
 * count for each. The file cannot point anywhere: only the count is read
 * from it, and a count that exceeds what the files could hold is refused.
 * Trust: the count gives no more than the files and the shared memory
 * (httpd's User may write both) give already. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "oas_store_dir.h"
#include "oas_store_sd.h"

#define KEPT_MAX    4096
#define KEPT_HEAD   "# mod_oauth_as store: the record count kept at a clean stop " \
                    "(removed at start; docs/stores.md)\nformat 1\ncount "

static const char *kept_file(const sd_store_t *sd, apr_pool_t *p)
{
    return apr_pstrcat(p, sd->path, SD_KEPT_SUFFIX, NULL);
}

/* The lines naming every shard file as it is now; *pbytes: their sizes
 * added up (a bound for the count). NULL if one is missing or not a
 * regular file. */
static const char *kept_files(const sd_store_t *sd, apr_off_t *pbytes, apr_pool_t *p)
{
    static const char *const ext[2] = { APR_SDBM_DIRFEXT, APR_SDBM_PAGFEXT };
    const char *text = "";
    struct stat st;
    int i, j;

    *pbytes = 0;
    for (i = 0; i < SD_SHARDS; i++) {
        for (j = 0; j < 2; j++) {
            if (lstat(apr_pstrcat(p, sd->shard[i].path, ext[j], NULL), &st) != 0
                || !S_ISREG(st.st_mode)) {
                return NULL;
            }
            *pbytes += st.st_size;
            text = apr_psprintf(p, "%sfile %d%s %" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT
                                " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT ".%09ld %"
                                APR_INT64_T_FMT ".%09ld\n", text, i, ext[j],
                                (apr_uint64_t)st.st_dev, (apr_uint64_t)st.st_ino,
                                (apr_int64_t)st.st_size, (apr_int64_t)st.st_mtim.tv_sec,
                                (long)st.st_mtim.tv_nsec, (apr_int64_t)st.st_ctim.tv_sec,
                                (long)st.st_ctim.tv_nsec);
        }
    }
    return text;
}

/* A count of decimal digits only, then a newline, within what bytes of
 * files could hold (a record's key alone is SD_KEY_LEN bytes); -1 if not. */
static long kept_number(const char *s, const char **pend, apr_off_t bytes)
{
    long long n = 0;
    int d;

    for (d = 0; s[d] >= '0' && s[d] <= '9'; d++) {
        if (d >= 15) {
            return -1;
        }
        n = n * 10 + (s[d] - '0');
    }
    if (d == 0 || s[d] != '\n' || (d > 1 && s[0] == '0') || n * SD_KEY_LEN > bytes) {
        return -1;
    }
    *pend = s + d + 1;
    return (long)n;
}

/* Remove PATH.count (as the files' owner when root); 0, or errno. */
static int kept_remove(const sd_store_t *sd, const char *file, apr_pool_t *p)
{
    oas_as_user_t as;
    int err = 0;

    if (oas_as_user_begin(&as, sd->db_uid, sd->db_gid, p) != APR_SUCCESS) {
        return EPERM;
    }
    if (unlink(file) != 0 && errno != ENOENT) {
        err = errno;
    }
    oas_as_user_end(&as);
    return err;
}

apr_status_t sd_kept_take(sd_store_t *sd, long *pcount, const char **pwhy, apr_pool_t *p)
{
    const char *file = kept_file(sd, p), *files, *rest = NULL;
    char *text = NULL;
    apr_off_t bytes;
    apr_status_t rv;
    long n;
    int err;

    *pcount = 0;
    rv = oas_store_small_read(&text, file, sd->db_uid, KEPT_MAX, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *pwhy = "none kept: the last stop was not clean, or this is the first start";
        return APR_EGENERAL;
    }
    if ((err = kept_remove(sd, file, p)) != 0) {
        *pwhy = apr_psprintf(p, "cannot remove it: %s", strerror(err));
        return APR_EGENERAL;
    }
    if (rv != APR_SUCCESS) {
        *pwhy = rv == APR_EACCES ? "not a file to trust (owner, mode, links or size)"
                                 : "unreadable";
        return APR_EGENERAL;
    }
    files = kept_files(sd, &bytes, p);
    if (strncmp(text, KEPT_HEAD, sizeof(KEPT_HEAD) - 1) != 0
        || (n = kept_number(text + sizeof(KEPT_HEAD) - 1, &rest, bytes)) < 0) {
        *pwhy = "malformed, or a count the files cannot hold";
        return APR_EGENERAL;
    }
    if (files == NULL || strcmp(rest, files) != 0) {
        *pwhy = "a shard file changed since (written, replaced or restored)";
        return APR_EGENERAL;
    }
    *pcount = n;
    return APR_SUCCESS;
}

/* Every shard locked: write PATH.count unless a process died holding a
 * shard, or someone else wrote one meanwhile (another store on the same
 * files: then neither count is sure, and none is kept). */
static apr_status_t kept_write(sd_store_t *sd, apr_pool_t *p)
{
    const char *file = kept_file(sd, p), *files;
    apr_off_t bytes;
    struct stat st;

    if (__atomic_load_n(&sd->hdr->holds, __ATOMIC_RELAXED) != 0) {
        return APR_EGENERAL;
    }
    if (lstat(file, &st) == 0 || errno != ENOENT) {
        (void)kept_remove(sd, file, p);
        return APR_EEXIST;
    }
    if ((files = kept_files(sd, &bytes, p)) == NULL) {
        return APR_ENOENT;
    }
    __atomic_store_n(&sd->hdr->sealed, 1, __ATOMIC_RELEASE);
    return oas_store_small_write(file, apr_psprintf(p, "%s%ld\n%s", KEPT_HEAD,
                                 __atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED),
                                 files), p);
}

/* Lock every shard (as another process would, in index order) through
 * handles of its own: at httpd's exit the store's own handles, in pools
 * younger than the configuration's, are closed already. */
static apr_status_t kept_lock_all(sd_store_t *sd, apr_sdbm_t **db, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    oas_as_user_t as;
    int i;

    for (i = 0; i < SD_SHARDS && rv == APR_SUCCESS; i++) {
        if ((rv = oas_as_user_begin(&as, sd->db_uid, sd->db_gid, p)) == APR_SUCCESS) {
            rv = apr_sdbm_open(&db[i], sd->shard[i].path, APR_FOPEN_READ | APR_FOPEN_WRITE
                               | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p);
            oas_as_user_end(&as);
        }
        if (rv == APR_SUCCESS && (rv = apr_sdbm_lock(db[i], APR_FLOCK_EXCLUSIVE)) != APR_SUCCESS) {
            apr_sdbm_close(db[i]);
        }
        if (rv != APR_SUCCESS) {
            db[i] = NULL;
        }
    }
    return rv;
}

apr_status_t oas_store_default_close(oas_store_t *s, apr_pool_t *p)
{
    apr_sdbm_t *db[SD_SHARDS] = { NULL };
    sd_store_t *sd;
    apr_status_t rv;
    int i;

    if (s == NULL || s->purge != sd_purge || (sd = s->baton) == NULL || sd->joined != NULL
        || sd->hdr == NULL || sd->hdr->maker != (long)getpid()) {
        return APR_SUCCESS;                /* not the maker: nothing to keep */
    }
    if ((rv = kept_lock_all(sd, db, p)) == APR_SUCCESS) {
        rv = kept_write(sd, p);
    }
    for (i = 0; i < SD_SHARDS; i++) {
        if (db[i] != NULL) {
            (void)apr_sdbm_unlock(db[i]);
            apr_sdbm_close(db[i]);
        }
    }
    OAS_LOG(&sd->log, OAS_LOG_DEBUG, rv, OASLOGNO(09400)
            "token store %s: %s", sd->path, rv == APR_SUCCESS
            ? "kept the count of records on disk for the next start"
            : rv == APR_EGENERAL ? "no count kept: a process died holding a shard (the next "
                                   "start reads every record)"
            : "no count kept (the next start reads every record)");
    return rv;
}
