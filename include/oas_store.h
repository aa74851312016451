/* oas_store.h — the one store interface (SPEC §8).
 *
 * A store maps 32-byte keys (SHA-256 digests of tokens and codes: the store
 * never sees a token) to entries. Every backend (default shm + SDBM here;
 * Redis and socache later) implements this table of functions, one file per
 * backend. All functions are safe to call from any process and thread
 * that has done child_init.
 */
#ifndef OAS_STORE_H
#define OAS_STORE_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_global_mutex.h>
#include <apr_proc_mutex.h>
#include "oas_util.h"
#include "oas_log.h"

#define OAS_FAMILY_LEN   16
#define OAS_ENTRY_MAX    900   /* most payload bytes an entry may carry (fits an SDBM record) */

typedef enum {
    OAS_KIND_NONE = 0,
    OAS_KIND_CODE = 1,            /* authorization code: memory only */
    OAS_KIND_ACCESS = 2,          /* access token */
    OAS_KIND_REFRESH = 3,         /* refresh token */
    OAS_KIND_USED_CODE = 4,       /* tombstone of a redeemed code: memory only */
    OAS_KIND_USED_REFRESH = 5,    /* tombstone of a rotated refresh token */
    OAS_KIND_FAMILY_REVOKED = 6,  /* marker: this family was revoked */
    OAS_KIND_CSRF = 7,            /* nonce of an approval form already posted (single use):
                                   * memory only, the first to go when memory is full */
    OAS_KIND_AUTH_FAILURES = 8,   /* failed authentications of one client or user (count):
                                   * memory only, the first to go when memory is full */
    OAS_KIND_DEVICE_CODE = 9,     /* a device grant (RFC 8628), pending or decided: memory
                                   * only; may go when memory is full (anyone can make one) */
    OAS_KIND_USER_CODE = 10,      /* a device grant's user code, until decided: as above */
    OAS_KIND_PAR = 11,            /* a pushed authorization request (RFC 9126): memory only,
                                   * may go when memory is full (anyone may push) */
    OAS_KIND_CLIENT = 12,         /* a self-registered client (RFC 7591): durable */
    OAS_KIND_MAX = 13
} oas_kind_t;

/* 1 for kinds that live in memory only (codes, their tombstones, CSRF
 * nonces, failure counters, pushed requests). */
#define OAS_KIND_IS_VOLATILE(k) \
    ((k) == OAS_KIND_CODE || (k) == OAS_KIND_USED_CODE || (k) == OAS_KIND_CSRF \
     || (k) == OAS_KIND_AUTH_FAILURES || OAS_KIND_IS_DEVICE(k) \
     || (k) == OAS_KIND_PAR)

/* 1 for the device grant's kinds: anyone with a public client id can make
 * them, so a full memory tier drops them rather than refusing codes. */
#define OAS_KIND_IS_DEVICE(k) ((k) == OAS_KIND_DEVICE_CODE || (k) == OAS_KIND_USER_CODE)

typedef struct oas_entry_t {
    int kind;                                /* oas_kind_t */
    long long exp;                           /* expiry, seconds since the epoch; 0 = never */
    unsigned char family[OAS_FAMILY_LEN];    /* all zero: no family */
    const void *data;                        /* opaque payload, <= OAS_ENTRY_MAX bytes */
    apr_size_t len;
} oas_entry_t;

typedef struct oas_store_stats_t {
    long mem_entries[OAS_KIND_MAX];  /* live entries in shared memory, per kind */
    long mem_capacity;               /* OAuthASStoreMemory */
    long disk_entries;               /* entries in the SDBM file (all kinds) */
    long disk_capacity;              /* OAuthASStoreDisk */
    long purged;                     /* expired entries purged since start */
    long full;                       /* times a put failed with APR_ENOSPC */
    long recovered;                  /* memory tables emptied after a writer died */
    long corrupt;                    /* malformed records found in the store file and dropped */
} oas_store_stats_t;

typedef struct oas_store_t oas_store_t;

/* One entry of a batch (put_many). */
typedef struct oas_store_write_t {
    const unsigned char *key;
    const oas_entry_t *e;
} oas_store_write_t;

