/* oas_ep_meta.c — authorization server metadata (RFC 8414) and the status
 * document (store and counters; no token or secret ever appears). */
#include <string.h>
#include <apr_strings.h>
#include "oas_admin.h"
#include "oas_dynclient.h"
#include "oas_form.h"
#include "oas_grant.h"
#include "oas_resource.h"

#define AS_WELL_KNOWN "/.well-known/oauth-authorization-server"

/* GET or HEAD, HTTPS: the shared rules; the query's parameters when pparams. */
static oas_response_t *check_get(apr_table_t **pparams, const oas_config_t *cfg,
                                 const oas_http_req_t *req, apr_pool_t *p)
{
    oas_req_problem_t prob;

    if (oas_request_params(pparams, &prob, cfg, req, OAS_ALLOW_GET | OAS_ALLOW_HEAD, p)) {
        return oas_response_problem(cfg, &prob, p);
    }
    return NULL;
}

static json_t *string_array(const char *const *list)
{
    json_t *a = json_array();
    for (; *list; list++) {
        json_array_append_new(a, json_string(*list));
    }
    return a;
}

static void set_url(json_t *o, const char *name, const char *url)
{
    if (url) {
        json_object_set_new(o, name, json_string(url));
    }
}

static json_t *scopes_supported(const oas_config_t *cfg)
{
    json_t *a = json_array();
    const apr_array_header_t *defs = cfg->scopes ? oas_scopes_list(cfg->scopes) : NULL;
    int i;

    for (i = 0; defs && i < defs->nelts; i++) {
        const oas_scope_def_t *d = APR_ARRAY_IDX(defs, i, const oas_scope_def_t *);
        json_array_append_new(a, json_string(d->name));
    }
    return a;
}

/* A path below the well-known URL names an issuer by its path (RFC 8414 §3.1):
 * only ours (or the Location the handler is mapped at) gets the document. */
static int metadata_path_ok(const oas_config_t *cfg, const oas_http_req_t *req, apr_pool_t *p)
{
    const char *mapped = cfg->url_metadata ? oas_uri_path(cfg->url_metadata, p) : NULL;
    const char *ipath = oas_uri_path(cfg->issuer, p);

    if (!req->path || strncmp(req->path, AS_WELL_KNOWN "/", sizeof(AS_WELL_KNOWN)) != 0
        || (mapped && strcmp(req->path, mapped) == 0)) {
        return 1;
    }
    return ipath && strcmp(ipath, "/") != 0
           && strcmp(req->path, apr_pstrcat(p, AS_WELL_KNOWN, ipath, NULL)) == 0;
}

oas_response_t *oas_metadata_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                      apr_pool_t *p)
{
    static const char *const response_types[] = { "code", "token", NULL };
    static const char *const response_modes[] = { "query", "fragment", NULL };
    static const char *const grant_types[] = { "authorization_code", "implicit",
        "client_credentials", "password", "refresh_token", NULL };
    static const char *const token_auth[] = { "client_secret_basic", "client_secret_post",
        "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth", "none", NULL };
    static const char *const introspect_auth[] = { "client_secret_basic", "client_secret_post",
        "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth", NULL };
    static const char *const jws_algs[] = { "ES256", "RS256", "EdDSA", "Ed25519", NULL };
    static const char *const pkce[] = { "S256", "plain", NULL };
    json_t *o;
    oas_response_t *r;

    if ((r = check_get(NULL, cfg, req, p))) {
        return r;
    }
    if (!metadata_path_ok(cfg, req, p)) {
        return oas_response_not_found(p);
    }
    o = json_object();
    json_object_set_new(o, "issuer", json_string(cfg->issuer));
    set_url(o, "authorization_endpoint", cfg->url_authorize);
    set_url(o, "token_endpoint", cfg->url_token);
    set_url(o, "introspection_endpoint", cfg->url_introspect);
    set_url(o, "revocation_endpoint", cfg->url_revoke);
    set_url(o, "jwks_uri", cfg->url_jwks);
    set_url(o, "device_authorization_endpoint", cfg->url_device_authorization);
    set_url(o, "registration_endpoint", cfg->url_register);
    if (cfg->cimd) {                       /* draft-ietf-oauth-client-id-metadata-document */
        json_object_set_new(o, "client_id_metadata_document_supported", json_true());
    }
    json_object_set_new(o, "scopes_supported", scopes_supported(cfg));
    json_object_set_new(o, "response_types_supported", string_array(response_types));
    json_object_set_new(o, "response_modes_supported", string_array(response_modes));
    json_object_set_new(o, "grant_types_supported", string_array(grant_types));
    if (cfg->url_device_authorization) {   /* the device grant is on where it is mapped */
        json_array_append_new(json_object_get(o, "grant_types_supported"),
                              json_string("urn:ietf:params:oauth:grant-type:device_code"));
    }
    json_object_set_new(o, "token_endpoint_auth_methods_supported", string_array(token_auth));
    json_object_set_new(o, "introspection_endpoint_auth_methods_supported",
                        string_array(introspect_auth));
    json_object_set_new(o, "revocation_endpoint_auth_methods_supported",
                        string_array(token_auth));
    json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported",
                        string_array(jws_algs));
    /* RFC 8414 §2: required beside a method that signs (private_key_jwt) */
    json_object_set_new(o, "introspection_endpoint_auth_signing_alg_values_supported",
                        string_array(jws_algs));
    json_object_set_new(o, "revocation_endpoint_auth_signing_alg_values_supported",
                        string_array(jws_algs));
    json_object_set_new(o, "dpop_signing_alg_values_supported", string_array(jws_algs));
    json_object_set_new(o, "tls_client_certificate_bound_access_tokens", json_true());
    json_object_set_new(o, "code_challenge_methods_supported", string_array(pkce));
    json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
    set_url(o, "pushed_authorization_request_endpoint", cfg->url_par);
    if (cfg->require_par) {
        json_object_set_new(o, "require_pushed_authorization_requests", json_true());
    }
    return oas_response_json(p, 200, oas_json_dump(o, p));
}

