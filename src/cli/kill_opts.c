/* kill_opts.c - the options of `gpuctl kill` (gpu-kill's form included:
 * `gpuctl --kill --pid N --force --timeout-secs S`, `--kill --filter RE
 * --batch`).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct kill_request, field)

static const struct options_spec specs[] = {
    {.name = "pid", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1, .max = 4194304,
     .what = "a process id", .min_values = 1, .metavar = "PID", .group = "Choosing",
     .help = "these processes (space or comma separated)", .offset = R(pid)},
    {.name = "filter", .type = OPTIONS_STRING, .metavar = "REGEX",
     .help = "GPU processes whose name or command line matches (PCRE2); lists them unless "
             "--batch is given", .offset = R(filter)},
    {.name = "batch", .type = OPTIONS_FLAG,
     .help = "signal every process --filter matches, in parallel", .offset = R(batch)},
    {.name = "tree", .type = OPTIONS_FLAG,
     .help = "also end each target's descendants, children first", .offset = R(tree)},
    {.name = "group", .type = OPTIONS_FLAG,
     .help = "also end every process in each target's process group", .offset = R(group)},
    {.name = "signal", .type = OPTIONS_STRING, .metavar = "SIG", .group = "Acting",
     .help = "first signal: name (TERM, INT, HUP, ...) or number (default TERM)",
     .offset = R(signal)},
    {.name = "timeout-secs", .type = OPTIONS_STRING, .metavar = "N",
     .config_key = "default_timeout_secs", .env = "GPUCTL_DEFAULT_TIMEOUT",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "how long to wait for them to end (default: default_timeout_secs, 5)",
     .offset = R(timeout)},
    {.name = "force", .type = OPTIONS_FLAG,
     .help = "SIGKILL what is still running after the wait, and skip the GPU check for --pid",
     .offset = R(force)},
    {.name = "dry-run", .type = OPTIONS_FLAG, .help = "show what would be done; change nothing",
     .offset = R(dry_run)},
    {.name = "output", .aliases = "-o", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .config_key = "output_format", .env = "GPUCTL_OUTPUT_FORMAT",
     .flags = OPTIONS_ENV_DOCUMENTED, .help = "table (default) or json", .offset = R(output)},
};

const struct options_command kill_options = {
    .name = "kill",
    .usage = "gpuctl kill (--pid PID... | --filter REGEX) [OPTIONS]",
    .about = "End GPU processes: send SIGTERM (or --signal), wait for them all at once,\n"
             "and with --force send SIGKILL to those still running.  Each process is\n"
             "held by a pidfd checked against its start time, so a reused pid is never\n"
             "hit.  Nothing is signalled unless every process passes the checks: it\n"
             "exists, it uses a GPU (skipped with --force), it is not pid 1, gpuctl, its\n"
             "parent or a kernel thread, and you may signal it.\n",
    .epilog = "Exit status: 0 when every process ended; 1 when one did not (or a --pid\n"
              "does not exist, or --filter matches nothing); 2 no GPU source to check\n"
              "against; 3 a refused target or --filter without --batch; 4 permission\n"
              "denied.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
