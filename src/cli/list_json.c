/* list_json.c - `gpuctl list --output json` (schema: docs/json/list.md).
 *
 * The first keys of each object are gpu-kill's, so scripts written for it
 * keep working; every other field follows under its own name.  Unknown is
 * null, never 0.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

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

static json_t *j_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *j_time(struct opt_f64 epoch)
{
    char buf[40];
    if (!epoch.known || units_format_rfc3339_utc(epoch.v, buf, sizeof buf) < 0)
        return json_null();
    return json_string(buf);
}

/* set_new steals the reference; a NULL value (ENOMEM) is simply skipped. */
static void put(json_t *obj, const char *key, json_t *value)
{
    if (value)
        json_object_set_new(obj, key, value);
}

static json_t *process_json(const struct list_view *v, const struct gpu_process *gp)
{
    const struct host_process *hp = snapshot_host_process(v->snap, gp->pid);
    bool host = hp && hp->exists;
    char cbuf[160];
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "gpu_index", json_integer(gp->device_index));
    put(o, "pid", json_integer(gp->pid));
    put(o, "user", j_str(host ? hp->user : NULL));
    put(o, "proc_name", j_str(host ? hp->name : NULL));
    put(o, "used_mem_mb", j_mib(gp->gpu_mem_bytes));
    put(o, "start_time", host ? j_time(hp->start_time) : json_null());
    put(o, "container", j_str(host ? list_container_text(&hp->container, false, cbuf, sizeof cbuf)
                                   : NULL));
    const struct device *d = snapshot_device(v->snap, gp->device_index);
    put(o, "gpu_uuid", j_str(d ? d->uuid : NULL));
    put(o, "type", json_string(model_gpu_process_type_name(gp->type)));
    put(o, "used_mem_bytes", j_u64(gp->gpu_mem_bytes));
    put(o, "sm_pct", j_f64(gp->sm_pct));
    put(o, "mem_bw_pct", j_f64(gp->mem_bw_pct));
    put(o, "enc_pct", j_f64(gp->enc_pct));
    put(o, "dec_pct", j_f64(gp->dec_pct));
    put(o, "gpu_instance_id", j_u64(gp->gpu_instance_id));
    put(o, "compute_instance_id", j_u64(gp->compute_instance_id));
    put(o, "host_visible", json_boolean(host));
    put(o, "uid", host ? j_i64(hp->uid) : json_null());
    put(o, "ppid", host ? j_i64(hp->ppid) : json_null());
    put(o, "cmdline", j_str(host ? hp->cmdline : NULL));
    put(o, "state", host && hp->state ? json_sprintf("%c", hp->state) : json_null());
    put(o, "elapsed_s", host ? j_f64(hp->elapsed_s) : json_null());
    put(o, "cpu_pct", host ? j_f64(hp->cpu_pct) : json_null());
    put(o, "host_rss_bytes", host ? j_u64(hp->rss_bytes) : json_null());
    put(o, "host_mem_pct", host ? j_f64(hp->mem_pct) : json_null());
    put(o, "other_pid_namespace", host ? j_bool(hp->other_pidns) : json_null());
    if (v->containers) {
        bool has = host && hp->container.kind != CONTAINER_NONE;
        put(o, "container_kind", has ? json_string(model_container_kind_name(hp->container.kind))
                                     : json_null());
        put(o, "container_id", j_str(has ? hp->container.id : NULL));
        put(o, "pod_uid", j_str(has ? hp->container.pod_uid : NULL));
    }
    return o;
}

static json_t *mig_json(const struct mig_instance *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "gpu_instance_id", json_integer(m->gpu_instance_id));
    put(o, "compute_instance_id", json_integer(m->compute_instance_id));
    put(o, "uuid", j_str(m->uuid));
    put(o, "name", j_str(m->name));
    put(o, "mem_used_mb", j_mib(m->mem_used_bytes));
    put(o, "mem_total_mb", j_mib(m->mem_total_bytes));
    return o;
}

static json_t *clocks_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "graphics_mhz", j_u64(d->clock_graphics_mhz));
    put(o, "sm_mhz", j_u64(d->clock_sm_mhz));
    put(o, "mem_mhz", j_u64(d->clock_mem_mhz));
    put(o, "graphics_max_mhz", j_u64(d->clock_graphics_max_mhz));
    put(o, "sm_max_mhz", j_u64(d->clock_sm_max_mhz));
    put(o, "mem_max_mhz", j_u64(d->clock_mem_max_mhz));
    return o;
}

static json_t *pcie_json(const struct device *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "gen", j_u64(d->pcie_gen));
    put(o, "width", j_u64(d->pcie_width));
    put(o, "gen_max", j_u64(d->pcie_gen_max));
    put(o, "width_max", j_u64(d->pcie_width_max));
    put(o, "rx_kbps", j_u64(d->pcie_rx_kbps));
    put(o, "tx_kbps", j_u64(d->pcie_tx_kbps));
    return o;
}

