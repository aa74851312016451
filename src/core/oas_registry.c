/* oas_registry.c — the client registry (OAuthASClients), JSON, SPEC §3.
 *
 * Every client is checked field by field (one function per field, driven
 * by the FIELDS table); the first problem stops the parse with a message
 * that names the file, the client and the field. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_md5.h>
#include <apr_strings.h>
#include <jansson.h>

#include "oas_registry.h"
#include "oas_resource.h"
#include "oas_jose.h"
#include "oas_mtls.h"

#define REGISTRY_MAX_FILE (16 * 1024 * 1024)
#define SHOW_MAX 64

struct oas_registry_t {
    apr_array_header_t *clients;    /* const oas_client_t * */
    apr_hash_t *by_id;              /* client_id -> oas_client_t * */
    const char *text;
    const char *dummy_hash;         /* for unknown ids: as costly as the costliest secret */
};

/* ---- grant names ------------------------------------------------------ */

static const struct {
    const char *name;
    unsigned grant;
} GRANTS[] = {
    { "authorization_code", OAS_GRANT_AUTHORIZATION_CODE },
    { "implicit",           OAS_GRANT_IMPLICIT },
    { "client_credentials", OAS_GRANT_CLIENT_CREDENTIALS },
    { "password",           OAS_GRANT_PASSWORD },
    { "refresh_token",      OAS_GRANT_REFRESH_TOKEN },
    /* RFC 8628; the first name is the one oas_grant_name() gives */
    { "urn:ietf:params:oauth:grant-type:device_code", OAS_GRANT_DEVICE_CODE },
    { "device_code",        OAS_GRANT_DEVICE_CODE },
};
#define N_GRANTS (sizeof(GRANTS) / sizeof(GRANTS[0]))

unsigned oas_grant_from_name(const char *name)
{
    apr_size_t i;

    for (i = 0; name != NULL && i < N_GRANTS; ++i) {
        if (strcmp(GRANTS[i].name, name) == 0) {
            return GRANTS[i].grant;
        }
    }
    return 0;
}

const char *oas_grant_name(unsigned grant)
{
    apr_size_t i;

    for (i = 0; i < N_GRANTS; ++i) {
        if (GRANTS[i].grant == grant) {
            return GRANTS[i].name;
        }
    }
    return NULL;
}

/* ---- redirect URIs ---------------------------------------------------- */

static int set_why(const char **pwhy, const char *why)
{
    if (pwhy != NULL) {
        *pwhy = why;
    }
    return 0;
}

/* Length of the scheme of uri (up to the ':'), 0 if it has none. */
static apr_size_t uri_scheme_len(const char *uri)
{
    return oas_uri_scheme_len(uri);
}

static int scheme_is(const char *uri, apr_size_t n, const char *scheme)
{
    return strlen(scheme) == n && strncasecmp(uri, scheme, n) == 0;
}

/* Check "//host[:port]" at auth (the part after "http:"/"https:"). */
static int uri_authority_valid(const char *auth, int loopback_only, const char **pwhy)
{
    apr_size_t hlen, plen;
    const char *host, *end;

    if (strncmp(auth, "//", 2) != 0) {
        return set_why(pwhy, "http and https URIs need '//' and a host");
    }
    host = auth + 2;
    end = host + strcspn(host, "/?");
    if (memchr(host, '@', (apr_size_t)(end - host)) != NULL) {
        return set_why(pwhy, "must not contain user information ('@')");
    }
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', (apr_size_t)(end - host));
        hlen = rb ? (apr_size_t)(rb - host) + 1 : 0;
    }
    else {
        hlen = strcspn(host, ":/?");
    }
    if (hlen == 0 || hlen == 2) {
        return set_why(pwhy, "has no host");
    }
    plen = (apr_size_t)(end - host) - hlen;
    if (plen > 0 && (host[hlen] != ':' || plen < 2 || plen > 6
                     || strspn(host + hlen + 1, "0123456789") != plen - 1)) {
        return set_why(pwhy, "has a bad port");
    }
    if (loopback_only
        && !((hlen == 9 && strncasecmp(host, "localhost", 9) == 0)
             || (hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0)
             || (hlen == 5 && strncmp(host, "[::1]", 5) == 0))) {
        return set_why(pwhy, "plain http is only allowed for localhost, 127.0.0.1 "
                             "and [::1] (RFC 8252); use https");
    }
    return 1;
}

