/* oas_form.c — the one parser for outside input: form bodies and query
 * strings, HTTP Basic credentials, Bearer credentials.
 *
 * Every function here is total: any byte sequence gives a result or an
 * error, never a crash or a read past the input. No static state.
 *
 * Decisions (see README "Input parsing"):
 *  - empty pieces between '&' ("a=1&&b=2", a leading or trailing '&') carry
 *    nothing and are skipped; a piece with an empty name ("=x") is refused;
 *  - "name" and "name=" count as the parameter being sent without a value:
 *    it is left out of the table but still counts for duplicates;
 *  - raw bytes >= 0x80 are passed through (UTF-8 user names), raw or encoded
 *    control bytes (0x00-0x1F, 0x7F) are refused;
 *  - Basic: the credentials are base64 (padding optional), then split at the
 *    first ':', then client_id and secret are each form-urldecoded
 *    (RFC 6749 §2.3.1), so a '+' in a secret must be sent as %2B.
 */
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "oas_form.h"
#include "oas_util.h"

#define AUTH_MAX_LEN     4096   /* Basic: longest header value we look at */
#define BEARER_MAX_LEN   4096   /* Bearer: longest token (a JWT access token) */
#define ERR_NAME_MAX     64     /* longest parameter name echoed in a message */

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode len bytes of form-urlencoded text into a NUL-terminated pool
 * string. NULL on bad %-encoding or a (decoded) control character. */
static char *urldecode(const char *s, apr_size_t len, apr_size_t *pout, apr_pool_t *p)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i, o = 0;

    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        }
        else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                return NULL;
            }
            hi = hex_value((unsigned char)s[i + 1]);
            lo = hex_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                return NULL;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (is_ctl(c)) {
            return NULL;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (pout) {
        *pout = o;
    }
    return out;
}

/* 1 if a decoded name may be quoted in a message to a client. */
static int name_is_echoable(const char *name)
{
    apr_size_t i;

    for (i = 0; name[i] != '\0'; ++i) {
        unsigned char c = (unsigned char)name[i];
        if (i >= ERR_NAME_MAX
            || !(apr_isalnum(c) || c == '_' || c == '-' || c == '.')) {
            return 0;
        }
    }
    return i > 0;
}

static const char *param_error(apr_pool_t *p, const char *name, const char *what)
{
    if (name != NULL && name_is_echoable(name)) {
        return apr_psprintf(p, "parameter '%s' %s", name, what);
    }
    return apr_psprintf(p, "a parameter %s", what);
}

typedef struct form_ctx_t {
    apr_table_t *t;
    apr_hash_t *seen;       /* every name, with or without a value */
    int count;
    apr_pool_t *p;
    const char *err;
} form_ctx_t;

/* One "name[=value]" piece, len > 0. */
static apr_status_t form_piece(form_ctx_t *ctx, const char *s, apr_size_t len)
{
    const char *eq = memchr(s, '=', len);
    apr_size_t nlen = eq ? (apr_size_t)(eq - s) : len;
    apr_size_t vlen = 0;
    const char *name, *value = "";

    if (++ctx->count > OAS_PARAM_MAX_COUNT) {
        ctx->err = "too many parameters";
        return APR_EINVAL;
    }
    if (nlen == 0) {
        ctx->err = "a parameter has an empty name";
        return APR_EINVAL;
    }
    if (nlen > OAS_PARAM_MAX_LEN) {
        ctx->err = "a parameter name is too long";
        return APR_EINVAL;
    }
    name = urldecode(s, nlen, NULL, ctx->p);
    if (name == NULL) {
        ctx->err = "a parameter name has bad percent-encoding or control characters";
        return APR_EINVAL;
    }
    if (eq) {
        value = urldecode(eq + 1, len - nlen - 1, &vlen, ctx->p);
        if (value == NULL) {
            ctx->err = param_error(ctx->p, name,
                                   "has bad percent-encoding or control characters");
            return APR_EINVAL;
        }
    }
    if (vlen > OAS_PARAM_MAX_LEN) {
        ctx->err = param_error(ctx->p, name, "is too long");
        return APR_EINVAL;
    }
    if (apr_hash_get(ctx->seen, name, APR_HASH_KEY_STRING) != NULL
        && strcasecmp(name, OAS_FORM_REPEATABLE) != 0) {
        ctx->err = param_error(ctx->p, name, "is given more than once");
        return APR_EINVAL;
    }
    apr_hash_set(ctx->seen, name, APR_HASH_KEY_STRING, name);
    if (vlen > 0 && strcasecmp(name, OAS_FORM_REPEATABLE) == 0) {
        apr_table_addn(ctx->t, name, value);      /* every value kept, in order */
    }
    else if (vlen > 0) {
        apr_table_setn(ctx->t, name, value);
    }
    return APR_SUCCESS;
}

