/* view.h - the monitor's state between frames: the data shown, the
 * selection and tags, sorting, filter, display mode, screens, histories,
 * and the status line.  Keys (keys.c) change it; panels, table.c and
 * screens.c draw it; app.c owns the terminal.
 */
#ifndef GPUCTL_TUI_VIEW_H
#define GPUCTL_TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tui/canvas.h"
#include "feed/feed.h"
#include "tui/history.h"
#include "tui/procs.h"
#include "tui/tui.h"

enum view_screen { SCREEN_MAIN, SCREEN_HELP, SCREEN_ENV, SCREEN_PROCESS };

enum view_prompt {
    PROMPT_NONE,
    PROMPT_SORT,        /* after `o`: the next letter picks the sort key */
    PROMPT_SIGNAL,      /* waiting for y to send pending_signal */
    PROMPT_FILTER,      /* editing the filter pattern */
};

struct view_ident {
    pid_t pid;
    uint64_t start_ticks;
    int device;          /* GPU index of the row, -1 for an ancestor row */
};

#define VIEW_MAX_DEVICES 64
#define VIEW_STATUS_SECONDS 5.0

struct view_ancestor_cpu {
    pid_t pid;
    uint64_t start_ticks;
    uint64_t cpu_ticks;          /* anc_prev: utime + stime */
    double pct;                  /* anc_rate: CPU % over the last interval */
};
#define VIEW_FILTER_MAX 256

struct view {
    const struct tui_options *opt;
    bool once;

    struct feed_frame *frame;            /* owned: what is shown */
    bool device_visible[VIEW_MAX_DEVICES];
    uint64_t mig_visible[VIEW_MAX_DEVICES];   /* -ov with MIG- UUIDs: instances shown; 0 all */
    struct proc_table table;

    enum tui_mode mode;
    enum view_screen screen;
    enum procs_sort sort;
    bool reverse, tree;

    bool has_sel;
    struct view_ident sel;
    long cursor;                         /* row index of the selection, -1 none */
    long top;                            /* first row shown */
    int table_rows;                      /* rows the table had last time drawn */
    int table_y;                         /* screen row of the first table row */
    int cmd_scroll;                      /* command column offset */
    int cmd_max;                         /* longest command shown last frame */
    int cmd_width;                       /* columns of the command column */

    struct view_ident *tags;
    size_t tag_count, tag_cap;

    struct filter pattern;               /* the F prompt's compiled pattern */
    char pattern_text[VIEW_FILTER_MAX];

    enum view_prompt prompt;
    int pending_signal;
    char input[VIEW_FILTER_MAX];         /* the filter being typed */
    size_t input_len;
    char status[ERROR_MSG_MAX];          /* the message of the status line */
    bool status_error;
    double status_at;                    /* monotonic seconds it was set; it goes after
                                          * VIEW_STATUS_SECONDS */

    /* the tree view's ancestors are read afresh each frame, outside the
     * sampler: their CPU % comes from the previous frame's ticks here */
    struct view_ancestor_cpu *anc_prev, *anc_rate;
    size_t anc_prev_count, anc_rate_count;
    struct timespec anc_mono;

    /* histories: per GPU (by position) utilisation and memory; host */
    struct history gpu_util[VIEW_MAX_DEVICES], gpu_mem[VIEW_MAX_DEVICES];
    struct history host_cpu, host_mem;
    /* the selected process's, from when it was selected */
    struct history p_cpu, p_rss, p_gmem, p_sm;

    long help_top;                       /* help screen: first line shown */
    int help_rows;                       /* help lines that fit, last drawn */

    /* environment screen */
    char *env;                           /* NUL-separated, owned */
    size_t env_len;
    char env_error[ERROR_MSG_MAX];
    struct view_ident env_of;
    long env_top;

    struct feed *feed;                   /* NULL for --once and a source */
    struct feed_sub *sub;                /* the monitor's subscription to feed */
    const struct tui_source *source;     /* frames from elsewhere; NULL: feed's */
    const struct tui_nodes *nodes;       /* the frame's nodes (top --cluster); NULL: one machine */
    bool quit, redraw;
};

int view_init(struct view *v, const struct tui_options *opt, bool once, struct error *e);
void view_free(struct view *v);   /* accepts NULL */

/* Takes ownership of fr: rebuilds the rows, pushes the histories, keeps
 * the selection on its process (clearing it when the process is gone) and
 * drops tags of exited processes. */
void view_accept_frame(struct view *v, struct feed_frame *fr);
/* Rebuilds the rows from the current frame (after a sort or filter change). */
void view_rebuild(struct view *v);

/* The CPU % of a row: the sampler's for GPU processes, the rate between
 * two frames for the tree view's ancestors. */
struct opt_f64 view_row_cpu(const struct view *v, const struct proc_row *r);

/* Whether MIG instance m of d is shown (-ov and CUDA_VISIBLE_DEVICES). */
bool view_mig_visible(const struct view *v, const struct device *d, size_t m);

/* The mode to draw with for a w x h terminal (auto resolved). */
enum tui_mode view_effective_mode(const struct view *v, int w, int h);

void view_select_row(struct view *v, long row);   /* -1 clears */
void view_move(struct view *v, long delta);       /* relative; from nothing: first/last */
const struct proc_row *view_selected(const struct view *v);
bool view_is_tagged(const struct view *v, const struct proc_row *r);
void view_toggle_tag(struct view *v);
void view_clear_tags(struct view *v);

void view_set_status(struct view *v, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The NODE column of a cluster's frame (panels and process table): as
 * wide as the longest node id, 4 to 24 columns. */
int view_node_width(const struct view *v);

/* Level style of a percentage against two thresholds. */
enum tui_style view_level(double pct, const double th[2]);

/* Draws the whole screen for the current state into c. */
void view_draw(struct view *v, struct canvas *c, const struct feed_status *st);

/* panels.c: header, devices, host and graphs from row y; returns the next
 * free row.  table.c: the process table in rows [y, bottom). */
int panels_draw(struct view *v, struct canvas *c, int y, enum tui_mode mode,
                const struct feed_status *st, int rows_for_table);
int panels_header(struct view *v, struct canvas *c, int y, const struct feed_status *st);
void table_draw(struct view *v, struct canvas *c, int y, int bottom);
/* screens.c */
void screens_help(struct view *v, struct canvas *c);
void screens_env(struct view *v, struct canvas *c);
void screens_process(struct view *v, struct canvas *c, const struct feed_status *st);
/* Loads the environment of the selected process for the env screen. */
void screens_env_load(struct view *v);

/* actions.c: sends sig to the tagged processes, or else the selected one,
 * through the pidfd-and-start-time check; the result goes to the status. */
void actions_signal(struct view *v, int sig);
/* Describes the targets for the confirmation prompt. */
void actions_describe(const struct view *v, int sig, char *buf, size_t size);

/* keys.c: one key (ncurses code, or VIEW_KEY_ALT(ch) for Alt-ch) on the
 * current screen. */
#define VIEW_KEY_ALT(ch) (0x100000 | (ch))
void keys_handle(struct view *v, int key);
/* A mouse event at screen (y, x): button 1 selects, the wheel (-1 up,
 * 1 down) moves the selection, with Shift it scrolls the command column. */
void keys_mouse(struct view *v, int y, int x, bool click, int wheel, bool shift);
/* Columns one step of horizontal scrolling moves. */
#define VIEW_HSCROLL_STEP 4

#endif
