/* audit_out.c - rendering `gpuctl audit --summary` (tables, or the
 * summary document of src/doc/audit_doc.c) and the local time of tables.
 *
 * Tables show local time, as people read clocks; JSON and CSV show RFC
 * 3339 UTC with milliseconds, as programs compare them.  The figures are
 * the store's (audit_summary); nothing is computed here beyond units.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/audit.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"
#include "doc/audit_doc.h"
#include "doc/json.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void cli_audit_time_local(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "?");
}

/* ---- tables --------------------------------------------------------------------------- */

static void cell_opt_pct(struct table *t, struct opt_f64 v)
{
    if (v.known)
        table_cell(t, 0, "%.1f%%", v.v);
    else
        table_cell(t, TABLE_STYLE_DIM, "N/A");
}

static void cell_opt_bytes(struct table *t, struct opt_u64 v)
{
    char buf[32];
    if (!v.known) {
        table_cell(t, TABLE_STYLE_DIM, "N/A");
        return;
    }
    units_format_bytes(v.v, buf, sizeof buf);
    table_cell(t, 0, "%s", buf);
}

static int render(struct table *t, FILE *out, const struct table_render_options *o)
{
    if (!t)
        return -ENOMEM;
    int rc = table_render(t, out, o);
    table_free(t);
    return rc;
}

static int usage_table(const char *title, const char *key, const struct audit_usage *u,
                       size_t n, FILE *out, const struct table_render_options *o)
{
    fprintf(out, "\n%s\n", title);
    if (n == 0) {
        fputs("  none\n", out);
        return 0;
    }
    static struct table_column cols[] = {
        {NULL, TABLE_LEFT, true, 4},           {"ROWS", TABLE_RIGHT, false, 0},
        {"GPU MEM GiB·h", TABLE_RIGHT, false, 0}, {"SM %·h", TABLE_RIGHT, false, 0},
        {"PEAK MEM", TABLE_RIGHT, false, 0},
    };
    cols[0].title = key;
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; t && i < n; i++) {
        table_row(t);
        table_cell(t, 0, "%s", u[i].key[0] ? u[i].key : "N/A");
        table_cell(t, 0, "%llu", (unsigned long long)u[i].rows);
        table_cell(t, 0, "%.2f", u[i].gpu_mem_gib_hours);
        table_cell(t, 0, "%.2f", u[i].sm_pct_hours);
        cell_opt_bytes(t, u[i].peak_mem_bytes);
    }
    return render(t, out, o);
}

