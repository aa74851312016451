/* oas_client_jwt.c — private_key_jwt client authentication (RFC 7523
 * §2.2, §3; SPEC §5): the assertion's checks. Failures are counted and
 * answered by oas_grant.c. JOSE only through oas_jose.h. */
#include <string.h>
#include <apr_strings.h>
#include "oas_dpop.h"
#include "oas_jose.h"

static const char *str_claim(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *oas_client_assertion_iss(const char *assertion, apr_pool_t *p)
{
    json_t *c = NULL;

    if (!assertion || oas_jose_claims_unverified(&c, assertion, p) != APR_SUCCESS) {
        return NULL;
    }
    return str_claim(c, "iss");
}

static int is_ours(const char *aud, const oas_config_t *cfg)
{
    return (cfg->issuer && strcmp(aud, cfg->issuer) == 0)
           || (cfg->url_token && strcmp(aud, cfg->url_token) == 0);
}

/* aud: a string or an array with the issuer or the token endpoint URL */
static int aud_ok(const json_t *aud, const oas_config_t *cfg)
{
    const json_t *v;
    size_t i;

    if (json_is_string(aud)) {
        return is_ours(json_string_value(aud), cfg);
    }
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && is_ours(json_string_value(v), cfg)) {
            return 1;
        }
    }
    return 0;
}

static const char *check_claims(const json_t *c, const oas_client_t *cl, const oas_config_t *cfg,
                                long long now, long long *pexp)
{
    const char *iss = str_claim(c, "iss"), *sub = str_claim(c, "sub");
    const char *jti = str_claim(c, "jti");
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");

    if (!iss || !sub || strcmp(iss, cl->client_id) != 0 || strcmp(sub, cl->client_id) != 0) {
        return "the assertion's iss and sub must both be the client_id";
    }
    if (!aud_ok(json_object_get(c, "aud"), cfg)) {
        return "the assertion's aud is neither the issuer nor the token endpoint";
    }
    if (!json_is_number(exp)) {
        return "the assertion has no exp";
    }
    *pexp = (long long)json_number_value(exp);
    if (*pexp <= now) {
        return "the assertion has expired";
    }
    if (*pexp > now + OAS_ASSERTION_MAX_LIFE) {
        return "the assertion's exp is more than 5 minutes ahead";
    }
    if (json_is_number(nbf) && (long long)json_number_value(nbf) > now + OAS_DPOP_WINDOW) {
        return "the assertion is not valid yet (nbf)";
    }
    if (!jti || !*jti || strlen(jti) > 256) {
        return "the assertion has no jti (or one over 256 characters)";
    }
    return NULL;
}

int oas_client_assertion_check(const oas_client_t *cl, const oas_config_t *cfg,
                               const char *assertion, long long now, apr_pool_t *p,
                               const char **pwhy, apr_status_t *prv)
{
    json_t *c = NULL;
    const char *why;
    long long exp = 0;

    *prv = APR_SUCCESS;
    if (!cl->jwks || oas_jose_verify(NULL, &c, assertion, cl->jwks, p, &why) != APR_SUCCESS) {
        *pwhy = apr_pstrcat(p, "the client assertion is not signed by a key of the client: ",
                            cl->jwks ? why : "no jwks", NULL);
        return 1;
    }
    if ((*pwhy = check_claims(c, cl, cfg, now, &exp))) {
        return 1;
    }
    *prv = oas_dpop_jti_use(cfg->store, OAS_PREFIX_ASSERTION, cl->client_id,
                            str_claim(c, "jti"), exp, p);
    if (*prv == APR_EEXIST) {
        *prv = APR_SUCCESS;
        *pwhy = "the assertion's jti was used before";
        return 1;
    }
    return *prv == APR_SUCCESS ? 0 : 2;
}
