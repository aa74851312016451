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
    /* codes only */
    const char *redirect_uri;    /* NULL when the request had none */
    const char *code_challenge;  /* NULL when none */
    const char *code_challenge_method;  /* "S256" | "plain" */
    const char *issuer;          /* codes only: the issuer that issued it (mix-up defence) */
} oas_token_t;

/* Encode t into e (kind, exp, family copied; payload allocated from p).
 * APR_EINVAL if it would exceed OAS_ENTRY_MAX. */
apr_status_t oas_token_encode(oas_entry_t *e, const oas_token_t *t, apr_pool_t *p);

/* Decode an entry; APR_EINVAL if the payload is corrupt. */
apr_status_t oas_token_decode(oas_token_t *t, const oas_entry_t *e, apr_pool_t *p);

/* 1 if the family is all zero. */
int oas_family_none(const unsigned char *family);

#endif
