/* mod_oauth_as_urls.c — where the endpoints are mapped. The metadata
 * document lists each endpoint's absolute URL as configured; users map each
 * endpoint once (SetHandler in a <Location>), and this file finds those
 * mappings by walking the configuration tree after it was read. */
#include <string.h>
#include <apr_strings.h>
#include <http_core.h>
#include "mod_oauth_as_private.h"

APLOG_USE_MODULE(oauth_as);

typedef struct url_map_t {
    server_rec *main;
    apr_pool_t *p;
    apr_hash_t *by_server;   /* server_rec* -> apr_table_t handler -> path */
} url_map_t;

/* "<Location "/a/b">" args arrive as "\"/a/b\">": strip '>' and quotes. */
static const char *container_arg(apr_pool_t *p, const char *args)
{
    char *s = apr_pstrdup(p, args ? args : "");
    apr_size_t n = strlen(s);

    if (n && s[n - 1] == '>') {
        s[--n] = '\0';
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

static server_rec *vhost_of(url_map_t *m, const ap_directive_t *d)
{
    server_rec *s;
    for (s = m->main->next; s; s = s->next) {
        if (s->defn_name && d->filename && strcmp(s->defn_name, d->filename) == 0
            && (int)s->defn_line_number == d->line_num) {
            return s;
        }
    }
    return m->main;
}

/* The first mapping of a handler in a server wins; a second one is a
 * configuration the metadata cannot describe (SPEC: each endpoint is mapped
 * once), so say which one the metadata names. */
static void record(url_map_t *m, server_rec *s, const char *handler, const char *path)
{
    apr_table_t *t = apr_hash_get(m->by_server, &s, sizeof(s));
    const char *had;

    if (!t) {
        t = apr_table_make(m->p, 6);
        apr_hash_set(m->by_server, apr_pmemdup(m->p, &s, sizeof(s)), sizeof(s), t);
    }
    had = apr_table_get(t, handler);
    if (!had) {
        apr_table_set(t, handler, path);
    }
    else if (strcmp(had, path) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, OASLOGNO(01302)
                     "%s is mapped at both %s and %s: the metadata names %s",
                     handler, had, path, had);
    }
}

static void walk(url_map_t *m, const ap_directive_t *d, server_rec *s, const char *loc)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            walk(m, d->first_child, vhost_of(m, d), NULL);
        }
        else if (!strcasecmp(d->directive, "<Location")) {
            walk(m, d->first_child, s, container_arg(m->p, d->args));
        }
        else if (!strcasecmp(d->directive, "SetHandler") && loc && d->args
                 && !strncasecmp(container_arg(m->p, d->args), "oauth-as-", 9)) {
            record(m, s, container_arg(m->p, d->args), loc);
        }
        else if (d->first_child && strncasecmp(d->directive, "<LocationMatch", 14) != 0) {
            walk(m, d->first_child, s, loc);
        }
    }
}

/* scheme://authority of the issuer */
static const char *issuer_origin(apr_pool_t *p, const char *issuer)
{
    const char *slash, *start = strstr(issuer, "://");
    if (!start) {
        return issuer;
    }
    slash = strchr(start + 3, '/');
    return slash ? apr_pstrndup(p, issuer, (apr_size_t)(slash - issuer)) : issuer;
}

static const char *url_for(apr_pool_t *p, const oas_config_t *rt, apr_table_t *own,
                           apr_table_t *inherited, const char *handler)
{
    const char *path = own ? apr_table_get(own, handler) : NULL;
    if (!path && inherited) {
        path = apr_table_get(inherited, handler);
    }
    return path ? apr_pstrcat(p, issuer_origin(p, rt->issuer), path, NULL) : NULL;
}

void oas_find_endpoint_urls(server_rec *main_s, apr_pool_t *p)
{
    url_map_t m = { main_s, p, apr_hash_make(p) };
    server_rec *s;
    apr_table_t *inherited;

    walk(&m, ap_conftree, main_s, NULL);
    inherited = apr_hash_get(m.by_server, &main_s, sizeof(main_s));
    for (s = main_s; s; s = s->next) {
        oas_config_t *rt = oas_srv_conf(s)->rt;
        apr_table_t *own = apr_hash_get(m.by_server, &s, sizeof(s));

        rt->url_authorize = url_for(p, rt, own, inherited, "oauth-as-authorize");
        rt->url_token = url_for(p, rt, own, inherited, "oauth-as-token");
        rt->url_introspect = url_for(p, rt, own, inherited, "oauth-as-introspect");
        rt->url_revoke = url_for(p, rt, own, inherited, "oauth-as-revoke");
        rt->url_metadata = url_for(p, rt, own, inherited, "oauth-as-metadata");
        rt->url_status = url_for(p, rt, own, inherited, "oauth-as-status");
        rt->url_jwks = url_for(p, rt, own, inherited, "oauth-as-jwks");
        rt->url_device_authorization = url_for(p, rt, own, inherited,
                                               "oauth-as-device-authorization");
        rt->url_device = url_for(p, rt, own, inherited, "oauth-as-device");
        rt->url_par = url_for(p, rt, own, inherited, "oauth-as-par");
        rt->url_register = url_for(p, rt, own, inherited, "oauth-as-register");
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, OASLOGNO(01301)
                     "endpoints of %s: token %s, authorize %s", rt->issuer,
                     rt->url_token ? rt->url_token : "-",
                     rt->url_authorize ? rt->url_authorize : "-");
    }
}
