/* oas_store_redis.c — the Redis store (OAuthASStore redis:HOST:PORT): the
 * key-value operations of oas_store_kv.c through APR-util's apr_redis.
 *
 * Keys: PREFIX + 64 hex digits of the digest; a consume's replacement gets
 * ":r" appended. Values are binary records (oas_store_kv.c) set with SETEX
 * (SET when the entry never expires). Single use rests on DEL, whose answer
 * apr_redis_delete passes on: APR_SUCCESS for ":1", APR_NOTFOUND for ":0".
 *
 * apr_redis, as of APR-util 1.6: one connection pool (apr_reslist) per
 * apr_redis_server_t, so each process makes its own (child_init, or at first
 * use in a process that did not run it); the read/write timeout counts whole
 * seconds, connecting has a fixed one of one second. Its own dead-server
 * logic answers APR_NOTFOUND for a while after a failure, which would read as
 * "no such token": a server_func that always returns our one server keeps
 * every failure a real error. A connection that broke while idle in the pool
 * fails at once (APR_EGENERAL when the read finds it closed, which does not
 * even invalidate it, then EPIPE): such errors are tried again (after a
 * Redis restart every idle connection of the pool is such a one), twice the
 * pool's size at most; timeouts and refusals are not. */
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <apr_redis.h>
#include <apr_reslist.h>
#include <apr_strings.h>

#include "oas_store.h"

#define RD_ATTEMPTS_MAX 128

typedef struct rd_t {
    const char *host;
    apr_port_t port;
    const char *prefix;
    apr_uint32_t timeout;                 /* seconds */
    apr_uint32_t cmin, csmax, cmax;
    int attempts;                         /* tries of one command */
    apr_interval_time_t cttl;
    oas_logger_t log;
    apr_pool_t *pool;                     /* parent of cpool */
    apr_pool_t *cpool;                    /* this process' client */
    apr_redis_t *rc;
    apr_redis_server_t *rs;
#if APR_HAS_THREADS
    apr_reslist_t *pipes;                 /* connections of our own, for get2 */
#endif
    pid_t pid;                            /* the process rc belongs to */
} rd_t;

static apr_status_t rd_pipes(rd_t *rd, apr_pool_t *cp);

static apr_redis_server_t *rd_pick(void *baton, apr_redis_t *rc, const apr_uint32_t hash)
{
    return baton;
}