/* ---- protected resource metadata (RFC 9728) ------------------------------ */

/* The OAuthASProtectedResource whose document lives at path, or NULL. */
static const char *protected_at(const oas_config_t *cfg, const char *path, apr_pool_t *p)
{
    const apr_array_header_t *list = cfg->protected_resources;
    int i;

    for (i = 0; path && list && i < list->nelts; i++) {
        const char *uri = APR_ARRAY_IDX(list, i, const char *);
        const char *at = oas_prm_path(uri, p);
        if (at && strcmp(at, path) == 0) {
            return uri;
        }
    }
    return NULL;
}

/* The scopes whose OAuthASScope paths cover the resource's path; none: all. */
static json_t *resource_scopes(const oas_config_t *cfg, const char *uri, apr_pool_t *p)
{
    const apr_array_header_t *defs = cfg->scopes ? oas_scopes_list(cfg->scopes) : NULL;
    const char *path = oas_uri_path(uri, p);
    json_t *a = json_array();
    int i, j;

    for (i = 0; defs && i < defs->nelts; i++) {
        const oas_scope_def_t *d = APR_ARRAY_IDX(defs, i, const oas_scope_def_t *);
        for (j = 0; d->paths && j < d->paths->nelts; j++) {
            if (oas_path_covers(APR_ARRAY_IDX(d->paths, j, const char *), path)) {
                json_array_append_new(a, json_string(d->name));
                break;
            }
        }
    }
    if (json_array_size(a) == 0) {
        json_decref(a);
        return scopes_supported(cfg);
    }
    return a;
}

oas_response_t *oas_resource_metadata_endpoint(const oas_config_t *cfg,
                                               const oas_http_req_t *req, apr_pool_t *p)
{
    static const char *const bearer_methods[] = { "header", NULL };
    const char *uri;
    json_t *o, *servers;
    oas_response_t *r;

    if ((r = check_get(NULL, cfg, req, p))) {
        return r;
    }
    if (!(uri = protected_at(cfg, req->path, p))) {
        OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(07600)
                "resource metadata: no OAuthASProtectedResource has its document at %s",
                req->path ? req->path : "-");
        return oas_response_not_found(p);
    }
    o = json_object();
    servers = json_array();
    json_array_append_new(servers, json_string(cfg->issuer));
    json_object_set_new(o, "resource", json_string(uri));
    json_object_set_new(o, "authorization_servers", servers);
    json_object_set_new(o, "scopes_supported", resource_scopes(cfg, uri, p));
    json_object_set_new(o, "bearer_methods_supported", string_array(bearer_methods));
    return oas_response_json(p, 200, oas_json_dump(o, p));
}

/* The JWK Set of the signing keys, made at start-up (public parts only).
 * Caching is fine: a new key is published before it signs (SPEC §10). */
oas_response_t *oas_jwks_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                  apr_pool_t *p)
{
    oas_response_t *r;

    if ((r = check_get(NULL, cfg, req, p))) {
        return r;
    }
    r = oas_response_json(p, 200, cfg->jwks_text ? cfg->jwks_text : "{\"keys\":[]}");
    r->content_type = "application/jwk-set+json";
    apr_table_set(r->headers, "Cache-Control", "public, max-age=300");
    return r;
}

/* ---- status ------------------------------------------------------------ */

