/* source.h - the interface every GPU source implements (ARCHITECTURE.md
 * decision 1) and the growable lists they append to.
 *
 * A source owns the devices of one vendor interface (NVML, DRM).  It never
 * assigns gpuctl's machine-wide device index or decides what is shown: the
 * snapshot module (src/core/snapshot.c) does that.  Adding a vendor is one
 * file implementing struct source_ops and one line in sources.c.
 */
#ifndef GPUCTL_SOURCES_SOURCE_H
#define GPUCTL_SOURCES_SOURCE_H

#include "core/error.h"
#include "core/model.h"

struct device_list {
    struct device *items;
    size_t count, cap;
};

struct gpu_process_list {
    struct gpu_process *items;
    size_t count, cap;
};

/* Appends a zeroed entry and returns it through *slot (NULL on ENOMEM). */
int device_list_push(struct device_list *l, struct device **slot);
void device_list_free(struct device_list *l);     /* frees each device's migs too */
int gpu_process_list_push(struct gpu_process_list *l, struct gpu_process **slot);
void gpu_process_list_free(struct gpu_process_list *l);

struct source_ops {
    const char *name;
    /* Loads and starts the source.  A machine without this vendor is a
     * failure with a message ("no NVIDIA driver was found"), not a crash.
     * On success *state is the source's own handle. */
    int (*init)(void **state, struct error *e);
    /* Appends every device with identity and static facts (name, uuid, bus
     * id, limits), and sets source_slot; the caller sets source_id and index. */
    int (*enumerate)(void *state, struct device_list *out, struct error *e);
    /* Fills the moving metrics of the given devices, all owned by this source.
     * A field that cannot be read becomes unknown; a device that fails as a
     * whole gets its status set.  Returns < 0 only when nothing could be read. */
    int (*refresh)(void *state, struct device *devices, size_t count, struct error *e);
    /* Appends the GPU processes on the given devices, with device_index
     * taken from each device's index.  A device whose list could not be read
     * (lost, or still changing after retries) gets its status set. */
    int (*processes)(void *state, struct device *devices, size_t count,
                     struct gpu_process_list *out, struct error *e);
    void (*shutdown)(void *state);
};

/* All sources, in the order their devices are numbered; NULL-terminated. */
extern const struct source_ops *const source_table[];

#endif
