/* oas_credcache.h — a per-process cache of verified client credentials.
 *
 * A confidential client's secret is checked with apr_password_validate()
 * against the hash in the registry: with bcrypt that costs a millisecond or
 * more, on every token, introspection and revocation request. Like
 * mod_authn_socache does for passwords, this cache remembers that a secret
 * has passed that check, so the next request with the same secret costs one
 * HMAC instead of one bcrypt.
 *
 * What an entry holds: the client id and HMAC-SHA-256(key, hash NUL secret),
 * key being 32 random bytes made when the cache is made (in httpd: in each
 * child process, at its first client authentication). Never the secret, and
 * nothing that helps guessing it without the key, which never leaves the
 * process. The hash of the registry entry is part of the HMAC's input, so a
 * changed registry entry (a rotated secret, a graceful restart with another
 * hash) never matches an old entry. A secret that fails
 * apr_password_validate() is never cached, so a wrong secret always pays the
 * full check; cached values are compared in constant time.
 *
 * Bounded: a fixed table of sets of 4 ways, indexed by the client id; a new
 * client takes a free way or the least recently used one of its set.
 * Thread-safe (one mutex, held only for the table lookups; the HMAC and
 * apr_password_validate run outside it).
 */
#ifndef OAS_CREDCACHE_H
#define OAS_CREDCACHE_H

#include <apr_pools.h>
#include <apr_errno.h>

#define OAS_CRED_BAD       0   /* the secret does not match the hash */
#define OAS_CRED_VERIFIED  1   /* apr_password_validate() accepted it (now cached) */
#define OAS_CRED_CACHED    2   /* it matched a verification cached before */

#define OAS_CREDCACHE_DEFAULT_ENTRIES 1024   /* the process cache's size */

typedef struct oas_credcache_t oas_credcache_t;

typedef struct oas_credcache_stats_t {
    unsigned entries;          /* in use */
    unsigned capacity;         /* most entries it holds */
    unsigned long hits;        /* OAS_CRED_CACHED answers */
    unsigned long misses;      /* answers that needed apr_password_validate() */
} oas_credcache_stats_t;

/* A cache of at least max_entries (rounded up to a power of two, at least
 * 4) with a fresh random key; freed with p. APR_EGENERAL if the CSPRNG or
 * OpenSSL fails, APR_ENOMEM. */
apr_status_t oas_credcache_create(oas_credcache_t **pc, unsigned max_entries, apr_pool_t *p);

/* This process' cache (OAS_CREDCACHE_DEFAULT_ENTRIES), made at first use;
 * a forked child makes its own (new key, empty). NULL only when it cannot
 * be made; oas_credcache_check() then validates every time. */
oas_credcache_t *oas_credcache_process(void);

/* Does secret match hash, the registry's apr_password_validate() form for
 * client_id? OAS_CRED_* above. c may be NULL (no caching). NULL arguments
 * are OAS_CRED_BAD. */
int oas_credcache_check(oas_credcache_t *c, const char *client_id, const char *hash,
                        const char *secret);

/* Checks the cache cannot make itself (the password grant: httpd's authn
 * providers check the password against a hash the module never sees). An
 * entry holds id (at most OAS_CLIENT_ID_MAX bytes; a longer id is never
 * cached) and HMAC(key, context NUL secret): context names everything that
 * could check the same id differently (in httpd: the virtual host, the
 * Location, the providers), so an entry never answers for another one.
 * These entries are apart from oas_credcache_check()'s: a client and a
 * user of the same name do not meet.
 *
 * oas_credcache_recall: 1 if secret was remembered for id and context and
 * has not expired at now (seconds), else 0 (c NULL, NULL arguments: 0).
 * oas_credcache_remember: after the check granted it, remember secret for
 * id and context until expires (seconds; 0: never). Only ever call it for a
 * check that succeeded: failures are never cached. */
int oas_credcache_recall(oas_credcache_t *c, const char *id, const char *context,
                         const char *secret, long long now);
void oas_credcache_remember(oas_credcache_t *c, const char *id, const char *context,
                            const char *secret, long long expires);

/* Fill *st (under the lock). */
void oas_credcache_stats(oas_credcache_t *c, oas_credcache_stats_t *st);

#endif
