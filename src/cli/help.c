/* help.c - the usage text of every command, shown by `gpuctl help CMD`,
 * `gpuctl CMD --help` and kept in step with docs/gpuctl.1.
 */
#include <stdio.h>
#include <string.h>

#include "cli/audit_rogue.h"
#include "cli/cli.h"

static const char overview[] =
    "usage: gpuctl COMMAND [OPTIONS]\n"
    "\n"
    "See and control the GPUs of this machine.\n"
    "\n"
    "Commands:\n"
    "  list      show GPUs and the processes on them, once or with --watch\n"
    "  select    choose GPUs for a CUDA job: print them, or run the job on them\n"
    "  kill      end GPU processes safely (SIGTERM, wait, SIGKILL only with --force)\n"
    "  reset     reset GPUs, ending the processes on them first with --force\n"
    "  config    show the effective configuration and where each value came from\n"
    "  trace     run a CUDA job under the kernel flight recorder (NDJSON logs)\n"
    "  analyze   summary, scope tree, hotspots and HTML timeline of a trace\n"
    "  audit     usage history: records, summary, the recorder, import and export;\n"
    "            with --rogue: miners, suspicious processes, abuse, exfiltration\n"
    "  guard     usage policies per user, group, GPU and time of day, and their daemon\n"
    "  watch     log GPU processes' memory and utilisation to CSV or JSON lines\n"
    "  plot      chart watch, helper or run --timeline logs as PNG, SVG or braille\n"
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

static const char list_help[] =
    "usage: gpuctl list [OPTIONS]\n"
    "\n"
    "Show every GPU, one row each, and with --details the processes on them.\n"
    "\n"
    "Output:\n"
    "  --details               add the process table\n"
    "  --output FORMAT         table (default) or json\n"
    "  --containers            show full container ids (table) and container\n"
    "                          kind/id/pod fields (JSON)\n"
    "  --watch [SEC]           redraw every SEC seconds (default: watch_interval_secs)\n"
    "                          until Ctrl-C; with json, one document per line\n"
    "  --ascii                 plain ASCII table lines and symbols\n"
    "  --no-color              no colour even on a terminal (NO_COLOR is honoured)\n"
    "\n"
    "Devices:\n"
    "  --vendor NAME...        nvidia, amd, intel or all (apple: macOS only)\n"
    "  --only IDX...           only these GPU indices (space or comma separated)\n"
    "  --only-visible          only NVIDIA GPUs visible under CUDA_VISIBLE_DEVICES\n"
    "\n"
    "Processes:\n"
    "  --compute               only compute (and MPS) processes\n"
    "  --graphics              only graphics processes\n"
    "  --user [NAME...]        only these users' processes (no name: yours)\n"
    "  --pid PID...            only these processes\n"
    "  --filter REGEX          PCRE2 pattern on process name and command line\n"
    "\n"
    "A process filter implies --details.  Unknown values show as N/A (null in JSON).\n"
    "Each run (each refresh with --watch) also appends a sample to the audit\n"
    "database unless audit.record_on_list = false (see gpuctl help audit).\n";

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

static const char kill_help[] =
    "usage: gpuctl kill (--pid PID... | --filter REGEX) [OPTIONS]\n"
    "\n"
    "End GPU processes: send SIGTERM (or --signal), wait for them all at once,\n"
    "and with --force send SIGKILL to those still running.  Each process is\n"
    "held by a pidfd checked against its start time, so a reused pid is never\n"
    "hit.  Nothing is signalled unless every process passes the checks: it\n"
    "exists, it uses a GPU (skipped with --force), it is not pid 1, gpuctl, its\n"
    "parent or a kernel thread, and you may signal it.\n"
    "\n"
    "Choosing:\n"
    "  --pid PID...            these processes (space or comma separated)\n"
    "  --filter REGEX          GPU processes whose name or command line matches\n"
    "                          (PCRE2); lists them unless --batch is given\n"
    "  --batch                 signal every process --filter matches, in parallel\n"
    "  --tree                  also end each target's descendants, children first\n"
    "  --group                 also end every process in each target's process group\n"
    "\n"
    "Acting:\n"
    "  --signal SIG            first signal: name (TERM, INT, HUP, ...) or number\n"
    "                          (default TERM)\n"
    "  --timeout-secs N        how long to wait for them to end\n"
    "                          (default: default_timeout_secs, 5)\n"
    "  --force                 SIGKILL what is still running after the wait, and\n"
    "                          skip the GPU check for --pid\n"
    "  --dry-run               show what would be done; change nothing\n"
    "  --output FORMAT         table (default) or json\n"
    "\n"
    "Exit status: 0 when every process ended; 1 when one did not (or a --pid\n"
    "does not exist, or --filter matches nothing); 2 no GPU source to check\n"
    "against; 3 a refused target or --filter without --batch; 4 permission\n"
    "denied.\n";

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

