/* canvas.c - styled cells, bars and graphs (see canvas.h).  Knows nothing
 * of GPUs or of ncurses: panels decide what to draw, app.c shows it.
 */
#include "tui/canvas.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/term.h"

int canvas_init(struct canvas *c, int w, int h, bool ascii)
{
    c->w = w > 0 ? w : 1;
    c->h = h > 0 ? h : 1;
    c->ascii = ascii;
    c->cells = calloc((size_t)c->w * (size_t)c->h, sizeof *c->cells);
    if (!c->cells)
        return -ENOMEM;
    canvas_clear(c);
    return 0;
}

void canvas_free(struct canvas *c)
{
    if (!c)
        return;
    free(c->cells);
    c->cells = NULL;
    c->w = c->h = 0;
}

void canvas_clear(struct canvas *c)
{
    for (size_t i = 0; i < (size_t)c->w * (size_t)c->h; i++)
        c->cells[i] = (struct cell){.ch = " ", .style = ST_NORMAL};
}

static struct cell *at(struct canvas *c, int y, int x)
{
    if (y < 0 || y >= c->h || x < 0 || x >= c->w)
        return NULL;
    return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

int canvas_put(struct canvas *c, int y, int x, int maxw, const char *text, size_t len,
               enum tui_style st)
{
    if (y < 0 || y >= c->h || x < 0)
        return 0;
    int limit = x + maxw < c->w ? x + maxw : c->w;
    int col = x;
    size_t i = 0;
    while (i < len && col < limit) {
        uint32_t cp;
        size_t n = term_utf8_decode(text + i, len - i, &cp);
        int cw = term_is_unsafe(cp) ? 1 : term_codepoint_width(cp);
        if (cw == 0) {          /* combining and zero-width characters: dropped */
            i += n;
            continue;
        }
        if (col + cw > limit)
            break;
        struct cell *cell = at(c, y, col);
        if (term_is_unsafe(cp))
            strcpy(cell->ch, "?");
        else {
            memcpy(cell->ch, text + i, n);
            cell->ch[n] = '\0';
        }
        cell->style = (uint8_t)st;
        if (cw == 2) {
            struct cell *tail = at(c, y, col + 1);
            tail->ch[0] = '\0';
            tail->style = (uint8_t)st;
        }
        col += cw;
        i += n;
    }
    return col - x;
}

int canvas_put_fit(struct canvas *c, int y, int x, int maxw, const char *text, size_t len,
                   enum tui_style st)
{
    if (maxw <= 0)
        return 0;
    if (term_display_width(text, len) <= maxw)
        return canvas_put(c, y, x, maxw, text, len, st);
    int n = canvas_put(c, y, x, maxw - 1, text, len, st);
    const char *dots = c->ascii ? "~" : "…";
    return n + canvas_put(c, y, x + n, 1, dots, strlen(dots), st);
}

int canvas_printf(struct canvas *c, int y, int x, int maxw, enum tui_style st,
                  const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    return canvas_put(c, y, x, maxw, buf, len, st);
}

void canvas_style(struct canvas *c, int y, int x, int w, enum tui_style st)
{
    for (int i = 0; i < w; i++) {
        struct cell *cell = at(c, y, x + i);
        if (cell)
            cell->style = (uint8_t)st;
    }
}

size_t canvas_row_text(const struct canvas *c, int y, char *buf, size_t size)
{
    size_t len = 0, keep = 0;
    if (size == 0)
        return 0;
    for (int x = 0; y >= 0 && y < c->h && x < c->w; x++) {
        const char *ch = c->cells[(size_t)y * (size_t)c->w + (size_t)x].ch;
        size_t n = strlen(ch);
        if (len + n + 1 > size)
            break;
        memcpy(buf + len, ch, n);
        len += n;
        if (n && strcmp(ch, " ") != 0)
            keep = len;
    }
    buf[keep] = '\0';
    return keep;
}

/* ---- bars ---------------------------------------------------------------------------- */

void canvas_bar(struct canvas *c, int y, int x, int w, double pct, enum tui_style st)
{
    static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    if (w < 3)
        return;
    int inner = w - 2;
    canvas_put(c, y, x, 1, "[", 1, ST_DIM);
    canvas_put(c, y, x + w - 1, 1, "]", 1, ST_DIM);
    double v = pct < 0 || isnan(pct) ? 0 : pct > 100 ? 100 : pct;
    int units = (int)lround(v / 100.0 * inner * 8);
    for (int i = 0; i < inner; i++) {
        int fill = units - i * 8;
        const char *s = c->ascii ? (fill >= 4 ? "|" : " ")
                                 : fill >= 8 ? "█" : fill > 0 ? eighths[fill] : " ";
        if (!*s)
            s = " ";
        canvas_put(c, y, x + 1 + i, 1, s, strlen(s), st);
    }
}

/* ---- graphs -------------------------------------------------------------------------- */

/* Dots filled (0..per_row) in row r (0 = top) of rows for value v of max. */
static int row_fill(double v, double max, int rows, int r, int per_row)
{
    if (isnan(v) || max <= 0)
        return -1;
    double f = v / max;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    int total = (int)lround(f * rows * per_row);
    if (total == 0 && v > 0)
        total = 1;            /* something above zero is never invisible */
    int below = (rows - 1 - r) * per_row;
    int n = total - below;
    return n < 0 ? 0 : n > per_row ? per_row : n;
}

static void put_codepoint(struct canvas *c, int y, int x, uint32_t cp, enum tui_style st)
{
    char buf[4] = {(char)(0xe0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3f)),
                   (char)(0x80 | (cp & 0x3f)), 0};
    canvas_put(c, y, x, 1, buf, 3, st);
}

