/* analyze_opts.c - the options of `gpuctl analyze`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct analyze_request, field)

static const struct options_spec specs[] = {
    {.name = "prefix", .type = OPTIONS_STRING, .metavar = "NAME",
     .help = "which trace in DIR (needed when it holds several)", .offset = R(prefix)},
    {.name = "top", .type = OPTIONS_UINT, .min = 0, .max = 1000000, .what = "a count",
     .metavar = "N", .help = "hotspots shown (default 10; 0 for all)", .offset = R(top)},
    {.name = "output", .short_name = "o", .type = OPTIONS_CHOICE, .choices = "table|json",
     .what = "table or json", .metavar = "FORMAT", .help = "table (default) or json",
     .offset = R(output)},
    {.name = "html", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "also write a self-contained zoomable timeline", .offset = R(html)},
};

const struct options_command analyze_options = {
    .name = "analyze",
    .usage = "gpuctl analyze DIR [OPTIONS]",
    .about = "Summarise a trace written by gpuctl trace: duration, kernels, GPU busy and\n"
             "utilisation, peak VRAM, host CPU, dropped records; the scope tree with total\n"
             "and self time, calls, kernels and their GPU time; the top kernels by GPU time.\n"
             "Reads the logs in one streaming pass; corrupt or truncated lines are counted\n"
             "and skipped.\n",
    .max_operands = 1,
    .operand_hint = " (one trace directory)",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
