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
