/* reset_opts.c - the options of `gpuctl reset` (gpu-kill's form included:
 * `gpuctl --reset --gpu N` or `--reset --all --force`).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct reset_request, field)

static const struct options_spec specs[] = {
    {.name = "gpu", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 0, .max = 4095,
     .what = "a GPU index", .min_values = 1, .metavar = "IDX",
     .help = "these GPU indices (space or comma separated)", .offset = R(gpu)},
    {.name = "all", .type = OPTIONS_FLAG, .help = "every GPU", .offset = R(all)},
    {.name = "force", .type = OPTIONS_FLAG, .help = "end the processes on the GPUs first",
     .offset = R(force)},
    {.name = "timeout-secs", .type = OPTIONS_STRING, .metavar = "N",
     .config_key = "default_timeout_secs", .env = "GPUCTL_DEFAULT_TIMEOUT",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "wait for them this long before SIGKILL (default: default_timeout_secs, 5)",
     .offset = R(timeout)},
    {.name = "output", .aliases = "-o", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .config_key = "output_format", .env = "GPUCTL_OUTPUT_FORMAT",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "table (default) or json (docs/json/reset.md)", .offset = R(output)},
};

const struct options_command reset_options = {
    .name = "reset",
    .usage = "gpuctl reset (--gpu IDX... | --all) [--force] [--timeout-secs N]\n"
             "                    [--output table|json]",
    .about = "Reset GPUs.  A GPU with processes on it is not reset unless --force is\n"
             "given, which first ends them as `gpuctl kill --force` does.  NVIDIA GPUs\n"
             "are reset with `nvidia-smi --gpu-reset -i BUS_ID` (NVML has no reset\n"
             "call), which must be on PATH; AMD GPUs by reading amdgpu's debugfs\n"
             "file /sys/kernel/debug/dri/N/amdgpu_gpu_recover; other vendors are not\n"
             "supported yet.\n"
             "Needs root.\n"
             "With --output json the document of docs/json/reset.md is printed once\n"
             "the resets were tried, also when one failed; a refusal prints nothing.\n",
    .epilog = "Exit status: 0 reset; 1 a process did not end or the reset failed;\n"
              "2 no GPU source; 3 unknown index or GPU in use; 4 not root;\n"
              "5 no way to reset this GPU here.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
