/* oac_registry.c — the client commands of oauth-as-client: add, list, show,
 * set, enable, disable, rotate-secret, remove. Each change goes through
 * oac_registry_update (locked, validated by the module's parser, atomic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_md5.h>
#include <apr_strings.h>

#include "oac.h"
#include "oas_util.h"

#define SALT_LEN 16

static const char *client_arg(oac_opts_t *o)
{
    return APR_ARRAY_IDX(o->args, 0, const char *);
}

/* ---- values from the command line --------------------------------------- */

static int set_string(json_t *c, const char *field, const char *v)
{
    json_t *s = json_string(v);

    if (s == NULL) {
        return oac_fail("--%s: not valid UTF-8", field);
    }
    json_object_set_new(c, field, s);
    return OAC_OK;
}

static int set_list(json_t *c, const char *field, const apr_array_header_t *list)
{
    json_t *a = json_array(), *s;
    int i;

    for (i = 0; i < list->nelts; i++) {
        if ((s = json_string(APR_ARRAY_IDX(list, i, const char *))) == NULL) {
            json_decref(a);
            return oac_fail("%s: not valid UTF-8", field);
        }
        json_array_append_new(a, s);
    }
    json_object_set_new(c, field, a);
    return OAC_OK;
}

static int set_integer(json_t *c, const char *field, const char *opt, const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);

    if (*v == '\0' || *end != '\0') {
        return oac_fail("--%s %s: not a whole number", opt, v);
    }
    json_object_set_new(c, field, json_integer(n));
    return OAC_OK;
}

static int set_lifetime(json_t *c, const char *v)
{
    if (strcmp(v, "default") == 0) {
        json_object_del(c, "access_token_lifetime");
        return OAC_OK;
    }
    return set_integer(c, "access_token_lifetime", "access-token-lifetime", v);
}

/* The fields the options name; the registry parser judges the values. */
static int set_fields(oac_opts_t *o, json_t *c)
{
    int rc = OAC_OK;

    if (rc == OAC_OK && o->name) {
        rc = set_string(c, "name", o->name);
    }
    if (rc == OAC_OK && o->redirect_uris) {
        rc = set_list(c, "redirect_uris", o->redirect_uris);
    }
    if (rc == OAC_OK && o->grants) {
        rc = set_list(c, "grant_types", o->grants);
    }
    if (rc == OAC_OK && o->scopes) {
        rc = set_list(c, "scopes", o->scopes);
    }
    if (rc == OAC_OK && o->lifetime) {
        rc = set_lifetime(c, o->lifetime);
    }
    if (rc == OAC_OK && o->refresh_limit) {
        rc = set_integer(c, "refresh_limit", "refresh-limit", o->refresh_limit);
    }
    if (rc == OAC_OK && o->comment) {
        rc = set_string(c, "comment", o->comment);
    }
    return rc;
}

/* A new secret (CSPRNG, base64url) and its bcrypt hash. */
static int new_secret(oac_opts_t *o, const char **psecret, const char **phash)
{
    unsigned char salt[SALT_LEN];
    char hash[128];

    if (o->cost < 4 || o->cost > 17) {
        return oac_fail("-C %d: the bcrypt cost must be 4 to 17", o->cost);
    }
    *psecret = oas_random_token(o->p, OAC_SECRET_BYTES);
    if (*psecret == NULL || oas_random_bytes(salt, SALT_LEN) != APR_SUCCESS
        || apr_bcrypt_encode(*psecret, (unsigned)o->cost, salt, SALT_LEN, hash, sizeof(hash))
           != APR_SUCCESS) {
        return oac_fail("cannot make a secret (random generator or bcrypt failed)");
    }
    *phash = apr_pstrdup(o->p, hash);
    return OAC_OK;
}

static void print_secret(oac_opts_t *o, const char *id, const char *secret, const char *did)
{
    printf("client_id: %s\nclient_secret: %s\n", id, secret);
    fflush(stdout);
    fprintf(stderr, "%s client '%s' in %s. The secret is shown only now: the registry keeps "
            "its hash. Reload httpd (apachectl graceful).\n", did, id, o->registry);
}

static void reload_note(oac_opts_t *o, const char *did, const char *id)
{
    fprintf(stderr, "%s client '%s' in %s. Reload httpd (apachectl graceful).\n", did, id,
            o->registry);
}

static json_t *existing(json_t *root, const char *id, size_t *pindex)
{
    json_t *c = oac_find_client(root, id, pindex);

    if (c == NULL) {
        oac_fail("no client '%s' in the registry", id);
    }
    return c;
}

/* ---- add ------------------------------------------------------------------ */

