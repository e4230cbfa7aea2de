/* analyze_doc.c - the trace analysis document (analyze_doc.h).  The
 * figures come from src/trace/analyze.c in one streaming pass; scope paths
 * (components joined by ANALYZE_PATH_SEP) become arrays of names.
 */
#include "doc/analyze_doc.h"

#include <string.h>

#include "doc/build.h"
#include "doc/json.h"

static json_t *path_array(struct doc_build *b, const char *path)
{
    if (!path)
        return json_null();
    json_t *a = doc_array(b);
    for (const char *p = path; a && *p;) {
        const char *sep = strchr(p, ANALYZE_PATH_SEP);
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        doc_append(b, a, doc_json_stringn(p, n));
        if (!sep)
            break;
        p = sep + 1;
    }
    return a;
}

static json_t *dims(struct doc_build *b, const int64_t v[3])
{
    json_t *a = doc_array(b);
    for (int i = 0; a && i < 3; i++)
        doc_append(b, a, json_integer((json_int_t)v[i]));
    return a;
}

static json_t *count(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *drops_json(struct doc_build *b, const struct analyze_result *r)
{
    if (!r->have_summary)
        return json_null();
    json_t *o = doc_object(b);
    doc_put(b, o, "ring", count(r->ring_drops));
    doc_put(b, o, "cupti", count(r->cupti_drops));
    doc_put(b, o, "names", count(r->name_drops));
    doc_put(b, o, "unattributed_kernels", count(r->unattributed));
    return o;
}

static json_t *summary_json(struct doc_build *b, const struct analyze_result *r)
{
    json_t *sum = doc_object(b);
    doc_put(b, sum, "command", doc_json_text(r->command));
    doc_put(b, sum, "host", doc_json_str(r->host));
    doc_put(b, sum, "pid", r->pid >= 0 ? json_integer(r->pid) : json_null());
    doc_put(b, sum, "recorder_error", doc_json_text(r->activity_error));
    doc_put(b, sum, "duration_ns", r->have_time ? count(r->t_max - r->t_min) : json_null());
    doc_put(b, sum, "kernels", count(r->kernels));
    doc_put(b, sum, "kernel_time_ns", count(r->kernel_ns));
    doc_put(b, sum, "memcpys", count(r->memcpys));
    doc_put(b, sum, "memcpy_bytes", count(r->memcpy_bytes));
    doc_put(b, sum, "memsets", count(r->memsets));
    doc_put(b, sum, "gpu_busy_pct", doc_json_f64(r->gpu_busy_pct, -1));
    doc_put(b, sum, "gpu_util_mean_pct", doc_json_f64(r->util_gpu_mean_pct, -1));
    doc_put(b, sum, "vram_peak_bytes", doc_json_u64(r->vram_peak_bytes));
    doc_put(b, sum, "vram_total_bytes", doc_json_u64(r->vram_total_bytes));
    doc_put(b, sum, "host_cpu_mean_pct", doc_json_f64(r->host_cpu_mean_pct, -1));
    doc_put(b, sum, "process_cpu_mean_pct", doc_json_f64(r->process_cpu_mean_pct, -1));
    doc_put(b, sum, "dropped", drops_json(b, r));
    doc_put(b, sum, "lines", count(r->lines));
    doc_put(b, sum, "corrupt_lines", count(r->corrupt_lines));
    doc_put(b, sum, "unknown_lines", count(r->unknown_lines));
    doc_put(b, sum, "files", count(r->files));
    return sum;
}

static json_t *scope_json(struct doc_build *b, const struct analyze_scope *s)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "path", path_array(b, s->path));
    doc_put(b, o, "name", doc_json_text(s->name));
    doc_put(b, o, "depth", count(s->depth));
    doc_put(b, o, "calls", count(s->calls));
    doc_put(b, o, "total_ns", count(s->total_ns));
    doc_put(b, o, "self_ns", count(s->self_ns));
    doc_put(b, o, "kernels", count(s->kernels));
    doc_put(b, o, "gpu_ns", count(s->gpu_ns));
    doc_put(b, o, "kernels_self", count(s->kernels_self));
    doc_put(b, o, "gpu_self_ns", count(s->gpu_self_ns));
    return o;
}

static json_t *kernel_scopes(struct doc_build *b, const struct analyze_kernel *k)
{
    json_t *ks = doc_array(b);
    for (size_t s = 0; ks && s < k->scope_count; s++) {
        json_t *o = doc_object(b);
        doc_put(b, o, "path", path_array(b, k->scopes[s].path));
        doc_put(b, o, "count", count(k->scopes[s].count));
        doc_append(b, ks, o);
    }
    return ks;
}

static json_t *kernel_json(struct doc_build *b, const struct analyze_kernel *k)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "name", doc_json_text(k->name));
    doc_put(b, o, "count", count(k->count));
    doc_put(b, o, "total_ns", count(k->total_ns));
    doc_put(b, o, "mean_ns", count(k->count ? k->total_ns / k->count : 0));
    doc_put(b, o, "min_ns", count(k->min_ns));
    doc_put(b, o, "max_ns", count(k->max_ns));
    doc_put(b, o, "grid", dims(b, k->grid));
    doc_put(b, o, "block", dims(b, k->block));
    doc_put(b, o, "dims_vary", json_boolean(k->dims_vary));
    doc_put(b, o, "registers", count(k->registers));
    doc_put(b, o, "static_smem", count(k->static_smem));
    doc_put(b, o, "dynamic_smem", count(k->dynamic_smem));
    doc_put(b, o, "scopes", kernel_scopes(b, k));
    doc_put(b, o, "other_scope_launches", count(k->other_scopes));
    return o;
}

json_t *doc_analyze_build(const struct analyze_result *r, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *scopes = doc_array(&b), *hot = doc_array(&b);
    doc_put(&b, root, "summary", summary_json(&b, r));
    for (size_t i = 0; scopes && i < r->scope_count; i++)
        doc_append(&b, scopes, scope_json(&b, &r->scopes[i]));
    doc_put(&b, root, "scopes", scopes);
    for (size_t i = 0; hot && i < r->hot_count; i++)
        doc_append(&b, hot, kernel_json(&b, &r->hot[i]));
    doc_put(&b, root, "hotspots", hot);
    return doc_finish(&b, root, e);
}
