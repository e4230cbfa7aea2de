/* libgpuctl.c - the public C API (include/gpuctl/gpuctl.h) over the
 * snapshot core.
 *
 * A front end like the CLI: it adapts snapshots to a stable, field-enum ABI
 * and turns struct error into the caller's buffer.  It adds no logic of its
 * own; anything a library user can see, the CLI computes the same way.
 */
#include "gpuctl/gpuctl.h"

#include <errno.h>
#include <stdlib.h>

#include "core/snapshot.h"
#include "core/str.h"
#include "lib/lib.h"

static void report(const struct error *e, char *err, size_t err_size)
{
    if (err && err_size)
        str_copy(err, err_size, e->msg);
}

int lib_report(const struct error *e, char *err, size_t err_size)
{
    report(e, err, err_size);
    return e->code;
}

int lib_snapshot_wrap(struct snapshot *snap, gpuctl_snapshot **out, struct error *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        snapshot_free(snap);
        return error_set(e, -ENOMEM, "out of memory");
    }
    (*out)->snap = snap;
    int rc = lib_snapshot_index(*out, e);
    if (rc < 0) {
        gpuctl_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

API const char *gpuctl_version(void)
{
    return GPUCTL_LIB_VERSION;
}

API int gpuctl_open(gpuctl **out, char *err, size_t err_size)
{
    struct error e = {0};
    if (!out)
        return -EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out) {
        error_set(&e, -ENOMEM, "out of memory");
        report(&e, err, err_size);
        return -ENOMEM;
    }
    int rc = snapshot_ctx_open(&(*out)->ctx, &e);
    if (rc < 0) {
        report(&e, err, err_size);
        free(*out);
        *out = NULL;
        return rc == -ERROR_GPU_LIBRARY ? GPUCTL_EGPULIB : rc;
    }
    return 0;
}

API void gpuctl_close(gpuctl *g)
{
    if (!g)
        return;
    snapshot_ctx_close(g->ctx);
    procfs_close(g->procfs);
    free(g);
}

struct snapshot_options lib_take_options(unsigned what)
{
    unsigned host = (what & GPUCTL_TAKE_USER ? SNAPSHOT_HOST_USER : 0u) |
                    (what & GPUCTL_TAKE_CMDLINE ? SNAPSHOT_HOST_CMDLINE : 0u) |
                    (what & GPUCTL_TAKE_CONTAINER ? SNAPSHOT_HOST_CONTAINER | SNAPSHOT_HOST_PIDNS
                                                  : 0u);
    bool procs = what & GPUCTL_TAKE_PROCESSES;
    return (struct snapshot_options){.processes = procs, .host_processes = procs,
                                     .host_fields = host,
                                     .host_cpu = what & GPUCTL_TAKE_HOST_CPU};
}

API int gpuctl_snapshot_take_with(gpuctl *g, unsigned what, gpuctl_snapshot **out, char *err,
                                  size_t err_size)
{
    struct error e = {0};
    if (!g || !out || (what & ~GPUCTL_TAKE_ALL))
        return -EINVAL;
    *out = NULL;
    struct snapshot_options opts = lib_take_options(what);
    struct snapshot *snap;
    int rc = snapshot_take(g->ctx, &opts, &snap, &e);
    if (rc == 0)
        rc = lib_snapshot_wrap(snap, out, &e);
    if (rc < 0)
        report(&e, err, err_size);
    return rc;
}

API int gpuctl_snapshot_take(gpuctl *g, gpuctl_snapshot **out, char *err, size_t err_size)
{
    return gpuctl_snapshot_take_with(g, GPUCTL_TAKE_ALL & ~GPUCTL_TAKE_HOST_CPU, out, err,
                                     err_size);
}

API void gpuctl_snapshot_free(gpuctl_snapshot *s)
{
    if (!s)
        return;
    snapshot_free(s->snap);
    free(s->mig_dev);
    free(s->mig_sub);
    free(s);
}

API size_t gpuctl_device_count(const gpuctl_snapshot *s)
{
    return s ? s->snap->device_count : 0;
}

API size_t gpuctl_process_count(const gpuctl_snapshot *s)
{
    return s ? s->snap->gproc_count : 0;
}

static const struct device *device_at(const gpuctl_snapshot *s, size_t i)
{
    return s && i < s->snap->device_count ? &s->snap->devices[i] : NULL;
}

