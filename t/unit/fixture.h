/* fixture.h — what the endpoint unit tests share (test_token, test_authorize,
 * test_resource, test_ratelimit): a pool, a temp dir, a configuration with a
 * real default store and a real registry, and request builders. Each test
 * file keeps its own clients (registry JSON), password check and extras. */
#ifndef OAS_UNIT_FIXTURE_H
#define OAS_UNIT_FIXTURE_H

#include <apr_pools.h>

#include "oas_proto.h"
#include "oas_registry.h"
#include "oas_store.h"

extern apr_pool_t *pool;            /* made by fx_setup, destroyed by fx_teardown */
extern oas_config_t cfg;            /* issuer https://as.example, the usual lifetimes */
extern oas_counters_t counters;     /* cfg.counters */
extern char tmpdir[64];             /* the store lives here */

/* The registry's "secret" field for a plain secret ({SHA}, cheap to check). */
const char *fx_sha_hash(const char *secret);

/* Parse registry JSON against cfg.scopes (the test fails if it does not parse). */
oas_registry_t *fx_registry(const char *json);

/* pool, tmpdir (/tmp/oas-unit-NAME-XXXXXX), the scopes read and write
 * (write_desc: write's description, NULL for the usual one), cfg.registry
 * from registry_json() (called once pool exists), a default store of
 * mem_entries in memory and 64 on disk. */
void fx_setup(const char *name, const char *(*registry_json)(void), const char *write_desc,
              int mem_entries);
void fx_teardown(void);

/* "Basic base64(user:pass)" */
const char *fx_basic(const char *user, const char *pass);

/* A POST over HTTPS with a form body (NULL: none) and an Authorization header
 * (NULL: none); check: the password provider (NULL: none). */
oas_http_req_t fx_form_req(const char *auth, const char *body, oas_password_fn *check);

/* The refresh tests' confidential client "app" (secret "app-secret", grant
 * password, scope read) with this refresh_limit, as registry JSON. */
const char *fx_app_registry(int refresh_limit);

/* A token request by "app" (Basic auth) whose password check grants
 * "wonderland" only; and the same for a refresh of rt. */
oas_response_t *fx_app_post(const char *body);
oas_response_t *fx_app_refresh(const char *rt);

/* The string member name of a JSON answer (NULL when absent or not a string). */
const char *fx_member(const oas_response_t *r, const char *name);

/* An access or refresh token of store s live under prefix. */
int fx_live(oas_store_t *s, const char *prefix, const char *token);

#endif
