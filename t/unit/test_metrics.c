/* test_metrics.c — the status endpoint in Prometheus' text format
 * (?format=prometheus): the exposition syntax, the same figures as the JSON
 * document, the format parameter, no token in either. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_global_mutex.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "oas_proto.h"
#include "oas_token.h"
#include "unit.h"

static apr_pool_t *pool;
static char tmpdir[64];
static oas_config_t cfg;
static oas_counters_t counters;

static void setup(void)
{
    oas_store_default_conf_t c;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    int i;

    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    strcpy(tmpdir, "/tmp/oas_metrics_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    memset(&c, 0, sizeof(c));
    c.path = apr_pstrcat(pool, tmpdir, "/store", NULL);
    c.mem_entries = 20;
    c.disk_entries = 30;
    ck_assert_int_eq(apr_global_mutex_create(&c.mutex, NULL, APR_LOCK_DEFAULT, pool),
                     APR_SUCCESS);
    memset(&cfg, 0, sizeof(cfg));
    ck_assert_int_eq(oas_store_default_create(&cfg.store, &c, pool), APR_SUCCESS);
    for (i = 0; i < 3; i++) {          /* 3 access tokens, 1 code */
        memset(&e, 0, sizeof(e));
        e.kind = i < 2 ? OAS_KIND_ACCESS : OAS_KIND_CODE;
        e.exp = (long long)apr_time_sec(apr_time_now()) + 60;
        e.data = "x";
        e.len = 1;
        oas_store_key(key, "t:", apr_psprintf(pool, "%d", i));
        ck_assert_int_eq(cfg.store->put(cfg.store, key, &e, pool), APR_SUCCESS);
    }
    memset(&counters, 0, sizeof(counters));
    for (i = 0; i < OAS_CNT_GRANT_MAX; i++) {
        counters.issued[i] = (apr_uint32_t)(10 + i);
    }
    for (i = 0; i < OAS_ERR_MAX; i++) {
        counters.errors[i] = (apr_uint32_t)(100 + i);
    }
    counters.codes_issued = 7;
    counters.introspections = 8;
    counters.revocations = 9;
    counters.bearer_ok = 11;
    counters.bearer_refused = 12;
    counters.purges = 13;
    cfg.counters = &counters;
    cfg.issuer = "https://as.example";
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    unit_rm_dir(tmpdir);
}

static oas_response_t *status(const char *method, const char *query)
{
    oas_http_req_t req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.is_https = 1;
    req.query = query;
    return oas_status_endpoint(&cfg, &req, pool);
}

/* Check one line of the exposition format; samples go into h ("name{l=\"v\"}" -> value). */
static void take_line(const char *line, apr_hash_t *h, apr_hash_t *typed)
{
    char name[128], rest[256];
    long long v;

    if (strncmp(line, "# HELP oauth_as_", 16) == 0) {
        return;
    }
    if (sscanf(line, "# TYPE %127s %255s", name, rest) == 2) {
        ck_assert_msg(strcmp(rest, "gauge") == 0 || strcmp(rest, "counter") == 0, "%s", line);
        apr_hash_set(typed, apr_pstrdup(pool, name), APR_HASH_KEY_STRING, "");
        return;
    }
    ck_assert_msg(sscanf(line, "%127[a-z_]%255[^ ] %lld", name, rest, &v) >= 2
                  || sscanf(line, "%127[a-z_] %lld", name, &v) == 2, "bad line '%s'", line);
    ck_assert_msg(apr_hash_get(typed, name, APR_HASH_KEY_STRING) != NULL,
                  "no TYPE before '%s'", line);
    ck_assert_ptr_nonnull(strrchr(line, ' '));
    v = strtoll(strrchr(line, ' ') + 1, NULL, 10);
    snprintf(rest, sizeof(rest), "%lld", v);
    apr_hash_set(h, apr_pstrndup(pool, line, (apr_size_t)(strrchr(line, ' ') - line)),
                 APR_HASH_KEY_STRING, apr_pstrdup(pool, rest));
}

static apr_hash_t *prom_samples(const char *body)
{
    apr_hash_t *h = apr_hash_make(pool), *typed = apr_hash_make(pool);
    char *text = apr_pstrdup(pool, body), *line, *last;

    ck_assert_int_eq(body[strlen(body) - 1], '\n');
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        take_line(line, h, typed);
    }
    return h;
}

static void same(apr_hash_t *h, const char *sample, json_t *v)
{
    const char *got = apr_hash_get(h, sample, APR_HASH_KEY_STRING);

    ck_assert_msg(got != NULL, "no sample %s", sample);
    ck_assert_msg(json_is_integer(v) && strtoll(got, NULL, 10) == json_integer_value(v),
                  "%s: %s, JSON %lld", sample, got, (long long)json_integer_value(v));
}

