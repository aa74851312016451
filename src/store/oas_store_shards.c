/* oas_store_shards.c — the default store's disk tier in SD_SHARDS SDBM files
 * (PATH.0 .. PATH.7, each a .dir and a .pag), a key's shard picked by one
 * byte of its digest that the memory tier's hash does not use.
 *
 * Each shard has its own lock: in a process, a thread mutex (the SDBM handle
 * and the page it caches belong to one thread at a time), and across
 * processes the SDBM file's lock (apr_sdbm_lock, exclusive: flock(2) on the
 * .dir with Debian's APR, fcntl where APR has no flock; the lock of the
 * handle's open file, which the process' threads share, hence the thread
 * mutex before it). The handle is opened with APR_FOPEN_SHARELOCK: the
 * outermost apr_sdbm_lock drops the pages the handle cached, so no process
 * reads a page that another has since rewritten. Readers take the same
 * exclusive lock: a shared one would let readers of one shard overlap across
 * processes only, while their threads still queue on the handle, and it
 * would not survive an fcntl build (locks of the process, not of a handle).
 * An outside copy may hold a shard still with flock(1) on PATH.<i>.dir
 * (docs/stores.md, backup).
 *
 * Lock order: a shard, then the memory tier's lock (the store mutex); never
 * a shard while holding the memory lock, and never two shards at once but
 * in sd_migrate (all of them, in index order, before any request).
 *
 * Migration: a store written before the shards (one PATH.dir / PATH.pag) is
 * copied pair by pair into the shards when the store is made (httpd's
 * parent, or oauth-as-client alone), then its files are removed; the
 * start-up scan that follows checks every record as usual. A crash halfway
 * leaves the old files, and the next start copies again (REPLACE: the same
 * pairs). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "oas_store_dir.h"
#include "oas_store_sd.h"

/* The shards' names and, with threads, their thread mutexes (made once in
 * the process that makes or attaches the store; forked children inherit
 * them unlocked: nothing holds them in httpd's parent). */
apr_status_t sd_shards_init(sd_store_t *sd, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < SD_SHARDS && rv == APR_SUCCESS; i++) {
        sd->shard[i].path = apr_psprintf(p, "%s.%d", sd->path, i);
#if APR_HAS_THREADS
        rv = apr_thread_mutex_create(&sd->shard[i].tmutex, APR_THREAD_MUTEX_DEFAULT, p);
#endif
    }
    return rv;
}

/* Make sure this process has its own handle on the shard. A root process
 * opens the files with their owner's rights only (db_uid): the directory
 * is that user's, who could have put a link to any file there. A handle
 * inherited through fork shares file offsets with the parent: not used. */
apr_status_t sd_disk_open(sd_store_t *sd, sd_shard_t *sh)
{
    oas_as_user_t as;
    apr_status_t rv;

    if (sh->db != NULL && sh->db_pid == oas_pid()) {
        return APR_SUCCESS;
    }
    if (sh->dbpool != NULL) {
        apr_pool_destroy(sh->dbpool);      /* closes only this process' copy */
    }
    sh->dbpool = NULL;
    sh->db = NULL;
    sh->locked = 0;
    if ((rv = apr_pool_create(&sh->dbpool, sd->pool)) == APR_SUCCESS
        && (rv = oas_as_user_begin(&as, sd->db_uid, sd->db_gid, sh->dbpool)) == APR_SUCCESS) {
        rv = apr_sdbm_open(&sh->db, sh->path, APR_FOPEN_READ | APR_FOPEN_WRITE
                           | APR_FOPEN_CREATE | APR_FOPEN_SHARELOCK,
                           APR_FPROT_UREAD | APR_FPROT_UWRITE, sh->dbpool);
        oas_as_user_end(&as);          /* the files stay open: no name is used again */
    }
    if (rv != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00301)
                "token store: cannot open the SDBM file %s%s / %s%s",
                sh->path, APR_SDBM_DIRFEXT, sh->path, APR_SDBM_PAGFEXT);
        sh->db = NULL;                     /* dbpool goes on the next attempt */
        return rv;
    }
    sh->db_pid = oas_pid();
    return APR_SUCCESS;
}

