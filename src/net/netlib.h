/* netlib.h - libmicrohttpd and GnuTLS, loaded with dlopen by the server the
 * first time it starts (and by the WebSocket handshake), never linked.
 *
 * Linked, the two bring ten libraries (p11-kit, nettle, gmp, libtasn1, ...)
 * whose loading, relocation and constructors cost every gpuctl command
 * about a millisecond, `gpuctl list` included, while only `serve` (and the
 * MCP server's HTTP transport through it) uses them.  The headers are used
 * at build time for the types and constants only; the calls go through
 * struct netlib, whose fields are named after the functions without their
 * library's prefix.  The same pattern as core/curl_load.h.
 */
#ifndef GPUCTL_NET_NETLIB_H
#define GPUCTL_NET_NETLIB_H

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "core/error.h"

#define NETLIB_MHD "libmicrohttpd.so.12"
#define NETLIB_GNUTLS "libgnutls.so.30"

struct netlib {
    /* libmicrohttpd */
    __typeof__(&MHD_start_daemon) start_daemon;
    __typeof__(&MHD_stop_daemon) stop_daemon;
    __typeof__(&MHD_quiesce_daemon) quiesce_daemon;
    __typeof__(&MHD_add_connection) add_connection;
    __typeof__(&MHD_is_feature_supported) is_feature_supported;
    __typeof__(&MHD_lookup_connection_value) lookup_connection_value;
    __typeof__(&MHD_get_connection_values) get_connection_values;
    __typeof__(&MHD_create_response_from_buffer_with_free_callback_cls)
        create_response_from_buffer_with_free_callback_cls;
    __typeof__(&MHD_create_response_for_upgrade) create_response_for_upgrade;
    __typeof__(&MHD_add_response_header) add_response_header;
    __typeof__(&MHD_queue_response) queue_response;
    __typeof__(&MHD_destroy_response) destroy_response;
    __typeof__(&MHD_suspend_connection) suspend_connection;
    __typeof__(&MHD_resume_connection) resume_connection;
    __typeof__(&MHD_upgrade_action) upgrade_action;
    /* GnuTLS */
    __typeof__(&gnutls_hash_fast) hash_fast;
    __typeof__(&gnutls_hash_init) hash_init;
    __typeof__(&gnutls_hash) hash;
    __typeof__(&gnutls_hash_deinit) hash_deinit;
    __typeof__(&gnutls_strerror) strerror;
    __typeof__(&gnutls_certificate_allocate_credentials) certificate_allocate_credentials;
    __typeof__(&gnutls_certificate_set_x509_key_mem) certificate_set_x509_key_mem;
    __typeof__(&gnutls_certificate_free_credentials) certificate_free_credentials;
};

/* The loaded calls (the same table for the life of the process), or NULL
 * with e saying "<what>: cannot load libmicrohttpd.so.12 (install
 * libmicrohttpd12): ..." (-ENOENT) or naming a missing function (-ENOSYS).
 * Any thread; the first successful load wins. */
const struct netlib *netlib_load(const char *what, struct error *e);

/* The table netlib_load filled: only for code that runs after a successful
 * netlib_load (the server's callbacks and the functions they call). */
const struct netlib *netlib(void);

#endif
