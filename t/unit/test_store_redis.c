/* test_store_redis.c — the Redis store (oas_store_redis.c on oas_store_kv.c)
 * against a real redis-server, started here on a free loopback port with
 * its own directory. Without redis-server on PATH (or in /usr/bin, /usr/sbin)
 * every test passes after one line that says it was skipped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <apr_redis.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "oas_grant.h"
#include "oas_store.h"
#include "oas_token.h"
#include "unit.h"

#define NCHILD 16
#define ROUNDS 10

typedef struct redis_srv_t {
    pid_t pid;
    int port;
    char dir[64];
    int aof;
} redis_srv_t;

static const char *redis_bin;     /* NULL: not installed, tests are skipped */
static redis_srv_t shared;        /* the suite's server (unchecked fixture) */
static apr_pool_t *pool;
static int nlog_err, nlog_notice; /* lines the store logged */

/* ------------------------------------------------------------- helpers */

static const char *find_redis(void)
{
    static const char *const dirs[] = { "/usr/bin", "/usr/sbin", "/usr/local/bin" };
    const char *path = getenv("PATH");
    static char buf[512];
    size_t i;

    if (path) {
        char *copy = strdup(path), *save = NULL, *d;
        for (d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(buf, sizeof(buf), "%s/redis-server", d);
            if (access(buf, X_OK) == 0) {
                free(copy);
                return buf;
            }
        }
        free(copy);
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(buf, sizeof(buf), "%s/redis-server", dirs[i]);
        if (access(buf, X_OK) == 0) {
            return buf;
        }
    }
    return NULL;
}

#define SKIP_WITHOUT_REDIS() do { if (!redis_bin) { return; } } while (0)

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Redis answers PING with +PONG: it listens and has loaded its data (while
 * it loads an AOF file it answers -LOADING, which a test would take for a
 * failure of the store under a loaded machine). */
static int redis_ready(int port)
{
    struct sockaddr_in a;
    struct timeval tv = { 1, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
    char buf[16] = "";

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0
        && write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof(buf) - 1) > 0) {
        ok = strncmp(buf, "+PONG", 5) == 0;
    }
    close(fd);
    return ok;
}

/* Start redis-server on srv->port in srv->dir; wait until it answers. */
static void redis_start(redis_srv_t *srv)
{
    char port[16], log[128];
    int i;

    snprintf(port, sizeof(port), "%d", srv->port);
    snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
    srv->pid = fork();
    ck_assert_int_ge(srv->pid, 0);
    if (srv->pid == 0) {
        execl(redis_bin, redis_bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
              "--appendonly", srv->aof ? "yes" : "no", "--appendfsync", "always",
              "--dir", srv->dir, "--logfile", log, "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 1000 && !redis_ready(srv->port); i++) {
        usleep(10 * 1000);
    }
    ck_assert_msg(redis_ready(srv->port), "redis-server did not start on port %d", srv->port);
}

static void redis_stop(redis_srv_t *srv)
{
    int status;

    if (srv->pid > 0) {
        kill(srv->pid, SIGCONT);
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, &status, 0);
        srv->pid = 0;
    }
}

static void redis_new(redis_srv_t *srv, int aof)
{
    memset(srv, 0, sizeof(*srv));
    strcpy(srv->dir, "/tmp/oas_redis_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(srv->dir));
    srv->port = free_port();
    srv->aof = aof;
    redis_start(srv);
}

static void redis_gone(redis_srv_t *srv)
{
    char cmd[128];

    redis_stop(srv);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", srv->dir);
    if (srv->dir[0] && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", srv->dir);
    }
}

static void suite_up(void)
{
    signal(SIGPIPE, SIG_IGN);    /* as in httpd: a write to a closed socket is an error */
    redis_bin = find_redis();
    if (!redis_bin) {
        printf("test_store_redis: SKIPPED: redis-server is not installed "
               "(apt-get install redis-server)\n");
        return;
    }
    redis_new(&shared, 0);
}

static void suite_down(void)
{
    if (redis_bin) {
        redis_gone(&shared);
    }
}

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    nlog_err = nlog_notice = 0;
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static void log_cb(void *baton, const char *file, int line, int level, apr_status_t rv,
                   const char *msg)
{
    if (level <= OAS_LOG_ERR) {
        nlog_err++;
    }
    else if (level == OAS_LOG_NOTICE) {
        nlog_notice++;
    }
}

static const oas_logger_t logger = { log_cb, NULL, OAS_LOG_DEBUG };

/* a store on srv, keys under a prefix of this test and process */
static oas_store_t *mk_store(const redis_srv_t *srv, const char *name)
{
    oas_store_redis_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.host = "127.0.0.1";
    c.port = srv->port;
    c.prefix = apr_psprintf(pool, "oastest:%s:%ld:", name, (long)getpid());
    c.timeout = 1;
    c.conn_smax = c.conn_max = 4;
    c.conn_ttl = 60;
    c.log = &logger;
    ck_assert_int_eq(oas_store_redis_create(&s, &c, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "redis");
    ck_assert_int_eq(s->families_by_marker, 1);
    return s;
}

static void key_of(unsigned char *key, unsigned n)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "key-%u", n);
    oas_sha256(key, buf, strlen(buf));
}

