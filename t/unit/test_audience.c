/* test_audience.c — resource indicators (RFC 8707) and audiences in the core
 * (oas_resource.c): resource URI syntax, the repeatable `resource` parameter,
 * the invalid_target rules (declared, allowed to the client, narrowing only,
 * bounds), the audience in token records (and records made before it
 * existed), aud as JSON, the RFC 9728 §3.1 metadata locations, and the
 * registry's `resources`. */
#include <string.h>
#include <apr_strings.h>
#include "unit.h"
#include "oas_resource.h"
#include "oas_form.h"

#define A "https://api.example/a"
#define B "https://api.example/b"
#define C "urn:example:c"

static apr_pool_t *pool;
static oas_config_t cfg;
static oas_client_t client;

static apr_array_header_t *list(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    const char *s;
    va_list ap;

    va_start(ap, first);
    for (s = first; s; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    return a;
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    memset(&cfg, 0, sizeof(cfg));
    memset(&client, 0, sizeof(client));
    cfg.issuer = "https://as.example";
    cfg.resources = list(A, B, C, NULL);
    client.client_id = "app";
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(uri_syntax)
{
    static const char *const good[] = {
        A, C, "https://api.example", "https://api.example:8443/x?y=1", "http://localhost/x",
        "mcp+ws://h/p", NULL
    };
    static const char *const bad[] = {
        "", "relative", "/abs/path", "api.example/a", "https://api.example/a#f",
        "https://api.example/a b", "https://api.example/\x01", "https:", "https:///x",
        "https://user@api.example/", "http:/x", "1http://x", "https://api.example/\xc3\xa9",
        NULL
    };
    char *longuri = apr_pstrcat(pool, "https://api.example/",
                                apr_psprintf(pool, "%0*d", 250, 0), NULL);
    const char *why;
    int i;

    for (i = 0; good[i]; i++) {
        ck_assert_msg(oas_resource_uri_valid(good[i], &why), "'%s' refused: %s", good[i], why);
    }
    for (i = 0; bad[i]; i++) {
        ck_assert_msg(!oas_resource_uri_valid(bad[i], &why), "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
    ck_assert(!oas_resource_uri_valid(NULL, NULL));
    ck_assert(!oas_resource_uri_valid(longuri, &why));        /* 270 bytes */
    longuri[OAS_RESOURCE_MAX_LEN + 1] = '\0';
    ck_assert(!oas_resource_uri_valid(longuri, &why));        /* 256 bytes */
    longuri[OAS_RESOURCE_MAX_LEN] = '\0';
    ck_assert(oas_resource_uri_valid(longuri, &why));         /* 255: the most */
}
END_TEST

/* resource may be repeated; every other parameter still may not */
START_TEST(repeated_parameter)
{
    apr_table_t *t = NULL;
    apr_array_header_t *r;
    const char *err, *body = "resource=" A "&grant_type=x&resource=urn%3Aexample%3Ac"
                             "&resource=" A;

    ck_assert_int_eq(oas_form_parse(&t, body, strlen(body), pool, &err), APR_SUCCESS);
    r = oas_resource_params(t, pool);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->nelts, 2);                            /* duplicates dropped */
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, const char *), A);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 1, const char *), C);
    /* apr tables match names ignoring case: Resource is one more value, and
     * another name spelled twice still replaces (fuzz/form.c found this) */
    body = "resource=" A "&Resource=" B "&Scope=x&scope=y";
    ck_assert_int_eq(oas_form_parse(&t, body, strlen(body), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(oas_resource_params(t, pool)->nelts, 2);
    ck_assert_str_eq(apr_table_get(t, "scope"), "y");
    body = "scope=a&scope=b";
    ck_assert_int_eq(oas_form_parse(&t, body, strlen(body), pool, &err), APR_EINVAL);
    body = "grant_type=x&resource=";
    ck_assert_int_eq(oas_form_parse(&t, body, strlen(body), pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(oas_resource_params(t, pool));        /* empty = not sent */
    ck_assert_ptr_null(oas_resource_params(NULL, pool));
}
END_TEST

START_TEST(check_rules)
{
    const char *aud = "x";

    ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, NULL, NULL, pool));
    ck_assert_ptr_null(aud);                                  /* none named */
    ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, list(A, C, NULL), NULL, pool));
    ck_assert_str_eq(aud, A " " C);
    /* undeclared, malformed, fragment, too many: invalid_target, nothing named */
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client,
                                             list("https://other.example/", NULL), NULL, pool));
    ck_assert_ptr_null(aud);
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A, "rel", NULL), NULL,
                                             pool));
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A "#f", NULL), NULL,
                                             pool));
    cfg.resources = list(A, B, C, "urn:d", "urn:e", NULL);
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client,
                                             list(A, B, C, "urn:d", "urn:e", NULL), NULL, pool));
    ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, list(A, B, C, "urn:d", NULL),
                                          NULL, pool));
    /* three of 199 bytes each: over OAS_AUDIENCE_MAX together, two are not */
    {
        const char *pad = apr_psprintf(pool, "%0*d", 180, 0);
        const char *l1 = apr_pstrcat(pool, "https://l.example/1", pad, NULL);
        const char *l2 = apr_pstrcat(pool, "https://l.example/2", pad, NULL);
        const char *l3 = apr_pstrcat(pool, "https://l.example/3", pad, NULL);

        cfg.resources = list(l1, l2, l3, NULL);
        ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, list(l1, l2, NULL), NULL,
                                              pool));
        ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(l1, l2, l3, NULL),
                                                 NULL, pool));
        ck_assert_ptr_null(aud);
    }
    /* nothing declared: every resource is unknown */
    cfg.resources = NULL;
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A, NULL), NULL, pool));
}
END_TEST

