/* oas_form.h — the one parser for outside input: form bodies and query
 * strings, HTTP Basic credentials, Bearer credentials. */
#ifndef OAS_FORM_H
#define OAS_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

#define OAS_FORM_MAX_BODY   (64 * 1024)   /* bodies above this are refused */
#define OAS_PARAM_MAX_LEN   4096          /* a single decoded value above this is refused */
#define OAS_PARAM_MAX_COUNT 64            /* more parameters than this are refused */
#define OAS_FORM_REPEATABLE "resource"    /* the one parameter that may be repeated (RFC 8707) */

/* Parse application/x-www-form-urlencoded data (a body or a query string).
 * '+' is a space, %XX is decoded. Parameters sent without a value are
 * treated as omitted (RFC 6749 §3.1). Fails with APR_EINVAL and a message in
 * *perr (safe to show to a client, never echoes values) when: a parameter
 * name appears twice (even if one of them is empty; except OAS_FORM_REPEATABLE,
 * whose values are all kept, in order, under any spelling of its case, as
 * apr tables match names), percent-encoding is bad,
 * a decoded name or value contains NUL or other control characters
 * (except none: all of 0x00-0x1F and 0x7F are refused), a value is longer
 * than OAS_PARAM_MAX_LEN, there are more than OAS_PARAM_MAX_COUNT parameters,
 * or a name is empty. On success *pt holds each parameter once. */
apr_status_t oas_form_parse(apr_table_t **pt, const char *data, apr_size_t len,
                            apr_pool_t *p, const char **perr);

/* 1 if content_type is application/x-www-form-urlencoded (case-insensitive,
 * parameters such as "; charset=UTF-8" allowed); 0 otherwise or NULL. */
int oas_form_is_urlencoded(const char *content_type);

/* Parse an Authorization header value for HTTP Basic (RFC 7617) with the
 * client_id/secret form-urlencoding of RFC 6749 §2.3.1.
 *   APR_SUCCESS: *puser, *ppass set (decoded, NUL-free, user non-empty)
 *   APR_ENOENT:  header is NULL or its scheme is not Basic
 *   APR_EINVAL:  scheme is Basic but the rest is broken (bad base64, no ':',
 *                empty user, control characters, bad %-encoding, > 4 KiB) */
apr_status_t oas_basic_parse(const char *header, const char **puser, const char **ppass,
                             apr_pool_t *p);

/* Parse an Authorization header value for Bearer (RFC 6750 §2.1).
 *   APR_SUCCESS: *ptoken set (b64token syntax: [A-Za-z0-9-._~+/]+=*)
 *   APR_ENOENT:  header NULL or another scheme
 *   APR_EINVAL:  Bearer but empty, malformed, or longer than 1 KiB */
apr_status_t oas_bearer_parse(const char *header, const char **ptoken, apr_pool_t *p);

#endif
