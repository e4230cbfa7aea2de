/* run_output.c - the human summary, JSON, CSV and timeline of a finished
 * `gpuctl run` (run.h).
 *
 * The JSON keys that memwatch users already read keep memwatch's names
 * and meanings; docs/json/run.md is the schema.  Sizes are KiB as in
 * memwatch, GPU memory bytes as everywhere else in gpuctl.
 */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "doc/json.h"
#include "cli/run.h"
#include "core/csv.h"
#include "core/table.h"
#include "core/units.h"

static void kib_text(uint64_t kib, char *buf, size_t size)
{
    units_format_bytes(kib * 1024, buf, size);
}

static void time_text(double epoch, char *buf, size_t size)
{
    if (units_format_rfc3339_utc(epoch, buf, size) < 0)
        snprintf(buf, size, "?");
}

static const char *limit_flag(enum run_limit k)
{
    return k == RUN_LIMIT_TOTAL ? "--max-total-rss" : "--max-per-proc-rss";
}

/* ---- summary --------------------------------------------------------------------------- */

static void print_head(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    char a[UNITS_BYTES_BUFSZ], dur[UNITS_ELAPSED_BUFSZ];
    fputs("Job:             ", out);
    for (size_t i = 0; r->argv[i]; i++)
        fprintf(out, "%s%s", i ? " " : "", r->argv[i]);
    units_format_elapsed(r->duration_s, dur, sizeof dur);
    fprintf(out, "\nDuration:        %s (%.2f s)\nSamples:         %zu (every %u ms)\n", dur,
            r->duration_s, r->sample_count, r->interval_ms);
    kib_text(r->max_total_rss_kib, a, sizeof a);
    if (run_method_exact(r->method))
        fprintf(out, "Max total %s:   %s (exact: %s high-water mark)\n", r->pss ? "PSS" : "RSS",
                a, r->method == RUN_METHOD_CGROUP_V2 ? "cgroup v2 memory.peak"
                                                     : "cgroup v1 memory.max_usage_in_bytes");
    else
        fprintf(out, "Max total %s:   %s (sampled: sum of %s every %u ms%s)\n",
                r->pss ? "PSS" : "RSS", a, r->pss ? "PSS" : "RSS", r->interval_ms,
                r->method_note[0] ? "; no cgroup" : "");
    const struct run_proc *top = run_report_top(r);
    if (top) {
        kib_text(top->max_rss_kib, a, sizeof a);
        fprintf(out, "Max per process: %s (pid %d, %s)\n", a, (int)top->pid, top->command);
    }
    if (WIFSIGNALED(r->wait_status))
        fprintf(out, "Exit:            killed by signal %d (SIG%s), status %d\n",
                WTERMSIG(r->wait_status), sigabbrev_np(WTERMSIG(r->wait_status)) ?
                sigabbrev_np(WTERMSIG(r->wait_status)) : "?", r->exit_code);
    else
        fprintf(out, "Exit:            %d\n", r->exit_code);
}

static void print_breach(const struct run_report *r, FILE *out)
{
    const struct run_breach *b = &r->breach;
    if (b->kind == RUN_LIMIT_NONE)
        return;
    char val[UNITS_BYTES_BUFSZ], lim[UNITS_BYTES_BUFSZ], when[UNITS_RFC3339_BUFSZ];
    kib_text(b->value_kib, val, sizeof val);
    kib_text(b->limit_kib, lim, sizeof lim);
    time_text(b->at, when, sizeof when);
    fprintf(out, "Limit exceeded:  %s %s: %s", limit_flag(b->kind), lim, val);
    if (b->kind == RUN_LIMIT_PER_PROC)
        fprintf(out, " by pid %d (%s)", (int)b->pid, b->command);
    fprintf(out, " at %s (+%.1f s)%s\n", when, b->at - r->start_time,
            b->killed ? "; the job was killed" : "");
}

