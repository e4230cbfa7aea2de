/* list_table.c - `gpuctl list` as tables: a header line, one row per GPU
 * (MIG instances beneath their GPU), and with --details the processes.
 *
 * Every unknown value prints as N/A.  Layout and escapes are the table
 * module's job; this file only chooses the cells.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/list.h"
#include "core/table.h"
#include "core/units.h"

#define NA "N/A"

static void cell_u64(struct table *t, unsigned style, struct opt_u64 v)
{
    if (v.known)
        table_cell(t, style, "%llu", (unsigned long long)v.v);
    else
        table_cell(t, style, NA);
}

static void cell_pct(struct table *t, unsigned style, struct opt_f64 v)
{
    if (v.known)
        table_cell(t, style, "%.0f", v.v);
    else
        table_cell(t, style, NA);
}

static void cell_memory(struct table *t, struct opt_u64 used, struct opt_u64 total)
{
    if (!used.known && !total.known) {
        table_cell(t, TABLE_STYLE_DIM, NA);     /* not "N/A/N/AMiB" */
        return;
    }
    char u[24] = NA, tot[24] = NA;
    if (used.known)
        snprintf(u, sizeof u, "%llu", (unsigned long long)units_bytes_to_mib(used.v));
    if (total.known)
        snprintf(tot, sizeof tot, "%llu", (unsigned long long)units_bytes_to_mib(total.v));
    if (used.known && total.known)
        table_cell(t, 0, "%s/%sMiB", u, tot);
    else                                        /* the unit only on the number */
        table_cell(t, 0, "%s%s/%s%s", u, used.known ? "MiB" : "", tot, total.known ? "MiB" : "");
}

static void cell_power(struct table *t, const struct device *d)
{
    char now[24] = NA, cap[24] = NA;
    if (d->power_mw.known)
        snprintf(now, sizeof now, "%.0f", (double)d->power_mw.v / 1000.0);
    if (d->power_limit_mw.known)
        snprintf(cap, sizeof cap, "%.0f", (double)d->power_limit_mw.v / 1000.0);
    table_cell(t, 0, "%s/%s", now, cap);
}

static unsigned temp_style(const struct device *d)
{
    if (!d->temp_c.known)
        return 0;
    if (d->temp_slowdown_c.known && d->temp_c.v >= d->temp_slowdown_c.v - 5)
        return TABLE_STYLE_RED | TABLE_STYLE_BOLD;
    return d->temp_c.v >= 80 ? TABLE_STYLE_YELLOW : 0;
}

static const char *host_name_of(const struct list_view *v, pid_t pid)
{
    const struct host_process *hp = snapshot_host_process(v->shown->snap, pid);
    return hp && hp->exists && hp->name[0] ? hp->name : "?";
}

static void cell_top_process(struct table *t, const struct list_view *v, const struct device *d)
{
    size_t count;
    const struct gpu_process *top = doc_snapshot_top_process(v->shown, d->index, &count);
    if (!top) {
        table_cell(t, TABLE_STYLE_DIM, "-");
        return;
    }
    char mem[24] = NA;
    if (top->gpu_mem_bytes.known)
        snprintf(mem, sizeof mem, "%lluMiB",
                 (unsigned long long)units_bytes_to_mib(top->gpu_mem_bytes.v));
    table_cell(t, 0, "%s:%d:%s", host_name_of(v, top->pid), (int)top->pid, mem);
}

/* The HOST cell that leads every row of a table across hosts. */
static void host_cell(struct table *t, const char *host)
{
    if (host)
        table_cell(t, TABLE_STYLE_CYAN, "%s", host);
}

