/* nvml.c - the NVIDIA source: devices, metrics and GPU processes via NVML.
 *
 * NVML is loaded with dlopen (GPUCTL_NVML_LIBRARY overrides the path) and
 * every entry point beyond the four needed to count devices is optional: a
 * missing symbol or a failing call turns its field into "unknown" and never
 * drops the device.  XID errors come from the event API (nvml_events.c).
 * Host-side facts about the processes (user, command) are procfs's job;
 * numbering devices machine-wide is the snapshot's.
 */
#include "sources/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/str.h"
#include "sources/nvml_internal.h"

#define NVML_DEFAULT_LIBRARY "libnvidia-ml.so.1"

/* ---- errors -------------------------------------------------------------- */

const char *nvml_return_name(nvmlReturn_t rc)
{
    switch (rc) {
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires reset";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "Driver/library version mismatch";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    default: return "Unknown Error";
    }
}

/* A sentence a person can act on, for failures that stop the whole source. */
static int init_failure(struct error *e, nvmlReturn_t rc)
{
    switch (rc) {
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return error_set(e, -ERROR_GPU_LIBRARY,
                         "the NVIDIA kernel driver is not loaded (NVML: Driver Not Loaded); "
                         "load it with 'modprobe nvidia' and check 'dmesg' for why it failed");
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        return error_set(e, -ERROR_GPU_LIBRARY,
                         "the NVML library and the loaded NVIDIA kernel driver are different "
                         "versions (usually after a driver update): reload the nvidia kernel "
                         "modules or reboot");
    case NVML_ERROR_NO_PERMISSION:
        return error_set(e, -EACCES,
                         "no permission to use the NVIDIA driver: check the permissions of "
                         "/dev/nvidiactl and /dev/nvidia*");
    default:
        return error_set(e, -ERROR_GPU_LIBRARY, "NVML failed to start: %s (code %d)",
                         nvml_return_name(rc), rc);
    }
}

bool nvml_is_lost(nvmlReturn_t rc)
{
    return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_RESET_REQUIRED;
}

/* ---- reading one device ---------------------------------------------------- */

/* Reads of one device stop at the first sign it is gone, so a lost GPU costs
 * one failed call, not forty. */
struct reader {
    const struct nvml_api *api;
    nvmlDevice_t h;
    struct device *d;
    bool lost;
};

static bool ok(struct reader *r, nvmlReturn_t rc)
{
    if (rc == NVML_SUCCESS)
        return true;
    if (nvml_is_lost(rc) && !r->lost) {
        r->lost = true;
        snprintf(r->d->status, sizeof r->d->status,
                 "%s: the GPU has fallen off the bus or needs a reset", nvml_return_name(rc));
    }
    return false;
}

typedef nvmlReturn_t (*uint_fn)(nvmlDevice_t, unsigned *);
typedef nvmlReturn_t (*uint_arg_fn)(nvmlDevice_t, int, unsigned *);
typedef nvmlReturn_t (*int_fn)(nvmlDevice_t, int *);

static void read_uint(struct reader *r, uint_fn fn, struct opt_u64 *out)
{
    unsigned v;
    if (fn && !r->lost && ok(r, fn(r->h, &v)))
        OPT_SET(*out, v);
}

static void read_uint_arg(struct reader *r, uint_arg_fn fn, int arg, struct opt_u64 *out)
{
    unsigned v;
    if (fn && !r->lost && ok(r, fn(r->h, arg, &v)))
        OPT_SET(*out, v);
}

static void read_int(struct reader *r, int_fn fn, struct opt_i64 *out)
{
    int v;
    if (fn && !r->lost && ok(r, fn(r->h, &v)))
        OPT_SET(*out, v);
}

static void read_string(struct reader *r, nvmlReturn_t (*fn)(nvmlDevice_t, char *, unsigned),
                        char *buf, size_t size)
{
    char tmp[128] = "";
    if (fn && !r->lost && ok(r, fn(r->h, tmp, sizeof tmp)))
        str_copy(buf, size, tmp);
}

