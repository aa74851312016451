/* oas_store_kv.c — the store semantics of SPEC §8 on a remote key-value
 * service: Redis (oas_store_redis.c) and httpd's socache providers
 * (mod_oauth_as_socache.c) plug their get/set/del in through oas_kv_ops_t.
 *
 * Records. Under key digest|'e' the value is
 *   u8 version (1) | u8 kind | i64 exp (LE) | family[16] | payload
 * with TTL exp - now (none when exp is 0). An entry past its exp is not
 * found even when the service still holds it (clocks of nodes differ).
 *
 * Single use. consume reads digest|'e', then deletes it: only the caller
 * whose delete removed the key wins (the service decides, atomically).
 * The replacement (the tombstone of a code or refresh token) goes under
 * digest|'r', never back under digest|'e': a loser's late delete can then
 * never remove the winner's tombstone and win a second time. get and
 * consume read digest|'r' when digest|'e' is absent. Callers that lost the
 * delete get APR_NOTFOUND (the interface allows it): a redemption racing
 * the winner is refused without revoking what the winner got; one that
 * comes after the tombstone is a replay.
 *
 * Families. There is no scan: remove_family removes nothing, and the
 * marker the core writes first is what revokes (families_by_marker).
 *
 * Outages. An error other than "not found" begins an outage episode (state
 * in shared memory, so that all processes of a node share it): logged once
 * when it begins and once when it ends. After a timeout, operations fail
 * at once for conf->retry while one caller at a time tries the service.
 * With notfound_after_error, a process that saw a failure confirms its next
 * misses with a probe write until one succeeds. */
#include <string.h>
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "oas_store.h"
#include "oas_token.h"

#define KV_VERSION   1
#define KV_HDR_LEN   26                   /* version 1 + kind 1 + exp 8 + family 16 */
#define KV_REC_MAX   (KV_HDR_LEN + OAS_ENTRY_MAX)
#define KV_PROBE_TTL 10

/* outage state, shared by the processes of one node */
typedef struct kv_shared_t {
    volatile apr_uint32_t down;           /* 1 during an outage episode */
    volatile apr_uint32_t failures;       /* failed operations in this episode */
    volatile apr_uint32_t last_rv;        /* the latest failure */
    volatile apr_uint64_t since;          /* apr_time_t the episode began */
    volatile apr_uint64_t next_try;       /* after a timeout: fail at once until then */
} kv_shared_t;

/* the baton; each process has its own copy (suspect is per process) */
typedef struct kv_store_t {
    const oas_kv_ops_t *ops;
    void *kv;
    const char *where;
    int notfound_after_error;
    apr_interval_time_t retry;
    oas_logger_t log;
    kv_shared_t *sh;
    volatile apr_uint32_t suspect;        /* this process saw a failure, no success since */
    struct kv_hint_t *hints;              /* get_unrevoked: tokens' families (per process) */
#if APR_HAS_THREADS
    apr_thread_mutex_t *hint_lock;
#endif
} kv_store_t;

/* ------------------------------------------------------------- records */

