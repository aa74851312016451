/* test_jose.c — oas_jose: key files and their refusals, public JWKs, RFC 7638
 * thumbprints, compact JWS signing and verification and its refusals. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "unit.h"
#include "oas_jose.h"
#include "oas_util.h"

static apr_pool_t *pool;
static char dir[64];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    strcpy(dir, "/tmp/oas_jose_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];

    apr_pool_destroy(pool);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

/* Two keys of each type, made once (RSA keys are slow to make, under valgrind
 * above all) by oas_jose_key_generate, before the tests fork. */
static const char *const TYPES[3] = { "ec", "rsa", "ed25519" };
static char *pems[3][2];
static int next_pem[3];

static void make_pems(void)
{
    apr_pool_t *p;
    const char *pem, *err = NULL;
    int i, j;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 2; j++) {
            ck_assert_int_eq(oas_jose_key_generate(&pem, TYPES[i], p, &err), APR_SUCCESS);
            pems[i][j] = strdup(pem);
        }
    }
    apr_pool_destroy(p);
}

static void free_pems(void)
{
    int i;

    for (i = 0; i < 3; i++) {
        free(pems[i][0]);
        free(pems[i][1]);
    }
}

/* a key of type written to a 0600 file, loaded; two calls in a row give two
 * different keys */
static oas_jose_key_t *new_key(const char *type)
{
    const char *err = NULL;
    oas_jose_key_t *key = NULL;
    int i = strcmp(type, "ec") == 0 ? 0 : strcmp(type, "rsa") == 0 ? 1 : 2;
    const char *name = apr_psprintf(pool, "%s-%d", type, next_pem[i]);

    ck_assert_int_eq(oas_jose_key_load(&key, write_file(name, pems[i][next_pem[i]++ % 2], 0600),
                                       pool, &err), APR_SUCCESS);
    return key;
}

static apr_status_t drop(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

static json_t *claims(void)
{
    json_t *c = json_pack("{s:s,s:s,s:I}", "iss", "https://as.example", "sub", "alice",
                          "exp", (json_int_t)4102444800LL);
    apr_pool_cleanup_register(pool, c, drop, apr_pool_cleanup_null);
    return c;
}

static const char *sign(const oas_jose_key_t *key)
{
    const char *jws = NULL;
    json_t *hdr = json_pack("{s:s}", "typ", "at+jwt");

    ck_assert_int_eq(oas_jose_sign(&jws, key, hdr, claims(), pool), APR_SUCCESS);
    json_decref(hdr);
    return jws;
}

/* verify; the reason on failure, NULL on success */
static const char *verify(const char *jws, const json_t *keys)
{
    const char *err = NULL;
    json_t *h = NULL, *c = NULL;
    apr_status_t rv = oas_jose_verify(&h, &c, jws, keys, pool, &err);

    if (rv == APR_SUCCESS) {
        ck_assert_ptr_null(err);
        ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), "alice");
        return NULL;
    }
    ck_assert_ptr_nonnull(err);
    return err;
}

static const char *b64(const char *s)
{
    return oas_base64url_encode(pool, (const unsigned char *)s, strlen(s));
}

/* ---- loading ------------------------------------------------------------ */

START_TEST(load_each_type)
{
    static const char *const types[] = { "ec", "rsa", "ed25519" };
    static const char *const algs[] = { "ES256", "RS256", "EdDSA" };
    int i;

    for (i = 0; i < 3; i++) {
        oas_jose_key_t *key = new_key(types[i]);
        ck_assert_str_eq(oas_jose_key_alg(key), algs[i]);
        ck_assert_uint_eq(strlen(oas_jose_key_kid(key)), 43);   /* 32 bytes, base64url */
    }
}
END_TEST

static void refused(const char *path, const char *want)
{
    const char *err = NULL;
    oas_jose_key_t *key = (oas_jose_key_t *)1;

    ck_assert_int_ne(oas_jose_key_load(&key, path, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, path) != NULL, "%s does not name %s", err, path);
    ck_assert_msg(strstr(err, want) != NULL, "%s does not say %s", err, want);
}

/* a key made by OpenSSL of a kind the module refuses, written 0600 */
static const char *write_key(const char *name, EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *path;
    char *data;
    long n;

    ck_assert_ptr_nonnull(k);
    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(bio, &data);
    path = write_file(name, apr_pstrmemdup(pool, data, (apr_size_t)n), 0600);
    BIO_free(bio);
    EVP_PKEY_free(k);
    return path;
}

