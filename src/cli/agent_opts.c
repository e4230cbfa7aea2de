/* agent_opts.c - the options of `gpuctl agent`, a node of a cluster
 * (gpu-kill's `--register-node URL` included).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct agent_request, field)

static const struct options_spec specs[] = {
    {.name = "coordinator", .aliases = "--register-node", .type = OPTIONS_STRING,
     .metavar = "URL", .env = "GPUCTL_COORDINATOR",
     .help = "the coordinator (gpuctl serve --coordinator) to register with and push to, "
             "e.g. http://head:8080 (required)", .offset = R(coordinator)},
    {.name = "token-file", .type = OPTIONS_STRING, .metavar = "FILE", .env = "GPUCTL_TOKEN",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "the coordinator's bearer token; GPUCTL_TOKEN gives the token itself",
     .offset = R(token_file)},
    {.name = "interval", .type = OPTIONS_NUMBER, .min = 0.05, .max = 3600, .metavar = "SEC",
     .what = "a number of seconds (0.05 to 3600)",
     .help = "seconds between pushes (default 5); the coordinator calls a node stale after 3 "
             "missed intervals and offline after 10", .offset = R(interval)},
    {.name = "node-id", .type = OPTIONS_STRING, .metavar = "ID",
     .help = "this node's id (letters, digits, '.', '-', '_', ':'); default: /etc/machine-id, "
             "stable across restarts", .offset = R(node_id)},
    {.name = "api-url", .type = OPTIONS_STRING, .metavar = "URL",
     .help = "this node's own gpuctl serve (e.g. http://node7:8080), where the coordinator "
             "forwards kill and reset with its token", .offset = R(api_url)},
};

const struct options_command agent_options = {
    .name = "agent",
    .usage = "gpuctl agent --coordinator URL [--token-file FILE] [--interval SEC] "
             "[--node-id ID] [--api-url URL]",
    .about = "Be a node of a cluster: register with the coordinator, then push this\n"
             "machine's snapshot document (what list --details --output json prints)\n"
             "every interval.  When the coordinator has restarted and forgotten the\n"
             "node (404) it registers again at once; other failures are retried with\n"
             "exponential back-off and jitter, one request at a time.\n",
    .epilog = "Runs until SIGINT or SIGTERM.  Exit status: 0 when stopped; 1 when it cannot\n"
              "start (libcurl missing, no machine id); 2 no GPU source; 3 invalid\n"
              "arguments.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
