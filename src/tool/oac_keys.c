/* oac_keys.c — oauth-as-client keygen: a new signing key for OAuthASSigningKey,
 * written 0600 and never over an existing file. */
#include <stdio.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "oac.h"
#include "oas_jose.h"

/* write text to a new file of mode 0600 (refused if path exists) */
static int write_new(apr_pool_t *p, const char *path, const char *text)
{
    apr_size_t len = strlen(text);
    apr_file_t *f;
    apr_status_t rv;
    char err[128];

    rv = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE, p);
    if (rv != APR_SUCCESS) {
        return oac_fail("%s: %s%s", path, apr_strerror(rv, err, sizeof(err)),
                        APR_STATUS_IS_EEXIST(rv) ? " (a key file is never overwritten)" : "");
    }
    if ((rv = apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE)) != APR_SUCCESS
        || (rv = apr_file_write_full(f, text, len, NULL)) != APR_SUCCESS
        || (rv = apr_file_close(f)) != APR_SUCCESS) {
        apr_file_remove(path, p);
        return oac_fail("%s: %s", path, apr_strerror(rv, err, sizeof(err)));
    }
    return OAC_OK;
}

int oac_cmd_keygen(oac_opts_t *o)
{
    const char *type = APR_ARRAY_IDX(o->args, 0, const char *);
    const char *path = APR_ARRAY_IDX(o->args, 1, const char *);
    const char *pem = NULL, *err = NULL;
    oas_jose_key_t *key;
    int rc;

    if (oas_jose_key_generate(&pem, type, o->p, &err) != APR_SUCCESS) {
        return oac_fail("keygen: %s", err);
    }
    if ((rc = write_new(o->p, path, pem)) != OAC_OK) {
        return rc;
    }
    if (oas_jose_key_load(&key, path, o->p, &err) != APR_SUCCESS) {
        return oac_fail("%s", err);
    }
    printf("wrote %s: alg %s, kid %s\n", path, oas_jose_key_alg(key), oas_jose_key_kid(key));
    return OAC_OK;
}
