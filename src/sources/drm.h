/* drm.h - the DRM source: AMD, Intel (i915, xe) and other GPUs the kernel's
 * DRM subsystem drives, read from sysfs/hwmon (devices) and from
 * /proc/PID/fdinfo (per-process usage).  No library, no subprocess.
 *
 * The sweep is public so bench/fdinfo can time it alone.
 */
#ifndef GPUCTL_SOURCES_DRM_H
#define GPUCTL_SOURCES_DRM_H

#include <stdbool.h>
#include <sys/types.h>

#include "sources/drm_sysfs.h"
#include "sources/source.h"

extern const struct source_ops drm_source;

/* One DRM client (an open DRM file description) of one process, with its
 * counters already in the model's terms. */
struct drm_client {
    pid_t pid;
    size_t slot;                   /* index of its card */
    struct opt_u64 id;             /* drm-client-id (old amdgpu: pasid) */
    unsigned type;                 /* enum gpu_process_type, from engine names */
    size_t engine_count;
    struct engine_counter engines[GPU_PROC_MAX_ENGINES];
    struct opt_u64 vram_bytes, sys_bytes;
    struct opt_f64 legacy_busy_pct, legacy_enc_pct, legacy_dec_pct;  /* old amdgpu */
};

struct drm_sweep {
    struct drm_client *items;      /* owned; free with drm_sweep_free */
    size_t count, cap;
    size_t fds_seen;               /* descriptors looked at */
    size_t drm_fds;                /* of which DRM (fdinfo opened) */
    bool from_debugfs;             /* only the pids debugfs listed were walked */
};

/* One pass over /proc/PID/fd (through the proc root): every descriptor whose
 * link target is under /dev/dri/ has its fdinfo read; clients on none of
 * cards are dropped, and a client seen through several descriptors, in one
 * process or several, is kept once (by its card and client id; the lowest
 * pid keeps it).  Processes that go away or cannot be read are skipped.
 * When debugfs lists every card's clients (dri/<minor>/clients under the
 * sys root: root only) with every owner alive, only those pids are walked;
 * otherwise every process is (docs/design.md, "DRM processes").
 * Returns 0 or -ENOMEM (message in e). */
int drm_sweep(const struct drm_card *cards, size_t card_count, struct drm_sweep *out,
              struct error *e);
void drm_sweep_free(struct drm_sweep *s);

#endif
