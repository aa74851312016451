/* oas_ratelimit.h — brute-force limits (OAuthASAuthFailLimit,
 * OAuthASAuthFailLockout): failed client authentications per client id and
 * failed password-grant checks per user name, counted in the shared store
 * (OAS_KIND_AUTH_FAILURES) so that every process and node sees them.
 *
 * cfg->fail_limit failures in a row, each less than cfg->fail_window seconds
 * after the one before, lock that client id or user name for
 * cfg->fail_lockout seconds from the last of them. While locked, attempts get
 * 429 temporarily_unavailable with Retry-After, and the credential is not
 * checked at all (no bcrypt, nothing learnt, nothing counted). A success
 * clears the count; the lock's end clears it too.
 *
 * The limits fail closed (SPEC section 8): a counter that cannot be read
 * refuses the attempt unchecked, and a failure that cannot be counted is
 * answered 503 temporarily_unavailable instead of its usual error, after
 * which names whose key falls in the same of OAS_RL_BUCKETS buckets (in the
 * shared cfg->counters) are refused unchecked for fail_lockout seconds: a
 * store that cannot take counters lets no guessing through. */
#ifndef OAS_RATELIMIT_H
#define OAS_RATELIMIT_H

#include "oas_proto.h"

#define OAS_RL_CLIENT 0       /* a client id presented with HTTP Basic */
#define OAS_RL_USER   1       /* a user name of the password grant */
#define OAS_RL_USER_CODE 2    /* a signed-in user entering device user codes (RFC 8628) */
#define OAS_RL_REGISTER  3    /* a client address registering clients (RFC 7591): each
                               * registration counts as a failure */

/* One key's state across a check and its result. */
typedef struct oas_rl_t {
    unsigned char key[OAS_DIGEST_LEN];
    int type;                 /* OAS_RL_CLIENT, OAS_RL_USER */
    const char *name;         /* the client id or user name (never a secret) */
    long count;               /* failures the check saw */
    int active;               /* 1: the limits apply and the check could read the store */
} oas_rl_t;

/* Seconds a key with count failures and expiry exp is still locked at now
 * (0: not locked). */
long long oas_rl_locked_for(const oas_config_t *cfg, long count, long long exp,
                            long long now);

/* Before a credential of name is checked: NULL (go on, then report the
 * outcome with oas_rl_result), or the answer (the credential must not be
 * checked): 429 while locked, 503 when the limits cannot work. */
oas_response_t *oas_rl_check(oas_rl_t *rl, const oas_config_t *cfg,
                             const oas_http_req_t *req, int type, const char *name,
                             apr_pool_t *p);

/* After the check: ok 1 clears the count the check saw (NULL); ok 0 counts
 * a failure and locks the key when it reaches the limit: NULL, or the 503
 * answer to send instead of the failure's own when it could not be counted. */
oas_response_t *oas_rl_result(oas_rl_t *rl, const oas_config_t *cfg,
                              const oas_http_req_t *req, int ok, apr_pool_t *p);

#endif
