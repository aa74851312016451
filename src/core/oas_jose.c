/* oas_jose.c — the one file that uses the JOSE library (latchset jose).
 *
 * libjose verifies ES256 and RS256, turns OpenSSL keys into JWKs, computes
 * thumbprints, base64url and the JSON of headers. Here, on OpenSSL: EdDSA
 * (Ed25519, RFC 8037), which libjose lacks; signing with the key as loaded
 * (libjose would rebuild it from its JWK at every signature); and the
 * three-way split of the compact serialization (libjose takes the flattened
 * JSON form). The algorithm is always pinned here before libjose sees a token. */
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>

#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>
#include <jose/jose.h>
#include <jose/openssl.h>

#include "oas_jose.h"

#define JWS_MAX_LEN 16384     /* longest compact JWS taken for verification */
#define PEM_MAX_LEN 16384     /* largest key file read */
#define RSA_MIN_BITS 2048
#define RSA_GEN_BITS 3072

struct oas_jose_key_t {
    const char *alg;
    const char *kid;
    json_t *pub;              /* public JWK with kid, alg, use */
    EVP_PKEY *pkey;
};

/* libjose reports errors through a callback that prints to stderr by
 * default; the reasons reach callers through perr instead. */
static void quiet(void *misc, const char *file, int line, uint64_t err, const char *fmt,
                  va_list ap)
{
}

static jose_cfg_t *cfg_new(void)
{
    jose_cfg_t *cfg = jose_cfg();
    if (cfg) {
        jose_cfg_set_err_func(cfg, quiet, NULL);
    }
    return cfg;
}

static apr_status_t json_cleanup(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

/* j (a new reference, may be NULL) is dropped when p is cleared */
static json_t *pool_json(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    }
    return j;
}

static apr_status_t pkey_cleanup(void *k)
{
    EVP_PKEY_free(k);
    return APR_SUCCESS;
}

static const char *str_of(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* ---- thumbprints and public JWKs ---------------------------------------- */

/* RFC 8037 §2: the thumbprint members of an OKP key are crv, kty, x; JSON
 * with sorted keys and no whitespace is RFC 7638 §3's canonical form. */
static const char *okp_thumbprint(const json_t *jwk, apr_pool_t *p)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const char *crv = str_of(jwk, "crv"), *x = str_of(jwk, "x");
    json_t *m, *enc;
    char *text;
    const char *out = NULL;

    if (!crv || !x || !(m = json_pack("{s:s,s:s,s:s}", "crv", crv, "kty", "OKP", "x", x))) {
        return NULL;
    }
    text = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(m);
    if (text && EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL)
        && (enc = jose_b64_enc(md, mdlen))) {
        out = apr_pstrdup(p, json_string_value(enc));
        json_decref(enc);
    }
    free(text);
    return out;
}

const char *oas_jose_thumbprint(const json_t *jwk, apr_pool_t *p)
{
    const char *kty = str_of(jwk, "kty"), *out = NULL;
    jose_cfg_t *cfg;
    json_t *thp;

    if (!kty) {
        return NULL;
    }
    if (strcmp(kty, "OKP") == 0) {
        return okp_thumbprint(jwk, p);
    }
    if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0) {
        return NULL;
    }
    cfg = cfg_new();
    if ((thp = jose_jwk_thp(cfg, jwk, "S256"))) {
        out = apr_pstrdup(p, json_string_value(thp));
        json_decref(thp);
    }
    jose_cfg_decref(cfg);
    return out;
}

/* The public JWK of an Ed25519 key (RFC 8037 §2). */
static json_t *okp_public_jwk(EVP_PKEY *pkey)
{
    unsigned char raw[64];
    size_t len = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1) {
        return NULL;
    }
    return json_pack("{s:s,s:s,s:o}", "kty", "OKP", "crv", "Ed25519", "x",
                     jose_b64_enc(raw, len));
}

/* Fill key->pub and key->kid: libjose makes the JWK of an EC or RSA key and
 * keeps its public members. */
