/* mod_oas_bench.c — the benchmark's baseline (bench/run): httpd's own ceiling
 * for a request shaped like a token request.
 *
 *   <Location /bench>
 *       SetHandler oas-bench
 *   </Location>
 *
 * It reads the POST body the way mod_oauth_as' glue does (up to 64 KiB) and
 * answers a fixed JSON body of the size of a token response, with the same
 * Cache-Control/Pragma headers. Nothing else: no parsing, no store, no crypto.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <apr_strings.h>

#define BENCH_MAX_BODY (64 * 1024)

/* as long as {"access_token":43 base64url chars,"token_type":"Bearer","expires_in":3600,
 * "scope":"read write"} */
static const char ANSWER[] =
    "{\"access_token\":\"bench-bench-bench-bench-bench-bench-bench-bench\","
    "\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"read write\"}";

static int read_body(request_rec *r, apr_size_t *plen)
{
    char *buf;
    long n;
    int rc;

    *plen = 0;
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rc;
    }
    if (!ap_should_client_block(r)) {
        return OK;
    }
    buf = apr_palloc(r->pool, BENCH_MAX_BODY + 1);
    while (*plen < BENCH_MAX_BODY
           && (n = ap_get_client_block(r, buf + *plen, BENCH_MAX_BODY - *plen)) > 0) {
        *plen += (apr_size_t)n;
    }
    return OK;
}

static int bench_handler(request_rec *r)
{
    apr_size_t len;
    int rc;

    if (!r->handler || strcmp(r->handler, "oas-bench") != 0) {
        return DECLINED;
    }
    if ((rc = read_body(r, &len)) != OK) {
        return rc;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Pragma", "no-cache");
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, sizeof(ANSWER) - 1);
    if (!r->header_only) {
        ap_rwrite(ANSWER, (int)(sizeof(ANSWER) - 1), r);
    }
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_handler(bench_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(oas_bench) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    0
#endif
};
