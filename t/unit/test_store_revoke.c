/* test_store_revoke.c — a family's revocation on the default store costs
 * what the family costs (issue 18, item 4): the marker is written, the
 * memory tier is swept, and members that are only on disk are refused by
 * the marker whenever they are read (get, get_unrevoked, consume, iterate),
 * in this store and in one opened again on the same files (a restart); no
 * shard is read by the revocation; a read from disk that raced with the
 * revocation puts nothing into the memory tier; the marker outlives the
 * members it leaves on disk. Real store, real files and locks. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_global_mutex.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "oas_admin.h"
#include "oas_grant.h"
#include "oas_store.h"
#include "oas_token.h"
#include "unit.h"
#include "unit_store.h"

static void setup(void)
{
    unit_store_setup("revoke");
}

static void teardown(void)
{
    unit_store_teardown();
}

static oas_store_t *mk_store(int mem, int disk, apr_pool_t *p)
{
    return unit_store_make(mem, disk, p);
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

static void key_of(unsigned char *key, unsigned n)
{
    unit_key_of(key, n + 11);
}

static void fam_of(unsigned char *fam, int f)
{
    memset(fam, f, OAS_FAMILY_LEN);
}

/* entry n: kind, exp, family f (0: none) */
static apr_status_t put(oas_store_t *s, unsigned n, int kind, long long exp, int f)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    key_of(key, n);
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.exp = exp;
    fam_of(e.family, f);
    e.data = apr_psprintf(pool, "entry %u", n);
    e.len = strlen(e.data);
    return s->put(s, key, &e, pool);
}

static apr_status_t get(oas_store_t *s, unsigned n)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;

    key_of(key, n);
    return s->get(s, key, &e, pool);
}

static void marker_key(unsigned char *key, const unsigned char *fam)
{
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, fam, OAS_FAMILY_LEN));
}

/* what oas_family_revoke does: the marker, then remove_family; how many
 * the store removed */