START_TEST(load_refusals)
{
    const char *pem, *err;

    ck_assert_int_eq(oas_jose_key_generate(&pem, "ec", pool, &err), APR_SUCCESS);
    refused(write_file("loose", pem, 0644), "mode 0644");
    refused(write_file("group", pem, 0640), "mode 0640");
    refused(apr_pstrcat(pool, dir, "/absent", NULL), "cannot be read");
    refused(write_file("garbage", "not a key\n", 0600), "no unencrypted PEM private key");
    /* unsupported: RSA 1024, EC P-384, X25519 (not a signing key) */
    refused(write_key("rsa1024", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)),
            "1024 bits is too short");
    refused(write_key("p384", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")),
            "secp384r1 is not supported");
    refused(write_key("x25519", EVP_PKEY_Q_keygen(NULL, NULL, "X25519")),
            "unsupported key type");
}
END_TEST

START_TEST(generate_unknown_type)
{
    const char *pem = "x", *err = NULL;

    ck_assert_int_ne(oas_jose_key_generate(&pem, "dsa", pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(pem);
    ck_assert_ptr_nonnull(strstr(err, "dsa"));
}
END_TEST

/* ---- JWKs and thumbprints ----------------------------------------------- */

START_TEST(public_jwk_has_no_private_part)
{
    static const char *const types[] = { "ec", "rsa", "ed25519" };
    static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
    int i, j;

    for (i = 0; i < 3; i++) {
        oas_jose_key_t *key = new_key(types[i]);
        const json_t *jwk = oas_jose_key_jwk(key);

        for (j = 0; j < 7; j++) {
            ck_assert_ptr_null(json_object_get(jwk, priv[j]));
        }
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "use")), "sig");
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), oas_jose_key_alg(key));
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "kid")), oas_jose_key_kid(key));
        ck_assert_str_eq(oas_jose_thumbprint(jwk, pool), oas_jose_key_kid(key));
        ck_assert_ptr_nonnull(json_object_get(jwk, "kty"));
        ck_assert_ptr_nonnull(json_object_get(jwk, i == 1 ? "n" : "x"));
    }
}
END_TEST

START_TEST(thumbprint_vectors)
{
    /* RFC 7638 §3.1 */
    json_t *rsa = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB", "alg", "RS256", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw");
    /* RFC 8037 appendix A.3 */
    json_t *okp = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    json_t *oct = json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0");

    ck_assert_str_eq(oas_jose_thumbprint(rsa, pool), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    ck_assert_str_eq(oas_jose_thumbprint(okp, pool), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    ck_assert_ptr_null(oas_jose_thumbprint(oct, pool));
    json_decref(rsa);
    json_decref(okp);
    json_decref(oct);
}
END_TEST

START_TEST(jwks_text_lists_every_key)
{
    oas_jose_key_t *keys[2];
    json_t *set;

    keys[0] = new_key("ec");
    keys[1] = new_key("ed25519");
    set = json_loads(oas_jose_jwks_text(keys, 2, pool), 0, NULL);
    ck_assert_ptr_nonnull(set);
    ck_assert_uint_eq(json_array_size(json_object_get(set, "keys")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(set, "keys"),
                                                                      1), "kid")),
                     oas_jose_key_kid(keys[1]));
    json_decref(set);
}
END_TEST

/* ---- sign and verify ---------------------------------------------------- */

START_TEST(sign_verify_each_type)
{
    static const char *const types[] = { "ec", "rsa", "ed25519" };
    int i;

    for (i = 0; i < 3; i++) {
        oas_jose_key_t *key = new_key(types[i]);
        const char *jws = sign(key), *err = NULL;
        json_t *h = NULL, *c = NULL;

        ck_assert_int_eq(oas_jose_verify(&h, &c, jws, oas_jose_key_jwk(key), pool, &err),
                         APR_SUCCESS);
        ck_assert_str_eq(json_string_value(json_object_get(h, "typ")), "at+jwt");
        ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), oas_jose_key_alg(key));
        ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), oas_jose_key_kid(key));
        ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), "https://as.example");
        ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), 4102444800LL);
    }
}
END_TEST

