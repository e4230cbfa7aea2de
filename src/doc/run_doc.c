/* run_doc.c - the run report and its chart data (run_doc.h).
 *
 * Sizes are KiB as in memwatch, GPU memory bytes as everywhere else in
 * gpuctl.  The figures are src/jobs's; this file names them.
 */
#include "doc/run_doc.h"

#include <stdlib.h>
#include <sys/wait.h>

#include "doc/build.h"
#include "doc/json.h"

const char *doc_run_limit_flag(enum run_limit k)
{
    return k == RUN_LIMIT_TOTAL ? "--max-total-rss" : "--max-per-proc-rss";
}

static json_t *time_json(double epoch)
{
    return doc_json_time((struct opt_f64){epoch, epoch > 0});
}

/* ---- the report ------------------------------------------------------------------- */

static json_t *exit_code_json(struct opt_i64 status)
{
    if (!status.known)
        return json_null();
    int st = (int)status.v;
    return json_integer(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
}

static json_t *proc_json(struct doc_build *b, const struct doc_run_request *v,
                         const struct run_proc *p)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "pid", json_integer(p->pid));
    doc_put(b, o, "ppid", json_integer(p->ppid));
    doc_put(b, o, "command", doc_json_text(p->command));
    doc_put(b, o, "max_rss_kib", p->peak_source == RUN_PEAK_NONE
                                     ? json_null() : json_integer((json_int_t)p->max_rss_kib));
    doc_put(b, o, "first_seen", time_json(p->first_seen));
    doc_put(b, o, "last_seen", time_json(p->last_seen));
    doc_put(b, o, "cmdline", doc_json_str(p->cmdline));
    doc_put(b, o, "exe", doc_json_str(p->exe));
    doc_put(b, o, "peak_source", json_string(run_peak_source_name(p->peak_source)));
    doc_put(b, o, "reaped_by_gpuctl", json_boolean(p->reaped));
    doc_put(b, o, "exit_code", exit_code_json(p->exit_status));
    doc_put(b, o, "leak_suspect", json_boolean(p->leak_suspect));
    doc_put(b, o, "leak_growth_pct", p->point_count >= 8 ? doc_json_real(p->leak_growth_pct, DOC_JSON_PCT_DECIMALS)
                                                         : json_null());
    if (v->r->gpu) {
        doc_put(b, o, "gpu_mem_peak_bytes", doc_json_u64(p->gpu_mem_peak_bytes));
        doc_put(b, o, "gpu_sm_peak_pct", doc_json_f64(p->gpu_sm_peak_pct, -1));
    }
    return o;
}

static json_t *groups_json(struct doc_build *b, const struct doc_run_request *v)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < v->group_count; i++) {
        const struct run_group *g = &v->groups[i];
        json_t *o = doc_object(b);
        doc_put(b, o, "name", doc_json_text(g->key));
        doc_put(b, o, "process_count", json_integer((json_int_t)g->process_count));
        doc_put(b, o, "total_peak_kib", json_integer((json_int_t)g->total_peak_kib));
        doc_put(b, o, "max_peak_kib", json_integer((json_int_t)g->max_peak_kib));
        if (v->r->gpu)
            doc_put(b, o, "gpu_mem_peak_bytes", doc_json_u64(g->gpu_mem_peak_bytes));
        doc_append(b, a, o);
    }
    return a;
}

static json_t *breach_json(struct doc_build *b, const struct run_report *r)
{
    const struct run_breach *br = &r->breach;
    if (br->kind == RUN_LIMIT_NONE)
        return json_null();
    json_t *o = doc_object(b);
    doc_put(b, o, "kind", json_string(doc_run_limit_flag(br->kind) + 2));
    doc_put(b, o, "exit_code", json_integer(br->kind));
    doc_put(b, o, "at", time_json(br->at));
    doc_put(b, o, "elapsed_seconds", doc_json_real(br->at - r->start_time, 3));
    doc_put(b, o, "value_kib", json_integer((json_int_t)br->value_kib));
    doc_put(b, o, "limit_kib", json_integer((json_int_t)br->limit_kib));
    doc_put(b, o, "pid", br->pid ? json_integer(br->pid) : json_null());
    doc_put(b, o, "command", doc_json_str(br->command));
    doc_put(b, o, "killed", json_boolean(br->killed));
    return o;
}