int oas_redirect_uri_valid(const char *uri, const char **pwhy)
{
    static const char *const BAD[] = { "javascript", "data", "vbscript", "file" };
    apr_size_t i, n;

    set_why(pwhy, NULL);
    if (uri == NULL || uri[0] == '\0') {
        return set_why(pwhy, "is empty");
    }
    for (i = 0; uri[i] != '\0'; ++i) {
        unsigned char c = (unsigned char)uri[i];
        if (i >= OAS_REDIRECT_URI_MAX) {
            return set_why(pwhy, "is too long");
        }
        if (c <= 0x20 || c >= 0x7f) {
            return set_why(pwhy, "must not contain spaces, control or non-ASCII characters");
        }
        if (c == '#') {
            return set_why(pwhy, "must not contain a fragment ('#')");
        }
    }
    if ((n = uri_scheme_len(uri)) == 0 || uri[n + 1] == '\0') {
        return set_why(pwhy, "must be an absolute URI (scheme:...)");
    }
    for (i = 0; i < sizeof(BAD) / sizeof(BAD[0]); ++i) {
        if (scheme_is(uri, n, BAD[i])) {
            return set_why(pwhy, "uses a forbidden scheme (javascript, data, vbscript, "
                                 "file)");
        }
    }
    if (scheme_is(uri, n, "http") || scheme_is(uri, n, "https")) {
        return uri_authority_valid(uri + n + 1, scheme_is(uri, n, "http"), pwhy);
    }
    return 1;
}

/* ---- secrets ---------------------------------------------------------- */

int oas_client_check_secret(const oas_client_t *c, const char *secret)
{
    if (c == NULL || !c->confidential || c->secret_hash == NULL || secret == NULL) {
        return 0;
    }
    return apr_password_validate(secret, c->secret_hash) == APR_SUCCESS;
}

static const struct {
    const char *prefix;
    apr_size_t len;         /* exact length, 0: any, but another '$' after the prefix */
} HASHES[] = {
    { "$2y$", 60 }, { "$2a$", 60 }, { "$2b$", 60 },
    { "{SHA}", 33 }, { "$apr1$", 0 }, { "$5$", 0 }, { "$6$", 0 },
};

/* ---- the hash unknown client ids are checked against ------------------- */

/* bcrypt, cost 5, of a secret nobody knows; its salt and digest serve for
 * every cost (at another cost the check simply fails, after the full work). */
#define DUMMY_BCRYPT "$2y$05$OSI0nBvp4fdSvs0kGfdqC.bmhKnFVRjOmlAh1lqah10SQzkXivrkq"

/* The bcrypt cost of hash (4..31), or 0 if it is no bcrypt hash. */
static int bcrypt_cost(const char *hash)
{
    if (strncmp(hash, "$2", 2) != 0 || strlen(hash) != 60 || hash[6] != '$'
        || !apr_isdigit(hash[4]) || !apr_isdigit(hash[5])) {
        return 0;
    }
    return (hash[4] - '0') * 10 + (hash[5] - '0');
}

/* Roughly what checking a secret against hash costs, in units of about
 * 60 us (one bcrypt round at cost 0): bcrypt 2^cost; SHA-crypt ($5$, $6$)
 * its rounds (default 5000) / 125; $apr1$ (1000 MD5 rounds) 3; {SHA} 0. */
static double hash_work(const char *hash)
{
    const char *r;
    int cost = bcrypt_cost(hash);

    if (cost > 0) {
        return (double)(1u << (cost > 31 ? 31 : cost));
    }
    if (strncmp(hash, "$5$", 3) == 0 || strncmp(hash, "$6$", 3) == 0) {
        r = strncmp(hash + 3, "rounds=", 7) == 0 ? hash + 10 : NULL;
        return (r ? apr_atoi64(r) : 5000) / 125.0;
    }
    return strncmp(hash, "$apr1$", 6) == 0 ? 3 : 0;
}

/* The hash an unknown (or public) client id's secret is checked against:
 * as costly as the costliest secret of the registry, so that the time of
 * an answer does not tell which ids exist. bcrypt: DUMMY_BCRYPT with that
 * cost; another scheme: that client's own hash (same scheme and parameters,
 * the same work; the answer is thrown away). At least cost-5 bcrypt's work
 * when the registry has nothing costlier, as before. */