#define OAS_STORE_BATCH_MAX 4   /* most entries one put_many takes */

struct oas_store_t {
    const char *name;     /* "default", "redis", "socache" */
    void *baton;          /* backend's own state */

    /* Look an entry up. Expired entries are not found.
     * APR_SUCCESS (e filled, e->data allocated from p), APR_NOTFOUND, or an error. */
    apr_status_t (*get)(oas_store_t *s, const unsigned char *key, oas_entry_t *e, apr_pool_t *p);

    /* Insert (or replace) an entry. Volatile kinds stay in memory only;
     * others must be durable when this returns (survive a crash of every
     * process). APR_ENOSPC when the store is full of live entries: nothing
     * existing is dropped. */
    apr_status_t (*put)(oas_store_t *s, const unsigned char *key, const oas_entry_t *e, apr_pool_t *p);

    /* Insert an entry only when key has no live entry: APR_SUCCESS, or
     * APR_EEXIST (nothing changes); else as put. Atomic on the default store
     * (under its mutex); the shared stores read, then write (like count), so
     * two adds of one key at the very same moment may both succeed. */
    apr_status_t (*add)(oas_store_t *s, const unsigned char *key, const oas_entry_t *e, apr_pool_t *p);

    /* Atomically take an entry: return it and remove it, or replace it by
     * *replacement when that is not NULL. Of many simultaneous callers for one
     * key exactly one gets APR_SUCCESS for the live entry; the others see
     * APR_NOTFOUND or the replacement. */
    apr_status_t (*consume)(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                            const oas_entry_t *replacement, apr_pool_t *p);

    /* Remove an entry; APR_NOTFOUND if there was none. */
    apr_status_t (*remove)(oas_store_t *s, const unsigned char *key, apr_pool_t *p);

    /* Revoke a family whose OAS_KIND_FAMILY_REVOKED marker the caller has
     * just written: remove the members the store can find cheaply (never
     * the marker); *pcount gets how many (may be NULL). The default store
     * removes those in its memory tier (its cost is bounded by
     * OAuthASStoreMemory, not by the number of tokens) and refuses the rest,
     * on disk, by the marker whenever one is read (get, consume, iterate;
     * they are removed then, or by purge at expiry); without a marker (its
     * put failed) it sweeps every shard. The shared stores find none
     * (families_by_marker). */
    apr_status_t (*remove_family)(oas_store_t *s, const unsigned char *family, int *pcount,
                                  apr_pool_t *p);

    /* Remove expired entries; *pcount gets how many (may be NULL). */
    apr_status_t (*purge)(oas_store_t *s, int *pcount, apr_pool_t *p);

    /* Visit every live entry (for the admin tool and status). Stop when cb
     * returns non-zero. Entries are valid only during the callback. */
    apr_status_t (*iterate)(oas_store_t *s,
                            int (*cb)(void *ctx, const unsigned char *key, const oas_entry_t *e),
                            void *ctx, apr_pool_t *p);

    /* Fill *st. */
    apr_status_t (*stats)(oas_store_t *s, oas_store_stats_t *st);

    /* A counter (OAS_KIND_AUTH_FAILURES, memory only; the brute-force limits).
     * delta > 0: add delta to the count under key; its expiry moves to exp
     * when exp is later (an absent or expired counter starts from 0 and
     * expires at exp). delta 0, exp > 0: a live counter's expiry becomes exp
     * (none is created). delta 0, exp 0: a plain read. *pn and *pexp (may be
     * NULL) get the count and expiry afterwards, 0 and 0 when there is none.
     * The default store does it atomically under its mutex (a read takes no
     * lock); the shared stores read and write back (oas_store_kv.c). Never
     * touches the disk tier. */
    apr_status_t (*count)(oas_store_t *s, const unsigned char *key, long delta, long long exp,
                          long *pn, long long *pexp, apr_pool_t *p);

