/* oas_reuse.h — the refresh reuse window (OAuthASRefreshReuseWindow, SPEC §5).
 *
 * A refresh token that rotates is replaced in the store by its tombstone
 * (OAS_KIND_USED_REFRESH, same family and expiry). Without a window the
 * tombstone's payload is empty, and the token presented again is a replay:
 * the family is revoked. With a window the payload is
 *     'W' | used_at (i64, little-endian) | the token's own record
 * (oas_token_encode), and the client the token was issued to, presenting it
 * again at most `window` seconds after used_at, gets a new pair of the same
 * family issued from that record; nothing is revoked. used_at is the start
 * of the request that used it first; the window is never extended by later
 * uses. */
#ifndef OAS_REUSE_H
#define OAS_REUSE_H

#include "oas_token.h"

/* The tombstone of the live refresh token entry `live` (a token record),
 * used first at used_at: with window > 0 it carries used_at and the record;
 * with window 0, or when that would exceed OAS_ENTRY_MAX, it is the plain
 * empty tombstone (no reuse then). */
void oas_reuse_tombstone(oas_entry_t *tomb, const oas_entry_t *live, long long used_at,
                         long long window, apr_pool_t *p);

/* 1 when the tombstone `tomb` lets client_id refresh with it again at now:
 * window > 0, a tombstone with a record, issued to client_id, and now at
 * most window seconds after its first use. Then *rec gets the token's record
 * (kind OAS_KIND_REFRESH, the family and expiry of the tombstone) and
 * *pused_at the time of first use. 0 otherwise (*rec undefined). */
int oas_reuse_allowed(oas_token_t *rec, long long *pused_at, const oas_entry_t *tomb,
                      const char *client_id, long long now, long long window, apr_pool_t *p);

#endif
