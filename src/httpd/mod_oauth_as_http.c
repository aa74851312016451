/* mod_oauth_as_http.c — request glue: turn a request_rec into the core's
 * oas_http_req_t, hand it to the endpoint, and write the answer back. */
#include <string.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <ap_provider.h>
#include <mod_auth.h>
#include "mod_oauth_as_private.h"
#include "oas_form.h"

APLOG_USE_MODULE(oauth_as);

/* The rest of this request's body is never read: the connection closes after
 * the answer (httpd's own discard and lingering close then skip it). */
static int stop_reading(request_rec *r, int *flag)
{
    *flag = 1;
    r->connection->keepalive = AP_CONN_CLOSE;
    return OK;
}

/* Read the body, at most OAS_FORM_MAX_BODY bytes. A Content-Length above that
 * is refused before a byte is read; a chunked body is cut off at the limit.
 * A body that cannot be read (malformed chunks, the client too slow for the
 * server's Timeout) is left to the endpoint, which refuses it in its own
 * format. Either way the connection closes after the answer. */
static int read_body(request_rec *r, oas_http_req_t *req)
{
    apr_size_t cap = OAS_FORM_MAX_BODY + 1, len = 0;
    char *buf;
    long n;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rc;
    }
    if (!ap_should_client_block(r)) {
        return OK;
    }
    if (r->remaining > (apr_off_t)OAS_FORM_MAX_BODY) {
        return stop_reading(r, &req->body_too_large);
    }
    buf = apr_palloc(r->pool, cap + 1);
    while ((n = ap_get_client_block(r, buf + len, cap - len)) > 0) {
        len += (apr_size_t)n;
        if (len >= cap) {
            return stop_reading(r, &req->body_too_large);
        }
    }
    if (n < 0) {
        return stop_reading(r, &req->body_unreadable);
    }
    buf[len] = '\0';
    req->body = buf;
    req->body_len = len;
    return OK;
}

/* OAuthASPasswordProvider: ask httpd's authn providers in turn. */
static int check_password(void *baton, const char *user, const char *password)
{
    request_rec *r = baton;
    oas_dir_conf_t *dc = ap_get_module_config(r->per_dir_config, &oauth_as_module);
    int i, rc = OAS_PW_DENIED;

    if (!dc->pw_providers) {
        return OAS_PW_NONE;
    }
    for (i = 0; i < dc->pw_providers->nelts; i++) {
        const char *name = APR_ARRAY_IDX(dc->pw_providers, i, const char *);
        const authn_provider *prov = ap_lookup_provider(AUTHN_PROVIDER_GROUP, name,
                                                        AUTHN_PROVIDER_VERSION);
        authn_status st;

        if (!prov || !prov->check_password) {
            return OAS_PW_ERROR;
        }
        apr_table_setn(r->notes, AUTHN_PROVIDER_NAME_NOTE, name);
        st = prov->check_password(r, user, password);
        apr_table_unset(r->notes, AUTHN_PROVIDER_NAME_NOTE);
        if (st == AUTH_GRANTED) {
            return OAS_PW_GRANTED;
        }
        if (st == AUTH_GENERAL_ERROR) {
            rc = OAS_PW_ERROR;
        }
        if (st == AUTH_DENIED) {
            return rc;
        }
    }
    return rc;
}

/* OAuthASPasswordCache: the cache's context names everything that could
 * check a password differently: this virtual host, this Location (the
 * request's URL-path, length-prefixed so that no path and provider list run
 * together) and the providers. NULL when the cache is off. */
static const char *password_context(request_rec *r, int *pttl)
{
    oas_dir_conf_t *dc = ap_get_module_config(r->per_dir_config, &oauth_as_module);
    const char *ctx;
    int i;

    *pttl = dc->pw_cache > 1 && dc->pw_providers ? dc->pw_cache - 1 : 0;
    if (*pttl == 0) {
        return NULL;
    }
    ctx = apr_psprintf(r->pool, "pw %pp %" APR_SIZE_T_FMT ":%s", (void *)r->server,
                       strlen(r->uri), r->uri);
    for (i = 0; i < dc->pw_providers->nelts; i++) {
        ctx = apr_pstrcat(r->pool, ctx, " ", APR_ARRAY_IDX(dc->pw_providers, i, const char *),
                          NULL);
    }
    return ctx;
}

static int header_cb(void *rv, const char *key, const char *val)
{
    apr_table_setn(((request_rec *)rv)->err_headers_out, key, val);
    return 1;
}