static void put_exit(struct doc_build *b, json_t *root, const struct run_report *r)
{
    doc_put(b, root, "exit_code", json_integer(r->exit_code));
    doc_put(b, root, "signal", WIFSIGNALED(r->wait_status)
                                   ? json_integer(WTERMSIG(r->wait_status)) : json_null());
    doc_put(b, root, "forwarded_signal",
            r->forwarded_signal ? json_integer(r->forwarded_signal) : json_null());
    doc_put(b, root, "limit_exceeded", breach_json(b, r));
}

static void put_memory(struct doc_build *b, json_t *root, const struct run_report *r)
{
    doc_put(b, root, "max_total_rss_kib", json_integer((json_int_t)r->max_total_rss_kib));
    doc_put(b, root, "method", json_string(run_method_name(r->method)));
    doc_put(b, root, "exact", json_false());      /* the total is sampled (docs/json/run.md) */
    doc_put(b, root, "cgroup_peak_kib", doc_json_u64(r->cgroup_peak_kib));
    doc_put(b, root, "method_note", doc_json_str(r->method_note));
    doc_put(b, root, "pss", json_boolean(r->pss));
    doc_put(b, root, "exit_records", json_boolean(r->exit_records));
    doc_put(b, root, "exit_records_lost", json_boolean(r->exit_records_lost));
    doc_put(b, root, "exit_records_note", doc_json_str(r->exit_note));
    doc_put(b, root, "lower_bound", json_boolean(r->lower_bound));
    doc_put(b, root, "sampled_max_total_kib", json_integer((json_int_t)r->sampled_max_total_kib));
    doc_put(b, root, "sampled_max_total_at", time_json(r->max_total_at));
    const struct run_proc *top = run_report_top(r);
    doc_put(b, root, "max_process_rss_kib",
            top ? json_integer((json_int_t)top->max_rss_kib) : json_null());
    doc_put(b, root, "max_process_pid", top ? json_integer(top->pid) : json_null());
    doc_put(b, root, "gpu", json_boolean(r->gpu));
    doc_put(b, root, "gpu_total_peak_bytes", r->gpu ? doc_json_u64(r->gpu_total_peak_bytes)
                                                    : json_null());
}

static json_t *leak_json(struct doc_build *b, const struct doc_run_request *v)
{
    json_t *leak = doc_object(b);
    doc_put(b, leak, "min_growth_pct", doc_json_real(v->leak_min_growth_pct, DOC_JSON_PCT_DECIMALS));
    doc_put(b, leak, "min_duration_seconds", doc_json_real(v->leak_min_duration_s, 3));
    return leak;
}

json_t *doc_run_build(const struct doc_run_request *v, struct error *e)
{
    const struct run_report *r = v->r;
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *cmd = doc_array(&b), *procs = doc_array(&b);
    for (size_t i = 0; cmd && r->argv[i]; i++)
        doc_append(&b, cmd, doc_json_text(r->argv[i]));
    doc_put(&b, root, "command", cmd);
    doc_put(&b, root, "start_time", time_json(r->start_time));
    doc_put(&b, root, "end_time", time_json(r->end_time));
    doc_put(&b, root, "duration_seconds", doc_json_real(r->duration_s, 3));
    doc_put(&b, root, "interval_ms", json_integer(r->interval_ms));
    doc_put(&b, root, "samples", json_integer((json_int_t)r->sample_count));
    put_memory(&b, root, r);
    put_exit(&b, root, r);
    for (size_t i = 0; procs && i < r->proc_count; i++)
        doc_append(&b, procs, proc_json(&b, v, &r->procs[i]));
    doc_put(&b, root, "processes", procs);
    doc_put(&b, root, "group_by", json_string(run_group_by_name(v->group_by)));
    doc_put(&b, root, "groups", groups_json(&b, v));
    doc_put(&b, root, "leak_heuristic", leak_json(&b, v));
    return doc_finish(&b, root, e);
}

