/* oas_log.h — logging from the core, handed over as a callback.
 *
 * The core never includes httpd headers; the glue forwards these calls to
 * ap_log_rerror()/ap_log_error(). Levels have the same values as httpd's
 * APLOG_* so the glue can pass them through unchanged.
 *
 * Every call site carries its own tag, "OASnnnnn: ", see OASLOGNO().
 * Nothing secret (tokens, codes, secrets, passwords) is ever logged.
 */
#ifndef OAS_LOG_H
#define OAS_LOG_H

#include <apr_pools.h>
#include <apr_errno.h>

#define OAS_LOG_EMERG   0
#define OAS_LOG_ALERT   1
#define OAS_LOG_CRIT    2
#define OAS_LOG_ERR     3
#define OAS_LOG_WARNING 4
#define OAS_LOG_NOTICE  5
#define OAS_LOG_INFO    6
#define OAS_LOG_DEBUG   7
#define OAS_LOG_TRACE1  8

/* the module's own log tag, like httpd's APLOGNO(): OASLOGNO(00101) */
#define OASLOGNO(n) "OAS" #n ": "

typedef void oas_log_cb(void *baton, const char *file, int line, int level,
                        apr_status_t rv, const char *msg);

typedef struct oas_logger_t {
    oas_log_cb *cb;      /* NULL: logging is off */
    void *baton;         /* request_rec or server_rec in the glue */
    int level;           /* messages above this level are not formatted */
} oas_logger_t;

void oas_log(const oas_logger_t *lg, const char *file, int line, int level,
             apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define OAS_LOG(lg, level, rv, ...) \
    oas_log((lg), __FILE__, __LINE__, (level), (rv), __VA_ARGS__)

#endif
