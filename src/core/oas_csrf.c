/* oas_csrf.c — CSRF tokens of the approval form: bound by HMAC to the user,
 * the authorization request and an expiry; nothing is stored when one is
 * made; single use through the nonce, stored when the form is posted
 * (memory only). See oas_csrf.h for the layout. */
#include <string.h>
#include <apr_strings.h>
#include "oas_csrf.h"

#define CSRF_NONCE_LEN  16
#define CSRF_EXP_LEN    8
#define CSRF_HEAD_LEN   (CSRF_NONCE_LEN + CSRF_EXP_LEN)
#define CSRF_RAW_LEN    (CSRF_HEAD_LEN + OAS_DIGEST_LEN)
#define CSRF_NFIELDS    11

static void put_be64(unsigned char *b, long long v)
{
    unsigned long long u = (unsigned long long)v;
    int i;
    for (i = CSRF_EXP_LEN - 1; i >= 0; i--) {
        b[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static long long get_be64(const unsigned char *b)
{
    unsigned long long u = 0;
    int i;
    for (i = 0; i < CSRF_EXP_LEN; i++) {
        u = (u << 8) | b[i];
    }
    return (long long)u;
}

/* The MAC input after nonce||exp: the fields, NUL-separated (form values
 * never contain NUL: the form parser refuses control characters). */
static void mac_fields(const char *f[CSRF_NFIELDS], const oas_config_t *cfg, const char *user,
                       const oas_authz_t *a, apr_pool_t *p)
{
    f[0] = user;
    f[1] = a->response_type;
    f[2] = a->client->client_id;
    f[3] = a->redirect_uri ? apr_pstrcat(p, "1", a->redirect_uri, NULL) : "0";
    f[4] = a->scope;
    f[5] = a->state;
    f[6] = a->code_challenge;
    f[7] = a->code_challenge_method;
    f[8] = a->resource;
    f[9] = cfg->issuer;       /* a form of one issuer is no form at another (SPEC §8) */
    f[10] = a->dpop_jkt;
}

static void csrf_mac(unsigned char out[OAS_DIGEST_LEN], const oas_config_t *cfg,
                     const unsigned char *head, const char *user, const oas_authz_t *a,
                     apr_pool_t *p)
{
    const char *f[CSRF_NFIELDS];
    apr_size_t len = CSRF_HEAD_LEN, pos, n;
    unsigned char *buf;
    int i;

    mac_fields(f, cfg, user, a, p);
    for (i = 0; i < CSRF_NFIELDS; i++) {
        len += (f[i] ? strlen(f[i]) : 0) + 1;
    }
    buf = apr_palloc(p, len);
    memcpy(buf, head, CSRF_HEAD_LEN);
    pos = CSRF_HEAD_LEN;
    for (i = 0; i < CSRF_NFIELDS; i++) {
        n = f[i] ? strlen(f[i]) : 0;
        memcpy(buf + pos, f[i] ? f[i] : "", n);
        pos += n;
        buf[pos++] = '\0';
    }
    oas_hmac_sha256(out, cfg->csrf_key, cfg->csrf_key_len, buf, len);
}

static void nonce_key(unsigned char key[OAS_DIGEST_LEN], const unsigned char *nonce,
                      apr_pool_t *p)
{
    oas_store_key(key, OAS_PREFIX_CSRF, oas_base64url_encode(p, nonce, CSRF_NONCE_LEN));
}

apr_status_t oas_csrf_issue(const char **ptoken, const oas_config_t *cfg, const char *user,
                            const oas_authz_t *a, long long now, apr_pool_t *p)
{
    unsigned char raw[CSRF_RAW_LEN];
    apr_status_t rv;

    *ptoken = NULL;
    if ((rv = oas_random_bytes(raw, CSRF_NONCE_LEN)) != APR_SUCCESS) {
        return rv;
    }
    put_be64(raw + CSRF_NONCE_LEN, now + OAS_CSRF_LIFETIME);
    csrf_mac(raw + CSRF_HEAD_LEN, cfg, raw, user, a, p);
    *ptoken = oas_base64url_encode(p, raw, CSRF_RAW_LEN);
    return APR_SUCCESS;
}

/* A genuine, unexpired token is taken once: its nonce goes into the store
 * until the token would expire anyway (OAS_KIND_CSRF, the first entries to
 * go when memory is full), and a nonce that is there already was used. */
int oas_csrf_check(const oas_config_t *cfg, const char *token, const char *user,
                   const oas_authz_t *a, long long now, apr_status_t *prv, apr_pool_t *p)
{
    unsigned char mac[OAS_DIGEST_LEN], key[OAS_DIGEST_LEN];
    unsigned char *raw;
    apr_size_t len = 0;
    oas_entry_t e;

    *prv = APR_SUCCESS;
    if (!token || !(raw = oas_base64url_decode(p, token, &len)) || len != CSRF_RAW_LEN) {
        return OAS_CSRF_BAD;
    }
    csrf_mac(mac, cfg, raw, user, a, p);
    if (!oas_ct_equal(mac, raw + CSRF_HEAD_LEN, OAS_DIGEST_LEN)) {
        return OAS_CSRF_BAD;
    }
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_CSRF;
    e.exp = get_be64(raw + CSRF_NONCE_LEN);
    e.data = "";
    if (e.exp <= now) {
        return OAS_CSRF_EXPIRED;
    }
    nonce_key(key, raw, p);
    *prv = cfg->store->add(cfg->store, key, &e, p);
    if (*prv == APR_EEXIST) {
        *prv = APR_SUCCESS;
        return OAS_CSRF_USED;
    }
    return *prv == APR_SUCCESS ? OAS_CSRF_OK : OAS_CSRF_STORE;
}
