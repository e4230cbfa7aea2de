/* select.h - choosing the GPUs a CUDA job should use (`gpuctl select`),
 * with the semantics of nvitop's nvisel written down in docs/select.md.
 *
 * One pure function over a snapshot: the candidates are the NVIDIA GPUs,
 * or the MIG devices of a GPU in MIG mode; each is checked against the
 * constraints (loosened by the tolerance), the survivors are ordered best
 * first and cut to the count limits.  When too few qualify the result says
 * why, naming the constraint that excluded the most devices by its
 * `gpuctl select` flag.  Taking snapshots, printing and waiting are the
 * CLI's business.
 */
#ifndef GPUCTL_OPS_SELECT_H
#define GPUCTL_OPS_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/model.h"
#include "core/snapshot.h"

#define SELECT_NO_MAX SIZE_MAX

struct select_constraints {
    size_t min_count;              /* fewer qualifying devices: not enough */
    size_t max_count;              /* at most this many chosen; SELECT_NO_MAX */
    bool min_free_set, min_total_set, max_gpu_util_set, max_mem_util_set;
    uint64_t min_free_bytes;
    uint64_t min_total_bytes;
    unsigned max_gpu_util_pct;     /* 0..100 */
    unsigned max_mem_util_pct;     /* 0..100 */
    unsigned tolerance_pct;        /* 0..100: thresholds loosened by this */
    /* Only devices named by CUDA_VISIBLE_DEVICES; a NULL value (variable
     * unset) names every device, as for CUDA. */
    bool inherit;
    const char *cuda_visible_devices;
    /* GPU memory of these users' processes counts as free (and not used). */
    const char *const *free_users;
    size_t free_user_count;
};

/* A candidate: a whole GPU, or one MIG device of a GPU in MIG mode. */
struct select_device {
    int device_index;              /* struct device.index of the GPU */
    int mig;                       /* index into that device's migs; -1: the whole GPU */
    int cuda_index;                /* the GPU's place among NVIDIA GPUs (PCI bus order) */
    char uuid[96];                 /* GPU- or MIG- UUID; "" when unknown */
    struct opt_u64 mem_free_bytes; /* after --account-as-free */
    struct opt_u64 mem_used_bytes; /* after --account-as-free */
    struct opt_u64 mem_total_bytes;
    struct opt_f64 util_gpu_pct;   /* unknown for MIG devices: NVML has none */
    struct opt_f64 util_mem_pct;
    unsigned relaxed;              /* constraints met only within the tolerance */
};

struct select_result {
    struct select_device *devices; /* owned: the selection, best first */
    size_t count;
    size_t qualified;              /* candidates that met every constraint */
    bool enough;                   /* count >= min_count */
    bool uuid_required;            /* a MIG device was chosen: print UUIDs */
    char reason[ERROR_MSG_MAX];    /* when !enough: why, for a person */
};

/* Chooses devices from s.  Returns 0 (enough or not: see out->enough) or
 * -ENOMEM.  s needs host processes with SNAPSHOT_HOST_USER when free_users
 * is given.  Free out with select_result_clear. */
int select_devices(const struct snapshot *s, const struct select_constraints *c,
                   struct select_result *out, struct error *e);
void select_result_clear(struct select_result *r);

#endif
