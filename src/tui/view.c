/* view.c - the monitor's state (see view.h): taking in frames, keeping the
 * selection and tags on their processes, and the histories behind the
 * graphs.  Drawing is in panels.c, table.c and screens.c.
 */
#include "tui/view.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int init_histories(struct view *v, double interval_s)
{
    size_t cap = history_capacity(10.0, interval_s, 512);
    int rc = 0;
    for (int i = 0; i < VIEW_MAX_DEVICES && rc == 0; i++)
        rc = history_init(&v->gpu_util[i], cap) ?: history_init(&v->gpu_mem[i], cap);
    struct history *single[] = {&v->host_cpu, &v->host_mem, &v->p_cpu, &v->p_rss, &v->p_gmem,
                                &v->p_sm};
    for (size_t i = 0; i < sizeof single / sizeof single[0] && rc == 0; i++)
        rc = history_init(single[i], cap);
    return rc;
}

int view_init(struct view *v, const struct tui_options *opt, bool once, struct error *e)
{
    memset(v, 0, sizeof *v);
    v->opt = opt;
    v->once = once;
    v->mode = opt->mode;
    v->sort = SORT_GPU;
    v->cursor = -1;
    if (!once && init_histories(v, opt->interval_s) < 0) {
        view_free(v);
        return error_set(e, -ENOMEM, "out of memory for the monitor's history");
    }
    return 0;
}

void view_free(struct view *v)
{
    if (!v)
        return;
    feed_frame_unref(v->frame);
    v->frame = NULL;
    procs_free(&v->table);
    free(v->tags);
    free(v->env);
    free(v->anc_prev);
    free(v->anc_rate);
    filter_clear(&v->pattern);
    for (int i = 0; i < VIEW_MAX_DEVICES; i++) {
        history_free(&v->gpu_util[i]);
        history_free(&v->gpu_mem[i]);
    }
    struct history *single[] = {&v->host_cpu, &v->host_mem, &v->p_cpu, &v->p_rss, &v->p_gmem,
                                &v->p_sm};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++)
        history_free(single[i]);
}

void view_set_status(struct view *v, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->status, sizeof v->status, fmt, ap);
    va_end(ap);
    v->status_error = error;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    v->status_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum tui_style view_level(double pct, const double th[2])
{
    return pct < th[0] ? ST_LOW : pct < th[1] ? ST_MID : ST_HIGH;
}

/* ---- rows and selection -------------------------------------------------------------- */

static struct view_ident ident_of(const struct proc_row *r)
{
    return (struct view_ident){r->pid, r->start_ticks, r->gp ? r->gp->device_index : -1};
}

void view_rebuild(struct view *v)
{
    if (!v->frame)
        return;
    struct procs_input in = {
        .snap = v->frame->snap,
        .nodes = v->nodes,
        .ancestors = v->frame->ancestors,
        .ancestor_count = v->frame->ancestor_count,
        .criteria = filter_process_has_criteria(&v->opt->filter) ? &v->opt->filter : NULL,
        .device_visible = v->frame->snap->device_count <= VIEW_MAX_DEVICES ? v->device_visible
                                                                           : NULL,
        .mig_visible = v->frame->snap->device_count <= VIEW_MAX_DEVICES ? v->mig_visible : NULL,
        .pattern = &v->pattern,
        .self_user = v->opt->self_user,
        .sort = v->sort,
        .reverse = v->reverse,
        .tree = v->tree,
        .ascii = v->opt->ascii,
        .once = v->once,
    };
    if (procs_build(&v->table, &in) < 0)
        view_set_status(v, true, "out of memory listing processes");
    v->cursor = v->has_sel ? procs_find(&v->table, v->sel.pid, v->sel.start_ticks, v->sel.device)
                           : -1;
}

void view_select_row(struct view *v, long row)
{
    if (row < 0 || (size_t)row >= v->table.count) {
        v->has_sel = false;
        v->cursor = -1;
        return;
    }
    struct view_ident id = ident_of(&v->table.rows[row]);
    bool same = v->has_sel && id.pid == v->sel.pid && id.start_ticks == v->sel.start_ticks;
    v->sel = id;
    v->has_sel = true;
    v->cursor = row;
    if (!same && !v->once) {
        history_reset(&v->p_cpu);
        history_reset(&v->p_rss);
        history_reset(&v->p_gmem);
        history_reset(&v->p_sm);
    }
}

void view_move(struct view *v, long delta)
{
    long n = (long)v->table.count;
    if (n == 0)
        return;
    long row = v->cursor < 0 ? (delta >= 0 ? 0 : n - 1) : v->cursor + delta;
    view_select_row(v, row < 0 ? 0 : row >= n ? n - 1 : row);
}

