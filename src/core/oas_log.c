/* oas_log.c — logging from the core through the glue's callback. */
#include <stdarg.h>
#include <stdio.h>

#include "oas_log.h"

#define OAS_LOG_BUF 1024

void oas_log(const oas_logger_t *lg, const char *file, int line, int level,
             apr_status_t rv, const char *fmt, ...)
{
    char buf[OAS_LOG_BUF];
    va_list ap;

    if (lg == NULL || lg->cb == NULL || level > lg->level || fmt == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);   /* truncates safely */
    va_end(ap);
    lg->cb(lg->baton, file, line, level, rv, buf);
}
