/* nvml_abi.c - resolving NVML entry points newest first.
 *
 * Drivers add versioned symbols (_v2, _v3) whose structs differ in size;
 * calling one with the wrong stride corrupts memory, so the generation found
 * decides the struct used.  Loading the library and calling it is nvml.c's job.
 */
#include "sources/nvml_abi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* First symbol of names[] that the library has, with its position. */
static void *lookup_first(nvml_lookup_fn lookup, void *ctx, const char *const *names,
                          int *which)
{
    for (int i = 0; names[i]; i++) {
        void *sym = lookup(ctx, names[i]);
        if (sym) {
            if (which)
                *which = i;
            return sym;
        }
    }
    return NULL;
}

#define FIRST(...) lookup_first(lookup, ctx, (const char *const[]){__VA_ARGS__, NULL}, NULL)

/* Casting void* to a function pointer is what dlsym's contract requires. */
#define BIND(field, ...) (*(void **)&api->field = FIRST(__VA_ARGS__))

static void resolve_process_lists(struct nvml_api *api, nvml_lookup_fn lookup, void *ctx)
{
    int gen = -1;
    void *compute = lookup_first(lookup, ctx, (const char *const[]){
        "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
        "nvmlDeviceGetComputeRunningProcesses", NULL}, &gen);
    if (!compute)
        return;
    static const char *const suffix[] = {"_v3", "_v2", ""};
    char name[96];
    api->process_api = (enum nvml_process_api)(3 - gen);
    *(void **)&api->compute_procs = compute;
    snprintf(name, sizeof name, "nvmlDeviceGetGraphicsRunningProcesses%s", suffix[gen]);
    *(void **)&api->graphics_procs = lookup(ctx, name);
    snprintf(name, sizeof name, "nvmlDeviceGetMPSComputeRunningProcesses%s", suffix[gen]);
    *(void **)&api->mps_procs = lookup(ctx, name);

    switch (api->process_api) {
    case NVML_PROCS_V1: api->process_stride = sizeof(nvml_process_info_v1); break;
    case NVML_PROCS_V2: api->process_stride = sizeof(nvml_process_info_v2); break;
    case NVML_PROCS_V3:
        /* A short-lived driver series wrote a 32-byte entry from _v3: it is
         * recognisable by having the confidential-computing memory query
         * but not yet the process detail list that replaced the field. */
        if (lookup(ctx, "nvmlDeviceGetConfComputeMemSizeInfo") &&
            !lookup(ctx, "nvmlDeviceGetRunningProcessDetailList"))
            api->process_stride = sizeof(nvml_process_info_v3_cc);
        else
            api->process_stride = sizeof(nvml_process_info_v2);
        break;
    }
}

static void resolve_versioned_structs(struct nvml_api *api, nvml_lookup_fn lookup, void *ctx)
{
    int which = -1;
    *(void **)&api->device_get_pci_info = lookup_first(lookup, ctx, (const char *const[]){
        "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo", NULL},
        &which);
    api->pci_version = api->device_get_pci_info ? 3 - which : 0;
    *(void **)&api->device_get_memory_info = lookup_first(lookup, ctx, (const char *const[]){
        "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetMemoryInfo", NULL}, &which);
    api->memory_version = api->device_get_memory_info ? 2 - which : 0;
}

