/* table.c - the process table of the main screen and its status line:
 * columns, the sort mark, dimmed rows of other users, tags, the selection,
 * the horizontally scrolling command, and the prompt or message at the
 * bottom.  Which rows exist and in which order is procs.c's.
 */
#include "tui/view.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/term.h"
#include "core/units.h"

struct column {
    const char *name;
    int width;
    int sort;            /* enum procs_sort, -1 for none */
    bool left;
    int drop;            /* narrow terminals drop columns in this order (0: never) */
};

static const struct column columns[] = {
    {"GPU", 4, SORT_GPU, false, 0},         {"PID", 7, SORT_PID, false, 0},
    {"USER", 8, SORT_USER, true, 6},        {"TYPE", 4, -1, true, 2},
    {"GPU-MEM", 8, SORT_GPU_MEM, false, 8}, {"%SM", 4, SORT_SM, false, 4},
    {"%GMBW", 5, SORT_GMBW, false, 1},      {"%CPU", 5, SORT_CPU, false, 7},
    {"%MEM", 5, SORT_MEM, false, 3},        {"TIME", 10, SORT_TIME, false, 5},
};
#define NCOLS (sizeof columns / sizeof columns[0])

/* The command column a person can still read: 24 columns, a third of a
 * terminal narrower than 72. */
static int command_min(int w)
{
    return w >= 72 ? 24 : w / 3;
}

/* Which columns fit a w-wide terminal: the less important ones (bandwidth,
 * type, host memory, SM, time, user, CPU, GPU memory, in that order) go
 * first, as htop and nvitop narrow their tables, until the command gets
 * command_min columns.  GPU and PID always stay (rows are found by them). */
static void visible_columns(int w, bool shown[NCOLS])
{
    int used = 1;
    for (size_t i = 0; i < NCOLS; i++) {
        shown[i] = true;
        used += columns[i].width + 1;
    }
    for (int order = 1; w - used < command_min(w); order++) {
        size_t i = 0;
        while (i < NCOLS && columns[i].drop != order)
            i++;
        if (i == NCOLS)
            break;
        shown[i] = false;
        used -= columns[i].width + 1;
    }
}

/* Columns of the NODE cell that leads a cluster's rows, the gap after it
 * and one before it (column 1 is the selection's '>'); 0 for one machine. */
static int node_cell_width(const struct view *v)
{
    return v->nodes ? view_node_width(v) + 2 : 0;
}

/* A cluster's row: the node's id, and its GPU's index on that node. */
static const char *row_node(const struct view *v, const struct proc_row *r)
{
    if (!r->gp || r->gp->device_index < 0 ||
        (size_t)r->gp->device_index >= v->frame->snap->device_count)
        return "-";
    return v->nodes->nodes[v->nodes->device_node[r->gp->device_index]].id;
}

static void header(struct view *v, struct canvas *c, int y, const bool shown[NCOLS])
{
    canvas_style(c, y, 0, c->w, ST_TABLE_HEAD);
    int x = 1;
    if (v->nodes) {
        canvas_put(c, y, x + 1, 4, "NODE", 4, ST_TABLE_HEAD);
        x += node_cell_width(v);
    }
    for (size_t i = 0; i < NCOLS; i++) {
        const struct column *col = &columns[i];
        if (!shown[i])
            continue;
        bool sorted = !v->tree && col->sort == (int)v->sort;
        const char *mark = v->reverse ? (c->ascii ? "v" : "▼") : (c->ascii ? "^" : "▲");
        int w = (int)strlen(col->name);
        int at = col->left ? x : x + col->width - w;
        canvas_put(c, y, at, w, col->name, (size_t)w, ST_TABLE_HEAD);
        /* the mark goes right after the name: into the gap after a
         * right-aligned column, so no name is ever cut for it */
        if (sorted)
            canvas_put(c, y, at + w, 1, mark, strlen(mark), ST_TABLE_HEAD);
        x += col->width + 1;
    }
    canvas_put(c, y, x, c->w - x, "COMMAND", 7, ST_TABLE_HEAD);
}

