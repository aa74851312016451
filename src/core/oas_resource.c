/* oas_resource.c — resource indicators (RFC 8707), token audiences and the
 * place of protected resource metadata (RFC 9728 §3.1); see oas_resource.h. */
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "oas_resource.h"
#include "oas_form.h"

#define AUD_SEP ' '

static int set_why(const char **pwhy, const char *why)
{
    if (pwhy) {
        *pwhy = why;
    }
    return 0;
}

apr_size_t oas_uri_scheme_len(const char *uri)
{
    apr_size_t n = 0;

    if (!apr_isalpha(uri[0])) {
        return 0;
    }
    while (apr_isalnum(uri[n]) || uri[n] == '+' || uri[n] == '.' || uri[n] == '-') {
        n++;
    }
    return uri[n] == ':' ? n : 0;
}

/* 1 if uri is http: or https: */
static int is_http(const char *uri, apr_size_t n)
{
    return (n == 4 && strncasecmp(uri, "http", 4) == 0)
           || (n == 5 && strncasecmp(uri, "https", 5) == 0);
}

/* Where the authority of an http(s) URI starts, or NULL without "//". */
static const char *authority(const char *uri)
{
    const char *c = strchr(uri, ':');
    return (c && c[1] == '/' && c[2] == '/') ? c + 3 : NULL;
}

int oas_resource_uri_valid(const char *uri, const char **pwhy)
{
    const char *auth;
    apr_size_t i, n;

    set_why(pwhy, NULL);
    if (!uri || !*uri) {
        return set_why(pwhy, "is empty");
    }
    for (i = 0; uri[i]; i++) {
        unsigned char c = (unsigned char)uri[i];
        if (i >= OAS_RESOURCE_MAX_LEN) {
            return set_why(pwhy, "is longer than 255 bytes");
        }
        if (c <= 0x20 || c >= 0x7f) {
            return set_why(pwhy, "holds spaces, control or non-ASCII characters");
        }
        if (c == '#') {
            return set_why(pwhy, "has a fragment");
        }
    }
    if ((n = oas_uri_scheme_len(uri)) == 0 || !uri[n + 1]) {
        return set_why(pwhy, "is not an absolute URI");
    }
    if (is_http(uri, n)) {
        auth = authority(uri);
        if (!auth || strcspn(auth, "/?") == 0 || memchr(auth, '@', strcspn(auth, "/?"))) {
            return set_why(pwhy, "is an http(s) URI without a host (or with user information)");
        }
    }
    return 1;
}

const char *oas_default_resource(const oas_config_t *cfg)
{
    return cfg->default_resource ? cfg->default_resource : cfg->issuer;
}

typedef struct collect_t {
    apr_array_header_t *out;
    apr_pool_t *p;
} collect_t;

static int collect_one(void *baton, const char *key, const char *value)
{
    collect_t *c = baton;
    int i;

    if (strcasecmp(key, OAS_FORM_REPEATABLE) != 0 || !value) {   /* as the table matches */
        return 1;
    }
    for (i = 0; i < c->out->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(c->out, i, const char *), value) == 0) {
            return 1;
        }
    }
    APR_ARRAY_PUSH(c->out, const char *) = value;
    return 1;
}

apr_array_header_t *oas_resource_params(apr_table_t *params, apr_pool_t *p)
{
    collect_t c = { apr_array_make(p, 2, sizeof(const char *)), p };

    if (params) {
        apr_table_do(collect_one, &c, params, "resource", NULL);
    }
    return c.out->nelts ? c.out : NULL;
}

static int in_list(const apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

static apr_array_header_t *aud_split(const char *aud, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(const char *));
    const char *s = aud, *sp;

    while (s && *s) {
        sp = strchr(s, AUD_SEP);
        APR_ARRAY_PUSH(out, const char *) = sp ? apr_pstrndup(p, s, (apr_size_t)(sp - s))
                                               : apr_pstrdup(p, s);
        s = sp ? sp + 1 : NULL;
    }
    return out;
}

