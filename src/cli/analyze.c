/* analyze.c - `gpuctl analyze DIR`: the summary, scope tree and hotspots of
 * a flight-recorder trace, as a table or JSON, and optionally an HTML
 * timeline.
 *
 * The figures come from src/trace/analyze.c in one streaming pass; this
 * file parses arguments and draws the tables; the JSON document is
 * src/doc/analyze_doc.c's (docs/json/trace.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"
#include "doc/analyze_doc.h"
#include "doc/json.h"
#include "trace/analyze.h"

struct analyze_args {
    struct cli_common common;
    const char *dir, *prefix, *output, *html;
    unsigned long top;
};

/* The option table (analyze_opts.c) fills an analyze_request. */
static int parse_args(struct analyze_args *a, int argc, char **argv)
{
    struct analyze_request q = {.top = 10, .output = "table"};
    struct options_parsed p;
    int rc = cli_parse_options(&analyze_options, argc, argv, &q, &p, &a->common);
    a->dir = p.operand_count ? p.operands[0] : NULL;
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->prefix = q.prefix;
    a->output = q.output;
    a->html = q.html;
    a->top = q.top;
    if (!a->dir)
        return cli_usage_error("analyze", "which trace? gpuctl analyze DIR");
    return EXIT_OK;
}

static void fmt_ns(uint64_t ns, char *buf, size_t size)
{
    if (ns >= 1000000000u)
        snprintf(buf, size, "%.3f s", (double)ns / 1e9);
    else if (ns >= 1000000u)
        snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
    else
        snprintf(buf, size, "%.1f us", (double)ns / 1e3);
}

static void fmt_pct(struct opt_f64 v, char *buf, size_t size)
{
    if (v.known)
        snprintf(buf, size, "%.1f %%", v.v);
    else
        snprintf(buf, size, "N/A");
}

/* Components joined with "/" for display. */
static void display_path(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    for (char *p = buf; *p; p++)
        if (*p == ANALYZE_PATH_SEP)
            *p = '/';
}

/* ---- table ---------------------------------------------------------------------- */

static void print_summary(const struct analyze_result *r)
{
    char a[64], b[64];
    printf("Trace: %s%s%s, pid %lld, %zu file(s)\n", r->command ? r->command : "(unknown command)",
           r->host[0] ? " on " : "", r->host, (long long)r->pid, r->files);
    if (r->activity_error)
        printf("Recorder: %s\n", r->activity_error);
    fmt_ns(r->have_time ? r->t_max - r->t_min : 0, a, sizeof a);
    printf("  duration            %s\n", r->have_time ? a : "N/A");
    fmt_ns(r->kernel_ns, a, sizeof a);
    printf("  kernels             %llu (%s of GPU time)\n", (unsigned long long)r->kernels, a);
    printf("  memcpy / memset     %llu / %llu\n", (unsigned long long)r->memcpys,
           (unsigned long long)r->memsets);
    fmt_pct(r->gpu_busy_pct, a, sizeof a);
    printf("  GPU busy (kernels)  %s\n", a);
    fmt_pct(r->util_gpu_mean_pct, a, sizeof a);
    printf("  GPU util (mean)     %s\n", a);
    if (r->vram_peak_bytes.known) {
        units_format_bytes(r->vram_peak_bytes.v, a, sizeof a);
        if (r->vram_total_bytes.known)
            units_format_bytes(r->vram_total_bytes.v, b, sizeof b);
        printf("  peak VRAM           %s%s%s\n", a, r->vram_total_bytes.known ? " of " : "",
               r->vram_total_bytes.known ? b : "");
    } else {
        printf("  peak VRAM           N/A\n");
    }
    fmt_pct(r->host_cpu_mean_pct, a, sizeof a);
    printf("  host CPU (mean)     %s\n", a);
    if (r->have_summary)
        printf("  records dropped     %llu (ring %llu, CUPTI %llu, names %llu)\n",
               (unsigned long long)(r->ring_drops + r->cupti_drops + r->name_drops),
               (unsigned long long)r->ring_drops, (unsigned long long)r->cupti_drops,
               (unsigned long long)r->name_drops);
    else
        printf("  records dropped     unknown (no summary: the job did not end cleanly)\n");
    if (r->corrupt_lines)
        printf("  corrupt lines       %llu skipped (first at %s)\n",
               (unsigned long long)r->corrupt_lines, r->first_corrupt);
}

static struct table_render_options render_opts(void)
{
    struct table_render_options o = {0};
    o.color = false;
    o.width = 0;
    return o;
}

