/* contention_doc.h - the contention document of the cluster
 * (`GET /api/cluster/contention`), built from cluster/contention.h's
 * analysis.  Every key is defined in docs/json/contention.md.
 *
 * {
 *   "schema_version": 1,
 *   "generated_at": "2026-12-06T07:00:00Z",
 *   "thresholds": { "idle_util_pct": 5.0, "idle_min_memory_bytes": 1073741824, ... },
 *   "totals": { "nodes": 3, "nodes_counted": 3, "gpus": 24, "gpus_in_use": 9, ... },
 *   "blocked_gpus": [ { "node": "n2", "gpu": 1, "user": "bob", "pids": [912], ... } ],
 *   "idle_allocated_gpus": [ { "node": "n1", "gpu": 0, "idle_for_s": 2400.0, ... } ],
 *   "users": [ { "user": "alice", "gpu_memory_bytes": ..., "gpus": 4, "gpu_hours": 7.5, ... } ],
 *   "top_users": { "by_gpu_memory": [...], "by_gpu_hours": [...], "by_gpus": [...] },
 *   "fairness": { "fair_share_gpus": 12.0, "jain_index": 0.8, "over_share": ["alice"] },
 *   "recommendations": [ { "kind": "release_idle_gpu", "evidence": {...},
 *                          "run_on": ["host-a"], "command": "gpuctl kill --pid 4242" } ]
 * }
 */
#ifndef GPUCTL_DOC_CONTENTION_DOC_H
#define GPUCTL_DOC_CONTENTION_DOC_H

#include <jansson.h>

#include "cluster/contention.h"
#include "core/error.h"

#define DOC_CONTENTION_SCHEMA_VERSION 1

/* The document of c.  New reference (caller json_decrefs), or NULL with e
 * filled (-ENOMEM). */
json_t *doc_contention_build(const struct cluster_contention *c, struct error *e);

#endif
