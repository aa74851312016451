/* bench_common.c — see bench_common.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_base64.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>
#include "bench_common.h"
#include "oas_store_dir.h"

void bench_die(const char *what, apr_status_t rv)
{
    char buf[256];
    fprintf(stderr, "bench: %s: %s\n", what, apr_strerror(rv, buf, sizeof(buf)));
    exit(1);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *bench_basic(apr_pool_t *p, const char *id, const char *secret)
{
    const char *raw = apr_pstrcat(p, id, ":", secret, NULL);
    char *enc = apr_palloc(p, apr_base64_encode_len((int)strlen(raw)));

    apr_base64_encode(enc, raw, (int)strlen(raw));
    return apr_pstrcat(p, "Basic ", enc, NULL);
}

void bench_registry(bench_env_t *env, const char *secret_hash, const char *extra)
{
    apr_array_header_t *none = apr_array_make(env->pool, 1, sizeof(const char *));
    oas_scopes_t *scopes = oas_scopes_make(env->pool);
    oas_registry_t *reg = NULL;
    const char *err = NULL, *json;

    if (oas_scopes_add(scopes, "read", "Read", none, env->pool)
        || oas_scopes_add(scopes, "write", "Write", none, env->pool)) {
        bench_die("scopes", APR_EINVAL);
    }
    json = apr_psprintf(env->pool, "{\"clients\":[{\"client_id\":\"%s\",\"type\":"
                        "\"confidential\",\"secret\":\"%s\",\"grant_types\":"
                        "[\"client_credentials\"],\"scopes\":[\"read\",\"write\"]}%s%s]}",
                        BENCH_CLIENT, secret_hash, extra ? "," : "", extra ? extra : "");
    if (oas_registry_parse(&reg, json, strlen(json), "bench", scopes, env->pool, &err)) {
        fprintf(stderr, "bench: registry: %s\n", err ? err : "?");
        exit(1);
    }
    env->cfg.scopes = scopes;
    env->cfg.registry = reg;
}

void bench_setup(bench_env_t *env, const char *store_path, const char *secret_hash,
                 int mem_entries, int disk_entries)
{
    oas_store_default_conf_t sc;
    const char *err = NULL;
    apr_status_t rv;

    memset(env, 0, sizeof(*env));
    apr_initialize();
    apr_pool_create(&env->pool, NULL);
    bench_registry(env, secret_hash, NULL);
    memset(&sc, 0, sizeof(sc));
    sc.path = store_path;
    sc.mem_entries = mem_entries;
    sc.disk_entries = disk_entries;
    if (oas_store_dir_owner(&sc.file_uid, &sc.file_gid, store_path, env->pool, &err)) {
        sc.file_uid = 0;               /* as root, the files are then root's */
        sc.file_gid = 0;
    }
    if ((rv = apr_global_mutex_create(&sc.mutex, NULL, APR_LOCK_DEFAULT, env->pool))) {
        bench_die("mutex", rv);
    }
    if ((rv = oas_store_default_create(&env->cfg.store, &sc, env->pool))) {
        bench_die(store_path, rv);
    }
    env->cfg.issuer = "https://127.0.0.1";
    env->cfg.counters = &env->counters;
    env->cfg.code_lifetime = 600;
    env->cfg.access_lifetime = 86400;
    env->cfg.refresh_lifetime = 86400;
    env->cfg.require_https = 1;
    env->cfg.require_post = 1;
}

void bench_fill_tokens(bench_env_t *env, long count, FILE *out)
{
    oas_http_req_t req;
    oas_issue_t in;
    oas_issued_t is;
    apr_pool_t *tmp;
    apr_status_t rv;
    long i;

    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(env->cfg.registry, BENCH_CLIENT);
    in.scope = "read write";
    in.grant = OAS_GRANT_CLIENT_CREDENTIALS;
    apr_pool_create(&tmp, env->pool);
    for (i = 0; i < count; i++) {
        apr_pool_clear(tmp);
        if ((rv = oas_issue_tokens(&is, &env->cfg, &in, &req, tmp)) != APR_SUCCESS) {
            bench_die("issuing a token", rv);
        }
        if (out) {
            fprintf(out, "%s\n", is.access_token);
        }
    }
    apr_pool_destroy(tmp);
}
