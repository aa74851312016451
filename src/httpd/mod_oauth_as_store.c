/* mod_oauth_as_store.c — the store's life in httpd: the mutex, creation in
 * the parent (kept across graceful restarts), child_init, and the purge of
 * expired entries, which the parent does from the monitor hook so that no
 * request waits for it. */
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_shm.h>
#include <apr_file_info.h>
#include <apr_user.h>
#include <http_core.h>
#include <http_main.h>
#include <util_mutex.h>
#include <unixd.h>
#include "oas_store_dir.h"
#include "mod_oauth_as_private.h"

APLOG_USE_MODULE(oauth_as);

#define PURGE_INTERVAL apr_time_from_sec(30)

typedef struct kept_store_t {
    oas_store_t *store;
    oas_store_default_conf_t conf;
} kept_store_t;

static apr_array_header_t *live_stores;   /* oas_store_t *, this generation */
static oas_counters_t *counters;

/* flock by default: the one mechanism another process (oauth-as-client) can
 * join, by the lock file's name (see oas_store_info.c). */
int oas_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, OAS_MUTEX_TYPE, NULL, APR_LOCK_FLOCK, 0);
}

/* Kept across graceful restarts; the key names the size, so that a module of
 * another layout, loaded by a graceful restart, gets counters of its own
 * instead of overrunning the old ones. */
static oas_counters_t *shared_counters(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    const char *key = apr_psprintf(pp, "oauth_as:counters:%lu",
                                   (unsigned long)sizeof(oas_counters_t));
    apr_shm_t *shm = NULL;
    void *d = NULL;

    apr_pool_userdata_get(&d, key, pp);
    if (d) {
        return d;
    }
    if (apr_shm_create(&shm, sizeof(oas_counters_t), NULL, pp) != APR_SUCCESS) {
        return NULL;
    }
    d = apr_shm_baseaddr_get(shm);
    memset(d, 0, sizeof(oas_counters_t));
    apr_pool_userdata_set(d, key, apr_pool_cleanup_null, pp);
    return d;
}

/* The user the store's files belong to: httpd's User and Group when the
 * parent runs as root, else the user httpd runs as. */
static void httpd_store_user(oas_store_user_t *who, apr_pool_t *p)
{
    char *name = NULL;

    memset(who, 0, sizeof(*who));
    if (geteuid() == 0) {
        who->uid = ap_unixd_config.user_id;
        who->gid = ap_unixd_config.group_id;
        who->name = ap_unixd_config.user_name;
        if (apr_gid_name_get(&name, who->gid, p) == APR_SUCCESS) {
            who->group = name;
        }
        return;
    }
    who->uid = geteuid();
    who->gid = getegid();
    if (apr_uid_name_get(&name, who->uid, p) == APR_SUCCESS) {
        who->name = name;
    }
    if (apr_gid_name_get(&name, who->gid, p) == APR_SUCCESS) {
        who->group = name;
    }
}

/* Upgrades from before issue 12 on the default store file: its files move
 * from the old default place into the new directory (just made: rename
 * moves a link as a link, and the files are then opened as User only), and
 * a directory of root's that an earlier version gave to User is named in
 * the log at every start until it is given back. */
static void old_default(server_rec *s, const char *path, int made, apr_pool_t *p)
{
    const char *old = ap_server_root_relative(p, OAS_OLD_DEF_STORE_FILE);
    const char *olddir = ap_server_root_relative(p, "oauth_as");
    struct stat d, g;

    if (strcmp(path, ap_server_root_relative(p, OAS_DEF_STORE_FILE)) != 0) {
        return;
    }
    if (made && lstat(apr_pstrcat(p, old, ".dir", NULL), &d) == 0 && S_ISREG(d.st_mode)
        && lstat(apr_pstrcat(p, old, ".pag", NULL), &g) == 0 && S_ISREG(g.st_mode)
        && rename(apr_pstrcat(p, old, ".dir", NULL), apr_pstrcat(p, path, ".dir", NULL)) == 0
        && rename(apr_pstrcat(p, old, ".pag", NULL), apr_pstrcat(p, path, ".pag", NULL)) == 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, OASLOGNO(07002)
                     "token store: moved %s.dir and .pag (the default before) to %s", old,
                     path);
    }
    if (geteuid() == 0 && stat(olddir, &d) == 0 && d.st_uid != 0
        && d.st_uid == ap_unixd_config.user_id) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(07003)
                     "%s belongs to %s: an earlier version of mod_oauth_as gave it away, "
                     "and that user may replace what it holds (a client registry, a "
                     "password file?). Give it back: chown root:root %s; chmod 755 %s",
                     olddir, ap_unixd_config.user_name, olddir, olddir);
    }
}