static const char *const grant_counter_names[OAS_CNT_GRANT_MAX] = {
    "authorization_code", "implicit", "client_credentials", "password", "refresh_token",
    "device_code"
};

static json_t *store_json(const oas_store_stats_t *st)
{
    json_t *o = json_object(), *mem = json_object();
    int k;

    for (k = 1; k < OAS_KIND_MAX; k++) {
        json_object_set_new(mem, oas_admin_kind_name(k), json_integer(st->mem_entries[k]));
    }
    json_object_set_new(o, "memory_entries", mem);
    json_object_set_new(o, "memory_capacity", json_integer(st->mem_capacity));
    json_object_set_new(o, "disk_entries", json_integer(st->disk_entries));
    json_object_set_new(o, "disk_capacity", json_integer(st->disk_capacity));
    json_object_set_new(o, "purged", json_integer(st->purged));
    json_object_set_new(o, "full", json_integer(st->full));
    json_object_set_new(o, "recovered", json_integer(st->recovered));
    json_object_set_new(o, "corrupt", json_integer(st->corrupt));
    return o;
}

static json_t *counters_json(const oas_counters_t *c)
{
    json_t *o = json_object(), *issued = json_object(), *errors = json_object();
    int i;

    for (i = 0; i < OAS_CNT_GRANT_MAX; i++) {
        json_object_set_new(issued, grant_counter_names[i], json_integer(c->issued[i]));
    }
    for (i = 0; i < OAS_ERR_MAX; i++) {
        json_object_set_new(errors, oas_error_name((oas_error_t)i), json_integer(c->errors[i]));
    }
    json_object_set_new(o, "tokens_issued", issued);
    json_object_set_new(o, "errors", errors);
    json_object_set_new(o, "codes_issued", json_integer(c->codes_issued));
    json_object_set_new(o, "introspections", json_integer(c->introspections));
    json_object_set_new(o, "revocations", json_integer(c->revocations));
    json_object_set_new(o, "bearer_accepted", json_integer(c->bearer_ok));
    json_object_set_new(o, "bearer_refused", json_integer(c->bearer_refused));
    json_object_set_new(o, "purge_runs", json_integer(c->purges));
    json_object_set_new(o, "auth_lockouts", json_integer(c->auth_lockouts));
    json_object_set_new(o, "auth_refused", json_integer(c->auth_refused));
    return o;
}

/* ---- status in Prometheus' text format (?format=prometheus) ---------------- */

typedef struct prom_t {
    apr_array_header_t *parts;       /* const char *, joined at the end */
    apr_pool_t *p;
} prom_t;

static void prom_add(prom_t *m, const char *s)
{
    APR_ARRAY_PUSH(m->parts, const char *) = s;
}

static void prom_head(prom_t *m, const char *name, const char *type, const char *help)
{
    prom_add(m, apr_psprintf(m->p, "# HELP oauth_as_%s %s\n# TYPE oauth_as_%s %s\n",
                             name, help, name, type));
}

/* label NULL: a sample without labels */
static void prom_sample(prom_t *m, const char *name, const char *label, const char *value,
                        long long v)
{
    apr_int64_t n = (apr_int64_t)v;

    prom_add(m, label ? apr_psprintf(m->p, "oauth_as_%s{%s=\"%s\"} %" APR_INT64_T_FMT "\n",
                                     name, label, value, n)
                      : apr_psprintf(m->p, "oauth_as_%s %" APR_INT64_T_FMT "\n", name, n));
}

static void prom_one(prom_t *m, const char *name, const char *type, const char *help,
                     long long v)
{
    prom_head(m, name, type, help);
    prom_sample(m, name, NULL, NULL, v);
}

/* A label value: backslash, double quote and newline escaped. */
static const char *prom_escape(const char *s, apr_pool_t *p)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *w = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            *w++ = '\\';
            *w++ = *s == '\n' ? 'n' : *s;
        }
        else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return out;
}

static void prom_store(prom_t *m, const oas_store_t *store, const oas_store_stats_t *st)
{
    int k;

    prom_head(m, "store_info", "gauge", "The token store in use (OAuthASStore).");
    prom_sample(m, "store_info", "type", prom_escape(store->name, m->p), 1);
    prom_head(m, "store_memory_entries", "gauge", "Entries in shared memory, by kind.");
    for (k = 1; k < OAS_KIND_MAX; k++) {
        prom_sample(m, "store_memory_entries", "kind", oas_admin_kind_name(k),
                    st->mem_entries[k]);
    }
    prom_one(m, "store_memory_capacity", "gauge", "Most entries in shared memory "
             "(OAuthASStoreMemory).", st->mem_capacity);
    prom_one(m, "store_disk_entries", "gauge", "Entries in the store file.", st->disk_entries);
    prom_one(m, "store_disk_capacity", "gauge", "Most entries in the store file "
             "(OAuthASStoreDisk).", st->disk_capacity);
    prom_one(m, "store_purged_total", "counter", "Expired entries purged.", st->purged);
    prom_one(m, "store_full_total", "counter", "Times the store was full (503 answers).",
             st->full);
    prom_one(m, "store_recovered_total", "counter", "Times the memory tier was emptied "
             "because a process died while changing it.", st->recovered);
    prom_one(m, "store_corrupt_total", "counter", "Malformed records found in the store "
             "file and dropped.", st->corrupt);
}