static const char *dummy_hash_for(const apr_array_header_t *clients, apr_pool_t *p)
{
    const char *best = DUMMY_BCRYPT, *h;
    double most = hash_work(DUMMY_BCRYPT), w;
    int i;

    for (i = 0; i < clients->nelts; i++) {
        h = APR_ARRAY_IDX(clients, i, const oas_client_t *)->secret_hash;
        if (h && (w = hash_work(h)) > most) {
            most = w;
            best = h;
        }
    }
    if (bcrypt_cost(best) > 0) {
        best = apr_psprintf(p, "$2y$%02d%s", bcrypt_cost(best), DUMMY_BCRYPT + 6);
    }
    return best;
}

/* NULL if hash looks like apr_password_validate() input, else why not. */
static const char *hash_problem(const char *hash, const char *client_id, apr_pool_t *p)
{
    apr_size_t i, n = strlen(hash), pl;

    for (i = 0; i < n; ++i) {
        if ((unsigned char)hash[i] <= 0x20 || (unsigned char)hash[i] >= 0x7f) {
            return "must be a password hash without spaces or control characters";
        }
    }
    for (i = 0; i < sizeof(HASHES) / sizeof(HASHES[0]); ++i) {
        pl = strlen(HASHES[i].prefix);
        if (strncmp(hash, HASHES[i].prefix, pl) != 0) {
            continue;
        }
        if ((HASHES[i].len != 0 && n != HASHES[i].len)
            || (HASHES[i].len == 0 && strchr(hash + pl, '$') == NULL)) {
            return "looks like a damaged or truncated password hash; "
                   "copy the whole htpasswd output after the ':'";
        }
        return NULL;
    }
    return apr_psprintf(p, "must be a password hash (htpasswd -B, -s or -m output), "
                        "not a plain secret; make one with 'htpasswd -nbB %s SECRET' "
                        "and use the part after the ':'", client_id);
}

/* ---- parsing context -------------------------------------------------- */

typedef struct reg_ctx_t {
    const char *source;
    const oas_scopes_t *scopes;
    apr_pool_t *p;
    oas_registry_t *reg;
    int index;                  /* 1-based position of the client in the file */
    const char *label;          /* "client 'id'" or "client #n" */
    oas_client_t *c;
} reg_ctx_t;

/* s quoted if it is short printable ASCII, else a placeholder. */
static const char *show(apr_pool_t *p, const char *s)
{
    apr_size_t i;

    for (i = 0; s[i] != '\0'; ++i) {
        if (i >= SHOW_MAX || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
            return "(unprintable or too long)";
        }
    }
    return apr_psprintf(p, "'%s'", s);
}

static int has_ctl(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* ---- string arrays ---------------------------------------------------- */

typedef const char *elem_fn(reg_ctx_t *ctx, const char *s);

/* An array of distinct strings, each accepted by check. Absent: empty. */
static const char *string_array(reg_ctx_t *ctx, json_t *v, elem_fn *check,
                                apr_array_header_t **pout)
{
    apr_array_header_t *out = apr_array_make(ctx->p, 4, sizeof(const char *));
    size_t i;
    json_t *e;

    *pout = out;
    if (v == NULL) {
        return NULL;
    }
    if (!json_is_array(v)) {
        return "must be an array of strings";
    }
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e), *why;
        if (s == NULL) {
            return apr_psprintf(ctx->p, "entry %d: must be a string", (int)i + 1);
        }
        if ((why = check(ctx, s)) != NULL) {
            return apr_psprintf(ctx->p, "entry %d: %s", (int)i + 1, why);
        }
        if (oas_scope_in(out, s)) {
            return apr_psprintf(ctx->p, "entry %d: %s is listed twice", (int)i + 1,
                                show(ctx->p, s));
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(ctx->p, s);
    }
    return NULL;
}

static const char *elem_redirect_uri(reg_ctx_t *ctx, const char *s)
{
    const char *why;

    (void)ctx;
    return oas_redirect_uri_valid(s, &why) ? NULL : why;
}

