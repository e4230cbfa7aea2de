/* model.h - the data gpuctl talks about: devices, GPU processes, host
 * processes and the snapshot that holds them at one instant.
 *
 * Plain data with no behaviour beyond freeing, so that the sources below
 * core can fill these records directly (see docs/design.md, "Layers").
 * Every metric carries its own known/unknown state (ARCHITECTURE.md
 * decision 3): a field a driver cannot give is unknown, never zero.
 * Strings are fixed buffers; an empty string means unknown.
 */
#ifndef GPUCTL_CORE_MODEL_H
#define GPUCTL_CORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct opt_u64 { uint64_t v; bool known; };
struct opt_i64 { int64_t v; bool known; };
struct opt_f64 { double v; bool known; };

#define OPT_SET(opt, value) ((opt).v = (value), (opt).known = true)

enum vendor {
    VENDOR_UNKNOWN = 0,
    VENDOR_NVIDIA,
    VENDOR_AMD,
    VENDOR_INTEL,
    VENDOR_APPLE,
    VENDOR_OTHER,
    VENDOR_SIMULATED,   /* --simulate: made up by sources/simulated.c */
};

/* Stable lower-case names ("nvidia", "amd", ...) used in JSON and flags. */
const char *model_vendor_name(enum vendor v);
/* Parses such a name; returns -1 when it is not one. */
int model_vendor_parse(const char *name, enum vendor *out);

enum compute_mode {
    COMPUTE_MODE_DEFAULT = 0,
    COMPUTE_MODE_EXCLUSIVE_THREAD = 1,
    COMPUTE_MODE_PROHIBITED = 2,
    COMPUTE_MODE_EXCLUSIVE_PROCESS = 3,
};

const char *model_compute_mode_name(enum compute_mode m);

struct mig_instance {
    unsigned gpu_instance_id;
    unsigned compute_instance_id;
    char uuid[96];
    char name[96];
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_used_bytes;
    struct opt_u64 mem_free_bytes;
};

struct device {
    /* identity */
    enum vendor vendor;
    int index;                  /* gpuctl's machine-wide index */
    char uuid[96];
    char name[96];
    char pci_bus_id[32];        /* "0000:01:00.0", lower-case, 4-digit domain */
    char driver[32];            /* kernel driver: nvidia, amdgpu, i915, xe */
    char driver_version[80];

    /* memory, bytes */
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_used_bytes;
    struct opt_u64 mem_free_bytes;
    struct opt_u64 mem_reserved_bytes;
    /* system memory the GPU maps (amdgpu GTT) */
    struct opt_u64 gtt_total_bytes;
    struct opt_u64 gtt_used_bytes;

    /* utilisation, percent */
    struct opt_f64 util_gpu_pct;
    struct opt_f64 util_mem_pct;
    struct opt_f64 util_enc_pct;
    struct opt_f64 util_dec_pct;

    /* thermals and power */
    struct opt_i64 temp_c;
    struct opt_i64 temp_slowdown_c;
    struct opt_i64 temp_shutdown_c;
    struct opt_i64 temp_hotspot_c;     /* amdgpu junction */
    struct opt_i64 temp_mem_c;         /* amdgpu mem, xe vram */
    struct opt_u64 power_mw;
    struct opt_u64 power_limit_mw;
    struct opt_f64 fan_pct;
    struct opt_u64 fan_rpm;
    /* cumulative energy counter (hwmon energy1_input, NVML total energy);
     * the sampler turns its change into power_mw when power is unknown */
    struct opt_u64 energy_uj;

    /* clocks, MHz */
    struct opt_u64 clock_graphics_mhz;
    struct opt_u64 clock_sm_mhz;
    struct opt_u64 clock_mem_mhz;
    struct opt_u64 clock_graphics_max_mhz;
    struct opt_u64 clock_sm_max_mhz;
    struct opt_u64 clock_mem_max_mhz;

    /* PCIe */
    struct opt_u64 pcie_gen;
    struct opt_u64 pcie_width;
    struct opt_u64 pcie_gen_max;
    struct opt_u64 pcie_width_max;
    struct opt_u64 pcie_rx_kbps;
    struct opt_u64 pcie_tx_kbps;
    /* link-level retransmissions since the driver loaded (a counter) */
    struct opt_u64 pcie_replay_count;

    /* state */
    struct opt_u64 ecc_volatile_uncorrected;
    struct opt_u64 ecc_volatile_corrected;
    /* XID errors the driver reported since gpuctl started watching (NVML's
     * event API): the last one's number (0 while none has come, as DCGM
     * shows it), how many, and when gpuctl received the last one (epoch
     * seconds).  Unknown where the driver gives no XID events. */
    struct opt_u64 xid_last;
    struct opt_u64 xid_count;
    struct opt_f64 xid_last_time;
    struct opt_i64 persistence_mode;   /* 0 off, 1 on */
    struct opt_i64 display_active;     /* 0 no, 1 yes */
    struct opt_i64 compute_mode;       /* enum compute_mode */
    struct opt_i64 pstate;             /* 0..15 for P0..P15 */
    struct opt_i64 mig_mode;           /* current: 0 disabled, 1 enabled */
    struct opt_i64 mig_mode_pending;

    size_t mig_count;
    struct mig_instance *migs;         /* owned; mig_count entries */

