/* test_device.c — the device grant's core (oas_device.c) without a server: user
 * codes (alphabet, format, matching), the record, the one decision per user code,
 * the polling interval and its growth, on a real default store in a temp dir. */
#include <string.h>
#include <apr_strings.h>
#include "unit.h"
#include "fixture.h"
#include "oas_device.h"

static const char *registry_json(void)
{
    return "{\"clients\": [{\"client_id\":\"tv\",\"type\":\"public\","
           "\"grant_types\":[\"device_code\"],\"scopes\":[\"read\"]}]}";
}

static void setup(void)
{
    fx_setup("device", registry_json, NULL, 64);
}

/* A pending grant made at now; *pdc gets the device code. */
static oas_device_t make(const char **pdc, long long now)
{
    oas_device_t d;

    memset(&d, 0, sizeof(d));
    d.issuer = cfg.issuer;
    d.client_id = "tv";
    d.scope = "read";
    d.interval = 5;
    d.iat = now;
    d.exp = now + 600;
    ck_assert_int_eq(oas_device_create(pdc, &d, &cfg, pool), APR_SUCCESS);
    return d;
}

START_TEST(user_code_alphabet)
{
    const char *c;
    int i, j, seen[26] = { 0 };

    for (i = 0; i < 200; i++) {
        ck_assert_int_eq(oas_user_code_new(&c, pool), APR_SUCCESS);
        ck_assert_uint_eq(strlen(c), OAS_USER_CODE_LEN);
        for (j = 0; c[j]; j++) {
            ck_assert_ptr_nonnull(strchr(OAS_USER_CODE_ALPHABET, c[j]));
            seen[c[j] - 'A'] = 1;
        }
    }
    for (j = 0; OAS_USER_CODE_ALPHABET[j]; j++) {       /* 1600 draws reach all 20 */
        ck_assert_int_eq(seen[OAS_USER_CODE_ALPHABET[j] - 'A'], 1);
    }
    ck_assert_str_eq(oas_user_code_format("BCDFGHJK", pool), "BCDF-GHJK");
}
END_TEST

START_TEST(user_code_matching)
{
    ck_assert_str_eq(oas_user_code_normalize("BCDF-GHJK", pool), "BCDFGHJK");
    ck_assert_str_eq(oas_user_code_normalize("bcdfghjk", pool), "BCDFGHJK");
    ck_assert_str_eq(oas_user_code_normalize(" bcdf - ghjk ", pool), "BCDFGHJK");
    ck_assert_str_eq(oas_user_code_normalize("B-C-D-F-G-H-J-K", pool), "BCDFGHJK");
    ck_assert_ptr_null(oas_user_code_normalize("BCDF-GHJ", pool));      /* too short */
    ck_assert_ptr_null(oas_user_code_normalize("BCDF-GHJKL", pool));    /* too long */
    ck_assert_ptr_null(oas_user_code_normalize("BCDF-GHJA", pool));     /* a vowel */
    ck_assert_ptr_null(oas_user_code_normalize("BCDF-GHJ1", pool));
    ck_assert_ptr_null(oas_user_code_normalize("BCDF\nGHJK", pool));
    ck_assert_ptr_null(oas_user_code_normalize("", pool));
    ck_assert_ptr_null(oas_user_code_normalize(NULL, pool));
}
END_TEST

