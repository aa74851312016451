/* oas_store_sd.h — internals of the default store (not an API: that is
 * include/oas_store.h), shared by its files:
 *   oas_store_default.c        the memory tier, locking, operations on one key
 *   oas_store_default_walk.c   operations on many keys (purge, revocation, iterate)
 *   oas_store_sdbm.c           the disk tier: records in the SDBM files
 *   oas_store_shards.c         the disk tier's shards: their locks, walks, migration
 *   oas_store_default_setup.c  creation in httpd's parent, attach (oauth-as-client)
 *   oas_store_default_kept.c   the record count kept at a clean stop (PATH.count)
 *   oas_store_default_batch.c  put_many: several puts, then a look at a marker
 * How the tiers work together: the comment at the top of oas_store_default.c. */
#ifndef OAS_STORE_SD_H
#define OAS_STORE_SD_H

#include <string.h>
#include <sys/types.h>

#include <apr_global_mutex.h>
#include <apr_proc_mutex.h>
#include <apr_sdbm.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "oas_log.h"
#include "oas_store.h"

/* shared between the store's files, not exported from mod_oauth_as.so */
#define SD_HIDDEN __attribute__((visibility("hidden")))

#define SD_MAGIC      0x4f415345u          /* "OASE": the header of revocation generations */
#define SD_KEY_LEN    OAS_DIGEST_LEN
#define SD_REC_HDR    27                   /* kind 1 + exp 8 + family 16 + len 2 */
#define SD_REC_MAX    (SD_REC_HDR + OAS_ENTRY_MAX)
#define SD_PART_MAX   470                  /* most value bytes in one SDBM pair */
#define SD_CONT_TAG   'c'                  /* last byte of a second part's key */
#define SD_SUM_LEN    4                    /* the sum before a second part */
#define SD_MEM_MAX    (1 << 22)            /* sanity bound of mem_entries */
#define SD_PURGE_MAX  256                  /* most expired records an inline purge drops */
#define SD_ECORRUPT   APR_EINVAL           /* internal: malformed disk record */
#define SD_EROOM      APR_OS_START_USERERR /* internal: the disk tier is full, make room */
#define SD_EFAMILY    (APR_OS_START_USERERR + 1) /* internal: look at a family's marker first */
#define SD_REVOKED_BUCKETS 4096            /* the filter of revoked families (below) */
#define SD_SHARDS     OAS_STORE_SHARDS     /* SDBM files of the disk tier (PATH.0 ...) */
#define SD_SHARD_BYTE 8                    /* the key byte that picks one (the memory
                                            * tier hashes bytes 0..7) */
#define SD_SHARD_OF(key) (((const unsigned char *)(key))[SD_SHARD_BYTE] % SD_SHARDS)
#define SD_VOLATILE(k) OAS_KIND_IS_VOLATILE(k)
#define SD_KIND_IDX(k) ((k) < OAS_KIND_MAX ? (k) : 0)   /* a kind from shared memory */

/* two pairs of a record fit one 1024-byte SDBM page (4 bytes of offsets each,
 * 2 for the count), so a split can always separate them */
_Static_assert(2 * (SD_KEY_LEN + 1 + SD_PART_MAX + 4) + 2 <= 1024, "SD_PART_MAX too large");
_Static_assert(SD_REC_MAX + SD_SUM_LEN <= 2 * SD_PART_MAX, "OAS_ENTRY_MAX too large for two pairs");

/* one hash table slot in shared memory */
typedef struct sd_slot_t {
    long long exp;
    apr_uint16_t len;
    unsigned char used;
    unsigned char kind;
    unsigned char ref;                     /* clock: used since the hand last passed */
    unsigned char key[SD_KEY_LEN];
    unsigned char family[OAS_FAMILY_LEN];
    unsigned char data[OAS_ENTRY_MAX];
} sd_slot_t;

