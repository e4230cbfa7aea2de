/* list_json.c - `gpuctl list --output json` (schema: docs/json/list.md).
 *
 * The first keys of each object are gpu-kill's, so scripts written for it
 * keep working; every other field follows under its own name.  Unknown is
 * null, never 0.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "doc/json.h"
#include "cli/list.h"
#include "core/units.h"

/* Decimals kept for each kind of real (docs/json/list.md, "Numbers"). */
enum { PCT_DECIMALS = 2, WATT_DECIMALS = 3, SECOND_DECIMALS = 2 };

static json_t *j_pct(struct opt_f64 o)
{
    return doc_json_f64(o, PCT_DECIMALS);
}

static json_t *j_mib(struct opt_u64 bytes)
{
    return bytes.known ? json_integer((json_int_t)units_bytes_to_mib(bytes.v)) : json_null();
}

static json_t *j_watts(struct opt_u64 mw)
{
    return mw.known ? doc_json_real((double)mw.v / 1000.0, WATT_DECIMALS) : json_null();
}

/* DRM engine utilisation by engine class; {} for other processes. */
static json_t *engines_json(const struct gpu_process *gp)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < gp->engine_count && i < GPU_PROC_MAX_ENGINES; i++)
        doc_json_put(o, gp->engines[i].name, j_pct(gp->engine_pct[i]));
    return o;
}

static json_t *process_json(const struct list_view *v, const struct gpu_process *gp)
{
    const struct host_process *hp = snapshot_host_process(v->snap, gp->pid);
    bool host = hp && hp->exists;
    char cbuf[160];
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "gpu_index", json_integer(gp->device_index));
    doc_json_put(o, "pid", json_integer(gp->pid));
    doc_json_put(o, "user", doc_json_str(host ? hp->user : NULL));
    doc_json_put(o, "proc_name", doc_json_str(host ? hp->name : NULL));
    doc_json_put(o, "used_mem_mb", j_mib(gp->gpu_mem_bytes));
    doc_json_put(o, "start_time", host ? doc_json_time(hp->start_time) : json_null());
    doc_json_put(o, "container", doc_json_str(host ? list_container_text(&hp->container, false, cbuf, sizeof cbuf)
                                   : NULL));
    const struct device *d = snapshot_device(v->snap, gp->device_index);
    doc_json_put(o, "gpu_uuid", doc_json_str(d ? d->uuid : NULL));
    doc_json_put(o, "type", json_string(model_gpu_process_type_name(gp->type)));
    doc_json_put(o, "used_mem_bytes", doc_json_u64(gp->gpu_mem_bytes));
    doc_json_put(o, "sm_pct", j_pct(gp->sm_pct));
    doc_json_put(o, "mem_bw_pct", j_pct(gp->mem_bw_pct));
    doc_json_put(o, "enc_pct", j_pct(gp->enc_pct));
    doc_json_put(o, "dec_pct", j_pct(gp->dec_pct));
    doc_json_put(o, "gpu_instance_id", doc_json_u64(gp->gpu_instance_id));
    doc_json_put(o, "compute_instance_id", doc_json_u64(gp->compute_instance_id));
    doc_json_put(o, "host_visible", json_boolean(host));
    doc_json_put(o, "uid", host ? doc_json_i64(hp->uid) : json_null());
    doc_json_put(o, "ppid", host ? doc_json_i64(hp->ppid) : json_null());
    doc_json_put(o, "cmdline", doc_json_str(host ? hp->cmdline : NULL));
    doc_json_put(o, "state", host && hp->state ? doc_json_stringn(&hp->state, 1) : json_null());
    doc_json_put(o, "elapsed_s", host ? doc_json_f64(hp->elapsed_s, SECOND_DECIMALS) : json_null());
    doc_json_put(o, "cpu_pct", host ? j_pct(hp->cpu_pct) : json_null());
    doc_json_put(o, "host_rss_bytes", host ? doc_json_u64(hp->rss_bytes) : json_null());
    doc_json_put(o, "host_mem_pct", host ? j_pct(hp->mem_pct) : json_null());
    doc_json_put(o, "other_pid_namespace", host ? doc_json_bool(hp->other_pidns) : json_null());
    doc_json_put(o, "used_sys_mem_bytes", doc_json_u64(gp->gpu_sys_mem_bytes));
    doc_json_put(o, "engines_pct", engines_json(gp));
    if (v->containers) {
        bool has = host && hp->container.kind != CONTAINER_NONE;
        doc_json_put(o, "container_kind", has ? json_string(model_container_kind_name(hp->container.kind))
                                     : json_null());
        doc_json_put(o, "container_id", doc_json_str(has ? hp->container.id : NULL));
        doc_json_put(o, "pod_uid", doc_json_str(has ? hp->container.pod_uid : NULL));
    }
    return o;
}