START_TEST(lookup_and_one_decision)
{
    const char *dc;
    long long t = apr_time_sec(apr_time_now()) - 1000;   /* the store expires by the clock */
    oas_device_t d = make(&dc, t + 1000), got;
    unsigned char dkey[OAS_DIGEST_LEN];
    oas_entry_t e;

    ck_assert_int_eq(oas_device_by_user_code(&got, dkey, &cfg,
                                             apr_pstrdup(pool, d.user_code), t + 1001, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(got.client_id, "tv");
    ck_assert_int_eq(got.status, OAS_DEVICE_PENDING);
    ck_assert_int_eq(oas_device_by_user_code(&got, dkey, &cfg, d.user_code, t + 1600, pool),
                     APR_NOTFOUND);                                     /* expired */
    cfg.issuer = "https://other.example";
    ck_assert_int_eq(oas_device_by_user_code(&got, dkey, &cfg, d.user_code, t + 1001, pool),
                     APR_NOTFOUND);                                     /* another issuer */
    cfg.issuer = d.issuer;
    ck_assert_int_eq(oas_device_decide(&cfg, d.user_code, 1, "alice", t + 1002, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_device_decide(&cfg, d.user_code, 0, "mallory", t + 1002, pool),
                     APR_NOTFOUND);                                     /* one decision */
    ck_assert_int_eq(oas_device_by_user_code(&got, dkey, &cfg, d.user_code, t + 1003, pool),
                     APR_NOTFOUND);
    oas_device_key(dkey, dc);
    ck_assert_int_eq(cfg.store->get(cfg.store, dkey, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_device_decode(&got, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(got.status, OAS_DEVICE_APPROVED);
    ck_assert_str_eq(got.username, "alice");
    ck_assert_int_eq(e.exp, d.exp + 600);         /* kept a lifetime longer: expired_token */
}
END_TEST

START_TEST(interval_grows)
{
    const char *dc;
    long long now = apr_time_sec(apr_time_now());   /* the store's counters use the clock */
    oas_device_t d = make(&dc, now);
    int iv = 0;

    ck_assert_int_eq(oas_device_too_fast(&cfg, dc, &d, now, &iv, pool), 0);
    ck_assert_int_eq(iv, 5);
    ck_assert_int_eq(oas_device_too_fast(&cfg, dc, &d, now + 4, &iv, pool), 1);
    ck_assert_int_eq(iv, 10);                     /* grew by 5 */
    ck_assert_int_eq(oas_device_too_fast(&cfg, dc, &d, now + 9, &iv, pool), 1);
    ck_assert_int_eq(iv, 15);                     /* 5 s < 10 s: again */
    d = make(&dc, now);                           /* another device code: its own interval */
    d.interval = 1;
    ck_assert_int_eq(oas_device_too_fast(&cfg, dc, &d, now, &iv, pool), 0);
    ck_assert_int_eq(iv, 1);
    apr_sleep(apr_time_from_sec(1) + apr_time_from_msec(100));
    now = apr_time_sec(apr_time_now());
    ck_assert_int_eq(oas_device_too_fast(&cfg, dc, &d, now, &iv, pool), 0);
    ck_assert_int_eq(iv, 1);                      /* waited the interval: in time */
}
END_TEST

/* SPEC §8: device grants (anyone with a public client id makes them) are the
 * first to go when memory is full: codes still fit, failure counters stay. */
START_TEST(device_entries_go_first)
{
    oas_store_t *s = cfg.store;
    long long now = apr_time_sec(apr_time_now());
    unsigned char k[OAS_DIGEST_LEN];
    oas_entry_t e, got;
    long n;
    int i;

    for (i = 0; i < 8; i++) {
        oas_store_key(k, "fu:", apr_itoa(pool, i));
        ck_assert_int_eq(s->count(s, k, 1, now + 60, &n, NULL, pool), APR_SUCCESS);
    }
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_DEVICE_CODE;
    e.exp = now + 600;
    e.data = "{}";
    e.len = 2;
    for (i = 0; i < 56; i++) {               /* memory (64) is full now */
        oas_store_key(k, "dc:", apr_itoa(pool, i));
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    e.kind = OAS_KIND_CODE;
    for (i = 0; i < 40; i++) {               /* codes still fit */
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {                /* and every failure counter is there */
        oas_store_key(k, "fu:", apr_itoa(pool, i));
        ck_assert_int_eq(s->count(s, k, 0, 0, &n, NULL, pool), APR_SUCCESS);
        ck_assert_int_eq(n, 1);
    }
    for (i = 0; i < 40; i++) {
        oas_store_key(k, "ac:", apr_itoa(pool, i));
        ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    }
}
END_TEST

static Suite *device_suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, user_code_alphabet);
    tcase_add_test(tc, user_code_matching);
    tcase_add_test(tc, lookup_and_one_decision);
    tcase_add_test(tc, interval_grows);
    tcase_add_test(tc, device_entries_go_first);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(device_suite)
