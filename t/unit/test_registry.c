/* test_registry.c — oas_registry: the client registry JSON and its rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_md5.h>
#include <apr_sha1.h>
#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "oas_registry.h"

#define SECRET "s3cret+pa ss"
#define SRC "clients.json"

static apr_pool_t *pool;
static oas_scopes_t *defs;
static char bcrypt_hash[128];

static void setup(void)
{
    unsigned char salt[16] = "0123456789abcdef";

    apr_pool_create(&pool, NULL);
    defs = oas_scopes_make(pool);
    oas_scopes_add(defs, "read", "Read", NULL, pool);
    oas_scopes_add(defs, "write", "Write", NULL, pool);
    if (bcrypt_hash[0] == '\0') {
        ck_assert_int_eq(apr_bcrypt_encode(SECRET, 4, salt, sizeof(salt), bcrypt_hash,
                                           sizeof(bcrypt_hash)), APR_SUCCESS);
    }
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A confidential client with every field set. */
static json_t *good_client(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:[s,s,s,s], s:[s,s], s:i, s:i, s:b, s:s}",
                     "client_id", "webapp",
                     "name", "Web App",
                     "type", "confidential",
                     "secret", bcrypt_hash,
                     "redirect_uris", "https://app.example/cb", "http://127.0.0.1:8080/cb",
                     "grant_types", "authorization_code", "client_credentials", "password",
                     "refresh_token",
                     "scopes", "read", "write",
                     "access_token_lifetime", 600,
                     "refresh_limit", -1,
                     "enabled", 0,
                     "comment", "a note");
}

static json_t *public_client(void)
{
    return json_pack("{s:s, s:s, s:[s], s:[s,s], s:[s]}",
                     "client_id", "spa", "type", "public",
                     "redirect_uris", "com.example.app:/cb",
                     "grant_types", "authorization_code", "implicit",
                     "scopes", "read");
}

/* Parse {"clients": [c1, c2...]} (steals the references). */
static apr_status_t parse_clients(oas_registry_t **preg, const char **perr, json_t *c1,
                                  json_t *c2)
{
    json_t *root = json_pack("{s:[]}", "clients");
    json_t *arr = json_object_get(root, "clients");
    char *text;
    apr_status_t rv;

    json_array_append_new(arr, c1);
    if (c2 != NULL) {
        json_array_append_new(arr, c2);
    }
    text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    rv = oas_registry_parse(preg, text, strlen(text), SRC, defs, pool, perr);
    free(text);
    return rv;
}

/* The good client with field set to value (NULL: removed); the error message. */
static const char *bad_with(json_t *client, const char *field, json_t *value)
{
    oas_registry_t *reg = (oas_registry_t *)1;
    const char *err = NULL;

    if (value != NULL) {
        json_object_set_new(client, field, value);
    }
    else {
        json_object_del(client, field);
    }
    ck_assert_int_eq(parse_clients(&reg, &err, client, NULL), APR_EINVAL);
    ck_assert_ptr_null(reg);
    ck_assert_ptr_nonnull(err);
    return err;
}

/* Assert err starts by naming file, client and field. */
#define ck_names(err, client, field) \
    ck_assert_msg(strncmp((err), SRC ": client '" client "': field '" field "': ", \
                          strlen(SRC ": client '" client "': field '" field "': ")) == 0, \
                  "unexpected message: %s", (err))

