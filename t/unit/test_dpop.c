/* test_dpop.c — oas_dpop: DPoP proof checks (RFC 9449 §4.3) and their
 * refusals, server nonces, jti single use in a real store, the token
 * endpoint's DPoP step, and private_key_jwt assertions (RFC 7523). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "unit.h"
#include "fixture.h"
#include "oas_dpop.h"
#include "oas_jose.h"
#include "oas_util.h"
#include "oas_grant.h"

#define HTU "https://as.example/token"
#define NOW now_s
static long long now_s;    /* the real clock: the store expires entries by it */

static oas_jose_key_t *key_a, *key_b;    /* key_a is the "pkj" client's registered key */
static const unsigned char nkey[32] = "0123456789abcdef0123456789abcdef";

static oas_jose_key_t *new_key(const char *type)
{
    const char *pem, *err = NULL, *path;
    oas_jose_key_t *k = NULL;
    FILE *f;

    ck_assert_int_eq(oas_jose_key_generate(&pem, type, pool, &err), APR_SUCCESS);
    path = apr_psprintf(pool, "/tmp/oas-dpop-key-%d-%s", (int)getpid(), type);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(pem, f);
    fclose(f);
    chmod(path, 0600);
    ck_assert_int_eq(oas_jose_key_load(&k, path, pool, &err), APR_SUCCESS);
    unlink(path);
    return k;
}

static const char *registry_json(void)
{
    char *jwk;
    const char *json;

    key_a = new_key("ec");
    key_b = new_key("ec");
    jwk = json_dumps(oas_jose_key_jwk(key_a), JSON_COMPACT);
    json = apr_psprintf(pool,
        "{\"clients\": ["
        "{\"client_id\":\"m2m\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]},"
        "{\"client_id\":\"bound\",\"type\":\"confidential\",\"secret\":\"%s\","
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"],"
        " \"dpop_bound_access_tokens\":true},"
        "{\"client_id\":\"pkj\",\"type\":\"confidential\","
        " \"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[%s]},"
        " \"grant_types\":[\"client_credentials\"],\"scopes\":[\"read\"]}"
        "]}", fx_sha_hash("m2m-secret"), fx_sha_hash("bound-secret"), jwk);
    free(jwk);
    return json;
}

static void setup(void)
{
    now_s = (long long)apr_time_sec(apr_time_now());
    fx_setup("dpop", registry_json, NULL, 64);
    cfg.url_token = HTU;
}

static json_t *proof_claims(const char *jti, const char *htm, const char *htu, long long iat)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "jti", jti, "htm", htm, "htu", htu,
                     "iat", (json_int_t)iat);
}

static const char *sign(const oas_jose_key_t *k, json_t *header, json_t *claims)
{
    const char *jws = NULL;
    ck_assert_int_eq(oas_jose_sign(&jws, k, header, claims, pool), APR_SUCCESS);
    json_decref(header);
    json_decref(claims);
    return jws;
}

static const char *proof(const oas_jose_key_t *k, json_t *claims)
{
    return sign(k, json_pack("{s:s,s:O}", "typ", "dpop+jwt", "jwk", oas_jose_key_jwk(k)),
                claims);
}

static oas_dpop_want_t want(void)
{
    oas_dpop_want_t w;
    memset(&w, 0, sizeof(w));
    w.htm = "POST";
    w.htu = HTU;
    w.now = NOW;
    return w;
}

static int check(const char *jws, const oas_dpop_want_t *w, const char **pwhy)
{
    oas_dpop_proof_t pr;
    const char *why = NULL;
    int rc = oas_dpop_check(&pr, jws, w, pool, &why);
    if (pwhy) {
        *pwhy = why;
    }
    return rc;
}