static int gpu_table(const struct audit_summary *s, FILE *out,
                     const struct table_render_options *o)
{
    fputs("\nGPUs\n", out);
    if (s->gpu_count == 0) {
        fputs("  none\n", out);
        return 0;
    }
    static const struct table_column cols[] = {
        {"HOST", TABLE_LEFT, true, 4},      {"GPU", TABLE_RIGHT, false, 0},
        {"NAME", TABLE_LEFT, true, 4},      {"SAMPLES", TABLE_RIGHT, false, 0},
        {"AVG UTIL", TABLE_RIGHT, false, 0}, {"PEAK UTIL", TABLE_RIGHT, false, 0},
        {"PEAK MEM", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; t && i < s->gpu_count; i++) {
        const struct audit_gpu_usage *g = &s->gpus[i];
        table_row(t);
        table_cell(t, 0, "%s", g->host);
        table_cell(t, 0, "%d", g->gpu_index);
        table_cell(t, 0, "%s", g->name[0] ? g->name : "N/A");
        table_cell(t, 0, "%llu", (unsigned long long)g->rows);
        cell_opt_pct(t, g->util_avg_pct);
        cell_opt_pct(t, g->util_peak_pct);
        cell_opt_bytes(t, g->mem_peak_bytes);
    }
    return render(t, out, o);
}

static int hour_table(const struct audit_summary *s, FILE *out,
                      const struct table_render_options *o)
{
    fputs("\nHourly pattern (local time)\n", out);
    static const struct table_column cols[] = {
        {"HOUR", TABLE_LEFT, false, 0},       {"ROWS", TABLE_RIGHT, false, 0},
        {"GPU MEM GiB·h", TABLE_RIGHT, false, 0}, {"SM %·h", TABLE_RIGHT, false, 0},
        {"AVG UTIL", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    for (int h = 0; t && h < 24; h++) {
        const struct audit_hour_bin *b = &s->hours[h];
        table_row(t);
        table_cell(t, 0, "%02d:00", b->hour);
        table_cell(t, 0, "%llu", (unsigned long long)b->proc_rows);
        table_cell(t, 0, "%.2f", b->gpu_mem_gib_hours);
        table_cell(t, 0, "%.2f", b->sm_pct_hours);
        cell_opt_pct(t, b->util_avg_pct);
    }
    return render(t, out, o);
}

static int busiest_table(const struct audit_summary *s, FILE *out,
                         const struct table_render_options *o)
{
    fputs("\nBusiest hours\n", out);
    if (s->busiest_count == 0) {
        fputs("  none\n", out);
        return 0;
    }
    static const struct table_column cols[] = {
        {"FROM", TABLE_LEFT, false, 0},      {"TO", TABLE_LEFT, false, 0},
        {"ROWS", TABLE_RIGHT, false, 0},     {"GPU MEM GiB·h", TABLE_RIGHT, false, 0},
        {"SM %·h", TABLE_RIGHT, false, 0},   {"AVG UTIL", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; t && i < s->busiest_count; i++) {
        const struct audit_period *p = &s->busiest[i];
        char from[32], to[32];
        cli_audit_time_local(p->start_ms, from, sizeof from);
        cli_audit_time_local(p->end_ms, to, sizeof to);
        table_row(t);
        table_cell(t, 0, "%s", from);
        table_cell(t, 0, "%s", to);
        table_cell(t, 0, "%llu", (unsigned long long)p->proc_rows);
        table_cell(t, 0, "%.2f", p->gpu_mem_gib_hours);
        table_cell(t, 0, "%.2f", p->sm_pct_hours);
        cell_opt_pct(t, p->util_avg_pct);
    }
    return render(t, out, o);
}

static int summary_tables(const struct audit_summary *s, const struct cli_ctx *ctx, FILE *out)
{
    struct table_render_options o = {
        .color = term_use_color(fileno(out), ctx->cfg.use_colors),
        .width = ctx->cfg.table_width ? ctx->cfg.table_width : term_width(fileno(out))};
    char from[32], to[32];
    cli_audit_time_local(s->from_ms, from, sizeof from);
    cli_audit_time_local(s->to_ms, to, sizeof to);
    fprintf(out, "Audit summary %s to %s: %llu samples, %llu process rows, %llu GPU rows\n",
            s->from_ms <= -(INT64_C(1) << 50) ? "(all history)" : from, to,
            (unsigned long long)s->samples, (unsigned long long)s->proc_rows,
            (unsigned long long)s->gpu_rows);
    int rc = usage_table("Top users", "USER", s->users, s->user_count, out, &o);
    if (!rc)
        rc = usage_table("Top processes", "PROCESS", s->processes, s->process_count, out, &o);
    if (!rc)
        rc = gpu_table(s, out, &o);
    if (!rc)
        rc = hour_table(s, out, &o);
    if (!rc)
        rc = busiest_table(s, out, &o);
    if (!rc && fflush(out) == EOF)
        rc = -(errno ? errno : EIO);
    return rc;
}

int cli_audit_print_summary(const struct audit_summary *s, enum output_format f, bool compact_json,
                        const struct cli_ctx *ctx, FILE *out)
{
    if (f == OUTPUT_JSON || f == OUTPUT_NDJSON) {
        struct error e = {0};
        json_t *doc = doc_audit_summary_build(s, &e);
        return doc ? doc_json_write(doc, out, compact_json) : e.code;
    }
    return summary_tables(s, ctx, out);
}