START_TEST(good_file_every_field)
{
    oas_registry_t *reg;
    const char *err = NULL;
    const oas_client_t *c;

    ck_assert_int_eq(parse_clients(&reg, &err, good_client(), public_client()), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(oas_registry_clients(reg)->nelts, 2);
    c = oas_registry_get(reg, "webapp");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(c, APR_ARRAY_IDX(oas_registry_clients(reg), 0, const oas_client_t *));
    ck_assert_str_eq(c->client_id, "webapp");
    ck_assert_str_eq(c->name, "Web App");
    ck_assert_int_eq(c->confidential, 1);
    ck_assert_str_eq(c->secret_hash, bcrypt_hash);
    ck_assert_int_eq(c->redirect_uris->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(c->redirect_uris, 1, const char *), "http://127.0.0.1:8080/cb");
    ck_assert_uint_eq(c->grants, OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_CLIENT_CREDENTIALS
                                 | OAS_GRANT_PASSWORD);
    ck_assert_int_eq(c->scopes->nelts, 2);
    ck_assert_int_eq(c->access_token_lifetime, 600);
    ck_assert_int_eq(c->refresh_limit, -1);
    ck_assert_int_eq(c->enabled, 0);
    ck_assert_ptr_nonnull(strstr(oas_registry_text(reg), "\"webapp\""));
}
END_TEST

START_TEST(defaults)
{
    oas_registry_t *reg;
    const char *err = NULL;
    const oas_client_t *c;

    ck_assert_int_eq(parse_clients(&reg, &err, public_client(), NULL), APR_SUCCESS);
    c = oas_registry_get(reg, "spa");
    ck_assert_str_eq(c->name, "spa");
    ck_assert_int_eq(c->confidential, 0);
    ck_assert_ptr_null(c->secret_hash);
    ck_assert_uint_eq(c->grants, OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_IMPLICIT);
    ck_assert_int_eq(c->access_token_lifetime, -1);
    ck_assert_int_eq(c->refresh_limit, 0);
    ck_assert_int_eq(c->enabled, 1);
    ck_assert_ptr_null(oas_registry_get(reg, "webapp"));
    ck_assert_ptr_null(oas_registry_get(reg, NULL));
    ck_assert_ptr_null(oas_registry_get(NULL, "spa"));
}
END_TEST

START_TEST(minimal_and_empty)
{
    oas_registry_t *reg;
    const char *err = NULL;
    const char *t1 = "{\"clients\": [], \"comment\": \"none yet\"}";
    const char *t2 = "{\"clients\": [{\"client_id\": \"svc\", \"type\": \"confidential\", "
                     "\"secret\": \"{SHA}YWXIkDPDfrJ6I4yV+0kqTJdT5SE=\", "
                     "\"grant_types\": [\"client_credentials\"]}]}";

    ck_assert_int_eq(oas_registry_parse(&reg, t1, strlen(t1), SRC, defs, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_registry_clients(reg)->nelts, 0);
    ck_assert_int_eq(oas_registry_parse(&reg, t2, strlen(t2), SRC, defs, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "svc")->scopes->nelts, 0);
    ck_assert_int_eq(oas_registry_get(reg, "svc")->redirect_uris->nelts, 0);
}
END_TEST

START_TEST(json_syntax_error)
{
    oas_registry_t *reg;
    const char *err = NULL;
    const char *t = "{\"clients\": [\n  {\"client_id\": \"a\",\n   \"type\" \"public\"}\n]}";

    ck_assert_int_eq(oas_registry_parse(&reg, t, strlen(t), SRC, defs, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, SRC ": JSON syntax error at line 3, column"));
    t = "{\"clients\": [], \"clients\": []}";       /* duplicate key */
    ck_assert_int_eq(oas_registry_parse(&reg, t, strlen(t), SRC, defs, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    ck_assert_int_eq(oas_registry_parse(&reg, "", 0, SRC, defs, pool, &err), APR_EINVAL);
    ck_assert_int_eq(oas_registry_parse(&reg, NULL, 0, SRC, defs, pool, &err), APR_EINVAL);
}
END_TEST

/* token_endpoint_auth_method, jwks, dpop_bound_access_tokens (SPEC §3) */
#define PUB_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\"," \
    "\"x\":\"VMBl4NQ44AdWnmJ5PcMVkWODTOhNXS4SjB5CsMYzMzc\"," \
    "\"y\":\"JnYgR0UVyCw-5UwZF_0Gqg9Rq7vUesLnNokH8m4zk1g\"}"

static json_t *pkj_client(void)
{
    json_t *c = good_client();
    json_object_del(c, "secret");
    json_object_set_new(c, "token_endpoint_auth_method", json_string("private_key_jwt"));
    json_object_set_new(c, "jwks", json_pack("{s:[o]}", "keys", json_loads(PUB_JWK, 0, NULL)));
    return c;
}

START_TEST(auth_method_rules)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;
    const oas_client_t *c;
    json_t *priv = json_loads(PUB_JWK, 0, NULL);

    ck_assert_int_eq(parse_clients(&reg, &err, pkj_client(), public_client()), APR_SUCCESS);
    c = oas_registry_get(reg, "webapp");
    ck_assert_int_eq(c->auth_method, OAS_AUTH_PRIVATE_KEY_JWT);
    ck_assert_ptr_nonnull(c->jwks);
    ck_assert_ptr_null(c->secret_hash);
    ck_assert_int_eq(oas_registry_get(reg, "spa")->auth_method, OAS_AUTH_NONE);
    ck_assert_int_eq(parse_clients(&reg, &err, good_client(), NULL), APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "webapp")->auth_method, OAS_AUTH_CLIENT_SECRET_BASIC);
    ck_assert_int_eq(oas_registry_get(reg, "webapp")->dpop_bound, 0);

    ck_names(bad_with(good_client(), "token_endpoint_auth_method", json_string("tls_client_authx")),
             "webapp", "token_endpoint_auth_method");
    ck_names(bad_with(good_client(), "token_endpoint_auth_method", json_string("tls_client_auth")),
             "webapp", "secret");
    ck_names(bad_with(good_client(), "token_endpoint_auth_method", json_string("none")),
             "webapp", "token_endpoint_auth_method");
    ck_names(bad_with(public_client(), "token_endpoint_auth_method",
                      json_string("client_secret_post")), "spa", "token_endpoint_auth_method");
    ck_names(bad_with(pkj_client(), "jwks", NULL), "webapp", "jwks");
    ck_names(bad_with(pkj_client(), "jwks", json_pack("{s:[]}", "keys")), "webapp", "jwks");
    ck_names(bad_with(pkj_client(), "jwks", json_pack("{s:[{s:s,s:s}]}", "keys", "kty", "oct",
                                                      "k", "c2VjcmV0")), "webapp", "jwks");
    json_object_set_new(priv, "d", json_string("3C55rZvTE2HGnjziHo3-CiyX5F-YvYJo3EK1sDcbg6I"));
    err = bad_with(pkj_client(), "jwks", json_pack("{s:[o]}", "keys", priv));
    ck_names(err, "webapp", "jwks");
    ck_assert_ptr_nonnull(strstr(err, "private"));
    ck_names(bad_with(good_client(), "jwks", json_pack("{s:[o]}", "keys",
                                                       json_loads(PUB_JWK, 0, NULL))),
             "webapp", "jwks");
    ck_names(bad_with(pkj_client(), "secret", json_string(bcrypt_hash)), "webapp", "secret");
    ck_names(bad_with(good_client(), "dpop_bound_access_tokens", json_string("yes")),
             "webapp", "dpop_bound_access_tokens");
}
END_TEST

/* RFC 8705: tls_client_auth needs its DN, self_signed_tls_client_auth x5c
 * certificates in jwks; neither takes a secret */
#define SS_X5C "MIIBnDCCAUKgAwIBAgIUM8D+Wby73dQqnjSM23Rrx6/ZhacwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJc3MtY2xpZW50MB4XDTI2MTIwMzE0MjE1N1oXDTM2MTEzMDE0MjE1N1owFDESMBAGA1UEAwwJc3MtY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAaRxCA3vS8XU2xKzuxq9pOwEdgHEX96cTTlSI3ng7H+U69F2B1R6gi3r5ctA2vojvDtRuZ0z87XcNMI9bh++nKNyMHAwHQYDVR0OBBYEFJdPJf1Io48XanwvYxXI3iFFxoNfMB8GA1UdIwQYMBaAFJdPJf1Io48XanwvYxXI3iFFxoNfMAwGA1UdEwEB/wQCMAAwCwYDVR0PBAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMAoGCCqGSM49BAMCA0gAMEUCIQDEigzROV8AsqF6FwGfKUPhVBRVCXdl4kWcJiwvXZ71SAIgZ1S9Yo/C4zfKrjgbw4vtmWrHa+ewCdlTWA52C5bhZis="

static json_t *tls_client(const char *method)
{
    json_t *c = good_client();
    json_object_del(c, "secret");
    json_object_set_new(c, "token_endpoint_auth_method", json_string(method));
    if (strcmp(method, "tls_client_auth") == 0) {
        json_object_set_new(c, "tls_client_auth_subject_dn", json_string("CN=webapp,O=Ex"));
    }
    else {
        json_t *k = json_loads(PUB_JWK, 0, NULL);
        json_object_set_new(k, "x5c", json_pack("[s]", SS_X5C));
        json_object_set_new(c, "jwks", json_pack("{s:[o]}", "keys", k));
    }
    json_object_set_new(c, "tls_client_certificate_bound_access_tokens", json_true());
    return c;
}

START_TEST(mtls_rules)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;
    const oas_client_t *c;

    ck_assert_int_eq(parse_clients(&reg, &err, tls_client("tls_client_auth"), NULL),
                     APR_SUCCESS);
    c = oas_registry_get(reg, "webapp");
    ck_assert_int_eq(c->auth_method, OAS_AUTH_TLS_CLIENT_AUTH);
    ck_assert_str_eq(c->tls_subject_dn, "CN=webapp,O=Ex");
    ck_assert_int_eq(c->tls_bound, 1);
    ck_assert_ptr_null(c->secret_hash);
    ck_assert_int_eq(parse_clients(&reg, &err, tls_client("self_signed_tls_client_auth"), NULL),
                     APR_SUCCESS);
    c = oas_registry_get(reg, "webapp");
    ck_assert_int_eq(c->auth_method, OAS_AUTH_SELF_SIGNED_TLS);
    ck_assert_ptr_nonnull(c->jwks);
    ck_assert_int_eq(oas_registry_get(reg, "webapp")->tls_bound, 1);

    ck_names(bad_with(tls_client("tls_client_auth"), "tls_client_auth_subject_dn", NULL),
             "webapp", "tls_client_auth_subject_dn");
    ck_names(bad_with(tls_client("tls_client_auth"), "tls_client_auth_subject_dn",
                      json_string("webapp")), "webapp", "tls_client_auth_subject_dn");
    ck_names(bad_with(good_client(), "tls_client_auth_subject_dn", json_string("CN=a")),
             "webapp", "tls_client_auth_subject_dn");
    ck_names(bad_with(tls_client("tls_client_auth"), "secret", json_string(bcrypt_hash)),
             "webapp", "secret");
    ck_names(bad_with(tls_client("self_signed_tls_client_auth"), "jwks", NULL),
             "webapp", "jwks");
    ck_names(bad_with(tls_client("self_signed_tls_client_auth"), "jwks",
                      json_pack("{s:[o]}", "keys", json_loads(PUB_JWK, 0, NULL))),
             "webapp", "jwks");
    ck_names(bad_with(tls_client("tls_client_auth"), "tls_client_certificate_bound_access_tokens",
                      json_string("yes")), "webapp", "tls_client_certificate_bound_access_tokens");
    ck_names(bad_with(tls_client("tls_client_auth"), "type", json_string("public")),
             "webapp", "token_endpoint_auth_method");
}
END_TEST

START_TEST(top_level_rules)
{
    oas_registry_t *reg;
    const char *err = NULL;
    static const char *const BAD[] = {
        "[]", "{}", "{\"clients\": {}}", "{\"clients\": null}",
        "{\"clients\": [], \"client\": []}", "{\"clients\": [42]}",
    };
    int i;

    for (i = 0; i < (int)(sizeof(BAD) / sizeof(BAD[0])); ++i) {
        ck_assert_int_eq(oas_registry_parse(&reg, BAD[i], strlen(BAD[i]), SRC, defs, pool,
                                            &err), APR_EINVAL);
        ck_assert_msg(strncmp(err, SRC ": ", strlen(SRC) + 2) == 0, "%s", err);
    }
    ck_assert_ptr_nonnull(strstr(err, "client #1"));
    oas_registry_parse(&reg, BAD[4], strlen(BAD[4]), SRC, defs, pool, &err);
    ck_assert_ptr_nonnull(strstr(err, "'client'"));
}
END_TEST

START_TEST(client_id_rules)
{
    const char *err;

    err = bad_with(good_client(), "client_id", NULL);
    ck_assert_msg(strstr(err, SRC ": client #1: field 'client_id': is required") == err, "%s",
                  err);
    err = bad_with(good_client(), "client_id", json_integer(5));
    ck_assert_ptr_nonnull(strstr(err, "client #1: field 'client_id'"));
    err = bad_with(good_client(), "client_id", json_string(""));
    ck_assert_ptr_nonnull(strstr(err, "field 'client_id'"));
    err = bad_with(good_client(), "client_id", json_string("web app"));
    ck_assert_ptr_nonnull(strstr(err, "field 'client_id'"));
    err = bad_with(good_client(), "client_id", json_string("web:app"));
    ck_assert_ptr_nonnull(strstr(err, "field 'client_id'"));
    err = bad_with(good_client(), "client_id", json_string("caf\xc3\xa9"));
    ck_assert_ptr_nonnull(strstr(err, "field 'client_id'"));
    err = bad_with(good_client(), "client_id", json_string(apr_psprintf(pool, "%0129d", 0)));
    ck_assert_ptr_nonnull(strstr(err, "field 'client_id'"));
}
END_TEST

START_TEST(client_id_max_length)
{
    oas_registry_t *reg;
    const char *err = NULL;
    json_t *c = good_client();
    const char *id = apr_psprintf(pool, "%0128d", 0);

    json_object_set_new(c, "client_id", json_string(id));
    ck_assert_int_eq(parse_clients(&reg, &err, c, NULL), APR_SUCCESS);
    ck_assert_ptr_nonnull(oas_registry_get(reg, id));
}
END_TEST

START_TEST(duplicate_client_ids)
{
    oas_registry_t *reg;
    const char *err = NULL;

    ck_assert_int_eq(parse_clients(&reg, &err, good_client(), good_client()), APR_EINVAL);
    ck_names(err, "webapp", "client_id");
    ck_assert_ptr_nonnull(strstr(err, "unique"));
}
END_TEST

START_TEST(name_rules)
{
    const char *err;

    err = bad_with(good_client(), "name", json_true());
    ck_names(err, "webapp", "name");
    err = bad_with(good_client(), "name", json_string("Web\nApp"));
    ck_names(err, "webapp", "name");
    err = bad_with(good_client(), "name", json_string(""));
    ck_names(err, "webapp", "name");
    err = bad_with(good_client(), "name", json_string(apr_psprintf(pool, "%0201d", 0)));
    ck_names(err, "webapp", "name");
}
END_TEST

START_TEST(type_rules)
{
    const char *err;

    err = bad_with(good_client(), "type", NULL);
    ck_names(err, "webapp", "type");
    err = bad_with(good_client(), "type", json_string("Confidential"));
    ck_names(err, "webapp", "type");
    err = bad_with(good_client(), "type", json_integer(1));
    ck_names(err, "webapp", "type");
}
END_TEST

START_TEST(confidential_without_secret)
{
    const char *err = bad_with(good_client(), "secret", NULL);

    ck_names(err, "webapp", "secret");
    ck_assert_ptr_nonnull(strstr(err, "required"));
}
END_TEST

START_TEST(public_with_secret)
{
    const char *err = bad_with(public_client(), "secret", json_string(bcrypt_hash));

    ck_names(err, "spa", "secret");
    ck_assert_ptr_nonnull(strstr(err, "public"));
}
END_TEST

START_TEST(plain_text_secret)
{
    const char *err = bad_with(good_client(), "secret", json_string("hunter2"));

    ck_assert_msg(strcmp(err, SRC ": client 'webapp': field 'secret': must be a password hash "
                         "(htpasswd -B, -s or -m output), not a plain secret; make one with "
                         "'htpasswd -nbB webapp SECRET' and use the part after the ':'")
                  == 0, "%s", err);
    ck_assert_ptr_null(strstr(err, "hunter2"));
    err = bad_with(good_client(), "secret", json_string("$2y$04$truncated"));
    ck_names(err, "webapp", "secret");
    err = bad_with(good_client(), "secret", json_string("{SHA}abc"));
    ck_names(err, "webapp", "secret");
    err = bad_with(good_client(), "secret", json_string("$apr1$nodollar"));
    ck_names(err, "webapp", "secret");
    err = bad_with(good_client(), "secret", json_string(""));
    ck_names(err, "webapp", "secret");
    err = bad_with(good_client(), "secret", json_integer(1));
    ck_names(err, "webapp", "secret");
}
END_TEST

START_TEST(redirect_uri_rules)
{
    static const char *const BAD[] = {
        "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "vbscript:x",
        "file:///etc/passwd", "https://app.example/cb#frag", "http://app.example/cb",
        "/relative/cb", "app.example/cb", "https://app.example/c b", "https://app.example/\x01",
        "https:///cb", "https:app.example", "", "https://user@app.example/cb",
        "https://app.example:port/cb", "1http://x", "http://localhost.evil.example/cb",
    };
    int i;

    for (i = 0; i < (int)(sizeof(BAD) / sizeof(BAD[0])); ++i) {
        const char *err = bad_with(good_client(), "redirect_uris",
                                   json_pack("[s]", BAD[i]));
        ck_names(err, "webapp", "redirect_uris");
        ck_assert_ptr_nonnull(strstr(err, "entry 1: "));
    }
}
END_TEST

START_TEST(redirect_uri_valid_fn)
{
    const char *why;
    char *big;

    ck_assert(oas_redirect_uri_valid("https://app.example/cb?x=1", &why));
    ck_assert_ptr_null(why);
    ck_assert(oas_redirect_uri_valid("https://app.example", NULL));
    ck_assert(oas_redirect_uri_valid("https://app.example:8443/cb", NULL));
    ck_assert(oas_redirect_uri_valid("https://[2001:db8::1]:8443/cb", NULL));
    ck_assert(oas_redirect_uri_valid("http://localhost/cb", NULL));
    ck_assert(oas_redirect_uri_valid("http://LOCALHOST:3000/cb", NULL));
    ck_assert(oas_redirect_uri_valid("http://127.0.0.1/cb", NULL));
    ck_assert(oas_redirect_uri_valid("http://[::1]:9000/cb", NULL));
    ck_assert(oas_redirect_uri_valid("com.example.app:/oauth2redirect", NULL));
    ck_assert(!oas_redirect_uri_valid("http://10.0.0.1/cb", &why));
    ck_assert_ptr_nonnull(strstr(why, "localhost"));
    ck_assert(!oas_redirect_uri_valid("http://127.0.0.1.evil/cb", NULL));
    ck_assert(!oas_redirect_uri_valid("https://app.example/\xc3\xa9", NULL));
    ck_assert(!oas_redirect_uri_valid("https://app.example/cb#", NULL));
    ck_assert(!oas_redirect_uri_valid("com.example.app:", NULL));
    ck_assert(!oas_redirect_uri_valid("https://[::1/cb", NULL));
    ck_assert(!oas_redirect_uri_valid("https://[]/cb", NULL));
    ck_assert(!oas_redirect_uri_valid("https://app.example:/cb", NULL));
    ck_assert(!oas_redirect_uri_valid(NULL, &why));
    big = apr_pstrcat(pool, "https://app.example/", apr_psprintf(pool, "%0493d", 0), NULL);
    ck_assert_uint_eq(strlen(big), OAS_REDIRECT_URI_MAX + 1);
    ck_assert(!oas_redirect_uri_valid(big, NULL));
    big[OAS_REDIRECT_URI_MAX] = '\0';
    ck_assert(oas_redirect_uri_valid(big, NULL));
}
END_TEST

START_TEST(redirect_uris_duplicates_and_type)
{
    const char *err;

    err = bad_with(good_client(), "redirect_uris",
                   json_pack("[s,s]", "https://a.example/cb", "https://a.example/cb"));
    ck_names(err, "webapp", "redirect_uris");
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    err = bad_with(good_client(), "redirect_uris", json_string("https://a.example/cb"));
    ck_names(err, "webapp", "redirect_uris");
    err = bad_with(good_client(), "redirect_uris", json_pack("[i]", 1));
    ck_names(err, "webapp", "redirect_uris");
}
END_TEST

START_TEST(redirect_uris_required)
{
    const char *err;

    err = bad_with(good_client(), "redirect_uris", NULL);
    ck_names(err, "webapp", "redirect_uris");
    err = bad_with(public_client(), "redirect_uris", json_array());
    ck_names(err, "spa", "redirect_uris");
}
END_TEST

START_TEST(grant_types_rules)
{
    const char *err;

    err = bad_with(good_client(), "grant_types", NULL);
    ck_names(err, "webapp", "grant_types");
    err = bad_with(good_client(), "grant_types", json_array());
    ck_names(err, "webapp", "grant_types");
    err = bad_with(good_client(), "grant_types", json_pack("[s]", "refresh_token"));
    ck_names(err, "webapp", "grant_types");
    err = bad_with(good_client(), "grant_types", json_pack("[s]", "jwt_bearer"));
    ck_names(err, "webapp", "grant_types");
    ck_assert_ptr_nonnull(strstr(err, "'jwt_bearer'"));
    err = bad_with(good_client(), "grant_types",
                   json_pack("[s,s]", "authorization_code", "authorization_code"));
    ck_names(err, "webapp", "grant_types");
    err = bad_with(good_client(), "grant_types", json_string("authorization_code"));
    ck_names(err, "webapp", "grant_types");
}
END_TEST

START_TEST(client_credentials_on_public)
{
    const char *err;

    err = bad_with(public_client(), "grant_types", json_pack("[s]", "client_credentials"));
    ck_names(err, "spa", "grant_types");
    ck_assert_ptr_nonnull(strstr(err, "confidential"));
    err = bad_with(public_client(), "grant_types",
                   json_pack("[s,s]", "authorization_code", "password"));
    ck_names(err, "spa", "grant_types");
}
END_TEST

START_TEST(scopes_rules)
{
    const char *err;
    oas_registry_t *reg;
    json_t *c;

    err = bad_with(good_client(), "scopes", json_pack("[s]", "delete"));
    ck_names(err, "webapp", "scopes");
    ck_assert_ptr_nonnull(strstr(err, "'delete'"));
    err = bad_with(good_client(), "scopes", json_pack("[s]", "re ad"));
    ck_names(err, "webapp", "scopes");
    err = bad_with(good_client(), "scopes", json_pack("[s,s]", "read", "read"));
    ck_names(err, "webapp", "scopes");
    err = bad_with(good_client(), "scopes", json_string("read"));
    ck_names(err, "webapp", "scopes");
    /* scopes NULL: the definitions are not checked */
    c = good_client();
    json_object_set_new(c, "scopes", json_pack("[s]", "delete"));
    {
        json_t *root = json_pack("{s:[o]}", "clients", c);
        char *text = json_dumps(root, 0);
        ck_assert_int_eq(oas_registry_parse(&reg, text, strlen(text), SRC, NULL, pool, &err),
                         APR_SUCCESS);
        free(text);
        json_decref(root);
    }
}
END_TEST

START_TEST(numbers_and_enabled)
{
    const char *err;

    err = bad_with(good_client(), "access_token_lifetime", json_integer(-1));
    ck_names(err, "webapp", "access_token_lifetime");
    err = bad_with(good_client(), "access_token_lifetime", json_real(1.5));
    ck_names(err, "webapp", "access_token_lifetime");
    err = bad_with(good_client(), "access_token_lifetime", json_string("3600"));
    ck_names(err, "webapp", "access_token_lifetime");
    err = bad_with(good_client(), "refresh_limit", json_integer(-2));
    ck_names(err, "webapp", "refresh_limit");
    err = bad_with(good_client(), "refresh_limit", json_integer(1LL << 40));
    ck_names(err, "webapp", "refresh_limit");
    err = bad_with(good_client(), "refresh_limit", json_true());
    ck_names(err, "webapp", "refresh_limit");
    err = bad_with(good_client(), "enabled", json_string("yes"));
    ck_names(err, "webapp", "enabled");
    err = bad_with(good_client(), "enabled", json_integer(1));
    ck_names(err, "webapp", "enabled");
}
END_TEST

/* access_token_format (SPEC §3, §10): opaque or jwt; a JWT must expire */
START_TEST(access_token_format_rules)
{
    oas_registry_t *reg = NULL;
    const char *err = NULL;
    json_t *c = good_client(), *d = public_client();
    const char *why;

    json_object_set_new(c, "access_token_format", json_string("jwt"));
    json_object_set_new(d, "access_token_format", json_string("opaque"));
    ck_assert_int_eq(parse_clients(&reg, &err, c, d), APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "webapp")->access_token_format, 1);
    ck_assert_int_eq(oas_registry_get(reg, "spa")->access_token_format, 0);
    ck_assert_int_eq(parse_clients(&reg, &err, good_client(), NULL), APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "webapp")->access_token_format, -1);
    why = bad_with(good_client(), "access_token_format", json_string("JWT"));
    ck_names(why, "webapp", "access_token_format");
    why = bad_with(good_client(), "access_token_format", json_true());
    ck_names(why, "webapp", "access_token_format");
    c = good_client();
    json_object_set_new(c, "access_token_lifetime", json_integer(0));
    why = bad_with(c, "access_token_format", json_string("jwt"));
    ck_names(why, "webapp", "access_token_format");
    ck_assert_ptr_nonnull(strstr(why, "a JWT must expire"));
}
END_TEST

