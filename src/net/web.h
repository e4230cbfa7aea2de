/* web.h - the dashboard's files (web/, and Debian's Chart.js), embedded at
 * build time and served by `gpuctl serve` at "/".
 *
 * Mount with the two routes below, after every one-segment API route (the
 * "/{}" route would otherwise answer for "/health" and "/metrics"):
 *     {"GET", "/", HTTP_ACCESS_PUBLIC, net_web_route},
 *     {"GET", "/{}", HTTP_ACCESS_PUBLIC, net_web_route},
 */
#ifndef GPUCTL_NET_WEB_H
#define GPUCTL_NET_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

/* The Content-Security-Policy every dashboard file is sent with: nothing
 * inline, nothing from another origin. */
#define NET_WEB_CSP                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "     \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* A route handler (http_handler_fn) answering GET "/" with index.html and
 * "/NAME" with that file: 304 when If-None-Match names its ETag, the gzip
 * copy when Accept-Encoding takes gzip, 404 for any other name.  Any thread;
 * ctx is unused. */
int net_web_route(void *ctx, const struct http_request *req, struct http_reply *out,
                  struct error *e);

/* True when the Accept-Encoding value v[0..len) takes gzip (a "gzip" or
 * "*" entry without q=0).  v need not be NUL-terminated. */
bool net_web_accepts_gzip(const char *v, size_t len);

#endif
