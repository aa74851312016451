/* oas_json.h — a writer for the flat JSON objects of the busiest answers
 * (token, introspection): members appended in order, compact, straight into
 * pool memory. The text is byte for byte what jansson's json_dumps() with
 * JSON_COMPACT | JSON_PRESERVE_ORDER writes for the same members, without
 * building and sorting a tree first (that took a third of the core's
 * instructions per token request; bench/callgrind-reference.txt). */
#ifndef OAS_JSON_H
#define OAS_JSON_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct oas_jw_t {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} oas_jw_t;

/* Start an object. */
void oas_jw_begin(oas_jw_t *w, apr_pool_t *p);

/* Append "name":"value" (escaped as jansson does). A value jansson would not
 * take (NULL, invalid UTF-8) leaves the member out, as json_object_set_new()
 * with json_string() of it does. name is written as is: a plain literal. */
void oas_jw_str(oas_jw_t *w, const char *name, const char *value);

/* 1 if oas_jw_str() writes value: not NULL and valid UTF-8 (jansson's own
 * check). User names that fail it are refused before anything is issued:
 * introspection must be able to answer them (SPEC §6). */
int oas_jw_str_ok(const char *value);

/* Append "name":123 / "name":true|false. */
void oas_jw_int(oas_jw_t *w, const char *name, long long value);
void oas_jw_bool(oas_jw_t *w, const char *name, int value);

/* Append "name":<v written by jansson, compact>; takes the reference to v
 * (NULL: nothing appended). For the few members that are not flat. */
void oas_jw_json(oas_jw_t *w, const char *name, json_t *v);

/* Close the object; the NUL-terminated text, from the pool. */
const char *oas_jw_end(oas_jw_t *w);

#endif
