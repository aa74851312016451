/* oas_store_sdbm.c — the default store's disk tier: one record per durable
 * entry in an SDBM file (apr_sdbm; the key's shard: oas_store_shards.c),
 * written through on every put. A record
 * longer than one SDBM pair may hold is split in two pairs (the second under
 * key + 'c', with a checksum), written second part first. See the comment at
 * the top of oas_store_default.c for how the two tiers work together. */
#include <string.h>
#include <unistd.h>

#include "oas_store_dir.h"
#include "oas_store_sd.h"

/* ------------------------------------------------------------- records */

apr_size_t sd_rec_encode(unsigned char *buf, const oas_entry_t *e)
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

/* Decode a record's header (at least SD_REC_HDR bytes of buf); e views buf.
 * 0 if the header is malformed. */
static int sd_rec_decode_head(oas_entry_t *e, const unsigned char *buf)
{
    unsigned long long x = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        x = (x << 8) | buf[1 + i];
    }
    e->kind = buf[0];
    e->exp = (long long)x;
    memcpy(e->family, buf + 9, OAS_FAMILY_LEN);
    e->len = (apr_size_t)buf[25] | ((apr_size_t)buf[26] << 8);
    e->data = buf + SD_REC_HDR;
    return sd_kind_valid(e->kind) && !SD_VOLATILE(e->kind) && e->len <= OAS_ENTRY_MAX;
}

/* Decode a record that buf holds; e views buf. 0 if it is malformed. */
static int sd_rec_decode(oas_entry_t *e, const unsigned char *buf, apr_size_t n)
{
    return n >= SD_REC_HDR && sd_rec_decode_head(e, buf) && n == SD_REC_HDR + e->len;
}

/* The shard's handle, locked by the caller for the current operation. */
apr_status_t sd_disk(sd_shard_t *sh)
{
    return sh->locked && sh->db != NULL && sh->db_pid == oas_pid() ? APR_SUCCESS : APR_EGENERAL;
}

