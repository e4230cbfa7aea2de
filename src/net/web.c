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

/* Skips spaces and tabs. */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* True when the parameters of one Accept-Encoding entry ([p, end)) set
 * q to zero ("q=0", "q=0.0", "q=0.000"). */
static bool q_is_zero(const char *p, const char *end)
{
    const char *q = p;
    while ((q = strchr(q, ';')) && q < end) {
        q = skip_ws(q + 1);
        if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
            q += 2;
            if (*q != '0')
                return false;
            q++;
            if (*q == '.')
                q++;
            while (*q == '0')
                q++;
            q = skip_ws(q);
            return q >= end || *q == ',' || *q == ';';
        }
    }
    return false;
}

bool net_web_accepts_gzip(const char *v)
{
    if (!v)
        return false;
    const char *p = v;
    while (*p) {
        p = skip_ws(p);
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        size_t n = strcspn(p, " \t;,");
        bool named = (n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*');
        if (named && !q_is_zero(p, end))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* True when If-None-Match value v lists tag or tag_gz (or is "*"). */
static bool etag_matches(const char *v, const struct net_web_asset *a)
{
    if (!v)
        return false;
    if (strcmp(skip_ws(v), "*") == 0)
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
    bool gz = a->gz && net_web_accepts_gzip(http_request_header(req, "Accept-Encoding"));
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