START_TEST(unknown_field)
{
    const char *err = bad_with(good_client(), "redirect_uri", json_string("https://x/cb"));

    ck_assert_msg(strncmp(err, SRC ": client 'webapp': unknown field 'redirect_uri'",
                          strlen(SRC ": client 'webapp': unknown field 'redirect_uri'")) == 0,
                  "%s", err);
}
END_TEST

START_TEST(implicit_with_refresh_limit)
{
    oas_registry_t *reg;
    const char *err = NULL;
    json_t *c = public_client();

    json_object_set_new(c, "refresh_limit", json_integer(5));
    json_object_set_new(c, "access_token_lifetime", json_integer(0));
    ck_assert_int_eq(parse_clients(&reg, &err, c, NULL), APR_SUCCESS);
    ck_assert_int_eq(oas_registry_get(reg, "spa")->refresh_limit, 5);
    ck_assert_int_eq(oas_registry_get(reg, "spa")->access_token_lifetime, 0);
}
END_TEST

START_TEST(grant_names)
{
    ck_assert_uint_eq(oas_grant_from_name("authorization_code"), OAS_GRANT_AUTHORIZATION_CODE);
    ck_assert_uint_eq(oas_grant_from_name("implicit"), OAS_GRANT_IMPLICIT);
    ck_assert_uint_eq(oas_grant_from_name("client_credentials"), OAS_GRANT_CLIENT_CREDENTIALS);
    ck_assert_uint_eq(oas_grant_from_name("password"), OAS_GRANT_PASSWORD);
    ck_assert_uint_eq(oas_grant_from_name("refresh_token"), OAS_GRANT_REFRESH_TOKEN);
    ck_assert_uint_eq(oas_grant_from_name("urn:ietf:params:oauth:grant-type:device_code"),
                      OAS_GRANT_DEVICE_CODE);
    ck_assert_uint_eq(oas_grant_from_name("device_code"), OAS_GRANT_DEVICE_CODE);
    ck_assert_str_eq(oas_grant_name(OAS_GRANT_DEVICE_CODE),
                     "urn:ietf:params:oauth:grant-type:device_code");
    ck_assert_uint_eq(oas_grant_from_name("Password"), 0);
    ck_assert_uint_eq(oas_grant_from_name(NULL), 0);
    ck_assert_str_eq(oas_grant_name(OAS_GRANT_IMPLICIT), "implicit");
    ck_assert_str_eq(oas_grant_name(OAS_GRANT_REFRESH_TOKEN), "refresh_token");
    ck_assert_ptr_null(oas_grant_name(0x40));
}
END_TEST

