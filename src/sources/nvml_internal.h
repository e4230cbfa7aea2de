/* nvml_internal.h - state shared by the files of the nvml source (nvml.c for
 * devices, nvml_procs.c for process lists).  Not for use outside it.
 */
#ifndef GPUCTL_SOURCES_NVML_INTERNAL_H
#define GPUCTL_SOURCES_NVML_INTERNAL_H

#include "sources/nvml.h"
#include "sources/nvml_abi.h"

#define NVML_MAX_MIG_SLOTS 64

struct nvml_device_state {
    nvmlDevice_t handle;
    unsigned long long util_last_seen_us;   /* newest process-utilisation sample seen */
};

struct nvml_state {
    void *lib;
    struct nvml_api api;
    unsigned count;
    struct nvml_device_state *devs;
    struct nvml_system_info sys;
};

const char *nvml_return_name(nvmlReturn_t rc);
bool nvml_is_lost(nvmlReturn_t rc);

/* Handles of the MIG devices of parent (empty slots skipped); at most cap. */
int nvml_mig_handles(const struct nvml_api *api, nvmlDevice_t parent, nvmlDevice_t *out,
                     size_t cap);

int nvml_processes(void *state, struct device *devices, size_t count,
                   struct gpu_process_list *out, struct error *e);

#endif
