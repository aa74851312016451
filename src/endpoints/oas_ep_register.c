/* oas_ep_register.c — dynamic client registration (RFC 7591) on the
 * endpoint's URL, and client management (RFC 7592) on its URL + "/" +
 * client_id with the registration access token (SPEC §12). Who may
 * register is httpd's access control on the Location, not this file. */
#include <string.h>
#include <apr_strings.h>
#include <apr_md5.h>
#include "oas_dynclient.h"
#include "oas_admin.h"
#include "oas_ratelimit.h"

#define RG_ID_BYTES      16
#define RG_SECRET_BYTES  32
#define RG_BCRYPT_COST   10
#define RG_SALT_LEN      16

typedef struct rg_t {
    const oas_config_t *cfg;
    const oas_http_req_t *req;
    apr_pool_t *p;
    long long now;
} rg_t;

/* RFC 7591 §3.2.2 / RFC 7592: a JSON error with Cache-Control: no-store */
static oas_response_t *rg_error(rg_t *g, int status, const char *code, const char *desc)
{
    json_t *o = json_pack("{s:s,s:s}", "error", code, "error_description", desc);
    oas_response_t *r = oas_response_json(g->p, status, oas_json_dump(o, g->p));

    oas_count_error(g->cfg, status == 401 ? OAS_ERR_INVALID_TOKEN : OAS_ERR_INVALID_REQUEST);
    r->log_note = apr_pstrcat(g->p, code, ": ", desc, NULL);
    if (status == 401) {
        apr_table_setn(r->headers, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    }
    return r;
}

static oas_response_t *rg_unavailable(rg_t *g)
{
    return oas_response_error(g->p, g->cfg, 503, OAS_ERR_TEMPORARILY_UNAVAILABLE,
                              "the client store is unavailable, try again later");
}

/* the path of the endpoint's URL (NULL when unknown) */
static const char *base_path(const oas_config_t *cfg)
{
    const char *u = cfg->url_register, *s = u ? strstr(u, "://") : NULL;
    return s ? (strchr(s + 3, '/') ? strchr(s + 3, '/') : "/") : NULL;
}

static const char *host_of(const char *uri, apr_pool_t *p)
{
    const char *h = strstr(uri, "://");
    return h ? apr_pstrndup(p, h + 3, strcspn(h + 3, "/?:")) : apr_pstrndup(p, uri, 40);
}

static json_t *parse_body(rg_t *g, oas_response_t **pr)
{
    const char *ct = g->req->content_type;
    json_t *in;

    *pr = NULL;
    if (!ct || strncasecmp(ct, "application/json", 16) != 0
        || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        *pr = rg_error(g, 400, "invalid_client_metadata",
                       "the body must be application/json");
    }
    else if (g->req->body_too_large || g->req->body_unreadable || !g->req->body
             || !(in = json_loadb(g->req->body, g->req->body_len, JSON_REJECT_DUPLICATES,
                                  NULL))) {
        *pr = rg_error(g, 400, "invalid_client_metadata", "the body must be a JSON object");
    }
    else {
        return in;
    }
    return NULL;
}

/* The answer: the metadata, client_id, client_id_issued_at,
 * registration_client_uri, and what the caller adds. */
static json_t *client_json(rg_t *g, json_t *meta, const char *id, long long iat)
{
    json_t *o = json_deep_copy(meta);

    json_object_set_new(o, "client_id", json_string(id));
    json_object_set_new(o, "client_id_issued_at", json_integer(iat));
    json_object_set_new(o, "registration_client_uri",
                        json_string(apr_pstrcat(g->p, g->cfg->url_register ? g->cfg->url_register
                                                : "", "/", id, NULL)));
    return o;
}

static apr_status_t new_secret(const char **psecret, const char **phash, apr_pool_t *p)
{
    unsigned char salt[RG_SALT_LEN];
    char hash[128];

    *psecret = oas_random_token(p, RG_SECRET_BYTES);
    if (!*psecret || oas_random_bytes(salt, sizeof(salt)) != APR_SUCCESS
        || apr_bcrypt_encode(*psecret, RG_BCRYPT_COST, salt, sizeof(salt), hash, sizeof(hash))
           != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *phash = apr_pstrdup(p, hash);
    return APR_SUCCESS;
}

/* a fresh id nobody holds: not a registry client's, not a stored one's */
static const char *new_client_id(rg_t *g)
{
    int i, failed = 0;

    for (i = 0; i < 4; i++) {
        const char *id = oas_random_token(g->p, RG_ID_BYTES);
        if (id && !oas_client_find(g->cfg, id, &failed, g->p) && !failed) {
            return id;
        }
    }
    return NULL;
}

static oas_response_t *check_limit(rg_t *g)
{
    long n = 0;

    if (oas_dynclient_count(g->cfg, &n, g->p) != APR_SUCCESS) {
        return rg_unavailable(g);
    }
    if (n >= g->cfg->reg_limit) {
        return rg_error(g, 400, "invalid_client_metadata",
                        apr_psprintf(g->p, "this server holds its limit of %ld self-registered "
                                     "clients (OAuthASRegistrationLimit)", g->cfg->reg_limit));
    }
    return NULL;
}

/* Write the record; 400 when the metadata is too large for one entry. */
static oas_response_t *store_client(rg_t *g, const char *id, long long iat, const char *hash,
                                    const char *digest, json_t *meta, int replace)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_entry_t e;
    apr_status_t rv = oas_dynclient_encode(&e, g->cfg->issuer, id, iat, hash, digest, meta,
                                           g->now, g->cfg->reg_max_idle, g->p);

    if (rv == APR_ENOSPC) {
        return rg_error(g, 400, "invalid_client_metadata",
                        "the metadata is too large to keep (fewer or shorter URIs)");
    }
    oas_dynclient_key(key, g->cfg->issuer, id);
    if (rv == APR_SUCCESS) {
        rv = replace ? g->cfg->store->put(g->cfg->store, key, &e, g->p)
                     : g->cfg->store->add(g->cfg->store, key, &e, g->p);
    }
    if (rv != APR_SUCCESS) {
        OAS_LOG(&g->req->log, OAS_STORE_FAIL_LEVEL(g->cfg->store), rv, OASLOGNO(08301)
                "registration: storing client '%s' failed", id);
        return rg_unavailable(g);
    }
    return NULL;
}

static oas_response_t *do_register(rg_t *g, json_t *meta)
{
    const char *id, *secret = NULL, *hash = NULL, *token = oas_random_token(g->p, 32);
    const char *method = json_string_value(json_object_get(meta, "token_endpoint_auth_method"));
    oas_response_t *r;
    json_t *out;

    if (!(id = new_client_id(g)) || !token
        || (strcmp(method, "none") != 0 && new_secret(&secret, &hash, g->p) != APR_SUCCESS)) {
        return rg_unavailable(g);
    }
    if ((r = store_client(g, id, g->now, hash, oas_dynclient_token_digest(token, g->p), meta,
                          0))) {
        return r;
    }
    oas_dynclient_counted(g->cfg, g->now, g->p);
    OAS_LOG(&g->req->log, OAS_LOG_INFO, 0, OASLOGNO(08302)
            "registration: client '%s' registered (name '%s', redirect host %s) from %s", id,
            json_string_value(json_object_get(meta, "client_name"))
            ? apr_pstrndup(g->p, json_string_value(json_object_get(meta, "client_name")), 64)
            : "-",
            json_array_size(json_object_get(meta, "redirect_uris"))
            ? host_of(json_string_value(json_array_get(json_object_get(meta, "redirect_uris"),
                                                       0)), g->p) : "-",
            g->req->remote_ip ? g->req->remote_ip : "-");
    out = client_json(g, meta, id, g->now);
    if (secret) {
        json_object_set_new(out, "client_secret", json_string(secret));
        json_object_set_new(out, "client_secret_expires_at", json_integer(0));
    }
    json_object_set_new(out, "registration_access_token", json_string(token));
    return oas_response_json(g->p, 201, oas_json_dump(out, g->p));
}

static oas_response_t *register_client(rg_t *g)
{
    oas_regmeta_error_t err;
    oas_response_t *r;
    json_t *in, *meta;
    oas_rl_t rl;

    if (strcmp(g->req->method, "POST") != 0) {
        r = rg_error(g, 405, "invalid_request", "use POST to register a client");
        apr_table_setn(r->headers, "Allow", "POST");
        return r;
    }
    if ((r = oas_rl_check(&rl, g->cfg, g->req, OAS_RL_REGISTER,
                          g->req->remote_ip ? g->req->remote_ip : "-", g->p))
        || (r = check_limit(g)) || !(in = parse_body(g, &r))) {
        return r;
    }
    meta = oas_regmeta_check(g->cfg, in, &err, g->p);
    json_decref(in);
    if (!meta) {
        return rg_error(g, 400, err.code, err.description);
    }
    r = do_register(g, meta);
    json_decref(meta);
    if (r->status == 201) {
        oas_response_t *lim = oas_rl_result(&rl, g->cfg, g->req, 0, g->p);  /* counts */
        (void)lim;     /* the client is registered: the lock applies to the next one */
    }
    return r;
}

/* ---- RFC 7592 ------------------------------------------------------------ */

/* The self-registered client whose registration access token the request
 * carries, or a 401 (a registry client is never managed here). */
static oas_response_t *managed_client(rg_t *g, const char *id, const oas_client_t **pc)
{
    const char *auth = g->req->authorization, *tok;
    const oas_client_t *c;
    int failed = 0;

    *pc = NULL;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        return rg_error(g, 401, "invalid_token", "the registration access token is required");
    }
    for (tok = auth + 7; *tok == ' '; tok++) {
    }
    c = oas_client_find(g->cfg, id, &failed, g->p);
    if (failed) {
        return rg_unavailable(g);
    }
    if (!c || !c->self_registered || !c->reg_token_digest
        || !oas_ct_streq(oas_dynclient_token_digest(tok, g->p), c->reg_token_digest)) {
        return rg_error(g, 401, "invalid_token",
                        "unknown client or wrong registration access token");
    }
    *pc = c;
    return NULL;
}

