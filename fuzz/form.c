/* fuzz/form.c — oas_form_parse (form bodies and query strings) and
 * oas_form_is_urlencoded (the Content-Type check), include/oas_form.h.
 * Properties: a success gives a table whose names and values are free of
 * control characters, non-empty and within the limits; a failure gives a
 * message; and the parse is the same when run twice. */
#include <string.h>
#include <strings.h>
#include <apr_tables.h>
#include "fuzz.h"
#include "oas_form.h"

static int no_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_table_t *t = NULL, *t2 = NULL;
    const char *err = NULL, *err2 = NULL;
    apr_status_t rv, rv2;

    apr_pool_create(&p, fuzz_pool_root());
    /* the bytes exactly as the glue passes a body: pointer + length, no NUL */
    rv = oas_form_parse(&t, (const char *)data, size, p, &err);
    rv2 = oas_form_parse(&t2, (const char *)data, size, p, &err2);
    FUZZ_CHECK(rv == rv2);
    if (rv == APR_SUCCESS) {
        const apr_array_header_t *a = apr_table_elts(t);
        const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
        int i;
        FUZZ_CHECK(t != NULL && err == NULL);
        FUZZ_CHECK(a->nelts <= OAS_PARAM_MAX_COUNT);
        FUZZ_CHECK(apr_table_elts(t2)->nelts == a->nelts);
        for (i = 0; i < a->nelts; i++) {
            FUZZ_CHECK(e[i].key[0] != '\0' && no_ctl(e[i].key));
            FUZZ_CHECK(e[i].val[0] != '\0' && no_ctl(e[i].val));
            FUZZ_CHECK(strlen(e[i].val) <= OAS_PARAM_MAX_LEN);
            /* each name once, except the repeatable one (its first value answers) */
            FUZZ_CHECK(strcasecmp(e[i].key, OAS_FORM_REPEATABLE) == 0
                       || strcmp(apr_table_get(t, e[i].key), e[i].val) == 0);
        }
    }
    else {
        FUZZ_CHECK(rv == APR_EINVAL && t == NULL && err != NULL && err[0] != '\0');
        FUZZ_CHECK(strcmp(err, err2) == 0 && no_ctl(err));
    }
    /* the same bytes as a Content-Type header value */
    (void)oas_form_is_urlencoded(fuzz_cstr(p, data, size));
    apr_pool_destroy(p);
    return 0;
}