static int make_jwks(oas_jose_key_t *key, apr_pool_t *p)
{
    jose_cfg_t *cfg = cfg_new();
    json_t *pub = NULL;
    int ok = 0;

    if (strcmp(key->alg, "EdDSA") == 0) {
        pub = okp_public_jwk(key->pkey);
    }
    else if ((pub = jose_openssl_jwk_from_EVP_PKEY(cfg, key->pkey))
             && !jose_jwk_pub(cfg, pub)) {
        json_decref(pub);
        pub = NULL;
    }
    jose_cfg_decref(cfg);
    if (pool_json(p, pub) && (key->kid = oas_jose_thumbprint(pub, p))) {
        json_object_set_new(pub, "kid", json_string(key->kid));
        json_object_set_new(pub, "alg", json_string(key->alg));
        json_object_set_new(pub, "use", json_string("sig"));
        key->pub = pub;
        ok = 1;
    }
    return ok;
}

const char *oas_jose_key_alg(const oas_jose_key_t *key)
{
    return key->alg;
}

const char *oas_jose_key_kid(const oas_jose_key_t *key)
{
    return key->kid;
}

const json_t *oas_jose_key_jwk(const oas_jose_key_t *key)
{
    return key->pub;
}

const char *oas_jose_jwks_text(oas_jose_key_t *const *keys, int n, apr_pool_t *p)
{
    json_t *arr = json_array(), *set;
    const char *out = NULL;
    char *text;
    int i;

    for (i = 0; arr && i < n; i++) {
        json_array_append(arr, keys[i]->pub);
    }
    if ((set = json_pack("{s:o}", "keys", arr))) {
        if ((text = json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
            out = apr_pstrdup(p, text);
            free(text);
        }
        json_decref(set);
    }
    return out;
}

/* ---- loading a key file ------------------------------------------------- */

static const char *fail(apr_pool_t *p, const char *path, const char *why)
{
    return apr_psprintf(p, "signing key %s: %s", path, why);
}

/* The algorithm a private key signs with, or NULL (*why says why not). */
static const char *alg_of(EVP_PKEY *pkey, apr_pool_t *p, const char **why)
{
    char group[64] = "";
    size_t glen = 0;

    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_EC:
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &glen);
        if (strcmp(group, "prime256v1") == 0) {
            return "ES256";
        }
        *why = apr_psprintf(p, "EC curve %s is not supported (P-256 only)",
                            glen ? group : "unknown");
        return NULL;
    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(pkey) >= RSA_MIN_BITS) {
            return "RS256";
        }
        *why = apr_psprintf(p, "RSA key of %d bits is too short (at least %d)",
                            EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
        return NULL;
    case EVP_PKEY_ED25519:
        return "EdDSA";
    default:
        *why = "unsupported key type (EC P-256, RSA of at least 2048 bits or Ed25519)";
        return NULL;
    }
}

/* Refuse passphrases: an encrypted key cannot be read at start-up. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static EVP_PKEY *read_pem(const char *path, apr_pool_t *p, const char **why)
{
    struct stat st;
    EVP_PKEY *pkey;
    FILE *f;

    if (stat(path, &st) != 0 || !(f = fopen(path, "r"))) {
        *why = "cannot be read";
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX_LEN) {
        fclose(f);
        *why = "not a regular file of at most 16 KB";
        return NULL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        fclose(f);
        *why = apr_psprintf(p, "group or others may use it (mode %04o): chmod 600 it",
                            (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!pkey) {
        *why = "holds no unencrypted PEM private key";
    }
    return pkey;
}

apr_status_t oas_jose_key_load(oas_jose_key_t **pkey, const char *path, apr_pool_t *p,
                               const char **perr)
{
    oas_jose_key_t *key = apr_pcalloc(p, sizeof(*key));
    const char *why = NULL;

    *pkey = NULL;
    if (!(key->pkey = read_pem(path, p, &why))) {
        *perr = fail(p, path, why);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, key->pkey, pkey_cleanup, apr_pool_cleanup_null);
    if (!(key->alg = alg_of(key->pkey, p, &why))) {
        *perr = fail(p, path, why);
        return APR_EINVAL;
    }
    if (!make_jwks(key, p)) {
        *perr = fail(p, path, "its JWK could not be made");
        return APR_EGENERAL;
    }
    *pkey = key;
    return APR_SUCCESS;
}

/* ---- signing ------------------------------------------------------------ */

