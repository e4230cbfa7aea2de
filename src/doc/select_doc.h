/* select_doc.h - the document of a GPU selection (`gpuctl select`'s
 * choice, for the front ends that answer in JSON).
 *
 * {
 *   "enough": true,                      // at least min_count devices qualified
 *   "reason": null,                      // why not, when not enough
 *   "qualified": 3,                      // candidates that met every constraint
 *   "format": "index",                   // "uuid" with --format uuid or a MIG device chosen
 *   "cuda_visible_devices": "0,2",       // the value for CUDA_VISIBLE_DEVICES; null when a
 *                                        // device of the selection has no known UUID to print
 *   "constraints": { "min_count": 1, "max_count": null, "min_free_memory_bytes": ...,
 *                    "min_total_memory_bytes": null, "max_gpu_utilization_pct": null,
 *                    "max_memory_utilization_pct": null, "tolerance_pct": 0,
 *                    "inherit": false, "account_as_free": ["alice"] },
 *   "devices": [ { "gpu": 0, "mig": null, "cuda_index": 0, "uuid": "GPU-...",
 *                  "memory_free_bytes": ..., "memory_used_bytes": ...,
 *                  "memory_total_bytes": ..., "utilization_gpu_pct": 12.0,
 *                  "utilization_memory_pct": 3.0, "relaxed": 0 } ]   // best first
 * }
 *
 * Unknown figures are null; "relaxed" counts the constraints met only
 * within the tolerance.
 */
#ifndef GPUCTL_DOC_SELECT_DOC_H
#define GPUCTL_DOC_SELECT_DOC_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "ops/select.h"

struct doc_select_request {
    const struct select_constraints *constraints;
    const struct select_result *result;
    bool uuid;                    /* the identifiers asked for are UUIDs (--format uuid) */
};

/* A new reference, or NULL with e filled (-ENOMEM). */
json_t *doc_select_build(const struct doc_select_request *r, struct error *e);

#endif