apr_status_t sd_disk_open_all(sd_store_t *sd)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < SD_SHARDS && rv == APR_SUCCESS; i++) {
        rv = sd_disk_open(sd, &sd->shard[i]);
    }
    return rv;
}

void sd_disk_close_all(sd_store_t *sd)
{
    int i;

    for (i = 0; i < SD_SHARDS; i++) {
        if (sd->shard[i].dbpool != NULL && sd->shard[i].db_pid == oas_pid()) {
            apr_pool_destroy(sd->shard[i].dbpool);
        }
        sd->shard[i].dbpool = NULL;
        sd->shard[i].db = NULL;
    }
}

/* After a clean stop, a process that takes a shard (it may write) removes
 * the count, which would no longer be right. */
static void sd_kept_forget(sd_store_t *sd)
{
    char file[1024];

    if (__atomic_load_n(&sd->hdr->sealed, __ATOMIC_ACQUIRE)
        && apr_snprintf(file, sizeof(file), "%s%s", sd->path, SD_KEPT_SUFFIX)
           < (int)sizeof(file)) {
        (void)unlink(file);
    }
}

/* Take the shard for the current operation: this process' threads, then
 * other processes (the file lock). */
apr_status_t sd_shard_lock(sd_store_t *sd, sd_shard_t *sh)
{
    apr_status_t rv = APR_SUCCESS;

#if APR_HAS_THREADS
    if (sh->tmutex && (rv = apr_thread_mutex_lock(sh->tmutex)) != APR_SUCCESS) {
        return rv;
    }
#endif
    if ((rv = sd_disk_open(sd, sh)) == APR_SUCCESS
        && (rv = apr_sdbm_lock(sh->db, APR_FLOCK_EXCLUSIVE)) == APR_SUCCESS) {
        sh->locked = 1;
        sd_atomic_add(&sd->hdr->holds, 1);   /* left up if this process dies holding it */
        sd_kept_forget(sd);
        return APR_SUCCESS;
    }
#if APR_HAS_THREADS
    if (sh->tmutex) {
        (void)apr_thread_mutex_unlock(sh->tmutex);
    }
#endif
    return rv;
}

void sd_shard_unlock(sd_store_t *sd, sd_shard_t *sh)
{
    if (sh->locked) {
        sd_atomic_add(&sd->hdr->holds, -1);
        (void)apr_sdbm_unlock(sh->db);
        sh->locked = 0;
    }
#if APR_HAS_THREADS
    if (sh->tmutex) {
        (void)apr_thread_mutex_unlock(sh->tmutex);
    }
#endif
}

/* ------------------------------------------------------------ migration */

/* The shard of an SDBM key of the old file: a record's (32 bytes) and its
 * second part's (33) go together; anything else (malformed: the start-up
 * scan drops it) to shard 0. */
static sd_shard_t *sd_old_shard(sd_store_t *sd, apr_sdbm_datum_t k)
{
    return &sd->shard[k.dsize > SD_SHARD_BYTE ? SD_SHARD_OF(k.dptr) : 0];
}

/* Copy every pair of old into the shards (all locked). *pn: pairs copied,
 * *pbad: pairs SDBM would not take (counted as malformed). */
static apr_status_t sd_migrate_pairs(sd_store_t *sd, apr_sdbm_t *old, long *pn, long *pbad)
{
    apr_sdbm_datum_t k, v;
    apr_status_t rv;

    for (rv = apr_sdbm_firstkey(old, &k); rv == APR_SUCCESS && k.dptr != NULL;
         rv = apr_sdbm_nextkey(old, &k)) {
        v.dptr = NULL;
        v.dsize = 0;
        if ((rv = apr_sdbm_fetch(old, &v, k)) != APR_SUCCESS) {
            break;
        }
        if (v.dptr == NULL) {
            continue;
        }
        if (apr_sdbm_store(sd_old_shard(sd, k)->db, k, v, APR_SDBM_REPLACE) == APR_SUCCESS) {
            (*pn)++;
        }
        else {
            (*pbad)++;
        }
    }
    return rv == APR_EOF ? APR_SUCCESS : rv;   /* sdbm reports the end as EOF */
}

