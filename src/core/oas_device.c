/* oas_device.c — the device authorization grant's core (oas_device.h): user
 * codes, the device record, the decision and the polling interval. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <jansson.h>
#include "oas_device.h"
#include "oas_json.h"

#define ALPHABET_LEN   20            /* strlen(OAS_USER_CODE_ALPHABET) */
#define UNBIASED_BELOW 240           /* the largest multiple of 20 a byte holds */
#define CREATE_TRIES   5             /* user codes drawn before giving up on collisions */

apr_status_t oas_user_code_new(const char **pcode, apr_pool_t *p)
{
    char *code = apr_palloc(p, OAS_USER_CODE_LEN + 1);
    unsigned char b[32];
    int n = 0;
    apr_size_t i;
    apr_status_t rv;

    while (n < OAS_USER_CODE_LEN) {
        if ((rv = oas_random_bytes(b, sizeof(b))) != APR_SUCCESS) {
            return rv;
        }
        for (i = 0; i < sizeof(b) && n < OAS_USER_CODE_LEN; i++) {
            if (b[i] < UNBIASED_BELOW) {      /* rejection sampling: no modulo bias */
                code[n++] = OAS_USER_CODE_ALPHABET[b[i] % ALPHABET_LEN];
            }
        }
    }
    code[n] = '\0';
    *pcode = code;
    return APR_SUCCESS;
}

const char *oas_user_code_format(const char *code, apr_pool_t *p)
{
    return apr_psprintf(p, "%.4s-%s", code, strlen(code) > 4 ? code + 4 : "");
}

const char *oas_user_code_normalize(const char *typed, apr_pool_t *p)
{
    char out[OAS_USER_CODE_LEN + 1];
    int n = 0;
    const char *c;

    for (c = typed ? typed : ""; *c; c++) {
        char u = (char)apr_toupper((unsigned char)*c);
        if (*c == '-' || *c == ' ') {
            continue;
        }
        if (n == OAS_USER_CODE_LEN || !strchr(OAS_USER_CODE_ALPHABET, u) || u == '\0') {
            return NULL;
        }
        out[n++] = u;
    }
    if (n != OAS_USER_CODE_LEN) {
        return NULL;
    }
    return apr_pstrmemdup(p, out, (apr_size_t)n);
}

void oas_device_key(unsigned char key[OAS_DIGEST_LEN], const char *device_code)
{
    oas_store_key(key, OAS_PREFIX_DEVICE, device_code);
}

void oas_user_code_key(unsigned char key[OAS_DIGEST_LEN], const char *issuer,
                       const char *code)
{
    char buf[1024];

    apr_snprintf(buf, sizeof(buf), "%s\n%s", issuer ? issuer : "", code);
    oas_store_key(key, OAS_PREFIX_USER_CODE, buf);
}

/* ---- the record ------------------------------------------------------------- */

apr_status_t oas_device_encode(oas_entry_t *e, const oas_device_t *d, long long grace,
                               apr_pool_t *p)
{
    oas_jw_t w;
    const char *s;

    oas_jw_begin(&w, p);
    oas_jw_str(&w, "i", d->issuer);
    oas_jw_str(&w, "c", d->client_id);
    oas_jw_str(&w, "s", d->scope ? d->scope : "");
    oas_jw_str(&w, "u", d->user_code);
    if (d->username) {
        oas_jw_str(&w, "n", d->username);
    }
    oas_jw_int(&w, "st", d->status);
    oas_jw_int(&w, "iv", d->interval);
    oas_jw_int(&w, "ia", d->iat);
    oas_jw_int(&w, "ex", d->exp);
    s = oas_jw_end(&w);
    memset(e, 0, sizeof(*e));
    e->kind = OAS_KIND_DEVICE_CODE;
    e->exp = d->exp + (grace > 0 ? grace : 0);
    e->data = s;
    e->len = strlen(s);
    return e->len <= OAS_ENTRY_MAX ? APR_SUCCESS : APR_EINVAL;
}

