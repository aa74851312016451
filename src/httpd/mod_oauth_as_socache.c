/* mod_oauth_as_socache.c — OAuthASStore socache:PROVIDER[:ARGS]: the store
 * on one of httpd's small-object-cache providers (ap_socache.h), through the
 * key-value layer of the core (oas_store_kv.c), which gives it the same
 * record format, single use by delete and outage handling as the Redis
 * store.
 *
 * What socache is not (SPEC §8 promises at stake; warned at start-up):
 *  - durable: shmcb lives in this server's memory (gone at any restart,
 *    graceful too: providers are made again each generation), memcached in
 *    its own (gone when it restarts), both drop live entries when full;
 *  - atomic: there is no take. Single use rests on remove telling whether
 *    it removed the key: memcache and redis (DEL / delete answer so), shmcb
 *    too; providers that are not safe for concurrent use
 *    (AP_SOCACHE_FLAG_NOTMPSAFE: shmcb, dbm) run every store operation
 *    under a global mutex, so one node is safe whatever remove says;
 *  - bounded: APR-util's memcache client waits on a hung server without a
 *    timeout, and mod_socache_redis hands APR-util a timeout in microseconds
 *    where it counts seconds. Down (refused) is quick; hung is not.
 *    OAuthASStore redis:HOST:PORT has none of these limits. */
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_core.h>
#include <util_mutex.h>
#include <unixd.h>
#include "mod_oauth_as_private.h"

APLOG_USE_MODULE(oauth_as);

#define SC_CNAME     "oauth-as"
#define SC_BUF       1024                           /* > the largest record */
#define SC_MEMCACHE_MAX_TTL  (30LL * 86400 - 1)     /* memcached: longer is a date */
#define SC_MAX_TTL   (10LL * 365 * 86400)           /* "never expires" */

typedef struct sc_store_t {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    server_rec *s;
    apr_global_mutex_t *mutex;                      /* NOTMPSAFE providers */
    const char *mutex_file;
    long long max_ttl;
} sc_store_t;

/* ---- the key-value operations -------------------------------------------- */

static apr_status_t sc_get(void *kv, const unsigned char *key, char **pval, apr_size_t *plen,
                           apr_pool_t *p)
{
    sc_store_t *sc = kv;
    unsigned int len = SC_BUF;
    unsigned char *buf = apr_palloc(p, SC_BUF);
    apr_status_t rv = sc->provider->retrieve(sc->inst, sc->s, key, OAS_KV_KEY_LEN, buf, &len, p);

    if (rv == APR_SUCCESS) {
        *pval = (char *)buf;
        *plen = len;
    }
    return rv;
}

static apr_status_t sc_set(void *kv, const unsigned char *key, const char *val, apr_size_t len,
                           long long ttl, apr_pool_t *p)
{
    sc_store_t *sc = kv;

    /* + 1 s: providers refuse what has less than a second left by the time
     * they look; the record's own exp still ends the entry on time */
    ttl = ttl <= 0 || ttl + 1 > sc->max_ttl ? sc->max_ttl : ttl + 1;
    return sc->provider->store(sc->inst, sc->s, key, OAS_KV_KEY_LEN,
                               apr_time_now() + apr_time_from_sec(ttl),
                               (unsigned char *)val, (unsigned int)len, p);
}

static apr_status_t sc_del(void *kv, const unsigned char *key, apr_pool_t *p)
{
    sc_store_t *sc = kv;

    return sc->provider->remove(sc->inst, sc->s, key, OAS_KV_KEY_LEN, p);
}

static apr_status_t sc_lock(void *kv)
{
    return apr_global_mutex_lock(((sc_store_t *)kv)->mutex);
}

static void sc_unlock(void *kv)
{
    apr_global_mutex_unlock(((sc_store_t *)kv)->mutex);
}

static apr_status_t sc_child_init(void *kv, apr_pool_t *p)
{
    sc_store_t *sc = kv;

    return apr_global_mutex_child_init(&sc->mutex, sc->mutex_file, p);
}

static const oas_kv_ops_t sc_ops = {
    .get = sc_get, .set = sc_set, .del = sc_del,
};

static const oas_kv_ops_t sc_ops_locked = {
    .get = sc_get, .set = sc_set, .del = sc_del, .lock = sc_lock, .unlock = sc_unlock,
    .child_init = sc_child_init,
};

/* ---- configuration ------------------------------------------------------- */

/* "PROVIDER[:ARGS]" -> provider name and args (NULL when none) */
static void sc_split(apr_pool_t *p, const char *spec, const char **pname, const char **pargs)
{
    const char *colon = strchr(spec, ':');

    *pname = colon ? apr_pstrndup(p, spec, (apr_size_t)(colon - spec)) : spec;
    *pargs = colon && colon[1] ? colon + 1 : NULL;
}

/* When OAuthASStore is read: the provider must be loaded. NULL or why not. */
const char *oas_socache_check_spec(apr_pool_t *p, const char *spec)
{
    const char *name, *args;

    sc_split(p, spec, &name, &args);
    if (!*name) {
        return "no socache provider named (socache:memcache:HOST:PORT, socache:shmcb, ...)";
    }
    if (!ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION)) {
        return apr_psprintf(p, "unknown socache provider '%s' (is mod_socache_%s loaded?)",
                            name, name);
    }
    return NULL;
}

