/* fuzz/registry.c — the client registry (oas_registry_parse,
 * include/oas_registry.h): JSON text as in OAuthASClients, with the scopes
 * read, write and admin defined.
 * Properties: a failure names the source and says why; a success gives
 * clients that keep every rule of SPEC §3 (ids printable and unique and
 * found again by oas_registry_get, redirect URIs valid, scopes defined,
 * a grant, secrets only for confidential clients and only as hashes,
 * public clients without client_credentials/password, a redirect URI for
 * code/implicit), keeps its text, and parses the same again. */
#include <string.h>
#include <limits.h>
#include <apr_strings.h>
#include "fuzz.h"
#include "oas_registry.h"

static const oas_scopes_t *scopes(void)
{
    static oas_scopes_t *s;
    if (s == NULL) {
        apr_pool_t *p = fuzz_pool_root();
        s = oas_scopes_make(p);
        FUZZ_CHECK(oas_scopes_add(s, "read", "", NULL, p) == NULL);
        FUZZ_CHECK(oas_scopes_add(s, "write", "", NULL, p) == NULL);
        FUZZ_CHECK(oas_scopes_add(s, "admin", "", NULL, p) == NULL);
    }
    return s;
}

static void check_client(const oas_registry_t *reg, const oas_client_t *c)
{
    size_t n = strlen(c->client_id), i;
    int k;

    FUZZ_CHECK(n >= 1 && n <= OAS_CLIENT_ID_MAX);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(c->client_id[i] > 0x20 && c->client_id[i] < 0x7f && c->client_id[i] != ':');
    }
    FUZZ_CHECK(oas_registry_get(reg, c->client_id) == c);
    FUZZ_CHECK(c->name != NULL && strlen(c->name) >= 1 && strlen(c->name) <= OAS_NAME_MAX);
    FUZZ_CHECK(c->confidential == (c->secret_hash != NULL));
    FUZZ_CHECK(c->grants != 0 && (c->grants & ~0x0fu) == 0);
    if (!c->confidential) {
        FUZZ_CHECK(!(c->grants & (OAS_GRANT_CLIENT_CREDENTIALS | OAS_GRANT_PASSWORD)));
        FUZZ_CHECK(!oas_client_check_secret(c, "x"));
    }
    if (c->grants & (OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_IMPLICIT)) {
        FUZZ_CHECK(c->redirect_uris->nelts > 0);
    }
    for (k = 0; k < c->redirect_uris->nelts; k++) {
        FUZZ_CHECK(oas_redirect_uri_valid(APR_ARRAY_IDX(c->redirect_uris, k, const char *),
                                          NULL));
    }
    for (k = 0; k < c->scopes->nelts; k++) {
        FUZZ_CHECK(oas_scopes_get(scopes(), APR_ARRAY_IDX(c->scopes, k, const char *)));
    }
    FUZZ_CHECK(c->access_token_lifetime >= -1 && c->refresh_limit >= -1);
    FUZZ_CHECK(c->enabled == 0 || c->enabled == 1);
    /* {SHA} hashes are cheap to check; bcrypt with a fuzzed cost is not */
    if (c->secret_hash && strncmp(c->secret_hash, "{SHA}", 5) == 0) {
        (void)oas_client_check_secret(c, "secret");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    oas_registry_t *reg = NULL, *again = NULL;
    const char *err = "x", *err2 = NULL;
    apr_status_t rv;

    apr_pool_create(&p, fuzz_pool_root());
    rv = oas_registry_parse(&reg, (const char *)data, size, "fuzz.json", scopes(), p, &err);
    if (rv == APR_SUCCESS) {
        const apr_array_header_t *cl = oas_registry_clients(reg);
        int i;
        FUZZ_CHECK(reg != NULL && err == NULL);
        FUZZ_CHECK(memcmp(oas_registry_text(reg), data, size) == 0);
        for (i = 0; i < cl->nelts; i++) {
            check_client(reg, APR_ARRAY_IDX(cl, i, const oas_client_t *));
        }
        FUZZ_CHECK(oas_registry_parse(&again, (const char *)data, size, "fuzz.json", scopes(),
                                      p, &err2) == APR_SUCCESS);
        FUZZ_CHECK(oas_registry_clients(again)->nelts == cl->nelts);
    }
    else {
        FUZZ_CHECK(rv == APR_EINVAL && reg == NULL && err != NULL);
        FUZZ_CHECK(strncmp(err, "fuzz.json: ", 11) == 0);
    }
    apr_pool_destroy(p);
    return 0;
}
