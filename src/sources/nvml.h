/* nvml.h - the NVIDIA source: NVML loaded at run time with dlopen.
 *
 * Never includes NVIDIA's nvml.h nor links the library (ARCHITECTURE.md
 * decision 2); the ABI it uses is declared in nvml_abi.h.
 */
#ifndef GPUCTL_SOURCES_NVML_H
#define GPUCTL_SOURCES_NVML_H

#include "sources/source.h"

extern const struct source_ops nvml_source;

/* System-wide facts NVML gives (driver and CUDA versions); "" when unknown. */
struct nvml_system_info {
    char driver_version[80];
    char nvml_version[80];
    char cuda_version[16];   /* "12.4" */
};
void nvml_system_info(void *state, struct nvml_system_info *out);

#endif
