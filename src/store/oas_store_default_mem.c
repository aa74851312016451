/* oas_store_default_mem.c — the default store's memory tier: the shared
 * hash table of slots (find, insert, delete, the seqlock of lock-free
 * reads), making room in it (first-to-go entries, the clock hand), and its
 * lock (the store mutex) with the repair of a slot torn by a process that
 * died holding it. The layout and the rules are in oas_store_default.c's
 * head comment. It calls no other file of the store: the operations
 * (oas_store_default.c and the others) call it. */
#include <stddef.h>
#include <string.h>

#include "oas_store_sd.h"

apr_uint32_t sd_home(const sd_store_t *sd, const unsigned char *key)
{
    apr_uint64_t h;

    memcpy(&h, key, sizeof(h));
    return (apr_uint32_t)(h & (sd->nslots - 1));
}

long sd_mem_find(const sd_store_t *sd, const unsigned char *key)
{
    apr_uint32_t mask = sd->nslots - 1;
    apr_uint32_t i = sd_home(sd, key);

    while (sd->slots[i].used) {
        if (memcmp(sd->slots[i].key, key, SD_KEY_LEN) == 0) {
            return (long)i;
        }
        i = (i + 1) & mask;
    }
    return -1;
}

void sd_slot_view(const sd_slot_t *sl, oas_entry_t *e)
{
    e->kind = sl->kind;
    e->exp = sl->exp;
    memcpy(e->family, sl->family, OAS_FAMILY_LEN);
    e->data = sl->data;
    e->len = sl->len > OAS_ENTRY_MAX ? 0 : sl->len;  /* a damaged slot reads as empty */
}

/* Around every change of slots (lock held): seq odd during it, and the
 * changes ordered between the two stores (see "Lock-free reads" above). */
