/* oas_regmeta.c — the client metadata of RFC 7591 §2 checked against the
 * rules of SPEC §12 (oas_dynclient.h's oas_regmeta_check). */
#include <string.h>
#include <apr_strings.h>
#include "oas_dynclient.h"
#include "oas_resource.h"

#define RM_STRING_MAX 300     /* client_uri, logo_uri, ...: keeps a record in one entry */
#define RM_CONTACTS_MAX 5

typedef struct rm_t {
    const oas_config_t *cfg;
    json_t *out;
    oas_regmeta_error_t *err;
    apr_pool_t *p;
    int is_public;
    unsigned grants;
    int refresh;
} rm_t;

static int fail(rm_t *m, const char *code, const char *fmt, const char *arg)
{
    m->err->code = code;
    m->err->description = apr_psprintf(m->p, fmt, arg);
    return 0;
}

#define BAD_META(m, fmt, arg) fail((m), "invalid_client_metadata", (fmt), (arg))
#define BAD_URI(m, fmt, arg) fail((m), "invalid_redirect_uri", (fmt), (arg))

static int printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int auth_method(rm_t *m, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    if (v && !s) {
        return BAD_META(m, "%s must be a string", "token_endpoint_auth_method");
    }
    s = s ? s : "client_secret_basic";
    if (strcmp(s, "none") != 0 && strcmp(s, "client_secret_basic") != 0) {
        return BAD_META(m, "token_endpoint_auth_method %s is not supported here "
                        "(client_secret_basic or none)", apr_pstrndup(m->p, s, 64));
    }
    m->is_public = strcmp(s, "none") == 0;
    json_object_set_new(m->out, "token_endpoint_auth_method", json_string(s));
    return 1;
}

static int grant_types(rm_t *m, json_t *v)
{
    json_t *e, *arr = json_array();
    size_t i;

    if (v && !json_is_array(v)) {
        json_decref(arr);
        return BAD_META(m, "%s must be an array of strings", "grant_types");
    }
    json_object_set_new(m->out, "grant_types", arr);
    if (!v || json_array_size(v) == 0) {
        m->grants = OAS_GRANT_AUTHORIZATION_CODE;
        json_array_append_new(arr, json_string("authorization_code"));
        return 1;
    }
    json_array_foreach(v, i, e) {
        const char *s = json_is_string(e) ? json_string_value(e) : NULL;
        unsigned g = s ? oas_grant_from_name(s) : 0;
        if (!s) {
            return BAD_META(m, "%s must be an array of strings", "grant_types");
        }
        if (!g || !(m->cfg->reg_grants & g)) {
            return BAD_META(m, "grant type %s is not allowed for self-registered clients "
                            "(OAuthASRegistrationGrants)", apr_pstrndup(m->p, s, 64));
        }
        if (g == OAS_GRANT_CLIENT_CREDENTIALS && m->is_public) {
            return BAD_META(m, "%s needs a client secret", s);
        }
        m->refresh |= g == OAS_GRANT_REFRESH_TOKEN;
        m->grants |= g == OAS_GRANT_REFRESH_TOKEN ? 0 : g;
        json_array_append_new(arr, json_string(oas_grant_name(g)));
    }
    return 1;
}

static int response_types(rm_t *m, json_t *v)
{
    json_t *e;
    size_t i;
    int code = !v && (m->grants & OAS_GRANT_AUTHORIZATION_CODE);

    if (v && !json_is_array(v)) {
        return BAD_META(m, "%s must be an array of strings", "response_types");
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || strcmp(json_string_value(e), "code") != 0) {
            return BAD_META(m, "%s: only \"code\" is supported", "response_types");
        }
        code = 1;
    }
    if (code != !!(m->grants & OAS_GRANT_AUTHORIZATION_CODE)) {
        return BAD_META(m, "%s: \"code\" goes with the authorization_code grant and only "
                        "with it", "response_types");
    }
    json_object_set_new(m->out, "response_types", code ? json_pack("[s]", "code")
                                                       : json_array());
    return 1;
}

/* RFC 8252: https; http only on a loopback address; a private-use scheme
 * only for a public client; never a fragment. */
static int redirect_uri(rm_t *m, const char *uri)
{
    const char *why = NULL;
    apr_size_t n = oas_uri_scheme_len(uri);

    if (!oas_redirect_uri_valid(uri, &why)) {
        return BAD_URI(m, "redirect_uri %s", why);
    }
    if (!(n == 5 && strncasecmp(uri, "https", 5) == 0)
        && !(n == 4 && strncasecmp(uri, "http", 4) == 0) && !m->is_public) {
        return BAD_URI(m, "redirect_uri %s: a private-use scheme is only for public "
                       "clients (token_endpoint_auth_method none)",
                       apr_pstrndup(m->p, uri, 64));
    }
    return 1;
}

