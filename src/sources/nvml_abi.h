/* nvml_abi.h - the part of NVIDIA's NVML C ABI that gpuctl uses, declared
 * here from NVIDIA's documentation (ARCHITECTURE.md decision 2: nvml.h is
 * never included), plus the table of resolved entry points.
 *
 * Internal to the nvml source; exposed as a header only so the unit tests
 * can drive symbol resolution with a lookup of their own.
 */
#ifndef GPUCTL_SOURCES_NVML_ABI_H
#define GPUCTL_SOURCES_NVML_ABI_H

#include <stddef.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_opaque *nvmlDevice_t;
typedef struct nvmlEventSet_opaque *nvmlEventSet_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_UNKNOWN = 999,
};

#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)
#define NVML_NO_INSTANCE_ID 0xFFFFFFFFu
#define NVML_STRUCT_VERSION(size, ver) ((unsigned)(size) | ((unsigned)(ver) << 24))

enum { NVML_CLOCK_GRAPHICS = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 };
enum { NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1 };
enum { NVML_MEMORY_ERROR_CORRECTED = 0, NVML_MEMORY_ERROR_UNCORRECTED = 1 };
enum { NVML_VOLATILE_ECC = 0 };
enum { NVML_TEMPERATURE_GPU = 0 };
enum { NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1 };
enum { NVML_PSTATE_UNKNOWN = 32 };

typedef struct {
    unsigned long long total, free, used;
} nvml_memory_v1;

typedef struct {
    unsigned version;
    unsigned long long total, reserved, free, used;
} nvml_memory_v2;

typedef struct {
    unsigned version;
    int sensor_type;
    int temperature;
} nvml_temperature_v1;

typedef struct {
    unsigned gpu, memory;
} nvml_utilization;

/* nvmlDeviceGetPciInfo (plain): the bus id is the first field. */
typedef struct {
    char bus_id[16];
    unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
    unsigned reserved[4];
} nvml_pci_info_v1;

/* _v2 and _v3: a legacy 16-byte id first, the full 32-byte id last. */
typedef struct {
    char bus_id_legacy[16];
    unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
    char bus_id[32];
} nvml_pci_info_v3;

/* Process list entries; the stride passed to the driver depends on which
 * entry point was resolved (see nvml_api.process_stride). */
typedef struct {
    unsigned pid;
    unsigned long long used_gpu_memory;
} nvml_process_info_v1;

typedef struct {
    unsigned pid;
    unsigned long long used_gpu_memory;
    unsigned gpu_instance_id;
    unsigned compute_instance_id;
} nvml_process_info_v2;

typedef struct {
    unsigned pid;
    unsigned long long used_gpu_memory;
    unsigned gpu_instance_id;
    unsigned compute_instance_id;
    unsigned long long used_gpu_cc_protected_memory;
} nvml_process_info_v3_cc;

typedef struct {
    unsigned pid;
    unsigned long long timestamp_us;
    unsigned sm_util, mem_util, enc_util, dec_util;
} nvml_process_utilization_sample;

/* Event types (a bit mask) and what nvmlEventSetWait_v2 fills in; the
 * plain nvmlEventSetWait of older drivers writes only the first three
 * members, so one buffer of this size serves both. */
#define NVML_EVENT_TYPE_XID_CRITICAL_ERROR 0x0000000000000008ULL

typedef struct {
    nvmlDevice_t device;
    unsigned long long event_type;
    unsigned long long event_data;    /* the XID for an XID critical error */
    unsigned gpu_instance_id;         /* MIG: the instance it is attributed to */
    unsigned compute_instance_id;
} nvml_event_data;

typedef nvmlReturn_t (*nvml_process_list_fn)(nvmlDevice_t, unsigned *, void *);

/* Which of the process-list generations was resolved. */
enum nvml_process_api { NVML_PROCS_V1 = 1, NVML_PROCS_V2 = 2, NVML_PROCS_V3 = 3 };