static int give_u64(struct opt_u64 v, uint64_t *out)
{
    if (!v.known)
        return GPUCTL_ENODATA;
    *out = v.v;
    return 0;
}

static int give_f64(struct opt_f64 v, double *out)
{
    if (!v.known)
        return GPUCTL_ENODATA;
    *out = v.v;
    return 0;
}

static const char *give_str(const char *s)
{
    return s && *s ? s : NULL;
}

API int gpuctl_device_u64(const gpuctl_snapshot *s, size_t i, enum gpuctl_device_field f,
                          uint64_t *out)
{
    const struct device *d = device_at(s, i);
    if (!d || !out)
        return -EINVAL;
    switch (f) {
    case GPUCTL_DEVICE_INDEX: *out = (uint64_t)d->index; return 0;
    case GPUCTL_DEVICE_MEM_TOTAL_BYTES: return give_u64(d->mem_total_bytes, out);
    case GPUCTL_DEVICE_MEM_USED_BYTES: return give_u64(d->mem_used_bytes, out);
    case GPUCTL_DEVICE_MEM_FREE_BYTES: return give_u64(d->mem_free_bytes, out);
    case GPUCTL_DEVICE_POWER_MW: return give_u64(d->power_mw, out);
    case GPUCTL_DEVICE_POWER_LIMIT_MW: return give_u64(d->power_limit_mw, out);
    case GPUCTL_DEVICE_CLOCK_GRAPHICS_MHZ: return give_u64(d->clock_graphics_mhz, out);
    case GPUCTL_DEVICE_CLOCK_SM_MHZ: return give_u64(d->clock_sm_mhz, out);
    case GPUCTL_DEVICE_CLOCK_MEM_MHZ: return give_u64(d->clock_mem_mhz, out);
    case GPUCTL_DEVICE_ECC_VOLATILE_UNCORRECTED: return give_u64(d->ecc_volatile_uncorrected, out);
    case GPUCTL_DEVICE_PCIE_RX_KBPS: return give_u64(d->pcie_rx_kbps, out);
    case GPUCTL_DEVICE_PCIE_TX_KBPS: return give_u64(d->pcie_tx_kbps, out);
    case GPUCTL_DEVICE_MIG_INSTANCE_COUNT: *out = d->mig_count; return 0;
    default: return -EINVAL;
    }
}

API int gpuctl_device_double(const gpuctl_snapshot *s, size_t i, enum gpuctl_device_field f,
                             double *out)
{
    const struct device *d = device_at(s, i);
    if (!d || !out)
        return -EINVAL;
    switch (f) {
    case GPUCTL_DEVICE_UTIL_GPU_PCT: return give_f64(d->util_gpu_pct, out);
    case GPUCTL_DEVICE_UTIL_MEM_PCT: return give_f64(d->util_mem_pct, out);
    case GPUCTL_DEVICE_UTIL_ENC_PCT: return give_f64(d->util_enc_pct, out);
    case GPUCTL_DEVICE_UTIL_DEC_PCT: return give_f64(d->util_dec_pct, out);
    case GPUCTL_DEVICE_FAN_PCT: return give_f64(d->fan_pct, out);
    case GPUCTL_DEVICE_TEMP_C:
        if (!d->temp_c.known)
            return GPUCTL_ENODATA;
        *out = (double)d->temp_c.v;
        return 0;
    default: return -EINVAL;
    }
}

API const char *gpuctl_device_string(const gpuctl_snapshot *s, size_t i,
                                     enum gpuctl_device_field f)
{
    const struct device *d = device_at(s, i);
    if (!d)
        return NULL;
    switch (f) {
    case GPUCTL_DEVICE_NAME: return give_str(d->name);
    case GPUCTL_DEVICE_UUID: return give_str(d->uuid);
    case GPUCTL_DEVICE_PCI_BUS_ID: return give_str(d->pci_bus_id);
    case GPUCTL_DEVICE_VENDOR: return model_vendor_name(d->vendor);
    case GPUCTL_DEVICE_DRIVER: return give_str(d->driver);
    case GPUCTL_DEVICE_DRIVER_VERSION: return give_str(d->driver_version);
    case GPUCTL_DEVICE_STATUS: return give_str(d->status);
    default: return NULL;
    }
}