START_TEST(verify_against_a_set_by_kid)
{
    oas_jose_key_t *keys[3];
    json_t *set;

    keys[0] = new_key("ec");
    keys[1] = new_key("rsa");
    keys[2] = new_key("ed25519");
    set = json_loads(oas_jose_jwks_text(keys, 3, pool), 0, NULL);
    ck_assert_ptr_null(verify(sign(keys[0]), set));
    ck_assert_ptr_null(verify(sign(keys[1]), set));
    ck_assert_ptr_null(verify(sign(keys[2]), set));
    json_decref(set);
}
END_TEST

/* change one character in the middle of part n (0 header, 1 payload, 2 signature) */
static const char *tamper(const char *jws, int part)
{
    char *t = apr_pstrdup(pool, jws), *s = t, *e;
    int i;

    for (i = 0; i < part; i++) {
        s = strchr(s, '.') + 1;
    }
    e = strchr(s, '.');
    s += ((e ? (apr_size_t)(e - s) : strlen(s)) / 2);
    *s = *s == 'A' ? 'B' : 'A';
    return t;
}

START_TEST(tampered_refused)
{
    static const char *const types[] = { "ec", "rsa", "ed25519" };
    int i;

    for (i = 0; i < 3; i++) {
        oas_jose_key_t *key = new_key(types[i]);
        const char *jws = sign(key);

        ck_assert_str_eq(verify(tamper(jws, 2), oas_jose_key_jwk(key)), "bad signature");
        ck_assert_str_eq(verify(tamper(jws, 1), oas_jose_key_jwk(key)), "bad signature");
        ck_assert_ptr_nonnull(verify(tamper(jws, 0), oas_jose_key_jwk(key)));
    }
}
END_TEST

START_TEST(wrong_key_refused)
{
    oas_jose_key_t *a = new_key("ec"), *b;
    const char *jws = sign(a);
    json_t *bare;

    b = new_key("ec");
    /* b names another kid */
    ck_assert_str_eq(verify(jws, oas_jose_key_jwk(b)), "no key with the header's kid");
    /* b without a kid: its signature check fails */
    bare = json_deep_copy(oas_jose_key_jwk(b));
    json_object_del(bare, "kid");
    ck_assert_str_eq(verify(jws, bare), "bad signature");
    json_decref(bare);
    b = new_key("ed25519");
    bare = json_deep_copy(oas_jose_key_jwk(b));
    json_object_del(bare, "kid");
    ck_assert_str_eq(verify(sign(new_key("ed25519")), bare), "bad signature");
    json_decref(bare);
}
END_TEST

/* header.payload.signature from a header text and the claims */
static const char *forge(const char *header, const char *sig)
{
    return apr_pstrcat(pool, b64(header), ".", b64("{\"sub\":\"alice\"}"), ".", sig, NULL);
}

START_TEST(alg_none_refused)
{
    oas_jose_key_t *key = new_key("ec");
    json_t *bare = json_deep_copy(oas_jose_key_jwk(key));

    json_object_del(bare, "alg");
    ck_assert_ptr_nonnull(verify(forge("{\"alg\":\"none\"}", ""), bare));
    ck_assert_ptr_nonnull(strstr(verify(forge("{\"alg\":\"none\"}", "AAAA"), bare),
                                 "alg none is not accepted"));
    ck_assert_ptr_nonnull(strstr(verify(forge("{\"alg\":\"NONE\"}", "AAAA"), bare),
                                 "not accepted"));
    ck_assert_ptr_nonnull(verify(forge("{\"typ\":\"JWT\"}", "AAAA"), bare));
    json_decref(bare);
}
END_TEST

/* the classic confusion: HS256 keyed with the public key's text */
START_TEST(hs256_with_public_key_refused)
{
    static const char *const types[] = { "ec", "rsa" };
    int i;

    for (i = 0; i < 2; i++) {
        oas_jose_key_t *key = new_key(types[i]);
        const json_t *jwk = oas_jose_key_jwk(key);
        char *secret = json_dumps(jwk, JSON_COMPACT);
        const char *hdr = apr_psprintf(pool, "{\"alg\":\"HS256\",\"kid\":\"%s\"}",
                                       oas_jose_key_kid(key));
        const char *input = apr_pstrcat(pool, b64(hdr), ".", b64("{\"sub\":\"alice\"}"), NULL);
        unsigned char mac[32];
        json_t *oct = json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "h", "k", b64(secret));

        oas_hmac_sha256(mac, secret, strlen(secret), input, strlen(input));
        ck_assert_ptr_nonnull(strstr(verify(apr_pstrcat(pool, input, ".",
                                                        oas_base64url_encode(pool, mac, 32),
                                                        NULL), jwk), "HS256 is not accepted"));
        /* not even against a symmetric key */
        ck_assert_ptr_nonnull(verify(forge("{\"alg\":\"HS256\"}", "AAAA"), oct));
        json_decref(oct);
        free(secret);
    }
}
END_TEST