static long long kv_now(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

static int kv_expired(long long exp, long long now)
{
    return exp != 0 && exp <= now;
}

static void kv_key(unsigned char *k, const unsigned char *digest, char tag)
{
    memcpy(k, digest, OAS_DIGEST_LEN);
    k[OAS_DIGEST_LEN] = (unsigned char)tag;
}

static apr_size_t kv_encode(unsigned char *buf, const oas_entry_t *e)
{
    apr_uint64_t x = (apr_uint64_t)e->exp;
    int i;

    buf[0] = KV_VERSION;
    buf[1] = (unsigned char)e->kind;
    for (i = 0; i < 8; i++) {
        buf[2 + i] = (unsigned char)(x >> (8 * i));
    }
    memcpy(buf + 10, e->family, OAS_FAMILY_LEN);
    if (e->len) {
        memcpy(buf + KV_HDR_LEN, e->data, e->len);
    }
    return KV_HDR_LEN + e->len;
}

/* e views val; APR_EINVAL for a value that is no record of ours */
static apr_status_t kv_decode(oas_entry_t *e, const char *val, apr_size_t len)
{
    const unsigned char *b = (const unsigned char *)val;
    apr_uint64_t x = 0;
    int i;

    if (val == NULL || len < KV_HDR_LEN || len > KV_REC_MAX || b[0] != KV_VERSION
        || b[1] <= OAS_KIND_NONE || b[1] >= OAS_KIND_MAX) {
        return APR_EINVAL;
    }
    for (i = 7; i >= 0; i--) {
        x = (x << 8) | b[2 + i];
    }
    e->kind = b[1];
    e->exp = (long long)x;
    memcpy(e->family, b + 10, OAS_FAMILY_LEN);
    e->data = b + KV_HDR_LEN;
    e->len = len - KV_HDR_LEN;
    return APR_SUCCESS;
}

static apr_status_t kv_entry_check(const oas_entry_t *e)
{
    if (e == NULL || e->kind <= OAS_KIND_NONE || e->kind >= OAS_KIND_MAX
        || e->len > OAS_ENTRY_MAX || (e->len > 0 && e->data == NULL)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------- outages */

/* The service did not answer in time (not: no free pooled connection, EAGAIN,
 * which is a pool too small, not an outage). */
static int kv_is_timeout(apr_status_t rv)
{
    return APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_ETIMEDOUT(rv);
}

static void kv_failed(kv_store_t *ks, apr_status_t rv)
{
    kv_shared_t *sh = ks->sh;
    apr_time_t now = apr_time_now();
    char buf[120];

    apr_atomic_set32(&ks->suspect, 1);
    apr_atomic_set32(&sh->last_rv, (apr_uint32_t)rv);
    if (kv_is_timeout(rv)) {
        apr_atomic_set64(&sh->next_try, (apr_uint64_t)(now + ks->retry));
    }
    if (apr_atomic_cas32(&sh->down, 1, 0) != 0) {
        apr_atomic_inc32(&sh->failures);
        return;
    }
    apr_atomic_set64(&sh->since, (apr_uint64_t)now);
    apr_atomic_set32(&sh->failures, 1);
    OAS_LOG(&ks->log, OAS_LOG_ERR, rv, OASLOGNO(00340)
            "token store: %s failed (%s): token requests and bearer checks get 503 "
            "until it answers again (logged once per outage)", ks->where,
            apr_strerror(rv, buf, sizeof(buf)));
}

static void kv_recovered(kv_store_t *ks)
{
    kv_shared_t *sh = ks->sh;
    apr_time_t since;

    if (apr_atomic_read32(&ks->suspect)) {
        apr_atomic_set32(&ks->suspect, 0);
    }
    if (!apr_atomic_read32(&sh->down) || apr_atomic_cas32(&sh->down, 0, 1) != 1) {
        return;
    }
    apr_atomic_set64(&sh->next_try, 0);
    since = (apr_time_t)apr_atomic_read64(&sh->since);
    OAS_LOG(&ks->log, OAS_LOG_NOTICE, 0, OASLOGNO(00341)
            "token store: %s answers again after %" APR_TIME_T_FMT " s; %u operations "
            "failed meanwhile", ks->where, apr_time_sec(apr_time_now() - since),
            apr_atomic_read32(&sh->failures));
}

/* Fail at once while a timeout is fresh; let one caller through per retry
 * interval. */
static apr_status_t kv_begin(kv_store_t *ks)
{
    kv_shared_t *sh = ks->sh;
    apr_uint64_t next = apr_atomic_read64(&sh->next_try);
    apr_time_t now;

    if (next == 0 || !apr_atomic_read32(&sh->down)) {
        return APR_SUCCESS;
    }
    now = apr_time_now();
    if ((apr_uint64_t)now < next
        || apr_atomic_cas64(&sh->next_try, (apr_uint64_t)(now + ks->retry), next) != next) {
        apr_atomic_inc32(&sh->failures);
        return (apr_status_t)apr_atomic_read32(&sh->last_rv);
    }
    return APR_SUCCESS;
}

/* After a failure, a miss may be the client library's "no live server":
 * a probe write tells. */
static apr_status_t kv_confirm_miss(kv_store_t *ks, apr_pool_t *p)
{
    static const unsigned char zero[OAS_DIGEST_LEN];
    unsigned char k[OAS_KV_KEY_LEN];

    if (!ks->notfound_after_error || !apr_atomic_read32(&ks->suspect)) {
        return APR_NOTFOUND;
    }
    kv_key(k, zero, OAS_KV_TAG_PROBE);
    if (ks->ops->set(ks->kv, k, "probe", 5, KV_PROBE_TTL, p) != APR_SUCCESS) {
        return APR_ECONNREFUSED;
    }
    return APR_NOTFOUND;
}

/* Book the result of a whole operation. */
static apr_status_t kv_end(kv_store_t *ks, apr_status_t rv, apr_pool_t *p)
{
    if (rv == APR_NOTFOUND) {
        rv = kv_confirm_miss(ks, p);
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        kv_recovered(ks);
    }
    else if (rv != APR_EINVAL) {
        kv_failed(ks, rv);
    }
    return rv;
}

static apr_status_t kv_lock(kv_store_t *ks)
{
    return ks->ops->lock ? ks->ops->lock(ks->kv) : APR_SUCCESS;
}

static void kv_unlock(kv_store_t *ks)
{
    if (ks->ops->unlock) {
        ks->ops->unlock(ks->kv);
    }
}

/* ----------------------------------------------------------- operations */

/* One key: a live record (e views memory from p), or APR_NOTFOUND. */
static apr_status_t kv_read(kv_store_t *ks, const unsigned char *digest, char tag,
                            oas_entry_t *e, apr_pool_t *p)
{
    unsigned char k[OAS_KV_KEY_LEN];
    char *val = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    kv_key(k, digest, tag);
    if ((rv = ks->ops->get(ks->kv, k, &val, &len, p)) != APR_SUCCESS) {
        return rv;
    }
    if (kv_decode(e, val, len) != APR_SUCCESS || kv_expired(e->exp, kv_now())) {
        return APR_NOTFOUND;   /* not ours, or about to expire: the TTL removes it */
    }
    return APR_SUCCESS;
}

static apr_status_t kv_write(kv_store_t *ks, const unsigned char *digest, char tag,
                             const oas_entry_t *e, apr_pool_t *p)
{
    unsigned char k[OAS_KV_KEY_LEN], buf[KV_REC_MAX];
    long long ttl = e->exp ? e->exp - kv_now() : 0;
    apr_size_t len = kv_encode(buf, e);
    apr_status_t rv;

    kv_key(k, digest, tag);
    if (e->exp && ttl <= 0) {
        rv = ks->ops->del(ks->kv, k, p);   /* expired already: as if put and purged */
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    return ks->ops->set(ks->kv, k, (const char *)buf, len, ttl, p);
}

/* The entry, or what a consume left in its place. */
static apr_status_t kv_find(kv_store_t *ks, const unsigned char *key, oas_entry_t *e,
                            int *prepl, apr_pool_t *p)
{
    apr_status_t rv = kv_read(ks, key, OAS_KV_TAG_ENTRY, e, p);

    *prepl = 0;
    if (rv == APR_NOTFOUND) {
        *prepl = 1;
        rv = kv_read(ks, key, OAS_KV_TAG_REPL, e, p);
    }
    return rv;
}

static apr_status_t kv_get(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                           apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;
    int repl;

    if (key == NULL || e == NULL) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_find(ks, key, e, &repl, p);
    kv_unlock(ks);
    return kv_end(ks, rv, p);
}

/* get, without the look for a replacement: for keys nothing consumes (a
 * family's marker), whose miss then costs one request, not two. */
static apr_status_t kv_get_entry(kv_store_t *ks, const unsigned char *key, oas_entry_t *e,
                                 apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_read(ks, key, OAS_KV_TAG_ENTRY, e, p);
    kv_unlock(ks);
    return kv_end(ks, rv, p);
}

static apr_status_t kv_put(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;

    if (key == NULL || kv_entry_check(e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_write(ks, key, OAS_KV_TAG_ENTRY, e, p);
    kv_unlock(ks);
    return kv_end(ks, rv, p);
}

/* Read, then write when there is nothing: not atomic across processes (a
 * key-value service offers no "set if absent" through these ops), like
 * count. */
static apr_status_t kv_add(oas_store_t *s, const unsigned char *key, const oas_entry_t *e,
                           apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    oas_entry_t had;
    apr_status_t rv;
    int repl, found;

    if (key == NULL || kv_entry_check(e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_find(ks, key, &had, &repl, p);
    found = rv == APR_SUCCESS;
    if (rv == APR_NOTFOUND) {
        rv = kv_write(ks, key, OAS_KV_TAG_ENTRY, e, p);
    }
    kv_unlock(ks);
    rv = kv_end(ks, rv, p);
    return rv == APR_SUCCESS && found ? APR_EEXIST : rv;
}

/* Take back the first n entries of w; best effort. */
static void kv_unput(kv_store_t *ks, const oas_store_write_t *w, int n, apr_pool_t *p)
{
    unsigned char k[OAS_KV_KEY_LEN];
    int i;

    for (i = 0; i < n; i++) {
        kv_key(k, w[i].key, OAS_KV_TAG_ENTRY);
        (void)ks->ops->del(ks->kv, k, p);
    }
}

/* The writes, then the look at unless (only its entry: nothing is ever
 * consumed under a family marker's key, so no replacement is read). */
static apr_status_t kv_put_many_locked(kv_store_t *ks, const oas_store_write_t *w, int n,
                                       const unsigned char *unless, apr_pool_t *p)
{
    oas_entry_t e;
    apr_status_t rv = APR_SUCCESS;
    int done = 0;

    while (done < n && (rv = kv_write(ks, w[done].key, OAS_KV_TAG_ENTRY, w[done].e, p))
                       == APR_SUCCESS) {
        done++;
    }
    if (rv == APR_SUCCESS && unless) {
        rv = kv_read(ks, unless, OAS_KV_TAG_ENTRY, &e, p);
        rv = rv == APR_SUCCESS ? APR_EACCES : rv == APR_NOTFOUND ? kv_confirm_miss(ks, p) : rv;
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (rv != APR_SUCCESS) {
        kv_unput(ks, w, done, p);
    }
    return rv;
}

static apr_status_t kv_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                                const unsigned char *unless, apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;
    int i;

    if (w == NULL || n < 1 || n > OAS_STORE_BATCH_MAX) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (w[i].key == NULL || kv_entry_check(w[i].e) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_put_many_locked(ks, w, n, unless, p);
    kv_unlock(ks);
    if (rv == APR_EACCES) {        /* the service answered: no outage */
        (void)kv_end(ks, APR_SUCCESS, p);
        return rv;
    }
    return kv_end(ks, rv, p);
}

/* Read the entry, delete it: the delete's answer decides who won. */
static apr_status_t kv_take(kv_store_t *ks, const unsigned char *key, oas_entry_t *e,
                            const oas_entry_t *repl, apr_pool_t *p)
{
    unsigned char k[OAS_KV_KEY_LEN];
    apr_status_t rv;
    int was_repl;

    if ((rv = kv_find(ks, key, e, &was_repl, p)) != APR_SUCCESS || was_repl) {
        return rv;               /* gone, or already consumed: the caller sees the tombstone */
    }
    kv_key(k, key, OAS_KV_TAG_ENTRY);
    if ((rv = ks->ops->del(ks->kv, k, p)) != APR_SUCCESS) {
        return rv;               /* APR_NOTFOUND: another caller's delete came first */
    }
    return repl ? kv_write(ks, key, OAS_KV_TAG_REPL, repl, p) : APR_SUCCESS;
}

static apr_status_t kv_consume(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                               const oas_entry_t *replacement, apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;

    if (key == NULL || e == NULL
        || (replacement && kv_entry_check(replacement) != APR_SUCCESS)) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_take(ks, key, e, replacement, p);
    kv_unlock(ks);
    return kv_end(ks, rv, p);
}

/* Both keys go; APR_NOTFOUND when neither was there. */
static apr_status_t kv_remove_both(kv_store_t *ks, const unsigned char *key, apr_pool_t *p)
{
    unsigned char k[OAS_KV_KEY_LEN];
    apr_status_t rv, rv2;

    kv_key(k, key, OAS_KV_TAG_ENTRY);
    rv = ks->ops->del(ks->kv, k, p);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    kv_key(k, key, OAS_KV_TAG_REPL);
    rv2 = ks->ops->del(ks->kv, k, p);
    if (rv2 != APR_SUCCESS && rv2 != APR_NOTFOUND) {
        return rv2;
    }
    return rv == APR_SUCCESS || rv2 == APR_SUCCESS ? APR_SUCCESS : APR_NOTFOUND;
}

static apr_status_t kv_remove(oas_store_t *s, const unsigned char *key, apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;

    if (key == NULL) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_remove_both(ks, key, p);
    kv_unlock(ks);
    return kv_end(ks, rv, p);
}

/* A failure counter: read, add, write back with the expiry as TTL. Not
 * atomic across processes and nodes (apr_redis has no INCR with expiry, and
 * socache no increment at all): failures that arrive at the same moment in
 * different processes may count once. */
static apr_status_t kv_count_rw(kv_store_t *ks, const unsigned char *key, long delta,
                                long long exp, long *pn, long long *pexp, apr_pool_t *p)
{
    unsigned char b[OAS_COUNT_LEN];
    oas_entry_t e;
    long long had_exp = 0;
    long n = 0;
    apr_status_t rv = kv_read(ks, key, OAS_KV_TAG_ENTRY, &e, p);

    if (rv == APR_SUCCESS && e.kind != OAS_KIND_AUTH_FAILURES) {
        return APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        n = oas_count_decode(e.data, e.len);
        had_exp = e.exp;
    }
    else if (rv != APR_NOTFOUND || delta == 0) {
        return rv;
    }
    *pn = n + delta;
    *pexp = (delta == 0 && exp > 0) || exp > had_exp ? exp : had_exp;
    if (delta == 0 && *pexp == had_exp) {
        return APR_SUCCESS;
    }
    memset(&e, 0, sizeof(e));
    oas_count_encode(b, *pn);
    e.kind = OAS_KIND_AUTH_FAILURES;
    e.exp = *pexp;
    e.data = b;
    e.len = OAS_COUNT_LEN;
    return kv_write(ks, key, OAS_KV_TAG_ENTRY, &e, p);
}

static apr_status_t kv_count(oas_store_t *s, const unsigned char *key, long delta,
                             long long exp, long *pn, long long *pexp, apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    long n = 0;
    long long x = 0;
    apr_status_t rv;

    if (key == NULL || delta < 0 || (delta > 0 && exp <= 0)) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) == APR_SUCCESS && (rv = kv_lock(ks)) == APR_SUCCESS) {
        rv = kv_count_rw(ks, key, delta, exp, &n, &x, p);
        kv_unlock(ks);
        rv = kv_end(ks, rv, p);
    }
    if (rv == APR_NOTFOUND) {
        rv = APR_SUCCESS;           /* no counter: 0 */
        n = 0;
        x = 0;
    }
    if (pn) {
        *pn = rv == APR_SUCCESS ? n : 0;
    }
    if (pexp) {
        *pexp = rv == APR_SUCCESS ? x : 0;
    }
    return rv;
}

/* Members cannot be found: the marker revokes them (families_by_marker). */
static apr_status_t kv_remove_family(oas_store_t *s, const unsigned char *family, int *pcount,
                                     apr_pool_t *p)
{
    static const unsigned char none[OAS_FAMILY_LEN];

    if (pcount) {
        *pcount = 0;
    }
    return family == NULL || memcmp(family, none, OAS_FAMILY_LEN) == 0 ? APR_EINVAL
                                                                       : APR_SUCCESS;
}

static apr_status_t kv_purge(oas_store_t *s, int *pcount, apr_pool_t *p)
{
    if (pcount) {
        *pcount = 0;             /* TTLs do it */
    }
    return APR_SUCCESS;
}

static apr_status_t kv_iterate(oas_store_t *s,
                               int (*cb)(void *ctx, const unsigned char *key, const oas_entry_t *e),
                               void *ctx, apr_pool_t *p)
{
    return APR_ENOTIMPL;
}

/* disk_entries: the keys the service holds (all of them, not only ours),
 * -1 when unknown or unreachable; the other figures are 0. */
static apr_status_t kv_stats(oas_store_t *s, oas_store_stats_t *st)
{
    kv_store_t *ks = s->baton;
    apr_pool_t *tp;
    long n = -1;

    if (st == NULL) {
        return APR_EINVAL;
    }
    memset(st, 0, sizeof(*st));
    st->disk_entries = -1;
    if (ks->ops->count == NULL || kv_begin(ks) != APR_SUCCESS
        || apr_pool_create(&tp, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (ks->ops->count(ks->kv, &n, tp) == APR_SUCCESS) {
        st->disk_entries = n;
    }
    apr_pool_destroy(tp);
    return APR_SUCCESS;
}

static apr_status_t kv_child_init(oas_store_t *s, apr_pool_t *p)
{
    kv_store_t *ks = s->baton;

    apr_atomic_set32(&ks->suspect, 0);
    return ks->ops->child_init ? ks->ops->child_init(ks->kv, p) : APR_SUCCESS;
}

/* ---------------------------------------------- bearer checks (get_unrevoked)
 * A check needs the token's record and its family's marker, both as they
 * are now. The marker's key comes from the family, which is in the record:
 * two round trips, unless the family is known from before. It is, for a
 * token this process has seen: a record is written once under its key and
 * never changed, so the family it names is a safe hint of which marker to
 * ask for together with the token (get2, a pipeline). Nothing of the answer
 * is kept: a token removed, or a family revoked, a moment ago is refused.
 * A hint that turns out wrong (another family in the record) costs the
 * second round trip, as having none does. */

#define KV_HINTS 4096                     /* per process, direct-mapped */

typedef struct kv_hint_t {
    unsigned char key[OAS_DIGEST_LEN];
    unsigned char family[OAS_FAMILY_LEN];
    int used;
} kv_hint_t;

static kv_hint_t *kv_hint_slot(kv_store_t *ks, const unsigned char *key)
{
    return &ks->hints[((unsigned)key[0] | ((unsigned)key[1] << 8)) % KV_HINTS];
}

static int kv_hint_get(kv_store_t *ks, const unsigned char *key, unsigned char *family)
{
    kv_hint_t *h = kv_hint_slot(ks, key);
    int found;

#if APR_HAS_THREADS
    if (apr_thread_mutex_lock(ks->hint_lock) != APR_SUCCESS) {
        return 0;
    }
#endif
    found = h->used && memcmp(h->key, key, OAS_DIGEST_LEN) == 0;
    if (found) {
        memcpy(family, h->family, OAS_FAMILY_LEN);
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(ks->hint_lock);
#endif
    return found;
}

static void kv_hint_put(kv_store_t *ks, const unsigned char *key, const unsigned char *family)
{
    kv_hint_t *h = kv_hint_slot(ks, key);

#if APR_HAS_THREADS
    if (apr_thread_mutex_lock(ks->hint_lock) != APR_SUCCESS) {
        return;
    }
#endif
    memcpy(h->key, key, OAS_DIGEST_LEN);
    memcpy(h->family, family, OAS_FAMILY_LEN);
    h->used = 1;
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(ks->hint_lock);
#endif
}

static void kv_marker_digest(unsigned char *d, const unsigned char *family, apr_pool_t *p)
{
    oas_store_key(d, OAS_PREFIX_FAMILY, oas_hex(p, family, OAS_FAMILY_LEN));
}

/* A live record from one answer of get2 (e views its value). */
static apr_status_t kv_got_entry(const oas_kv_got_t *g, oas_entry_t *e)
{
    if (g->rv != APR_SUCCESS) {
        return g->rv;
    }
    return kv_decode(e, g->val, g->len) != APR_SUCCESS || kv_expired(e->exp, kv_now())
           ? APR_NOTFOUND : APR_SUCCESS;
}

/* What the marker's read says: APR_EACCES for a revoked family. */
static apr_status_t kv_marker_says(apr_status_t rv, const oas_entry_t *m)
{
    if (rv == APR_SUCCESS) {
        return m->kind == OAS_KIND_FAMILY_REVOKED ? APR_EACCES : APR_SUCCESS;
    }
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* One round trip with the hint; APR_EAGAIN when this way cannot answer. */
static apr_status_t kv_unrevoked_hinted(kv_store_t *ks, const unsigned char *key,
                                        oas_entry_t *e, apr_pool_t *p)
{
    unsigned char fam[OAS_FAMILY_LEN], d[OAS_DIGEST_LEN];
    unsigned char k[OAS_KV_KEY_LEN], mk[OAS_KV_KEY_LEN];
    oas_kv_got_t r[2];
    oas_entry_t m;
    apr_status_t rv;

    if (!ks->ops->get2 || !kv_hint_get(ks, key, fam)) {
        return APR_EAGAIN;
    }
    kv_key(k, key, OAS_KV_TAG_ENTRY);
    kv_marker_digest(d, fam, p);
    kv_key(mk, d, OAS_KV_TAG_ENTRY);
    if ((rv = ks->ops->get2(ks->kv, k, mk, r, p)) != APR_SUCCESS) {
        /* a timeout is the service's (no second wait); else ask the plain way */
        return kv_is_timeout(rv) ? rv : APR_EAGAIN;
    }
    if ((rv = kv_got_entry(&r[0], e)) != APR_SUCCESS) {
        return rv;
    }
    if (memcmp(e->family, fam, OAS_FAMILY_LEN) != 0) {
        return APR_EAGAIN;
    }
    return kv_marker_says(kv_got_entry(&r[1], &m), &m);
}

/* The token, then (when it has a family) its marker; the family becomes a hint. */
static apr_status_t kv_unrevoked_plain(kv_store_t *ks, const unsigned char *key,
                                       oas_entry_t *e, apr_pool_t *p)
{
    unsigned char d[OAS_DIGEST_LEN];
    oas_entry_t m;
    apr_status_t rv = kv_read(ks, key, OAS_KV_TAG_ENTRY, e, p);

    if (rv != APR_SUCCESS || oas_family_none(e->family)) {
        return rv;
    }
    kv_marker_digest(d, e->family, p);
    if ((rv = kv_marker_says(kv_read(ks, d, OAS_KV_TAG_ENTRY, &m, p), &m)) == APR_SUCCESS
        && ks->ops->get2) {
        kv_hint_put(ks, key, e->family);
    }
    return rv;
}

static apr_status_t kv_get_unrevoked(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                     apr_pool_t *p)
{
    kv_store_t *ks = s->baton;
    apr_status_t rv;

    if (key == NULL || e == NULL) {
        return APR_EINVAL;
    }
    if ((rv = kv_begin(ks)) != APR_SUCCESS || (rv = kv_lock(ks)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = kv_unrevoked_hinted(ks, key, e, p)) == APR_EAGAIN) {
        rv = kv_unrevoked_plain(ks, key, e, p);
    }
    kv_unlock(ks);
    if (rv == APR_EACCES) {        /* the service answered: no outage */
        (void)kv_end(ks, APR_SUCCESS, p);
        return rv;
    }
    return kv_end(ks, rv, p);
}

static apr_status_t kv_hints_create(kv_store_t *ks, apr_pool_t *p)
{
    ks->hints = apr_pcalloc(p, KV_HINTS * sizeof(kv_hint_t));
#if APR_HAS_THREADS
    return apr_thread_mutex_create(&ks->hint_lock, APR_THREAD_MUTEX_DEFAULT, p);
#else
    return APR_SUCCESS;
#endif
}

/* ------------------------------------------------------------- creation */

static const oas_store_t kv_table = {
    .get = kv_get, .put = kv_put, .add = kv_add, .consume = kv_consume, .remove = kv_remove,
    .remove_family = kv_remove_family, .purge = kv_purge, .iterate = kv_iterate,
    .stats = kv_stats, .child_init = kv_child_init, .count = kv_count, .put_many = kv_put_many,
    .get_unrevoked = kv_get_unrevoked,
    .families_by_marker = 1, .revoked_members_stay = 1, .logs_outages = 1,
};

static apr_status_t kv_shared_create(kv_store_t *ks, apr_pool_t *p)
{
    apr_shm_t *shm = NULL;
    apr_status_t rv = apr_shm_create(&shm, sizeof(kv_shared_t), NULL, p);

    if (rv != APR_SUCCESS) {
        OAS_LOG(&ks->log, OAS_LOG_ERR, rv, OASLOGNO(00342)
                "token store: cannot create the shared memory of %s", ks->where);
        return rv;
    }
    ks->sh = apr_shm_baseaddr_get(shm);
    memset(ks->sh, 0, sizeof(kv_shared_t));
    return APR_SUCCESS;
}

apr_status_t oas_store_kv_create(oas_store_t **ps, const oas_store_kv_conf_t *conf,
                                 apr_pool_t *p)
{
    oas_store_t *s;
    kv_store_t *ks;
    apr_status_t rv;

    *ps = NULL;
    if (conf == NULL || conf->ops == NULL || conf->ops->get == NULL || conf->ops->set == NULL
        || conf->ops->del == NULL || conf->name == NULL) {
        return APR_EINVAL;
    }
    ks = apr_pcalloc(p, sizeof(*ks));
    ks->ops = conf->ops;
    ks->kv = conf->kv;
    ks->where = apr_pstrdup(p, conf->where ? conf->where : conf->name);
    ks->notfound_after_error = conf->notfound_after_error;
    ks->retry = conf->retry > 0 ? conf->retry : apr_time_from_sec(1);
    if (conf->log) {
        ks->log = *conf->log;
    }
    if ((rv = kv_shared_create(ks, p)) != APR_SUCCESS
        || (rv = kv_hints_create(ks, p)) != APR_SUCCESS) {
        return rv;
    }
    s = apr_palloc(p, sizeof(*s));
    *s = kv_table;
    s->name = apr_pstrdup(p, conf->name);
    s->baton = ks;
    *ps = s;
    return APR_SUCCESS;
}

/* ------------------------------------------------------ family markers */

apr_status_t oas_store_family_revoked(oas_store_t *s, const unsigned char *family,
                                      apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    apr_status_t rv;

    if (s == NULL || !s->families_by_marker || family == NULL || oas_family_none(family)) {
        return APR_SUCCESS;
    }
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(p, family, OAS_FAMILY_LEN));
    rv = s->get == kv_get ? kv_get_entry(s->baton, key, &e, p) : s->get(s, key, &e, p);
    if (rv == APR_SUCCESS) {
        return e.kind == OAS_KIND_FAMILY_REVOKED ? APR_EACCES : APR_SUCCESS;
    }
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t oas_store_put_many(oas_store_t *s, const oas_store_write_t *w, int n,
                                const unsigned char *unless, apr_pool_t *p)
{
    oas_entry_t e;
    apr_status_t rv = APR_SUCCESS;
    int done = 0;

    if (s->put_many) {
        return s->put_many(s, w, n, unless, p);
    }
    if (w == NULL || n < 1 || n > OAS_STORE_BATCH_MAX) {
        return APR_EINVAL;
    }
    while (done < n && (rv = s->put(s, w[done].key, w[done].e, p)) == APR_SUCCESS) {
        done++;
    }
    if (rv == APR_SUCCESS && unless) {
        rv = s->get(s, unless, &e, p);
        rv = rv == APR_SUCCESS ? APR_EACCES : rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    while (rv != APR_SUCCESS && done > 0) {
        (void)s->remove(s, w[--done].key, p);
    }
    return rv;
}

apr_status_t oas_store_get_unrevoked(oas_store_t *s, const unsigned char *key, oas_entry_t *e,
                                     apr_pool_t *p)
{
    apr_status_t rv;

    if (s->get_unrevoked) {
        return s->get_unrevoked(s, key, e, p);
    }
    if ((rv = s->get(s, key, e, p)) != APR_SUCCESS) {
        return rv;
    }
    return oas_store_family_revoked(s, e->family, p);
}