/* ES256's DER signature as JWS wants it: R || S, 32 bytes each (RFC 7518 §3.4) */
static int ecdsa_raw(unsigned char *out, const unsigned char *der, size_t len)
{
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)len);
    const BIGNUM *r, *s;
    int ok;

    if (!es) {
        return 0;
    }
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok;
}

/* The signature of "protected.payload" with the key loaded from its file,
 * base64url: ES256, RS256 (SHA-256) or EdDSA (RFC 8037 §3.1, no digest).
 * libjose would rebuild the OpenSSL key from its JWK at every signature,
 * several times slower; it checks our signatures in the unit tests. */
static json_t *evp_sign(const oas_jose_key_t *key, const char *input)
{
    unsigned char sig[1024], raw[64];
    size_t len = sizeof(sig);
    int eddsa = strcmp(key->alg, "EdDSA") == 0, ec = strcmp(key->alg, "ES256") == 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, eddsa ? NULL : EVP_sha256(), NULL,
                                       key->pkey) == 1
             && EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input,
                               strlen(input)) == 1;

    EVP_MD_CTX_free(ctx);
    if (ok && ec) {
        return ecdsa_raw(raw, sig, len) ? jose_b64_enc(raw, sizeof(raw)) : NULL;
    }
    return ok ? jose_b64_enc(sig, len) : NULL;
}

apr_status_t oas_jose_sign(const char **pjws, const oas_jose_key_t *key, const json_t *header,
                           const json_t *claims, apr_pool_t *p)
{
    json_t *hdr = header ? json_deep_copy(header) : json_object();
    json_t *pay = json_is_object(claims) ? jose_b64_enc_dump(claims) : NULL;
    json_t *prot = NULL, *sig = NULL;
    const char *input;

    *pjws = NULL;
    if (hdr && pay) {
        json_object_set_new(hdr, "alg", json_string(key->alg));
        json_object_set_new(hdr, "kid", json_string(key->kid));
        prot = jose_b64_enc_dump(hdr);
    }
    if (prot) {
        input = apr_pstrcat(p, json_string_value(prot), ".", json_string_value(pay), NULL);
        if ((sig = evp_sign(key, input))) {
            *pjws = apr_pstrcat(p, input, ".", json_string_value(sig), NULL);
        }
    }
    json_decref(sig);
    json_decref(prot);
    json_decref(pay);
    json_decref(hdr);
    return *pjws ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- verification ------------------------------------------------------- */

typedef struct parts_t {
    const char *text[3];      /* protected header, payload, signature (base64url) */
    json_t *header;
    const char *alg;
} parts_t;

/* The algorithm a JWK is for: its "alg", or what kty and crv imply. */
static const char *jwk_alg(const json_t *jwk)
{
    const char *alg = str_of(jwk, "alg"), *kty = str_of(jwk, "kty");
    const char *crv = str_of(jwk, "crv");

    if (alg || !kty) {
        return alg;
    }
    if (strcmp(kty, "RSA") == 0) {
        return "RS256";
    }
    if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0) {
        return "ES256";
    }
    if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0) {
        return "EdDSA";
    }
    return NULL;
}

/* "Ed25519" is RFC 9864's fully specified name of EdDSA over Ed25519 (what
 * oauth4webapi sends); verified as "EdDSA" */
static int is_ed25519(const char *alg)
{
    return strcmp(alg, "EdDSA") == 0 || strcmp(alg, "Ed25519") == 0;
}

static int alg_supported(const char *alg)
{
    return strcmp(alg, "ES256") == 0 || strcmp(alg, "RS256") == 0 || is_ed25519(alg);
}

