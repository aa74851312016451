/* oas_par.c — a pushed authorization request's store entry (RFC 9126, SPEC
 * §14; the layout is in oas_par.h): made by the PAR endpoint (oas_ep_par.c),
 * taken once by the authorization endpoint. Both endpoints call this file,
 * which calls neither. */
#include <string.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include "oas_form.h"
#include "oas_par.h"

/* Parameters never kept with a push: client authentication, the request_uri
 * refused by the endpoint, and what only the approval form carries.
 * client_id is kept apart, as the client the request is bound to. */
static const char *const not_kept[] = {
    "client_id", "client_secret", "client_assertion", "client_assertion_type",
    "request_uri", "decision", "csrf", NULL
};

/* A pushed request as its store entry holds it. */
typedef struct pushed_t {
    const char *issuer;
    const char *client_id;
    const char *params;
} pushed_t;

typedef struct keep_ctx_t {
    apr_array_header_t *parts;      /* the kept parameters, form-encoded */
    apr_pool_t *p;
} keep_ctx_t;

static int keep_one(void *ctx, const char *name, const char *value)
{
    keep_ctx_t *x = ctx;
    int i;

    for (i = 0; not_kept[i]; i++) {
        if (strcmp(name, not_kept[i]) == 0) {
            return 1;
        }
    }
    APR_ARRAY_PUSH(x->parts, const char *) =
        apr_pstrcat(x->p, apr_pescape_urlencoded(x->p, name), "=",
                    apr_pescape_urlencoded(x->p, value), NULL);
    return 1;
}

apr_status_t oas_par_encode(oas_entry_t *e, const oas_config_t *cfg, const char *client_id,
                            apr_table_t *params, long long exp, apr_pool_t *p)
{
    keep_ctx_t x = { apr_array_make(p, 8, sizeof(const char *)), p };
    const char *kept;
    apr_size_t n1 = strlen(cfg->issuer) + 1, n2 = strlen(client_id) + 1, n3;
    char *buf;

    apr_table_do(keep_one, &x, params, NULL);
    kept = apr_array_pstrcat(p, x.parts, '&');
    n3 = strlen(kept);
    if (n1 + n2 + n3 > OAS_ENTRY_MAX) {
        return APR_ENAMETOOLONG;
    }
    buf = apr_palloc(p, n1 + n2 + n3 + 1);
    memcpy(buf, cfg->issuer, n1);
    memcpy(buf + n1, client_id, n2);
    memcpy(buf + n1 + n2, kept, n3 + 1);
    memset(e, 0, sizeof(*e));
    e->kind = OAS_KIND_PAR;
    e->exp = exp;
    e->data = buf;
    e->len = n1 + n2 + n3;
    return APR_SUCCESS;
}

static apr_status_t decode(pushed_t *pu, const oas_entry_t *e, apr_pool_t *p)
{
    const char *s = apr_pstrmemdup(p, e->data, e->len), *end = s + e->len;

    if (e->kind != OAS_KIND_PAR) {
        return APR_EINVAL;
    }
    pu->issuer = s;
    pu->client_id = s + strlen(s) + 1;
    if (pu->client_id >= end) {
        return APR_EINVAL;
    }
    pu->params = pu->client_id + strlen(pu->client_id) + 1;
    return pu->params <= end ? APR_SUCCESS : APR_EINVAL;
}

int oas_par_take(apr_table_t **pparams, const oas_config_t *cfg, const char *request_uri,
                 const char *client_id, apr_status_t *prv, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e, got;
    pushed_t pu;
    const char *err = NULL;

    oas_store_key(key, OAS_PREFIX_PAR, request_uri);
    if ((*prv = cfg->store->get(cfg->store, key, &e, p)) != APR_SUCCESS) {
        return *prv == APR_NOTFOUND ? OAS_PAR_UNKNOWN : OAS_PAR_STORE;
    }
    if (decode(&pu, &e, p) != APR_SUCCESS || strcmp(pu.issuer, cfg->issuer) != 0) {
        return OAS_PAR_UNKNOWN;
    }
    if (strcmp(pu.client_id, client_id) != 0) {
        return OAS_PAR_OTHER_CLIENT;
    }
    /* single use: of simultaneous takers exactly one gets it */
    if ((*prv = cfg->store->consume(cfg->store, key, &got, NULL, p)) != APR_SUCCESS) {
        return *prv == APR_NOTFOUND ? OAS_PAR_UNKNOWN : OAS_PAR_STORE;
    }
    if (decode(&pu, &got, p) != APR_SUCCESS
        || oas_form_parse(pparams, pu.params, strlen(pu.params), p, &err) != APR_SUCCESS) {
        return OAS_PAR_UNKNOWN;
    }
    apr_table_setn(*pparams, "client_id", pu.client_id);
    return OAS_PAR_OK;
}
