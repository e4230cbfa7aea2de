/* plot.h - `gpuctl plot`: logs in, series out, and charts drawn from them.
 *
 * data.c reads the supported CSV logs (gpuctl watch, the shell helper,
 * gpuctl run --timeline) into series, one per line on the chart; axis.c
 * chooses ticks; render_cairo.c (PNG, SVG) and render_braille.c (terminal)
 * draw.  Choosing files, output names and printing are the CLI's.
 */
#ifndef GPUCTL_PLOT_PLOT_H
#define GPUCTL_PLOT_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/error.h"

enum plot_panel { PLOT_GPU_MEM, PLOT_SYS_MEM, PLOT_CPU, PLOT_PANEL_COUNT };

enum plot_input {
    PLOT_INPUT_WATCH,           /* gpuctl watch, 7 columns */
    PLOT_INPUT_WATCH_EXTENDED,  /* gpuctl watch --extended, 11 columns */
    PLOT_INPUT_HELPER,          /* timestamp,used_mib[,sys_used_mib][,cpu_cores][,cpu_pct] */
    PLOT_INPUT_TIMELINE,        /* gpuctl run --timeline */
};

/* Where each known column of an input sits; -1 when absent. */
struct plot_columns {
    enum plot_input input;
    size_t count;               /* fields a row must have */
    int timestamp, gpu_index, pid, cmd, gpu_mem, sys_used, cpu_pct, rss;
};

/* Recognises a header record; false when it is none of the formats. */
bool plot_detect(const char *const *fields, size_t count, struct plot_columns *out);

/* Seconds since the epoch from "2025-01-10T14:22:30" (local time), with an
 * optional fraction, 'T' or ' ', and an optional "Z" or +HH:MM offset; or a
 * plain number of epoch seconds.  False when text is none of these. */
bool plot_parse_time(const char *text, double *out);

struct plot_point {
    double t, v;
};

struct plot_series {
    char label[160];
    enum plot_panel panel;
    int file, gpu;              /* grouping keys: -1 when not part of it */
    pid_t pid;
    int kind;
    size_t last_group;          /* the sample the last point came from */
    double gap_s;               /* a step longer than this is a gap (no line);
                                 * 0: none (set by plot_data_finish) */
    struct plot_point *pts;     /* time order as read */
    size_t count, cap;
};

struct plot_options {
    bool per_gpu;               /* GPU memory per GPU instead of per process */
    const pid_t *pids;          /* only these processes (watch logs) */
    size_t pid_count;
};

struct plot_data {
    struct plot_series *series;
    size_t count, cap;
    size_t *index;              /* hash of the series' keys: series + 1, 0 empty */
    size_t index_cap;           /* a power of two, or 0 */
    size_t files;
    size_t malformed;           /* rows skipped */
    char first_malformed[256];  /* "FILE:LINE: why" of the first */
};

/* Adds the series of one file's contents (buf, len) to d; name is used in
 * messages and, with several files, in the legend.  An empty file, one
 * whose header is not recognised, or one without a single data row fails
 * with -ERROR_PARSE and a message naming name and the line.  Malformed rows
 * are skipped and counted in d. */
int plot_data_add(struct plot_data *d, const char *name, const char *buf, size_t len,
                  const struct plot_options *o, struct error *e);
/* Reads path whole and calls plot_data_add. */
int plot_data_add_file(struct plot_data *d, const char *path, const struct plot_options *o,
                       struct error *e);
/* Once every file is added: with several files, prefixes each label with
 * its file's base name; and sets each series' gap_s to 3 times its median
 * step (series of 3 points or more), so a log stopped and resumed with
 * --append, or a process absent for a while, is not bridged by a line. */
void plot_data_finish(struct plot_data *d, const char *const *names);
/* Whether the step from point i-1 to point i of s is a gap. */
bool plot_series_gap(const struct plot_series *s, size_t i);
void plot_data_free(struct plot_data *d);   /* frees the contents; accepts zeroed */

bool plot_data_has_panel(const struct plot_data *d, enum plot_panel p);

/* ---- axes ---- */

#define PLOT_MAX_TICKS 32

struct plot_tick {
    double v;
    char label[32];
};

/* Clock ticks for [t0, t1] (epoch seconds, local time labels): at most max
 * of them, on round local times (every 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10,
 * 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 7 days), labelled HH:MM:SS below a
 * minute, HH:MM below a day (with MM-DD when the span crosses days),
 * else MM-DD.  Returns the number written (at most PLOT_MAX_TICKS). */
size_t plot_time_ticks(double t0, double t1, size_t max, struct plot_tick *out);

/* Value ticks from 0 up to a round top >= hi, steps of 1, 2 or 5 x 10^k,
 * at most max + 1 of them; *top gets the axis top.  Returns the number. */
size_t plot_value_ticks(double hi, size_t max, double *top, struct plot_tick *out);

/* ---- drawing ---- */

struct plot_style {
    const char *title;
    bool cpu;                   /* draw the CPU panel */
    int width, height;          /* pixels, or cells for the terminal */
};

/* Writes a PNG or SVG (by svg) to path. */
int plot_render_file(const struct plot_data *d, const struct plot_style *st, const char *path,
                     bool svg, struct error *e);

/* Draws on out with braille characters; color adds ANSI colours. */
int plot_render_braille(const struct plot_data *d, const struct plot_style *st, FILE *out,
                        bool color);

/* Releases what cairo and fontconfig keep for the process's lifetime (font
 * caches), so a leak checker sees a clean exit.  Call once, at the end,
 * when no cairo object is left; nothing of this module may be used after. */
void plot_shutdown(void);

/* Series colour i of the shared palette, components 0-255. */
void plot_palette(size_t i, unsigned char rgb[3]);
/* Colours plot_palette has before it repeats; series i and
 * i + PLOT_PALETTE_SIZE differ in line style instead (i / PLOT_PALETTE_SIZE:
 * 0 solid, 1 dashed, 2 dotted, 3 dash-dot, then again). */
#define PLOT_PALETTE_SIZE 20

/* The time range over every series; false when there are no points. */
bool plot_time_range(const struct plot_data *d, double *t0, double *t1);
/* Largest value in a panel (0 when none). */
double plot_panel_max(const struct plot_data *d, enum plot_panel p);

extern const char *const plot_panel_titles[PLOT_PANEL_COUNT];

#endif
