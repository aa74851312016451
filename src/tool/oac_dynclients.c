/* oac_dynclients.c — oauth-as-client list and remove for clients that
 * registered themselves (RFC 7591): records of kind OAS_KIND_CLIENT in the
 * default store (oas_dynclient.h). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "oac.h"
#include "oas_admin.h"
#include "oas_dynclient.h"

typedef struct dc_walk_t {
    apr_pool_t *p;
    const char *client_id;             /* remove: this one; list: NULL */
    apr_array_header_t *keys;          /* remove: the keys of its records */
} dc_walk_t;

static const char *redirect_host(const oas_client_t *c, apr_pool_t *p)
{
    const char *u = c->redirect_uris && c->redirect_uris->nelts
                    ? APR_ARRAY_IDX(c->redirect_uris, 0, const char *) : NULL;
    const char *h = u ? strstr(u, "://") : NULL;

    return h ? apr_pstrndup(p, h + 3, strcspn(h + 3, "/?:")) : u ? u : "-";
}

static const char *grants_of(const oas_client_t *c, apr_pool_t *p)
{
    static const unsigned bits[] = { OAS_GRANT_AUTHORIZATION_CODE, OAS_GRANT_CLIENT_CREDENTIALS,
                                     OAS_GRANT_DEVICE_CODE };
    const char *out = "";
    size_t i;

    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (c->grants & bits[i]) {
            out = apr_pstrcat(p, out, *out ? "," : "", oas_grant_name(bits[i]), NULL);
        }
    }
    return c->refresh_limit ? apr_pstrcat(p, out, ",refresh_token", NULL) : out;
}

static int dc_visit(void *ctx, const unsigned char *key, const oas_entry_t *e)
{
    dc_walk_t *w = ctx;
    oas_client_t *c = e->kind == OAS_KIND_CLIENT ? oas_dynclient_decode(e, NULL, w->p) : NULL;

    if (!c) {
        return 0;
    }
    if (w->client_id) {
        if (strcmp(c->client_id, w->client_id) == 0) {
            APR_ARRAY_PUSH(w->keys, const unsigned char *) = apr_pmemdup(w->p, key,
                                                                         OAS_DIGEST_LEN);
        }
        return 0;
    }
    printf("%-20s %-12s %-7s %-38s %-20s %s (self-registered, redirect host %s)\n",
           c->client_id, c->confidential ? "confidential" : "public", "yes",
           grants_of(c, w->p), oas_scope_join(c->scopes, w->p), c->name,
           redirect_host(c, w->p));
    return 0;
}

int oac_dynclients_list(oac_opts_t *o)
{
    dc_walk_t w = { o->p, NULL, NULL };
    oas_store_t *s;
    char buf[120];
    apr_status_t rv;
    int rc, offline;

    if ((rc = oac_open_store(o, &s, &offline)) != OAC_OK) {
        return rc;
    }
    if ((rv = s->iterate(s, dc_visit, &w, o->p)) != APR_SUCCESS) {
        return oac_fail("cannot read the store: %s", apr_strerror(rv, buf, sizeof(buf)));
    }
    return OAC_OK;
}

int oac_dynclients_remove(oac_opts_t *o, const char *client_id, int *pfound)
{
    dc_walk_t w = { o->p, client_id, apr_array_make(o->p, 2, sizeof(const unsigned char *)) };
    oas_admin_filter_t f = { client_id, NULL };
    oas_store_t *s;
    char buf[120];
    apr_status_t rv;
    int i, rc, offline, n = 0;

    *pfound = 0;
    if ((rc = oac_open_store(o, &s, &offline)) != OAC_OK) {
        return rc;
    }
    if ((rv = s->iterate(s, dc_visit, &w, o->p)) != APR_SUCCESS) {
        return oac_fail("cannot read the store: %s", apr_strerror(rv, buf, sizeof(buf)));
    }
    for (i = 0; i < w.keys->nelts; i++) {
        rv = s->remove(s, APR_ARRAY_IDX(w.keys, i, const unsigned char *), o->p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return oac_fail("cannot remove it: %s", apr_strerror(rv, buf, sizeof(buf)));
        }
    }
    *pfound = w.keys->nelts > 0;
    if (*pfound) {
        oas_admin_revoke(&n, s, &f, o->p);
        printf("Removed the self-registered client '%s' and %d token%s (at once, no reload "
               "needed).\n", client_id, n, n == 1 ? "" : "s");
    }
    return OAC_OK;
}
