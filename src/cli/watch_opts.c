/* watch_opts.c - the options of `gpuctl watch`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct watch_request, field)

static const struct options_spec specs[] = {
    {.name = "pid", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1, .max = 4194304,
     .what = "a process id", .min_values = 1, .metavar = "PID",
     .help = "only these processes (space or comma separated)", .offset = R(pid)},
    {.name = "match", .type = OPTIONS_STRING, .metavar = "PATTERN",
     .help = "PCRE2 pattern on the full command line; a pattern that is no valid regex is "
             "matched as literal text", .offset = R(match)},
    {.name = "interval", .type = OPTIONS_STRING, .metavar = "SEC",
     .help = "seconds between samples (default 30)", .offset = R(interval)},
    {.name = "output", .short_name = "o", .type = OPTIONS_STRING, .metavar = "PATH",
     .help = "the log file (default ./gpu_log.csv; '-' stdout)", .offset = R(output)},
    {.name = "append", .type = OPTIONS_FLAG,
     .help = "add to the file instead of replacing it; its header must have the same columns",
     .offset = R(append)},
    {.name = "extended", .type = OPTIONS_FLAG,
     .help = "add sys_used_mib, cpu_cores, cpu_pct, host_rss_mib", .offset = R(extended)},
    {.name = "count", .type = OPTIONS_STRING, .metavar = "N", .help = "stop after N samples",
     .offset = R(count)},
    {.name = "duration", .type = OPTIONS_STRING, .metavar = "SEC",
     .help = "stop after SEC seconds", .offset = R(duration)},
    {.name = "format", .type = OPTIONS_STRING, .choices = "csv|jsonl", .metavar = "FORMAT",
     .help = "CSV (default) or one JSON object per line", .offset = R(format)},
};

const struct options_command watch_options = {
    .name = "watch",
    .usage = "gpuctl watch [--pid PID... | --match PATTERN] [OPTIONS]",
    .about = "Log every GPU process (or the chosen ones) once per interval, one row per\n"
             "process and GPU, until --count/--duration is reached or Ctrl-C/SIGTERM.\n",
    .epilog = "CSV columns: timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
              "(timestamp in local time, 2025-01-10T14:22:30).  Empty fields are unknown.\n"
              "Exit status: 0 stopped; 1 no GPU source, a bad file or a write error;\n"
              "3 invalid arguments.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
