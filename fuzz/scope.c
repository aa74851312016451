/* fuzz/scope.c — scope strings and scope path prefixes (include/oas_scope.h).
 * Input: "scope\ngranted\nprefix\npath" (missing parts are empty).
 * Properties: oas_scope_split gives valid, distinct tokens, and joining them
 * and splitting again gives the same list (the string itself when it had no
 * duplicates); a list is a subset of itself; a definition whose path was
 * accepted covers that path; a scope not granted covers nothing. */
#include <string.h>
#include <apr_strings.h>
#include "fuzz.h"
#include "oas_scope.h"

static const char *next_part(apr_pool_t *p, const uint8_t **data, size_t *size)
{
    const uint8_t *rest;
    size_t restlen;
    char *s = fuzz_split(p, *data, *size, '\n', &rest, &restlen);
    *data = rest;
    *size = restlen;
    return s;
}

static void check_split(const char *scope, apr_pool_t *p)
{
    apr_array_header_t *a = oas_scope_split(scope, p), *b;
    const char *joined;
    int i, j;

    FUZZ_CHECK(oas_scope_token_valid(scope) == (a != NULL && a->nelts == 1
                                                 && strchr(scope, ' ') == NULL));
    if (a == NULL) {
        return;
    }
    FUZZ_CHECK(a->nelts > 0);
    for (i = 0; i < a->nelts; i++) {
        const char *t = APR_ARRAY_IDX(a, i, const char *);
        FUZZ_CHECK(oas_scope_token_valid(t));
        for (j = 0; j < i; j++) {
            FUZZ_CHECK(strcmp(t, APR_ARRAY_IDX(a, j, const char *)) != 0);
        }
    }
    joined = oas_scope_join(a, p);
    FUZZ_CHECK(strlen(joined) <= strlen(scope));
    b = oas_scope_split(joined, p);
    FUZZ_CHECK(b != NULL && b->nelts == a->nelts);
    FUZZ_CHECK(oas_scope_subset(a, b) && oas_scope_subset(b, a));
    FUZZ_CHECK(strcmp(oas_scope_join(b, p), joined) == 0);
    if (strlen(joined) == strlen(scope)) {
        FUZZ_CHECK(strcmp(joined, scope) == 0);
    }
}

static void check_paths(const char *granted, const char *prefix, const char *path,
                        apr_pool_t *p)
{
    oas_scopes_t *defs = oas_scopes_make(p);
    apr_array_header_t *paths = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *g = oas_scope_split(granted, p);
    const char *err;
    int covers;

    APR_ARRAY_PUSH(paths, const char *) = prefix;
    err = oas_scopes_add(defs, "s", "fuzzed", paths, p);
    covers = oas_path_covers(prefix, path);
    if (err == NULL) {
        FUZZ_CHECK(oas_path_covers(prefix, prefix));
        FUZZ_CHECK(oas_scopes_get(defs, "s") != NULL && oas_scopes_count(defs) == 1);
        FUZZ_CHECK(oas_scopes_cover_path(defs, g, path)
                   == (covers && oas_scope_in(g, "s")));
    }
    else {
        FUZZ_CHECK(oas_scopes_count(defs) == 0);
        FUZZ_CHECK(!oas_scopes_cover_path(defs, g, path));
    }
    /* the granted string as a definition name */
    if (oas_scope_token_valid(granted)) {
        FUZZ_CHECK(oas_scopes_add(defs, granted, NULL, NULL, p) == NULL
                   || (err == NULL && strcmp(granted, "s") == 0));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *scope, *granted, *prefix, *path;

    apr_pool_create(&p, fuzz_pool_root());
    scope = next_part(p, &data, &size);
    granted = next_part(p, &data, &size);
    prefix = next_part(p, &data, &size);
    path = fuzz_cstr(p, data, size);
    check_split(scope, p);
    check_paths(granted, prefix, path, p);
    apr_pool_destroy(p);
    return 0;
}