static int revoke_fam(oas_store_t *s, int f, long long exp)
{
    unsigned char key[OAS_DIGEST_LEN], fam[OAS_FAMILY_LEN];
    oas_entry_t e;
    int n = -1;

    fam_of(fam, f);
    marker_key(key, fam);
    memset(&e, 0, sizeof(e));
    e.kind = OAS_KIND_FAMILY_REVOKED;
    e.exp = exp;
    memcpy(e.family, fam, OAS_FAMILY_LEN);
    e.data = "";
    ck_assert_int_eq(s->put(s, key, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->remove_family(s, fam, &n, pool), APR_SUCCESS);
    return n;
}

typedef struct {
    int per_family[256];
    int markers;
} count_t;

static int count_cb(void *ctx, const unsigned char *key, const oas_entry_t *e)
{
    count_t *c = ctx;

    (void)key;
    if (e->kind == OAS_KIND_FAMILY_REVOKED) {
        c->markers++;
    }
    else {
        c->per_family[e->family[0]]++;
    }
    return 0;
}

static count_t listed(oas_store_t *s)
{
    count_t c;

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(s->iterate(s, count_cb, &c, pool), APR_SUCCESS);
    return c;
}

/* Members 0..19 of family 7 (refresh, access, ...), 100..119 of family 8,
 * 200..209 without a family; a memory tier of 2 holds almost none. */
static void fill(oas_store_t *s, long long exp)
{
    unsigned i;

    for (i = 0; i < 20; i++) {
        int kind = i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH;
        ck_assert_int_eq(put(s, i, kind, exp, 7), APR_SUCCESS);
        ck_assert_int_eq(put(s, 100 + i, kind, exp, 8), APR_SUCCESS);
    }
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(put(s, 200 + i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
}

static void assert_others_live(oas_store_t *s)
{
    count_t c = listed(s);
    unsigned i;

    ck_assert_int_eq(c.per_family[7], 0);
    ck_assert_int_eq(c.per_family[8], 20);
    ck_assert_int_eq(c.per_family[0], 10);
    ck_assert_int_eq(c.markers, 1);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(get(s, 100 + i), APR_SUCCESS);
    }
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(get(s, 200 + i), APR_SUCCESS);
    }
}

/* Members only on disk are refused by get, get_unrevoked and consume (a
 * refresh: its tombstone is not written), and iterate lists none of them;
 * other families and family-less tokens are untouched. */
START_TEST(test_disk_members_refused)
{
    oas_store_t *s = mk_store(2, 1000, pool);
    long long exp = now_sec() + 600;
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e, tomb;
    unsigned i;
    int n;

    fill(s, exp);
    ck_assert_int_eq(listed(s).per_family[7], 20);
    n = revoke_fam(s, 7, exp);
    ck_assert_msg(n >= 0 && n <= 2, "%d removed from a memory tier of 2", n);
    ck_assert_int_eq(listed(s).per_family[7], 0);        /* before any read */
    memset(&tomb, 0, sizeof(tomb));
    tomb.kind = OAS_KIND_USED_REFRESH;
    tomb.exp = exp;
    fam_of(tomb.family, 7);
    tomb.data = "";
    for (i = 0; i < 20; i++) {
        key_of(key, i);
        if (i % 4 == 0) {
            ck_assert_int_eq(s->get(s, key, &e, pool), APR_NOTFOUND);
        }
        else if (i % 4 == 1) {
            ck_assert_int_ne(oas_store_get_unrevoked(s, key, &e, pool), APR_SUCCESS);
        }
        else {
            ck_assert_int_eq(s->consume(s, key, &e, i % 4 == 2 ? &tomb : NULL, pool),
                             APR_NOTFOUND);
        }
        ck_assert_int_eq(s->get(s, key, &e, pool), APR_NOTFOUND);    /* and again */
    }
    assert_others_live(s);
}
END_TEST

/* The same after a restart: a store opened again on the files (a new
 * memory tier, empty) refuses the members its disk holds, by the marker it
 * finds on disk. */
START_TEST(test_refused_after_restart)
{
    apr_pool_t *first;
    oas_store_t *s;
    long long exp = now_sec() + 600;
    unsigned i;

    ck_assert_int_eq(apr_pool_create(&first, pool), APR_SUCCESS);
    s = mk_store(2, 1000, first);
    fill(s, exp);
    (void)revoke_fam(s, 7, exp);
    apr_pool_destroy(first);
    s = mk_store(64, 1000, pool);
    assert_others_live(s);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(get(s, i), APR_NOTFOUND);
    }
}
END_TEST

/* The same after a clean stop, whose next start takes the kept count and
 * reads no record (oas_store_default_kept.c): the filter of revoked
 * families, which the scan would have filled from the markers on disk, must
 * not let the revoked members through. */
START_TEST(test_refused_after_clean_restart)
{
    apr_pool_t *first;
    oas_store_t *s;
    long long exp = now_sec() + 600;
    unsigned i;

    ck_assert_int_eq(apr_pool_create(&first, pool), APR_SUCCESS);
    s = mk_store(2, 1000, first);
    fill(s, exp);
    (void)revoke_fam(s, 7, exp);
    ck_assert_int_eq(oas_store_default_close(s, first), APR_SUCCESS);
    apr_pool_destroy(first);
    s = mk_store(64, 1000, pool);
    ck_assert_int_eq(oas_store_default_started(s, NULL), 1);
    assert_others_live(s);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(get(s, i), APR_NOTFOUND);
    }
}
END_TEST

/* Revoking a family among 50,000 entries reads no shard: the count of disk
 * records the sweeps read does not move (a revocation whose marker is
 * missing still sweeps them all, and reads every one). */
