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
