/* snapshot.h - devices, GPU processes and host processes taken at one
 * instant (ARCHITECTURE.md decision 4).
 *
 * A snapshot is a value: once taken it never changes and owns all its
 * memory.  A snapshot_ctx holds the started sources between snapshots so a
 * monitor does not reload NVML every second.  Rates (CPU %, watts from
 * energy counters) are the sampler's business, comparing two snapshots.
 */
#ifndef GPUCTL_CORE_SNAPSHOT_H
#define GPUCTL_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/error.h"
#include "core/model.h"

#define SNAPSHOT_MAX_SOURCES 8

struct snapshot {
    struct timespec mono;           /* CLOCK_MONOTONIC */
    struct timespec wall;           /* CLOCK_REALTIME */
    struct host_info host;
    char driver_version[80];        /* NVIDIA driver; "" when none */
    char cuda_version[16];
    char nvml_version[80];

    struct device *devices;         /* ordered by index */
    size_t device_count;
    struct gpu_process *gprocs;     /* ordered by device index, then pid */
    size_t gproc_count;
    struct host_process *hprocs;    /* one per distinct GPU pid, ordered by pid */
    size_t hproc_count;

    struct source_status sources[SNAPSHOT_MAX_SOURCES];
    size_t source_count;
};

struct snapshot_ctx;

/* Starts every source in source_table.  Succeeds when at least one started;
 * otherwise returns -ERROR_GPU_LIBRARY with each source's reason.  Free
 * with snapshot_ctx_close. */
int snapshot_ctx_open(struct snapshot_ctx **out, struct error *e);
void snapshot_ctx_close(struct snapshot_ctx *ctx);

/* Status of each source (started or why not), in source_table order. */
size_t snapshot_ctx_sources(const struct snapshot_ctx *ctx, const struct source_status **out);

/* Host facts beyond /proc/PID/stat (name, state, times, memory), which is
 * always read; asking only for what will be shown keeps one-shot commands
 * cheap.  Facts not asked for stay unknown. */
enum snapshot_host_fields {
    SNAPSHOT_HOST_USER = 1u << 0,
    SNAPSHOT_HOST_CMDLINE = 1u << 1,
    SNAPSHOT_HOST_CONTAINER = 1u << 2,
    SNAPSHOT_HOST_PIDNS = 1u << 3,
    SNAPSHOT_HOST_ALL = 0xfu,
};

struct snapshot_options {
    bool processes;        /* list GPU processes */
    bool host_processes;   /* read /proc for each GPU process's pid */
    unsigned host_fields;  /* enum snapshot_host_fields; 0: stat only */
    bool host_cpu;         /* read the host CPU counters (/proc/stat) */
};

/* Takes one snapshot.  Caller frees with snapshot_free. */
int snapshot_take(struct snapshot_ctx *ctx, const struct snapshot_options *opts,
                  struct snapshot **out, struct error *e);
void snapshot_free(struct snapshot *s);

/* Host facts for pid, or NULL when it was not read. */
const struct host_process *snapshot_host_process(const struct snapshot *s, pid_t pid);
const struct device *snapshot_device(const struct snapshot *s, int index);

#endif