START_TEST(test_revoke_reads_no_shard)
{
    oas_store_t *s = mk_store(64, 60000, pool);
    long long exp = now_sec() + 600;
    unsigned char fam[OAS_FAMILY_LEN];
    long before;
    unsigned i;
    int n = -1;

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(put(s, i, i % 2 ? OAS_KIND_ACCESS : OAS_KIND_REFRESH, exp, 9),
                         APR_SUCCESS);
    }
    for (i = 0; i < 50000; i++) {
        ck_assert_int_eq(put(s, 1000 + i, OAS_KIND_ACCESS, exp, 0), APR_SUCCESS);
    }
    ck_assert_int_eq(put(s, 500, OAS_KIND_ACCESS, exp, 10), APR_SUCCESS);
    before = oas_store_default_swept(s);
    (void)revoke_fam(s, 9, exp);
    ck_assert_int_eq(oas_store_default_swept(s), before);
    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(get(s, i), APR_NOTFOUND);
    }
    fam_of(fam, 10);                       /* no marker: the old way, every record */
    ck_assert_int_eq(s->remove_family(s, fam, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
    ck_assert_int_ge(oas_store_default_swept(s) - before, 50000);
    ck_assert_int_eq(get(s, 49999), APR_SUCCESS);
}
END_TEST

/* ---- the reader/revoker race -------------------------------------- */

typedef struct {
    oas_store_t *s;
    int family;
    int ran;
} race_t;

/* runs inside the reader's get: after its look at the family's marker (none
 * yet), before its copy into memory; the whole revocation happens here,
 * with the store's real locks (the member's shard is the reader's) */
static void revoke_now(void *arg)
{
    race_t *r = arg;

    if (r->ran++ == 0) {
        ck_assert_int_eq(revoke_fam(r->s, r->family, now_sec() + 600), 0);
    }
}

/* a family whose marker lies in another shard than key (the reader holds
 * key's shard while the revoker writes the marker in its own) */
static int family_apart(const unsigned char *key)
{
    unsigned char fam[OAS_FAMILY_LEN], mkey[OAS_DIGEST_LEN];
    int f;

    for (f = 1; f < 256; f++) {
        fam_of(fam, f);
        marker_key(mkey, fam);
        if (mkey[8] % OAS_STORE_SHARDS != key[8] % OAS_STORE_SHARDS) {
            return f;
        }
    }
    ck_abort_msg("no family apart");
    return 0;
}

/* A get reads a member from disk and finds no marker; the revocation writes
 * the marker and sweeps the memory tier before the get copies the member
 * into memory: the copy must not be made (a later get would take it from
 * memory with no look at the marker). The get itself, which began before
 * the revocation, may answer with the member. */
START_TEST(test_reader_revoker_race)
{
    unsigned char key[OAS_DIGEST_LEN];
    long long exp = now_sec() + 600;
    apr_pool_t *first;
    oas_store_t *s;
    race_t r;

    key_of(key, 42);
    memset(&r, 0, sizeof(r));
    r.family = family_apart(key);
    ck_assert_int_eq(apr_pool_create(&first, pool), APR_SUCCESS);
    s = mk_store(64, 1000, first);
    ck_assert_int_eq(put(s, 42, OAS_KIND_ACCESS, exp, r.family), APR_SUCCESS);
    apr_pool_destroy(first);              /* a restart: the member is on disk only */
    r.s = s = mk_store(64, 1000, pool);
    oas_store_default_test_pause(s, revoke_now, &r);
    ck_assert_int_eq(get(s, 42), APR_SUCCESS);
    ck_assert_int_eq(r.ran, 1);
    oas_store_default_test_pause(s, NULL, NULL);
    ck_assert_int_eq(get(s, 42), APR_NOTFOUND);
    ck_assert_int_eq(get(s, 42), APR_NOTFOUND);
}
END_TEST

/* ---- the marker outlives the members left on disk ------------------ */

static int bearer_result(oas_config_t *c, const char *token)
{
    oas_bearer_t b;

    oas_bearer_check(&b, c, apr_pstrcat(pool, "Bearer ", token, NULL), NULL, pool);
    return b.result;
}

/* A configuration of client "c" (access tokens living an hour) with server
 * lifetimes of life seconds; n pairs issued to alice on a store that is
 * then opened again (a restart: the tokens are on disk only). */
static void issue_then_restart(oas_config_t *c, long long life, oas_issued_t *is, int n)
{
    oas_http_req_t req;
    oas_issue_t in;
    apr_pool_t *first;
    int i;

    memset(c, 0, sizeof(*c));
    c->issuer = "https://as.example";
    c->registry = unit_one_client(pool, 3600);
    c->code_lifetime = c->access_lifetime = c->refresh_lifetime = life;
    ck_assert_int_eq(apr_pool_create(&first, pool), APR_SUCCESS);
    c->store = mk_store(16, 64, first);
    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(c->registry, "c");
    in.username = "alice";
    in.scope = "";
    in.grant = OAS_GRANT_PASSWORD;
    in.with_refresh = 1;
    in.refresh_left = -1;
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(oas_issue_tokens(&is[i], c, &in, &req, pool), APR_SUCCESS);
    }
    apr_pool_destroy(first);
    c->store = mk_store(16, 64, pool);
}

