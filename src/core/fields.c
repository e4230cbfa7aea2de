/* fields.c - the field table (fields.h): one entry per quantity gpuctl
 * reports, with its JSON key, unit, precision, help, Prometheus and DCGM
 * names.
 *
 * Callers: the document builders and decoder (src/doc), the exporter and
 * anything that lists metrics.  This file only describes; it reads values
 * generically (fields_get_f64) but neither encodes JSON nor formats tables.
 * Entries of a scope follow the snapshot document's key order.
 */
#include "core/fields.h"

#include <assert.h>
#include <string.h>

#include "core/model.h"

/* Reading the model's enums and pid_t through an int slot (FIELD_INT). */
static_assert(sizeof(enum vendor) == sizeof(int), "enum vendor is read as int");
static_assert(sizeof(enum container_kind) == sizeof(int), "enum container_kind is read as int");
static_assert(sizeof(pid_t) == sizeof(int), "pid_t is read as int");

#define MIB (1.0 / 1048576.0)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Names indexed by the model's values (tests compare them with model.c). */
static const char *const vendor_names[] = {"unknown", "nvidia", "amd", "intel", "apple",
                                           "other", "simulated"};
static const char *const compute_mode_names[] = {"default", "exclusive_thread", "prohibited",
                                                 "exclusive_process"};
static const char *const pstate_names[] = {"P0", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8",
                                           "P9", "P10", "P11", "P12", "P13", "P14", "P15"};
/* by enum gpu_process_type flags, as model_gpu_process_type_name names them */
static const char *const process_type_names[] = {"?", "C", "G", "C+G", "M", "C", "M+G", "C+G"};
/* CONTAINER_NONE has no name: the key is null */
static const char *const container_kind_names[] = {NULL, "docker", "containerd", "kubernetes",
                                                   "podman", "lxc", "systemd"};

#define AT(scope_, type_, member_, key_, kind_) \
    .key = (key_), .scope = (scope_), .kind = (kind_), .offset = offsetof(type_, member_), \
    .size = sizeof(((type_ *)0)->member_)
#define DEV(member_, key_, kind_) AT(FIELD_DEVICE, struct device, member_, key_, kind_)
#define MIG(member_, key_, kind_) AT(FIELD_MIG, struct mig_instance, member_, key_, kind_)
#define GP(member_, key_, kind_) AT(FIELD_GPU_PROCESS, struct gpu_process, member_, key_, kind_)
#define HP(member_, key_, kind_) AT(FIELD_HOST_PROCESS, struct host_process, member_, key_, kind_)
#define HOST(member_, key_, kind_) AT(FIELD_HOST, struct host_info, member_, key_, kind_)
#define NAMES(a) .json = FIELD_JSON_NAME, .names = (a), .name_count = COUNT(a)
#define PROM(name_, scale_) .prom_name = (name_), .prom_scale = (scale_)
#define DCGM(name_, scale_) .dcgm_name = (name_), .dcgm_scale = (scale_)
#define PCT(digits_) .unit = "percent", .precision = (digits_)