/* "00000000:01:00.0" -> "0000:01:00.0": one spelling across sources. */
static void normalise_bus_id(const char *in, char *out, size_t size)
{
    unsigned dom, bus, dev, fn;
    if (sscanf(in, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4)
        snprintf(out, size, "%04x:%02x:%02x.%x", dom & 0xffff, bus, dev, fn);
    else
        str_copy(out, size, in);
}

static void read_pci(struct reader *r)
{
    if (!r->api->device_get_pci_info || r->lost)
        return;
    union { nvml_pci_info_v1 v1; nvml_pci_info_v3 v3; } pci;
    memset(&pci, 0, sizeof pci);
    if (!ok(r, r->api->device_get_pci_info(r->h, &pci)))
        return;
    const char *id = r->api->pci_version == 1 ? pci.v1.bus_id : pci.v3.bus_id;
    char bounded[sizeof pci.v3.bus_id + 1];
    str_copy(bounded, sizeof bounded, id);
    normalise_bus_id(bounded, r->d->pci_bus_id, sizeof r->d->pci_bus_id);
}

static void read_memory(struct reader *r)
{
    struct device *d = r->d;
    if (!r->api->device_get_memory_info || r->lost)
        return;
    if (r->api->memory_version == 2) {
        nvml_memory_v2 m = {.version = NVML_STRUCT_VERSION(sizeof m, 2)};
        if (!ok(r, r->api->device_get_memory_info(r->h, &m)))
            return;
        OPT_SET(d->mem_total_bytes, m.total);
        OPT_SET(d->mem_used_bytes, m.used);
        OPT_SET(d->mem_free_bytes, m.free);
        OPT_SET(d->mem_reserved_bytes, m.reserved);
        return;
    }
    nvml_memory_v1 m;
    if (!ok(r, r->api->device_get_memory_info(r->h, &m)))
        return;
    OPT_SET(d->mem_total_bytes, m.total);
    OPT_SET(d->mem_used_bytes, m.used);
    OPT_SET(d->mem_free_bytes, m.free);
}

static void read_temperature(struct reader *r)
{
    if (r->lost)
        return;
    if (r->api->device_get_temperature_v) {
        nvml_temperature_v1 t = {.version = NVML_STRUCT_VERSION(sizeof t, 1),
                                 .sensor_type = NVML_TEMPERATURE_GPU};
        nvmlReturn_t rc = r->api->device_get_temperature_v(r->h, &t);
        if (ok(r, rc)) {
            OPT_SET(r->d->temp_c, t.temperature);
            return;
        }
        if (r->lost)
            return;
    }
    unsigned v;
    if (r->api->device_get_temperature &&
        ok(r, r->api->device_get_temperature(r->h, NVML_TEMPERATURE_GPU, &v)))
        OPT_SET(r->d->temp_c, v);
}

static void read_fan(struct reader *r)
{
    unsigned fans = 0, v;
    if (r->lost)
        return;
    /* Fan 0 is what nvidia-smi shows; the plain call reports the same fan. */
    if (r->api->device_get_num_fans && r->api->device_get_fan_speed_v2 &&
        r->api->device_get_num_fans(r->h, &fans) == NVML_SUCCESS && fans > 0) {
        if (ok(r, r->api->device_get_fan_speed_v2(r->h, 0, &v)))
            OPT_SET(r->d->fan_pct, v);
        return;
    }
    if (r->api->device_get_fan_speed && ok(r, r->api->device_get_fan_speed(r->h, &v)))
        OPT_SET(r->d->fan_pct, v);
}

static void read_codec_util(struct reader *r)
{
    unsigned v, period;
    if (r->api->device_get_encoder_utilization && !r->lost &&
        ok(r, r->api->device_get_encoder_utilization(r->h, &v, &period)))
        OPT_SET(r->d->util_enc_pct, v);
    if (r->api->device_get_decoder_utilization && !r->lost &&
        ok(r, r->api->device_get_decoder_utilization(r->h, &v, &period)))
        OPT_SET(r->d->util_dec_pct, v);
}

static void read_ecc(struct reader *r)
{
    unsigned long long v;
    if (!r->api->device_get_total_ecc_errors || r->lost)
        return;
    if (ok(r, r->api->device_get_total_ecc_errors(r->h, NVML_MEMORY_ERROR_UNCORRECTED,
                                                  NVML_VOLATILE_ECC, &v)))
        OPT_SET(r->d->ecc_volatile_uncorrected, v);
    if (!r->lost && ok(r, r->api->device_get_total_ecc_errors(r->h, NVML_MEMORY_ERROR_CORRECTED,
                                                              NVML_VOLATILE_ECC, &v)))
        OPT_SET(r->d->ecc_volatile_corrected, v);
}

static void read_mig_mode(struct reader *r)
{
    unsigned current, pending;
    if (r->api->device_get_mig_mode && !r->lost &&
        ok(r, r->api->device_get_mig_mode(r->h, &current, &pending))) {
        OPT_SET(r->d->mig_mode, current);
        OPT_SET(r->d->mig_mode_pending, pending);
    }
}

static void read_utilization(struct reader *r)
{
    nvml_utilization u;
    if (r->api->device_get_utilization_rates && !r->lost &&
        ok(r, r->api->device_get_utilization_rates(r->h, &u))) {
        OPT_SET(r->d->util_gpu_pct, u.gpu);
        OPT_SET(r->d->util_mem_pct, u.memory);
    }
}

static void read_pstate(struct reader *r)
{
    struct opt_i64 p = {0};
    read_int(r, r->api->device_get_performance_state, &p);
    if (p.known && p.v >= 0 && p.v <= 15)
        r->d->pstate = p;
}

static void read_power(struct reader *r)
{
    read_uint(r, r->api->device_get_power_usage, &r->d->power_mw);
    read_uint(r, r->api->device_get_enforced_power_limit, &r->d->power_limit_mw);
    if (!r->d->power_limit_mw.known)
        read_uint(r, r->api->device_get_power_management_limit, &r->d->power_limit_mw);
}

static void read_clocks(struct reader *r)
{
    struct device *d = r->d;
    read_uint_arg(r, r->api->device_get_clock_info, NVML_CLOCK_GRAPHICS, &d->clock_graphics_mhz);
    read_uint_arg(r, r->api->device_get_clock_info, NVML_CLOCK_SM, &d->clock_sm_mhz);
    read_uint_arg(r, r->api->device_get_clock_info, NVML_CLOCK_MEM, &d->clock_mem_mhz);
}

static void read_pcie_now(struct reader *r)
{
    struct device *d = r->d;
    read_uint(r, r->api->device_get_curr_pcie_link_generation, &d->pcie_gen);
    read_uint(r, r->api->device_get_curr_pcie_link_width, &d->pcie_width);
    read_uint_arg(r, r->api->device_get_pcie_throughput, NVML_PCIE_UTIL_RX_BYTES, &d->pcie_rx_kbps);
    read_uint_arg(r, r->api->device_get_pcie_throughput, NVML_PCIE_UTIL_TX_BYTES, &d->pcie_tx_kbps);
    read_uint(r, r->api->device_get_pcie_replay_counter, &d->pcie_replay_count);
}

static void read_threshold(struct reader *r, int which, struct opt_i64 *out)
{
    struct opt_u64 v = {0};
    read_uint_arg(r, r->api->device_get_temperature_threshold, which, &v);
    if (v.known)
        OPT_SET(*out, (int64_t)v.v);
}

/* Facts that do not change while the driver is loaded. */
static void read_static(struct reader *r, const struct nvml_state *s)
{
    struct device *d = r->d;
    const struct nvml_api *api = r->api;
    d->vendor = VENDOR_NVIDIA;
    str_copy(d->driver, sizeof d->driver, "nvidia");
    str_copy(d->driver_version, sizeof d->driver_version, s->sys.driver_version);
    read_string(r, api->device_get_name, d->name, sizeof d->name);
    read_string(r, api->device_get_uuid, d->uuid, sizeof d->uuid);
    read_pci(r);
    read_threshold(r, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN, &d->temp_slowdown_c);
    read_threshold(r, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN, &d->temp_shutdown_c);
    uint_arg_fn max_clock = api->device_get_max_clock_info;
    read_uint_arg(r, max_clock, NVML_CLOCK_GRAPHICS, &d->clock_graphics_max_mhz);
    read_uint_arg(r, max_clock, NVML_CLOCK_SM, &d->clock_sm_max_mhz);
    read_uint_arg(r, max_clock, NVML_CLOCK_MEM, &d->clock_mem_max_mhz);
    read_uint(r, api->device_get_max_pcie_link_generation, &d->pcie_gen_max);
    read_uint(r, api->device_get_max_pcie_link_width, &d->pcie_width_max);
}

/* ---- MIG ------------------------------------------------------------------- */

int nvml_mig_handles(const struct nvml_api *api, nvmlDevice_t parent, nvmlDevice_t *out,
                       size_t cap)
{
    unsigned max = 0;
    if (!api->device_get_max_mig_device_count || !api->device_get_mig_device_handle_by_index ||
        api->device_get_max_mig_device_count(parent, &max) != NVML_SUCCESS)
        return 0;
    size_t n = 0;
    for (unsigned i = 0; i < max && n < cap; i++) {
        nvmlDevice_t h;
        /* NOT_FOUND marks an empty slot, not an error. */
        if (api->device_get_mig_device_handle_by_index(parent, i, &h) == NVML_SUCCESS)
            out[n++] = h;
    }
    return (int)n;
}

static void read_mig_instance(const struct nvml_api *api, nvmlDevice_t h, struct mig_instance *m)
{
    struct device scratch = {0};
    struct reader r = {.api = api, .h = h, .d = &scratch};
    unsigned id;
    if (api->device_get_gpu_instance_id && api->device_get_gpu_instance_id(h, &id) == NVML_SUCCESS)
        m->gpu_instance_id = id;
    if (api->device_get_compute_instance_id &&
        api->device_get_compute_instance_id(h, &id) == NVML_SUCCESS)
        m->compute_instance_id = id;
    read_string(&r, api->device_get_uuid, m->uuid, sizeof m->uuid);
    read_string(&r, api->device_get_name, m->name, sizeof m->name);
    read_memory(&r);
    m->mem_total_bytes = scratch.mem_total_bytes;
    m->mem_used_bytes = scratch.mem_used_bytes;
    m->mem_free_bytes = scratch.mem_free_bytes;
}

static void read_migs(struct reader *r)
{
    struct device *d = r->d;
    free(d->migs);
    d->migs = NULL;
    d->mig_count = 0;
    if (r->lost || !d->mig_mode.known || d->mig_mode.v != 1)
        return;
    nvmlDevice_t handles[NVML_MAX_MIG_SLOTS];
    int n = nvml_mig_handles(r->api, r->h, handles, NVML_MAX_MIG_SLOTS);
    if (n <= 0 || !(d->migs = calloc((size_t)n, sizeof *d->migs)))
        return;
    for (int i = 0; i < n; i++)
        read_mig_instance(r->api, handles[i], &d->migs[i]);
    d->mig_count = (size_t)n;
}

/* ---- source operations ------------------------------------------------------ */

static void *lookup_dlsym(void *lib, const char *symbol)
{
    return dlsym(lib, symbol);
}

static void read_system_info(struct nvml_state *s)
{
    const struct nvml_api *api = &s->api;
    int cuda = 0;
    if (api->system_get_driver_version)
        if (api->system_get_driver_version(s->sys.driver_version,
                                           sizeof s->sys.driver_version) != NVML_SUCCESS)
            s->sys.driver_version[0] = '\0';
    if (api->system_get_nvml_version)
        if (api->system_get_nvml_version(s->sys.nvml_version,
                                         sizeof s->sys.nvml_version) != NVML_SUCCESS)
            s->sys.nvml_version[0] = '\0';
    if (api->system_get_cuda_driver_version &&
        api->system_get_cuda_driver_version(&cuda) == NVML_SUCCESS && cuda > 0)
        snprintf(s->sys.cuda_version, sizeof s->sys.cuda_version, "%d.%d", cuda / 1000,
                 (cuda % 1000) / 10);
}

static int open_library(struct nvml_state *s, struct error *e)
{
    const char *env = getenv("GPUCTL_NVML_LIBRARY");
    const char *path = env && *env ? env : NVML_DEFAULT_LIBRARY;
    s->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!s->lib) {
        const char *why = dlerror();
        if (env && *env)
            return error_set(e, -ERROR_GPU_LIBRARY,
                             "GPUCTL_NVML_LIBRARY=%s could not be loaded: %s", env,
                             why ? why : "unknown reason");
        return error_set(e, -ERROR_GPU_LIBRARY,
                         "no NVIDIA driver was found (%s could not be loaded)",
                         NVML_DEFAULT_LIBRARY);
    }
    char missing[96];
    if (nvml_abi_resolve(&s->api, lookup_dlsym, s->lib, missing, sizeof missing) < 0)
        return error_set(e, -ERROR_GPU_LIBRARY, "%s is not a usable NVML library: it has no %s",
                         path, missing);
    return 0;
}

