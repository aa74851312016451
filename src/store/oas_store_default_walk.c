/* oas_store_default_walk.c — the default store's operations on many keys:
 * purge (a sweep of the memory tier under its lock, then of each shard
 * under that shard's lock alone), family revocation (the memory tier only:
 * the marker refuses the members on disk), iterate (keys shard by shard,
 * each looked up on its own, revoked families' members left out) and the
 * figures. Set into the table by
 * sd_ops() (setup); this file calls the others, none calls it. */
#include <string.h>

#include <apr_hash.h>

#include "oas_store_sd.h"
#include "oas_token.h"

/* Drop expired entries from memory (memory lock held) and, with family
 * set, that family's members (but its revocation markers). Volatile ones
 * are counted here; durable expired ones leave only the cache (the disk
 * sweep counts them); keys (with family) gets durable members' keys, whose
 * records the caller removes. */
static void sd_mem_sweep(sd_store_t *sd, const unsigned char *family, long long now,
                         sd_sweep_t *res, apr_array_header_t *keys)
{
    apr_uint32_t i;
    sd_slot_t *sl;
    int expired;

    for (i = 0; i < sd->nslots; i++) {
        sl = &sd->slots[i];
        while (sl->used) {
            expired = sd_expired(sl->exp, now);
            if (!expired && !(family && sd_family_match(sl->family, sl->kind, family))) {
                break;
            }
            if (SD_VOLATILE(sl->kind)) {
                res->expired += expired;
                res->live += !expired;
                sd_atomic_add(&sd->hdr->purged, expired);
            }
            else if (!expired && keys) {
                APR_ARRAY_PUSH(keys, void *) = apr_pmemdup(keys->pool, sl->key, SD_KEY_LEN);
            }
            sd_mem_delete(sd, i);    /* may shift another entry into slot i */
        }
    }
}

/* Sweep both tiers for expired entries and, with family set, that family's:
 * the memory tier at once, then each shard under its lock alone (purge,
 * and a revocation whose marker is missing). A token put meanwhile into a
 * shard already swept stays: the family's marker, written before
 * (oas_family_revoke), stops its issue. */
static apr_status_t sd_sweep(sd_store_t *sd, const unsigned char *family, sd_sweep_t *res,
                             apr_pool_t *p)
{
    long long now = sd_now();
    apr_status_t rv;
    int i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    sd_mem_sweep(sd, family, now, res, NULL);
    sd_unlock(sd);
    for (i = 0; rv == APR_SUCCESS && i < SD_SHARDS; i++) {
        if ((rv = sd_shard_lock(sd, &sd->shard[i])) == APR_SUCCESS) {
            rv = sd_disk_sweep(sd, i, family, now, 0, 0, res, p);
            sd_shard_unlock(sd, &sd->shard[i]);
        }
    }
    if (rv == APR_SUCCESS) {
        __atomic_store_n(&sd->hdr->idle_scan_sec, 0, __ATOMIC_RELAXED);
    }
    return rv;
}

/* APR_SUCCESS when family has a live marker, APR_NOTFOUND when not. */
static apr_status_t sd_marker(sd_store_t *sd, const unsigned char *family, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];

    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(p, family, OAS_FAMILY_LEN));
    return sd_op(sd, SD_PEEK, key, NULL, NULL, p);
}

/* Revocation by marker (the caller wrote it first): under the memory lock,
 * revoke_gen moves on and the family's members leave the memory tier; the
 * records of the durable ones found there go then, each under its shard.
 * Members only on disk stay: every read from disk refuses them by the
 * marker (sd_family_gate, oas_store_default.c) and removes them, and the
 * purge drops them at expiry (the marker outlives them: marker_exp in
 * oas_grant.c). The cost is the memory tier's, not the shards'. The marker
 * is missing (its put failed): the shards are swept, as before. */
static apr_status_t sd_revoke(sd_store_t *sd, const unsigned char *family, sd_sweep_t *res,
                              apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, 8, sizeof(void *));
    apr_status_t rv;
    sd_shard_t *sh;
    int i;

    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    __atomic_add_fetch(&sd->hdr->revoke_gen, 1, __ATOMIC_SEQ_CST);
    sd_mem_sweep(sd, family, sd_now(), res, keys);
    sd_unlock(sd);
    for (i = 0; rv == APR_SUCCESS && i < keys->nelts; i++) {
        sh = sd_shard(sd, APR_ARRAY_IDX(keys, i, void *));
        if ((rv = sd_shard_lock(sd, sh)) == APR_SUCCESS) {
            rv = sd_disk_del(sd, APR_ARRAY_IDX(keys, i, void *), SD_KEY_LEN);
            res->live += rv == APR_SUCCESS;
            rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
            sd_shard_unlock(sd, sh);
        }
    }
    if (rv == APR_SUCCESS && (rv = sd_marker(sd, family, p)) != APR_SUCCESS) {
        rv = sd_sweep(sd, family, res, p);
    }
    return rv;
}

/* An all-zero family means "no family": refusing it keeps a caller's slip
 * from wiping every family-less token. */
