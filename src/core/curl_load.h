/* curl_load.h - libcurl, loaded with dlopen the first time a command needs
 * it (a guard webhook, an agent's pushes), never linked: it brings some
 * thirty libraries (TLS, Kerberos, LDAP, ...) whose loading would slow
 * every gpuctl command while only a few use it.
 *
 * Only curl.h's types and constants are used at build time.  The calls are
 * reached through struct curl_calls; its fields are not named after the
 * functions because curl.h wraps curl_easy_setopt in a checking macro.
 */
#ifndef GPUCTL_CORE_CURL_LOAD_H
#define GPUCTL_CORE_CURL_LOAD_H

#include <curl/curl.h>

#include "core/error.h"

#define CURL_LOAD_LIBRARY "libcurl.so.4"

struct curl_calls {
    __typeof__(&curl_easy_init) easy_init;
    __typeof__(&curl_easy_setopt) easy_setopt;
    __typeof__(&curl_easy_perform) easy_perform;
    __typeof__(&curl_easy_getinfo) easy_getinfo;
    __typeof__(&curl_easy_cleanup) easy_cleanup;
    __typeof__(&curl_easy_strerror) easy_strerror;
    __typeof__(&curl_slist_append) slist_append;
    __typeof__(&curl_slist_free_all) slist_free_all;
};

/* The loaded calls (the same table for the life of the process), or NULL
 * with e saying "<what>: cannot load libcurl.so.4 (install libcurl4): ..."
 * (-ENOENT) or naming a missing function (-ENOSYS).  Any thread; the first
 * successful load wins. */
const struct curl_calls *curl_load(const char *what, struct error *e);

#endif
