/* help.c - the usage text of every command, shown by `gpuctl help CMD`,
 * `gpuctl CMD --help` and kept in step with docs/gpuctl.1.
 */
#include <stdio.h>
#include <string.h>

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
    "  run       run a job and report the exact memory peak of its process tree\n"
    "  compare   compare two `run --json` reports; exit 1 on a regression (CI)\n"
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
    "  --vendor NAME...        nvidia, amd, intel, apple or all\n"
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
    "A process filter implies --details.  Unknown values show as N/A (null in JSON).\n";

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
    "call), which must be on PATH; other vendors are not supported yet.\n"
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

const char *cli_command_help(const char *command)
{
    if (strcmp(command, "run") == 0)
        return run_help;
    if (strcmp(command, "compare") == 0)
        return compare_help;
    if (strcmp(command, "list") == 0)
        return list_help;
    if (strcmp(command, "select") == 0)
        return select_help;
    if (strcmp(command, "config") == 0)
        return config_help;
    if (strcmp(command, "kill") == 0)
        return kill_help;
    if (strcmp(command, "reset") == 0)
        return reset_help;
    if (strcmp(command, "help") == 0)
        return overview;
    return NULL;
}

void cli_print_overview(void)
{
    fputs(overview, stdout);
}
