/* oas_response.c — the one place that writes OAuth answers (JSON with
 * Cache-Control: no-store, RFC 6749 §5.1/§5.2), and the counters of what
 * was issued and refused. */
#include <apr_strings.h>
#include <jansson.h>
#include "oas_proto.h"

static const char *const error_names[OAS_ERR_MAX] = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "access_denied",
    "unsupported_response_type", "server_error", "temporarily_unavailable",
    "invalid_token", "insufficient_scope", "invalid_target", "authorization_pending",
    "slow_down", "expired_token", "invalid_dpop_proof", "use_dpop_nonce"
};

const char *oas_error_name(oas_error_t e)
{
    return (e >= 0 && e < OAS_ERR_MAX) ? error_names[e] : "server_error";
}

oas_response_t *oas_response_json(apr_pool_t *p, int status, const char *json)
{
    oas_response_t *r = apr_pcalloc(p, sizeof(*r));
    r->status = status;
    r->content_type = "application/json";
    r->body = json;
    r->body_len = strlen(json);
    r->headers = apr_table_make(p, 4);
    r->error = OAS_ERR_MAX;
    apr_table_setn(r->headers, "Cache-Control", "no-store");
    apr_table_setn(r->headers, "Pragma", "no-cache");
    return r;
}

/* Serialise a jansson object into pool memory and free it. */
static const char *dump_json(json_t *o, apr_pool_t *p)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *out = s ? apr_pstrdup(p, s) : "{}";
    free(s);
    json_decref(o);
    return out;
}

oas_response_t *oas_response_error(apr_pool_t *p, const oas_config_t *cfg, int status,
                                   oas_error_t err, const char *description)
{
    json_t *o = json_object();
    oas_response_t *r;

    json_object_set_new(o, "error", json_string(oas_error_name(err)));
    if (description) {
        json_object_set_new(o, "error_description", json_string(description));
    }
    r = oas_response_json(p, status, dump_json(o, p));
    r->error = err;
    r->log_note = description;
    if (status == 401 && err == OAS_ERR_INVALID_CLIENT) {
        apr_table_setn(r->headers, "WWW-Authenticate", "Basic realm=\"oauth\"");
    }
    if (cfg) {
        oas_count_error(cfg, err);
    }
    return r;
}

oas_response_t *oas_response_not_found(apr_pool_t *p)
{
    oas_response_t *r = apr_pcalloc(p, sizeof(*r));

    r->status = 404;
    r->headers = apr_table_make(p, 1);
    r->error = OAS_ERR_MAX;
    return r;
}

const char *oas_json_dump(json_t *o, apr_pool_t *p)
{
    return dump_json(o, p);
}

void oas_count_issued(const oas_config_t *cfg, unsigned grant)
{
    int i;
    if (!cfg->counters) {
        return;
    }
    switch (grant) {
    case OAS_GRANT_AUTHORIZATION_CODE: i = OAS_CNT_GRANT_AUTHORIZATION_CODE; break;
    case OAS_GRANT_IMPLICIT:           i = OAS_CNT_GRANT_IMPLICIT; break;
    case OAS_GRANT_CLIENT_CREDENTIALS: i = OAS_CNT_GRANT_CLIENT_CREDENTIALS; break;
    case OAS_GRANT_PASSWORD:           i = OAS_CNT_GRANT_PASSWORD; break;
    case OAS_GRANT_DEVICE_CODE:        i = OAS_CNT_GRANT_DEVICE_CODE; break;
    default:                           i = OAS_CNT_GRANT_REFRESH_TOKEN; break;
    }
    apr_atomic_inc32(&cfg->counters->issued[i]);
}

void oas_count_error(const oas_config_t *cfg, oas_error_t err)
{
    if (cfg->counters && err >= 0 && err < OAS_ERR_MAX) {
        apr_atomic_inc32(&cfg->counters->errors[err]);
    }
}