static int alg_matches(const char *key_alg, const char *alg)
{
    return key_alg && (strcmp(key_alg, alg) == 0 || (is_ed25519(key_alg) && is_ed25519(alg)));
}

/* Split at the two dots; decode the protected header (libjose). */
static const char *split(parts_t *pt, const char *jws, apr_pool_t *p)
{
    const char *d1, *d2;
    json_t *s;

    if (!jws || strlen(jws) > JWS_MAX_LEN) {
        return "not a compact JWS of at most 16 KB";
    }
    d1 = strchr(jws, '.');
    d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.') || d1 == jws || d2 == d1 + 1 || !d2[1]) {
        return "not a compact JWS (three non-empty parts)";
    }
    pt->text[0] = apr_pstrndup(p, jws, (apr_size_t)(d1 - jws));
    pt->text[1] = apr_pstrndup(p, d1 + 1, (apr_size_t)(d2 - d1 - 1));
    pt->text[2] = d2 + 1;
    s = json_string(pt->text[0]);
    pt->header = pool_json(p, s ? jose_b64_dec_load(s) : NULL);
    json_decref(s);
    if (!json_is_object(pt->header) || !(pt->alg = str_of(pt->header, "alg"))) {
        return "the header is not a JSON object with an alg";
    }
    return NULL;
}

/* The header's alg is one we take, and nothing critical is asked of us. */
static const char *check_header(const parts_t *pt, apr_pool_t *p)
{
    if (json_object_get(pt->header, "crit")) {
        return "the header has crit extensions";
    }
    if (!alg_supported(pt->alg)) {
        return apr_psprintf(p, "alg %.20s is not accepted (ES256, RS256, EdDSA/Ed25519 only)",
                            pt->alg);
    }
    return NULL;
}

/* The key whose algorithm is the header's, of the header's kid if both the
 * header and the key have one. */
static const json_t *pick_key(const parts_t *pt, const json_t *keys, const char **why)
{
    const char *kid = str_of(pt->header, "kid");
    const json_t *set = json_object_get(keys, "keys"), *k, *named = NULL;
    size_t i, n = json_is_array(set) ? json_array_size(set) : 1;

    for (i = 0; i < n; i++) {
        k = json_is_array(set) ? json_array_get(set, i) : keys;
        if (kid && str_of(k, "kid") && strcmp(str_of(k, "kid"), kid) != 0) {
            continue;
        }
        named = k;
        if (alg_matches(jwk_alg(k), pt->alg)) {
            return k;
        }
    }
    *why = named ? "the key's algorithm is not the header's alg"
                 : "no key with the header's kid";
    return NULL;
}

static int eddsa_verify(const parts_t *pt, const json_t *jwk, apr_pool_t *p)
{
    unsigned char x[64], sig[128];
    size_t xl = jose_b64_dec(json_object_get(jwk, "x"), NULL, 0);
    json_t *s = json_string(pt->text[2]);
    size_t sl = s ? jose_b64_dec(s, NULL, 0) : SIZE_MAX;
    const char *input = apr_pstrcat(p, pt->text[0], ".", pt->text[1], NULL);
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *ctx = NULL;
    int ok = 0;

    if (xl == 32 && sl == 64 && jose_b64_dec(json_object_get(jwk, "x"), x, xl) == xl
        && jose_b64_dec(s, sig, sl) == sl
        && (pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl))
        && (ctx = EVP_MD_CTX_new())
        && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1) {
        ok = EVP_DigestVerify(ctx, sig, sl, (const unsigned char *)input,
                              strlen(input)) == 1;
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    json_decref(s);
    return ok;
}

/* libjose on the flattened form; the key copied with alg pinned. */
static int lib_verify(const parts_t *pt, const json_t *jwk)
{
    json_t *jws = json_pack("{s:s,s:s,s:s}", "protected", pt->text[0], "payload",
                            pt->text[1], "signature", pt->text[2]);
    json_t *k = json_deep_copy(jwk);
    jose_cfg_t *cfg = cfg_new();
    int ok = 0;

    if (jws && k && json_object_set_new(k, "alg", json_string(pt->alg)) == 0) {
        ok = jose_jws_ver(cfg, jws, NULL, k, false);
    }
    jose_cfg_decref(cfg);
    json_decref(k);
    json_decref(jws);
    return ok;
}

