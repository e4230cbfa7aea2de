/* gpuctl.h - libgpuctl: gpuctl's view of the GPUs and GPU processes of this
 * machine, as a C library.
 *
 * The same core as the gpuctl command: NVML loaded at run time, /proc read
 * for the processes, every value either known or unknown (never a made-up
 * zero).  Values are read through field enums rather than public structs so
 * new fields never break the ABI.  Thread safety: a gpuctl handle and the
 * snapshots it takes may be used from one thread at a time; snapshots are
 * immutable values and may be read from any thread once taken.
 *
 * Version 2 (GPUCTL_API_VERSION 2) adds, keeping every version 1 symbol:
 * every field of the snapshot document by its key (gpuctl_field_find),
 * MIG instances, finding devices by index, UUID, PCI bus id or CUDA
 * ordinal, host facts and host processes of any pid, a sampler for rates,
 * GPU selection, a safe kill and the snapshot document as JSON text.
 *
 * Threads: a gpuctl handle, and the samplers made from it, may be used by
 * one thread at a time (open one handle per thread that samples).  A
 * snapshot or selection is an immutable value: once returned, any number of
 * threads may read it at once.  Functions marked "any thread" touch no
 * handle and may be called concurrently with anything.
 *
 *     gpuctl *g;
 *     char err[256];
 *     if (gpuctl_open(&g, err, sizeof err) != 0) { puts(err); return 1; }
 *     gpuctl_snapshot *s;
 *     if (gpuctl_snapshot_take(g, &s, err, sizeof err) == 0) {
 *         for (size_t i = 0; i < gpuctl_device_count(s); i++) {
 *             uint64_t used;
 *             if (gpuctl_device_u64(s, i, GPUCTL_DEVICE_MEM_USED_BYTES, &used) == 0)
 *                 printf("%s: %llu bytes used\n",
 *                        gpuctl_device_string(s, i, GPUCTL_DEVICE_NAME),
 *                        (unsigned long long)used);
 *         }
 *         gpuctl_snapshot_free(s);
 *     }
 *     gpuctl_close(g);
 */
#ifndef GPUCTL_GPUCTL_H
#define GPUCTL_GPUCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPUCTL_API_VERSION 2

typedef struct gpuctl gpuctl;
typedef struct gpuctl_snapshot gpuctl_snapshot;

/* Return codes: 0 success, negative errno-style values otherwise.
 * GPUCTL_ENODATA: the value is unknown (the driver could not give it). */
#define GPUCTL_ENODATA (-61)
#define GPUCTL_EGPULIB (-4096)   /* no GPU library could be used */

enum gpuctl_device_field {
    GPUCTL_DEVICE_INDEX,              /* u64 */
    GPUCTL_DEVICE_MEM_TOTAL_BYTES,    /* u64 */
    GPUCTL_DEVICE_MEM_USED_BYTES,
    GPUCTL_DEVICE_MEM_FREE_BYTES,
    GPUCTL_DEVICE_POWER_MW,
    GPUCTL_DEVICE_POWER_LIMIT_MW,
    GPUCTL_DEVICE_CLOCK_GRAPHICS_MHZ,
    GPUCTL_DEVICE_CLOCK_SM_MHZ,
    GPUCTL_DEVICE_CLOCK_MEM_MHZ,
    GPUCTL_DEVICE_ECC_VOLATILE_UNCORRECTED,
    GPUCTL_DEVICE_PCIE_RX_KBPS,
    GPUCTL_DEVICE_PCIE_TX_KBPS,
    GPUCTL_DEVICE_MIG_INSTANCE_COUNT,
    GPUCTL_DEVICE_UTIL_GPU_PCT = 100, /* double */
    GPUCTL_DEVICE_UTIL_MEM_PCT,
    GPUCTL_DEVICE_UTIL_ENC_PCT,
    GPUCTL_DEVICE_UTIL_DEC_PCT,
    GPUCTL_DEVICE_FAN_PCT,
    GPUCTL_DEVICE_TEMP_C,
    GPUCTL_DEVICE_NAME = 200,         /* string */
    GPUCTL_DEVICE_UUID,
    GPUCTL_DEVICE_PCI_BUS_ID,
    GPUCTL_DEVICE_VENDOR,             /* "nvidia", "amd", ... */
    GPUCTL_DEVICE_DRIVER,
    GPUCTL_DEVICE_DRIVER_VERSION,
    GPUCTL_DEVICE_STATUS,             /* why it is only partly known */
};