static const char *elem_grant(reg_ctx_t *ctx, const char *s)
{
    unsigned g = oas_grant_from_name(s);

    if (g == 0) {
        return apr_psprintf(ctx->p, "unknown grant type %s (known: authorization_code, "
                            "implicit, client_credentials, password, "
                            "urn:ietf:params:oauth:grant-type:device_code)", show(ctx->p, s));
    }
    if ((g & (OAS_GRANT_CLIENT_CREDENTIALS | OAS_GRANT_PASSWORD)) && !ctx->c->confidential) {
        return apr_psprintf(ctx->p, "%s is only for confidential clients", s);
    }
    return NULL;
}

static const char *elem_scope(reg_ctx_t *ctx, const char *s)
{
    if (!oas_scope_token_valid(s)) {
        return "is not a valid scope name (printable ASCII without space, '\"' or '\\')";
    }
    if (ctx->scopes != NULL && oas_scopes_get(ctx->scopes, s) == NULL) {
        return apr_psprintf(ctx->p, "scope %s is not defined (OAuthASScope)",
                            show(ctx->p, s));
    }
    return NULL;
}

static const char *elem_resource(reg_ctx_t *ctx, const char *s)
{
    const char *why;

    return oas_resource_uri_valid(s, &why) ? NULL
           : apr_pstrcat(ctx->p, "is not a resource URI: it ", why, NULL);
}

/* ---- the fields ------------------------------------------------------- */

typedef const char *field_fn(reg_ctx_t *ctx, json_t *v);   /* v NULL: absent */

static const char *f_client_id(reg_ctx_t *ctx, json_t *v)
{
    const char *id = json_string_value(v);
    size_t i, n;

    if (v == NULL) {
        return "is required";
    }
    if (id == NULL) {
        return "must be a string";
    }
    n = json_string_length(v);
    if (n == 0 || n > OAS_CLIENT_ID_MAX) {
        return apr_psprintf(ctx->p, "must be 1 to %d bytes long", OAS_CLIENT_ID_MAX);
    }
    for (i = 0; i < n; ++i) {
        unsigned char ch = (unsigned char)id[i];
        if (ch < 0x21 || ch > 0x7e || ch == ':') {
            return "must be printable ASCII without spaces or ':'";
        }
    }
    ctx->label = apr_psprintf(ctx->p, "client '%s'", id);
    if (apr_hash_get(ctx->reg->by_id, id, APR_HASH_KEY_STRING) != NULL) {
        return "is not unique: another client has the same client_id";
    }
    ctx->c->client_id = apr_pstrdup(ctx->p, id);
    return NULL;
}

static const char *f_name(reg_ctx_t *ctx, json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    ctx->c->name = ctx->c->client_id;
    if (v == NULL) {
        return NULL;
    }
    if (s == NULL) {
        return "must be a string";
    }
    if (n == 0 || n > OAS_NAME_MAX) {
        return apr_psprintf(ctx->p, "must be 1 to %d bytes long", OAS_NAME_MAX);
    }
    if (has_ctl(s, n)) {
        return "must not contain control characters";
    }
    ctx->c->name = apr_pstrdup(ctx->p, s);
    return NULL;
}

static const char *f_type(reg_ctx_t *ctx, json_t *v)
{
    const char *s = json_string_value(v);

    if (v == NULL) {
        return "is required (\"confidential\" or \"public\")";
    }
    if (s != NULL && strcmp(s, "confidential") == 0) {
        ctx->c->confidential = 1;
    }
    else if (s == NULL || strcmp(s, "public") != 0) {
        return "must be \"confidential\" or \"public\"";
    }
    return NULL;
}

/* After type: public clients "none"; confidential ones a secret method
 * (client_secret_basic by default) or private_key_jwt. */
static const char *f_auth_method(reg_ctx_t *ctx, json_t *v)
{
    static const char *const names[] = { "none", "client_secret_basic", "client_secret_post",
                                         "private_key_jwt", "tls_client_auth",
                                         "self_signed_tls_client_auth" };
    const char *s = json_string_value(v);
    int i;

    ctx->c->auth_method = ctx->c->confidential ? OAS_AUTH_CLIENT_SECRET_BASIC : OAS_AUTH_NONE;
    if (v == NULL) {
        return NULL;
    }
    for (i = 0; s && i < 6 && strcmp(s, names[i]) != 0; i++) {
    }
    if (!s || i == 6) {
        return "must be one of none, client_secret_basic, client_secret_post, "
               "private_key_jwt, tls_client_auth, self_signed_tls_client_auth";
    }
    if ((i == OAS_AUTH_NONE) == ctx->c->confidential) {
        return ctx->c->confidential ? "a confidential client cannot use \"none\""
                                    : "a public client can only use \"none\"";
    }
    ctx->c->auth_method = i;
    return NULL;
}

