/* oas_store_default.c — the default store (SPEC §8): APR shared memory in
 * front of SDBM files (the disk tier, in shards).
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
 * Disk tier: SD_SHARDS SDBM files (PATH.0 .. PATH.7: oas_store_shards.c),
 * a key's shard picked by its byte 8. key = the 32-byte digest, value =
 *   u8 kind | i64 exp (LE) | family[16] | u16 len (LE) | payload[len]
 * A value longer than SD_PART_MAX is cut in two: the rest goes under the
 * 33-byte key digest|'c' (the same shard), after an FNV-1a sum of the whole
 * value (native byte order, like SDBM's pages), so parts of two writes never
 * pass for one record. SDBM splits a full page by hash bits, at most 10
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
 * the memory lock) and moves on after; a reader copies the slot, and keeps the
 * copy only when seq was even and the same before and after (a seqlock).
 * Anything else (a miss, an expired entry, a writer in the way) takes the
 * locked path: bearer checks and introspections of tokens in memory do not
 * queue behind token writes and their disk I/O.
 *
 * Locking: an operation on one key holds that key's shard (a thread mutex
 * and the shard file's lock, oas_store_shards.c) from start to end: it is
 * what makes the operation atomic (one winner of a consume across threads
 * and processes), and the disk I/O is done under it alone. The memory lock
 * (conf->mutex, the store mutex) is taken only around the slot changes and
 * looks, never held across disk I/O; lock order: shard, then memory. Only
 * holders of a key's shard write or remove that key's slot; the memory lock
 * holders of other keys may only evict it (a cached durable entry, an
 * expired or first-to-go one), so a holder of the shard re-finds its slot
 * under the memory lock each time. Operations on many keys (purge, family
 * revocation, iterate, the start-up scan, making room on a full disk) take
 * the memory lock for the memory tier, then the shards one at a time. A
 * durable entry's record on disk is dropped only under its shard: the
 * evictor drops an expired durable copy from memory and leaves its record to
 * the next look, purge or full-disk scan. Counters that other processes
 * update while holding only a shard (disk_count, purged, corrupt, full) are
 * changed atomically.
 *
 * Family revocation (by marker): the caller writes the family's marker,
 * then remove_family sweeps the memory tier alone, moving the header's
 * revoke_gen on under the memory lock. A member read from disk is taken
 * only when its family has no marker (sd_family_gate: the filter of
 * revoked families in the header, then a look at the marker), and cached
 * only when revoke_gen has not moved since that look (sd_mem_cache), so
 * the memory tier never holds a revoked family's member.
 *
 * Files: this one (operations on one key), oas_store_default_mem.c (the
 * memory tier and its lock), oas_store_default_walk.c (operations on many keys), oas_store_sdbm.c (the
 * disk tier's records), oas_store_shards.c (its shards, their locks, the
 * migration of a one-file store), oas_store_default_count.c (failure
 * counters), oas_store_default_setup.c (creation, attach); their shared
 * types in oas_store_sd.h.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include <apr_file_io.h>

#include "oas_store_sd.h"
#include "oas_token.h"

/* ------------------------------------------------------------ disk tier */

/* Remove key from both tiers (its shard locked): disk first, so a failed
 * write leaves the cache consistent with the file. */
static apr_status_t sd_remove_at(sd_store_t *sd, const unsigned char *key, int on_disk)
{
    apr_status_t rv;

    if (on_disk && (rv = sd_disk_del(sd, key, SD_KEY_LEN)) != APR_SUCCESS
        && rv != APR_NOTFOUND) {
        return rv;
    }
    return sd_mem_forget(sd, key);
}

enum { SD_KEEP, SD_LIVE, SD_EXPIRED, SD_CORRUPT };

/* Look at one disk record during a sweep: drop it (and its cached copy)
 * when it is corrupt, expired, or (family != NULL) of that family. */