static const struct gpu_process *process_at(const gpuctl_snapshot *s, size_t i)
{
    return s && i < s->snap->gproc_count ? &s->snap->gprocs[i] : NULL;
}

/* Host facts, or NULL when the pid could not be read. */
static const struct host_process *host_of(const gpuctl_snapshot *s, const struct gpu_process *gp)
{
    const struct host_process *hp = snapshot_host_process(s->snap, gp->pid);
    return hp && hp->exists ? hp : NULL;
}

static int host_u64(const struct host_process *hp, enum gpuctl_process_field f, uint64_t *out)
{
    if (!hp)
        return GPUCTL_ENODATA;
    struct opt_i64 v = f == GPUCTL_PROCESS_UID ? hp->uid : hp->ppid;
    if (f == GPUCTL_PROCESS_HOST_RSS_BYTES)
        return give_u64(hp->rss_bytes, out);
    if (!v.known || v.v < 0)
        return GPUCTL_ENODATA;
    *out = (uint64_t)v.v;
    return 0;
}

API int gpuctl_process_u64(const gpuctl_snapshot *s, size_t i, enum gpuctl_process_field f,
                           uint64_t *out)
{
    const struct gpu_process *gp = process_at(s, i);
    if (!gp || !out)
        return -EINVAL;
    switch (f) {
    case GPUCTL_PROCESS_PID: *out = (uint64_t)gp->pid; return 0;
    case GPUCTL_PROCESS_DEVICE_INDEX: *out = (uint64_t)gp->device_index; return 0;
    case GPUCTL_PROCESS_GPU_MEM_BYTES: return give_u64(gp->gpu_mem_bytes, out);
    case GPUCTL_PROCESS_GPU_INSTANCE_ID: return give_u64(gp->gpu_instance_id, out);
    case GPUCTL_PROCESS_COMPUTE_INSTANCE_ID: return give_u64(gp->compute_instance_id, out);
    case GPUCTL_PROCESS_UID:
    case GPUCTL_PROCESS_PPID:
    case GPUCTL_PROCESS_HOST_RSS_BYTES: return host_u64(host_of(s, gp), f, out);
    default: return -EINVAL;
    }
}

API int gpuctl_process_double(const gpuctl_snapshot *s, size_t i, enum gpuctl_process_field f,
                              double *out)
{
    const struct gpu_process *gp = process_at(s, i);
    if (!gp || !out)
        return -EINVAL;
    const struct host_process *hp = host_of(s, gp);
    struct opt_f64 none = {0};
    switch (f) {
    case GPUCTL_PROCESS_SM_PCT: return give_f64(gp->sm_pct, out);
    case GPUCTL_PROCESS_MEM_BW_PCT: return give_f64(gp->mem_bw_pct, out);
    case GPUCTL_PROCESS_CPU_PCT: return give_f64(hp ? hp->cpu_pct : none, out);
    case GPUCTL_PROCESS_START_TIME: return give_f64(hp ? hp->start_time : none, out);
    case GPUCTL_PROCESS_ELAPSED_S: return give_f64(hp ? hp->elapsed_s : none, out);
    default: return -EINVAL;
    }
}

API const char *gpuctl_process_string(const gpuctl_snapshot *s, size_t i,
                                      enum gpuctl_process_field f)
{
    const struct gpu_process *gp = process_at(s, i);
    if (!gp)
        return NULL;
    const struct host_process *hp = host_of(s, gp);
    bool in_container = hp && hp->container.kind != CONTAINER_NONE;
    switch (f) {
    case GPUCTL_PROCESS_TYPE: return model_gpu_process_type_name(gp->type);
    case GPUCTL_PROCESS_USER: return hp ? give_str(hp->user) : NULL;
    case GPUCTL_PROCESS_NAME: return hp ? give_str(hp->name) : NULL;
    case GPUCTL_PROCESS_CMDLINE: return hp ? give_str(hp->cmdline) : NULL;
    case GPUCTL_PROCESS_CONTAINER_KIND:
        return in_container ? model_container_kind_name(hp->container.kind) : NULL;
    case GPUCTL_PROCESS_CONTAINER_ID: return in_container ? give_str(hp->container.id) : NULL;
    default: return NULL;
    }
}
