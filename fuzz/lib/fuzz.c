/* fuzz.c — see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "fuzz.h"

static apr_pool_t *root;

apr_pool_t *fuzz_pool_root(void)
{
    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    return root;
}

char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(p, size + 1);
    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

char *fuzz_split(apr_pool_t *p, const uint8_t *data, size_t size, uint8_t sep,
                 const uint8_t **rest, size_t *restlen)
{
    const uint8_t *at = size ? memchr(data, sep, size) : NULL;

    if (at == NULL) {
        *rest = NULL;
        *restlen = 0;
        return fuzz_cstr(p, data, size);
    }
    *rest = at + 1;
    *restlen = size - (size_t)(at - data) - 1;
    return fuzz_cstr(p, data, (size_t)(at - data));
}

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
    abort();
}

/* ---- the in-memory store -------------------------------------------------- */

#define SLOTS 256

typedef struct slot_t {
    int used;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    unsigned char data[OAS_ENTRY_MAX];
} slot_t;

static slot_t slots[SLOTS];
static oas_store_t store;

static slot_t *find(const unsigned char *key)
{
    int i;
    for (i = 0; i < SLOTS; i++) {
        if (slots[i].used && memcmp(slots[i].key, key, OAS_DIGEST_LEN) == 0) {
            return &slots[i];
        }
    }
    return NULL;
}

static void copy_out(oas_entry_t *e, const slot_t *s, apr_pool_t *p)
{
    *e = s->e;
    e->data = apr_pmemdup(p, s->data, s->e.len ? s->e.len : 1);
}

static apr_status_t put_in(const unsigned char *key, const oas_entry_t *e)
{
    slot_t *s = find(key);
    int i;

    if (e->len > OAS_ENTRY_MAX) {
        return APR_EINVAL;
    }
    for (i = 0; s == NULL && i < SLOTS; i++) {
        if (!slots[i].used) {
            s = &slots[i];
        }
    }
    if (s == NULL) {
        return APR_ENOSPC;
    }
    s->used = 1;
    memcpy(s->key, key, OAS_DIGEST_LEN);
    s->e = *e;
    memcpy(s->data, e->data, e->len);
    s->e.data = s->data;
    return APR_SUCCESS;
}

static apr_status_t st_get(oas_store_t *st, const unsigned char *key, oas_entry_t *e,
                           apr_pool_t *p)
{
    slot_t *s = find(key);
    if (s == NULL) {
        return APR_NOTFOUND;
    }
    copy_out(e, s, p);
    return APR_SUCCESS;
}

static apr_status_t st_put(oas_store_t *st, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    return put_in(key, e);
}

static apr_status_t st_add(oas_store_t *st, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    return find(key) ? APR_EEXIST : put_in(key, e);
}

static apr_status_t st_consume(oas_store_t *st, const unsigned char *key, oas_entry_t *e,
                               const oas_entry_t *repl, apr_pool_t *p)
{
    slot_t *s = find(key);
    if (s == NULL) {
        return APR_NOTFOUND;
    }
    copy_out(e, s, p);
    s->used = 0;
    return repl ? put_in(key, repl) : APR_SUCCESS;
}

static apr_status_t st_remove(oas_store_t *st, const unsigned char *key, apr_pool_t *p)
{
    slot_t *s = find(key);
    if (s == NULL) {
        return APR_NOTFOUND;
    }
    s->used = 0;
    return APR_SUCCESS;
}

static apr_status_t st_remove_family(oas_store_t *st, const unsigned char *family, int *pcount,
                                     apr_pool_t *p)
{
    int i, n = 0;
    for (i = 0; i < SLOTS; i++) {
        if (slots[i].used && slots[i].e.kind != OAS_KIND_FAMILY_REVOKED
            && memcmp(slots[i].e.family, family, OAS_FAMILY_LEN) == 0) {
            slots[i].used = 0;
            n++;
        }
    }
    if (pcount) {
        *pcount = n;
    }
    return APR_SUCCESS;
}

static apr_status_t st_purge(oas_store_t *st, int *pcount, apr_pool_t *p)
{
    if (pcount) {
        *pcount = 0;
    }
    return APR_SUCCESS;
}

static apr_status_t st_iterate(oas_store_t *st,
                               int (*cb)(void *ctx, const unsigned char *key, const oas_entry_t *e),
                               void *ctx, apr_pool_t *p)
{
    int i;
    for (i = 0; i < SLOTS; i++) {
        if (slots[i].used && cb(ctx, slots[i].key, &slots[i].e)) {
            break;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t st_stats(oas_store_t *st, oas_store_stats_t *out)
{
    int i;
    memset(out, 0, sizeof(*out));
    for (i = 0; i < SLOTS; i++) {
        if (slots[i].used && slots[i].e.kind >= 0 && slots[i].e.kind < OAS_KIND_MAX) {
            out->mem_entries[slots[i].e.kind]++;
        }
    }
    out->mem_capacity = SLOTS;
    return APR_SUCCESS;
}

static apr_status_t st_child_init(oas_store_t *st, apr_pool_t *p)
{
    return APR_SUCCESS;
}

oas_store_t *fuzz_store(void)
{
    if (store.get == NULL) {
        store.name = "fuzz";
        store.get = st_get;
        store.put = st_put;
        store.add = st_add;
        store.consume = st_consume;
        store.remove = st_remove;
        store.remove_family = st_remove_family;
        store.purge = st_purge;
        store.iterate = st_iterate;
        store.stats = st_stats;
        store.child_init = st_child_init;
    }
    return &store;
}

void fuzz_store_reset(void)
{
    memset(slots, 0, sizeof(slots));
}

long fuzz_store_count(void)
{
    long n = 0;
    int i;
    for (i = 0; i < SLOTS; i++) {
        n += slots[i].used;
    }
    return n;
}

/* a sum over the entries: the same set of entries in other slots gives the same */
unsigned long fuzz_store_digest(void)
{
    unsigned long sum = 0;
    size_t k;
    int i;
    for (i = 0; i < SLOTS; i++) {
        unsigned long h = 5381;
        if (!slots[i].used) {
            continue;
        }
        for (k = 0; k < OAS_DIGEST_LEN; k++) {
            h = h * 33 + slots[i].key[k];
        }
        h = h * 33 + (unsigned long)slots[i].e.kind;
        for (k = 0; k < slots[i].e.len; k++) {
            h = h * 33 + slots[i].data[k];
        }
        sum += h;
    }
    return sum;
}
