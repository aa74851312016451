/* oas_fetch.c — the outbound HTTPS client (oas_fetch.h), on libcurl.
 *
 * The address check runs in CURLOPT_OPENSOCKETFUNCTION, on the address libcurl
 * is about to connect to: whatever DNS answered, nothing else is connected to. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <apr_strings.h>
#include "oas_fetch.h"

const char *oas_cidr_parse(const char *s, oas_cidr_t *out)
{
    const char *slash = strchr(s, '/');
    char host[INET6_ADDRSTRLEN + 1];
    apr_size_t n = slash ? (apr_size_t)(slash - s) : strlen(s);
    int max, bits;
    char *end = NULL;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n >= sizeof(host)) {
        return "is not an IPv4 or IPv6 address range";
    }
    memcpy(host, s, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    }
    else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    }
    else {
        return "is not an IPv4 or IPv6 address range";
    }
    bits = max;
    if (slash) {
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > max) {
            return "has a prefix length out of range";
        }
        bits = (int)v;
    }
    out->bits = bits;
    return NULL;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, net, (size_t)whole) != 0) {
        return 0;
    }
    return rest == 0 || ((a[whole] ^ net[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* IPv4 ranges that are not public unicast (RFC 6890 and friends) */
static int v4_special(const unsigned char *a)
{
    static const struct { unsigned char net[4]; int bits; } R[] = {
        {{0, 0, 0, 0}, 8}, {{10, 0, 0, 0}, 8}, {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
        {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12}, {{192, 0, 0, 0}, 24},
        {{192, 0, 2, 0}, 24}, {{192, 88, 99, 0}, 24}, {{192, 168, 0, 0}, 16},
        {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24}, {{203, 0, 113, 0}, 24},
        {{224, 0, 0, 0}, 4}, {{240, 0, 0, 0}, 4},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(R) / sizeof(R[0]); i++) {
        if (prefix_match(a, R[i].net, R[i].bits)) {
            return 1;
        }
    }
    return 0;
}

/* IPv6: only global unicast 2000::/3 counts, less documentation, the
 * translation and tunnelling ranges that embed other addresses */
static int v6_special(const unsigned char *a)
{
    static const unsigned char DOC[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    static const unsigned char TEREDO[16] = { 0x20, 0x01, 0x00, 0x00 };
    static const unsigned char SIXTOFOUR[16] = { 0x20, 0x02 };

    return (a[0] & 0xe0) != 0x20 || prefix_match(a, DOC, 32) || prefix_match(a, TEREDO, 32)
           || prefix_match(a, SIXTOFOUR, 16);
}

int oas_addr_allowed(int family, const unsigned char *addr, const apr_array_header_t *nets)
{
    static const unsigned char MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    int i;

    if (family == AF_INET6 && memcmp(addr, MAPPED, sizeof(MAPPED)) == 0) {
        return oas_addr_allowed(AF_INET, addr + 12, nets);
    }
    for (i = 0; nets && i < nets->nelts; i++) {
        const oas_cidr_t *n = &APR_ARRAY_IDX(nets, i, oas_cidr_t);
        if (n->family == family && prefix_match(addr, n->addr, n->bits)) {
            return 1;
        }
    }
    if (family == AF_INET) {
        return !v4_special(addr);
    }
    return family == AF_INET6 && !v6_special(addr);
}

typedef struct fetch_ctx_t {
    const oas_fetch_opts_t *o;
    char *buf;
    apr_size_t len;
    int too_big;
    int refused;
    long long max_age;          /* -1: no Cache-Control seen */
} fetch_ctx_t;

/* Cache-Control: no-store / no-cache -> 0, max-age=N -> N (the last header wins) */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    fetch_ctx_t *f = ud;
    size_t n = size * nmemb;
    char line[256], *v;

    if (n < 14 || n >= sizeof(line) || strncasecmp(data, "cache-control:", 14) != 0) {
        return n;
    }
    memcpy(line, data, n);
    line[n] = '\0';
    if (strcasestr(line, "no-store") || strcasestr(line, "no-cache")) {
        f->max_age = 0;
    }
    else if ((v = strcasestr(line, "max-age=")) != NULL) {
        long long a = strtoll(v + 8, NULL, 10);
        f->max_age = a < 0 ? 0 : a;
    }
    return n;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    fetch_ctx_t *f = ud;
    size_t n = size * nmemb;

    if (n > f->o->max_bytes - f->len) {
        f->too_big = 1;
        return 0;                  /* stops the transfer: CURLE_WRITE_ERROR */
    }
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return n;
}

static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    fetch_ctx_t *f = ud;
    const unsigned char *ip = NULL;

    if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET) {
        ip = (const unsigned char *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
    }
    else if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET6) {
        ip = (const unsigned char *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
    }
    if (!ip || !oas_addr_allowed(a->family, ip, f->o->nets)) {
        f->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static void set_options(CURL *h, const char *url, fetch_ctx_t *f)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");            /* never an environment's proxy */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);         /* threads: no SIGALRM */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, f->o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->o->max_bytes);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (f->o->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, f->o->ca_file);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_oauth_as");
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, f);
}

static const char *failure(CURLcode rc, const fetch_ctx_t *f, long status, apr_pool_t *p)
{
    if (f->refused) {
        return "its address is not public nor in an allowed range";
    }
    if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        return apr_psprintf(p, "it is larger than %lu bytes", (unsigned long)f->o->max_bytes);
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        return apr_psprintf(p, "it took longer than %ld ms", f->o->timeout_ms);
    }
    if (rc != CURLE_OK) {
        return apr_psprintf(p, "fetching failed: %s", curl_easy_strerror(rc));
    }
    if (status >= 300 && status < 400) {
        return apr_psprintf(p, "HTTP %ld: a redirect, not followed", status);
    }
    return apr_psprintf(p, "HTTP %ld", status);
}

apr_status_t oas_fetch_https(const char *url, const oas_fetch_opts_t *o, char **pbody,
                             apr_size_t *plen, long long *pmax_age, const char **pwhy,
                             apr_pool_t *p)
{
    fetch_ctx_t f = { o, apr_palloc(p, o->max_bytes + 1), 0, 0, 0, -1 };
    CURL *h = curl_easy_init();
    CURLcode rc;
    long status = 0;

    *pbody = NULL;
    *plen = 0;
    if (!h) {
        *pwhy = "libcurl could not start";
        return APR_ENOMEM;
    }
    set_options(h, url, &f);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status != 200 || f.refused || f.too_big) {
        *pwhy = failure(rc, &f, status, p);
        return APR_EGENERAL;
    }
    f.buf[f.len] = '\0';
    *pbody = f.buf;
    *plen = f.len;
    *pmax_age = f.max_age;
    *pwhy = NULL;
    return APR_SUCCESS;
}

void oas_fetch_global_init(void)
{
    static int done;

    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}
