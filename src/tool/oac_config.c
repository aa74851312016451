/* oac_config.c — what oauth-as-client takes from an httpd config file (-f):
 * the scopes (OAuthASScope), and unless -r / -s say otherwise the registry
 * (OAuthASClients) and the store (OAuthASStoreFile), the first of each.
 * Only that one file is read: Include lines, <IfModule> and <VirtualHost>
 * sections are not interpreted (a scope defined in any section counts). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "oac.h"

#define CONF_MAX (4 * 1024 * 1024)

typedef struct conf_ctx_t {
    oac_opts_t *o;
    const char *server_root;
    const char *registry;
    const char *store;
    int nscopes;
} conf_ctx_t;

/* The next word of a directive line, as httpd reads it: "double" or
 * 'single' quotes group, a backslash escapes a quote inside them. */
static char *next_word(char **pos, apr_pool_t *p)
{
    char *s = *pos, *out, *w, q;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '\0') {
        return NULL;
    }
    out = w = apr_palloc(p, strlen(s) + 1);
    if (*s == '"' || *s == '\'') {
        for (q = *s++; *s && *s != q; s++) {
            if (*s == '\\' && (s[1] == q || s[1] == '\\')) {
                s++;
            }
            *w++ = *s;
        }
        s += *s == q;
    }
    else {
        while (*s && *s != ' ' && *s != '\t') {
            *w++ = *s++;
        }
    }
    *w = '\0';
    *pos = s;
    return out;
}

static apr_array_header_t *split_words(char *line, apr_pool_t *p)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(char *));
    char *w;

    while ((w = next_word(&line, p)) != NULL) {
        APR_ARRAY_PUSH(words, char *) = w;
    }
    return words;
}

/* An absolute path for a path of the config (relative: under ServerRoot). */
static const char *conf_path(conf_ctx_t *c, const char *directive, const char *v)
{
    if (strstr(v, "${") != NULL) {
        oac_fail("%s: %s %s uses a variable; give the path with %s", c->o->config,
                 directive, v, strcmp(directive, "OAuthASClients") == 0 ? "-r" : "-s");
        return NULL;
    }
    if (v[0] == '/') {
        return v;
    }
    if (c->server_root == NULL) {
        oac_fail("%s: %s %s is relative and the file has no ServerRoot; give the path "
                 "with %s", c->o->config, directive, v,
                 strcmp(directive, "OAuthASClients") == 0 ? "-r" : "-s");
        return NULL;
    }
    return apr_pstrcat(c->o->p, c->server_root, "/", v, NULL);
}

static int take_scope(conf_ctx_t *c, apr_array_header_t *w, int lineno)
{
    apr_array_header_t *paths = apr_array_make(c->o->p, 2, sizeof(const char *));
    const char *err;
    int i;

    if (w->nelts < 3) {
        return oac_fail("%s:%d: OAuthASScope needs NAME \"DESCRIPTION\" [PATH...]",
                        c->o->config, lineno);
    }
    for (i = 3; i < w->nelts; i++) {
        APR_ARRAY_PUSH(paths, const char *) = APR_ARRAY_IDX(w, i, char *);
    }
    if (c->o->scope_defs == NULL) {
        c->o->scope_defs = oas_scopes_make(c->o->p);
    }
    err = oas_scopes_add(c->o->scope_defs, APR_ARRAY_IDX(w, 1, char *),
                         APR_ARRAY_IDX(w, 2, char *), paths, c->o->p);
    if (err != NULL && strstr(err, "twice") == NULL) {   /* vhosts may repeat one */
        return oac_fail("%s:%d: %s", c->o->config, lineno, err);
    }
    c->nscopes++;
    return OAC_OK;
}

static int take_line(conf_ctx_t *c, char *line, int lineno)
{
    apr_array_header_t *w = split_words(line, c->o->p);
    const char *d, *v;

    if (w->nelts == 0 || APR_ARRAY_IDX(w, 0, char *)[0] == '#') {
        return OAC_OK;
    }
    d = APR_ARRAY_IDX(w, 0, char *);
    v = w->nelts > 1 ? APR_ARRAY_IDX(w, 1, char *) : NULL;
    if (strcasecmp(d, "OAuthASScope") == 0) {
        return take_scope(c, w, lineno);
    }
    if (v == NULL) {
        return OAC_OK;
    }
    if (strcasecmp(d, "ServerRoot") == 0) {
        c->server_root = v;
    }
    else if (strcasecmp(d, "OAuthASClients") == 0 && c->registry == NULL) {
        c->registry = (v = conf_path(c, "OAuthASClients", v)) ? v : "";
    }
    else if (strcasecmp(d, "OAuthASStoreFile") == 0 && c->store == NULL) {
        c->store = (v = conf_path(c, "OAuthASStoreFile", v)) ? v : "";
    }
    return c->registry && !*c->registry ? OAC_ERROR
         : c->store && !*c->store ? OAC_ERROR : OAC_OK;
}

static int read_text(oac_opts_t *o, char **ptext)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n = 0;
    char buf[120];
    apr_status_t rv;

    rv = apr_file_open(&f, o->config, APR_FOPEN_READ, APR_OS_DEFAULT, o->p);
    if (rv == APR_SUCCESS && (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) == APR_SUCCESS) {
        rv = fi.size > CONF_MAX ? APR_EINVAL : APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        *ptext = apr_palloc(o->p, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(f, *ptext, (apr_size_t)fi.size, &n);
        rv = rv == APR_EOF ? APR_SUCCESS : rv;
        (*ptext)[n] = '\0';
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("-f %s: cannot read it: %s", o->config,
                        rv == APR_EINVAL ? "too large" : apr_strerror(rv, buf, sizeof(buf)));
    }
    apr_file_close(f);
    return OAC_OK;
}

/* Join continuation lines (a backslash at the end) in place. */
static void join_continuations(char *text)
{
    char *r = text, *w = text;

    while (*r) {
        if (r[0] == '\\' && r[1] == '\n') {
            *w++ = ' ';
            r += 2;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

int oac_read_config(oac_opts_t *o)
{
    conf_ctx_t c;
    char *text = NULL, *line, *next;
    int lineno = 0, rc;

    if (o->config == NULL) {
        return OAC_OK;
    }
    memset(&c, 0, sizeof(c));
    c.o = o;
    if ((rc = read_text(o, &text)) != OAC_OK) {
        return rc;
    }
    join_continuations(text);
    for (line = text; line; line = next) {
        if ((next = strchr(line, '\n')) != NULL) {
            *next++ = '\0';
        }
        lineno++;
        if ((rc = take_line(&c, line, lineno)) != OAC_OK) {
            return rc;
        }
    }
    o->registry = (o->given & OPT_REGISTRY) ? o->registry : c.registry;
    o->store = (o->given & OPT_STORE) ? o->store : c.store;
    if (c.nscopes == 0) {
        fprintf(stderr, "oauth-as-client: note: %s defines no scope (OAuthASScope)\n",
                o->config);
    }
    return OAC_OK;
}