static const char *jstr(json_t *o, const char *name, apr_pool_t *p)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? apr_pstrdup(p, json_string_value(v)) : NULL;
}

apr_status_t oas_device_decode(oas_device_t *d, const oas_entry_t *e, apr_pool_t *p)
{
    json_t *o;

    memset(d, 0, sizeof(*d));
    if (e->kind != OAS_KIND_DEVICE_CODE
        || !(o = json_loadb(e->data, e->len, JSON_REJECT_DUPLICATES, NULL))) {
        return APR_EINVAL;
    }
    d->issuer = jstr(o, "i", p);
    d->client_id = jstr(o, "c", p);
    d->scope = jstr(o, "s", p);
    d->user_code = jstr(o, "u", p);
    d->username = jstr(o, "n", p);
    d->status = (int)json_integer_value(json_object_get(o, "st"));
    d->interval = (int)json_integer_value(json_object_get(o, "iv"));
    d->iat = json_integer_value(json_object_get(o, "ia"));
    d->exp = json_integer_value(json_object_get(o, "ex"));
    json_decref(o);
    return d->issuer && d->client_id && d->scope && d->user_code ? APR_SUCCESS : APR_EINVAL;
}

/* ---- creation ------------------------------------------------------------------ */

/* A user code no live grant of this issuer holds: drawn again on a clash. */
static apr_status_t fresh_user_code(oas_device_t *d, unsigned char ukey[OAS_DIGEST_LEN],
                                    const oas_config_t *cfg, apr_pool_t *p)
{
    oas_store_t *s = cfg->store;
    oas_entry_t e;
    apr_status_t rv;
    int i;

    for (i = 0; i < CREATE_TRIES; i++) {
        if ((rv = oas_user_code_new(&d->user_code, p)) != APR_SUCCESS) {
            return rv;
        }
        oas_user_code_key(ukey, cfg->issuer, d->user_code);
        rv = s->get(s, ukey, &e, p);
        if (rv == APR_NOTFOUND) {
            return APR_SUCCESS;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_EEXIST;
}

apr_status_t oas_device_create(const char **pdevice_code, oas_device_t *d,
                               const oas_config_t *cfg, apr_pool_t *p)
{
    oas_store_t *s = cfg->store;
    unsigned char dkey[OAS_DIGEST_LEN], ukey[OAS_DIGEST_LEN];
    const char *dc = oas_random_token(p, OAS_DEVICE_CODE_BYTES);
    oas_entry_t de, ue;
    long long grace;
    apr_status_t rv;

    if (!dc) {
        return APR_EGENERAL;
    }
    if ((rv = fresh_user_code(d, ukey, cfg, p)) != APR_SUCCESS) {
        return rv;
    }
    d->status = OAS_DEVICE_PENDING;
    d->username = NULL;
    oas_device_key(dkey, dc);
    grace = d->exp - d->iat > OAS_DEVICE_GRACE_MIN ? d->exp - d->iat : OAS_DEVICE_GRACE_MIN;
    if ((rv = oas_device_encode(&de, d, grace, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&ue, 0, sizeof(ue));
    ue.kind = OAS_KIND_USER_CODE;
    ue.exp = d->exp;
    ue.data = apr_pmemdup(p, dkey, OAS_DIGEST_LEN);
    ue.len = OAS_DIGEST_LEN;
    if ((rv = s->put(s, dkey, &de, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = s->put(s, ukey, &ue, p)) != APR_SUCCESS) {
        s->remove(s, dkey, p);
        return rv;
    }
    *pdevice_code = dc;
    return APR_SUCCESS;
}

/* ---- the verification page's side ------------------------------------------------ */

/* The record a user code entry points at; APR_NOTFOUND unless it is live,
 * pending and of this issuer. */
static apr_status_t pending_record(oas_device_t *d, oas_entry_t *de,
                                   unsigned char dkey[OAS_DIGEST_LEN],
                                   const oas_config_t *cfg, const oas_entry_t *ue,
                                   const char *code, long long now, apr_pool_t *p)
{
    apr_status_t rv;

    if (ue->kind != OAS_KIND_USER_CODE || ue->len != OAS_DIGEST_LEN) {
        return APR_NOTFOUND;
    }
    memcpy(dkey, ue->data, OAS_DIGEST_LEN);
    if ((rv = cfg->store->get(cfg->store, dkey, de, p)) != APR_SUCCESS) {
        return rv;
    }
    if (oas_device_decode(d, de, p) != APR_SUCCESS || strcmp(d->issuer, cfg->issuer) != 0
        || strcmp(d->user_code, code) != 0 || d->status != OAS_DEVICE_PENDING
        || now >= d->exp) {
        return APR_NOTFOUND;
    }
    return APR_SUCCESS;
}

apr_status_t oas_device_by_user_code(oas_device_t *d, unsigned char dkey[OAS_DIGEST_LEN],
                                     const oas_config_t *cfg, const char *typed,
                                     long long now, apr_pool_t *p)
{
    const char *code = oas_user_code_normalize(typed, p);
    unsigned char ukey[OAS_DIGEST_LEN];
    oas_entry_t ue, de;
    apr_status_t rv;

    if (!code) {
        return APR_NOTFOUND;
    }
    oas_user_code_key(ukey, cfg->issuer, code);
    if ((rv = cfg->store->get(cfg->store, ukey, &ue, p)) != APR_SUCCESS) {
        return rv;
    }
    return pending_record(d, &de, dkey, cfg, &ue, code, now, p);
}

apr_status_t oas_device_decide(const oas_config_t *cfg, const char *user_code, int approve,
                               const char *user, long long now, apr_pool_t *p)
{
    const char *code = oas_user_code_normalize(user_code, p);
    unsigned char ukey[OAS_DIGEST_LEN], dkey[OAS_DIGEST_LEN];
    oas_entry_t ue, de;
    oas_device_t d;
    apr_status_t rv;

    if (!code) {
        return APR_NOTFOUND;
    }
    oas_user_code_key(ukey, cfg->issuer, code);
    if ((rv = cfg->store->consume(cfg->store, ukey, &ue, NULL, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = pending_record(&d, &de, dkey, cfg, &ue, code, now, p)) != APR_SUCCESS) {
        return rv;
    }
    d.status = approve ? OAS_DEVICE_APPROVED : OAS_DEVICE_DENIED;
    d.username = user;
    if ((rv = oas_device_encode(&de, &d, de.exp - d.exp, p)) != APR_SUCCESS) {
        return rv;
    }
    return cfg->store->put(cfg->store, dkey, &de, p);
}

/* ---- polling ------------------------------------------------------------------- */

int oas_device_too_fast(const oas_config_t *cfg, const char *device_code,
                        const oas_device_t *d, long long now, int *pinterval, apr_pool_t *p)
{
    oas_store_t *s = cfg->store;
    unsigned char gate[OAS_DIGEST_LEN], slow[OAS_DIGEST_LEN];
    long n = 0, slows = 0;

    *pinterval = d->interval;
    if (!s->count) {
        return 0;
    }
    oas_store_key(gate, OAS_PREFIX_DEVICE_GATE, device_code);
    oas_store_key(slow, OAS_PREFIX_DEVICE_SLOW, device_code);
    if (s->count(s, slow, 0, 0, &slows, NULL, p) != APR_SUCCESS) {
        return 0;
    }
    *pinterval = d->interval + OAS_DEVICE_SLOW_STEP * (int)slows;
    if (s->count(s, gate, 1, now + *pinterval, &n, NULL, p) != APR_SUCCESS || n <= 1) {
        return 0;
    }
    if (s->count(s, slow, 1, d->exp, &slows, NULL, p) == APR_SUCCESS) {
        *pinterval = d->interval + OAS_DEVICE_SLOW_STEP * (int)slows;
        s->count(s, gate, 0, now + *pinterval, NULL, NULL, p);
    }
    return 1;
}
