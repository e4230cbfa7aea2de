/* audit_out.c - rendering `gpuctl audit --summary` (tables or JSON) and
 * the time formats the audit output shares.
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
#include "doc/json.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void audit_cli_time_rfc3339(int64_t ms, char *buf, size_t size)
{
    int64_t secs = floor_div(ms, 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(buf, size, "%s", ms < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
        return;
    }
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(ms - secs * 1000));
}

void audit_cli_time_local(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "?");
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *opt_f(struct opt_f64 v)
{
    return v.known ? json_real(v.v) : json_null();
}

static json_t *opt_u(struct opt_u64 v)
{
    return v.known ? json_integer((json_int_t)v.v) : json_null();
}

static json_t *time_json(int64_t ms)
{
    char buf[48];
    audit_cli_time_rfc3339(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *opt_time(struct opt_u64 v)
{
    return v.known ? time_json((int64_t)v.v) : json_null();
}

static json_t *usage_json(const struct audit_usage *u, size_t n, const char *key)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        doc_json_put(o, key, doc_json_text(u[i].key));
        doc_json_put(o, "rows", json_integer((json_int_t)u[i].rows));
        doc_json_put(o, "gpu_memory_gib_hours", json_real(u[i].gpu_mem_gib_hours));
        doc_json_put(o, "sm_pct_hours", json_real(u[i].sm_pct_hours));
        doc_json_put(o, "peak_memory_bytes", opt_u(u[i].peak_mem_bytes));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *gpus_json(const struct audit_summary *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->gpu_count; i++) {
        const struct audit_gpu_usage *g = &s->gpus[i];
        json_t *o = json_object();
        doc_json_put(o, "host", json_string(g->host));
        doc_json_put(o, "gpu", json_integer(g->gpu_index));
        doc_json_put(o, "uuid", doc_json_str(g->uuid));
        doc_json_put(o, "name", doc_json_str(g->name));
        doc_json_put(o, "rows", json_integer((json_int_t)g->rows));
        doc_json_put(o, "utilization_avg_pct", opt_f(g->util_avg_pct));
        doc_json_put(o, "utilization_peak_pct", opt_f(g->util_peak_pct));
        doc_json_put(o, "memory_peak_bytes", opt_u(g->mem_peak_bytes));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *hours_json(const struct audit_summary *s)
{
    json_t *a = json_array();
    for (int h = 0; h < 24; h++) {
        const struct audit_hour_bin *b = &s->hours[h];
        json_t *o = json_object();
        doc_json_put(o, "hour", json_integer(b->hour));
        doc_json_put(o, "process_rows", json_integer((json_int_t)b->proc_rows));
        doc_json_put(o, "gpu_memory_gib_hours", json_real(b->gpu_mem_gib_hours));
        doc_json_put(o, "sm_pct_hours", json_real(b->sm_pct_hours));
        doc_json_put(o, "utilization_avg_pct", opt_f(b->util_avg_pct));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *busiest_json(const struct audit_summary *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->busiest_count; i++) {
        const struct audit_period *p = &s->busiest[i];
        json_t *o = json_object();
        doc_json_put(o, "start", time_json(p->start_ms));
        doc_json_put(o, "end", time_json(p->end_ms));
        doc_json_put(o, "process_rows", json_integer((json_int_t)p->proc_rows));
        doc_json_put(o, "gpu_memory_gib_hours", json_real(p->gpu_mem_gib_hours));
        doc_json_put(o, "sm_pct_hours", json_real(p->sm_pct_hours));
        doc_json_put(o, "utilization_avg_pct", opt_f(p->util_avg_pct));
        json_array_append_new(a, o);
    }
    return a;
}

static int summary_json(const struct audit_summary *s, bool compact, FILE *out)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    doc_json_put(o, "from", time_json(s->from_ms));
    doc_json_put(o, "to", time_json(s->to_ms));
    doc_json_put(o, "samples", json_integer((json_int_t)s->samples));
    doc_json_put(o, "process_rows", json_integer((json_int_t)s->proc_rows));
    doc_json_put(o, "gpu_rows", json_integer((json_int_t)s->gpu_rows));
    doc_json_put(o, "first", opt_time(s->first_ms));
    doc_json_put(o, "last", opt_time(s->last_ms));
    doc_json_put(o, "top_users", usage_json(s->users, s->user_count, "user"));
    doc_json_put(o, "top_processes", usage_json(s->processes, s->process_count, "name"));
    doc_json_put(o, "gpus", gpus_json(s));
    doc_json_put(o, "hourly", hours_json(s));
    doc_json_put(o, "busiest", busiest_json(s));
    /* ten significant digits: hours summed from milliseconds need no more */
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) |
                   (compact ? JSON_COMPACT : JSON_INDENT(2));
    errno = 0;
    int rc = json_dumpf(o, out, flags);
    json_decref(o);
    if (rc < 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
        return -(errno ? errno : EIO);
    return 0;
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
        audit_cli_time_local(p->start_ms, from, sizeof from);
        audit_cli_time_local(p->end_ms, to, sizeof to);
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
    audit_cli_time_local(s->from_ms, from, sizeof from);
    audit_cli_time_local(s->to_ms, to, sizeof to);
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

int audit_print_summary(const struct audit_summary *s, enum output_format f, bool compact_json,
                        const struct cli_ctx *ctx, FILE *out)
{
    if (f == OUTPUT_JSON || f == OUTPUT_NDJSON)
        return summary_json(s, compact_json, out);
    return summary_tables(s, ctx, out);
}
