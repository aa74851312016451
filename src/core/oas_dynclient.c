/* oas_dynclient.c — self-registered clients in the store (oas_dynclient.h).
 *
 * A record is compact JSON: {"iss":..., "id":..., "iat":N, "sh":bcrypt hash
 * (secret methods only), "rat":hex SHA-256 of the registration access token,
 * "m":{the registered metadata}}. Neither a secret nor a token is kept. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dynclient.h"
#include "oas_cimd.h"

#define DC_PREFIX      "dc:"    /* a client's record */
#define DC_COUNT       "dn:"    /* registrations counted (stores that cannot iterate) */
#define DC_TOKEN_PFX   "rat:"

void oas_dynclient_key(unsigned char key[OAS_DIGEST_LEN], const char *issuer,
                       const char *client_id)
{
    /* issuer and client id separated by a newline, which neither holds */
    apr_size_t li = issuer ? strlen(issuer) : 0, lc = strlen(client_id);
    char buf[OAS_ISSUER_MAX + OAS_CLIENT_ID_MAX + 2];

    li = li > OAS_ISSUER_MAX ? OAS_ISSUER_MAX : li;
    lc = lc > OAS_CLIENT_ID_MAX ? OAS_CLIENT_ID_MAX : lc;
    memcpy(buf, issuer ? issuer : "", li);
    buf[li] = '\n';
    memcpy(buf + li + 1, client_id, lc);
    buf[li + 1 + lc] = '\0';
    oas_store_key(key, DC_PREFIX, buf);
}

const char *oas_dynclient_token_digest(const char *token, apr_pool_t *p)
{
    unsigned char d[OAS_DIGEST_LEN];

    oas_store_key(d, DC_TOKEN_PFX, token);
    return oas_hex(p, d, sizeof(d));
}

static apr_array_header_t *json_strings(json_t *a, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) {
        if (json_is_string(v)) {
            APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, json_string_value(v));
        }
    }
    return out;
}

static unsigned grants_of(json_t *a, int *prefresh)
{
    unsigned g = 0, one;
    size_t i;
    json_t *v;

    *prefresh = 0;
    json_array_foreach(a, i, v) {
        one = json_is_string(v) ? oas_grant_from_name(json_string_value(v)) : 0;
        if (one == OAS_GRANT_REFRESH_TOKEN) {
            *prefresh = 1;
        }
        else {
            g |= one;
        }
    }
    return g;
}

static void client_from_meta(oas_client_t *c, json_t *m, apr_pool_t *p)
{
    json_t *name = json_object_get(m, "client_name");
    json_t *method = json_object_get(m, "token_endpoint_auth_method");
    json_t *scope = json_object_get(m, "scope");
    int refresh;

    c->name = json_is_string(name) ? apr_pstrdup(p, json_string_value(name)) : c->client_id;
    c->confidential = !(json_is_string(method)
                        && strcmp(json_string_value(method), "none") == 0);
    c->auth_method = c->confidential ? OAS_AUTH_CLIENT_SECRET_BASIC : OAS_AUTH_NONE;
    c->redirect_uris = json_strings(json_object_get(m, "redirect_uris"), p);
    c->grants = grants_of(json_object_get(m, "grant_types"), &refresh);
    c->refresh_limit = refresh ? -1 : 0;
    c->scopes = json_is_string(scope) ? oas_scope_split(json_string_value(scope), p) : NULL;
    if (!c->scopes) {
        c->scopes = apr_array_make(p, 1, sizeof(const char *));
    }
    c->access_token_lifetime = -1;
    c->access_token_format = -1;
    c->enabled = 1;
    c->self_registered = 1;
    c->reg_metadata = oas_json_dump(json_incref(m), p);
}

oas_client_t *oas_dynclient_decode(const oas_entry_t *e, const char *issuer, apr_pool_t *p)
{
    json_t *root, *iss, *id, *sh, *rat, *m;
    oas_client_t *c = NULL;

    if (e->kind != OAS_KIND_CLIENT
        || !(root = json_loadb(e->data, e->len, JSON_REJECT_DUPLICATES, NULL))) {
        return NULL;
    }
    iss = json_object_get(root, "iss");
    id = json_object_get(root, "id");
    sh = json_object_get(root, "sh");
    rat = json_object_get(root, "rat");
    m = json_object_get(root, "m");
    if (json_is_string(iss) && json_is_string(id) && json_is_string(rat) && json_is_object(m)
        && (!issuer || strcmp(issuer, json_string_value(iss)) == 0)) {
        c = apr_pcalloc(p, sizeof(*c));
        c->client_id = apr_pstrdup(p, json_string_value(id));
        c->secret_hash = json_is_string(sh) ? apr_pstrdup(p, json_string_value(sh)) : NULL;
        c->reg_token_digest = apr_pstrdup(p, json_string_value(rat));
        c->reg_issued_at = json_integer_value(json_object_get(root, "iat"));
        c->reg_exp = e->exp;
        c->reg_record = apr_pstrmemdup(p, e->data, e->len);
        client_from_meta(c, m, p);
        if (c->confidential && !c->secret_hash) {
            c = NULL;
        }
    }
    json_decref(root);
    return c;
}

