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
 * A summary is built from a node's facts (struct cluster_node_facts): the
 * few figures per GPU and process it needs, which the coordinator's
 * one-pass decoder (doc/snapshot_ingest.h) reads straight from a pushed
 * document, and cluster_node_facts_from_snapshot takes from a snapshot.
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

/* What a node's snapshot says that the coordinator keeps. */
struct cluster_gpu_facts {
    int index;
    char uuid[96];                 /* "" unknown */
    char name[96];
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_used_bytes;
    struct opt_f64 util_pct;       /* the device's own figure */
    struct opt_u64 power_mw;
};

struct cluster_process_facts {
    int gpu_index;
    pid_t pid;
    struct opt_u64 gpu_mem_bytes;
    struct opt_f64 sm_pct;
};

/* The host facts of one pid (a process on several GPUs is listed once per
 * GPU; its first entry with host facts counts). */
struct cluster_host_facts {
    pid_t pid;
    char user[64];                 /* "" unknown */
    struct opt_i64 uid;
    struct opt_f64 elapsed_s;
};

struct cluster_node_facts {
    struct cluster_gpu_facts *gpus;
    size_t gpu_count, gpu_cap;
    struct cluster_process_facts *procs;
    size_t proc_count, proc_cap;
    struct cluster_host_facts *hosts;      /* by pid, each pid once (after _finish) */
    size_t host_count, host_cap;
};

/* Each grows its array by one entry and returns it zeroed; NULL when out
 * of memory. */
struct cluster_gpu_facts *cluster_node_facts_add_gpu(struct cluster_node_facts *f);
struct cluster_process_facts *cluster_node_facts_add_process(struct cluster_node_facts *f);
struct cluster_host_facts *cluster_node_facts_add_host(struct cluster_node_facts *f);

/* Sorts the host facts by pid and keeps the first of each pid (stable: in
 * the order they were added).  Call once, after the last add. */
void cluster_node_facts_finish(struct cluster_node_facts *f);

/* The facts of snapshot s.  Returns 0 or -ENOMEM with e filled; clear with
 * cluster_node_facts_clear either way. */
int cluster_node_facts_from_snapshot(struct cluster_node_facts *out, const struct snapshot *s,
                                     struct error *e);
void cluster_node_facts_clear(struct cluster_node_facts *f);   /* accepts NULL */

/* One user's processes on one GPU. */
struct cluster_holding {
    unsigned user;                 /* index into cluster_summary.users */
    uint64_t mem_bytes;            /* their GPU memory (known values summed) */
    double held_s;                 /* the oldest of them has run this long (0: unknown) */
    size_t pid_start, pid_count;   /* into cluster_summary.pids, ascending */
};

struct cluster_gpu_summary {
    int index;
    char uuid[96];                 /* "" unknown */
    char name[96];
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_used_bytes;
    struct opt_f64 util_pct;       /* the device's, else its processes' SM summed */
    struct opt_u64 power_mw;       /* the device's draw (the WebSocket deltas show it) */
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
    bool packed;                           /* the arrays live in memory it does not own */
};

/* Whether held memory and utilisation say "allocated but idle" now. */
bool cluster_gpu_idle_allocated(uint64_t held_bytes, struct opt_f64 util_pct,
                                const struct cluster_thresholds *t);

/* Condenses a node's facts (finished: cluster_node_facts_finish).
 * idle_since is carried over from prev (the node's previous summary, or
 * NULL) for GPUs (by UUID, else index) that were idle-allocated there and
 * still are; a GPU that just became so gets `now`.  Returns 0, -ERROR_PARSE
 * when two GPUs share an index, or -ENOMEM, with e filled; clear with
 * cluster_summary_clear either way. */
int cluster_summary_build_facts(struct cluster_summary *out, const struct cluster_node_facts *f,
                                const struct cluster_summary *prev, double now,
                                const struct cluster_thresholds *t, struct error *e);

/* The same from a snapshot (its facts, then the above). */
int cluster_summary_build(struct cluster_summary *out, const struct snapshot *s,
                          const struct cluster_summary *prev, double now,
                          const struct cluster_thresholds *t, struct error *e);
void cluster_summary_clear(struct cluster_summary *sum);   /* accepts NULL */

/* Packing: the registry keeps each node's summary, and its document, in one
 * allocation of exactly the size they need (10,000 nodes' worth of small
 * arrays and their slack would otherwise be most of the coordinator's
 * memory).  cluster_summary_packed_size is what src's arrays take, a
 * multiple of 8; cluster_summary_pack copies them into mem (8-aligned, that
 * many bytes) and points dst there (dst->packed: clearing it frees
 * nothing). */
size_t cluster_summary_packed_size(const struct cluster_summary *src);
void cluster_summary_pack(struct cluster_summary *dst, const struct cluster_summary *src,
                          void *mem);

#endif