/* A client with its connection pool, in a subpool of p. */
static apr_status_t rd_client(rd_t *rd, apr_pool_t *p, apr_pool_t **pcp)
{
    apr_pool_t *cp;
    apr_status_t rv;

    if ((rv = apr_pool_create(&cp, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_redis_create(cp, 1, 0, &rd->rc);
    if (rv == APR_SUCCESS) {
        rv = apr_redis_server_create(cp, rd->host, rd->port, rd->cmin, rd->csmax, rd->cmax,
                                     (apr_uint32_t)rd->cttl, rd->timeout, &rd->rs);
    }
    if (rv != APR_SUCCESS && rd->cmin > 0) {   /* no Redis yet: connect when used */
        rv = apr_redis_server_create(cp, rd->host, rd->port, 0, rd->csmax, rd->cmax,
                                     (apr_uint32_t)rd->cttl, rd->timeout, &rd->rs);
    }
    if (rv == APR_SUCCESS) {
        rv = rd_pipes(rd, cp);
    }
    if (rv == APR_SUCCESS && (rv = apr_redis_add_server(rd->rc, rd->rs)) == APR_SUCCESS) {
        rd->rc->server_func = rd_pick;
        rd->rc->server_baton = rd->rs;
#if APR_HAS_THREADS
        apr_reslist_timeout_set(rd->rs->conns, apr_time_from_sec(rd->timeout));
#endif
    }
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(cp);
        rd->rc = NULL;
        return rv;
    }
    *pcp = cp;
    return APR_SUCCESS;
}

/* This process' client (made here in a process that did not run child_init). */
static apr_status_t rd_conn(rd_t *rd)
{
    if (rd->rc && rd->pid == getpid()) {
        return APR_SUCCESS;
    }
    rd->pid = getpid();
    return rd_client(rd, rd->pool, &rd->cpool);
}

static const char *rd_key(const rd_t *rd, const unsigned char *key, apr_pool_t *p)
{
    static const char hex[] = "0123456789abcdef";
    const char *suffix = key[OAS_DIGEST_LEN] == OAS_KV_TAG_REPL ? ":r"
                       : key[OAS_DIGEST_LEN] == OAS_KV_TAG_PROBE ? ":probe" : "";
    size_t plen = strlen(rd->prefix), slen = strlen(suffix);
    char *k = apr_palloc(p, plen + 2 * OAS_DIGEST_LEN + slen + 1), *c = k + plen;
    int i;

    memcpy(k, rd->prefix, plen);
    for (i = 0; i < OAS_DIGEST_LEN; i++) {
        *c++ = hex[key[i] >> 4];
        *c++ = hex[key[i] & 15];
    }
    memcpy(c, suffix, slen + 1);
    return k;
}

/* Worth another try on a fresh connection: not a refusal, not a timeout. */
static int rd_again(apr_status_t rv)
{
    return rv != APR_SUCCESS && rv != APR_NOTFOUND && !APR_STATUS_IS_TIMEUP(rv)
           && !APR_STATUS_IS_ETIMEDOUT(rv) && !APR_STATUS_IS_ECONNREFUSED(rv)
           && !APR_STATUS_IS_EHOSTUNREACH(rv) && !APR_STATUS_IS_ENETUNREACH(rv)
           && rv != APR_EINVAL;
}

static apr_status_t rd_get(void *kv, const unsigned char *key, char **pval, apr_size_t *plen,
                           apr_pool_t *p)
{
    rd_t *rd = kv;
    const char *k = rd_key(rd, key, p);
    apr_uint16_t flags = 0;
    apr_status_t rv;
    int n = 0;

    if ((rv = rd_conn(rd)) != APR_SUCCESS) {
        return rv;
    }
    do {
        rv = apr_redis_getp(rd->rc, p, k, pval, plen, &flags);
    } while (rd_again(rv) && ++n < rd->attempts);
    return rv;
}

static apr_status_t rd_set(void *kv, const unsigned char *key, const char *val, apr_size_t len,
                           long long ttl, apr_pool_t *p)
{
    rd_t *rd = kv;
    const char *k = rd_key(rd, key, p);
    apr_status_t rv;
    int n = 0;

    if (ttl < 0 || ttl > 0xffffffffLL) {
        return APR_EINVAL;
    }
    if ((rv = rd_conn(rd)) != APR_SUCCESS) {
        return rv;
    }
    do {
        rv = ttl ? apr_redis_setex(rd->rc, k, (char *)val, len, (apr_uint32_t)ttl, 0)
                 : apr_redis_set(rd->rc, k, (char *)val, len, 0);
    } while (rd_again(rv) && ++n < rd->attempts);
    return rv;
}

static apr_status_t rd_del(void *kv, const unsigned char *key, apr_pool_t *p)
{
    rd_t *rd = kv;
    const char *k = rd_key(rd, key, p);
    apr_status_t rv;
    int n = 0;

    if ((rv = rd_conn(rd)) != APR_SUCCESS) {
        return rv;
    }
    do {
        rv = apr_redis_delete(rd->rc, k, 0);
    } while (rd_again(rv) && ++n < rd->attempts);
    return rv;
}

/* ---- get2: two GETs in one round trip ------------------------------------
 * apr_redis sends one command and reads its answer before the next, so a
 * pipeline needs connections of our own: a pool of them per process
 * (apr_reslist, the sizes of OAuthASRedisPool), each a socket that speaks
 * RESP. A connection that fails in any way is dropped, and the caller asks
 * again through apr_redis, whose retries and errors are the store's. */
#if APR_HAS_THREADS

#define RP_BUF 4096
#define RP_VAL_MAX (64 * 1024)

typedef struct rp_conn_t {
    apr_pool_t *p;
    apr_socket_t *sock;
    apr_size_t have, pos;
    char buf[RP_BUF];
} rp_conn_t;

static apr_status_t rp_open(void **res, void *params, apr_pool_t *pool)
{
    rd_t *rd = params;
    apr_sockaddr_t *sa;
    rp_conn_t *c;
    apr_pool_t *p;
    apr_status_t rv;

    if ((rv = apr_pool_create(&p, pool)) != APR_SUCCESS) {
        return rv;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->p = p;
    if ((rv = apr_sockaddr_info_get(&sa, rd->host, APR_UNSPEC, rd->port, 0, p)) == APR_SUCCESS
        && (rv = apr_socket_create(&c->sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, p))
           == APR_SUCCESS
        && (rv = apr_socket_timeout_set(c->sock, apr_time_from_sec(1))) == APR_SUCCESS
        && (rv = apr_socket_connect(c->sock, sa)) == APR_SUCCESS) {
        apr_socket_opt_set(c->sock, APR_TCP_NODELAY, 1);
        rv = apr_socket_timeout_set(c->sock, apr_time_from_sec(rd->timeout));
    }
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(p);
        return rv;
    }
    *res = c;
    return APR_SUCCESS;
}

static apr_status_t rp_close(void *res, void *params, apr_pool_t *pool)
{
    apr_pool_destroy(((rp_conn_t *)res)->p);
    return APR_SUCCESS;
}

static apr_status_t rd_pipes(rd_t *rd, apr_pool_t *cp)
{
    apr_status_t rv = apr_reslist_create(&rd->pipes, 0, rd->csmax, rd->cmax, rd->cttl,
                                         rp_open, rp_close, rd, cp);

    if (rv == APR_SUCCESS) {
        apr_reslist_timeout_set(rd->pipes, apr_time_from_sec(rd->timeout));
    }
    return rv;
}

/* More bytes from the socket into the buffer (what was read moves to its start). */
static apr_status_t rp_fill(rp_conn_t *c)
{
    apr_size_t len;
    apr_status_t rv;

    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->have - c->pos);
        c->have -= c->pos;
        c->pos = 0;
    }
    if ((len = RP_BUF - c->have) == 0) {
        return APR_EGENERAL;
    }
    rv = apr_socket_recv(c->sock, c->buf + c->have, &len);
    c->have += len;
    return len > 0 ? APR_SUCCESS : rv != APR_SUCCESS ? rv : APR_EOF;
}