/* A registry with one confidential client whose secret hash is hash. */
static const oas_client_t *client_with_hash(const char *hash)
{
    oas_registry_t *reg;
    const char *err = NULL;
    json_t *c = good_client();

    json_object_set_new(c, "secret", json_string(hash));
    ck_assert_int_eq(parse_clients(&reg, &err, c, NULL), APR_SUCCESS);
    return oas_registry_get(reg, "webapp");
}

static void check_hash(const char *hash, const char *right)
{
    const oas_client_t *c = client_with_hash(hash);

    ck_assert_msg(oas_client_check_secret(c, right), "%s should accept", hash);
    ck_assert(!oas_client_check_secret(c, "wrong"));
    ck_assert(!oas_client_check_secret(c, ""));
    ck_assert(!oas_client_check_secret(c, NULL));
}

START_TEST(secret_bcrypt)
{
    char alt[128];

    check_hash(bcrypt_hash, SECRET);
    /* made with: htpasswd -nbB -C 4 x 's3cret!' */
    check_hash("$2y$04$Efl2tLqTYe6l1JjinFyZHexCLP.HdklEdQsyypfuCuWWTmNWsb0vm", "s3cret!");
    apr_cpystrn(alt, bcrypt_hash, sizeof(alt));
    alt[2] = 'b';                                   /* $2b$ through crypt() */
    check_hash(alt, SECRET);
    alt[2] = 'a';
    check_hash(alt, SECRET);
}
END_TEST

