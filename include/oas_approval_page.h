/* oas_approval_page.h — the HTML answers of the authorization endpoint: the
 * approval page and the error pages shown when nothing may be redirected. */
#ifndef OAS_APPROVAL_PAGE_H
#define OAS_APPROVAL_PAGE_H

#include "oas_csrf.h"

#define OAS_PAGE_TITLE "Authorize access"

/* s with & < > " ' replaced by character references (NULL → ""). */
const char *oas_html_escape(apr_pool_t *p, const char *s);

/* The headers every HTML answer carries: no framing, no caching, no
 * referrer, a strict CSP. */
void oas_html_headers(apr_table_t *headers);

/* 200 text/html: the approval page for a checked request, with the CSRF
 * token csrf in its form, posting to req->path. */
oas_response_t *oas_approval_page(const oas_config_t *cfg, const oas_http_req_t *req,
                                  const oas_authz_t *a, const char *csrf, apr_pool_t *p);

/* A page of the approval page's look (OAuthASApprovalPage title, logo and
 * footer; title when none is set) around inner, HTML the caller escaped. */
oas_response_t *oas_html_page(const oas_config_t *cfg, apr_pool_t *p, int status,
                              const char *title, const char *inner);

/* An HTML error page naming the OAuth error err; message is shown escaped.
 * The error is counted when cfg is not NULL. */
oas_response_t *oas_html_error(const oas_config_t *cfg, apr_pool_t *p, int status,
                               oas_error_t err, const char *message);

#endif
