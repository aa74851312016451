/* mod_oauth_as_config.c — directives, their defaults and merging, and the
 * client registry's loading at start-up and graceful restart. */
#include <string.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_request.h>
#include <ap_provider.h>
#include <ap_mpm.h>
#include <mod_auth.h>
#include "mod_oauth_as_private.h"
#include "oas_resource.h"

APLOG_USE_MODULE(oauth_as);

/* Defaults (SPEC §2). */
#define DEF_STORE_MEMORY      1000
#define DEF_STORE_DISK        20000
#define DEF_CODE_LIFETIME     600
#define DEF_DEVICE_LIFETIME   600                /* OAuthASDeviceCodeLifetime */
#define DEF_DEVICE_INTERVAL   5                  /* OAuthASDevicePollInterval */
#define DEF_ACCESS_LIFETIME   3600
#define DEF_REFRESH_LIFETIME  2592000
#define MAX_LIFETIME          315360000LL        /* ten years */
#define DEF_REDIS_PORT        6379
#define DEF_REDIS_PREFIX      "oauth_as:"
#define DEF_REDIS_TIMEOUT     2                  /* seconds per command */
#define DEF_REDIS_CONN_TTL    60                 /* seconds an idle extra connection lives */
#define DEF_FAIL_LIMIT        10                 /* failed authentications in a row ... */
#define DEF_FAIL_WINDOW       60                 /* ... each within this many seconds */
#define DEF_FAIL_LOCKOUT      60                 /* lock that long after the last of them */
#define MAX_FAIL_LIMIT        100000
#define MAX_FAIL_SECONDS      86400
#define DEF_PAR_LIFETIME      60                 /* OAuthASPARLifetime */
#define MAX_PAR_SECONDS       3600               /* most OAuthASPARLifetime, OAuthASRefreshReuseWindow */

void *oas_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    oas_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));
    sc->scopes = oas_scopes_make(p);
    sc->store_memory = sc->store_disk = OAS_UNSET;
    sc->require_https = sc->require_post = sc->require_pkce = OAS_UNSET;
    sc->code_lifetime = sc->access_lifetime = sc->refresh_lifetime = OAS_UNSET;
    sc->redis_timeout = OAS_UNSET;
    sc->fail_limit = sc->fail_window = sc->fail_lockout = OAS_UNSET;
    sc->device_lifetime = sc->device_interval = OAS_UNSET;
    sc->require_par = OAS_UNSET;
    sc->par_lifetime = sc->refresh_window = OAS_UNSET;
    sc->reg_grants = sc->reg_limit = sc->reg_max_idle = OAS_UNSET;
    sc->cimd = OAS_UNSET;
    sc->redis_pool[0] = sc->redis_pool[1] = sc->redis_pool[2] = sc->redis_pool[3] = OAS_UNSET;
    sc->page = apr_table_make(p, 4);
    sc->token_format = OAS_UNSET;
    sc->dpop_nonce = OAS_UNSET;
    return sc;
}

/* base's strings, then add's that base lacks; NULL when both are NULL */
static apr_array_header_t *union_of(apr_pool_t *p, const apr_array_header_t *base,
                                    const apr_array_header_t *add)
{
    apr_array_header_t *out;
    int i;

    if (!base || !add) {
        return base ? (apr_array_header_t *)base : (apr_array_header_t *)add;
    }
    out = apr_array_copy(p, base);
    for (i = 0; i < add->nelts; i++) {
        if (!oas_scope_in(out, APR_ARRAY_IDX(add, i, const char *))) {
            APR_ARRAY_PUSH(out, const char *) = APR_ARRAY_IDX(add, i, const char *);
        }
    }
    return out;
}

#define PICK(f) (add->f != OAS_UNSET ? add->f : base->f)
#define PICKP(f) (add->f ? add->f : base->f)