/* The store directory of path, made (and given to User) if missing, or
 * checked; OK, or logged and refused. */
static int store_dir(server_rec *s, const char *path, int make, apr_pool_t *p)
{
    oas_store_user_t who;
    const char *err = NULL;
    apr_status_t rv;
    int made = 0;

    httpd_store_user(&who, p);
    rv = oas_store_dir_prepare(path, &who, make, &made, p, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, OASLOGNO(07000)
                     "token store: %s", err ? err : path);
        return !OK;
    }
    if (made) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, OASLOGNO(07001)
                     "token store: made the directory of %s for %s (mode 0700)", path,
                     who.name ? who.name : "httpd");
    }
    if (make) {
        old_default(s, path, made, p);
    }
    return OK;
}

/* check_config: every store directory that exists already is fit (so that
 * apachectl configtest says so); a missing one is made at start. */
int oas_check_store_dirs(server_rec *s, apr_pool_t *ptemp)
{
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        oas_srv_conf_t *sc = oas_srv_conf(vs);
        const char *path;
        int mem, disk;

        if (!sc->clients_path || (sc->store_spec && strcmp(sc->store_spec, "default"))) {
            continue;
        }
        oas_store_settings(sc, ptemp, &path, &mem, &disk);
        if (store_dir(vs, path, 0, ptemp) != OK) {
            return !OK;
        }
    }
    return OK;
}

static apr_status_t create_store(kept_store_t *ks, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_status_t rv = APR_SUCCESS;

    if (store_dir(s, ks->conf.path, 1, pp) != OK) {
        return APR_EGENERAL;
    }
    if (ks->conf.mutex == NULL) {      /* one lock file per store */
        rv = ap_global_mutex_create(&ks->conf.mutex, &ks->conf.mutex_file, OAS_MUTEX_TYPE,
                                    oas_store_mutex_id(ks->conf.path, pp), s, pp, 0);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ap_unixd_set_global_mutex_perms(ks->conf.mutex);
    ks->conf.shm_file = apr_pstrcat(pp, ks->conf.path, ".shm", NULL);  /* for the tool */
    if (geteuid() == 0) {              /* the SDBM files: opened (made) as User only */
        ks->conf.file_uid = ap_unixd_config.user_id;
        ks->conf.file_gid = ap_unixd_config.group_id;
    }
    return oas_store_default_create(&ks->store, &ks->conf, pp);
}

/* How the start counted the records on disk (docs/stores.md, the count
 * kept at a clean stop). */
static void store_started(server_rec *s, const oas_store_t *st, const char *path)
{
    double sec = 0;
    int kept = oas_store_default_started(st, &sec);

    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, OASLOGNO(09403)
                 "token store %s: %s, in %.3f s", path,
                 kept > 0 ? "took the count of records on disk kept at the last clean stop"
                          : "read every record on disk to count them (no usable count kept)",
                 sec);
}

/* At httpd's stop (not a restart: the store lives on in the parent), when
 * the children are gone: keep the count of records on disk for the next
 * start (oas_store_default_close; only the stores this parent made). */
