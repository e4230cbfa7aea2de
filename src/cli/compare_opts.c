/* compare_opts.c - the options of `gpuctl compare`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct compare_request, field)

static const struct options_spec specs[] = {
    {.name = "threshold", .type = OPTIONS_NUMBER, .min = 0, .max = 1e6,
     .what = "a percentage from 0 to 1000000", .metavar = "PCT",
     .help = "allowed growth in percent (default 10)", .offset = R(threshold)},
    {.name = "json", .type = OPTIONS_FLAG, .help = "the comparison as JSON on stdout",
     .offset = R(json)},
};

const struct options_command compare_options = {
    .name = "compare",
    .usage = "gpuctl compare BASE.json CANDIDATE.json [--threshold PCT] [--json]",
    .about = "Compare two `gpuctl run --json` reports: the peak total, the largest\n"
             "process, process count, duration, GPU peak and each group.  The peak\n"
             "total and every group present in both reports are gated: exit 1 when\n"
             "one grew by more than PCT percent (default 10), 0 otherwise.\n",
    .max_operands = 2,
    .operand_hint = " (compare takes two reports)",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
