/* oas_dpop.c — DPoP proof checks (RFC 9449 §4.3, §7.1), server nonces
 * (§8) and single use of jti (§11.1). JOSE only through oas_jose.h. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dpop.h"
#include "oas_jose.h"

#define JTI_MAX    256
#define NONCE_MAC  16      /* bytes of the HMAC kept in a nonce */

static const char *str_claim(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The header: typ dpop+jwt, an asymmetric alg (oas_jose_verify pins it),
 * a public jwk. *pjwk: that jwk. */
static const char *check_header(const json_t *h, const json_t **pjwk)
{
    const char *typ = str_claim(h, "typ");
    const json_t *jwk = json_object_get(h, "jwk");

    if (!typ || strcmp(typ, "dpop+jwt") != 0) {
        return "typ is not dpop+jwt";
    }
    if (!json_is_object(jwk)) {
        return "no jwk in the header";
    }
    if (oas_jose_jwk_is_private(jwk)) {
        return "the jwk has a private part";
    }
    *pjwk = jwk;
    return NULL;
}

/* htu compared without query and fragment (RFC 9449 §4.3 step 9) */
static int htu_matches(const char *htu, const char *want, apr_pool_t *p)
{
    apr_size_t n = strcspn(htu, "?#");
    return strlen(want) == n && strncmp(htu, want, n) == 0;
}

static const char *ath_of(const char *token, apr_pool_t *p)
{
    unsigned char d[OAS_DIGEST_LEN];
    oas_sha256(d, token, strlen(token));
    return oas_base64url_encode(p, d, sizeof(d));
}

static const char *check_claims(oas_dpop_proof_t *out, const json_t *c,
                                const oas_dpop_want_t *want, apr_pool_t *p)
{
    const char *jti = str_claim(c, "jti"), *htm = str_claim(c, "htm");
    const char *htu = str_claim(c, "htu"), *ath = str_claim(c, "ath");
    const json_t *iat = json_object_get(c, "iat");

    if (!jti || !*jti || strlen(jti) > JTI_MAX) {
        return "jti missing or longer than 256 characters";
    }
    if (!htm || strcmp(htm, want->htm) != 0) {
        return "htm is not the request's method";
    }
    if (!htu || !htu_matches(htu, want->htu, p)) {
        return "htu is not this endpoint's URL";
    }
    if (!json_is_integer(iat) && !json_is_real(iat)) {
        return "iat missing";
    }
    out->iat = (long long)json_number_value(iat);
    if (out->iat > want->now + OAS_DPOP_WINDOW || out->iat < want->now - OAS_DPOP_WINDOW) {
        return "iat is not within 60 seconds of the server's clock";
    }
    if (want->access_token && (!ath || strcmp(ath, ath_of(want->access_token, p)) != 0)) {
        return "ath is not the access token's hash";
    }
    out->jti = jti;
    return NULL;
}

int oas_dpop_check(oas_dpop_proof_t *out, const char *proof, const oas_dpop_want_t *want,
                   apr_pool_t *p, const char **pwhy)
{
    json_t *h = NULL, *c = NULL;
    const json_t *jwk = NULL;
    const char *why;

    memset(out, 0, sizeof(*out));
    if (!proof || oas_jose_header_unverified(&h, proof, p) != APR_SUCCESS) {
        *pwhy = "the proof is not a JWS";
        return OAS_DPOP_BAD;
    }
    if ((why = check_header(h, &jwk))) {
        *pwhy = why;
        return OAS_DPOP_BAD;
    }
    if (!(out->jkt = oas_jose_thumbprint(jwk, p))) {
        *pwhy = "the jwk is not an EC, RSA or OKP key";
        return OAS_DPOP_BAD;
    }
    if (oas_jose_verify(NULL, &c, proof, jwk, p, &why) != APR_SUCCESS) {
        *pwhy = apr_pstrcat(p, "signature: ", why, NULL);
        return OAS_DPOP_BAD;
    }
    if ((why = check_claims(out, c, want, p))) {
        *pwhy = why;
        return OAS_DPOP_BAD;
    }
    if (want->nonce_key && !oas_dpop_nonce_ok(str_claim(c, "nonce"), want->nonce_key,
                                              want->nonce_key_len, want->now, p)) {
        *pwhy = "a current server nonce is required";
        return OAS_DPOP_NONCE;
    }
    return OAS_DPOP_OK;
}

static void nonce_mac(unsigned char mac[OAS_DIGEST_LEN], const unsigned char *key,
                      apr_size_t key_len, long long step)
{
    char msg[48];
    int n = snprintf(msg, sizeof(msg), "dpop-nonce:%lld", step);
    oas_hmac_sha256(mac, key, key_len, msg, (apr_size_t)n);
}

static const char *nonce_for(const unsigned char *key, apr_size_t key_len, long long step,
                             apr_pool_t *p)
{
    unsigned char raw[8 + NONCE_MAC], mac[OAS_DIGEST_LEN];
    int i;

    for (i = 0; i < 8; i++) {
        raw[i] = (unsigned char)((unsigned long long)step >> (56 - 8 * i));
    }
    nonce_mac(mac, key, key_len, step);
    memcpy(raw + 8, mac, NONCE_MAC);
    return oas_base64url_encode(p, raw, sizeof(raw));
}

const char *oas_dpop_nonce(const unsigned char *key, apr_size_t key_len, long long now,
                           apr_pool_t *p)
{
    return nonce_for(key, key_len, now / OAS_DPOP_NONCE_STEP, p);
}

int oas_dpop_nonce_ok(const char *nonce, const unsigned char *key, apr_size_t key_len,
                      long long now, apr_pool_t *p)
{
    long long step = now / OAS_DPOP_NONCE_STEP;

    if (!nonce || strlen(nonce) > 64) {
        return 0;
    }
    return oas_ct_streq(nonce, nonce_for(key, key_len, step, p))
           || oas_ct_streq(nonce, nonce_for(key, key_len, step - 1, p));
}

apr_status_t oas_dpop_jti_use(oas_store_t *s, const char *prefix, const char *who,
                              const char *jti, long long exp, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CSRF;     /* single use, memory only (see oas_store.h) */
    e.exp = exp;
    e.data = "";
    oas_store_key(key, prefix, apr_pstrcat(p, who, "\n", jti, NULL));
    return s->add(s, key, &e, p);
}

int oas_dpop_jkt_valid(const char *jkt)
{
    apr_size_t n = jkt ? strlen(jkt) : 0;
    return n == 43 && strspn(jkt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_") == n;
}

apr_status_t oas_dpop_auth_parse(const char *authorization, const char **ptoken, apr_pool_t *p)
{
    const char *v;

    if (!authorization || strncasecmp(authorization, "DPoP ", 5) != 0) {
        return APR_ENOENT;
    }
    v = authorization + 5;
    while (*v == ' ') {
        v++;
    }
    /* token68 (RFC 7235 §2.1) */
    if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~+/=") != strlen(v)) {
        return APR_EINVAL;
    }
    *ptoken = apr_pstrdup(p, v);
    return APR_SUCCESS;
}

/* ---- the token endpoint ------------------------------------------------ */

static oas_response_t *proof_error(const oas_config_t *cfg, const oas_http_req_t *req,
                                   oas_error_t err, const char *why, apr_pool_t *p)
{
    oas_response_t *r;

    OAS_LOG(&req->log, OAS_LOG_INFO, 0, OASLOGNO(08100) "token request: DPoP proof refused: %s",
            why);
    r = oas_response_error(p, cfg, 400, err, why);
    if (err == OAS_ERR_USE_DPOP_NONCE) {
        apr_table_setn(r->headers, "DPoP-Nonce",
                       oas_dpop_nonce(cfg->csrf_key, cfg->csrf_key_len, oas_req_now(req), p));
    }
    return r;
}

oas_response_t *oas_dpop_token_request(const char **pjkt, const oas_config_t *cfg,
                                       const oas_http_req_t *req, const oas_client_t *client,
                                       apr_pool_t *p)
{
    oas_dpop_want_t want;
    oas_dpop_proof_t pr;
    const char *why = NULL;
    apr_status_t rv;
    int rc;

    *pjkt = NULL;
    if (!req->dpop) {
        return client->dpop_bound
               ? proof_error(cfg, req, OAS_ERR_INVALID_REQUEST,
                             "this client's tokens must be DPoP-bound: send a DPoP proof", p)
               : NULL;
    }
    if (req->dpop_count > 1) {
        return proof_error(cfg, req, OAS_ERR_INVALID_DPOP_PROOF, "more than one DPoP header", p);
    }
    memset(&want, 0, sizeof(want));
    want.htm = req->method;
    want.htu = cfg->url_token ? cfg->url_token : "";
    want.now = oas_req_now(req);
    if (cfg->dpop_nonce && cfg->csrf_key) {
        want.nonce_key = cfg->csrf_key;
        want.nonce_key_len = cfg->csrf_key_len;
    }
    rc = oas_dpop_check(&pr, req->dpop, &want, p, &why);
    if (rc != OAS_DPOP_OK) {
        return proof_error(cfg, req, rc == OAS_DPOP_NONCE ? OAS_ERR_USE_DPOP_NONCE
                                                          : OAS_ERR_INVALID_DPOP_PROOF, why, p);
    }
    rv = oas_dpop_jti_use(cfg->store, OAS_PREFIX_DPOP_JTI, pr.jkt, pr.jti,
                          pr.iat + OAS_DPOP_WINDOW + 1, p);
    if (rv == APR_EEXIST) {
        return proof_error(cfg, req, OAS_ERR_INVALID_DPOP_PROOF, "the proof's jti was used", p);
    }
    if (rv != APR_SUCCESS) {
        OAS_LOG(&req->log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(08101)
                "token request: the store failed recording a DPoP proof");
        return oas_response_error(p, cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                                  "the token store is unavailable, try again later");
    }
    *pjkt = pr.jkt;
    return NULL;
}
