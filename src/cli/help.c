/* help.c - the usage text of every command, shown by `gpuctl help CMD`,
 * `gpuctl CMD --help` and kept in step with docs/gpuctl.1.  A command with
 * an option table (cli/opts.h) has its help generated from it instead.
 */
#include <stdio.h>
#include <string.h>

#include "cli/audit_rogue.h"
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

static const char select_help[] =
    "usage: gpuctl select [OPTIONS] [-- COMMAND [ARG...]]\n"
    "\n"
    "Choose the NVIDIA GPUs (or MIG devices) that meet the constraints, best\n"
    "first, and print them for CUDA_VISIBLE_DEVICES; with a COMMAND, run it with\n"
    "CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER=PCI_BUS_ID set to them.\n"
    "\n"
    "Constraints:\n"
    "  -c, --min-count N               fail (exit 1, nothing printed) with fewer\n"
    "                                  (default 0; 1 with a COMMAND)\n"
    "  -C, --max-count N               choose at most N\n"
    "  -n, --count N                   exactly N: --min-count N --max-count N\n"
    "  -f, --min-free-memory SIZE      e.g. 5GiB, 5000M, 4G or bytes (K/M/G binary)\n"
    "  -t, --min-total-memory SIZE\n"
    "  -G, --max-gpu-utilization RATE  percent, 0-100\n"
    "  -M, --max-memory-utilization RATE\n"
    "  --tolerance TOL                 loosen every threshold by TOL percent\n"
    "                                  (0-100, default 0); loosened devices sort last\n"
    "  --inherit[=LIST]                only devices in CUDA_VISIBLE_DEVICES (or LIST)\n"
    "  --account-as-free [USER...]     count these users' GPU memory as free\n"
    "                                  (no name: yours)\n"
    "\n"
    "Output:\n"
    "  -O, --format index|uuid         default index; a MIG device forces uuid\n"
    "  --sep SEP                       separator (default ',')\n"
    "  --newline                       one device per line\n"
    "  -0, --null                      NUL after each device (for xargs -0)\n"
    "  --wait [SEC]                    re-check every SEC seconds (default\n"
    "                                  watch_interval_secs) until enough qualify\n"
    "\n"
    "Order: fewer loosened constraints, more free memory, less used memory, lower\n"
    "GPU then memory utilisation, then the higher index.  A value the driver\n"
    "cannot give fails the constraint on it.  At most one MIG device is chosen, and\n"
    "never beside whole GPUs.  With a COMMAND, gpuctl is replaced by it (exit\n"
    "status is the command's; 127 not found, 126 not runnable).  See docs/select.md.\n";

