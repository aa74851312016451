/* test_json.c — the flat JSON writer writes what jansson writes: the same
 * bytes as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) for the same
 * members, for plain, escaped, UTF-8, invalid and random strings. */
#include <string.h>
#include <stdlib.h>
#include <jansson.h>
#include "unit.h"
#include "oas_json.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* jansson's text of {"a": s, "n": -5, "b": s, "t": true} and ours */
static void same_as_jansson(const char *s)
{
    json_t *o = json_object();
    char *want;
    oas_jw_t w;

    json_object_set_new(o, "a", json_string(s));
    json_object_set_new(o, "n", json_integer(-5));
    json_object_set_new(o, "b", json_string(s));
    json_object_set_new(o, "t", json_true());
    want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    oas_jw_begin(&w, pool);
    oas_jw_str(&w, "a", s);
    oas_jw_int(&w, "n", -5);
    oas_jw_str(&w, "b", s);
    oas_jw_bool(&w, "t", 1);
    ck_assert_str_eq(oas_jw_end(&w), want);
    free(want);
    json_decref(o);
}

START_TEST(plain_and_escaped)
{
    static const char *const cases[] = {
        "", "Bearer", "read write", "a\"b", "back\\slash", "tab\there", "new\nline",
        "\x01\x1f", "del\x7f", "/slash/", "caf\xc3\xa9", "\xf0\x9f\x94\x91 key",
        "https://as.example:8443", "3Ld-ZcvIyoC6eTqJyJHBtIbVOzakT1HgEKP8LuzGaAc",
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        same_as_jansson(cases[i]);
    }
}
END_TEST

START_TEST(invalid_utf8_left_out)
{
    same_as_jansson("\xff\xfe");
    same_as_jansson("ok\xc3");
    same_as_jansson("\xed\xa0\x80");          /* a UTF-16 surrogate */
}
END_TEST

START_TEST(numbers_order_null)
{
    oas_jw_t w;

    oas_jw_begin(&w, pool);
    ck_assert_str_eq(oas_jw_end(&w), "{}");
    oas_jw_begin(&w, pool);
    oas_jw_str(&w, "skip", NULL);
    oas_jw_int(&w, "big", 9223372036854775807LL);
    oas_jw_int(&w, "small", -9223372036854775807LL - 1);
    oas_jw_bool(&w, "f", 0);
    oas_jw_str(&w, "last", "x");
    ck_assert_str_eq(oas_jw_end(&w), "{\"big\":9223372036854775807,"
                     "\"small\":-9223372036854775808,\"f\":false,\"last\":\"x\"}");
}
END_TEST

START_TEST(random_strings)
{
    char s[64];
    unsigned seed = 12345;
    int i, n, k;

    for (i = 0; i < 5000; i++) {
        n = (int)(rand_r(&seed) % (sizeof(s) - 1));
        for (k = 0; k < n; k++) {
            s[k] = (char)(1 + rand_r(&seed) % 255);
        }
        s[n] = '\0';
        same_as_jansson(s);
    }
}
END_TEST

START_TEST(long_values_grow_the_buffer)
{
    char *big = apr_palloc(pool, 5001);

    memset(big, 'x', 5000);
    big[5000] = '\0';
    same_as_jansson(big);
    big[2500] = '"';
    same_as_jansson(big);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_and_escaped);
    tcase_add_test(tc, invalid_utf8_left_out);
    tcase_add_test(tc, numbers_order_null);
    tcase_add_test(tc, random_strings);
    tcase_add_test(tc, long_values_grow_the_buffer);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(json_suite)
