/* oas_credcache.c — the per-process cache of verified client credentials
 * (see oas_credcache.h for what it holds and why that is safe).
 *
 * Layout: nsets * CC_WAYS entries; the set of a client is a FNV-1a hash of
 * its id. An entry is free when stamp is 0; stamp is the cache's clock at
 * the entry's last use (least recently used way goes first). An entry is
 * for a client secret (oas_credcache_check) or for a check made elsewhere
 * (oas_credcache_remember): the kind is part of its key, so a client and a
 * user of the same name are two entries.
 *
 * The HMAC: an EVP_MAC_CTX keyed once (tmpl) is duplicated into a small
 * free list of contexts; a check takes one (under the lock), re-initialises
 * it with the same key (EVP_MAC_init with a NULL key: no key set-up, no
 * algorithm fetch), and gives it back with its lookup. That is 40% of the
 * work of a one-shot HMAC(). EVP_MAC_CTX_dup() takes a const source, so
 * duplicating tmpl needs no lock (openssl-threads(7)).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_md5.h>                  /* apr_password_validate */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "oas_credcache.h"
#include "oas_registry.h"              /* OAS_CLIENT_ID_MAX */
#include "oas_util.h"

#define CC_WAYS     4
#define CC_KEY_LEN  32
#define CC_MAX_SETS (1u << 20)
#define CC_SPARE    32                      /* most idle HMAC contexts kept */

enum { CC_CLIENT, CC_REMEMBERED };           /* the kinds of entry */

typedef struct cc_entry_t {
    unsigned long long stamp;                /* 0: free */
    long long expires;                       /* seconds; 0: never */
    int kind;                                /* CC_CLIENT, CC_REMEMBERED */
    unsigned char mac[OAS_DIGEST_LEN];       /* HMAC(key, hash|context NUL secret) */
    char client_id[OAS_CLIENT_ID_MAX + 1];
} cc_entry_t;

struct oas_credcache_t {
    pthread_mutex_t lock;
    EVP_MAC_CTX *tmpl;                       /* keyed HMAC-SHA-256, never updated */
    EVP_MAC_CTX *spare[CC_SPARE];            /* idle copies of tmpl */
    int nspare;
    cc_entry_t *entries;
    unsigned nsets;                          /* a power of two */
    unsigned long long clock;
    unsigned long hits, misses;
    pid_t pid;                               /* the process that made it */
};

static _Atomic(oas_credcache_t *) proc_cache;

/* ---------------------------------------------------------------- life */

