/* curl_load.c - loading libcurl on first use (see curl_load.h).
 *
 * The loaded table is the module's only global state: a process loads
 * libcurl at most once, and the table never changes after it is
 * published.  Used by guard's webhooks (policy/guard_notify.c) and the
 * cluster agent (cluster/agent.c).
 */
#include "core/curl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>

static struct curl_calls calls;
static bool loaded;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load(const char *what, struct error *e)
{
    void *h = dlopen(CURL_LOAD_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return error_set(e, -ENOENT, "%s: cannot load %s (install libcurl4): %s", what,
                         CURL_LOAD_LIBRARY, dlerror());
    struct curl_calls c;
    struct { void **slot; const char *name; } table[] = {
        {(void **)&c.easy_init, "curl_easy_init"},
        {(void **)&c.easy_setopt, "curl_easy_setopt"},
        {(void **)&c.easy_perform, "curl_easy_perform"},
        {(void **)&c.easy_getinfo, "curl_easy_getinfo"},
        {(void **)&c.easy_cleanup, "curl_easy_cleanup"},
        {(void **)&c.easy_strerror, "curl_easy_strerror"},
        {(void **)&c.slist_append, "curl_slist_append"},
        {(void **)&c.slist_free_all, "curl_slist_free_all"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!(*table[i].slot = dlsym(h, table[i].name))) {
            dlclose(h);
            return error_set(e, -ENOSYS, "%s: %s has no %s", what, CURL_LOAD_LIBRARY,
                             table[i].name);
        }
    }
    calls = c;
    loaded = true;
    return 0;
}

const struct curl_calls *curl_load(const char *what, struct error *e)
{
    pthread_mutex_lock(&load_lock);
    int rc = loaded ? 0 : load(what, e);
    pthread_mutex_unlock(&load_lock);
    return rc < 0 ? NULL : &calls;
}
