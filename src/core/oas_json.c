/* oas_json.c — the flat JSON object writer (oas_json.h). Strings of
 * printable ASCII without '"' and '\' are copied as they are; anything else
 * (control bytes, UTF-8) is escaped by jansson itself, so both paths write
 * what json_dumps() would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "oas_json.h"

static void jw_put(oas_jw_t *w, const char *s, apr_size_t n)
{
    char *nb;

    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap) {
            w->cap *= 2;
        }
        nb = apr_palloc(w->p, w->cap);
        memcpy(nb, w->buf, w->len);
        w->buf = nb;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* , "name": */
static void jw_name(oas_jw_t *w, const char *name)
{
    if (w->len > 1) {
        jw_put(w, ",", 1);
    }
    jw_put(w, "\"", 1);
    jw_put(w, name, strlen(name));
    jw_put(w, "\":", 2);
}

static int jw_plain(const char *s)
{
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\') {
            return 0;
        }
    }
    return 1;
}

void oas_jw_begin(oas_jw_t *w, apr_pool_t *p)
{
    w->p = p;
    w->cap = 256;
    w->buf = apr_palloc(p, w->cap);
    w->len = 0;
    jw_put(w, "{", 1);
}

void oas_jw_str(oas_jw_t *w, const char *name, const char *value)
{
    json_t *j;
    char *q;

    if (value == NULL) {
        return;
    }
    if (jw_plain(value)) {
        jw_name(w, name);
        jw_put(w, "\"", 1);
        jw_put(w, value, strlen(value));
        jw_put(w, "\"", 1);
        return;
    }
    if ((j = json_string(value)) == NULL) {
        return;
    }
    if ((q = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
        jw_name(w, name);
        jw_put(w, q, strlen(q));
        free(q);
    }
    json_decref(j);
}

int oas_jw_str_ok(const char *value)
{
    json_t *j;

    if (value == NULL) {
        return 0;
    }
    if (jw_plain(value)) {
        return 1;
    }
    if ((j = json_string(value)) == NULL) {
        return 0;
    }
    json_decref(j);
    return 1;
}

void oas_jw_int(oas_jw_t *w, const char *name, long long value)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", value);

    jw_name(w, name);
    jw_put(w, num, (apr_size_t)n);
}

void oas_jw_bool(oas_jw_t *w, const char *name, int value)
{
    jw_name(w, name);
    jw_put(w, value ? "true" : "false", value ? 4 : 5);
}

void oas_jw_json(oas_jw_t *w, const char *name, json_t *v)
{
    char *q;

    if (v == NULL) {
        return;
    }
    if ((q = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)) != NULL) {
        jw_name(w, name);
        jw_put(w, q, strlen(q));
        free(q);
    }
    json_decref(v);
}

const char *oas_jw_end(oas_jw_t *w)
{
    jw_put(w, "}", 1);
    w->buf[w->len] = '\0';
    return w->buf;
}