static long long now_sec(void)
{
    return (long long)apr_time_sec(apr_time_now());
}

/* payload: len bytes of every value, zeros and CR LF among them */
static oas_entry_t entry(int kind, long long exp, int fam, apr_size_t len, unsigned seed)
{
    oas_entry_t e;
    unsigned char *d = apr_palloc(pool, len + 1);
    apr_size_t i;

    memset(&e, 0, sizeof(e));
    for (i = 0; i < len; i++) {
        d[i] = (unsigned char)(i * 7 + seed);
    }
    e.kind = kind;
    e.exp = exp;
    if (fam) {
        memset(e.family, fam, OAS_FAMILY_LEN);
    }
    e.data = d;
    e.len = len;
    return e;
}

static int same_entry(const oas_entry_t *a, const oas_entry_t *b)
{
    return a->kind == b->kind && a->exp == b->exp
           && memcmp(a->family, b->family, OAS_FAMILY_LEN) == 0 && a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static apr_status_t put_n(oas_store_t *s, unsigned n, const oas_entry_t *e)
{
    unsigned char k[32];

    key_of(k, n);
    return s->put(s, k, e, pool);
}

static apr_status_t get_n(oas_store_t *s, unsigned n, oas_entry_t *e)
{
    unsigned char k[32];

    key_of(k, n);
    return s->get(s, k, e, pool);
}

/* 1 if Redis itself still holds the record of key n (whatever its exp says) */
static int raw_exists(const redis_srv_t *srv, const char *name, unsigned n)
{
    apr_redis_t *rc;
    apr_redis_server_t *rs;
    unsigned char k[32];
    char *val = NULL;
    apr_size_t len;
    apr_uint16_t flags;
    apr_status_t rv;

    key_of(k, n);
    ck_assert_int_eq(apr_redis_create(pool, 1, 0, &rc), APR_SUCCESS);
    ck_assert_int_eq(apr_redis_server_create(pool, "127.0.0.1", (apr_port_t)srv->port, 0, 1, 1,
                                             60000000, 1, &rs), APR_SUCCESS);
    ck_assert_int_eq(apr_redis_add_server(rc, rs), APR_SUCCESS);
    rv = apr_redis_getp(rc, pool, apr_psprintf(pool, "oastest:%s:%ld:%s", name, (long)getpid(),
                                               oas_hex(pool, k, 32)), &val, &len, &flags);
    ck_assert(rv == APR_SUCCESS || rv == APR_NOTFOUND);
    return rv == APR_SUCCESS;
}

static double since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
}

/* --------------------------------------------------------------- tests */

START_TEST(test_roundtrip)
{
    oas_store_t *s;
    oas_entry_t e, got;
    apr_size_t len;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "roundtrip");
    for (len = 0; len <= OAS_ENTRY_MAX; len += 300) {      /* 0, 300, 600, 900 bytes */
        e = entry(OAS_KIND_ACCESS, now_sec() + 100, 3, len, (unsigned)len);
        ck_assert_int_eq(put_n(s, (unsigned)len, &e), APR_SUCCESS);
        ck_assert_int_eq(get_n(s, (unsigned)len, &got), APR_SUCCESS);
        ck_assert(same_entry(&e, &got));
    }
    e = entry(OAS_KIND_REFRESH, 0, 0, OAS_ENTRY_MAX, 9);    /* never expires */
    ck_assert_int_eq(put_n(s, 7, &e), APR_SUCCESS);
    ck_assert_int_eq(get_n(s, 7, &got), APR_SUCCESS);
    ck_assert(same_entry(&e, &got));
    e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 10, 1);  /* replace */
    ck_assert_int_eq(put_n(s, 7, &e), APR_SUCCESS);
    ck_assert_int_eq(get_n(s, 7, &got), APR_SUCCESS);
    ck_assert(same_entry(&e, &got));
    ck_assert_int_eq(get_n(s, 12345, &got), APR_NOTFOUND);
    e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, OAS_ENTRY_MAX + 1, 1);
    ck_assert_int_eq(put_n(s, 8, &e), APR_EINVAL);
    ck_assert_int_eq(nlog_err, 0);
}
END_TEST

