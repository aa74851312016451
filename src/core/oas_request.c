/* oas_request.c — the transport rules every endpoint shares, in one place:
 * HTTPS, the method, a POST's size and content type, then the one form
 * parser over the body (POST) or the query (GET). Each endpoint renders a
 * refusal in its own format (JSON, or the authorization endpoint's HTML). */
#include <string.h>
#include <apr_time.h>
#include "oas_grant.h"
#include "oas_form.h"

static int refuse(oas_req_problem_t *prob, int status, const char *why, const char *allow)
{
    prob->status = status;
    prob->why = why;
    prob->allow = allow;
    return 1;
}

static const char *allow_header(unsigned allow)
{
    if ((allow & OAS_ALLOW_GET) && (allow & OAS_ALLOW_POST)) {
        return "GET, POST";
    }
    return (allow & OAS_ALLOW_POST) ? "POST" : "GET, HEAD";
}

static int method_allowed(const char *m, unsigned allow)
{
    return ((allow & OAS_ALLOW_POST) && strcmp(m, "POST") == 0)
        || ((allow & OAS_ALLOW_GET) && strcmp(m, "GET") == 0)
        || ((allow & OAS_ALLOW_HEAD) && strcmp(m, "HEAD") == 0);
}

int oas_request_params(apr_table_t **pparams, oas_req_problem_t *prob, const oas_config_t *cfg,
                       const oas_http_req_t *req, unsigned allow, apr_pool_t *p)
{
    const char *m = req->method ? req->method : "";
    int is_post = strcmp(m, "POST") == 0;
    const char *data = is_post ? req->body : req->query;
    apr_size_t len = is_post ? req->body_len : (data ? strlen(data) : 0);
    const char *err = NULL;

    if (cfg->require_https && !req->is_https) {
        return refuse(prob, 400, "this endpoint requires HTTPS", NULL);
    }
    if (!method_allowed(m, allow)) {
        return refuse(prob, 405, "method not allowed at this endpoint", allow_header(allow));
    }
    if (is_post && req->body_too_large) {
        return refuse(prob, 400, "request body larger than 64 KiB", NULL);
    }
    if (is_post && req->body_unreadable) {
        return refuse(prob, 400, "the request body could not be read (malformed, or too slow)",
                      NULL);
    }
    if (is_post && !oas_form_is_urlencoded(req->content_type)) {
        return refuse(prob, 400, "content type must be application/x-www-form-urlencoded",
                      NULL);
    }
    if (pparams && oas_form_parse(pparams, data ? data : "", data ? len : 0, p, &err)
        != APR_SUCCESS) {
        return refuse(prob, 400, err ? err : "malformed parameters", NULL);
    }
    return 0;
}

oas_response_t *oas_response_problem(const oas_config_t *cfg, const oas_req_problem_t *prob,
                                     apr_pool_t *p)
{
    oas_response_t *r = oas_response_error(p, cfg, prob->status, OAS_ERR_INVALID_REQUEST,
                                           prob->why);
    if (prob->allow) {
        apr_table_setn(r->headers, "Allow", prob->allow);
    }
    return r;
}

long long oas_req_now(const oas_http_req_t *req)
{
    return req->now ? req->now : (long long)apr_time_sec(apr_time_now());
}