static void device_row(struct table *t, const struct list_view *v, const struct device *d,
                       const char *host)
{
    size_t count = 0;
    doc_snapshot_top_process(v->shown, d->index, &count);
    table_row(t);
    host_cell(t, host);
    table_cell(t, TABLE_STYLE_BOLD, "%d", d->index);
    table_cell(t, d->status[0] ? TABLE_STYLE_RED : 0, "%s", d->name[0] ? d->name : NA);
    cell_memory(t, d->mem_used_bytes, d->mem_total_bytes);
    cell_pct(t, 0, d->util_gpu_pct);
    if (d->temp_c.known)
        table_cell(t, temp_style(d), "%lld", (long long)d->temp_c.v);
    else
        table_cell(t, 0, NA);
    cell_power(t, d);
    cell_u64(t, d->ecc_volatile_uncorrected.known && d->ecc_volatile_uncorrected.v
                    ? TABLE_STYLE_RED : 0, d->ecc_volatile_uncorrected);
    table_cell(t, 0, "%zu", count);
    cell_top_process(t, v, d);
}

static void mig_rows(struct table *t, const struct list_view *v, const struct device *d,
                     const char *host)
{
    for (size_t i = 0; i < d->mig_count; i++) {
        const struct mig_instance *m = &d->migs[i];
        table_row(t);
        host_cell(t, host);
        table_cell(t, TABLE_STYLE_DIM, "%s%u.%u", v->ascii ? "`-" : "└", m->gpu_instance_id,
                   m->compute_instance_id);
        table_cell(t, TABLE_STYLE_DIM, "%s", m->name[0] ? m->name : "MIG instance");
        cell_memory(t, m->mem_used_bytes, m->mem_total_bytes);
    }
}

/* Columns a narrow terminal may leave out (table_set_drop_rank), by title. */
struct drop_rank {
    const char *title;
    int rank;
};

static struct table *ranked_table(const struct table_column *cols, size_t count,
                                  const struct drop_rank *ranks, size_t rank_count)
{
    struct table *t = table_new(cols, count);
    for (size_t c = 0; t && c < count; c++)
        for (size_t r = 0; r < rank_count; r++)
            if (strcmp(cols[c].title, ranks[r].title) == 0)
                (void)table_set_drop_rank(t, c, ranks[r].rank);   /* c < count: cannot fail */
    return t;
}

/* The device table's columns, after a HOST column when with_host. */
static struct table *device_table(const struct list_view *v, bool with_host)
{
    const struct table_column cols[] = {
        {v->host_heading ? v->host_heading : "HOST", TABLE_LEFT, true, 4},
        {"GPU", TABLE_RIGHT, false, 0},
        {"NAME", TABLE_LEFT, true, 10},
        {"MEM_USED/TOTAL", TABLE_RIGHT, false, 0},
        {"UTIL(%)", TABLE_RIGHT, false, 0},
        {v->ascii ? "TEMP(C)" : "TEMP(°C)", TABLE_RIGHT, false, 0},
        {"POWER(W)", TABLE_RIGHT, false, 0},
        {"ECC(volatile)", TABLE_RIGHT, false, 0},
        {"PIDS", TABLE_RIGHT, false, 0},
        {"TOP_PROC", TABLE_LEFT, true, 8},
    };
    /* what a narrow terminal gives up first, so the GPU name stays whole */
    static const struct drop_rank ranks[] = {
        {"ECC(volatile)", 1}, {"PIDS", 2}, {"TOP_PROC", 3}, {"POWER(W)", 4},
    };
    size_t skip = with_host ? 0 : 1;
    return ranked_table(cols + skip, sizeof cols / sizeof cols[0] - skip, ranks,
                        sizeof ranks / sizeof ranks[0]);
}

static void device_rows(struct table *t, const struct list_view *v, const char *host)
{
    const struct snapshot *s = v->shown->snap;
    for (size_t i = 0; i < s->device_count; i++) {
        if (!v->shown->device_visible[i])
            continue;
        device_row(t, v, &s->devices[i], host);
        mig_rows(t, v, &s->devices[i], host);
    }
}

static int render_devices(const struct list_view *v, FILE *out,
                          const struct table_render_options *o)
{
    struct table *t = device_table(v, false);
    if (!t)
        return -ENOMEM;
    device_rows(t, v, NULL);
    int rc = table_render(t, out, o);
    table_free(t);
    return rc;
}

