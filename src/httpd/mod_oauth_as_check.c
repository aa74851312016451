/* mod_oauth_as_check.c — the check_config hook: what must hold before httpd
 * starts (and what `apachectl configtest` reports): the registries parse,
 * virtual hosts that share a store file share its sizes, the store
 * directories are fit, the signing keys load. It calls the other glue files
 * and none calls it back. */
#include "mod_oauth_as_private.h"
#include <apr_hash.h>
#include <apr_strings.h>
#include <http_log.h>

APLOG_USE_MODULE(oauth_as);

typedef struct store_user_t {
    server_rec *s;
    int mem, disk;
} store_user_t;

static const char *vhost_name(const server_rec *s, apr_pool_t *p)
{
    if (!s->is_virtual) {
        return "the main server";
    }
    return apr_psprintf(p, "virtual host %s (%s:%d)", s->server_hostname,
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

static int store_differs(const store_user_t *a, const store_user_t *b, const char *path,
                         apr_pool_t *p)
{
    const char *what = a->mem != b->mem ? "OAuthASStoreMemory" : "OAuthASStoreDisk";
    int va = a->mem != b->mem ? a->mem : a->disk, vb = a->mem != b->mem ? b->mem : b->disk;

    if (a->mem == b->mem && a->disk == b->disk) {
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, b->s, OASLOGNO(07010)
                 "OAuthASStoreFile %s: %s has %s %d, %s has %d; one store file has one "
                 "shared memory tier, so every virtual host that names it must give it the "
                 "same OAuthASStoreMemory and OAuthASStoreDisk (set them once, in the "
                 "main server, or give each a store file of its own)", path,
                 vhost_name(a->s, p), what, va, vhost_name(b->s, p), vb);
    return 1;
}

/* Virtual hosts that share a default store file must share its sizes: two
 * memory tiers over one file would not see each other's revocations. */
static int check_store_sharing(server_rec *s, apr_pool_t *ptemp)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        oas_srv_conf_t *sc = oas_srv_conf(vs);
        store_user_t *u, *first;
        const char *path;

        if (!sc->clients_path || (sc->store_spec && strcmp(sc->store_spec, "default"))) {
            continue;
        }
        u = apr_pcalloc(ptemp, sizeof(*u));
        u->s = vs;
        oas_store_settings(sc, ptemp, &path, &u->mem, &u->disk);
        if ((first = apr_hash_get(seen, path, APR_HASH_KEY_STRING)) == NULL) {
            apr_hash_set(seen, path, APR_HASH_KEY_STRING, u);
        }
        else if (store_differs(first, u, path, ptemp)) {
            return !OK;
        }
    }
    return OK;
}

int oas_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    if (oas_load_registries(pconf, ptemp, s) != OK
        || check_store_sharing(s, ptemp) != OK
        || oas_check_store_dirs(s, ptemp) != OK) {
        return !OK;
    }
    return oas_check_signing_keys(pconf, ptemp, s);
}