    /* Put n entries (1..OAS_STORE_BATCH_MAX) as put does, in one operation;
     * then, when unless is not NULL, look unless up: when it has a live
     * entry (a family's revocation marker written meanwhile), the n entries
     * are removed again and the answer is APR_EACCES. The look comes after
     * the writes, so a revocation that wrote its marker before it is seen,
     * and one that writes it after finds the entries to remove (or, on a
     * store with families_by_marker, revokes them by its marker). On any
     * error none of the n entries stays. The default store writes each
     * entry under its own shard's lock, then looks; the shared stores as one operation
     * (one outage check, one lock of a provider that needs it). NULL:
     * oas_store_put_many() does it with put, get and remove. */
    apr_status_t (*put_many)(oas_store_t *s, const oas_store_write_t *w, int n,
                             const unsigned char *unless, apr_pool_t *p);

    /* Look key up as get does, for keys nothing consumes (access tokens),
     * and answer APR_EACCES (e filled) when the entry has a family whose
     * revocation marker exists: both read now, in one round trip where the
     * store can (Redis, once it has seen the token: the family a token's
     * record names never changes, so each process keeps it as a hint of
     * which marker to ask for with the token; no answer is kept). NULL:
     * oas_store_get_unrevoked() does get, then oas_store_family_revoked(). */
    apr_status_t (*get_unrevoked)(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                  apr_pool_t *p);

    /* In each new process (httpd child) before first use. */
    apr_status_t (*child_init)(oas_store_t *s, apr_pool_t *p);

    /* 1 when remove_family cannot find a family's members (Redis, socache:
     * no scan): they stay until they expire, and whoever accepts a token of
     * a family must ask oas_store_family_revoked() first. 0: the store
     * refuses a revoked family's members itself (the default store: those in
     * memory are removed, those on disk are refused when read), no extra
     * lookup is needed. */
    int families_by_marker;

    /* 1 when members of a revoked family may stay in the store until they
     * expire (refused by the store itself, as the default store does, or by
     * the callers: families_by_marker): the marker must then outlive every
     * member (marker_exp in oas_grant.c). */
    int revoked_members_stay;

    /* 1 when the store itself logs each outage once (begin and end): callers
     * then log a failed operation at debug, not once per request. */
    int logs_outages;
};

/* The payload of an OAS_KIND_AUTH_FAILURES entry: the count, 4 bytes LE. */
#define OAS_COUNT_LEN 4
static inline void oas_count_encode(unsigned char *b, long n)
{
    unsigned long u = n < 0 ? 0 : (unsigned long)n > 0x7fffffffUL ? 0x7fffffffUL
                                                                   : (unsigned long)n;
    b[0] = (unsigned char)u;
    b[1] = (unsigned char)(u >> 8);
    b[2] = (unsigned char)(u >> 16);
    b[3] = (unsigned char)(u >> 24);
}
static inline long oas_count_decode(const void *data, apr_size_t len)
{
    const unsigned char *b = data;
    return len == OAS_COUNT_LEN ? (long)(b[0] | (b[1] << 8) | (b[2] << 16)
                                         | ((unsigned long)(b[3] & 0x7f) << 24)) : 0;
}

/* The level at which a caller logs a failed store operation. */
#define OAS_STORE_FAIL_LEVEL(s) ((s) && (s)->logs_outages ? OAS_LOG_DEBUG : OAS_LOG_ERR)

/* The default store's disk tier: OAS_STORE_SHARDS SDBM files, PATH.0 ..
 * PATH.7 (each a .dir and a .pag); PATH.dir / PATH.pag, the one file of
 * earlier versions, is moved into them when the store is created. */
#define OAS_STORE_SHARDS 8

/* Settings of the default store (APR shm + SDBM spill files). */
typedef struct oas_store_default_conf_t {
    const char *path;            /* SDBM base path (".<i>.dir"/".<i>.pag" are appended) */
    int mem_entries;             /* OAuthASStoreMemory */
    int disk_entries;            /* OAuthASStoreDisk */
    apr_global_mutex_t *mutex;   /* created by the caller (ap_global_mutex_create in httpd) */
    const char *mutex_file;      /* for apr_global_mutex_child_init; may be NULL */
    const oas_logger_t *log;     /* where create/child_init report errors (copied); may be NULL */
    const char *shm_file;        /* named shared memory, so that oauth-as-client can attach
                                  * (a stale one is removed first), and PATH.info is
                                  * written; NULL: anonymous memory, no info file */
    uid_t file_uid;              /* a root process opens (and so creates) the SDBM files */
    gid_t file_gid;              /* with these ids only, the files' owner (httpd's User):
                                  * 0 = as root. See oas_store_dir.h */
} oas_store_default_conf_t;