static int proc_table(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    struct table_column cols[] = {
        {"PID", TABLE_RIGHT, false, 0}, {"PPID", TABLE_RIGHT, false, 0},
        {"PEAK", TABLE_RIGHT, false, 0}, {"FROM", TABLE_LEFT, false, 0},
        {"GPU PEAK", TABLE_RIGHT, false, 0}, {"SM%", TABLE_RIGHT, false, 0},
        {"NOTE", TABLE_LEFT, false, 0}, {"COMMAND", TABLE_LEFT, true, 8},
    };
    struct table *t = table_new(cols, 8);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        char peak[UNITS_BYTES_BUFSZ], gpu[UNITS_BYTES_BUFSZ];
        kib_text(p->max_rss_kib, peak, sizeof peak);
        if (p->gpu_mem_peak_bytes.known)
            units_format_bytes(p->gpu_mem_peak_bytes.v, gpu, sizeof gpu);
        table_row(t);
        table_cell(t, 0, "%d", (int)p->pid);
        table_cell(t, 0, "%d", (int)p->ppid);
        table_cell(t, 0, "%s", p->peak_source == RUN_PEAK_NONE ? "N/A" : peak);
        table_cell(t, 0, "%s", run_peak_source_name(p->peak_source));
        table_cell(t, 0, "%s", r->gpu && p->gpu_mem_peak_bytes.known ? gpu : "N/A");
        if (p->gpu_sm_peak_pct.known)
            table_cell(t, 0, "%.0f", p->gpu_sm_peak_pct.v);
        else
            table_cell(t, 0, "N/A");
        if (p->leak_suspect)
            table_cell(t, 0, "leak? +%.0f%%", p->leak_growth_pct);
        else
            table_cell(t, 0, "%s", "");
        table_cell(t, 0, "%s", p->cmdline && *p->cmdline ? p->cmdline : p->command);
    }
    int rc = table_render(t, out, NULL);
    table_free(t);
    return rc;
}

static int group_table(const struct run_view *v, FILE *out)
{
    struct table_column cols[] = {
        {"GROUP", TABLE_LEFT, true, 8}, {"PROCS", TABLE_RIGHT, false, 0},
        {"SUM OF PEAKS", TABLE_RIGHT, false, 0}, {"LARGEST", TABLE_RIGHT, false, 0},
        {"GPU PEAK", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, 5);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < v->group_count; i++) {
        const struct run_group *g = &v->groups[i];
        char sum[UNITS_BYTES_BUFSZ], max[UNITS_BYTES_BUFSZ], gpu[UNITS_BYTES_BUFSZ];
        kib_text(g->total_peak_kib, sum, sizeof sum);
        kib_text(g->max_peak_kib, max, sizeof max);
        if (g->gpu_mem_peak_bytes.known)
            units_format_bytes(g->gpu_mem_peak_bytes.v, gpu, sizeof gpu);
        table_row(t);
        table_cell(t, 0, "%s", g->key);
        table_cell(t, 0, "%zu", g->process_count);
        table_cell(t, 0, "%s", sum);
        table_cell(t, 0, "%s", max);
        table_cell(t, 0, "%s", g->gpu_mem_peak_bytes.known ? gpu : "N/A");
    }
    int rc = table_render(t, out, NULL);
    table_free(t);
    return rc;
}

