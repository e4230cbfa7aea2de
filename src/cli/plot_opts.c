/* plot_opts.c - the options of `gpuctl plot`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct plot_request, field)

static const struct options_spec specs[] = {
    {.name = "output", .short_name = "o", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "the image, OUT.png or OUT.svg (default: the first FILE, .png)",
     .offset = R(output)},
    {.name = "per-gpu", .type = OPTIONS_FLAG,
     .help = "one GPU memory line per GPU (default: per process)", .offset = R(per_gpu)},
    {.name = "cpu", .type = OPTIONS_FLAG, .help = "add a CPU % panel", .offset = R(cpu)},
    {.name = "pid", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1, .max = 4194304,
     .what = "a process id", .min_values = 1, .flags = OPTIONS_LIST_WHILE_VALID,
     .metavar = "PID", .help = "only these processes", .offset = R(pid)},
    {.name = "title", .type = OPTIONS_STRING, .metavar = "TEXT", .help = "the chart's title",
     .offset = R(title)},
    {.name = "width", .type = OPTIONS_STRING, .metavar = "W",
     .help = "width in pixels (default 1200); with --terminal in character cells",
     .offset = R(width)},
    {.name = "height", .type = OPTIONS_STRING, .metavar = "H",
     .help = "height in pixels (default 800); with --terminal in character cells",
     .offset = R(height)},
    {.name = "terminal", .type = OPTIONS_FLAG,
     .help = "draw with braille characters on the terminal instead of writing a file",
     .offset = R(terminal)},
};

const struct options_command plot_options = {
    .name = "plot",
    .usage = "gpuctl plot FILE... [OPTIONS]",
    .about = "Chart logs of gpuctl watch (CSV, with or without --extended), of the shell\n"
             "helper (timestamp,used_mib[,sys_used_mib][,cpu_cores][,cpu_pct]) and of\n"
             "gpuctl run --timeline, several files together: GPU memory on top, system\n"
             "memory below (or a placeholder), CPU % with --cpu.\n",
    .epilog = "Malformed rows are skipped and counted in one warning.\n"
              "Exit status: 0 drawn; 1 an empty, unreadable or unrecognised file;\n"
              "3 invalid arguments.\n",
    .max_operands = 4096,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