/* No strtol: it skips white space, past nl if it must (oas_store.h). */
apr_status_t oas_store_redis_number(const char *s, const char *nl, long *pn)
{
    int neg = s < nl && *s == '-';
    long n = 0;

    s += neg;
    if (s + 1 >= nl || nl[-1] != '\r') {
        return APR_EGENERAL;
    }
    for (; s < nl - 1; s++) {
        if (*s < '0' || *s > '9' || n > (LONG_MAX - 9) / 10) {
            return APR_EGENERAL;
        }
        n = n * 10 + (*s - '0');
    }
    *pn = neg ? -n : n;
    return APR_SUCCESS;
}

/* The next reply's first line, as a number after its type byte. */
static apr_status_t rp_head(rp_conn_t *c, char *type, long *pn)
{
    char *nl;
    apr_status_t rv;

    while (!(nl = memchr(c->buf + c->pos, '\n', c->have - c->pos))) {
        if ((rv = rp_fill(c)) != APR_SUCCESS) {
            return rv;
        }
    }
    *type = c->buf[c->pos];
    rv = oas_store_redis_number(c->buf + c->pos + 1, nl, pn);
    c->pos = (apr_size_t)(nl - c->buf) + 1;
    return rv;
}

/* One reply to GET: a bulk string, or nil (APR_NOTFOUND). */
static apr_status_t rp_bulk(rp_conn_t *c, oas_kv_got_t *r, apr_pool_t *p)
{
    apr_size_t got = 0, n;
    apr_status_t rv;
    char type;
    long len;

    if ((rv = rp_head(c, &type, &len)) != APR_SUCCESS) {
        return rv;
    }
    if (type != '$' || len < -1 || len > RP_VAL_MAX) {
        return APR_EGENERAL;            /* an error reply: no GET answers one of ours */
    }
    r->rv = len == -1 ? APR_NOTFOUND : APR_SUCCESS;
    r->len = len < 0 ? 0 : (apr_size_t)len;
    r->val = apr_palloc(p, r->len + 1);
    while (len >= 0 && got < r->len + 2) {
        if (c->pos == c->have && (rv = rp_fill(c)) != APR_SUCCESS) {
            return rv;
        }
        n = c->have - c->pos < r->len + 2 - got ? c->have - c->pos : r->len + 2 - got;
        if (got < r->len) {
            memcpy(r->val + got, c->buf + c->pos, got + n > r->len ? r->len - got : n);
        }
        got += n;
        c->pos += n;
    }
    r->val[r->len] = '\0';
    return APR_SUCCESS;
}

