/* analyze.c - `gpuctl analyze DIR`: the summary, scope tree and hotspots of
 * a flight-recorder trace, as a table or JSON, and optionally an HTML
 * timeline.
 *
 * The figures come from src/trace/analyze.c in one streaming pass; this
 * file parses arguments and renders (docs/json/trace.md has the JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doc/json.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"
#include "trace/analyze.h"

struct analyze_args {
    struct cli_common common;
    const char *dir, *prefix, *output, *html;
    unsigned long top;
};

static int parse_args(struct analyze_args *a, int argc, char **argv)
{
    a->top = 10;
    a->output = "table";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc = cli_common_option(&a->common, "analyze", argc, argv, &i);
        if (rc < 0)
            return EXIT_INVALID_ARGS;
        if (rc > 0)
            continue;
        bool more = i + 1 < argc;
        bool valued = strcmp(arg, "--prefix") == 0 || strcmp(arg, "--top") == 0 ||
                      strcmp(arg, "--output") == 0 || strcmp(arg, "-o") == 0 ||
                      strcmp(arg, "--html") == 0;
        if (valued && !more)
            return cli_usage_error("analyze", "option '%s' needs a value", arg);
        if (strcmp(arg, "--prefix") == 0) {
            a->prefix = argv[++i];
        } else if (strcmp(arg, "--top") == 0) {
            if (!cli_parse_uint(argv[++i], 1000000, &a->top))
                return cli_usage_error("analyze", "--top: '%s' is not a count", argv[i]);
        } else if (strcmp(arg, "--output") == 0 || strcmp(arg, "-o") == 0) {
            a->output = argv[++i];
            if (strcmp(a->output, "table") != 0 && strcmp(a->output, "json") != 0)
                return cli_usage_error("analyze", "--output: '%s' is not table or json",
                                       a->output);
        } else if (strcmp(arg, "--html") == 0) {
            a->html = argv[++i];
        } else if (arg[0] != '-' && !a->dir) {
            a->dir = arg;
        } else {
            return cli_unknown_argument("analyze", arg, "(one trace directory)");
        }
    }
    if (!a->common.help && !a->dir)
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

/* ---- JSON ----------------------------------------------------------------------- */

static json_t *opt_f64(struct opt_f64 v)
{
    return v.known ? json_real(v.v) : json_null();
}

static json_t *opt_u64(struct opt_u64 v)
{
    return v.known ? json_integer((json_int_t)v.v) : json_null();
}

static json_t *path_array(const char *path)
{
    if (!path)
        return json_null();
    json_t *a = json_array();
    const char *p = path;
    while (*p) {
        const char *sep = strchr(p, ANALYZE_PATH_SEP);
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        if (!sep)
            break;
        p = sep + 1;
    }
    return a;
}

static json_t *dims(const int64_t v[3])
{
    return json_pack("[I,I,I]", (json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2]);
}

