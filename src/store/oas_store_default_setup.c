/* oas_store_default_setup.c — making the default store: in httpd's parent
 * (shared memory, an SDBM file of before the shards migrated, the shards
 * scanned, PATH.info for oauth-as-client), and
 * in oauth-as-client (attach to a running httpd's store through PATH.info).
 * The start counts the records on disk: from PATH.count when the last stop
 * was clean (oas_store_default_kept.c), else by reading them all.
 * Also the graceful-restart helpers (rebind, same). */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>

#include "oas_store_dir.h"
#include "oas_store_sd.h"

static apr_status_t sd_shm_create(sd_store_t *sd, const char *shm_file, apr_pool_t *p)
{
    apr_uint32_t nslots = 1;
    apr_size_t off = APR_ALIGN_DEFAULT(sizeof(sd_header_t)), size;
    apr_status_t rv;
    void *base;

    while (nslots < 2u * (apr_uint32_t)sd->mem_entries) {
        nslots <<= 1;
    }
    size = off + (apr_size_t)nslots * sizeof(sd_slot_t);
    if (shm_file != NULL) {
        (void)apr_shm_remove(shm_file, p);  /* left by a crash: nobody uses it */
    }
    if ((rv = apr_shm_create(&sd->shm, size, shm_file, p)) != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00303)
                "token store: cannot create %" APR_SIZE_T_FMT " bytes of shared memory "
                "for %d entries%s%s", size, sd->mem_entries, shm_file ? " named " : "",
                shm_file ? shm_file : "");
        return rv;
    }
    base = apr_shm_baseaddr_get(sd->shm);
    memset(base, 0, size);
    sd->hdr = base;
    sd->hdr->magic = SD_MAGIC;
    sd->hdr->nslots = nslots;
    sd->nslots = nslots;
    sd->hdr->slots_off = (apr_uint32_t)off;
    sd->hdr->slot_size = (apr_uint32_t)sizeof(sd_slot_t);
    sd->hdr->mem_cap = sd->mem_entries;
    sd->hdr->disk_cap = sd->disk_entries;
    sd->hdr->maker = (long)getpid();
    sd->slots = (sd_slot_t *)((char *)base + off);
    return APR_SUCCESS;
}

/* Count the shards' live records; drop expired and corrupt ones. */
static apr_status_t sd_disk_scan(sd_store_t *sd, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    long long now = sd_now();
    apr_status_t rv = APR_SUCCESS;
    long corrupt;
    int i;

    sd->hdr->disk_count = 0;
    for (i = 0; rv == APR_SUCCESS && i < SD_SHARDS; i++) {
        if ((rv = sd_shard_lock(sd, &sd->shard[i])) == APR_SUCCESS) {
            rv = sd_disk_sweep(sd, i, NULL, now, 0, 1, &res, p);
            sd_shard_unlock(sd, &sd->shard[i]);
        }
    }
    sd->hdr->disk_count = res.kept;
    corrupt = sd->hdr->corrupt;
    if (rv != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00304)
                "token store: cannot read the SDBM file %s.%d", sd->path, i - 1);
        return rv;
    }
    OAS_LOG(&sd->log, corrupt ? OAS_LOG_WARNING : OAS_LOG_DEBUG, 0, OASLOGNO(00305)
            "token store %s: %ld live entries on disk, dropped %d expired and %ld "
            "malformed records", sd->path, res.kept, res.expired, corrupt);
    return APR_SUCCESS;
}

/* The records on disk: the count kept at the last clean stop when it still
 * fits the shards (oas_store_default_kept.c), else a scan of every record.
 * Either way PATH.count is gone before the first request. */
