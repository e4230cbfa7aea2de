/* serve_opts.c - the options of `gpuctl serve` (gpu-kill's form included:
 * `gpuctl --server --server-port 8080 --server-host 127.0.0.1`).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct serve_request, field)

static const struct options_spec specs[] = {
    {.name = "listen", .type = OPTIONS_STRING, .metavar = "ADDR:PORT", .group = "Listening",
     .env = "GPUCTL_LISTEN",
     .help = "address and port to listen on (default 127.0.0.1:8080; port 0 picks a free one); "
             "any address but loopback needs a token", .offset = R(listen)},
    {.name = "server-host", .type = OPTIONS_STRING, .metavar = "HOST",
     .help = "gpu-kill's spelling: the address part of --listen", .offset = R(server_host)},
    {.name = "server-port", .type = OPTIONS_UINT, .min = 0, .max = 65535, .metavar = "PORT",
     .what = "a port (0 to 65535)",
     .help = "gpu-kill's spelling: the port part of --listen", .offset = R(server_port)},
    {.name = "server", .type = OPTIONS_FLAG,
     .help = "gpu-kill's spelling of the serve command; accepted and ignored",
     .offset = R(server)},
    {.name = "token-file", .type = OPTIONS_STRING, .metavar = "FILE", .group = "Access",
     .env = "GPUCTL_TOKEN", .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "the bearer token clients must send to change state (and to read when not on "
             "loopback); GPUCTL_TOKEN gives the token itself", .offset = R(token_file)},
    {.name = "tls-cert", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "PEM certificate: serve HTTPS (with --tls-key)", .offset = R(tls_cert)},
    {.name = "tls-key", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "PEM private key of --tls-cert", .offset = R(tls_key)},
    {.name = "interval", .type = OPTIONS_NUMBER, .min = 0.05, .max = 3600, .metavar = "SEC",
     .what = "a number of seconds (0.05 to 3600)", .group = "Sampling",
     .help = "seconds between samples (default 1); every client gets the same samples",
     .offset = R(interval)},
    {.name = "coordinator", .type = OPTIONS_FLAG, .group = "Cluster",
     .help = "also be the cluster's coordinator: agents (gpuctl agent) register and push "
             "their snapshots; /api/nodes and /api/cluster/{snapshot,contention,rogue,ws} "
             "(docs/cluster.md, thresholds in config.toml's [cluster]); needs no GPU: "
             "without a GPU source it serves the cluster routes and /ws carries the "
             "cluster's messages",
     .offset = R(coordinator)},
    {.name = "coordinator-url", .type = OPTIONS_STRING, .metavar = "URL",
     .help = "also be a node of that coordinator, as gpuctl agent is, on this server's "
             "sampling loop: register this server's URL (where the coordinator forwards kill "
             "and reset) and push the snapshot every --push-interval; the token of "
             "--token-file is sent", .offset = R(coordinator_url)},
    {.name = "node-id", .type = OPTIONS_STRING, .metavar = "ID",
     .help = "with --coordinator-url: this node's id (letters, digits, '.', '-', '_', ':'); "
             "default: /etc/machine-id, stable across restarts", .offset = R(node_id)},
    {.name = "api-url", .type = OPTIONS_STRING, .metavar = "URL",
     .help = "with --coordinator-url: the URL registered for this server (default: "
             "http(s)://ADDR:PORT of --listen, the host name for a wildcard address)",
     .offset = R(api_url)},
    {.name = "push-interval", .type = OPTIONS_NUMBER, .min = 0.05, .max = 3600,
     .metavar = "SEC", .what = "a number of seconds (0.05 to 3600)",
     .help = "with --coordinator-url: seconds between pushes (default 5, never more often "
             "than --interval samples)", .offset = R(push_interval)},
    {.name = "metrics-max-processes", .type = OPTIONS_UINT, .min = 0, .max = 1000000,
     .metavar = "N",
     .help = "processes with their own /metrics series, the biggest GPU memory users first "
             "(default 512)", .offset = R(metrics_max_processes)},
    {.name = "pods-dir", .type = OPTIONS_STRING, .metavar = "DIR",
     .help = "the kubelet's pod log directories (NAMESPACE_NAME_UID), which name the pod and "
             "namespace labels of /metrics (default /var/log/pods)", .offset = R(pods_dir)},
};

const struct options_command serve_options = {
    .name = "serve",
    .usage = "gpuctl serve [OPTIONS]",
    .about = "Serve this machine's GPUs over HTTP: a JSON API with the documents the CLI\n"
             "prints, a WebSocket feed (/ws) and Prometheus metrics (/metrics), all from\n"
             "one sampling loop.  See docs/api.md.\n",
    .epilog = "Loopback only unless given --listen; any other address needs a token.\n"
              "Killing and resetting over HTTP always need the token.  Stop with Ctrl-C or\n"
              "SIGTERM.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
