/* oas_ep_meta.c — authorization server metadata (RFC 8414) and the status
 * document (store and counters; no token or secret ever appears). */
#include <string.h>
#include <apr_strings.h>
#include "oas_grant.h"

static oas_response_t *check_get(const oas_config_t *cfg, const oas_http_req_t *req,
                                 apr_pool_t *p)
{
    oas_response_t *r;

    if (cfg->require_https && !req->is_https) {
        return oas_response_error(p, cfg, 400, OAS_ERR_INVALID_REQUEST, "HTTPS is required");
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        r = oas_response_error(p, cfg, 405, OAS_ERR_INVALID_REQUEST, "this endpoint takes GET");
        apr_table_setn(r->headers, "Allow", "GET, HEAD");
        return r;
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

oas_response_t *oas_metadata_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                      apr_pool_t *p)
{
    static const char *const response_types[] = { "code", "token", NULL };
    static const char *const response_modes[] = { "query", "fragment", NULL };
    static const char *const grant_types[] = { "authorization_code", "implicit",
        "client_credentials", "password", "refresh_token", NULL };
    static const char *const token_auth[] = { "client_secret_basic", "none", NULL };
    static const char *const introspect_auth[] = { "client_secret_basic", NULL };
    static const char *const pkce[] = { "S256", "plain", NULL };
    json_t *o;
    oas_response_t *r;

    if ((r = check_get(cfg, req, p))) {
        return r;
    }
    o = json_object();
    json_object_set_new(o, "issuer", json_string(cfg->issuer));
    set_url(o, "authorization_endpoint", cfg->url_authorize);
    set_url(o, "token_endpoint", cfg->url_token);
    set_url(o, "introspection_endpoint", cfg->url_introspect);
    set_url(o, "revocation_endpoint", cfg->url_revoke);
    json_object_set_new(o, "scopes_supported", scopes_supported(cfg));
    json_object_set_new(o, "response_types_supported", string_array(response_types));
    json_object_set_new(o, "response_modes_supported", string_array(response_modes));
    json_object_set_new(o, "grant_types_supported", string_array(grant_types));
    json_object_set_new(o, "token_endpoint_auth_methods_supported", string_array(token_auth));
    json_object_set_new(o, "introspection_endpoint_auth_methods_supported",
                        string_array(introspect_auth));
    json_object_set_new(o, "revocation_endpoint_auth_methods_supported",
                        string_array(token_auth));
    json_object_set_new(o, "code_challenge_methods_supported", string_array(pkce));
    json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
    return oas_response_json(p, 200, oas_json_dump(o, p));
}

/* ---- status ------------------------------------------------------------ */

static const char *const kind_names[OAS_KIND_MAX] = {
    "none", "code", "access_token", "refresh_token", "used_code", "used_refresh_token",
    "revoked_family", "csrf"
};

static const char *const grant_counter_names[OAS_CNT_GRANT_MAX] = {
    "authorization_code", "implicit", "client_credentials", "password", "refresh_token"
};

static json_t *store_json(const oas_store_stats_t *st)
{
    json_t *o = json_object(), *mem = json_object();
    int k;

    for (k = 1; k < OAS_KIND_MAX; k++) {
        json_object_set_new(mem, kind_names[k], json_integer(st->mem_entries[k]));
    }
    json_object_set_new(o, "memory_entries", mem);
    json_object_set_new(o, "memory_capacity", json_integer(st->mem_capacity));
    json_object_set_new(o, "disk_entries", json_integer(st->disk_entries));
    json_object_set_new(o, "disk_capacity", json_integer(st->disk_capacity));
    json_object_set_new(o, "purged", json_integer(st->purged));
    json_object_set_new(o, "full", json_integer(st->full));
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
    return o;
}

oas_response_t *oas_status_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p)
{
    oas_store_stats_t st;
    json_t *o;
    oas_response_t *r;

    if ((r = check_get(cfg, req, p))) {
        return r;
    }
    o = json_object();
    json_object_set_new(o, "issuer", json_string(cfg->issuer));
    if (cfg->store && cfg->store->stats(cfg->store, &st) == APR_SUCCESS) {
        json_object_set_new(o, "store", store_json(&st));
        json_object_set_new(o, "store_type", json_string(cfg->store->name));
    }
    if (cfg->counters) {
        json_object_set_new(o, "counters", counters_json(cfg->counters));
    }
    return oas_response_json(p, 200, oas_json_dump(o, p));
}