const struct proc_row *view_selected(const struct view *v)
{
    return v->cursor >= 0 && (size_t)v->cursor < v->table.count ? &v->table.rows[v->cursor]
                                                                 : NULL;
}

/* ---- tags ---------------------------------------------------------------------------- */

static long tag_index(const struct view *v, pid_t pid, uint64_t start)
{
    for (size_t i = 0; i < v->tag_count; i++)
        if (v->tags[i].pid == pid && v->tags[i].start_ticks == start)
            return (long)i;
    return -1;
}

bool view_is_tagged(const struct view *v, const struct proc_row *r)
{
    return tag_index(v, r->pid, r->start_ticks) >= 0;
}

void view_toggle_tag(struct view *v)
{
    const struct proc_row *r = view_selected(v);
    if (!r)
        return;
    long i = tag_index(v, r->pid, r->start_ticks);
    if (i >= 0) {
        v->tags[i] = v->tags[--v->tag_count];
        return;
    }
    if (v->tag_count == v->tag_cap) {
        size_t cap = v->tag_cap ? v->tag_cap * 2 : 16;
        struct view_ident *t = realloc(v->tags, cap * sizeof *t);
        if (!t) {
            view_set_status(v, true, "out of memory tagging a process");
            return;
        }
        v->tags = t;
        v->tag_cap = cap;
    }
    v->tags[v->tag_count++] = ident_of(r);
}

void view_clear_tags(struct view *v)
{
    v->tag_count = 0;
}

static void drop_exited_tags(struct view *v)
{
    const struct snapshot *s = v->frame->snap;
    for (size_t i = 0; i < v->tag_count;) {
        const struct host_process *hp = procs_host_process(s, v->nodes, v->tags[i].device,
                                                           v->tags[i].pid);
        if (hp && hp->exists && hp->start_ticks == v->tags[i].start_ticks)
            i++;
        else
            v->tags[i] = v->tags[--v->tag_count];
    }
}

/* ---- frames -------------------------------------------------------------------------- */

static void push_histories(struct view *v)
{
    const struct snapshot *s = v->frame->snap;
    for (size_t i = 0; i < s->device_count && i < VIEW_MAX_DEVICES; i++) {
        const struct device *d = &s->devices[i];
        history_push(&v->gpu_util[i], d->util_gpu_pct.v, d->util_gpu_pct.known);
        bool mk = d->mem_used_bytes.known && d->mem_total_bytes.known && d->mem_total_bytes.v;
        history_push(&v->gpu_mem[i], mk ? 100.0 * (double)d->mem_used_bytes.v /
                                               (double)d->mem_total_bytes.v : 0, mk);
    }
    const struct host_info *h = &s->host;
    history_push(&v->host_cpu, h->cpu_pct.v, h->cpu_pct.known);
    bool mk = h->mem_total_bytes.known && h->mem_available_bytes.known && h->mem_total_bytes.v;
    history_push(&v->host_mem, mk ? 100.0 * (double)(h->mem_total_bytes.v -
                                                     h->mem_available_bytes.v) /
                                        (double)h->mem_total_bytes.v : 0, mk);
}

static void push_selected(struct view *v)
{
    const struct proc_row *r = view_selected(v);
    if (!r)
        return;
    const struct host_process *hp = r->hp;
    history_push(&v->p_cpu, hp ? hp->cpu_pct_interval.v : 0, hp && hp->cpu_pct_interval.known);
    history_push(&v->p_rss, hp ? (double)hp->rss_bytes.v : 0, hp && hp->rss_bytes.known);
    history_push(&v->p_gmem, r->gp ? (double)r->gp->gpu_mem_bytes.v : 0,
                 r->gp && r->gp->gpu_mem_bytes.known);
    history_push(&v->p_sm, r->gp ? r->gp->sm_pct.v : 0, r->gp && r->gp->sm_pct.known);
}

