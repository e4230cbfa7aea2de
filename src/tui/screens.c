/* screens.c - the full-screen pages besides the main one: help (every key
 * binding), the environment of the selected process, and the process
 * screen with live graphs of its CPU %, host memory, GPU memory and SM %.
 */
#include "tui/view.h"

#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "sources/procfs.h"

static const char *const help_lines[] = {
    "  q               quit (on another screen: back)",
    "  h ?             this help",
    "  r  Ctrl-R  F5   redraw the screen and sample now",
    "  a  f  c         display mode: auto, full, compact",
    "  Up Down  Alt-k Alt-j  Shift-Tab Tab  wheel   select the previous or next process",
    "  Home End        first or last process",
    "  PgUp PgDn  Alt-K Alt-J  [ ]   a page up or down",
    "  Left Right  Alt-h Alt-l  Shift-wheel   scroll the command column",
    "  ^ Ctrl-A  $ Ctrl-E   command column to its start or end",
    "  Esc             clear the selection and the tags",
    "  Space           tag or untag the selected process",
    "  I  T  K         send SIGINT, SIGTERM, SIGKILL to the tagged or selected processes",
    "                  (y confirms; disabled by --readonly)",
    "  Ctrl-C          SIGINT as I; with nothing selected or tagged: quit",
    "  t               tree view: GPU processes under their ancestors",
    "  e               environment of the selected process",
    "  Enter           process screen with live graphs",
    "  ,  .            sort by the previous or next column",
    "  /               reverse the sort order",
    "  o + n u p g s b c m t   sort by GPU, user, pid, GPU memory, SM %,",
    "                  memory bandwidth %, CPU %, host memory %, time:",
    "                  n u ascending, the others descending",
    "                  (a capital letter sorts the other way)",
    "  F               filter: a PCRE2 pattern on user, name and command line",
    "                  (an empty pattern clears it)",
    "  mouse           click selects a process, the wheel moves the selection",
};
#define HELP_LINES ((long)(sizeof help_lines / sizeof help_lines[0]))

/* The title on the first row, the bindings scrolled by Up/Down/PgUp/PgDn
 * in between, and on the last row where the view is and how to leave. */
void screens_help(struct view *v, struct canvas *c)
{
    canvas_printf(c, 0, 0, c->w, ST_TITLE, "gpuctl top - keys");
    int rows = c->h - 2 > 1 ? c->h - 2 : 1;
    long max_top = HELP_LINES > rows ? HELP_LINES - rows : 0;
    if (v->help_top > max_top)
        v->help_top = max_top;
    if (v->help_top < 0)
        v->help_top = 0;
    v->help_rows = rows;
    for (int i = 0; i < rows && v->help_top + i < HELP_LINES; i++) {
        const char *line = help_lines[v->help_top + i];
        canvas_put(c, 1 + i, 0, c->w, line, strlen(line), ST_NORMAL);
    }
    if (c->h < 3)
        return;
    long last = v->help_top + rows < HELP_LINES ? v->help_top + rows : HELP_LINES;
    if (max_top > 0)
        canvas_printf(c, c->h - 1, 0, c->w, ST_DIM,
                      "lines %ld-%ld of %ld: Up Down PgUp PgDn scroll; q Esc h back",
                      v->help_top + 1, last, HELP_LINES);
    else
        canvas_printf(c, c->h - 1, 0, c->w, ST_DIM, "Press q, Esc or h to go back.");
}

/* ---- environment --------------------------------------------------------------------- */

void screens_env_load(struct view *v)
{
    free(v->env);
    v->env = NULL;
    v->env_len = 0;
    v->env_error[0] = '\0';
    v->env_top = 0;
    const struct proc_row *r = view_selected(v);
    if (!r) {
        snprintf(v->env_error, sizeof v->env_error, "no process selected");
        return;
    }
    v->env_of = v->sel;
    if (v->source) {             /* frames from another host: this /proc is not its */
        snprintf(v->env_error, sizeof v->env_error, "pid %d runs on another host; its "
                 "environment is not read from here", (int)r->pid);
        return;
    }
    struct error e = {0};
    if (procfs_read_environ(r->pid, &v->env, &v->env_len, &e) < 0)
        snprintf(v->env_error, sizeof v->env_error, "%s", e.msg);
}

