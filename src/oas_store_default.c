/* oas_store_default.c — the default store (SPEC §8): APR shared memory in
 * front of an SDBM file.
 *
 * Memory tier: one APR shm segment, inherited by forked children:
 *   sd_header_t | sd_slot_t[nslots]
 * It is named (conf->shm_file) in httpd, so that oauth-as-client can attach
 * to it (oas_store_default_attach, with PATH.info: oas_store_info.c), and
 * anonymous otherwise.
 * An open-addressing hash table (linear probing, backward-shift deletion, no
 * tombstones) indexed by the first 8 bytes of the 32-byte key. nslots is a
 * power of two >= 2 * mem_entries; at most mem_entries slots are in use.
 * Nothing inside the segment is a pointer: slots are found by index.
 *
 * Disk tier: an SDBM file. key = the 32-byte digest, value =
 *   u8 kind | i64 exp (LE) | family[16] | u16 len (LE) | payload[len]
 * A value longer than SD_PART_MAX is cut in two: the rest goes under the
 * 33-byte key digest|'c', after an FNV-1a sum of the whole value (native byte
 * order, like SDBM's pages), so parts of two writes never pass for one record. SDBM splits a full page by hash bits, at most 10
 * times; two pairs larger than half a page whose hashes agree that far can
 * never be parted (apr_sdbm_store fails with ENOSPC, about 1 in 1000 stores of
 * 900-byte records), while pairs of SD_PART_MAX always share a page.
 * Volatile kinds (codes, used-code tombstones) never reach the disk. Every
 * durable entry is written through to SDBM on put, and its memory copy is only
 * a cache: a durable entry in memory is always on disk too, so it may be
 * evicted at any time (clock hand, second chance). A key lives in one tier as
 * volatile or in the disk tier (maybe cached) as durable, never both.
 *
 * Lock-free reads: a get that finds a live entry in memory takes no lock. The
 * header's seq is odd while a slot changes (sd_slot_set, sd_mem_delete, under
 * the mutex) and moves on after; a reader copies the slot, and keeps the copy
 * only when seq was even and the same before and after (a seqlock). Anything
 * else (a miss, an expired entry, a writer in the way) takes the locked path,
 * which is what every get did before: bearer checks and introspections of
 * tokens in memory no longer queue behind token writes and their disk I/O.
 *
 * Locking: conf->mutex is held around every operation; within an operation
 * the SDBM file is locked (apr_sdbm_lock, exclusive) on first use and unlocked
 * at the end. The file is opened with APR_FOPEN_SHARELOCK, so that outermost
 * apr_sdbm_lock takes the file lock and invalidates the page and directory
 * blocks cached in the handle (SDBM_INVALIDATE_CACHE in apr-util's
 * sdbm_lock.c): a process never reads pages another process has since
 * rewritten. Each process opens its own handle (remembering its pid), since a
 * handle inherited through fork shares file offsets with the parent.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include <apr_file_io.h>
#include <apr_global_mutex.h>
#include <apr_sdbm.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "oas_log.h"
#include "oas_store.h"

#define SD_MAGIC      0x4f415344u          /* "OASD" */
#define SD_KEY_LEN    OAS_DIGEST_LEN
#define SD_REC_HDR    27                   /* kind 1 + exp 8 + family 16 + len 2 */
#define SD_REC_MAX    (SD_REC_HDR + OAS_ENTRY_MAX)
#define SD_PART_MAX   470                  /* most value bytes in one SDBM pair */
#define SD_CONT_TAG   'c'                  /* last byte of a second part's key */
#define SD_SUM_LEN    4                    /* the sum before a second part */
#define SD_MEM_MAX    (1 << 22)            /* sanity bound of mem_entries */
#define SD_PURGE_MAX  256                  /* most expired records an inline purge drops */
#define SD_ECORRUPT   APR_EINVAL           /* internal: malformed disk record */
#define SD_VOLATILE(k) OAS_KIND_IS_VOLATILE(k)

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
    long disk_count;                       /* records in the SDBM file */
    long purged;
    long full;
    long corrupt;                          /* malformed disk records dropped */
    long long idle_scan_sec;               /* a full-disk scan at this second found nothing */
} sd_header_t;

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
    apr_pool_t *pool;                      /* parent of dbpool in this process */
    apr_pool_t *dbpool;                    /* owns db */
    apr_sdbm_t *db;
    pid_t db_pid;                          /* the process that opened db */
    int db_locked;                         /* db is locked by the current operation */
} sd_store_t;

/* an entry found by sd_find: e views the slot or buf */
typedef struct sd_found_t {
    oas_entry_t e;
    long slot;                             /* -1: not in memory */
    int on_disk;
    unsigned char buf[SD_REC_MAX];
} sd_found_t;

/* what a sweep removed (or kept) */
typedef struct sd_sweep_t {
    int live;                              /* live entries removed */
    int expired;                           /* expired entries removed */
    long kept;                             /* disk records left in place */
} sd_sweep_t;

/* ---------------------------------------------------------------- helpers */

