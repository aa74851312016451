/* oas_reuse.c — the refresh reuse window: tombstones of rotated refresh
 * tokens that remember when they were first used (oas_reuse.h). */
#include <string.h>
#include "oas_reuse.h"

void oas_reuse_tombstone(oas_entry_t *tomb, const oas_entry_t *live, long long used_at,
                         apr_pool_t *p)
{
    oas_token_t rec;

    *tomb = *live;
    tomb->kind = OAS_KIND_USED_REFRESH;
    if (oas_token_decode(&rec, live, p) != APR_SUCCESS) {
        return;
    }
    rec.kind = OAS_KIND_USED_REFRESH;
    rec.iat = used_at;
    if (oas_token_encode(tomb, &rec, p) != APR_SUCCESS) {   /* same size: cannot fail */
        *tomb = *live;
        tomb->kind = OAS_KIND_USED_REFRESH;
    }
}

int oas_reuse_allowed(const oas_token_t *tomb, const char *client_id, long long now,
                      long long window)
{
    return window > 0 && tomb->kind == OAS_KIND_USED_REFRESH && tomb->client_id
           && strcmp(tomb->client_id, client_id) == 0 && now - tomb->iat <= window;
}