void screens_env(struct view *v, struct canvas *c)
{
    canvas_printf(c, 0, 0, c->w, ST_TITLE, "Environment of pid %d  (Up/Down/PgUp/PgDn scroll, "
                  "q or Esc back)", (int)v->env_of.pid);
    if (v->env_error[0]) {
        canvas_put(c, 2, 0, c->w, v->env_error, strlen(v->env_error), ST_WARN);
        return;
    }
    long line = 0;
    int y = 1;
    for (size_t i = 0; i < v->env_len && y < c->h;) {
        const char *s = v->env + i;
        size_t n = strnlen(s, v->env_len - i);
        if (line++ >= v->env_top && n > 0)
            canvas_put(c, y++, 0, c->w, s, n, ST_NORMAL);
        i += n + 1;
    }
    if (v->env_len == 0)
        canvas_put(c, 2, 0, c->w, "(empty environment)", 19, ST_DIM);
}

/* ---- process screen ------------------------------------------------------------------ */

/* A title with the value now and the graph's scale, then the graph. */
static int graph_box(struct canvas *c, int y, int h, const char *title, const char *now,
                     const char *scale, const struct history *hist, double max)
{
    canvas_printf(c, y, 0, c->w, ST_BOLD, "%s: %s", title, now);
    int at = c->w - (int)strlen(scale) - 12;
    if (at > 0)
        canvas_printf(c, y, at, c->w - at, ST_DIM, "(graph 0 - %s)", scale);
    canvas_graph(c, y + 1, 0, c->w, h, hist, max, ST_GRAPH);
    return y + 1 + h;
}

static double history_max(const struct history *h, double floor)
{
    double m = floor;
    for (size_t i = 0; i < h->len; i++) {
        double x = history_at(h, i);
        if (x == x && x > m)
            m = x;
    }
    return m;
}

/* The top of a byte graph: a round number (1, 2 or 5 times a power of ten
 * of the unit KiB, MiB, GiB ...) at least a quarter above the largest
 * sample, so a steady value sits in the middle rather than filling the
 * box and the scale reads as a number a person would pick. */
static double byte_scale(double largest)
{
    double unit = 1;
    double want = largest * 1.25 > 1024 ? largest * 1.25 : 1024;
    while (want / unit >= 1024)
        unit *= 1024;
    double m = want / unit, step = 1;
    while (step * 10 <= m)
        step *= 10;
    double top = m <= step ? step : m <= 2 * step ? 2 * step : m <= 5 * step ? 5 * step
                                                                             : 10 * step;
    return top * unit;
}

void screens_process(struct view *v, struct canvas *c, const struct feed_status *st)
{
    int y = panels_header(v, c, 0, st);
    const struct proc_row *r = view_selected(v);
    if (!r) {
        canvas_printf(c, y + 1, 0, c->w, ST_DIM, "The process is gone. Press q to go back.");
        return;
    }
    const struct host_process *hp = r->hp;
    canvas_printf(c, y++, 0, c->w, ST_TITLE, "Process %d  %s  user %s  (q or Esc back)",
                  (int)r->pid, hp ? hp->name : "N/A", hp ? hp->user : "N/A");
    const char *cmd = hp && hp->cmdline ? hp->cmdline : "N/A";
    canvas_put(c, y++, 0, c->w, cmd, strlen(cmd), ST_NORMAL);
    int h = (c->h - y - 8) / 4;
    if (h < 1)
        h = 1;
    char now[64];
    snprintf(now, sizeof now, hp && hp->cpu_pct_interval.known ? "%.1f%%" : "N/A",
             hp ? hp->cpu_pct_interval.v : 0);
    double cpu_max = history_max(&v->p_cpu, 100);
    char scale[UNITS_BYTES_BUFSZ + 8];
    snprintf(scale, sizeof scale, "%.0f%%", cpu_max);
    y = graph_box(c, y, h, "CPU %", now, scale, &v->p_cpu, cpu_max);
    if (hp && hp->rss_bytes.known)
        units_format_bytes(hp->rss_bytes.v, now, sizeof now);
    else
        snprintf(now, sizeof now, "N/A");
    double rss_max = byte_scale(history_max(&v->p_rss, 0));
    units_format_bytes((uint64_t)rss_max, scale, sizeof scale);
    y = graph_box(c, y, h, "Host memory", now, scale, &v->p_rss, rss_max);
    if (r->gp && r->gp->gpu_mem_bytes.known)
        units_format_bytes(r->gp->gpu_mem_bytes.v, now, sizeof now);
    else
        snprintf(now, sizeof now, "N/A");
    double gmem_max = byte_scale(history_max(&v->p_gmem, 0));
    units_format_bytes((uint64_t)gmem_max, scale, sizeof scale);
    y = graph_box(c, y, h, "GPU memory", now, scale, &v->p_gmem, gmem_max);
    snprintf(now, sizeof now, r->gp && r->gp->sm_pct.known ? "%.0f%%" : "N/A",
             r->gp ? r->gp->sm_pct.v : 0);
    graph_box(c, y, h, "SM %", now, "100%", &v->p_sm, 100);
}