static apr_status_t sd_disk_count(sd_store_t *sd, apr_pool_t *p)
{
    apr_time_t t0 = apr_time_now();
    const char *why = "unread";
    apr_status_t rv;
    long n;

    if (sd_kept_take(sd, &n, &why, p) == APR_SUCCESS) {
        int i;

        /* no record is read, so no revocation marker on disk is seen:
         * every family may have one, and a member read from disk looks at
         * its marker (the filter of revoked families cannot say "none") */
        for (i = 0; i < SD_REVOKED_BUCKETS; i++) {
            sd->hdr->revoked_until[i] = __LONG_LONG_MAX__;
        }
        sd->hdr->disk_count = n;
        sd->hdr->start_kept = 1;
        sd->hdr->start_usec = apr_time_now() - t0;
        OAS_LOG(&sd->log, OAS_LOG_DEBUG, 0, OASLOGNO(09401)
                "token store %s: %ld records on disk, counted at the last clean stop "
                "(%s%s): no scan, ready in %.3f s", sd->path, n, sd->path, SD_KEPT_SUFFIX,
                (double)(apr_time_now() - t0) / APR_USEC_PER_SEC);
        return APR_SUCCESS;
    }
    rv = sd_disk_scan(sd, p);
    sd->hdr->start_usec = apr_time_now() - t0;
    OAS_LOG(&sd->log, OAS_LOG_DEBUG, rv, OASLOGNO(09402)
            "token store %s: no count kept in %s%s (%s): read every record, in %.3f s",
            sd->path, sd->path, SD_KEPT_SUFFIX, why,
            (double)(apr_time_now() - t0) / APR_USEC_PER_SEC);
    return rv;
}

static apr_status_t sd_conf_check(const oas_store_default_conf_t *conf)
{
    if (conf == NULL || conf->path == NULL || *conf->path == '\0' || conf->mutex == NULL
        || conf->mem_entries < 1 || conf->mem_entries > SD_MEM_MAX
        || conf->disk_entries < 1) {
        OAS_LOG(conf ? conf->log : NULL, OAS_LOG_ERR, APR_EINVAL, OASLOGNO(00307)
                "token store: invalid settings (path, mutex, memory 1..%d, disk >= 1)",
                SD_MEM_MAX);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* With named memory: PATH.info tells oauth-as-client how to join. */
static apr_status_t sd_info_write(sd_store_t *sd, const oas_store_default_conf_t *conf,
                                  apr_pool_t *p)
{
    oas_store_info_t info;
    apr_status_t rv;

    if (conf->shm_file == NULL) {
        return APR_SUCCESS;
    }
    memset(&info, 0, sizeof(info));
    info.pid = (long)getpid();
    info.shm_file = conf->shm_file;
    info.mutex = apr_global_mutex_name(conf->mutex);
    info.lockfile = apr_global_mutex_lockfile(conf->mutex);
    info.mem_entries = sd->mem_entries;
    info.disk_entries = sd->disk_entries;
    if ((rv = oas_store_info_write(sd->path, &info, p)) != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00308)
                "token store: cannot write %s%s", sd->path, OAS_STORE_INFO_SUFFIX);
    }
    return rv;
}

/* In a new process: re-attach the mutex, open our own SDBM handles (before
 * any thread of the process runs). */
static apr_status_t sd_child_init(oas_store_t *s, apr_pool_t *p)
{
    sd_store_t *sd = s->baton;
    apr_status_t rv;

    if (sd->mutex_file != NULL
        && (rv = apr_global_mutex_child_init(&sd->mutex, sd->mutex_file, p)) != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00302)
                "token store: cannot re-attach the store mutex in a child process");
        return rv;
    }
    if (sd->shard[0].db_pid != oas_pid()) {
        sd->pool = p;                      /* this process' handles live in p */
    }
    return sd_disk_open_all(sd);
}

/* For tests of sd_mem_recover (oas_store_default.c): take a shard and the
 * lock, start changing a slot, and stay there (the caller, a forked child,
 * then dies holding both: the shard's count of holders stays up, and no
 * count is kept at the clean stop: oas_store_default_kept.c). */
