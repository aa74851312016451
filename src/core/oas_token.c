/* oas_token.c — encoding of what the store keeps about a token or code.
 *
 * Payload layout (all integers little-endian):
 *   u8 version (1) | u8 grant | i32 refresh_left | i64 iat |
 *   7 strings, each u16 length (0xFFFF = NULL) + bytes:
 *   client_id, username, scope, redirect_uri, code_challenge,
 *   code_challenge_method, issuer
 * then the optional fields, in this order (each a string as above unless
 * said otherwise):
 *   audience
 *   refreshes: u32, the refreshes done in the family before this token
 *   (-1 when decoded from a record that ends before it; written as
 *   0xFFFFFFFF when unknown and a later field follows)
 *   jkt: the DPoP key thumbprint the token or code is bound to (NULL when
 *   only a later field follows)
 *   x5t: the x5t#S256 of the TLS client certificate the token is bound to
 * A record ends after any whole field: records written before a field was
 * added decode with that field NULL (so records of earlier versions stay
 * readable). A field added later goes at the end of this list.
 * kind, exp and family travel in the entry header, not the payload.
 */
#include <string.h>
#include <apr_strings.h>
#include "oas_token.h"

#define TOK_VERSION 1
#define TOK_NULL_LEN 0xFFFFu
#define TOK_NSTR 7

typedef struct {
    unsigned char *buf;
    apr_size_t len, cap;
    int overflow;
} wbuf_t;

typedef struct {
    const unsigned char *buf;
    apr_size_t len, pos;
    int bad;
} rbuf_t;

static void put_bytes(wbuf_t *w, const void *d, apr_size_t n)
{
    if (w->overflow || w->len + n > w->cap) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, d, n);
    w->len += n;
}