static void fmt_f(struct opt_f64 v, int decimals, char *buf, size_t n)
{
    if (v.known)
        snprintf(buf, n, "%.*f", decimals, v.v);
    else
        snprintf(buf, n, "N/A");
}

/* The cells of one row, in column order. */
static void cells(const struct view *v, const struct proc_row *r, char out[NCOLS][80])
{
    const struct gpu_process *gp = r->gp;
    const struct host_process *hp = r->hp;
    for (size_t i = 0; i < NCOLS; i++)
        strcpy(out[i], "-");
    int mig = gp && v->frame ? procs_mig_index(v->frame->snap, gp) : -1;
    int index = gp ? gp->device_index : -1;
    if (gp && v->nodes && index >= 0 && (size_t)index < v->frame->snap->device_count)
        index = v->nodes->device_index[index];      /* the GPU's index on its node */
    if (gp && mig >= 0)
        snprintf(out[0], 80, "%d:%d", index, mig);   /* nvitop's MIG device */
    else if (gp)
        snprintf(out[0], 80, "%d", index);
    snprintf(out[1], 80, "%d", (int)r->pid);
    snprintf(out[2], 80, "%s", hp && hp->user[0] ? hp->user : "N/A");
    if (gp) {
        snprintf(out[3], 80, "%s", model_gpu_process_type_name(gp->type));
        if (gp->gpu_mem_bytes.known)
            units_format_bytes(gp->gpu_mem_bytes.v, out[4], 80);
        else
            strcpy(out[4], "N/A");
        fmt_f(gp->sm_pct, 0, out[5], 80);
        fmt_f(gp->mem_bw_pct, 0, out[6], 80);
    }
    fmt_f(view_row_cpu(v, r), 1, out[7], 80);
    if (hp) {
        fmt_f(hp->mem_pct, 1, out[8], 80);
        if (hp->elapsed_s.known)
            units_format_elapsed(hp->elapsed_s.v, out[9], 80);
        else
            strcpy(out[9], "N/A");
    } else {
        strcpy(out[8], "N/A");
        strcpy(out[9], "N/A");
    }
}

/* Skips cols display columns of s; returns the rest. */
static const char *skip_columns(const char *s, int cols)
{
    size_t len = strlen(s), i = 0;
    while (cols > 0 && i < len) {
        uint32_t cp;
        size_t n = term_utf8_decode(s + i, len - i, &cp);
        cols -= term_codepoint_width(cp);
        i += n;
    }
    return s + i;
}

static void row(struct view *v, struct canvas *c, int y, const struct proc_row *r,
                const bool shown[NCOLS])
{
    char cell[NCOLS][80];
    cells(v, r, cell);
    bool tagged = view_is_tagged(v, r);
    enum tui_style st = tagged ? ST_TAGGED : r->own ? ST_NORMAL : ST_DIM;
    canvas_put(c, y, 0, 1, tagged ? "*" : " ", 1, st);
    int x = 1;
    if (v->nodes) {
        int w = view_node_width(v);
        canvas_printf(c, y, x + 1, w, st, "%-*.*s", w, w, row_node(v, r));
        x += node_cell_width(v);
    }
    for (size_t i = 0; i < NCOLS; i++) {
        const struct column *col = &columns[i];
        if (!shown[i])
            continue;
        canvas_printf(c, y, x, col->width, st, col->left ? "%-*.*s" : "%*.*s", col->width,
                      col->width, cell[i]);
        x += col->width + 1;
    }
    char cmd[4096];
    const char *text = r->hp ? (r->hp->cmdline && r->hp->cmdline[0] ? r->hp->cmdline
                                                                    : r->hp->name) : "N/A";
    snprintf(cmd, sizeof cmd, "%s%s", r->tree, text);
    int w = term_display_width(cmd, strlen(cmd));
    if (w > v->cmd_max)
        v->cmd_max = w;
    v->cmd_width = c->w - x;
    const char *from = skip_columns(cmd, v->cmd_scroll);
    canvas_put(c, y, x, c->w - x, from, strlen(from), st);
    if (v->has_sel && v->cursor >= 0 && &v->table.rows[v->cursor] == r) {
        /* a marker as well as the colour, for terminals without either */
        canvas_put(c, y, 1, 1, ">", 1, ST_SELECTED);
        canvas_style(c, y, 0, c->w, ST_SELECTED);
    }
}