static void device_state_fields(json_t *o, const struct device *d)
{
    put(o, "persistence_mode", j_bool(d->persistence_mode));
    put(o, "display_active", j_bool(d->display_active));
    put(o, "compute_mode", d->compute_mode.known
        ? json_string(model_compute_mode_name((enum compute_mode)d->compute_mode.v))
        : json_null());
    put(o, "pstate", d->pstate.known ? json_sprintf("P%lld", (long long)d->pstate.v)
                                     : json_null());
    put(o, "mig_mode", j_bool(d->mig_mode));
    put(o, "mig_mode_pending", j_bool(d->mig_mode_pending));
    json_t *migs = json_array();
    for (size_t i = 0; migs && i < d->mig_count; i++)
        json_array_append_new(migs, mig_json(&d->migs[i]));
    put(o, "mig_instances", migs);
    put(o, "status", j_str(d->status));
}

static json_t *device_json(const struct list_view *v, const struct device *d)
{
    size_t pids = 0;
    const struct gpu_process *top = list_top_process(v, d->index, &pids);
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "gpu_index", json_integer(d->index));
    put(o, "name", j_str(d->name));
    put(o, "mem_used_mb", j_mib(d->mem_used_bytes));
    put(o, "mem_total_mb", j_mib(d->mem_total_bytes));
    put(o, "util_pct", j_f64(d->util_gpu_pct));
    put(o, "temp_c", j_i64(d->temp_c));
    put(o, "power_w", j_watts(d->power_mw));
    put(o, "ecc_volatile", j_u64(d->ecc_volatile_uncorrected));
    put(o, "pids", json_integer((json_int_t)pids));
    put(o, "top_proc", top ? process_json(v, top) : json_null());
    put(o, "vendor", json_string(model_vendor_name(d->vendor)));
    put(o, "uuid", j_str(d->uuid));
    put(o, "pci_bus_id", j_str(d->pci_bus_id));
    put(o, "driver", j_str(d->driver));
    put(o, "driver_version", j_str(d->driver_version));
    put(o, "mem_free_mb", j_mib(d->mem_free_bytes));
    put(o, "mem_reserved_mb", j_mib(d->mem_reserved_bytes));
    put(o, "mem_util_pct", j_f64(d->util_mem_pct));
    put(o, "enc_util_pct", j_f64(d->util_enc_pct));
    put(o, "dec_util_pct", j_f64(d->util_dec_pct));
    put(o, "temp_slowdown_c", j_i64(d->temp_slowdown_c));
    put(o, "temp_shutdown_c", j_i64(d->temp_shutdown_c));
    put(o, "power_limit_w", j_watts(d->power_limit_mw));
    put(o, "fan_pct", j_f64(d->fan_pct));
    put(o, "clocks", clocks_json(d));
    put(o, "pcie", pcie_json(d));
    put(o, "ecc_volatile_corrected", j_u64(d->ecc_volatile_corrected));
    device_state_fields(o, d);
    return o;
}

static json_t *sources_json(const struct snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->source_count; i++) {
        json_t *o = json_object();
        if (!o)
            break;
        put(o, "name", json_string(s->sources[i].name));
        put(o, "started", json_boolean(s->sources[i].started));
        put(o, "message", j_str(s->sources[i].message));
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
    put(root, "host", j_str(s->host.hostname));
    double now = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    put(root, "ts", units_format_rfc3339_utc(now, ts, sizeof ts) == 0 ? json_string(ts)
                                                                        : json_null());
    put(root, "driver_version", j_str(s->driver_version));
    put(root, "cuda_version", j_str(s->cuda_version));
    put(root, "nvml_version", j_str(s->nvml_version));
    put(root, "sources", sources_json(s));
    json_t *gpus = json_array(), *procs = json_array();
    for (size_t i = 0; gpus && i < s->device_count; i++)
        if (v->device_visible[i])
            json_array_append_new(gpus, device_json(v, &s->devices[i]));
    for (size_t i = 0; procs && i < v->proc_count; i++)
        json_array_append_new(procs, process_json(v, v->procs[i]));
    put(root, "gpus", gpus);
    put(root, "procs", procs);
    return root;
}

int list_render_json(const struct list_view *v, FILE *out, bool compact)
{
    json_t *root = document(v);
    if (!root)
        return -ENOMEM;
    size_t flags = JSON_PRESERVE_ORDER | (compact ? JSON_COMPACT : JSON_INDENT(2));
    int rc = json_dumpf(root, out, flags);
    json_decref(root);
    if (rc < 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
        return -(errno ? errno : EIO);
    return 0;
}