apr_status_t oas_store_default_die_in_write(oas_store_t *s)
{
    sd_store_t *sd = s->baton;
    apr_status_t rv;

    if ((rv = sd_shard_lock(sd, &sd->shard[0])) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    sd_write_begin(sd);
    memset(&sd->slots[0], 0xa5, offsetof(sd_slot_t, data));   /* a torn slot */
    return APR_SUCCESS;
}

long oas_store_default_swept(oas_store_t *s)
{
    sd_store_t *sd = s->baton;

    return __atomic_load_n(&sd->hdr->swept, __ATOMIC_RELAXED);
}

void oas_store_default_test_pause(oas_store_t *s, void (*fn)(void *), void *arg)
{
    (void)s;
    sd_test_pause = fn;
    sd_test_arg = arg;
}

/* The operations of the default store: the table of oas_store_default.c,
 * the counters of oas_store_default_count.c and the operations on many keys
 * of oas_store_default_walk.c (kept apart so that no file calls another
 * back). */
static void sd_ops(oas_store_t *s)
{
    *s = sd_table;
    s->count = sd_count;
    s->remove_family = sd_remove_family;
    s->purge = sd_purge;
    s->iterate = sd_iterate;
    s->stats = sd_stats;
    s->put_many = sd_put_many;
    s->child_init = sd_child_init;
}

/* Map the named memory of a running store; refuse one of another layout.
 * Its header is read once: httpd's User may write the memory, and what was
 * checked is what is used (the table's size and place). */
static apr_status_t sd_shm_attach(sd_store_t *sd, const char *shm_file, apr_pool_t *p)
{
    apr_size_t size, off = APR_ALIGN_DEFAULT(sizeof(sd_header_t));
    apr_uint32_t nslots;
    apr_status_t rv;
    sd_header_t *h;

    if ((rv = apr_shm_attach(&sd->shm, shm_file, p)) != APR_SUCCESS) {
        return rv;
    }
    size = apr_shm_size_get(sd->shm);
    h = apr_shm_baseaddr_get(sd->shm);
    nslots = size < sizeof(*h) ? 0 : __atomic_load_n(&h->nslots, __ATOMIC_RELAXED);
    if (nslots == 0 || h->magic != SD_MAGIC || h->slot_size != sizeof(sd_slot_t)
        || h->slots_off != off || (nslots & (nslots - 1)) != 0
        || size < off + (apr_size_t)nslots * sizeof(sd_slot_t)) {
        apr_shm_detach(sd->shm);
        return APR_EINVAL;
    }
    sd->hdr = h;
    sd->nslots = nslots;
    sd->slots = (sd_slot_t *)((char *)h + off);
    sd->mem_entries = (int)h->mem_cap;
    sd->disk_entries = (int)h->disk_cap;
    return APR_SUCCESS;
}

apr_status_t oas_store_default_create(oas_store_t **ps, const oas_store_default_conf_t *conf,
                                      apr_pool_t *p)
{
    oas_store_t *s;
    sd_store_t *sd;
    apr_status_t rv;

    *ps = NULL;
    if ((rv = sd_conf_check(conf)) != APR_SUCCESS) {
        return rv;
    }
    s = apr_palloc(p, sizeof(*s));
    sd = apr_pcalloc(p, sizeof(*sd));
    sd->path = apr_pstrdup(p, conf->path);
    sd->mem_entries = conf->mem_entries;
    sd->disk_entries = conf->disk_entries;
    sd->mutex = conf->mutex;
    sd->mutex_file = conf->mutex_file ? apr_pstrdup(p, conf->mutex_file) : NULL;
    if (conf->log) {
        sd->log = *conf->log;
    }
    sd->pool = p;
    sd->db_uid = conf->file_uid;
    sd->db_gid = conf->file_gid;
    if ((rv = sd_shm_create(sd, conf->shm_file, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = sd_shards_init(sd, p)) != APR_SUCCESS || (rv = sd_disk_open_all(sd)) != APR_SUCCESS
        || (rv = sd_migrate(sd, p)) != APR_SUCCESS || (rv = sd_disk_count(sd, p)) != APR_SUCCESS
        || (rv = sd_info_write(sd, conf, p)) != APR_SUCCESS) {
        sd_disk_close_all(sd);
        apr_shm_destroy(sd->shm);
        return rv;
    }
    sd_ops(s);
    s->baton = sd;
    *ps = s;
    return APR_SUCCESS;
}

apr_status_t oas_store_default_attach(oas_store_t **ps, const char *path,
                                      const oas_logger_t *log, apr_pool_t *p,
                                      const char **perr)
{
    oas_store_info_t info;
    oas_store_t *s;
    sd_store_t *sd;
    char buf[120];
    apr_status_t rv;

    *ps = NULL;
    if ((rv = oas_store_info_read(&info, path, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    sd = apr_pcalloc(p, sizeof(*sd));
    if ((rv = oas_store_dir_owner(&sd->db_uid, &sd->db_gid, path, p, perr)) != APR_SUCCESS) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_EGENERAL : rv;
    }
    sd->path = apr_pstrdup(p, path);
    sd->pool = p;
    if (log) {
        sd->log = *log;
    }
    if ((rv = oas_store_info_mutex(&sd->joined, &info, p, perr)) != APR_SUCCESS) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_EGENERAL : rv;   /* not "no httpd" */
    }
    if ((rv = sd_shm_attach(sd, info.shm_file, p)) != APR_SUCCESS
        && APR_STATUS_IS_ENOENT(rv)) {
        *perr = apr_psprintf(p, "%s is gone: process %ld no longer runs httpd",
                             info.shm_file, info.pid);
        return APR_ENOENT;             /* httpd removes it at exit */
    }
    if (rv == APR_SUCCESS && (rv = sd_shards_init(sd, p)) == APR_SUCCESS) {
        rv = sd_disk_open_all(sd);
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot attach to the store of process %ld (%s, %s.0..%d%s): %s",
                             info.pid, info.shm_file, path, SD_SHARDS - 1, APR_SDBM_PAGFEXT,
                             rv == APR_EINVAL ? "another version's memory layout"
                                              : apr_strerror(rv, buf, sizeof(buf)));
        return APR_STATUS_IS_ENOENT(rv) ? APR_EGENERAL : rv;
    }
    s = apr_palloc(p, sizeof(*s));
    sd_ops(s);
    s->baton = sd;
    *ps = s;
    return APR_SUCCESS;
}

int oas_store_default_started(const oas_store_t *s, double *pseconds)
{
    const sd_store_t *sd = s ? s->baton : NULL;

    if (sd == NULL || s->purge != sd_purge || sd->hdr == NULL) {
        return -1;
    }
    if (pseconds) {
        *pseconds = (double)sd->hdr->start_usec / APR_USEC_PER_SEC;
    }
    return sd->hdr->start_kept != 0;
}

/* The table's functions (and its name) live in the module's code, which
 * httpd unloads and loads again on a restart: take them from the code loaded
 * now. Only the baton (pool memory) is read from the old table. */
void oas_store_default_rebind(oas_store_t *s)
{
    void *baton;

    if (s == NULL) {
        return;
    }
    baton = s->baton;
    sd_ops(s);
    s->baton = baton;
}

/* s must be a default store. Nothing of s itself is read but its baton: a
 * store kept across a restart still points at strings and functions of the
 * module loaded before (oas_store_default_rebind mends that afterwards). A
 * memory tier of another layout (SD_MAGIC: a module of another version
 * loaded since) is not the same. */
int oas_store_default_same(const oas_store_t *s, const oas_store_default_conf_t *conf)
{
    const sd_store_t *sd;

    if (s == NULL || s->baton == NULL || conf == NULL || conf->path == NULL) {
        return 0;
    }
    sd = s->baton;
    return strcmp(sd->path, conf->path) == 0 && sd->mem_entries == conf->mem_entries
           && sd->disk_entries == conf->disk_entries && sd->hdr != NULL
           && sd->hdr->magic == SD_MAGIC;
}