void *oas_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const oas_srv_conf_t *base = basev, *add = addv;
    oas_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->issuer = PICKP(issuer);
    sc->clients_path = PICKP(clients_path);
    sc->scopes = oas_scopes_count(add->scopes) == 0 ? base->scopes
               : oas_scopes_merge(p, base->scopes, add->scopes);
    sc->store_spec = PICKP(store_spec);
    sc->store_file = PICKP(store_file);
    sc->store_memory = PICK(store_memory);
    sc->store_disk = PICK(store_disk);
    sc->redis_prefix = PICKP(redis_prefix);
    sc->redis_timeout = PICK(redis_timeout);
    sc->redis_pool[0] = PICK(redis_pool[0]);
    sc->redis_pool[1] = PICK(redis_pool[1]);
    sc->redis_pool[2] = PICK(redis_pool[2]);
    sc->redis_pool[3] = PICK(redis_pool[3]);
    sc->require_https = PICK(require_https);
    sc->require_post = PICK(require_post);
    sc->require_pkce = PICK(require_pkce);
    sc->code_lifetime = PICK(code_lifetime);
    sc->access_lifetime = PICK(access_lifetime);
    sc->refresh_lifetime = PICK(refresh_lifetime);
    sc->page = apr_table_overlay(p, base->page, add->page);
    sc->csrf_key_file = PICKP(csrf_key_file);
    sc->fail_limit = PICK(fail_limit);
    sc->fail_window = PICK(fail_window);
    sc->fail_lockout = PICK(fail_lockout);
    sc->resources = union_of(p, base->resources, add->resources);
    sc->default_resource = PICKP(default_resource);
    sc->protected = union_of(p, base->protected, add->protected);
    sc->signing_key_paths = PICKP(signing_key_paths);
    sc->token_format = PICK(token_format);
    sc->device_lifetime = PICK(device_lifetime);
    sc->device_interval = PICK(device_interval);
    sc->require_par = PICK(require_par);
    sc->par_lifetime = PICK(par_lifetime);
    sc->refresh_window = PICK(refresh_window);
    sc->reg_grants = PICK(reg_grants);
    sc->reg_scopes = PICKP(reg_scopes);
    sc->reg_limit = PICK(reg_limit);
    sc->reg_max_idle = PICK(reg_max_idle);
    sc->dpop_nonce = PICK(dpop_nonce);
    sc->cimd = PICK(cimd);
    sc->cimd_nets = add->cimd != OAS_UNSET ? add->cimd_nets : base->cimd_nets;
    sc->outbound_ca = PICKP(outbound_ca);
    return sc;
}

void *oas_create_dir_conf(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(oas_dir_conf_t));
}

void *oas_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const oas_dir_conf_t *base = basev, *add = addv;
    oas_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));
    dc->pw_providers = add->pw_providers ? add->pw_providers : base->pw_providers;
    dc->pw_cache = add->pw_cache ? add->pw_cache : base->pw_cache;
    dc->protected_resource = PICKP(protected_resource);
    dc->prm_url = add->protected_resource ? add->prm_url : base->prm_url;
    dc->require_dpop = add->require_dpop ? add->require_dpop : base->require_dpop;
    return dc;
}

/* ---- directive handlers -------------------------------------------- */

static oas_srv_conf_t *cmd_conf(cmd_parms *cmd)
{
    return oas_srv_conf(cmd->server);
}

static const char *parse_number(cmd_parms *cmd, const char *arg, long long lo, long long hi,
                                long long *out)
{
    char *end = NULL;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || errno || *end || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number between %" APR_INT64_T_FMT
                            " and %" APR_INT64_T_FMT, cmd->directive->directive, arg,
                            (apr_int64_t)lo, (apr_int64_t)hi);
    }
    *out = v;
    return NULL;
}

static const char *set_issuer(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_uri_t u;
    int https = strncasecmp(arg, "https://", 8) == 0;
    int loopback_http = strncasecmp(arg, "http://localhost", 16) == 0
                        || strncasecmp(arg, "http://127.0.0.1", 16) == 0;

    if (apr_uri_parse(cmd->pool, arg, &u) != APR_SUCCESS || !u.hostname || !*u.hostname
        || u.query || u.fragment || strchr(arg, '?') || strchr(arg, '#')
        || (!https && !loopback_http)) {
        return apr_psprintf(cmd->pool, "OAuthASIssuer: '%s' is not an https URL without "
                            "query or fragment (RFC 8414 §2)", arg);
    }
    if (strlen(arg) > OAS_ISSUER_MAX) {
        return apr_psprintf(cmd->pool, "OAuthASIssuer: longer than %d bytes (every token "
                            "and code records its issuer)", OAS_ISSUER_MAX);
    }
    cmd_conf(cmd)->issuer = arg[strlen(arg) - 1] == '/'
                            ? apr_pstrndup(cmd->pool, arg, strlen(arg) - 1) : arg;
    return NULL;
}

static const char *set_clients(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "OAuthASClients: invalid path '%s'", arg);
    }
    cmd_conf(cmd)->clients_path = path;
    return NULL;
}

static const char *set_scope(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    apr_array_header_t *paths;
    const char *err;
    int i;

    if (argc < 2) {
        return "OAuthASScope takes a NAME, a \"DESCRIPTION\" and optional URL-path prefixes";
    }
    paths = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 2; i < argc; i++) {
        APR_ARRAY_PUSH(paths, const char *) = argv[i];
    }
    err = oas_scopes_add(cmd_conf(cmd)->scopes, argv[0], argv[1], paths, cmd->pool);
    return err ? apr_psprintf(cmd->pool, "OAuthASScope %s: %s", argv[0], err) : NULL;
}

