/* oas_admin.c — token administration on any store (oauth-as-client): list,
 * revoke by client or user. Only store keys and decoded entries are seen. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "oas_admin.h"

/* the names of the status page, the metrics and oauth-as-client list */
static const char *const kind_names[] = {
    "none", "code", "access_token", "refresh_token", "used_code", "used_refresh_token",
    "revoked_family", "csrf", "auth_failures", "device_code", "user_code",
    "pushed_request", "client"
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == OAS_KIND_MAX,
               "a kind without a name");

const char *oas_admin_kind_name(int kind)
{
    return kind >= 0 && kind < OAS_KIND_MAX ? kind_names[kind] : "unknown";
}

typedef struct list_ctx_t {
    const oas_admin_filter_t *f;
    apr_array_header_t *out;
    apr_pool_t *p;
} list_ctx_t;

static int is_token_kind(int kind)
{
    return kind == OAS_KIND_ACCESS || kind == OAS_KIND_REFRESH || kind == OAS_KIND_CODE;
}

static int str_match(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int list_one(void *ctx_, const unsigned char *key, const oas_entry_t *e)
{
    list_ctx_t *ctx = ctx_;
    oas_admin_token_t t;

    if (!is_token_kind(e->kind) || oas_token_decode(&t.token, e, ctx->p) != APR_SUCCESS) {
        return 0;
    }
    if (ctx->f && (!str_match(ctx->f->client_id, t.token.client_id)
                   || !str_match(ctx->f->username, t.token.username))) {
        return 0;
    }
    memcpy(t.key, key, OAS_DIGEST_LEN);
    APR_ARRAY_PUSH(ctx->out, oas_admin_token_t) = t;
    return 0;
}

apr_status_t oas_admin_list(apr_array_header_t **pout, oas_store_t *s,
                            const oas_admin_filter_t *f, apr_pool_t *p)
{
    list_ctx_t ctx;

    ctx.f = f;
    ctx.p = p;
    ctx.out = apr_array_make(p, 16, sizeof(oas_admin_token_t));
    *pout = ctx.out;
    return s->iterate(s, list_one, &ctx, p);
}

/* the longest exp of a family's members: how long its marker must live */
static long long later_exp(long long a, long long b)
{
    return (a == 0 || b == 0) ? 0 : (a > b ? a : b);
}

/* Mark a family revoked (the key the grant code checks), then remove it. */
static apr_status_t revoke_family(oas_store_t *s, const unsigned char *family, long long exp,
                                  int *pn, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    apr_status_t rv, rv2;

    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_FAMILY_REVOKED;
    e.exp = exp;
    memcpy(e.family, family, OAS_FAMILY_LEN);
    e.data = "";
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(p, family, OAS_FAMILY_LEN));
    rv = s->put(s, key, &e, p);
    rv2 = s->remove_family(s, family, pn, p);
    return rv != APR_SUCCESS ? rv : rv2;
}

/* a family of the listed tokens */
typedef struct fam_t {
    long long exp;                 /* the longest exp of its listed members */
    int n;                         /* its listed members */
} fam_t;

/* family (16 bytes) -> fam_t */
static apr_hash_t *families_of(const apr_array_header_t *list, apr_pool_t *p)
{
    apr_hash_t *fams = apr_hash_make(p);
    fam_t *fam;
    int i;

    for (i = 0; i < list->nelts; i++) {
        const oas_token_t *t = &APR_ARRAY_IDX(list, i, oas_admin_token_t).token;
        if (oas_family_none(t->family)) {
            continue;
        }
        if ((fam = apr_hash_get(fams, t->family, OAS_FAMILY_LEN)) == NULL) {
            fam = apr_pcalloc(p, sizeof(*fam));
            fam->exp = t->exp;
            apr_hash_set(fams, apr_pmemdup(p, t->family, OAS_FAMILY_LEN), OAS_FAMILY_LEN, fam);
        }
        fam->exp = later_exp(fam->exp, t->exp);
        fam->n++;
    }
    return fams;
}

apr_status_t oas_admin_revoke(int *pcount, oas_store_t *s, const oas_admin_filter_t *f,
                              apr_pool_t *p)
{
    apr_array_header_t *list;
    apr_hash_index_t *hi;
    apr_status_t rv;
    int i, n, count = 0;

    if (pcount) {
        *pcount = 0;
    }
    if (f == NULL || (f->client_id == NULL && f->username == NULL)) {
        return APR_EINVAL;             /* never "everything" by accident */
    }
    if ((rv = oas_admin_list(&list, s, f, p)) != APR_SUCCESS) {
        return rv;
    }
    /* a family's listed tokens are all revoked by its marker, whether the
     * store removed them (memory) or refuses them (disk): the count is
     * theirs, not remove_family's; they are removed below with the others,
     * which frees their room on disk at once */
    for (hi = apr_hash_first(p, families_of(list, p)); hi && rv == APR_SUCCESS;
         hi = apr_hash_next(hi)) {
        const fam_t *fam = apr_hash_this_val(hi);
        n = 0;
        rv = revoke_family(s, apr_hash_this_key(hi), fam->exp, &n, p);
        count += rv == APR_SUCCESS ? fam->n : 0;
    }
    for (i = 0; i < list->nelts && rv == APR_SUCCESS; i++) {
        const oas_admin_token_t *t = &APR_ARRAY_IDX(list, i, oas_admin_token_t);
        rv = s->remove(s, t->key, p);
        count += rv == APR_SUCCESS && oas_family_none(t->token.family);
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (pcount) {
        *pcount = count;
    }
    return rv;
}