/* Create the default store in the parent process: allocate shared memory
 * from p, open (or create) the SDBM files (moving an earlier version's one
 * file into them), count their live entries and drop expired ones. The shm
 * lives as long as p. */
apr_status_t oas_store_default_create(oas_store_t **ps, const oas_store_default_conf_t *conf,
                                      apr_pool_t *p);

/* A clean stop of a default store made by this process (nothing done in
 * another process, or in one that attached): with every shard locked, and
 * when no process died holding one, keep the count of records on disk and
 * the shard files' identity (device, inode, size, mtime, ctime) in
 * PATH.count, so that the next oas_store_default_create takes the count
 * from it instead of reading every record (docs/stores.md). Call it when no
 * other process of the store writes any more (httpd's parent at exit, the
 * tool that opened the files alone); the store stays usable, but a process
 * that takes a shard afterwards removes PATH.count again. */
apr_status_t oas_store_default_close(oas_store_t *s, apr_pool_t *p);

/* How a default store's start counted the records on disk: 1 from
 * PATH.count, 0 by reading them all, -1 if s is not a default store; and
 * how long that took. */
int oas_store_default_started(const oas_store_t *s, double *pseconds);

/* A store kept across a graceful restart lives in the process pool, but
 * httpd unloads and reloads the module on restart: point its functions at
 * the code loaded now (the data stays). */
void oas_store_default_rebind(oas_store_t *s);

/* Tests only: take a shard and the store's lock and begin changing its
 * memory table, then return with all unfinished; a forked child calls it
 * and dies, as a process killed in the middle of a write would. */
apr_status_t oas_store_default_die_in_write(oas_store_t *s);

/* Tests only: how many disk records the sweeps of the store (purge, a
 * revocation without its marker, the full disk's scans) have read. */
long oas_store_default_swept(oas_store_t *s);

/* Tests only: fn(arg) runs inside each get (of any default store of the
 * process) that reads an entry from disk,
 * under the entry's shard lock, after the look at its family's marker and
 * before its copy into the memory tier (the reader/revoker race); NULL:
 * none. */
void oas_store_default_test_pause(oas_store_t *s, void (*fn)(void *), void *arg);

/* 1 if two stores were made from the same settings (graceful restart reuse). */
int oas_store_default_same(const oas_store_t *s, const oas_store_default_conf_t *conf);

/* PATH.info, next to the SDBM file of a default store created with a
 * shm_file: how another process (oauth-as-client) joins the running store.
 * Text, one "key value" per line; removed when the creating process exits. */
#define OAS_STORE_INFO_SUFFIX ".info"

/* The type of the default store's mutex (httpd's Mutex directive), and its
 * instance id for the store at path: the lock file is named
 * DIR/oauth-as-store-ID[.PID] (ap_global_mutex_create). */
#define OAS_STORE_MUTEX_TYPE "oauth-as-store"
const char *oas_store_mutex_id(const char *path, apr_pool_t *p);

typedef struct oas_store_info_t {
    long pid;                    /* the process that created the store (httpd's parent) */
    const char *shm_file;        /* the named shared memory */
    const char *mutex;           /* apr_global_mutex_name(): "flock", "fcntl", "pthread", ... */
    const char *lockfile;        /* the mutex's file; NULL if it has none */
    long mem_entries;
    long disk_entries;
} oas_store_info_t;

/* Write path.info atomically (temp file + rename); it is removed when p is
 * destroyed (APR's cleanup of an open file, not a forked child's exit). */
apr_status_t oas_store_info_write(const char *path, const oas_store_info_t *info, apr_pool_t *p);

