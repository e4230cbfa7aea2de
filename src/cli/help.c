/* help.c - the overview of every command (`gpuctl --help`) and each
 * command's help, which is generated from its option table (cli/opts.h),
 * so `gpuctl help CMD`, `gpuctl CMD --help` and the man page's option
 * reference always list the same options.
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
    "  mcp       Model Context Protocol server for AI assistants (stdio, or --http)\n"
    "  serve     HTTP API, WebSocket feed and Prometheus metrics of this machine;\n"
    "            with --coordinator also the cluster's coordinator, with\n"
    "            --coordinator-url also a node of one\n"
    "  agent     a cluster node: register with a coordinator and push snapshots\n"
    "  config    show the effective configuration and where each value came from\n"
    "  help      show help for a command: gpuctl help COMMAND\n"
    "\n"
    "gpu-kill's form works too: gpuctl --list, --kill, --reset, --audit and\n"
    "--guard name the commands (gpuctl --list --details, gpuctl --kill --pid N).\n"
    "\n"
    "Options for every command (--config and --log-level also before it):\n"
    "  --config PATH       read this configuration file instead of the default\n"
    "  --log-level LEVEL   error, warn, info, debug or trace\n"
    "  --simulate GxP      made-up GPUs (G GPUs, P processes), e.g. 4x8\n"
    "  -h, --help          show help for the command\n"
    "  -V, --version       show version, git revision and build date\n"
    "\n"
    "Other machines over ssh (before the command; gpuctl help remote):\n"
    "  --remote HOSTS      run list, kill, reset, select, audit --summary/--rogue,\n"
    "                      guard --test-policies or config show on\n"
    "                      [user@]host[:port],...; top on one host\n"
    "  --hosts FILE        the same for the hosts listed in FILE\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 GPU library failure, 3 invalid arguments,\n"
    "4 permission denied, 5 unsupported operation.\n";

void cli_print_overview(void)
{
    fputs(overview, stdout);
}

int cli_write_command_help(const char *command, FILE *out)
{
    if (strcmp(command, "help") == 0) {
        fputs(overview, out);
        return 0;
    }
    const struct options_command *table = strcmp(command, "remote") == 0
                                              ? &remote_options : cli_option_table(command);
    if (!table)
        return -1;
    return options_write_help(table, out) < 0 ? -1 : 0;
}
