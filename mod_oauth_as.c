/* mod_oauth_as — Apache httpd as an OAuth 2.0 Authorization Server.
 *
 * This file registers the hooks and nothing else. The protocol, the store
 * and the client registry live in the core (include/, src/core, src/endpoints,
 * src/store), which knows nothing of httpd; src/httpd/ is the glue
 * (docs/architecture.md).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include "mod_oauth_as_private.h"

static void oas_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(oas_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(oas_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(oas_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(oas_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(oas_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(oas_handler, NULL, NULL, APR_HOOK_MIDDLE);
    oas_register_rs_hooks(p);
    oas_register_status_hook();
}

AP_DECLARE_MODULE(oauth_as) = {
    STANDARD20_MODULE_STUFF,
    oas_create_dir_conf,
    oas_merge_dir_conf,
    oas_create_srv_conf,
    oas_merge_srv_conf,
    oas_cmds,
    oas_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