static long long sd_now(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

static int sd_expired(long long exp, long long now)
{
    return exp != 0 && exp <= now;
}

static int sd_kind_valid(int kind)
{
    return kind > OAS_KIND_NONE && kind < OAS_KIND_MAX;
}

static apr_status_t sd_entry_check(const oas_entry_t *e)
{
    if (e == NULL || !sd_kind_valid(e->kind) || e->len > OAS_ENTRY_MAX
        || (e->len > 0 && e->data == NULL)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Copy src into dst, the payload allocated from p. */
static void sd_entry_copy(oas_entry_t *dst, const oas_entry_t *src, apr_pool_t *p)
{
    *dst = *src;
    dst->data = apr_pmemdup(p, src->len ? src->data : "", src->len ? src->len : 1);
}

static int sd_family_match(const unsigned char *fam, int kind, const unsigned char *want)
{
    return kind != OAS_KIND_FAMILY_REVOKED && memcmp(fam, want, OAS_FAMILY_LEN) == 0;
}

/* ----------------------------------------------------------- memory tier */

static apr_uint32_t sd_home(const sd_store_t *sd, const unsigned char *key)
{
    apr_uint64_t h;

    memcpy(&h, key, sizeof(h));
    return (apr_uint32_t)(h & (sd->hdr->nslots - 1));
}

static long sd_mem_find(const sd_store_t *sd, const unsigned char *key)
{
    apr_uint32_t mask = sd->hdr->nslots - 1;
    apr_uint32_t i = sd_home(sd, key);

    while (sd->slots[i].used) {
        if (memcmp(sd->slots[i].key, key, SD_KEY_LEN) == 0) {
            return (long)i;
        }
        i = (i + 1) & mask;
    }
    return -1;
}

static void sd_slot_view(const sd_slot_t *sl, oas_entry_t *e)
{
    e->kind = sl->kind;
    e->exp = sl->exp;
    memcpy(e->family, sl->family, OAS_FAMILY_LEN);
    e->data = sl->data;
    e->len = sl->len;
}

/* Around every change of slots (lock held): seq odd during it, and the
 * changes ordered between the two stores (see "Lock-free reads" above). */
static void sd_write_begin(sd_store_t *sd)
{
    __atomic_store_n(&sd->hdr->seq, sd->hdr->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void sd_write_end(sd_store_t *sd)
{
    __atomic_store_n(&sd->hdr->seq, sd->hdr->seq + 1, __ATOMIC_RELEASE);
}

/* Write e into slot sl (in use or not), keeping the per-kind counts. */
static void sd_slot_set(sd_store_t *sd, sd_slot_t *sl, const unsigned char *key,
                        const oas_entry_t *e)
{
    sd_write_begin(sd);
    if (sl->used) {
        sd->hdr->mem_count[sl->kind]--;
    }
    memcpy(sl->key, key, SD_KEY_LEN);
    sl->kind = (unsigned char)e->kind;
    sl->exp = e->exp;
    memcpy(sl->family, e->family, OAS_FAMILY_LEN);
    sl->len = (apr_uint16_t)e->len;
    if (e->len) {
        memcpy(sl->data, e->data, e->len);
    }
    sl->used = 1;
    sl->ref = 1;
    sd->hdr->mem_count[sl->kind]++;
    sd_write_end(sd);
}

/* Insert a key known to be absent; the caller made room. */
static void sd_mem_insert(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e)
{
    apr_uint32_t mask = sd->hdr->nslots - 1;
    apr_uint32_t i = sd_home(sd, key);

    while (sd->slots[i].used) {
        i = (i + 1) & mask;
    }
    sd_slot_set(sd, &sd->slots[i], key, e);
    sd->hdr->mem_live++;
}

/* Delete slot i by backward shift: later entries of its cluster move up so
 * every entry stays reachable from its home without tombstones. The entry at
 * j (home k) may fill the hole at i unless k lies cyclically in (i, j]. */
static void sd_mem_delete(sd_store_t *sd, apr_uint32_t i)
{
    apr_uint32_t mask = sd->hdr->nslots - 1;
    apr_uint32_t j = i, k;
    sd_slot_t *src;

    sd_write_begin(sd);
    sd->hdr->mem_count[sd->slots[i].kind]--;
    sd->hdr->mem_live--;
    for (;;) {
        j = (j + 1) & mask;
        src = &sd->slots[j];
        if (!src->used) {
            break;
        }
        k = sd_home(sd, src->key);
        if (i < j ? (k <= i || k > j) : (k <= i && k > j)) {
            memcpy(&sd->slots[i], src, offsetof(sd_slot_t, data) + src->len);
            i = j;
        }
    }
    sd->slots[i].used = 0;
    sd_write_end(sd);
}

/* Copy key's live memory entry into e (payload from p) without the lock:
 * APR_SUCCESS, or APR_EAGAIN (not in memory, expired, or changed while it
 * was read: the caller takes the locked path). The probe is bounded, since
 * a writer may move entries under it. */
static apr_status_t sd_fast_get(sd_store_t *sd, const unsigned char *key, oas_entry_t *e,
                                apr_pool_t *p)
{
    apr_uint32_t seq = __atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE);
    apr_uint32_t mask = sd->hdr->nslots - 1, i = sd_home(sd, key), n;
    unsigned char *data;
    sd_slot_t *sl = NULL;

    for (n = 0; n <= mask && sd->slots[i].used; n++, i = (i + 1) & mask) {
        if (memcmp(sd->slots[i].key, key, SD_KEY_LEN) == 0) {
            sl = &sd->slots[i];
            break;
        }
    }
    if (sl == NULL || (seq & 1) != 0) {
        return APR_EAGAIN;
    }
    sd_slot_view(sl, e);
    if (e->len > OAS_ENTRY_MAX || sd_expired(e->exp, sd_now())) {
        return APR_EAGAIN;
    }
    data = apr_palloc(p, e->len ? e->len : 1);
    memcpy(data, sl->data, e->len);
    e->data = data;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&sd->hdr->seq, __ATOMIC_RELAXED) != seq) {
        return APR_EAGAIN;
    }
    __atomic_store_n(&sl->ref, 1, __ATOMIC_RELAXED);
    return APR_SUCCESS;
}

/* --------------------------------------------------------- disk records */

static apr_size_t sd_rec_encode(unsigned char *buf, const oas_entry_t *e)
{
    unsigned long long x = (unsigned long long)e->exp;
    int i;

    buf[0] = (unsigned char)e->kind;
    for (i = 0; i < 8; i++) {
        buf[1 + i] = (unsigned char)(x >> (8 * i));
    }
    memcpy(buf + 9, e->family, OAS_FAMILY_LEN);
    buf[25] = (unsigned char)(e->len & 0xff);
    buf[26] = (unsigned char)(e->len >> 8);
    if (e->len) {
        memcpy(buf + SD_REC_HDR, e->data, e->len);
    }
    return SD_REC_HDR + e->len;
}

/* Decode a record that buf holds; e views buf. 0 if it is malformed. */
static int sd_rec_decode(oas_entry_t *e, const unsigned char *buf, apr_size_t n)
{
    unsigned long long x = 0;
    int i;

    if (n < SD_REC_HDR) {
        return 0;
    }
    for (i = 7; i >= 0; i--) {
        x = (x << 8) | buf[1 + i];
    }
    e->kind = buf[0];
    e->exp = (long long)x;
    memcpy(e->family, buf + 9, OAS_FAMILY_LEN);
    e->len = (apr_size_t)buf[25] | ((apr_size_t)buf[26] << 8);
    e->data = buf + SD_REC_HDR;
    return sd_kind_valid(e->kind) && !SD_VOLATILE(e->kind)
           && e->len <= OAS_ENTRY_MAX && n == SD_REC_HDR + e->len;
}

/* ------------------------------------------------------------ disk tier */

/* Make sure this process has its own SDBM handle. */
static apr_status_t sd_disk_open(sd_store_t *sd)
{
    apr_status_t rv;

    if (sd->db != NULL && sd->db_pid == getpid()) {
        return APR_SUCCESS;
    }
    if (sd->dbpool != NULL) {
        apr_pool_destroy(sd->dbpool);      /* closes only this process' copy */
    }
    sd->dbpool = NULL;
    sd->db = NULL;
    sd->db_locked = 0;
    if ((rv = apr_pool_create(&sd->dbpool, sd->pool)) == APR_SUCCESS) {
        rv = apr_sdbm_open(&sd->db, sd->path, APR_FOPEN_READ | APR_FOPEN_WRITE
                           | APR_FOPEN_CREATE | APR_FOPEN_SHARELOCK,
                           APR_FPROT_UREAD | APR_FPROT_UWRITE, sd->dbpool);
    }
    if (rv != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00301)
                "token store: cannot open the SDBM file %s%s / %s%s",
                sd->path, APR_SDBM_DIRFEXT, sd->path, APR_SDBM_PAGFEXT);
        sd->db = NULL;                     /* dbpool goes on the next attempt */
        return rv;
    }
    sd->db_pid = getpid();
    return APR_SUCCESS;
}