START_TEST(test_ttl)
{
    oas_store_t *s;
    oas_entry_t e, got;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "ttl");
    e = entry(OAS_KIND_CODE, now_sec() + 2, 0, 40, 1);
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    e = entry(OAS_KIND_ACCESS, 0, 0, 40, 2);
    ck_assert_int_eq(put_n(s, 2, &e), APR_SUCCESS);
    e = entry(OAS_KIND_ACCESS, now_sec() - 1, 0, 40, 3);    /* expired already */
    ck_assert_int_eq(put_n(s, 3, &e), APR_SUCCESS);
    ck_assert_int_eq(get_n(s, 3, &got), APR_NOTFOUND);
    ck_assert(!raw_exists(&shared, "ttl", 3));
    ck_assert_int_eq(get_n(s, 1, &got), APR_SUCCESS);
    ck_assert(raw_exists(&shared, "ttl", 1));
    usleep(3100 * 1000);
    ck_assert_int_eq(get_n(s, 1, &got), APR_NOTFOUND);
    ck_assert(!raw_exists(&shared, "ttl", 1));              /* Redis dropped it itself */
    ck_assert_int_eq(get_n(s, 2, &got), APR_SUCCESS);
    ck_assert(raw_exists(&shared, "ttl", 2));
}
END_TEST

START_TEST(test_consume)
{
    oas_store_t *s;
    oas_entry_t e, tomb, got;
    unsigned char k[32];

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "consume");
    key_of(k, 1);
    e = entry(OAS_KIND_CODE, now_sec() + 100, 5, 200, 1);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->consume(s, k, &got, NULL, pool), APR_SUCCESS);
    ck_assert(same_entry(&e, &got));
    ck_assert_int_eq(s->consume(s, k, &got, NULL, pool), APR_NOTFOUND);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);

    key_of(k, 2);
    e = entry(OAS_KIND_REFRESH, now_sec() + 100, 6, 300, 2);
    tomb = entry(OAS_KIND_USED_REFRESH, now_sec() + 100, 6, 0, 0);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert(same_entry(&e, &got));
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);     /* the tombstone */
    ck_assert(same_entry(&tomb, &got));
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_SUCCESS);
    ck_assert_int_eq(got.kind, OAS_KIND_USED_REFRESH);           /* a replay sees it */
    ck_assert_int_eq(s->remove(s, k, pool), APR_SUCCESS);
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
    ck_assert_int_eq(s->remove(s, k, pool), APR_NOTFOUND);
    ck_assert_int_eq(s->consume(s, k, &got, &tomb, pool), APR_NOTFOUND);
}
END_TEST

enum { R_ORIGINAL, R_NOTFOUND, R_REPLACEMENT, R_ERROR };

static int consume_child(oas_store_t *s, int fd, int kind, const oas_entry_t *repl, int init)
{
    unsigned char k[32];
    oas_entry_t e;
    apr_status_t rv;
    char c;

    if (init && s->child_init(s, pool) != APR_SUCCESS) {
        return R_ERROR;
    }
    if (read(fd, &c, 1) < 0) {                  /* EOF: all go at once */
        return R_ERROR;
    }
    key_of(k, 42);
    rv = s->consume(s, k, &e, repl, pool);
    if (rv == APR_NOTFOUND) {
        return R_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return R_ERROR;
    }
    if (e.kind == kind) {
        return R_ORIGINAL;
    }
    return repl && e.kind == repl->kind ? R_REPLACEMENT : R_ERROR;
}