static const char reset_help[] =
    "usage: gpuctl reset (--gpu IDX... | --all) [--force] [--timeout-secs N]\n"
    "\n"
    "Reset GPUs.  A GPU with processes on it is not reset unless --force is\n"
    "given, which first ends them as `gpuctl kill --force` does.  NVIDIA GPUs\n"
    "are reset with `nvidia-smi --gpu-reset -i BUS_ID` (NVML has no reset\n"
    "call), which must be on PATH; AMD GPUs by reading amdgpu's debugfs\n"
    "file /sys/kernel/debug/dri/N/amdgpu_gpu_recover; other vendors are not\n"
    "supported yet.\n"
    "Needs root.\n"
    "\n"
    "  --gpu IDX...            these GPU indices (space or comma separated)\n"
    "  --all                   every GPU\n"
    "  --force                 end the processes on the GPUs first\n"
    "  --timeout-secs N        wait for them this long before SIGKILL\n"
    "                          (default: default_timeout_secs, 5)\n"
    "\n"
    "Exit status: 0 reset; 1 a process did not end or the reset failed;\n"
    "2 no GPU source; 3 unknown index or GPU in use; 4 not root;\n"
    "5 no way to reset this GPU here.\n";

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
const char cli_audit_rogue_help[] =
    "usage: gpuctl audit --rogue [--hours N] [--output table|json]\n"
    "       gpuctl audit [--rogue-config] [--rogue-export-config] [ROGUE EDITS]\n"
    "\n"
    "Suspicious-usage detection over the live GPU processes and the audit history:\n"
    "crypto miners (known executable names, stratum URLs, pool and wallet\n"
    "arguments, sustained high SM % with low host CPU and steady memory),\n"
    "suspicious processes (temporary directories, deleted executables, names of\n"
    "system processes, service accounts), resource abuse (memory, duration,\n"
    "sustained utilisation) and exfiltration signs (/proc/PID/io, sockets).\n"
    "Each finding has a confidence, a risk level, its evidence and a\n"
    "recommendation.  Settings: $XDG_CONFIG_HOME/gpuctl/rogue.toml, created with\n"
    "the defaults on first use.\n"
    "\n"
    "  --rogue                              scan (history of the last --hours, default 24)\n"
    "  --rogue-config                       print rogue.toml's path and settings\n"
    "  --rogue-memory-threshold GB          set detection.max_memory_usage_gb\n"
    "  --rogue-utilization-threshold PCT    set detection.max_utilization_pct\n"
    "  --rogue-duration-threshold HOURS     set detection.max_duration_hours\n"
    "  --rogue-confidence-threshold C       set detection.min_confidence_threshold (0-1)\n"
    "  --rogue-whitelist-process NAME       allow a process name or glob\n"
    "  --rogue-unwhitelist-process NAME     remove it from the allow-list\n"
    "  --rogue-whitelist-user NAME          allow a user name or glob\n"
    "  --rogue-unwhitelist-user NAME        remove it from the allow-list\n"
    "  --rogue-export-config                print the settings as JSON\n"
    "  --rogue-import-config FILE           replace the settings with FILE (JSON),\n"
    "                                       validated whole before anything is written\n";

static const char audit_help[] =
    "usage: gpuctl audit [--hours N] [--user NAME] [--process REGEX] [--gpus]\n"
    "                    [--output table|json|jsonl|csv]\n"
    "       gpuctl audit --summary [--hours N] [--user NAME] [--process REGEX]\n"
    "                    [--top N] [--output table|json|jsonl]\n"
    "       gpuctl audit record [--interval SEC] [--count N]\n"
    "       gpuctl audit import FILE.jsonl\n"
    "       gpuctl audit export [--format jsonl] [--hours N] [--user NAME] [--process REGEX]\n"
    "\n"
    "The usage history in $GPUCTL_AUDIT_DB, else $XDG_DATA_HOME/gpuctl/audit.db\n"
    "(~/.local/share/gpuctl/audit.db).  Samples come from every gpuctl list\n"
    "(audit.record_on_list) and from gpuctl audit record.\n"
    "\n"
    "Showing:\n"
    "  --hours N           the last N hours (default 24)\n"
    "  --user NAME         only this user's processes\n"
    "  --process REGEX     only processes whose name matches (PCRE2)\n"
    "  --gpus              GPU samples instead of process samples\n"
    "  --summary           top users and processes (GPU-memory hours, SM-% hours,\n"
    "                      peak memory), per-GPU average and peak utilisation, the\n"
    "                      24-hour pattern (local time) and the busiest hours\n"
    "  --top N             users, processes and hours in the summary (default 10)\n"
    "  --output FORMAT     table (default), json, jsonl (ndjson) or csv\n"
    "\n"
    "A sample stands for the time since the host's previous one, at most 300 s\n"
    "(or the recorder's interval when longer).\n"
    "\n"
    "record:  a sample every SEC seconds (default 60) until SIGINT/SIGTERM, or\n"
    "         N samples with --count; see docs/gpuctl-audit.service.\n"
    "import:  gpu-kill audit.jsonl records (\"-\" reads standard input); a bad\n"
    "         line is reported as FILE:LINE and skipped, the rest imported\n"
    "         (exit status 1 when any line was skipped).\n"
    "export:  all history (or --hours N) in that shape, one record per line.\n"
    "\n"
    "Retention: audit.retention_days (default 90), applied by the writers.\n"
    "Recording from list never makes list fail: a problem is said once, and\n"
    "an unwritable location only at --log-level info.\n"
    "\n"
    "Suspicious usage (miners, abuse, exfiltration): gpuctl audit --rogue;\n"
    "its options: gpuctl audit --rogue --help.\n";

