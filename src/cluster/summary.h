/* summary.h - what the contention analysis needs of one node's snapshot,
 * boiled down once when the snapshot arrives.
 *
 * The coordinator may hold 10,000 nodes of 8 GPUs and 32 processes each;
 * walking 2.5 million processes and looking each owner up for every
 * contention request would not fit its budget.  So the ingest thread that
 * accepted a push condenses it here: per GPU, its memory, utilisation and
 * the holdings of each user on it (memory, processes, pids, how long held).
 * The analysis (cluster/contention.c) then reads a few records per GPU.
 *
 * Also home of the two predicates the registry and the analysis share, so
 * "idle" and "allocated" mean the same thing in both.
 */
#ifndef GPUCTL_CLUSTER_SUMMARY_H
#define GPUCTL_CLUSTER_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"
#include "core/snapshot.h"

/* The thresholds of the contention analysis (config.toml's [cluster]
 * keys; docs/json/contention.md says how each is used). */
struct cluster_thresholds {
    double idle_util_pct;          /* SM "≈ 0": utilisation at or below this */
    uint64_t idle_min_mem_bytes;   /* "memory held": processes hold at least this */
    double idle_s;                 /* idle-but-allocated once idle this long */
    double low_util_pct;           /* blocked: utilisation below this ... */
    double hold_s;                 /* ... while one user has held the GPU this long */
    double fair_share_factor;      /* a user above this many fair shares is over */
    unsigned top_users;            /* entries in each top-users list */
};

/* The defaults of config.toml (docs/configuration.md). */
void cluster_thresholds_defaults(struct cluster_thresholds *t);

/* One user's processes on one GPU. */
struct cluster_holding {
    unsigned user;                 /* index into cluster_summary.users */
    uint64_t mem_bytes;            /* their GPU memory (known values summed) */
    double held_s;                 /* the oldest of them has run this long (0: unknown) */
    size_t pid_start, pid_count;   /* into cluster_summary.pids, ascending */
};

struct cluster_gpu_summary {
    int index;
    const char *uuid;              /* point into the snapshot summarised ("" unknown), */
    const char *name;              /* which must outlive the summary (a sample holds both) */
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_used_bytes;
    struct opt_f64 util_pct;       /* the device's, else its processes' SM summed */
    uint64_t held_bytes;           /* all processes' GPU memory */
    bool idle_allocated_now;       /* cluster_gpu_idle_allocated() of this sample */
    double idle_since;             /* wall seconds it has been so since; 0: it is not */
    size_t holding_start, holding_count;   /* into cluster_summary.holdings */
};

struct cluster_summary {
    struct cluster_gpu_summary *gpus;
    size_t gpu_count;
    struct cluster_holding *holdings;      /* by GPU, then user index */
    size_t holding_count;
    char (*users)[64];                     /* distinct owners, in order of appearance */
    size_t user_count;
    pid_t *pids;
    size_t pid_count;
};

/* The owner's name of a process: its user name, else its numeric uid, else
 * "unknown".  Writes into buf (64 bytes) and returns it. */
const char *cluster_process_user(const struct snapshot *s, pid_t pid, char buf[64]);

/* Whether held memory and utilisation say "allocated but idle" now. */
bool cluster_gpu_idle_allocated(uint64_t held_bytes, struct opt_f64 util_pct,
                                const struct cluster_thresholds *t);

/* Condenses s.  idle_since is carried over from prev (the node's previous
 * summary, or NULL) for GPUs (by UUID, else index) that were idle-allocated
 * there and still are; a GPU that just became so gets `now`.  Returns 0 or
 * -ENOMEM with e filled; clear with cluster_summary_clear either way.  The
 * summary points into s (GPU names and UUIDs): s must outlive it. */
int cluster_summary_build(struct cluster_summary *out, const struct snapshot *s,
                          const struct cluster_summary *prev, double now,
                          const struct cluster_thresholds *t, struct error *e);
void cluster_summary_clear(struct cluster_summary *sum);   /* accepts NULL */

#endif