START_TEST(alg_key_mismatch_refused)
{
    oas_jose_key_t *ec = new_key("ec"), *rsa = new_key("rsa");
    const char *jws = sign(ec);
    /* the EC signature under a header claiming RS256 and the EC key's kid */
    const char *dot = strchr(jws, '.');
    const char *hdr = apr_psprintf(pool, "{\"alg\":\"RS256\",\"kid\":\"%s\"}",
                                   oas_jose_key_kid(ec));
    const char *forged = apr_pstrcat(pool, b64(hdr), dot, NULL);
    json_t *bare = json_deep_copy(oas_jose_key_jwk(rsa));

    ck_assert_str_eq(verify(forged, oas_jose_key_jwk(ec)),
                     "the key's algorithm is not the header's alg");
    /* an RSA JWK without alg or kid still implies RS256: an ES256 token is not its */
    json_object_del(bare, "alg");
    json_object_del(bare, "kid");
    ck_assert_str_eq(verify(jws, bare), "the key's algorithm is not the header's alg");
    json_decref(bare);
}
END_TEST

START_TEST(malformed_refused)
{
    oas_jose_key_t *key = new_key("ec");
    const json_t *jwk = oas_jose_key_jwk(key);
    const char *jws = sign(key);
    char *big = apr_palloc(pool, 20000);

    memset(big, 'A', 19999);
    big[19999] = '\0';
    ck_assert_ptr_nonnull(verify("", jwk));
    ck_assert_ptr_nonnull(verify("a.b", jwk));
    ck_assert_ptr_nonnull(verify("a.b.c.d", jwk));
    ck_assert_ptr_nonnull(verify(apr_pstrcat(pool, jws, ".x", NULL), jwk));
    ck_assert_ptr_nonnull(verify(apr_pstrcat(pool, "!!", jws, NULL), jwk));
    ck_assert_ptr_nonnull(verify(big, jwk));
    ck_assert_ptr_nonnull(verify(NULL, jwk));
    ck_assert_ptr_nonnull(strstr(verify(forge("{\"alg\":\"ES256\",\"crit\":[\"x\"]}", "AAAA"),
                                        jwk), "crit"));
}
END_TEST

START_TEST(payload_must_be_an_object)
{
    /* RFC 8037 appendix A.4: a good Ed25519 signature over a payload that is
     * not a JSON object */
    json_t *jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    const char *jws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    ck_assert_str_eq(verify(jws, jwk), "the payload is not a JSON object");
    ck_assert_str_eq(verify(tamper(jws, 2), jwk), "bad signature");
    json_decref(jwk);
}
END_TEST

static Suite *jose_suite(void)
{
    Suite *s = suite_create("jose");
    TCase *tc = tcase_create("jose");

    tcase_add_unchecked_fixture(tc, make_pems, free_pems);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, load_each_type);
    tcase_add_test(tc, load_refusals);
    tcase_add_test(tc, generate_unknown_type);
    tcase_add_test(tc, public_jwk_has_no_private_part);
    tcase_add_test(tc, thumbprint_vectors);
    tcase_add_test(tc, jwks_text_lists_every_key);
    tcase_add_test(tc, sign_verify_each_type);
    tcase_add_test(tc, verify_against_a_set_by_kid);
    tcase_add_test(tc, tampered_refused);
    tcase_add_test(tc, wrong_key_refused);
    tcase_add_test(tc, alg_none_refused);
    tcase_add_test(tc, hs256_with_public_key_refused);
    tcase_add_test(tc, alg_key_mismatch_refused);
    tcase_add_test(tc, malformed_refused);
    tcase_add_test(tc, payload_must_be_an_object);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(jose_suite)
