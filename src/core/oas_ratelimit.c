/* oas_ratelimit.c — brute-force limits (oas_ratelimit.h): per client id and
 * per user name, a failure counter in the store. */
#include <string.h>
#include <apr_strings.h>
#include "oas_ratelimit.h"
#include "oas_token.h"

#define RL_PREFIX_CLIENT "fc:"
#define RL_PREFIX_USER   "fu:"
#define RL_PREFIX_USER_CODE "fd:"
#define RL_PREFIX_REGISTER "fg:"
#define RL_LOG_NAME_MAX  64

static const char *rl_what(int type)
{
    return type == OAS_RL_USER ? "user" : type == OAS_RL_USER_CODE ? "user (user codes)"
         : type == OAS_RL_REGISTER ? "address (registrations)" : "client";
}

/* The name for a log line: printable ASCII, at most RL_LOG_NAME_MAX bytes. */
static const char *rl_log_name(const char *name, apr_pool_t *p)
{
    apr_size_t i, n = strlen(name);
    char *out;

    n = n > RL_LOG_NAME_MAX ? RL_LOG_NAME_MAX : n;
    out = apr_pstrmemdup(p, name, n);
    for (i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) {
            out[i] = '?';
        }
    }
    return strlen(name) > n ? apr_pstrcat(p, out, "...", NULL) : out;
}

long long oas_rl_locked_for(const oas_config_t *cfg, long count, long long exp,
                            long long now)
{
    if (cfg->fail_limit <= 0 || count < cfg->fail_limit || exp <= now) {
        return 0;
    }
    return exp - now;
}

static oas_response_t *rl_unavailable(const oas_config_t *cfg, apr_pool_t *p)
{
    return oas_response_error(p, cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "the brute-force limits are unavailable, try again later");
}

/* The limits cannot work (a counter that cannot be read or written): the
 * attempt is refused, 503 temporarily_unavailable as for any store failure
 * (SPEC section 8), never let through unlimited. Logged at error (debug on
 * stores that log their outages once themselves). */
static oas_response_t *rl_store_failed(const oas_config_t *cfg, const oas_http_req_t *req,
                                       apr_status_t rv, const char *what, const oas_rl_t *rl,
                                       apr_pool_t *p)
{
    OAS_LOG(&req->log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(07201)
            "brute-force limits: %s the failures of %s '%s' failed in the store; "
            "refused", what, rl_what(rl->type), rl_log_name(rl->name, p));
    return rl_unavailable(cfg, p);
}

/* After a failure that could not be counted, the names of its bucket are
 * refused unchecked for fail_lockout seconds: the counters may stay
 * unwritable, and a read that finds nothing must not let guessing go on. */
static volatile apr_uint32_t *rl_bucket(const oas_config_t *cfg, const oas_rl_t *rl)
{
    return cfg->counters ? &cfg->counters->auth_uncounted_until[rl->key[0] % OAS_RL_BUCKETS]
                         : NULL;
}

static oas_response_t *rl_uncounted(const oas_config_t *cfg, const oas_http_req_t *req,
                                    const oas_rl_t *rl, long long left, apr_pool_t *p)
{
    oas_response_t *r = rl_unavailable(cfg, p);

    OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(07203)
            "brute-force limits: failures could not be counted lately; %s '%s' refused "
            "unchecked for %" APR_INT64_T_FMT " more seconds", rl_what(rl->type),
            rl_log_name(rl->name, p), (apr_int64_t)left);
    apr_table_setn(r->headers, "Retry-After",
                   apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)left));
    return r;
}

static oas_response_t *rl_refuse(const oas_rl_t *rl, const oas_config_t *cfg,
                                 const oas_http_req_t *req, long long left, apr_pool_t *p)
{
    oas_response_t *r;

    OAS_LOG(&req->log, OAS_LOG_DEBUG, 0, OASLOGNO(00502)
            "brute-force limits: %s '%s' is locked for %" APR_INT64_T_FMT " more seconds: "
            "refused unchecked", rl_what(rl->type), rl_log_name(rl->name, p),
            (apr_int64_t)left);
    if (cfg->counters) {
        apr_atomic_inc32(&cfg->counters->auth_refused);
    }
    r = oas_response_error(p, cfg, 429, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                           rl->type == OAS_RL_REGISTER
                           ? "too many registrations from this address; try again later"
                           : rl->type == OAS_RL_USER_CODE
                           ? "too many wrong user codes; try again later"
                           : rl->type == OAS_RL_USER
                           ? "too many failed sign-ins for this user; try again later"
                           : "too many failed authentications of this client; "
                             "try again later");
    apr_table_setn(r->headers, "Retry-After", apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)left));
    return r;
}

