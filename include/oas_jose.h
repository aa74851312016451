/* oas_jose.h — JOSE for the core: signing keys, JWKs, RFC 7638 thumbprints,
 * compact JWS signing and verification (RFC 7515, 7517, 7518, 8037).
 *
 * src/oas_jose.c is the only file that uses the JOSE library (latchset jose,
 * over OpenSSL; docs/jose.md says why); callers see jansson values and the
 * opaque key type only. Algorithms: ES256 (EC P-256), RS256 (RSA >= 2048
 * bits), EdDSA (Ed25519; header alg "EdDSA" or RFC 9864's "Ed25519").
 * Never "none", never a symmetric algorithm.
 *
 * JSON values handed out are owned by the pool given (a cleanup drops them). */
#ifndef OAS_JOSE_H
#define OAS_JOSE_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <jansson.h>

/* A private signing key, loaded from a PEM file. */
typedef struct oas_jose_key_t oas_jose_key_t;

/* Load the PEM private key at path (unencrypted PKCS#8 or traditional).
 * Refused, with *perr naming the file and the reason: a file that cannot be
 * read, that group or others may read or write, that holds no private key,
 * or a key other than EC P-256, RSA of at least 2048 bits, or Ed25519.
 * The key lives until p is cleared. */
apr_status_t oas_jose_key_load(oas_jose_key_t **pkey, const char *path, apr_pool_t *p,
                               const char **perr);

/* "ES256", "RS256" or "EdDSA". */
const char *oas_jose_key_alg(const oas_jose_key_t *key);

/* The key's id: its RFC 7638 SHA-256 thumbprint, base64url. */
const char *oas_jose_key_kid(const oas_jose_key_t *key);

/* The public JWK: kty, kid, alg, use "sig" and the public parameters only.
 * Owned by the key. */
const json_t *oas_jose_key_jwk(const oas_jose_key_t *key);

/* RFC 7638 thumbprint (SHA-256, base64url) of a public or private JWK of
 * kty EC, RSA or OKP; NULL if jwk is not one. */
const char *oas_jose_thumbprint(const json_t *jwk, apr_pool_t *p);

/* The JWK Set (RFC 7517 §5) of the public JWKs of keys[0..n-1], as JSON text. */
const char *oas_jose_jwks_text(oas_jose_key_t *const *keys, int n, apr_pool_t *p);

/* Sign claims (an object) into a compact JWS. The protected header is
 * header's members (may be NULL; "typ", say) plus "alg" and "kid" of the key. */
apr_status_t oas_jose_sign(const char **pjws, const oas_jose_key_t *key, const json_t *header,
                           const json_t *claims, apr_pool_t *p);

/* Verify a compact JWS against keys: one JWK, or a JWK Set ({"keys": [...]}).
 * The key is the one whose "kid" the header names (any key when the header
 * has none) and whose algorithm ("alg", or the one its kty/crv implies) is
 * the header's "alg". Refused (APR_EINVAL, *perr says why, never the token):
 * malformed, "crit" present, alg "none", symmetric or unsupported, no such
 * key, algorithm and key disagree, bad signature, claims not an object.
 * On success *pheader and *pclaims (either may be NULL) are set. */
apr_status_t oas_jose_verify(json_t **pheader, json_t **pclaims, const char *jws,
                             const json_t *keys, apr_pool_t *p, const char **perr);

/* The claims of a compact JWS whose authenticity is known otherwise (its
 * digest is in the store: we issued it), decoded without a signature check.
 * Never for a token from outside that nothing vouches for. */
apr_status_t oas_jose_claims_unverified(json_t **pclaims, const char *jws, apr_pool_t *p);

/* The protected header of a compact JWS, decoded without a signature check:
 * only to find the key to verify it with (a DPoP proof carries its own
 * "jwk"); the JWS must then go through oas_jose_verify(). */
apr_status_t oas_jose_header_unverified(json_t **pheader, const char *jws, apr_pool_t *p);

/* 1 if jwk has a private or symmetric member (d, p, q, dp, dq, qi, oth, k). */
int oas_jose_jwk_is_private(const json_t *jwk);

/* Make a new private key (for oauth-as-client keygen): type "ec" (P-256),
 * "rsa" (3072 bits) or "ed25519"; PEM (PKCS#8) text in *ppem. */
apr_status_t oas_jose_key_generate(const char **ppem, const char *type, apr_pool_t *p,
                                   const char **perr);

#endif