/* "HOST[:PORT]" of redis:HOST:PORT (IPv6 in brackets); NULL or why not */
static const char *parse_redis_addr(apr_pool_t *p, const char *addr, const char **phost,
                                    int *pport)
{
    char *host = NULL, *scope = NULL;
    apr_port_t port = 0;

    if (apr_parse_addr_port(&host, &scope, &port, addr, p) != APR_SUCCESS || !host
        || scope || strchr(addr, '/') || (strchr(host, ':') && addr[0] != '[')) {
        return "not HOST:PORT (an IPv6 address in brackets: [::1]:6379)";
    }
    *phost = host;
    *pport = port ? port : DEF_REDIS_PORT;
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *why = NULL, *host;
    int port;

    if (!strncasecmp(arg, "redis:", 6)) {
        why = parse_redis_addr(cmd->pool, arg + 6, &host, &port);
    }
    else if (!strncasecmp(arg, "socache:", 8)) {
        why = oas_socache_check_spec(cmd->pool, arg + 8);
    }
    else if (strcmp(arg, "default") != 0) {
        why = "not one of default, redis:HOST:PORT, socache:PROVIDER[:ARGS]";
    }
    if (why) {
        return apr_psprintf(cmd->pool, "OAuthASStore: '%s': %s", arg, why);
    }
    cmd_conf(cmd)->store_spec = arg;
    return NULL;
}

static const char *set_redis_prefix(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *c;

    for (c = arg; *c; c++) {
        if (*c <= ' ' || *c >= 127) {
            break;
        }
    }
    if (*c || strlen(arg) > 200) {
        return apr_psprintf(cmd->pool, "OAuthASRedisPrefix: '%s' is not up to 200 printable "
                            "characters without spaces", arg);
    }
    cmd_conf(cmd)->redis_prefix = arg;
    return NULL;
}

static const char *set_redis_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    long long v;
    const char *err = parse_number(cmd, arg, 1, 60, &v);

    if (!err) {
        cmd_conf(cmd)->redis_timeout = (int)v;
    }
    return err;
}

/* OAuthASRedisPool [min=N] [smax=N] [max=N] [ttl=SECONDS] */
static const char *const pool_names[4] = { "min", "smax", "max", "ttl" };

/* index of NAME in "NAME=VALUE", -1 if none */
static int pool_field(const char *arg)
{
    const char *eq = strchr(arg, '=');
    int j;

    for (j = 0; eq && j < 4; j++) {
        if ((size_t)(eq - arg) == strlen(pool_names[j])
            && !strncasecmp(arg, pool_names[j], strlen(pool_names[j]))) {
            return j;
        }
    }
    return -1;
}

static const char *set_redis_pool(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    static const long long lo[4] = { 0, 0, 1, 0 }, hi[4] = { 1000, 1000, 1000, 3600 };
    long long v;
    const char *err;
    int i, j;

    if (argc < 1) {
        return "OAuthASRedisPool takes min=N, smax=N, max=N and ttl=SECONDS";
    }
    for (i = 0; i < argc; i++) {
        if ((j = pool_field(argv[i])) < 0) {
            return apr_psprintf(cmd->pool, "OAuthASRedisPool: '%s' is not min=N, smax=N, "
                                "max=N or ttl=SECONDS", argv[i]);
        }
        if ((err = parse_number(cmd, strchr(argv[i], '=') + 1, lo[j], hi[j], &v))) {
            return err;
        }
        cmd_conf(cmd)->redis_pool[j] = (int)v;
    }
    return NULL;
}

static const char *set_store_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "OAuthASStoreFile: invalid path '%s'", arg);
    }
    cmd_conf(cmd)->store_file = path;
    return NULL;
}

static const char *set_store_size(cmd_parms *cmd, void *dc, const char *arg)
{
    long long v;
    const char *err = parse_number(cmd, arg, 1, 100000000, &v);
    if (!err) {
        if (cmd->info) {
            cmd_conf(cmd)->store_disk = (int)v;
        }
        else {
            cmd_conf(cmd)->store_memory = (int)v;
        }
    }
    return err;
}

/* On|Off, parsed here rather than by AP_INIT_FLAG, whose message ("... must
 * be On or Off") does not name the value that was given. */
static const char *set_flag(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = cmd_conf(cmd);
    int on;

    if (!strcasecmp(arg, "on")) {
        on = 1;
    }
    else if (!strcasecmp(arg, "off")) {
        on = 0;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not On or Off", cmd->directive->directive,
                            arg);
    }
    if (cmd->info && *(const char *)cmd->info == 'n') {
        sc->dpop_nonce = on;
    }
    else if (cmd->info && *(const char *)cmd->info == 'd') {
        ((oas_dir_conf_t *)dc)->require_dpop = on ? 2 : 1;
    }
    else if (cmd->info && *(const char *)cmd->info == 'r') {
        sc->require_par = on;
    }
    else if (cmd->info) {
        sc->require_post = on;
    }
    else {
        sc->require_https = on;
    }
    return NULL;
}

static const char *set_lifetime(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = cmd_conf(cmd);
    const char *which = cmd->info;
    long long v, lo = 0, hi = MAX_LIFETIME;
    const char *err;

    if (*which == 'c') {
        lo = 1;
        hi = 86400;
    }
    else if (*which == 'p' || *which == 'w') {
        lo = *which == 'p';
        hi = MAX_PAR_SECONDS;
    }
    if ((err = parse_number(cmd, arg, lo, hi, &v))) {
        return err;
    }
    switch (*which) {
    case 'c': sc->code_lifetime = v; break;
    case 'a': sc->access_lifetime = v; break;
    case 'p': sc->par_lifetime = v; break;
    case 'w': sc->refresh_window = v; break;
    default:  sc->refresh_lifetime = v; break;
    }
    return NULL;
}

