/* oac_regfile.c — the registry file: read, validate with the module's own
 * parser (oas_registry_parse), and update atomically.
 *
 * An update holds an exclusive lock on REGISTRY.lock (a file next to the
 * registry, apr_file_lock: flock) from reading to renaming, so concurrent
 * runs of the tool serialise and none loses another's change. The new text
 * goes to a temporary file in the same directory (same owner and mode as the
 * registry), is fsync'ed and renamed over the registry, and the directory is
 * fsync'ed: httpd reads either the old or the new file, never half of one. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "oac.h"
#include "oas_registry.h"

#define REG_MAX (16 * 1024 * 1024)
#define EMPTY_REGISTRY "{\"clients\": []}"

static const char *strerr(apr_status_t rv, apr_pool_t *p)
{
    char buf[120];
    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

static int need_registry(oac_opts_t *o)
{
    if (o->registry == NULL || *o->registry == '\0') {
        return oac_fail("which registry? give -r FILE (or -f CONF with an OAuthASClients "
                        "line)");
    }
    return OAC_OK;
}

/* The file's text; *pmissing = 1 (and "") when it does not exist. */
static int read_registry(oac_opts_t *o, char **ptext, apr_size_t *plen, int *pmissing)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;

    *pmissing = 0;
    rv = apr_file_open(&f, o->registry, APR_FOPEN_READ, APR_OS_DEFAULT, o->p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *pmissing = 1;
        *ptext = "";
        *plen = 0;
        return OAC_OK;
    }
    if (rv == APR_SUCCESS && (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) == APR_SUCCESS
        && (fi.size < 0 || fi.size > REG_MAX)) {
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        *ptext = apr_palloc(o->p, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(f, *ptext, (apr_size_t)fi.size, plen);
        rv = rv == APR_EOF ? APR_SUCCESS : rv;
        (*ptext)[*plen] = '\0';
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("%s: cannot read it: %s", o->registry,
                        rv == APR_EINVAL ? "too large" : strerr(rv, o->p));
    }
    return OAC_OK;
}

static int validate(oac_opts_t *o, const char *text, apr_size_t len, oas_registry_t **preg,
                    const char *what)
{
    const char *err;

    if (oas_registry_parse(preg, text, len, o->registry, o->scope_defs, o->p, &err)
        != APR_SUCCESS) {
        return oac_fail("%s%s", what, err);
    }
    return OAC_OK;
}

int oac_registry_read(oac_opts_t *o, oas_registry_t **preg)
{
    apr_size_t len;
    char *text;
    int missing, rc;

    if ((rc = need_registry(o)) != OAC_OK || (rc = read_registry(o, &text, &len, &missing))) {
        return rc;
    }
    if (missing) {
        return oac_fail("%s: no such file (oauth-as-client add creates it)", o->registry);
    }
    return validate(o, text, len, preg, "the registry is invalid: ");
}

json_t *oac_find_client(json_t *root, const char *client_id, size_t *pindex)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(root, "clients"), i, c) {
        if (json_is_string(json_object_get(c, "client_id"))
            && strcmp(json_string_value(json_object_get(c, "client_id")), client_id) == 0) {
            if (pindex) {
                *pindex = i;
            }
            return c;
        }
    }
    return NULL;
}

static int lock_registry(oac_opts_t *o, apr_file_t **plock)
{
    const char *name = apr_pstrcat(o->p, o->registry, ".lock", NULL);
    apr_status_t rv;

    rv = apr_file_open(plock, name, APR_FOPEN_CREATE | APR_FOPEN_WRITE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE, o->p);
    if (rv == APR_SUCCESS && (rv = apr_file_lock(*plock, APR_FLOCK_EXCLUSIVE)) != APR_SUCCESS) {
        apr_file_close(*plock);
    }
    if (rv != APR_SUCCESS) {
        return oac_fail("cannot lock %s: %s", name, strerr(rv, o->p));
    }
    return OAC_OK;
}

