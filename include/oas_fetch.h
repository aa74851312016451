/* oas_fetch.h — the module's one outbound HTTP client (libcurl), for client
 * metadata documents (SPEC §9 last sentence, §12): HTTPS only, no redirects,
 * no proxy, a size and a time limit, and only to addresses that are public or
 * in an allowed range (checked on the address actually connected to, so a DNS
 * answer that changes between a check and the connection changes nothing). */
#ifndef OAS_FETCH_H
#define OAS_FETCH_H

#include <apr_pools.h>
#include <apr_tables.h>

/* An address range of OAuthASClientMetadataDocuments. */
typedef struct oas_cidr_t {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
} oas_cidr_t;

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address; NULL, or why not. */
const char *oas_cidr_parse(const char *s, oas_cidr_t *out);

/* 1 when addr (4 or 16 bytes by family) is in one of nets (oas_cidr_t), or is a
 * public unicast address (not loopback, private, link-local, shared, multicast,
 * reserved or documentation space; an IPv4-mapped IPv6 address as its IPv4). */
int oas_addr_allowed(int family, const unsigned char *addr, const apr_array_header_t *nets);

typedef struct oas_fetch_opts_t {
    apr_size_t max_bytes;       /* a longer body is an error */
    long timeout_ms;            /* the whole transfer, resolving included */
    const char *ca_file;        /* PEM CA certificates; NULL: the system's store */
    const apr_array_header_t *nets;   /* oas_cidr_t allowed besides public addresses */
} oas_fetch_opts_t;

/* GET url; APR_SUCCESS and the body (NUL-terminated) for a 200 answer, else
 * APR_EGENERAL and *pwhy (no secrets: the URL is the client's id). *pmax_age:
 * the answer's Cache-Control max-age, 0 for no-store or no-cache, -1 without. */
apr_status_t oas_fetch_https(const char *url, const oas_fetch_opts_t *o, char **pbody,
                             apr_size_t *plen, long long *pmax_age, const char **pwhy,
                             apr_pool_t *p);

/* libcurl's global set-up, once, before any thread runs (post_config). */
void oas_fetch_global_init(void);

#endif
