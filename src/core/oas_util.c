/* oas_util.c — crypto and encoding helpers of the core (OpenSSL underneath). */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "oas_util.h"

#define PKCE_MIN 43
#define PKCE_MAX 128
#define S256_CHALLENGE_LEN 43   /* base64url of 32 bytes, no padding */

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* This process' id without a system call each time (glibc's getpid() asks
 * the kernel): taken once, and again in the child of every fork
 * (pthread_atfork), which is how httpd makes its children. */
static pid_t pid_now;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_reset(void)
{
    pid_now = getpid();
}

static void pid_init(void)
{
    pid_reset();
    (void)pthread_atfork(NULL, NULL, pid_reset);
}

pid_t oas_pid(void)
{
    (void)pthread_once(&pid_once, pid_init);
    return pid_now;
}

apr_status_t oas_random_bytes(unsigned char *buf, apr_size_t len)
{
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(buf, n) != 1) {
            return APR_EGENERAL;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

const char *oas_random_token(apr_pool_t *p, apr_size_t nbytes)
{
    unsigned char *raw = apr_palloc(p, nbytes ? nbytes : 1);
    char *tok = NULL;

    if (oas_random_bytes(raw, nbytes) == APR_SUCCESS) {
        tok = oas_base64url_encode(p, raw, nbytes);
    }
    OPENSSL_cleanse(raw, nbytes);
    return tok;
}

/* Encode into out, which holds at least (len * 4 + 2) / 3 + 1 bytes. */
static void b64url_encode_buf(char *out, const unsigned char *in, apr_size_t len)
{
    apr_size_t i;
    char *o = out;

    for (i = 0; i + 2 < len; i += 3) {
        *o++ = B64URL[in[i] >> 2];
        *o++ = B64URL[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = B64URL[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        *o++ = B64URL[in[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        *o++ = B64URL[in[i] >> 2];
        *o++ = B64URL[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *o++ = B64URL[in[i] >> 2];
        *o++ = B64URL[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        *o++ = B64URL[(in[i + 1] & 0x0f) << 2];
    }
    *o = '\0';
}

char *oas_base64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *out = apr_palloc(p, (len / 3) * 4 + 4);

    b64url_encode_buf(out, data, len);
    return out;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Length of in without its '=' padding; (apr_size_t)-1 if padding is wrong. */
static apr_size_t b64url_unpadded_len(const char *in, apr_size_t len)
{
    apr_size_t n = len;

    while (n > 0 && in[n - 1] == '=') {
        --n;
    }
    if (n == len) {
        return n;                       /* no padding: fine */
    }
    if (len % 4 != 0 || len - n > 2) {
        return (apr_size_t)-1;
    }
    return n;
}

unsigned char *oas_base64url_decode(apr_pool_t *p, const char *in, apr_size_t *plen)
{
    apr_size_t n, i, o = 0;
    unsigned acc = 0, bits = 0;
    unsigned char *out;

    if (in == NULL) {
        return NULL;
    }
    n = b64url_unpadded_len(in, strlen(in));
    if (n == (apr_size_t)-1 || n % 4 == 1) {
        return NULL;
    }
    out = apr_palloc(p, n * 3 / 4 + 1);
    for (i = 0; i < n; ++i) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) {
            return NULL;
        }
        acc = ((acc << 6) | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) {
        return NULL;                    /* non-canonical trailing bits */
    }
    out[o] = '\0';
    if (plen) {
        *plen = o;
    }
    return out;
}

/* SHA-256, fetched once: EVP_sha256() makes every EVP_DigestInit_ex() look
 * the implementation up again (OpenSSL 3), half the cost of hashing a token.
 * Kept for the life of the process; a lost race just drops one fetch. */
static _Atomic(EVP_MD *) sha256_md;

static const EVP_MD *sha256(void)
{
    EVP_MD *md = atomic_load(&sha256_md), *mine;

    if (md != NULL) {
        return md;
    }
    if ((mine = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
        return EVP_sha256();
    }
    if (atomic_compare_exchange_strong(&sha256_md, &md, mine)) {
        return mine;
    }
    EVP_MD_free(mine);
    return md;
}

/* SHA-256 over two pieces; 0 if OpenSSL failed. */
static int sha256_two(unsigned char out[OAS_DIGEST_LEN], const void *a, apr_size_t alen,
                      const void *b, apr_size_t blen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, sha256(), NULL) == 1
             && EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1
             && EVP_DigestFinal_ex(ctx, out, NULL) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

void oas_sha256(unsigned char out[OAS_DIGEST_LEN], const void *data, apr_size_t len)
{
    if (!sha256_two(out, "", 0, len ? data : "", len)) {
        EVP_Digest(len ? data : "", len, out, NULL, EVP_sha256(), NULL);
    }
}

void oas_store_key(unsigned char out[OAS_DIGEST_LEN], const char *prefix, const char *value)
{
    prefix = prefix ? prefix : "";
    value = value ? value : "";
    if (!sha256_two(out, prefix, strlen(prefix), value, strlen(value))) {
        /* out of memory inside OpenSSL: a key nobody can match */
        RAND_bytes(out, OAS_DIGEST_LEN);
    }
}

void oas_hmac_sha256(unsigned char out[OAS_DIGEST_LEN], const void *key, apr_size_t keylen,
                     const void *data, apr_size_t len)
{
    unsigned int outlen = OAS_DIGEST_LEN;

    if (keylen > INT_MAX
        || HMAC(EVP_sha256(), keylen ? key : "", (int)keylen,
                len ? data : (const void *)"", len, out, &outlen) == NULL) {
        RAND_bytes(out, OAS_DIGEST_LEN);
    }
}

int oas_ct_equal(const void *a, const void *b, apr_size_t len)
{
    if (a == NULL || b == NULL) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, len) == 0;
}

int oas_ct_streq(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (a == NULL || b == NULL) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la != lb) {
        (void)CRYPTO_memcmp(b, b, lb);  /* same work as a real compare */
        return 0;
    }
    return CRYPTO_memcmp(a, b, lb) == 0;
}

char *oas_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    static const char HEX[] = "0123456789abcdef";
    char *out = apr_palloc(p, len * 2 + 1);
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        out[2 * i] = HEX[data[i] >> 4];
        out[2 * i + 1] = HEX[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return out;
}

static int pkce_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~';
}

int oas_pkce_valid_value(const char *s)
{
    apr_size_t i;

    if (s == NULL) {
        return 0;
    }
    for (i = 0; s[i] != '\0'; ++i) {
        if (i >= PKCE_MAX || !pkce_char((unsigned char)s[i])) {
            return 0;
        }
    }
    return i >= PKCE_MIN;
}

static int pkce_s256(const char *challenge, const char *verifier)
{
    unsigned char digest[OAS_DIGEST_LEN];
    char expect[S256_CHALLENGE_LEN + 2];

    oas_sha256(digest, verifier, strlen(verifier));
    b64url_encode_buf(expect, digest, sizeof(digest));
    return oas_ct_streq(challenge, expect);
}

int oas_pkce_verify(const char *method, const char *challenge, const char *verifier)
{
    if (method == NULL || !oas_pkce_valid_value(challenge)
        || !oas_pkce_valid_value(verifier)) {
        return 0;
    }
    if (strcmp(method, "S256") == 0) {
        return pkce_s256(challenge, verifier);
    }
    if (strcmp(method, "plain") == 0) {
        return oas_ct_streq(verifier, challenge);
    }
    return 0;
}
