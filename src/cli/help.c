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

static const char config_help[] =
    "usage: gpuctl config show [--output table|json]\n"
    "\n"
    "Print each setting's effective value and where it came from: default,\n"
    "file, environment or flag.  Files: $XDG_CONFIG_HOME/gpuctl/config.toml\n"
    "(or --config PATH).  See docs/configuration.md.\n";

const char *cli_command_help(const char *command)
{
    if (strcmp(command, "list") == 0)
        return list_help;
    if (strcmp(command, "select") == 0)
        return select_help;
    if (strcmp(command, "config") == 0)
        return config_help;
    if (strcmp(command, "help") == 0)
        return overview;
    return NULL;
}

void cli_print_overview(void)
{
    fputs(overview, stdout);
}
