/* contention.h - "who is blocking whom, right now" over a view of the
 * cluster (docs/json/contention.md defines every figure).
 *
 * It reads only the summaries the registry made at ingest, from a view the
 * caller took (cluster_registry_view), so it never holds the registry's
 * lock and never delays a push.  The result borrows from the view: keep the
 * view until the result is freed.  src/doc/contention_doc.c turns it into
 * the JSON document.
 */
#ifndef GPUCTL_CLUSTER_CONTENTION_H
#define GPUCTL_CLUSTER_CONTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/registry.h"
#include "cluster/summary.h"
#include "core/error.h"

/* One GPU of one node, borrowed from the view. */
struct cluster_gpu_ref {
    const struct cluster_node_view *node;
    const struct cluster_summary *summary;
    const struct cluster_gpu_summary *gpu;
};

struct cluster_idle_gpu {
    struct cluster_gpu_ref at;
    double idle_for_s;
};

struct cluster_blocked_gpu {
    struct cluster_gpu_ref at;
    const struct cluster_holding *holder;     /* the one user holding it */
};

struct cluster_user_usage {
    char name[64];
    uint64_t gpu_mem_bytes;
    unsigned gpus;                  /* GPUs where they have a process */
    unsigned processes;
    double gpu_hours;               /* over their GPUs: the oldest process's run time */
    double fair_share_ratio;        /* gpus / the fair share */
    bool over_share;                /* ratio above fair_share_factor */
    size_t *nodes;                  /* indices into the view, ascending */
    size_t node_count, node_cap;
};

enum cluster_rec_kind {
    CLUSTER_REC_RELEASE_IDLE,       /* an idle-but-allocated GPU: end its processes */
    CLUSTER_REC_RELEASE_BLOCKED,    /* a blocked GPU: its holder should release it */
    CLUSTER_REC_REVIEW_USER,        /* a user above their fair share */
};

/* "release_idle_gpu", "release_blocked_gpu", "review_user". */
const char *cluster_rec_kind_name(enum cluster_rec_kind k);

struct cluster_recommendation {
    enum cluster_rec_kind kind;
    size_t ref;                     /* index into idle, blocked or users */
};

struct cluster_contention {
    const struct cluster_view *view;
    struct cluster_thresholds thresholds;
    double at;
    size_t nodes_counted;           /* online or stale, with a sample */
    size_t nodes_skipped;           /* offline, or nothing pushed yet */
    size_t gpus, gpus_in_use;       /* in use: some process holds memory there */
    uint64_t mem_total_bytes, mem_held_bytes;
    struct opt_f64 mean_util_pct;   /* over GPUs whose utilisation is known */
    struct cluster_user_usage *users;   /* by memory, descending, then name */
    size_t user_count;
    double fair_share_gpus;         /* gpus / users holding any */
    struct opt_f64 jain_index;      /* Jain's fairness index over users' GPU counts */
    size_t *top_by_memory, *top_by_gpu_hours, *top_by_gpus;   /* indices into users */
    size_t top_count;
    struct cluster_idle_gpu *idle;
    size_t idle_count;
    struct cluster_blocked_gpu *blocked;
    size_t blocked_count;
    struct cluster_recommendation *recs;
    size_t rec_count;
};

/* Analyses view at time now.  *out: free with cluster_contention_free.
 * Returns 0 or -ENOMEM with e filled. */
int cluster_contention_compute(const struct cluster_view *view,
                               const struct cluster_thresholds *t, double now,
                               struct cluster_contention **out, struct error *e);
void cluster_contention_free(struct cluster_contention *c);   /* accepts NULL */

/* The gpuctl command a recommendation proposes, written into buf:
 * "gpuctl kill --pid 10 11" (release) or "gpuctl list --details --user
 * alice" (review).  Returns buf (cut to size). */
const char *cluster_rec_command(const struct cluster_contention *c,
                                const struct cluster_recommendation *r, char *buf, size_t size);

#endif
