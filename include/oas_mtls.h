/* oas_mtls.h — OAuth 2.0 mutual-TLS client authentication and
 * certificate-bound access tokens (RFC 8705), SPEC §13. The glue hands the
 * connection's client certificate (PEM, from mod_ssl) to the core; nothing
 * here reads a request header. */
#ifndef OAS_MTLS_H
#define OAS_MTLS_H

#include <apr_pools.h>
#include "oas_proto.h"
#include "oas_registry.h"
#include "oas_token.h"

/* A bound token's cnf claim (RFC 9449 §6, RFC 8705 §3.1): {"jkt": ...}
 * and/or {"x5t#S256": ...}. */
json_t *oas_token_cnf(const oas_token_t *t);

/* RFC 8705 §3.1: base64url SHA-256 of the certificate's DER, or NULL when
 * pem is NULL or not a certificate. */
const char *oas_mtls_x5t(const char *pem, apr_pool_t *p);

/* The certificate's subject DN as an RFC 4514 string (RFC 2253 order, the
 * most specific RDN first: "CN=client,O=Example,C=DE"), or NULL. */
const char *oas_mtls_subject_dn(const char *pem, apr_pool_t *p);

/* 1 when two RFC 4514 DN strings are the same after normalising: spaces
 * around ',', '+' and '=' dropped, letters compared without case. */
int oas_mtls_dn_equal(const char *a, const char *b);

/* 1 when the certificate (PEM) is the first certificate of the x5c of one
 * of the keys of jwks (json_t *, {"keys": [...]}), compared as DER. */
int oas_mtls_x5c_match(const void *jwks, const char *pem, apr_pool_t *p);

/* NULL when x5c (json_t *) is a non-empty array whose first element is a
 * base64 DER certificate; else why not. */
const char *oas_mtls_x5c_problem(const void *x5c, apr_pool_t *p);

/* The token endpoint, after client authentication: *px5t is the thumbprint
 * the tokens are bound to (NULL: not bound). A client registered with
 * tls_client_certificate_bound_access_tokens must present a certificate
 * (else 400 invalid_request). */
oas_response_t *oas_mtls_token_request(const char **px5t, const oas_config_t *cfg,
                                       const oas_http_req_t *req, const oas_client_t *client,
                                       apr_pool_t *p);

/* tls_client_auth / self_signed_tls_client_auth of client c with the
 * request's certificate: NULL when it authenticates, else why not (for
 * the log; never shown to the caller). */
const char *oas_mtls_client_problem(const oas_client_t *c, const oas_http_req_t *req,
                                    apr_pool_t *p);

#endif
