/* bench_common.h — what the benchmark's C programs share (bench/bench_fill.c,
 * bench/callgrind_token.c): a core set up as httpd would, without httpd:
 * scopes, a one-client registry, the default store in a directory. */
#ifndef OAS_BENCH_COMMON_H
#define OAS_BENCH_COMMON_H

#include <stdio.h>
#include "oas_grant.h"

#define BENCH_CLIENT "bench"

typedef struct bench_env_t {
    apr_pool_t *pool;
    oas_config_t cfg;
    oas_counters_t counters;
} bench_env_t;

/* Scopes read and write, the client BENCH_CLIENT (client_credentials,
 * secret_hash), the default store at store_path (mem/disk entries).
 * Exits with a message on any failure. */
void bench_setup(bench_env_t *env, const char *store_path, const char *secret_hash,
                 int mem_entries, int disk_entries);

/* The registry (and scopes) of bench_setup(): the client BENCH_CLIENT, then
 * extra (NULL, or more client objects of the registry's "clients" array,
 * comma-separated). Exits with a message on any failure. */
void bench_registry(bench_env_t *env, const char *secret_hash, const char *extra);

/* Issue count access tokens of BENCH_CLIENT (client_credentials, scope
 * "read write", no refresh token, no family: one store entry each) through
 * oas_issue_tokens(), and write each on a line of out (NULL: nowhere). Exits
 * with a message on any failure. */
void bench_fill_tokens(bench_env_t *env, long count, FILE *out);

/* "Basic base64(id:secret)" */
const char *bench_basic(apr_pool_t *p, const char *id, const char *secret);

/* Seconds, as a double, of the monotonic clock. */
double bench_now(void);

/* Stop with a message. */
void bench_die(const char *what, apr_status_t rv);

#endif
