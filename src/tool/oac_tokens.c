/* oac_tokens.c — token administration on the default store: list, revoke,
 * purge. While httpd runs, the tool joins its store (named shared memory,
 * the flock mutex, the shards' file locks: oas_store_default_attach), so
 * every change is seen by all children at once and made under the same
 * locks as theirs. Without a running httpd it opens the SDBM files alone (a
 * private memory tier and mutex; an earlier version's single file is moved
 * into shards then, as httpd would at start). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_global_mutex.h>
#include <apr_sdbm.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "oac.h"
#include "oas_admin.h"
#include "oas_store.h"
#include "oas_store_dir.h"

#define OFFLINE_MEM   64
#define OFFLINE_DISK  (1 << 30)      /* the tool only removes, and adds few markers */

static int need_store(oac_opts_t *o)
{
    apr_finfo_t fi;
    const char *pag, *old;

    if (o->store == NULL || *o->store == '\0') {
        return oac_fail("which store? give -s PATH (the OAuthASStoreFile), or -f CONF with "
                        "an OAuthASStoreFile line");
    }
    pag = apr_pstrcat(o->p, o->store, ".0", APR_SDBM_PAGFEXT, NULL);   /* the first shard */
    old = apr_pstrcat(o->p, o->store, APR_SDBM_PAGFEXT, NULL);         /* before shards */
    if (apr_stat(&fi, pag, APR_FINFO_TYPE, o->p) != APR_SUCCESS
        && apr_stat(&fi, old, APR_FINFO_TYPE, o->p) != APR_SUCCESS) {
        return oac_fail("no store at %s (%s is missing)", o->store, pag);
    }
    return OAC_OK;
}

static void log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                   const char *msg)
{
    if (level <= OAS_LOG_WARNING) {
        fprintf(stderr, "oauth-as-client: %s\n", msg);
    }
}

/* At the tool's exit (its pool goes), a store it opened alone keeps its
 * count of records for the next start (oas_store_default_close). */
static apr_status_t close_offline(void *data)
{
    apr_pool_t *tp;

    if (apr_pool_create(&tp, NULL) == APR_SUCCESS) {
        (void)oas_store_default_close(data, tp);
        apr_pool_destroy(tp);
    }
    return APR_SUCCESS;
}

static int open_offline(oac_opts_t *o, oas_store_t **ps, const oas_logger_t *lg)
{
    oas_store_default_conf_t c;
    const char *err = NULL;
    char buf[120];
    apr_status_t rv;

    memset(&c, 0, sizeof(c));
    c.path = o->store;
    c.mem_entries = OFFLINE_MEM;
    c.disk_entries = OFFLINE_DISK;
    c.log = lg;
    if (oas_store_dir_owner(&c.file_uid, &c.file_gid, o->store, o->p, &err) != APR_SUCCESS) {
        return oac_fail("%s", err);     /* as root: the files only as their owner */
    }
    rv = apr_global_mutex_create(&c.mutex, NULL, APR_LOCK_DEFAULT, o->p);
    if (rv == APR_SUCCESS) {
        rv = oas_store_default_create(ps, &c, o->p);
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("cannot open the store %s: %s", o->store,
                        apr_strerror(rv, buf, sizeof(buf)));
    }
    fprintf(stderr, "oauth-as-client: httpd does not hold %s: working on the file alone\n",
            o->store);
    apr_pool_cleanup_register(o->p, *ps, close_offline, apr_pool_cleanup_null);
    return OAC_OK;
}

/* Once the store is open (memory mapped, lock file and SDBM files open), a
 * root tool goes on as the owner of the store's directory: what it reads
 * from then on (the memory, the SDBM pages) that user can write. */
static int drop_root(oac_opts_t *o)
{
    const char *err = NULL;
    uid_t uid;
    gid_t gid;
    char buf[120];
    apr_status_t rv;

    if (geteuid() != 0) {
        return OAC_OK;
    }
    if ((rv = oas_store_dir_owner(&uid, &gid, o->store, o->p, &err)) != APR_SUCCESS) {
        return oac_fail("%s", err);
    }
    if ((rv = oas_become_user(uid, gid)) != APR_SUCCESS) {
        return oac_fail("cannot become uid %ld: %s", (long)uid,
                        apr_strerror(rv, buf, sizeof(buf)));
    }
    return OAC_OK;
}