static const char *set_pkce(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = cmd_conf(cmd);
    if (!strcasecmp(arg, "public")) {
        sc->require_pkce = OAS_PKCE_PUBLIC;
    }
    else if (!strcasecmp(arg, "all")) {
        sc->require_pkce = OAS_PKCE_ALL;
    }
    else if (!strcasecmp(arg, "off")) {
        sc->require_pkce = OAS_PKCE_OFF;
    }
    else {
        return apr_psprintf(cmd->pool, "OAuthASRequirePKCE: '%s' is not one of public, all, "
                            "off", arg);
    }
    return NULL;
}

static const char *set_page(cmd_parms *cmd, void *dc, const char *what, const char *value)
{
    static const char *const keys[] = { "title", "heading", "logo", "footer" };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!strcasecmp(what, keys[i])) {
            if (i == 2 && !(strncmp(value, "https://", 8) == 0 || value[0] == '/')) {
                return apr_psprintf(cmd->pool, "OAuthASApprovalPage logo: '%s' is not an "
                                    "https URL or a local path", value);
            }
            apr_table_set(cmd_conf(cmd)->page, keys[i], value);
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "OAuthASApprovalPage: '%s' is not one of title, heading, "
                        "logo, footer", what);
}

static const char *set_csrf_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "OAuthASCSRFKeyFile: invalid path '%s'", arg);
    }
    cmd_conf(cmd)->csrf_key_file = path;
    return NULL;
}

/* OAuthASAuthFailLimit N [SECONDS] | Off */
static const char *set_fail_limit(cmd_parms *cmd, void *dc, const char *n, const char *secs)
{
    oas_srv_conf_t *sc = cmd_conf(cmd);
    long long v, w = OAS_UNSET;
    const char *err;

    if (!strcasecmp(n, "off")) {
        if (secs) {
            return apr_psprintf(cmd->pool, "OAuthASAuthFailLimit: Off takes no seconds "
                                "('%s')", secs);
        }
        sc->fail_limit = 0;
        return NULL;
    }
    if ((err = parse_number(cmd, n, 1, MAX_FAIL_LIMIT, &v))
        || (secs && (err = parse_number(cmd, secs, 1, MAX_FAIL_SECONDS, &w)))) {
        return err;
    }
    sc->fail_limit = (int)v;
    sc->fail_window = (int)w;
    return NULL;
}

static const char *set_fail_lockout(cmd_parms *cmd, void *dc, const char *arg)
{
    long long v;
    const char *err = parse_number(cmd, arg, 1, MAX_FAIL_SECONDS, &v);

    if (!err) {
        cmd_conf(cmd)->fail_lockout = (int)v;
    }
    return err;
}

/* OAuthASDeviceCodeLifetime SECONDS (1..86400), OAuthASDevicePollInterval
 * SECONDS (1..3600) */
static const char *set_device(cmd_parms *cmd, void *dc, const char *arg)
{
    oas_srv_conf_t *sc = cmd_conf(cmd);
    int lifetime = cmd->info == NULL;
    long long v;
    const char *err = parse_number(cmd, arg, 1, lifetime ? 86400 : 3600, &v);

    if (err) {
        return err;
    }
    if (lifetime) {
        sc->device_lifetime = v;
    }
    else {
        sc->device_interval = (int)v;
    }
    return NULL;
}

static const char *add_pw_provider(cmd_parms *cmd, void *dcv, const char *arg)
{
    oas_dir_conf_t *dc = dcv;

    if (!ap_lookup_provider(AUTHN_PROVIDER_GROUP, arg, AUTHN_PROVIDER_VERSION)) {
        return apr_psprintf(cmd->pool, "OAuthASPasswordProvider: unknown authn provider '%s' "
                            "(is mod_authn_%s loaded?)", arg, arg);
    }
    if (!dc->pw_providers) {
        dc->pw_providers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(dc->pw_providers, const char *) = arg;
    return NULL;
}

/* OAuthASPasswordCache SECONDS (0 = off .. 3600) */
static const char *set_pw_cache(cmd_parms *cmd, void *dcv, const char *arg)
{
    long long v;
    const char *err = parse_number(cmd, arg, 0, OAS_PASSWORD_CACHE_MAX, &v);

    if (!err) {
        ((oas_dir_conf_t *)dcv)->pw_cache = (int)v + 1;
    }
    return err;
}

/* A resource URI (RFC 8707 §2) for OAuthASResource, OAuthASDefaultResource and
 * OAuthASProtectedResource: NULL or why not. */
static const char *check_resource(cmd_parms *cmd, const char *uri)
{
    const char *why;

    if (!oas_resource_uri_valid(uri, &why)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a resource URI: it %s",
                            cmd->directive->directive, uri, why);
    }
    return NULL;
}

