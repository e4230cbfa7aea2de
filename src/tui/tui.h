/* tui.h - `gpuctl top`, the interactive monitor: what the command line
 * hands it and the two ways to run it.
 *
 * The CLI parses flags (src/cli/top.c); this layer validates values, applies
 * the GPUCTL_MONITOR_* environment and runs the screen or prints one frame.
 * Nothing here prints errors or exits: failures come back in struct error.
 */
#ifndef GPUCTL_TUI_TUI_H
#define GPUCTL_TUI_TUI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"
#include "core/filter.h"

enum tui_mode { TUI_MODE_AUTO, TUI_MODE_FULL, TUI_MODE_COMPACT };

#define TUI_INTERVAL_MIN 0.25
#define TUI_INTERVAL_DEFAULT 2.0

struct tui_options {
    double interval_s;          /* >= TUI_INTERVAL_MIN */
    double timeout_s;           /* a sample running longer shows its GPUs stale; 0: never */
    enum tui_mode mode;
    bool ascii;                 /* no Unicode: bars, graphs and tree in ASCII */
    bool color;                 /* resolved: colour on or off */
    bool light;                 /* palette for a light background */
    bool readonly;              /* no signals */
    double gpu_thresh[2];       /* utilisation: below [0] low, below [1] moderate */
    double mem_thresh[2];
    struct filter filter;       /* devices and processes shown (borrowed pointers) */
    const char *self_user;      /* whose processes are not dimmed */
};

/* Defaults: interval 2 s, mode auto, thresholds 10 75 and 10 80. */
void tui_options_init(struct tui_options *o);

/* "auto", "full", "compact"; -EINVAL otherwise (message names the value). */
int tui_parse_mode(const char *s, enum tui_mode *out, struct error *e);
/* "dark" or "light" into *light; -EINVAL otherwise. */
int tui_parse_theme(const char *s, bool *light, struct error *e);
/* One threshold: a number 0 < TH < 100. */
int tui_parse_threshold(const char *s, double *out, struct error *e);
/* Two thresholds in one string, "10 75" or "10,75", with TH1 < TH2. */
int tui_parse_threshold_pair(const char *s, double out[2], struct error *e);
/* Checks a pair given separately: 0 < th[0] < th[1] < 100. */
int tui_check_threshold_pair(const double th[2], struct error *e);
/* An interval in seconds, TUI_INTERVAL_MIN .. 86400. */
int tui_parse_interval(const char *s, double *out, struct error *e);

/* Reads GPUCTL_MONITOR_MODE, GPUCTL_MONITOR_THEME,
 * GPUCTL_GPU_UTILIZATION_THRESHOLDS and GPUCTL_MEMORY_UTILIZATION_THRESHOLDS
 * into o (flags are applied after, so they win); where one is unset,
 * nvitop's NVITOP_MONITOR_MODE ("compact,light") and
 * NVITOP_{GPU,MEMORY}_UTILIZATION_THRESHOLDS stand in.  An invalid value is
 * -EINVAL naming the variable; o is then unchanged. */
int tui_options_from_env(struct tui_options *o, struct error *e);

/* The interactive monitor on the terminal of stdin/stdout, until q or
 * SIGTERM/SIGINT.  Returns 0, or -errno/-ERROR_GPU_LIBRARY when it cannot
 * start (no terminal, no GPU source). */
int tui_run(const struct tui_options *o, struct error *e);

/* Where the monitor's frames come from when not from its own feed (top on
 * another host: frames decoded from its stream).  fd becomes readable
 * when a new frame or a failure is there; take returns the newest frame (a
 * reference) or NULL; status says how old the data is and why it stopped. */
struct feed_frame;
struct feed_status;

/* A cluster's frame (top --cluster) holds every node's snapshot one after
 * the other: devices renumbered 0..n-1 in node order (each GPU process's
 * device_index with them), each node's host processes sorted by pid in a
 * run of their own.  This says which node each part came from. */
struct tui_node {
    const char *id;
    const char *note;              /* NULL, or why it shows no GPU (offline, ...) */
    bool stale;                    /* the coordinator calls it stale: old figures */
    size_t device_first, device_count;   /* in snap->devices */
    size_t hproc_first, hproc_count;     /* in snap->hprocs, by pid */
};
struct tui_nodes {
    const struct tui_node *nodes;
    size_t count;
    const size_t *device_node;     /* per snap->devices: its node in nodes */
    const int *device_index;       /* per snap->devices: its index on that node */
    const char *summary;           /* one line of totals ("3 nodes: 2 online ...") */
};

struct tui_source {
    void *ctx;
    int (*fd)(void *ctx);
    struct feed_frame *(*take)(void *ctx);
    void (*status)(void *ctx, struct feed_status *out);
    /* NULL for one machine; else the nodes of the frame take returned last,
     * valid until the next take. */
    const struct tui_nodes *(*nodes)(void *ctx);
};

/* tui_run with the frames of src; nothing here calls a GPU source, and the
 * keys that ask the feed for a pass or ancestors do nothing. */
int tui_run_source(const struct tui_options *o, const struct tui_source *src,
                   struct error *e);

/* One frame as text on out (width: the terminal's, COLUMNS, or 120), every
 * process listed; ANSI colour when o->color.  Takes one snapshot, no sleep. */
int tui_print_once(const struct tui_options *o, FILE *out, struct error *e);

#endif
