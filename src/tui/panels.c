/* panels.c - the top half of the main screen: the header (host, driver,
 * mode, sort, filter, stale data), one block per GPU with its bars and MIG
 * instances, the host panel and the history graphs.  The process table is
 * table.c's.
 */
#include "tui/view.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/term.h"
#include "core/units.h"

static const char *bar_sep(const struct canvas *c)
{
    return c->ascii ? "|" : "│";
}

static void fmt_bytes(struct opt_u64 v, char *buf, size_t size)
{
    if (v.known)
        units_format_bytes(v.v, buf, size);
    else
        snprintf(buf, size, "N/A");
}

static double pct_of(struct opt_u64 used, struct opt_u64 total)
{
    return used.known && total.known && total.v ? 100.0 * (double)used.v / (double)total.v : -1;
}

/* ---- header -------------------------------------------------------------------------- */

static void stale_text(const struct view *v, const struct feed_status *st, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!st)
        return;
    double limit = v->opt->interval_s * 2 + 1;
    if (st->error[0])
        snprintf(buf, n, "STALE: sampling failed: %s", st->error);
    else if (!st->have_data)
        snprintf(buf, n, "waiting for the first sample (%.0fs)", st->busy_for_s);
    else if (st->age_s > limit && st->busy)
        snprintf(buf, n, "STALE: data %.0fs old, driver busy for %.0fs", st->age_s,
                 st->busy_for_s);
    else if (st->age_s > limit)
        snprintf(buf, n, "STALE: data %.0fs old", st->age_s);
}