static apr_status_t stores_stop(void *data)
{
    apr_array_header_t *stores = data;
    apr_pool_t *tp;
    apr_status_t rv;
    int i;

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING
        || apr_pool_create(&tp, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    for (i = 0; i < stores->nelts; i++) {
        oas_store_t *st = APR_ARRAY_IDX(stores, i, oas_store_t *);
        if (oas_store_default_started(st, NULL) >= 0) {
            rv = oas_store_default_close(st, tp);
            ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, ap_server_conf, OASLOGNO(09404)
                         "token store: %s at stop", rv == APR_SUCCESS
                         ? "kept the count of records on disk" : "no count kept");
        }
    }
    apr_pool_destroy(tp);
    return APR_SUCCESS;
}

/* The store for these settings: the one kept from before a restart when
 * nothing changed (codes in shared memory survive a graceful restart). */
static oas_store_t *get_store(server_rec *s, oas_srv_conf_t *sc, apr_pool_t *ptemp)
{
    apr_pool_t *pp = s->process->pool;
    oas_store_default_conf_t conf = { 0 };
    const char *key;
    kept_store_t *ks = NULL;
    apr_status_t rv;

    oas_store_settings(sc, ptemp, &conf.path, &conf.mem_entries, &conf.disk_entries);
    key = apr_pstrcat(ptemp, "oauth_as:store:", conf.path, NULL);
    apr_pool_userdata_get((void **)&ks, key, pp);
    if (ks && oas_store_default_same(ks->store, &conf)) {
        oas_store_default_rebind(ks->store);   /* the module was reloaded */
        return ks->store;
    }
    if (ks) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, OASLOGNO(01202)
                     "store settings for %s changed: new shared memory (pending codes are "
                     "dropped, tokens stay on disk)", conf.path);
    }
    if (ks) {   /* the same file: keep its mutex (a lock file cannot be made twice) */
        conf.mutex = ks->conf.mutex;
        conf.mutex_file = ks->conf.mutex_file;
    }
    ks = apr_pcalloc(pp, sizeof(*ks));
    ks->conf = conf;
    ks->conf.path = apr_pstrdup(pp, conf.path);
    if ((rv = create_store(ks, s)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, s, OASLOGNO(01203)
                     "cannot create the token store at %s (OAuthASStoreFile)", conf.path);
        return NULL;
    }
    apr_pool_userdata_set(ks, apr_pstrdup(pp, key), apr_pool_cleanup_null, pp);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, OASLOGNO(01204)
                 "token store %s: %d entries in shared memory, %d on disk", conf.path,
                 conf.mem_entries, conf.disk_entries);
    store_started(s, ks->store, conf.path);
    return ks->store;
}

/* ---- the shared stores: Redis, socache ------------------------------------ */

static apr_hash_t *shared_made;           /* settings -> oas_store_t *, this generation */

static void redis_check(server_rec *s, const oas_store_redis_conf_t *c, apr_pool_t *ptemp)
{
    const char *note = NULL;
    apr_status_t rv = oas_store_redis_check(c, ptemp, &note);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, OASLOGNO(01241)
                     "token store: Redis at %s:%d does not answer now; token requests and "
                     "bearer checks get 503 until it does", c->host, c->port);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, OASLOGNO(01242)
                 "token store: Redis at %s:%d, keys %s..., timeout %d s, %d..%d (soft %d) "
                 "connections per child", c->host, c->port, c->prefix, c->timeout,
                 c->conn_min, c->conn_max, c->conn_smax);
    if (note) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01243) "token store: %s", note);
    }
}

/* OAuthASStore redis:HOST:PORT: one store per settings and generation (no
 * connection in the parent; each child opens its own). */