/* every labelled group of the JSON as name{label="key"} */
static void same_group(apr_hash_t *h, const char *name, const char *label, json_t *obj)
{
    const char *k;
    json_t *v;

    ck_assert_ptr_nonnull(obj);
    json_object_foreach(obj, k, v) {
        same(h, apr_psprintf(pool, "oauth_as_%s{%s=\"%s\"}", name, label, k), v);
    }
}

START_TEST(prometheus_same_figures)
{
    oas_response_t *rj = status("GET", NULL), *rp = status("GET", "format=prometheus");
    json_t *j, *st, *c;
    apr_hash_t *h;

    ck_assert_int_eq(rp->status, 200);
    ck_assert_str_eq(rp->content_type, "text/plain; version=0.0.4");
    ck_assert_str_eq(apr_table_get(rp->headers, "Cache-Control"), "no-store");
    h = prom_samples(rp->body);
    j = json_loads(rj->body, 0, NULL);
    ck_assert_ptr_nonnull(j);
    st = json_object_get(j, "store");
    c = json_object_get(j, "counters");
    same_group(h, "store_memory_entries", "kind", json_object_get(st, "memory_entries"));
    same(h, "oauth_as_store_memory_capacity", json_object_get(st, "memory_capacity"));
    same(h, "oauth_as_store_disk_entries", json_object_get(st, "disk_entries"));
    same(h, "oauth_as_store_disk_capacity", json_object_get(st, "disk_capacity"));
    same(h, "oauth_as_store_purged_total", json_object_get(st, "purged"));
    same(h, "oauth_as_store_full_total", json_object_get(st, "full"));
    same_group(h, "tokens_issued_total", "grant", json_object_get(c, "tokens_issued"));
    same_group(h, "errors_total", "error", json_object_get(c, "errors"));
    same(h, "oauth_as_codes_issued_total", json_object_get(c, "codes_issued"));
    same(h, "oauth_as_introspections_total", json_object_get(c, "introspections"));
    same(h, "oauth_as_revocations_total", json_object_get(c, "revocations"));
    same(h, "oauth_as_bearer_accepted_total", json_object_get(c, "bearer_accepted"));
    same(h, "oauth_as_bearer_refused_total", json_object_get(c, "bearer_refused"));
    same(h, "oauth_as_purge_runs_total", json_object_get(c, "purge_runs"));
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_store_memory_entries{kind=\"access_token\"}",
                                  APR_HASH_KEY_STRING), "2");
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_store_memory_entries{kind=\"code\"}",
                                  APR_HASH_KEY_STRING), "1");
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_store_disk_capacity", APR_HASH_KEY_STRING),
                     "30");
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_errors_total{error=\"invalid_client\"}",
                                  APR_HASH_KEY_STRING), "101");
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_store_info{type=\"default\"}",
                                  APR_HASH_KEY_STRING), "1");
    ck_assert_str_eq(apr_hash_get(h, "oauth_as_info{issuer=\"https://as.example\"}",
                                  APR_HASH_KEY_STRING), "1");
    json_decref(j);
}
END_TEST

START_TEST(prometheus_format_parameter)
{
    oas_response_t *r;

    ck_assert_str_eq(status("GET", "format=json")->content_type, "application/json");
    ck_assert_str_eq(status("GET", "other=1")->content_type, "application/json");
    r = status("HEAD", "format=prometheus");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->content_type, "text/plain; version=0.0.4");
    r = status("GET", "format=xml");
    ck_assert_int_eq(r->status, 400);
    ck_assert_ptr_nonnull(strstr(r->body, "invalid_request"));
    ck_assert_int_eq(status("GET", "format=prometheus&format=json")->status, 400);
    ck_assert_int_eq(status("POST", "format=prometheus")->status, 405);
}
END_TEST

START_TEST(prometheus_escapes_and_bare)
{
    apr_hash_t *h;

    cfg.issuer = "https://as.example/\"x\\y\nz";
    h = prom_samples(status("GET", "format=prometheus")->body);
    ck_assert_ptr_nonnull(apr_hash_get(h, "oauth_as_info{issuer=\"https://as.example/\\\"x\\\\y\\nz\"}",
                                       APR_HASH_KEY_STRING));
    cfg.store = NULL;                       /* no store, no counters: still a document */
    cfg.counters = NULL;
    h = prom_samples(status("GET", "format=prometheus")->body);
    ck_assert_int_eq(apr_hash_count(h), 1);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("prometheus");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, prometheus_same_figures);
    tcase_add_test(tc, prometheus_format_parameter);
    tcase_add_test(tc, prometheus_escapes_and_bare);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(metrics_suite)
