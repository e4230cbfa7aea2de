/* list_json.c - `gpuctl list --output json` (schema: docs/json/list.md).
 *
 * The first keys of each object are gpu-kill's, so scripts written for it
 * keep working; every other field follows under its own name.  Unknown is
 * null, never 0.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "cli/json_out.h"
#include "cli/list.h"
#include "core/units.h"

static json_t *j_u64(struct opt_u64 o)
{
    return o.known ? json_integer((json_int_t)o.v) : json_null();
}

static json_t *j_i64(struct opt_i64 o)
{
    return o.known ? json_integer((json_int_t)o.v) : json_null();
}

static json_t *j_f64(struct opt_f64 o)
{
    return o.known && isfinite(o.v) ? json_real(o.v) : json_null();
}

static json_t *j_mib(struct opt_u64 bytes)
{
    return bytes.known ? json_integer((json_int_t)units_bytes_to_mib(bytes.v)) : json_null();
}

static json_t *j_watts(struct opt_u64 mw)
{
    return mw.known ? json_real((double)mw.v / 1000.0) : json_null();
}

static json_t *j_bool(struct opt_i64 o)
{
    return o.known ? json_boolean(o.v != 0) : json_null();
}




/* DRM engine utilisation by engine class; {} for other processes. */
static json_t *engines_json(const struct gpu_process *gp)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < gp->engine_count && i < GPU_PROC_MAX_ENGINES; i++)
        json_out_put(o, gp->engines[i].name, j_f64(gp->engine_pct[i]));
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
    json_out_put(o, "gpu_index", json_integer(gp->device_index));
    json_out_put(o, "pid", json_integer(gp->pid));
    json_out_put(o, "user", json_out_str(host ? hp->user : NULL));
    json_out_put(o, "proc_name", json_out_str(host ? hp->name : NULL));
    json_out_put(o, "used_mem_mb", j_mib(gp->gpu_mem_bytes));
    json_out_put(o, "start_time", host ? json_out_time(hp->start_time) : json_null());
    json_out_put(o, "container", json_out_str(host ? list_container_text(&hp->container, false, cbuf, sizeof cbuf)
                                   : NULL));
    const struct device *d = snapshot_device(v->snap, gp->device_index);
    json_out_put(o, "gpu_uuid", json_out_str(d ? d->uuid : NULL));
    json_out_put(o, "type", json_string(model_gpu_process_type_name(gp->type)));
    json_out_put(o, "used_mem_bytes", j_u64(gp->gpu_mem_bytes));
    json_out_put(o, "sm_pct", j_f64(gp->sm_pct));
    json_out_put(o, "mem_bw_pct", j_f64(gp->mem_bw_pct));
    json_out_put(o, "enc_pct", j_f64(gp->enc_pct));
    json_out_put(o, "dec_pct", j_f64(gp->dec_pct));
    json_out_put(o, "gpu_instance_id", j_u64(gp->gpu_instance_id));
    json_out_put(o, "compute_instance_id", j_u64(gp->compute_instance_id));
    json_out_put(o, "host_visible", json_boolean(host));
    json_out_put(o, "uid", host ? j_i64(hp->uid) : json_null());
    json_out_put(o, "ppid", host ? j_i64(hp->ppid) : json_null());
    json_out_put(o, "cmdline", json_out_str(host ? hp->cmdline : NULL));
    json_out_put(o, "state", host && hp->state ? json_sprintf("%c", hp->state) : json_null());
    json_out_put(o, "elapsed_s", host ? j_f64(hp->elapsed_s) : json_null());
    json_out_put(o, "cpu_pct", host ? j_f64(hp->cpu_pct) : json_null());
    json_out_put(o, "host_rss_bytes", host ? j_u64(hp->rss_bytes) : json_null());
    json_out_put(o, "host_mem_pct", host ? j_f64(hp->mem_pct) : json_null());
    json_out_put(o, "other_pid_namespace", host ? j_bool(hp->other_pidns) : json_null());
    json_out_put(o, "used_sys_mem_bytes", j_u64(gp->gpu_sys_mem_bytes));
    json_out_put(o, "engines_pct", engines_json(gp));
    if (v->containers) {
        bool has = host && hp->container.kind != CONTAINER_NONE;
        json_out_put(o, "container_kind", has ? json_string(model_container_kind_name(hp->container.kind))
                                     : json_null());
        json_out_put(o, "container_id", json_out_str(has ? hp->container.id : NULL));
        json_out_put(o, "pod_uid", json_out_str(has ? hp->container.pod_uid : NULL));
    }
    return o;
}

static json_t *mig_json(const struct mig_instance *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_out_put(o, "gpu_instance_id", json_integer(m->gpu_instance_id));
    json_out_put(o, "compute_instance_id", json_integer(m->compute_instance_id));
    json_out_put(o, "uuid", json_out_str(m->uuid));
    json_out_put(o, "name", json_out_str(m->name));
    json_out_put(o, "mem_used_mb", j_mib(m->mem_used_bytes));
    json_out_put(o, "mem_total_mb", j_mib(m->mem_total_bytes));
    return o;
}

static json_t *clocks_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_out_put(o, "graphics_mhz", j_u64(d->clock_graphics_mhz));
    json_out_put(o, "sm_mhz", j_u64(d->clock_sm_mhz));
    json_out_put(o, "mem_mhz", j_u64(d->clock_mem_mhz));
    json_out_put(o, "graphics_max_mhz", j_u64(d->clock_graphics_max_mhz));
    json_out_put(o, "sm_max_mhz", j_u64(d->clock_sm_max_mhz));
    json_out_put(o, "mem_max_mhz", j_u64(d->clock_mem_max_mhz));
    return o;
}