apr_status_t sd_remove_family(oas_store_t *s, const unsigned char *family, int *pcount,
                                     apr_pool_t *p)
{
    static const unsigned char none[OAS_FAMILY_LEN];
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv = APR_EINVAL;

    if (family != NULL && memcmp(family, none, OAS_FAMILY_LEN) != 0) {
        rv = sd_revoke(s->baton, family, &res, p);
    }
    if (pcount) {
        *pcount = res.live;
    }
    return rv;
}

apr_status_t sd_purge(oas_store_t *s, int *pcount, apr_pool_t *p)
{
    sd_sweep_t res = { 0, 0, 0 };
    apr_status_t rv = sd_sweep(s->baton, NULL, &res, p);

    if (pcount) {
        *pcount = res.expired;
    }
    return rv;
}

/* The keys to visit: every disk key (shard by shard), and the volatile
 * memory keys (a durable entry in memory is on disk too, so it is listed
 * once). */
static apr_status_t sd_iter_keys(sd_store_t *sd, apr_array_header_t *keys)
{
    apr_sdbm_datum_t *d;
    apr_status_t rv = APR_SUCCESS;
    apr_uint32_t i;
    int j;

    for (j = 0; rv == APR_SUCCESS && j < SD_SHARDS; j++) {
        if ((rv = sd_shard_lock(sd, &sd->shard[j])) == APR_SUCCESS) {
            rv = sd_disk_keys(sd, j, keys);
            sd_shard_unlock(sd, &sd->shard[j]);
        }
    }
    if (rv != APR_SUCCESS || (rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < sd->nslots; i++) {
        if (sd->slots[i].used && SD_VOLATILE(sd->slots[i].kind)) {
            d = apr_array_push(keys);
            d->dsize = SD_KEY_LEN;
            d->dptr = apr_pmemdup(keys->pool, sd->slots[i].key, SD_KEY_LEN);
        }
    }
    sd_unlock(sd);
    return rv;
}

/* 1 when e is a member of a revoked family (its marker is live): one look
 * per family and walk, the answers kept in fams; 0 when not; -1 (*prv)
 * when the store failed. */
static int sd_iter_revoked(sd_store_t *sd, apr_hash_t *fams, const oas_entry_t *e,
                           apr_pool_t *p, apr_status_t *prv)
{
    apr_pool_t *hp = apr_hash_pool_get(fams);
    int *known;

    if (!sd_has_family(e) || !sd_revoked_maybe(sd->hdr, e->family, sd_now())) {
        return 0;
    }
    if ((known = apr_hash_get(fams, e->family, OAS_FAMILY_LEN)) == NULL) {
        *prv = sd_marker(sd, e->family, p);
        if (*prv != APR_SUCCESS && *prv != APR_NOTFOUND) {
            return -1;
        }
        known = apr_palloc(hp, sizeof(*known));
        *known = *prv == APR_SUCCESS;
        apr_hash_set(fams, apr_pmemdup(hp, e->family, OAS_FAMILY_LEN), OAS_FAMILY_LEN, known);
    }
    *prv = APR_SUCCESS;
    return *known;
}

/* Each key is looked up under its shard's lock, the callback runs without
 * it (so it may use the store); keys that went away meanwhile are skipped,
 * and so are the members of revoked families that are still on disk. */
apr_status_t sd_iterate(oas_store_t *s,
                               int (*cb)(void *ctx, const unsigned char *key, const oas_entry_t *e),
                               void *ctx, apr_pool_t *p)
{
    apr_array_header_t *keys;
    apr_sdbm_datum_t *k;
    apr_pool_t *tmp, *one;
    apr_hash_t *fams;
    oas_entry_t e;
    apr_status_t rv;
    int i, revoked;

    if (cb == NULL) {
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS) {
        return rv;
    }
    keys = apr_array_make(tmp, 64, sizeof(apr_sdbm_datum_t));
    fams = apr_hash_make(tmp);
    if ((rv = sd_iter_keys(s->baton, keys)) == APR_SUCCESS) {
        rv = apr_pool_create(&one, tmp);
    }
    for (i = 0; rv == APR_SUCCESS && i < keys->nelts; i++) {
        k = &APR_ARRAY_IDX(keys, i, apr_sdbm_datum_t);
        apr_pool_clear(one);
        rv = k->dsize != SD_KEY_LEN ? APR_NOTFOUND
             : sd_op(s->baton, SD_PEEK_ALL, (const unsigned char *)k->dptr, &e, NULL, one);
        revoked = rv == APR_SUCCESS ? sd_iter_revoked(s->baton, fams, &e, one, &rv) : 0;
        if (rv == APR_SUCCESS && !revoked && cb(ctx, (const unsigned char *)k->dptr, &e) != 0) {
            break;
        }
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t sd_stats(oas_store_t *s, oas_store_stats_t *st)
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
    st->disk_entries = __atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED);
    st->disk_capacity = sd->hdr->disk_cap;
    st->purged = __atomic_load_n(&sd->hdr->purged, __ATOMIC_RELAXED);
    st->full = __atomic_load_n(&sd->hdr->full, __ATOMIC_RELAXED);
    st->recovered = sd->hdr->recovered;
    st->corrupt = __atomic_load_n(&sd->hdr->corrupt, __ATOMIC_RELAXED);
    sd_unlock(sd);
    return APR_SUCCESS;
}