START_TEST(secret_sha1_md5_crypt)
{
    char sha[64], md5[128];

    apr_sha1_base64(SECRET, (int)strlen(SECRET), sha);
    check_hash(sha, SECRET);
    ck_assert_int_eq(apr_md5_encode(SECRET, "$apr1$abcdefgh", md5, sizeof(md5)), APR_SUCCESS);
    check_hash(md5, SECRET);
    /* htpasswd -nbs / -nbm x 's3cret!' */
    check_hash("{SHA}YWXIkDPDfrJ6I4yV+0kqTJdT5SE=", "s3cret!");
    check_hash("$apr1$THIJzT/W$rLVQBCCBsCBpHa1nNxqG91", "s3cret!");
    /* openssl passwd -5 / -6 -salt saltsalt 's3cret!' */
    check_hash("$5$saltsalt$ywm3fh9hlsnP3CjHIq/FB4.Fd4RXGIh17PjuacBS6v7", "s3cret!");
    check_hash("$6$saltsalt$uaQDPpNNmpqQqJ6NPTrhPhecelxJnfkYy3xGzbwpPmNcWNMBXnFVaqXW01bxhKcx6"
               "FdLrrY9EcKr6IS/gAfGN.", "s3cret!");
}
END_TEST

START_TEST(secret_public_never)
{
    oas_registry_t *reg;
    const char *err = NULL;

    ck_assert_int_eq(parse_clients(&reg, &err, public_client(), NULL), APR_SUCCESS);
    ck_assert(!oas_client_check_secret(oas_registry_get(reg, "spa"), ""));
    ck_assert(!oas_client_check_secret(oas_registry_get(reg, "spa"), SECRET));
    ck_assert(!oas_client_check_secret(NULL, SECRET));
}
END_TEST