static json_t *result_json(const struct analyze_result *r)
{
    json_t *root = json_object();
    json_t *sum = json_object();
    doc_json_put(sum, "command", r->command ? json_string(r->command) : json_null());
    doc_json_put(sum, "host", r->host[0] ? json_string(r->host) : json_null());
    doc_json_put(sum, "pid", r->pid >= 0 ? json_integer(r->pid) : json_null());
    doc_json_put(sum, "recorder_error", r->activity_error ? json_string(r->activity_error)
                                                          : json_null());
    doc_json_put(sum, "duration_ns", r->have_time ? json_integer((json_int_t)(r->t_max - r->t_min))
                                                  : json_null());
    doc_json_put(sum, "kernels", json_integer((json_int_t)r->kernels));
    doc_json_put(sum, "kernel_time_ns", json_integer((json_int_t)r->kernel_ns));
    doc_json_put(sum, "memcpys", json_integer((json_int_t)r->memcpys));
    doc_json_put(sum, "memcpy_bytes", json_integer((json_int_t)r->memcpy_bytes));
    doc_json_put(sum, "memsets", json_integer((json_int_t)r->memsets));
    doc_json_put(sum, "gpu_busy_pct", opt_f64(r->gpu_busy_pct));
    doc_json_put(sum, "gpu_util_mean_pct", opt_f64(r->util_gpu_mean_pct));
    doc_json_put(sum, "vram_peak_bytes", opt_u64(r->vram_peak_bytes));
    doc_json_put(sum, "vram_total_bytes", opt_u64(r->vram_total_bytes));
    doc_json_put(sum, "host_cpu_mean_pct", opt_f64(r->host_cpu_mean_pct));
    doc_json_put(sum, "process_cpu_mean_pct", opt_f64(r->process_cpu_mean_pct));
    json_t *drops = r->have_summary ? json_pack("{s:I,s:I,s:I,s:I}", "ring",
        (json_int_t)r->ring_drops, "cupti", (json_int_t)r->cupti_drops, "names",
        (json_int_t)r->name_drops, "unattributed_kernels", (json_int_t)r->unattributed)
                                    : json_null();
    doc_json_put(sum, "dropped", drops);
    doc_json_put(sum, "lines", json_integer((json_int_t)r->lines));
    doc_json_put(sum, "corrupt_lines", json_integer((json_int_t)r->corrupt_lines));
    doc_json_put(sum, "unknown_lines", json_integer((json_int_t)r->unknown_lines));
    doc_json_put(sum, "files", json_integer((json_int_t)r->files));
    doc_json_put(root, "summary", sum);

    json_t *scopes = json_array();
    for (size_t i = 0; i < r->scope_count; i++) {
        const struct analyze_scope *s = &r->scopes[i];
        json_array_append_new(scopes, json_pack("{s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
            "path", path_array(s->path), "name", s->name, "depth", (json_int_t)s->depth,
            "calls", (json_int_t)s->calls, "total_ns", (json_int_t)s->total_ns,
            "self_ns", (json_int_t)s->self_ns, "kernels", (json_int_t)s->kernels,
            "gpu_ns", (json_int_t)s->gpu_ns, "kernels_self", (json_int_t)s->kernels_self,
            "gpu_self_ns", (json_int_t)s->gpu_self_ns));
    }
    doc_json_put(root, "scopes", scopes);

    json_t *hot = json_array();
    for (size_t i = 0; i < r->hot_count; i++) {
        const struct analyze_kernel *k = &r->hot[i];
        json_t *ks = json_array();
        for (size_t s = 0; s < k->scope_count; s++)
            json_array_append_new(ks, json_pack("{s:o,s:I}", "path",
                                                path_array(k->scopes[s].path), "count",
                                                (json_int_t)k->scopes[s].count));
        json_array_append_new(hot, json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:b,s:I,s:I,s:I,s:o,s:I}",
            "name", k->name, "count", (json_int_t)k->count, "total_ns", (json_int_t)k->total_ns,
            "mean_ns", (json_int_t)(k->count ? k->total_ns / k->count : 0),
            "min_ns", (json_int_t)k->min_ns, "max_ns", (json_int_t)k->max_ns,
            "grid", dims(k->grid), "block", dims(k->block), "dims_vary", k->dims_vary,
            "registers", (json_int_t)k->registers, "static_smem", (json_int_t)k->static_smem,
            "dynamic_smem", (json_int_t)k->dynamic_smem, "scopes", ks,
            "other_scope_launches", (json_int_t)k->other_scopes));
    }
    doc_json_put(root, "hotspots", hot);
    return root;
}

int cmd_analyze(int argc, char **argv)
{
    struct analyze_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_OK || a.common.help) {
        if (a.common.help)
            fputs(cli_command_help("analyze"), stdout);
        return rc;
    }
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
        json_t *root = result_json(r);     /* doc_json_write takes it */
        rc = root ? doc_json_write(root, stdout, false) : -ENOMEM;
    } else {
        print_summary(r);
        rc = print_scopes(r);
        if (rc == 0)
            rc = print_hot(r);
    }
    analyze_free(r);
    if (rc < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "gpuctl: cannot write the analysis: %s\n", strerror(rc < 0 ? -rc : errno));
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}
