/* oas_dynclient.h — self-registered clients (RFC 7591/7592, SPEC §12) in the
 * store: one OAS_KIND_CLIENT entry per client, keyed by a digest of the
 * issuer and the client id (a client of one issuer is unknown at another),
 * and the one lookup every endpoint uses: the registry first, then the store. */
#ifndef OAS_DYNCLIENT_H
#define OAS_DYNCLIENT_H

#include <apr_pools.h>
#include <jansson.h>
#include "oas_proto.h"

#define OAS_DYNCLIENT_TOUCH_EVERY 86400   /* a used client's expiry moves at most once a day */

/* The client with this id: the registry's, or else a self-registered one of
 * cfg's issuer from the store; NULL when neither (or the store failed: then
 * *pfailed, which may be NULL, is set to 1). Disabled clients are returned. */
const oas_client_t *oas_client_find(const oas_config_t *cfg, const char *client_id,
                                    int *pfailed, apr_pool_t *p);

/* As oas_client_find, with no way to tell a store failure. */
const oas_client_t *oas_client_get(const oas_config_t *cfg, const char *client_id,
                                   apr_pool_t *p);

/* The store key of a self-registered client of issuer. */
void oas_dynclient_key(unsigned char key[OAS_DIGEST_LEN], const char *issuer,
                       const char *client_id);

/* The client a store entry holds (NULL: not one of issuer's, or malformed;
 * issuer NULL: any issuer's). */
oas_client_t *oas_dynclient_decode(const oas_entry_t *e, const char *issuer, apr_pool_t *p);

/* The record of a client: meta is the registered metadata (RFC 7591 §2
 * names, as answered); secret_hash NULL for a public client. Fills *e (its
 * exp: now + max_idle, 0 when max_idle is 0). APR_ENOSPC when the record
 * is larger than a store entry may be. */
apr_status_t oas_dynclient_encode(oas_entry_t *e, const char *issuer, const char *client_id,
                                  long long issued_at, const char *secret_hash,
                                  const char *token_digest, json_t *meta, long long now,
                                  long long max_idle, apr_pool_t *p);

/* Hex SHA-256 of a registration access token, as records keep it. */
const char *oas_dynclient_token_digest(const char *token, apr_pool_t *p);

/* A client was used (a token issued): when its expiry is more than a day
 * older than max_idle allows, move it to now + max_idle. Cheap otherwise. */
void oas_dynclient_touch(const oas_config_t *cfg, const oas_client_t *c, long long now,
                         apr_pool_t *p);

/* How many self-registered clients of cfg's issuer the store holds: by
 * iteration where the store can iterate, else the registrations counted in
 * the last max_idle seconds (an upper bound). */
apr_status_t oas_dynclient_count(const oas_config_t *cfg, long *pn, apr_pool_t *p);

/* Count one registration (stores that cannot iterate; no-op elsewhere). */
void oas_dynclient_counted(const oas_config_t *cfg, long long now, apr_pool_t *p);

/* What is wrong with submitted metadata: code is "invalid_redirect_uri" or
 * "invalid_client_metadata" (RFC 7591 §3.2.2). */
typedef struct oas_regmeta_error_t {
    const char *code;
    const char *description;
} oas_regmeta_error_t;

/* The metadata to register from a submitted JSON value, by SPEC §12's rules
 * (oas_regmeta.c): a new object holding every field that is kept, with
 * defaults filled in (token_endpoint_auth_method client_secret_basic,
 * grant_types [authorization_code], response_types, scope: every scope a
 * self-registered client may hold), or NULL and *err. */
json_t *oas_regmeta_check(const oas_config_t *cfg, json_t *in, oas_regmeta_error_t *err,
                          apr_pool_t *p);

#endif