static void put_uint(wbuf_t *w, unsigned long long v, int nbytes)
{
    unsigned char b[8];
    int i;
    for (i = 0; i < nbytes; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
    put_bytes(w, b, (apr_size_t)nbytes);
}

static void put_str(wbuf_t *w, const char *s)
{
    apr_size_t n;
    if (!s) {
        put_uint(w, TOK_NULL_LEN, 2);
        return;
    }
    n = strlen(s);
    if (n >= TOK_NULL_LEN) {
        w->overflow = 1;
        return;
    }
    put_uint(w, n, 2);
    put_bytes(w, s, n);
}

static unsigned long long get_uint(rbuf_t *r, int nbytes)
{
    unsigned long long v = 0;
    int i;
    if (r->bad || r->pos + (apr_size_t)nbytes > r->len) {
        r->bad = 1;
        return 0;
    }
    for (i = 0; i < nbytes; i++) {
        v |= (unsigned long long)r->buf[r->pos + i] << (8 * i);
    }
    r->pos += (apr_size_t)nbytes;
    return v;
}

static const char *get_str(rbuf_t *r, apr_pool_t *p)
{
    unsigned long long n = get_uint(r, 2);
    const char *s;
    if (r->bad || n == TOK_NULL_LEN) {
        return NULL;
    }
    if (r->pos + n > r->len || memchr(r->buf + r->pos, 0, n)) {
        r->bad = 1;
        return NULL;
    }
    s = apr_pstrmemdup(p, (const char *)r->buf + r->pos, n);
    r->pos += n;
    return s;
}

/* the optional last field: -1 when the record ends before it */
static int get_refreshes(rbuf_t *r)
{
    unsigned long long v;

    if (r->bad || r->pos == r->len) {
        return -1;
    }
    if ((v = get_uint(r, 4)) == 0xFFFFFFFFull) {
        return -1;
    }
    if (v > 0x7fffffffull) {
        r->bad = 1;
    }
    return (int)(v & 0x7fffffffull);
}

apr_status_t oas_token_encode(oas_entry_t *e, const oas_token_t *t, apr_pool_t *p)
{
    wbuf_t w = { apr_palloc(p, OAS_ENTRY_MAX), 0, OAS_ENTRY_MAX, 0 };
    const char *strs[TOK_NSTR] = { t->client_id, t->username, t->scope, t->redirect_uri,
                                   t->code_challenge, t->code_challenge_method, t->issuer };
    int i;

    put_uint(&w, TOK_VERSION, 1);
    put_uint(&w, t->grant & 0xff, 1);
    put_uint(&w, (unsigned long long)(long long)t->refresh_left, 4);
    put_uint(&w, (unsigned long long)t->iat, 8);
    for (i = 0; i < TOK_NSTR; i++) {
        put_str(&w, strs[i]);
    }
    put_str(&w, t->audience);
    if (t->refreshes >= 0 || t->jkt || t->x5t) {
        put_uint(&w, t->refreshes >= 0 ? (unsigned long long)t->refreshes : 0xFFFFFFFFull, 4);
    }
    if (t->jkt || t->x5t) {
        put_str(&w, t->jkt);
    }
    if (t->x5t) {
        put_str(&w, t->x5t);
    }
    if (w.overflow) {
        return APR_EINVAL;
    }
    e->kind = t->kind;
    e->exp = t->exp;
    memcpy(e->family, t->family, OAS_FAMILY_LEN);
    e->data = w.buf;
    e->len = w.len;
    return APR_SUCCESS;
}

apr_status_t oas_token_decode(oas_token_t *t, const oas_entry_t *e, apr_pool_t *p)
{
    rbuf_t r = { e->data, e->len, 0, 0 };
    const char **strs[TOK_NSTR];
    int i;

    memset(t, 0, sizeof(*t));
    strs[0] = &t->client_id; strs[1] = &t->username; strs[2] = &t->scope;
    strs[3] = &t->redirect_uri; strs[4] = &t->code_challenge;
    strs[5] = &t->code_challenge_method; strs[6] = &t->issuer;
    if (!e->data || get_uint(&r, 1) != TOK_VERSION) {
        return APR_EINVAL;
    }
    t->grant = (unsigned)get_uint(&r, 1);
    t->refresh_left = (int)(apr_int32_t)(apr_uint32_t)get_uint(&r, 4);
    t->iat = (long long)get_uint(&r, 8);
    for (i = 0; i < TOK_NSTR; i++) {
        *strs[i] = get_str(&r, p);
    }
    if (!r.bad && r.pos < r.len) {
        t->audience = get_str(&r, p);
    }
    t->refreshes = get_refreshes(&r);
    if (!r.bad && r.pos < r.len) {
        t->jkt = get_str(&r, p);
    }
    if (!r.bad && r.pos < r.len) {
        t->x5t = get_str(&r, p);
    }
    if (r.bad || r.pos != r.len || !t->client_id) {
        return APR_EINVAL;
    }
    t->kind = e->kind;
    t->exp = e->exp;
    memcpy(t->family, e->family, OAS_FAMILY_LEN);
    return APR_SUCCESS;
}

/* A tombstone of the version before tombstones kept the record: no payload. */
static int bare_tombstone(const oas_entry_t *e)
{
    return e->len == 0 && (e->kind == OAS_KIND_USED_CODE || e->kind == OAS_KIND_USED_REFRESH);
}

/* Nothing of a record the caller may not see stays in e or t. */
static apr_status_t unknown(oas_entry_t *e, oas_token_t *t, apr_status_t rv)
{
    memset(e, 0, sizeof(*e));
    memset(t, 0, sizeof(*t));
    return rv;
}

apr_status_t oas_token_found(oas_entry_t *e, oas_token_t *t, apr_status_t rv,
                             const char *issuer, apr_pool_t *p)
{
    if (rv != APR_SUCCESS) {
        return unknown(e, t, rv);
    }
    if (bare_tombstone(e)) {
        memset(t, 0, sizeof(*t));
        t->kind = e->kind;
        t->exp = e->exp;
        memcpy(t->family, e->family, OAS_FAMILY_LEN);
        return APR_SUCCESS;
    }
    if (oas_token_decode(t, e, p) != APR_SUCCESS) {
        return unknown(e, t, APR_NOTFOUND);
    }
    /* exact: no case folding, no trailing-slash games */
    if (t->issuer && (!issuer || strcmp(t->issuer, issuer) != 0)) {
        return unknown(e, t, APR_NOTFOUND);
    }
    return APR_SUCCESS;
}

apr_status_t oas_token_lookup(oas_entry_t *e, oas_token_t *t, oas_store_t *s,
                              const unsigned char *key, const char *issuer, apr_pool_t *p)
{
    return oas_token_found(e, t, s->get(s, key, e, p), issuer, p);
}

int oas_family_none(const unsigned char *family)
{
    int i;
    for (i = 0; i < OAS_FAMILY_LEN; i++) {
        if (family[i]) {
            return 0;
        }
    }
    return 1;
}