static void add_unique(apr_array_header_t **plist, apr_pool_t *p, const char *s)
{
    if (!*plist) {
        *plist = apr_array_make(p, 2, sizeof(const char *));
    }
    if (!oas_scope_in(*plist, s)) {
        APR_ARRAY_PUSH(*plist, const char *) = s;
    }
}

static const char *add_resource(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = check_resource(cmd, arg);

    if (!err) {
        add_unique(&cmd_conf(cmd)->resources, cmd->pool, arg);
    }
    return err;
}

static const char *set_default_resource(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = check_resource(cmd, arg);

    if (!err) {
        cmd_conf(cmd)->default_resource = arg;
    }
    return err;
}

/* Directory context; recorded in the server's list too, so that the
 * oauth-as-resource-metadata handler knows every protected resource. */
static const char *set_protected_resource(cmd_parms *cmd, void *dcv, const char *arg)
{
    oas_dir_conf_t *dc = dcv;
    const char *err = check_resource(cmd, arg);

    if (err) {
        return err;
    }
    if (!oas_prm_url(arg, cmd->pool) || strchr(arg, '?')) {
        return apr_psprintf(cmd->pool, "OAuthASProtectedResource: '%s' is not an http(s) URL "
                            "without query", arg);
    }
    dc->protected_resource = arg;
    dc->prm_url = oas_prm_url(arg, cmd->pool);
    add_unique(&cmd_conf(cmd)->protected, cmd->pool, arg);
    return NULL;
}

