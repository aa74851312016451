/* oas_resource.h — resource indicators (RFC 8707) and token audiences
 * (SPEC §11): which `resource` values a request may name, what a token's
 * audience is, and where a protected resource's metadata document lives
 * (RFC 9728 §3.1).
 *
 * A token's audience is kept in its store record (oas_token_t.audience) as
 * the URIs separated by single spaces (a valid resource URI holds no
 * space). A record written before audiences existed has none: its audience
 * is the default resource. Read it only through oas_token_aud(). */
#ifndef OAS_RESOURCE_H
#define OAS_RESOURCE_H

#include <jansson.h>
#include "oas_proto.h"

#define OAS_RESOURCE_MAX_LEN    255   /* bytes of one resource URI */
#define OAS_RESOURCE_MAX_COUNT  4     /* distinct resources one request may name */
#define OAS_AUDIENCE_MAX        512   /* bytes of those together (space-separated): the
                                       * audience must fit a store record (OAS_ENTRY_MAX) */

#define OAS_PRM_WELL_KNOWN "/.well-known/oauth-protected-resource"

/* 1 if uri may be a resource indicator (RFC 8707 §2): an absolute URI
 * (scheme ":" ...), no fragment, no spaces, control or non-ASCII bytes, at
 * most OAS_RESOURCE_MAX_LEN bytes; http and https URIs need a host. Else 0
 * and *pwhy (may be NULL) says why. */
int oas_resource_uri_valid(const char *uri, const char **pwhy);

/* Length of uri's scheme ([A-Za-z][A-Za-z0-9+.-]* up to ':'), 0 if none. */
apr_size_t oas_uri_scheme_len(const char *uri);

/* The default audience: OAuthASDefaultResource, else the issuer. */
const char *oas_default_resource(const oas_config_t *cfg);

/* Every value of the repeatable parameter `resource` in params, in order,
 * duplicates dropped; NULL when none was sent. */
apr_array_header_t *oas_resource_params(apr_table_t *params, apr_pool_t *p);

/* Check the resources a request names (NULL or empty: none) against the
 * syntax, the declared resources (cfg->resources) and the client's
 * `resources` (NULL: every declared one), and, when within is not NULL,
 * against that earlier grant's audience (narrowing only), and the bounds
 * (OAS_RESOURCE_MAX_COUNT, OAS_AUDIENCE_MAX). On success NULL,
 * and *paud is the audience as stored: the named URIs joined by spaces, or
 * NULL when none was named. Otherwise the error_description of an
 * invalid_target answer (safe to show; it never echoes a value). */
const char *oas_resource_check(const char **paud, const oas_config_t *cfg,
                               const oas_client_t *client, const apr_array_header_t *named,
                               const char *within, apr_pool_t *p);

/* The audience of a token record: its own (old records: the default
 * resource), as a space-separated string / as a list of URIs. These are the
 * accessors: `aud` of introspection and of JWTs comes from here. */
const char *oas_token_aud_string(const oas_token_t *t, const oas_config_t *cfg);
apr_array_header_t *oas_token_aud(const oas_token_t *t, const oas_config_t *cfg,
                                  apr_pool_t *p);

/* 1 if the token's audience holds uri (exact string comparison). */
int oas_token_aud_has(const oas_token_t *t, const oas_config_t *cfg, const char *uri,
                      apr_pool_t *p);

/* `aud` as JSON (RFC 7519 §4.1.3, RFC 7662 §2.2): a string for one URI, an
 * array for several. A new reference. */
json_t *oas_aud_json(const apr_array_header_t *aud);

/* The URL-path of a protected resource's metadata document (RFC 9728 §3.1):
 * OAS_PRM_WELL_KNOWN followed by the URI's path without a terminating '/'.
 * NULL if uri is not an http(s) URI. */
const char *oas_prm_path(const char *uri, apr_pool_t *p);

/* The absolute URL of that document: the URI's scheme://authority and the
 * path above. NULL if uri is not an http(s) URI. */
const char *oas_prm_url(const char *uri, apr_pool_t *p);

/* The URL-path of an http(s) URI ("/" when it has none); NULL otherwise. */
const char *oas_uri_path(const char *uri, apr_pool_t *p);

#endif