START_TEST(good_proof_passes)
{
    oas_dpop_want_t w = want();
    oas_dpop_proof_t pr;
    const char *why = NULL;

    ck_assert_int_eq(oas_dpop_check(&pr, proof(key_a, proof_claims("j1", "POST", HTU, NOW)),
                                    &w, pool, &why), OAS_DPOP_OK);
    ck_assert_str_eq(pr.jkt, oas_jose_key_kid(key_a));    /* the kid is the thumbprint */
    ck_assert_str_eq(pr.jti, "j1");
    /* htu compared without query and fragment */
    ck_assert_int_eq(check(proof(key_a, proof_claims("j2", "POST", HTU "?x=1#f", NOW)), &w,
                           NULL), OAS_DPOP_OK);
    /* iat at the edges of the window */
    ck_assert_int_eq(check(proof(key_a, proof_claims("j3", "POST", HTU, NOW - 60)), &w, NULL),
                     OAS_DPOP_OK);
    ck_assert_int_eq(check(proof(key_a, proof_claims("j4", "POST", HTU, NOW + 60)), &w, NULL),
                     OAS_DPOP_OK);
}
END_TEST

START_TEST(each_defect_refused)
{
    oas_dpop_want_t w = want();
    json_t *jwk = json_deep_copy(oas_jose_key_jwk(key_a));
    const char *why, *good = proof(key_a, proof_claims("j", "POST", HTU, NOW));
    const char *tampered = apr_pstrcat(pool, apr_pstrndup(pool, good, strrchr(good, '.') - good),
                                       ".AAAA", NULL);

    ck_assert_int_eq(check(sign(key_a, json_pack("{s:s,s:O}", "typ", "JWT", "jwk",
                                                 oas_jose_key_jwk(key_a)),
                                proof_claims("j", "POST", HTU, NOW)), &w, &why), OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "typ"));
    json_object_set_new(jwk, "d", json_string("c2VjcmV0"));
    ck_assert_int_eq(check(sign(key_a, json_pack("{s:s,s:o}", "typ", "dpop+jwt", "jwk", jwk),
                                proof_claims("j", "POST", HTU, NOW)), &w, &why), OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "private"));
    /* signed by key_b, carrying key_a */
    ck_assert_int_eq(check(sign(key_b, json_pack("{s:s,s:O}", "typ", "dpop+jwt", "jwk",
                                                 oas_jose_key_jwk(key_a)),
                                proof_claims("j", "POST", HTU, NOW)), &w, &why), OAS_DPOP_BAD);
    ck_assert_int_eq(check(tampered, &w, &why), OAS_DPOP_BAD);
    ck_assert_int_eq(check(proof(key_a, proof_claims("j", "GET", HTU, NOW)), &w, &why),
                     OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "htm"));
    ck_assert_int_eq(check(proof(key_a, proof_claims("j", "POST", HTU "x", NOW)), &w, &why),
                     OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "htu"));
    ck_assert_int_eq(check(proof(key_a, proof_claims("j", "POST", HTU, NOW - 61)), &w, &why),
                     OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "iat"));
    ck_assert_int_eq(check(proof(key_a, proof_claims("j", "POST", HTU, NOW + 61)), &w, &why),
                     OAS_DPOP_BAD);
    ck_assert_int_eq(check(proof(key_a, json_pack("{s:s,s:s,s:I}", "htm", "POST", "htu", HTU,
                                                  "iat", (json_int_t)NOW)), &w, &why),
                     OAS_DPOP_BAD);
    ck_assert_ptr_nonnull(strstr(why, "jti"));
    ck_assert_int_eq(check("a.b", &w, &why), OAS_DPOP_BAD);
}
END_TEST

/* header {"alg":"none"...} and {"alg":"HS256"...} made by hand */
START_TEST(none_and_hs256_refused)
{
    oas_dpop_want_t w = want();
    const char *algs[2] = { "none", "HS256" }, *why;
    int i;

    for (i = 0; i < 2; i++) {
        json_t *h = json_pack("{s:s,s:s,s:O}", "alg", algs[i], "typ", "dpop+jwt", "jwk",
                              oas_jose_key_jwk(key_a));
        json_t *c = proof_claims("j", "POST", HTU, NOW);
        char *hs = json_dumps(h, JSON_COMPACT), *cs = json_dumps(c, JSON_COMPACT);
        const char *jws = apr_pstrcat(pool,
            oas_base64url_encode(pool, (unsigned char *)hs, strlen(hs)), ".",
            oas_base64url_encode(pool, (unsigned char *)cs, strlen(cs)), ".c2ln", NULL);
        ck_assert_int_eq(check(jws, &w, &why), OAS_DPOP_BAD);
        free(hs);
        free(cs);
        json_decref(h);
        json_decref(c);
    }
}
END_TEST

