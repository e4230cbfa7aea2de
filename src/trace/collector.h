/* collector.h - the recorder's background thread: drains the scope ring and
 * the activity source (CUPTI), takes system samples, writes the three
 * NDJSON logs, flushes them at least every flush interval, and writes the
 * summary at the end.
 *
 * The activity source is a table of functions so the collector, and
 * everything it writes, runs and is tested without CUPTI; cupti.c provides
 * the real one.  All timestamps handed to the collector are CLOCK_MONOTONIC
 * nanoseconds (the source converts its own clock).
 */
#ifndef GPUCTL_TRACE_COLLECTOR_H
#define GPUCTL_TRACE_COLLECTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "trace/json.h"
#include "trace/log.h"
#include "trace/recorder.h"
#include "trace/system.h"

struct trace_kernel {
    const char *name;                  /* as the driver reports it (often mangled) */
    uint64_t start_ns, end_ns;
    uint32_t device, context, stream, correlation;
    int32_t grid[3], block[3];
    uint32_t registers;
    int32_t static_smem, dynamic_smem;
    uint32_t local_mem_per_thread;
};

struct trace_copy {                    /* memcpy and memset */
    const char *kind;                  /* memcpy: "HtoD", ...; memset: NULL */
    uint64_t bytes;
    uint32_t value;                    /* memset */
    uint64_t start_ns, end_ns;
    uint32_t device, context, stream, correlation;
};

struct trace_collector;

struct trace_activity_ops {
    /* Hands every completed activity record to trace_collector_kernel /
     * _copy; with flush, first asks the source to complete its buffers. */
    void (*poll)(void *ctx, struct trace_collector *c, bool flush);
    /* Records the source itself lost (CUPTI's dropped-record count). */
    uint64_t (*dropped)(void *ctx);
    /* malloc'd demangled name, or NULL when name is not mangled. */
    char *(*demangle)(void *ctx, const char *name);
    void *ctx;
};

/* What the header states about clocks: one reading of the monotonic and
 * the wall clock taken together, and how the activity source's timestamps
 * were put on the monotonic clock. */
struct trace_clock {
    uint64_t mono_ns, wall_ns;
    const char *activity_clock;        /* "monotonic", "offset" or "none" */
    int64_t activity_offset_ns;        /* added to each activity timestamp */
};

struct trace_collector_info {
    const struct trace_activity_ops *ops;   /* may be NULL: no activity source */
    struct trace_clock clock;
    const char *activity_status;            /* NULL: started; else why not */
    const char *version;                    /* gpuctl version string */
};

/* Opens the three logs under rt->cfg (falling back to "<prefix>-<pid>"
 * when "<prefix>" is taken), writes their headers and starts the system
 * sampler when configured.  The thread starts with trace_collector_start.
 * Owned by the caller: trace_collector_stop then trace_collector_free. */
int trace_collector_open(struct trace_collector **out, struct trace_rt *rt,
                         const struct trace_collector_info *info, struct error *e);
int trace_collector_start(struct trace_collector *c, struct error *e);
/* Stops the thread (if started), takes what is left (a final forced poll,
 * the ring), writes the summary to every log and closes them. */
int trace_collector_stop(struct trace_collector *c);
void trace_collector_free(struct trace_collector *c);

/* One step of the thread's loop, for tests and for the final drain:
 * poll (flushing the source when flush), drain the ring, sample when due,
 * flush the logs. */
void trace_collector_cycle(struct trace_collector *c, uint64_t now_ns, bool flush);

/* Called from ops->poll, on the collector thread. */
void trace_collector_kernel(struct trace_collector *c, const struct trace_kernel *k);
void trace_collector_copy(struct trace_collector *c, const struct trace_copy *m);

/* The prefix the logs were created with. */
const char *trace_collector_prefix(const struct trace_collector *c);

struct trace_counts {
    uint64_t kernels, memcpys, memsets, scopes, samples;
    uint64_t ring_drops, activity_drops, name_drops, depth_overflow, unattributed;
    uint64_t write_errors;
};
void trace_collector_counts(const struct trace_collector *c, struct trace_counts *out);

#endif