/* The payload, a JSON object (libjose decodes it), or NULL. */
static json_t *payload_object(const parts_t *pt, apr_pool_t *p)
{
    json_t *s = json_string(pt->text[1]);
    json_t *claims = pool_json(p, s ? jose_b64_dec_load(s) : NULL);

    json_decref(s);
    return json_is_object(claims) ? claims : NULL;
}

apr_status_t oas_jose_claims_unverified(json_t **pclaims, const char *jws, apr_pool_t *p)
{
    parts_t pt = { { NULL, NULL, NULL }, NULL, NULL };

    *pclaims = split(&pt, jws, p) ? NULL : payload_object(&pt, p);
    return *pclaims ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t oas_jose_header_unverified(json_t **pheader, const char *jws, apr_pool_t *p)
{
    parts_t pt = { { NULL, NULL, NULL }, NULL, NULL };

    *pheader = split(&pt, jws, p) ? NULL : pt.header;
    return *pheader ? APR_SUCCESS : APR_EINVAL;
}

int oas_jose_jwk_is_private(const json_t *jwk)
{
    static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
    size_t i;

    for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        if (json_object_get(jwk, priv[i])) {
            return 1;
        }
    }
    return 0;
}

apr_status_t oas_jose_verify(json_t **pheader, json_t **pclaims, const char *jws,
                             const json_t *keys, apr_pool_t *p, const char **perr)
{
    parts_t pt = { { NULL, NULL, NULL }, NULL, NULL };
    const json_t *jwk;
    json_t *claims;
    const char *why;
    int ok;

    if ((why = split(&pt, jws, p)) || (why = check_header(&pt, p))) {
        *perr = why;
        return APR_EINVAL;
    }
    if (!(jwk = pick_key(&pt, keys, perr))) {
        return APR_EINVAL;
    }
    ok = is_ed25519(pt.alg) ? eddsa_verify(&pt, jwk, p) : lib_verify(&pt, jwk);
    if (!ok) {
        *perr = "bad signature";
        return APR_EINVAL;
    }
    if (!(claims = payload_object(&pt, p))) {
        *perr = "the payload is not a JSON object";
        return APR_EINVAL;
    }
    if (pheader) {
        *pheader = pt.header;
    }
    if (pclaims) {
        *pclaims = claims;
    }
    return APR_SUCCESS;
}

/* ---- new keys (oauth-as-client keygen) ------------------------------------ */

static EVP_PKEY *generate(const char *type)
{
    if (strcmp(type, "ec") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    }
    if (strcmp(type, "rsa") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_GEN_BITS);
    }
    if (strcmp(type, "ed25519") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
    return NULL;
}

apr_status_t oas_jose_key_generate(const char **ppem, const char *type, apr_pool_t *p,
                                   const char **perr)
{
    EVP_PKEY *pkey;
    BIO *bio;
    char *data = NULL;
    long len;

    *ppem = NULL;
    if (strcmp(type, "ec") && strcmp(type, "rsa") && strcmp(type, "ed25519")) {
        *perr = apr_psprintf(p, "unknown key type '%s' (ec, rsa or ed25519)", type);
        return APR_EINVAL;
    }
    if (!(pkey = generate(type)) || !(bio = BIO_new(BIO_s_mem()))) {
        EVP_PKEY_free(pkey);
        *perr = "OpenSSL could not make the key";
        return APR_EGENERAL;
    }
    if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1
        && (len = BIO_get_mem_data(bio, &data)) > 0) {
        *ppem = apr_pstrmemdup(p, data, (apr_size_t)len);
    }
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    *perr = *ppem ? NULL : "OpenSSL could not write the key";
    return *ppem ? APR_SUCCESS : APR_EGENERAL;
}