const command_rec oas_cmds[] = {
    AP_INIT_TAKE_ARGV("OAuthASClientMetadataDocuments", oas_set_cimd, NULL, RSRC_CONF,
                      "On|Off [CIDR ...]: client ids that are URLs of metadata documents"),
    AP_INIT_TAKE1("OAuthASOutboundCA", oas_set_outbound_ca, NULL, RSRC_CONF,
                  "CA certificates (PEM) trusted when fetching over HTTPS"),
    AP_INIT_ITERATE("OAuthASRegistrationGrants", oas_set_reg_grants, NULL, RSRC_CONF,
                    "grant types a self-registered client may hold (RFC 7591)"),
    AP_INIT_ITERATE("OAuthASRegistrationScopes", oas_set_reg_scopes, NULL, RSRC_CONF,
                    "scopes a self-registered client may hold"),
    AP_INIT_TAKE1("OAuthASRegistrationLimit", oas_set_reg_number, "limit", RSRC_CONF,
                  "most self-registered clients in the store"),
    AP_INIT_TAKE1("OAuthASRegistrationMaxIdle", oas_set_reg_number, NULL, RSRC_CONF,
                  "seconds after which an unused self-registered client is removed; 0 = never"),
    AP_INIT_TAKE1("OAuthASIssuer", set_issuer, NULL, RSRC_CONF,
                  "issuer identifier URL (default: https:// + ServerName)"),
    AP_INIT_TAKE1("OAuthASClients", set_clients, NULL, RSRC_CONF,
                  "path of the client registry (JSON)"),
    AP_INIT_TAKE_ARGV("OAuthASScope", set_scope, NULL, RSRC_CONF,
                      "NAME \"DESCRIPTION\" [URL-PATH ...]: defines a scope"),
    AP_INIT_TAKE1("OAuthASStore", set_store, NULL, RSRC_CONF,
                  "where shared state lives: default, redis:HOST:PORT, socache:PROVIDER[:ARGS]"),
    AP_INIT_TAKE1("OAuthASRedisPrefix", set_redis_prefix, NULL, RSRC_CONF,
                  "prefix of every Redis key (default oauth_as:)"),
    AP_INIT_TAKE1("OAuthASRedisTimeout", set_redis_timeout, NULL, RSRC_CONF,
                  "seconds a Redis command may take (1-60, default 2)"),
    AP_INIT_TAKE_ARGV("OAuthASRedisPool", set_redis_pool, NULL, RSRC_CONF,
                      "Redis connections per httpd child: min=N smax=N max=N ttl=SECONDS "
                      "(default 0, ThreadsPerChild, ThreadsPerChild, 60)"),
    AP_INIT_TAKE1("OAuthASStoreFile", set_store_file, NULL, RSRC_CONF,
                  "base path of the SDBM spill file"),
    AP_INIT_TAKE1("OAuthASStoreMemory", set_store_size, NULL, RSRC_CONF,
                  "most tokens/codes held in shared memory (default 1000)"),
    AP_INIT_TAKE1("OAuthASStoreDisk", set_store_size, (void *)1, RSRC_CONF,
                  "most tokens held in the SDBM file (default 20000)"),
    AP_INIT_TAKE1("OAuthASRequireHTTPS", set_flag, NULL, RSRC_CONF,
                 "On: plain-HTTP requests to the endpoints are refused (default On)"),
    AP_INIT_TAKE1("OAuthASDPoPNonce", set_flag, "n", RSRC_CONF,
                 "On: DPoP proofs at the token endpoint must carry a server nonce "
                 "(RFC 9449 §8; default Off)"),
    AP_INIT_TAKE1("OAuthASRequireDPoP", set_flag, "d", OR_AUTHCFG,
                 "On: this section takes DPoP-bound tokens with a valid proof only "
                 "(default Off)"),
    AP_INIT_TAKE1("OAuthASRequirePost", set_flag, "p", RSRC_CONF,
                 "On: token, introspection, revocation take POST only (default On)"),
    AP_INIT_TAKE1("OAuthASCodeLifetime", set_lifetime, "c", RSRC_CONF,
                  "authorization code lifetime in seconds (default 600)"),
    AP_INIT_TAKE1("OAuthASAccessTokenLifetime", set_lifetime, "a", RSRC_CONF,
                  "access token lifetime in seconds, 0 = never expires (default 3600)"),
    AP_INIT_TAKE1("OAuthASRefreshTokenLifetime", set_lifetime, "r", RSRC_CONF,
                  "refresh token lifetime in seconds, 0 = never expires (default 2592000)"),
    AP_INIT_TAKE1("OAuthASRequirePKCE", set_pkce, NULL, RSRC_CONF,
                  "which clients must use PKCE: public (default), all, off"),
    AP_INIT_TAKE2("OAuthASApprovalPage", set_page, NULL, RSRC_CONF,
                  "title|heading|logo|footer VALUE: the approval page's texts"),
    AP_INIT_TAKE1("OAuthASCSRFKeyFile", set_csrf_key_file, NULL, RSRC_CONF,
                  "file with the secret (>= 32 bytes) that signs approval-form CSRF tokens; "
                  "nodes sharing a store share it (default: random per server start)"),
    AP_INIT_TAKE12("OAuthASAuthFailLimit", set_fail_limit, NULL, RSRC_CONF,
                   "N [SECONDS] | Off: N failed client authentications or password checks "
                   "of one client id or user name, each within SECONDS (default 60) of the "
                   "one before, lock it (default 10 60)"),
    AP_INIT_TAKE1("OAuthASDeviceCodeLifetime", set_device, NULL, RSRC_CONF,
                  "lifetime of a device code and its user code in seconds (default 600)"),
    AP_INIT_TAKE1("OAuthASDevicePollInterval", set_device, (void *)1, RSRC_CONF,
                  "seconds a device is told to wait between polls (default 5)"),
    AP_INIT_TAKE1("OAuthASAuthFailLockout", set_fail_lockout, NULL, RSRC_CONF,
                  "seconds a client id or user name stays locked (default 60)"),
    AP_INIT_TAKE1("OAuthASSigningKey", oas_set_signing_key, NULL, RSRC_CONF,
                  "PEM private key (EC P-256, RSA >= 2048 bits, Ed25519) that signs JWT "
                  "access tokens; repeatable: the first signs, all are published"),
    AP_INIT_TAKE1("OAuthASAccessTokenFormat", oas_set_token_format, NULL, RSRC_CONF,
                  "opaque (default) or jwt: the access token format"),
    AP_INIT_TAKE1("OAuthASRequirePAR", set_flag, "r", RSRC_CONF,
                  "On|Off: authorization requests must be pushed to the PAR endpoint first "
                  "(RFC 9126; default Off)"),
    AP_INIT_TAKE1("OAuthASPARLifetime", set_lifetime, "p", RSRC_CONF,
                  "seconds a pushed request's request_uri lives (default 60)"),
    AP_INIT_TAKE1("OAuthASRefreshReuseWindow", set_lifetime, "w", RSRC_CONF,
                  "seconds after its first use in which a rotated refresh token presented "
                  "again by its client gets a new pair instead of revoking the family "
                  "(default 0: never)"),
    AP_INIT_ITERATE("OAuthASPasswordProvider", add_pw_provider, NULL, OR_AUTHCFG,
                    "authn providers that check the password grant's username/password"),
    AP_INIT_TAKE1("OAuthASPasswordCache", set_pw_cache, NULL, OR_AUTHCFG,
                  "seconds a password the providers granted is remembered in each process "
                  "(0 = off, the default; at most 3600)"),
    AP_INIT_TAKE1("OAuthASResource", add_resource, NULL, RSRC_CONF,
                  "URI: a resource server clients may name with resource (RFC 8707); "
                  "repeatable"),
    AP_INIT_TAKE1("OAuthASDefaultResource", set_default_resource, NULL, RSRC_CONF,
                  "URI: the audience of tokens whose request named no resource "
                  "(default: the issuer)"),
    AP_INIT_TAKE1("OAuthASProtectedResource", set_protected_resource, NULL, ACCESS_CONF,
                  "URI: this section is that protected resource: tokens must be for it, "
                  "challenges carry its resource_metadata URL (RFC 9728)"),
    { NULL }
};

/* ---- the client registry at start-up and restart --------------------- */