/* Read path.info. APR_ENOENT when there is none or its process is gone (no
 * httpd holds the store); APR_EINVAL (and *perr) when it is malformed, and
 * APR_EACCES when it could have been written by someone else than root or
 * this process' user (not a regular file, a link, writable by others): the
 * store's directory is httpd's User's, and a root process must not be
 * steered by what that user puts there. Every field is checked: the memory
 * must be path.shm, the lock file DIR/oauth-as-store-ID[.PID] of this path. */
apr_status_t oas_store_info_read(oas_store_info_t *info, const char *path, apr_pool_t *p,
                                 const char **perr);

/* A mutex of this process that excludes the same holders as the store's
 * mutex in httpd: only "flock" can be joined (fcntl's file is unlinked at
 * creation, semaphores and pthread mutexes have no name). APR_ENOTIMPL with
 * *perr for other mechanisms. A process mutex on our own descriptor of
 * httpd's lock file (opened without following a link), with no cleanup. */
apr_status_t oas_store_info_mutex(apr_proc_mutex_t **pm, const oas_store_info_t *info,
                                  apr_pool_t *p, const char **perr);

/* Join the default store a running httpd created at path (OAuthASStoreFile):
 * attach its named shared memory, lock its mutex, open the SDBM file. Every
 * operation then acts on the live store, under the same mutex as httpd.
 * APR_ENOENT when no running httpd holds it: then create a store of your
 * own on the files (oas_store_default_create, anonymous memory; as root,
 * with file_uid/file_gid from oas_store_dir_owner). Other errors come with a
 * message in *perr. As root it opens the SDBM files as the owner of their
 * directory (oas_store_dir_owner). */
apr_status_t oas_store_default_attach(oas_store_t **ps, const char *path,
                                      const oas_logger_t *log, apr_pool_t *p,
                                      const char **perr);

/* ---- the shared stores: Redis and httpd's socache ------------------------ */

/* For stores with families_by_marker: APR_EACCES when family (not all zero)
 * has an OAS_KIND_FAMILY_REVOKED marker, APR_SUCCESS when it has none (and
 * always, without a lookup, on stores that remove families themselves or
 * for an all-zero family), another status when the store failed. */
apr_status_t oas_store_family_revoked(oas_store_t *s, const unsigned char *family,
                                      apr_pool_t *p);

/* s->put_many, or the same with put, get and remove on a store without it. */
apr_status_t oas_store_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                                const unsigned char *unless, apr_pool_t *p);

/* s->get_unrevoked, or get and then oas_store_family_revoked(). */
apr_status_t oas_store_get_unrevoked(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                     apr_pool_t *p);

/* A key of the key-value layer: the 32-byte digest and a tag byte. */
#define OAS_KV_KEY_LEN   (OAS_DIGEST_LEN + 1)
#define OAS_KV_TAG_ENTRY 'e'   /* the entry put under the digest */
#define OAS_KV_TAG_REPL  'r'   /* the replacement a consume left (a tombstone) */
#define OAS_KV_TAG_PROBE 'p'   /* a health probe (all-zero digest) */

/* One answer of get2. */
typedef struct oas_kv_got_t {
    apr_status_t rv;             /* APR_SUCCESS, APR_NOTFOUND, or the error */
    char *val;
    apr_size_t len;
} oas_kv_got_t;

/* What a remote key-value service offers (Redis through apr_redis, httpd's
 * socache providers). The store semantics on top of it (records, TTLs,
 * single use, outages) are oas_store_kv_create's: one implementation for
 * every such backend. */
