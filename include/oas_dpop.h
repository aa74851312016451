/* oas_dpop.h — DPoP proofs (RFC 9449): the checks of a proof JWT at the
 * token endpoint and at resources, server nonces, and single use of a
 * proof's jti across children and nodes (the store). No httpd header. */
#ifndef OAS_DPOP_H
#define OAS_DPOP_H

#include <apr_pools.h>
#include <apr_errno.h>
#include "oas_proto.h"

#define OAS_DPOP_WINDOW    60    /* seconds a proof's iat may be off our clock, either way */
#define OAS_DPOP_NONCE_STEP 300  /* seconds a server nonce is new; the one before is taken too */
#define OAS_DPOP_ALGS      "ES256 RS256 EdDSA Ed25519"

/* What a proof must match. */
typedef struct oas_dpop_want_t {
    const char *htm;             /* the request's method */
    const char *htu;             /* the URL without query or fragment */
    long long now;               /* seconds */
    const char *access_token;    /* at a resource: ath must be its SHA-256; else NULL */
    const unsigned char *nonce_key;  /* non-NULL: a nonce of ours is required (the CSRF key) */
    apr_size_t nonce_key_len;
} oas_dpop_want_t;

/* A proof that passed. */
typedef struct oas_dpop_proof_t {
    const char *jkt;             /* RFC 7638 SHA-256 thumbprint of its key */
    const char *jti;
    long long iat;
} oas_dpop_proof_t;

#define OAS_DPOP_OK        0
#define OAS_DPOP_BAD       1     /* invalid_dpop_proof; *pwhy says why */
#define OAS_DPOP_NONCE     2     /* use_dpop_nonce: no nonce, or not a current one of ours */

/* Check a proof JWT against want (everything but jti replay). */
int oas_dpop_check(oas_dpop_proof_t *out, const char *proof, const oas_dpop_want_t *want,
                   apr_pool_t *p, const char **pwhy);

/* The current server nonce: base64url(time step, HMAC-SHA-256 over it with
 * key). Stateless: any node with the key takes it for two steps. */
const char *oas_dpop_nonce(const unsigned char *key, apr_size_t key_len, long long now,
                           apr_pool_t *p);

/* 1 if nonce is ours, of this step or the one before. */
int oas_dpop_nonce_ok(const char *nonce, const unsigned char *key, apr_size_t key_len,
                      long long now, apr_pool_t *p);

/* Mark a proof's (key, jti) used in the store until its window ends:
 * APR_SUCCESS the first time, APR_EEXIST for a replay, else the store's
 * error. Also for client assertions (prefix tells the use apart). */
apr_status_t oas_dpop_jti_use(oas_store_t *s, const char *prefix, const char *who,
                              const char *jti, long long exp, apr_pool_t *p);

/* The thumbprint-looking value of a dpop_jkt parameter: 43 base64url characters. */
int oas_dpop_jkt_valid(const char *jkt);

/* Split "Authorization: DPoP <token>": APR_SUCCESS and *ptoken; APR_ENOENT
 * when the scheme is not DPoP; APR_EINVAL when malformed. */
apr_status_t oas_dpop_auth_parse(const char *authorization, const char **ptoken, apr_pool_t *p);

/* The token endpoint's DPoP step (RFC 9449 §5), after the client is known:
 * NULL and *pjkt (NULL: no proof) when the request may go on; else the
 * answer: 400 invalid_dpop_proof (bad proof, two headers, replay),
 * use_dpop_nonce with a DPoP-Nonce header, invalid_request (a
 * dpop_bound_access_tokens client without a proof), or 503 (the store). */
oas_response_t *oas_dpop_token_request(const char **pjkt, const oas_config_t *cfg,
                                       const oas_http_req_t *req, const oas_client_t *client,
                                       apr_pool_t *p);

/* private_key_jwt (RFC 7523 §2.2, §3): the unverified iss of an assertion
 * (to find the client and count failures), NULL if there is none. */
const char *oas_client_assertion_iss(const char *assertion, apr_pool_t *p);

/* Check an assertion from client c: signature by a key of its jwks
 * (asymmetric algorithms only), iss = sub = client_id, aud the issuer or
 * the token endpoint URL, exp in the future and at most
 * OAS_ASSERTION_MAX_LIFE ahead, jti used once (the store). 0 and NULL, or
 * 1 and *pwhy; 2 and *prv when the store failed. */
#define OAS_ASSERTION_MAX_LIFE 300
#define OAS_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
int oas_client_assertion_check(const oas_client_t *c, const oas_config_t *cfg,
                               const char *assertion, long long now, apr_pool_t *p,
                               const char **pwhy, apr_status_t *prv);

#endif