/* the start of the shm segment */
typedef struct sd_header_t {
    apr_uint32_t magic;
    apr_uint32_t nslots;                   /* table size, a power of two */
    apr_uint32_t slots_off;                /* offset of slot 0 from the segment start */
    apr_uint32_t hand;                     /* clock hand of the evictor */
    apr_uint32_t slot_size;                /* sizeof(sd_slot_t): an attacher's check */
    apr_uint32_t seq;                      /* odd while slots change (lock-free reads) */
    long mem_cap;
    long disk_cap;
    long mem_count[OAS_KIND_MAX];          /* slots in use, per kind */
    long mem_live;                         /* slots in use */
    long disk_count;                       /* records in the SDBM files (atomic) */
    long purged;
    long full;
    long corrupt;                          /* malformed disk records dropped */
    long recovered;                        /* tables emptied after a writer died */
    long long idle_scan_sec;               /* a full-disk scan at this second found nothing */
    long holds;                            /* shards held now, by every process (atomic): not
                                            * 0 at a clean stop means one died holding one */
    long sealed;                           /* the maker wrote PATH.count (a clean stop): a
                                            * process that takes a shard after removes it */
    long maker;                            /* the pid of the process that made the store */
    long start_kept;                       /* its start took PATH.count (1) or scanned (0) */
    long long start_usec;                  /* and counting took this long */
    apr_uint32_t revoke_gen;               /* moves on (memory lock held) with each family
                                            * revocation's sweep of the memory tier */
    /* the filter of revoked families: bucket (family's first bytes) -> the
     * latest expiry of a revocation marker put there (LLONG_MAX: one that never
     * expires), raised before the marker is written and at the start-up
     * scan; 0 or past: no family of the bucket has a live marker, and a
     * member read from disk needs no look at its marker */
    long long revoked_until[SD_REVOKED_BUCKETS];
    long swept;                            /* disk records read by sweeps (atomic; tests) */
} sd_header_t;

/* one shard of the disk tier in this process: its SDBM handle (PATH.<i>),
 * whose file lock (apr_sdbm_lock) excludes other processes, and a thread
 * mutex that excludes this process' other threads (the handle and its
 * cached page are not theirs to share, and the file lock is the process') */
typedef struct sd_shard_t {
    const char *path;                      /* PATH.<i> (".dir"/".pag" appended) */
    apr_thread_mutex_t *tmutex;            /* NULL without threads */
    apr_pool_t *dbpool;                    /* owns db */
    apr_sdbm_t *db;
    pid_t db_pid;                          /* the process that opened db */
    int locked;                            /* held (by the tmutex holder) */
} sd_shard_t;

/* process-local state (the baton) */
typedef struct sd_store_t {
    const char *path;
    int mem_entries;
    int disk_entries;
    apr_global_mutex_t *mutex;
    apr_proc_mutex_t *joined;              /* instead, in oauth-as-client: httpd's, joined */
    const char *mutex_file;
    oas_logger_t log;
    apr_shm_t *shm;
    sd_header_t *hdr;
    sd_slot_t *slots;
    apr_uint32_t nslots;                   /* hdr->nslots as checked when made or attached:
                                            * the memory is writable by httpd's User, and
                                            * oauth-as-client (root) must not index by it */
    apr_pool_t *pool;                      /* parent of the dbpools in this process */
    uid_t db_uid;                          /* a root process opens the files as this */
    gid_t db_gid;                          /* user and group (0: as root) */
    sd_shard_t shard[SD_SHARDS];
    unsigned long admit_tick;              /* sd_mem_admit (this process) */
} sd_store_t;

/* tests (oas_store_default_test_pause): run in a read from disk, between the
 * look at a family's marker and the memory copy; NULL: none */
SD_HIDDEN extern void (*sd_test_pause)(void *);
SD_HIDDEN extern void *sd_test_arg;

/* an entry found by sd_find: e views buf (a copy: slots move when the
 * memory lock is let go) */
typedef struct sd_found_t {
    oas_entry_t e;
    int in_mem;                            /* it was in the memory tier */
    int on_disk;
    unsigned char buf[SD_REC_MAX];
} sd_found_t;

/* a look at a family's marker made for one operation (sd_op): clear, the
 * family had none when revoke_gen was gen */
typedef struct sd_famchk_t {
    int clear;
    apr_uint32_t gen;
    unsigned char family[OAS_FAMILY_LEN];
} sd_famchk_t;

/* what a sweep removed (or kept) */
typedef struct sd_sweep_t {
    int live;                              /* live entries removed */
    int expired;                           /* expired entries removed */
    long kept;                             /* disk records left in place */
} sd_sweep_t;

/* ---------------------------------------------------------------- helpers */

