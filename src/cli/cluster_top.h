/* cluster_top.h - the frames of `gpuctl top --cluster URL` (cluster_top.c):
 * the coordinator's cluster snapshot, polled every interval, as one frame
 * per poll with the node of every device and process (struct tui_nodes).
 */
#ifndef GPUCTL_CLI_CLUSTER_TOP_H
#define GPUCTL_CLI_CLUSTER_TOP_H

#include <stddef.h>

#include "core/error.h"

struct cli_cluster_top_options {
    const char *url;              /* the coordinator, "http://head:8080" */
    const char *token;            /* bearer token; NULL: none */
    double interval_s;            /* between two polls */
    long timeout_s;               /* per request (<= 0: 5) */
    const int *only;              /* --only: each node's GPU indices; NULL: all */
    size_t only_count;
};

struct cli_cluster_top;
struct tui_source;

/* Starts polling (url, token and only must outlive it).  -EINVAL for a URL
 * that is not http(s), with e filled. */
int cli_cluster_top_open(struct cli_cluster_top **out, const struct cli_cluster_top_options *o,
                         struct error *e);
const struct tui_source *cli_cluster_top_source(struct cli_cluster_top *t);
void cli_cluster_top_close(struct cli_cluster_top *t);        /* accepts NULL */

#endif
