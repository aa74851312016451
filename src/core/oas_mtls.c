/* oas_mtls.c — RFC 8705 mutual-TLS client authentication and
 * certificate-bound tokens on OpenSSL (oas_mtls.h). */
#include <ctype.h>
#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "oas_mtls.h"
#include "oas_util.h"

static X509 *pem_cert(const char *pem)
{
    BIO *b;
    X509 *x;

    if (!pem || !*pem || !(b = BIO_new_mem_buf(pem, -1))) {
        return NULL;
    }
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

/* the DER of a PEM certificate in p, or NULL */
static unsigned char *pem_der(const char *pem, apr_size_t *plen, apr_pool_t *p)
{
    X509 *x = pem_cert(pem);
    unsigned char *der = NULL, *q;
    int n = x ? i2d_X509(x, NULL) : -1;

    if (n > 0) {
        der = q = apr_palloc(p, (apr_size_t)n);
        i2d_X509(x, &q);
        *plen = (apr_size_t)n;
    }
    X509_free(x);
    return der;
}

const char *oas_mtls_x5t(const char *pem, apr_pool_t *p)
{
    unsigned char md[OAS_DIGEST_LEN];
    apr_size_t len = 0;
    unsigned char *der = pem_der(pem, &len, p);

    if (!der) {
        return NULL;
    }
    oas_sha256(md, der, len);
    return oas_base64url_encode(p, md, sizeof(md));
}

const char *oas_mtls_subject_dn(const char *pem, apr_pool_t *p)
{
    X509 *x = pem_cert(pem);
    BIO *b = x ? BIO_new(BIO_s_mem()) : NULL;
    const char *dn = NULL;
    char *data;
    long n;

    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                                XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0
        && (n = BIO_get_mem_data(b, &data)) >= 0) {
        dn = apr_pstrmemdup(p, data, (apr_size_t)n);
    }
    BIO_free(b);
    X509_free(x);
    return dn;
}

/* lower case, without the spaces before or after an unescaped , + = and
 * at either end */
static char *dn_norm(const char *in, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(in) + 1);
    apr_size_t n = 0;
    int after_sep = 1, esc = 0;

    for (; *in; in++) {
        if (!esc && strchr(",+=", *in)) {
            while (n > 0 && out[n - 1] == ' ' && !(n > 1 && out[n - 2] == '\\')) {
                n--;
            }
            out[n++] = *in;
            after_sep = 1;
            continue;
        }
        if (*in == ' ' && after_sep) {
            continue;
        }
        after_sep = 0;
        esc = !esc && *in == '\\';
        out[n++] = (char)tolower((unsigned char)*in);
    }
    while (n > 0 && out[n - 1] == ' ' && !(n > 1 && out[n - 2] == '\\')) {
        n--;
    }
    out[n] = '\0';
    return out;
}

int oas_mtls_dn_equal(const char *a, const char *b)
{
    apr_pool_t *p;
    int eq;

    if (!a || !b || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    eq = strcmp(dn_norm(a, p), dn_norm(b, p)) == 0;
    apr_pool_destroy(p);
    return eq;
}

/* the DER of a base64 x5c element, or NULL when it is not a certificate */
static unsigned char *x5c_der(json_t *v, apr_size_t *plen, apr_pool_t *p)
{
    const char *s = json_string_value(v);
    const unsigned char *q;
    unsigned char *der;
    X509 *x;
    int n, ok;

    if (!s || !*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                            "0123456789+/=") != strlen(s)) {
        return NULL;
    }
    der = apr_palloc(p, (apr_size_t)apr_base64_decode_len(s));
    n = apr_base64_decode_binary(der, s);
    q = der;
    x = n > 0 ? d2i_X509(NULL, &q, n) : NULL;
    ok = x != NULL && q == der + n;
    X509_free(x);
    if (!ok) {
        return NULL;
    }
    *plen = (apr_size_t)n;
    return der;
}

const char *oas_mtls_x5c_problem(const void *x5c, apr_pool_t *p)
{
    apr_size_t len;

    if (!json_is_array((json_t *)x5c) || json_array_size((json_t *)x5c) == 0) {
        return "needs \"x5c\": [the client's certificate, base64 DER]";
    }
    return x5c_der(json_array_get((json_t *)x5c, 0), &len, p) ? NULL
           : "x5c[0] is not a base64 DER certificate";
}

int oas_mtls_x5c_match(const void *jwks, const char *pem, apr_pool_t *p)
{
    json_t *keys = json_object_get((json_t *)jwks, "keys"), *k;
    apr_size_t len = 0, klen;
    unsigned char *der = pem_der(pem, &len, p), *kder;
    size_t i;

    if (!der) {
        return 0;
    }
    json_array_foreach(keys, i, k) {
        kder = x5c_der(json_array_get(json_object_get(k, "x5c"), 0), &klen, p);
        if (kder && klen == len && memcmp(kder, der, len) == 0) {
            return 1;
        }
    }
    return 0;
}

oas_response_t *oas_mtls_token_request(const char **px5t, const oas_config_t *cfg,
                                       const oas_http_req_t *req, const oas_client_t *client,
                                       apr_pool_t *p)
{
    *px5t = NULL;
    if (!client->tls_bound) {
        return NULL;
    }
    if (!(*px5t = oas_mtls_x5t(req->client_cert, p))) {
        return oas_response_error(p, cfg, 400, OAS_ERR_INVALID_REQUEST,
                                  "this client's tokens are bound to its TLS client "
                                  "certificate: present one");
    }
    return NULL;
}

const char *oas_mtls_client_problem(const oas_client_t *c, const oas_http_req_t *req,
                                    apr_pool_t *p)
{
    if (!req->client_cert || !oas_mtls_x5t(req->client_cert, p)) {
        return "no TLS client certificate";
    }
    if (c->auth_method == OAS_AUTH_SELF_SIGNED_TLS) {
        return oas_mtls_x5c_match(c->jwks, req->client_cert, p) ? NULL
               : "the TLS client certificate is none of the x5c of its jwks";
    }
    if (!req->client_cert_verified) {
        return "the TLS client certificate does not chain to SSLCACertificateFile";
    }
    return oas_mtls_dn_equal(oas_mtls_subject_dn(req->client_cert, p), c->tls_subject_dn)
           ? NULL : "the TLS client certificate's subject DN is not tls_client_auth_subject_dn";
}

json_t *oas_token_cnf(const oas_token_t *t)
{
    json_t *c = json_object();

    if (t->jkt) {
        json_object_set_new(c, "jkt", json_string(t->jkt));
    }
    if (t->x5t) {
        json_object_set_new(c, "x5t#S256", json_string(t->x5t));
    }
    return c;
}