static int redirect_uris(rm_t *m, json_t *v)
{
    json_t *e, *arr;
    size_t i;

    if (v && !json_is_array(v)) {
        return BAD_URI(m, "%s must be an array of strings", "redirect_uris");
    }
    if ((m->grants & OAS_GRANT_AUTHORIZATION_CODE) && json_array_size(v) == 0) {
        return BAD_URI(m, "%s: a client of the authorization_code grant needs one",
                       "redirect_uris");
    }
    arr = json_array();
    json_object_set_new(m->out, "redirect_uris", arr);
    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) {
            return BAD_URI(m, "%s must be an array of strings", "redirect_uris");
        }
        if (!redirect_uri(m, json_string_value(e))) {
            return 0;
        }
        json_array_append(arr, e);
    }
    return 1;
}

static int scope_allowed(const oas_config_t *cfg, const char *s)
{
    return cfg->scopes && oas_scopes_get(cfg->scopes, s)
           && (!cfg->reg_scopes || oas_scope_in(cfg->reg_scopes, s));
}

static int scope(rm_t *m, json_t *v)
{
    const apr_array_header_t *defs = m->cfg->scopes ? oas_scopes_list(m->cfg->scopes) : NULL;
    apr_array_header_t *want, *got = apr_array_make(m->p, 4, sizeof(const char *));
    int i;

    if (v && (!json_is_string(v) || !(want = oas_scope_split(json_string_value(v), m->p)))) {
        return BAD_META(m, "%s must be a string of space-separated scopes", "scope");
    }
    if (!v) {        /* every scope a self-registered client may hold */
        want = apr_array_make(m->p, 4, sizeof(const char *));
        for (i = 0; defs && i < defs->nelts; i++) {
            APR_ARRAY_PUSH(want, const char *)
                = APR_ARRAY_IDX(defs, i, const oas_scope_def_t *)->name;
        }
    }
    for (i = 0; i < want->nelts; i++) {
        const char *s = APR_ARRAY_IDX(want, i, const char *);
        if (scope_allowed(m->cfg, s)) {
            APR_ARRAY_PUSH(got, const char *) = s;
        }
        else if (v) {
            return BAD_META(m, "scope %s is not allowed for self-registered clients "
                            "(OAuthASRegistrationScopes)", apr_pstrndup(m->p, s, 64));
        }
    }
    json_object_set_new(m->out, "scope", json_string(oas_scope_join(got, m->p)));
    return 1;
}

static int is_url(const char *s)
{
    return strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "http://", 7) == 0;
}

static int strings(rm_t *m, json_t *in)
{
    static const char *const names[] = { "client_name", "client_uri", "logo_uri", "tos_uri",
                                         "policy_uri", "software_id", "software_version" };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *v = json_object_get(in, names[i]);
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!v) {
            continue;
        }
        if (!s || !printable(s) || strlen(s) > (i == 0 ? OAS_NAME_MAX : RM_STRING_MAX)) {
            return BAD_META(m, "%s must be a short string without control characters",
                            names[i]);
        }
        if (strstr(names[i], "_uri") && !is_url(s)) {
            return BAD_META(m, "%s must be an http or https URL", names[i]);
        }
        json_object_set(m->out, names[i], v);
    }
    return 1;
}

static int contacts(rm_t *m, json_t *v)
{
    json_t *e;
    size_t i;

    if (!v) {
        return 1;
    }
    if (!json_is_array(v) || json_array_size(v) > RM_CONTACTS_MAX) {
        return BAD_META(m, "%s must be an array of at most 5 strings", "contacts");
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !printable(json_string_value(e))
            || strlen(json_string_value(e)) > RM_STRING_MAX) {
            return BAD_META(m, "%s must be an array of short strings", "contacts");
        }
    }
    json_object_set(m->out, "contacts", v);
    return 1;
}

json_t *oas_regmeta_check(const oas_config_t *cfg, json_t *in, oas_regmeta_error_t *err,
                          apr_pool_t *p)
{
    rm_t m = { cfg, json_object(), err, p, 0, 0, 0 };

    err->code = err->description = NULL;
    if (!json_is_object(in)) {
        BAD_META(&m, "%s", "the body must be a JSON object");
    }
    else if (auth_method(&m, json_object_get(in, "token_endpoint_auth_method"))
             && grant_types(&m, json_object_get(in, "grant_types"))
             && response_types(&m, json_object_get(in, "response_types"))
             && redirect_uris(&m, json_object_get(in, "redirect_uris"))
             && scope(&m, json_object_get(in, "scope"))
             && strings(&m, in) && contacts(&m, json_object_get(in, "contacts"))) {
        return m.out;
    }
    json_decref(m.out);
    return NULL;
}
