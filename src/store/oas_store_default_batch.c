/* oas_store_default_batch.c — put_many of the default store (oas_store.h):
 * the new tokens of a grant and the look at their family's revocation marker
 * under one hold of the store's mutex, where put, put and get took it three
 * times (and the marker's get, a miss in memory, read the file under it
 * anyway). Each entry is written as put writes it (sd_put_locked: through
 * to the SDBM file for durable kinds), so durability is put's. */
#include "oas_store_sd.h"

/* Take back the first n entries of w (lock held); best effort. */
static void sd_unput(sd_store_t *sd, const oas_store_write_t *w, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        (void)sd_remove_at(sd, w[i].key, sd_mem_find(sd, w[i].key), !SD_VOLATILE(w[i].e->kind));
    }
}

/* APR_EACCES when unless has a live entry (lock held), else APR_SUCCESS or
 * the store's error. */
static apr_status_t sd_look_unless(sd_store_t *sd, const unsigned char *unless, long long now)
{
    sd_found_t f;
    apr_status_t rv = sd_find(sd, unless, &f, now);

    return rv == APR_SUCCESS ? APR_EACCES : rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t sd_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                         const unsigned char *unless, apr_pool_t *p)
{
    sd_store_t *sd = s->baton;
    long long now = sd_now();
    apr_status_t rv;
    int i, done = 0;

    if (w == NULL || n < 1 || n > OAS_STORE_BATCH_MAX) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (w[i].key == NULL || sd_entry_check(w[i].e) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    if ((rv = sd_lock(sd)) != APR_SUCCESS) {
        return rv;
    }
    while (done < n && (rv = sd_put_locked(sd, w[done].key, w[done].e, now, p)) == APR_SUCCESS) {
        done++;
    }
    if (rv == APR_SUCCESS && unless) {
        rv = sd_look_unless(sd, unless, now);
    }
    if (rv != APR_SUCCESS) {
        sd_unput(sd, w, done);
    }
    sd_unlock(sd);
    return rv;
}
