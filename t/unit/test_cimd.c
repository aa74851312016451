/* test_cimd.c — client metadata documents: the form of a document URL
 * (oas_cimd_is_url), the document's rules (oas_cimd_check), and the outbound
 * client's address policy (oas_cidr_parse, oas_addr_allowed in oas_fetch.c).
 * The fetch itself is tested against a real HTTPS server in t/49_cimd.t. */
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "fixture.h"
#include "oas_cimd.h"
#include "oas_fetch.h"

static const char *registry_json(void)
{
    return "{\"clients\": []}";
}

static void setup(void)
{
    fx_setup("cimd", registry_json, NULL, 64);
    cfg.reg_grants = OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_REFRESH_TOKEN;
    cfg.reg_scopes = NULL;
    cfg.cimd = 1;
}

static void teardown(void)
{
    fx_teardown();
}

START_TEST(test_url_form)
{
    ck_assert(oas_cimd_is_url("https://app.example/client.json"));
    ck_assert(oas_cimd_is_url("https://app.example:8443/a/b"));
    ck_assert(!oas_cimd_is_url("http://app.example/client.json"));     /* https only */
    ck_assert(!oas_cimd_is_url("https://app.example/"));               /* a path */
    ck_assert(!oas_cimd_is_url("https://app.example"));
    ck_assert(!oas_cimd_is_url("https://user@app.example/c"));         /* no user info */
    ck_assert(!oas_cimd_is_url("https://app.example/c?x=1"));
    ck_assert(!oas_cimd_is_url("https://app.example/c#f"));
    ck_assert(!oas_cimd_is_url("https://app.example/a/../c"));
    ck_assert(!oas_cimd_is_url("https://app.example/a/./c"));
    ck_assert(!oas_cimd_is_url("https://app.example/a b"));
    ck_assert(!oas_cimd_is_url("webapp"));
    ck_assert(!oas_cimd_is_url(apr_pstrcat(pool, "https://app.example/",
                                           apr_psprintf(pool, "%0200d", 0), NULL)));
}
END_TEST

static const char *why_of(const char *url, const char *doc)
{
    const char *why = NULL;
    json_t *m = oas_cimd_check(&cfg, url, doc, strlen(doc), &why, pool);

    json_decref(m);
    return m ? NULL : why;
}

START_TEST(test_document_rules)
{
    const char *u = "https://app.example/c.json";
    const char *why = NULL;
    const char *good = "{\"client_id\":\"https://app.example/c.json\",\"client_name\":\"App\","
                       "\"redirect_uris\":[\"https://app.example/cb\"]}";
    json_t *m = oas_cimd_check(&cfg, u, good, strlen(good), &why, pool);

    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(json_string_value(json_object_get(m, "token_endpoint_auth_method")), "none");
    ck_assert_str_eq(json_string_value(json_object_get(m, "client_name")), "App");
    json_decref(m);
    ck_assert_ptr_nonnull(strstr(why_of(u, "[]"), "not a JSON object"));
    ck_assert_ptr_nonnull(strstr(why_of(u, "{\"client_id\":\"https://app.example/c.json/\","
                                           "\"redirect_uris\":[\"https://a.example/cb\"]}"),
                                 "not exactly its URL"));
    ck_assert_ptr_nonnull(strstr(why_of(u, "{\"client_id\":\"https://app.example/c.json\","
                                           "\"redirect_uris\":[\"https://a.example/cb\"],"
                                           "\"token_endpoint_auth_method\":\"client_secret_post\"}"),
                                 "shared secret"));
    ck_assert_ptr_nonnull(strstr(why_of(u, "{\"client_id\":\"https://app.example/c.json\","
                                           "\"redirect_uris\":[\"https://a.example/cb\"],"
                                           "\"token_endpoint_auth_method\":\"private_key_jwt\"}"),
                                 "must be none"));
    ck_assert_ptr_nonnull(strstr(why_of(u, "{\"client_id\":\"https://app.example/c.json\","
                                           "\"redirect_uris\":[\"http://app.example/cb\"]}"),
                                 "invalid_redirect_uri"));
    ck_assert_ptr_nonnull(strstr(why_of(u, "{\"client_id\":\"https://app.example/c.json\","
                                           "\"redirect_uris\":[\"https://a.example/cb\"],"
                                           "\"grant_types\":[\"password\"]}"),
                                 "invalid_client_metadata"));
}
END_TEST

static int allowed(const char *ip, const apr_array_header_t *nets)
{
    unsigned char a[16];
    int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

    ck_assert_int_eq(inet_pton(fam, ip, a), 1);
    return oas_addr_allowed(fam, a, nets);
}

START_TEST(test_address_policy)
{
    apr_array_header_t *nets = apr_array_make(pool, 2, sizeof(oas_cidr_t));
    static const char *const closed[] = {
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1",
        "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "64:ff9b::a00:1",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        ck_assert_msg(!allowed(closed[i], NULL), "%s allowed", closed[i]);
    }
    ck_assert(allowed("93.184.216.34", NULL));
    ck_assert(allowed("2606:2800:220:1:248:1893:25c8:1946", NULL));
    ck_assert(allowed("::ffff:93.184.216.34", NULL));
    ck_assert_ptr_null(oas_cidr_parse("10.1.0.0/16", apr_array_push(nets)));
    ck_assert_ptr_null(oas_cidr_parse("::1", apr_array_push(nets)));
    ck_assert(allowed("10.1.200.7", nets));
    ck_assert(!allowed("10.2.0.1", nets));
    ck_assert(allowed("::1", nets));
    ck_assert(!allowed("127.0.0.1", nets));
    ck_assert_ptr_nonnull(oas_cidr_parse("10.0.0.0/33", &(oas_cidr_t){ 0 }));
    ck_assert_ptr_nonnull(oas_cidr_parse("example.org", &(oas_cidr_t){ 0 }));
    ck_assert_ptr_nonnull(oas_cidr_parse("10.0.0.0/", &(oas_cidr_t){ 0 }));
}
END_TEST

static Suite *cimd_suite(void)
{
    Suite *s = suite_create("cimd");
    TCase *tc = tcase_create("cimd");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_url_form);
    tcase_add_test(tc, test_document_rules);
    tcase_add_test(tc, test_address_policy);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(cimd_suite)
