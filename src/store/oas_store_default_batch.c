/* oas_store_default_batch.c — put_many of the default store (oas_store.h):
 * the new tokens of a grant, then the look at their family's revocation
 * marker, as one operation of the store interface. Each entry is written as
 * put writes it (under its own shard's lock, through to the SDBM file for
 * durable kinds), so durability is put's.
 *
 * No lock is held across the whole: the order is what makes it safe. A
 * family's revocation writes its marker first and then sweeps the shards
 * (oas_store_default_walk.c); the look at the marker comes after every
 * entry is written. Either the look sees the marker (the entries are taken
 * back here), or the marker was written after the look, and so the sweep
 * of the memory tier that follows it finds the entries there, and a read
 * from disk refuses them by the marker (oas_store_default_walk.c). */
#include "oas_store_sd.h"

/* Take back the first n entries of w; best effort. */
static void sd_unput(sd_store_t *sd, const oas_store_write_t *w, int n, apr_pool_t *p)
{
    int i;

    for (i = 0; i < n; i++) {
        (void)sd_op(sd, SD_TAKE, w[i].key, NULL, NULL, p);
    }
}

/* APR_EACCES when unless has a live entry, else APR_SUCCESS or the store's
 * error. */
static apr_status_t sd_look_unless(sd_store_t *sd, const unsigned char *unless, apr_pool_t *p)
{
    apr_status_t rv = sd_op(sd, SD_PEEK, unless, NULL, NULL, p);

    return rv == APR_SUCCESS ? APR_EACCES : rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t sd_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                         const unsigned char *unless, apr_pool_t *p)
{
    sd_store_t *sd = s->baton;
    apr_status_t rv = APR_SUCCESS;
    int i, done = 0;

    if (w == NULL || n < 1 || n > OAS_STORE_BATCH_MAX) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (w[i].key == NULL || sd_entry_check(w[i].e) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    while (done < n && (rv = sd_op(sd, SD_PUT, w[done].key, NULL, w[done].e, p)) == APR_SUCCESS) {
        done++;
    }
    if (rv == APR_SUCCESS && unless) {
        rv = sd_look_unless(sd, unless, p);
    }
    if (rv != APR_SUCCESS) {
        sd_unput(sd, w, done, p);
    }
    return rv;
}