/* ---- the chart data ------------------------------------------------------------- */

/* The stacked series: for each group, the sum of its members' points at
 * each sample.  Each process's group is looked up once. */
static json_t *group_series(struct doc_build *b, const struct doc_run_request *v)
{
    const struct run_report *r = v->r;
    size_t ns = r->sample_count ? r->sample_count : 1;
    uint64_t *sum = calloc(v->group_count * ns + 1, sizeof *sum);
    json_t *groups = doc_array(b);
    if (!sum || !groups) {
        b->failed = true;
        free(sum);
        return groups;
    }
    for (size_t i = 0; i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        int g = run_group_index(v->groups, v->group_count, p, v->group_by);
        for (size_t k = 0; g >= 0 && k < p->point_count; k++)
            if (p->points[k].sample < r->sample_count)
                sum[(size_t)g * ns + p->points[k].sample] += p->points[k].rss_kib;
    }
    for (size_t g = 0; g < v->group_count; g++) {
        json_t *vals = doc_array(b), *o = doc_object(b);
        for (size_t s = 0; vals && s < r->sample_count; s++)
            doc_append(b, vals, json_integer((json_int_t)sum[g * ns + s]));
        doc_put(b, o, "name", doc_json_text(v->groups[g].key));
        doc_put(b, o, "values", vals);
        doc_append(b, groups, o);
    }
    free(sum);
    return groups;
}

static json_t *points_json(struct doc_build *b, const struct run_proc *p)
{
    json_t *pts = doc_array(b);
    for (size_t k = 0; pts && k < p->point_count; k++) {
        json_t *pt = doc_array(b);
        doc_append(b, pt, json_integer((json_int_t)p->points[k].sample));
        doc_append(b, pt, json_integer((json_int_t)p->points[k].rss_kib));
        doc_append(b, pts, pt);
    }
    return pts;
}

static json_t *proc_series(struct doc_build *b, const struct doc_run_request *v)
{
    const struct run_report *r = v->r;
    json_t *procs = doc_array(b);
    for (size_t i = 0; procs && i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        json_t *o = doc_object(b);
        doc_put(b, o, "pid", json_integer(p->pid));
        doc_put(b, o, "ppid", json_integer(p->ppid));
        doc_put(b, o, "command", doc_json_text(p->command));
        doc_put(b, o, "cmdline", doc_json_str(p->cmdline));
        doc_put(b, o, "peak_kib", json_integer((json_int_t)p->max_rss_kib));
        doc_put(b, o, "first", doc_json_real(p->first_seen - r->start_time, 3));
        doc_put(b, o, "last", doc_json_real(p->last_seen - r->start_time, 3));
        doc_put(b, o, "points", points_json(b, p));
        doc_append(b, procs, o);
    }
    return procs;
}

json_t *doc_run_chart_build(const struct doc_run_request *v, struct error *e)
{
    const struct run_report *r = v->r;
    struct doc_build b = {0};
    json_t *t = doc_array(&b);
    for (size_t s = 0; t && s < r->sample_count; s++)
        doc_append(&b, t, doc_json_real(r->timeline[s].elapsed_s, 3));
    json_t *d = doc_object(&b);
    doc_put(&b, d, "t", t);
    doc_put(&b, d, "duration", doc_json_real(r->duration_s, 3));
    doc_put(&b, d, "groups", group_series(&b, v));
    doc_put(&b, d, "procs", proc_series(&b, v));
    return doc_finish(&b, d, e);
}
