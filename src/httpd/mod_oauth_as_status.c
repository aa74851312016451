/* mod_oauth_as_status.c — the store's and the counters' figures in
 * mod_status' server-status page (HTML and ?auto). The same figures as the
 * oauth-as-status handler; never a token or a secret. */
#include "mod_oauth_as_private.h"
#include <apr_strings.h>
#include <apr_optional_hooks.h>
#include <http_protocol.h>
#include <mod_status.h>

APLOG_USE_MODULE(oauth_as);

static void line(request_rec *r, int flags, const char *name, long value)
{
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "OAuthAS%s: %ld\n", name, value);
    }
    else {
        ap_rprintf(r, "<tr><td>%s</td><td>%ld</td></tr>\n", name, value);
    }
}

static void store_lines(request_rec *r, int flags, const oas_store_stats_t *st)
{
    long mem = 0;
    int k;
    for (k = 0; k < OAS_KIND_MAX; k++) {
        mem += st->mem_entries[k];
    }
    line(r, flags, "MemoryEntries", mem);
    line(r, flags, "MemoryCodes", st->mem_entries[OAS_KIND_CODE]);
    line(r, flags, "MemoryAccessTokens", st->mem_entries[OAS_KIND_ACCESS]);
    line(r, flags, "MemoryRefreshTokens", st->mem_entries[OAS_KIND_REFRESH]);
    line(r, flags, "MemoryCapacity", st->mem_capacity);
    line(r, flags, "DiskEntries", st->disk_entries);
    line(r, flags, "DiskCapacity", st->disk_capacity);
    line(r, flags, "Purged", st->purged);
    line(r, flags, "StoreFull", st->full);
}

static void counter_lines(request_rec *r, int flags, const oas_counters_t *c)
{
    static const char *const grants[OAS_CNT_GRANT_MAX] = {
        "IssuedAuthorizationCode", "IssuedImplicit", "IssuedClientCredentials",
        "IssuedPassword", "IssuedRefreshToken", "IssuedDeviceCode"
    };
    int i;
    for (i = 0; i < OAS_CNT_GRANT_MAX; i++) {
        line(r, flags, grants[i], (long)c->issued[i]);
    }
    line(r, flags, "CodesIssued", (long)c->codes_issued);
    line(r, flags, "Introspections", (long)c->introspections);
    line(r, flags, "Revocations", (long)c->revocations);
    line(r, flags, "BearerAccepted", (long)c->bearer_ok);
    line(r, flags, "BearerRefused", (long)c->bearer_refused);
    line(r, flags, "AuthLockouts", (long)c->auth_lockouts);
    line(r, flags, "AuthRefused", (long)c->auth_refused);
    for (i = 0; i < OAS_ERR_MAX; i++) {
        line(r, flags, apr_pstrcat(r->pool, "Error_", oas_error_name((oas_error_t)i), NULL),
             (long)c->errors[i]);
    }
}

static int status_hook(request_rec *r, int flags)
{
    const oas_config_t *rt = oas_srv_conf(r->server)->rt;
    oas_store_stats_t st;

    if (!rt || !rt->store) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>OAuth authorization server (mod_oauth_as)</h2>\n<table>\n", r);
    }
    if (rt->store->stats(rt->store, &st) == APR_SUCCESS) {
        store_lines(r, flags, &st);
    }
    if (rt->counters) {
        counter_lines(r, flags, rt->counters);
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("</table>\n", r);
    }
    return OK;
}

void oas_register_status_hook(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
