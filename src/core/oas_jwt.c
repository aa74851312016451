/* oas_jwt.c — JWT access tokens (RFC 9068, SPEC §10): the one place that
 * decides an access token's format and makes its string. A JWT is recorded
 * in the store by its digest exactly like an opaque token, so revocation,
 * introspection and the access hook need not know which it is. */
#include <string.h>
#include <apr_strings.h>
#include "oas_jose.h"
#include "oas_jwt.h"
#include "oas_mtls.h"
#include "oas_resource.h"
#include "oas_util.h"

#define JTI_BYTES 16

int oas_access_format(const oas_config_t *cfg, const oas_client_t *client)
{
    if (client && client->access_token_format >= 0) {
        return client->access_token_format;
    }
    return cfg->token_format;
}

/* The claims of RFC 9068 §2.2 for t. aud: the token's audience (SPEC §11),
 * a string for one resource, an array for several. */
static json_t *claims_of(const oas_config_t *cfg, const oas_token_t *t, long long auth_time,
                         const char *jti, apr_pool_t *p)
{
    json_t *c = json_object();

    json_object_set_new(c, "iss", json_string(cfg->issuer));
    json_object_set_new(c, "sub", json_string(t->username ? t->username : t->client_id));
    json_object_set_new(c, "aud", oas_aud_json(oas_token_aud(t, cfg, p)));
    json_object_set_new(c, "client_id", json_string(t->client_id));
    json_object_set_new(c, "scope", json_string(t->scope ? t->scope : ""));
    json_object_set_new(c, "iat", json_integer(t->iat));
    json_object_set_new(c, "exp", json_integer(t->exp));
    json_object_set_new(c, "jti", json_string(jti));
    if (t->jkt || t->x5t) {      /* RFC 9449 §6.1, RFC 8705 §3.1 */
        json_object_set_new(c, "cnf", oas_token_cnf(t));
    }
    if (t->username && auth_time > 0) {
        json_object_set_new(c, "auth_time", json_integer(auth_time));
    }
    return c;
}

static const char *jwt_new(const oas_config_t *cfg, const oas_token_t *t, long long auth_time,
                           apr_pool_t *p)
{
    const char *jti = oas_random_token(p, JTI_BYTES), *jws = NULL;
    json_t *hdr, *claims;

    if (!jti || cfg->nsigning_keys < 1 || t->exp == 0) {
        return NULL;    /* start-up refuses JWT without a key or with no expiry */
    }
    hdr = json_pack("{s:s}", "typ", "at+jwt");
    claims = claims_of(cfg, t, auth_time, jti, p);
    if (oas_jose_sign(&jws, cfg->signing_keys[0], hdr, claims, p) != APR_SUCCESS) {
        jws = NULL;
    }
    json_decref(hdr);
    json_decref(claims);
    return jws;
}

const char *oas_access_token_new(const oas_config_t *cfg, const oas_client_t *client,
                                 const oas_token_t *t, long long auth_time, apr_pool_t *p)
{
    if (oas_access_format(cfg, client) == OAS_FORMAT_JWT) {
        return jwt_new(cfg, t, auth_time, p);
    }
    return oas_random_token(p, OAS_TOKEN_BYTES);
}

/* The claim that introspection adds (jti; aud comes from the record) of a JWT access token
 * that the store knows (its digest was found: it is ours, as issued). */
void oas_jwt_introspect_claims(oas_jw_t *o, const char *token, apr_pool_t *p)
{
    json_t *claims = NULL;

    if (!strchr(token, '.') || oas_jose_claims_unverified(&claims, token, p) != APR_SUCCESS) {
        return;
    }
    oas_jw_str(o, "jti", json_string_value(json_object_get(claims, "jti")));
}