static json_t *mig_json(const struct mig_instance *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "gpu_instance_id", json_integer(m->gpu_instance_id));
    doc_json_put(o, "compute_instance_id", json_integer(m->compute_instance_id));
    doc_json_put(o, "uuid", doc_json_str(m->uuid));
    doc_json_put(o, "name", doc_json_str(m->name));
    doc_json_put(o, "mem_used_mb", j_mib(m->mem_used_bytes));
    doc_json_put(o, "mem_total_mb", j_mib(m->mem_total_bytes));
    return o;
}

static json_t *clocks_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "graphics_mhz", doc_json_u64(d->clock_graphics_mhz));
    doc_json_put(o, "sm_mhz", doc_json_u64(d->clock_sm_mhz));
    doc_json_put(o, "mem_mhz", doc_json_u64(d->clock_mem_mhz));
    doc_json_put(o, "graphics_max_mhz", doc_json_u64(d->clock_graphics_max_mhz));
    doc_json_put(o, "sm_max_mhz", doc_json_u64(d->clock_sm_max_mhz));
    doc_json_put(o, "mem_max_mhz", doc_json_u64(d->clock_mem_max_mhz));
    return o;
}

static json_t *pcie_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "gen", doc_json_u64(d->pcie_gen));
    doc_json_put(o, "width", doc_json_u64(d->pcie_width));
    doc_json_put(o, "gen_max", doc_json_u64(d->pcie_gen_max));
    doc_json_put(o, "width_max", doc_json_u64(d->pcie_width_max));
    doc_json_put(o, "rx_kbps", doc_json_u64(d->pcie_rx_kbps));
    doc_json_put(o, "tx_kbps", doc_json_u64(d->pcie_tx_kbps));
    return o;
}

static void device_state_fields(json_t *o, const struct device *d)
{
    doc_json_put(o, "persistence_mode", doc_json_bool(d->persistence_mode));
    doc_json_put(o, "display_active", doc_json_bool(d->display_active));
    doc_json_put(o, "compute_mode", d->compute_mode.known
        ? json_string(model_compute_mode_name((enum compute_mode)d->compute_mode.v))
        : json_null());
    doc_json_put(o, "pstate", d->pstate.known ? json_sprintf("P%lld", (long long)d->pstate.v)
                                     : json_null());
    doc_json_put(o, "mig_mode", doc_json_bool(d->mig_mode));
    doc_json_put(o, "mig_mode_pending", doc_json_bool(d->mig_mode_pending));
    json_t *migs = json_array();
    for (size_t i = 0; migs && i < d->mig_count; i++)
        json_array_append_new(migs, mig_json(&d->migs[i]));
    doc_json_put(o, "mig_instances", migs);
    doc_json_put(o, "status", doc_json_str(d->status));
}

