/* mod_oauth_as_cimd.c — the directives of client metadata documents (SPEC §2,
 * §12): OAuthASClientMetadataDocuments On|Off [CIDR ...], OAuthASOutboundCA. */
#include <string.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include "mod_oauth_as_private.h"
#include "oas_fetch.h"

const char *oas_set_cimd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    oas_srv_conf_t *sc = oas_srv_conf(cmd->server);
    int i;

    if (argc < 1 || (strcasecmp(argv[0], "On") != 0 && strcasecmp(argv[0], "Off") != 0)) {
        return "OAuthASClientMetadataDocuments: On or Off, then address ranges (CIDR)";
    }
    sc->cimd = strcasecmp(argv[0], "On") == 0;
    if (!sc->cimd && argc > 1) {
        return "OAuthASClientMetadataDocuments Off takes no address ranges";
    }
    sc->cimd_nets = apr_array_make(cmd->pool, argc, sizeof(oas_cidr_t));
    for (i = 1; i < argc; i++) {
        oas_cidr_t *n = apr_array_push(sc->cimd_nets);
        const char *why = oas_cidr_parse(argv[i], n);
        if (why) {
            return apr_psprintf(cmd->pool, "OAuthASClientMetadataDocuments: '%s' %s",
                                argv[i], why);
        }
    }
    return NULL;
}

const char *oas_set_outbound_ca(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = oas_srv_conf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;

    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "OAuthASOutboundCA: '%s' is not a readable file", arg);
    }
    sc->outbound_ca = path;
    return NULL;
}

void oas_runtime_cimd(oas_config_t *rt, const oas_srv_conf_t *sc)
{
    rt->cimd = sc->cimd == 1;
    rt->cimd_nets = sc->cimd_nets;
    rt->outbound_ca = sc->outbound_ca;
    if (rt->cimd) {
        oas_fetch_global_init();
    }
}
