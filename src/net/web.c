/* web.c - serves the dashboard's embedded files (net/web_assets.h).
 *
 * The files are compiled into the binary with their gzip copies and ETags
 * (src/net/web_embed.py), so a request costs a table look-up: no file
 * system, no compression at run time.  Every file goes out with the strict
 * Content-Security-Policy of web.h and "Cache-Control: no-cache" (the
 * browser revalidates with the ETag and gets 304, so a new binary's page is
 * never mixed with an old one's scripts).  The API routes and their access
 * rules stay in serve.c; this module knows only files.
 */
#include "net/web.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/web_assets.h"

static const struct net_web_asset *find_asset(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < net_web_asset_count; i++)
        if (strcmp(net_web_assets[i].path, path) == 0)
            return &net_web_assets[i];
    return NULL;
}

/* Skips spaces and tabs in [p, end). */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* True when the parameters of one Accept-Encoding entry, [p, end) after
 * its name, set q to zero ("q=0", "q=0.0", "q=0.000"). */
static bool q_is_zero(const char *p, const char *end)
{
    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        p = skip_ws(p + 1, end);
        if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
            continue;
        p += 2;
        if (p >= end || *p != '0')
            return false;
        p++;
        if (p < end && *p == '.')
            p++;
        while (p < end && *p == '0')
            p++;
        p = skip_ws(p, end);
        return p >= end || *p == ';';
    }
    return false;
}

bool net_web_accepts_gzip(const char *v, size_t len)
{
    if (!v)
        return false;
    const char *p = v, *stop = v + len;
    while (p < stop) {
        const char *end = memchr(p, ',', (size_t)(stop - p));
        if (!end)
            end = stop;
        const char *name = skip_ws(p, end), *after = name;
        while (after < end && *after != ' ' && *after != '\t' && *after != ';')
            after++;
        size_t n = (size_t)(after - name);
        bool named = (n == 4 && strncasecmp(name, "gzip", 4) == 0) || (n == 1 && *name == '*');
        if (named && !q_is_zero(after, end))
            return true;
        p = end < stop ? end + 1 : stop;
    }
    return false;
}

/* True when If-None-Match value v lists tag or tag_gz (or is "*"). */
static bool etag_matches(const char *v, const struct net_web_asset *a)
{
    if (!v)
        return false;
    if (strcmp(skip_ws(v, v + strlen(v)), "*") == 0)
        return true;
    return strstr(v, a->etag) || strstr(v, a->etag_gz);
}

int net_web_route(void *ctx, const struct http_request *req, struct http_reply *out,
                  struct error *e)
{
    (void)ctx;
    const struct net_web_asset *a = find_asset(req->path);
    if (!a)
        return error_set(e, -ENOENT, "no such page or file: %.200s", req->path);
    const char *accept = http_request_header(req, "Accept-Encoding");
    bool gz = a->gz && accept && net_web_accepts_gzip(accept, strlen(accept));
    size_t h = 0;
    out->headers[h++] = (struct http_header){"Content-Security-Policy", NET_WEB_CSP};
    out->headers[h++] = (struct http_header){"Cache-Control", "no-cache"};
    out->headers[h++] = (struct http_header){"ETag", gz ? a->etag_gz : a->etag};
    if (a->gz)
        out->headers[h++] = (struct http_header){"Vary", "Accept-Encoding"};
    out->content_type = a->type;
    if (etag_matches(http_request_header(req, "If-None-Match"), a)) {
        out->status = 304;
        return 0;
    }
    if (gz)
        out->headers[h++] = (struct http_header){"Content-Encoding", "gzip"};
    out->headers[h++] = (struct http_header){"Referrer-Policy", "no-referrer"};
    /* The bytes are static: the blob only wraps them. */
    out->body = net_blob_static(gz ? a->gz : a->data, gz ? a->gz_len : a->len);
    return out->body ? 0 : error_set(e, -ENOMEM, "out of memory");
}