static apr_status_t json_release(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

/* {"keys": [public JWKs]}: required for private_key_jwt and (each key
 * with its certificate in x5c) self_signed_tls_client_auth, else not allowed */
static const char *f_jwks(reg_ctx_t *ctx, json_t *v)
{
    json_t *keys = json_object_get(v, "keys"), *k;
    const char *why;
    int x5c = ctx->c->auth_method == OAS_AUTH_SELF_SIGNED_TLS;
    size_t i;

    if (v == NULL) {
        return ctx->c->auth_method == OAS_AUTH_PRIVATE_KEY_JWT
               ? "is required for private_key_jwt ({\"keys\": [public JWKs]})"
               : x5c ? "is required for self_signed_tls_client_auth ({\"keys\": [public "
                       "JWKs with x5c]})" : NULL;
    }
    if (ctx->c->auth_method != OAS_AUTH_PRIVATE_KEY_JWT && !x5c) {
        return "is used by private_key_jwt and self_signed_tls_client_auth only";
    }
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        return "must be {\"keys\": [...]} with at least one key";
    }
    json_array_foreach(keys, i, k) {
        if (!oas_jose_thumbprint(k, ctx->p)) {
            return apr_psprintf(ctx->p, "key #%d is not an EC, RSA or OKP JWK", (int)i);
        }
        if (oas_jose_jwk_is_private(k)) {
            return apr_psprintf(ctx->p, "key #%d has a private part: publish public keys "
                                "only", (int)i);
        }
        if (x5c && (why = oas_mtls_x5c_problem(json_object_get(k, "x5c"), ctx->p))) {
            return apr_psprintf(ctx->p, "key #%d %s", (int)i, why);
        }
    }
    ctx->c->jwks = json_deep_copy(v);
    apr_pool_cleanup_register(ctx->p, (void *)ctx->c->jwks, json_release,
                              apr_pool_cleanup_null);
    return NULL;
}

/* an optional true/false field, false when absent */
static const char *flag(json_t *v, int *out)
{
    if (v != NULL && !json_is_boolean(v)) {
        return "must be true or false";
    }
    *out = json_is_true(v);
    return NULL;
}

static const char *f_dpop_bound(reg_ctx_t *ctx, json_t *v)
{
    return flag(v, &ctx->c->dpop_bound);
}

/* RFC 8705 §2.1.2: required for tls_client_auth, else not allowed */
static const char *f_tls_dn(reg_ctx_t *ctx, json_t *v)
{
    const char *s = json_string_value(v);

    if (ctx->c->auth_method != OAS_AUTH_TLS_CLIENT_AUTH) {
        return v ? "is used by tls_client_auth only" : NULL;
    }
    if (!s || !strchr(s, '=')) {
        return "is required for tls_client_auth: the certificate's subject DN as an RFC 4514 "
               "string, e.g. \"CN=client,O=Example,C=DE\"";
    }
    ctx->c->tls_subject_dn = apr_pstrdup(ctx->p, s);
    return NULL;
}

static const char *f_tls_bound(reg_ctx_t *ctx, json_t *v)
{
    return flag(v, &ctx->c->tls_bound);
}

static const char *f_secret(reg_ctx_t *ctx, json_t *v)
{
    const char *s = json_string_value(v), *why;

    if (ctx->c->auth_method >= OAS_AUTH_PRIVATE_KEY_JWT) {
        return v ? "is not used by private_key_jwt, tls_client_auth or "
                   "self_signed_tls_client_auth (remove it)" : NULL;
    }
    if (!ctx->c->confidential) {
        return v ? "is not allowed for a public client (remove it, or make the "
                   "client confidential)" : NULL;
    }
    if (v == NULL) {
        return apr_psprintf(ctx->p, "is required for a confidential client (a password "
                            "hash: 'htpasswd -nbB %s SECRET', the part after the ':')",
                            ctx->c->client_id);
    }
    if (s == NULL) {
        return "must be a string";
    }
    if ((why = hash_problem(s, ctx->c->client_id, ctx->p)) != NULL) {
        return why;
    }
    ctx->c->secret_hash = apr_pstrdup(ctx->p, s);
    return NULL;
}

