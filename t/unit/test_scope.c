/* test_scope.c — oas_scope: definitions, scope strings, path coverage. */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "oas_scope.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* An array of the given strings, NULL-terminated list. */
static apr_array_header_t *strs(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    const char *s;
    va_list ap;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    return a;
}

START_TEST(token_valid)
{
    ck_assert(oas_scope_token_valid("read"));
    ck_assert(oas_scope_token_valid("https://api.example/read:all!"));
    ck_assert(oas_scope_token_valid("a[]{}~#"));
    ck_assert(!oas_scope_token_valid(""));
    ck_assert(!oas_scope_token_valid(NULL));
    ck_assert(!oas_scope_token_valid("a b"));
    ck_assert(!oas_scope_token_valid("a\"b"));
    ck_assert(!oas_scope_token_valid("a\\b"));
    ck_assert(!oas_scope_token_valid("caf\xc3\xa9"));
    ck_assert(!oas_scope_token_valid("a\tb"));
    ck_assert(!oas_scope_token_valid("a\x7f"));
}
END_TEST

START_TEST(split_ok)
{
    apr_array_header_t *a = oas_scope_split("read write admin", pool);

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "read");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 2, const char *), "admin");
    a = oas_scope_split("read write read", pool);           /* duplicates dropped */
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(oas_scope_join(a, pool), "read write");
    a = oas_scope_split("one", pool);
    ck_assert_int_eq(a->nelts, 1);
}
END_TEST

START_TEST(split_bad)
{
    ck_assert_ptr_null(oas_scope_split(NULL, pool));
    ck_assert_ptr_null(oas_scope_split("", pool));
    ck_assert_ptr_null(oas_scope_split(" ", pool));
    ck_assert_ptr_null(oas_scope_split("read  write", pool));     /* space run */
    ck_assert_ptr_null(oas_scope_split(" read", pool));
    ck_assert_ptr_null(oas_scope_split("read ", pool));
    ck_assert_ptr_null(oas_scope_split("read\twrite", pool));
    ck_assert_ptr_null(oas_scope_split("read \"write\"", pool));
    ck_assert_ptr_null(oas_scope_split("read wr\\ite", pool));
    ck_assert_ptr_null(oas_scope_split("read \xc3\xa9", pool));
    ck_assert_ptr_null(oas_scope_split("read\nwrite", pool));
}
END_TEST

START_TEST(join_in_subset)
{
    apr_array_header_t *all = strs("read", "write", "admin", NULL);
    apr_array_header_t *some = strs("write", "read", NULL);
    apr_array_header_t *none = strs(NULL);

    ck_assert_str_eq(oas_scope_join(all, pool), "read write admin");
    ck_assert_str_eq(oas_scope_join(none, pool), "");
    ck_assert_str_eq(oas_scope_join(NULL, pool), "");
    ck_assert(oas_scope_in(all, "admin"));
    ck_assert(!oas_scope_in(all, "adm"));
    ck_assert(!oas_scope_in(all, NULL));
    ck_assert(!oas_scope_in(NULL, "read"));
    ck_assert(oas_scope_subset(some, all));
    ck_assert(!oas_scope_subset(all, some));
    ck_assert(oas_scope_subset(none, some));
    ck_assert(oas_scope_subset(some, some));
    ck_assert(!oas_scope_subset(some, none));
    ck_assert(!oas_scope_subset(some, NULL));
}
END_TEST

START_TEST(defs_add_get)
{
    oas_scopes_t *s = oas_scopes_make(pool);
    const oas_scope_def_t *d;
    const apr_array_header_t *list;

    ck_assert_int_eq(oas_scopes_count(s), 0);
    ck_assert_ptr_null(oas_scopes_add(s, "read", "Read things", strs("/api/read", "/docs", NULL),
                                      pool));
    ck_assert_ptr_null(oas_scopes_add(s, "write", NULL, NULL, pool));
    ck_assert_ptr_null(oas_scopes_add(s, "admin", "Admin", strs("/", NULL), pool));
    ck_assert_int_eq(oas_scopes_count(s), 3);
    d = oas_scopes_get(s, "read");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->description, "Read things");
    ck_assert_int_eq(d->paths->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->paths, 1, const char *), "/docs");
    ck_assert_str_eq(oas_scopes_get(s, "write")->description, "");
    ck_assert_ptr_null(oas_scopes_get(s, "nope"));
    ck_assert_ptr_null(oas_scopes_get(s, NULL));
    list = oas_scopes_list(s);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, oas_scope_def_t *)->name, "read");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 2, oas_scope_def_t *)->name, "admin");
}
END_TEST

START_TEST(defs_add_bad)
{
    oas_scopes_t *s = oas_scopes_make(pool);

    ck_assert_ptr_null(oas_scopes_add(s, "read", "", NULL, pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "read", "again", NULL, pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "a b", "", NULL, pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "", "", NULL, pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "q\"", "", NULL, pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("api", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a?b", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a#b", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a/../b", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a/..", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a/./b", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/a\nb", NULL), pool));
    ck_assert_ptr_nonnull(oas_scopes_add(s, "x", "", strs("/ok", "", NULL), pool));
    ck_assert_ptr_null(oas_scopes_get(s, "x"));        /* nothing half-added */
    ck_assert_ptr_null(oas_scopes_add(s, "x", "", strs("/a/..b/...", NULL), pool));
    ck_assert_int_eq(oas_scopes_count(s), 2);
}
END_TEST

