/* select_opts.c - the options of `gpuctl select`, spelt as nvisel spells
 * them (-c, -C, -n, -f, -t, -G, -M, --tol, -i, -O, -s/--sep, -0).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct select_request, field)
#define PERCENT .type = OPTIONS_UINT, .min = 0, .max = 100, \
                .what = "a whole percentage from 0 to 100", .metavar = "RATE"

static const struct options_spec specs[] = {
    {.name = "min-count", .short_name = "c", .type = OPTIONS_UINT, .min = 0,
     .max = SELECT_MAX_COUNT_ARG, .metavar = "N", .group = "Constraints",
     .help = "fail (exit 1, nothing printed) with fewer (default 0; 1 with a COMMAND)",
     .offset = R(min_count)},
    {.name = "max-count", .short_name = "C", .type = OPTIONS_UINT, .min = 0,
     .max = SELECT_MAX_COUNT_ARG, .metavar = "N", .help = "choose at most N",
     .offset = R(max_count)},
    {.name = "count", .short_name = "n", .type = OPTIONS_UINT, .min = 0,
     .max = SELECT_MAX_COUNT_ARG, .metavar = "N",
     .help = "exactly N: --min-count N --max-count N", .offset = R(count)},
    {.name = "min-free-memory", .short_name = "f", .type = OPTIONS_STRING, .metavar = "SIZE",
     .help = "e.g. 5GiB, 5000M, 4G or bytes (K/M/G binary)", .offset = R(min_free)},
    {.name = "min-total-memory", .short_name = "t", .type = OPTIONS_STRING, .metavar = "SIZE",
     .help = "the same for the total memory", .offset = R(min_total)},
    {.name = "max-gpu-utilization", .short_name = "G", PERCENT,
     .help = "GPU utilisation in percent, 0-100", .offset = R(max_gpu)},
    {.name = "max-memory-utilization", .short_name = "M", PERCENT,
     .help = "memory bandwidth utilisation in percent, 0-100", .offset = R(max_mem)},
    {.name = "tolerance", .aliases = "--tol", PERCENT,
     .help = "loosen every threshold by TOL percent (0-100, default 0); loosened devices "
             "sort last", .offset = R(tolerance)},
    {.name = "inherit", .short_name = "i", .type = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "LIST",
     .help = "only devices in CUDA_VISIBLE_DEVICES (or LIST)", .offset = R(inherit)},
    {.name = "account-as-free", .type = OPTIONS_LIST, .elem = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "USER",
     .help = "count these users' GPU memory as free (no name: yours)",
     .offset = R(account_as_free)},
    {.name = "format", .short_name = "O", .type = OPTIONS_CHOICE, .choices = "index|uuid",
     .what = "index or uuid", .metavar = "FORMAT", .group = "Output",
     .help = "index (default) or uuid; a MIG device forces uuid", .offset = R(format)},
    {.name = "sep", .short_name = "s", .aliases = "--separator", .type = OPTIONS_STRING,
     .metavar = "SEP", .help = "separator (default ',')", .offset = R(sep)},
    {.name = "newline", .type = OPTIONS_FLAG, .help = "one device per line",
     .offset = R(newline)},
    {.name = "null", .short_name = "0", .type = OPTIONS_FLAG,
     .help = "NUL after each device (for xargs -0)", .offset = R(null)},
    {.name = "wait", .type = OPTIONS_NUMBER, .flags = OPTIONS_OPTIONAL_VALUE, .min = 0.001,
     .max = 86400, .what = "a number of seconds (0 < SEC <= 86400)", .metavar = "SEC",
     .config_key = "watch_interval_secs",
     .help = "re-check every SEC seconds (default watch_interval_secs) until enough qualify",
     .offset = R(wait_secs)},
};

const struct options_command select_options = {
    .name = "select",
    .usage = "gpuctl select [OPTIONS] [-- COMMAND [ARG...]]",
    .about = "Choose the NVIDIA GPUs (or MIG devices) that meet the constraints, best\n"
             "first, and print them for CUDA_VISIBLE_DEVICES; with a COMMAND, run it with\n"
             "CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER=PCI_BUS_ID set to them.\n",
    .epilog = "Order: fewer loosened constraints, more free memory, less used memory, lower\n"
              "GPU then memory utilisation, then the higher index.  A value the driver\n"
              "cannot give fails the constraint on it.  At most one MIG device is chosen, and\n"
              "never beside whole GPUs.  With a COMMAND, gpuctl is replaced by it (exit\n"
              "status is the command's; 127 not found, 126 not runnable).  See docs/select.md.\n",
    .operand_hint = " (put a command after '--')",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