apr_status_t oas_form_parse(apr_table_t **pt, const char *data, apr_size_t len,
                            apr_pool_t *p, const char **perr)
{
    form_ctx_t ctx = { NULL, NULL, 0, p, NULL };
    apr_size_t start = 0, i;
    const char *dummy;

    perr = perr ? perr : &dummy;
    *perr = NULL;
    *pt = NULL;
    if (len > OAS_FORM_MAX_BODY || (data == NULL && len > 0)) {
        *perr = len > OAS_FORM_MAX_BODY ? "request body too large" : "no data";
        return APR_EINVAL;
    }
    ctx.t = apr_table_make(p, 8);
    ctx.seen = apr_hash_make(p);
    for (i = 0; i <= len; ++i) {
        if (i == len || data[i] == '&') {
            if (i > start && form_piece(&ctx, data + start, i - start) != APR_SUCCESS) {
                *perr = ctx.err;
                return APR_EINVAL;
            }
            start = i + 1;
        }
    }
    *pt = ctx.t;
    return APR_SUCCESS;
}

int oas_form_is_urlencoded(const char *content_type)
{
    static const char FORM[] = "application/x-www-form-urlencoded";
    const apr_size_t n = sizeof(FORM) - 1;
    const char *s = content_type;

    if (s == NULL) {
        return 0;
    }
    while (*s == ' ' || *s == '\t') {
        ++s;
    }
    if (strncasecmp(s, FORM, n) != 0) {
        return 0;
    }
    s += n;
    while (*s == ' ' || *s == '\t') {
        ++s;
    }
    return *s == '\0' || *s == ';';
}

/* RFC 7230 tchar */
static int is_tchar(unsigned char c)
{
    return apr_isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Match the auth-scheme of header against scheme (case-insensitive).
 * APR_ENOENT: another scheme. APR_EINVAL: the scheme, but not followed by
 * one or more spaces and something. On success *prest is the credentials
 * with trailing spaces/tabs cut off, *prestlen their length. */
static apr_status_t auth_scheme(const char *header, const char *scheme,
                                const char **prest, apr_size_t *prestlen)
{
    apr_size_t n = 0, end;
    const char *rest;

    if (header == NULL) {
        return APR_ENOENT;
    }
    while (*header == ' ' || *header == '\t') {
        ++header;
    }
    while (is_tchar((unsigned char)header[n])) {
        ++n;
    }
    if (n != strlen(scheme) || strncasecmp(header, scheme, n) != 0) {
        return APR_ENOENT;
    }
    rest = header + n;
    if (*rest != ' ') {
        return APR_EINVAL;
    }
    while (*rest == ' ') {
        ++rest;
    }
    end = strlen(rest);
    while (end > 0 && (rest[end - 1] == ' ' || rest[end - 1] == '\t')) {
        --end;
    }
    if (end == 0) {
        return APR_EINVAL;
    }
    *prest = rest;
    *prestlen = end;
    return APR_SUCCESS;
}

/* Strict standard base64 (RFC 4648 §4, padding optional) by way of the one
 * base64url decoder: refuse the url alphabet, then translate. */
static unsigned char *base64_decode(const char *s, apr_size_t len, apr_size_t *pout,
                                    apr_pool_t *p)
{
    char *u = apr_pstrmemdup(p, s, len);
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (u[i] == '-' || u[i] == '_' || u[i] == '\0') {
            return NULL;
        }
        u[i] = u[i] == '+' ? '-' : u[i] == '/' ? '_' : u[i];
    }
    return oas_base64url_decode(p, u, pout);
}

apr_status_t oas_basic_parse(const char *header, const char **puser, const char **ppass,
                             apr_pool_t *p)
{
    const char *cred, *colon;
    apr_size_t clen, dlen;
    unsigned char *dec;
    char *user, *pass;
    apr_status_t rv = auth_scheme(header, "Basic", &cred, &clen);

    *puser = *ppass = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (strlen(header) > AUTH_MAX_LEN) {
        return APR_EINVAL;
    }
    dec = base64_decode(cred, clen, &dlen, p);
    if (dec == NULL || (colon = memchr(dec, ':', dlen)) == NULL) {
        return APR_EINVAL;
    }
    user = urldecode((const char *)dec, (apr_size_t)(colon - (char *)dec), NULL, p);
    pass = urldecode(colon + 1, dlen - (apr_size_t)(colon + 1 - (char *)dec), NULL, p);
    if (user == NULL || pass == NULL || user[0] == '\0') {
        return APR_EINVAL;
    }
    *puser = user;
    *ppass = pass;
    return APR_SUCCESS;
}

static int is_b64token_char(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
           || c == '+' || c == '/';
}

apr_status_t oas_bearer_parse(const char *header, const char **ptoken, apr_pool_t *p)
{
    const char *tok;
    apr_size_t len, i = 0;
    apr_status_t rv = auth_scheme(header, "Bearer", &tok, &len);

    *ptoken = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (len > BEARER_MAX_LEN) {
        return APR_EINVAL;
    }
    while (i < len && is_b64token_char((unsigned char)tok[i])) {
        ++i;
    }
    if (i == 0) {
        return APR_EINVAL;
    }
    while (i < len && tok[i] == '=') {
        ++i;
    }
    if (i != len) {
        return APR_EINVAL;
    }
    *ptoken = apr_pstrmemdup(p, tok, len);
    return APR_SUCCESS;
}