static void nvml_shutdown_source(void *state)
{
    struct nvml_state *s = state;
    if (!s)
        return;
    nvml_xid_unwatch(s);
    if (s->api.shutdown && s->devs)
        s->api.shutdown();
    if (s->lib)
        dlclose(s->lib);
    free(s->devs);
    free(s);
}

static int open_devices(struct nvml_state *s, struct error *e)
{
    nvmlReturn_t rc = s->api.device_get_count(&s->count);
    if (rc != NVML_SUCCESS)
        return error_set(e, -ERROR_GPU_LIBRARY, "NVML could not count the GPUs: %s",
                         nvml_return_name(rc));
    s->devs = calloc(s->count ? s->count : 1, sizeof *s->devs);
    if (!s->devs)
        return error_set(e, -ENOMEM, "out of memory for %u NVIDIA devices", s->count);
    for (unsigned i = 0; i < s->count; i++) {
        /* A handle that cannot be had leaves the slot NULL: the device is still
         * listed, with its status saying why nothing else is known. */
        if (s->api.device_get_handle_by_index(i, &s->devs[i].handle) != NVML_SUCCESS)
            s->devs[i].handle = NULL;
    }
    return 0;
}

static int nvml_init_source(void **state, struct error *e)
{
    *state = NULL;
    struct nvml_state *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory starting NVML");
    int rc = open_library(s, e);
    if (rc == 0) {
        nvmlReturn_t nrc = s->api.init();
        if (nrc != NVML_SUCCESS)
            rc = init_failure(e, nrc);
    }
    if (rc == 0) {
        read_system_info(s);
        rc = open_devices(s, e);
    }
    if (rc == 0)
        nvml_xid_watch(s);
    if (rc < 0) {
        if (s->lib && !s->devs)
            s->api.shutdown = NULL;   /* init failed or never ran: nothing to shut down */
        nvml_shutdown_source(s);
        return rc;
    }
    *state = s;
    return 0;
}