int panels_header(struct view *v, struct canvas *c, int y, const struct feed_status *st)
{
    const struct snapshot *s = v->frame ? v->frame->snap : NULL;
    char left[512];
    int n = snprintf(left, sizeof left, "gpuctl top  %s", s ? s->host.hostname : "");
    if (s && s->driver_version[0])
        n += snprintf(left + n, sizeof left - (size_t)n, "  Driver %s", s->driver_version);
    if (s && s->cuda_version[0] && n < (int)sizeof left)
        n += snprintf(left + n, sizeof left - (size_t)n, "  CUDA %s", s->cuda_version);
    int x = canvas_put(c, y, 0, c->w, left, strlen(left), ST_TITLE);
    static const char *const modes[] = {"auto", "full", "compact"};
    x += canvas_printf(c, y, x, c->w - x, ST_DIM, "  [%s%s] sort %s%s", modes[v->mode],
                       v->tree ? ", tree" : "", procs_sort_name(v->sort),
                       v->reverse ? (c->ascii ? "v" : "▼") : (c->ascii ? "^" : "▲"));
    if (v->pattern_text[0])
        x += canvas_printf(c, y, x, c->w - x, ST_BOLD, "  filter: %s", v->pattern_text);
    if (v->opt->readonly)
        x += canvas_printf(c, y, x, c->w - x, ST_DIM, "  read-only");
    char stale[ERROR_MSG_MAX + 64];
    stale_text(v, st, stale, sizeof stale);
    if (stale[0])
        x += canvas_printf(c, y, x, c->w - x, ST_WARN, "  %s", stale);
    if (s && !v->once && c->w - x > 10) {
        struct tm tm;
        time_t t = s->wall.tv_sec;
        localtime_r(&t, &tm);
        canvas_printf(c, y, c->w - 8, 8, ST_DIM, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
    }
    return y + 1;
}

/* ---- devices ------------------------------------------------------------------------- */

/* LABEL [bar] text in w columns; narrower, the bar goes, then the label,
 * then text gives way to brief (when given), and what is left is cut with
 * an ellipsis: nothing is ever drawn outside the w columns. */
static void labelled_bar(struct canvas *c, int y, int x, int w, const char *label, double pct,
                         const double *th, const char *text, const char *brief)
{
    if (w <= 0)
        return;
    int tw = (int)strlen(text);
    enum tui_style st = pct < 0 ? ST_DIM : th ? view_level(pct, th) : ST_GRAPH;
    enum tui_style ts = pct < 0 ? ST_DIM : ST_NORMAL;
    if (w >= tw + 10) {
        canvas_printf(c, y, x, 5, ST_BOLD, "%-4s", label);
        canvas_bar(c, y, x + 5, w - 5 - tw - 2, pct, st);
        canvas_put(c, y, x + w - tw - 1, tw, text, strlen(text), ts);
        return;
    }
    if (brief && tw + (int)strlen(label) + 1 > w) {
        text = brief;
        tw = (int)strlen(text);
    }
    int n = 0;
    if (w >= tw + (int)strlen(label) + 2)
        n = canvas_printf(c, y, x, w, ST_BOLD, "%s ", label);
    canvas_put_fit(c, y, x + n, w - n - 1 > 0 ? w - n - 1 : w - n, text, strlen(text), ts);
}

static void fmt_pct_text(double pct, char *buf, size_t n)
{
    if (pct < 0)
        snprintf(buf, n, "N/A");
    else
        snprintf(buf, n, "%.0f%%", pct);
}

/* In a cluster's frame, the node of device d. */
static const struct tui_node *node_of(const struct view *v, const struct device *d)
{
    size_t pos = (size_t)(d - v->frame->snap->devices);
    return &v->nodes->nodes[v->nodes->device_node[pos]];
}

/* The device's source call overran the timeout, or its node went quiet
 * (the coordinator calls it stale): its values are older. */
static bool device_is_stale(const struct view *v, const struct device *d)
{
    const struct feed_frame *fr = v->frame;
    if (fr && v->nodes && node_of(v, d)->stale)
        return true;
    return fr && d->index >= 0 && (size_t)d->index < fr->snap->device_count &&
           fr->device_stale[d->index];
}

int view_node_width(const struct view *v)
{
    size_t w = 4;
    for (size_t i = 0; v->nodes && i < v->nodes->count; i++)
        if (strlen(v->nodes->nodes[i].id) > w)
            w = strlen(v->nodes->nodes[i].id);
    return w > 24 ? 24 : (int)w;
}

/* "GPU 0", or in a cluster's frame "node-1 GPU 0" (the node's own index);
 * returns the columns used. */
static int device_head(const struct view *v, struct canvas *c, int y, const struct device *d)
{
    if (!v->nodes)
        return canvas_printf(c, y, 0, c->w, ST_BOLD, "GPU %-2d", d->index);
    int w = view_node_width(v);
    size_t pos = (size_t)(d - v->frame->snap->devices);
    int x = canvas_printf(c, y, 0, c->w, ST_TITLE, "%-*.*s ", w, w, node_of(v, d)->id);
    return x + canvas_printf(c, y, x, c->w - x, ST_BOLD, "GPU %-2d",
                             v->nodes->device_index[pos]);
}

/* One " │ text" item of a full-mode device line; narrow terminals drop
 * items in `drop` order (0: never) until the line fits. */
struct item {
    char text[112];
    int drop;
    enum tui_style st;
};

static void device_line(struct view *v, struct canvas *c, int y, const struct device *d)
{
    const char *sep = bar_sep(c);
    int x = device_head(v, c, y, d);
    const char *name = d->name[0] ? d->name : "N/A";
    if (d->status[0]) {
        x += canvas_printf(c, y, x, c->w - x, ST_NORMAL, " %s %s", sep, name);
        canvas_printf(c, y, x, c->w - x, ST_WARN, " %s LOST: %s", sep, d->status);
        return;
    }
    struct item it[10];
    size_t n = 0;
    it[n++] = (struct item){"", 0, ST_NORMAL};
    snprintf(it[0].text, sizeof it[0].text, "%s", name);
    if (device_is_stale(v, d))
        it[n++] = (struct item){"STALE", 0, ST_WARN};
    struct item *pci = &it[n++];
    *pci = (struct item){"", 1, ST_NORMAL};
    snprintf(pci->text, sizeof pci->text, "%s", d->pci_bus_id[0] ? d->pci_bus_id : "N/A");
    struct item *fan = &it[n++], *temp = &it[n++], *ps = &it[n++], *pw = &it[n++];
    *fan = (struct item){"", d->fan_pct.known ? 4 : 2, ST_NORMAL};
    snprintf(fan->text, sizeof fan->text, d->fan_pct.known ? "Fan %.0f%%" : "Fan N/A", d->fan_pct.v);
    *temp = (struct item){"", 8, ST_NORMAL};
    snprintf(temp->text, sizeof temp->text, d->temp_c.known ? "%lldC" : "N/A", (long long)d->temp_c.v);
    *ps = (struct item){"", 6, ST_NORMAL};
    snprintf(ps->text, sizeof ps->text, d->pstate.known ? "P%lld" : "N/A", (long long)d->pstate.v);
    *pw = (struct item){"", 9, ST_NORMAL};
    if (d->power_mw.known && d->power_limit_mw.known)
        snprintf(pw->text, sizeof pw->text, "Pwr %lluW / %lluW",
                 (unsigned long long)(d->power_mw.v / 1000),
                 (unsigned long long)(d->power_limit_mw.v / 1000));
    else if (d->power_mw.known)
        snprintf(pw->text, sizeof pw->text, "Pwr %lluW / N/A",
                 (unsigned long long)(d->power_mw.v / 1000));
    else
        snprintf(pw->text, sizeof pw->text, "Pwr N/A");
    struct item *ecc = &it[n++], *cm = &it[n++], *mig = &it[n++];
    *ecc = (struct item){"", 3, ST_NORMAL};
    snprintf(ecc->text, sizeof ecc->text, d->ecc_volatile_uncorrected.known ? "ECC %llu" : "ECC N/A",
             (unsigned long long)d->ecc_volatile_uncorrected.v);
    *cm = (struct item){"", 1, ST_NORMAL};
    snprintf(cm->text, sizeof cm->text, "%s", d->compute_mode.known
             ? model_compute_mode_name((enum compute_mode)d->compute_mode.v) : "N/A");
    bool mig_on = d->mig_mode.known && d->mig_mode.v;
    *mig = (struct item){"", mig_on ? 7 : 2, ST_NORMAL};
    snprintf(mig->text, sizeof mig->text, "MIG %s", !d->mig_mode.known ? "N/A" : mig_on ? "On" : "Off");
    bool keep[10];
    int need = x;
    for (size_t i = 0; i < n; i++) {
        keep[i] = true;
        need += 3 + term_display_width(it[i].text, strlen(it[i].text));
    }
    for (int order = 1; need > c->w && order <= 9; order++)
        for (size_t i = 0; i < n && need > c->w; i++)
            if (keep[i] && it[i].drop == order) {
                keep[i] = false;
                need -= 3 + term_display_width(it[i].text, strlen(it[i].text));
            }
    for (size_t i = 0; i < n && x < c->w; i++) {
        if (!keep[i])
            continue;
        x += canvas_printf(c, y, x, c->w - x, ST_NORMAL, " %s ", sep);
        x += canvas_put_fit(c, y, x, c->w - x, it[i].text, strlen(it[i].text), it[i].st);
    }
}

/* The profile of a MIG device ("3g.20gb" of "NVIDIA A100-SXM4-40GB MIG
 * 3g.20gb"), as nvitop shows it; the whole name when it has none. */
static const char *mig_profile(const struct mig_instance *mi)
{
    const char *p = strstr(mi->name, " MIG ");
    return p && p[5] ? p + 5 : mi->name[0] ? mi->name : "N/A";
}

static int mig_rows(struct view *v, struct canvas *c, int y, int bottom, const struct device *d)
{
    for (size_t m = 0; m < d->mig_count && y < bottom; m++) {
        const struct mig_instance *mi = &d->migs[m];
        if (!view_mig_visible(v, d, m))
            continue;
        int x = 2 + canvas_printf(c, y, 2, c->w - 2, ST_NORMAL, "MIG %u/%u ", mi->gpu_instance_id,
                                  mi->compute_instance_id);
        const char *prof = mig_profile(mi);
        canvas_put_fit(c, y, x, c->w - x < 12 ? c->w - x : 12, prof, strlen(prof), ST_NORMAL);
        x += 13;
        char used[UNITS_BYTES_BUFSZ], total[UNITS_BYTES_BUFSZ], text[48];
        fmt_bytes(mi->mem_used_bytes, used, sizeof used);
        fmt_bytes(mi->mem_total_bytes, total, sizeof total);
        snprintf(text, sizeof text, "%s / %s", used, total);
        int w = c->w - x - 1 < 60 ? c->w - x - 1 : 60;
        labelled_bar(c, y, x + 1, w, "MEM", pct_of(mi->mem_used_bytes, mi->mem_total_bytes),
                     v->opt->mem_thresh, text, used);
        y++;
    }
    return y;
}

static int device_full(struct view *v, struct canvas *c, int y, int bottom, const struct device *d)
{
    device_line(v, c, y++, d);
    if (d->status[0] || y + 2 > bottom)
        return y;
    int half = (c->w - 4) / 2;
    char used[UNITS_BYTES_BUFSZ], total[UNITS_BYTES_BUFSZ], text[64];
    fmt_bytes(d->mem_used_bytes, used, sizeof used);
    fmt_bytes(d->mem_total_bytes, total, sizeof total);
    snprintf(text, sizeof text, "%s / %s", used, total);
    labelled_bar(c, y, 2, half, "MEM", pct_of(d->mem_used_bytes, d->mem_total_bytes),
                 v->opt->mem_thresh, text, NULL);
    double util = d->util_gpu_pct.known ? d->util_gpu_pct.v : -1;
    fmt_pct_text(util, text, sizeof text);
    labelled_bar(c, y++, 4 + half, half, "UTIL", util, v->opt->gpu_thresh, text, NULL);
    double bw = d->util_mem_pct.known ? d->util_mem_pct.v : -1;
    fmt_pct_text(bw, text, sizeof text);
    labelled_bar(c, y, 2, half, "MBW", bw, v->opt->mem_thresh, text, NULL);
    double pw = d->power_mw.known && d->power_limit_mw.known && d->power_limit_mw.v
        ? 100.0 * (double)d->power_mw.v / (double)d->power_limit_mw.v : -1;
    fmt_pct_text(pw, text, sizeof text);
    labelled_bar(c, y++, 4 + half, half, "PWR", pw, NULL, text, NULL);
    return mig_rows(v, c, y, bottom, d);
}

/* The name a compact line has room for: without "NVIDIA " when the whole
 * name does not fit, cut with an ellipsis when even that does not. */
static int compact_name(struct canvas *c, int y, int x, int room, const struct device *d)
{
    const char *name = d->name[0] ? d->name : "N/A";
    if ((int)strlen(name) > room && strncmp(name, "NVIDIA ", 7) == 0)
        name += 7;
    int namew = room < 22 ? room : 22;
    if (namew < 4)
        namew = 4;
    canvas_put_fit(c, y, x, namew, name, strlen(name), ST_NORMAL);
    return namew;
}

static int device_compact(struct view *v, struct canvas *c, int y, int bottom,
                          const struct device *d)
{
    int x = device_head(v, c, y, d) + 1;
    /* narrow terminals: the name gives way first (the bars keep some
     * width), then the temperature and performance state */
    bool narrow = c->w < 100, temps = c->w >= 56;
    int bars_min = c->w >= 80 ? 34 : c->w >= 60 ? 24 : 16;
    x += compact_name(c, y, x, c->w - x - (temps ? 9 : 0) - bars_min, d);
    if (d->status[0]) {
        canvas_printf(c, y, x, c->w - x, ST_WARN, " LOST: %s", d->status);
        return y + 1;
    }
    if (device_is_stale(v, d))
        x += canvas_printf(c, y, x, c->w - x, ST_WARN, " STALE");
    if (temps) {
        char temp[24], ps[24];
        snprintf(temp, sizeof temp, d->temp_c.known ? "%lldC" : "N/A", (long long)d->temp_c.v);
        snprintf(ps, sizeof ps, d->pstate.known ? "P%lld" : "N/A", (long long)d->pstate.v);
        x += canvas_printf(c, y, x, 9, ST_NORMAL, " %4s %-3s", temp, ps);
    }
    char used[UNITS_BYTES_BUFSZ], total[UNITS_BYTES_BUFSZ], text[64];
    fmt_bytes(d->mem_used_bytes, used, sizeof used);
    fmt_bytes(d->mem_total_bytes, total, sizeof total);
    if (narrow)
        snprintf(text, sizeof text, "%s", used);
    else
        snprintf(text, sizeof text, "%s/%s", used, total);
    int rest = c->w - x - 1;
    int mw = rest * 3 / 5;
    labelled_bar(c, y, x + 1, mw - 1, "MEM", pct_of(d->mem_used_bytes, d->mem_total_bytes),
                 v->opt->mem_thresh, text, used);
    double util = d->util_gpu_pct.known ? d->util_gpu_pct.v : -1;
    fmt_pct_text(util, text, sizeof text);
    labelled_bar(c, y, x + 1 + mw, rest - mw, "UTIL", util, v->opt->gpu_thresh, text, NULL);
    return mig_rows(v, c, y + 1, bottom, d);
}

/* ---- host ---------------------------------------------------------------------------- */

static int host_panel(struct view *v, struct canvas *c, int y)
{
    const struct host_info *h = &v->frame->snap->host;
    bool load = c->w >= 70;          /* narrower: the three bars share the line */
    int third = load ? (c->w - 26) / 3 : (c->w - 2) / 3;
    char text[32];
    double cpu = h->cpu_pct.known ? h->cpu_pct.v : -1;
    fmt_pct_text(cpu, text, sizeof text);
    static const double cpu_th[2] = {50, 80};
    labelled_bar(c, y, 0, third, "CPU", cpu, cpu_th, text, NULL);
    struct opt_u64 used = {0};
    if (h->mem_total_bytes.known && h->mem_available_bytes.known)
        OPT_SET(used, h->mem_total_bytes.v - h->mem_available_bytes.v);
    double mem = pct_of(used, h->mem_total_bytes);
    fmt_pct_text(mem, text, sizeof text);
    labelled_bar(c, y, third + 1, third, "MEM", mem, v->opt->mem_thresh, text, NULL);
    struct opt_u64 swap_used = {0};
    if (h->swap_total_bytes.known && h->swap_free_bytes.known)
        OPT_SET(swap_used, h->swap_total_bytes.v - h->swap_free_bytes.v);
    double swap = pct_of(swap_used, h->swap_total_bytes);
    if (h->swap_total_bytes.known && h->swap_total_bytes.v == 0)
        swap = 0;
    fmt_pct_text(swap, text, sizeof text);
    labelled_bar(c, y, 2 * third + 2, third, "SWP", swap, v->opt->mem_thresh, text, NULL);
    if (!load)
        return y + 1;
    if (h->load1.known)
        canvas_printf(c, y, 3 * third + 3, c->w, ST_NORMAL, "Load %.2f %.2f %.2f", h->load1.v,
                      h->load5.v, h->load15.v);
    else
        canvas_printf(c, y, 3 * third + 3, c->w, ST_DIM, "Load N/A");
    return y + 1;
}

/* A cluster's frame: its totals instead of one host's CPU and memory, then
 * the nodes that show no GPU and why (a few; the rest counted). */
static int nodes_panel(struct view *v, struct canvas *c, int y, int bottom)
{
    const struct tui_nodes *ns = v->nodes;
    canvas_printf(c, y++, 0, c->w, ST_BOLD, "%s", ns->summary ? ns->summary : "");
    int w = view_node_width(v);
    size_t left = 0;
    for (size_t i = 0; i < ns->count; i++) {
        const struct tui_node *n = &ns->nodes[i];
        if (!n->note)
            continue;
        if (y >= bottom - 1 && !v->once) {
            left++;
            continue;
        }
        int x = canvas_printf(c, y, 0, c->w, ST_TITLE, "%-*.*s ", w, w, n->id);
        canvas_printf(c, y++, x, c->w - x, ST_WARN, "%s", n->note);
    }
    if (left)
        canvas_printf(c, y++, 0, c->w, ST_DIM, "(%zu more nodes without GPUs shown)", left);
    return y;
}

/* ---- graphs -------------------------------------------------------------------------- */

static int graphs_rows(const struct view *v)
{
    return 3 + (int)(v->frame->snap->device_count < 16 ? v->frame->snap->device_count : 16);
}

static int graphs(struct view *v, struct canvas *c, int y)
{
    int half = (c->w - 1) / 2;
    const struct host_info *h = &v->frame->snap->host;
    canvas_printf(c, y, 0, 4, ST_BOLD, "CPU");
    canvas_graph(c, y, 4, half - 4, 3, &v->host_cpu, 100, ST_GRAPH);
    canvas_printf(c, y, half + 1, 4, ST_BOLD, "MEM");
    canvas_graph(c, y, half + 5, c->w - half - 5, 3, &v->host_mem, 100, ST_GRAPH);
    (void)h;
    y += 3;
    const struct snapshot *s = v->frame->snap;
    for (size_t i = 0; i < s->device_count && i < 16; i++, y++) {
        int x = canvas_printf(c, y, 0, 12, ST_BOLD, "GPU%-2d UTIL ", s->devices[i].index);
        canvas_sparkline(c, y, x, half - x, &v->gpu_util[i], 100, ST_GRAPH);
        canvas_printf(c, y, half + 1, 5, ST_BOLD, "MEM ");
        canvas_sparkline(c, y, half + 5, c->w - half - 5, &v->gpu_mem[i], 100, ST_GRAPH);
    }
    return y;
}

/* ---- the whole top half -------------------------------------------------------------- */

int panels_draw(struct view *v, struct canvas *c, int y, enum tui_mode mode,
                const struct feed_status *st, int rows_for_table)
{
    y = panels_header(v, c, y, st);
    if (!v->frame) {
        canvas_printf(c, y + 1, 2, c->w - 2, ST_DIM, "waiting for the first sample...");
        return y + 3;
    }
    const struct snapshot *s = v->frame->snap;
    /* on the screen the devices leave the host line, the table's heading,
     * two processes and the status line below them */
    int bottom = v->once ? rows_for_table : rows_for_table - 5;
    int shown = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (i < VIEW_MAX_DEVICES && !v->device_visible[i])
            continue;
        if (!v->once && y >= bottom - 1 && y > 1) {
            canvas_printf(c, y++, 0, c->w, ST_DIM, "(%zu more GPUs: enlarge the terminal)",
                          s->device_count - i);
            break;
        }
        y = mode == TUI_MODE_FULL ? device_full(v, c, y, bottom, d)
                                  : device_compact(v, c, y, bottom, d);
        shown++;
    }
    if (shown == 0 && s->device_count == 0)
        canvas_printf(c, y++, 0, c->w, ST_DIM, "No GPU found.");
    if (v->nodes)   /* no graphs: a GPU's place changes as nodes come and go */
        return nodes_panel(v, c, y, bottom);
    y = host_panel(v, c, y);
    if (mode == TUI_MODE_FULL && !v->once && rows_for_table - y - graphs_rows(v) >= 12)
        y = graphs(v, c, y);
    return y;
}
