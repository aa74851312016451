/* fuzz/store_entry.c — what the endpoints make of a store entry they did not
 * write: a damaged SDBM record, or a shared Redis/socache store written by
 * something else. oas_token_decode (include/oas_token.h) gets the payload,
 * then the same entry is put under a code, a refresh token and an access
 * token and used: the bearer check, the code and refresh grants of the
 * token endpoint, introspection.
 * Input: byte 0 the entry's kind, byte 1 its family (0: none, 4: the
 * seeded rt-web's, 7: a revoked one, other: that byte 16 times), then the
 * payload (at most OAS_ENTRY_MAX bytes are used).
 * Properties: a payload that decodes encodes back to the same bytes (one of
 * the layout before the audience: plus the absent audience); the
 * bearer check says OK only for a decodable access token of an enabled
 * client; every JSON answer is well-formed and never a 5xx. */
#include <string.h>
#include <apr_strings.h>
#include "fuzz_ep.h"
#include "oas_token.h"

static void put(const oas_config_t *cfg, const char *prefix, const char *value,
                const oas_entry_t *e, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_store_key(key, prefix, value);
    FUZZ_CHECK(cfg->store->put(cfg->store, key, e, p) == APR_SUCCESS);
}

static oas_response_t *token_post(const oas_config_t *cfg, const char *body, apr_pool_t *p)
{
    static const char REQ[] = "POST\nAuthorization: Basic d2ViOndlYi1zZWNyZXQ=\n\n";
    const char *in = apr_pstrcat(p, REQ, body, NULL);
    oas_http_req_t req;
    fuzz_ep_request(&req, (oas_config_t *)cfg, (const uint8_t *)in, strlen(in), p);
    return oas_token_endpoint(cfg, &req, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oas_config_t *cfg = fuzz_ep_config();
    oas_entry_t e, again;
    oas_token_t t;
    oas_bearer_t b;
    oas_http_req_t req;
    int decoded;

    if (size < 2) {
        return 0;
    }
    apr_pool_create(&p, fuzz_pool_root());
    memset(&e, 0, sizeof(e));
    e.kind = data[0] % OAS_KIND_MAX;
    e.exp = (data[0] & 0x80) ? 0 : FUZZ_NOW + 60;
    memset(e.family, data[1], OAS_FAMILY_LEN);
    e.len = size - 2 > OAS_ENTRY_MAX ? OAS_ENTRY_MAX : size - 2;
    e.data = memcpy(apr_palloc(p, e.len + 1), data + 2, e.len);

    decoded = oas_token_decode(&t, &e, p) == APR_SUCCESS;
    if (decoded) {
        FUZZ_CHECK(t.client_id != NULL && t.kind == e.kind);
        FUZZ_CHECK(oas_token_encode(&again, &t, p) == APR_SUCCESS);
        /* optional trailing fields (oas_token.c: audience, refreshes, jkt, x5t)
         * may come back normalised (an absent one appended as NULL, an unknown
         * count dropped): what decodes again must encode to the same bytes */
        {
            oas_token_t t2;
            oas_entry_t third;
            FUZZ_CHECK(oas_token_decode(&t2, &again, p) == APR_SUCCESS
                       && strcmp(t2.client_id, t.client_id) == 0);
            FUZZ_CHECK(oas_token_encode(&third, &t2, p) == APR_SUCCESS
                       && third.len == again.len
                       && memcmp(third.data, again.data, again.len) == 0);
        }
    }
    put(cfg, OAS_PREFIX_CODE, "code-fuzz", &e, p);
    put(cfg, OAS_PREFIX_REFRESH, "rt-fuzz", &e, p);
    put(cfg, OAS_PREFIX_ACCESS, "at-fuzz", &e, p);

    memset(&req, 0, sizeof(req));
    req.now = FUZZ_NOW;
    oas_bearer_check(&b, cfg, "Bearer at-fuzz", &req.log, p);
    FUZZ_CHECK(b.result == OAS_BEARER_OK || b.result == OAS_BEARER_INVALID);
    if (b.result == OAS_BEARER_OK) {
        const oas_client_t *c = oas_registry_get(cfg->registry, b.token.client_id);
        FUZZ_CHECK(decoded && e.kind == OAS_KIND_ACCESS && c != NULL && c->enabled);
    }
    fuzz_ep_check_json(token_post(cfg, "grant_type=authorization_code&code=code-fuzz"
                                  "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier="
                                  FUZZ_VERIFIER, p));
    fuzz_ep_check_json(token_post(cfg, "grant_type=authorization_code&code=code-fuzz", p));
    fuzz_ep_check_json(token_post(cfg, "grant_type=refresh_token&refresh_token=rt-fuzz", p));
    fuzz_ep_check_json(token_post(cfg, "grant_type=refresh_token&refresh_token=rt-fuzz"
                                  "&scope=read", p));
    {
        static const char IN[] = "INTROSPECT\nAuthorization: Basic d2ViOndlYi1zZWNyZXQ=\n\n"
                                 "token=at-fuzz";
        oas_response_t *r;
        fuzz_ep_request(&req, cfg, (const uint8_t *)IN, sizeof(IN) - 1, p);
        req.method = "POST";
        r = oas_introspect_endpoint(cfg, &req, p);
        FUZZ_CHECK(r->status == 200);
    }
    apr_pool_destroy(p);
    return 0;
}
