/* unit.h — shared set-up of the Check unit tests (core only, no httpd). */
#ifndef OAS_UNIT_H
#define OAS_UNIT_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <string.h>

#include "oas_registry.h"

/* a well-spread 32-byte store key from n (splitmix64) */
static inline void unit_key_of(unsigned char *key, unsigned n)
{
    unsigned long long x = 0x9e3779b97f4a7c15ULL * (n + 1);
    int i, j;

    for (i = 0; i < 4; i++) {
        unsigned long long z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (j = 0; j < 8; j++) {
            key[i * 8 + j] = (unsigned char)(z >> (8 * j));
        }
    }
}

/* Remove a test's temporary directory: its files (a store's shards, lock,
 * info), then itself. */
static inline void unit_rm_dir(const char *dir)
{
    struct dirent *de;
    char buf[512];
    DIR *d = opendir(dir);

    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            snprintf(buf, sizeof(buf), "%s/%s", dir, de->d_name);
            unlink(buf);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

/* A registry of one confidential client "c" (grant password, secret
 * "secret" as {SHA}) whose access tokens live life seconds. */
static inline const oas_registry_t *unit_one_client(apr_pool_t *p, long long life)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;
    const char *json = apr_psprintf(p,
        "{\"clients\": [{\"client_id\": \"c\", \"type\": \"confidential\", "
        "\"secret\": \"{SHA}KkPcK3XYeA35EhWhKYmaCyAgadY=\", \"grant_types\": [\"password\"], "
        "\"scopes\": [], \"access_token_lifetime\": %" APR_INT64_T_FMT ", \"refresh_limit\": -1}]}",
        (apr_int64_t)life);

    ck_assert_msg(oas_registry_parse(&reg, json, strlen(json), "unit.json", NULL, p, &err)
                  == APR_SUCCESS, "registry: %s", err ? err : "?");
    return reg;
}

/* Each test file defines its suite and uses this main. */
#define OAS_UNIT_MAIN(suite_fn)                                      \
    int main(void) {                                                 \
        int failed;                                                  \
        SRunner *sr;                                                 \
        apr_initialize();                                            \
        sr = srunner_create(suite_fn());                             \
        srunner_run_all(sr, CK_NORMAL);                              \
        failed = srunner_ntests_failed(sr);                          \
        srunner_free(sr);                                            \
        apr_terminate();                                             \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;            \
    }

#endif
