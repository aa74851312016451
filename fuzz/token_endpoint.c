/* fuzz/token_endpoint.c — the token endpoint as a whole (oas_token_endpoint,
 * include/oas_proto.h): transport rules, the form parser, client
 * authentication (Basic), every grant, PKCE, refresh rotation and replay
 * detection, against the in-memory store seeded with known codes and
 * refresh tokens (fuzz/lib/fuzz_ep.h gives the input format).
 * Properties: an answer always, a JSON object with Cache-Control: no-store,
 * never a 5xx, no error-level log line; an error changes the store only
 * when it is invalid_grant (a replayed grant revokes its family). */
#include <string.h>
#include "fuzz_ep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oas_config_t *cfg = fuzz_ep_config();
    oas_http_req_t req;
    oas_response_t *r;
    unsigned long before;
    long n_before;

    apr_pool_create(&p, fuzz_pool_root());
    fuzz_ep_request(&req, cfg, data, size, p);
    before = fuzz_store_digest();
    n_before = fuzz_store_count();
    r = oas_token_endpoint(cfg, &req, p);
    fuzz_ep_check_json(r);
    FUZZ_CHECK(fuzz_ep_errors == 0);
    if (r->status != 200 && r->error != OAS_ERR_INVALID_GRANT) {
        FUZZ_CHECK(fuzz_store_digest() == before && fuzz_store_count() == n_before);
    }
    if (r->status == 401) {
        FUZZ_CHECK(apr_table_get(r->headers, "WWW-Authenticate") != NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
