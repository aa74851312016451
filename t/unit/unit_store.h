/* unit_store.h — the default store's tests share this set-up: a pool, a
 * temporary directory holding the store's files (base = DIR/tokens) and a
 * flock mutex on DIR/lock, as httpd makes them. Include it once, in a test
 * file: it defines the file's pool, tmpdir, base, lock and mutex. */
#ifndef OAS_UNIT_STORE_H
#define OAS_UNIT_STORE_H

#include <string.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>

#include "oas_store.h"
#include "unit.h"

static apr_pool_t *pool;
static char tmpdir[64];
static const char *base;              /* the store's PATH */
static const char *lock;              /* the mutex' file */
static apr_global_mutex_t *mutex;

/* name: a word for the directory's name (/tmp/oas_NAME_XXXXXX) */
static inline void unit_store_setup(const char *name)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/oas_%s_XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    base = apr_pstrcat(pool, tmpdir, "/tokens", NULL);
    lock = apr_pstrcat(pool, tmpdir, "/lock", NULL);
    ck_assert_int_eq(apr_global_mutex_create(&mutex, lock, APR_LOCK_FLOCK, pool), APR_SUCCESS);
}

static inline void unit_store_teardown(void)
{
    apr_pool_destroy(pool);
    unit_rm_dir(tmpdir);
}

/* A default store on base with mem entries in memory and disk on disk. */
static inline oas_store_t *unit_store_make(int mem, int disk, apr_pool_t *p)
{
    oas_store_default_conf_t c;
    oas_store_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.path = base;
    c.mem_entries = mem;
    c.disk_entries = disk;
    c.mutex = mutex;
    c.mutex_file = lock;
    ck_assert_int_eq(oas_store_default_create(&s, &c, p), APR_SUCCESS);
    return s;
}

#endif