static int print_scopes(const struct analyze_result *r)
{
    if (r->scope_count == 0) {
        printf("\nScopes: none recorded\n");
        return 0;
    }
    static const struct table_column cols[] = {
        {"Scope", TABLE_LEFT, true, 0}, {"Calls", TABLE_RIGHT, false, 0},
        {"Total", TABLE_RIGHT, false, 0}, {"Self", TABLE_RIGHT, false, 0},
        {"Kernels", TABLE_RIGHT, false, 0}, {"GPU time", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < r->scope_count; i++) {
        const struct analyze_scope *s = &r->scopes[i];
        char tot[32], self[32], gpu[32];
        fmt_ns(s->total_ns, tot, sizeof tot);
        fmt_ns(s->self_ns, self, sizeof self);
        fmt_ns(s->gpu_ns, gpu, sizeof gpu);
        table_row(t);
        table_cell(t, 0, "%*s%s", (int)(2 * (s->depth - 1)), "", s->name);
        table_cell(t, 0, "%llu", (unsigned long long)s->calls);
        table_cell(t, 0, "%s", tot);
        table_cell(t, 0, "%s", self);
        table_cell(t, 0, "%llu", (unsigned long long)s->kernels);
        table_cell(t, 0, "%s", gpu);
    }
    printf("\nScopes (total and self wall time; kernels launched inside and their GPU time)\n");
    struct table_render_options o = render_opts();
    int rc = table_render(t, stdout, &o);
    table_free(t);
    return rc;
}

static void kernel_scopes(const struct analyze_kernel *k, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k->scope_count && used < size; i++) {
        char p[512];
        if (!k->scopes[i].path)
            snprintf(p, sizeof p, "(unattributed)");
        else if (!k->scopes[i].path[0])
            snprintf(p, sizeof p, "(none)");
        else
            display_path(k->scopes[i].path, p, sizeof p);
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", p);
    }
    if (k->other_scopes && used < size)
        snprintf(buf + used, size - used, ", +%llu more", (unsigned long long)k->other_scopes);
}

static int print_hot(const struct analyze_result *r)
{
    if (r->hot_count == 0) {
        printf("\nHotspots: no kernels recorded\n");
        return 0;
    }
    static const struct table_column cols[] = {
        {"Kernel", TABLE_LEFT, true, 0}, {"Count", TABLE_RIGHT, false, 0},
        {"Total", TABLE_RIGHT, false, 0}, {"Mean", TABLE_RIGHT, false, 0},
        {"Min", TABLE_RIGHT, false, 0}, {"Max", TABLE_RIGHT, false, 0},
        {"Grid", TABLE_LEFT, false, 0}, {"Block", TABLE_LEFT, false, 0},
        {"Regs", TABLE_RIGHT, false, 0}, {"Smem", TABLE_RIGHT, false, 0},
        {"Scopes", TABLE_LEFT, true, 0},
    };
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < r->hot_count; i++) {
        const struct analyze_kernel *k = &r->hot[i];
        char tot[32], mean[32], mn[32], mx[32], scopes[1024];
        fmt_ns(k->total_ns, tot, sizeof tot);
        fmt_ns(k->count ? k->total_ns / k->count : 0, mean, sizeof mean);
        fmt_ns(k->min_ns, mn, sizeof mn);
        fmt_ns(k->max_ns, mx, sizeof mx);
        kernel_scopes(k, scopes, sizeof scopes);
        table_row(t);
        table_cell(t, 0, "%s", k->name);
        table_cell(t, 0, "%llu", (unsigned long long)k->count);
        table_cell(t, 0, "%s", tot);
        table_cell(t, 0, "%s", mean);
        table_cell(t, 0, "%s", mn);
        table_cell(t, 0, "%s", mx);
        table_cell(t, 0, "%lldx%lldx%lld%s", (long long)k->grid[0], (long long)k->grid[1],
                   (long long)k->grid[2], k->dims_vary ? "*" : "");
        table_cell(t, 0, "%lldx%lldx%lld", (long long)k->block[0], (long long)k->block[1],
                   (long long)k->block[2]);
        table_cell(t, 0, "%llu", (unsigned long long)k->registers);
        table_cell(t, 0, "%llu", (unsigned long long)(k->static_smem + k->dynamic_smem));
        table_cell(t, 0, "%s", scopes);
    }
    printf("\nHotspots (kernels by total GPU time%s)\n",
           r->hot_count && r->hot[0].dims_vary ? "; * launch dimensions varied" : "");
    struct table_render_options o = render_opts();
    int rc = table_render(t, stdout, &o);
    table_free(t);
    return rc;
}

int cmd_analyze(int argc, char **argv)
{
    struct analyze_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    struct cli_ctx ctx;
    if ((rc = cli_load_config(&ctx, &a.common)))
        return rc;
    struct analyze_opts o = {a.dir, a.prefix, a.top};
    struct analyze_result *r = NULL;
    struct error e = {0};
    if (analyze_run(&o, &r, &e) < 0)
        return cli_fail(&e);
    if (a.html && analyze_html_write(&o, r, a.html, &e) < 0) {
        analyze_free(r);
        return cli_fail(&e);
    }
    if (strcmp(a.output, "json") == 0) {
        json_t *root = doc_analyze_build(r, &e);     /* doc_json_write takes it */
        rc = root ? doc_json_write(root, stdout, false) : e.code;
    } else {
        print_summary(r);
        rc = print_scopes(r);
        if (rc == 0)
            rc = print_hot(r);
    }
    analyze_free(r);
    if (rc == 0 && fflush(stdout) != 0)
        rc = -(errno ? errno : EIO);
    return rc < 0 ? cli_output_failed(rc) : EXIT_OK;
}