    /* the driver has no device busy figure: the sampler sums the clients'
     * engine utilisation instead (i915 without a busy file) */
    bool util_from_clients;

    /* where it came from: index into source_table and the source's own slot */
    int source_id;
    int source_slot;
    /* the lowest-level failure seen while reading this device (e.g. GPU lost);
     * the device stays listed with whatever is known */
    char status[128];
};

enum gpu_process_type {
    GPU_PROC_COMPUTE = 1u << 0,
    GPU_PROC_GRAPHICS = 1u << 1,
    GPU_PROC_MPS = 1u << 2,
};

/* "C", "G", "C+G", with "M" for MPS compute ("M", "M+G"). */
const char *model_gpu_process_type_name(unsigned type_flags);

/* A cumulative per-client engine counter, as DRM fdinfo reports them
 * (drm-engine-<e> in ns, or drm-cycles-<e> against drm-total-cycles-<e>).
 * Sources only report these; the sampler turns two readings into a rate. */
#define GPU_PROC_MAX_ENGINES 8
struct engine_counter {
    char name[16];        /* engine class: "gfx", "compute", "render", "rcs", ... */
    uint64_t busy;        /* busy ns, or busy cycles when cycles is set */
    uint64_t total;       /* total cycles (cycles only) */
    unsigned capacity;    /* engines of this class; at least 1 */
    bool cycles;
};

struct gpu_process {
    pid_t pid;
    int device_index;              /* struct device.index */
    unsigned type;                 /* enum gpu_process_type flags */
    struct opt_u64 gpu_mem_bytes;      /* device memory (DRM: VRAM regions) */
    struct opt_u64 gpu_sys_mem_bytes;  /* DRM only: system memory it maps (GTT, system0) */
    struct opt_f64 sm_pct;
    struct opt_f64 mem_bw_pct;
    struct opt_f64 enc_pct;
    struct opt_f64 dec_pct;
    struct opt_u64 gpu_instance_id;
    struct opt_u64 compute_instance_id;
    /* DRM clients only: raw engine counters, summed over the process's
     * clients on this device; engine_pct holds the sampler's rate for each */
    size_t engine_count;
    struct engine_counter engines[GPU_PROC_MAX_ENGINES];
    struct opt_f64 engine_pct[GPU_PROC_MAX_ENGINES];
};

enum container_kind {
    CONTAINER_NONE = 0,
    CONTAINER_DOCKER,
    CONTAINER_CONTAINERD,
    CONTAINER_KUBERNETES,
    CONTAINER_PODMAN,
    CONTAINER_LXC,
    CONTAINER_SYSTEMD,     /* a systemd scope or service, not a container proper */
};

const char *model_container_kind_name(enum container_kind k);

struct container_info {
    enum container_kind kind;
    char id[80];           /* container id (hex), LXC name, or systemd unit */
    char pod_uid[48];      /* Kubernetes only */
};

/* "docker:3f2a1b2c3d4e", "k8s:<pod>/<cid>" (ids cut to 12 and pods to 8
 * characters unless full), "systemd:<unit>"; NULL without a container.
 * Writes into buf (size bytes) and returns it. */
const char *model_container_text(const struct container_info *c, bool full, char *buf,
                                 size_t size);

struct host_process {
    pid_t pid;
    bool exists;               /* false: the pid was gone when read */
    struct opt_i64 ppid;
    struct opt_i64 uid;
    char user[64];             /* name, or the numeric uid when unmapped */
    char name[64];             /* comm */
    char *cmdline;             /* owned; NUL bytes turned into spaces; NULL if unknown */
    char state;                /* 'R', 'S', ... or 0 */
    uint64_t start_ticks;      /* field 22 of stat: clock ticks after boot */
    struct opt_f64 start_time; /* seconds since the epoch */
    struct opt_f64 elapsed_s;
    struct opt_u64 cpu_ticks;  /* utime + stime, for the sampler */
    struct opt_f64 cpu_pct;    /* lifetime average, as ps shows */
    struct opt_f64 cpu_pct_interval; /* since the previous sample (sampler only);
                                      * may exceed 100 for several threads */
    struct opt_u64 rss_bytes;
    struct opt_f64 mem_pct;
    struct container_info container;
    struct opt_i64 other_pidns; /* 1 when in a pid namespace other than ours */
};

struct host_info {
    char hostname[256];
    struct opt_u64 mem_total_bytes;
    struct opt_u64 mem_available_bytes;
    struct opt_u64 swap_total_bytes;
    struct opt_u64 swap_free_bytes;
    struct opt_f64 uptime_s;
    struct opt_f64 boot_time;   /* epoch seconds */
    struct opt_f64 load1, load5, load15;
    long clock_ticks;           /* sysconf(_SC_CLK_TCK) */
    long page_size;
    /* /proc/stat's cpu line, read only when a monitor asks (snapshot
     * option host_cpu); the sampler turns two readings into cpu_pct */
    struct opt_u64 cpu_busy_ticks;
    struct opt_u64 cpu_total_ticks;
    struct opt_f64 cpu_pct;     /* host CPU busy %, 0-100 (sampler only) */
};

/* What one source reported about itself this time. */
struct source_status {
    const char *name;          /* "nvml", "drm" */
    bool started;
    char message[512];         /* why it did not start, or a warning */
};

void model_device_clear(struct device *d);      /* frees migs; keeps the struct */
void model_host_process_clear(struct host_process *p);

#endif