/* Give the temporary file the registry's owner and mode (new: 0640). */
static void copy_owner(apr_file_t *f, const char *registry)
{
    struct stat st;
    int fd = -1;

    apr_os_file_get(&fd, f);
    if (stat(registry, &st) != 0) {
        (void)fchmod(fd, 0640);
        return;
    }
    (void)fchmod(fd, st.st_mode & 07777);
    if (geteuid() == 0) {
        (void)fchown(fd, st.st_uid, st.st_gid);
    }
}

static void sync_dir(const char *file, apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, file), *slash = strrchr(dir, '/');
    int fd;

    if (slash == NULL) {
        dir = ".";
    }
    else {
        slash[slash == dir] = '\0';    /* "/x" -> "/" */
    }
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int write_atomically(oac_opts_t *o, const char *text)
{
    char *tmp = apr_pstrcat(o->p, o->registry, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_status_t rv;

    rv = apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, o->p);
    if (rv != APR_SUCCESS) {
        return oac_fail("cannot create a temporary file next to %s: %s", o->registry,
                        strerr(rv, o->p));
    }
    copy_owner(f, o->registry);
    rv = apr_file_write_full(f, text, strlen(text), NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(f);
    }
    apr_file_close(f);
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, o->registry, o->p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, o->p);
        return oac_fail("cannot write %s: %s (nothing changed)", o->registry, strerr(rv, o->p));
    }
    sync_dir(o->registry, o->p);
    return OAC_OK;
}

static int load_tree(oac_opts_t *o, const char *text, apr_size_t len, json_t **proot)
{
    json_error_t jerr;

    *proot = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*proot == NULL) {      /* the validator accepted it: cannot happen */
        return oac_fail("%s: %s", o->registry, jerr.text);
    }
    if (json_object_get(*proot, "clients") == NULL) {
        json_object_set_new(*proot, "clients", json_array());
    }
    return OAC_OK;
}

/* Validate the edited tree and write it. */
static int save_tree(oac_opts_t *o, json_t *root)
{
    oas_registry_t *reg;
    char *dumped = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    const char *text;
    int rc;

    if (dumped == NULL) {
        return oac_fail("out of memory");
    }
    text = apr_pstrcat(o->p, dumped, "\n", NULL);
    free(dumped);
    if ((rc = validate(o, text, strlen(text), &reg, "refused, nothing changed: ")) != OAC_OK) {
        return rc;
    }
    return write_atomically(o, text);
}

static int update_locked(oac_opts_t *o, int create, oac_edit_fn *edit, void *baton)
{
    oas_registry_t *reg;
    json_t *root = NULL;
    apr_size_t len;
    char *text;
    int missing, rc;

    if ((rc = read_registry(o, &text, &len, &missing)) != OAC_OK) {
        return rc;
    }
    if (missing && !create) {
        return oac_fail("%s: no such file (oauth-as-client add creates it)", o->registry);
    }
    if (missing) {
        text = EMPTY_REGISTRY;
        len = strlen(text);
    }
    if ((rc = validate(o, text, len, &reg, "the registry is invalid, nothing changed "
                       "(fix it first): ")) != OAC_OK
        || (rc = load_tree(o, text, len, &root)) != OAC_OK) {
        return rc;
    }
    if ((rc = edit(o, root, baton)) == OAC_OK) {
        rc = save_tree(o, root);
    }
    json_decref(root);
    return rc;
}

int oac_registry_update(oac_opts_t *o, int create, oac_edit_fn *edit, void *baton)
{
    apr_file_t *lock;
    int rc;

    if ((rc = need_registry(o)) != OAC_OK || (rc = lock_registry(o, &lock)) != OAC_OK) {
        return rc;
    }
    rc = update_locked(o, create, edit, baton);
    apr_file_unlock(lock);
    apr_file_close(lock);
    return rc;
}