/* NCHILD processes released together consume key 42: exactly one wins */
static void race(oas_store_t *s, int kind, int with_repl)
{
    oas_entry_t e = entry(kind, now_sec() + 100, 7, 100, 3);
    oas_entry_t repl = entry(kind == OAS_KIND_CODE ? OAS_KIND_USED_CODE : OAS_KIND_USED_REFRESH,
                             now_sec() + 100, 7, 0, 0), got;
    int fds[2], count[4] = { 0, 0, 0, 0 }, c, status;
    pid_t pids[NCHILD];
    unsigned char k[32];

    key_of(k, 42);
    s->remove(s, k, pool);
    ck_assert_int_eq(s->put(s, k, &e, pool), APR_SUCCESS);
    ck_assert_int_eq(pipe(fds), 0);
    for (c = 0; c < NCHILD; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            close(fds[1]);
            _exit(consume_child(s, fds[0], kind, with_repl ? &repl : NULL, c % 2));
        }
    }
    close(fds[0]);
    usleep(200 * 1000);                          /* connected and blocked in read() */
    close(fds[1]);
    for (c = 0; c < NCHILD; c++) {
        ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) <= R_ERROR);
        count[WEXITSTATUS(status)]++;
    }
    ck_assert_int_eq(count[R_ERROR], 0);
    ck_assert_int_eq(count[R_ORIGINAL], 1);
    ck_assert_int_eq(count[R_NOTFOUND] + count[R_REPLACEMENT], NCHILD - 1);
    if (!with_repl) {
        ck_assert_int_eq(s->get(s, k, &got, pool), APR_NOTFOUND);
        return;
    }
    ck_assert_int_eq(s->get(s, k, &got, pool), APR_SUCCESS);
    ck_assert(same_entry(&repl, &got));
}

START_TEST(test_race_code)
{
    oas_store_t *s;
    int i;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "race1");
    for (i = 0; i < ROUNDS; i++) {
        race(s, OAS_KIND_CODE, 1);
    }
}
END_TEST

START_TEST(test_race_refresh)
{
    oas_store_t *s;
    int i;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "race2");
    for (i = 0; i < ROUNDS; i++) {
        race(s, OAS_KIND_REFRESH, 1);
    }
}
END_TEST

START_TEST(test_race_plain)
{
    oas_store_t *s;
    int i;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "race3");
    for (i = 0; i < ROUNDS; i++) {
        race(s, OAS_KIND_CSRF, 0);
    }
}
END_TEST

