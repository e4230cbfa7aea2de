/* help.c - the usage text of every command, shown by `gpuctl help CMD`,
 * `gpuctl CMD --help` and kept in step with docs/gpuctl.1.  A command with
 * an option table (cli/opts.h) has its help generated from it instead.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"

static const char overview[] =
    "usage: gpuctl COMMAND [OPTIONS]\n"
    "\n"
    "See and control the GPUs of this machine.\n"
    "\n"
    "Commands:\n"
    "  list      show GPUs and the processes on them, once or with --watch\n"
    "  top       interactive monitor of GPUs, host and GPU processes\n"
    "  select    choose GPUs for a CUDA job: print them, or run the job on them\n"
    "  kill      end GPU processes safely (SIGTERM, wait, SIGKILL only with --force)\n"
    "  reset     reset GPUs, ending the processes on them first with --force\n"
    "  run       run a job and report the exact memory peak of its process tree\n"
    "  compare   compare two `run --json` reports; exit 1 on a regression (CI)\n"
    "  watch     log GPU processes' memory and utilisation to CSV or JSON lines\n"
    "  plot      chart watch, helper or run --timeline logs as PNG, SVG or braille\n"
    "  audit     usage history: records, summary, the recorder, import and export;\n"
    "            with --rogue: miners, suspicious processes, abuse, exfiltration\n"
    "  guard     usage policies per user, group, GPU and time of day, and their daemon\n"
    "  trace     run a CUDA job under the kernel flight recorder (NDJSON logs)\n"
    "  analyze   summary, scope tree, hotspots and HTML timeline of a trace\n"
    "  config    show the effective configuration and where each value came from\n"
    "  help      show help for a command: gpuctl help COMMAND\n"
    "\n"
    "Options for every command:\n"
    "  --config PATH       read this configuration file instead of the default\n"
    "  --log-level LEVEL   error, warn, info, debug or trace\n"
    "  -h, --help          show help for the command\n"
    "  -V, --version       show version, git revision and build date\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 GPU library failure, 3 invalid arguments,\n"
    "4 permission denied, 5 unsupported operation.\n";

static const char config_help[] =
    "usage: gpuctl config show [--output table|json]\n"
    "\n"
    "Print each setting's effective value and where it came from: default,\n"
    "file, environment or flag.  Files: $XDG_CONFIG_HOME/gpuctl/config.toml\n"
    "(or --config PATH).  See docs/configuration.md.\n";

static const char trace_help[] =
    "usage: gpuctl trace [OPTIONS] -- CMD [ARGS...]\n"
    "\n"
    "Run CMD under the kernel flight recorder (libgpuctl-trace.so, loaded by CUDA\n"
    "through CUDA_INJECTION64_PATH): every kernel, memcpy and memset with its\n"
    "launch geometry, the scopes and NVTX ranges they ran under, and system samples,\n"
    "written as DIR/PREFIX.{kernel,scope,system}.ndjson (docs/json/trace.md).\n"
    "Further CUDA processes of the job write PREFIX-PID.*.  Exits with the job's\n"
    "status (128+N for a signal); where the logs are and the drop counts go to stderr.\n"
    "\n"
    "  -o, --output DIR          directory for the logs (created; default .)\n"
    "  --prefix NAME             file name prefix (default gpuctl-trace)\n"
    "  --system-interval MS      system sample interval, 0 for none (default 100)\n"
    "  --ring-mb N               scope ring memory in MiB (default 16)\n"
    "\n"
    "Environment read by the recorder: GPUCTL_TRACE_DIR, GPUCTL_TRACE_PREFIX,\n"
    "GPUCTL_TRACE_SYSTEM_INTERVAL_MS, GPUCTL_TRACE_RING_MB, GPUCTL_TRACE_ROTATE_MB,\n"
    "GPUCTL_TRACE_KINDS (kernel,memcpy,memset,scope,nvtx,system or all).\n"
    "GPUCTL_TRACE_LIBRARY overrides where gpuctl finds the library.\n";

static const char analyze_help[] =
    "usage: gpuctl analyze DIR [OPTIONS]\n"
    "\n"
    "Summarise a trace written by gpuctl trace: duration, kernels, GPU busy and\n"
    "utilisation, peak VRAM, host CPU, dropped records; the scope tree with total\n"
    "and self time, calls, kernels and their GPU time; the top kernels by GPU time.\n"
    "Reads the logs in one streaming pass; corrupt or truncated lines are counted\n"
    "and skipped.\n"
    "\n"
    "  --prefix NAME             which trace in DIR (needed when it holds several)\n"
    "  --top N                   hotspots shown (default 10; 0 for all)\n"
    "  -o, --output FORMAT       table (default) or json\n"
    "  --html FILE               also write a self-contained zoomable timeline\n";
/* The --rogue part of `gpuctl audit` (cli/audit_rogue.c). */
static const char run_help[] =
    "usage: gpuctl run [OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND and report the memory of its whole process tree: the job's\n"
    "peak total, each process's peak, groups, and with --gpu its GPU memory.\n"
    "gpuctl is a child subreaper, so orphans and double-forked daemons stay in\n"
    "the tree, and it waits until the last of them has exited.\n"
    "\n"
    "Sampling:\n"
    "  -i, --interval MS          sample every MS milliseconds (default 500, 10-3600000)\n"
    "  --pss                      measure PSS (smaps_rollup): shared pages counted once\n"
    "  --gpu                      GPU memory and SM % of the tree's processes\n"
    "Output (the summary goes to stderr):\n"
    "  --json                     the report as JSON on stdout (docs/json/run.md)\n"
    "  --quiet                    no summary\n"
    "  --csv FILE                 per-process peaks, CSV\n"
    "  --timeline FILE            the total at every sample, CSV\n"
    "  --html FILE                a self-contained HTML report\n"
    "  --group-by KEY             command (default), exe or ppid\n"
    "  --live                     a status line on stderr while the job runs\n"
    "  --post-run-cmd CMD         run CMD REPORT.json through sh afterwards\n"
    "Limits:\n"
    "  --max-total-rss SIZE       exit 10 when the job's total exceeds SIZE\n"
    "  --max-per-proc-rss SIZE    exit 11 when one process exceeds SIZE\n"
    "  --kill-on-limit            kill the job when a limit is exceeded\n"
    "Leak heuristic:\n"
    "  --leak-min-growth PCT      growth from the first to the last quarter (default 50)\n"
    "  --leak-min-duration SEC    shortest life judged (default 60)\n"
    "\n"
    "SIZE: 512M, 8G, 1.5GiB or bytes.  The total is the RAM the job needed:\n"
    "the anonymous + shmem memory of its own cgroup when gpuctl can create one,\n"
    "else the sum of RSS, sampled, never below one process's peak; page cache\n"
    "is not counted.  GPUCTL_RUN_NO_CGROUP=1 skips the cgroup.  SIGINT,\n"
    "SIGTERM, SIGHUP and SIGQUIT are passed on to the job and the report is\n"
    "still written.\n"
    "\n"
    "Exit status: the job's own (128+N when it died of signal N), 10 or 11 for\n"
    "a limit, 127/126 when COMMAND cannot be found/run, 1 gpuctl error, 3 bad\n"
    "arguments.\n";

/* Commands without an option table yet; the others' help is generated
 * from their table (cli/opts.h). */
static const struct {
    const char *command;
    const char *text;
} help_texts[] = {
    {"config", config_help},
    {"trace", trace_help},
    {"analyze", analyze_help},
    {"run", run_help},
    {"help", overview},
};

const char *cli_command_help(const char *command)
{
    for (size_t i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++)
        if (strcmp(help_texts[i].command, command) == 0)
            return help_texts[i].text;
    return NULL;
}

void cli_print_overview(void)
{
    fputs(overview, stdout);
}

int cli_write_command_help(const char *command, FILE *out)
{
    const struct options_command *table = cli_option_table(command);
    if (table)
        return options_write_help(table, out) < 0 ? -1 : 0;
    const char *text = cli_command_help(command);
    if (!text)
        return -1;
    fputs(text, out);
    return 0;
}
