/* callgrind_token.c — instructions per request of the core, for
 * `make bench-callgrind` (bench/callgrind runs it under valgrind
 * --tool=callgrind --collect-atstart=no):
 *
 *   callgrind_token N STORE_DIR
 *
 * The core as httpd runs it: a bcrypt (cost 5) confidential client, the
 * default store in STORE_DIR. After one warm-up request of each kind (the
 * only bcrypt check: the credentials are cached from then on), three phases
 * of N requests each are measured and dumped separately:
 *   token       N client_credentials requests through oas_token_endpoint()
 *   bearer      N oas_bearer_check()s of those tokens
 *   introspect  N introspection requests (the same client) for those tokens
 * Without valgrind it just runs and prints microseconds per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_md5.h>
#include <apr_strings.h>
#include <valgrind/callgrind.h>
#include "bench_common.h"

#define SECRET "bench-secret-0123456789"

typedef struct phase_t {
    const char *name;
    int (*one)(bench_env_t *env, const char *auth, const char **tok, long i, apr_pool_t *p);
} phase_t;

static oas_http_req_t form(const char *auth, const char *body)
{
    oas_http_req_t req;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.is_https = 1;
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body;
    req.body_len = strlen(body);
    req.authorization = auth;
    return req;
}

/* one client_credentials request; keeps the token in tok[i] (env->pool) */
static int one_token(bench_env_t *env, const char *auth, const char **tok, long i,
                     apr_pool_t *p)
{
    oas_http_req_t req = form(auth, "grant_type=client_credentials&scope=read");
    oas_response_t *r = oas_token_endpoint(&env->cfg, &req, p);
    const char *at = r->status == 200 ? strstr(r->body, "\"access_token\":\"") : NULL;

    if (at) {
        tok[i] = apr_pstrndup(env->pool, at + 16, 43);
    }
    return at != NULL;
}

static int one_bearer(bench_env_t *env, const char *auth, const char **tok, long i,
                      apr_pool_t *p)
{
    oas_bearer_t b;

    oas_bearer_check(&b, &env->cfg, apr_pstrcat(p, "Bearer ", tok[i], NULL), NULL, p);
    return b.result == OAS_BEARER_OK;
}

static int one_introspect(bench_env_t *env, const char *auth, const char **tok, long i,
                          apr_pool_t *p)
{
    oas_http_req_t req = form(auth, apr_pstrcat(p, "token=", tok[i], NULL));
    oas_response_t *r = oas_introspect_endpoint(&env->cfg, &req, p);

    return r->status == 200 && strncmp(r->body, "{\"active\":true", 14) == 0;
}

static const phase_t PHASES[] = {
    { "token", one_token }, { "bearer", one_bearer }, { "introspect", one_introspect },
};

/* N requests of one phase, measured; the failures are counted. */
static long run_phase(bench_env_t *env, const phase_t *ph, const char *auth, const char **tok,
                      long n, apr_pool_t *p)
{
    long i, bad = 0;
    double t0 = bench_now();

    CALLGRIND_TOGGLE_COLLECT;
    for (i = 1; i <= n; i++) {
        bad += !ph->one(env, auth, tok, i, p);
        apr_pool_clear(p);
    }
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(ph->name);
    printf("PHASE %s requests=%ld failed=%ld us_per_request=%.2f\n", ph->name, n, bad,
           (bench_now() - t0) * 1e6 / (double)n);
    return bad;
}

static const char *bcrypt5(apr_pool_t *p, const char *secret)
{
    unsigned char salt[16];
    char *out = apr_palloc(p, 64);
    int i;

    for (i = 0; i < 16; i++) {
        salt[i] = (unsigned char)(rand() & 0xff);
    }
    if (apr_bcrypt_encode(secret, 5, salt, sizeof(salt), out, 64) != APR_SUCCESS) {
        bench_die("bcrypt", APR_EGENERAL);
    }
    return out;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[1]) : 0, bad = 0;
    bench_env_t env;
    const char **tok, *auth;
    apr_pool_t *p, *tmp;
    size_t k;

    if (n <= 0) {
        fprintf(stderr, "usage: %s N STORE_DIR\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&tmp, NULL);
    bench_setup(&env, apr_pstrcat(tmp, argv[2], "/store", NULL), bcrypt5(tmp, SECRET), 1000,
                (int)(2 * n + 100));
    auth = bench_basic(env.pool, BENCH_CLIENT, SECRET);
    tok = apr_pcalloc(env.pool, sizeof(*tok) * (size_t)(n + 1));
    apr_pool_create(&p, env.pool);
    for (k = 0; k < sizeof(PHASES) / sizeof(PHASES[0]); k++) {   /* warm-up: tok[0] */
        bad += !PHASES[k].one(&env, auth, tok, 0, p);
        apr_pool_clear(p);
    }
    for (k = 0; k < sizeof(PHASES) / sizeof(PHASES[0]); k++) {
        bad += run_phase(&env, &PHASES[k], auth, tok, n, p);
    }
    return bad ? 1 : 0;
}
