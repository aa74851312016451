/* oas_device.h — the device authorization grant (RFC 8628, SPEC §14): user
 * codes, the device code's record in the store, and the polling rules.
 *
 * Store entries (keys are SHA-256 digests, SPEC §8):
 *   SHA-256("dc:" device_code)         OAS_KIND_DEVICE_CODE: the record below;
 *                                      kept a lifetime (at least
 *                                      OAS_DEVICE_GRACE_MIN seconds) past its
 *                                      expiry so that a late poll learns
 *                                      expired_token, not invalid_grant
 *   SHA-256("uc:" issuer "\n" CODE)    OAS_KIND_USER_CODE: the device code's key;
 *                                      taken once, by the decision
 *   SHA-256("dg:" device_code)         a counter: polls within the interval
 *   SHA-256("ds:" device_code)         a counter: slow_down answers so far
 * The counters go through the store's count(), so every child and node
 * sees the same interval. */
#ifndef OAS_DEVICE_H
#define OAS_DEVICE_H

#include "oas_proto.h"

#define OAS_DEVICE_GRANT_NAME  "urn:ietf:params:oauth:grant-type:device_code"
#define OAS_PREFIX_DEVICE      "dc:"
#define OAS_PREFIX_USER_CODE   "uc:"
#define OAS_PREFIX_DEVICE_GATE "dg:"
#define OAS_PREFIX_DEVICE_SLOW "ds:"

#define OAS_USER_CODE_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
#define OAS_USER_CODE_LEN      8      /* shown as XXXX-XXXX */
#define OAS_DEVICE_CODE_BYTES  32     /* 256 bits of the CSPRNG, base64url */
#define OAS_DEVICE_GRACE_MIN   300    /* seconds an expired record is kept, at least */
#define OAS_DEVICE_SLOW_STEP   5      /* seconds the interval grows by per slow_down */
#define OAS_DEVICE_RESPONSE_TYPE "device_code"   /* marks the device page's CSRF tokens */

#define OAS_DEVICE_PENDING  0
#define OAS_DEVICE_APPROVED 1
#define OAS_DEVICE_DENIED   2

typedef struct oas_device_t {
    const char *issuer;
    const char *client_id;
    const char *scope;               /* resolved, may be "" */
    const char *user_code;           /* normalized: 8 letters, upper case, no dash */
    const char *username;            /* the user who decided; NULL while pending */
    int status;                      /* OAS_DEVICE_* */
    int interval;                    /* seconds, as told to the device */
    long long iat;
    long long exp;                   /* the device code's real expiry */
} oas_device_t;

/* A fresh user code from the CSPRNG: 8 letters of OAS_USER_CODE_ALPHABET
 * (upper case, no dash). */
apr_status_t oas_user_code_new(const char **pcode, apr_pool_t *p);

/* "BCDF-GHJK" for "BCDFGHJK". */
const char *oas_user_code_format(const char *code, apr_pool_t *p);

/* What a user typed, normalized: case, dashes and blanks ignored. NULL when
 * it cannot be a user code (other characters, wrong length). */
const char *oas_user_code_normalize(const char *typed, apr_pool_t *p);

/* The store keys. */
void oas_device_key(unsigned char key[OAS_DIGEST_LEN], const char *device_code);
void oas_user_code_key(unsigned char key[OAS_DIGEST_LEN], const char *issuer,
                       const char *code);

/* The record as a store entry (kind OAS_KIND_DEVICE_CODE, store expiry
 * d->exp + grace) and back. APR_EINVAL when it does not fit or is corrupt. */
apr_status_t oas_device_encode(oas_entry_t *e, const oas_device_t *d, long long grace,
                               apr_pool_t *p);
apr_status_t oas_device_decode(oas_device_t *d, const oas_entry_t *e, apr_pool_t *p);

/* Create a pending device grant: a device code and a user code, both stored
 * by digest until d->exp (d's issuer, client_id, scope, interval, iat, exp
 * set by the caller; d->user_code is filled). *pdevice_code gets the device
 * code. Store errors are returned. */
apr_status_t oas_device_create(const char **pdevice_code, oas_device_t *d,
                               const oas_config_t *cfg, apr_pool_t *p);

/* Look a typed user code up: APR_SUCCESS and *d (and dkey, the device
 * record's key) for a live pending grant of cfg's issuer; APR_NOTFOUND for
 * anything else (no such code, expired, decided, malformed); store errors
 * as they are. */
apr_status_t oas_device_by_user_code(oas_device_t *d, unsigned char dkey[OAS_DIGEST_LEN],
                                     const oas_config_t *cfg, const char *typed,
                                     long long now, apr_pool_t *p);

/* Record the user's decision: the user code is taken (single use: of two
 * decisions only the first gets APR_SUCCESS, the other APR_NOTFOUND), then
 * the record says approved or denied, by user. */
apr_status_t oas_device_decide(const oas_config_t *cfg, const char *user_code, int approve,
                               const char *user, long long now, apr_pool_t *p);

/* The polling rule of a pending grant (RFC 8628 §3.5): 1 when this poll
 * comes sooner than the interval after the one before; the interval then
 * grows by OAS_DEVICE_SLOW_STEP for this and later polls. 0: in time.
 * *pinterval gets the interval now in force. A store that fails lets the
 * poll through (0). */
int oas_device_too_fast(const oas_config_t *cfg, const char *device_code,
                        const oas_device_t *d, long long now, int *pinterval, apr_pool_t *p);

/* The token endpoint's part of the grant (src/endpoints/oas_ep_device.c):
 * look the device code up for client and answer authorization_pending,
 * slow_down, access_denied, expired_token or invalid_grant; or, when the
 * user approved, take the device code (single use: of simultaneous polls
 * exactly one gets NULL) and return NULL with *d filled, for the caller to
 * issue the tokens. */
oas_response_t *oas_device_redeem(oas_device_t *d, const oas_config_t *cfg,
                                  const oas_http_req_t *req, const char *device_code,
                                  const oas_client_t *client, apr_pool_t *p);

#endif