static const char watch_help[] =
    "usage: gpuctl watch [--pid PID... | --match PATTERN] [OPTIONS]\n"
    "\n"
    "Log every GPU process (or the chosen ones) once per interval, one row per\n"
    "process and GPU, until --count/--duration is reached or Ctrl-C/SIGTERM.\n"
    "\n"
    "  --pid PID...            only these processes (space or comma separated)\n"
    "  --match PATTERN         PCRE2 pattern on the full command line; a pattern\n"
    "                          that is no valid regex is matched as literal text\n"
    "  --interval SEC          seconds between samples (default 30)\n"
    "  --output PATH, -o PATH  the log file (default ./gpu_log.csv; '-' stdout)\n"
    "  --append                add to the file instead of replacing it; its header\n"
    "                          must have the same columns\n"
    "  --extended              add sys_used_mib, cpu_cores, cpu_pct, host_rss_mib\n"
    "  --count N               stop after N samples\n"
    "  --duration SEC          stop after SEC seconds\n"
    "  --format csv|jsonl      CSV (default) or one JSON object per line\n"
    "\n"
    "CSV columns: timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
    "(timestamp in local time, 2025-01-10T14:22:30).  Empty fields are unknown.\n"
    "Exit status: 0 stopped; 1 no GPU source, a bad file or a write error;\n"
    "3 invalid arguments.\n";

static const char plot_help[] =
    "usage: gpuctl plot FILE... [OPTIONS]\n"
    "\n"
    "Chart logs of gpuctl watch (CSV, with or without --extended), of the shell\n"
    "helper (timestamp,used_mib[,sys_used_mib][,cpu_cores][,cpu_pct]) and of\n"
    "gpuctl run --timeline, several files together: GPU memory on top, system\n"
    "memory below (or a placeholder), CPU % with --cpu.\n"
    "\n"
    "  --output OUT.png|OUT.svg  the image (default: the first FILE, .png)\n"
    "  --per-gpu                 one GPU memory line per GPU (default: per process)\n"
    "  --cpu                     add a CPU % panel\n"
    "  --pid PID...              only these processes\n"
    "  --title TEXT              the chart's title\n"
    "  --width W --height H      size in pixels (default 1200 x 800); with\n"
    "                            --terminal in character cells\n"
    "  --terminal                draw with braille characters on the terminal\n"
    "                            instead of writing a file\n"
    "\n"
    "Malformed rows are skipped and counted in one warning.\n"
    "Exit status: 0 drawn; 1 an empty, unreadable or unrecognised file;\n"
    "3 invalid arguments.\n";

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
    "SIZE: 512M, 8G, 1.5GiB or bytes.  The total is exact (a cgroup's\n"
    "high-water mark) when gpuctl can create a memory cgroup, else the sampled\n"
    "sum; GPUCTL_RUN_NO_CGROUP=1 skips the cgroup.  SIGINT, SIGTERM, SIGHUP and\n"
    "SIGQUIT are passed on to the job and the report is still written.\n"
    "\n"
    "Exit status: the job's own (128+N when it died of signal N), 10 or 11 for\n"
    "a limit, 127/126 when COMMAND cannot be found/run, 1 gpuctl error, 3 bad\n"
    "arguments.\n";

static const char compare_help[] =
    "usage: gpuctl compare BASE.json CANDIDATE.json [--threshold PCT] [--json]\n"
    "\n"
    "Compare two `gpuctl run --json` reports: the peak total, the largest\n"
    "process, process count, duration, GPU peak and each group.  The peak\n"
    "total and every group present in both reports are gated: exit 1 when\n"
    "one grew by more than PCT percent (default 10), 0 otherwise.\n"
    "\n"
    "  --threshold PCT   allowed growth in percent\n"
    "  --json            the comparison as JSON on stdout\n";

/* Commands without an option table yet; the others' help is generated
 * from their table (cli/opts.h). */
static const struct {
    const char *command;
    const char *text;
} help_texts[] = {
    {"select", select_help},
    {"config", config_help},
    {"reset", reset_help},
    {"trace", trace_help},
    {"analyze", analyze_help},
    {"audit", audit_help},
    {"watch", watch_help},
    {"plot", plot_help},
    {"run", run_help},
    {"compare", compare_help},
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
