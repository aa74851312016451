/* oas_scope.c — scope definitions (OAuthASScope) and scope strings. */
#include <string.h>

#include <apr_strings.h>

#include "oas_scope.h"

struct oas_scopes_t {
    apr_array_header_t *list;   /* oas_scope_def_t *, in order of definition */
    apr_hash_t *by_name;        /* name -> index + 1 into list (as apr_size_t in a pointer) */
};

oas_scopes_t *oas_scopes_make(apr_pool_t *p)
{
    oas_scopes_t *s = apr_pcalloc(p, sizeof(*s));

    s->list = apr_array_make(p, 8, sizeof(oas_scope_def_t *));
    s->by_name = apr_hash_make(p);
    return s;
}

static int scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

int oas_scope_token_valid(const char *name)
{
    const unsigned char *c = (const unsigned char *)name;

    if (c == NULL || *c == '\0') {
        return 0;
    }
    for (; *c != '\0'; ++c) {
        if (!scope_char(*c)) {
            return 0;
        }
    }
    return 1;
}

/* 1 if the segment [s, s+n) is "." or "..". */
static int dot_segment(const char *s, apr_size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* 1 if path has a "." or ".." segment. */
static int has_dot_segment(const char *path)
{
    const char *seg = path, *slash;

    while (seg != NULL) {
        slash = strchr(seg, '/');
        if (dot_segment(seg, slash ? (apr_size_t)(slash - seg) : strlen(seg))) {
            return 1;
        }
        seg = slash ? slash + 1 : NULL;
    }
    return 0;
}

/* NULL or why path is not a usable URL-path prefix. */
static const char *path_problem(const char *path)
{
    const unsigned char *c;

    if (path == NULL || path[0] != '/') {
        return "must start with '/'";
    }
    for (c = (const unsigned char *)path; *c != '\0'; ++c) {
        if (*c < 0x20 || *c == 0x7f) {
            return "must not contain control characters";
        }
        if (*c == '?' || *c == '#') {
            return "must not contain '?' or '#'";
        }
    }
    if (has_dot_segment(path)) {
        return "must not contain '.' or '..' segments";
    }
    return NULL;
}

/* A path as it may be quoted in a message: control bytes as \\xNN. */
static const char *printable_path(const char *path, apr_pool_t *p)
{
    apr_size_t n = strlen(path), i, o = 0;
    char *out = apr_palloc(p, 4 * n + 1);

    for (i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f) {
            apr_snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        }
        else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *copy_paths(apr_array_header_t **pout, const char *name,
                              const apr_array_header_t *paths, apr_pool_t *p)
{
    int i;
    apr_array_header_t *out = apr_array_make(p, paths ? paths->nelts : 1,
                                             sizeof(const char *));

    for (i = 0; paths != NULL && i < paths->nelts; ++i) {
        const char *path = APR_ARRAY_IDX(paths, i, const char *);
        const char *why = path_problem(path);
        if (why != NULL) {
            return apr_psprintf(p, "scope '%s': path %d '%s' %s", name, i + 1,
                                path ? printable_path(path, p) : "", why);
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, path);
    }
    *pout = out;
    return NULL;
}

static void put_def(oas_scopes_t *s, oas_scope_def_t *def)
{
    apr_size_t idx = (apr_size_t)apr_hash_get(s->by_name, def->name, APR_HASH_KEY_STRING);

    if (idx > 0) {
        APR_ARRAY_IDX(s->list, (int)idx - 1, oas_scope_def_t *) = def;
        return;
    }
    APR_ARRAY_PUSH(s->list, oas_scope_def_t *) = def;
    apr_hash_set(s->by_name, def->name, APR_HASH_KEY_STRING,
                 (void *)(apr_size_t)s->list->nelts);
}

const char *oas_scopes_add(oas_scopes_t *s, const char *name, const char *description,
                           const apr_array_header_t *paths, apr_pool_t *p)
{
    oas_scope_def_t *def;
    const char *err;

    if (!oas_scope_token_valid(name)) {
        return "invalid scope name: use printable ASCII without space, '\"' or '\\'";
    }
    if (oas_scopes_get(s, name) != NULL) {
        return apr_psprintf(p, "scope '%s' is defined twice", name);
    }
    def = apr_pcalloc(p, sizeof(*def));
    def->name = apr_pstrdup(p, name);
    def->description = apr_pstrdup(p, description ? description : "");
    if ((err = copy_paths(&def->paths, def->name, paths, p)) != NULL) {
        return err;
    }
    put_def(s, def);
    return NULL;
}

/* The merged set shares the definitions of base and add (config pools live
 * at least as long as the merged set). */
oas_scopes_t *oas_scopes_merge(apr_pool_t *p, const oas_scopes_t *base, const oas_scopes_t *add)
{
    oas_scopes_t *s = oas_scopes_make(p);
    const oas_scopes_t *from[2];
    int i, k;

    from[0] = base;
    from[1] = add;
    for (k = 0; k < 2; ++k) {
        for (i = 0; from[k] != NULL && i < from[k]->list->nelts; ++i) {
            put_def(s, APR_ARRAY_IDX(from[k]->list, i, oas_scope_def_t *));
        }
    }
    return s;
}

const oas_scope_def_t *oas_scopes_get(const oas_scopes_t *s, const char *name)
{
    apr_size_t idx;

    if (s == NULL || name == NULL) {
        return NULL;
    }
    idx = (apr_size_t)apr_hash_get(s->by_name, name, APR_HASH_KEY_STRING);
    return idx > 0 ? APR_ARRAY_IDX(s->list, (int)idx - 1, oas_scope_def_t *) : NULL;
}

const apr_array_header_t *oas_scopes_list(const oas_scopes_t *s)
{
    return s ? s->list : NULL;
}

int oas_scopes_count(const oas_scopes_t *s)
{
    return s ? s->list->nelts : 0;
}

apr_array_header_t *oas_scope_split(const char *scope, apr_pool_t *p)
{
    apr_array_header_t *out;
    const char *tok = scope, *sp;

    if (scope == NULL || scope[0] == '\0') {
        return NULL;
    }
    out = apr_array_make(p, 4, sizeof(const char *));
    while (tok != NULL) {
        char *name;
        sp = strchr(tok, ' ');
        name = sp ? apr_pstrmemdup(p, tok, (apr_size_t)(sp - tok)) : apr_pstrdup(p, tok);
        if (!oas_scope_token_valid(name)) {
            return NULL;    /* also catches empty tokens: double/leading/trailing spaces */
        }
        if (!oas_scope_in(out, name)) {
            APR_ARRAY_PUSH(out, const char *) = name;
        }
        tok = sp ? sp + 1 : NULL;
    }
    return out;
}

const char *oas_scope_join(const apr_array_header_t *scopes, apr_pool_t *p)
{
    if (scopes == NULL || scopes->nelts == 0) {
        return "";
    }
    return apr_array_pstrcat(p, scopes, ' ');
}

int oas_scope_in(const apr_array_header_t *list, const char *name)
{
    int i;

    for (i = 0; list != NULL && name != NULL && i < list->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), name) == 0) {
            return 1;
        }
    }
    return 0;
}

