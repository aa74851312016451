/* callgrind_token.c — instructions per request of the core, for
 * `make bench-callgrind` (bench/callgrind runs it under valgrind
 * --tool=callgrind --collect-atstart=no):
 *
 *   callgrind_token N STORE_DIR
 *
 * The core as httpd runs it: a bcrypt (cost 5) confidential client, a
 * private_key_jwt client (an EC P-256 key made here), the default store in
 * STORE_DIR. Phases of N requests each, measured and dumped separately:
 *   token       client_credentials through oas_token_endpoint(), Basic auth
 *   bearer      oas_bearer_check()s of those tokens
 *   introspect  introspection requests (the Basic client) for those tokens
 *   token_dpop  client_credentials, Basic auth, with a DPoP proof (ES256)
 *   token_pkjwt client_credentials, private_key_jwt (an ES256 assertion)
 *   rs_bearer   oas_token_check() (the access hook's check) of the plain
 *               tokens of the phase token, scheme Bearer
 *   rs_dpop     oas_token_check() of the DPoP-bound tokens of token_dpop,
 *               scheme DPoP, with a proof (htm, htu, ath)
 * Every proof and assertion is fresh (its own jti, iat now): all N are signed
 * before the phase, outside the count, so a count is the server's work only.
 * Before each phase one warm-up request (the first pays the only bcrypt: the
 * credentials are cached from then on). The reference of token_dpop and
 * token_pkjwt is token, of rs_dpop rs_bearer (docs/performance.md).
 * Without valgrind it just runs and prints microseconds per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_file_io.h>
#include <apr_md5.h>
#include <apr_strings.h>
#include <valgrind/callgrind.h>
#include "bench_common.h"
#include "oas_dpop.h"
#include "oas_jose.h"
#include "oas_util.h"

#define SECRET "bench-secret-0123456789"
#define JWT_CLIENT "bench-jwt"
#define URL_TOKEN "https://127.0.0.1/token"
#define URL_FILE "https://127.0.0.1/protected/index.html"

/* What the phases share: the tokens of the phase token (tok) and of
 * token_dpop (dtok), index 0 the warm-up's; in: the current phase's inputs
 * (proofs or assertions), made by its prep before it runs. */
typedef struct ctx_t {
    bench_env_t env;
    const char *auth;
    const char **tok, **dtok, **in;
    oas_jose_key_t *key;
    long n;
} ctx_t;

typedef struct phase_t {
    const char *name;
    void (*prep)(ctx_t *c);
    int (*one)(ctx_t *c, long i, apr_pool_t *p);
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

/* a token request; keeps the access token in out[i] (env.pool) */
static int token_req(ctx_t *c, const oas_http_req_t *req, const char **out, long i,
                     apr_pool_t *p)
{
    oas_response_t *r = oas_token_endpoint(&c->env.cfg, req, p);
    const char *at = r->status == 200 ? strstr(r->body, "\"access_token\":\"") : NULL;

    if (at) {
        out[i] = apr_pstrndup(c->env.pool, at + 16, 43);
    }
    return at != NULL;
}

static int one_token(ctx_t *c, long i, apr_pool_t *p)
{
    oas_http_req_t req = form(c->auth, "grant_type=client_credentials&scope=read");
    return token_req(c, &req, c->tok, i, p);
}

static int one_bearer(ctx_t *c, long i, apr_pool_t *p)
{
    oas_bearer_t b;

    oas_bearer_check(&b, &c->env.cfg, apr_pstrcat(p, "Bearer ", c->tok[i], NULL), NULL, p);
    return b.result == OAS_BEARER_OK;
}

static int one_introspect(ctx_t *c, long i, apr_pool_t *p)
{
    oas_http_req_t req = form(c->auth, apr_pstrcat(p, "token=", c->tok[i], NULL));
    oas_response_t *r = oas_introspect_endpoint(&c->env.cfg, &req, p);

    return r->status == 200 && strncmp(r->body, "{\"active\":true", 14) == 0;
}

/* A compact JWS of claims by c->key; header: typ and the public jwk (DPoP
 * proofs) or nothing (assertions). */
static const char *sign(ctx_t *c, json_t *claims, int proof)
{
    json_t *h = proof ? json_pack("{s:s,s:O}", "typ", "dpop+jwt", "jwk",
                                  (json_t *)oas_jose_key_jwk(c->key)) : NULL;
    const char *jws = NULL;

    if (oas_jose_sign(&jws, c->key, h, claims, c->env.pool) != APR_SUCCESS) {
        bench_die("oas_jose_sign", APR_EGENERAL);
    }
    json_decref(h);
    json_decref(claims);
    return jws;
}

static json_t *proof_claims(const char *htm, const char *htu, const char *jti)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "jti", jti, "htm", htm, "htu", htu,
                     "iat", (json_int_t)apr_time_sec(apr_time_now()));
}

