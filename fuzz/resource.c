/* fuzz/resource.c — the resource-server side: the bearer check of a
 * protected request (oas_bearer_check), introspection (RFC 7662) and
 * revocation (RFC 7009) (include/oas_proto.h), against the seeded in-memory
 * store (fuzz/lib/fuzz_ep.h gives the input format; the first line's
 * method picks the endpoint: BEARER checks the Authorization header,
 * INTROSPECT and REVOKE are POSTs to those endpoints).
 * Properties: the bearer check gives one of its four results, OK only for
 * the seeded live access token "at-web" (never a refresh token or a code),
 * and never UNAVAILABLE with a healthy store; introspection and revocation
 * answer JSON with no-store and never 5xx; introspection changes nothing,
 * revocation only on 200; no error-level log line. */
#include <string.h>
#include <jansson.h>
#include "fuzz_ep.h"

static void bearer(const oas_config_t *cfg, const oas_http_req_t *req, apr_pool_t *p)
{
    oas_bearer_t b;
    unsigned long before = fuzz_store_digest();

    oas_bearer_check(&b, cfg, req->authorization, &req->log, p);
    FUZZ_CHECK(b.result == OAS_BEARER_OK || b.result == OAS_BEARER_NONE
               || b.result == OAS_BEARER_INVALID);
    if (b.result == OAS_BEARER_OK) {
        FUZZ_CHECK(b.token.kind == OAS_KIND_ACCESS);
        FUZZ_CHECK(strcmp(b.token.client_id, "web") == 0);
        FUZZ_CHECK(strstr(req->authorization, "at-web") != NULL);
    }
    else {
        FUZZ_CHECK(b.result == OAS_BEARER_NONE || b.error_description != NULL);
    }
    FUZZ_CHECK(fuzz_store_digest() == before);
}

static void endpoint(const oas_config_t *cfg, oas_http_req_t *req, int revoke, apr_pool_t *p)
{
    unsigned long before = fuzz_store_digest();
    oas_response_t *r;
    json_t *o;

    req->method = "POST";
    r = revoke ? oas_revoke_endpoint(cfg, req, p) : oas_introspect_endpoint(cfg, req, p);
    FUZZ_CHECK(r != NULL && r->headers != NULL);
    FUZZ_CHECK(r->status == 200 || r->status == 400 || r->status == 401 || r->status == 405);
    FUZZ_CHECK(strcmp(apr_table_get(r->headers, "Cache-Control"), "no-store") == 0);
    if (r->body_len > 0 || !revoke || r->status != 200) {
        o = json_loadb(r->body, r->body_len, 0, NULL);
        FUZZ_CHECK(o != NULL && json_is_object(o));
        FUZZ_CHECK((r->status == 200) == (json_object_get(o, "error") == NULL));
        if (!revoke && r->status == 200) {
            FUZZ_CHECK(json_is_boolean(json_object_get(o, "active")));
        }
        json_decref(o);
    }
    if (!revoke || r->status != 200) {
        FUZZ_CHECK(fuzz_store_digest() == before);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oas_config_t *cfg = fuzz_ep_config();
    oas_http_req_t req;

    apr_pool_create(&p, fuzz_pool_root());
    fuzz_ep_request(&req, cfg, data, size, p);
    if (strcmp(req.method, "INTROSPECT") == 0 || strcmp(req.method, "REVOKE") == 0) {
        int revoke = req.method[0] == 'R';
        endpoint(cfg, &req, revoke, p);
    }
    else {
        bearer(cfg, &req, p);
    }
    FUZZ_CHECK(fuzz_ep_errors == 0);
    apr_pool_destroy(p);
    return 0;
}