START_TEST(ath_checked_at_resources)
{
    oas_dpop_want_t w = want();
    unsigned char d[OAS_DIGEST_LEN];
    json_t *c = proof_claims("j", "GET", "https://rs.example/r", NOW);

    w.htm = "GET";
    w.htu = "https://rs.example/r";
    w.access_token = "the-token";
    ck_assert_int_eq(check(proof(key_a, json_deep_copy(c)), &w, NULL), OAS_DPOP_BAD);
    oas_sha256(d, "the-token", 9);
    json_object_set_new(c, "ath", json_string(oas_base64url_encode(pool, d, sizeof(d))));
    ck_assert_int_eq(check(proof(key_a, json_deep_copy(c)), &w, NULL), OAS_DPOP_OK);
    w.access_token = "another-token";
    ck_assert_int_eq(check(proof(key_a, c), &w, NULL), OAS_DPOP_BAD);
}
END_TEST

START_TEST(nonces_rotate)
{
    oas_dpop_want_t w = want();
    const char *n = oas_dpop_nonce(nkey, sizeof(nkey), NOW, pool);
    json_t *c = proof_claims("j", "POST", HTU, NOW);

    w.nonce_key = nkey;
    w.nonce_key_len = sizeof(nkey);
    ck_assert_int_eq(check(proof(key_a, json_deep_copy(c)), &w, NULL), OAS_DPOP_NONCE);
    ck_assert(oas_dpop_nonce_ok(n, nkey, sizeof(nkey), NOW, pool));
    ck_assert(oas_dpop_nonce_ok(n, nkey, sizeof(nkey), NOW + OAS_DPOP_NONCE_STEP, pool));
    ck_assert(!oas_dpop_nonce_ok(n, nkey, sizeof(nkey), NOW + 2 * OAS_DPOP_NONCE_STEP, pool));
    ck_assert(!oas_dpop_nonce_ok(n, (const unsigned char *)"another key 32 bytes long.......",
                                 32, NOW, pool));
    ck_assert(!oas_dpop_nonce_ok("garbage", nkey, sizeof(nkey), NOW, pool));
    json_object_set_new(c, "nonce", json_string(n));
    ck_assert_int_eq(check(proof(key_a, c), &w, NULL), OAS_DPOP_OK);
}
END_TEST

START_TEST(jti_single_use)
{
    ck_assert_int_eq(oas_dpop_jti_use(cfg.store, "dj:", "k", "j", NOW + 3600, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_dpop_jti_use(cfg.store, "dj:", "k", "j", NOW + 3600, pool), APR_EEXIST);
    ck_assert_int_eq(oas_dpop_jti_use(cfg.store, "dj:", "k2", "j", NOW + 3600, pool),
                     APR_SUCCESS);
}
END_TEST

static oas_response_t *token_step(const char **pjkt, const char *client_id, const char *dpop,
                                  int count)
{
    oas_http_req_t req = fx_form_req(NULL, "grant_type=client_credentials", NULL);
    req.dpop = dpop;
    req.dpop_count = count;
    req.now = NOW;
    return oas_dpop_token_request(pjkt, &cfg, &req, oas_registry_get(cfg.registry, client_id),
                                  pool);
}

START_TEST(token_endpoint_step)
{
    const char *jkt = NULL, *p1 = proof(key_a, proof_claims("t1", "POST", HTU, NOW));
    oas_response_t *r;

    ck_assert_ptr_null(token_step(&jkt, "m2m", NULL, 0));
    ck_assert_ptr_null(jkt);
    r = token_step(&jkt, "bound", NULL, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(r->body, "invalid_request"));
    ck_assert_ptr_null(token_step(&jkt, "m2m", p1, 1));
    ck_assert_str_eq(jkt, oas_jose_key_kid(key_a));
    r = token_step(&jkt, "m2m", p1, 1);                  /* replay */
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(r->body, "invalid_dpop_proof"));
    r = token_step(&jkt, "m2m", proof(key_a, proof_claims("t2", "POST", HTU, NOW)), 2);
    ck_assert_ptr_nonnull(strstr(r->body, "invalid_dpop_proof"));
    /* nonce required: use_dpop_nonce and a DPoP-Nonce header */
    cfg.dpop_nonce = 1;
    cfg.csrf_key = nkey;
    cfg.csrf_key_len = sizeof(nkey);
    r = token_step(&jkt, "m2m", proof(key_a, proof_claims("t3", "POST", HTU, NOW)), 1);
    ck_assert_ptr_nonnull(strstr(r->body, "use_dpop_nonce"));
    ck_assert_str_eq(apr_table_get(r->headers, "DPoP-Nonce"),
                     oas_dpop_nonce(nkey, sizeof(nkey), NOW, pool));
}
END_TEST