START_TEST(check_client_and_grant)
{
    const char *aud;

    client.resources = list(A, NULL);
    ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, list(A, NULL), NULL, pool));
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(B, NULL), NULL, pool));
    client.resources = list(NULL);                            /* "resources": [] */
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A, NULL), NULL, pool));
    client.resources = NULL;
    /* narrowing within an earlier grant's audience, never widening */
    ck_assert_ptr_null(oas_resource_check(&aud, &cfg, &client, list(B, NULL), A " " B, pool));
    ck_assert_str_eq(aud, B);
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(C, NULL), A " " B,
                                             pool));
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A, C, NULL), A " " B,
                                             pool));
    /* a grant of the default resource widens to nothing */
    ck_assert_ptr_nonnull(oas_resource_check(&aud, &cfg, &client, list(A, NULL),
                                             oas_default_resource(&cfg), pool));
}
END_TEST

static oas_token_t sample(void)
{
    oas_token_t t;

    memset(&t, 0, sizeof(t));
    t.kind = OAS_KIND_ACCESS;
    t.iat = 1700000000;
    t.exp = 1700003600;
    t.grant = OAS_GRANT_CLIENT_CREDENTIALS;
    t.client_id = "app";
    t.scope = "read";
    t.refreshes = -1;
    return t;
}