int oas_scope_subset(const apr_array_header_t *sub, const apr_array_header_t *super)
{
    int i;

    for (i = 0; sub != NULL && i < sub->nelts; ++i) {
        if (!oas_scope_in(super, APR_ARRAY_IDX(sub, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

int oas_path_covers(const char *prefix, const char *path)
{
    apr_size_t n;

    if (prefix == NULL || path == NULL || prefix[0] != '/' || path[0] != '/'
        || has_dot_segment(path)) {
        return 0;
    }
    n = strlen(prefix);
    while (n > 0 && prefix[n - 1] == '/') {
        --n;
    }
    if (n == 0) {
        return 1;                       /* "/" covers everything */
    }
    return strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int oas_scopes_cover_path(const oas_scopes_t *defs, const apr_array_header_t *granted,
                          const char *path)
{
    int i, j;

    for (i = 0; granted != NULL && i < granted->nelts; ++i) {
        const oas_scope_def_t *def =
            oas_scopes_get(defs, APR_ARRAY_IDX(granted, i, const char *));
        for (j = 0; def != NULL && def->paths != NULL && j < def->paths->nelts; ++j) {
            if (oas_path_covers(APR_ARRAY_IDX(def->paths, j, const char *), path)) {
                return 1;
            }
        }
    }
    return 0;
}