static json_t *assertion_claims(const char *iss, const char *aud, long long exp, const char *jti)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:s}", "iss", iss, "sub", iss, "aud", aud,
                     "exp", (json_int_t)exp, "jti", jti);
}

static int assert_check(const char *jws, const char **pwhy)
{
    apr_status_t rv;
    return oas_client_assertion_check(oas_registry_get(cfg.registry, "pkj"), &cfg, jws, NOW,
                                      pool, pwhy, &rv);
}

START_TEST(client_assertions)
{
    const char *why = NULL;
    const char *good = sign(key_a, NULL, assertion_claims("pkj", HTU, NOW + 60, "a1"));

    ck_assert_str_eq(oas_client_assertion_iss(good, pool), "pkj");
    ck_assert_int_eq(assert_check(good, &why), 0);
    ck_assert_int_eq(assert_check(good, &why), 1);                   /* replayed jti */
    ck_assert_ptr_nonnull(strstr(why, "jti"));
    ck_assert_int_eq(assert_check(sign(key_a, NULL, assertion_claims("pkj", "https://as.example",
                                                                     NOW + 60, "a2")), &why), 0);
    ck_assert_int_eq(assert_check(sign(key_b, NULL, assertion_claims("pkj", HTU, NOW + 60, "a3")),
                                  &why), 1);                           /* wrong key */
    ck_assert_int_eq(assert_check(sign(key_a, NULL, assertion_claims("pkj", "https://x", NOW + 60,
                                                                     "a4")), &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "aud"));
    ck_assert_int_eq(assert_check(sign(key_a, NULL, assertion_claims("pkj", HTU, NOW, "a5")),
                                  &why), 1);                           /* expired */
    ck_assert_int_eq(assert_check(sign(key_a, NULL, assertion_claims("pkj", HTU, NOW + 301,
                                                                     "a6")), &why), 1);
    ck_assert_int_eq(assert_check(sign(key_a, NULL, assertion_claims("m2m", HTU, NOW + 60, "a7")),
                                  &why), 1);                           /* iss/sub */
    ck_assert_ptr_nonnull(strstr(why, "iss"));
}
END_TEST

/* the resource side (oas_token_check): a token bound to key_a */
static void rs_check(oas_bearer_t *b, const char *auth, const char *proof, int require)
{
    oas_rs_req_t rq;

    memset(&rq, 0, sizeof(rq));
    rq.authorization = auth;
    rq.dpop = proof;
    rq.dpop_count = proof ? 1 : 0;
    rq.method = "GET";
    rq.url = "https://rs.example/r";
    rq.require_dpop = require;
    rq.now = NOW;
    oas_token_check(b, &cfg, &rq, NULL, pool);
}

static const char *rs_proof(const oas_jose_key_t *k, const char *token)
{
    unsigned char d[OAS_DIGEST_LEN];
    json_t *c = proof_claims(oas_random_token(pool, 8), "GET", "https://rs.example/r", NOW);

    oas_sha256(d, token, strlen(token));
    json_object_set_new(c, "ath", json_string(oas_base64url_encode(pool, d, sizeof(d))));
    return proof(k, c);
}