enum gpuctl_process_field {
    GPUCTL_PROCESS_PID,               /* u64 */
    GPUCTL_PROCESS_DEVICE_INDEX,
    GPUCTL_PROCESS_GPU_MEM_BYTES,
    GPUCTL_PROCESS_UID,
    GPUCTL_PROCESS_PPID,
    GPUCTL_PROCESS_HOST_RSS_BYTES,
    GPUCTL_PROCESS_GPU_INSTANCE_ID,
    GPUCTL_PROCESS_COMPUTE_INSTANCE_ID,
    GPUCTL_PROCESS_SM_PCT = 100,      /* double */
    GPUCTL_PROCESS_MEM_BW_PCT,
    GPUCTL_PROCESS_CPU_PCT,
    GPUCTL_PROCESS_START_TIME,        /* seconds since the epoch */
    GPUCTL_PROCESS_ELAPSED_S,
    GPUCTL_PROCESS_TYPE = 200,        /* string: "C", "G", "C+G", "M", "M+G" */
    GPUCTL_PROCESS_USER,
    GPUCTL_PROCESS_NAME,
    GPUCTL_PROCESS_CMDLINE,
    GPUCTL_PROCESS_CONTAINER_KIND,    /* "docker", "kubernetes", ...; NULL when none */
    GPUCTL_PROCESS_CONTAINER_ID,
};

/* "0.1.0" */
const char *gpuctl_version(void);

/* Starts the GPU sources.  On failure returns < 0 and writes a sentence to
 * err (when err_size > 0).  Close with gpuctl_close (NULL is fine). */
int gpuctl_open(gpuctl **out, char *err, size_t err_size);
void gpuctl_close(gpuctl *g);

/* Takes a snapshot of devices and GPU processes (with their host facts).
 * The snapshot owns its memory; free with gpuctl_snapshot_free (NULL ok). */
int gpuctl_snapshot_take(gpuctl *g, gpuctl_snapshot **out, char *err, size_t err_size);
void gpuctl_snapshot_free(gpuctl_snapshot *s);

size_t gpuctl_device_count(const gpuctl_snapshot *s);
size_t gpuctl_process_count(const gpuctl_snapshot *s);

/* 0 and *out set when known; GPUCTL_ENODATA when unknown; -EINVAL for an
 * index out of range or a field of another type. */
int gpuctl_device_u64(const gpuctl_snapshot *s, size_t device, enum gpuctl_device_field f,
                      uint64_t *out);
int gpuctl_device_double(const gpuctl_snapshot *s, size_t device, enum gpuctl_device_field f,
                         double *out);
/* NULL when unknown or invalid; valid as long as the snapshot. */
const char *gpuctl_device_string(const gpuctl_snapshot *s, size_t device,
                                 enum gpuctl_device_field f);

int gpuctl_process_u64(const gpuctl_snapshot *s, size_t process, enum gpuctl_process_field f,
                       uint64_t *out);
int gpuctl_process_double(const gpuctl_snapshot *s, size_t process,
                          enum gpuctl_process_field f, double *out);
const char *gpuctl_process_string(const gpuctl_snapshot *s, size_t process,
                                  enum gpuctl_process_field f);


/* ---- version 2 ----------------------------------------------------------- */

/* What a field belongs to; each scope's items are counted by the
 * snapshot: gpuctl_device_count, gpuctl_mig_count, gpuctl_process_count,
 * gpuctl_host_process_count, and one host (item 0). */