/* ---- the dummy hash of unknown client ids (issue 12 item 7) ---------------- */

#define COST12 "$2y$12$IrqkLlUAi4SadsE3O6kfR.Xrfh8a9D9SdnplIAflMzJL/5XWnMGqi"
#define COST8  "$2y$08$J2D1Jj1ZYj3eypVOlEMnPuUn6e0fKAqDOqprdE2DmmKg.to4f15iK"   /* mid-secret */
#define COST4  "$2y$04$VTOc2Kawf7q9dNPRzH1TSegUVz7tdM7FCXidkZyCRFMaj0RI55jp."
#define SHA6R  "$6$rounds=200000$saltsalt$uaQDPpNNmpqQqJ6NPTrhPhecelxJnfkYy3xGzbwpPmNcWNMBX" \
               "nFVaqXW01bxhKcx6FdLrrY9EcKr6IS/gAfGN."

/* The dummy hash of a registry of confidential clients with these hashes. */
static const char *dummy_of(const char *const *hashes, int n)
{
    const char *text = "{\"clients\": [", *err = NULL;
    oas_registry_t *reg = NULL;
    int i;

    for (i = 0; i < n; i++) {
        text = apr_psprintf(pool, "%s%s{\"client_id\":\"c%d\",\"type\":\"confidential\","
                            "\"secret\":\"%s\",\"grant_types\":[\"client_credentials\"]}",
                            text, i ? "," : "", i, hashes[i]);
    }
    text = apr_pstrcat(pool, text, "]}", NULL);
    ck_assert_msg(oas_registry_parse(&reg, text, strlen(text), SRC, NULL, pool, &err)
                  == APR_SUCCESS, "%s", err ? err : "?");
    return oas_registry_dummy_hash(reg);
}