/* The live store of a running httpd, or the files alone (*poffline = 1). */
int oac_open_store(oac_opts_t *o, oas_store_t **ps, int *poffline)
{
    static oas_logger_t lg = { log_cb, NULL, OAS_LOG_WARNING };
    const char *err = NULL;
    apr_status_t rv;
    int rc;

    if ((rc = need_store(o)) != OAC_OK) {
        return rc;
    }
    rv = oas_store_default_attach(ps, o->store, &lg, o->p, &err);
    *poffline = rv == APR_ENOENT;
    if (rv == APR_ENOENT) {
        return (rc = open_offline(o, ps, &lg)) == OAC_OK ? drop_root(o) : rc;
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("%s", err ? err : "cannot attach to the store");
    }
    return drop_root(o);
}

static const char *when(long long t, apr_pool_t *p)
{
    apr_time_exp_t tm;
    apr_size_t n;
    char buf[32];

    if (t == 0) {
        return "never";
    }
    apr_time_exp_gmt(&tm, apr_time_from_sec(t));
    apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}

static void print_token(const oas_admin_token_t *t, apr_pool_t *p)
{
    printf("%s %-14s %-20s %-16s %-20s %s\n", oas_hex(p, t->key, OAS_DIGEST_LEN),
           oas_admin_kind_name(t->token.kind), t->token.client_id,
           t->token.username ? t->token.username : "-",
           t->token.scope && *t->token.scope ? t->token.scope : "-", when(t->token.exp, p));
}

int oac_cmd_tokens(oac_opts_t *o)
{
    oas_admin_filter_t f = { o->client, o->user };
    apr_array_header_t *list;
    oas_store_t *s;
    char buf[120];
    apr_status_t rv;
    int i, rc, offline;

    if ((rc = oac_open_store(o, &s, &offline)) != OAC_OK) {
        return rc;
    }
    if ((rv = oas_admin_list(&list, s, &f, o->p)) != APR_SUCCESS) {
        return oac_fail("cannot read the store: %s", apr_strerror(rv, buf, sizeof(buf)));
    }
    printf("%-64s %-14s %-20s %-16s %-20s %s\n", "DIGEST (SHA-256 store key)", "KIND", "CLIENT",
           "USER", "SCOPE", "EXPIRES (UTC)");
    for (i = 0; i < list->nelts; i++) {
        print_token(&APR_ARRAY_IDX(list, i, oas_admin_token_t), o->p);
    }
    return OAC_OK;
}

int oac_cmd_revoke_tokens(oac_opts_t *o)
{
    oas_admin_filter_t f = { o->client, o->user };
    oas_store_t *s;
    char buf[120];
    apr_status_t rv;
    int n = 0, rc, offline;

    if (o->client == NULL && o->user == NULL) {
        fprintf(stderr, "oauth-as-client: revoke-tokens: give --client CLIENT_ID or --user "
                "NAME\n");
        return OAC_USAGE;
    }
    if ((rc = oac_open_store(o, &s, &offline)) != OAC_OK) {
        return rc;
    }
    rv = oas_admin_revoke(&n, s, &f, o->p);
    printf("revoked %d token%s\n", n, n == 1 ? "" : "s");
    if (rv != APR_SUCCESS) {
        return oac_fail("the store failed part way: %s (run it again)",
                        apr_strerror(rv, buf, sizeof(buf)));
    }
    return OAC_OK;
}

int oac_cmd_purge(oac_opts_t *o)
{
    oas_store_stats_t st;
    oas_store_t *s;
    char buf[120];
    apr_status_t rv;
    int n = 0, rc, offline;

    if ((rc = oac_open_store(o, &s, &offline)) != OAC_OK) {
        return rc;
    }
    if ((rv = s->purge(s, &n, o->p)) == APR_SUCCESS && offline
        && s->stats(s, &st) == APR_SUCCESS) {
        n = (int)st.purged;            /* opening the file alone already dropped them */
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("purge failed: %s", apr_strerror(rv, buf, sizeof(buf)));
    }
    printf("purged %d expired entr%s\n", n, n == 1 ? "y" : "ies");
    return OAC_OK;
}