typedef struct oas_kv_ops_t {
    /* The value of key (OAS_KV_KEY_LEN bytes), allocated from p, or APR_NOTFOUND. */
    apr_status_t (*get)(void *kv, const unsigned char *key, char **pval, apr_size_t *plen,
                        apr_pool_t *p);
    /* Two gets in one round trip (a pipeline): r[i] gets what get would
     * answer for key i (val allocated from p). The call's own status is the
     * exchange's: anything else than APR_SUCCESS and r is not valid (the
     * caller then asks with get). NULL: not offered. */
    apr_status_t (*get2)(void *kv, const unsigned char *k1, const unsigned char *k2,
                         struct oas_kv_got_t *r, apr_pool_t *p);
    /* Set key to val; expires after ttl seconds (0: never). */
    apr_status_t (*set)(void *kv, const unsigned char *key, const char *val, apr_size_t len,
                        long long ttl, apr_pool_t *p);
    /* Delete key: APR_SUCCESS only when this very call removed it, APR_NOTFOUND
     * when it was not there. Single use rests on this answer. */
    apr_status_t (*del)(void *kv, const unsigned char *key, apr_pool_t *p);
    /* Serialise whole store operations (providers that are not safe for
     * concurrent use); NULL: not needed. */
    apr_status_t (*lock)(void *kv);
    void (*unlock)(void *kv);
    /* How many keys the service holds (for stats); NULL: unknown. */
    apr_status_t (*count)(void *kv, long *pn, apr_pool_t *p);
    /* In each new process; NULL: nothing to do. */
    apr_status_t (*child_init)(void *kv, apr_pool_t *p);
} oas_kv_ops_t;

typedef struct oas_store_kv_conf_t {
    const char *name;            /* the store's name: "redis", "socache" */
    const char *where;           /* for log lines: "Redis at 10.0.0.5:6379" */
    const oas_kv_ops_t *ops;
    void *kv;                    /* the ops' baton */
    /* 1 when get may answer APR_NOTFOUND for a service it has stopped
     * talking to (apr_memcache and apr_redis do so for a few seconds after
     * a failure): a miss after a failure is then confirmed by a probe. */
    int notfound_after_error;
    /* after a timeout, operations fail at once for this long (one process
     * tries again meanwhile); 0: one second */
    apr_interval_time_t retry;
    const oas_logger_t *log;     /* outage and recovery lines (copied); may be NULL */
} oas_store_kv_conf_t;

/* A store on a key-value service, made in the parent process (p lives as
 * long as the store; a little shared memory holds the outage state).
 * Entries are records (kind, exp, family, payload) under the digest with
 * the entry's lifetime as TTL; consume deletes the key, and only the caller
 * whose delete removed it wins; the replacement goes under the 'r' tag,
 * which get reads when the entry is gone; families are revoked by marker
 * (families_by_marker); purge has nothing to do (TTLs); iterate answers
 * APR_ENOTIMPL. An outage is logged once, when it begins, and once when it
 * ends. */
apr_status_t oas_store_kv_create(oas_store_t **ps, const oas_store_kv_conf_t *conf,
                                 apr_pool_t *p);

/* Settings of the Redis store (OAuthASStore redis:HOST:PORT). */
typedef struct oas_store_redis_conf_t {
    const char *host;
    int port;
    const char *prefix;          /* prepended to every key (OAuthASRedisPrefix) */
    int timeout;                 /* seconds per command (APR-util counts whole seconds) */
    int conn_min, conn_smax, conn_max;   /* connections per process (OAuthASRedisPool) */
    int conn_ttl;                /* seconds an idle connection above conn_smax lives */
    const oas_logger_t *log;     /* may be NULL */
} oas_store_redis_conf_t;

/* Create the Redis store in the parent process. No connection is made here:
 * each process opens its own in child_init (or at first use). */
apr_status_t oas_store_redis_create(oas_store_t **ps, const oas_store_redis_conf_t *conf,
                                    apr_pool_t *p);

/* A start-up check on a connection of its own, closed again at once (the
 * store works without it): APR_SUCCESS when Redis answers INFO; *pnote (may
 * be NULL) then gets a warning when Redis may evict keys (maxmemory_policy
 * other than noeviction: live tokens could vanish), else NULL. */
apr_status_t oas_store_redis_check(const oas_store_redis_conf_t *conf, apr_pool_t *p,
                                   const char **pnote);

/* The number of a Redis reply's first line (what follows its type byte):
 * s up to nl (the line's '\n') must be [-]digits and "\r", nothing else;
 * APR_EGENERAL otherwise. The store's own pipeline reads replies with it. */
apr_status_t oas_store_redis_number(const char *s, const char *nl, long *pn);

#endif