START_TEST(test_family)
{
    static const unsigned char zero[OAS_FAMILY_LEN];
    unsigned char fam[OAS_FAMILY_LEN], key[32];
    oas_store_t *s;
    oas_entry_t marker, got;
    int n = -1;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "family");
    memset(fam, 9, sizeof(fam));
    ck_assert_int_eq(oas_store_family_revoked(s, fam, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_family_revoked(s, zero, pool), APR_SUCCESS);
    marker = entry(OAS_KIND_FAMILY_REVOKED, now_sec() + 100, 9, 0, 0);
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, fam, OAS_FAMILY_LEN));
    ck_assert_int_eq(s->put(s, key, &marker, pool), APR_SUCCESS);
    ck_assert_int_eq(oas_store_family_revoked(s, fam, pool), APR_EACCES);
    ck_assert_int_eq(s->remove_family(s, fam, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(s->remove_family(s, zero, &n, pool), APR_EINVAL);
    ck_assert_int_eq(s->get(s, key, &got, pool), APR_SUCCESS);   /* the marker stays */
    ck_assert_int_eq(s->purge(s, &n, pool), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(s->iterate(s, NULL, NULL, pool), APR_ENOTIMPL);
}
END_TEST

/* total_connections_received of srv (INFO), this look's own included */
static long redis_conns(const redis_srv_t *srv)
{
    apr_redis_t *rc;
    apr_redis_server_t *rs;
    char *info = NULL, *at;

    ck_assert_int_eq(apr_redis_create(pool, 1, 0, &rc), APR_SUCCESS);
    ck_assert_int_eq(apr_redis_server_create(pool, "127.0.0.1", (apr_port_t)srv->port, 0, 1, 1,
                                             60000000, 1, &rs), APR_SUCCESS);
    ck_assert_int_eq(apr_redis_info(rs, pool, &info), APR_SUCCESS);
    ck_assert_ptr_nonnull(at = strstr(info, "total_connections_received:"));
    return strtol(at + 27, NULL, 10);
}

static apr_status_t unrevoked_n(oas_store_t *s, unsigned n, oas_entry_t *e)
{
    unsigned char k[32];

    key_of(k, n);
    return s->get_unrevoked(s, k, e, pool);
}

static void revoke_family(oas_store_t *s, int fam)
{
    unsigned char f[OAS_FAMILY_LEN], key[32];
    oas_entry_t marker = entry(OAS_KIND_FAMILY_REVOKED, now_sec() + 100, fam, 0, 0);

    memset(f, fam, sizeof(f));
    oas_store_key(key, OAS_PREFIX_FAMILY, oas_hex(pool, f, OAS_FAMILY_LEN));
    ck_assert_int_eq(s->put(s, key, &marker, pool), APR_SUCCESS);
}

/* get_unrevoked (issue 18 item 5): a token seen before is asked for with its
 * family's marker in one round trip, on a connection of the store's own
 * (a pipeline: Redis counts one more connection, once); a family revoked or
 * a token removed after it was seen is refused at once; a connection that
 * broke (Redis restarted) falls back to the plain way without an error. */
START_TEST(test_unrevoked)
{
    redis_srv_t srv;
    oas_store_t *s;
    oas_entry_t a = entry(OAS_KIND_ACCESS, now_sec() + 100, 5, 120, 3);
    oas_entry_t b = entry(OAS_KIND_ACCESS, now_sec() + 100, 6, 80, 4);
    oas_entry_t c = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 40, 5), got;
    unsigned char k[32];
    long conns;

    SKIP_WITHOUT_REDIS();
    redis_new(&srv, 1);                            /* appendonly yes */
    s = mk_store(&srv, "unrevoked");
    ck_assert_int_eq(put_n(s, 1, &a), APR_SUCCESS);
    ck_assert_int_eq(put_n(s, 2, &b), APR_SUCCESS);
    ck_assert_int_eq(put_n(s, 3, &c), APR_SUCCESS);
    ck_assert_int_eq(unrevoked_n(s, 1, &got), APR_SUCCESS);     /* two round trips */
    ck_assert(same_entry(&a, &got));
    conns = redis_conns(&srv);
    ck_assert_int_eq(unrevoked_n(s, 1, &got), APR_SUCCESS);     /* one, pipelined */
    ck_assert(same_entry(&a, &got));
    ck_assert_int_eq(redis_conns(&srv), conns + 2);              /* the look's, the pipe's */
    ck_assert_int_eq(unrevoked_n(s, 1, &got), APR_SUCCESS);
    ck_assert_int_eq(redis_conns(&srv), conns + 3);              /* the same pipe */
    revoke_family(s, 5);
    ck_assert_int_eq(unrevoked_n(s, 1, &got), APR_EACCES);      /* at once */
    ck_assert_int_eq(unrevoked_n(s, 2, &got), APR_SUCCESS);
    ck_assert_int_eq(unrevoked_n(s, 2, &got), APR_SUCCESS);
    key_of(k, 2);
    ck_assert_int_eq(s->remove(s, k, pool), APR_SUCCESS);
    ck_assert_int_eq(unrevoked_n(s, 2, &got), APR_NOTFOUND);    /* at once */
    ck_assert_int_eq(unrevoked_n(s, 3, &got), APR_SUCCESS);     /* no family: one GET */
    ck_assert(same_entry(&c, &got));
    ck_assert_int_eq(unrevoked_n(s, 9, &got), APR_NOTFOUND);
    redis_stop(&srv);
    redis_start(&srv);
    ck_assert_int_eq(unrevoked_n(s, 1, &got), APR_EACCES);      /* the marker persisted */
    ck_assert_int_eq(put_n(s, 4, &b), APR_SUCCESS);
    ck_assert_int_eq(unrevoked_n(s, 4, &got), APR_SUCCESS);
    ck_assert_int_eq(unrevoked_n(s, 4, &got), APR_SUCCESS);
    ck_assert(same_entry(&b, &got));
    ck_assert_int_eq(nlog_err, 0);
    redis_stop(&srv);
    ck_assert_int_eq(unrevoked_n(s, 4, &got), APR_ECONNREFUSED); /* the real reason */
    ck_assert_int_eq(nlog_err, 1);
    redis_gone(&srv);
}
END_TEST

START_TEST(test_stats_and_conf)
{
    oas_store_redis_conf_t c;
    oas_store_stats_t st;
    oas_store_t *s, *bad = NULL;
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 10, 1);

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "stats");
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    ck_assert_int_eq(s->stats(s, &st), APR_SUCCESS);
    ck_assert_int_ge(st.disk_entries, 1);
    memset(&c, 0, sizeof(c));
    c.host = "127.0.0.1";
    c.port = shared.port;
    c.prefix = "x:";
    c.timeout = 1;
    c.conn_max = 1;
    {
        const char *note = "x";
        ck_assert_int_eq(oas_store_redis_check(&c, pool, &note), APR_SUCCESS);
        ck_assert_ptr_null(note);                  /* Debian's default: noeviction */
    }
    c.timeout = 0;
    ck_assert_int_eq(oas_store_redis_create(&bad, &c, pool), APR_EINVAL);
    ck_assert_ptr_null(bad);
    c.timeout = 1;
    c.conn_smax = 2;                               /* smax > max */
    ck_assert_int_eq(oas_store_redis_create(&bad, &c, pool), APR_EINVAL);
    c.conn_smax = 0;
    c.port = free_port();                          /* nobody there */
    ck_assert_int_ne(oas_store_redis_check(&c, pool, NULL), APR_SUCCESS);
}
END_TEST