apr_sdbm_datum_t sd_datum(const void *p, apr_size_t n)
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
static apr_status_t sd_disk_get(sd_shard_t *sh, apr_sdbm_datum_t k, unsigned char *dst,
                                apr_size_t max, apr_size_t *pn)
{
    apr_sdbm_datum_t val = { NULL, 0 };
    apr_status_t rv;

    if ((rv = apr_sdbm_fetch(sh->db, &val, k)) != APR_SUCCESS) {
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
apr_status_t sd_disk_fetch(sd_store_t *sd, const unsigned char *key,
                                  unsigned char *buf, oas_entry_t *e)
{
    unsigned char ck[SD_KEY_LEN + 1], part[SD_SUM_LEN + SD_PART_MAX];
    apr_size_t n, n2 = SD_SUM_LEN, total;
    sd_shard_t *sh = sd_shard(sd, key);
    apr_uint32_t sum;
    apr_status_t rv;

    if ((rv = sd_disk(sh)) != APR_SUCCESS
        || (rv = sd_disk_get(sh, sd_datum(key, SD_KEY_LEN), buf, SD_REC_MAX, &n))
           != APR_SUCCESS) {
        return rv;
    }
    total = n < SD_REC_HDR ? n : SD_REC_HDR + (buf[25] | ((apr_size_t)buf[26] << 8));
    if (total > n && total <= SD_REC_MAX) {
        rv = sd_disk_get(sh, sd_cont_key(ck, key), part, SD_SUM_LEN + total - n, &n2);
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
apr_status_t sd_disk_has(sd_store_t *sd, const unsigned char *key, int *phas)
{
    unsigned char buf[SD_REC_MAX];
    oas_entry_t e;
    apr_status_t rv;

    *phas = 0;
    if (__atomic_load_n(&sd->hdr->disk_count, __ATOMIC_RELAXED) <= 0) {
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
apr_status_t sd_disk_put(sd_store_t *sd, const unsigned char *key, const oas_entry_t *e,
                                int replacing)
{
    unsigned char buf[SD_REC_MAX + SD_SUM_LEN], ck[SD_KEY_LEN + 1];
    apr_size_t n = sd_rec_encode(buf, e), first = n > SD_PART_MAX ? SD_PART_MAX : n;
    apr_uint32_t sum = sd_sum(buf, n);
    sd_shard_t *sh = sd_shard(sd, key);
    apr_status_t rv;

    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    if (n > first) {                        /* sum | rest, in place before the rest */
        memmove(buf + first + SD_SUM_LEN, buf + first, n - first);
        memcpy(buf + first, &sum, SD_SUM_LEN);
        rv = apr_sdbm_store(sh->db, sd_cont_key(ck, key),
                            sd_datum(buf + first, SD_SUM_LEN + n - first), APR_SDBM_REPLACE);
    }
    else if (replacing && (rv = apr_sdbm_delete(sh->db, sd_cont_key(ck, key))) == APR_EGENERAL) {
        rv = APR_SUCCESS;                   /* sdbm: EGENERAL = there was none */
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return apr_sdbm_store(sh->db, sd_datum(key, SD_KEY_LEN), sd_datum(buf, first),
                          APR_SDBM_REPLACE);
}

/* Delete a record (and its second part); APR_NOTFOUND if it was not there.
 * Only whole records count in disk_count. */
apr_status_t sd_disk_del(sd_store_t *sd, const void *key, int klen)
{
    unsigned char ck[SD_KEY_LEN + 1];
    sd_shard_t *sh = &sd->shard[klen > SD_SHARD_BYTE ? SD_SHARD_OF(key) : 0];
    apr_status_t rv;

    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_sdbm_delete(sh->db, sd_datum(key, (apr_size_t)klen))) == APR_EGENERAL) {
        return APR_NOTFOUND;                /* sdbm: EGENERAL = no such key */
    }
    if (rv == APR_SUCCESS && klen == SD_KEY_LEN) {
        sd_atomic_add(&sd->hdr->disk_count, -1);
        rv = apr_sdbm_delete(sh->db, sd_cont_key(ck, key));
    }
    return rv == APR_EGENERAL ? APR_SUCCESS : rv;
}

/* Whether the first part of a record (buf, n bytes) looks sound, and its
 * header in e: kind, expiry, family, length (not the payload). */
static int sd_rec_peek(oas_entry_t *e, const unsigned char *buf, apr_size_t n)
{
    apr_size_t whole;

    if (n < SD_REC_HDR || !sd_rec_decode_head(e, buf)) {
        return 0;
    }
    whole = SD_REC_HDR + e->len;
    return n == (whole > SD_PART_MAX ? SD_PART_MAX : whole);
}

/* The keys (copied, appended to keys) of the records a sweep would remove:
 * expired, malformed, and with family set that family's; at most max (0: no
 * limit). One walk of the file: a record's first part lives on the page the
 * walk is on, so fetching it reads no other page and the walk goes on
 * undisturbed (second parts are elsewhere and are not read: an orphaned one
 * is left to the start-up scan). Memory grows with what is to be removed,
 * not with the file. The file is not modified. */
apr_status_t sd_disk_candidates(sd_store_t *sd, int shard, const unsigned char *family,
                                long long now, int max, apr_array_header_t *keys)
{
    sd_shard_t *sh = &sd->shard[shard];
    apr_sdbm_datum_t k, val, *d;
    oas_entry_t e;
    apr_status_t rv;
    long seen = 0;

    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    for (rv = apr_sdbm_firstkey(sh->db, &k); rv == APR_SUCCESS && k.dptr != NULL
         && (max <= 0 || keys->nelts < max); rv = apr_sdbm_nextkey(sh->db, &k)) {
        if (k.dsize == SD_KEY_LEN + 1 && k.dptr[SD_KEY_LEN] == SD_CONT_TAG) {
            continue;
        }
        seen++;
        if (k.dsize == SD_KEY_LEN) {
            val.dptr = NULL;
            val.dsize = 0;
            if ((rv = apr_sdbm_fetch(sh->db, &val, k)) != APR_SUCCESS) {
                break;
            }
            if (val.dptr != NULL && val.dsize > 0
                && sd_rec_peek(&e, (const unsigned char *)val.dptr, (apr_size_t)val.dsize)
                && !sd_expired(e.exp, now)
                && !(family != NULL && sd_family_match(e.family, e.kind, family))) {
                continue;
            }
        }
        d = apr_array_push(keys);
        d->dsize = k.dsize;
        d->dptr = apr_pmemdup(keys->pool, k.dptr, k.dsize > 0 ? (apr_size_t)k.dsize : 1);
    }
    sd_atomic_add(&sd->hdr->swept, seen);
    return rv == APR_EOF ? APR_SUCCESS : rv;   /* sdbm reports the end as EOF */
}

/* Every key of a shard's SDBM file, as copied apr_sdbm_datum_t, appended to
 * keys. The file is not modified while it is walked. */
apr_status_t sd_disk_keys(sd_store_t *sd, int shard, apr_array_header_t *keys)
{
    sd_shard_t *sh = &sd->shard[shard];
    apr_sdbm_datum_t k, *d;
    apr_status_t rv;

    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    for (rv = apr_sdbm_firstkey(sh->db, &k); rv == APR_SUCCESS && k.dptr != NULL;
         rv = apr_sdbm_nextkey(sh->db, &k)) {
        d = apr_array_push(keys);
        d->dsize = k.dsize;
        d->dptr = apr_pmemdup(keys->pool, k.dptr, k.dsize > 0 ? (apr_size_t)k.dsize : 1);
    }
    return rv == APR_EOF ? APR_SUCCESS : rv;   /* sdbm reports the end as EOF */
}

/* During a sweep: a second part stays while its record does; an orphan
 * (left by a crash between the two writes) goes. */
apr_status_t sd_sweep_part(sd_store_t *sd, apr_sdbm_datum_t k)
{
    apr_sdbm_datum_t val = { NULL, 0 };
    sd_shard_t *sh = sd_shard(sd, k.dptr);
    apr_status_t rv;

    if ((rv = sd_disk(sh)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_sdbm_fetch(sh->db, &val, sd_datum(k.dptr, SD_KEY_LEN));
    if (rv != APR_SUCCESS || val.dptr != NULL) {
        return rv;
    }
    if ((rv = apr_sdbm_delete(sh->db, k)) == APR_SUCCESS) {
        sd_atomic_add(&sd->hdr->corrupt, 1);
    }
    return rv == APR_EGENERAL ? APR_SUCCESS : rv;
}
