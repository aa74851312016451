/* unit.h — shared set-up of the Check unit tests (core only, no httpd). */
#ifndef OAS_UNIT_H
#define OAS_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>

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
