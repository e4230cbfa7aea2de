/* trace_opts.c - the options of `gpuctl trace`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct trace_request, field)

static const struct options_spec specs[] = {
    {.name = "output", .short_name = "o", .type = OPTIONS_STRING, .metavar = "DIR",
     .env = "GPUCTL_TRACE_DIR", .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "directory for the logs (created; default .)", .offset = R(output)},
    {.name = "prefix", .type = OPTIONS_STRING, .metavar = "NAME", .env = "GPUCTL_TRACE_PREFIX",
     .flags = OPTIONS_ENV_DOCUMENTED, .help = "file name prefix (default gpuctl-trace)",
     .offset = R(prefix)},
    {.name = "system-interval", .type = OPTIONS_UINT, .min = 0, .max = 3600000,
     .what = "a number of milliseconds (0 to 3600000)", .metavar = "MS",
     .env = "GPUCTL_TRACE_SYSTEM_INTERVAL_MS", .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "system sample interval, 0 for none (default 100)", .offset = R(interval_ms)},
    {.name = "ring-mb", .type = OPTIONS_UINT, .min = 1, .max = 4096,
     .what = "a size in MiB (1 to 4096)", .metavar = "N", .env = "GPUCTL_TRACE_RING_MB",
     .flags = OPTIONS_ENV_DOCUMENTED, .help = "scope ring memory in MiB (default 16)",
     .offset = R(ring_mb)},
};

const struct options_command trace_options = {
    .name = "trace",
    .usage = "gpuctl trace [OPTIONS] -- CMD [ARGS...]",
    .about = "Run CMD under the kernel flight recorder (libgpuctl-trace.so, loaded by CUDA\n"
             "through CUDA_INJECTION64_PATH): every kernel, memcpy and memset with its\n"
             "launch geometry, the scopes and NVTX ranges they ran under, and system samples,\n"
             "written as DIR/PREFIX.{kernel,scope,system}.ndjson (docs/json/trace.md).\n"
             "Further CUDA processes of the job write PREFIX-PID.*.  Exits with the job's\n"
             "status (128+N for a signal); where the logs are and the drop counts go to "
             "stderr.\n",
    .epilog = "Environment read by the recorder: GPUCTL_TRACE_DIR, GPUCTL_TRACE_PREFIX,\n"
              "GPUCTL_TRACE_SYSTEM_INTERVAL_MS, GPUCTL_TRACE_RING_MB, GPUCTL_TRACE_ROTATE_MB,\n"
              "GPUCTL_TRACE_KINDS (kernel,memcpy,memset,scope,nvtx,system or all).\n"
              "GPUCTL_TRACE_LIBRARY overrides where gpuctl finds the library.\n",
    .stop_at_operand = true,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
