/* netlib.c - loading libmicrohttpd and GnuTLS on first use (see netlib.h).
 *
 * The loaded table is the module's only global state: a process loads the
 * libraries at most once, and the table never changes after it is
 * published (under the lock, before any server thread that reads it
 * exists).  Used by the HTTP layer (http.c) and the WebSocket handshake
 * (ws.c).
 */
#include "net/netlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

static struct netlib calls;
static bool loaded;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

struct symbol {
    void **slot;
    const char *name;
};

#define SYM(field, prefix) {(void **)&c.field, #prefix #field}

/* dlsym of every symbol of table from h; -ENOSYS naming the first missing. */
static int resolve(void *h, const char *lib, const struct symbol *table, size_t n,
                   const char *what, struct error *e)
{
    for (size_t i = 0; i < n; i++)
        if (!(*table[i].slot = dlsym(h, table[i].name)))
            return error_set(e, -ENOSYS, "%s: %s has no %s", what, lib, table[i].name);
    return 0;
}

static int open_lib(const char *lib, const char *package, void **h, const char *what,
                    struct error *e)
{
    *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!*h)
        return error_set(e, -ENOENT, "%s: cannot load %s (install %s): %s", what, lib, package,
                         dlerror());
    return 0;
}

static int load(const char *what, struct error *e)
{
    struct netlib c;
    const struct symbol mhd[] = {
        SYM(start_daemon, MHD_), SYM(stop_daemon, MHD_), SYM(quiesce_daemon, MHD_),
        SYM(add_connection, MHD_), SYM(is_feature_supported, MHD_), SYM(lookup_connection_value, MHD_),
        SYM(get_connection_values, MHD_),
        SYM(create_response_from_buffer_with_free_callback_cls, MHD_),
        SYM(create_response_for_upgrade, MHD_), SYM(add_response_header, MHD_),
        SYM(queue_response, MHD_), SYM(destroy_response, MHD_),
        SYM(suspend_connection, MHD_), SYM(resume_connection, MHD_),
        SYM(upgrade_action, MHD_),
    };
    const struct symbol tls[] = {
        SYM(hash_fast, gnutls_), SYM(hash_init, gnutls_), SYM(hash, gnutls_),
        SYM(hash_deinit, gnutls_), SYM(strerror, gnutls_),
        SYM(certificate_allocate_credentials, gnutls_),
        SYM(certificate_set_x509_key_mem, gnutls_),
        SYM(certificate_free_credentials, gnutls_),
    };
    void *hm = NULL, *ht = NULL;
    int rc = open_lib(NETLIB_MHD, "libmicrohttpd12", &hm, what, e);
    if (rc)
        return rc;
    rc = open_lib(NETLIB_GNUTLS, "libgnutls30", &ht, what, e);
    if (!rc)
        rc = resolve(hm, NETLIB_MHD, mhd, sizeof mhd / sizeof mhd[0], what, e);
    if (!rc)
        rc = resolve(ht, NETLIB_GNUTLS, tls, sizeof tls / sizeof tls[0], what, e);
    if (rc) {
        if (ht)
            dlclose(ht);
        dlclose(hm);
        return rc;
    }
    calls = c;
    loaded = true;
    return 0;
}

const struct netlib *netlib_load(const char *what, struct error *e)
{
    pthread_mutex_lock(&load_lock);
    int rc = loaded ? 0 : load(what, e);
    pthread_mutex_unlock(&load_lock);
    return rc < 0 ? NULL : &calls;
}

const struct netlib *netlib(void)
{
    return &calls;
}
