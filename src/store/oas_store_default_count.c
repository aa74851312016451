/* oas_store_default_count.c — the failure counters of the brute-force
 * limits in the default store: memory only, read without the lock (the
 * seqlock of the memory tier), written under it. */
#include <string.h>
#include "oas_store_sd.h"

/* A counter's count and expiry without the lock (0, 0: none; counters live
 * in memory only, so a miss is an answer too), or APR_EAGAIN when a writer
 * was in the way. */
static apr_status_t sd_fast_count(sd_store_t *sd, const unsigned char *key, long *pn,
                                  long long *pexp)
{
    apr_uint32_t seq = __atomic_load_n(&sd->hdr->seq, __ATOMIC_ACQUIRE);
    apr_uint32_t mask = sd->nslots - 1, i = sd_home(sd, key), n;
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
    if ((rv = sd_mem_room(sd, OAS_KIND_AUTH_FAILURES, now)) != APR_SUCCESS) {
        sd_atomic_add(&sd->hdr->full, 1);
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

    if (i >= 0 && sd->slots[i].kind != OAS_KIND_AUTH_FAILURES) {
        return APR_EINVAL;
    }
    if (i >= 0 && sd_expired(sd->slots[i].exp, now)) {
        sd_drop_expired_slot(sd, (apr_uint32_t)i);
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

apr_status_t sd_count(oas_store_t *s, const unsigned char *key, long delta,
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