/* Server lifetimes of 1 s, a client whose access tokens live an hour: a
 * pair is issued, the store restarts (the access token is then on disk
 * only), the family is revoked through its refresh token. The marker lives
 * as long as the access token, which stays refused when the server's
 * lifetimes have passed. */
START_TEST(test_marker_outlives_members)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_http_req_t req;
    oas_issued_t is;
    oas_entry_t e, m;
    oas_config_t c;

    memset(&req, 0, sizeof(req));
    issue_then_restart(&c, 1, &is, 1);
    ck_assert_int_eq(bearer_result(&c, is.access_token), OAS_BEARER_OK);
    oas_store_key(key, OAS_PREFIX_REFRESH, is.refresh_token);
    ck_assert_int_eq(c.store->get(c.store, key, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_family_revoke(&c, &e, &req, pool), APR_SUCCESS);
    ck_assert_int_eq(bearer_result(&c, is.access_token), OAS_BEARER_INVALID);
    marker_key(key, e.family);
    ck_assert_int_eq(c.store->get(c.store, key, &m, pool), APR_SUCCESS);
    ck_assert_msg(m.exp >= is.access_exp, "the marker ends at %lld, a member at %lld",
                  m.exp, is.access_exp);
    sleep(3);                              /* past now + every server lifetime */
    ck_assert_int_eq(bearer_result(&c, is.access_token), OAS_BEARER_INVALID);
    ck_assert_int_eq(c.store->get(c.store, key, &m, pool), APR_SUCCESS);
}
END_TEST

/* oauth-as-client revoke-tokens on a store whose memory tier holds none
 * of the tokens: it counts every token it revoked (3 pairs: 6), refuses
 * them, and removes them from the file (only the 3 markers stay). */
START_TEST(test_admin_revoke_frees_disk)
{
    oas_admin_filter_t f = { "c", NULL };
    oas_issued_t is[3];
    oas_config_t c;
    oas_store_stats_t st;
    int i, n = -1;

    issue_then_restart(&c, 3600, is, 3);
    ck_assert_int_eq(oas_admin_revoke(&n, c.store, &f, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 6);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(bearer_result(&c, is[i].access_token), OAS_BEARER_INVALID);
    }
    ck_assert_int_eq(c.store->stats(c.store, &st), APR_SUCCESS);
    ck_assert_int_eq(st.disk_entries, 3);
    ck_assert_int_eq(listed(c.store).markers, 3);
}
END_TEST

static Suite *revoke_suite(void)
{
    Suite *su = suite_create("store revoke");
    TCase *tc = tcase_create("revoke");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_disk_members_refused);
    tcase_add_test(tc, test_refused_after_restart);
    tcase_add_test(tc, test_refused_after_clean_restart);
    tcase_add_test(tc, test_revoke_reads_no_shard);
    tcase_add_test(tc, test_reader_revoker_race);
    tcase_add_test(tc, test_marker_outlives_members);
    tcase_add_test(tc, test_admin_revoke_frees_disk);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(revoke_suite)