static apr_status_t sd_sweep_one(sd_store_t *sd, apr_sdbm_datum_t k, const unsigned char *family,
                                 long long now, sd_sweep_t *res)
{
    unsigned char buf[SD_REC_MAX];
    const unsigned char *key = (const unsigned char *)k.dptr;
    int what = SD_KEEP;
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
        if (rv == APR_SUCCESS && e.kind == OAS_KIND_FAMILY_REVOKED) {
            sd_revoked_raise(sd->hdr, e.family, e.exp);    /* the start-up scan */
        }
        res->kept += (rv == APR_SUCCESS);
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if ((rv = sd_disk_del(sd, k.dptr, k.dsize)) != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (k.dsize == SD_KEY_LEN && (rv = sd_mem_forget(sd, key)) != APR_SUCCESS) {
        return rv;
    }
    res->live += (what == SD_LIVE);
    res->expired += (what == SD_EXPIRED);
    sd_atomic_add(&sd->hdr->purged, what == SD_EXPIRED);
    sd_atomic_add(&sd->hdr->corrupt, what == SD_CORRUPT);
    return APR_SUCCESS;
}

/* Walk one shard (locked by the caller), dropping corrupt and expired
 * records and, when family is set, that family's entries. Stops after max
 * removals in res (0: no limit). Removed records also leave the memory
 * tier. thorough (start-up): every record is read whole and counted in
 * res->kept, orphaned second parts go too, and memory grows with the file;
 * else only the records to remove are collected, in one walk that reads
 * first parts (sd_disk_candidates), so that a purge or a family revocation
 * costs memory for what it removes, not for the size of the file. */
apr_status_t sd_disk_sweep(sd_store_t *sd, int shard, const unsigned char *family,
                           long long now, int max, int thorough, sd_sweep_t *res,
                           apr_pool_t *p)
{
    apr_array_header_t *keys;
    apr_pool_t *tmp;
    apr_status_t rv;
    int i;

    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS) {
        return rv;
    }
    keys = apr_array_make(tmp, 16, sizeof(apr_sdbm_datum_t));
    rv = thorough ? sd_disk_keys(sd, shard, keys)
                  : sd_disk_candidates(sd, shard, family, now, max, keys);
    for (i = 0; rv == APR_SUCCESS && i < keys->nelts; i++) {
        if (max > 0 && res->live + res->expired >= max) {
            break;
        }
        rv = sd_sweep_one(sd, APR_ARRAY_IDX(keys, i, apr_sdbm_datum_t), family, now, res);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* The disk tier is full (no lock held): drop a bounded number of expired
 * records, shard by shard. A scan that found nothing is not repeated within
 * the same second (nothing new can expire before the clock moves on,
 * nothing new is written while full). */
static apr_status_t sd_disk_room(sd_store_t *sd, long long now, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (__atomic_load_n(&sd->hdr->idle_scan_sec, __ATOMIC_RELAXED) != now) {
        for (i = 0; rv == APR_SUCCESS && i < SD_SHARDS && res.expired < SD_PURGE_MAX; i++) {
            if ((rv = sd_shard_lock(sd, &sd->shard[i])) == APR_SUCCESS) {
                rv = sd_disk_sweep(sd, i, NULL, now, SD_PURGE_MAX, 0, &res, p);
                sd_shard_unlock(sd, &sd->shard[i]);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (res.expired == 0) {
            __atomic_store_n(&sd->hdr->idle_scan_sec, now, __ATOMIC_RELAXED);
        }
    }
    return __atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED) < sd->hdr->disk_cap
           ? APR_SUCCESS : APR_ENOSPC;
}

/* ------------------------------------------------- memory tier policies */

/* ------------------------------------------------------ the operations */

/* Copy key's live memory entry into f (memory lock taken here): APR_SUCCESS,
 * APR_NOTFOUND (an expired volatile entry, dropped), or APR_EAGAIN (not in
 * memory, or an expired durable copy, dropped: ask the disk). */
static apr_status_t sd_mem_look(sd_store_t *sd, const unsigned char *key, sd_found_t *f,
                                long long now)
{
    apr_status_t rv;
    sd_slot_t *sl;
    long i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    rv = APR_EAGAIN;
    if ((i = sd_mem_find(sd, key)) >= 0) {
        sl = &sd->slots[i];
        if (sd_expired(sl->exp, now)) {
            rv = SD_VOLATILE(sl->kind) ? APR_NOTFOUND : APR_EAGAIN;
            sd_drop_expired_slot(sd, (apr_uint32_t)i);
        }
        else {
            sd_slot_view(sl, &f->e);
            memcpy(f->buf, f->e.data, f->e.len);
            f->e.data = f->buf;
            f->in_mem = 1;
            f->on_disk = !SD_VOLATILE(f->e.kind);
            sl->ref = 1;
            rv = APR_SUCCESS;
        }
    }
    sd_unlock(sd);
    return rv;
}

/* Find key's live entry in either tier (its shard locked). Expired and
 * corrupt entries found on the way are dropped. A memory miss always asks
 * the disk (another process may have written the record). */
static apr_status_t sd_find(sd_store_t *sd, const unsigned char *key, sd_found_t *f,
                            long long now)
{
    apr_status_t rv;
    int kind = 0;

    f->in_mem = 0;
    f->on_disk = 0;
    /* Only holders of key's shard (we are one) put key into memory: a clean
     * look without the memory lock that finds no copy is exact, and a miss
     * then takes no memory lock (a copy found is read under it). */
    if (sd_fast_kind(sd, key, &kind) != 0 && (rv = sd_mem_look(sd, key, f, now)) != APR_EAGAIN) {
        return rv;
    }
    rv = sd_disk_fetch(sd, key, f->buf, &f->e);
    if (rv == SD_ECORRUPT) {
        sd_atomic_add(&sd->hdr->corrupt, 1);
    }
    else if (rv == APR_SUCCESS && sd_expired(f->e.exp, now)) {
        sd_atomic_add(&sd->hdr->purged, 1);
    }
    else {
        f->on_disk = (rv == APR_SUCCESS);
        return rv;
    }
    rv = sd_disk_del(sd, key, SD_KEY_LEN);
    return rv == APR_SUCCESS || rv == APR_NOTFOUND ? APR_NOTFOUND : rv;
}

/* Before taking a cached durable entry, make sure the file (the truth,
 * locked for the rest of the operation) still has it. */
static apr_status_t sd_confirm(sd_store_t *sd, const unsigned char *key, sd_found_t *f)
{
    unsigned char buf[SD_REC_MAX];
    oas_entry_t e;
    apr_status_t rv;

    if (!f->in_mem || !f->on_disk) {
        return APR_SUCCESS;
    }
    if ((rv = sd_disk_fetch(sd, key, buf, &e)) == APR_NOTFOUND || rv == SD_ECORRUPT) {
        return (rv = sd_mem_forget(sd, key)) == APR_SUCCESS ? APR_NOTFOUND : rv;
    }
    return rv;
}

/* Whether a durable entry read from disk is worth caching: always while
 * the memory tier has room; once it is full, one read in SD_ADMIT_EVERY
 * (of this process). A token checked again and again gets in after a few
 * checks; a working set many times the tier's size no longer makes every
 * miss evict an entry under the memory lock for a copy that the next
 * misses push out before anyone reads it (issue 18: 100,000 tokens on
 * 1,000 entries). Counts read without the lock: a hint. */
#define SD_ADMIT_EVERY 8
static int sd_mem_admit(sd_store_t *sd)
{
    long used = 0;
    int k;

    for (k = 0; k < OAS_KIND_MAX; k++) {
        used += __atomic_load_n(&sd->hdr->mem_count[k], __ATOMIC_RELAXED);
    }
    return used < sd->hdr->mem_cap
           || __atomic_fetch_add(&sd->admit_tick, 1, __ATOMIC_RELAXED) % SD_ADMIT_EVERY == 0;
}

/* Write e into key's slot, or into room made (memory lock taken here). */
static apr_status_t sd_mem_set(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                               long long now)
{
    apr_status_t rv;
    long i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    if ((i = sd_mem_find(sd, key)) >= 0) {
        sd_slot_set(sd, &sd->slots[i], key, e);
    }
    else if ((rv = sd_mem_room(sd, e->kind, now)) == APR_SUCCESS) {
        sd_mem_insert(sd, key, e);
    }
    sd_unlock(sd);
    return rv;
}

/* Put a volatile entry: memory only; a durable record of the same key goes
 * (first: a key is never in both tiers). */
static apr_status_t sd_put_volatile(sd_store_t *sd, const unsigned char *key,
                                    const oas_entry_t *e, long long now)
{
    int on_disk = 0, kind = 0, in_mem = sd_fast_kind(sd, key, &kind);
    apr_status_t rv;

    if (in_mem == 1 && !SD_VOLATILE(kind)) {
        on_disk = 1;                       /* a cached durable entry is on disk */
    }
    else if (in_mem != 1 && (rv = sd_disk_has(sd, key, &on_disk)) != APR_SUCCESS) {
        return rv;
    }
    if (on_disk && (rv = sd_disk_del(sd, key, SD_KEY_LEN)) != APR_SUCCESS
        && rv != APR_NOTFOUND) {
        return rv;
    }
    return sd_mem_set(sd, key, e, now);
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
    sd_shard_t *sh = sd_shard(sd, key);
    apr_size_t n;
    apr_status_t rv;

    *pnew = 0;
    if (SD_REC_HDR + e->len > SD_PART_MAX
        || __atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED) >= sd->hdr->disk_cap) {
        return APR_SUCCESS;
    }
    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    n = sd_rec_encode(buf, e);
    rv = apr_sdbm_store(sh->db, sd_datum(key, SD_KEY_LEN), sd_datum(buf, n), APR_SDBM_INSERT);
    *pnew = rv == APR_SUCCESS;
    return rv == APR_EEXIST ? APR_SUCCESS : rv;
}

/* Write a durable entry's record over the one key may have (the general
 * way: look first). A new record while the tier is full: SD_EROOM (the
 * caller lets the shard go and makes room) when room_ok, else APR_ENOSPC. */
static apr_status_t sd_disk_replace(sd_store_t *sd, const unsigned char *key,
                                    const oas_entry_t *e, int on_disk, int room_ok)
{
    apr_status_t rv;

    if (!on_disk && (rv = sd_disk_has(sd, key, &on_disk)) != APR_SUCCESS) {
        return rv;
    }
    if (!on_disk && __atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED) >= sd->hdr->disk_cap) {
        return room_ok ? SD_EROOM : APR_ENOSPC;
    }
    if ((rv = sd_disk_put(sd, key, e, on_disk)) == APR_SUCCESS && !on_disk) {
        sd_atomic_add(&sd->hdr->disk_count, 1);
    }
    return rv;
}

/* Put a durable entry: write through to disk, then cache it. Whether key
 * has a cached durable copy is read without the memory lock: only holders
 * of the key's shard (we are one) write it, so a clean read is exact. */
static apr_status_t sd_put_durable(sd_store_t *sd, const unsigned char *key,
                                   const oas_entry_t *e, long long now, int room_ok)
{
    int kind = 0, in_mem = sd_fast_kind(sd, key, &kind), added = 0, on_disk;
    apr_status_t rv;
    long i;

    if (in_mem < 0 && (rv = sd_lock(sd)) == APR_SUCCESS) {
        if ((i = sd_mem_find(sd, key)) >= 0) {
            kind = sd->slots[i].kind;
        }
        in_mem = i >= 0;
        sd_unlock(sd);
    }
    on_disk = in_mem == 1 && !SD_VOLATILE(kind);
    if (!on_disk && (rv = sd_disk_insert(sd, key, e, &added)) != APR_SUCCESS) {
        return rv;
    }
    if (added) {
        sd_atomic_add(&sd->hdr->disk_count, 1);
    }
    else if ((rv = sd_disk_replace(sd, key, e, on_disk, room_ok)) != APR_SUCCESS) {
        return rv;
    }
    if (sd_expired(e->exp, now)) {        /* the next full-disk scan may find this one */
        __atomic_store_n(&sd->hdr->idle_scan_sec, 0, __ATOMIC_RELAXED);
    }
    (void)sd_mem_set(sd, key, e, now);   /* caching is best effort (no old copy stays) */
    return APR_SUCCESS;
}

static apr_status_t sd_put_locked(sd_store_t *sd, const unsigned char *key,
                                  const oas_entry_t *e, long long now, int room_ok)
{
    if (e->kind == OAS_KIND_FAMILY_REVOKED) {
        sd_revoked_raise(sd->hdr, e->family, e->exp);      /* before the marker is seen */
    }
    return SD_VOLATILE(e->kind) ? sd_put_volatile(sd, key, e, now)
                                : sd_put_durable(sd, key, e, now, room_ok);
}

/* Revocation by marker on the disk tier. A family's revocation writes its
 * marker, then sweeps the memory tier alone (oas_store_default_walk.c): the
 * memory tier never holds a revoked family's member, and a member read from
 * disk is taken only when its family has no marker. fc says what was looked
 * at: fc->gen, revoke_gen noted before that look (sd_op). A member of a
 * family that may have a marker (sd_revoked_maybe) and was not looked at
 * since fc->gen: SD_EFAMILY (sd_op looks, then runs the operation again).
 * revoke_gen moved meanwhile (a revocation swept memory after the look):
 * looked at again. */
static apr_status_t sd_family_gate(sd_store_t *sd, const oas_entry_t *e, sd_famchk_t *fc,
                                   long long now)
{
    if (!sd_has_family(e)) {
        return APR_SUCCESS;
    }
    if (__atomic_load_n(&sd->hdr->revoke_gen, __ATOMIC_SEQ_CST) == fc->gen
        && ((fc->clear && memcmp(fc->family, e->family, OAS_FAMILY_LEN) == 0)
            || !sd_revoked_maybe(sd->hdr, e->family, now))) {
        return APR_SUCCESS;
    }
    memcpy(fc->family, e->family, OAS_FAMILY_LEN);
    fc->clear = 0;
    return SD_EFAMILY;
}

void (*sd_test_pause)(void *);          /* oas_store_default_test_pause (setup) */
void *sd_test_arg;

/* Cache a member read from disk (best effort), unless a revocation swept
 * the memory tier since its family was looked at: the sweep is done under
 * the memory lock and moves revoke_gen, so the copy is either put before
 * it (and swept) or not at all. */
static void sd_mem_cache(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                         const sd_famchk_t *fc, long long now)
{
    if (sd_lock(sd) != APR_SUCCESS) {
        return;
    }
    if ((!sd_has_family(e) || __atomic_load_n(&sd->hdr->revoke_gen, __ATOMIC_SEQ_CST) == fc->gen)
        && sd_mem_find(sd, key) < 0 && sd_mem_room(sd, e->kind, now) == APR_SUCCESS) {
        sd_mem_insert(sd, key, e);
    }
    sd_unlock(sd);
}

/* One operation on key, its shard locked: put (SD_PUT: repl), get (SD_GET:
 * and cache what the disk had), consume/remove (SD_TAKE: and remove it, or
 * put repl in its place), add (SD_ADD: put repl where there is nothing,
 * else APR_EEXIST), or a plain look (SD_PEEK, SD_PEEK_ALL). The entry is
 * copied to *e (unless e is NULL) with its payload from p. A member read
 * from disk passes sd_family_gate first (but for SD_ADD, SD_PEEK_ALL). */
static apr_status_t sd_op_locked(sd_store_t *sd, int mode, const unsigned char *key,
                                 oas_entry_t *e, const oas_entry_t *repl, int room_ok,
                                 sd_famchk_t *fc, apr_pool_t *p)
{
    long long now = sd_now();
    sd_found_t f;
    apr_status_t rv;

    if (mode == SD_PUT) {
        return sd_put_locked(sd, key, repl, now, room_ok);
    }
    rv = sd_find(sd, key, &f, now);
    if (rv == APR_SUCCESS && !f.in_mem && mode != SD_ADD && mode != SD_PEEK_ALL
        && (rv = sd_family_gate(sd, &f.e, fc, now)) != APR_SUCCESS) {
        return rv;
    }
    if (mode == SD_ADD) {
        rv = rv == APR_NOTFOUND ? sd_put_locked(sd, key, repl, now, room_ok)
                                : rv == APR_SUCCESS ? APR_EEXIST : rv;
        e = NULL;
    }
    if (rv == APR_SUCCESS && mode == SD_TAKE) {
        rv = sd_confirm(sd, key, &f);
    }
    if (rv == APR_SUCCESS && e) {
        sd_entry_copy(e, &f.e, p);
    }
    if (rv == APR_SUCCESS && mode == SD_GET && !f.in_mem) {
        if (sd_test_pause) {
            sd_test_pause(sd_test_arg);
        }
        if (sd_mem_admit(sd)) {
            sd_mem_cache(sd, key, &f.e, fc, now);
        }
    }
    else if (rv == APR_SUCCESS && mode == SD_TAKE) {
        rv = repl ? sd_put_locked(sd, key, repl, now, room_ok)
                  : sd_remove_at(sd, key, f.on_disk);
    }
    return rv;
}

/* SD_EFAMILY: look at fc->family's marker (memory, then its shard: never
 * under another shard's lock), revoke_gen noted first. None: fc is clear,
 * APR_SUCCESS (the operation runs again). One: the revoked member at key
 * is removed (best effort) and the answer is APR_NOTFOUND. */
static apr_status_t sd_family_look(sd_store_t *sd, const unsigned char *key, sd_famchk_t *fc,
                                   apr_pool_t *p)
{
    unsigned char mkey[OAS_DIGEST_LEN];
    sd_shard_t *sh = sd_shard(sd, key);
    oas_entry_t m;
    apr_status_t rv;

    fc->gen = __atomic_load_n(&sd->hdr->revoke_gen, __ATOMIC_SEQ_CST);
    oas_store_key(mkey, OAS_PREFIX_FAMILY, oas_hex(p, fc->family, OAS_FAMILY_LEN));
    if ((rv = sd_fast_get(sd, mkey, &m, p)) != APR_SUCCESS) {
        rv = sd_op(sd, SD_PEEK, mkey, &m, NULL, p);
    }
    if (rv == APR_NOTFOUND) {
        fc->clear = 1;
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS && sd_shard_lock(sd, sh) == APR_SUCCESS) {
        (void)sd_remove_at(sd, key, 1);
        sd_shard_unlock(sd, sh);
    }
    return rv == APR_SUCCESS ? APR_NOTFOUND : rv;
}

/* The operation under key's shard lock. A full disk tier: the shard goes,
 * room is made shard by shard, and the operation runs once more from the
 * start (nothing was changed before the room was missed). A member of a
 * family read from disk: its marker is looked at (sd_family_look), and the
 * operation runs once more. */
apr_status_t sd_op(sd_store_t *sd, int mode, const unsigned char *key, oas_entry_t *e,
                   const oas_entry_t *repl, apr_pool_t *p)
{
    sd_shard_t *sh = sd_shard(sd, key);
    sd_famchk_t fc;
    apr_status_t rv;
    int room_ok = 1;

    fc.clear = 0;
    fc.gen = __atomic_load_n(&sd->hdr->revoke_gen, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((rv = sd_shard_lock(sd, sh)) != APR_SUCCESS) {
            return rv;
        }
        rv = sd_op_locked(sd, mode, key, e, repl, room_ok, &fc, p);
        sd_shard_unlock(sd, sh);
        if (rv == SD_EFAMILY && (rv = sd_family_look(sd, key, &fc, p)) == APR_SUCCESS) {
            continue;
        }
        if (rv != SD_EROOM) {
            break;
        }
        room_ok = 0;
        if ((rv = sd_disk_room(sd, sd_now(), p)) != APR_SUCCESS) {
            break;
        }
    }
    if (rv == APR_ENOSPC) {
        sd_atomic_add(&sd->hdr->full, 1);
    }
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
    return sd_op(s->baton, SD_GET, key, e, NULL, p);
}

static apr_status_t sd_put(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    if (key == NULL || sd_entry_check(e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return sd_op(s->baton, SD_PUT, key, NULL, e, p);
}

static apr_status_t sd_add(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    if (key == NULL || sd_entry_check(e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return sd_op(s->baton, SD_ADD, key, NULL, e, p);
}

static apr_status_t sd_consume(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                               const oas_entry_t *replacement, apr_pool_t *p)
{
    if (key == NULL || e == NULL
        || (replacement && sd_entry_check(replacement) != APR_SUCCESS)) {
        return APR_EINVAL;
    }
    return sd_op(s->baton, SD_TAKE, key, e, replacement, p);
}

static apr_status_t sd_remove(oas_store_t *s, const unsigned char *key, apr_pool_t *p)
{
    return key ? sd_op(s->baton, SD_TAKE, key, NULL, NULL, p) : APR_EINVAL;
}

/* ------------------------------------------------------------- creation */

const oas_store_t sd_table = {
    .name = "default", .get = sd_get, .put = sd_put, .add = sd_add, .consume = sd_consume,
    .remove = sd_remove, .revoked_members_stay = 1,
    /* .count (oas_store_default_count.c), .remove_family, .purge, .iterate and
     * .stats (oas_store_default_walk.c), .child_init (setup) are set by sd_ops() */
};