/* Redis stops: errors (not "not found") at once; one ERR line for the
 * episode; back: works without a new store, one NOTICE line. */
START_TEST(test_outage)
{
    redis_srv_t srv;
    oas_store_t *s;
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 50, 1), got;
    unsigned char k[32];
    apr_time_t t0;
    int i;

    SKIP_WITHOUT_REDIS();
    redis_new(&srv, 0);
    s = mk_store(&srv, "outage");
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    redis_stop(&srv);
    t0 = apr_time_now();
    ck_assert_int_ne(get_n(s, 1, &got), APR_NOTFOUND);
    ck_assert_int_ne(get_n(s, 1, &got), APR_SUCCESS);
    ck_assert_int_ne(put_n(s, 2, &e), APR_SUCCESS);
    key_of(k, 1);
    for (i = 0; i < 10; i++) {
        apr_status_t rv = s->consume(s, k, &got, NULL, pool);
        ck_assert(rv != APR_SUCCESS && rv != APR_NOTFOUND);
    }
    ck_assert_msg(since(t0) < 2.0, "errors took %.1f s", since(t0));
    ck_assert_int_eq(nlog_err, 1);
    redis_start(&srv);                             /* empty: no persistence here */
    ck_assert_int_eq(get_n(s, 1, &got), APR_NOTFOUND);
    ck_assert_int_eq(put_n(s, 2, &e), APR_SUCCESS);
    ck_assert_int_eq(get_n(s, 2, &got), APR_SUCCESS);
    ck_assert_int_eq(nlog_err, 1);
    ck_assert_int_eq(nlog_notice, 1);
    redis_gone(&srv);
}
END_TEST

/* four threads at once: the pool holds four connections afterwards */
static void *APR_THREAD_FUNC busy_thread(apr_thread_t *t, void *data)
{
    oas_store_t *s = data;
    oas_entry_t got;
    apr_pool_t *p;
    unsigned char k[32];
    int i, bad = 0;

    apr_pool_create(&p, NULL);
    key_of(k, 1);
    for (i = 0; i < 200; i++) {
        bad += s->get(s, k, &got, p) != APR_SUCCESS;
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, bad ? APR_EGENERAL : APR_SUCCESS);
    return NULL;
}

static void fill_pool(oas_store_t *s)
{
    apr_thread_t *th[4];
    apr_status_t rv;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, busy_thread, s, pool), APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_join(&rv, th[i]), APR_SUCCESS);
        ck_assert_int_eq(rv, APR_SUCCESS);
    }
}

/* A restart between two operations: every pooled connection is dead; the
 * next operation still works (tried again on a fresh connection), and what
 * Redis persisted is there. */