static const struct field_def table[] = {
    /* ---- devices: gpus[] ---- */
    {DEV(index, "gpu_index", FIELD_INT), .unit = "", .flags = FIELD_F_GPU_KILL,
     .help = "gpuctl's machine-wide GPU index."},
    {DEV(name, "name", FIELD_STR), .flags = FIELD_F_GPU_KILL, .help = "Marketing name."},
    {DEV(mem_used_bytes, "mem_used_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .flags = FIELD_F_GPU_KILL, .help = "Device memory in use.",
     PROM("gpuctl_memory_used_bytes", 1), DCGM("DCGM_FI_DEV_FB_USED", MIB)},
    {DEV(mem_total_bytes, "mem_total_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .flags = FIELD_F_GPU_KILL, .help = "Total device memory.",
     PROM("gpuctl_memory_total_bytes", 1), DCGM("DCGM_FI_DEV_FB_TOTAL", MIB)},
    {DEV(util_gpu_pct, "util_pct", FIELD_F64), PCT(2), .flags = FIELD_F_GPU_KILL,
     .help = "GPU utilisation: share of time a kernel was running.",
     PROM("gpuctl_utilization_ratio", 0.01), DCGM("DCGM_FI_DEV_GPU_UTIL", 1)},
    {DEV(temp_c, "temp_c", FIELD_I64), .unit = "celsius", .flags = FIELD_F_GPU_KILL,
     .help = "GPU temperature.",
     PROM("gpuctl_temperature_celsius", 1), DCGM("DCGM_FI_DEV_GPU_TEMP", 1)},
    {DEV(power_mw, "power_w", FIELD_U64), .json = FIELD_JSON_MILLI, .unit = "watts",
     .precision = 3, .flags = FIELD_F_GPU_KILL, .help = "Power draw.",
     PROM("gpuctl_power_watts", 0.001), DCGM("DCGM_FI_DEV_POWER_USAGE", 0.001)},
    {DEV(ecc_volatile_uncorrected, "ecc_volatile", FIELD_U64), .unit = "",
     .flags = FIELD_F_GPU_KILL | FIELD_F_COUNTER,
     .help = "Uncorrected ECC errors since the driver loaded.",
     PROM("gpuctl_ecc_volatile_uncorrected_errors_total", 1),
     DCGM("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", 1)},
    {DEV(vendor, "vendor", FIELD_INT), NAMES(vendor_names), .help = "GPU vendor."},
    {DEV(uuid, "uuid", FIELD_STR), .help = "Stable identifier (GPU-... for NVIDIA)."},
    {DEV(pci_bus_id, "pci_bus_id", FIELD_STR), .help = "PCI address, 4-digit domain."},
    {DEV(driver, "driver", FIELD_STR), .help = "Kernel driver."},
    {DEV(driver_version, "driver_version", FIELD_STR), .help = "Driver version."},
    {DEV(mem_free_bytes, "mem_free_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .help = "Device memory free.",
     PROM("gpuctl_memory_free_bytes", 1), DCGM("DCGM_FI_DEV_FB_FREE", MIB)},
    {DEV(mem_reserved_bytes, "mem_reserved_mb", FIELD_U64), .json = FIELD_JSON_MIB,
     .unit = "MiB", .help = "Device memory the driver reserves.",
     PROM("gpuctl_memory_reserved_bytes", 1), DCGM("DCGM_FI_DEV_FB_RESERVED", MIB)},
    {DEV(util_mem_pct, "mem_util_pct", FIELD_F64), PCT(2),
     .help = "Memory-controller utilisation: share of time memory was read or written.",
     PROM("gpuctl_memory_utilization_ratio", 0.01), DCGM("DCGM_FI_DEV_MEM_COPY_UTIL", 1)},
    {DEV(util_enc_pct, "enc_util_pct", FIELD_F64), PCT(2), .help = "Video encoder utilisation.",
     PROM("gpuctl_encoder_utilization_ratio", 0.01), DCGM("DCGM_FI_DEV_ENC_UTIL", 1)},
    {DEV(util_dec_pct, "dec_util_pct", FIELD_F64), PCT(2), .help = "Video decoder utilisation.",
     PROM("gpuctl_decoder_utilization_ratio", 0.01), DCGM("DCGM_FI_DEV_DEC_UTIL", 1)},
    {DEV(temp_slowdown_c, "temp_slowdown_c", FIELD_I64), .unit = "celsius",
     .help = "Temperature at which the GPU slows down.",
     PROM("gpuctl_temperature_slowdown_celsius", 1), DCGM("DCGM_FI_DEV_SLOWDOWN_TEMP", 1)},
    {DEV(temp_shutdown_c, "temp_shutdown_c", FIELD_I64), .unit = "celsius",
     .help = "Temperature at which the GPU shuts down.",
     PROM("gpuctl_temperature_shutdown_celsius", 1), DCGM("DCGM_FI_DEV_SHUTDOWN_TEMP", 1)},
    {DEV(power_limit_mw, "power_limit_w", FIELD_U64), .json = FIELD_JSON_MILLI,
     .unit = "watts", .precision = 3, .help = "Enforced power limit.",
     PROM("gpuctl_power_limit_watts", 0.001), DCGM("DCGM_FI_DEV_ENFORCED_POWER_LIMIT", 0.001)},
    {DEV(fan_pct, "fan_pct", FIELD_F64), PCT(2), .help = "Fan 0 speed, share of its maximum.",
     PROM("gpuctl_fan_speed_ratio", 0.01), DCGM("DCGM_FI_DEV_FAN_SPEED", 1)},
    {DEV(clock_graphics_mhz, "graphics_mhz", FIELD_U64), .group = "clocks", .unit = "MHz",
     .help = "Graphics clock.", PROM("gpuctl_clock_graphics_hertz", 1e6)},
    {DEV(clock_sm_mhz, "sm_mhz", FIELD_U64), .group = "clocks", .unit = "MHz",
     .help = "Streaming-multiprocessor clock.",
     PROM("gpuctl_clock_sm_hertz", 1e6), DCGM("DCGM_FI_DEV_SM_CLOCK", 1)},
    {DEV(clock_mem_mhz, "mem_mhz", FIELD_U64), .group = "clocks", .unit = "MHz",
     .help = "Memory clock.", PROM("gpuctl_clock_memory_hertz", 1e6),
     DCGM("DCGM_FI_DEV_MEM_CLOCK", 1)},
    {DEV(clock_graphics_max_mhz, "graphics_max_mhz", FIELD_U64), .group = "clocks",
     .unit = "MHz", .help = "Highest graphics clock.",
     PROM("gpuctl_clock_graphics_max_hertz", 1e6)},
    {DEV(clock_sm_max_mhz, "sm_max_mhz", FIELD_U64), .group = "clocks", .unit = "MHz",
     .help = "Highest streaming-multiprocessor clock.",
     PROM("gpuctl_clock_sm_max_hertz", 1e6), DCGM("DCGM_FI_DEV_MAX_SM_CLOCK", 1)},
    {DEV(clock_mem_max_mhz, "mem_max_mhz", FIELD_U64), .group = "clocks", .unit = "MHz",
     .help = "Highest memory clock.",
     PROM("gpuctl_clock_memory_max_hertz", 1e6), DCGM("DCGM_FI_DEV_MAX_MEM_CLOCK", 1)},
    {DEV(pcie_gen, "gen", FIELD_U64), .group = "pcie", .unit = "",
     .help = "Current PCIe link generation.",
     PROM("gpuctl_pcie_link_generation", 1), DCGM("DCGM_FI_DEV_PCIE_LINK_GEN", 1)},
    {DEV(pcie_width, "width", FIELD_U64), .group = "pcie", .unit = "lanes",
     .help = "Current PCIe link width.",
     PROM("gpuctl_pcie_link_width_lanes", 1), DCGM("DCGM_FI_DEV_PCIE_LINK_WIDTH", 1)},
    {DEV(pcie_gen_max, "gen_max", FIELD_U64), .group = "pcie", .unit = "",
     .help = "Highest PCIe link generation.",
     PROM("gpuctl_pcie_link_generation_max", 1), DCGM("DCGM_FI_DEV_PCIE_MAX_LINK_GEN", 1)},
    {DEV(pcie_width_max, "width_max", FIELD_U64), .group = "pcie", .unit = "lanes",
     .help = "Widest PCIe link.",
     PROM("gpuctl_pcie_link_width_max_lanes", 1), DCGM("DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH", 1)},
    {DEV(pcie_rx_kbps, "rx_kbps", FIELD_U64), .group = "pcie", .unit = "KiB/s",
     .help = "PCIe receive throughput, KiB/s as NVML reports it.",
     PROM("gpuctl_pcie_receive_bytes_per_second", 1024),
     DCGM("DCGM_FI_DEV_PCIE_RX_THROUGHPUT", 1)},
    {DEV(pcie_tx_kbps, "tx_kbps", FIELD_U64), .group = "pcie", .unit = "KiB/s",
     .help = "PCIe transmit throughput, KiB/s as NVML reports it.",
     PROM("gpuctl_pcie_transmit_bytes_per_second", 1024),
     DCGM("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", 1)},
    {DEV(ecc_volatile_corrected, "ecc_volatile_corrected", FIELD_U64), .unit = "",
     .flags = FIELD_F_COUNTER, .help = "Corrected ECC errors since the driver loaded.",
     PROM("gpuctl_ecc_volatile_corrected_errors_total", 1),
     DCGM("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", 1)},
    {DEV(persistence_mode, "persistence_mode", FIELD_BOOL),
     .help = "Whether the driver stays loaded without clients (1) or not (0).",
     PROM("gpuctl_persistence_mode", 1), DCGM("DCGM_FI_DEV_PERSISTENCE_MODE", 1)},
    {DEV(display_active, "display_active", FIELD_BOOL),
     .help = "Whether a display is initialised on the GPU (1) or not (0).",
     PROM("gpuctl_display_active", 1)},
    {DEV(compute_mode, "compute_mode", FIELD_I64), NAMES(compute_mode_names),
     .help = "Compute mode: 0 default, 1 exclusive thread, 2 prohibited, 3 exclusive process.",
     PROM("gpuctl_compute_mode", 1), DCGM("DCGM_FI_DEV_COMPUTE_MODE", 1)},
    {DEV(pstate, "pstate", FIELD_I64), NAMES(pstate_names),
     .help = "Performance state, 0 (P0, highest) to 15.",
     PROM("gpuctl_performance_state", 1)},
    {DEV(mig_mode, "mig_mode", FIELD_BOOL), .help = "Whether MIG mode is on (1) or off (0).",
     PROM("gpuctl_mig_mode", 1), DCGM("DCGM_FI_DEV_MIG_MODE", 1)},
    {DEV(mig_mode_pending, "mig_mode_pending", FIELD_BOOL),
     .help = "The MIG mode after the next GPU reset.", PROM("gpuctl_mig_mode_pending", 1)},
    {DEV(status, "status", FIELD_STR), .help = "Why the GPU is only partly known."},
    {DEV(gtt_used_bytes, "gtt_used_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .help = "System memory the GPU maps in use (amdgpu GTT).",
     PROM("gpuctl_gtt_used_bytes", 1)},
    {DEV(gtt_total_bytes, "gtt_total_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .help = "System memory the GPU can map (amdgpu GTT).", PROM("gpuctl_gtt_total_bytes", 1)},
    {DEV(temp_hotspot_c, "temp_hotspot_c", FIELD_I64), .unit = "celsius",
     .help = "Hottest spot of the GPU (amdgpu junction).",
     PROM("gpuctl_temperature_hotspot_celsius", 1)},
    {DEV(temp_mem_c, "temp_mem_c", FIELD_I64), .unit = "celsius",
     .help = "Memory temperature.",
     PROM("gpuctl_memory_temperature_celsius", 1), DCGM("DCGM_FI_DEV_MEMORY_TEMP", 1)},
    {DEV(fan_rpm, "fan_rpm", FIELD_U64), .unit = "rpm", .help = "Fan speed.",
     PROM("gpuctl_fan_speed_rpm", 1)},
    {DEV(xid_last, "xid_last", FIELD_U64), .unit = "",
     .help = "The last XID error the driver reported since gpuctl started; 0 while none has.",
     PROM("gpuctl_xid_last", 1), DCGM("DCGM_FI_DEV_XID_ERRORS", 1),
     .dcgm_value_label = "err_code"},
    {DEV(xid_count, "xid_count", FIELD_U64), .unit = "", .flags = FIELD_F_COUNTER,
     .help = "XID errors the driver reported since gpuctl started.",
     PROM("gpuctl_xid_errors_total", 1)},
    {DEV(xid_last_time, "xid_last_time", FIELD_F64), .json = FIELD_JSON_TIME,
     .unit = "seconds", .help = "When gpuctl received the last XID error.",
     PROM("gpuctl_xid_last_time_seconds", 1)},
    {DEV(energy_uj, "energy_uj", FIELD_U64), .unit = "microjoules",
     .flags = FIELD_F_NO_DOC | FIELD_F_COUNTER,
     .help = "Energy used since the driver loaded.",
     PROM("gpuctl_energy_joules_total", 1e-6),
     DCGM("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 0.001)},
    {DEV(pcie_replay_count, "pcie_replay_count", FIELD_U64), .unit = "",
     .flags = FIELD_F_NO_DOC | FIELD_F_COUNTER,
     .help = "PCIe replays (link-level retransmissions) since the driver loaded.",
     PROM("gpuctl_pcie_replays_total", 1), DCGM("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", 1)},

    /* ---- MIG instances: gpus[].mig_instances[] ---- */
    {MIG(gpu_instance_id, "gpu_instance_id", FIELD_UINT), .unit = "",
     .help = "MIG GPU instance id."},
    {MIG(compute_instance_id, "compute_instance_id", FIELD_UINT), .unit = "",
     .help = "MIG compute instance id."},
    {MIG(uuid, "uuid", FIELD_STR), .help = "MIG device UUID (MIG-...)."},
    {MIG(name, "name", FIELD_STR), .help = "MIG device name."},
    {MIG(mem_used_bytes, "mem_used_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .help = "MIG instance memory in use.",
     PROM("gpuctl_mig_memory_used_bytes", 1), DCGM("DCGM_FI_DEV_FB_USED", MIB)},
    {MIG(mem_total_bytes, "mem_total_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .help = "MIG instance memory.",
     PROM("gpuctl_mig_memory_total_bytes", 1), DCGM("DCGM_FI_DEV_FB_TOTAL", MIB)},
    {MIG(mem_free_bytes, "mem_free_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .flags = FIELD_F_NO_DOC, .help = "MIG instance memory free.",
     PROM("gpuctl_mig_memory_free_bytes", 1), DCGM("DCGM_FI_DEV_FB_FREE", MIB)},

    /* ---- processes: procs[], GPU side and host side interleaved ---- */
    {GP(device_index, "gpu_index", FIELD_INT), .unit = "", .flags = FIELD_F_GPU_KILL,
     .help = "Index of the GPU the process uses."},
    {GP(pid, "pid", FIELD_INT), .unit = "", .flags = FIELD_F_GPU_KILL,
     .help = "Host pid as the driver reports it."},
    {HP(user, "user", FIELD_STR), .flags = FIELD_F_GPU_KILL,
     .help = "Owner's name, or uid when it has none."},
    {HP(name, "proc_name", FIELD_STR), .flags = FIELD_F_GPU_KILL, .help = "Process name (comm)."},
    {GP(gpu_mem_bytes, "used_mem_mb", FIELD_U64), .json = FIELD_JSON_MIB, .unit = "MiB",
     .flags = FIELD_F_GPU_KILL, .help = "GPU memory the process uses, whole MiB."},
    {HP(start_time, "start_time", FIELD_F64), .json = FIELD_JSON_TIME, .unit = "seconds",
     .flags = FIELD_F_GPU_KILL, .help = "When the process started.",
     PROM("gpuctl_process_start_time_seconds", 1)},
    {GP(type, "type", FIELD_UINT), NAMES(process_type_names),
     .help = "Context kinds: C compute, G graphics, M MPS."},
    {GP(gpu_mem_bytes, "used_mem_bytes", FIELD_U64), .unit = "bytes",
     .help = "GPU memory the process uses.", PROM("gpuctl_process_memory_used_bytes", 1)},
    {GP(sm_pct, "sm_pct", FIELD_F64), PCT(2),
     .help = "The process's share of streaming-multiprocessor time.",
     PROM("gpuctl_process_sm_utilization_ratio", 0.01)},
    {GP(mem_bw_pct, "mem_bw_pct", FIELD_F64), PCT(2),
     .help = "The process's share of memory-controller time.",
     PROM("gpuctl_process_memory_utilization_ratio", 0.01)},
    {GP(enc_pct, "enc_pct", FIELD_F64), PCT(2),
     .help = "The process's share of video encoder time.",
     PROM("gpuctl_process_encoder_utilization_ratio", 0.01)},
    {GP(dec_pct, "dec_pct", FIELD_F64), PCT(2),
     .help = "The process's share of video decoder time.",
     PROM("gpuctl_process_decoder_utilization_ratio", 0.01)},
    {GP(gpu_instance_id, "gpu_instance_id", FIELD_U64), .unit = "",
     .help = "MIG GPU instance the process runs in."},
    {GP(compute_instance_id, "compute_instance_id", FIELD_U64), .unit = "",
     .help = "MIG compute instance the process runs in."},
    {HP(uid, "uid", FIELD_I64), .unit = "", .help = "Owner's user id."},
    {HP(ppid, "ppid", FIELD_I64), .unit = "", .help = "Parent pid."},
    {HP(cmdline, "cmdline", FIELD_STRPTR), .help = "Arguments joined by spaces."},
    {HP(state, "state", FIELD_CHAR), .help = "Scheduler state (R, S, D, Z, ...)."},
    {HP(elapsed_s, "elapsed_s", FIELD_F64), .unit = "seconds", .precision = 2,
     .help = "Time since the process started.",
     PROM("gpuctl_process_elapsed_seconds", 1)},
    {HP(cpu_pct, "cpu_pct", FIELD_F64), PCT(2),
     .help = "Lifetime average CPU use, as ps shows it (100 per busy core)."},
    {HP(rss_bytes, "host_rss_bytes", FIELD_U64), .unit = "bytes",
     .help = "Resident host memory.", PROM("gpuctl_process_resident_memory_bytes", 1)},
    {HP(mem_pct, "host_mem_pct", FIELD_F64), PCT(2),
     .help = "Resident host memory as a share of the host's.",
     PROM("gpuctl_process_host_memory_ratio", 0.01)},
    {HP(other_pidns, "other_pid_namespace", FIELD_BOOL),
     .help = "Whether it lives in a pid namespace other than gpuctl's."},
    {GP(gpu_sys_mem_bytes, "used_sys_mem_bytes", FIELD_U64), .unit = "bytes",
     .help = "System memory the process's GPU buffers use (DRM).",
     PROM("gpuctl_process_system_memory_used_bytes", 1)},
    {HP(container.kind, "container_kind", FIELD_INT), NAMES(container_kind_names),
     .flags = FIELD_F_CONTAINERS, .help = "Container runtime, or null outside containers."},
    {HP(container.id, "container_id", FIELD_STR), .flags = FIELD_F_CONTAINERS,
     .help = "Full container id, LXC name or systemd unit."},
    {HP(container.pod_uid, "pod_uid", FIELD_STR), .flags = FIELD_F_CONTAINERS,
     .help = "Kubernetes pod UID."},
    {HP(cpu_pct_interval, "cpu_interval_pct", FIELD_F64), PCT(2), .flags = FIELD_F_NO_DOC,
     .help = "CPU use since the previous sample (100 per busy core).",
     PROM("gpuctl_process_cpu_utilization_ratio", 0.01)},

    /* ---- the host ---- */
    {HOST(hostname, "host", FIELD_STR), .flags = FIELD_F_GPU_KILL, .help = "Host name."},
    {HOST(mem_total_bytes, "mem_total_bytes", FIELD_U64), .unit = "bytes",
     .flags = FIELD_F_NO_DOC, .help = "Host memory.",
     PROM("gpuctl_host_memory_total_bytes", 1)},
    {HOST(mem_available_bytes, "mem_available_bytes", FIELD_U64), .unit = "bytes",
     .flags = FIELD_F_NO_DOC, .help = "Host memory available for new work.",
     PROM("gpuctl_host_memory_available_bytes", 1)},
    {HOST(swap_total_bytes, "swap_total_bytes", FIELD_U64), .unit = "bytes",
     .flags = FIELD_F_NO_DOC, .help = "Swap space.", PROM("gpuctl_host_swap_total_bytes", 1)},
    {HOST(swap_free_bytes, "swap_free_bytes", FIELD_U64), .unit = "bytes",
     .flags = FIELD_F_NO_DOC, .help = "Swap space free.",
     PROM("gpuctl_host_swap_free_bytes", 1)},
    {HOST(uptime_s, "uptime_s", FIELD_F64), .unit = "seconds", .precision = 2,
     .flags = FIELD_F_NO_DOC, .help = "Time since boot.",
     PROM("gpuctl_host_uptime_seconds", 1)},
    {HOST(boot_time, "boot_time", FIELD_F64), .json = FIELD_JSON_TIME, .unit = "seconds",
     .flags = FIELD_F_NO_DOC, .help = "When the host booted.",
     PROM("gpuctl_host_boot_time_seconds", 1)},
    {HOST(load1, "load1", FIELD_F64), .unit = "", .precision = 2, .flags = FIELD_F_NO_DOC,
     .help = "Load average over 1 minute.", PROM("gpuctl_host_load1", 1)},
    {HOST(load5, "load5", FIELD_F64), .unit = "", .precision = 2, .flags = FIELD_F_NO_DOC,
     .help = "Load average over 5 minutes.", PROM("gpuctl_host_load5", 1)},
    {HOST(load15, "load15", FIELD_F64), .unit = "", .precision = 2, .flags = FIELD_F_NO_DOC,
     .help = "Load average over 15 minutes.", PROM("gpuctl_host_load15", 1)},
    {HOST(cpu_pct, "cpu_pct", FIELD_F64), PCT(2), .flags = FIELD_F_NO_DOC,
     .help = "Host CPU busy share since the previous sample.",
     PROM("gpuctl_host_cpu_utilization_ratio", 0.01)},
};

static_assert(COUNT(table) <= FIELDS_MAX, "FIELDS_MAX is the table's upper bound");

const struct field_def *fields_all(size_t *count)
{
    *count = COUNT(table);
    return table;
}

const struct field_def *fields_find(enum field_scope scope, const char *key)
{
    for (size_t i = 0; i < COUNT(table); i++)
        if (table[i].scope == scope && strcmp(table[i].key, key) == 0)
            return &table[i];
    return NULL;
}

const char *fields_scope_name(enum field_scope scope)
{
    switch (scope) {
    case FIELD_DEVICE: return "device";
    case FIELD_MIG: return "mig";
    case FIELD_GPU_PROCESS: return "gpu_process";
    case FIELD_HOST_PROCESS: return "host_process";
    case FIELD_HOST: return "host";
    }
    return "unknown";
}

void *fields_slot(const struct field_def *f, void *record)
{
    return (char *)record + f->offset;
}

const void *fields_cslot(const struct field_def *f, const void *record)
{
    return (const char *)record + f->offset;
}

bool fields_get_f64(const struct field_def *f, const void *record, double *out)
{
    const void *p = fields_cslot(f, record);
    switch (f->kind) {
    case FIELD_U64: {
        const struct opt_u64 *o = p;
        *out = (double)o->v;
        return o->known;
    }
    case FIELD_I64:
    case FIELD_BOOL: {
        const struct opt_i64 *o = p;
        *out = (double)o->v;
        return o->known;
    }
    case FIELD_F64: {
        const struct opt_f64 *o = p;
        *out = o->v;
        return o->known;
    }
    case FIELD_INT:
        *out = *(const int *)p;
        return true;
    case FIELD_UINT:
        *out = *(const unsigned *)p;
        return true;
    case FIELD_STR:
    case FIELD_STRPTR:
    case FIELD_CHAR:
        return false;
    }
    return false;
}