static void status_line(struct view *v, struct canvas *c, int y)
{
    if (v->prompt == PROMPT_FILTER) {
        int x = canvas_printf(c, y, 0, c->w, ST_BOLD, "Filter (PCRE2, empty clears): ");
        canvas_put(c, y, x, c->w - x, v->input, v->input_len, ST_NORMAL);
        return;
    }
    if (v->prompt == PROMPT_SORT) {
        canvas_printf(c, y, 0, c->w, ST_BOLD,
                      "Sort by: n GPU, u user, p pid, g GPU memory, s SM, b bandwidth, c CPU, "
                      "m host memory, t time (n u ascend, the others descend; capital: the other way)");
        return;
    }
    if (v->prompt == PROMPT_SIGNAL) {
        char what[ERROR_MSG_MAX];
        actions_describe(v, v->pending_signal, what, sizeof what);
        canvas_printf(c, y, 0, c->w, ST_WARN, "%s? [y/N]", what);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (v->status[0] && (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - v->status_at >
                            VIEW_STATUS_SECONDS)
        v->status[0] = '\0';       /* a message is news for a few seconds, not forever */
    if (v->status[0]) {
        canvas_put(c, y, 0, c->w, v->status, strlen(v->status),
                   v->status_error ? ST_WARN : ST_BOLD);
        return;
    }
    /* the longest hint that fits whole: a cut one reads as garbage */
    const char *sig = v->opt->readonly ? "(read-only)" : "I/T/K signal";
    const char *tagged = v->tag_count ? "  (tagged processes are marked *)" : "";
    char hint[256];
    snprintf(hint, sizeof hint, "q quit  h help  %s  t tree  e env  Enter process  F filter  "
             "o sort  a/f/c mode  Space tag%s", sig, tagged);
    if ((int)strlen(hint) >= c->w)
        snprintf(hint, sizeof hint, "q quit  h help  %s  t tree  F filter  o sort", sig);
    if ((int)strlen(hint) >= c->w)
        snprintf(hint, sizeof hint, "q quit  h help");
    canvas_printf(c, y, 0, c->w, ST_DIM, "%s", hint);
}

void table_draw(struct view *v, struct canvas *c, int y, int bottom)
{
    if (y >= bottom)
        return;
    bool shown[NCOLS];
    visible_columns(c->w - node_cell_width(v), shown);
    header(v, c, y++, shown);
    int rows = bottom - y;
    v->table_y = y;
    v->table_rows = rows;
    if (v->cursor >= 0) {
        if (v->cursor < v->top)
            v->top = v->cursor;
        if (v->cursor >= v->top + rows)
            v->top = v->cursor - rows + 1;
    }
    if (v->top > (long)v->table.count - rows)
        v->top = (long)v->table.count - rows;
    if (v->top < 0)
        v->top = 0;
    v->cmd_max = 0;
    if (v->table.count == 0 && v->frame)
        canvas_printf(c, y, 2, c->w - 2, ST_DIM, "%s",
                      v->pattern_text[0] ? "No process matches the filter." : "No GPU process.");
    for (long i = v->top; i < (long)v->table.count && y < bottom; i++, y++)
        row(v, c, y, &v->table.rows[i], shown);
    if (!v->once)
        status_line(v, c, c->h - 1);
}