enum gpuctl_scope {
    GPUCTL_SCOPE_DEVICE = 0,
    GPUCTL_SCOPE_MIG = 1,
    GPUCTL_SCOPE_GPU_PROCESS = 2,
    GPUCTL_SCOPE_HOST_PROCESS = 3,
    GPUCTL_SCOPE_HOST = 4,
};

/* Fields by the key the snapshot document uses (docs/json/list.md): the
 * field table's key is the stable name, the returned id is valid for the
 * life of the process.  Ids run 0 .. gpuctl_field_count()-1.  Any thread. */
size_t gpuctl_field_count(void);
/* id (>= 0), or -ENOENT when scope has no such key, -EINVAL for NULL. */
int gpuctl_field_find(enum gpuctl_scope scope, const char *key);
/* The key, unit and help sentence of a field; NULL for a bad id.  The unit
 * is that of gpuctl_get_double's value, the model's own: "bytes" where the
 * document shows MiB, "milliwatts" where it shows watts, "seconds" for
 * times since the epoch; "" for counts and NULL for text. */
const char *gpuctl_field_key(int field);
const char *gpuctl_field_unit(int field);
const char *gpuctl_field_help(int field);
/* The field's scope, or -EINVAL for a bad id. */
int gpuctl_field_scope(int field);
/* 1 when the field is text (gpuctl_get_string only), 0 when a number that
 * may also have a name (pstate "P0", compute mode "default", process type
 * "C+G", vendor "nvidia"), -EINVAL for a bad id. */
int gpuctl_field_is_text(int field);

/* The value of field for item of scope in s, in the unit gpuctl_field_unit
 * names.  0 and *out set when known; GPUCTL_ENODATA when unknown (or a
 * text field); -EINVAL for a bad id, a field of another scope, an item out
 * of range or NULL.  Any thread (s is a value). */
int gpuctl_get_double(const gpuctl_snapshot *s, enum gpuctl_scope scope, size_t item,
                      int field, double *out);
/* Text fields, and the names of named numbers; NULL when unknown or
 * invalid.  Valid as long as the snapshot.  Any thread. */
const char *gpuctl_get_string(const gpuctl_snapshot *s, enum gpuctl_scope scope, size_t item,
                              int field);

/* Facts of the snapshot as a whole, by the snapshot document's top-level
 * key: "driver_version", "cuda_version" (the CUDA driver API version,
 * "12.4"), "nvml_version", "host" (the host name).  NULL when unknown or
 * not such a key.  Valid as long as the snapshot.  Any thread. */
const char *gpuctl_snapshot_info(const gpuctl_snapshot *s, const char *key);

/* One field of every item of scope in s, into out (room for cap):
 * unknown values and text fields are NaN.  Returns how many were written
 * (the scope's item count, or cap when that is smaller); 0 for a bad field
 * or scope.  For languages where a call per value costs (Python's
 * ctypes).  Any thread. */
size_t gpuctl_get_doubles(const gpuctl_snapshot *s, enum gpuctl_scope scope, int field,
                          double *out, size_t cap);

/* What gpuctl_snapshot_take_with and gpuctl_sampler_take_with read:
 * asking only for what will be used keeps a pass cheap.  Facts not asked
 * for are unknown.  The host process's stat (name, state, parent, times,
 * CPU, memory) is always read with GPUCTL_TAKE_PROCESSES. */
#define GPUCTL_TAKE_PROCESSES 0x01u  /* GPU processes and their host records */
#define GPUCTL_TAKE_USER 0x02u       /* uid and user name */
#define GPUCTL_TAKE_CMDLINE 0x04u    /* command lines */
#define GPUCTL_TAKE_CONTAINER 0x08u  /* containers and pid namespaces */
#define GPUCTL_TAKE_HOST_CPU 0x10u   /* host CPU counters (a sampler's host "cpu_pct") */
#define GPUCTL_TAKE_ALL 0x1fu
/* gpuctl_snapshot_take is gpuctl_snapshot_take_with(GPUCTL_TAKE_ALL &
 * ~GPUCTL_TAKE_HOST_CPU); gpuctl_sampler_take is ..._with(GPUCTL_TAKE_ALL). */
