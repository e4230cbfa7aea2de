/* drm_fdinfo.h - parsing one DRM client's /proc/PID/fdinfo/FD.
 *
 * The keys are those of the kernel's Documentation/gpu/drm-usage-stats.rst
 * (drm-driver, drm-pdev, drm-client-id, drm-engine-<e>, drm-engine-capacity-<e>,
 * drm-cycles-<e>, drm-total-cycles-<e>, drm-maxfreq-<e>, and memory as
 * drm-{total,shared,resident,purgeable,active}-<region> or the older
 * drm-memory-<region>), plus the amdgpu format of kernels 5.14-5.18 (pdev,
 * pasid, "vram mem", gfx0/compute0 as percentages).  Pure functions on a
 * buffer: reading the files and choosing which to read is drm.c's.
 */
#ifndef GPUCTL_SOURCES_DRM_FDINFO_H
#define GPUCTL_SOURCES_DRM_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/model.h"

#define DRM_FDINFO_MAX_ENGINES 16
#define DRM_FDINFO_MAX_REGIONS 8
#define DRM_FDINFO_NAME_MAX 16     /* engine and region names, NUL included */

struct drm_fdinfo_engine {
    char name[DRM_FDINFO_NAME_MAX];
    struct opt_u64 busy_ns;        /* drm-engine-<e> */
    struct opt_u64 cycles;         /* drm-cycles-<e> */
    struct opt_u64 total_cycles;   /* drm-total-cycles-<e> */
    struct opt_u64 maxfreq_hz;     /* drm-maxfreq-<e> */
    struct opt_u64 capacity;       /* drm-engine-capacity-<e> */
    struct opt_f64 legacy_pct;     /* old amdgpu: gfx0: 12.5%, summed over instances */
};

struct drm_fdinfo_region {
    char name[DRM_FDINFO_NAME_MAX];
    struct opt_u64 total, shared, resident, purgeable, active;
    struct opt_u64 memory;         /* drm-memory-<region>, and old amdgpu "vram mem" */
};

struct drm_fdinfo {
    char driver[32];
    char pdev[32];                 /* as printed: "0000:04:00.0" */
    struct opt_u64 client_id;      /* drm-client-id; old amdgpu: pasid */
    bool legacy_amdgpu;            /* the 5.14-5.18 amdgpu format */
    size_t engine_count;
    struct drm_fdinfo_engine engines[DRM_FDINFO_MAX_ENGINES];
    size_t region_count;
    struct drm_fdinfo_region regions[DRM_FDINFO_MAX_REGIONS];
};

/* Parses buf[0..len), which need not be NUL-terminated.  Whitespace around
 * keys and values is trimmed; unknown and malformed lines are skipped, as is
 * a last line without its newline (a read cut short).  Engines and regions
 * beyond the maxima, or with longer names, are dropped.  Returns 0 when the
 * text names a DRM client (a client id, or old amdgpu's pdev and pasid), else
 * -ENOENT; *out is filled either way. */
int drm_fdinfo_parse(const char *buf, size_t len, struct drm_fdinfo *out);

/* A size as fdinfo prints it: "<n>", "<n> B", "<n> KiB", "<n> MiB",
 * "<n> GiB", or old amdgpu's "<n> kB" (1024).  Returns 0 and the bytes, or
 * -EINVAL (unknown unit, no digits, overflow). */
int drm_fdinfo_parse_size(const char *s, size_t len, uint64_t *bytes);

/* Region kinds: device-local memory (amdgpu vram, i915 local0, xe vram0), or
 * system memory the GPU maps (gtt, system0, cpu, stolen...). */
bool drm_fdinfo_region_is_vram(const char *name);

/* The region's in-use figure: resident when given, else drm-memory, else
 * total.  Unknown when none was printed. */
struct opt_u64 drm_fdinfo_region_used(const struct drm_fdinfo_region *r);

/* debugfs dri/<minor>/clients: a header line, then one line per open DRM
 * file, "%20s %5d ..." (command, tgid, ...).  Appends each tgid to pids
 * (room for cap; *count counts them all, even past cap).  Returns 0, or
 * -EINVAL for a line it cannot read or a tgid that is not positive (an
 * owner that exited, or one in a pid namespace we cannot see). */
int drm_fdinfo_parse_clients(const char *buf, size_t len, pid_t *pids, size_t cap,
                             size_t *count);

#endif