/* The last registry text that loaded, per path, kept in the process pool
 * so a graceful restart with a broken file keeps the old registry. It lives
 * in a subpool that is replaced on change; no cleanup points into this DSO,
 * which is unloaded before the process pool goes. */
typedef struct saved_reg_t {
    apr_pool_t *pool;
    const char *text;
} saved_reg_t;

static saved_reg_t *saved_reg(server_rec *s, const char *path, int create)
{
    const char *key = apr_pstrcat(s->process->pool, "oauth_as:registry:", path, NULL);
    void *d = NULL;

    apr_pool_userdata_get(&d, key, s->process->pool);
    if (!d && create) {
        d = apr_pcalloc(s->process->pool, sizeof(saved_reg_t));
        apr_pool_userdata_set(d, key, apr_pool_cleanup_null, s->process->pool);
    }
    return d;
}

static void remember_registry(server_rec *s, const char *path, const oas_registry_t *reg)
{
    saved_reg_t *sr = saved_reg(s, path, 1);

    if (sr->text && strcmp(sr->text, oas_registry_text(reg)) == 0) {
        return;
    }
    if (sr->pool) {
        apr_pool_destroy(sr->pool);
    }
    apr_pool_create(&sr->pool, s->process->pool);
    sr->text = apr_pstrdup(sr->pool, oas_registry_text(reg));
}

/* Load one server's registry; on failure fall back to the last good one. */
static int load_registry(server_rec *s, oas_srv_conf_t *sc, apr_pool_t *pconf)
{
    const char *err = NULL, *err2 = NULL;
    oas_registry_t *reg = NULL;
    saved_reg_t *sr;

    if (oas_registry_load(&reg, sc->clients_path, sc->scopes, pconf, &err) == APR_SUCCESS) {
        remember_registry(s, sc->clients_path, reg);
        sc->registry = reg;
        return OK;
    }
    sr = saved_reg(s, sc->clients_path, 0);
    if (sr && sr->text && oas_registry_parse(&reg, sr->text, strlen(sr->text),
                                             sc->clients_path, sc->scopes, pconf,
                                             &err2) == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, OASLOGNO(01001)
                     "client registry not reloaded, the previous one stays in use: %s", err);
        sc->registry = reg;
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, NULL, OASLOGNO(01002)
                 "OAuthASClients: %s", err);
    return !OK;
}

/* ---- one store file, one memory tier ---------------------------------- */

/* check_config, first part: every registry parsed (once per file and scope
 * set), so that apachectl configtest names a bad file, client and field. */
int oas_load_registries(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        oas_srv_conf_t *sc = oas_srv_conf(vs);
        const char *key;
        const oas_registry_t *done;

        if (!sc->clients_path) {
            continue;
        }
        key = apr_psprintf(ptemp, "%pp|%s", (void *)sc->scopes, sc->clients_path);
        if ((done = apr_hash_get(seen, key, APR_HASH_KEY_STRING))) {
            sc->registry = done;
            continue;
        }
        if (load_registry(vs, sc, pconf) != OK) {
            return !OK;
        }
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, sc->registry);
    }
    return OK;
}

/* ---- effective settings ----------------------------------------------- */

#define OR_DEFAULT(v, d) ((v) != OAS_UNSET ? (v) : (d))

static const char *default_issuer(server_rec *s, apr_pool_t *p)
{
    if (s->port && s->port != 443) {
        return apr_psprintf(p, "https://%s:%u", s->server_hostname, (unsigned)s->port);
    }
    return apr_pstrcat(p, "https://", s->server_hostname, NULL);
}

void oas_store_settings(const oas_srv_conf_t *sc, apr_pool_t *p, const char **ppath,
                        int *pmem, int *pdisk)
{
    *ppath = sc->store_file ? sc->store_file : ap_server_root_relative(p, OAS_DEF_STORE_FILE);
    *pmem = OR_DEFAULT(sc->store_memory, DEF_STORE_MEMORY);
    *pdisk = OR_DEFAULT(sc->store_disk, DEF_STORE_DISK);
}

/* The Redis store's settings: OAuthASStore redis:HOST:PORT (checked when
 * read) and the OAuthASRedis* directives, with their defaults; the pool is
 * made consistent (min <= smax <= max). */
void oas_redis_settings(const oas_srv_conf_t *sc, apr_pool_t *p, oas_store_redis_conf_t *c)
{
    int threads = 1;

    memset(c, 0, sizeof(*c));
    if (parse_redis_addr(p, sc->store_spec + 6, &c->host, &c->port) != NULL) {
        c->host = "";
    }
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    threads = threads < 1 ? 1 : threads;
    c->prefix = sc->redis_prefix ? sc->redis_prefix : DEF_REDIS_PREFIX;
    c->timeout = OR_DEFAULT(sc->redis_timeout, DEF_REDIS_TIMEOUT);
    c->conn_max = OR_DEFAULT(sc->redis_pool[2], threads);
    c->conn_smax = OR_DEFAULT(sc->redis_pool[1], c->conn_max);
    c->conn_smax = c->conn_smax > c->conn_max ? c->conn_max : c->conn_smax;
    c->conn_min = OR_DEFAULT(sc->redis_pool[0], 0);
    c->conn_min = c->conn_min > c->conn_smax ? c->conn_smax : c->conn_min;
    c->conn_ttl = OR_DEFAULT(sc->redis_pool[3], DEF_REDIS_CONN_TTL);
}

