/* simulated.h - a GPU source that makes GPUs up (`--simulate GPUSxPROCS`).
 *
 * It is how someone without a GPU tries the monitor, the server and the
 * dashboard, and how the coordinator is load-tested: GPUs named
 * "Simulated ...", vendor "simulated", values that move plausibly and
 * repeat for a given seed, and GPU processes attached to real local pids
 * where there are enough (the rest get pids above the kernel's PID_MAX_LIMIT,
 * which no process can have, so nothing real is ever mistaken for them).
 * Off unless asked for: while it is on, it is the only source started.
 */
#ifndef GPUCTL_SOURCES_SIMULATED_H
#define GPUCTL_SOURCES_SIMULATED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "sources/source.h"

#define SIMULATED_MAX_GPUS 64
#define SIMULATED_MAX_PROCS 65536

struct simulated_spec {
    unsigned gpus;      /* 1..SIMULATED_MAX_GPUS */
    unsigned procs;     /* 0..SIMULATED_MAX_PROCS, over all GPUs */
    uint64_t seed;
};

/* Parses "GPUSxPROCS" (e.g. "8x32"), optionally followed by ":SEED", from
 * text[0..len).  Returns 0 or -EINVAL with a message naming the value. */
int simulated_parse_spec(const char *text, size_t len, struct simulated_spec *out,
                         struct error *e);

/* Turns simulation on for this process (spec) or off (NULL).  Call it
 * before the first snapshot_ctx_open, from the front end's start-up: the
 * setting is process-wide because sources are started without arguments
 * (source.h), and it is read by snapshot_ctx_open only. */
void simulated_configure(const struct simulated_spec *spec);
bool simulated_enabled(void);

extern const struct source_ops simulated_source;

#endif