static json_t *pcie_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_out_put(o, "gen", j_u64(d->pcie_gen));
    json_out_put(o, "width", j_u64(d->pcie_width));
    json_out_put(o, "gen_max", j_u64(d->pcie_gen_max));
    json_out_put(o, "width_max", j_u64(d->pcie_width_max));
    json_out_put(o, "rx_kbps", j_u64(d->pcie_rx_kbps));
    json_out_put(o, "tx_kbps", j_u64(d->pcie_tx_kbps));
    return o;
}

static void device_state_fields(json_t *o, const struct device *d)
{
    json_out_put(o, "persistence_mode", j_bool(d->persistence_mode));
    json_out_put(o, "display_active", j_bool(d->display_active));
    json_out_put(o, "compute_mode", d->compute_mode.known
        ? json_string(model_compute_mode_name((enum compute_mode)d->compute_mode.v))
        : json_null());
    json_out_put(o, "pstate", d->pstate.known ? json_sprintf("P%lld", (long long)d->pstate.v)
                                     : json_null());
    json_out_put(o, "mig_mode", j_bool(d->mig_mode));
    json_out_put(o, "mig_mode_pending", j_bool(d->mig_mode_pending));
    json_t *migs = json_array();
    for (size_t i = 0; migs && i < d->mig_count; i++)
        json_array_append_new(migs, mig_json(&d->migs[i]));
    json_out_put(o, "mig_instances", migs);
    json_out_put(o, "status", json_out_str(d->status));
}

static json_t *device_json(const struct list_view *v, const struct device *d)
{
    size_t pids = 0;
    const struct gpu_process *top = list_top_process(v, d->index, &pids);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_out_put(o, "gpu_index", json_integer(d->index));
    json_out_put(o, "name", json_out_str(d->name));
    json_out_put(o, "mem_used_mb", j_mib(d->mem_used_bytes));
    json_out_put(o, "mem_total_mb", j_mib(d->mem_total_bytes));
    json_out_put(o, "util_pct", j_f64(d->util_gpu_pct));
    json_out_put(o, "temp_c", j_i64(d->temp_c));
    json_out_put(o, "power_w", j_watts(d->power_mw));
    json_out_put(o, "ecc_volatile", j_u64(d->ecc_volatile_uncorrected));
    json_out_put(o, "pids", json_integer((json_int_t)pids));
    json_out_put(o, "top_proc", top ? process_json(v, top) : json_null());
    json_out_put(o, "vendor", json_string(model_vendor_name(d->vendor)));
    json_out_put(o, "uuid", json_out_str(d->uuid));
    json_out_put(o, "pci_bus_id", json_out_str(d->pci_bus_id));
    json_out_put(o, "driver", json_out_str(d->driver));
    json_out_put(o, "driver_version", json_out_str(d->driver_version));
    json_out_put(o, "mem_free_mb", j_mib(d->mem_free_bytes));
    json_out_put(o, "mem_reserved_mb", j_mib(d->mem_reserved_bytes));
    json_out_put(o, "mem_util_pct", j_f64(d->util_mem_pct));
    json_out_put(o, "enc_util_pct", j_f64(d->util_enc_pct));
    json_out_put(o, "dec_util_pct", j_f64(d->util_dec_pct));
    json_out_put(o, "temp_slowdown_c", j_i64(d->temp_slowdown_c));
    json_out_put(o, "temp_shutdown_c", j_i64(d->temp_shutdown_c));
    json_out_put(o, "power_limit_w", j_watts(d->power_limit_mw));
    json_out_put(o, "fan_pct", j_f64(d->fan_pct));
    json_out_put(o, "clocks", clocks_json(d));
    json_out_put(o, "pcie", pcie_json(d));
    json_out_put(o, "ecc_volatile_corrected", j_u64(d->ecc_volatile_corrected));
    device_state_fields(o, d);
    json_out_put(o, "gtt_used_mb", j_mib(d->gtt_used_bytes));
    json_out_put(o, "gtt_total_mb", j_mib(d->gtt_total_bytes));
    json_out_put(o, "temp_hotspot_c", j_i64(d->temp_hotspot_c));
    json_out_put(o, "temp_mem_c", j_i64(d->temp_mem_c));
    json_out_put(o, "fan_rpm", j_u64(d->fan_rpm));
    return o;
}

static json_t *sources_json(const struct snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->source_count; i++) {
        json_t *o = json_object();
        if (!o)
            break;
        json_out_put(o, "name", json_string(s->sources[i].name));
        json_out_put(o, "started", json_boolean(s->sources[i].started));
        json_out_put(o, "message", json_out_str(s->sources[i].message));
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
    json_out_put(root, "host", json_out_str(s->host.hostname));
    double now = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    json_out_put(root, "ts", units_format_rfc3339_utc(now, ts, sizeof ts) == 0 ? json_string(ts)
                                                                        : json_null());
    json_out_put(root, "driver_version", json_out_str(s->driver_version));
    json_out_put(root, "cuda_version", json_out_str(s->cuda_version));
    json_out_put(root, "nvml_version", json_out_str(s->nvml_version));
    json_out_put(root, "sources", sources_json(s));
    json_t *gpus = json_array(), *procs = json_array();
    for (size_t i = 0; gpus && i < s->device_count; i++)
        if (v->device_visible[i])
            json_array_append_new(gpus, device_json(v, &s->devices[i]));
    for (size_t i = 0; procs && i < v->proc_count; i++)
        json_array_append_new(procs, process_json(v, v->procs[i]));
    json_out_put(root, "gpus", gpus);
    json_out_put(root, "procs", procs);
    return root;
}

int list_render_json(const struct list_view *v, FILE *out, bool compact)
{
    json_t *root = document(v);
    return root ? json_out_write(root, out, compact) : -ENOMEM;
}