static const char *f_redirect_uris(reg_ctx_t *ctx, json_t *v)
{
    return string_array(ctx, v, elem_redirect_uri, &ctx->c->redirect_uris);
}

static const char *f_grant_types(reg_ctx_t *ctx, json_t *v)
{
    apr_array_header_t *names;
    const char *why;
    int i;

    if (v == NULL) {
        return "is required (an array of grant types)";
    }
    if ((why = string_array(ctx, v, elem_grant, &names)) != NULL) {
        return why;
    }
    for (i = 0; i < names->nelts; ++i) {
        unsigned g = oas_grant_from_name(APR_ARRAY_IDX(names, i, const char *));
        ctx->c->grants |= g == OAS_GRANT_REFRESH_TOKEN ? 0 : g;   /* see refresh_limit */
    }
    if (ctx->c->grants == 0) {
        return "must name at least one of authorization_code, implicit, "
               "client_credentials, password";
    }
    return NULL;
}

static const char *f_scopes(reg_ctx_t *ctx, json_t *v)
{
    return string_array(ctx, v, elem_scope, &ctx->c->scopes);
}

static const char *f_access_token_lifetime(reg_ctx_t *ctx, json_t *v)
{
    ctx->c->access_token_lifetime = -1;
    if (v == NULL) {
        return NULL;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return "must be an integer >= 0 (seconds; 0 = never expires)";
    }
    ctx->c->access_token_lifetime = json_integer_value(v);
    return NULL;
}

static const char *f_refresh_limit(reg_ctx_t *ctx, json_t *v)
{
    if (v == NULL) {
        return NULL;
    }
    if (!json_is_integer(v) || json_integer_value(v) < -1
        || json_integer_value(v) > INT_MAX) {
        return "must be an integer >= -1 (0 = no refresh token, -1 = unlimited)";
    }
    ctx->c->refresh_limit = (int)json_integer_value(v);
    return NULL;
}

static const char *f_enabled(reg_ctx_t *ctx, json_t *v)
{
    if (v != NULL && !json_is_boolean(v)) {
        return "must be true or false";
    }
    ctx->c->enabled = v == NULL || json_is_true(v);
    return NULL;
}

/* Absent: every declared resource (NULL); [] : none. */
static const char *f_resources(reg_ctx_t *ctx, json_t *v)
{
    return v ? string_array(ctx, v, elem_resource, &ctx->c->resources) : NULL;
}

/* "opaque" | "jwt" (SPEC §3, §10); a never-expiring token cannot be a JWT */
static const char *f_access_token_format(reg_ctx_t *ctx, json_t *v)
{
    const char *s = json_string_value(v);

    ctx->c->access_token_format = -1;
    if (v == NULL) {
        return NULL;
    }
    if (!s || (strcmp(s, "opaque") != 0 && strcmp(s, "jwt") != 0)) {
        return "must be \"opaque\" or \"jwt\"";
    }
    ctx->c->access_token_format = strcmp(s, "jwt") == 0;    /* OAS_FORMAT_JWT : _OPAQUE */
    if (ctx->c->access_token_format && ctx->c->access_token_lifetime == 0) {
        return "\"jwt\" needs an access_token_lifetime other than 0 (a JWT must expire)";
    }
    return NULL;
}

static const char *f_require_par(reg_ctx_t *ctx, json_t *v)
{
    if (v != NULL && !json_is_boolean(v)) {
        return "must be true or false";
    }
    ctx->c->require_par = v != NULL && json_is_true(v);
    return NULL;
}

/* Cross-field rules, reported on the field that has to change. */
static const char *f_needs_redirect(reg_ctx_t *ctx, json_t *v)
{
    (void)v;
    if ((ctx->c->grants & (OAS_GRANT_AUTHORIZATION_CODE | OAS_GRANT_IMPLICIT))
        && ctx->c->redirect_uris->nelts == 0) {
        return "needs at least one URI for the authorization_code and implicit grants";
    }
    return NULL;
}