int oas_send_response(request_rec *r, const oas_response_t *resp)
{
    r->status = resp->status;
    apr_table_do(header_cb, r, resp->headers, NULL);
    if (resp->content_type) {
        ap_set_content_type(r, resp->content_type);
    }
    ap_set_content_length(r, resp->body_len);
    if (resp->body_len && !r->header_only) {
        ap_rwrite(resp->body, (int)resp->body_len, r);
    }
    return OK;
}

int oas_request_is_https(request_rec *r)
{
    const char *scheme;

    if (ap_ssl_conn_is_ssl(r->connection)) {
        return 1;
    }
    scheme = ap_http_scheme(r);
    return scheme && strcmp(scheme, "https") == 0;
}

static int count_cb(void *pn, const char *key, const char *val)
{
    (*(int *)pn)++;
    return 1;
}

const char *oas_request_dpop(request_rec *r, int *pcount)
{
    const char *v;

    *pcount = 0;
    apr_table_do(count_cb, pcount, r->headers_in, "DPoP", NULL);
    v = apr_table_get(r->headers_in, "DPoP");
    /* httpd joins repeated request headers with ", "; a JWS has no comma */
    if (v && strchr(v, ',') && *pcount < 2) {
        *pcount = 2;
    }
    return v;
}

/* The TLS client certificate of this connection (PEM) as mod_ssl has it,
 * and whether mod_ssl verified it; NULL without TLS or certificate. Never
 * a forwarded header: behind a TLS-terminating proxy there is none. */
const char *oas_request_client_cert(request_rec *r, int *pverified)
{
    const char *pem = NULL, *v;

    *pverified = 0;
    if (!ap_ssl_conn_is_ssl(r->connection)) {
        return NULL;
    }
    pem = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, "SSL_CLIENT_CERT");
    v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, "SSL_CLIENT_VERIFY");
    *pverified = v && strcmp(v, "SUCCESS") == 0;
    return pem && *pem ? pem : NULL;
}

static int fill_request(request_rec *r, oas_http_req_t *req)
{
    memset(req, 0, sizeof(*req));
    req->method = r->method;
    req->is_https = oas_request_is_https(r);
    req->content_type = apr_table_get(r->headers_in, "Content-Type");
    req->query = r->args;
    req->path = r->uri;
    req->authorization = apr_table_get(r->headers_in, "Authorization");
    req->dpop = oas_request_dpop(r, &req->dpop_count);
    req->user = r->user;
    req->check_password = check_password;
    req->password_baton = r;
    req->password_context = password_context(r, &req->password_cache);
    oas_request_logger(&req->log, r);
    req->now = (long long)apr_time_sec(r->request_time);
    req->remote_ip = r->useragent_ip;
    req->client_cert = oas_request_client_cert(r, &req->client_cert_verified);
    /* PUT: RFC 7592 replaces a registered client's metadata */
    return r->method_number == M_POST || r->method_number == M_PUT ? read_body(r, req) : OK;
}

typedef oas_response_t *endpoint_fn(const oas_config_t *cfg, const oas_http_req_t *req,
                                    apr_pool_t *p);

static const struct {
    const char *handler;
    endpoint_fn *fn;
} endpoints[] = {
    { "oauth-as-authorize", oas_authorize_endpoint },
    { "oauth-as-token", oas_token_endpoint },
    { "oauth-as-introspect", oas_introspect_endpoint },
    { "oauth-as-revoke", oas_revoke_endpoint },
    { "oauth-as-metadata", oas_metadata_endpoint },
    { "oauth-as-status", oas_status_endpoint },
    { "oauth-as-resource-metadata", oas_resource_metadata_endpoint },
    { "oauth-as-jwks", oas_jwks_endpoint },
    { "oauth-as-device-authorization", oas_device_authorization_endpoint },
    { "oauth-as-device", oas_device_endpoint },
    { "oauth-as-par", oas_par_endpoint },
    { "oauth-as-register", oas_register_endpoint },
};

int oas_handler(request_rec *r)
{
    oas_srv_conf_t *sc;
    oas_http_req_t req;
    const oas_response_t *resp;
    size_t i;
    int rc;

    if (!r->handler) {
        return DECLINED;
    }
    for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        if (strcmp(r->handler, endpoints[i].handler) == 0) {
            break;
        }
    }
    if (i == sizeof(endpoints) / sizeof(endpoints[0])) {
        return DECLINED;
    }
    sc = oas_srv_conf(r->server);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, OASLOGNO(01101) "%s: %s %s", r->handler,
                  r->method, r->uri);
    if ((rc = fill_request(r, &req)) != OK) {
        return rc;
    }
    resp = endpoints[i].fn(sc->rt, &req, r->pool);
    if (resp->status == HTTP_NOT_FOUND && !resp->body) {
        return HTTP_NOT_FOUND;          /* httpd's own page (and ErrorDocument) */
    }
    return oas_send_response(r, resp);
}