START_TEST(test_restart_between)
{
    redis_srv_t srv;
    oas_store_t *s;
    oas_entry_t e = entry(OAS_KIND_REFRESH, 0, 0, 50, 1), got;

    SKIP_WITHOUT_REDIS();
    redis_new(&srv, 1);                            /* appendonly yes */
    s = mk_store(&srv, "restart");
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    fill_pool(s);
    redis_stop(&srv);
    redis_start(&srv);
    ck_assert_int_eq(get_n(s, 1, &got), APR_SUCCESS);   /* persisted, and no error */
    ck_assert(same_entry(&e, &got));
    ck_assert_int_eq(nlog_err, 0);
    fill_pool(s);
    redis_stop(&srv);
    ck_assert_int_eq(get_n(s, 1, &got), APR_ECONNREFUSED);   /* the real reason */
    ck_assert_int_eq(nlog_err, 1);
    redis_gone(&srv);
}
END_TEST

/* Redis hangs (SIGSTOP): the first operation fails within the timeout, the
 * next ones at once; after SIGCONT service resumes within the retry time. */
START_TEST(test_hang)
{
    redis_srv_t srv;
    oas_store_t *s;
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 50, 1), got;
    apr_time_t t0;
    apr_status_t rv;
    int i;

    SKIP_WITHOUT_REDIS();
    redis_new(&srv, 0);
    s = mk_store(&srv, "hang");
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    kill(srv.pid, SIGSTOP);
    t0 = apr_time_now();
    rv = get_n(s, 1, &got);
    ck_assert(rv != APR_SUCCESS && rv != APR_NOTFOUND);
    ck_assert_msg(since(t0) < 3.0, "first failure after %.1f s", since(t0));
    t0 = apr_time_now();
    for (i = 0; i < 20; i++) {
        rv = get_n(s, 1, &got);
        ck_assert(rv != APR_SUCCESS && rv != APR_NOTFOUND);
    }
    ck_assert_msg(since(t0) < 0.5, "fail-fast took %.1f s", since(t0));
    ck_assert_int_eq(nlog_err, 1);
    kill(srv.pid, SIGCONT);
    t0 = apr_time_now();
    while ((rv = get_n(s, 1, &got)) != APR_SUCCESS && since(t0) < 5.0) {
        usleep(100 * 1000);
    }
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_int_eq(nlog_notice, 1);
    redis_gone(&srv);
}
END_TEST

/* A reply's first line is read by the store's own parser: a hostile or
 * broken Redis gets an error, never a read past the line (strtol, which
 * the pipeline used before, skips white space and new lines). */
START_TEST(test_reply_number)
{
    static const struct { const char *line; apr_status_t rv; long n; } cases[] = {
        { "5\r\n", APR_SUCCESS, 5 }, { "-1\r\n", APR_SUCCESS, -1 },
        { "0\r\n", APR_SUCCESS, 0 }, { "1048576\r\n", APR_SUCCESS, 1048576 },
        { "\r\n", APR_EGENERAL, 0 }, { "-\r\n", APR_EGENERAL, 0 },
        { "5\n", APR_EGENERAL, 0 }, { " 5\r\n", APR_EGENERAL, 0 },
        { "5 \r\n", APR_EGENERAL, 0 }, { "+5\r\n", APR_EGENERAL, 0 },
        { "5x\r\n", APR_EGENERAL, 0 }, { "--5\r\n", APR_EGENERAL, 0 },
        { "99999999999999999999999\r\n", APR_EGENERAL, 0 },
    };
    char buf[64];
    size_t i;
    long n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].line);
        memset(buf, '7', sizeof(buf));                 /* digits after the line */
        memcpy(buf, cases[i].line, len);
        n = 12345;
        ck_assert_int_eq(oas_store_redis_number(buf, buf + len - 1, &n), cases[i].rv);
        ck_assert_int_eq(n, cases[i].rv == APR_SUCCESS ? cases[i].n : 12345);
    }
    /* white space and a new line before the digits: strtol would read "  \n 42" */
    memcpy(buf, "\n 42\r\n", 7);
    ck_assert_int_eq(oas_store_redis_number(buf, buf, &n), APR_EGENERAL);
}
END_TEST