static apr_status_t rp_send(rp_conn_t *c, const char *cmd, apr_size_t len)
{
    apr_size_t n;
    apr_status_t rv;

    while (len > 0) {
        n = len;
        if ((rv = apr_socket_send(c->sock, cmd, &n)) != APR_SUCCESS) {
            return rv;
        }
        cmd += n;
        len -= n;
    }
    return APR_SUCCESS;
}

static apr_status_t rd_get2(void *kv, const unsigned char *k1, const unsigned char *k2,
                            oas_kv_got_t *r, apr_pool_t *p)
{
    rd_t *rd = kv;
    const char *a = rd_key(rd, k1, p), *b = rd_key(rd, k2, p), *cmd;
    rp_conn_t *c;
    void *res;
    apr_status_t rv;

    if ((rv = rd_conn(rd)) != APR_SUCCESS || (rv = apr_reslist_acquire(rd->pipes, &res))
                                             != APR_SUCCESS) {
        return rv;
    }
    c = res;
    c->pos = c->have = 0;
    cmd = apr_psprintf(p, "*2\r\n$3\r\nGET\r\n$%" APR_SIZE_T_FMT "\r\n%s\r\n"
                       "*2\r\n$3\r\nGET\r\n$%" APR_SIZE_T_FMT "\r\n%s\r\n",
                       strlen(a), a, strlen(b), b);
    if ((rv = rp_send(c, cmd, strlen(cmd))) == APR_SUCCESS
        && (rv = rp_bulk(c, &r[0], p)) == APR_SUCCESS) {
        rv = rp_bulk(c, &r[1], p);
    }
    if (rv == APR_SUCCESS && c->pos == c->have) {
        apr_reslist_release(rd->pipes, res);
    }
    else {
        apr_reslist_invalidate(rd->pipes, res);
        rv = rv == APR_SUCCESS ? APR_EGENERAL : rv;
    }
    return rv;
}

#else  /* no threads: no reslist, no get2 */
static apr_status_t rd_pipes(rd_t *rd, apr_pool_t *cp)
{
    return APR_SUCCESS;
}
#define rd_get2 NULL
#endif

/* The keys of database 0 (INFO's "db0:keys=N"; none there: 0). */
static apr_status_t rd_count(void *kv, long *pn, apr_pool_t *p)
{
    rd_t *rd = kv;
    char *info = NULL, *at;
    apr_status_t rv;

    if ((rv = rd_conn(rd)) != APR_SUCCESS
        || (rv = apr_redis_info(rd->rs, p, &info)) != APR_SUCCESS) {
        return rv;
    }
    if (info == NULL) {
        return APR_EGENERAL;
    }
    at = strstr(info, "\ndb0:keys=");
    *pn = at ? strtol(at + 10, NULL, 10) : 0;
    return APR_SUCCESS;
}

static apr_status_t rd_child_init(void *kv, apr_pool_t *p)
{
    rd_t *rd = kv;

    rd->pid = getpid();
    return rd_client(rd, p, &rd->cpool);
}

static const oas_kv_ops_t rd_ops = {
    .get = rd_get, .get2 = rd_get2, .set = rd_set, .del = rd_del, .count = rd_count,
    .child_init = rd_child_init,
};