START_TEST(record_audience)
{
    oas_token_t t = sample(), back;
    oas_entry_t e, old;

    t.audience = A " " C;
    ck_assert_int_eq(oas_token_encode(&e, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_token_decode(&back, &e, pool), APR_SUCCESS);
    ck_assert_str_eq(back.audience, A " " C);
    ck_assert_str_eq(oas_token_aud_string(&back, &cfg), A " " C);
    ck_assert(oas_token_aud_has(&back, &cfg, C, pool));
    ck_assert(!oas_token_aud_has(&back, &cfg, B, pool));
    ck_assert(!oas_token_aud_has(&back, &cfg, "https://api.example", pool));  /* no prefix */
    /* a record of the layout before audiences: the 7 strings and nothing after */
    t.audience = NULL;
    ck_assert_int_eq(oas_token_encode(&old, &t, pool), APR_SUCCESS);
    old.len -= 2;                                             /* drop the NULL audience */
    ck_assert_int_eq(oas_token_decode(&back, &old, pool), APR_SUCCESS);
    ck_assert_ptr_null(back.audience);
    ck_assert_str_eq(back.client_id, "app");
    ck_assert_str_eq(oas_token_aud_string(&back, &cfg), "https://as.example");   /* issuer */
    cfg.default_resource = B;
    ck_assert_str_eq(oas_token_aud_string(&back, &cfg), B);
    ck_assert(oas_token_aud_has(&back, &cfg, B, pool));
    /* a record cut inside the audience is corrupt */
    e.len -= 1;
    ck_assert_int_eq(oas_token_decode(&back, &e, pool), APR_EINVAL);
}
END_TEST

START_TEST(aud_as_json)
{
    json_t *j = oas_aud_json(list(A, NULL));
    char *s;

    ck_assert(json_is_string(j));
    ck_assert_str_eq(json_string_value(j), A);
    json_decref(j);
    j = oas_aud_json(list(A, C, NULL));
    s = json_dumps(j, JSON_COMPACT);
    ck_assert_str_eq(s, "[\"" A "\",\"" C "\"]");
    free(s);
    json_decref(j);
}
END_TEST

START_TEST(metadata_location)
{
    ck_assert_str_eq(oas_prm_path("https://h.example/mcp", pool),
                     "/.well-known/oauth-protected-resource/mcp");
    ck_assert_str_eq(oas_prm_url("https://h.example:8443/a/b/", pool),
                     "https://h.example:8443/.well-known/oauth-protected-resource/a/b");
    ck_assert_str_eq(oas_prm_url("https://h.example", pool),
                     "https://h.example/.well-known/oauth-protected-resource");
    ck_assert_str_eq(oas_prm_url("https://h.example/", pool),
                     "https://h.example/.well-known/oauth-protected-resource");
    ck_assert_str_eq(oas_prm_path("https://h.example/x?q=1", pool),
                     "/.well-known/oauth-protected-resource/x");
    ck_assert_ptr_null(oas_prm_url(C, pool));
    ck_assert_ptr_null(oas_prm_path("ftp://h/x", pool));
    ck_assert_str_eq(oas_uri_path("https://h.example", pool), "/");
    ck_assert_str_eq(oas_uri_path("https://h.example/t/x", pool), "/t/x");
}
END_TEST

START_TEST(registry_resources)
{
    static const char *const head = "{\"clients\":[{\"client_id\":\"c\",\"type\":\"confidential\","
        "\"secret\":\"$2y$05$VQhakLuXjMxy0ALTmR/g1.89KnjlfW361MsJKG4NZNEPRBYdc9cOO\","
        "\"grant_types\":[\"client_credentials\"]";
    oas_registry_t *reg = NULL;
    const oas_client_t *c;
    const char *err, *text;

    text = apr_pstrcat(pool, head, "}]}", NULL);
    ck_assert_int_eq(oas_registry_parse(&reg, text, strlen(text), "r.json", NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(oas_registry_get(reg, "c")->resources);       /* absent: all */
    text = apr_pstrcat(pool, head, ",\"resources\":[\"" A "\",\"" C "\"]}]}", NULL);
    ck_assert_int_eq(oas_registry_parse(&reg, text, strlen(text), "r.json", NULL, pool, &err),
                     APR_SUCCESS);
    c = oas_registry_get(reg, "c");
    ck_assert_int_eq(c->resources->nelts, 2);
    text = apr_pstrcat(pool, head, ",\"resources\":[]}]}", NULL);
    ck_assert_int_eq(oas_registry_parse(&reg, text, strlen(text), "r.json", NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "c")->resources->nelts, 0);
    text = apr_pstrcat(pool, head, ",\"resources\":[\"" A "#frag\"]}]}", NULL);
    ck_assert_int_eq(oas_registry_parse(&reg, text, strlen(text), "r.json", NULL, pool, &err),
                     APR_EINVAL);
    ck_assert_msg(strstr(err, "client 'c': field 'resources': entry 1") != NULL, "%s", err);
}
END_TEST

static Suite *audience_suite(void)
{
    Suite *s = suite_create("audience");
    TCase *tc = tcase_create("audience");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, uri_syntax);
    tcase_add_test(tc, repeated_parameter);
    tcase_add_test(tc, check_rules);
    tcase_add_test(tc, check_client_and_grant);
    tcase_add_test(tc, record_audience);
    tcase_add_test(tc, aud_as_json);
    tcase_add_test(tc, metadata_location);
    tcase_add_test(tc, registry_resources);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(audience_suite)