/* What this provider breaks of SPEC §8, said once per start. */
static void sc_warn(server_rec *s, const char *name)
{
    if (!strcmp(name, "shmcb")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01250)
                     "OAuthASStore socache:shmcb: tokens live in this server's shared memory "
                     "only: every restart (graceful too) loses them, other nodes cannot see "
                     "them, and a full cache drops live ones. For tests; several nodes need "
                     "redis:HOST:PORT");
    }
    else if (!strcmp(name, "memcache")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01251)
                     "OAuthASStore socache:memcache: memcached keeps tokens in memory only "
                     "(a restart of memcached loses them, a full memcached evicts live ones), "
                     "keeps nothing longer than 30 days, and a hung memcached hangs requests "
                     "(APR-util has no timeout); redis:HOST:PORT has none of these limits");
    }
    else if (!strcmp(name, "redis")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01252)
                     "OAuthASStore socache:redis: a hung Redis hangs requests "
                     "(mod_socache_redis' RedisTimeout reaches APR-util 1.6 as seconds where "
                     "it means microseconds); use OAuthASStore redis:HOST:PORT");
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01253)
                     "OAuthASStore socache:%s: single use across nodes needs a provider whose "
                     "remove says whether it removed the key (memcache, redis); on one node "
                     "it holds under the store's mutex", name);
    }
}

static apr_status_t sc_mutex(sc_store_t *sc, server_rec *s, const char *spec, apr_pool_t *pconf)
{
    unsigned char digest[OAS_DIGEST_LEN];
    apr_status_t rv;

    oas_sha256(digest, spec, strlen(spec));
    rv = ap_global_mutex_create(&sc->mutex, &sc->mutex_file, OAS_MUTEX_TYPE,
                                apr_pstrcat(pconf, "sc", oas_hex(pconf, digest, 6), NULL),
                                s, pconf, 0);
    if (rv == APR_SUCCESS) {
        ap_unixd_set_global_mutex_perms(sc->mutex);
    }
    return rv;
}

static apr_status_t sc_destroy(void *data)
{
    sc_store_t *sc = data;

    sc->provider->destroy(sc->inst, sc->s);
    return APR_SUCCESS;
}

/* create + init the provider instance for this generation */
static const char *sc_instance(sc_store_t *sc, const char *args, apr_pool_t *pconf,
                               apr_pool_t *ptemp)
{
    struct ap_socache_hints hints = { OAS_KV_KEY_LEN, 200, apr_time_from_sec(60) };
    const char *err = sc->provider->create(&sc->inst, args, ptemp, pconf);
    apr_status_t rv;

    if (err) {
        return err;
    }
    if ((rv = sc->provider->init(sc->inst, SC_CNAME, &hints, sc->s, pconf)) != APR_SUCCESS) {
        return apr_psprintf(ptemp, "the provider's init failed (%d)", rv);
    }
    apr_pool_cleanup_register(pconf, sc, sc_destroy, apr_pool_cleanup_null);
    return NULL;
}

static oas_store_t *sc_fail(server_rec *s, const oas_srv_conf_t *conf, apr_status_t rv,
                            const char *why)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, s, OASLOGNO(01254)
                 "OAuthASStore %s: cannot create the store: %s", conf->store_spec, why);
    return NULL;
}

oas_store_t *oas_socache_store(server_rec *s, const oas_srv_conf_t *conf, apr_pool_t *pconf,
                               apr_pool_t *ptemp)
{
    sc_store_t *sc = apr_pcalloc(pconf, sizeof(*sc));
    oas_logger_t *lg = apr_pcalloc(pconf, sizeof(*lg));
    oas_store_kv_conf_t kc;
    const char *name, *args, *err;
    oas_store_t *st;
    apr_status_t rv;

    sc_split(pconf, conf->store_spec + 8, &name, &args);
    sc->s = s;
    sc->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!sc->provider) {
        return sc_fail(s, conf, 0, "the socache provider is not loaded");
    }
    sc->max_ttl = !strcmp(name, "memcache") ? SC_MEMCACHE_MAX_TTL : SC_MAX_TTL;
    if ((sc->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)
        && (rv = sc_mutex(sc, s, conf->store_spec, pconf)) != APR_SUCCESS) {
        return sc_fail(s, conf, rv, "cannot create its mutex");
    }
    if ((err = sc_instance(sc, args, pconf, ptemp))) {
        return sc_fail(s, conf, 0, err);
    }
    memset(&kc, 0, sizeof(kc));
    oas_server_logger(lg, s);
    kc.name = "socache";
    kc.where = apr_psprintf(pconf, "the socache %s%s%s", name, args ? " at " : "",
                            args ? args : "");
    kc.ops = sc->mutex ? &sc_ops_locked : &sc_ops;
    kc.kv = sc;
    kc.notfound_after_error = !strcmp(name, "memcache") || !strcmp(name, "redis");
    kc.log = lg;
    if ((rv = oas_store_kv_create(&st, &kc, pconf)) != APR_SUCCESS) {
        return sc_fail(s, conf, rv, "cannot create the store");
    }
    sc_warn(s, name);
    return st;
}