static int nvml_enumerate(void *state, struct device_list *out, struct error *e)
{
    struct nvml_state *s = state;
    for (unsigned i = 0; i < s->count; i++) {
        struct device *d;
        if (device_list_push(out, &d) < 0)
            return error_set(e, -ENOMEM, "out of memory listing NVIDIA devices");
        d->source_slot = (int)i;
        struct reader r = {.api = &s->api, .h = s->devs[i].handle, .d = d};
        if (!r.h) {
            d->vendor = VENDOR_NVIDIA;
            str_copy(d->driver, sizeof d->driver, "nvidia");
            snprintf(d->status, sizeof d->status, "NVML gave no handle for device %u", i);
            continue;
        }
        read_static(&r, s);
    }
    return 0;
}

static void refresh_one(const struct nvml_state *s, struct device *d)
{
    nvmlDevice_t h = s->devs[d->source_slot].handle;
    struct reader r = {.api = &s->api, .h = h, .d = d};
    if (!h)
        return;
    read_memory(&r);
    read_utilization(&r);
    read_codec_util(&r);
    read_temperature(&r);
    read_power(&r);
    read_fan(&r);
    read_clocks(&r);
    read_pcie_now(&r);
    read_ecc(&r);
    read_int(&r, s->api.device_get_persistence_mode, &d->persistence_mode);
    read_int(&r, s->api.device_get_display_active, &d->display_active);
    read_int(&r, s->api.device_get_compute_mode, &d->compute_mode);
    read_pstate(&r);
    read_mig_mode(&r);
    read_migs(&r);
    nvml_xid_fill(s, (unsigned)d->source_slot, d);
}

static int nvml_refresh(void *state, struct device *devices, size_t count, struct error *e)
{
    (void)e;
    struct nvml_state *s = state;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    nvml_xid_collect(s, (double)now.tv_sec + now.tv_nsec / 1e9);
    for (size_t i = 0; i < count; i++)
        if (devices[i].source_slot >= 0 && (unsigned)devices[i].source_slot < s->count)
            refresh_one(s, &devices[i]);
    return 0;
}

void nvml_system_info(void *state, struct nvml_system_info *out)
{
    const struct nvml_state *s = state;
    if (s)
        *out = s->sys;
    else
        memset(out, 0, sizeof *out);
}

const struct source_ops nvml_source = {
    .name = "nvml",
    .init = nvml_init_source,
    .enumerate = nvml_enumerate,
    .refresh = nvml_refresh,
    .processes = nvml_processes,
    .shutdown = nvml_shutdown_source,
};