static inline long long sd_now(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

static inline int sd_expired(long long exp, long long now)
{
    return exp != 0 && exp <= now;
}

static inline int sd_kind_valid(int kind)
{
    return kind > OAS_KIND_NONE && kind < OAS_KIND_MAX;
}

static inline apr_status_t sd_entry_check(const oas_entry_t *e)
{
    if (e == NULL || !sd_kind_valid(e->kind) || e->len > OAS_ENTRY_MAX
        || (e->len > 0 && e->data == NULL)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Copy src into dst, the payload allocated from p. */
static inline void sd_entry_copy(oas_entry_t *dst, const oas_entry_t *src, apr_pool_t *p)
{
    *dst = *src;
    dst->data = apr_pmemdup(p, src->len ? src->data : "", src->len ? src->len : 1);
}

static inline int sd_family_match(const unsigned char *fam, int kind, const unsigned char *want)
{
    return kind != OAS_KIND_FAMILY_REVOKED && memcmp(fam, want, OAS_FAMILY_LEN) == 0;
}

static inline sd_shard_t *sd_shard(sd_store_t *sd, const void *key)
{
    return &sd->shard[SD_SHARD_OF(key)];
}

/* 1 when e is a member of a family (markers name their family too, but are
 * none of its members) */
static inline int sd_has_family(const oas_entry_t *e)
{
    static const unsigned char none[OAS_FAMILY_LEN];

    return e->kind != OAS_KIND_FAMILY_REVOKED && memcmp(e->family, none, OAS_FAMILY_LEN) != 0;
}

static inline long long *sd_revoked_bucket(sd_header_t *h, const unsigned char *family)
{
    return &h->revoked_until[(family[0] | (family[1] << 8)) % SD_REVOKED_BUCKETS];
}

/* Before a marker of family is written (or when one is found on disk):
 * its bucket is raised to exp (0: never expires). */
static inline void sd_revoked_raise(sd_header_t *h, const unsigned char *family, long long exp)
{
    long long *b = sd_revoked_bucket(h, family), want = exp ? exp : __LONG_LONG_MAX__;
    long long cur = __atomic_load_n(b, __ATOMIC_SEQ_CST);

    while (cur < want && !__atomic_compare_exchange_n(b, &cur, want, 0, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_SEQ_CST)) {
    }
}

/* 1 when family may have a live marker (a look is needed), 0 when it has none */
static inline int sd_revoked_maybe(sd_header_t *h, const unsigned char *family, long long now)
{
    return __atomic_load_n(sd_revoked_bucket(h, family), __ATOMIC_SEQ_CST) > now;
}

static inline long sd_atomic_add(long *x, long n)
{
    return __atomic_add_fetch(x, n, __ATOMIC_RELAXED);
}

/* oas_store_default.c: the operations table, the memory tier's lock (the
 * store mutex) */
SD_HIDDEN extern const oas_store_t sd_table;
SD_HIDDEN apr_status_t sd_lock(sd_store_t *sd);
SD_HIDDEN void sd_unlock(sd_store_t *sd);
SD_HIDDEN apr_status_t sd_mem_forget(sd_store_t *sd, const unsigned char *key);
SD_HIDDEN void sd_mem_delete(sd_store_t *sd, apr_uint32_t i);
SD_HIDDEN void sd_write_begin(sd_store_t *sd);
/* SD_PEEK_ALL: a look that takes a revoked family's member read from disk
 * as it is (iterate filters them itself); the others refuse it */
enum { SD_PEEK, SD_GET, SD_TAKE, SD_ADD, SD_PUT, SD_PEEK_ALL };
SD_HIDDEN apr_status_t sd_op(sd_store_t *sd, int mode, const unsigned char *key, oas_entry_t *e,
                             const oas_entry_t *repl, apr_pool_t *p);
/* ... a sweep of one shard (locked by the caller) */
SD_HIDDEN apr_status_t sd_disk_sweep(sd_store_t *sd, int shard, const unsigned char *family,
                                     long long now, int max, int thorough, sd_sweep_t *res,
                                     apr_pool_t *p);
/* ... and the memory tier's pieces the counters use (lock held to write) */
SD_HIDDEN apr_uint32_t sd_home(const sd_store_t *sd, const unsigned char *key);
SD_HIDDEN void sd_slot_set(sd_store_t *sd, sd_slot_t *sl, const unsigned char *key,
                           const oas_entry_t *e);
SD_HIDDEN apr_status_t sd_mem_room(sd_store_t *sd, int kind, long long now);
SD_HIDDEN void sd_mem_insert(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e);
SD_HIDDEN long sd_mem_find(const sd_store_t *sd, const unsigned char *key);
/* lock-free reads of the memory tier (the seqlock; oas_store_default_mem.c) */
SD_HIDDEN void sd_slot_view(const sd_slot_t *sl, oas_entry_t *e);
SD_HIDDEN apr_status_t sd_fast_get(sd_store_t *sd, const unsigned char *key, oas_entry_t *e,
                                   apr_pool_t *p);
SD_HIDDEN int sd_fast_kind(sd_store_t *sd, const unsigned char *key, int *pkind);
SD_HIDDEN void sd_drop_expired_slot(sd_store_t *sd, apr_uint32_t i);

/* oas_store_default_walk.c: the operations on many keys (in the table) */
SD_HIDDEN apr_status_t sd_remove_family(oas_store_t *s, const unsigned char *family,
                                        int *pcount, apr_pool_t *p);
SD_HIDDEN apr_status_t sd_purge(oas_store_t *s, int *pcount, apr_pool_t *p);
SD_HIDDEN apr_status_t sd_iterate(oas_store_t *s,
                                  int (*cb)(void *ctx, const unsigned char *key,
                                            const oas_entry_t *e),
                                  void *ctx, apr_pool_t *p);
SD_HIDDEN apr_status_t sd_stats(oas_store_t *s, oas_store_stats_t *st);

/* oas_store_default_batch.c: several puts, then a look at a marker (put_many) */
SD_HIDDEN apr_status_t sd_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                                   const unsigned char *unless, apr_pool_t *p);

/* oas_store_default_count.c: the failure counters (the table's count) */
SD_HIDDEN apr_status_t sd_count(oas_store_t *s, const unsigned char *key, long delta,
                                long long exp, long *pn, long long *pexp, apr_pool_t *p);

/* the shards (oas_store_shards.c): lock order is a shard, then the memory
 * lock (sd_lock); never two shards at once, never a shard under sd_lock */
SD_HIDDEN apr_status_t sd_shards_init(sd_store_t *sd, apr_pool_t *p);
SD_HIDDEN apr_status_t sd_disk_open(sd_store_t *sd, sd_shard_t *sh);
SD_HIDDEN apr_status_t sd_disk_open_all(sd_store_t *sd);
SD_HIDDEN void sd_disk_close_all(sd_store_t *sd);
SD_HIDDEN apr_status_t sd_shard_lock(sd_store_t *sd, sd_shard_t *sh);
SD_HIDDEN void sd_shard_unlock(sd_store_t *sd, sd_shard_t *sh);
SD_HIDDEN apr_status_t sd_migrate(sd_store_t *sd, apr_pool_t *p);

/* the count kept at a clean stop (oas_store_default_kept.c): at start,
 * *pcount from PATH.count if it still fits the shards (the file is removed
 * either way), else APR_EGENERAL with *pwhy saying why (a full scan then).
 * A process that takes a shard after the clean stop removes the file
 * (hdr->sealed; oas_store_shards.c). */
#define SD_KEPT_SUFFIX ".count"
SD_HIDDEN apr_status_t sd_kept_take(sd_store_t *sd, long *pcount, const char **pwhy,
                                    apr_pool_t *p);

/* the disk tier (oas_store_sdbm.c); the key's shard is locked around every
 * call (a walk: the shard named) */
SD_HIDDEN apr_size_t sd_rec_encode(unsigned char *buf, const oas_entry_t *e);
SD_HIDDEN apr_status_t sd_disk(sd_shard_t *sh);
SD_HIDDEN apr_sdbm_datum_t sd_datum(const void *p, apr_size_t n);
SD_HIDDEN apr_status_t sd_disk_fetch(sd_store_t *sd, const unsigned char *key,
                                  unsigned char *buf, oas_entry_t *e);
SD_HIDDEN apr_status_t sd_disk_has(sd_store_t *sd, const unsigned char *key, int *phas);
SD_HIDDEN apr_status_t sd_disk_put(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                                int replacing);
SD_HIDDEN apr_status_t sd_disk_del(sd_store_t *sd, const void *key, int klen);
SD_HIDDEN apr_status_t sd_disk_keys(sd_store_t *sd, int shard, apr_array_header_t *keys);
SD_HIDDEN apr_status_t sd_disk_candidates(sd_store_t *sd, int shard, const unsigned char *family,
                                          long long now, int max, apr_array_header_t *keys);
SD_HIDDEN apr_status_t sd_sweep_part(sd_store_t *sd, apr_sdbm_datum_t k);

#endif /* OAS_STORE_SD_H */
