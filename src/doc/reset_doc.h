/* reset_doc.h - the document of a GPU reset (`gpuctl reset`), for the
 * front ends that answer in JSON.
 *
 * {
 *   "force": true,                       // processes on the GPUs were ended first
 *   "processes": [ ... ],                // those processes, as in docs/json/kill.md; [] when none
 *   "gpus": [ { "gpu": 0, "name": "NVIDIA A100-SXM4-40GB", "pci_bus_id": "00000000:18:00.0",
 *               "uuid": "GPU-...", "command": "nvidia-smi --gpu-reset -i 00000000:18:00.0",
 *               "result": "reset",       // "reset", "failed", or "not_attempted"
 *               "output": "...",         // what the reset program wrote; null when nothing
 *               "error": null } ]        // why it failed (or was not attempted)
 * }
 */
#ifndef GPUCTL_DOC_RESET_DOC_H
#define GPUCTL_DOC_RESET_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/model.h"
#include "doc/kill_doc.h"
#include "ops/reset.h"

enum doc_reset_result {
    DOC_RESET_NOT_ATTEMPTED,
    DOC_RESET_DONE,
    DOC_RESET_FAILED,
};

struct doc_reset_gpu {
    const struct device *device;
    const struct reset_method *method;   /* NULL: none was found */
    enum doc_reset_result result;
    const char *output;                  /* the program's output; NULL: none */
    const char *error;                   /* why it failed or was not attempted; NULL: none */
};

struct doc_reset_request {
    const struct doc_reset_gpu *gpus;    /* in index order */
    size_t gpu_count;
    bool force;
    const struct doc_kill_request *ended;   /* processes ended first; NULL: none */
};

/* A new reference, or NULL with e filled (-ENOMEM). */
json_t *doc_reset_build(const struct doc_reset_request *r, struct error *e);

#endif
