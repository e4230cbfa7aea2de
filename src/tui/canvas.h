/* canvas.h - a grid of styled character cells that the monitor's panels
 * draw into, plus the bars and graphs they draw.
 *
 * Drawing never touches the terminal: app.c copies a finished canvas to
 * ncurses (which sends only what changed), --once prints it as text, and
 * the unit tests read it back.  Text is sanitised on the way in (outside
 * data cannot drive the terminal) and wide characters take two cells.
 */
#ifndef GPUCTL_TUI_CANVAS_H
#define GPUCTL_TUI_CANVAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/history.h"

enum tui_style {
    ST_NORMAL = 0,
    ST_DIM,          /* other users' processes, unknown values */
    ST_BOLD,
    ST_TITLE,        /* header line, panel titles */
    ST_TABLE_HEAD,   /* the process table's column names */
    ST_SELECTED,     /* the selected row */
    ST_TAGGED,       /* tagged rows */
    ST_LOW,          /* below the first threshold */
    ST_MID,          /* below the second */
    ST_HIGH,         /* at or above the second */
    ST_WARN,         /* stale data, lost GPU, errors */
    ST_GRAPH,
    ST_COUNT
};

struct cell {
    char ch[5];      /* one UTF-8 character; "" for the right half of a wide one */
    uint8_t style;
};

struct canvas {
    int w, h;
    bool ascii;      /* draw bars, graphs and borders with ASCII only */
    struct cell *cells;
};

/* w x h blank cells; -ENOMEM on failure.  canvas_free accepts NULL and a zeroed one. */
int canvas_init(struct canvas *c, int w, int h, bool ascii);
void canvas_free(struct canvas *c);
void canvas_clear(struct canvas *c);

/* Writes text (UTF-8, len bytes) at (y, x), at most maxw columns (cut with
 * no marker); returns the columns used.  Unsafe characters become '?'. */
int canvas_put(struct canvas *c, int y, int x, int maxw, const char *text, size_t len,
               enum tui_style st);
/* Like canvas_put, but text wider than maxw is cut one column short and
 * ends in an ellipsis ("~" with ascii), so a cut is never mistaken for
 * the whole value. */
int canvas_put_fit(struct canvas *c, int y, int x, int maxw, const char *text, size_t len,
                   enum tui_style st);
/* printf into the canvas; returns the columns used. */
int canvas_printf(struct canvas *c, int y, int x, int maxw, enum tui_style st,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Sets the style of w cells from (y, x). */
void canvas_style(struct canvas *c, int y, int x, int w, enum tui_style st);
/* Row y as UTF-8 text with trailing blanks removed; returns its length
 * (cut to fit size, NUL-terminated). */
size_t canvas_row_text(const struct canvas *c, int y, char *buf, size_t size);

/* A bar of width w (brackets included) filled to pct (0-100; <0 unknown,
 * drawn empty) in style st. */
void canvas_bar(struct canvas *c, int y, int x, int w, double pct, enum tui_style st);

/* A graph of the newest samples of h in the w x rows box at (y, x), newest
 * on the right, scaled to max: braille (two samples a cell, four dots a
 * row), or, with ASCII, one sample a cell in '#' and '.'.  Unknown samples
 * are gaps. */
void canvas_graph(struct canvas *c, int y, int x, int w, int rows, const struct history *h,
                  double max, enum tui_style st);
/* A one-row graph in eighth blocks (one sample a cell); ASCII as above. */
void canvas_sparkline(struct canvas *c, int y, int x, int w, const struct history *h,
                      double max, enum tui_style st);

#endif