oas_response_t *oas_rl_check(oas_rl_t *rl, const oas_config_t *cfg,
                             const oas_http_req_t *req, int type, const char *name,
                             apr_pool_t *p)
{
    long long now = oas_req_now(req), exp = 0, left;
    apr_status_t rv;

    memset(rl, 0, sizeof(*rl));
    rl->type = type;
    rl->name = name ? name : "";
    if (cfg->fail_limit <= 0 || !cfg->store || !cfg->store->count) {
        return NULL;
    }
    oas_store_key(rl->key, type == OAS_RL_USER ? RL_PREFIX_USER
                           : type == OAS_RL_USER_CODE ? RL_PREFIX_USER_CODE
                           : type == OAS_RL_REGISTER ? RL_PREFIX_REGISTER : RL_PREFIX_CLIENT,
                  apr_pstrcat(p, cfg->issuer ? cfg->issuer : "", "\n", rl->name, NULL));
    if (rl_bucket(cfg, rl)
        && (left = (long long)apr_atomic_read32(rl_bucket(cfg, rl)) - now) > 0) {
        return rl_uncounted(cfg, req, rl, left, p);
    }
    rv = cfg->store->count(cfg->store, rl->key, 0, 0, &rl->count, &exp, p);
    if (rv != APR_SUCCESS) {
        return rl_store_failed(cfg, req, rv, "reading", rl, p);
    }
    rl->active = 1;
    if ((left = oas_rl_locked_for(cfg, rl->count, exp, now)) > 0) {
        return rl_refuse(rl, cfg, req, left, p);
    }
    return NULL;
}

/* The failure that reached the limit (or came after it, in flight while the
 * lock was set): the lock lasts fail_lockout seconds from now. */
static apr_status_t rl_lock(oas_rl_t *rl, const oas_config_t *cfg, const oas_http_req_t *req,
                            long n, long long now, apr_pool_t *p)
{
    apr_status_t rv = cfg->store->count(cfg->store, rl->key, 0, now + cfg->fail_lockout,
                                        NULL, NULL, p);
    if (rv != APR_SUCCESS || n != cfg->fail_limit) {
        return rv;
    }
    if (cfg->counters) {
        apr_atomic_inc32(&cfg->counters->auth_lockouts);
    }
    OAS_LOG(&req->log, OAS_LOG_WARNING, 0, OASLOGNO(00501)
            "brute-force limits: %ld failed %s for %s '%s': locked for %d seconds",
            n, rl->type == OAS_RL_USER ? "password checks"
               : rl->type == OAS_RL_USER_CODE ? "user codes"
               : rl->type == OAS_RL_REGISTER ? "registrations" : "authentications",
            rl_what(rl->type), rl_log_name(rl->name, p), cfg->fail_lockout);
    return APR_SUCCESS;
}

oas_response_t *oas_rl_result(oas_rl_t *rl, const oas_config_t *cfg,
                              const oas_http_req_t *req, int ok, apr_pool_t *p)
{
    long long now = oas_req_now(req);
    apr_status_t rv;
    long n = 0;

    if (!rl->active) {
        return NULL;
    }
    if (ok) {
        if (rl->count > 0
            && (rv = cfg->store->remove(cfg->store, rl->key, p)) != APR_SUCCESS
            && rv != APR_NOTFOUND) {     /* the count stays: no harm, nothing refused */
            OAS_LOG(&req->log, OAS_STORE_FAIL_LEVEL(cfg->store), rv, OASLOGNO(07202)
                    "brute-force limits: clearing the failures of %s '%s' failed in the "
                    "store", rl_what(rl->type), rl_log_name(rl->name, p));
        }
        return NULL;
    }
    rv = cfg->store->count(cfg->store, rl->key, 1, now + cfg->fail_window, &n, NULL, p);
    if (rv == APR_SUCCESS && n >= cfg->fail_limit) {
        rv = rl_lock(rl, cfg, req, n, now, p);
    }
    if (rv == APR_SUCCESS) {
        return NULL;
    }
    if (rl_bucket(cfg, rl)) {
        apr_atomic_set32(rl_bucket(cfg, rl), (apr_uint32_t)(now + cfg->fail_lockout));
    }
    return rl_store_failed(cfg, req, rv, "counting", rl, p);
}
