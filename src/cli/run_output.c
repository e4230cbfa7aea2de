/* run_output.c - the human summary, JSON, CSV and timeline of a finished
 * `gpuctl run` (run.h).
 *
 * The JSON document is src/doc/run_doc.c's (docs/json/run.md); this file
 * prints it.  The CSV columns keep memwatch's names: sizes are KiB as in
 * memwatch, GPU memory MiB.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/run.h"
#include "core/csv.h"
#include "core/table.h"
#include "core/units.h"
#include "doc/json.h"

static void kib_text(uint64_t kib, char *buf, size_t size)
{
    units_format_bytes(kib * 1024, buf, size);
}

static void time_text(double epoch, char *buf, size_t size)
{
    if (units_format_rfc3339_utc(epoch, buf, size) < 0)
        snprintf(buf, size, "?");
}

/* ---- summary --------------------------------------------------------------------------- */

static void print_head(const struct doc_run_request *v, FILE *out)
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
    if (r->method == RUN_METHOD_CGROUP_V2 || r->method == RUN_METHOD_CGROUP_V1)
        fprintf(out, "Max total RSS:   %s (sampled every %u ms: anonymous + shmem memory of "
                "the job's cgroup %s)\n", a, r->interval_ms,
                r->method == RUN_METHOD_CGROUP_V2 ? "v2" : "v1");
    else
        fprintf(out, "Max total %s:   %s (sampled: sum of %s every %u ms%s)\n",
                r->pss ? "PSS" : "RSS", a, r->pss ? "PSS" : "RSS", r->interval_ms,
                r->method_note[0] ? "; no cgroup" : "");
    if (r->lower_bound) {
        char why[300];
        if (r->exit_records_lost)
            snprintf(why, sizeof why, "some exit records were lost");
        else
            snprintf(why, sizeof why, "no exit records: %s",
                     r->exit_note[0] ? r->exit_note : "unavailable");
        fprintf(out, "Warning:         these figures are lower bounds (%s); a process that "
                "lived and died between two samples without gpuctl reaping it is missing\n",
                why);
    }
    if (r->cgroup_peak_kib.known) {
        kib_text(r->cgroup_peak_kib.v, a, sizeof a);
        fprintf(out, "Cgroup peak:     %s (high-water mark, page cache included)\n", a);
    }
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
    fprintf(out, "Limit exceeded:  %s %s: %s", doc_run_limit_flag(b->kind), lim, val);
    if (b->kind == RUN_LIMIT_PER_PROC)
        fprintf(out, " by pid %d (%s)", (int)b->pid, b->command);
    fprintf(out, " at %s (+%.1f s)%s\n", when, b->at - r->start_time,
            b->killed ? "; the job was killed" : "");
}

static int proc_table(const struct doc_run_request *v, FILE *out)
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

static int group_table(const struct doc_run_request *v, FILE *out)
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

int cli_run_print_summary(const struct doc_run_request *v, FILE *out)
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

int cli_run_write_json(const struct doc_run_request *v, FILE *out)
{
    struct error e = {0};
    json_t *root = doc_run_build(v, &e);
    return root ? doc_json_write(root, out, false) : e.code;
}

/* ---- CSV ---------------------------------------------------------------------------------------- */

int cli_run_write_csv(const struct doc_run_request *v, FILE *out)
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
        if (p->peak_source == RUN_PEAK_NONE)
            kib[0] = mib[0] = '\0';          /* never read: unknown, not 0 */
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

int cli_run_write_timeline(const struct doc_run_request *v, FILE *out)
{
    const struct run_report *r = v->r;
    const char *head[] = {"timestamp", "elapsed_seconds", "total_rss_kib", "total_rss_mib",
                          "process_count", "gpu_mem_mib"};
    size_t n = r->gpu ? 6 : 5;
    int rc = csv_write_record(out, head, n);
    for (size_t i = 0; rc == 0 && i < r->sample_count; i++) {
        const struct run_sample *s = &r->timeline[i];
        char ts[UNITS_RFC3339_MS_BUFSZ], el[32], kib[24], mib[32], cnt[16], g[32] = "";
        /* milliseconds: at -i 100 whole seconds would plot as a staircase */
        if (units_format_rfc3339_utc_ms(s->wall, ts, sizeof ts) < 0)
            snprintf(ts, sizeof ts, "?");
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
