/* mod_oauth_as_register.c — the directives of dynamic client registration
 * (SPEC §2, §12): OAuthASRegistrationGrants, OAuthASRegistrationScopes,
 * OAuthASRegistrationLimit, OAuthASRegistrationMaxIdle. */
#include <string.h>
#include <apr_strings.h>
#include "mod_oauth_as_private.h"

#define DEF_REG_GRANTS   (OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_REFRESH_TOKEN)
#define DEF_REG_LIMIT    10000
#define DEF_REG_MAX_IDLE 7776000LL       /* 90 days */
#define MAX_REG_LIMIT    100000000LL
#define MAX_REG_MAX_IDLE (10LL * 365 * 86400)

static oas_srv_conf_t *reg_conf(cmd_parms *cmd)
{
    return oas_srv_conf(cmd->server);
}

/* implicit and password are never for a client nobody vetted */
const char *oas_set_reg_grants(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = reg_conf(cmd);
    unsigned g = strcmp(arg, "refresh_token") == 0 ? OAS_GRANT_REFRESH_TOKEN
                                                   : oas_grant_from_name(arg);

    if (g == 0 || g == OAS_GRANT_IMPLICIT || g == OAS_GRANT_PASSWORD) {
        return apr_psprintf(cmd->pool, "OAuthASRegistrationGrants: '%s' is not one of "
                            "authorization_code, refresh_token, client_credentials, "
                            "urn:ietf:params:oauth:grant-type:device_code", arg);
    }
    sc->reg_grants = (sc->reg_grants == OAS_UNSET ? 0 : sc->reg_grants) | (int)g;
    return NULL;
}

const char *oas_set_reg_scopes(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = reg_conf(cmd);

    if (!sc->reg_scopes) {
        sc->reg_scopes = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->reg_scopes, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

const char *oas_set_reg_number(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = reg_conf(cmd);
    int limit = cmd->info != NULL;
    long long lo = limit ? 1 : 0, hi = limit ? MAX_REG_LIMIT : MAX_REG_MAX_IDLE;
    char *end = NULL;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number between %lld and %lld",
                            cmd->directive->directive, arg, lo, hi);
    }
    *(limit ? &sc->reg_limit : &sc->reg_max_idle) = v;
    return NULL;
}

void oas_runtime_registration(oas_config_t *rt, const oas_srv_conf_t *sc)
{
    rt->reg_grants = sc->reg_grants == OAS_UNSET ? DEF_REG_GRANTS : (unsigned)sc->reg_grants;
    rt->reg_scopes = sc->reg_scopes;
    rt->reg_limit = sc->reg_limit == OAS_UNSET ? DEF_REG_LIMIT : (long)sc->reg_limit;
    rt->reg_max_idle = sc->reg_max_idle == OAS_UNSET ? DEF_REG_MAX_IDLE : sc->reg_max_idle;
}
