/* nvml_internal.h - state shared by the files of the nvml source (nvml.c for
 * devices, nvml_procs.c for process lists).  Not for use outside it.
 */
#ifndef GPUCTL_SOURCES_NVML_INTERNAL_H
#define GPUCTL_SOURCES_NVML_INTERNAL_H

#include "sources/nvml.h"
#include "sources/nvml_abi.h"

#define NVML_MAX_MIG_SLOTS 64

/* One GPU's XID errors since the source started (nvml_events.c). */
struct nvml_xid {
    bool watched;                 /* registered for XID events */
    unsigned long long last;      /* the last XID; 0 while count is 0 */
    unsigned long long count;
    double last_time;             /* epoch seconds when it was received */
};

struct nvml_device_state {
    nvmlDevice_t handle;
    unsigned long long util_last_seen_us;   /* newest process-utilisation sample seen */
    struct nvml_xid xid;
};

struct nvml_state {
    void *lib;
    struct nvml_api api;
    unsigned count;
    struct nvml_device_state *devs;
    struct nvml_system_info sys;
    nvmlEventSet_t events;        /* XID events; NULL: the driver gives none */
};

const char *nvml_return_name(nvmlReturn_t rc);
bool nvml_is_lost(nvmlReturn_t rc);

/* Handles of the MIG devices of parent (empty slots skipped); at most cap. */
int nvml_mig_handles(const struct nvml_api *api, nvmlDevice_t parent, nvmlDevice_t *out,
                     size_t cap);

/* XID errors (nvml_events.c); all from the thread that calls the source.
 * watch: registers every GPU that supports XID events (s->devs filled);
 * devices it could not register keep their XID fields unknown.
 * collect: takes the queued events without waiting, stamping them with now
 * (epoch seconds); returns how many events it took.
 * fill: copies slot's tally into d (nothing when it is not watched).
 * unwatch: frees the event set; safe to call twice. */
void nvml_xid_watch(struct nvml_state *s);
int nvml_xid_collect(struct nvml_state *s, double now);
void nvml_xid_fill(const struct nvml_state *s, unsigned slot, struct device *d);
void nvml_xid_unwatch(struct nvml_state *s);

int nvml_processes(void *state, struct device *devices, size_t count,
                   struct gpu_process_list *out, struct error *e);

#endif
