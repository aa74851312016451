/* oas_cimd.h — client metadata documents (draft-ietf-oauth-client-id-metadata-document,
 * SPEC §12 last bullet): a client_id that is an https URL with a path names a
 * JSON document, fetched (oas_fetch.h) and checked by the rules of dynamic
 * registration (oas_regmeta_check) for a public client. */
#ifndef OAS_CIMD_H
#define OAS_CIMD_H

#include <apr_pools.h>
#include <jansson.h>
#include "oas_proto.h"

#define OAS_CIMD_MAX_BYTES  5120   /* 5 KiB */
#define OAS_CIMD_TIMEOUT_MS 5000
#define OAS_CIMD_CACHE_DEFAULT 300     /* seconds a document without max-age is kept */
#define OAS_CIMD_CACHE_MAX     86400   /* the longest a max-age is honoured */

/* 1 when client_id has the form of a client metadata document's URL: https,
 * a host, a path other than "/", no user info, query, fragment, dot segment,
 * space or control character, at most OAS_CLIENT_ID_MAX bytes. */
int oas_cimd_is_url(const char *client_id);

/* The metadata of a fetched document (the registered form, oas_regmeta_check),
 * or NULL and *pwhy: not JSON, client_id not exactly url, a shared secret or
 * another token_endpoint_auth_method than none, or what registration refuses. */
json_t *oas_cimd_check(const oas_config_t *cfg, const char *url, const char *body,
                       apr_size_t len, const char **pwhy, apr_pool_t *p);

/* Fetch and check the document at url (cfg->cimd must be on); NULL and *pwhy. */
json_t *oas_cimd_metadata(const oas_config_t *cfg, const char *url, const char **pwhy,
                          apr_pool_t *p);

/* Why the last document fetched with pool p was refused, or NULL (the
 * endpoints' error pages and logs; the reason holds no secret). */
const char *oas_cimd_refusal(apr_pool_t *p);

#endif