/* The costliest secret sets the cost; never a client's own bcrypt hash;
 * never below cost-5 bcrypt; no secret passes it. */
START_TEST(dummy_hash_follows_costliest)
{
    const char *mixed[] = { COST4, "{SHA}YWXIkDPDfrJ6I4yV+0kqTJdT5SE=", COST12, COST8 };
    const char *cheap[] = { COST4, "$apr1$THIJzT/W$rLVQBCCBsCBpHa1nNxqG91" };
    const char *sha6[] = { COST8, SHA6R };
    const char *d = dummy_of(mixed, 4);

    ck_assert_int_eq(strncmp(d, "$2y$12$", 7), 0);
    ck_assert_uint_eq(strlen(d), 60);
    ck_assert_str_ne(d + 7, COST12 + 7);
    ck_assert_int_eq(strncmp(dummy_of(mixed + 3, 1), "$2y$08$", 7), 0);
    ck_assert_int_eq(strncmp(dummy_of(cheap, 2), "$2y$05$", 7), 0);    /* the floor */
    ck_assert_int_eq(strncmp(dummy_of(NULL, 0), "$2y$05$", 7), 0);
    ck_assert_int_eq(strncmp(oas_registry_dummy_hash(NULL), "$2y$05$", 7), 0);
    ck_assert_str_eq(dummy_of(sha6, 2), SHA6R);     /* 200000 SHA-512 rounds cost more */
    ck_assert_int_ne(apr_password_validate("mid-secret", dummy_of(mixed + 3, 1)), APR_SUCCESS);
    ck_assert_int_ne(apr_password_validate("", dummy_of(mixed + 3, 1)), APR_SUCCESS);
}
END_TEST

