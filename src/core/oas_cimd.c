/* oas_cimd.c — client metadata documents (oas_cimd.h). */
#include <string.h>
#include <apr_strings.h>
#include "oas_cimd.h"
#include "oas_dynclient.h"
#include "oas_fetch.h"
#include "oas_registry.h"
#include "oas_json.h"
#include "oas_store.h"
#include "oas_util.h"

int oas_cimd_is_url(const char *id)
{
    const char *host, *path;
    apr_size_t i, n = id ? strlen(id) : 0;

    if (n == 0 || n > OAS_CLIENT_ID_MAX || strncmp(id, "https://", 8) != 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '\\') {
            return 0;
        }
    }
    host = id + 8;
    path = strchr(host, '/');
    if (!path || path == host || memchr(host, '@', (apr_size_t)(path - host))
        || path[1] == '\0') {
        return 0;
    }
    for (; path; path = strchr(path + 1, '/')) {   /* no dot segments */
        if (strncmp(path, "/./", 3) == 0 || strncmp(path, "/../", 4) == 0
            || strcmp(path, "/.") == 0 || strcmp(path, "/..") == 0) {
            return 0;
        }
    }
    return 1;
}

/* a shared secret, or anything but none, is refused: such a client is public */
static const char *auth_method_why(json_t *doc, apr_pool_t *p)
{
    json_t *m = json_object_get(doc, "token_endpoint_auth_method");

    if (!m || (json_is_string(m) && strcmp(json_string_value(m), "none") == 0)) {
        return NULL;
    }
    if (json_is_string(m) && strncmp(json_string_value(m), "client_secret_", 14) == 0) {
        return apr_psprintf(p, "token_endpoint_auth_method %s: a shared secret cannot be "
                            "in a public document", json_string_value(m));
    }
    return "token_endpoint_auth_method must be none";
}

json_t *oas_cimd_check(const oas_config_t *cfg, const char *url, const char *body,
                       apr_size_t len, const char **pwhy, apr_pool_t *p)
{
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL), *in, *out;
    json_t *id = json_object_get(doc, "client_id");
    oas_regmeta_error_t err;

    *pwhy = NULL;
    if (!json_is_object(doc)) {
        *pwhy = "it is not a JSON object";
    }
    else if (!json_is_string(id) || strcmp(json_string_value(id), url) != 0) {
        *pwhy = "its client_id is not exactly its URL";
    }
    else {
        *pwhy = auth_method_why(doc, p);
    }
    if (*pwhy) {
        json_decref(doc);
        return NULL;
    }
    in = json_deep_copy(doc);
    json_object_del(in, "client_id");
    json_object_del(in, "scope");          /* what a self-registered client may hold */
    json_object_set_new(in, "token_endpoint_auth_method", json_string("none"));
    out = oas_regmeta_check(cfg, in, &err, p);
    if (!out) {
        *pwhy = apr_psprintf(p, "%s: %s", err.code, err.description);
    }
    json_decref(in);
    json_decref(doc);
    return out;
}

#define REFUSAL_KEY "oas_cimd_refusal"
#define CACHE_PREFIX "cm:"

/* Checked documents are kept in the store (the registered form, as a record
 * {"cimd": url, "m": meta}, which is no self-registered client's: it has no
 * "iss"), keyed by the issuer and the URL, for the answer's max-age within
 * [0, OAS_CIMD_CACHE_MAX], OAS_CIMD_CACHE_DEFAULT without one. Refusals are
 * not kept. */
static void cache_key(unsigned char key[OAS_DIGEST_LEN], const oas_config_t *cfg,
                      const char *url, apr_pool_t *p)
{
    oas_store_key(key, CACHE_PREFIX, apr_pstrcat(p, cfg->issuer ? cfg->issuer : "", "\n",
                                                 url, NULL));
}

static json_t *cache_get(const oas_config_t *cfg, const char *url, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    json_t *root, *m = NULL;

    cache_key(key, cfg, url, p);
    if (!cfg->store || cfg->store->get(cfg->store, key, &e, p) != APR_SUCCESS
        || e.kind != OAS_KIND_CLIENT
        || !(root = json_loadb(e.data, e.len, JSON_REJECT_DUPLICATES, NULL))) {
        return NULL;
    }
    if (json_is_string(json_object_get(root, "cimd"))
        && strcmp(json_string_value(json_object_get(root, "cimd")), url) == 0
        && json_is_object(json_object_get(root, "m"))) {
        m = json_incref(json_object_get(root, "m"));
    }
    json_decref(root);
    return m;
}

static void cache_put(const oas_config_t *cfg, const char *url, json_t *meta,
                      long long max_age, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    long long ttl = max_age < 0 ? OAS_CIMD_CACHE_DEFAULT
                  : max_age > OAS_CIMD_CACHE_MAX ? OAS_CIMD_CACHE_MAX : max_age;
    json_t *o;
    const char *text;
    oas_entry_t e;

    if (!cfg->store || ttl <= 0) {
        return;
    }
    o = json_pack("{s:s, s:O}", "cimd", url, "m", meta);
    text = o ? oas_json_dump(o, p) : NULL;
    if (!text || strlen(text) > OAS_ENTRY_MAX) {
        return;                     /* too large to keep: fetched each time */
    }
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CLIENT;
    e.exp = (long long)(apr_time_now() / APR_USEC_PER_SEC) + ttl;
    e.data = text;
    e.len = strlen(text);
    cache_key(key, cfg, url, p);
    cfg->store->put(cfg->store, key, &e, p);
}

json_t *oas_cimd_metadata(const oas_config_t *cfg, const char *url, const char **pwhy,
                          apr_pool_t *p)
{
    oas_fetch_opts_t o = { OAS_CIMD_MAX_BYTES, OAS_CIMD_TIMEOUT_MS, cfg->outbound_ca,
                           cfg->cimd_nets };
    char *body;
    apr_size_t len;
    long long max_age = -1;
    json_t *meta = cache_get(cfg, url, p);

    *pwhy = NULL;
    if (meta) {
        return meta;
    }
    if (oas_fetch_https(url, &o, &body, &len, &max_age, pwhy, p) == APR_SUCCESS) {
        meta = oas_cimd_check(cfg, url, body, len, pwhy, p);
    }
    if (meta) {
        cache_put(cfg, url, meta, max_age, p);
    }
    apr_pool_userdata_setn(meta ? NULL : *pwhy, REFUSAL_KEY, NULL, p);
    return meta;
}

const char *oas_cimd_refusal(apr_pool_t *p)
{
    void *why = NULL;

    apr_pool_userdata_get(&why, REFUSAL_KEY, p);
    return why;
}