typedef struct secret_out_t {
    const char *secret;
} secret_out_t;

static int edit_add(oac_opts_t *o, json_t *root, void *baton)
{
    const char *id = client_arg(o), *type = o->type ? o->type : "confidential", *hash;
    secret_out_t *out = baton;
    json_t *c;
    int rc;

    if (oac_find_client(root, id, NULL) != NULL) {
        return oac_fail("client '%s' exists already (change it with set)", id);
    }
    c = json_object();
    json_array_append_new(json_object_get(root, "clients"), c);
    if ((rc = set_string(c, "client_id", id)) != OAC_OK
        || (rc = set_string(c, "name", o->name ? o->name : id)) != OAC_OK
        || (rc = set_string(c, "type", type)) != OAC_OK) {
        return rc;
    }
    if (strcmp(type, "confidential") == 0) {
        if ((rc = new_secret(o, &out->secret, &hash)) != OAC_OK) {
            return rc;
        }
        json_object_set_new(c, "secret", json_string(hash));
    }
    json_object_set_new(c, "redirect_uris", json_array());
    json_object_set_new(c, "grant_types", json_array());
    json_object_set_new(c, "scopes", json_array());
    if ((rc = set_fields(o, c)) != OAC_OK) {
        return rc;
    }
    json_object_set_new(c, "enabled", json_true());
    return OAC_OK;
}

int oac_cmd_add(oac_opts_t *o)
{
    secret_out_t out = { NULL };
    int rc;

    if (o->grants == NULL) {
        return oac_fail("add: give the client's grant types with --grant (authorization_code, "
                        "implicit, client_credentials, password)");
    }
    if ((rc = oac_registry_update(o, 1, edit_add, &out)) != OAC_OK) {
        return rc;
    }
    if (out.secret) {
        print_secret(o, client_arg(o), out.secret, "Added");
    }
    else {
        reload_note(o, "Added public", client_arg(o));
    }
    return OAC_OK;
}

/* ---- list, show ------------------------------------------------------------ */

static const char *grants_text(unsigned grants, const char *sep, apr_pool_t *p)
{
    const char *out = "";
    unsigned g;

    for (g = 1; g <= OAS_GRANT_PASSWORD; g <<= 1) {
        if (grants & g) {
            out = apr_pstrcat(p, out, *out ? sep : "", oas_grant_name(g), NULL);
        }
    }
    return out;
}

static const char *list_text(const apr_array_header_t *a, const char *sep, apr_pool_t *p)
{
    const char *out = "";
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        out = apr_pstrcat(p, out, i ? sep : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    }
    return *out ? out : "-";
}

int oac_cmd_list(oac_opts_t *o)
{
    const apr_array_header_t *clients;
    oas_registry_t *reg;
    int i, rc;

    if ((rc = oac_registry_read(o, &reg)) != OAC_OK) {
        return rc;
    }
    clients = oas_registry_clients(reg);
    printf("%-20s %-12s %-7s %-38s %-20s %s\n", "CLIENT_ID", "TYPE", "ENABLED", "GRANTS",
           "SCOPES", "NAME");
    for (i = 0; i < clients->nelts; i++) {
        const oas_client_t *c = APR_ARRAY_IDX(clients, i, const oas_client_t *);
        printf("%-20s %-12s %-7s %-38s %-20s %s\n", c->client_id,
               c->confidential ? "confidential" : "public", c->enabled ? "yes" : "no",
               grants_text(c->grants, ",", o->p), list_text(c->scopes, ",", o->p), c->name);
    }
    /* and the clients that registered themselves, when the store is known (-s, -f) */
    return o->store ? oac_dynclients_list(o) : OAC_OK;
}

static const char *hash_kind(const char *h)
{
    static const struct { const char *prefix, *kind; } KINDS[] = {
        { "$2", "bcrypt" }, { "{SHA}", "SHA-1" }, { "$apr1$", "Apache MD5" },
        { "$5$", "SHA-256 crypt" }, { "$6$", "SHA-512 crypt" },
    };
    size_t i;

    for (i = 0; h && i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        if (strncmp(h, KINDS[i].prefix, strlen(KINDS[i].prefix)) == 0) {
            return KINDS[i].kind;
        }
    }
    return "none";
}

