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

#ifdef __cplusplus
extern "C" {
#endif

#define GPUCTL_API_VERSION 1

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

#ifdef __cplusplus
}
#endif

#endif
