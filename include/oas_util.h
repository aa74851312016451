/* oas_util.h — crypto and encoding helpers of the core (OpenSSL underneath). */
#ifndef OAS_UTIL_H
#define OAS_UTIL_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <sys/types.h>

#define OAS_DIGEST_LEN 32           /* SHA-256 */
#define OAS_TOKEN_BYTES 32          /* 256 bits of CSPRNG output per token/code */

/* getpid(), kept: no system call on each use; right in forked children. */
pid_t oas_pid(void);

/* Fill buf with len bytes from OpenSSL's CSPRNG (RAND_bytes). */
apr_status_t oas_random_bytes(unsigned char *buf, apr_size_t len);

/* A fresh random token: nbytes of CSPRNG output, base64url without padding.
 * Returns NULL only if the CSPRNG fails. */
const char *oas_random_token(apr_pool_t *p, apr_size_t nbytes);

/* base64url (RFC 4648 §5) without padding, NUL-terminated. */
char *oas_base64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* Decode base64url (padding optional); NULL on any invalid character. */
unsigned char *oas_base64url_decode(apr_pool_t *p, const char *in, apr_size_t *plen);

/* SHA-256 of data. */
void oas_sha256(unsigned char out[OAS_DIGEST_LEN], const void *data, apr_size_t len);

/* The store key of a token/code: SHA-256 over a kind prefix and the value,
 * so an access token can never be looked up as a code. */
void oas_store_key(unsigned char out[OAS_DIGEST_LEN], const char *prefix, const char *value);

/* HMAC-SHA-256. */
void oas_hmac_sha256(unsigned char out[OAS_DIGEST_LEN], const void *key, apr_size_t keylen,
                     const void *data, apr_size_t len);

/* Constant-time comparisons (CRYPTO_memcmp). 1 if equal. */
int oas_ct_equal(const void *a, const void *b, apr_size_t len);
/* Constant time in the length of b; lengths must match too. NULLs never equal. */
int oas_ct_streq(const char *a, const char *b);

/* Lower-case hex of data. */
char *oas_hex(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* PKCE (RFC 7636 §4.6): 1 if verifier matches challenge under method
 * ("S256" or "plain"); 0 otherwise (also for a malformed verifier:
 * 43..128 chars of [A-Za-z0-9-._~]). */
int oas_pkce_verify(const char *method, const char *challenge, const char *verifier);
/* 1 if s is a syntactically valid code_challenge / code_verifier. */
int oas_pkce_valid_value(const char *s);

#endif
