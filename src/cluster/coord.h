/* coord.h - the coordinator's HTTP routes (docs/api.md, "Coordinator"):
 * nodes register and push their snapshot documents; operators list nodes,
 * read a node's latest document, the cluster's snapshot, its contention
 * analysis and rogue findings, forget nodes, and have a node's own API
 * kill or reset (forwarded with the node token, the answer returned as
 * it is).
 *
 * The front-end half of src/cluster: it decodes what agents send (once
 * per push, on the HTTP layer's thread that received it) and builds the
 * documents, around the registry (cluster/registry.h) that holds the
 * state.  It runs a ticker thread of its own (blocking every signal) that
 * advances node statuses once a second.  The HTTP server is the caller's (gpuctl serve): it
 * mounts these routes with the coordinator as their ctx.
 */
#ifndef GPUCTL_CLUSTER_COORD_H
#define GPUCTL_CLUSTER_COORD_H

#include <stddef.h>

#include "cluster/registry.h"
#include "core/error.h"
#include "net/http.h"

struct cluster_coord_options {
    struct cluster_registry_options registry;
    const char *node_token;        /* sent with actions forwarded to nodes; NULL: none */
};

struct cluster_coord;

/* Creates the registry and starts the ticker.  Free with
 * cluster_coord_stop. */
int cluster_coord_start(struct cluster_coord **out, const struct cluster_coord_options *o,
                        struct error *e);
/* Stops the ticker and frees everything; the routes must no longer be
 * served.  Accepts NULL. */
void cluster_coord_stop(struct cluster_coord *c);

struct cluster_registry *cluster_coord_registry(struct cluster_coord *c);

/* The routes; each takes the struct cluster_coord as its ctx
 * (http_server_options.route_ctx). */
#define CLUSTER_COORD_ROUTE_COUNT 10
extern const struct http_route cluster_coord_routes[CLUSTER_COORD_ROUTE_COUNT];

/* The cluster's WebSocket (docs/cluster.md): a "nodes" message with every
 * node on connecting, then once a second, when anything changed, an
 * "update" with the registry's events (joined, status, left) and each
 * node's new push reduced to the GPU figures that changed. */
#define CLUSTER_COORD_WS_PATH "/api/cluster/ws"
/* The upgrade handler of that route (ctx: the coordinator). */
void cluster_coord_ws_upgrade(void *ctx, int fd, const char *extra, size_t extra_len,
                              struct http_upgraded *up);
/* Closes its clients; call it after the server stopped taking connections
 * and before it stops (ctx: the coordinator). */
void cluster_coord_ws_close(void *ctx);

/* The current wall-clock time in seconds (the registry's clock). */
double cluster_now(void);

#endif