oas_config_t *oas_runtime_config(server_rec *s, oas_srv_conf_t *sc, apr_pool_t *p)
{
    oas_config_t *rt = apr_pcalloc(p, sizeof(*rt));

    rt->issuer = sc->issuer ? sc->issuer : default_issuer(s, p);
    rt->registry = sc->registry;
    rt->scopes = sc->scopes;
    rt->code_lifetime = OR_DEFAULT(sc->code_lifetime, DEF_CODE_LIFETIME);
    rt->access_lifetime = OR_DEFAULT(sc->access_lifetime, DEF_ACCESS_LIFETIME);
    rt->refresh_lifetime = OR_DEFAULT(sc->refresh_lifetime, DEF_REFRESH_LIFETIME);
    rt->require_https = OR_DEFAULT(sc->require_https, 1);
    rt->require_post = OR_DEFAULT(sc->require_post, 1);
    rt->require_pkce = OR_DEFAULT(sc->require_pkce, OAS_PKCE_PUBLIC);
    rt->fail_limit = OR_DEFAULT(sc->fail_limit, DEF_FAIL_LIMIT);
    rt->fail_window = OR_DEFAULT(sc->fail_window, DEF_FAIL_WINDOW);
    rt->fail_lockout = OR_DEFAULT(sc->fail_lockout, DEF_FAIL_LOCKOUT);
    rt->device_lifetime = OR_DEFAULT(sc->device_lifetime, DEF_DEVICE_LIFETIME);
    rt->device_interval = OR_DEFAULT(sc->device_interval, DEF_DEVICE_INTERVAL);
    rt->require_par = OR_DEFAULT(sc->require_par, 0);
    rt->par_lifetime = OR_DEFAULT(sc->par_lifetime, DEF_PAR_LIFETIME);
    rt->refresh_reuse_window = OR_DEFAULT(sc->refresh_window, 0);
    rt->dpop_nonce = OR_DEFAULT(sc->dpop_nonce, 0);
    rt->page_title = apr_table_get(sc->page, "title");
    rt->page_heading = apr_table_get(sc->page, "heading");
    rt->page_logo = apr_table_get(sc->page, "logo");
    rt->page_footer = apr_table_get(sc->page, "footer");
    rt->resources = union_of(p, sc->resources, sc->protected);
    rt->default_resource = sc->default_resource;
    rt->protected_resources = sc->protected;
    oas_runtime_keys(s, rt, sc, p);
    oas_runtime_registration(rt, sc);
    oas_runtime_cimd(rt, sc);
    return rt;
}

#define CSRF_KEY_MIN 32
#define CSRF_KEY_MAX 4096

/* The key that signs CSRF tokens: from OAuthASCSRFKeyFile, or random once
 * per server start (kept across graceful restarts in the process pool). */
apr_status_t oas_load_csrf_key(server_rec *s, oas_srv_conf_t *sc, oas_config_t *rt,
                               apr_pool_t *p)
{
    apr_pool_t *pp = s->process->pool;
    unsigned char *key = NULL;
    apr_size_t len = 0;
    apr_file_t *f;
    apr_status_t rv;

    if (sc->csrf_key_file) {
        key = apr_palloc(p, CSRF_KEY_MAX);
        rv = apr_file_open(&f, sc->csrf_key_file, APR_FOPEN_READ, 0, p);
        if (rv == APR_SUCCESS) {
            rv = apr_file_read_full(f, key, CSRF_KEY_MAX, &len);
            apr_file_close(f);
        }
        if ((rv != APR_SUCCESS && rv != APR_EOF) || len < CSRF_KEY_MIN) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, s, OASLOGNO(01003)
                         "OAuthASCSRFKeyFile %s: cannot read at least %d bytes of key",
                         sc->csrf_key_file, CSRF_KEY_MIN);
            return rv != APR_SUCCESS && rv != APR_EOF ? rv : APR_EINVAL;
        }
    }
    else {
        apr_pool_userdata_get((void **)&key, "oauth_as:csrf_key", pp);
        if (!key) {
            key = apr_palloc(pp, CSRF_KEY_MIN);
            if ((rv = oas_random_bytes(key, CSRF_KEY_MIN)) != APR_SUCCESS) {
                return rv;
            }
            apr_pool_userdata_set(key, "oauth_as:csrf_key", apr_pool_cleanup_null, pp);
        }
        len = CSRF_KEY_MIN;
    }
    rt->csrf_key = key;
    rt->csrf_key_len = len;
    return APR_SUCCESS;
}
