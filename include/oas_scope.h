/* oas_scope.h — scope definitions (OAuthASScope) and scope strings. */
#ifndef OAS_SCOPE_H
#define OAS_SCOPE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>

typedef struct oas_scope_def_t {
    const char *name;
    const char *description;
    apr_array_header_t *paths;   /* const char *: URL-path prefixes, each starting with '/' */
} oas_scope_def_t;

typedef struct oas_scopes_t oas_scopes_t;

oas_scopes_t *oas_scopes_make(apr_pool_t *p);

/* Add a definition. Returns NULL or an error message: invalid name
 * (RFC 6749 §3.3 scope-token), defined twice, a path not starting with '/'
 * or containing '?', '#', "/../" segments or control characters. */
const char *oas_scopes_add(oas_scopes_t *s, const char *name, const char *description,
                           const apr_array_header_t *paths, apr_pool_t *p);

/* A new set: the definitions of base, then those of add (add wins). */
oas_scopes_t *oas_scopes_merge(apr_pool_t *p, const oas_scopes_t *base, const oas_scopes_t *add);

const oas_scope_def_t *oas_scopes_get(const oas_scopes_t *s, const char *name);
/* Definitions in the order they were added (oas_scope_def_t *). */
const apr_array_header_t *oas_scopes_list(const oas_scopes_t *s);
int oas_scopes_count(const oas_scopes_t *s);

/* 1 if name is a valid scope-token: 1*( %x21 / %x23-5B / %x5D-7E ) */
int oas_scope_token_valid(const char *name);

/* Split a space-separated scope string into its tokens (const char *),
 * duplicates removed, order kept. Returns NULL if the string is empty,
 * has a token that is not a valid scope-token, or separators other than
 * single spaces (leading/trailing/double spaces are refused). */
apr_array_header_t *oas_scope_split(const char *scope, apr_pool_t *p);

/* Join tokens with single spaces. */
const char *oas_scope_join(const apr_array_header_t *scopes, apr_pool_t *p);

/* 1 if name is in list (const char *). */
int oas_scope_in(const apr_array_header_t *list, const char *name);

/* 1 if every token of sub is in super. */
int oas_scope_subset(const apr_array_header_t *sub, const apr_array_header_t *super);

/* 1 if prefix covers path segment by segment: "/a/b" covers "/a/b",
 * "/a/b/" and "/a/b/c", not "/a/bc". "/" covers everything. A trailing
 * '/' on prefix is ignored. */
int oas_path_covers(const char *prefix, const char *path);

/* 1 if any scope in granted (names) has a path in defs covering path. */
int oas_scopes_cover_path(const oas_scopes_t *defs, const apr_array_header_t *granted,
                          const char *path);

#endif