static apr_status_t rd_conf_check(const oas_store_redis_conf_t *c)
{
    if (c == NULL || c->host == NULL || !*c->host || c->port < 1 || c->port > 65535
        || c->prefix == NULL || strlen(c->prefix) > 200 || c->timeout < 1
        || c->conn_min < 0 || c->conn_smax < c->conn_min || c->conn_max < 1
        || c->conn_max < c->conn_smax || c->conn_ttl < 0 || c->conn_ttl > 3600) {
        OAS_LOG(c ? c->log : NULL, OAS_LOG_ERR, APR_EINVAL, OASLOGNO(00345)
                "Redis store: invalid settings (host, port 1..65535, prefix of at most 200 "
                "bytes, timeout >= 1 s, 0 <= min <= smax <= max, max >= 1)");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static rd_t *rd_make(const oas_store_redis_conf_t *c, apr_pool_t *p)
{
    rd_t *rd = apr_pcalloc(p, sizeof(*rd));

    rd->host = apr_pstrdup(p, c->host);
    rd->port = (apr_port_t)c->port;
    rd->prefix = apr_pstrdup(p, c->prefix);
    rd->timeout = (apr_uint32_t)c->timeout;
    rd->cmin = (apr_uint32_t)c->conn_min;
    rd->csmax = (apr_uint32_t)c->conn_smax;
    rd->cmax = (apr_uint32_t)c->conn_max;
    rd->cttl = apr_time_from_sec(c->conn_ttl);
    rd->attempts = 2 * c->conn_max + 2 < RD_ATTEMPTS_MAX ? 2 * c->conn_max + 2
                                                         : RD_ATTEMPTS_MAX;
    if (c->log) {
        rd->log = *c->log;
    }
    rd->pool = p;
    return rd;
}

apr_status_t oas_store_redis_create(oas_store_t **ps, const oas_store_redis_conf_t *conf,
                                    apr_pool_t *p)
{
    oas_store_kv_conf_t kc;
    rd_t *rd;

    *ps = NULL;
    if (rd_conf_check(conf) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    rd = rd_make(conf, p);
    memset(&kc, 0, sizeof(kc));
    kc.name = "redis";
    kc.where = apr_psprintf(p, "Redis at %s:%d", conf->host, conf->port);
    kc.ops = &rd_ops;
    kc.kv = rd;
    kc.log = conf->log;
    return oas_store_kv_create(ps, &kc, p);
}

/* maxmemory_policy of an INFO text; NULL when absent */
static const char *rd_policy(const char *info, apr_pool_t *p)
{
    const char *at = info ? strstr(info, "\nmaxmemory_policy:") : NULL;
    size_t n;

    if (at == NULL) {
        return NULL;
    }
    at += 18;
    n = strcspn(at, "\r\n");
    return apr_pstrndup(p, at, n);
}

apr_status_t oas_store_redis_check(const oas_store_redis_conf_t *conf, apr_pool_t *p,
                                   const char **pnote)
{
    apr_pool_t *tp, *cp = NULL;
    const char *policy;
    char *info = NULL;
    apr_status_t rv;
    rd_t *rd;

    if (pnote) {
        *pnote = NULL;
    }
    if (rd_conf_check(conf) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&tp, p)) != APR_SUCCESS) {
        return rv;
    }
    rd = rd_make(conf, tp);
    rd->cmin = 0;
    if ((rv = rd_client(rd, tp, &cp)) == APR_SUCCESS) {
        rv = apr_redis_info(rd->rs, tp, &info);
    }
    policy = rv == APR_SUCCESS ? rd_policy(info, tp) : NULL;
    if (pnote && policy && strcmp(policy, "noeviction") != 0) {
        *pnote = apr_psprintf(p, "Redis may evict keys (maxmemory-policy %s): live tokens "
                              "could vanish when it is full; set maxmemory-policy noeviction "
                              "(then a full Redis makes issuing fail with 503)", policy);
    }
    apr_pool_destroy(tp);      /* closes the connection */
    return rv == APR_SUCCESS && info == NULL ? APR_EGENERAL : rv;
}
