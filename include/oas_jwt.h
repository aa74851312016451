/* oas_jwt.h — JWT access tokens (RFC 9068, SPEC §10). */
#ifndef OAS_JWT_H
#define OAS_JWT_H

#include "oas_proto.h"
#include "oas_json.h"

/* OAS_FORMAT_* of client's access tokens: its access_token_format, else
 * the server's OAuthASAccessTokenFormat. */
int oas_access_format(const oas_config_t *cfg, const oas_client_t *client);

/* The string of a new access token for t (iat, exp, client_id, username,
 * scope filled): a JWT signed with the first signing key when the format
 * is jwt (auth_time > 0: when the user signed in), else a random opaque
 * token. NULL on failure. */
const char *oas_access_token_new(const oas_config_t *cfg, const oas_client_t *client,
                                 const oas_token_t *t, long long auth_time, apr_pool_t *p);

/* Introspection of a JWT access token the store knows: its jti appended to
 * o (aud comes from the record, as for every token). Nothing for an opaque
 * token. */
void oas_jwt_introspect_claims(oas_jw_t *o, const char *token, apr_pool_t *p);

#endif
