/* mod_oauth_as_keys.c — OAuthASSigningKey and OAuthASAccessTokenFormat: the
 * directives, and the keys' loading at start-up (check_config, so that
 * `apachectl configtest` names a refused file too). The keys themselves are
 * the core's (oas_jose.h). */
#include <string.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_main.h>
#include "mod_oauth_as_private.h"
#include "oas_jose.h"

APLOG_USE_MODULE(oauth_as);

/* OAuthASSigningKey PATH: repeatable; the first signs, all are published. */
const char *oas_set_signing_key(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = oas_srv_conf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path) {
        return apr_psprintf(cmd->pool, "OAuthASSigningKey: bad path '%s'", arg);
    }
    if (!sc->signing_key_paths) {
        sc->signing_key_paths = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->signing_key_paths, const char *) = path;
    return NULL;
}

/* OAuthASAccessTokenFormat opaque|jwt */
const char *oas_set_token_format(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = oas_srv_conf(cmd->server);

    if (strcasecmp(arg, "opaque") == 0) {
        sc->token_format = OAS_FORMAT_OPAQUE;
    }
    else if (strcasecmp(arg, "jwt") == 0) {
        sc->token_format = OAS_FORMAT_JWT;
    }
    else {
        return apr_psprintf(cmd->pool, "OAuthASAccessTokenFormat: '%s' is not opaque or jwt",
                            arg);
    }
    return NULL;
}

/* Load the keys of one server; servers that inherit the same list share
 * the keys (seen: list -> keys). */
static int load_keys(server_rec *s, oas_srv_conf_t *sc, apr_hash_t *seen, apr_pool_t *pconf)
{
    const apr_array_header_t *paths = sc->signing_key_paths;
    apr_array_header_t *keys;
    const char *err = NULL;
    int i;

    if ((keys = apr_hash_get(seen, &paths, sizeof(paths)))) {
        sc->signing_keys = keys;
        return OK;
    }
    keys = apr_array_make(pconf, paths->nelts, sizeof(oas_jose_key_t *));
    for (i = 0; i < paths->nelts; i++) {
        oas_jose_key_t *key;
        if (oas_jose_key_load(&key, APR_ARRAY_IDX(paths, i, const char *), pconf,
                              &err) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL, OASLOGNO(07400)
                         "OAuthASSigningKey: %s", err);
            return !OK;
        }
        APR_ARRAY_PUSH(keys, oas_jose_key_t *) = key;
    }
    apr_hash_set(seen, apr_pmemdup(pconf, &paths, sizeof(paths)), sizeof(paths), keys);
    sc->signing_keys = keys;
    return OK;
}

/* Every client whose tokens are JWTs has a key to sign them and a lifetime
 * (SPEC §3, §10); NULL or why not, naming the client. */
static const char *check_clients(const oas_srv_conf_t *sc, apr_pool_t *p)
{
    const apr_array_header_t *clients = sc->registry ? oas_registry_clients(sc->registry) : NULL;
    int i;

    for (i = 0; clients && i < clients->nelts; i++) {
        const oas_client_t *c = APR_ARRAY_IDX(clients, i, const oas_client_t *);
        int jwt = c->access_token_format >= 0 ? c->access_token_format == OAS_FORMAT_JWT
                                              : sc->token_format == OAS_FORMAT_JWT;
        long long life = c->access_token_lifetime >= 0 ? c->access_token_lifetime
                                                       : sc->access_lifetime;

        if (jwt && !sc->signing_keys) {
            return apr_psprintf(p, "%s: client '%s' has JWT access tokens, but no "
                                "OAuthASSigningKey is configured", sc->clients_path,
                                c->client_id);
        }
        if (jwt && life == 0) {
            return apr_psprintf(p, "%s: client '%s' has JWT access tokens that never expire "
                                "(access_token_lifetime 0 or OAuthASAccessTokenLifetime 0): "
                                "a JWT must expire", sc->clients_path, c->client_id);
        }
    }
    return NULL;
}

int oas_check_signing_keys(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const char *why;
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        oas_srv_conf_t *sc = oas_srv_conf(vs);

        sc->signing_keys = NULL;
        if (sc->signing_key_paths && load_keys(vs, sc, seen, pconf) != OK) {
            return !OK;
        }
        if (sc->token_format == OAS_FORMAT_JWT && !sc->signing_keys) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL, OASLOGNO(07401)
                         "OAuthASAccessTokenFormat jwt needs an OAuthASSigningKey "
                         "(server %s:%u)", vs->server_hostname, (unsigned)vs->port);
            return !OK;
        }
        if ((why = check_clients(sc, ptemp))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL, OASLOGNO(07402)
                         "%s", why);
            return !OK;
        }
    }
    return OK;
}

/* The keys a server uses, in its error log (once, where they are configured). */
static void log_keys(server_rec *s, const oas_srv_conf_t *sc)
{
    const oas_srv_conf_t *main_sc = oas_srv_conf(ap_server_conf ? ap_server_conf : s);
    int i;

    if (s != ap_server_conf && sc->signing_key_paths == main_sc->signing_key_paths) {
        return;
    }
    for (i = 0; sc->signing_keys && i < sc->signing_keys->nelts; i++) {
        oas_jose_key_t *key = APR_ARRAY_IDX(sc->signing_keys, i, oas_jose_key_t *);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, OASLOGNO(07403)
                     "OAuthASSigningKey %s: alg %s, kid %s%s",
                     APR_ARRAY_IDX(sc->signing_key_paths, i, const char *),
                     oas_jose_key_alg(key), oas_jose_key_kid(key),
                     i == 0 ? " (signs)" : " (published)");
    }
}

/* The effective key settings of a server, into its runtime config. */
void oas_runtime_keys(server_rec *s, oas_config_t *rt, const oas_srv_conf_t *sc,
                      apr_pool_t *p)
{
    const apr_array_header_t *keys = sc->signing_keys;

    rt->signing_keys = keys ? (oas_jose_key_t *const *)keys->elts : NULL;
    rt->nsigning_keys = keys ? keys->nelts : 0;
    rt->jwks_text = oas_jose_jwks_text(rt->signing_keys, rt->nsigning_keys, p);
    rt->token_format = sc->token_format == OAS_UNSET ? OAS_FORMAT_OPAQUE : sc->token_format;
    log_keys(s, sc);
}
