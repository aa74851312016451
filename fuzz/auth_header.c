/* fuzz/auth_header.c — the Authorization header parsers of include/oas_form.h:
 * oas_basic_parse (HTTP Basic with RFC 6749 §2.3.1 form-encoding) and
 * oas_bearer_parse (RFC 6750 b64token). The input is the header value.
 * Properties: the documented result codes only; on success the user is
 * non-empty and both are free of control characters; a Bearer token is a
 * b64token no longer than 4 KiB (a JWT access token); a header of the other scheme
 * is ENOENT. */
#include <string.h>
#include <apr_strings.h>
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

static void basic(const char *h, apr_pool_t *p)
{
    const char *user = "x", *pass = "x";
    apr_status_t rv = oas_basic_parse(h, &user, &pass, p);

    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_ENOENT || rv == APR_EINVAL);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(user && pass && user[0] != '\0');
        FUZZ_CHECK(no_ctl(user) && no_ctl(pass));
    }
    else {
        FUZZ_CHECK(user == NULL && pass == NULL);
    }
}

static void bearer(const char *h, apr_pool_t *p)
{
    const char *tok = "x";
    apr_status_t rv = oas_bearer_parse(h, &tok, p);
    size_t n, i;

    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_ENOENT || rv == APR_EINVAL);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(tok == NULL);
        return;
    }
    n = strlen(tok);
    FUZZ_CHECK(n > 0 && n <= 4096);
    i = strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
    FUZZ_CHECK(i > 0);
    FUZZ_CHECK(strspn(tok + i, "=") == n - i);
    FUZZ_CHECK(strstr(h, tok) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *h;

    apr_pool_create(&p, fuzz_pool_root());
    h = fuzz_cstr(p, data, size);
    basic(h, p);
    bearer(h, p);
    /* the same credentials under the other scheme's name */
    basic(apr_pstrcat(p, "Basic ", h, NULL), p);
    bearer(apr_pstrcat(p, "Bearer ", h, NULL), p);
    apr_pool_destroy(p);
    return 0;
}