/* Open the old file (as its owner), lock it, copy it under every shard's
 * lock. */
static apr_status_t sd_migrate_copy(sd_store_t *sd, long *pn, long *pbad, apr_pool_t *p)
{
    apr_sdbm_t *old = NULL;
    oas_as_user_t as;
    apr_status_t rv;
    int i, locked = 0;

    if ((rv = oas_as_user_begin(&as, sd->db_uid, sd->db_gid, p)) == APR_SUCCESS) {
        rv = apr_sdbm_open(&old, sd->path, APR_FOPEN_READ | APR_FOPEN_WRITE
                           | APR_FOPEN_SHARELOCK, APR_OS_DEFAULT, p);
        oas_as_user_end(&as);
    }
    if (rv == APR_SUCCESS && (rv = apr_sdbm_lock(old, APR_FLOCK_EXCLUSIVE)) == APR_SUCCESS) {
        for (i = 0; i < SD_SHARDS && rv == APR_SUCCESS; i++, locked = i) {
            rv = sd_shard_lock(sd, &sd->shard[i]);
        }
        if (rv == APR_SUCCESS) {
            rv = sd_migrate_pairs(sd, old, pn, pbad);
        }
        for (i = 0; i < locked; i++) {
            sd_shard_unlock(sd, &sd->shard[i]);
        }
        (void)apr_sdbm_unlock(old);
    }
    if (old != NULL) {
        apr_sdbm_close(old);
    }
    return rv;
}

/* A store of one SDBM file (PATH.dir, PATH.pag: before the shards) becomes
 * the shards'; its files go once every pair is in a shard (.pag first: a
 * .dir alone is what a crash between the two leaves, and is removed). */
apr_status_t sd_migrate(sd_store_t *sd, apr_pool_t *p)
{
    const char *pag = apr_pstrcat(p, sd->path, APR_SDBM_PAGFEXT, NULL);
    const char *dir = apr_pstrcat(p, sd->path, APR_SDBM_DIRFEXT, NULL);
    struct stat st;
    long n = 0, bad = 0;
    apr_status_t rv;

    if (lstat(pag, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (lstat(dir, &st) == 0 && S_ISREG(st.st_mode)) {
            (void)unlink(dir);
        }
        return APR_SUCCESS;            /* nothing to move (a link: not ours to read) */
    }
    if ((rv = sd_migrate_copy(sd, &n, &bad, p)) != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(09000)
                "token store: cannot move the records of %s into the shard files %s.0 .. "
                "%s.%d", pag, sd->path, sd->path, SD_SHARDS - 1);
        return rv;
    }
    if (unlink(pag) != 0 || (unlink(dir) != 0 && errno != ENOENT)) {
        rv = APR_FROM_OS_ERROR(errno);
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(09001)
                "token store: moved the records of %s into shard files but cannot remove "
                "it", pag);
        return rv;
    }
    sd_atomic_add(&sd->hdr->corrupt, bad);
    OAS_LOG(&sd->log, bad ? OAS_LOG_WARNING : OAS_LOG_NOTICE, 0, OASLOGNO(09002)
            "token store: moved %ld SDBM pairs of %s%s into %d shard files %s.0 .. %s.%d "
            "(%ld malformed ones dropped); removed the old file", n, sd->path,
            APR_SDBM_PAGFEXT, SD_SHARDS, sd->path, sd->path, SD_SHARDS - 1, bad);
    return APR_SUCCESS;
}
