/* fuzz.h — shared pieces of the libFuzzer harnesses (fuzz/NAME.c): one APR
 * set-up per process, a pool per input, and an in-memory store (a test
 * double of include/oas_store.h, reset for every input so that a crash
 * reproduces from its input alone). The harnesses call the real core
 * (build-fuzz/liboas_core.a); nothing of the core is copied here. */
#ifndef OAS_FUZZ_H
#define OAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "oas_store.h"

/* apr_initialize() once and the process-wide parent pool. */
apr_pool_t *fuzz_pool_root(void);

/* A NUL-terminated copy of data (NULs inside stay: C parsers stop at the first). */
char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size);

/* Split data at the first byte sep: *rest and *restlen after it; returns the part
 * before as a C string; the whole input (and *rest NULL) when sep is absent. */
char *fuzz_split(apr_pool_t *p, const uint8_t *data, size_t size, uint8_t sep,
                 const uint8_t **rest, size_t *restlen);

/* The in-memory store: one per process, emptied by fuzz_store_reset(). */
oas_store_t *fuzz_store(void);
void fuzz_store_reset(void);
/* Entries held (all kinds) and a checksum of keys, kinds and payloads. */
long fuzz_store_count(void);
unsigned long fuzz_store_digest(void);

/* abort() with a message: the harness's own checks of a property. */
#define FUZZ_CHECK(cond) \
    do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); } while (0)
void fuzz_fail(const char *file, int line, const char *what);

#endif