/* In order: later checks rely on earlier fields (type before secret). */
static const struct {
    const char *name;
    field_fn *fn;
    const char *report_as;      /* NULL: the field itself */
} FIELDS[] = {
    { "client_id",             f_client_id,             NULL },
    { "name",                  f_name,                  NULL },
    { "type",                  f_type,                  NULL },
    { "token_endpoint_auth_method", f_auth_method,      NULL },
    { "secret",                f_secret,                NULL },
    { "jwks",                  f_jwks,                  NULL },
    { "dpop_bound_access_tokens", f_dpop_bound,         NULL },
    { "tls_client_auth_subject_dn", f_tls_dn,           NULL },
    { "tls_client_certificate_bound_access_tokens", f_tls_bound, NULL },
    { "redirect_uris",         f_redirect_uris,         NULL },
    { "grant_types",           f_grant_types,           NULL },
    { "scopes",                f_scopes,                NULL },
    { "access_token_lifetime", f_access_token_lifetime, NULL },
    { "refresh_limit",         f_refresh_limit,         NULL },
    { "enabled",               f_enabled,               NULL },
    { "resources",             f_resources,             NULL },
    { "access_token_format",   f_access_token_format,   NULL },
    { "require_pushed_authorization_requests", f_require_par, NULL },
    { "comment",               NULL,                    NULL },
    { NULL,                    f_needs_redirect,        "redirect_uris" },
};
#define N_FIELDS (sizeof(FIELDS) / sizeof(FIELDS[0]))

static int known_field(const char *key)
{
    apr_size_t i;

    for (i = 0; i < N_FIELDS; ++i) {
        if (FIELDS[i].name != NULL && strcmp(FIELDS[i].name, key) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *client_error(reg_ctx_t *ctx, const char *field, const char *why)
{
    return apr_psprintf(ctx->p, "%s: %s: field '%s': %s", ctx->source, ctx->label,
                        field, why);
}

static const char *unknown_fields(reg_ctx_t *ctx, json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        if (!known_field(key)) {
            return apr_psprintf(ctx->p, "%s: %s: unknown field %s (check its spelling; "
                                "\"comment\" is free for notes)", ctx->source,
                                ctx->label, show(ctx->p, key));
        }
    }
    return NULL;
}

/* Parse one client object; NULL or the full error message. */
static const char *parse_client(reg_ctx_t *ctx, json_t *obj)
{
    apr_size_t i;
    const char *why;

    ctx->label = apr_psprintf(ctx->p, "client #%d", ctx->index);
    if (!json_is_object(obj)) {
        return apr_psprintf(ctx->p, "%s: %s: must be a JSON object", ctx->source,
                            ctx->label);
    }
    ctx->c = apr_pcalloc(ctx->p, sizeof(*ctx->c));
    for (i = 0; i < N_FIELDS; ++i) {
        const char *field = FIELDS[i].report_as ? FIELDS[i].report_as : FIELDS[i].name;
        json_t *v = FIELDS[i].name ? json_object_get(obj, FIELDS[i].name) : NULL;
        if (FIELDS[i].fn != NULL && (why = FIELDS[i].fn(ctx, v)) != NULL) {
            return client_error(ctx, field, why);
        }
        if (i == 0 && (why = unknown_fields(ctx, obj)) != NULL) {
            return why;     /* right after client_id, so the client is named */
        }
    }
    return NULL;
}

/* ---- the file --------------------------------------------------------- */

static const char *top_level(reg_ctx_t *ctx, json_t *root, json_t **pclients)
{
    const char *key;
    json_t *v;

    if (!json_is_object(root)) {
        return apr_psprintf(ctx->p, "%s: the top level must be an object: "
                            "{\"clients\": [...]}", ctx->source);
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "clients") != 0 && strcmp(key, "comment") != 0) {
            return apr_psprintf(ctx->p, "%s: unknown top-level key %s (allowed: "
                                "\"clients\", \"comment\")", ctx->source,
                                show(ctx->p, key));
        }
    }
    *pclients = json_object_get(root, "clients");
    if (!json_is_array(*pclients)) {
        return apr_psprintf(ctx->p, "%s: \"clients\" must be an array of client objects",
                            ctx->source);
    }
    return NULL;
}