struct nvml_api {
    /* required */
    nvmlReturn_t (*init)(void);
    nvmlReturn_t (*shutdown)(void);
    nvmlReturn_t (*device_get_count)(unsigned *);
    nvmlReturn_t (*device_get_handle_by_index)(unsigned, nvmlDevice_t *);
    /* optional: NULL turns the fields they give into "unknown" */
    const char *(*error_string)(nvmlReturn_t);
    nvmlReturn_t (*system_get_driver_version)(char *, unsigned);
    nvmlReturn_t (*system_get_nvml_version)(char *, unsigned);
    nvmlReturn_t (*system_get_cuda_driver_version)(int *);
    nvmlReturn_t (*device_get_name)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*device_get_uuid)(nvmlDevice_t, char *, unsigned);
    nvmlReturn_t (*device_get_pci_info)(nvmlDevice_t, void *);
    int pci_version;                  /* 1: nvml_pci_info_v1, 2/3: nvml_pci_info_v3 */
    nvmlReturn_t (*device_get_memory_info)(nvmlDevice_t, void *);
    int memory_version;               /* 1 or 2 */
    nvmlReturn_t (*device_get_utilization_rates)(nvmlDevice_t, nvml_utilization *);
    nvmlReturn_t (*device_get_encoder_utilization)(nvmlDevice_t, unsigned *, unsigned *);
    nvmlReturn_t (*device_get_decoder_utilization)(nvmlDevice_t, unsigned *, unsigned *);
    nvmlReturn_t (*device_get_temperature_v)(nvmlDevice_t, nvml_temperature_v1 *);
    nvmlReturn_t (*device_get_temperature)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*device_get_temperature_threshold)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*device_get_power_usage)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_enforced_power_limit)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_power_management_limit)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_num_fans)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_fan_speed_v2)(nvmlDevice_t, unsigned, unsigned *);
    nvmlReturn_t (*device_get_fan_speed)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_clock_info)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*device_get_max_clock_info)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*device_get_curr_pcie_link_generation)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_curr_pcie_link_width)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_max_pcie_link_generation)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_max_pcie_link_width)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_pcie_throughput)(nvmlDevice_t, int, unsigned *);
    nvmlReturn_t (*device_get_pcie_replay_counter)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_total_ecc_errors)(nvmlDevice_t, int, int, unsigned long long *);
    nvmlReturn_t (*device_get_persistence_mode)(nvmlDevice_t, int *);
    nvmlReturn_t (*device_get_display_active)(nvmlDevice_t, int *);
    nvmlReturn_t (*device_get_compute_mode)(nvmlDevice_t, int *);
    nvmlReturn_t (*device_get_performance_state)(nvmlDevice_t, int *);
    nvmlReturn_t (*device_get_process_utilization)(nvmlDevice_t, nvml_process_utilization_sample *,
                                                   unsigned *, unsigned long long);
    nvmlReturn_t (*device_get_mig_mode)(nvmlDevice_t, unsigned *, unsigned *);
    nvmlReturn_t (*device_get_max_mig_device_count)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_mig_device_handle_by_index)(nvmlDevice_t, unsigned, nvmlDevice_t *);
    nvmlReturn_t (*device_get_gpu_instance_id)(nvmlDevice_t, unsigned *);
    nvmlReturn_t (*device_get_compute_instance_id)(nvmlDevice_t, unsigned *);
    /* the event API (XID errors): all four or none is used */
    nvmlReturn_t (*event_set_create)(nvmlEventSet_t *);
    nvmlReturn_t (*device_get_supported_event_types)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*device_register_events)(nvmlDevice_t, unsigned long long, nvmlEventSet_t);
    nvmlReturn_t (*event_set_wait)(nvmlEventSet_t, nvml_event_data *, unsigned);
    nvmlReturn_t (*event_set_free)(nvmlEventSet_t);

    nvml_process_list_fn compute_procs, graphics_procs, mps_procs;
    enum nvml_process_api process_api;
    size_t process_stride;            /* bytes per entry for the resolved generation */
};

/* Looks a symbol up by name; NULL when absent.  dlsym in production. */
typedef void *(*nvml_lookup_fn)(void *ctx, const char *symbol);

/* Fills api newest-first (_v3 -> _v2 -> plain, TemperatureV -> Temperature,
 * ...).  Returns -ENOENT naming the first required symbol that is missing. */
int nvml_abi_resolve(struct nvml_api *api, nvml_lookup_fn lookup, void *ctx,
                     char *missing, size_t missing_size);

#endif