/* Lock the SDBM file for the rest of the current operation (once). */
static apr_status_t sd_disk(sd_store_t *sd)
{
    apr_status_t rv;

    if (sd->db_locked && sd->db_pid == getpid()) {
        return APR_SUCCESS;
    }
    if ((rv = sd_disk_open(sd)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_sdbm_lock(sd->db, APR_FLOCK_EXCLUSIVE)) != APR_SUCCESS) {
        return rv;
    }
    sd->db_locked = 1;
    return APR_SUCCESS;
}

static apr_sdbm_datum_t sd_datum(const void *p, apr_size_t n)
{
    apr_sdbm_datum_t d;

    d.dptr = (char *)p;
    d.dsize = (int)n;
    return d;
}

static apr_uint32_t sd_sum(const unsigned char *p, apr_size_t n)
{
    apr_uint32_t h = 2166136261u;          /* FNV-1a */

    while (n--) {
        h = (h ^ *p++) * 16777619u;
    }
    return h;
}

static apr_sdbm_datum_t sd_cont_key(unsigned char *ck, const unsigned char *key)
{
    memcpy(ck, key, SD_KEY_LEN);
    ck[SD_KEY_LEN] = SD_CONT_TAG;
    return sd_datum(ck, SD_KEY_LEN + 1);
}

/* Copy the value of k (at most max bytes, else corrupt) to dst. */
static apr_status_t sd_disk_get(sd_store_t *sd, apr_sdbm_datum_t k, unsigned char *dst,
                                apr_size_t max, apr_size_t *pn)
{
    apr_sdbm_datum_t val = { NULL, 0 };
    apr_status_t rv;

    if ((rv = apr_sdbm_fetch(sd->db, &val, k)) != APR_SUCCESS) {
        return rv;
    }
    if (val.dptr == NULL) {
        return APR_NOTFOUND;
    }
    if (val.dsize <= 0 || (apr_size_t)val.dsize > max) {
        return SD_ECORRUPT;
    }
    memcpy(dst, val.dptr, (apr_size_t)val.dsize);
    *pn = (apr_size_t)val.dsize;
    return APR_SUCCESS;
}

/* Fetch key's record (both parts) into buf: APR_SUCCESS (e views buf),
 * APR_NOTFOUND, SD_ECORRUPT, or an I/O error. */
static apr_status_t sd_disk_fetch(sd_store_t *sd, const unsigned char *key,
                                  unsigned char *buf, oas_entry_t *e)
{
    unsigned char ck[SD_KEY_LEN + 1], part[SD_SUM_LEN + SD_PART_MAX];
    apr_size_t n, n2 = SD_SUM_LEN, total;
    apr_uint32_t sum;
    apr_status_t rv;

    if ((rv = sd_disk(sd)) != APR_SUCCESS
        || (rv = sd_disk_get(sd, sd_datum(key, SD_KEY_LEN), buf, SD_REC_MAX, &n))
           != APR_SUCCESS) {
        return rv;
    }
    total = n < SD_REC_HDR ? n : SD_REC_HDR + (buf[25] | ((apr_size_t)buf[26] << 8));
    if (total > n && total <= SD_REC_MAX) {
        rv = sd_disk_get(sd, sd_cont_key(ck, key), part, SD_SUM_LEN + total - n, &n2);
        if (rv != APR_SUCCESS || n2 != SD_SUM_LEN + total - n) {
            return rv == APR_SUCCESS || rv == APR_NOTFOUND ? SD_ECORRUPT : rv;
        }
        memcpy(buf + n, part + SD_SUM_LEN, total - n);
        sum = sd_sum(buf, total);
        if (memcmp(part, &sum, SD_SUM_LEN) != 0) {
            return SD_ECORRUPT;
        }
    }
    return sd_rec_decode(e, buf, n + n2 - SD_SUM_LEN) ? APR_SUCCESS : SD_ECORRUPT;
}

/* *phas = 1 if key has a record (sound or not) on disk. With an empty disk
 * tier this costs no I/O (at worst a record an older generation wrote is
 * counted twice). */
static apr_status_t sd_disk_has(sd_store_t *sd, const unsigned char *key, int *phas)
{
    unsigned char buf[SD_REC_MAX];
    oas_entry_t e;
    apr_status_t rv;

    *phas = 0;
    if (sd->hdr->disk_count <= 0) {
        return APR_SUCCESS;
    }
    rv = sd_disk_fetch(sd, key, buf, &e);
    if (rv == APR_SUCCESS || rv == SD_ECORRUPT) {
        *phas = 1;
        return APR_SUCCESS;
    }
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* Write e's record: a second part first (a crash in between leaves at
 * worst a malformed record, never a wrong one), or no stale second part
 * when a record that may have had one (replacing) gets shorter. */