static const char *parse_clients(reg_ctx_t *ctx, json_t *root)
{
    json_t *clients, *obj;
    const char *err;
    size_t i;

    if ((err = top_level(ctx, root, &clients)) != NULL) {
        return err;
    }
    json_array_foreach(clients, i, obj) {
        ctx->index = (int)i + 1;
        if ((err = parse_client(ctx, obj)) != NULL) {
            return err;
        }
        APR_ARRAY_PUSH(ctx->reg->clients, const oas_client_t *) = ctx->c;
        apr_hash_set(ctx->reg->by_id, ctx->c->client_id, APR_HASH_KEY_STRING, ctx->c);
    }
    return NULL;
}

apr_status_t oas_registry_parse(oas_registry_t **preg, const char *text, apr_size_t len,
                                const char *source, const oas_scopes_t *scopes,
                                apr_pool_t *p, const char **perr)
{
    reg_ctx_t ctx;
    json_error_t jerr;
    json_t *root;
    const char *err;

    memset(&ctx, 0, sizeof(ctx));
    ctx.source = source ? source : "(registry)";
    ctx.scopes = scopes;
    ctx.p = p;
    *preg = NULL;
    *perr = NULL;
    root = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (root == NULL) {
        *perr = text == NULL ? apr_psprintf(p, "%s: no text", ctx.source)
              : apr_psprintf(p, "%s: JSON syntax error at line %d, column %d: %s",
                             ctx.source, jerr.line, jerr.column, jerr.text);
        return APR_EINVAL;
    }
    ctx.reg = apr_pcalloc(p, sizeof(*ctx.reg));
    ctx.reg->clients = apr_array_make(p, 8, sizeof(const oas_client_t *));
    ctx.reg->by_id = apr_hash_make(p);
    ctx.reg->text = apr_pstrmemdup(p, text, len);
    err = parse_clients(&ctx, root);
    json_decref(root);
    if (err != NULL) {
        *perr = err;
        return APR_EINVAL;
    }
    ctx.reg->dummy_hash = dummy_hash_for(ctx.reg->clients, p);
    *preg = ctx.reg;
    return APR_SUCCESS;
}

static apr_status_t read_file(char **ptext, apr_size_t *plen, const char *path,
                              apr_pool_t *p)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t got = 0;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size < 0 || fi.size > REGISTRY_MAX_FILE)) {
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        *ptext = apr_palloc(p, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(f, *ptext, (apr_size_t)fi.size, &got);
        rv = rv == APR_EOF ? APR_SUCCESS : rv;
        (*ptext)[got] = '\0';
        *plen = got;
    }
    apr_file_close(f);
    return rv;
}

apr_status_t oas_registry_load(oas_registry_t **preg, const char *path,
                               const oas_scopes_t *scopes, apr_pool_t *p, const char **perr)
{
    char *text = NULL, buf[256];
    apr_size_t len = 0;
    apr_status_t rv;

    *preg = NULL;
    if (path == NULL) {
        *perr = "no registry file given";
        return APR_EINVAL;
    }
    if ((rv = read_file(&text, &len, path, p)) != APR_SUCCESS) {
        *perr = rv == APR_EINVAL
              ? apr_psprintf(p, "%s: cannot read: not a regular file or larger than "
                             "%d bytes", path, REGISTRY_MAX_FILE)
              : apr_psprintf(p, "%s: cannot read: %s", path,
                             apr_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    return oas_registry_parse(preg, text, len, path, scopes, p, perr);
}

const oas_client_t *oas_registry_get(const oas_registry_t *reg, const char *client_id)
{
    if (reg == NULL || client_id == NULL) {
        return NULL;
    }
    return apr_hash_get(reg->by_id, client_id, APR_HASH_KEY_STRING);
}

const apr_array_header_t *oas_registry_clients(const oas_registry_t *reg)
{
    return reg ? reg->clients : NULL;
}

const char *oas_registry_dummy_hash(const oas_registry_t *reg)
{
    return reg ? reg->dummy_hash : DUMMY_BCRYPT;
}

const char *oas_registry_text(const oas_registry_t *reg)
{
    return reg ? reg->text : NULL;
}