int oac_cmd_show(oac_opts_t *o)
{
    const oas_client_t *c;
    oas_registry_t *reg;
    int rc;

    if ((rc = oac_registry_read(o, &reg)) != OAC_OK) {
        return rc;
    }
    if ((c = oas_registry_get(reg, client_arg(o))) == NULL) {
        return oac_fail("no client '%s' in %s", client_arg(o), o->registry);
    }
    printf("client_id:             %s\nname:                  %s\ntype:                  %s\n"
           "secret:                %s hash\nredirect_uris:         %s\n"
           "grant_types:           %s\nscopes:                %s\n", c->client_id, c->name,
           c->confidential ? "confidential" : "public", hash_kind(c->secret_hash),
           list_text(c->redirect_uris, " ", o->p), grants_text(c->grants, " ", o->p),
           list_text(c->scopes, " ", o->p));
    if (c->access_token_lifetime < 0) {
        printf("access_token_lifetime: server default (OAuthASAccessTokenLifetime)\n");
    }
    else {
        printf("access_token_lifetime: %lld%s\n", c->access_token_lifetime,
               c->access_token_lifetime == 0 ? " (never expires)" : " s");
    }
    printf("refresh_limit:         %d%s\nenabled:               %s\n", c->refresh_limit,
           c->refresh_limit == 0 ? " (no refresh token)"
           : c->refresh_limit < 0 ? " (unlimited)" : "", c->enabled ? "yes" : "no");
    return OAC_OK;
}

/* ---- set, enable, disable, rotate-secret, remove --------------------------- */

static int edit_set(oac_opts_t *o, json_t *root, void *baton)
{
    json_t *c = existing(root, client_arg(o), NULL);
    return c ? set_fields(o, c) : OAC_ERROR;
}

int oac_cmd_set(oac_opts_t *o)
{
    int rc;

    if ((o->given & (OPT_NAME | OPT_COMMENT | OPT_REDIRECT | OPT_GRANT | OPT_SCOPE
                     | OPT_LIFETIME | OPT_REFRESH)) == 0) {
        fprintf(stderr, "oauth-as-client: set: nothing to change (see oauth-as-client set "
                "--help)\n");
        return OAC_USAGE;
    }
    if ((rc = oac_registry_update(o, 0, edit_set, NULL)) == OAC_OK) {
        reload_note(o, "Changed", client_arg(o));
    }
    return rc;
}

static int edit_enabled(oac_opts_t *o, json_t *root, void *baton)
{
    json_t *c = existing(root, client_arg(o), NULL);

    if (c == NULL) {
        return OAC_ERROR;
    }
    json_object_set_new(c, "enabled", json_boolean(baton != NULL));
    return OAC_OK;
}

int oac_cmd_enable(oac_opts_t *o)
{
    int rc = oac_registry_update(o, 0, edit_enabled, o);

    if (rc == OAC_OK) {
        reload_note(o, "Enabled", client_arg(o));
    }
    return rc;
}

int oac_cmd_disable(oac_opts_t *o)
{
    int rc = oac_registry_update(o, 0, edit_enabled, NULL);

    if (rc == OAC_OK) {
        reload_note(o, "Disabled", client_arg(o));
    }
    return rc;
}

static int edit_rotate(oac_opts_t *o, json_t *root, void *baton)
{
    json_t *c = existing(root, client_arg(o), NULL);
    secret_out_t *out = baton;
    const char *hash;
    int rc;

    if (c == NULL) {
        return OAC_ERROR;
    }
    if (!json_is_string(json_object_get(c, "type"))
        || strcmp(json_string_value(json_object_get(c, "type")), "confidential") != 0) {
        return oac_fail("client '%s' is public: it has no secret", client_arg(o));
    }
    if ((rc = new_secret(o, &out->secret, &hash)) == OAC_OK) {
        json_object_set_new(c, "secret", json_string(hash));
    }
    return rc;
}

int oac_cmd_rotate(oac_opts_t *o)
{
    secret_out_t out = { NULL };
    int rc = oac_registry_update(o, 0, edit_rotate, &out);

    if (rc == OAC_OK) {
        print_secret(o, client_arg(o), out.secret, "New secret for");
    }
    return rc;
}

static int edit_remove(oac_opts_t *o, json_t *root, void *baton)
{
    size_t i;

    if (existing(root, client_arg(o), &i) == NULL) {
        return OAC_ERROR;
    }
    json_array_remove(json_object_get(root, "clients"), i);
    return OAC_OK;
}

int oac_cmd_remove(oac_opts_t *o)
{
    int rc, found = 0;

    if (o->store && ((rc = oac_dynclients_remove(o, client_arg(o), &found)) != OAC_OK || found)) {
        return rc;            /* a self-registered client (RFC 7591) in the store */
    }
    rc = oac_registry_update(o, 0, edit_remove, NULL);

    if (rc == OAC_OK) {
        reload_note(o, "Removed", client_arg(o));
    }
    return rc;
}