static json_t *stored_meta(const oas_client_t *c)
{
    return json_loads(c->reg_metadata, 0, NULL);
}

static oas_response_t *read_client(rg_t *g, const oas_client_t *c)
{
    json_t *meta = stored_meta(c), *out = client_json(g, meta, c->client_id, c->reg_issued_at);

    json_decref(meta);
    return oas_response_json(g->p, 200, oas_json_dump(out, g->p));
}

static oas_response_t *delete_client(rg_t *g, const oas_client_t *c)
{
    unsigned char key[OAS_DIGEST_LEN];
    oas_admin_filter_t f = { c->client_id, NULL };
    apr_status_t rv;
    oas_response_t *r;
    int n = 0;

    oas_dynclient_key(key, g->cfg->issuer, c->client_id);
    rv = g->cfg->store->remove(g->cfg->store, key, g->p);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rg_unavailable(g);
    }
    /* its tokens die with it (every check looks the client up); where the
     * store can be walked they go at once too */
    oas_admin_revoke(&n, g->cfg->store, &f, g->p);
    OAS_LOG(&g->req->log, OAS_LOG_INFO, 0, OASLOGNO(08303)
            "registration: client '%s' deleted by its registration access token (%d tokens "
            "removed)", c->client_id, n);
    r = oas_response_json(g->p, 204, "");
    r->content_type = NULL;
    r->body_len = 0;
    return r;
}

