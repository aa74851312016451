/* oas_bearer.c — the resource server's check of a bearer token (SPEC §7,
 * RFC 6750): one store lookup, no network hop. */
#include <string.h>
#include <apr_time.h>
#include "oas_dynclient.h"
#include "oas_cimd.h"
#include "oas_proto.h"
#include "oas_form.h"
#include "oas_dpop.h"
#include "oas_mtls.h"

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

static void lookup(oas_bearer_t *out, const oas_config_t *cfg, const char *value,
                   const oas_logger_t *log, apr_pool_t *p);

void oas_bearer_check(oas_bearer_t *out, const oas_config_t *cfg, const char *authorization,
                      const oas_logger_t *log, apr_pool_t *p)
{
    const char *value = NULL;
    apr_status_t rv;

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
    lookup(out, cfg, value, log, p);
}

static void lookup(oas_bearer_t *out, const oas_config_t *cfg, const char *value,
                   const oas_logger_t *log, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    const oas_client_t *c;
    oas_entry_t e;
    apr_status_t rv;
    int failed = 0;

    if (!cfg->store) {
        refuse(out, OAS_BEARER_UNAVAILABLE, "no token store");
        return;
    }
    oas_store_key(key, OAS_PREFIX_ACCESS, value);
    /* a token of another issuer sharing the store is unknown here (SPEC §7);
     * one of a revoked family too, asked for with the token (oas_store.h) */
    rv = oas_store_get_unrevoked(cfg->store, key, &e, p);
    rv = rv == APR_EACCES ? APR_NOTFOUND : rv;
    rv = oas_token_found(&e, &out->token, rv, cfg->issuer, p);
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

/* ---- DPoP (RFC 9449 §7) -------------------------------------------------- */

static void bad_proof(oas_bearer_t *out, const char *why)
{
    refuse(out, OAS_BEARER_INVALID, why);
    out->dpop = 1;
    out->bad_proof = 1;
}

/* the proof of a DPoP-scheme request, once its token is known good */
static void check_proof(oas_bearer_t *out, const oas_config_t *cfg, const oas_rs_req_t *rq,
                        const char *token, const oas_logger_t *log, apr_pool_t *p)
{
    oas_dpop_want_t want;
    oas_dpop_proof_t pr;
    const char *why = NULL;
    apr_status_t rv;

    if (!out->token.jkt) {
        refuse(out, OAS_BEARER_INVALID, "the token is not DPoP-bound");
        out->dpop = 1;
        return;
    }
    if (rq->dpop_count != 1) {
        bad_proof(out, rq->dpop_count ? "more than one DPoP header" : "no DPoP proof");
        return;
    }
    memset(&want, 0, sizeof(want));
    want.htm = rq->method;
    want.htu = rq->url;
    want.now = rq->now;
    want.access_token = token;
    if (oas_dpop_check(&pr, rq->dpop, &want, p, &why) != OAS_DPOP_OK) {
        bad_proof(out, why);
        return;
    }
    if (strcmp(pr.jkt, out->token.jkt) != 0) {
        bad_proof(out, "the proof's key is not the one the token is bound to");
        return;
    }
    rv = oas_dpop_jti_use(cfg->store, OAS_PREFIX_DPOP_JTI, pr.jkt, pr.jti,
                          pr.iat + OAS_DPOP_WINDOW + 1, p);
    if (rv == APR_EEXIST) {
        bad_proof(out, "the proof's jti was used");
    }
    else if (rv != APR_SUCCESS) {
        OAS_LOG(log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(08110)
                "DPoP check: the token store failed");
        refuse(out, OAS_BEARER_UNAVAILABLE, "token store failed");
    }
}

/* RFC 8705 §3: a certificate-bound token only over a connection presenting
 * that certificate */
static void check_x5t(oas_bearer_t *out, const oas_rs_req_t *rq, apr_pool_t *p)
{
    const char *x5t;

    if (out->result != OAS_BEARER_OK || !out->token.x5t) {
        return;
    }
    x5t = oas_mtls_x5t(rq->client_cert, p);
    if (!x5t || strcmp(x5t, out->token.x5t) != 0) {
        refuse(out, OAS_BEARER_INVALID, x5t ? "the token is bound to another TLS client "
               "certificate" : "the token is bound to a TLS client certificate: present it");
    }
}

static void token_check(oas_bearer_t *out, const oas_config_t *cfg, const oas_rs_req_t *rq,
                        const oas_logger_t *log, apr_pool_t *p)
{
    const char *token = NULL;
    apr_status_t rv = oas_dpop_auth_parse(rq->authorization, &token, p);

    if (rv == APR_ENOENT) {
        oas_bearer_check(out, cfg, rq->authorization, log, p);
        if (out->result == OAS_BEARER_OK && (out->token.jkt || rq->require_dpop)) {
            refuse(out, OAS_BEARER_INVALID, out->token.jkt
                   ? "a DPoP-bound token must be sent with the DPoP scheme and a proof"
                   : "this resource takes DPoP-bound tokens only");
        }
        return;
    }
    memset(out, 0, sizeof(*out));
    out->dpop = 1;
    if (rv != APR_SUCCESS) {
        refuse(out, OAS_BEARER_INVALID, "malformed DPoP token");
        out->dpop = 1;
        return;
    }
    lookup(out, cfg, token, log, p);
    out->dpop = 1;
    if (out->result == OAS_BEARER_OK) {
        check_proof(out, cfg, rq, token, log, p);
    }
}

void oas_token_check(oas_bearer_t *out, const oas_config_t *cfg, const oas_rs_req_t *rq,
                     const oas_logger_t *log, apr_pool_t *p)
{
    token_check(out, cfg, rq, log, p);
    check_x5t(out, rq, p);
}
