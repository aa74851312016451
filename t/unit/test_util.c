/* test_util.c — oas_util: CSPRNG, base64url, SHA-256, HMAC, compares, PKCE; oas_log. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "unit.h"
#include "oas_log.h"
#include "oas_util.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *b64(const char *s)
{
    return oas_base64url_encode(pool, (const unsigned char *)s, strlen(s));
}

START_TEST(base64url_vectors)
{
    /* RFC 4648 §10 */
    ck_assert_str_eq(b64(""), "");
    ck_assert_str_eq(b64("f"), "Zg");
    ck_assert_str_eq(b64("fo"), "Zm8");
    ck_assert_str_eq(b64("foo"), "Zm9v");
    ck_assert_str_eq(b64("foob"), "Zm9vYg");
    ck_assert_str_eq(b64("fooba"), "Zm9vYmE");
    ck_assert_str_eq(b64("foobar"), "Zm9vYmFy");
    /* the url alphabet: 0xfb 0xff is "+/8=" in standard base64 */
    ck_assert_str_eq(oas_base64url_encode(pool, (const unsigned char *)"\xfb\xff", 2), "-_8");
}
END_TEST

START_TEST(base64url_round_trip)
{
    unsigned char buf[300];
    apr_size_t n, len;

    for (n = 0; n < sizeof(buf); ++n) {
        buf[n] = (unsigned char)(n * 7 + 3);
    }
    for (n = 0; n <= sizeof(buf); ++n) {
        char *enc = oas_base64url_encode(pool, buf, n);
        unsigned char *dec = oas_base64url_decode(pool, enc, &len);
        ck_assert_ptr_nonnull(dec);
        ck_assert_uint_eq(len, n);
        ck_assert(memcmp(dec, buf, n) == 0);
        ck_assert_ptr_null(strchr(enc, '='));
    }
}
END_TEST

START_TEST(base64url_decode_padding)
{
    apr_size_t len;
    unsigned char *d;

    d = oas_base64url_decode(pool, "Zm9vYg==", &len);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(d, "foob", 4) == 0);
    d = oas_base64url_decode(pool, "Zm9vYmE=", &len);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(len, 5);
    d = oas_base64url_decode(pool, "", &len);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(base64url_decode_bad)
{
    apr_size_t len;

    ck_assert_ptr_null(oas_base64url_decode(pool, NULL, &len));
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9v+g", &len));    /* std alphabet */
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9v/g", &len));
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm 9v", &len));
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9vY", &len));     /* 1 char left */
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9vYg=", &len));   /* short padding */
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9vYg===", &len));
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm=9v", &len));     /* inner '=' */
    ck_assert_ptr_null(oas_base64url_decode(pool, "====", &len));
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zh", &len));        /* non-canonical */
    ck_assert_ptr_null(oas_base64url_decode(pool, "Zm9\xc3\xa9", &len));
}
END_TEST

static const char *sha_hex(const char *s)
{
    unsigned char d[OAS_DIGEST_LEN];

    oas_sha256(d, s, strlen(s));
    return oas_hex(pool, d, sizeof(d));
}

