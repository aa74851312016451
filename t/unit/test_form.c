/* test_form.c — oas_form: form/query parsing, Content-Type, Basic, Bearer. */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "unit.h"
#include "oas_form.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_table_t *parse_ok(const char *s)
{
    apr_table_t *t = NULL;
    const char *err = "unset";

    ck_assert_int_eq(oas_form_parse(&t, s, strlen(s), pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Parse data that must fail; returns the message. */
static const char *parse_bad_n(const char *s, apr_size_t len)
{
    apr_table_t *t = NULL;
    const char *err = NULL;

    ck_assert_int_eq(oas_form_parse(&t, s, len, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(t);
    return err;
}

static const char *parse_bad(const char *s)
{
    return parse_bad_n(s, strlen(s));
}

START_TEST(form_simple)
{
    apr_table_t *t = parse_ok("grant_type=authorization_code&code=abc&redirect_uri="
                              "https%3A%2F%2Fapp.example%2Fcb");

    ck_assert_int_eq(apr_table_elts(t)->nelts, 3);
    ck_assert_str_eq(apr_table_get(t, "grant_type"), "authorization_code");
    ck_assert_str_eq(apr_table_get(t, "code"), "abc");
    ck_assert_str_eq(apr_table_get(t, "redirect_uri"), "https://app.example/cb");
}
END_TEST

START_TEST(form_plus_and_percent)
{
    apr_table_t *t = parse_ok("scope=read+write&x=a%2Bb&y=%41%62%7e&n%61me=v&u=%C3%A9");

    ck_assert_str_eq(apr_table_get(t, "scope"), "read write");
    ck_assert_str_eq(apr_table_get(t, "x"), "a+b");
    ck_assert_str_eq(apr_table_get(t, "y"), "Ab~");
    ck_assert_str_eq(apr_table_get(t, "name"), "v");
    ck_assert_str_eq(apr_table_get(t, "u"), "\xc3\xa9");
    t = parse_ok("token=abc==&raw=\xc3\xa9");              /* '=' in a value, raw UTF-8 */
    ck_assert_str_eq(apr_table_get(t, "token"), "abc==");
    ck_assert_str_eq(apr_table_get(t, "raw"), "\xc3\xa9");
}
END_TEST

START_TEST(form_bad_percent)
{
    parse_bad("a=%zz");
    parse_bad("a=%4");            /* truncated */
    parse_bad("a=%");
    parse_bad("a=1&b=%4");
    parse_bad("a=%4&b=1");
    parse_bad("a=%g0");
    parse_bad("%zz=1");
    parse_bad("a%=1");
}
END_TEST

START_TEST(form_control_chars)
{
    const char *err;

    err = parse_bad("a=x%00y");                       /* NUL via %00 */
    ck_assert_str_eq(err, "parameter 'a' has bad percent-encoding or control characters");
    parse_bad("a=x%0Ay");
    parse_bad("a=x%7fy");
    parse_bad("a=x\ty");                              /* raw control bytes */
    parse_bad("a=x\ry");
    parse_bad("a=x\x1by");
    parse_bad("a=x\x7fy");
    parse_bad_n("a=x\0y", 5);                         /* raw NUL inside len */
    parse_bad("a%00=1");
    parse_bad("a\n=1");
}
END_TEST

START_TEST(form_duplicates)
{
    const char *err;

    err = parse_bad("code=a&code=b");
    ck_assert_str_eq(err, "parameter 'code' is given more than once");
    parse_bad("code=a&code=a");
    parse_bad("code=a&code=");                        /* empty duplicate */
    parse_bad("code=&code=a");
    parse_bad("code&code=a");
    parse_bad("code=a&code");
    parse_bad("code=a&c%6fde=b");                     /* same name once decoded */
}
END_TEST

START_TEST(form_empty_values_omitted)
{
    apr_table_t *t = parse_ok("a=&b&c=1");

    ck_assert_ptr_null(apr_table_get(t, "a"));
    ck_assert_ptr_null(apr_table_get(t, "b"));
    ck_assert_str_eq(apr_table_get(t, "c"), "1");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
}
END_TEST

START_TEST(form_empty_pieces_tolerated)
{
    /* documented choice: empty pieces between '&' are skipped */
    apr_table_t *t = parse_ok("a=1&&b=2");

    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_str_eq(apr_table_get(t, "b"), "2");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 2);
    t = parse_ok("&a=1&");
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    t = parse_ok("&&&");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
}
END_TEST

START_TEST(form_empty_names)
{
    ck_assert_str_eq(parse_bad("=1"), "a parameter has an empty name");
    parse_bad("a=1&=2");
    parse_bad("=");
    parse_bad("a=1&=");
}
END_TEST

START_TEST(form_empty_body)
{
    apr_table_t *t = NULL;
    const char *err = NULL;

    t = parse_ok("");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(oas_form_parse(&t, NULL, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(oas_form_parse(&t, NULL, 3, pool, &err), APR_EINVAL);
    /* len is honoured: nothing after it is read */
    t = parse_ok("a=1");
    ck_assert_int_eq(oas_form_parse(&t, "a=1&b=%zz", 3, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "a"), "1");
    ck_assert_ptr_null(apr_table_get(t, "b"));
}
END_TEST

START_TEST(form_long_values)
{
    char *v = apr_palloc(pool, OAS_PARAM_MAX_LEN * 3 + 16);
    const char *err;
    apr_table_t *t;

    memcpy(v, "a=", 2);
    memset(v + 2, 'x', OAS_PARAM_MAX_LEN);
    v[2 + OAS_PARAM_MAX_LEN] = '\0';
    t = parse_ok(v);
    ck_assert_uint_eq(strlen(apr_table_get(t, "a")), OAS_PARAM_MAX_LEN);
    strcpy(v + 2 + OAS_PARAM_MAX_LEN, "x");
    err = parse_bad(v);
    ck_assert_str_eq(err, "parameter 'a' is too long");
    /* encoded form is longer but decodes to the limit: fine */
    v[2] = '\0';
    {
        int i;
        char *o = v + 2;
        for (i = 0; i < OAS_PARAM_MAX_LEN; ++i) {
            memcpy(o, "%41", 3);
            o += 3;
        }
        *o = '\0';
    }
    t = parse_ok(v);
    ck_assert_uint_eq(strlen(apr_table_get(t, "a")), OAS_PARAM_MAX_LEN);
    /* a long name */
    memset(v, 'n', OAS_PARAM_MAX_LEN + 1);
    strcpy(v + OAS_PARAM_MAX_LEN + 1, "=1");
    parse_bad(v);
}
END_TEST

START_TEST(form_too_big_body)
{
    apr_size_t n = OAS_FORM_MAX_BODY + 1;
    char *v = apr_palloc(pool, n + 1);

    memset(v, 'a', n);
    v[0] = 'x';
    v[1] = '=';
    v[n] = '\0';
    ck_assert_str_eq(parse_bad(v), "request body too large");
}
END_TEST

START_TEST(form_too_many_params)
{
    char *s = "";
    int i;

    for (i = 0; i < OAS_PARAM_MAX_COUNT; ++i) {
        s = apr_psprintf(pool, "%s%sp%d=%d", s, i ? "&" : "", i, i);
    }
    ck_assert_int_eq(apr_table_elts(parse_ok(s))->nelts, OAS_PARAM_MAX_COUNT);
    s = apr_pstrcat(pool, s, "&one=more", NULL);
    ck_assert_str_eq(parse_bad(s), "too many parameters");
}
END_TEST

START_TEST(form_error_never_echoes)
{
    const char *err;

    err = parse_bad("a%22%3Cscript%3E=1&a%22%3Cscript%3E=2");   /* name not plain */
    ck_assert_str_eq(err, "a parameter is given more than once");
    err = parse_bad("secretname=%zzSECRETVALUE");
    ck_assert_ptr_null(strstr(err, "SECRET"));
    ck_assert_ptr_null(strstr(err, "%zz"));
    err = parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1&"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=2");
    ck_assert_str_eq(err, "a parameter is given more than once");         /* 65 chars */
}
END_TEST

START_TEST(content_type)
{
    ck_assert(oas_form_is_urlencoded("application/x-www-form-urlencoded"));
    ck_assert(oas_form_is_urlencoded("Application/X-WWW-Form-URLEncoded"));
    ck_assert(oas_form_is_urlencoded("application/x-www-form-urlencoded; charset=UTF-8"));
    ck_assert(oas_form_is_urlencoded("application/x-www-form-urlencoded;charset=utf-8"));
    ck_assert(oas_form_is_urlencoded(" application/x-www-form-urlencoded "));
    ck_assert(!oas_form_is_urlencoded("application/x-www-form-urlencodedX"));
    ck_assert(!oas_form_is_urlencoded("application/json"));
    ck_assert(!oas_form_is_urlencoded("multipart/form-data; boundary=x"));
    ck_assert(!oas_form_is_urlencoded("application/x-www-form"));
    ck_assert(!oas_form_is_urlencoded(""));
    ck_assert(!oas_form_is_urlencoded(NULL));
}
END_TEST

/* ---- Basic ---- */

static apr_status_t basic(const char *h, const char **u, const char **pw)
{
    return oas_basic_parse(h, u, pw, pool);
}

START_TEST(basic_valid)
{
    const char *u, *pw;

    /* RFC 7617: Aladdin / open sesame */
    ck_assert_int_eq(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_SUCCESS);
    ck_assert_str_eq(u, "Aladdin");
    ck_assert_str_eq(pw, "open sesame");
    ck_assert_int_eq(basic("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_SUCCESS);
    ck_assert_int_eq(basic("BASIC   QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_SUCCESS);
    ck_assert_int_eq(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", &u, &pw), APR_SUCCESS);
    ck_assert_str_eq(pw, "open sesame");
    /* "webapp:" -> empty password is returned (the secret check fails later) */
    ck_assert_int_eq(basic("Basic d2ViYXBwOg==", &u, &pw), APR_SUCCESS);
    ck_assert_str_eq(u, "webapp");
    ck_assert_str_eq(pw, "");
}
END_TEST

START_TEST(basic_split_first_colon)
{
    const char *u, *pw;

    /* "app:pa:ss" */
    ck_assert_int_eq(basic("Basic YXBwOnBhOnNz", &u, &pw), APR_SUCCESS);
    ck_assert_str_eq(u, "app");
    ck_assert_str_eq(pw, "pa:ss");
}
END_TEST

START_TEST(basic_urlencoded)
{
    const char *u, *pw;

    /* "my%3Aapp:s%2Bc+r%25t" -> "my:app" / "s+c r%t" (RFC 6749 §2.3.1) */
    ck_assert_int_eq(basic("Basic bXklM0FhcHA6cyUyQmMrciUyNXQ=", &u, &pw), APR_SUCCESS);
    ck_assert_str_eq(u, "my:app");
    ck_assert_str_eq(pw, "s+c r%t");
    /* "app:bad%zz" */
    ck_assert_int_eq(basic("Basic YXBwOmJhZCV6eg==", &u, &pw), APR_EINVAL);
    /* "app:x%00y" */
    ck_assert_int_eq(basic("Basic YXBwOnglMDB5", &u, &pw), APR_EINVAL);
}
END_TEST

START_TEST(basic_broken)
{
    const char *u = "x", *pw = "x";

    ck_assert_int_eq(basic("Basic QWxhZGRpbg==", &u, &pw), APR_EINVAL);   /* no colon */
    ck_assert_ptr_null(u);
    ck_assert_ptr_null(pw);
    ck_assert_int_eq(basic("Basic OnNlY3JldA==", &u, &pw), APR_EINVAL);   /* ":secret" */
    ck_assert_int_eq(basic("Basic !!!!", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic QWxh ZGRp", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ-_", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic ", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic    ", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic\tQWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_EINVAL);
    ck_assert_int_eq(basic("Basic=QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_EINVAL);
    /* "a\tb:c" raw control char in the user */
    ck_assert_int_eq(basic("Basic YQliOmM=", &u, &pw), APR_EINVAL);
    /* "a:b\0c" raw NUL */
    ck_assert_int_eq(basic("Basic YTpiAGM=", &u, &pw), APR_EINVAL);
}
END_TEST

START_TEST(basic_huge_header)
{
    const char *u, *pw;
    apr_size_t n = 8192;
    char *h = apr_palloc(pool, n + 1);

    memcpy(h, "Basic ", 6);
    memset(h + 6, 'A', n - 6);
    h[n] = '\0';
    ck_assert_int_eq(basic(h, &u, &pw), APR_EINVAL);
}
END_TEST

START_TEST(basic_other_scheme)
{
    const char *u = "x", *pw = "x";

    ck_assert_int_eq(basic(NULL, &u, &pw), APR_ENOENT);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(basic("Bearer abc", &u, &pw), APR_ENOENT);
    ck_assert_int_eq(basic("Digest username=\"x\"", &u, &pw), APR_ENOENT);
    ck_assert_int_eq(basic("Basically QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &u, &pw), APR_ENOENT);
    ck_assert_int_eq(basic("", &u, &pw), APR_ENOENT);
    ck_assert_int_eq(basic("   ", &u, &pw), APR_ENOENT);
}
END_TEST

/* ---- Bearer ---- */

static apr_status_t bearer(const char *h, const char **tok)
{
    return oas_bearer_parse(h, tok, pool);
}

START_TEST(bearer_valid)
{
    const char *t;

    ck_assert_int_eq(bearer("Bearer mF_9.B5f-4.1JqM", &t), APR_SUCCESS);
    ck_assert_str_eq(t, "mF_9.B5f-4.1JqM");
    ck_assert_int_eq(bearer("bearer abc~+/==", &t), APR_SUCCESS);
    ck_assert_str_eq(t, "abc~+/==");
    ck_assert_int_eq(bearer("BEARER   abc", &t), APR_SUCCESS);
    ck_assert_str_eq(t, "abc");
    ck_assert_int_eq(bearer("Bearer abc  ", &t), APR_SUCCESS);     /* trailing OWS */
    ck_assert_str_eq(t, "abc");
}
END_TEST

START_TEST(bearer_broken)
{
    const char *t = "x";

    ck_assert_int_eq(bearer("Bearer", &t), APR_EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(bearer("Bearer ", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer    ", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer abc def", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer abc\tdef", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ab\"c", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ab,c", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ab=c", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ===", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ab\xc3\xa9", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer ab\x01", &t), APR_EINVAL);
    ck_assert_int_eq(bearer("Bearer\tabc", &t), APR_EINVAL);
}
END_TEST

START_TEST(bearer_length)
{
    const char *t;
    char *h = apr_palloc(pool, 7 + 4097 + 1);

    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'a', 4096);
    h[7 + 4096] = '\0';
    ck_assert_int_eq(bearer(h, &t), APR_SUCCESS);
    ck_assert_uint_eq(strlen(t), 4096);
    h[7 + 4096] = 'a';
    h[7 + 4097] = '\0';
    ck_assert_int_eq(bearer(h, &t), APR_EINVAL);
}
END_TEST

START_TEST(bearer_other_scheme)
{
    const char *t;

    ck_assert_int_eq(bearer(NULL, &t), APR_ENOENT);
    ck_assert_int_eq(bearer("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &t), APR_ENOENT);
    ck_assert_int_eq(bearer("Bearerabc", &t), APR_ENOENT);
    ck_assert_int_eq(bearer("", &t), APR_ENOENT);
}
END_TEST

static Suite *form_suite(void)
{
    Suite *s = suite_create("form");
    TCase *tc = tcase_create("form");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, form_simple);
    tcase_add_test(tc, form_plus_and_percent);
    tcase_add_test(tc, form_bad_percent);
    tcase_add_test(tc, form_control_chars);
    tcase_add_test(tc, form_duplicates);
    tcase_add_test(tc, form_empty_values_omitted);
    tcase_add_test(tc, form_empty_pieces_tolerated);
    tcase_add_test(tc, form_empty_names);
    tcase_add_test(tc, form_empty_body);
    tcase_add_test(tc, form_long_values);
    tcase_add_test(tc, form_too_big_body);
    tcase_add_test(tc, form_too_many_params);
    tcase_add_test(tc, form_error_never_echoes);
    tcase_add_test(tc, content_type);
    tcase_add_test(tc, basic_valid);
    tcase_add_test(tc, basic_split_first_colon);
    tcase_add_test(tc, basic_urlencoded);
    tcase_add_test(tc, basic_broken);
    tcase_add_test(tc, basic_huge_header);
    tcase_add_test(tc, basic_other_scheme);
    tcase_add_test(tc, bearer_valid);
    tcase_add_test(tc, bearer_broken);
    tcase_add_test(tc, bearer_length);
    tcase_add_test(tc, bearer_other_scheme);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(form_suite)
