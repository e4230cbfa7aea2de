/* serve.h - gpuctl serve: the HTTP API, the /ws feed and the Prometheus
 * exporter of one node, on one sampling loop.
 *
 * serve_run owns everything it starts: the feed (src/feed), the HTTP layer
 * (net/http.c), the WebSocket loop (net/wsloop.c).  Each feed frame is
 * rendered once, on the WebSocket loop's thread, into the documents every
 * client shares (the snapshot document, the /metrics text, the /ws
 * message); request handlers only pick those up, or build a filtered
 * document from the same frame, so no request ever calls a source
 * (decision 10).  /mcp is MCP's Streamable HTTP endpoint (src/mcp) on the
 * same feed.  src/cli/serve.c is the thin front end that fills the
 * options and prints.
 */
#ifndef GPUCTL_NET_SERVE_H
#define GPUCTL_NET_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"
#include "core/options.h"
#include "feed/feed.h"
#include "net/http.h"

/* Bounds (decision 15), documented in docs/api.md. */
#define SERVE_MAX_CONNECTIONS 4096
#define SERVE_MAX_BODY (1024 * 1024)
#define SERVE_MAX_HEADERS 64
#define SERVE_IDLE_TIMEOUT_S 30
#define SERVE_MAX_WS_MESSAGE (64 * 1024)
#define SERVE_MAX_KILL_TIMEOUT_S 300

struct serve_options {
    const char *listen;                 /* "ADDR:PORT" */
    const char *token;                  /* NULL: reads only, loopback only */
    const char *tls_cert_pem, *tls_key_pem;
    struct feed_options feed;
    unsigned metrics_max_processes;
    long kill_timeout_s;                /* POST /api/v1/kill's default wait (default_timeout_secs) */
    const char *hostname;               /* Hostname label; NULL: the machine's */
    const char *pods_dir;               /* the kubelet's pod log directories (net/pods.h) */
    const char *version, *revision;     /* gpuctl_build_info and /health */
    const char *self_user;              /* whom "?user" without a name means */
    /* `gpuctl list`'s option table: query parameters of the snapshot
     * routes are checked as its options, so a bad value reads the same */
    const struct options_command *query_table;
    /* For the MCP endpoint at /mcp (docs/mcp.md): the configuration its
     * tools follow (default_timeout_secs; NULL: defaults) and the option
     * tables their inputSchema is described by (NULL: none). */
    const struct config *cfg;
    const struct options_command *(*option_tables)(const char *command);
    /* More routes served beside the node's (the coordinator's, src/cluster),
     * extra_route_ctx[i] being extra_routes[i]'s ctx; 0 for none. */
    const struct http_route *extra_routes;
    void *const *extra_route_ctx;
    size_t extra_route_count;
    /* and one more WebSocket route of that module (NULL path: none) */
    const char *extra_ws_path;
    http_upgrade_fn extra_on_upgrade;
    void *extra_upgrade_ctx;
    /* called once no new connection is taken, before the server stops:
     * that module closes its WebSocket clients there (NULL: none) */
    void (*extra_close_clients)(void *ctx);
    /* A coordinator on a head node without GPUs: when no GPU source
     * starts, serve anyway; the routes that read samples (/api/v1/...,
     * /metrics, /mcp) answer 503 saying so, /health answers "ok", and /ws
     * carries the extra module's messages (extra_on_upgrade). */
    bool source_optional;
    /* Called once listening when that happened, with the sources' reasons. */
    void (*on_no_source)(void *cls, const char *why);
    /* What runs beside the server on its feed (the agent of serve
     * --coordinator-url): attach is called once listening, with the feed
     * (NULL without a GPU source) and the port bound, and its failure stops
     * the server with its error; detach is called before the feed stops. */
    int (*attach)(void *cls, struct feed *feed, unsigned port, struct error *e);
    void (*detach)(void *cls);
    void *attach_cls;
    int stop_fd;                        /* serve_run returns once it is readable */
    /* Called once listening, with the port bound (for --listen ...:0). */
    void (*on_listening)(void *cls, unsigned port);
    void *cls;
};

/* Runs the server until stop_fd becomes readable.  Returns 0, or a negative
 * code with e filled when it could not start (address in use, no GPU
 * source, a non-loopback address without a token, ...). */
int serve_run(const struct serve_options *o, struct error *e);

#endif
