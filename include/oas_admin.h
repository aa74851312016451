/* oas_admin.h — token administration on any store, for oauth-as-client:
 * list the tokens of a client or a user, revoke them, by store key (a
 * digest) only: a token itself is never known here. */
#ifndef OAS_ADMIN_H
#define OAS_ADMIN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include "oas_store.h"
#include "oas_token.h"

/* Which entries: those of this client and/or this user (NULL: any). */
typedef struct oas_admin_filter_t {
    const char *client_id;
    const char *username;
} oas_admin_filter_t;

/* One live access token, refresh token or authorization code. */
typedef struct oas_admin_token_t {
    unsigned char key[OAS_DIGEST_LEN];   /* its store key: SHA-256 of a prefix and the token */
    oas_token_t token;                   /* kind, client_id, username, scope, iat, exp, ... */
} oas_admin_token_t;

/* The live tokens and codes matching f (every one with a NULL f), as
 * oas_admin_token_t in *pout, in the store's order. Markers, tombstones and
 * approval-form nonces are left out. */
apr_status_t oas_admin_list(apr_array_header_t **pout, oas_store_t *s,
                            const oas_admin_filter_t *f, apr_pool_t *p);

/* Revoke every token and code matching f (client_id or username must be
 * set): each grant family involved is marked revoked (so a refresh in
 * flight cannot add to it) and revoked whole, as the revocation endpoint
 * does (the default store removes the members in its memory tier and
 * refuses those on disk by the marker); then every listed token and code is
 * removed one by one (the members on disk too: their room is freed at
 * once). *pcount (may be NULL) gets the number of listed tokens and codes
 * revoked or removed. */
apr_status_t oas_admin_revoke(int *pcount, oas_store_t *s, const oas_admin_filter_t *f,
                              apr_pool_t *p);

/* "access_token", "refresh_token", "code", ... (oas_kind_t) */
const char *oas_admin_kind_name(int kind);

#endif
