/* oas_bearer.c — the resource server's check of a bearer token (SPEC §7,
 * RFC 6750): one store lookup, no network hop. */
#include <string.h>
#include <apr_time.h>
#include "oas_dynclient.h"
#include "oas_cimd.h"
#include "oas_proto.h"
#include "oas_form.h"

/* A refusal carries no token data (out->token is filled only when OK). */
static void refuse(oas_bearer_t *out, int result, const char *why)
{
    memset(&out->token, 0, sizeof(out->token));
    out->result = result;
    out->error_description = why;
}

/* Past its own exp, whatever a backend's TTL did. */
static int expired(const oas_token_t *t)
{
    return t->exp != 0 && t->exp <= (long long)apr_time_sec(apr_time_now());
}

void oas_bearer_check(oas_bearer_t *out, const oas_config_t *cfg, const char *authorization,
                      const oas_logger_t *log, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    const oas_client_t *c;
    const char *value = NULL;
    oas_entry_t e;
    apr_status_t rv;
    int failed = 0;

    memset(out, 0, sizeof(*out));
    rv = oas_bearer_parse(authorization, &value, p);
    if (rv == APR_ENOENT) {
        refuse(out, OAS_BEARER_NONE, NULL);
        return;
    }
    if (rv != APR_SUCCESS) {
        refuse(out, OAS_BEARER_INVALID, "malformed bearer token");
        return;
    }
    if (!cfg->store) {
        refuse(out, OAS_BEARER_UNAVAILABLE, "no token store");
        return;
    }
    oas_store_key(key, OAS_PREFIX_ACCESS, value);
    /* a token of another issuer sharing the store is unknown here (SPEC §7) */
    rv = oas_token_lookup(&e, &out->token, cfg->store, key, cfg->issuer, p);
    if (rv != APR_SUCCESS) {
        refuse(out, rv == APR_NOTFOUND ? OAS_BEARER_INVALID : OAS_BEARER_UNAVAILABLE,
               rv == APR_NOTFOUND ? "unknown, expired or revoked token" : "token store failed");
        if (rv != APR_NOTFOUND) {
            OAS_LOG(log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(00430) "bearer check: the token store failed");
        }
        return;
    }
    if (e.kind != OAS_KIND_ACCESS) {
        refuse(out, OAS_BEARER_INVALID, "unknown, expired or revoked token");
        return;
    }
    if (expired(&out->token)) {
        refuse(out, OAS_BEARER_INVALID, "unknown, expired or revoked token");
        return;
    }
    if ((rv = oas_store_family_revoked(cfg->store, out->token.family, p)) != APR_SUCCESS) {
        refuse(out, rv == APR_EACCES ? OAS_BEARER_INVALID : OAS_BEARER_UNAVAILABLE,
               rv == APR_EACCES ? "unknown, expired or revoked token" : "token store failed");
        if (rv != APR_EACCES) {
            OAS_LOG(log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(00431) "bearer check: the token store failed");
        }
        return;
    }
    if (cfg->cimd && oas_cimd_is_url(out->token.client_id)) {
        /* a client of a metadata document: nothing to disable, and a resource
         * request fetches nothing */
        out->result = OAS_BEARER_OK;
        return;
    }
    c = oas_client_find(cfg, out->token.client_id, &failed, p);
    if (failed) {
        refuse(out, OAS_BEARER_UNAVAILABLE, "token store failed");
        return;
    }
    if (!c || !c->enabled) {
        refuse(out, OAS_BEARER_INVALID, "the token's client is disabled");
        return;
    }
    out->result = OAS_BEARER_OK;
}
