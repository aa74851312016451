/* fixture.c — see fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_global_mutex.h>
#include <apr_sha1.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "fixture.h"
#include "oas_store.h"

apr_pool_t *pool;
oas_config_t cfg;
oas_counters_t counters;
char tmpdir[64];

const char *fx_sha_hash(const char *secret)
{
    char buf[64];

    apr_sha1_base64(secret, (int)strlen(secret), buf);
    return apr_pstrdup(pool, buf);
}

oas_registry_t *fx_registry(const char *json)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;

    ck_assert_msg(oas_registry_parse(&reg, json, strlen(json), "unit.json", cfg.scopes, pool,
                                     &err) == APR_SUCCESS, "registry: %s", err ? err : "?");
    return reg;
}

static oas_scopes_t *fx_scopes(const char *write_desc)
{
    oas_scopes_t *scopes = oas_scopes_make(pool);
    apr_array_header_t *nopaths = apr_array_make(pool, 1, sizeof(const char *));

    ck_assert_ptr_null(oas_scopes_add(scopes, "read", "Read your data", nopaths, pool));
    ck_assert_ptr_null(oas_scopes_add(scopes, "write", write_desc ? write_desc
                                      : "Change your data", nopaths, pool));
    return scopes;
}

static oas_store_t *fx_store(int mem_entries)
{
    apr_global_mutex_t *mutex;
    oas_store_default_conf_t sc;
    oas_store_t *store = NULL;

    ck_assert_int_eq(apr_global_mutex_create(&mutex, NULL, APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
    memset(&sc, 0, sizeof(sc));
    sc.path = apr_pstrcat(pool, tmpdir, "/store", NULL);
    sc.mem_entries = mem_entries;
    sc.disk_entries = 64;
    sc.mutex = mutex;
    ck_assert_int_eq(oas_store_default_create(&store, &sc, pool), APR_SUCCESS);
    return store;
}

void fx_setup(const char *name, const char *(*registry_json)(void), const char *write_desc,
              int mem_entries)
{
    apr_pool_create(&pool, NULL);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/oas-unit-%s-XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    memset(&cfg, 0, sizeof(cfg));
    memset(&counters, 0, sizeof(counters));
    cfg.scopes = fx_scopes(write_desc);
    cfg.registry = fx_registry(registry_json());
    cfg.store = fx_store(mem_entries);
    cfg.issuer = "https://as.example";
    cfg.counters = &counters;
    cfg.code_lifetime = 600;
    cfg.access_lifetime = 3600;
    cfg.refresh_lifetime = 86400;
    cfg.require_https = cfg.require_post = 1;
}

void fx_teardown(void)
{
    char cmd[128];

    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

const char *fx_basic(const char *user, const char *pass)
{
    const char *raw = apr_pstrcat(pool, user, ":", pass, NULL);
    char *enc = apr_palloc(pool, apr_base64_encode_len((int)strlen(raw)));

    apr_base64_encode(enc, raw, (int)strlen(raw));
    return apr_pstrcat(pool, "Basic ", enc, NULL);
}

oas_http_req_t fx_form_req(const char *auth, const char *body, oas_password_fn *check)
{
    oas_http_req_t req;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.is_https = 1;
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.authorization = auth;
    req.check_password = check;
    return req;
}

const char *fx_app_registry(int refresh_limit)
{
    return apr_psprintf(pool,
        "{\"clients\": [{\"client_id\":\"app\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"password\"],\"scopes\":[\"read\"],\"refresh_limit\":%d}]}",
        fx_sha_hash("app-secret"), refresh_limit);
}

static int app_password(void *baton, const char *user, const char *password)
{
    return strcmp(password, "wonderland") == 0 ? OAS_PW_GRANTED : OAS_PW_DENIED;
}

oas_response_t *fx_app_post(const char *body)
{
    oas_http_req_t req = fx_form_req(fx_basic("app", "app-secret"), body, app_password);
    return oas_token_endpoint(&cfg, &req, pool);
}

oas_response_t *fx_app_refresh(const char *rt)
{
    return fx_app_post(apr_pstrcat(pool, "grant_type=refresh_token&refresh_token=", rt, NULL));
}

const char *fx_member(const oas_response_t *r, const char *name)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL), *v;
    const char *s = NULL;

    ck_assert_ptr_nonnull(j);
    v = json_object_get(j, name);
    if (v && json_is_string(v)) {
        s = apr_pstrdup(pool, json_string_value(v));
    }
    json_decref(j);
    return s;
}

int fx_live(oas_store_t *s, const char *prefix, const char *token)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    oas_store_key(key, prefix, token ? token : "none");
    return s->get(s, key, &e, pool) == APR_SUCCESS
           && (e.kind == OAS_KIND_ACCESS || e.kind == OAS_KIND_REFRESH);
}