static oas_response_t *update_client(rg_t *g, const oas_client_t *c)
{
    oas_regmeta_error_t err;
    oas_response_t *r;
    json_t *in, *meta, *id, *out;
    const char *hash = c->secret_hash, *secret = NULL;

    if (!(in = parse_body(g, &r))) {
        return r;
    }
    id = json_object_get(in, "client_id");
    if (!json_is_string(id) || strcmp(json_string_value(id), c->client_id) != 0) {
        json_decref(in);
        return rg_error(g, 400, "invalid_client_metadata",
                        "client_id must be given and be this client's");
    }
    meta = oas_regmeta_check(g->cfg, in, &err, g->p);
    json_decref(in);
    if (!meta) {
        return rg_error(g, 400, err.code, err.description);
    }
    if (strcmp(json_string_value(json_object_get(meta, "token_endpoint_auth_method")), "none")
        == 0) {
        hash = NULL;
    }
    else if (!hash && new_secret(&secret, &hash, g->p) != APR_SUCCESS) {
        json_decref(meta);
        return rg_unavailable(g);
    }
    if ((r = store_client(g, c->client_id, c->reg_issued_at, hash, c->reg_token_digest, meta,
                          1))) {
        json_decref(meta);
        return r;
    }
    out = client_json(g, meta, c->client_id, c->reg_issued_at);
    json_decref(meta);
    if (secret) {
        json_object_set_new(out, "client_secret", json_string(secret));
        json_object_set_new(out, "client_secret_expires_at", json_integer(0));
    }
    return oas_response_json(g->p, 200, oas_json_dump(out, g->p));
}

static oas_response_t *manage_client(rg_t *g, const char *id)
{
    const oas_client_t *c;
    oas_response_t *r;
    const char *m = g->req->method;

    if (strcmp(m, "GET") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0) {
        r = rg_error(g, 405, "invalid_request", "use GET, PUT or DELETE on a client");
        apr_table_setn(r->headers, "Allow", "GET, PUT, DELETE");
        return r;
    }
    if ((r = managed_client(g, id, &c))) {
        return r;
    }
    return strcmp(m, "GET") == 0 ? read_client(g, c)
         : strcmp(m, "PUT") == 0 ? update_client(g, c) : delete_client(g, c);
}

oas_response_t *oas_register_endpoint(const oas_config_t *cfg, const oas_http_req_t *req,
                                      apr_pool_t *p)
{
    rg_t g = { cfg, req, p, oas_req_now(req) };
    const char *base = base_path(cfg), *path = req->path ? req->path : "/", *id;
    apr_size_t n = base ? strlen(base) : 0;

    if (!cfg->store) {
        return rg_unavailable(&g);
    }
    if (cfg->require_https && !req->is_https) {
        return rg_error(&g, 400, "invalid_request", "HTTPS is required");
    }
    if (base && strcmp(path, base) == 0) {
        return register_client(&g);
    }
    id = base && strncmp(path, base, n) == 0 && path[n] == '/' ? path + n + 1 : NULL;
    if (!id || !*id || strchr(id, '/')) {
        return oas_response_not_found(p);
    }
    return manage_client(&g, id);
}
