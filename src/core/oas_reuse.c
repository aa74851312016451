/* oas_reuse.c — the refresh reuse window: tombstones of rotated refresh
 * tokens that remember when and for whom (oas_reuse.h). */
#include <string.h>
#include <apr_strings.h>
#include "oas_reuse.h"

#define REUSE_TAG  'W'
#define REUSE_HDR  9            /* tag 1 + used_at 8 */

void oas_reuse_tombstone(oas_entry_t *tomb, const oas_entry_t *live, long long used_at,
                         long long window, apr_pool_t *p)
{
    unsigned long long u = (unsigned long long)used_at;
    unsigned char *b;
    int i;

    *tomb = *live;
    tomb->kind = OAS_KIND_USED_REFRESH;
    tomb->data = "";
    tomb->len = 0;
    if (window <= 0 || live->len + REUSE_HDR > OAS_ENTRY_MAX) {
        return;
    }
    b = apr_palloc(p, live->len + REUSE_HDR);
    b[0] = REUSE_TAG;
    for (i = 0; i < 8; i++) {
        b[1 + i] = (unsigned char)(u >> (8 * i));
    }
    memcpy(b + REUSE_HDR, live->data, live->len);
    tomb->data = b;
    tomb->len = live->len + REUSE_HDR;
}

int oas_reuse_allowed(oas_token_t *rec, long long *pused_at, const oas_entry_t *tomb,
                      const char *client_id, long long now, long long window, apr_pool_t *p)
{
    const unsigned char *b = tomb->data;
    unsigned long long u = 0;
    oas_entry_t e;
    int i;

    if (window <= 0 || tomb->kind != OAS_KIND_USED_REFRESH || tomb->len <= REUSE_HDR
        || !b || b[0] != REUSE_TAG) {
        return 0;
    }
    for (i = 7; i >= 0; i--) {
        u = (u << 8) | b[1 + i];
    }
    *pused_at = (long long)u;
    e = *tomb;
    e.kind = OAS_KIND_REFRESH;
    e.data = b + REUSE_HDR;
    e.len = tomb->len - REUSE_HDR;
    if (oas_token_decode(rec, &e, p) != APR_SUCCESS || strcmp(rec->client_id, client_id) != 0) {
        return 0;
    }
    /* a request that started before the first use finished (a racer) may
     * have an earlier clock reading than used_at: it is inside too */
    return now - *pused_at <= window;
}
