/* run_opts.c - the options of `gpuctl run`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct run_request, field)

static const struct options_spec specs[] = {
    {.name = "interval", .short_name = "i", .type = OPTIONS_UINT, .min = 10, .max = 3600000,
     .what = "a whole number of milliseconds from 10 to 3600000", .metavar = "MS",
     .group = "Sampling", .help = "sample every MS milliseconds (default 500, 10-3600000)",
     .offset = R(interval_ms)},
    {.name = "pss", .type = OPTIONS_FLAG,
     .help = "measure PSS (smaps_rollup): shared pages counted once", .offset = R(pss)},
    {.name = "gpu", .type = OPTIONS_FLAG,
     .help = "GPU memory and SM % of the tree's processes", .offset = R(gpu)},
    {.name = "json", .type = OPTIONS_FLAG, .group = "Output (the summary goes to stderr)",
     .help = "the report as JSON on stdout (docs/json/run.md)", .offset = R(json)},
    {.name = "quiet", .type = OPTIONS_FLAG, .help = "no summary", .offset = R(quiet)},
    {.name = "csv", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "per-process peaks, CSV", .offset = R(csv)},
    {.name = "timeline", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "the total at every sample, CSV", .offset = R(timeline)},
    {.name = "html", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "a self-contained HTML report", .offset = R(html)},
    {.name = "group-by", .type = OPTIONS_CHOICE, .choices = "command|exe|ppid",
     .what = "command, exe or ppid", .metavar = "KEY",
     .help = "command (default), exe or ppid", .offset = R(group_by)},
    {.name = "live", .type = OPTIONS_FLAG,
     .help = "a status line on stderr while the job runs", .offset = R(live)},
    {.name = "post-run-cmd", .type = OPTIONS_STRING, .metavar = "CMD",
     .help = "run CMD REPORT.json through sh afterwards", .offset = R(post_run_cmd)},
    {.name = "max-total-rss", .type = OPTIONS_STRING, .metavar = "SIZE", .group = "Limits",
     .help = "exit 10 when the job's total exceeds SIZE", .offset = R(max_total)},
    {.name = "max-per-proc-rss", .type = OPTIONS_STRING, .metavar = "SIZE",
     .help = "exit 11 when one process exceeds SIZE", .offset = R(max_proc)},
    {.name = "kill-on-limit", .type = OPTIONS_FLAG,
     .help = "kill the job when a limit is exceeded", .offset = R(kill_on_limit)},
    {.name = "leak-min-growth", .type = OPTIONS_NUMBER, .min = 0, .max = 1e6, .metavar = "PCT",
     .group = "Leak heuristic",
     .help = "growth from the first to the last quarter (default 50)",
     .offset = R(leak_growth)},
    {.name = "leak-min-duration", .type = OPTIONS_NUMBER, .min = 0, .max = 1e7,
     .metavar = "SEC", .help = "shortest life judged (default 60)", .offset = R(leak_duration)},
};

const struct options_command run_options = {
    .name = "run",
    .usage = "gpuctl run [OPTIONS] [--] COMMAND [ARG...]",
    .about = "Run COMMAND and report the memory of its whole process tree: the job's\n"
             "peak total, each process's peak, groups, and with --gpu its GPU memory.\n"
             "gpuctl is a child subreaper, so orphans and double-forked daemons stay in\n"
             "the tree, and it waits until the last of them has exited.\n",
    .epilog = "SIZE: 512M, 8G, 1.5GiB or bytes.  The total is exact (a cgroup's\n"
              "high-water mark) when gpuctl can create a memory cgroup, else the sampled\n"
              "sum; GPUCTL_RUN_NO_CGROUP=1 skips the cgroup.  SIGINT, SIGTERM, SIGHUP and\n"
              "SIGQUIT are passed on to the job and the report is still written.\n"
              "\n"
              "Exit status: the job's own (128+N when it died of signal N), 10 or 11 for\n"
              "a limit, 127/126 when COMMAND cannot be found/run, 1 gpuctl error, 3 bad\n"
              "arguments.\n",
    .stop_at_operand = true,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