static oas_store_t *redis_store(server_rec *s, const oas_srv_conf_t *sc, apr_pool_t *pconf,
                                apr_pool_t *ptemp)
{
    oas_logger_t *lg = apr_pcalloc(pconf, sizeof(*lg));
    oas_store_redis_conf_t c;
    oas_store_t *st;
    const char *key;
    apr_status_t rv;

    oas_redis_settings(sc, pconf, &c);
    key = apr_psprintf(pconf, "redis|%s|%d|%s|%d|%d|%d|%d|%d", c.host, c.port, c.prefix,
                       c.timeout, c.conn_min, c.conn_smax, c.conn_max, c.conn_ttl);
    if ((st = apr_hash_get(shared_made, key, APR_HASH_KEY_STRING))) {
        return st;
    }
    oas_server_logger(lg, s);
    c.log = lg;
    if ((rv = oas_store_redis_create(&st, &c, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, s, OASLOGNO(01240)
                     "cannot create the Redis token store (%s)", sc->store_spec);
        return NULL;
    }
    redis_check(s, &c, ptemp);
    apr_hash_set(shared_made, key, APR_HASH_KEY_STRING, st);
    return st;
}

static oas_store_t *pick_store(server_rec *s, oas_srv_conf_t *sc, apr_pool_t *pconf,
                               apr_pool_t *ptemp)
{
    const char *spec = sc->store_spec;
    oas_store_t *st;

    if (!spec || !strcmp(spec, "default")) {
        return get_store(s, sc, ptemp);
    }
    if (!strncasecmp(spec, "redis:", 6)) {
        return redis_store(s, sc, pconf, ptemp);
    }
    if ((st = apr_hash_get(shared_made, spec, APR_HASH_KEY_STRING)) == NULL
        && (st = oas_socache_store(s, sc, pconf, ptemp)) != NULL) {
        apr_hash_set(shared_made, spec, APR_HASH_KEY_STRING, st);
    }
    return st;
}

static void add_live_store(oas_store_t *st)
{
    int i;
    for (i = 0; i < live_stores->nelts; i++) {
        if (APR_ARRAY_IDX(live_stores, i, oas_store_t *) == st) {
            return;
        }
    }
    APR_ARRAY_PUSH(live_stores, oas_store_t *) = st;
}

int oas_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    live_stores = apr_array_make(pconf, 2, sizeof(oas_store_t *));
    shared_made = apr_hash_make(pconf);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    counters = shared_counters(s);
    for (vs = s; vs; vs = vs->next) {
        oas_srv_conf_t *sc = oas_srv_conf(vs);
        sc->rt = oas_runtime_config(vs, sc, pconf);
        sc->rt->counters = counters;
        if (oas_load_csrf_key(vs, sc, sc->rt, pconf) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!sc->clients_path) {
            continue;   /* not an authorization server: no store */
        }
        if (!(sc->rt->store = pick_store(vs, sc, pconf, ptemp))) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        add_live_store(sc->rt->store);
    }
    apr_pool_cleanup_register(pconf, live_stores, stores_stop, apr_pool_cleanup_null);
    oas_find_endpoint_urls(s, pconf);
    return OK;
}

void oas_child_init(apr_pool_t *p, server_rec *s)
{
    int i;
    for (i = 0; live_stores && i < live_stores->nelts; i++) {
        oas_store_t *st = APR_ARRAY_IDX(live_stores, i, oas_store_t *);
        apr_status_t rv = st->child_init(st, p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, OASLOGNO(01205)
                         "token store: child init failed");
        }
    }
}

int oas_monitor(apr_pool_t *p, server_rec *s)
{
    static apr_time_t last;
    apr_time_t now = apr_time_now();
    apr_pool_t *tp;
    int i;

    if (!live_stores || now - last < PURGE_INTERVAL) {
        return DECLINED;
    }
    last = now;
    apr_pool_create(&tp, p);
    for (i = 0; i < live_stores->nelts; i++) {
        oas_store_t *st = APR_ARRAY_IDX(live_stores, i, oas_store_t *);
        int n = 0;
        apr_status_t rv = st->purge(st, &n, tp);
        if (counters) {
            apr_atomic_inc32(&counters->purges);
        }
        ap_log_error(APLOG_MARK, rv == APR_SUCCESS ? APLOG_DEBUG : APLOG_ERR, rv, s,
                     OASLOGNO(01206) "token store purge: %d expired entries removed", n);
    }
    apr_pool_destroy(tp);
    return DECLINED;
}