static double secs_of_check(const char *secret, const char *hash)
{
    apr_time_t t0 = apr_time_now();

    ck_assert_int_ne(apr_password_validate(secret, hash), APR_SUCCESS);
    return (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* What the check of an unknown id costs: about a known cost-8 client's
 * wrong secret (medians of 5, interleaved; at least half, a loaded
 * machine's noise allowed for), far above cost 5 (an eighth). */
START_TEST(dummy_hash_costs_as_much)
{
    const char *one[] = { COST8 };
    const char *d = dummy_of(one, 1);
    double known[5], unknown[5];
    int i;

    for (i = 0; i < 5; i++) {
        known[i] = secs_of_check("wrong", COST8);
        unknown[i] = secs_of_check("wrong", d);
    }
    qsort(known, 5, sizeof(double), cmp_double);
    qsort(unknown, 5, sizeof(double), cmp_double);
    ck_assert_msg(unknown[2] >= known[2] / 2, "unknown %.4f s, known %.4f s",
                  unknown[2], known[2]);
}
END_TEST

START_TEST(load_file)
{
    oas_registry_t *reg;
    const char *err = NULL;
    char path[] = "/tmp/oas_test_registry_XXXXXX";
    int fd = mkstemp(path);
    json_t *root = json_pack("{s:[o]}", "clients", public_client());
    char *text = json_dumps(root, 0);
    apr_status_t rv;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    rv = oas_registry_load(&reg, path, defs, pool, &err);
    unlink(path);
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_ptr_nonnull(oas_registry_get(reg, "spa"));
    ck_assert_str_eq(oas_registry_text(reg), text);
    free(text);
    json_decref(root);
    rv = oas_registry_load(&reg, "/nonexistent/clients.json", defs, pool, &err);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_ptr_null(reg);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/clients.json: cannot read"));
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, good_file_every_field);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, minimal_and_empty);
    tcase_add_test(tc, json_syntax_error);
    tcase_add_test(tc, top_level_rules);
    tcase_add_test(tc, client_id_rules);
    tcase_add_test(tc, client_id_max_length);
    tcase_add_test(tc, duplicate_client_ids);
    tcase_add_test(tc, name_rules);
    tcase_add_test(tc, type_rules);
    tcase_add_test(tc, confidential_without_secret);
    tcase_add_test(tc, public_with_secret);
    tcase_add_test(tc, plain_text_secret);
    tcase_add_test(tc, redirect_uri_rules);
    tcase_add_test(tc, redirect_uri_valid_fn);
    tcase_add_test(tc, redirect_uris_duplicates_and_type);
    tcase_add_test(tc, redirect_uris_required);
    tcase_add_test(tc, grant_types_rules);
    tcase_add_test(tc, client_credentials_on_public);
    tcase_add_test(tc, scopes_rules);
    tcase_add_test(tc, numbers_and_enabled);
    tcase_add_test(tc, access_token_format_rules);
    tcase_add_test(tc, unknown_field);
    tcase_add_test(tc, implicit_with_refresh_limit);
    tcase_add_test(tc, grant_names);
    tcase_add_test(tc, secret_bcrypt);
    tcase_add_test(tc, secret_sha1_md5_crypt);
    tcase_add_test(tc, secret_public_never);
    tcase_add_test(tc, dummy_hash_follows_costliest);
    tcase_add_test(tc, dummy_hash_costs_as_much);
    tcase_add_test(tc, load_file);
    tcase_add_test(tc, auth_method_rules);
    tcase_add_test(tc, mtls_rules);
    suite_add_tcase(s, tc);
    return s;
}

OAS_UNIT_MAIN(registry_suite)