static void cell_host_memory(struct table *t, const struct host_process *hp)
{
    char buf[24];
    if (!hp->rss_bytes.known) {
        table_cell(t, 0, NA);
        return;
    }
    units_format_bytes(hp->rss_bytes.v, buf, sizeof buf);
    table_cell(t, 0, "%s", buf);
}

static void host_cells(struct table *t, const struct list_view *v, const struct host_process *hp,
                       unsigned style)
{
    char buf[160];
    if (hp->cpu_pct.known)
        table_cell(t, style, "%.1f", hp->cpu_pct.v);
    else
        table_cell(t, style, NA);
    cell_host_memory(t, hp);
    if (hp->elapsed_s.known) {
        units_format_elapsed(hp->elapsed_s.v, buf, sizeof buf);
        table_cell(t, style, "%s", buf);
    } else {
        table_cell(t, style, NA);
    }
    const char *c = model_container_text(&hp->container, v->shown->containers, buf, sizeof buf);
    table_cell(t, style, "%s", c ? c : "-");
    table_cell(t, style, "%s", hp->cmdline && hp->cmdline[0] ? hp->cmdline : hp->name);
}

static void process_row(struct table *t, const struct list_view *v, const struct gpu_process *gp,
                        const char *host_label)
{
    const struct host_process *hp = snapshot_host_process(v->shown->snap, gp->pid);
    bool host = hp && hp->exists;
    unsigned style = host && v->self_user && strcmp(hp->user, v->self_user) != 0
                         ? TABLE_STYLE_DIM : 0;
    char mem[24] = NA;
    if (gp->gpu_mem_bytes.known)
        snprintf(mem, sizeof mem, "%lluMiB",
                 (unsigned long long)units_bytes_to_mib(gp->gpu_mem_bytes.v));
    table_row(t);
    host_cell(t, host_label);
    table_cell(t, style, "%d", gp->device_index);
    table_cell(t, style, "%d", (int)gp->pid);
    table_cell(t, style, "%s", host ? hp->user : "?");
    table_cell(t, style, "%s", model_gpu_process_type_name(gp->type));
    table_cell(t, style, "%s", mem);
    cell_pct(t, style, gp->sm_pct);
    if (host) {
        host_cells(t, v, hp, style);
        return;
    }
    for (int i = 0; i < 4; i++)
        table_cell(t, TABLE_STYLE_DIM, NA);
    table_cell(t, TABLE_STYLE_DIM, "(not visible here: exited, or in another pid namespace)");
}

static struct table *process_table(const char *host_heading, bool with_host)
{
    const struct table_column cols[] = {
        {host_heading ? host_heading : "HOST", TABLE_LEFT, true, 4},
        {"GPU", TABLE_RIGHT, false, 0},       {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 4},        {"TYPE", TABLE_LEFT, false, 0},
        {"GPU-MEM", TABLE_RIGHT, false, 0},   {"SM%", TABLE_RIGHT, false, 0},
        {"CPU%", TABLE_RIGHT, false, 0},      {"HOST-MEM", TABLE_RIGHT, false, 0},
        {"ELAPSED", TABLE_RIGHT, false, 0},   {"CONTAINER", TABLE_LEFT, true, 9},
        {"COMMAND", TABLE_LEFT, true, 7},
    };
    /* the command is what a person reads; these give way to it */
    static const struct drop_rank ranks[] = {
        {"CONTAINER", 1}, {"ELAPSED", 2}, {"HOST-MEM", 3}, {"TYPE", 4},
    };
    size_t skip = with_host ? 0 : 1;
    return ranked_table(cols + skip, sizeof cols / sizeof cols[0] - skip, ranks,
                        sizeof ranks / sizeof ranks[0]);
}

static int render_processes(const struct list_view *v, FILE *out,
                            const struct table_render_options *o)
{
    struct table *t = process_table(NULL, false);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < v->shown->proc_count; i++)
        process_row(t, v, v->shown->procs[i], NULL);
    int rc = table_render(t, out, o);
    table_free(t);
    return rc;
}