static int cmp_anc(const void *a, const void *b)
{
    const struct view_ancestor_cpu *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Rates of the frame's ancestors against the previous frame's ticks (same
 * pid and start time), then this frame's ticks kept for the next one. */
static void ancestor_rates(struct view *v, const struct feed_frame *fr)
{
    const struct snapshot *s = fr->snap;
    size_t n = fr->ancestor_count;
    struct view_ancestor_cpu *now = n ? calloc(n, sizeof *now) : NULL;
    struct view_ancestor_cpu *rate = n ? calloc(n, sizeof *rate) : NULL;
    size_t nn = 0, nr = 0;
    double dt = (double)(s->mono.tv_sec - v->anc_mono.tv_sec) +
                (double)(s->mono.tv_nsec - v->anc_mono.tv_nsec) / 1e9;
    long hz = s->host.clock_ticks;
    for (size_t i = 0; now && rate && i < n; i++) {
        const struct host_process *hp = &fr->ancestors[i];
        if (!hp->cpu_ticks.known)
            continue;
        now[nn++] = (struct view_ancestor_cpu){hp->pid, hp->start_ticks, hp->cpu_ticks.v, 0};
        struct view_ancestor_cpu key = {.pid = hp->pid};
        const struct view_ancestor_cpu *old = v->anc_prev_count
            ? bsearch(&key, v->anc_prev, v->anc_prev_count, sizeof key, cmp_anc) : NULL;
        if (old && old->start_ticks == hp->start_ticks && hp->cpu_ticks.v >= old->cpu_ticks &&
            dt > 0 && hz > 0)
            rate[nr++] = (struct view_ancestor_cpu){
                hp->pid, hp->start_ticks, 0,
                100.0 * (double)(hp->cpu_ticks.v - old->cpu_ticks) / (double)hz / dt};
    }
    free(v->anc_prev);
    free(v->anc_rate);
    v->anc_prev = now;            /* ancestors come sorted by pid (feed.h) */
    v->anc_prev_count = now ? nn : 0;
    v->anc_rate = rate;
    v->anc_rate_count = rate ? nr : 0;
    v->anc_mono = s->mono;
}

struct opt_f64 view_row_cpu(const struct view *v, const struct proc_row *r)
{
    struct opt_f64 out = procs_cpu_pct(r, v->once);
    if (r->gp || out.known || !r->hp || v->once || !v->anc_rate_count)
        return out;
    struct view_ancestor_cpu key = {.pid = r->pid};
    const struct view_ancestor_cpu *a =
        bsearch(&key, v->anc_rate, v->anc_rate_count, sizeof key, cmp_anc);
    if (a && a->start_ticks == r->start_ticks)
        OPT_SET(out, a->pct);
    return out;
}

void view_accept_frame(struct view *v, struct feed_frame *fr)
{
    feed_frame_unref(v->frame);
    v->frame = fr;
    const struct snapshot *s = fr->snap;
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    if (s->device_count <= VIEW_MAX_DEVICES) {
        filter_devices(&v->opt->filter, s->devices, s->device_count, cvd, v->device_visible);
        for (size_t i = 0; i < s->device_count; i++)
            v->mig_visible[i] = v->opt->filter.only_visible && cvd
                ? filter_cuda_visible_migs(cvd, strlen(cvd), &s->devices[i]) : 0;
    }
    if (!v->once) {
        push_histories(v);
        if (fr->ancestor_count)
            ancestor_rates(v, fr);
    }
    bool had = v->has_sel;
    view_rebuild(v);
    drop_exited_tags(v);
    if (had && v->cursor < 0) {
        const struct host_process *hp = procs_host_process(s, v->nodes, v->sel.device,
                                                           v->sel.pid);
        bool alive = hp && hp->exists && hp->start_ticks == v->sel.start_ticks;
        view_set_status(v, false, "pid %d %s: selection cleared", (int)v->sel.pid,
                        alive ? "is no longer shown" : "has exited");
        v->has_sel = false;
        if (v->screen == SCREEN_PROCESS)
            v->screen = SCREEN_MAIN;
    }
    if (!v->once)
        push_selected(v);
}

bool view_mig_visible(const struct view *v, const struct device *d, size_t m)
{
    const struct snapshot *s = v->frame ? v->frame->snap : NULL;
    if (!s || s->device_count > VIEW_MAX_DEVICES || m >= 64)
        return true;
    size_t i = (size_t)(d - s->devices);
    if (i >= s->device_count || !v->mig_visible[i])
        return true;
    return v->mig_visible[i] >> m & 1;
}

enum tui_mode view_effective_mode(const struct view *v, int w, int h)
{
    if (v->mode != TUI_MODE_AUTO)
        return v->mode;
    size_t gpus = v->frame ? v->frame->snap->device_count : 1;
    /* full blocks take three rows a GPU; keep ten rows for processes */
    return w >= 100 && (size_t)h >= gpus * 3 + 16 ? TUI_MODE_FULL : TUI_MODE_COMPACT;
}

void view_draw(struct view *v, struct canvas *c, const struct feed_status *st)
{
    canvas_clear(c);
    switch (v->screen) {
    case SCREEN_HELP: screens_help(v, c); return;
    case SCREEN_ENV: screens_env(v, c); return;
    case SCREEN_PROCESS: screens_process(v, c, st); return;
    case SCREEN_MAIN: break;
    }
    enum tui_mode mode = view_effective_mode(v, c->w, c->h);
    int y = panels_draw(v, c, 0, mode, st, c->h);
    table_draw(v, c, y, v->once ? c->h : c->h - 1);
}