apr_status_t oas_dynclient_encode(oas_entry_t *e, const char *issuer, const char *client_id,
                                  long long issued_at, const char *secret_hash,
                                  const char *token_digest, json_t *meta, long long now,
                                  long long max_idle, apr_pool_t *p)
{
    json_t *o = json_object();
    const char *text;

    json_object_set_new(o, "iss", json_string(issuer ? issuer : ""));
    json_object_set_new(o, "id", json_string(client_id));
    json_object_set_new(o, "iat", json_integer(issued_at));
    if (secret_hash) {
        json_object_set_new(o, "sh", json_string(secret_hash));
    }
    json_object_set_new(o, "rat", json_string(token_digest));
    json_object_set(o, "m", meta);
    text = oas_json_dump(o, p);
    memset(e, 0, sizeof(*e));
    e->kind = OAS_KIND_CLIENT;
    e->exp = max_idle > 0 ? now + max_idle : 0;
    e->data = text;
    e->len = text ? strlen(text) : 0;
    if (!text) {
        return APR_ENOMEM;
    }
    return e->len > OAS_ENTRY_MAX ? APR_ENOSPC : APR_SUCCESS;
}

/* A client whose id is the URL of its metadata document: public, fetched
 * each time it is looked up (oas_cimd.h); NULL when the document is refused. */
static const oas_client_t *cimd_client(const oas_config_t *cfg, const char *url,
                                       apr_pool_t *p)
{
    const char *why = NULL;
    json_t *meta = oas_cimd_metadata(cfg, url, &why, p);
    oas_client_t *c;

    if (!meta) {
        return NULL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->client_id = apr_pstrdup(p, url);
    client_from_meta(c, meta, p);
    c->confidential = 0;
    json_decref(meta);
    return c;
}

const oas_client_t *oas_client_find(const oas_config_t *cfg, const char *client_id,
                                    int *pfailed, apr_pool_t *p)
{
    const oas_client_t *c = cfg->registry ? oas_registry_get(cfg->registry, client_id) : NULL;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    apr_status_t rv;

    if (pfailed) {
        *pfailed = 0;
    }
    if (!c && cfg->cimd && oas_cimd_is_url(client_id)) {
        return cimd_client(cfg, client_id, p);
    }
    if (c || !client_id || !cfg->store || strlen(client_id) > OAS_CLIENT_ID_MAX) {
        return c;
    }
    oas_dynclient_key(key, cfg->issuer, client_id);
    rv = cfg->store->get(cfg->store, key, &e, p);
    if (rv != APR_SUCCESS) {
        if (pfailed && rv != APR_NOTFOUND) {
            *pfailed = 1;
        }
        return NULL;
    }
    c = oas_dynclient_decode(&e, cfg->issuer, p);
    return c && strcmp(c->client_id, client_id) == 0 ? c : NULL;
}

const oas_client_t *oas_client_get(const oas_config_t *cfg, const char *client_id,
                                   apr_pool_t *p)
{
    return oas_client_find(cfg, client_id, NULL, p);
}

void oas_dynclient_touch(const oas_config_t *cfg, const oas_client_t *c, long long now,
                         apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    if (!c || !c->self_registered || !c->reg_record || cfg->reg_max_idle <= 0
        || !cfg->store || c->reg_exp == 0
        || c->reg_exp - now > cfg->reg_max_idle - OAS_DYNCLIENT_TOUCH_EVERY) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CLIENT;
    e.exp = now + cfg->reg_max_idle;
    e.data = c->reg_record;
    e.len = strlen(c->reg_record);
    oas_dynclient_key(key, cfg->issuer, c->client_id);
    /* only while it is still there: a removed client stays removed */
    if (cfg->store->get(cfg->store, key, &(oas_entry_t){ 0 }, p) == APR_SUCCESS) {
        cfg->store->put(cfg->store, key, &e, p);
    }
}

typedef struct count_ctx_t {
    const char *issuer;
    long n;
    apr_pool_t *p;
} count_ctx_t;

/* a client of this issuer: its record names the issuer (the JSON string) */
static int count_cb(void *ctx, const unsigned char *key, const oas_entry_t *e)
{
    count_ctx_t *c = ctx;
    json_t *root;

    (void)key;
    if (e->kind == OAS_KIND_CLIENT
        && (root = json_loadb(e->data, e->len, 0, NULL)) != NULL) {
        const char *iss = json_string_value(json_object_get(root, "iss"));
        c->n += iss && strcmp(iss, c->issuer) == 0;
        json_decref(root);
    }
    return 0;
}

static void count_key(unsigned char key[OAS_DIGEST_LEN], const oas_config_t *cfg)
{
    oas_store_key(key, DC_COUNT, cfg->issuer ? cfg->issuer : "");
}

apr_status_t oas_dynclient_count(const oas_config_t *cfg, long *pn, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    count_ctx_t ctx = { cfg->issuer ? cfg->issuer : "", 0, p };
    apr_status_t rv;

    *pn = 0;
    if (!cfg->store) {
        return APR_SUCCESS;
    }
    rv = cfg->store->iterate ? cfg->store->iterate(cfg->store, count_cb, &ctx, p)
                             : APR_ENOTIMPL;
    if (rv != APR_ENOTIMPL) {
        *pn = ctx.n;
        return rv;
    }
    *pn = 0;
    if (!cfg->store->count) {
        return APR_ENOTIMPL;
    }
    count_key(key, cfg);
    return cfg->store->count(cfg->store, key, 0, 0, pn, NULL, p);
}

void oas_dynclient_counted(const oas_config_t *cfg, long long now, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    long long span = cfg->reg_max_idle > 0 ? cfg->reg_max_idle : 10LL * 365 * 86400;

    /* the shared stores (they revoke families by marker) cannot iterate; the
     * default store counts its entries instead */
    if (!cfg->store || !cfg->store->count || !cfg->store->families_by_marker) {
        return;
    }
    count_key(key, cfg);
    cfg->store->count(cfg->store, key, 1, now + span, NULL, NULL, p);
}