static int resolve_required(struct nvml_api *api, nvml_lookup_fn lookup, void *ctx,
                            char *missing, size_t missing_size)
{
    BIND(init, "nvmlInit_v2", "nvmlInit");
    BIND(shutdown, "nvmlShutdown");
    BIND(device_get_count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    BIND(device_get_handle_by_index, "nvmlDeviceGetHandleByIndex_v2",
         "nvmlDeviceGetHandleByIndex");
    const char *absent = !api->init ? "nvmlInit"
                       : !api->shutdown ? "nvmlShutdown"
                       : !api->device_get_count ? "nvmlDeviceGetCount"
                       : !api->device_get_handle_by_index ? "nvmlDeviceGetHandleByIndex"
                       : NULL;
    if (!absent)
        return 0;
    if (missing && missing_size)
        snprintf(missing, missing_size, "%s", absent);
    return -ENOENT;
}

int nvml_abi_resolve(struct nvml_api *api, nvml_lookup_fn lookup, void *ctx, char *missing,
                     size_t missing_size)
{
    memset(api, 0, sizeof *api);
    int rc = resolve_required(api, lookup, ctx, missing, missing_size);
    if (rc < 0)
        return rc;
    BIND(error_string, "nvmlErrorString");
    BIND(system_get_driver_version, "nvmlSystemGetDriverVersion");
    BIND(system_get_nvml_version, "nvmlSystemGetNVMLVersion");
    BIND(system_get_cuda_driver_version, "nvmlSystemGetCudaDriverVersion_v2",
         "nvmlSystemGetCudaDriverVersion");
    BIND(device_get_name, "nvmlDeviceGetName");
    BIND(device_get_uuid, "nvmlDeviceGetUUID");
    BIND(device_get_utilization_rates, "nvmlDeviceGetUtilizationRates");
    BIND(device_get_encoder_utilization, "nvmlDeviceGetEncoderUtilization");
    BIND(device_get_decoder_utilization, "nvmlDeviceGetDecoderUtilization");
    BIND(device_get_temperature_v, "nvmlDeviceGetTemperatureV");
    BIND(device_get_temperature, "nvmlDeviceGetTemperature");
    BIND(device_get_temperature_threshold, "nvmlDeviceGetTemperatureThreshold");
    BIND(device_get_power_usage, "nvmlDeviceGetPowerUsage");
    BIND(device_get_enforced_power_limit, "nvmlDeviceGetEnforcedPowerLimit");
    BIND(device_get_power_management_limit, "nvmlDeviceGetPowerManagementLimit");
    BIND(device_get_num_fans, "nvmlDeviceGetNumFans");
    BIND(device_get_fan_speed_v2, "nvmlDeviceGetFanSpeed_v2");
    BIND(device_get_fan_speed, "nvmlDeviceGetFanSpeed");
    BIND(device_get_clock_info, "nvmlDeviceGetClockInfo");
    BIND(device_get_max_clock_info, "nvmlDeviceGetMaxClockInfo");
    BIND(device_get_curr_pcie_link_generation, "nvmlDeviceGetCurrPcieLinkGeneration");
    BIND(device_get_curr_pcie_link_width, "nvmlDeviceGetCurrPcieLinkWidth");
    BIND(device_get_max_pcie_link_generation, "nvmlDeviceGetMaxPcieLinkGeneration");
    BIND(device_get_max_pcie_link_width, "nvmlDeviceGetMaxPcieLinkWidth");
    BIND(device_get_pcie_throughput, "nvmlDeviceGetPcieThroughput");
    BIND(device_get_pcie_replay_counter, "nvmlDeviceGetPcieReplayCounter");
    BIND(device_get_total_ecc_errors, "nvmlDeviceGetTotalEccErrors");
    BIND(device_get_persistence_mode, "nvmlDeviceGetPersistenceMode");
    BIND(device_get_display_active, "nvmlDeviceGetDisplayActive");
    BIND(device_get_compute_mode, "nvmlDeviceGetComputeMode");
    BIND(device_get_performance_state, "nvmlDeviceGetPerformanceState");
    BIND(device_get_process_utilization, "nvmlDeviceGetProcessUtilization");
    BIND(device_get_mig_mode, "nvmlDeviceGetMigMode");
    BIND(device_get_max_mig_device_count, "nvmlDeviceGetMaxMigDeviceCount");
    BIND(device_get_mig_device_handle_by_index, "nvmlDeviceGetMigDeviceHandleByIndex");
    BIND(device_get_gpu_instance_id, "nvmlDeviceGetGpuInstanceId");
    BIND(device_get_compute_instance_id, "nvmlDeviceGetComputeInstanceId");
    BIND(event_set_create, "nvmlEventSetCreate");
    BIND(device_get_supported_event_types, "nvmlDeviceGetSupportedEventTypes");
    BIND(device_register_events, "nvmlDeviceRegisterEvents");
    BIND(event_set_wait, "nvmlEventSetWait_v2", "nvmlEventSetWait");
    BIND(event_set_free, "nvmlEventSetFree");
    resolve_versioned_structs(api, lookup, ctx);
    resolve_process_lists(api, lookup, ctx);
    return 0;
}