static apr_status_t sd_disk_put(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                                int replacing)
{
    unsigned char buf[SD_REC_MAX + SD_SUM_LEN], ck[SD_KEY_LEN + 1];
    apr_size_t n = sd_rec_encode(buf, e), first = n > SD_PART_MAX ? SD_PART_MAX : n;
    apr_uint32_t sum = sd_sum(buf, n);
    apr_status_t rv;

    if ((rv = sd_disk(sd)) != APR_SUCCESS) {
        return rv;
    }
    if (n > first) {                        /* sum | rest, in place before the rest */
        memmove(buf + first + SD_SUM_LEN, buf + first, n - first);
        memcpy(buf + first, &sum, SD_SUM_LEN);
        rv = apr_sdbm_store(sd->db, sd_cont_key(ck, key),
                            sd_datum(buf + first, SD_SUM_LEN + n - first), APR_SDBM_REPLACE);
    }
    else if (replacing && (rv = apr_sdbm_delete(sd->db, sd_cont_key(ck, key))) == APR_EGENERAL) {
        rv = APR_SUCCESS;                   /* sdbm: EGENERAL = there was none */
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return apr_sdbm_store(sd->db, sd_datum(key, SD_KEY_LEN), sd_datum(buf, first),
                          APR_SDBM_REPLACE);
}

/* Delete a record (and its second part); APR_NOTFOUND if it was not there.
 * Only whole records count in disk_count. */
static apr_status_t sd_disk_del(sd_store_t *sd, const void *key, int klen)
{
    unsigned char ck[SD_KEY_LEN + 1];
    apr_status_t rv;

    if ((rv = sd_disk(sd)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_sdbm_delete(sd->db, sd_datum(key, (apr_size_t)klen))) == APR_EGENERAL) {
        return APR_NOTFOUND;                /* sdbm: EGENERAL = no such key */
    }
    if (rv == APR_SUCCESS && klen == SD_KEY_LEN) {
        sd->hdr->disk_count--;
        rv = apr_sdbm_delete(sd->db, sd_cont_key(ck, key));
    }
    return rv == APR_EGENERAL ? APR_SUCCESS : rv;
}

/* Every key of the SDBM file, as copied apr_sdbm_datum_t, appended to keys.
 * The file is not modified while it is walked. */
static apr_status_t sd_disk_keys(sd_store_t *sd, apr_array_header_t *keys)
{
    apr_sdbm_datum_t k, *d;
    apr_status_t rv;

    if ((rv = sd_disk(sd)) != APR_SUCCESS) {
        return rv;
    }
    for (rv = apr_sdbm_firstkey(sd->db, &k); rv == APR_SUCCESS && k.dptr != NULL;
         rv = apr_sdbm_nextkey(sd->db, &k)) {
        d = apr_array_push(keys);
        d->dsize = k.dsize;
        d->dptr = apr_pmemdup(keys->pool, k.dptr, k.dsize > 0 ? (apr_size_t)k.dsize : 1);
    }
    return rv == APR_EOF ? APR_SUCCESS : rv;   /* sdbm reports the end as EOF */
}

/* Remove key from both tiers: disk first, so a failed write leaves the
 * cache consistent with the file. */
static apr_status_t sd_remove_at(sd_store_t *sd, const unsigned char *key, long slot,
                                 int on_disk)
{
    apr_status_t rv;

    if (on_disk && (rv = sd_disk_del(sd, key, SD_KEY_LEN)) != APR_SUCCESS
        && rv != APR_NOTFOUND) {
        return rv;
    }
    if (slot >= 0) {
        sd_mem_delete(sd, (apr_uint32_t)slot);
    }
    return APR_SUCCESS;
}

enum { SD_KEEP, SD_LIVE, SD_EXPIRED, SD_CORRUPT };

/* During a sweep: a second part stays while its record does; an orphan
 * (left by a crash between the two writes) goes. */
static apr_status_t sd_sweep_part(sd_store_t *sd, apr_sdbm_datum_t k)
{
    apr_sdbm_datum_t val = { NULL, 0 };
    apr_status_t rv;

    rv = apr_sdbm_fetch(sd->db, &val, sd_datum(k.dptr, SD_KEY_LEN));
    if (rv != APR_SUCCESS || val.dptr != NULL) {
        return rv;
    }
    if ((rv = apr_sdbm_delete(sd->db, k)) == APR_SUCCESS) {
        sd->hdr->corrupt++;
    }
    return rv == APR_EGENERAL ? APR_SUCCESS : rv;
}

/* Look at one disk record during a sweep: drop it (and its cached copy)
 * when it is corrupt, expired, or (family != NULL) of that family. */
static apr_status_t sd_sweep_one(sd_store_t *sd, apr_sdbm_datum_t k, const unsigned char *family,
                                 long long now, sd_sweep_t *res)
{
    unsigned char buf[SD_REC_MAX];
    const unsigned char *key = (const unsigned char *)k.dptr;
    int what = SD_KEEP;
    long slot = -1;
    oas_entry_t e;
    apr_status_t rv;

    if (k.dsize == SD_KEY_LEN + 1 && k.dptr[SD_KEY_LEN] == SD_CONT_TAG) {
        return sd_sweep_part(sd, k);
    }
    rv = k.dsize == SD_KEY_LEN ? sd_disk_fetch(sd, key, buf, &e) : SD_ECORRUPT;
    if (rv == APR_SUCCESS && sd_expired(e.exp, now)) {
        what = SD_EXPIRED;
    }
    else if (rv == APR_SUCCESS && family && sd_family_match(e.family, e.kind, family)) {
        what = SD_LIVE;
    }
    else if (rv == SD_ECORRUPT) {
        what = SD_CORRUPT;
    }
    else {
        res->kept += (rv == APR_SUCCESS);
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if ((rv = sd_disk_del(sd, k.dptr, k.dsize)) != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (k.dsize == SD_KEY_LEN && (slot = sd_mem_find(sd, key)) >= 0) {
        sd_mem_delete(sd, (apr_uint32_t)slot);
    }
    res->live += (what == SD_LIVE);
    res->expired += (what == SD_EXPIRED);
    sd->hdr->purged += (what == SD_EXPIRED);
    sd->hdr->corrupt += (what == SD_CORRUPT);
    return APR_SUCCESS;
}

/* Walk the whole disk tier, dropping corrupt and expired records and, when
 * family is set, that family's entries. Stops after max removals (0: no
 * limit). Removed records also leave the memory tier. */
static apr_status_t sd_disk_sweep(sd_store_t *sd, const unsigned char *family, long long now,
                                  int max, sd_sweep_t *res, apr_pool_t *p)
{
    apr_array_header_t *keys;
    apr_pool_t *tmp;
    apr_status_t rv;
    int i;

    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS) {
        return rv;
    }
    keys = apr_array_make(tmp, 64, sizeof(apr_sdbm_datum_t));
    rv = sd_disk_keys(sd, keys);
    for (i = 0; rv == APR_SUCCESS && i < keys->nelts; i++) {
        if (max > 0 && res->live + res->expired >= max) {
            break;
        }
        rv = sd_sweep_one(sd, APR_ARRAY_IDX(keys, i, apr_sdbm_datum_t), family, now, res);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* The disk tier is full: drop a bounded number of expired records. A scan
 * that found nothing is not repeated within the same second (nothing new
 * can expire before the clock moves on, nothing new is written while full). */
static apr_status_t sd_disk_room(sd_store_t *sd, long long now, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv;

    if (sd->hdr->idle_scan_sec != now) {
        if ((rv = sd_disk_sweep(sd, NULL, now, SD_PURGE_MAX, &res, p)) != APR_SUCCESS) {
            return rv;
        }
        if (res.expired == 0) {
            sd->hdr->idle_scan_sec = now;
        }
    }
    return sd->hdr->disk_count < sd->hdr->disk_cap ? APR_SUCCESS : APR_ENOSPC;
}

/* ------------------------------------------------- memory tier policies */

/* Drop the expired entry in slot i from both tiers. */
static apr_status_t sd_drop_expired_slot(sd_store_t *sd, apr_uint32_t i)
{
    unsigned char key[SD_KEY_LEN];
    apr_status_t rv;

    memcpy(key, sd->slots[i].key, SD_KEY_LEN);
    if ((rv = sd_remove_at(sd, key, (long)i, !SD_VOLATILE(sd->slots[i].kind))) == APR_SUCCESS) {
        sd->hdr->purged++;
    }
    return rv;
}

/* Free one memory slot when the tier is full: the clock hand drops the first
 * expired entry, or evicts a durable entry (it stays on disk) or a failure
 * counter not used since the hand last passed. Live codes, their tombstones
 * and CSRF nonces are never touched: a flood of failed authentications
 * cannot push them out. APR_ENOSPC when memory holds only those. */
static apr_status_t sd_mem_room(sd_store_t *sd, long long now)
{
    sd_header_t *h = sd->hdr;
    apr_uint32_t mask = h->nslots - 1, i, steps;
    sd_slot_t *sl;

    if (h->mem_live < h->mem_cap) {
        return APR_SUCCESS;
    }
    for (steps = 0; steps < 2 * h->nslots; steps++) {
        i = h->hand;
        h->hand = (i + 1) & mask;
        sl = &sd->slots[i];
        if (!sl->used) {
            continue;
        }
        if (sd_expired(sl->exp, now)) {
            return sd_drop_expired_slot(sd, i);
        }
        if (SD_VOLATILE(sl->kind) && sl->kind != OAS_KIND_AUTH_FAILURES) {
            continue;
        }
        if (sl->ref) {
            sl->ref = 0;
            continue;
        }
        sd_mem_delete(sd, i);
        return APR_SUCCESS;
    }
    return APR_ENOSPC;
}

/* Cache a durable entry in memory if room can be made; best effort. */
static void sd_mem_cache(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                         long long now)
{
    long i = sd_mem_find(sd, key);

    if (i >= 0) {
        sd_slot_set(sd, &sd->slots[i], key, e);
    }
    else if (sd_mem_room(sd, now) == APR_SUCCESS) {
        sd_mem_insert(sd, key, e);
    }
}

/* Drop expired entries from memory and, with family set, that family's
 * entries (but its revocation markers). Volatile ones are counted here;
 * durable ones leave only the cache: the disk sweep that follows counts
 * them and removes their records. */
static void sd_mem_sweep(sd_store_t *sd, const unsigned char *family, long long now,
                         sd_sweep_t *res)
{
    apr_uint32_t i;
    sd_slot_t *sl;
    int expired;

    for (i = 0; i < sd->hdr->nslots; i++) {
        sl = &sd->slots[i];
        while (sl->used) {
            expired = sd_expired(sl->exp, now);
            if (!expired && !(family && sd_family_match(sl->family, sl->kind, family))) {
                break;
            }
            if (SD_VOLATILE(sl->kind)) {
                res->expired += expired;
                res->live += !expired;
                sd->hdr->purged += expired;
            }
            sd_mem_delete(sd, i);    /* may shift another entry into slot i */
        }
    }
}

/* ------------------------------------------------------ the operations */

static apr_status_t sd_lock(sd_store_t *sd)
{
    return sd->joined ? apr_proc_mutex_lock(sd->joined) : apr_global_mutex_lock(sd->mutex);
}

static void sd_unlock(sd_store_t *sd)
{
    if (sd->db_locked) {
        (void)apr_sdbm_unlock(sd->db);
        sd->db_locked = 0;
    }
    if (sd->joined) {
        (void)apr_proc_mutex_unlock(sd->joined);
    }
    else {
        (void)apr_global_mutex_unlock(sd->mutex);
    }
}

/* Find key's live entry in either tier (lock held). Expired and corrupt
 * entries found on the way are dropped. A memory miss always asks the disk
 * (a child of an older generation may have written the record). */
static apr_status_t sd_find(sd_store_t *sd, const unsigned char *key, sd_found_t *f,
                            long long now)
{
    long i = sd_mem_find(sd, key);
    apr_status_t rv;

    f->slot = i;
    f->on_disk = 0;
    if (i >= 0) {
        if (sd_expired(sd->slots[i].exp, now)) {
            rv = sd_drop_expired_slot(sd, (apr_uint32_t)i);
            return rv == APR_SUCCESS ? APR_NOTFOUND : rv;
        }
        sd_slot_view(&sd->slots[i], &f->e);
        f->on_disk = !SD_VOLATILE(f->e.kind);
        sd->slots[i].ref = 1;
        return APR_SUCCESS;
    }
    rv = sd_disk_fetch(sd, key, f->buf, &f->e);
    if (rv == SD_ECORRUPT) {
        sd->hdr->corrupt++;
    }
    else if (rv == APR_SUCCESS && sd_expired(f->e.exp, now)) {
        sd->hdr->purged++;
    }
    else {
        f->on_disk = (rv == APR_SUCCESS);
        return rv;
    }
    rv = sd_disk_del(sd, key, SD_KEY_LEN);
    return rv == APR_SUCCESS ? APR_NOTFOUND : rv;
}

/* Before taking a cached durable entry, make sure the file (the truth,
 * locked now for the rest of the operation) still has it. */
static apr_status_t sd_confirm(sd_store_t *sd, const unsigned char *key, sd_found_t *f)
{
    unsigned char buf[SD_REC_MAX];
    oas_entry_t e;
    apr_status_t rv;

    if (f->slot < 0 || !f->on_disk) {
        return APR_SUCCESS;
    }
    if ((rv = sd_disk_fetch(sd, key, buf, &e)) == APR_NOTFOUND || rv == SD_ECORRUPT) {
        sd_mem_delete(sd, (apr_uint32_t)f->slot);
        return APR_NOTFOUND;
    }
    return rv;
}

/* Put a volatile entry: memory only; a durable record of the same key goes. */
static apr_status_t sd_put_volatile(sd_store_t *sd, const unsigned char *key,
                                    const oas_entry_t *e, long long now)
{
    long i = sd_mem_find(sd, key);
    int on_disk = 0;
    apr_status_t rv;

    if (i >= 0) {
        on_disk = !SD_VOLATILE(sd->slots[i].kind);
    }
    else if ((rv = sd_disk_has(sd, key, &on_disk)) != APR_SUCCESS
             || (rv = sd_mem_room(sd, now)) != APR_SUCCESS) {
        return rv;
    }
    if (on_disk && (rv = sd_disk_del(sd, key, SD_KEY_LEN)) != APR_SUCCESS
        && rv != APR_NOTFOUND) {
        return rv;
    }
    if (i >= 0) {
        sd_slot_set(sd, &sd->slots[i], key, e);
    }
    else {
        sd_mem_insert(sd, key, e);
    }
    return APR_SUCCESS;
}

/* A one-part record for a key memory does not know, while the disk tier
 * has room: SDBM's INSERT looks for the key and writes in one visit of its
 * page (a look with sd_disk_has and a store walk the directory twice, and
 * each walk reads its blocks again). *pnew = 1 when it was written;
 * 0 when the key had a record after all (or the entry is too large for
 * this), which the caller then replaces. */
static apr_status_t sd_disk_insert(sd_store_t *sd, const unsigned char *key,
                                   const oas_entry_t *e, int *pnew)
{
    unsigned char buf[SD_REC_MAX];
    apr_size_t n;
    apr_status_t rv;

    *pnew = 0;
    if (SD_REC_HDR + e->len > SD_PART_MAX || sd->hdr->disk_count >= sd->hdr->disk_cap) {
        return APR_SUCCESS;
    }
    if ((rv = sd_disk(sd)) != APR_SUCCESS) {
        return rv;
    }
    n = sd_rec_encode(buf, e);
    rv = apr_sdbm_store(sd->db, sd_datum(key, SD_KEY_LEN), sd_datum(buf, n), APR_SDBM_INSERT);
    *pnew = rv == APR_SUCCESS;
    return rv == APR_EEXIST ? APR_SUCCESS : rv;
}

/* Write a durable entry's record over the one key may have (the general
 * way: look first, make room if it is new and the tier is full). */
static apr_status_t sd_disk_replace(sd_store_t *sd, const unsigned char *key,
                                    const oas_entry_t *e, int on_disk, long long now,
                                    apr_pool_t *p)
{
    apr_status_t rv;

    if (!on_disk && (rv = sd_disk_has(sd, key, &on_disk)) != APR_SUCCESS) {
        return rv;
    }
    if (!on_disk && sd->hdr->disk_count >= sd->hdr->disk_cap
        && (rv = sd_disk_room(sd, now, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = sd_disk_put(sd, key, e, on_disk)) == APR_SUCCESS && !on_disk) {
        sd->hdr->disk_count++;
    }
    return rv;
}

/* Put a durable entry: write through to disk, then cache it. */
static apr_status_t sd_put_durable(sd_store_t *sd, const unsigned char *key,
                                   const oas_entry_t *e, long long now, apr_pool_t *p)
{
    long i = sd_mem_find(sd, key);
    int on_disk = (i >= 0 && !SD_VOLATILE(sd->slots[i].kind)), added = 0;
    apr_status_t rv;

    if (!on_disk && (rv = sd_disk_insert(sd, key, e, &added)) != APR_SUCCESS) {
        return rv;
    }
    if (added) {
        sd->hdr->disk_count++;
    }
    else if ((rv = sd_disk_replace(sd, key, e, on_disk, now, p)) != APR_SUCCESS) {
        return rv;
    }
    if (sd_expired(e->exp, now)) {
        sd->hdr->idle_scan_sec = 0;   /* the next full-disk scan may find this one */
    }
    sd_mem_cache(sd, key, e, now);
    return APR_SUCCESS;
}

static apr_status_t sd_put_locked(sd_store_t *sd, const unsigned char *key,
                                  const oas_entry_t *e, long long now, apr_pool_t *p)
{
    apr_status_t rv;

    rv = SD_VOLATILE(e->kind) ? sd_put_volatile(sd, key, e, now)
                              : sd_put_durable(sd, key, e, now, p);
    if (rv == APR_ENOSPC) {
        sd->hdr->full++;
    }
    return rv;
}

enum { SD_PEEK, SD_GET, SD_TAKE };

/* get (SD_GET: and cache what the disk had), consume/remove (SD_TAKE: and
 * remove it, or put repl in its place), or a plain look (SD_PEEK). The entry
 * is copied to *e (unless e is NULL) with its payload from p. */
static apr_status_t sd_lookup(sd_store_t *sd, int mode, const unsigned char *key, oas_entry_t *e,
                              const oas_entry_t *repl, apr_pool_t *p)
{
    long long now = sd_now();
    sd_found_t f;
    apr_status_t rv;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    rv = sd_find(sd, key, &f, now);
    if (rv == APR_SUCCESS && mode == SD_TAKE) {
        rv = sd_confirm(sd, key, &f);
    }
    if (rv == APR_SUCCESS && e) {
        sd_entry_copy(e, &f.e, p);           /* before any slot moves */
    }
    if (rv == APR_SUCCESS && mode == SD_GET && f.slot < 0) {
        sd_mem_cache(sd, key, &f.e, now);    /* f.e views f.buf, not a slot */
    }
    else if (rv == APR_SUCCESS && mode == SD_TAKE) {
        rv = repl ? sd_put_locked(sd, key, repl, now, p)
                  : sd_remove_at(sd, key, f.slot, f.on_disk);
    }
    sd_unlock(sd);
    return rv;
}

static apr_status_t sd_get(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                           apr_pool_t *p)
{
    if (key == NULL || e == NULL) {
        return APR_EINVAL;
    }
    if (sd_fast_get(s->baton, key, e, p) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    return sd_lookup(s->baton, SD_GET, key, e, NULL, p);
}

static apr_status_t sd_put(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    sd_store_t *sd = s->baton;
    apr_status_t rv;

    if (key == NULL || sd_entry_check(e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    rv = sd_put_locked(sd, key, e, sd_now(), p);
    sd_unlock(sd);
    return rv;
}

static apr_status_t sd_consume(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                               const oas_entry_t *replacement, apr_pool_t *p)
{
    if (key == NULL || e == NULL
        || (replacement && sd_entry_check(replacement) != APR_SUCCESS)) {
        return APR_EINVAL;
    }
    return sd_lookup(s->baton, SD_TAKE, key, e, replacement, p);
}

static apr_status_t sd_remove(oas_store_t *s, const unsigned char *key, apr_pool_t *p)
{
    return key ? sd_lookup(s->baton, SD_TAKE, key, NULL, NULL, p) : APR_EINVAL;
}

/* ---------------------------------------------------- failure counters */

/* A counter's count and expiry without the lock (0, 0: none; counters live
 * in memory only, so a miss is an answer too), or APR_EAGAIN when a writer
 * was in the way. */
static apr_status_t sd_fast_count(sd_store_t *sd, const unsigned char *key, long *pn,
                                  long long *pexp)
{
    apr_uint32_t seq = __atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE);
    apr_uint32_t mask = sd->hdr->nslots - 1, i = sd_home(sd, key), n;
    unsigned char b[OAS_COUNT_LEN];
    sd_slot_t *sl = NULL;
    long long exp = 0;
    apr_size_t len = 0;

    for (n = 0; n <= mask && sd->slots[i].used; n++, i = (i + 1) & mask) {
        if (memcmp(sd->slots[i].key, key, SD_KEY_LEN) == 0) {
            sl = &sd->slots[i];
            break;
        }
    }
    if (sl) {
        exp = sl->exp;
        len = sl->len;
        memcpy(b, sl->data, OAS_COUNT_LEN);
        if (sl->kind != OAS_KIND_AUTH_FAILURES) {
            return APR_EAGAIN;
        }
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if ((seq & 1) != 0 || __atomic_load_n(&sd->hdr->seq, __ATOMIC_RELAXED) != seq) {
        return APR_EAGAIN;
    }
    if (!sl || sd_expired(exp, sd_now())) {
        *pn = 0;
        *pexp = 0;
        return APR_SUCCESS;
    }
    *pn = oas_count_decode(b, len);
    *pexp = exp;
    return APR_SUCCESS;
}

/* Write a counter into memory (lock held): in place, or into room made. */
static apr_status_t sd_count_write(sd_store_t *sd, const unsigned char *key, long slot,
                                   long n, long long exp, long long now)
{
    unsigned char b[OAS_COUNT_LEN];
    oas_entry_t e;
    apr_status_t rv;

    memset(&e, 0, sizeof(e));
    oas_count_encode(b, n);
    e.kind = OAS_KIND_AUTH_FAILURES;
    e.exp = exp;
    e.data = b;
    e.len = OAS_COUNT_LEN;
    if (slot >= 0) {
        sd_slot_set(sd, &sd->slots[slot], key, &e);
        return APR_SUCCESS;
    }
    if ((rv = sd_mem_room(sd, now)) != APR_SUCCESS) {
        sd->hdr->full++;
        return rv;
    }
    sd_mem_insert(sd, key, &e);
    return APR_SUCCESS;
}

static apr_status_t sd_count_locked(sd_store_t *sd, const unsigned char *key, long delta,
                                    long long exp, long *pn, long long *pexp)
{
    long long now = sd_now(), had_exp = 0;
    long i = sd_mem_find(sd, key), n = 0;
    apr_status_t rv;

    if (i >= 0 && sd->slots[i].kind != OAS_KIND_AUTH_FAILURES) {
        return APR_EINVAL;
    }
    if (i >= 0 && sd_expired(sd->slots[i].exp, now)) {
        if ((rv = sd_drop_expired_slot(sd, (apr_uint32_t)i)) != APR_SUCCESS) {
            return rv;
        }
        i = -1;
    }
    if (i >= 0) {
        n = oas_count_decode(sd->slots[i].data, sd->slots[i].len);
        had_exp = sd->slots[i].exp;
    }
    *pn = n + delta;
    *pexp = (delta == 0 && exp > 0) || exp > had_exp ? exp : had_exp;
    if (i < 0 && delta == 0) {
        *pn = 0;
        *pexp = 0;
        return APR_SUCCESS;
    }
    if (delta == 0 && *pexp == had_exp) {
        return APR_SUCCESS;
    }
    return sd_count_write(sd, key, i, *pn, *pexp, now);
}

static apr_status_t sd_count(oas_store_t *s, const unsigned char *key, long delta,
                             long long exp, long *pn, long long *pexp, apr_pool_t *p)
{
    sd_store_t *sd = s->baton;
    long n = 0;
    long long x = 0;
    apr_status_t rv;

    if (key == NULL || delta < 0 || (delta > 0 && exp <= 0)) {
        return APR_EINVAL;
    }
    if (delta > 0 || exp > 0 || (rv = sd_fast_count(sd, key, &n, &x)) != APR_SUCCESS) {
        if ((rv = sd_lock(sd)) != APR_SUCCESS) {
            return rv;
        }
        rv = sd_count_locked(sd, key, delta, exp, &n, &x);
        sd_unlock(sd);
    }
    if (pn) {
        *pn = rv == APR_SUCCESS ? n : 0;
    }
    if (pexp) {
        *pexp = rv == APR_SUCCESS ? x : 0;
    }
    return rv;
}

/* Sweep both tiers for expired entries and, with family set, that family's. */
static apr_status_t sd_sweep(sd_store_t *sd, const unsigned char *family, sd_sweep_t *res,
                             apr_pool_t *p)
{
    long long now = sd_now();
    apr_status_t rv;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    sd_mem_sweep(sd, family, now, res);
    if ((rv = sd_disk_sweep(sd, family, now, 0, res, p)) == APR_SUCCESS) {
        sd->hdr->idle_scan_sec = 0;
    }
    sd_unlock(sd);
    return rv;
}

/* An all-zero family means "no family": refusing it keeps a caller's slip
 * from wiping every family-less token. */
static apr_status_t sd_remove_family(oas_store_t *s, const unsigned char *family, int *pcount,
                                     apr_pool_t *p)
{
    static const unsigned char none[OAS_FAMILY_LEN];
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv = APR_EINVAL;

    if (family != NULL && memcmp(family, none, OAS_FAMILY_LEN) != 0) {
        rv = sd_sweep(s->baton, family, &res, p);
    }
    if (pcount) {
        *pcount = res.live;
    }
    return rv;
}

static apr_status_t sd_purge(oas_store_t *s, int *pcount, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv = sd_sweep(s->baton, NULL, &res, p);

    if (pcount) {
        *pcount = res.expired;
    }
    return rv;
}

/* The keys to visit: every disk key, and the volatile memory keys (a
 * durable entry in memory is on disk too, so it is listed once). */
static apr_status_t sd_iter_keys(sd_store_t *sd, apr_array_header_t *keys)
{
    apr_sdbm_datum_t *d;
    apr_status_t rv;
    apr_uint32_t i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    rv = sd_disk_keys(sd, keys);
    for (i = 0; rv == APR_SUCCESS && i < sd->hdr->nslots; i++) {
        if (sd->slots[i].used && SD_VOLATILE(sd->slots[i].kind)) {
            d = apr_array_push(keys);
            d->dsize = SD_KEY_LEN;
            d->dptr = apr_pmemdup(keys->pool, sd->slots[i].key, SD_KEY_LEN);
        }
    }
    sd_unlock(sd);
    return rv;
}

/* Each key is looked up under the lock, the callback runs without it (so it
 * may use the store); keys that went away meanwhile are skipped. */
static apr_status_t sd_iterate(oas_store_t *s,
                               int (*cb)(void *ctx, const unsigned char *key, const oas_entry_t *e),
                               void *ctx, apr_pool_t *p)
{
    apr_array_header_t *keys;
    apr_sdbm_datum_t *k;
    apr_pool_t *tmp, *one;
    oas_entry_t e;
    apr_status_t rv;
    int i;

    if (cb == NULL) {
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS) {
        return rv;
    }
    keys = apr_array_make(tmp, 64, sizeof(apr_sdbm_datum_t));
    if ((rv = sd_iter_keys(s->baton, keys)) == APR_SUCCESS) {
        rv = apr_pool_create(&one, tmp);
    }
    for (i = 0; rv == APR_SUCCESS && i < keys->nelts; i++) {
        k = &APR_ARRAY_IDX(keys, i, apr_sdbm_datum_t);
        apr_pool_clear(one);
        rv = k->dsize != SD_KEY_LEN ? APR_NOTFOUND
             : sd_lookup(s->baton, SD_PEEK, (const unsigned char *)k->dptr, &e, NULL, one);
        if (rv == APR_SUCCESS && cb(ctx, (const unsigned char *)k->dptr, &e) != 0) {
            break;
        }
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t sd_stats(oas_store_t *s, oas_store_stats_t *st)
{
    sd_store_t *sd = s->baton;
    apr_status_t rv;

    if (st == NULL) {
        return APR_EINVAL;
    }
    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    memset(st, 0, sizeof(*st));
    memcpy(st->mem_entries, sd->hdr->mem_count, sizeof(st->mem_entries));
    st->mem_capacity = sd->hdr->mem_cap;
    st->disk_entries = sd->hdr->disk_count;
    st->disk_capacity = sd->hdr->disk_cap;
    st->purged = sd->hdr->purged;
    st->full = sd->hdr->full;
    sd_unlock(sd);
    return APR_SUCCESS;
}

/* In a new process: re-attach the mutex, open our own SDBM handle. */
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
    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    if (sd->db_pid != getpid()) {
        sd->pool = p;                      /* this process' handle lives in p */
    }
    rv = sd_disk_open(sd);
    sd_unlock(sd);
    return rv;
}

/* ------------------------------------------------------------- creation */

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
    sd->hdr->slots_off = (apr_uint32_t)off;
    sd->hdr->slot_size = (apr_uint32_t)sizeof(sd_slot_t);
    sd->hdr->mem_cap = sd->mem_entries;
    sd->hdr->disk_cap = sd->disk_entries;
    sd->slots = (sd_slot_t *)((char *)base + off);
    return APR_SUCCESS;
}

/* Count the file's live records; drop expired and corrupt ones. */
static apr_status_t sd_disk_scan(sd_store_t *sd, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    long corrupt;
    apr_status_t rv;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    sd->hdr->disk_count = 0;
    rv = sd_disk_sweep(sd, NULL, sd_now(), 0, &res, p);
    sd->hdr->disk_count = res.kept;
    corrupt = sd->hdr->corrupt;
    sd_unlock(sd);
    if (rv != APR_SUCCESS) {
        OAS_LOG(&sd->log, OAS_LOG_ERR, rv, OASLOGNO(00304)
                "token store: cannot read the SDBM file %s", sd->path);
        return rv;
    }
    OAS_LOG(&sd->log, corrupt ? OAS_LOG_WARNING : OAS_LOG_DEBUG, 0, OASLOGNO(00305)
            "token store %s: %ld live entries on disk, dropped %d expired and %ld "
            "malformed records", sd->path, res.kept, res.expired, corrupt);
    return APR_SUCCESS;
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

/* Map the named memory of a running store; refuse one of another layout. */
static apr_status_t sd_shm_attach(sd_store_t *sd, const char *shm_file, apr_pool_t *p)
{
    apr_size_t size;
    apr_status_t rv;
    sd_header_t *h;

    if ((rv = apr_shm_attach(&sd->shm, shm_file, p)) != APR_SUCCESS) {
        return rv;
    }
    size = apr_shm_size_get(sd->shm);
    h = apr_shm_baseaddr_get(sd->shm);
    if (size < sizeof(*h) || h->magic != SD_MAGIC || h->slot_size != sizeof(sd_slot_t)
        || h->slots_off != APR_ALIGN_DEFAULT(sizeof(sd_header_t)) || h->nslots == 0
        || (h->nslots & (h->nslots - 1)) != 0
        || size < h->slots_off + (apr_size_t)h->nslots * sizeof(sd_slot_t)) {
        apr_shm_detach(sd->shm);
        return APR_EINVAL;
    }
    sd->hdr = h;
    sd->slots = (sd_slot_t *)((char *)h + h->slots_off);
    sd->mem_entries = (int)h->mem_cap;
    sd->disk_entries = (int)h->disk_cap;
    return APR_SUCCESS;
}

static const oas_store_t sd_table = {
    .name = "default", .get = sd_get, .put = sd_put, .consume = sd_consume,
    .remove = sd_remove, .remove_family = sd_remove_family, .purge = sd_purge,
    .iterate = sd_iterate, .stats = sd_stats, .child_init = sd_child_init,
    .count = sd_count,
};

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
    if ((rv = sd_shm_create(sd, conf->shm_file, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = sd_disk_open(sd)) != APR_SUCCESS || (rv = sd_disk_scan(sd, p)) != APR_SUCCESS
        || (rv = sd_info_write(sd, conf, p)) != APR_SUCCESS) {
        if (sd->dbpool) {
            apr_pool_destroy(sd->dbpool);
        }
        apr_shm_destroy(sd->shm);
        return rv;
    }
    *s = sd_table;
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
    if (rv == APR_SUCCESS) {
        rv = sd_disk_open(sd);
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "cannot attach to the store of process %ld (%s, %s%s): %s",
                             info.pid, info.shm_file, path, APR_SDBM_PAGFEXT,
                             rv == APR_EINVAL ? "another version's memory layout"
                                              : apr_strerror(rv, buf, sizeof(buf)));
        return APR_STATUS_IS_ENOENT(rv) ? APR_EGENERAL : rv;
    }
    s = apr_palloc(p, sizeof(*s));
    *s = sd_table;
    s->baton = sd;
    *ps = s;
    return APR_SUCCESS;
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
    *s = sd_table;
    s->baton = baton;
}

/* s must be a default store. Nothing of s itself is read but its baton: a
 * store kept across a restart still points at strings and functions of the
 * module loaded before (oas_store_default_rebind mends that afterwards). */
int oas_store_default_same(const oas_store_t *s, const oas_store_default_conf_t *conf)
{
    const sd_store_t *sd;

    if (s == NULL || s->baton == NULL || conf == NULL || conf->path == NULL) {
        return 0;
    }
    sd = s->baton;
    return strcmp(sd->path, conf->path) == 0 && sd->mem_entries == conf->mem_entries
           && sd->disk_entries == conf->disk_entries;
}
