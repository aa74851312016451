/* bench_fill.c — fill a default store with live access tokens before httpd
 * starts (bench/run's 100,000-token case), through the core's own
 * oas_issue_tokens(), and report what one token costs:
 *
 *   bench_fill STORE_BASE COUNT TOKENS_FILE [MEM_ENTRIES DISK_ENTRIES]
 *
 * Writes each token on a line of TOKENS_FILE (for wrk's bearer.lua) and
 * prints, for bench/run to parse:
 *   FILL tokens=N seconds=S
 *   DISK bytes=B allocated=A per_token=B/N allocated_per_token=A/N
 *   SHM bytes=S mem_entries=M per_entry=S/M
 * The shared-memory size is measured, not computed: the shared mappings that
 * oas_store_default_create() added to /proc/self/maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "bench_common.h"

/* any bcrypt hash: the filler never authenticates */
#define FILL_HASH "$2y$05$OSI0nBvp4fdSvs0kGfdqC.bmhKnFVRjOmlAh1lqah10SQzkXivrkq"

/* Total size of the shared ("s" in the permissions) mappings of this process. */
static long long shared_bytes(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    unsigned long long lo, hi;
    long long total = 0;
    char perms[8], line[512];

    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3 && perms[3] == 's') {
            total += (long long)(hi - lo);
        }
    }
    if (f) {
        fclose(f);
    }
    return total;
}

/* Apparent size (st_size) and allocated size (st_blocks) of base + ext: the
 * .pag file is sparse (SDBM puts pages at offsets given by the hash). */
static void file_size(apr_pool_t *p, const char *base, const char *ext, long long *size,
                      long long *alloc)
{
    struct stat st;

    if (stat(apr_pstrcat(p, base, ext, NULL), &st) == 0) {
        *size += (long long)st.st_size;
        *alloc += (long long)st.st_blocks * 512;
    }
}

static void fill(bench_env_t *env, long count, FILE *out)
{
    const oas_client_t *c = oas_registry_get(env->cfg.registry, BENCH_CLIENT);
    oas_http_req_t req;
    oas_issue_t in;
    oas_issued_t is;
    apr_pool_t *tmp;
    apr_status_t rv;
    long i;

    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = c;
    in.scope = "read write";
    in.grant = OAS_GRANT_CLIENT_CREDENTIALS;
    apr_pool_create(&tmp, env->pool);
    for (i = 0; i < count; i++) {
        apr_pool_clear(tmp);
        if ((rv = oas_issue_tokens(&is, &env->cfg, &in, &req, tmp)) != APR_SUCCESS) {
            bench_die("issuing a token", rv);
        }
        fprintf(out, "%s\n", is.access_token);
    }
    apr_pool_destroy(tmp);
}

int main(int argc, char **argv)
{
    int mem = argc > 4 ? atoi(argv[4]) : 1000, disk = argc > 5 ? atoi(argv[5]) : 200000;
    long count = argc > 2 ? atol(argv[2]) : 0;
    long long shm_before = shared_bytes(), shm, disk_bytes = 0, disk_alloc = 0;
    int i;
    bench_env_t env;
    double t0;
    FILE *out;

    if (argc < 4 || count <= 0 || mem <= 0 || disk < count) {
        fprintf(stderr, "usage: %s STORE_BASE COUNT TOKENS_FILE [MEM DISK>=COUNT]\n", argv[0]);
        return 2;
    }
    bench_setup(&env, argv[1], FILL_HASH, mem, disk);
    shm = shared_bytes() - shm_before;
    if (!(out = fopen(argv[3], "w"))) {
        perror(argv[3]);
        return 1;
    }
    t0 = bench_now();
    fill(&env, count, out);
    fclose(out);
    printf("FILL tokens=%ld seconds=%.3f\n", count, bench_now() - t0);
    for (i = 0; i < OAS_STORE_SHARDS; i++) {   /* the shards PATH.<i>.dir, .pag */
        file_size(env.pool, argv[1], apr_psprintf(env.pool, ".%d.dir", i), &disk_bytes,
                  &disk_alloc);
        file_size(env.pool, argv[1], apr_psprintf(env.pool, ".%d.pag", i), &disk_bytes,
                  &disk_alloc);
    }
    printf("DISK bytes=%lld allocated=%lld per_token=%.1f allocated_per_token=%.1f\n",
           disk_bytes, disk_alloc, (double)disk_bytes / (double)count,
           (double)disk_alloc / (double)count);
    printf("SHM bytes=%lld mem_entries=%d per_entry=%.1f\n", shm, mem, (double)shm / mem);
    return 0;
}
