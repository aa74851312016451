/* oas_reuse.h — the refresh reuse window (OAuthASRefreshReuseWindow, SPEC §5).
 *
 * A refresh token that rotates is replaced in the store by its tombstone:
 * the token's own record (oas_token_encode) with kind OAS_KIND_USED_REFRESH,
 * the same family and expiry, and iat set to the time of its first use (the
 * start of the request that took it). The client the token was issued to,
 * presenting it again at most `window` seconds after that, gets a new pair
 * of the same family issued from that record, and nothing is revoked. The
 * window runs from the first use: later uses never rewrite the tombstone. */
#ifndef OAS_REUSE_H
#define OAS_REUSE_H

#include "oas_token.h"

/* The tombstone of the live refresh token entry `live`, first used at
 * used_at. A record that does not decode gives a tombstone with the kind
 * changed only (its presentation is then always a replay). */
void oas_reuse_tombstone(oas_entry_t *tomb, const oas_entry_t *live, long long used_at,
                         apr_pool_t *p);

/* 1 when tomb, a tombstone's decoded record, lets client_id refresh with it
 * again at now: window > 0, issued to client_id, and now at most window
 * seconds after its first use (or before it: a racer whose request began
 * earlier). 0 otherwise. */
int oas_reuse_allowed(const oas_token_t *tomb, const char *client_id, long long now,
                      long long window);

#endif