START_TEST(defs_merge)
{
    oas_scopes_t *base = oas_scopes_make(pool), *add = oas_scopes_make(pool), *m;
    const apr_array_header_t *list;

    oas_scopes_add(base, "read", "base read", NULL, pool);
    oas_scopes_add(base, "write", "base write", NULL, pool);
    oas_scopes_add(add, "admin", "add admin", NULL, pool);
    oas_scopes_add(add, "read", "add read", NULL, pool);
    m = oas_scopes_merge(pool, base, add);
    ck_assert_int_eq(oas_scopes_count(m), 3);
    ck_assert_str_eq(oas_scopes_get(m, "read")->description, "add read");
    ck_assert_str_eq(oas_scopes_get(m, "write")->description, "base write");
    list = oas_scopes_list(m);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, oas_scope_def_t *)->name, "read");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 1, oas_scope_def_t *)->name, "write");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 2, oas_scope_def_t *)->name, "admin");
    ck_assert_int_eq(oas_scopes_count(base), 2);        /* inputs unchanged */
    ck_assert_str_eq(oas_scopes_get(base, "read")->description, "base read");
    ck_assert_int_eq(oas_scopes_count(oas_scopes_merge(pool, NULL, add)), 2);
    ck_assert_int_eq(oas_scopes_count(oas_scopes_merge(pool, base, NULL)), 2);
}
END_TEST

static const struct {
    const char *prefix, *path;
    int covers;
} COVER[] = {
    { "/a/b",   "/a/b",     1 },
    { "/a/b",   "/a/b/",    1 },
    { "/a/b",   "/a/b/c",   1 },
    { "/a/b",   "/a/b/c/d", 1 },
    { "/a/b",   "/a/bc",    0 },
    { "/a/b",   "/a/b.c",   0 },
    { "/a/b",   "/a",       0 },
    { "/a/b",   "/a/",      0 },
    { "/a/b",   "/A/B",     0 },
    { "/a/b",   "/x/a/b",   0 },
    { "/a/b/",  "/a/b",     1 },    /* trailing '/' on prefix ignored */
    { "/a/b/",  "/a/b/c",   1 },
    { "/a/b/",  "/a/bc",    0 },
    { "/a/b//", "/a/b",     1 },
    { "/",      "/",        1 },
    { "/",      "/anything/at/all", 1 },
    { "/",      "",         0 },
    { "/a/b",   "a/b",      0 },    /* not a path */
    { "/a/b",   "",         0 },
    { "",       "/a",       0 },
    { "a",      "a",        0 },
    { "/a/b",   "/a/b/../../c", 0 },  /* dot segments never covered */
    { "/a/b",   "/a/b/./c", 0 },
    { "/",      "/a/..",    0 },
};

START_TEST(path_covers_table)
{
    int i;

    for (i = 0; i < (int)(sizeof(COVER) / sizeof(COVER[0])); ++i) {
        ck_assert_msg(oas_path_covers(COVER[i].prefix, COVER[i].path) == COVER[i].covers,
                      "prefix '%s' path '%s' expected %d", COVER[i].prefix, COVER[i].path,
                      COVER[i].covers);
    }
    ck_assert(!oas_path_covers(NULL, "/a"));
    ck_assert(!oas_path_covers("/a", NULL));
}
END_TEST

START_TEST(scopes_cover_path)
{
    oas_scopes_t *s = oas_scopes_make(pool);

    oas_scopes_add(s, "read", "", strs("/api/read", "/docs", NULL), pool);
    oas_scopes_add(s, "write", "", strs("/api/write", NULL), pool);
    oas_scopes_add(s, "nopath", "", NULL, pool);
    oas_scopes_add(s, "all", "", strs("/", NULL), pool);
    ck_assert(oas_scopes_cover_path(s, strs("read", NULL), "/docs/x"));
    ck_assert(oas_scopes_cover_path(s, strs("read", NULL), "/api/read"));
    ck_assert(!oas_scopes_cover_path(s, strs("read", NULL), "/api/write/x"));
    ck_assert(oas_scopes_cover_path(s, strs("read", "write", NULL), "/api/write/x"));
    ck_assert(!oas_scopes_cover_path(s, strs("nopath", NULL), "/api/read"));
    ck_assert(!oas_scopes_cover_path(s, strs("undefined", NULL), "/api/read"));
    ck_assert(!oas_scopes_cover_path(s, strs(NULL), "/api/read"));
    ck_assert(!oas_scopes_cover_path(s, NULL, "/api/read"));
    ck_assert(oas_scopes_cover_path(s, strs("all", NULL), "/x/y"));
    ck_assert(!oas_scopes_cover_path(NULL, strs("all", NULL), "/x/y"));
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("scope");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, token_valid);
    tcase_add_test(tc, split_ok);
    tcase_add_test(tc, split_bad);
    tcase_add_test(tc, join_in_subset);
    tcase_add_test(tc, defs_add_get);
    tcase_add_test(tc, defs_add_bad);
    tcase_add_test(tc, defs_merge);
    tcase_add_test(tc, path_covers_table);
    tcase_add_test(tc, scopes_cover_path);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(scope_suite)