/* One named resource: syntax, declared, allowed to the client, within. */
static const char *check_one(const oas_config_t *cfg, const oas_client_t *client,
                             const char *uri, const apr_array_header_t *within,
                             apr_pool_t *p)
{
    const char *why;

    if (!oas_resource_uri_valid(uri, &why)) {
        return apr_pstrcat(p, "a resource ", why, NULL);
    }
    if (!in_list(cfg->resources, uri)) {
        return "a resource is not known to this authorization server";
    }
    if (client->resources && !in_list(client->resources, uri)) {
        return "a resource is not allowed for this client";
    }
    if (within && !in_list(within, uri)) {
        return "a resource was not part of the original grant (resources may only narrow)";
    }
    return NULL;
}

const char *oas_resource_check(const char **paud, const oas_config_t *cfg,
                               const oas_client_t *client, const apr_array_header_t *named,
                               const char *within, apr_pool_t *p)
{
    apr_array_header_t *grant = within ? aud_split(within, p) : NULL;
    const char *why, *aud;
    int i;

    *paud = NULL;
    if (!named || named->nelts == 0) {
        return NULL;
    }
    if (named->nelts > OAS_RESOURCE_MAX_COUNT) {
        return "too many resources (at most 4)";
    }
    for (i = 0; i < named->nelts; i++) {
        if ((why = check_one(cfg, client, APR_ARRAY_IDX(named, i, const char *), grant, p))) {
            return why;
        }
    }
    aud = apr_array_pstrcat(p, named, AUD_SEP);
    if (strlen(aud) > OAS_AUDIENCE_MAX) {
        return "the resources are too long together (at most 512 bytes)";
    }
    *paud = aud;
    return NULL;
}

const char *oas_token_aud_string(const oas_token_t *t, const oas_config_t *cfg)
{
    return (t->audience && *t->audience) ? t->audience : oas_default_resource(cfg);
}

apr_array_header_t *oas_token_aud(const oas_token_t *t, const oas_config_t *cfg,
                                  apr_pool_t *p)
{
    return aud_split(oas_token_aud_string(t, cfg), p);
}

int oas_token_aud_has(const oas_token_t *t, const oas_config_t *cfg, const char *uri,
                      apr_pool_t *p)
{
    return uri && in_list(oas_token_aud(t, cfg, p), uri);
}

json_t *oas_aud_json(const apr_array_header_t *aud)
{
    json_t *a;
    int i;

    if (aud->nelts == 1) {
        return json_string(APR_ARRAY_IDX(aud, 0, const char *));
    }
    a = json_array();
    for (i = 0; i < aud->nelts; i++) {
        json_array_append_new(a, json_string(APR_ARRAY_IDX(aud, i, const char *)));
    }
    return a;
}

/* ---- where the metadata document lives -------------------------------- */

/* scheme://authority of an http(s) URI and where its path starts */
static const char *split_origin(const char *uri, const char **prest)
{
    apr_size_t n = oas_uri_scheme_len(uri);
    const char *auth;

    if (!is_http(uri, n) || !(auth = authority(uri))) {
        return NULL;
    }
    *prest = auth + strcspn(auth, "/?#");
    return uri;
}

const char *oas_uri_path(const char *uri, apr_pool_t *p)
{
    const char *rest;

    if (!uri || !split_origin(uri, &rest)) {
        return NULL;
    }
    return *rest == '/' ? apr_pstrndup(p, rest, strcspn(rest, "?#")) : "/";
}

const char *oas_prm_path(const char *uri, apr_pool_t *p)
{
    const char *path = oas_uri_path(uri, p);
    apr_size_t n;

    if (!path) {
        return NULL;
    }
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/') {
        n--;
    }
    return apr_pstrcat(p, OAS_PRM_WELL_KNOWN, apr_pstrndup(p, path, n), NULL);
}

const char *oas_prm_url(const char *uri, apr_pool_t *p)
{
    const char *rest, *path = oas_prm_path(uri, p);

    if (!path || !split_origin(uri, &rest)) {
        return NULL;
    }
    return apr_pstrcat(p, apr_pstrndup(p, uri, (apr_size_t)(rest - uri)), path, NULL);
}
