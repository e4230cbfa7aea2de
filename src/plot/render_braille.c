/* render_braille.c - the chart on a terminal, for SSH sessions.
 *
 * Each character cell holds a 2x4 grid of braille dots (U+2800 + bit per
 * dot), so a 100-column chart has 200 points across.  The panels, the
 * placeholder, the zero-based value axis and the clock ticks are the same
 * as in the image; colours are ANSI and only used when asked.  Lines are
 * drawn with Bresenham's algorithm between consecutive points.
 */
#include "plot/plot.h"

#include <stdlib.h>
#include <string.h>

#define AXIS_W 10   /* "  12345 ┤" */

struct canvas {
    size_t cols, rows;
    unsigned char *dots;   /* braille bits per cell */
    int *color;            /* series colour per cell, -1 none */
};

static const unsigned char dot_bit[4][2] = {
    {0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80},
};

static void set_dot(struct canvas *c, long x, long y, int color)
{
    if (x < 0 || y < 0 || (size_t)x >= c->cols * 2 || (size_t)y >= c->rows * 4)
        return;
    size_t cell = (size_t)y / 4 * c->cols + (size_t)x / 2;
    c->dots[cell] |= dot_bit[y % 4][x % 2];
    c->color[cell] = color;
}

static void line(struct canvas *c, long x0, long y0, long x1, long y1, int color)
{
    long dx = labs(x1 - x0), dy = -labs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    long err = dx + dy;
    for (;;) {
        set_dot(c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            return;
        long e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static void color_on(FILE *out, bool color, int index)
{
    if (!color || index < 0)
        return;
    unsigned char rgb[3];
    plot_palette((size_t)index, rgb);
    fprintf(out, "\033[38;2;%d;%d;%dm", rgb[0], rgb[1], rgb[2]);
}

static void color_off(FILE *out, bool color)
{
    if (color)
        fputs("\033[0m", out);
}

static void put_braille(FILE *out, unsigned char bits)
{
    unsigned cp = 0x2800u + bits;
    fputc((int)(0xE0 | (cp >> 12)), out);
    fputc((int)(0x80 | ((cp >> 6) & 0x3F)), out);
    fputc((int)(0x80 | (cp & 0x3F)), out);
}

static void plot_panel_series(struct canvas *c, const struct plot_data *d, enum plot_panel p,
                              double t0, double t1, double top)
{
    int color = 0;
    for (size_t i = 0; i < d->count; i++) {
        const struct plot_series *s = &d->series[i];
        if (s->panel != p || s->count == 0)
            continue;
        long px = 0, py = 0;
        for (size_t j = 0; j < s->count; j++) {
            long x = (long)((s->pts[j].t - t0) / (t1 - t0) * (double)(c->cols * 2 - 1) + 0.5);
            long y = (long)((1 - s->pts[j].v / top) * (double)(c->rows * 4 - 1) + 0.5);
            if (j == 0 || plot_series_gap(s, j))
                set_dot(c, x, y, color);
            else
                line(c, px, py, x, y, color);
            px = x;
            py = y;
        }
        color++;
    }
}

/* The tick label for row r, or "" between ticks. */
static const char *row_label(const struct plot_tick *ticks, size_t n, double top, size_t r,
                             size_t rows)
{
    for (size_t i = 0; i < n; i++) {
        size_t row = (size_t)((1 - ticks[i].v / top) * (double)(rows - 1) + 0.5);
        if (row == r)
            return ticks[i].label;
    }
    return "";
}

static void print_canvas(FILE *out, const struct canvas *c, const struct plot_tick *ticks,
                         size_t nt, double top, bool color)
{
    for (size_t r = 0; r < c->rows; r++) {
        fprintf(out, "%8s \xe2\x94\xa4", row_label(ticks, nt, top, r, c->rows));
        int cur = -1;
        for (size_t col = 0; col < c->cols; col++) {
            size_t cell = r * c->cols + col;
            if (c->color[cell] != cur && c->dots[cell]) {
                color_off(out, color && cur >= 0);
                cur = c->color[cell];
                color_on(out, color, cur);
            }
            put_braille(out, c->dots[cell]);
        }
        color_off(out, color && cur >= 0);
        fputc('\n', out);
    }
}

static void print_time_axis(FILE *out, size_t cols, double t0, double t1)
{
    struct plot_tick ticks[PLOT_MAX_TICKS];
    size_t n = plot_time_ticks(t0, t1, cols / 12 > 1 ? cols / 12 : 2, ticks);
    char *lbl = malloc(cols + AXIS_W + 1);
    if (!lbl)
        return;
    memset(lbl, ' ', cols + AXIS_W);
    lbl[cols + AXIS_W] = '\0';
    size_t free_from = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ticks[i].label);
        double pos = (ticks[i].v - t0) / (t1 - t0) * (double)(cols - 1) + AXIS_W;
        size_t at = pos > (double)len / 2 ? (size_t)(pos - (double)len / 2) : 0;
        if (at + len > cols + AXIS_W && len <= cols + AXIS_W)
            at = cols + AXIS_W - len;   /* the last one, pulled in to fit */
        if (at < free_from)
            continue;
        memcpy(lbl + at, ticks[i].label, len);
        free_from = at + len + 1;
    }
    fprintf(out, "%s\n", lbl);
    free(lbl);
}

static void print_legend(FILE *out, const struct plot_data *d, enum plot_panel p, bool color)
{
    int index = 0;
    fputs("         ", out);
    for (size_t i = 0; i < d->count; i++) {
        const struct plot_series *s = &d->series[i];
        if (s->panel != p || s->count == 0)
            continue;
        color_on(out, color, index++);
        fputs("\xe2\x97\x8f", out);   /* a filled circle */
        color_off(out, color);
        fprintf(out, " %.50s  ", s->label);
    }
    fputc('\n', out);
}

static int draw_panel(FILE *out, const struct plot_data *d, enum plot_panel p, size_t cols,
                      size_t rows, double t0, double t1, bool color)
{
    static const char *const none[PLOT_PANEL_COUNT] = {
        "no GPU memory data", "no system memory data", "no CPU data",
    };
    fprintf(out, "%s\n", plot_panel_titles[p]);
    if (!plot_data_has_panel(d, p)) {
        fprintf(out, "%*s(%s)\n\n", (int)(AXIS_W + cols / 2 > 12 ? AXIS_W + cols / 2 - 12 : 0),
                "", none[p]);
        return 0;
    }
    struct plot_tick ticks[PLOT_MAX_TICKS];
    double top;
    size_t nt = plot_value_ticks(plot_panel_max(d, p), rows / 2 > 1 ? rows / 2 : 2, &top, ticks);
    struct canvas c = {.cols = cols, .rows = rows};
    c.dots = calloc(cols * rows, 1);
    c.color = malloc(cols * rows * sizeof *c.color);
    if (!c.dots || !c.color) {
        free(c.dots);
        free(c.color);
        return -1;
    }
    for (size_t i = 0; i < cols * rows; i++)
        c.color[i] = -1;
    plot_panel_series(&c, d, p, t0, t1, top);
    print_canvas(out, &c, ticks, nt, top, color);
    print_time_axis(out, cols, t0, t1);
    print_legend(out, d, p, color);
    free(c.dots);
    free(c.color);
    return 0;
}

int plot_render_braille(const struct plot_data *d, const struct plot_style *st, FILE *out,
                        bool color)
{
    double t0 = 0, t1 = 0;
    plot_time_range(d, &t0, &t1);
    if (t1 - t0 < 1) {
        t0 -= 30;
        t1 += 30;
    }
    size_t panels = st->cpu ? 3 : 2;
    size_t cols = st->width > AXIS_W + 10 ? (size_t)st->width - AXIS_W : 10;
    bool title = st->title && *st->title;
    size_t lines = (size_t)st->height - (title && st->height > 1 ? 1 : 0);
    size_t per = lines / panels;   /* title, canvas rows, time axis, legend */
    size_t rows = per > 4 + 3 ? per - 3 : 4;
    if (title)
        fprintf(out, "%s\n", st->title);
    for (size_t i = 0; i < panels; i++)
        if (draw_panel(out, d, (enum plot_panel)i, cols, rows, t0, t1, color) < 0)
            return -1;
    return ferror(out) ? -1 : 0;
}