int gpuctl_snapshot_take_with(gpuctl *g, unsigned what, gpuctl_snapshot **out, char *err,
                              size_t err_size);   /* the handle's thread rule */

/* MIG instances of every device, in device order.  Any thread. */
size_t gpuctl_mig_count(const gpuctl_snapshot *s);
/* The device (its place in s) a MIG instance belongs to; -EINVAL when
 * mig is out of range. */
int gpuctl_mig_parent(const gpuctl_snapshot *s, size_t mig, size_t *device);
/* The MIG profile ("3g.40gb" of "NVIDIA H100 80GB HBM3 MIG 3g.40gb"),
 * written to buf; -EINVAL out of range, GPUCTL_ENODATA when the name has
 * none. */
int gpuctl_mig_profile(const gpuctl_snapshot *s, size_t mig, char *buf, size_t size);

/* The device named by id: its gpuctl index ("3"), its UUID or an
 * unambiguous prefix of it ("GPU-8a6f"), or its PCI bus id in any of the
 * spellings NVML and lspci use ("00000000:18:00.0", "0000:18:00.0",
 * "18:00.0", any case).  *device receives its place in s.  -ENOENT when no
 * device matches, -ENOTUNIQ when a UUID prefix matches several, -EINVAL
 * for NULL.  err (when err_size > 0) says which.  Any thread. */
int gpuctl_device_find(const gpuctl_snapshot *s, const char *id, size_t *device, char *err,
                       size_t err_size);

/* The devices CUDA numbers 0, 1, ... under CUDA_VISIBLE_DEVICES = value,
 * with CUDA's rules (indices of the NVIDIA devices, GPU-/MIG- UUIDs or
 * unambiguous prefixes; the list ends at the first bad entry; a device
 * named twice hides all).  value NULL: the variable is unset (every NVIDIA
 * device, in order).  Writes up to cap places in s to devices and their
 * number to *count.  Returns 0, -EINVAL or -ENOMEM.  Any thread. */
int gpuctl_cuda_devices(const gpuctl_snapshot *s, const char *value, size_t *devices,
                        size_t cap, size_t *count);

/* The host item of GPU process i (its host facts: user, command line, CPU,
 * memory ...); GPUCTL_ENODATA when /proc could not show that pid.  These
 * three read only the snapshot: any thread. */
int gpuctl_process_host(const gpuctl_snapshot *s, size_t process, size_t *host_item);
size_t gpuctl_host_process_count(const gpuctl_snapshot *s);
/* The identity of a host process: pid and start time in clock ticks after
 * boot, what gpuctl_kill checks before it signals.  -EINVAL out of range. */
int gpuctl_host_process_ident(const gpuctl_snapshot *s, size_t host_item, pid_t *pid,
                              uint64_t *start_ticks);

/* A snapshot of host facts (scope HOST) and of the given pids (scope
 * HOST_PROCESS, in pid order; pids that do not exist are left out), with
 * no devices.  The handle's thread rule applies.  Free with
 * gpuctl_snapshot_free. */
int gpuctl_host_take(gpuctl *g, const pid_t *pids, size_t pid_count, gpuctl_snapshot **out,
                     char *err, size_t err_size);

/* A sampler fills rates between two snapshots it took, the way the monitor
 * does: host "cpu_pct", host processes' "cpu_interval_pct", power from
 * energy counters, DRM engine percentages.  The first snapshot has them
 * unknown.  It borrows g (close it before g) and shares g's thread rule. */
typedef struct gpuctl_sampler gpuctl_sampler;
int gpuctl_sampler_open(gpuctl *g, gpuctl_sampler **out, char *err, size_t err_size);
void gpuctl_sampler_close(gpuctl_sampler *sm);
int gpuctl_sampler_take(gpuctl_sampler *sm, gpuctl_snapshot **out, char *err,
                        size_t err_size);