static void cc_free(oas_credcache_t *c)
{
    if (c == NULL) {
        return;
    }
    while (c->nspare > 0) {
        EVP_MAC_CTX_free(c->spare[--c->nspare]);
    }
    EVP_MAC_CTX_free(c->tmpl);
    if (c->entries) {
        OPENSSL_cleanse(c->entries, sizeof(cc_entry_t) * c->nsets * CC_WAYS);
        free(c->entries);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* A keyed HMAC-SHA-256 context with a fresh random key. */
static EVP_MAC_CTX *cc_keyed_mac(void)
{
    unsigned char key[CC_KEY_LEN];
    OSSL_PARAM params[2];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

    EVP_MAC_free(mac);                       /* ctx keeps its own reference */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || oas_random_bytes(key, sizeof(key)) != APR_SUCCESS
        || EVP_MAC_init(ctx, key, sizeof(key), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return ctx;
}

static unsigned cc_sets_for(unsigned max_entries)
{
    unsigned sets = 1;

    while (sets * CC_WAYS < max_entries && sets < CC_MAX_SETS) {
        sets <<= 1;
    }
    return sets;
}

static oas_credcache_t *cc_new(unsigned max_entries)
{
    oas_credcache_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->nsets = cc_sets_for(max_entries);
    c->entries = calloc((size_t)c->nsets * CC_WAYS, sizeof(cc_entry_t));
    c->tmpl = cc_keyed_mac();
    c->pid = oas_pid();
    if (c->entries == NULL || c->tmpl == NULL) {
        cc_free(c);
        return NULL;
    }
    return c;
}

static apr_status_t cc_cleanup(void *data)
{
    cc_free(data);
    return APR_SUCCESS;
}

apr_status_t oas_credcache_create(oas_credcache_t **pc, unsigned max_entries, apr_pool_t *p)
{
    *pc = cc_new(max_entries);
    if (*pc == NULL) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, *pc, cc_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* The cache of this process. A cache inherited through fork() is left
 * alone (its lock may have been held by a thread that did not come along):
 * the child makes its own, with its own key. */
oas_credcache_t *oas_credcache_process(void)
{
    oas_credcache_t *c = atomic_load(&proc_cache), *mine;
    pid_t me = oas_pid();

    if (c != NULL && c->pid == me) {
        return c;
    }
    if ((mine = cc_new(OAS_CREDCACHE_DEFAULT_ENTRIES)) == NULL) {
        return NULL;
    }
    if (atomic_compare_exchange_strong(&proc_cache, &c, mine)) {
        return mine;
    }
    cc_free(mine);                           /* another thread of ours was first */
    return c;
}

/* ------------------------------------------------------------ lookups */

static unsigned cc_set_of(const oas_credcache_t *c, const char *client_id)
{
    unsigned h = 2166136261u;                /* FNV-1a */

    while (*client_id) {
        h = (h ^ (unsigned char)*client_id++) * 16777619u;
    }
    return h & (c->nsets - 1);
}

/* The way holding client_id of this kind in its set, or NULL (lock held). */
static cc_entry_t *cc_find(cc_entry_t *set, const char *client_id, int kind)
{
    int i;

    for (i = 0; i < CC_WAYS; i++) {
        if (set[i].stamp != 0 && set[i].kind == kind
            && strcmp(set[i].client_id, client_id) == 0) {
            return &set[i];
        }
    }
    return NULL;
}

/* A free way, else the least recently used one (lock held). */
static cc_entry_t *cc_victim(cc_entry_t *set)
{
    cc_entry_t *v = &set[0];
    int i;

    for (i = 1; i < CC_WAYS && v->stamp != 0; i++) {
        if (set[i].stamp < v->stamp) {
            v = &set[i];
        }
    }
    return v;
}

/* An idle HMAC context, or a new copy of tmpl; NULL if OpenSSL fails. */
static EVP_MAC_CTX *cc_ctx_get(oas_credcache_t *c)
{
    EVP_MAC_CTX *ctx = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->nspare > 0) {
        ctx = c->spare[--c->nspare];
    }
    pthread_mutex_unlock(&c->lock);
    return ctx ? ctx : EVP_MAC_CTX_dup(c->tmpl);
}

/* Keep ctx for the next check (lock held); free it when enough are idle. */
static void cc_ctx_put(oas_credcache_t *c, EVP_MAC_CTX *ctx)
{
    if (ctx != NULL && c->nspare < CC_SPARE) {
        c->spare[c->nspare++] = ctx;
    }
    else {
        EVP_MAC_CTX_free(ctx);
    }
}

/* HMAC(key, hash NUL secret): binds the secret to this very hash. */
static int cc_mac(EVP_MAC_CTX *ctx, const char *hash, const char *secret, unsigned char *out)
{
    size_t n = 0;

    return ctx != NULL && EVP_MAC_init(ctx, NULL, 0, NULL) == 1
           && EVP_MAC_update(ctx, (const unsigned char *)hash, strlen(hash) + 1) == 1
           && EVP_MAC_update(ctx, (const unsigned char *)secret, strlen(secret)) == 1
           && EVP_MAC_final(ctx, out, &n, OAS_DIGEST_LEN) == 1 && n == OAS_DIGEST_LEN;
}

enum { CC_NONE, CC_MISS, CC_HIT };

/* What to look up or store: the id, the kind of entry, and (a lookup) the
 * time, or (a store) when it expires (0: never). */
typedef struct cc_key_t {
    const char *id;
    int kind;
    long long time;
    int store;                               /* a lookup before a store: not counted */
} cc_key_t;

/* Look k up: CC_HIT if its entry holds mac and has not expired at k->time
 * (and refresh its stamp), else CC_MISS; CC_NONE when there is no mac
 * (OpenSSL failed). ctx goes back to the spares, or away if it failed. */
static int cc_lookup(oas_credcache_t *c, const cc_key_t *k, const unsigned char *mac,
                     EVP_MAC_CTX *ctx)
{
    cc_entry_t *e;
    int rc = CC_NONE;

    pthread_mutex_lock(&c->lock);
    if (mac == NULL) {
        EVP_MAC_CTX_free(ctx);
    }
    else {
        cc_ctx_put(c, ctx);
        e = cc_find(&c->entries[cc_set_of(c, k->id) * CC_WAYS], k->id, k->kind);
        rc = e != NULL && (e->expires == 0 || k->time < e->expires)
             && oas_ct_equal(e->mac, mac, OAS_DIGEST_LEN) ? CC_HIT : CC_MISS;
    }
    if (rc == CC_HIT && !k->store) {
        e->stamp = ++c->clock;
        c->hits++;
    }
    c->misses += rc == CC_MISS && !k->store;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* The HMAC of this secret for this hash (or context) into mac, and whether
 * it is cached. */
static int cc_probe(oas_credcache_t *c, const cc_key_t *k, const char *hash,
                    const char *secret, unsigned char *mac)
{
    EVP_MAC_CTX *ctx;

    if (c == NULL || strlen(k->id) > OAS_CLIENT_ID_MAX) {
        return CC_NONE;
    }
    ctx = cc_ctx_get(c);
    return cc_lookup(c, k, cc_mac(ctx, hash, secret, mac) ? mac : NULL, ctx);
}

/* Store mac for k, expiring at k->time (0: never). */
static void cc_store(oas_credcache_t *c, const cc_key_t *k, const unsigned char *mac)
{
    cc_entry_t *set, *e;

    pthread_mutex_lock(&c->lock);
    set = &c->entries[cc_set_of(c, k->id) * CC_WAYS];
    if ((e = cc_find(set, k->id, k->kind)) == NULL) {
        e = cc_victim(set);
        strcpy(e->client_id, k->id);         /* length checked by the caller */
        e->kind = k->kind;
    }
    memcpy(e->mac, mac, OAS_DIGEST_LEN);
    e->expires = k->time;
    e->stamp = ++c->clock;
    pthread_mutex_unlock(&c->lock);
}

int oas_credcache_check(oas_credcache_t *c, const char *client_id, const char *hash,
                        const char *secret)
{
    unsigned char mac[OAS_DIGEST_LEN];
    cc_key_t k = { client_id, CC_CLIENT, 0, 0 };
    int probe, rc;

    if (client_id == NULL || hash == NULL || secret == NULL) {
        return OAS_CRED_BAD;
    }
    probe = cc_probe(c, &k, hash, secret, mac);
    if (probe == CC_HIT) {
        rc = OAS_CRED_CACHED;
    }
    else if (apr_password_validate(secret, hash) != APR_SUCCESS) {
        rc = OAS_CRED_BAD;
    }
    else {
        if (probe == CC_MISS) {
            cc_store(c, &k, mac);
        }
        rc = OAS_CRED_VERIFIED;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

/* Recall (k->store 0: has it been remembered, unexpired at k->time?) or
 * remember (k->store 1: until k->time) a check made elsewhere. */
static int cc_elsewhere(oas_credcache_t *c, const cc_key_t *k, const char *context,
                        const char *secret)
{
    unsigned char mac[OAS_DIGEST_LEN];
    int probe;

    if (k->id == NULL || context == NULL || secret == NULL) {
        return 0;
    }
    probe = cc_probe(c, k, context, secret, mac);
    if (k->store && probe != CC_NONE) {
        cc_store(c, k, mac);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return !k->store && probe == CC_HIT;
}

int oas_credcache_recall(oas_credcache_t *c, const char *id, const char *context,
                         const char *secret, long long now)
{
    cc_key_t k = { id, CC_REMEMBERED, now, 0 };

    return cc_elsewhere(c, &k, context, secret);
}

void oas_credcache_remember(oas_credcache_t *c, const char *id, const char *context,
                            const char *secret, long long expires)
{
    cc_key_t k = { id, CC_REMEMBERED, expires, 1 };

    cc_elsewhere(c, &k, context, secret);
}

void oas_credcache_stats(oas_credcache_t *c, oas_credcache_stats_t *st)
{
    unsigned i;

    memset(st, 0, sizeof(*st));
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    st->capacity = c->nsets * CC_WAYS;
    for (i = 0; i < st->capacity; i++) {
        st->entries += c->entries[i].stamp != 0;
    }
    st->hits = c->hits;
    st->misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
