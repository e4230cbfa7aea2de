/* top_opts.c - the options of `gpuctl top`, with nvitop's spellings
 * (-m, -1, -U, -o, -ov, -c, -g, -u, -p) so its users' habits work.
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct top_request, field)

static const struct options_spec specs[] = {
    {.name = "monitor", .short_name = "m", .type = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE | OPTIONS_ENV_DOCUMENTED, .metavar = "MODE",
     .choices = "auto|full|compact", .env = "GPUCTL_MONITOR_MODE NVITOP_MONITOR_MODE",
     .group = "Display",
     .help = "display mode: auto (default), full or compact; without MODE the environment's "
             "or auto", .offset = R(monitor)},
    {.name = "once", .short_name = "1", .type = OPTIONS_FLAG,
     .help = "print one frame to stdout and exit (no terminal needed)", .offset = R(once)},
    {.name = "interval", .type = OPTIONS_STRING, .metavar = "SEC",
     .config_key = "watch_interval_secs", .env = "GPUCTL_WATCH_INTERVAL",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "refresh every SEC seconds (0.25 to 86400, default 2)", .offset = R(interval)},
    {.name = "ascii", .short_name = "U", .aliases = "--no-unicode", .type = OPTIONS_FLAG,
     .help = "ASCII bars, graphs and tree instead of Unicode", .offset = R(ascii)},
    {.name = "no-color", .type = OPTIONS_FLAG, .config_key = "use_colors",
     .help = "no colour (NO_COLOR and TERM=dumb are honoured)", .offset = R(no_color)},
    {.name = "force-color", .type = OPTIONS_FLAG,
     .help = "colour even when stdout is not a terminal", .offset = R(force_color)},
    {.name = "light", .type = OPTIONS_FLAG, .flags = OPTIONS_ENV_DOCUMENTED,
     .env = "GPUCTL_MONITOR_THEME NVITOP_MONITOR_MODE",
     .help = "palette for a light terminal background", .offset = R(light)},
    {.name = "gpu-util-thresh", .type = OPTIONS_LIST, .elem = OPTIONS_STRING, .min_values = 2,
     .max_values = 2, .metavar = "TH", .flags = OPTIONS_ENV_DOCUMENTED,
     .env = "GPUCTL_GPU_UTILIZATION_THRESHOLDS NVITOP_GPU_UTILIZATION_THRESHOLDS",
     .help = "utilisation colour thresholds TH1 TH2, 0 < TH1 < TH2 < 100 (default 10 75)",
     .offset = R(gpu_thresh)},
    {.name = "mem-util-thresh", .type = OPTIONS_LIST, .elem = OPTIONS_STRING, .min_values = 2,
     .max_values = 2, .metavar = "TH", .flags = OPTIONS_ENV_DOCUMENTED,
     .env = "GPUCTL_MEMORY_UTILIZATION_THRESHOLDS NVITOP_MEMORY_UTILIZATION_THRESHOLDS",
     .help = "memory colour thresholds TH1 TH2 (default 10 80)", .offset = R(mem_thresh)},
    {.name = "readonly", .type = OPTIONS_FLAG, .help = "no signals: the kill keys are disabled",
     .offset = R(readonly)},
    {.name = "only", .short_name = "o", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 0,
     .max = 4095, .what = "a GPU index", .min_values = 1, .metavar = "IDX", .group = "Devices",
     .help = "only these GPU indices (space or comma separated)", .offset = R(only)},
    {.name = "only-visible", .short_name = "ov", .type = OPTIONS_FLAG,
     .help = "only NVIDIA GPUs visible under CUDA_VISIBLE_DEVICES", .offset = R(only_visible)},
    {.name = "compute", .short_name = "c", .type = OPTIONS_FLAG, .group = "Processes",
     .help = "only compute (and MPS) processes", .offset = R(compute)},
    {.name = "graphics", .short_name = "g", .type = OPTIONS_FLAG,
     .help = "only graphics processes", .offset = R(graphics)},
    {.name = "user", .short_name = "u", .type = OPTIONS_LIST, .elem = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "USER",
     .help = "only these users' processes (no name: yours)", .offset = R(user)},
    {.name = "pid", .short_name = "p", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1,
     .max = 4194304, .what = "a process id", .min_values = 1, .metavar = "PID",
     .help = "only these processes", .offset = R(pid)},
    {.name = "cluster", .type = OPTIONS_STRING, .metavar = "URL", .group = "Cluster",
     .help = "the whole cluster of a coordinator (gpuctl serve --coordinator), its snapshot "
             "read every interval: every node's GPUs and processes with a NODE column, "
             "read-only; --only names each node's GPU indices", .offset = R(cluster)},
    {.name = "token-file", .type = OPTIONS_STRING, .metavar = "FILE", .env = "GPUCTL_TOKEN",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "with --cluster: the coordinator's bearer token (needed off loopback); "
             "GPUCTL_TOKEN gives the token itself", .offset = R(token_file)},
};

const struct options_command top_options = {
    .name = "top",
    .usage = "gpuctl top [OPTIONS]",
    .about = "Interactive monitor: GPUs with bars and history graphs, the host's CPU,\n"
             "memory and load, and the GPU processes, refreshed every interval.  Press\n"
             "h inside for every key (signals, tree view, sorting, filter, ...).\n",
    .epilog = "Environment: GPUCTL_MONITOR_MODE (auto, full, compact), GPUCTL_MONITOR_THEME\n"
              "(dark, light), GPUCTL_GPU_UTILIZATION_THRESHOLDS and\n"
              "GPUCTL_MEMORY_UTILIZATION_THRESHOLDS (\"TH1,TH2\"); nvitop's NVITOP_MONITOR_MODE\n"
              "(e.g. \"compact,light\") and NVITOP_*_UTILIZATION_THRESHOLDS are read when the\n"
              "GPUCTL_ ones are unset.  Flags win over the environment.\n"
              "\n"
              "Exit status: 0 on q; 1 the coordinator of --cluster does not answer; 2 no GPU\n"
              "source; 3 invalid option or environment value.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
