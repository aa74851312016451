/* mod_oauth_as_log.c — the core's logger (oas_log.h) bound to httpd's error
 * log: for a server (start-up, background work) or for a request. A leaf of
 * the glue: every other glue file may use it, it uses none of them. */
#include "mod_oauth_as_private.h"
#include <http_log.h>
#include <http_request.h>

APLOG_USE_MODULE(oauth_as);

static void srv_log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                       const char *msg)
{
    ap_log_error_(file, line, APLOG_MODULE_INDEX, level, rv, (server_rec *)baton, "%s", msg);
}

void oas_server_logger(oas_logger_t *lg, server_rec *s)
{
    lg->cb = srv_log_cb;
    lg->baton = s;
    lg->level = ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
}

static void req_log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                       const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, rv, (request_rec *)baton, "%s", msg);
}

void oas_request_logger(oas_logger_t *lg, request_rec *r)
{
    lg->cb = req_log_cb;
    lg->baton = r;
    lg->level = ap_get_request_module_loglevel(r, APLOG_MODULE_INDEX);
}
