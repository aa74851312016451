/* oas_token.h — what the store keeps about a token or code, and its encoding
 * into an oas_entry_t payload. */
#ifndef OAS_TOKEN_H
#define OAS_TOKEN_H

#include <apr_pools.h>
#include <apr_errno.h>
#include "oas_store.h"

/* key prefixes: the store key is SHA-256(prefix || value) */
#define OAS_PREFIX_ACCESS   "at:"
#define OAS_PREFIX_REFRESH  "rt:"
#define OAS_PREFIX_CODE     "ac:"
#define OAS_PREFIX_FAMILY   "fr:"
#define OAS_PREFIX_CSRF     "cs:"
#define OAS_PREFIX_PAR      "pr:"   /* of a pushed request's request_uri (RFC 9126) */
#define OAS_PREFIX_DPOP_JTI "dj:"   /* a DPoP proof's (jkt, jti), used (oas_dpop.h) */
#define OAS_PREFIX_ASSERTION "cj:"  /* a client assertion's (client, jti), used */

/* the longest issuer (OAuthASIssuer): every record carries it */
#define OAS_ISSUER_MAX      255

typedef struct oas_token_t {
    int kind;                    /* oas_kind_t */
    long long iat;               /* issued at, seconds; in a refresh token's tombstone
                                  * (OAS_KIND_USED_REFRESH): its first use (oas_reuse.h) */
    long long exp;               /* 0 = never */
    unsigned char family[OAS_FAMILY_LEN];  /* grant family (code/refresh chains); zero for none */
    unsigned grant;              /* OAS_GRANT_* that issued it */
    const char *client_id;
    const char *username;        /* resource owner; NULL for client_credentials */
    const char *scope;           /* space-separated */
    int refresh_left;            /* refresh tokens and codes: refreshes left; -1 unlimited */
    int refreshes;               /* refreshes done in the family before this token was issued;
                                  * -1: unknown (a record written before it was kept) */
    /* codes only */
    const char *redirect_uri;    /* NULL when the request had none */
    const char *code_challenge;  /* NULL when none */
    const char *code_challenge_method;  /* "S256" | "plain" */
    const char *issuer;          /* the issuer (OAuthASIssuer) that issued it; NULL only in
                                  * tokens written before the issuer was recorded */
    const char *audience;        /* resource URIs separated by spaces; NULL in records made
                                  * before audiences existed: read it with oas_token_aud() */
    const char *jkt;             /* DPoP key thumbprint the token (or a code's dpop_jkt) is
                                  * bound to (RFC 9449); NULL: not bound */
    const char *x5t;             /* RFC 8705 §3: x5t#S256 of the TLS client certificate the
                                  * token is bound to; NULL: not bound */
} oas_token_t;

/* Encode t into e (kind, exp, family copied; payload allocated from p).
 * APR_EINVAL if it would exceed OAS_ENTRY_MAX. */
apr_status_t oas_token_encode(oas_entry_t *e, const oas_token_t *t, apr_pool_t *p);

/* Decode an entry; APR_EINVAL if the payload is corrupt. */
apr_status_t oas_token_decode(oas_token_t *t, const oas_entry_t *e, apr_pool_t *p);

/* Look up the code or token (or its tombstone) stored under key, for the
 * issuer of the asking virtual host (SPEC §8): a record of another issuer
 * is APR_NOTFOUND, exactly as if it were absent, and so is a record that
 * does not decode. A record without an issuer (written before issuers were
 * recorded) belongs to every issuer. APR_SUCCESS: e and t are filled (a
 * tombstone without a payload gives t->kind, t->exp and t->family only).
 * Other statuses: the store failed. Virtual hosts with different issuers
 * may share one store: every redemption, bearer check, introspection and
 * revocation reads codes and tokens through this one function (the bearer
 * check through its second half, oas_token_found). */
apr_status_t oas_token_lookup(oas_entry_t *e, oas_token_t *t, oas_store_t *s,
                              const unsigned char *key, const char *issuer, apr_pool_t *p);

/* The second half of oas_token_lookup, for a caller that read the store
 * itself (the bearer check, through oas_store_get_unrevoked): rv is the
 * store's answer, e what it found. */
apr_status_t oas_token_found(oas_entry_t *e, oas_token_t *t, apr_status_t rv,
                             const char *issuer, apr_pool_t *p);

/* 1 if the family is all zero. */
int oas_family_none(const unsigned char *family);

#endif