/* child_init in a forked process, then the parent's store still works */
START_TEST(test_child_init)
{
    oas_store_t *s;
    oas_entry_t e = entry(OAS_KIND_ACCESS, now_sec() + 100, 0, 50, 1), got;
    pid_t pid;
    int status;

    SKIP_WITHOUT_REDIS();
    s = mk_store(&shared, "child");
    ck_assert_int_eq(put_n(s, 1, &e), APR_SUCCESS);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(s->child_init(s, pool) == APR_SUCCESS && get_n(s, 1, &got) == APR_SUCCESS
              && put_n(s, 2, &e) == APR_SUCCESS ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(get_n(s, 2, &got), APR_SUCCESS);
}
END_TEST

/* ---- issue 12 item 4: a family's revocation marker outlives its members -- */

/* Issue a pair on a Redis store whose server lifetimes are 1 s, to a client
 * whose access tokens live life seconds (0: never); revoke the family the
 * way a replay of the refresh token does (its tombstone is the member). */
static const char *issue_and_revoke(oas_config_t *c, long long life, const char *name)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_http_req_t req;
    oas_issued_t is;
    oas_issue_t in;
    oas_entry_t e;

    memset(c, 0, sizeof(*c));
    c->issuer = "https://as.example";
    c->store = mk_store(&shared, name);
    c->registry = unit_one_client(pool, life);
    c->code_lifetime = c->access_lifetime = c->refresh_lifetime = 1;
    memset(&req, 0, sizeof(req));
    memset(&in, 0, sizeof(in));
    in.client = oas_registry_get(c->registry, "c");
    in.username = "alice";
    in.scope = "";
    in.grant = OAS_GRANT_PASSWORD;
    in.with_refresh = 1;
    in.refresh_left = -1;
    ck_assert_int_eq(oas_issue_tokens(&is, c, &in, &req, pool), APR_SUCCESS);
    ck_assert(life ? is.access_exp >= now_sec() + life - 1 : is.access_exp == 0);
    oas_store_key(key, OAS_PREFIX_REFRESH, is.refresh_token);
    ck_assert_int_eq(c->store->get(c->store, key, &e, pool), APR_SUCCESS);
    e.kind = OAS_KIND_USED_REFRESH;
    ck_assert_int_eq(oas_family_revoke(c, &e, &req, pool), APR_SUCCESS);
    return is.access_token;
}

static void assert_refused(oas_config_t *c, const char *access_token)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_bearer_t b;
    oas_entry_t e;

    oas_store_key(key, OAS_PREFIX_ACCESS, access_token);
    /* Redis cannot find a family's members: the token itself is still there */
    ck_assert_int_eq(c->store->get(c->store, key, &e, pool), APR_SUCCESS);
    oas_bearer_check(&b, c, apr_pstrcat(pool, "Bearer ", access_token, NULL), NULL, pool);
    ck_assert_msg(b.result == OAS_BEARER_INVALID, "a revoked token came back (result %d)",
                  b.result);
    ck_assert_int_eq(oas_store_family_revoked(c->store, e.family, pool), APR_EACCES);
}

START_TEST(test_family_marker_outlives_members)
{
    oas_config_t longer, never;
    const char *at_longer, *at_never;

    SKIP_WITHOUT_REDIS();
    at_longer = issue_and_revoke(&longer, 3600, "marker-long");
    at_never = issue_and_revoke(&never, 0, "marker-never");
    assert_refused(&longer, at_longer);
    assert_refused(&never, at_never);
    usleep(2500 * 1000);          /* past now + every server lifetime */
    assert_refused(&longer, at_longer);
    assert_refused(&never, at_never);
    ck_assert_int_eq(nlog_err, 0);
}
END_TEST

static Suite *redis_suite(void)
{
    Suite *su = suite_create("store_redis");
    TCase *tc = tcase_create("redis");

    tcase_add_unchecked_fixture(tc, suite_up, suite_down);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_consume);
    tcase_add_test(tc, test_race_code);
    tcase_add_test(tc, test_race_refresh);
    tcase_add_test(tc, test_race_plain);
    tcase_add_test(tc, test_family);
    tcase_add_test(tc, test_unrevoked);
    tcase_add_test(tc, test_family_marker_outlives_members);
    tcase_add_test(tc, test_stats_and_conf);
    tcase_add_test(tc, test_outage);
    tcase_add_test(tc, test_restart_between);
    tcase_add_test(tc, test_hang);
    tcase_add_test(tc, test_child_init);
    tcase_add_test(tc, test_reply_number);
    suite_add_tcase(su, tc);
    return su;
}

OAS_UNIT_MAIN(redis_suite)