static void prep_token_dpop(ctx_t *c)
{
    long i;

    for (i = 0; i <= c->n; i++) {
        c->in[i] = sign(c, proof_claims("POST", URL_TOKEN, apr_psprintf(c->env.pool,
                                                                         "t%ld", i)), 1);
    }
}

static int one_token_dpop(ctx_t *c, long i, apr_pool_t *p)
{
    oas_http_req_t req = form(c->auth, "grant_type=client_credentials&scope=read");

    req.dpop = c->in[i];
    req.dpop_count = 1;
    return token_req(c, &req, c->dtok, i, p);
}

static void prep_token_pkjwt(ctx_t *c)
{
    json_int_t now = (json_int_t)apr_time_sec(apr_time_now());
    long i;

    for (i = 0; i <= c->n; i++) {
        c->in[i] = sign(c, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", JWT_CLIENT,
                                     "sub", JWT_CLIENT, "aud", URL_TOKEN, "jti",
                                     apr_psprintf(c->env.pool, "a%ld", i), "iat", now,
                                     "exp", now + 240), 0);
    }
}

static int one_token_pkjwt(ctx_t *c, long i, apr_pool_t *p)
{
    oas_http_req_t req = form(NULL, apr_pstrcat(p, "grant_type=client_credentials&scope=read"
                                                "&client_assertion_type=urn%3Aietf%3Aparams"
                                                "%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                                                "&client_assertion=", c->in[i], NULL));

    return token_req(c, &req, c->in, i, p);    /* the token replaces the used assertion */
}

static oas_rs_req_t rs_req(const char *authorization)
{
    oas_rs_req_t rq;

    memset(&rq, 0, sizeof(rq));
    rq.authorization = authorization;
    rq.method = "GET";
    rq.url = URL_FILE;
    rq.now = apr_time_sec(apr_time_now());
    return rq;
}

static int one_rs_bearer(ctx_t *c, long i, apr_pool_t *p)
{
    oas_rs_req_t rq = rs_req(apr_pstrcat(p, "Bearer ", c->tok[i], NULL));
    oas_bearer_t b;

    oas_token_check(&b, &c->env.cfg, &rq, NULL, p);
    return b.result == OAS_BEARER_OK;
}

static void prep_rs_dpop(ctx_t *c)
{
    unsigned char d[OAS_DIGEST_LEN];
    json_t *claims;
    long i;

    for (i = 0; i <= c->n; i++) {
        oas_sha256(d, c->dtok[i], strlen(c->dtok[i]));
        claims = proof_claims("GET", URL_FILE, apr_psprintf(c->env.pool, "r%ld", i));
        json_object_set_new(claims, "ath",
                            json_string(oas_base64url_encode(c->env.pool, d, sizeof(d))));
        c->in[i] = sign(c, claims, 1);
    }
}

static int one_rs_dpop(ctx_t *c, long i, apr_pool_t *p)
{
    oas_rs_req_t rq = rs_req(apr_pstrcat(p, "DPoP ", c->dtok[i], NULL));
    oas_bearer_t b;

    rq.dpop = c->in[i];
    rq.dpop_count = 1;
    oas_token_check(&b, &c->env.cfg, &rq, NULL, p);
    return b.result == OAS_BEARER_OK && b.dpop;
}

static const phase_t PHASES[] = {
    { "token", NULL, one_token }, { "bearer", NULL, one_bearer },
    { "introspect", NULL, one_introspect },
    { "token_dpop", prep_token_dpop, one_token_dpop },
    { "token_pkjwt", prep_token_pkjwt, one_token_pkjwt },
    { "rs_bearer", NULL, one_rs_bearer }, { "rs_dpop", prep_rs_dpop, one_rs_dpop },
};

/* The phase's inputs, one warm-up request (index 0), then N requests,
 * measured; the failures are counted. */
static long run_phase(ctx_t *c, const phase_t *ph, apr_pool_t *p)
{
    long i, bad;
    double t0;

    if (ph->prep) {
        ph->prep(c);
    }
    bad = !ph->one(c, 0, p);
    apr_pool_clear(p);
    t0 = bench_now();
    CALLGRIND_TOGGLE_COLLECT;
    for (i = 1; i <= c->n; i++) {
        bad += !ph->one(c, i, p);
        apr_pool_clear(p);
    }
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(ph->name);
    printf("PHASE %s requests=%ld failed=%ld us_per_request=%.2f\n", ph->name, c->n, bad,
           (bench_now() - t0) * 1e6 / (double)c->n);
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

/* An EC P-256 key, through a 0600 PEM file in dir (as OAuthASSigningKey). */
static oas_jose_key_t *make_key(const char *dir, apr_pool_t *p)
{
    const char *pem = NULL, *err = NULL, *path = apr_pstrcat(p, dir, "/client-key.pem", NULL);
    oas_jose_key_t *key = NULL;
    FILE *f;

    if (oas_jose_key_generate(&pem, "ec", p, &err) != APR_SUCCESS
        || !(f = fopen(path, "w"))) {
        bench_die(err ? err : path, APR_EGENERAL);
    }
    fputs(pem, f);
    fclose(f);
    chmod(path, 0600);
    if (oas_jose_key_load(&key, path, p, &err) != APR_SUCCESS) {
        bench_die(err ? err : path, APR_EGENERAL);
    }
    return key;
}

/* the private_key_jwt client, its jwks the public JWK of c->key */
static void registry(ctx_t *c, const char *secret_hash)
{
    json_t *jwk = json_deep_copy(oas_jose_key_jwk(c->key));
    const char *text = oas_json_dump(json_pack("{s:[o]}", "keys", jwk), c->env.pool);

    bench_registry(&c->env, secret_hash, apr_psprintf(c->env.pool,
                   "{\"client_id\":\"%s\",\"type\":\"confidential\","
                   "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":%s,"
                   "\"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]}",
                   JWT_CLIENT, text));
}

int main(int argc, char **argv)
{
    ctx_t c;
    const char *hash;
    apr_pool_t *p, *tmp;
    long bad = 0;
    size_t k;

    memset(&c, 0, sizeof(c));
    if ((c.n = argc > 2 ? atol(argv[1]) : 0) <= 0) {
        fprintf(stderr, "usage: %s N STORE_DIR\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&tmp, NULL);
    hash = bcrypt5(tmp, SECRET);
    bench_setup(&c.env, apr_pstrcat(tmp, argv[2], "/store", NULL), hash, 1000,
                (int)(8 * c.n + 100));
    c.env.cfg.url_token = URL_TOKEN;
    c.key = make_key(argv[2], c.env.pool);
    registry(&c, hash);
    c.auth = bench_basic(c.env.pool, BENCH_CLIENT, SECRET);
    c.tok = apr_pcalloc(c.env.pool, sizeof(*c.tok) * (size_t)(c.n + 1));
    c.dtok = apr_pcalloc(c.env.pool, sizeof(*c.dtok) * (size_t)(c.n + 1));
    c.in = apr_pcalloc(c.env.pool, sizeof(*c.in) * (size_t)(c.n + 1));
    apr_pool_create(&p, c.env.pool);
    for (k = 0; k < sizeof(PHASES) / sizeof(PHASES[0]); k++) {
        bad += run_phase(&c, &PHASES[k], p);
    }
    return bad ? 1 : 0;
}