static void prom_counters(prom_t *m, const oas_counters_t *c)
{
    int i;

    prom_head(m, "tokens_issued_total", "counter", "Access tokens issued, by grant.");
    for (i = 0; i < OAS_CNT_GRANT_MAX; i++) {
        prom_sample(m, "tokens_issued_total", "grant", grant_counter_names[i], c->issued[i]);
    }
    prom_head(m, "errors_total", "counter", "OAuth error answers, by error code.");
    for (i = 0; i < OAS_ERR_MAX; i++) {
        prom_sample(m, "errors_total", "error", oas_error_name((oas_error_t)i), c->errors[i]);
    }
    prom_one(m, "codes_issued_total", "counter", "Authorization codes issued.",
             c->codes_issued);
    prom_one(m, "introspections_total", "counter", "Introspection requests.",
             c->introspections);
    prom_one(m, "revocations_total", "counter", "Revocation requests.", c->revocations);
    prom_one(m, "bearer_accepted_total", "counter", "Bearer tokens accepted (AuthType "
             "Bearer).", c->bearer_ok);
    prom_one(m, "bearer_refused_total", "counter", "Bearer tokens refused.",
             c->bearer_refused);
    prom_one(m, "purge_runs_total", "counter", "Background purge runs.", c->purges);
    prom_one(m, "auth_lockouts_total", "counter", "Client ids and user names locked by the "
             "brute-force limits (OAuthASAuthFailLimit).", c->auth_lockouts);
    prom_one(m, "auth_refused_total", "counter", "Authentications refused unchecked "
             "while locked (429).", c->auth_refused);
}

static oas_response_t *status_prometheus(const oas_config_t *cfg, apr_pool_t *p)
{
    prom_t m = { apr_array_make(p, 64, sizeof(const char *)), p };
    oas_store_stats_t st;
    oas_response_t *r;

    prom_head(&m, "info", "gauge", "The authorization server (OAuthASIssuer).");
    prom_sample(&m, "info", "issuer", prom_escape(cfg->issuer ? cfg->issuer : "", p), 1);
    if (cfg->store && cfg->store->stats(cfg->store, &st) == APR_SUCCESS) {
        prom_store(&m, cfg->store, &st);
    }
    if (cfg->counters) {
        prom_counters(&m, cfg->counters);
    }
    r = oas_response_json(p, 200, apr_array_pstrcat(p, m.parts, 0));
    r->content_type = "text/plain; version=0.0.4";
    return r;
}

/* The format asked for with ?format=: 1 prometheus, 0 json, -1 anything else. */
static int status_format(apr_table_t *params)
{
    const char *f = apr_table_get(params, "format");
    return f == NULL || strcmp(f, "json") == 0 ? 0 : strcmp(f, "prometheus") == 0 ? 1 : -1;
}

oas_response_t *oas_status_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p)
{
    oas_store_stats_t st;
    apr_table_t *params = NULL;
    json_t *o;
    oas_response_t *r;
    int format;

    if ((r = check_get(&params, cfg, req, p))) {
        return r;
    }
    if ((format = status_format(params)) != 0) {
        return format > 0 ? status_prometheus(cfg, p)
             : oas_response_error(p, cfg, 400, OAS_ERR_INVALID_REQUEST,
                                  "format must be json or prometheus");
    }
    o = json_object();
    json_object_set_new(o, "issuer", json_string(cfg->issuer));
    if (cfg->store && cfg->store->stats(cfg->store, &st) == APR_SUCCESS) {
        json_object_set_new(o, "store", store_json(&st));
        json_object_set_new(o, "store_type", json_string(cfg->store->name));
    }
    if (cfg->url_register) {
        long n = 0;
        if (oas_dynclient_count(cfg, &n, p) == APR_SUCCESS) {
            json_object_set_new(o, "self_registered_clients", json_integer(n));
        }
    }
    if (cfg->counters) {
        json_object_set_new(o, "counters", counters_json(cfg->counters));
    }
    return oas_response_json(p, 200, oas_json_dump(o, p));
}