int run_print_summary(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    fputc('\n', out);
    print_head(v, out);
    print_breach(r, out);
    if (r->gpu) {
        char g[UNITS_BYTES_BUFSZ];
        if (r->gpu_total_peak_bytes.known)
            units_format_bytes(r->gpu_total_peak_bytes.v, g, sizeof g);
        fprintf(out, "GPU total peak:  %s (sampled)\n", r->gpu_total_peak_bytes.known ? g : "N/A");
    }
    if (r->forwarded_signal)
        fprintf(out, "Signal:          SIG%s was passed on to the job\n",
                sigabbrev_np(r->forwarded_signal) ? sigabbrev_np(r->forwarded_signal) : "?");
    fprintf(out, "\nPer-process peak %s:\n", r->pss ? "PSS" : "RSS");
    int rc = proc_table(v, out);
    if (rc == 0) {
        fprintf(out, "\nGroups (by %s):\n", run_group_by_name(v->group_by));
        rc = group_table(v, out);
    }
    if (rc == 0 && fflush(out) == EOF)
        rc = -errno;
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *time_json(double epoch)
{
    return doc_json_time((struct opt_f64){epoch, epoch > 0});
}

static json_t *opt_u64_json(struct opt_u64 v)
{
    return v.known ? json_integer((json_int_t)v.v) : json_null();
}

static json_t *proc_json(const struct run_view *v, const struct run_proc *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "pid", json_integer(p->pid));
    doc_json_put(o, "ppid", json_integer(p->ppid));
    doc_json_put(o, "command", json_string(p->command));
    doc_json_put(o, "max_rss_kib", json_integer((json_int_t)p->max_rss_kib));
    doc_json_put(o, "first_seen", time_json(p->first_seen));
    doc_json_put(o, "last_seen", time_json(p->last_seen));
    doc_json_put(o, "cmdline", doc_json_str(p->cmdline));
    doc_json_put(o, "exe", doc_json_str(p->exe));
    doc_json_put(o, "peak_source", json_string(run_peak_source_name(p->peak_source)));
    doc_json_put(o, "reaped_by_gpuctl", json_boolean(p->reaped));
    json_t *code = json_null();
    if (p->exit_status.known) {
        int st = (int)p->exit_status.v;
        code = json_integer(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
    }
    doc_json_put(o, "exit_code", code);
    doc_json_put(o, "leak_suspect", json_boolean(p->leak_suspect));
    doc_json_put(o, "leak_growth_pct", p->point_count >= 8 ? json_real(p->leak_growth_pct)
                                                           : json_null());
    if (v->r->gpu) {
        doc_json_put(o, "gpu_mem_peak_bytes", opt_u64_json(p->gpu_mem_peak_bytes));
        doc_json_put(o, "gpu_sm_peak_pct", p->gpu_sm_peak_pct.known
                                               ? json_real(p->gpu_sm_peak_pct.v) : json_null());
    }
    return o;
}

static json_t *groups_json(const struct run_view *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < v->group_count; i++) {
        const struct run_group *g = &v->groups[i];
        json_t *o = json_object();
        if (!o)
            continue;
        doc_json_put(o, "name", json_string(g->key));
        doc_json_put(o, "process_count", json_integer((json_int_t)g->process_count));
        doc_json_put(o, "total_peak_kib", json_integer((json_int_t)g->total_peak_kib));
        doc_json_put(o, "max_peak_kib", json_integer((json_int_t)g->max_peak_kib));
        if (v->r->gpu)
            doc_json_put(o, "gpu_mem_peak_bytes", opt_u64_json(g->gpu_mem_peak_bytes));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *breach_json(const struct run_report *r)
{
    const struct run_breach *b = &r->breach;
    if (b->kind == RUN_LIMIT_NONE)
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    doc_json_put(o, "kind", json_string(limit_flag(b->kind) + 2));
    doc_json_put(o, "exit_code", json_integer(b->kind));
    doc_json_put(o, "at", time_json(b->at));
    doc_json_put(o, "elapsed_seconds", json_real(b->at - r->start_time));
    doc_json_put(o, "value_kib", json_integer((json_int_t)b->value_kib));
    doc_json_put(o, "limit_kib", json_integer((json_int_t)b->limit_kib));
    doc_json_put(o, "pid", b->pid ? json_integer(b->pid) : json_null());
    doc_json_put(o, "command", doc_json_str(b->command));
    doc_json_put(o, "killed", json_boolean(b->killed));
    return o;
}

static void put_exit(json_t *root, const struct run_report *r)
{
    doc_json_put(root, "exit_code", json_integer(r->exit_code));
    doc_json_put(root, "signal", WIFSIGNALED(r->wait_status)
                                     ? json_integer(WTERMSIG(r->wait_status)) : json_null());
    doc_json_put(root, "forwarded_signal",
                 r->forwarded_signal ? json_integer(r->forwarded_signal) : json_null());
    doc_json_put(root, "limit_exceeded", breach_json(r));
}

static void put_memory(json_t *root, const struct run_view *v)
{
    const struct run_report *r = v->r;
    doc_json_put(root, "max_total_rss_kib", json_integer((json_int_t)r->max_total_rss_kib));
    doc_json_put(root, "method", json_string(run_method_name(r->method)));
    doc_json_put(root, "exact", json_boolean(run_method_exact(r->method)));
    doc_json_put(root, "method_note", doc_json_str(r->method_note));
    doc_json_put(root, "pss", json_boolean(r->pss));
    doc_json_put(root, "exit_records", json_boolean(r->exit_records));
    doc_json_put(root, "exit_records_lost", json_boolean(r->exit_records_lost));
    doc_json_put(root, "exit_records_note", doc_json_str(r->exit_note));
    doc_json_put(root, "sampled_max_total_kib",
                 json_integer((json_int_t)r->sampled_max_total_kib));
    doc_json_put(root, "sampled_max_total_at", time_json(r->max_total_at));
    const struct run_proc *top = run_report_top(r);
    doc_json_put(root, "max_process_rss_kib",
                 top ? json_integer((json_int_t)top->max_rss_kib) : json_null());
    doc_json_put(root, "max_process_pid", top ? json_integer(top->pid) : json_null());
    doc_json_put(root, "gpu", json_boolean(r->gpu));
    doc_json_put(root, "gpu_total_peak_bytes", r->gpu ? opt_u64_json(r->gpu_total_peak_bytes)
                                                      : json_null());
}

int run_write_json(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    json_t *root = json_object(), *cmd = json_array(), *procs = json_array();
    if (!root || !cmd || !procs) {
        json_decref(root);
        json_decref(cmd);
        json_decref(procs);
        return -ENOMEM;
    }
    for (size_t i = 0; r->argv[i]; i++)
        json_array_append_new(cmd, doc_json_text(r->argv[i]));
    doc_json_put(root, "command", cmd);
    doc_json_put(root, "start_time", time_json(r->start_time));
    doc_json_put(root, "end_time", time_json(r->end_time));
    doc_json_put(root, "duration_seconds", json_real(r->duration_s));
    doc_json_put(root, "interval_ms", json_integer(r->interval_ms));
    doc_json_put(root, "samples", json_integer((json_int_t)r->sample_count));
    put_memory(root, v);
    put_exit(root, r);
    for (size_t i = 0; i < r->proc_count; i++)
        json_array_append_new(procs, proc_json(v, &r->procs[i]));
    doc_json_put(root, "processes", procs);
    doc_json_put(root, "group_by", json_string(run_group_by_name(v->group_by)));
    doc_json_put(root, "groups", groups_json(v));
    json_t *leak = json_object();
    doc_json_put(leak, "min_growth_pct", json_real(v->leak_min_growth_pct));
    doc_json_put(leak, "min_duration_seconds", json_real(v->leak_min_duration_s));
    doc_json_put(root, "leak_heuristic", leak);
    return doc_json_write(root, out, false);
}

/* ---- CSV ---------------------------------------------------------------------------------------- */

int run_write_csv(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    const char *head[] = {"pid", "ppid", "command", "max_rss_kib", "max_rss_mib", "first_seen",
                          "last_seen", "gpu_mem_peak_mib", "gpu_sm_peak_pct"};
    size_t n = r->gpu ? 9 : 7;
    int rc = csv_write_record(out, head, n);
    for (size_t i = 0; rc == 0 && i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        char pid[16], ppid[16], kib[24], mib[32], first[UNITS_RFC3339_BUFSZ],
            last[UNITS_RFC3339_BUFSZ], gmib[32] = "", sm[16] = "";
        snprintf(pid, sizeof pid, "%d", (int)p->pid);
        snprintf(ppid, sizeof ppid, "%d", (int)p->ppid);
        snprintf(kib, sizeof kib, "%" PRIu64, p->max_rss_kib);
        snprintf(mib, sizeof mib, "%.2f", (double)p->max_rss_kib / 1024.0);
        time_text(p->first_seen, first, sizeof first);
        time_text(p->last_seen, last, sizeof last);
        if (p->gpu_mem_peak_bytes.known)
            snprintf(gmib, sizeof gmib, "%.2f", (double)p->gpu_mem_peak_bytes.v / 1048576.0);
        if (p->gpu_sm_peak_pct.known)
            snprintf(sm, sizeof sm, "%.0f", p->gpu_sm_peak_pct.v);
        const char *f[] = {pid, ppid, p->command, kib, mib, first, last, gmib, sm};
        rc = csv_write_record(out, f, n);
    }
    return rc;
}

int run_write_timeline(const struct run_view *v, FILE *out)
{
    const struct run_report *r = v->r;
    const char *head[] = {"timestamp", "elapsed_seconds", "total_rss_kib", "total_rss_mib",
                          "process_count", "gpu_mem_mib"};
    size_t n = r->gpu ? 6 : 5;
    int rc = csv_write_record(out, head, n);
    for (size_t i = 0; rc == 0 && i < r->sample_count; i++) {
        const struct run_sample *s = &r->timeline[i];
        char ts[UNITS_RFC3339_BUFSZ], el[32], kib[24], mib[32], cnt[16], g[32] = "";
        time_text(s->wall, ts, sizeof ts);
        snprintf(el, sizeof el, "%.3f", s->elapsed_s);
        snprintf(kib, sizeof kib, "%" PRIu64, s->total_kib);
        snprintf(mib, sizeof mib, "%.2f", (double)s->total_kib / 1024.0);
        snprintf(cnt, sizeof cnt, "%u", s->process_count);
        if (s->gpu_mem_bytes.known)
            snprintf(g, sizeof g, "%.2f", (double)s->gpu_mem_bytes.v / 1048576.0);
        const char *f[] = {ts, el, kib, mib, cnt, g};
        rc = csv_write_record(out, f, n);
    }
    return rc;
}
