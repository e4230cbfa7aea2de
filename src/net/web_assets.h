/* web_assets.h - the dashboard's files as the build embedded them
 * (src/net/web_embed.py writes the table from web/ and Debian's Chart.js).
 */
#ifndef GPUCTL_NET_WEB_ASSETS_H
#define GPUCTL_NET_WEB_ASSETS_H

#include <stddef.h>

struct net_web_asset {
    const char *path;          /* URL path, "/app.js" */
    const char *type;          /* Content-Type */
    const char *data;
    size_t len;
    const char *gz;            /* gzip of data, or NULL when it does not shrink */
    size_t gz_len;
    const char *etag;          /* quoted, from the SHA-256 of data */
    const char *etag_gz;       /* the gzip copy's */
};

extern const struct net_web_asset net_web_assets[];
extern const size_t net_web_asset_count;

#endif