static void header_line(const struct list_view *v, FILE *out)
{
    const struct snapshot *s = v->shown->snap;
    char when[40] = "";
    struct tm tm;
    time_t now = s->wall.tv_sec;
    if (localtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(out, "%s%s%s  %s", v->color ? "\033[1m" : "",
            s->host.hostname[0] ? s->host.hostname : "?", v->color ? "\033[0m" : "", when);
    if (s->driver_version[0])
        fprintf(out, "  Driver %s", s->driver_version);
    if (s->cuda_version[0])
        fprintf(out, "  CUDA %s", s->cuda_version);
    fputc('\n', out);
}

static void status_lines(const struct list_view *v, FILE *out)
{
    const struct snapshot *s = v->shown->snap;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (v->shown->device_visible[i] && d->status[0])
            fprintf(out, "%sGPU %d: %s%s\n", v->color ? "\033[31m" : "", d->index, d->status,
                    v->color ? "\033[0m" : "");
        else if (v->shown->device_visible[i] && v->shown->device_stale &&
                 v->shown->device_stale[i])
            fprintf(out, "%sGPU %d: STALE: the driver has not answered for %.0fs; "
                    "values from the last sample%s\n", v->color ? "\033[31m" : "", d->index,
                    v->stale_for_s, v->color ? "\033[0m" : "");
    }
}

int list_render_table(const struct list_view *v, FILE *out)
{
    struct table_render_options o = {.ascii = v->ascii, .color = v->color, .width = v->width};
    header_line(v, out);
    int rc = render_devices(v, out, &o);
    status_lines(v, out);
    if (rc == 0 && v->shown->details)
        rc = render_processes(v, out, &o);
    if (rc == 0 && fflush(out) == EOF)
        rc = -(errno ? errno : EIO);
    return rc;
}

/* ---- across hosts ------------------------------------------------------------------ */

static void status_lines_of(const struct list_host_view *h, bool color, FILE *out)
{
    const struct snapshot *s = h->shown->snap;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (h->shown->device_visible[i] && d->status[0])
            fprintf(out, "%s%s: GPU %d: %s%s\n", color ? "\033[31m" : "", h->host, d->index,
                    d->status, color ? "\033[0m" : "");
    }
}

/* The rows of the hosts that answered, then one row per host that did not,
 * its reason where the GPU's name would be. */
static void host_device_rows(struct table *t, const struct list_view *style,
                             const struct list_host_view *hosts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i].shown)
            continue;
        struct list_view v = *style;
        v.shown = hosts[i].shown;
        device_rows(t, &v, hosts[i].host);
    }
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].shown)
            continue;
        table_row(t);
        table_cell(t, TABLE_STYLE_CYAN, "%s", hosts[i].host);
        table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_RED, "%s", hosts[i].error ? hosts[i].error : "?");
    }
}

int list_render_hosts(const struct list_host_view *hosts, size_t n, const struct list_view *style,
                      bool details, FILE *out)
{
    struct table_render_options o = {.ascii = style->ascii, .color = style->color,
                                     .width = style->width};
    struct table *t = device_table(style, true);
    if (!t)
        return -ENOMEM;
    host_device_rows(t, style, hosts, n);
    int rc = table_render(t, out, &o);
    table_free(t);
    for (size_t i = 0; i < n; i++)
        if (hosts[i].shown)
            status_lines_of(&hosts[i], style->color, out);
    if (rc == 0 && details) {
        if (!(t = process_table(style->host_heading, true)))
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            if (!hosts[i].shown)
                continue;
            struct list_view v = *style;
            v.shown = hosts[i].shown;
            for (size_t k = 0; k < v.shown->proc_count; k++)
                process_row(t, &v, v.shown->procs[k], hosts[i].host);
        }
        rc = table_render(t, out, &o);
        table_free(t);
    }
    if (rc == 0 && fflush(out) == EOF)
        rc = -(errno ? errno : EIO);
    return rc;
}