static json_t *device_json(const struct list_view *v, const struct device *d)
{
    size_t pids = 0;
    const struct gpu_process *top = list_top_process(v, d->index, &pids);
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "gpu_index", json_integer(d->index));
    doc_json_put(o, "name", doc_json_str(d->name));
    doc_json_put(o, "mem_used_mb", j_mib(d->mem_used_bytes));
    doc_json_put(o, "mem_total_mb", j_mib(d->mem_total_bytes));
    doc_json_put(o, "util_pct", j_pct(d->util_gpu_pct));
    doc_json_put(o, "temp_c", doc_json_i64(d->temp_c));
    doc_json_put(o, "power_w", j_watts(d->power_mw));
    doc_json_put(o, "ecc_volatile", doc_json_u64(d->ecc_volatile_uncorrected));
    doc_json_put(o, "pids", json_integer((json_int_t)pids));
    doc_json_put(o, "top_proc", top ? process_json(v, top) : json_null());
    doc_json_put(o, "vendor", json_string(model_vendor_name(d->vendor)));
    doc_json_put(o, "uuid", doc_json_str(d->uuid));
    doc_json_put(o, "pci_bus_id", doc_json_str(d->pci_bus_id));
    doc_json_put(o, "driver", doc_json_str(d->driver));
    doc_json_put(o, "driver_version", doc_json_str(d->driver_version));
    doc_json_put(o, "mem_free_mb", j_mib(d->mem_free_bytes));
    doc_json_put(o, "mem_reserved_mb", j_mib(d->mem_reserved_bytes));
    doc_json_put(o, "mem_util_pct", j_pct(d->util_mem_pct));
    doc_json_put(o, "enc_util_pct", j_pct(d->util_enc_pct));
    doc_json_put(o, "dec_util_pct", j_pct(d->util_dec_pct));
    doc_json_put(o, "temp_slowdown_c", doc_json_i64(d->temp_slowdown_c));
    doc_json_put(o, "temp_shutdown_c", doc_json_i64(d->temp_shutdown_c));
    doc_json_put(o, "power_limit_w", j_watts(d->power_limit_mw));
    doc_json_put(o, "fan_pct", j_pct(d->fan_pct));
    doc_json_put(o, "clocks", clocks_json(d));
    doc_json_put(o, "pcie", pcie_json(d));
    doc_json_put(o, "ecc_volatile_corrected", doc_json_u64(d->ecc_volatile_corrected));
    device_state_fields(o, d);
    doc_json_put(o, "gtt_used_mb", j_mib(d->gtt_used_bytes));
    doc_json_put(o, "gtt_total_mb", j_mib(d->gtt_total_bytes));
    doc_json_put(o, "temp_hotspot_c", doc_json_i64(d->temp_hotspot_c));
    doc_json_put(o, "temp_mem_c", doc_json_i64(d->temp_mem_c));
    doc_json_put(o, "fan_rpm", doc_json_u64(d->fan_rpm));
    return o;
}

static json_t *sources_json(const struct snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->source_count; i++) {
        json_t *o = json_object();
        if (!o)
            break;
        doc_json_put(o, "name", json_string(s->sources[i].name));
        doc_json_put(o, "started", json_boolean(s->sources[i].started));
        doc_json_put(o, "message", doc_json_str(s->sources[i].message));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *document(const struct list_view *v)
{
    const struct snapshot *s = v->snap;
    char ts[40];
    json_t *root = json_object();
    if (!root)
        return NULL;
    doc_json_put(root, "host", doc_json_str(s->host.hostname));
    double now = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    doc_json_put(root, "ts", units_format_rfc3339_utc(now, ts, sizeof ts) == 0 ? json_string(ts)
                                                                        : json_null());
    doc_json_put(root, "driver_version", doc_json_str(s->driver_version));
    doc_json_put(root, "cuda_version", doc_json_str(s->cuda_version));
    doc_json_put(root, "nvml_version", doc_json_str(s->nvml_version));
    doc_json_put(root, "sources", sources_json(s));
    json_t *gpus = json_array(), *procs = json_array();
    for (size_t i = 0; gpus && i < s->device_count; i++)
        if (v->device_visible[i])
            json_array_append_new(gpus, device_json(v, &s->devices[i]));
    for (size_t i = 0; procs && i < v->proc_count; i++)
        json_array_append_new(procs, process_json(v, v->procs[i]));
    doc_json_put(root, "gpus", gpus);
    doc_json_put(root, "procs", procs);
    return root;
}

int list_render_json(const struct list_view *v, FILE *out, bool compact)
{
    json_t *root = document(v);
    return root ? doc_json_write(root, out, compact) : -ENOMEM;
}
