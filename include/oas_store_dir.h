/* oas_store_dir.h — where the default store's files may live, and working
 * on them as their owner (SPEC §9: the module changes the owner of nothing it
 * did not create). httpd's parent and oauth-as-client run as root, while the
 * store's directory is writable by httpd's User: whatever that user puts
 * there (a symbolic link in place of a file, a hard link, a FIFO) must not
 * make a root process write, chown or open anything else. So root opens the
 * SDBM files only with the rights of the files' owner (oas_as_user_begin),
 * and a directory the module did not make is never given away: it must
 * already be writable by User and hold nothing but store files. */
#ifndef OAS_STORE_DIR_H
#define OAS_STORE_DIR_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_errno.h>

/* The user the store's files belong to (httpd's User and Group). */
typedef struct oas_store_user_t {
    uid_t uid;
    gid_t gid;
    const char *name;            /* for its supplementary groups and messages; NULL: the
                                  * groups of this process */
    const char *group;           /* for messages; may be NULL */
} oas_store_user_t;

/* The directory of the store file path (OAuthASStoreFile): when missing and
 * make is set, create it (mode 0700; missing parents 0755, as root's) and,
 * when this process is root, give that one directory to who (*pmade = 1).
 * An existing directory is checked, never changed: it must be a directory
 * who may write and search, holding nothing but store files (NAME.dir,
 * .pag, .info, .shm and temporary .info.XXXXXX, regular files each). Else
 * an error, and *perr says what is wrong and what to do. */
apr_status_t oas_store_dir_prepare(const char *path, const oas_store_user_t *who, int make,
                                   int *pmade, apr_pool_t *p, const char **perr);

/* Who a root process acts as on the store's files at path: the owner of
 * the store directory (root for a directory only root may write; a
 * root-owned directory that others may write is refused: *perr). */
apr_status_t oas_store_dir_owner(uid_t *puid, gid_t *pgid, const char *path, apr_pool_t *p,
                                 const char **perr);

/* Acting as another user for a while (effective ids and groups). A no-op
 * unless this process is root and uid is not. end restores root's ids; a
 * failure to do that aborts the process (it must not carry on half switched). */
typedef struct oas_as_user_t {
    int active;
    gid_t egid;
    int ngroups;
    gid_t *groups;
} oas_as_user_t;

apr_status_t oas_as_user_begin(oas_as_user_t *saved, uid_t uid, gid_t gid, apr_pool_t *p);
void oas_as_user_end(oas_as_user_t *saved);

/* For good (real, effective and saved ids, groups): a root process that has
 * opened what it needs of a store and goes on reading data that uid may
 * write (oauth-as-client). A no-op unless root and uid is not. */
apr_status_t oas_become_user(uid_t uid, gid_t gid);

/* The store directory's small files (PATH.info, PATH.count:
 * oas_store_info.c). write: atomically (temporary file, rename), mode 0644,
 * owned by this process' user. read: only a regular file, not a link, of
 * one name, written by root, this process' user or owner, that no one else
 * may write, of at most max bytes (APR_EACCES otherwise). */
apr_status_t oas_store_small_write(const char *file, const char *text, apr_pool_t *p);
apr_status_t oas_store_small_read(char **ptext, const char *file, uid_t owner,
                                  apr_size_t max, apr_pool_t *p);

#endif
