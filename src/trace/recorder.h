/* recorder.h - the flight recorder's shared state and its hot path:
 * configuration, scopes and launch attribution.
 *
 * What runs on application threads lives here and is bounded by the rules
 * of the hot path: no lock, no allocation, no system call.  A thread's scope
 * stack is thread-local; a closed scope becomes one fixed-size record in the
 * ring; the scope path at a kernel launch is stored, by correlation id, in
 * a direct-mapped table that the collector reads when CUPTI reports the
 * kernel.  Nothing here knows CUPTI: the CUPTI glue (cupti.c) calls
 * trace_attrib_launch from its launch callback and feeds the collector.
 */
#ifndef GPUCTL_TRACE_RECORDER_H
#define GPUCTL_TRACE_RECORDER_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "trace/intern.h"
#include "trace/ring.h"

#define TRACE_FORMAT_VERSION 1
#define TRACE_MAX_DEPTH 64
#define TRACE_ATTRIB_SLOTS (1u << 18)      /* outstanding launches remembered */
#define TRACE_NAME_SLOTS (1u << 14)
#define TRACE_NAME_ARENA (1u << 20)
#define TRACE_NODE_SLOTS (1u << 16)

enum trace_kind {
    TRACE_KIND_KERNEL = 1u << 0,
    TRACE_KIND_MEMCPY = 1u << 1,
    TRACE_KIND_MEMSET = 1u << 2,
    TRACE_KIND_SCOPE = 1u << 3,
    TRACE_KIND_NVTX = 1u << 4,
    TRACE_KIND_SYSTEM = 1u << 5,
    TRACE_KIND_ALL = 0x3fu,
};

struct trace_config {
    char dir[PATH_MAX];
    char prefix[128];
    unsigned system_interval_ms;   /* 0: no system samples */
    unsigned ring_mb;
    unsigned kinds;                /* enum trace_kind */
    unsigned flush_ms;
    uint64_t rotate_bytes;
};

/* Defaults, then GPUCTL_TRACE_DIR, _PREFIX, _SYSTEM_INTERVAL_MS, _RING_MB,
 * _KINDS, _ROTATE_MB from env (a getenv-like lookup, so tests need not touch
 * the process environment).  A bad value is an error naming the variable. */
int trace_config_load(struct trace_config *c, const char *(*env)(const char *name),
                      struct error *e);
/* Parses a comma-separated list of kind names ("kernel,scope", "all"). */
int trace_kinds_parse(const char *s, unsigned *out, struct error *e);

struct trace_rt {
    struct trace_config cfg;
    struct trace_ring ring;
    struct trace_intern names;     /* scope names */
    struct trace_intern nodes;     /* scope path nodes: (parent, name) */
    _Atomic uint64_t *attrib;      /* correlation id << 32 | node */
    _Atomic int running;           /* hot path records only while set */
    _Atomic uint32_t threads;      /* thread numbers handed out */
    _Atomic uint64_t depth_overflow;
};

/* Allocates everything the hot path will use (ring of cfg->ring_mb MiB,
 * dictionaries, attribution table).  Release with trace_rt_destroy. */
int trace_rt_init(struct trace_rt *rt, const struct trace_config *cfg, struct error *e);
void trace_rt_destroy(struct trace_rt *rt);
/* Bytes allocated for the hot path: ring, dictionaries, attribution. */
size_t trace_rt_memory(const struct trace_rt *rt);

static inline uint64_t trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* vDSO: no system call */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens a scope named name[0..len) on the calling thread at time now. */
void trace_scope_begin(struct trace_rt *rt, const char *name, size_t len, uint64_t now);
/* Closes the innermost scope of the calling thread and records it; a close
 * without an open scope is ignored. */
void trace_scope_end(struct trace_rt *rt, uint64_t now);
/* The calling thread's current scope path node (0: no scope open). */
uint32_t trace_scope_current(void);
/* Depth of the calling thread's scope stack, counting levels past the limit. */
unsigned trace_scope_depth(void);

/* Launch callback: the launching thread's scope path belongs to corr. */
void trace_attrib_launch(struct trace_rt *rt, uint32_t corr);
/* Collector: the node stored for corr, or -1 when it was never stored or
 * has been overwritten by a launch TRACE_ATTRIB_SLOTS later. */
int64_t trace_attrib_lookup(struct trace_rt *rt, uint32_t corr);

/* Names of the path of node, root first, into names[] (at most max);
 * returns the depth, or -1 for an unknown node.  Collector side. */
int trace_path(struct trace_rt *rt, uint32_t node, const char **names, size_t *lens,
               size_t max);

#endif
