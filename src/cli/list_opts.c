/* list_opts.c - the options of `gpuctl list` (gpu-kill's --list form
 * included: `gpuctl --list --details --watch`).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct list_request, field)

static const struct options_spec specs[] = {
    {.name = "details", .type = OPTIONS_FLAG, .config_key = "show_details",
     .env = "GPUCTL_SHOW_DETAILS", .flags = OPTIONS_ENV_DOCUMENTED, .group = "Output",
     .help = "add the process table", .offset = R(details)},
    {.name = "output", .aliases = "-o", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .config_key = "output_format", .env = "GPUCTL_OUTPUT_FORMAT",
     .flags = OPTIONS_ENV_DOCUMENTED, .help = "table (default) or json", .offset = R(output)},
    {.name = "containers", .type = OPTIONS_FLAG,
     .help = "show full container ids (table) and container kind/id/pod fields (JSON)",
     .offset = R(containers)},
    {.name = "watch", .type = OPTIONS_NUMBER, .flags = OPTIONS_OPTIONAL_VALUE | OPTIONS_ENV_DOCUMENTED,
     .env = "GPUCTL_WATCH_INTERVAL", .metavar = "SEC",
     .min = 0.001, .max = 86400, .what = "a number of seconds (0 < SEC <= 86400)",
     .config_key = "watch_interval_secs",
     .help = "redraw every SEC seconds (default: watch_interval_secs) until Ctrl-C; with json, "
             "one document per line", .offset = R(watch_secs)},
    {.name = "ascii", .type = OPTIONS_FLAG, .help = "plain ASCII table lines and symbols",
     .offset = R(ascii)},
    {.name = "no-color", .type = OPTIONS_FLAG, .config_key = "use_colors",
     .help = "no colour even on a terminal (NO_COLOR is honoured)", .offset = R(no_color)},
    {.name = "vendor", .type = OPTIONS_LIST, .elem = OPTIONS_STRING, .min_values = 1,
     .metavar = "NAME", .group = "Devices",
     .help = "nvidia, amd, intel or all (apple: macOS only)", .offset = R(vendor)},
    {.name = "only", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 0, .max = 4095,
     .what = "a GPU index", .min_values = 1, .metavar = "IDX",
     .help = "only these GPU indices (space or comma separated)", .offset = R(only)},
    {.name = "only-visible", .type = OPTIONS_FLAG,
     .help = "only NVIDIA GPUs visible under CUDA_VISIBLE_DEVICES", .offset = R(only_visible)},
    {.name = "compute", .type = OPTIONS_FLAG, .group = "Processes",
     .help = "only compute (and MPS) processes", .offset = R(compute)},
    {.name = "graphics", .type = OPTIONS_FLAG, .help = "only graphics processes",
     .offset = R(graphics)},
    {.name = "user", .type = OPTIONS_LIST, .elem = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "NAME",
     .help = "only these users' processes (no name: yours)", .offset = R(user)},
    {.name = "pid", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1, .max = 4194304,
     .what = "a process id", .min_values = 1, .metavar = "PID",
     .help = "only these processes", .offset = R(pid)},
    {.name = "filter", .type = OPTIONS_STRING, .metavar = "REGEX",
     .help = "PCRE2 pattern on process name and command line", .offset = R(filter)},
    {.name = "cluster", .type = OPTIONS_STRING, .metavar = "URL", .group = "Cluster",
     .help = "every node of the coordinator at URL (gpuctl serve --coordinator) in one table "
             "with a NODE column; GPUCTL_TOKEN is sent when set", .offset = R(cluster)},
};

const struct options_command list_options = {
    .name = "list",
    .usage = "gpuctl list [OPTIONS]",
    .about = "Show every GPU, one row each, and with --details the processes on them.\n",
    .epilog = "A process filter implies --details.  Unknown values show as N/A (null in JSON).\n"
              "Each run (each refresh with --watch) also appends a sample to the audit\n"
              "database unless audit.record_on_list = false (see gpuctl help audit).\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
