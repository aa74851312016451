/* oas_csrf.h — the authorization request as the approval form carries it,
 * and the CSRF token that binds that form to the user, the request and a
 * time limit (SPEC §4).
 *
 * token = base64url(nonce[16] || exp[8, big-endian] || HMAC-SHA-256(key,
 *         nonce || exp || user \0 response_type \0 client_id \0
 *         ('1' redirect_uri | '0') \0 scope \0 state \0 code_challenge \0 method \0
 *         resource \0 issuer))
 *
 * Showing a form stores nothing (a signed-in user who reloads the page
 * cannot fill the store). When the form is posted with a valid token, its
 * nonce is stored (OAS_KIND_CSRF, memory only, until the token's expiry):
 * each form is accepted once. Those entries are the first to go when memory
 * is full (a form whose nonce went could be posted again by the same user
 * within its 10 minutes). */
#ifndef OAS_CSRF_H
#define OAS_CSRF_H

#include "oas_proto.h"

#define OAS_CSRF_LIFETIME  600   /* seconds an approval form stays valid */

/* A checked authorization request (RFC 6749 §4.1.1, §4.2.1, RFC 7636). */
typedef struct oas_authz_t {
    const oas_client_t *client;
    const char *response_type;          /* "code" | "token" once checked */
    const char *redirect_uri;           /* as sent; NULL when the request had none */
    const char *redirect_to;            /* where answers go (the registered URI) */
    const char *scope;                  /* resolved: space-separated, may be "" */
    const char *state;                  /* NULL if none */
    const char *code_challenge;         /* NULL if none (always NULL for "token") */
    const char *code_challenge_method;  /* "S256" | "plain" with a challenge, else NULL */
    const char *resource;               /* the named resources, space-separated; NULL: none */
    const char *dpop_jkt;               /* RFC 9449 §10: the code's DPoP key; NULL: none */
} oas_authz_t;

/* results of oas_csrf_check */
#define OAS_CSRF_OK       0
#define OAS_CSRF_BAD      1   /* missing, malformed, or not made for this user and request */
#define OAS_CSRF_EXPIRED  2
#define OAS_CSRF_USED     3   /* the form was posted before (its nonce is in the store) */
#define OAS_CSRF_STORE    4   /* the store failed; *prv says how */

/* Make a token for user and a, valid until now + OAS_CSRF_LIFETIME. Nothing
 * is stored. cfg->csrf_key must be set. Fails only without randomness. */
apr_status_t oas_csrf_issue(const char **ptoken, const oas_config_t *cfg, const char *user,
                            const oas_authz_t *a, long long now, apr_pool_t *p);

/* Check a posted token (NULL allowed) against user and a; on success its
 * nonce is stored (store->add: single use). Nothing changes in the store
 * otherwise. */
int oas_csrf_check(const oas_config_t *cfg, const char *token, const char *user,
                   const oas_authz_t *a, long long now, apr_status_t *prv, apr_pool_t *p);

#endif