static void ascii_cell(struct canvas *c, int y, int x, int fill, int per_row, enum tui_style st)
{
    const char *s = fill <= 0 ? " " : fill >= per_row ? "#" : ".";
    canvas_put(c, y, x, 1, s, 1, st);
}

void canvas_graph(struct canvas *c, int y, int x, int w, int rows, const struct history *h,
                  double max, enum tui_style st)
{
    static const uint8_t left[] = {0x40, 0x04, 0x02, 0x01}, right[] = {0x80, 0x20, 0x10, 0x08};
    for (int r = 0; r < rows; r++) {
        for (int col = 0; col < w; col++) {
            int from_right = w - 1 - col;
            if (c->ascii) {
                int f = row_fill(history_at(h, (size_t)from_right), max, rows, r, 2);
                ascii_cell(c, y + r, x + col, f, 2, st);
                continue;
            }
            /* newest sample in the right column of the rightmost cell */
            int fr = row_fill(history_at(h, (size_t)from_right * 2), max, rows, r, 4);
            int fl = row_fill(history_at(h, (size_t)from_right * 2 + 1), max, rows, r, 4);
            uint8_t bits = 0;
            for (int d = 0; d < fl; d++)
                bits |= left[d];
            for (int d = 0; d < fr; d++)
                bits |= right[d];
            if (bits)
                put_codepoint(c, y + r, x + col, 0x2800u + bits, st);
            else
                canvas_put(c, y + r, x + col, 1, " ", 1, st);
        }
    }
}

void canvas_sparkline(struct canvas *c, int y, int x, int w, const struct history *h,
                      double max, enum tui_style st)
{
    static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    for (int col = 0; col < w; col++) {
        double v = history_at(h, (size_t)(w - 1 - col));
        int f = row_fill(v, max, 1, 0, c->ascii ? 2 : 8);
        if (c->ascii)
            ascii_cell(c, y, x + col, f, 2, st);
        else
            canvas_put(c, y, x + col, 1, blocks[f < 0 ? 0 : f], strlen(blocks[f < 0 ? 0 : f]),
                       st);
    }
}