START_TEST(resource_check)
{
    oas_http_req_t req = fx_form_req(NULL, NULL, NULL);
    oas_issue_t in;
    oas_issued_t bound, plain;
    const char *p1;
    oas_bearer_t b;

    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(cfg.registry, "m2m");
    in.scope = "read";
    in.grant = OAS_GRANT_CLIENT_CREDENTIALS;
    ck_assert_int_eq(oas_issue_tokens(&plain, &cfg, &in, &req, pool), APR_SUCCESS);
    in.jkt = oas_jose_key_kid(key_a);
    ck_assert_int_eq(oas_issue_tokens(&bound, &cfg, &in, &req, pool), APR_SUCCESS);
    p1 = rs_proof(key_a, bound.access_token);
    rs_check(&b, apr_pstrcat(pool, "DPoP ", bound.access_token, NULL), p1, 0);
    ck_assert_int_eq(b.result, OAS_BEARER_OK);
    ck_assert_str_eq(b.token.jkt, oas_jose_key_kid(key_a));
    rs_check(&b, apr_pstrcat(pool, "DPoP ", bound.access_token, NULL), p1, 0);    /* replay */
    ck_assert(b.result == OAS_BEARER_INVALID && b.bad_proof);
    rs_check(&b, apr_pstrcat(pool, "DPoP ", bound.access_token, NULL),
             rs_proof(key_b, bound.access_token), 0);                             /* other key */
    ck_assert(b.result == OAS_BEARER_INVALID && b.bad_proof);
    rs_check(&b, apr_pstrcat(pool, "DPoP ", bound.access_token, NULL),
             rs_proof(key_a, plain.access_token), 0);                             /* ath */
    ck_assert(b.result == OAS_BEARER_INVALID && b.bad_proof);
    rs_check(&b, apr_pstrcat(pool, "Bearer ", bound.access_token, NULL), NULL, 0);
    ck_assert(b.result == OAS_BEARER_INVALID && !b.bad_proof && !b.dpop);
    rs_check(&b, apr_pstrcat(pool, "Bearer ", plain.access_token, NULL), NULL, 0);
    ck_assert_int_eq(b.result, OAS_BEARER_OK);
    rs_check(&b, apr_pstrcat(pool, "Bearer ", plain.access_token, NULL), NULL, 1);
    ck_assert_int_eq(b.result, OAS_BEARER_INVALID);
    rs_check(&b, apr_pstrcat(pool, "DPoP ", plain.access_token, NULL),
             rs_proof(key_a, plain.access_token), 0);
    ck_assert(b.result == OAS_BEARER_INVALID && b.dpop && !b.bad_proof);
}
END_TEST

/* the jkt travels in token records as the field after refreshes */
START_TEST(record_keeps_jkt)
{
    oas_token_t t, back;
    oas_entry_t e;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_ACCESS;
    t.client_id = "m2m";
    t.refreshes = -1;
    t.jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, pool), APR_SUCCESS);
    ck_assert_str_eq(back.jkt, t.jkt);
    ck_assert_int_eq(back.refreshes, -1);
    t.refreshes = 3;
    t.jkt = NULL;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, pool), APR_SUCCESS);
    ck_assert_ptr_null(back.jkt);
    ck_assert_int_eq(back.refreshes, 3);
}
END_TEST

static Suite *dpop_suite(void)
{
    Suite *s = suite_create("dpop");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, good_proof_passes);
    tcase_add_test(tc, each_defect_refused);
    tcase_add_test(tc, none_and_hs256_refused);
    tcase_add_test(tc, ath_checked_at_resources);
    tcase_add_test(tc, nonces_rotate);
    tcase_add_test(tc, jti_single_use);
    tcase_add_test(tc, token_endpoint_step);
    tcase_add_test(tc, client_assertions);
    tcase_add_test(tc, resource_check);
    tcase_add_test(tc, record_keeps_jkt);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(dpop_suite)
