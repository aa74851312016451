/* bench_fill.c — fill a default store with live access tokens before httpd
 * starts (bench/run's 100,000-token case), through the core's own
 * oas_issue_tokens(), and report what one token costs:
 *
 *   bench_fill STORE_BASE COUNT TOKENS_FILE [MEM_ENTRIES DISK_ENTRIES [ISSUER]]
 *
 * ISSUER (default https://127.0.0.1) must be the server's OAuthASIssuer: a token
 * records its issuer, and a server answers 401 to the tokens of another one.
 *
 * Writes each token on a line of TOKENS_FILE (for wrk's bearer.lua) and
 * prints, for bench/run to parse:
 *   FILL tokens=N seconds=S
 *   DISK bytes=B allocated=A per_token=B/N allocated_per_token=A/N
 *   SHM bytes=S mem_entries=M per_entry=S/M
 *   CLOSE kept=1 (the store closed cleanly: its count kept in STORE_BASE.count)
 * The shared-memory size is measured, not computed: the shared mappings that
 * oas_store_default_create() added to /proc/self/maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
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

/* Apparent size (st_size) and allocated size (st_blocks) of every regular file
 * in base's directory whose name starts with base's name: the store's files,
 * whatever its layout (one SDBM .dir/.pag pair or several), and its small
 * PATH.info. SDBM's .pag files are sparse (pages sit at offsets given by the
 * hash), so the two differ. */
static void store_size(apr_pool_t *p, const char *base, long long *size, long long *alloc)
{
    const char *slash = strrchr(base, '/');
    const char *dir = slash ? apr_pstrndup(p, base, (apr_size_t)(slash - base + 1)) : "./";
    const char *name = slash ? slash + 1 : base;
    size_t len = strlen(name);
    struct dirent *d;
    struct stat st;
    DIR *dp = opendir(dir);

    while (dp && (d = readdir(dp)) != NULL) {
        if (strncmp(d->d_name, name, len) == 0
            && stat(apr_pstrcat(p, dir, d->d_name, NULL), &st) == 0 && S_ISREG(st.st_mode)) {
            *size += (long long)st.st_size;
            *alloc += (long long)st.st_blocks * 512;
        }
    }
    if (dp) {
        closedir(dp);
    }
}

int main(int argc, char **argv)
{
    int mem = argc > 4 ? atoi(argv[4]) : 1000, disk = argc > 5 ? atoi(argv[5]) : 200000;
    long count = argc > 2 ? atol(argv[2]) : 0;
    long long shm_before = shared_bytes(), shm, disk_bytes = 0, disk_alloc = 0;
    bench_env_t env;
    double t0;
    FILE *out;

    if (argc < 4 || count <= 0 || mem <= 0 || disk < count) {
        fprintf(stderr, "usage: %s STORE_BASE COUNT TOKENS_FILE [MEM DISK>=COUNT [ISSUER]]\n",
                argv[0]);
        return 2;
    }
    bench_setup(&env, argv[1], FILL_HASH, mem, disk);
    if (argc > 6) {
        env.cfg.issuer = argv[6];
    }
    shm = shared_bytes() - shm_before;
    if (!(out = fopen(argv[3], "w"))) {
        perror(argv[3]);
        return 1;
    }
    t0 = bench_now();
    bench_fill_tokens(&env, count, out);
    fclose(out);
    printf("FILL tokens=%ld seconds=%.3f\n", count, bench_now() - t0);
    store_size(env.pool, argv[1], &disk_bytes, &disk_alloc);
    printf("DISK bytes=%lld allocated=%lld per_token=%.1f allocated_per_token=%.1f\n",
           disk_bytes, disk_alloc, (double)disk_bytes / (double)count,
           (double)disk_alloc / (double)count);
    printf("SHM bytes=%lld mem_entries=%d per_entry=%.1f\n", shm, mem, (double)shm / mem);
    /* a clean close, as httpd's stop: the next start takes the count from
     * STORE_BASE.count instead of reading every record */
    printf("CLOSE kept=%d\n", oas_store_default_close(env.cfg.store, env.pool) == APR_SUCCESS);
    return 0;
}
