/* fuzz_ep.h — the endpoint harnesses' server: a configuration with a real
 * registry and scopes (include/oas_proto.h), the in-memory store seeded
 * with known grants before every input, and a readable request format:
 *
 *   METHOD [http] [getok] [pkce-all|pkce-off] [big] [user=NAME]\n
 *   Header: value\n          (Authorization, Content-Type; any number)
 *   \n
 *   body (POST, and INTROSPECT and REVOKE of fuzz/resource.c) or query
 *   string (other methods)
 *
 * "http": not HTTPS; "getok": OAuthASRequirePost Off; "big": the glue saw
 * a body over the limit. Without a Content-Type header a POST gets the
 * form type; "Content-Type: -" sends none. */
#ifndef OAS_FUZZ_EP_H
#define OAS_FUZZ_EP_H

#include "fuzz.h"
#include "oas_proto.h"

#define FUZZ_NOW        1700000000LL
#define FUZZ_VERIFIER   "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define FUZZ_CHALLENGE  "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* The configuration (made once) with the store emptied and seeded again:
 * codes "code-web" (web, https://app.example/cb, S256 PKCE), "code-spa"
 * (spa, plain PKCE "plain-verifier-...") and "code-used" (a tombstone),
 * refresh tokens "rt-web" (limit 1), "rt-spa" (unlimited), "rt-used"
 * (tombstone), "rt-revoked" (its family revoked), access token "at-web". */
oas_config_t *fuzz_ep_config(void);

/* Parse data into req (strings from p); the request's log counts lines at
 * OAS_LOG_ERR or worse into fuzz_ep_errors. Returns 0 if data is not a request. */
int fuzz_ep_request(oas_http_req_t *req, oas_config_t *cfg, const uint8_t *data, size_t size,
                    apr_pool_t *p);
extern int fuzz_ep_errors;

/* Checks every JSON answer must pass: a known status, a JSON object body,
 * Cache-Control: no-store, "error" exactly on errors and its name matching. */
void fuzz_ep_check_json(const oas_response_t *r);

#endif