void sd_write_begin(sd_store_t *sd)
{
    __atomic_store_n(&sd->hdr->seq, sd->hdr->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void sd_write_end(sd_store_t *sd)
{
    __atomic_store_n(&sd->hdr->seq, sd->hdr->seq + 1, __ATOMIC_RELEASE);
}

/* Write e into slot sl (in use or not), keeping the per-kind counts. */
void sd_slot_set(sd_store_t *sd, sd_slot_t *sl, const unsigned char *key,
                        const oas_entry_t *e)
{
    sd_write_begin(sd);
    if (sl->used) {
        sd->hdr->mem_count[SD_KIND_IDX(sl->kind)]--;
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
    sd->hdr->mem_count[SD_KIND_IDX(sl->kind)]++;
    sd_write_end(sd);
}

/* Insert a key known to be absent; the caller made room. */
void sd_mem_insert(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e)
{
    apr_uint32_t mask = sd->nslots - 1;
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
void sd_mem_delete(sd_store_t *sd, apr_uint32_t i)
{
    apr_uint32_t mask = sd->nslots - 1;
    apr_uint32_t j = i, k;
    sd_slot_t *src;

    sd_write_begin(sd);
    sd->hdr->mem_count[SD_KIND_IDX(sd->slots[i].kind)]--;
    sd->hdr->mem_live--;
    for (;;) {
        j = (j + 1) & mask;
        src = &sd->slots[j];
        if (!src->used) {
            break;
        }
        k = sd_home(sd, src->key);
        if (i < j ? (k <= i || k > j) : (k <= i && k > j)) {
            memcpy(&sd->slots[i], src, offsetof(sd_slot_t, data)
                                       + (src->len > OAS_ENTRY_MAX ? OAS_ENTRY_MAX : src->len));
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
apr_status_t sd_fast_get(sd_store_t *sd, const unsigned char *key, oas_entry_t *e,
                         apr_pool_t *p)
{
    apr_uint32_t seq = __atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE);
    apr_uint32_t mask = sd->nslots - 1, i = sd_home(sd, key), n;
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

/* Whether key is in the memory tier, read without the lock (the seqlock):
 * 1 (its kind in *pkind), 0 (not there), or -1 (a writer was in the way). */
int sd_fast_kind(sd_store_t *sd, const unsigned char *key, int *pkind)
{
    apr_uint32_t seq = __atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE);
    apr_uint32_t mask = sd->nslots - 1, i = sd_home(sd, key), n;
    int found = 0;

    for (n = 0; n <= mask && sd->slots[i].used; n++, i = (i + 1) & mask) {
        if (memcmp(sd->slots[i].key, key, SD_KEY_LEN) == 0) {
            *pkind = sd->slots[i].kind;
            found = 1;
            break;
        }
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if ((seq & 1) != 0 || __atomic_load_n(&sd->hdr->seq, __ATOMIC_RELAXED) != seq) {
        return -1;
    }
    return found;
}

/* Drop key's memory copy, if there is one. */
apr_status_t sd_mem_forget(sd_store_t *sd, const unsigned char *key)
{
    apr_status_t rv;
    long i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    if ((i = sd_mem_find(sd, key)) >= 0) {
        sd_mem_delete(sd, (apr_uint32_t)i);
    }
    sd_unlock(sd);
    return APR_SUCCESS;
}

/* Drop the expired entry in slot i (memory lock held). A durable one's
 * record stays on disk (its shard is not locked here): the next look at its
 * key, a purge or the full disk's scan drops it, and counts it then. */
void sd_drop_expired_slot(sd_store_t *sd, apr_uint32_t i)
{
    if (SD_VOLATILE(sd->slots[i].kind)) {
        sd_atomic_add(&sd->hdr->purged, 1);
    }
    sd_mem_delete(sd, i);
}

/* Entries that anyone can make (SPEC section 8): posted forms' nonces,
 * device grants and pushed authorization requests. The first to go; together at most SD_FIRST_SHARE. */
#define SD_FIRST_TO_GO(k) ((k) == OAS_KIND_CSRF || OAS_KIND_IS_DEVICE(k) || (k) == OAS_KIND_PAR)

#define SD_FIRST_COUNT(h) ((h)->mem_count[OAS_KIND_CSRF] \
                           + (h)->mem_count[OAS_KIND_DEVICE_CODE] \
                           + (h)->mem_count[OAS_KIND_USER_CODE] \
                           + (h)->mem_count[OAS_KIND_PAR])

/* The first to go when memory is full: an expired entry or an entry anyone
 * can make (SD_FIRST_TO_GO), whichever the hand meets first. APR_NOTFOUND
 * when there is none (the per-kind counts say so without a scan). */
static apr_status_t sd_mem_drop_first(sd_store_t *sd, long long now)
{
    sd_header_t *h = sd->hdr;
    apr_uint32_t mask = sd->nslots - 1, i, steps;
    sd_slot_t *sl;

    for (steps = 0; SD_FIRST_COUNT(h) > 0 && steps < sd->nslots; steps++) {
        i = h->hand & mask;            /* shared memory: never an index unchecked */
        h->hand = (i + 1) & mask;
        sl = &sd->slots[i];
        if (sl->used && sd_expired(sl->exp, now)) {
            sd_drop_expired_slot(sd, i);
            return APR_SUCCESS;
        }
        if (sl->used && SD_FIRST_TO_GO(sl->kind)) {
            sd_mem_delete(sd, i);
            return APR_SUCCESS;
        }
    }
    return APR_NOTFOUND;
}

/* The clock hand: drop the first expired entry, or evict a durable entry
 * (it stays on disk), or with counters set a failure counter, not used
 * since the hand last passed. Live codes, their tombstones and nonces are
 * never touched. APR_ENOSPC when none can go. */
static apr_status_t sd_mem_clock(sd_store_t *sd, int counters, long long now)
{
    sd_header_t *h = sd->hdr;
    apr_uint32_t mask = sd->nslots - 1, i, steps;
    sd_slot_t *sl;

    for (steps = 0; steps < 2 * sd->nslots; steps++) {
        i = h->hand & mask;            /* shared memory: never an index unchecked */
        h->hand = (i + 1) & mask;
        sl = &sd->slots[i];
        if (!sl->used) {
            continue;
        }
        if (sd_expired(sl->exp, now)) {
            sd_drop_expired_slot(sd, i);
            return APR_SUCCESS;
        }
        if (SD_VOLATILE(sl->kind) && !(counters && sl->kind == OAS_KIND_AUTH_FAILURES)) {
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

/* Entries anyone can make may hold about a quarter of the memory tier. */
#define SD_FIRST_SHARE(h) ((h)->mem_cap / 4 > 1 ? (h)->mem_cap / 4 : 1)

/* Make room in the memory tier for a new entry of kind. Nonces of posted
 * forms (anyone signed in can make them) and device grants (anyone with a
 * public client id) are the first to go for a code, a
 * tombstone or a failure counter; they take the place of nothing but cached
 * durable entries, and of those only while they hold less than their share
 * (SD_FIRST_SHARE): beyond it a new nonce replaces an older one. A flood of
 * approval forms pushes out no code, token or counter (SPEC section 8).
 * Then cached durable entries go, and failure counters only when nothing
 * else can, for a code, a tombstone or another counter. A durable entry is
 * cached only in the place of an expired or another cached one (reads of
 * tokens push out no counter or nonce either). APR_ENOSPC when memory holds
 * only what may not go. */
apr_status_t sd_mem_room(sd_store_t *sd, int kind, long long now)
{
    sd_header_t *h = sd->hdr;
    apr_status_t rv;

    if (SD_FIRST_TO_GO(kind) && SD_FIRST_COUNT(h) >= SD_FIRST_SHARE(h)) {
        rv = sd_mem_drop_first(sd, now);
        return rv == APR_NOTFOUND ? APR_ENOSPC : rv;
    }
    if (h->mem_live < h->mem_cap) {
        return APR_SUCCESS;
    }
    if (SD_FIRST_TO_GO(kind)) {
        if ((rv = sd_mem_clock(sd, 0, now)) != APR_ENOSPC) {
            return rv;
        }
        rv = sd_mem_drop_first(sd, now);
        return rv == APR_NOTFOUND ? APR_ENOSPC : rv;
    }
    if (SD_VOLATILE(kind) && (rv = sd_mem_drop_first(sd, now)) != APR_NOTFOUND) {
        return rv;
    }
    rv = sd_mem_clock(sd, 0, now);
    return rv == APR_ENOSPC && SD_VOLATILE(kind) ? sd_mem_clock(sd, 1, now) : rv;
}

/* A holder of the lock died inside sd_slot_set or sd_mem_delete (SIGKILL, a
 * crash): seq is still odd and the table may be torn (half a slot, half a
 * backward shift). The mutex itself survives its holder (flock and fcntl
 * locks end with the process, APR's pthread mutexes are robust, SysV
 * semaphores use SEM_UNDO). Lock held: empty the table. Durable entries
 * are all on disk (the memory copy is a cache) and come back on their next
 * use; volatile ones (pending codes, approval forms) are lost, as after a
 * crash of the whole server. seq stays odd until the table is empty, so no
 * lock-free reader takes a torn slot meanwhile. */
static void sd_mem_recover(sd_store_t *sd)
{
    apr_uint32_t i;

    OAS_LOG(&sd->log, OAS_LOG_WARNING, 0, OASLOGNO(00309)
            "token store: a process died while changing the memory table "
            "(%ld entries in it); emptied it: tokens are reloaded from %s, pending "
            "codes are lost", sd->hdr->mem_live, sd->path);
    for (i = 0; i < sd->nslots; i++) {
        sd->slots[i].used = 0;
    }
    memset(sd->hdr->mem_count, 0, sizeof(sd->hdr->mem_count));
    sd->hdr->mem_live = 0;
    sd->hdr->hand = 0;
    sd->hdr->recovered++;
    __atomic_store_n(&sd->hdr->seq, sd->hdr->seq + 1, __ATOMIC_RELEASE);
}

apr_status_t sd_lock(sd_store_t *sd)
{
    apr_status_t rv;

    rv = sd->joined ? apr_proc_mutex_lock(sd->joined) : apr_global_mutex_lock(sd->mutex);
    if (rv == APR_SUCCESS && (__atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE) & 1) != 0) {
        sd_mem_recover(sd);
    }
    return rv;
}

void sd_unlock(sd_store_t *sd)
{
    if (sd->joined) {
        (void)apr_proc_mutex_unlock(sd->joined);
    }
    else {
        (void)apr_global_mutex_unlock(sd->mutex);
    }
}