START_TEST(sha256_vectors)
{
    ck_assert_str_eq(sha_hex(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(sha_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(store_key_prefix)
{
    unsigned char a[OAS_DIGEST_LEN], b[OAS_DIGEST_LEN], c[OAS_DIGEST_LEN];

    oas_store_key(a, "at:", "value");
    oas_store_key(b, "code:", "value");
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
    oas_sha256(c, "at:value", 8);
    ck_assert(memcmp(a, c, sizeof(a)) == 0);
}
END_TEST

START_TEST(hmac_rfc4231)
{
    unsigned char d[OAS_DIGEST_LEN];
    unsigned char key[20];
    unsigned char data[50];
    const char *msg = "what do ya want for nothing?";

    /* test case 2 */
    oas_hmac_sha256(d, "Jefe", 4, msg, strlen(msg));
    ck_assert_str_eq(oas_hex(pool, d, sizeof(d)),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 3 */
    memset(key, 0xaa, sizeof(key));
    memset(data, 0xdd, sizeof(data));
    oas_hmac_sha256(d, key, sizeof(key), data, sizeof(data));
    ck_assert_str_eq(oas_hex(pool, d, sizeof(d)),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}
END_TEST

START_TEST(hex_encoding)
{
    ck_assert_str_eq(oas_hex(pool, (const unsigned char *)"\x00\x0f\xa5\xff", 4), "000fa5ff");
    ck_assert_str_eq(oas_hex(pool, (const unsigned char *)"", 0), "");
}
END_TEST

START_TEST(random_tokens)
{
    apr_hash_t *seen = apr_hash_make(pool);
    unsigned char buf[64], zero[64];
    int i;

    for (i = 0; i < 1000; ++i) {
        const char *t = oas_random_token(pool, OAS_TOKEN_BYTES);
        apr_size_t len;
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(strlen(t), 43);          /* 32 bytes, no padding */
        ck_assert_ptr_nonnull(oas_base64url_decode(pool, t, &len));
        ck_assert_uint_eq(len, OAS_TOKEN_BYTES);
        ck_assert_ptr_null(apr_hash_get(seen, t, APR_HASH_KEY_STRING));
        apr_hash_set(seen, t, APR_HASH_KEY_STRING, t);
    }
    ck_assert_uint_eq(strlen(oas_random_token(pool, 16)), 22);
    ck_assert_str_eq(oas_random_token(pool, 0), "");
    memset(buf, 0, sizeof(buf));
    memset(zero, 0, sizeof(zero));
    ck_assert_int_eq(oas_random_bytes(buf, sizeof(buf)), APR_SUCCESS);
    ck_assert(memcmp(buf, zero, sizeof(buf)) != 0);
}
END_TEST

START_TEST(ct_compares)
{
    ck_assert(oas_ct_equal("abc", "abc", 3));
    ck_assert(!oas_ct_equal("abc", "abd", 3));
    ck_assert(oas_ct_equal("abc", "abd", 2));
    ck_assert(!oas_ct_equal(NULL, "abc", 3));
    ck_assert(oas_ct_streq("secret", "secret"));
    ck_assert(oas_ct_streq("", ""));
    ck_assert(!oas_ct_streq("secret", "secreT"));
    ck_assert(!oas_ct_streq("secret", "secret2"));
    ck_assert(!oas_ct_streq("secret2", "secret"));
    ck_assert(!oas_ct_streq("", "x"));
    ck_assert(!oas_ct_streq(NULL, "x"));
    ck_assert(!oas_ct_streq("x", NULL));
    ck_assert(!oas_ct_streq(NULL, NULL));
}
END_TEST

#define V_RFC7636 "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define C_RFC7636 "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

START_TEST(pkce_s256)
{
    ck_assert(oas_pkce_verify("S256", C_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("S256", C_RFC7636, V_RFC7636 "x"));
    ck_assert(!oas_pkce_verify("S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", V_RFC7636));
    ck_assert(!oas_pkce_verify("S256", V_RFC7636, V_RFC7636));        /* plain under S256 */
    ck_assert(!oas_pkce_verify("s256", C_RFC7636, V_RFC7636));        /* method is exact */
    ck_assert(!oas_pkce_verify("S256", C_RFC7636 "=", V_RFC7636));
}
END_TEST

START_TEST(pkce_plain)
{
    ck_assert(oas_pkce_verify("plain", V_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("plain", C_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("plain", "short", "short"));
    ck_assert(!oas_pkce_verify(NULL, V_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("", V_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("S512", V_RFC7636, V_RFC7636));
    ck_assert(!oas_pkce_verify("plain", NULL, V_RFC7636));
    ck_assert(!oas_pkce_verify("plain", V_RFC7636, NULL));
}
END_TEST

START_TEST(pkce_syntax)
{
    char s[200];

    memset(s, 'a', sizeof(s));
    s[42] = '\0';
    ck_assert(!oas_pkce_valid_value(s));
    s[42] = 'a'; s[43] = '\0';
    ck_assert(oas_pkce_valid_value(s));
    s[43] = 'a'; s[128] = '\0';
    ck_assert(oas_pkce_valid_value(s));
    s[128] = 'a'; s[129] = '\0';
    ck_assert(!oas_pkce_valid_value(s));
    ck_assert(oas_pkce_valid_value("AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~abc"));
    ck_assert(!oas_pkce_valid_value("AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~ab+"));
    ck_assert(!oas_pkce_valid_value("AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~ab="));
    ck_assert(!oas_pkce_valid_value("AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~ab "));
    ck_assert(!oas_pkce_valid_value(NULL));
    ck_assert(!oas_pkce_valid_value(""));
}
END_TEST

/* ---- oas_log ---- */

typedef struct { int calls; int level; apr_status_t rv; char msg[2048]; } log_rec_t;

static void log_cb(void *baton, const char *file, int line, int level,
                   apr_status_t rv, const char *msg)
{
    log_rec_t *r = baton;

    (void)file;
    (void)line;
    r->calls++;
    r->level = level;
    r->rv = rv;
    apr_cpystrn(r->msg, msg, sizeof(r->msg));
}

START_TEST(log_levels)
{
    log_rec_t rec;
    oas_logger_t lg = { log_cb, &rec, OAS_LOG_INFO };
    oas_logger_t off = { NULL, &rec, OAS_LOG_TRACE1 };
    char big[3000];

    memset(&rec, 0, sizeof(rec));
    OAS_LOG(&lg, OAS_LOG_ERR, APR_EINVAL, OASLOGNO(00001) "client %s: %d", "x", 42);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(rec.level, OAS_LOG_ERR);
    ck_assert_int_eq(rec.rv, APR_EINVAL);
    ck_assert_str_eq(rec.msg, "OAS00001: client x: 42");
    OAS_LOG(&lg, OAS_LOG_DEBUG, 0, "not shown");
    ck_assert_int_eq(rec.calls, 1);
    OAS_LOG(&off, OAS_LOG_ERR, 0, "off");
    OAS_LOG(NULL, OAS_LOG_ERR, 0, "null logger");
    ck_assert_int_eq(rec.calls, 1);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    OAS_LOG(&lg, OAS_LOG_INFO, 0, "%s", big);
    ck_assert_int_eq(rec.calls, 2);
    ck_assert_uint_gt(strlen(rec.msg), 500);    /* truncated, not dropped */
    ck_assert_uint_lt(strlen(rec.msg), sizeof(big) - 1);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, base64url_vectors);
    tcase_add_test(tc, base64url_round_trip);
    tcase_add_test(tc, base64url_decode_padding);
    tcase_add_test(tc, base64url_decode_bad);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, store_key_prefix);
    tcase_add_test(tc, hmac_rfc4231);
    tcase_add_test(tc, hex_encoding);
    tcase_add_test(tc, random_tokens);
    tcase_add_test(tc, ct_compares);
    tcase_add_test(tc, pkce_s256);
    tcase_add_test(tc, pkce_plain);
    tcase_add_test(tc, pkce_syntax);
    tcase_add_test(tc, log_levels);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(util_suite)