static const char guard_help[] =
    "usage: gpuctl guard [EDITS] [--config] [--test-policies] [--export-config]\n"
    "       gpuctl guard run [--once] [--interval SEC]\n"
    "       gpuctl guard status [--hours N] [--limit N] [--output table|json]\n"
    "\n"
    "Usage policies in $XDG_CONFIG_HOME/gpuctl/guard.toml (or --file PATH): per\n"
    "user, per group, per GPU and per time of day.  `guard run` enforces them:\n"
    "dry run logs what would happen, soft warns (log, syslog, webhook, the user's\n"
    "terminals) and ends the process after the grace period, hard ends it at\n"
    "once (SIGTERM, then SIGKILL).  Violations and actions go to the audit\n"
    "database; `guard status` shows them.  Every option may also be spelt with\n"
    "guard- in front (--guard-add-user), as gpu-kill does.\n"
    "\n"
    "  --enable, --disable            switch enforcement on or off\n"
    "  --dry-run, --enforce           log only, or act; --toggle-dry-run flips it\n"
    "  --mode soft|hard               enforcement mode\n"
    "  --grace-period SEC             soft: how long a violation may last\n"
    "  --interval SEC                 seconds between checks (with run: this run only)\n"
    "  --webhook URL                  POST a JSON notice for each warning\n"
    "  --add-user NAME                with --memory-limit GB, --utilization-limit PCT,\n"
    "                                 --process-limit N, --duration-limit H,\n"
    "                                 --priority N, --allowed-gpus L, --blocked-gpus L\n"
    "  --add-group NAME --members a,b with the same limits (totals of the members)\n"
    "  --add-gpu IDX                  with --memory-limit GB, --utilization-limit PCT,\n"
    "                                 --reserved-memory GB, --allowed-users a,b,\n"
    "                                 --blocked-users a,b, --maintenance HH:MM-HH:MM,\n"
    "                                 --days mon,tue\n"
    "  --add-time-policy NAME         with --start HH:MM --end HH:MM [--days ...]\n"
    "                                 [--users a,b] and limits per user\n"
    "  --remove-user NAME, --remove-group NAME, --remove-gpu IDX,\n"
    "  --remove-time-policy NAME      delete a policy\n"
    "  --config                       print guard.toml's path and contents (in guard,\n"
    "                                 --config takes no PATH)\n"
    "  --test-policies                evaluate now and print what would happen\n"
    "  --export-config                print the policies as JSON\n"
    "  --import-config FILE           replace them with FILE (JSON), validated whole\n"
    "\n"
    "GPUCTL_GUARD_NOW=YYYY-MM-DDTHH:MM sets the local time time policies are\n"
    "judged at (for testing policies).\n";

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

/* One entry per command; a command's branch adds its line here. */
static const struct {
    const char *command;
    const char *text;
} help_texts[] = {
    {"list", list_help},
    {"select", select_help},
    {"config", config_help},
    {"kill", kill_help},
    {"reset", reset_help},
    {"trace", trace_help},
    {"analyze", analyze_help},
    {"audit", audit_help},
    {"guard", guard_help},
    {"watch", watch_help},
    {"plot", plot_help},
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
