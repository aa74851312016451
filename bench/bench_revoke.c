/* bench_revoke.c — how long revoking one grant family takes in a default store
 * of a given size (bench/run's BENCH_SCALE): a timing tool, not a test.
 *
 *   bench_revoke STORE_BASE ENTRIES FAMILIES [DISK_ENTRIES]
 *
 * Issues FAMILIES families of 6 members each (an access and a refresh token,
 * then two more pairs in the same family, as two refreshes would), then fills
 * the store up to ENTRIES entries with access tokens without a family, all
 * through the core's oas_issue_tokens(); then revokes each family with
 * oas_family_revoke(), as the token endpoint does on a reused refresh token,
 * and times each call. Checks that every member is refused afterwards (get
 * answers APR_NOTFOUND: the members in the memory tier are removed, those
 * only on disk are refused by the family's marker when read). Prints
 *   REVOKE entries=N families=F members=M median_ms=.. min_ms=.. max_ms=.. log="..."
 * where log is the core's notice for the last family (how many it removed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "bench_common.h"
#include "oas_token.h"
#include "oas_util.h"

#define FILL_HASH "$2y$05$OSI0nBvp4fdSvs0kGfdqC.bmhKnFVRjOmlAh1lqah10SQzkXivrkq"
#define ISSUES 3               /* pairs issued per family */
#define MEMBERS (2 * ISSUES)
#define MAX_FAMILIES 100

typedef struct family_t {
    const char *tokens[MEMBERS];   /* access, refresh, access, refresh, ... */
} family_t;

static char last_log[512];

static void keep_log(void *baton, const char *file, int line, int level, apr_status_t rv,
                     const char *msg)
{
    (void)baton, (void)file, (void)line, (void)level, (void)rv;
    apr_cpystrn(last_log, msg, sizeof(last_log));
}

static void issue_family(bench_env_t *env, family_t *f)
{
    unsigned char fam[OAS_FAMILY_LEN];
    oas_http_req_t req;
    oas_issue_t in;
    oas_issued_t is;
    apr_status_t rv;
    int i;

    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(env->cfg.registry, BENCH_CLIENT);
    in.username = "alice";
    in.scope = "read write";
    in.grant = OAS_GRANT_PASSWORD;
    in.with_refresh = 1;
    in.refresh_left = -1;
    for (i = 0; i < ISSUES; i++) {
        in.refreshes = i;
        if ((rv = oas_issue_tokens(&is, &env->cfg, &in, &req, env->pool)) != APR_SUCCESS) {
            bench_die("issuing a family member", rv);
        }
        memcpy(fam, is.family, sizeof(fam));
        in.family = fam;
        f->tokens[2 * i] = is.access_token;
        f->tokens[2 * i + 1] = is.refresh_token;
    }
}

/* Revoke f through its last refresh token's entry; seconds taken. */
static double revoke_family(bench_env_t *env, const family_t *f, apr_pool_t *p)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_http_req_t req;
    oas_entry_t member;
    apr_status_t rv;
    double t0, t;
    int i;

    memset(&req, 0, sizeof(req));
    req.log.cb = keep_log;
    req.log.level = OAS_LOG_NOTICE;
    oas_store_key(key, OAS_PREFIX_REFRESH, f->tokens[MEMBERS - 1]);
    if ((rv = env->cfg.store->get(env->cfg.store, key, &member, p)) != APR_SUCCESS) {
        bench_die("looking the family's refresh token up", rv);
    }
    t0 = bench_now();
    if ((rv = oas_family_revoke(&env->cfg, &member, &req, p)) != APR_SUCCESS) {
        bench_die("revoking a family", rv);
    }
    t = bench_now() - t0;
    for (i = 0; i < MEMBERS; i++) {
        oas_store_key(key, i % 2 ? OAS_PREFIX_REFRESH : OAS_PREFIX_ACCESS, f->tokens[i]);
        if (env->cfg.store->get(env->cfg.store, key, &member, p) != APR_NOTFOUND) {
            fprintf(stderr, "bench_revoke: a member of a revoked family is not refused\n");
            exit(1);
        }
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long entries = argc > 2 ? atol(argv[2]) : 0;
    int nfam = argc > 3 ? atoi(argv[3]) : 0, i;
    int disk = argc > 4 ? atoi(argv[4]) : (int)(entries + entries / 4);
    family_t fams[MAX_FAMILIES];
    double ms[MAX_FAMILIES];
    bench_env_t env;
    apr_pool_t *p;

    if (argc < 4 || nfam <= 0 || nfam > MAX_FAMILIES || entries < (long)nfam * MEMBERS
        || disk < entries) {
        fprintf(stderr, "usage: %s STORE_BASE ENTRIES FAMILIES(1-%d) [DISK>=ENTRIES]\n",
                argv[0], MAX_FAMILIES);
        return 2;
    }
    bench_setup(&env, argv[1], FILL_HASH, 1000, disk);
    for (i = 0; i < nfam; i++) {
        issue_family(&env, &fams[i]);
    }
    bench_fill_tokens(&env, entries - (long)nfam * MEMBERS, NULL);
    apr_pool_create(&p, env.pool);
    for (i = 0; i < nfam; i++) {
        apr_pool_clear(p);
        ms[i] = revoke_family(&env, &fams[i], p) * 1000.0;
    }
    qsort(ms, (size_t)nfam, sizeof(double), cmp_double);
    printf("REVOKE entries=%ld families=%d members=%d median_ms=%.3f min_ms=%.3f max_ms=%.3f "
           "log=\"%s\"\n", entries, nfam, MEMBERS,
           nfam % 2 ? ms[nfam / 2] : (ms[nfam / 2 - 1] + ms[nfam / 2]) / 2, ms[0], ms[nfam - 1],
           last_log);
    return 0;
}