int gpuctl_sampler_take_with(gpuctl_sampler *sm, unsigned what, gpuctl_snapshot **out,
                             char *err, size_t err_size);

/* Choosing GPUs for a job with nvitop's nvisel rules (docs/select.md).
 * Fill with gpuctl_select_options_init first: later versions may add
 * members after the ones below, and size tells which the caller knows. */
struct gpuctl_select_options {
    size_t size;                  /* sizeof(struct gpuctl_select_options) */
    size_t min_count;             /* fewer qualifying: not enough (default 0) */
    size_t max_count;             /* at most this many; 0: no limit (default) */
    int64_t min_free_bytes;       /* -1: no constraint (default) */
    int64_t min_total_bytes;      /* -1: no constraint */
    int max_gpu_util_pct;         /* 0..100, -1: no constraint */
    int max_mem_util_pct;         /* 0..100, -1: no constraint */
    int tolerance_pct;            /* 0..100: thresholds loosened by this */
    int inherit;                  /* only the devices CUDA_VISIBLE_DEVICES names */
    const char *cuda_visible_devices; /* with inherit; NULL: unset (every device) */
    const char *const *free_users;    /* their GPU memory counts as free */
    size_t free_user_count;
};
void gpuctl_select_options_init(struct gpuctl_select_options *o);   /* any thread */

typedef struct gpuctl_selection gpuctl_selection;
/* Chooses from s (a snapshot with processes when free_users is given).
 * Reads only s and o: any thread; a selection is a value, and every
 * gpuctl_selection_* call below may be made from any thread.
 * Returns 0 (enough or not: gpuctl_selection_enough), -EINVAL for bad
 * options (err says which), -ENOMEM.  Free with gpuctl_selection_free. */
int gpuctl_select(const gpuctl_snapshot *s, const struct gpuctl_select_options *o,
                  gpuctl_selection **out, char *err, size_t err_size);
void gpuctl_selection_free(gpuctl_selection *sel);
/* The chosen devices, best first: item i's device (place in s) and MIG
 * instance (gpuctl_mig_count numbering; -1 for the whole GPU). */
size_t gpuctl_selection_count(const gpuctl_selection *sel);
int gpuctl_selection_item(const gpuctl_selection *sel, size_t i, size_t *device, long *mig);
/* 1 when at least min_count qualified, else 0; then the reason says why. */
int gpuctl_selection_enough(const gpuctl_selection *sel);
const char *gpuctl_selection_reason(const gpuctl_selection *sel);
/* The document of `gpuctl select --output json`; free with gpuctl_free. */
char *gpuctl_selection_json(const gpuctl_selection *sel, char *err, size_t err_size);

/* Sends sig to the process (pid, start_ticks) through a pidfd, so a pid
 * reused by another process is never hit: start_ticks from
 * gpuctl_host_process_ident (or UINT64_MAX for whatever pid is now).
 * Refuses pid 1, this process, its parent and kernel threads (-EINVAL)
 * and processes the caller may not signal (-EPERM).  With wait_ms > 0
 * waits that long for the process to end (-ETIMEDOUT: still running).
 * Returns 0; -ESRCH when it had exited; -ESTALE when the pid now belongs to
 * another process.  err names the pid.  Any thread. */
int gpuctl_kill(pid_t pid, uint64_t start_ticks, int sig, long wait_ms, char *err,
                size_t err_size);

/* Flags of gpuctl_snapshot_json. */
#define GPUCTL_JSON_DETAILS 0x1u     /* processes (as `list --details`) */
#define GPUCTL_JSON_CONTAINERS 0x2u  /* container keys (as `list --containers`) */
#define GPUCTL_JSON_COMPACT 0x4u     /* one line */
/* The snapshot document of s, the JSON `gpuctl list --output json` prints
 * for the same state.  A new string (free with gpuctl_free), or NULL with
 * err filled.  Any thread. */
char *gpuctl_snapshot_json(const gpuctl_snapshot *s, unsigned flags, char *err,
                           size_t err_size);
void gpuctl_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
