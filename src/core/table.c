/* table.c - the one table renderer behind every tabular command.
 *
 * Holds rows of already-formatted text and draws them: column widths in
 * display columns, fitting to the terminal by cutting flexible columns,
 * box drawing or ASCII lines, and SGR colour kept strictly inside each
 * cell's text so padding (and therefore alignment) never depends on it.
 * What goes into the cells (units, N/A for unknowns, which colour means
 * what) is the CLI's business; whether colour is wanted is term.c's.
 */
#include "core/table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/term.h"

struct cell {
    char *text;         /* sanitised, NUL-terminated */
    unsigned style;
    int width;          /* display columns of text */
};

struct row {
    struct cell *cells; /* one per column; cells past `filled` are empty */
    size_t filled;
    bool rule_before;
};

struct table {
    struct table_column *columns;
    int *drop_rank;            /* per column; 0: never left out */
    struct cell *titles;
    size_t ncols;
    struct row *rows;
    size_t nrows, cap;
    bool rule_pending;
};

/* ---- building ------------------------------------------------------------ */

static int cell_set(struct cell *c, const char *text, size_t len, unsigned style)
{
    char *clean = term_sanitize(text, len);
    if (!clean)
        return -ENOMEM;
    c->text = clean;
    c->style = style;
    c->width = term_display_width(clean, strlen(clean));
    return 0;
}

struct table *table_new(const struct table_column *columns, size_t count)
{
    if (count == 0) {
        errno = EINVAL;
        return NULL;
    }
    struct table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = count;
    t->columns = calloc(count, sizeof *t->columns);
    t->titles = calloc(count, sizeof *t->titles);
    t->drop_rank = calloc(count, sizeof *t->drop_rank);
    if (!t->columns || !t->titles || !t->drop_rank) {
        table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        const char *title = columns[i].title ? columns[i].title : "";
        t->columns[i] = columns[i];
        if (cell_set(&t->titles[i], title, strlen(title), TABLE_STYLE_BOLD) < 0) {
            table_free(t);
            return NULL;
        }
        t->columns[i].title = t->titles[i].text;
    }
    return t;
}

static void cells_free(struct cell *cells, size_t n)
{
    if (!cells)
        return;
    for (size_t i = 0; i < n; i++)
        free(cells[i].text);
    free(cells);
}

void table_free(struct table *t)
{
    if (!t)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        cells_free(t->rows[r].cells, t->ncols);
    free(t->rows);
    cells_free(t->titles, t->ncols);
    free(t->columns);
    free(t->drop_rank);
    free(t);
}

int table_set_drop_rank(struct table *t, size_t col, int rank)
{
    if (col >= t->ncols || rank < 0)
        return -EINVAL;
    t->drop_rank[col] = rank;
    return 0;
}

int table_row(struct table *t)
{
    if (grow_for_one((void **)&t->rows, &t->cap, t->nrows, sizeof *t->rows, 16) < 0)
        return -ENOMEM;
    struct cell *cells = calloc(t->ncols, sizeof *cells);
    if (!cells)
        return -ENOMEM;
    t->rows[t->nrows++] = (struct row){.cells = cells, .rule_before = t->rule_pending};
    t->rule_pending = false;
    return 0;
}

int table_cell(struct table *t, unsigned style, const char *fmt, ...)
{
    if (t->nrows == 0)
        return -EINVAL;
    struct row *row = &t->rows[t->nrows - 1];
    if (row->filled == t->ncols)
        return -EINVAL;

    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int rc = cell_set(&row->cells[row->filled], text, (size_t)n, style);
    free(text);
    if (rc < 0)
        return rc;
    row->filled++;
    return 0;
}

int table_separator(struct table *t)
{
    if (t->nrows > 0)
        t->rule_pending = true;
    return 0;
}

size_t table_row_count(const struct table *t)
{
    return t->nrows;
}

/* ---- widths -------------------------------------------------------------- */

/* A width below zero marks a column left out of this rendering. */
#define COLUMN_DROPPED (-1)

static int total_width(const int *widths, size_t n)
{
    int total = 1;   /* the left border */
    for (size_t i = 0; i < n; i++)
        if (widths[i] != COLUMN_DROPPED)
            total += widths[i] + 3;   /* " text |" */
    return total;
}

static int column_min_width(const struct table *t, size_t col)
{
    int min = t->columns[col].min_width > 0 ? t->columns[col].min_width : t->titles[col].width;
    return min > 0 ? min : 1;   /* room for the cut mark */
}

static void natural_widths(const struct table *t, int *widths)
{
    for (size_t c = 0; c < t->ncols; c++)
        widths[c] = t->titles[c].width;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->rows[r].filled; c++)
            if (t->rows[r].cells[c].width > widths[c])
                widths[c] = t->rows[r].cells[c].width;
}

/* The widest flexible column that can still give up a column (above its
 * floor), or -1; *runner_up is the next widest such width (0 if none). */
static long widest_shrinkable(const struct table *t, const int *widths, const int *floors,
                              int *runner_up)
{
    long best = -1;
    *runner_up = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        if (!t->columns[c].flexible || widths[c] == COLUMN_DROPPED || widths[c] <= floors[c])
            continue;
        if (best < 0 || widths[c] > widths[best]) {
            if (best >= 0)
                *runner_up = widths[best];
            best = (long)c;
        } else if (widths[c] > *runner_up) {
            *runner_up = widths[c];
        }
    }
    return best;
}

/* Shrinks the widest flexible column down to the next widest (or as far as
 * needed), then repeats, so the cut is shared among the widest columns. */
static void fit_widths(const struct table *t, int *widths, const int *floors, int limit)
{
    int excess = total_width(widths, t->ncols) - limit;
    while (excess > 0) {
        int runner_up;
        long c = widest_shrinkable(t, widths, floors, &runner_up);
        if (c < 0)
            return;   /* nothing left to cut */
        int target = widths[c] - excess;
        if (target < runner_up)
            target = runner_up < widths[c] ? runner_up : widths[c] - 1;
        if (target < floors[c])
            target = floors[c];
        excess -= widths[c] - target;
        widths[c] = target;
    }
}

/* The shown column with the lowest drop rank, or -1 when none may go. */
static long next_to_drop(const struct table *t, const int *widths)
{
    long best = -1;
    for (size_t c = 0; c < t->ncols; c++) {
        int rank = t->drop_rank[c];
        if (rank <= 0 || widths[c] == COLUMN_DROPPED)
            continue;
        if (best < 0 || rank < t->drop_rank[best])
            best = (long)c;
    }
    return best;
}

/* A flexible column is cut below this many display columns (or its natural
 * width, if smaller) only once every ranked column has been left out: a
 * readable command or GPU name is worth more than a counter. */
#define TABLE_COMFORTABLE_WIDTH 24

static void set_floors(const struct table *t, const int *natural, int *floors, bool comfortable)
{
    for (size_t c = 0; c < t->ncols; c++) {
        int floor = column_min_width(t, c);
        int comfort = natural[c] < TABLE_COMFORTABLE_WIDTH ? natural[c] : TABLE_COMFORTABLE_WIDTH;
        floors[c] = comfortable && comfort > floor ? comfort : floor;
    }
}

/* Cuts flexible columns down to a comfortable width, then leaves ranked
 * columns out one by one (each time from the natural widths again), and
 * only then cuts flexible columns down to their minimum. */
static int fit_or_drop(const struct table *t, int *widths, int limit)
{
    int *natural = malloc(2 * t->ncols * sizeof *natural);
    if (!natural)
        return -ENOMEM;
    int *floors = natural + t->ncols;
    memcpy(natural, widths, t->ncols * sizeof *natural);
    set_floors(t, natural, floors, true);
    for (;;) {
        for (size_t k = 0; k < t->ncols; k++)
            if (widths[k] != COLUMN_DROPPED)
                widths[k] = natural[k];
        fit_widths(t, widths, floors, limit);
        if (total_width(widths, t->ncols) <= limit)
            break;
        long c = next_to_drop(t, widths);
        if (c < 0) {
            set_floors(t, natural, floors, false);
            fit_widths(t, widths, floors, limit);   /* may still be wider than asked */
            break;
        }
        widths[c] = COLUMN_DROPPED;
    }
    free(natural);
    return 0;
}

/* ---- drawing ------------------------------------------------------------- */

struct glyphs {
    const char *h, *v, *cut;
    const char *corner[3][3];   /* [top/middle/bottom][left/inner/right] */
};

static const struct glyphs utf8_glyphs = {
    "─", "│", "…",
    {{"┌", "┬", "┐"}, {"├", "┼", "┤"}, {"└", "┴", "┘"}},
};

static const struct glyphs ascii_glyphs = {
    "-", "|", "~",
    {{"+", "+", "+"}, {"+", "+", "+"}, {"+", "+", "+"}},
};

enum rule_kind { RULE_TOP, RULE_MIDDLE, RULE_BOTTOM };

static void put_repeated(FILE *out, const char *s, int times)
{
    for (int i = 0; i < times; i++)
        fputs(s, out);
}

static void draw_rule(FILE *out, const struct glyphs *g, enum rule_kind kind,
                      const int *widths, size_t n)
{
    const char *const *corner = g->corner[kind];
    size_t last = n;
    for (size_t c = 0; c < n; c++)
        if (widths[c] != COLUMN_DROPPED)
            last = c;
    fputs(corner[0], out);
    for (size_t c = 0; c < n; c++) {
        if (widths[c] == COLUMN_DROPPED)
            continue;
        put_repeated(out, g->h, widths[c] + 2);
        fputs(c < last ? corner[1] : corner[2], out);
    }
    fputc('\n', out);
}

/* "\033[1;31m" for a style mask; empty when there is nothing to set. */
static void sgr_start(unsigned style, char *buf, size_t size)
{
    static const struct { unsigned bit; const char *code; } codes[] = {
        {TABLE_STYLE_BOLD, "1"},    {TABLE_STYLE_DIM, "2"},   {TABLE_STYLE_RED, "31"},
        {TABLE_STYLE_GREEN, "32"},  {TABLE_STYLE_YELLOW, "33"}, {TABLE_STYLE_CYAN, "36"},
    };
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (!(style & codes[i].bit))
            continue;
        int n = snprintf(buf + o, size - o, "%s%s", o ? ";" : "\033[", codes[i].code);
        if (n < 0 || (size_t)n >= size - o)
            return;
        o += (size_t)n;
    }
    if (o > 0)
        snprintf(buf + o, size - o, "m");
}

/* Bytes of text that fit in `room` columns, and their width in *used. */
static size_t prefix_fitting(const char *text, int room, int *used)
{
    size_t len = strlen(text), i = 0;
    *used = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = term_utf8_decode(text + i, len - i, &cp);
        int w = term_codepoint_width(cp);
        if (*used + w > room)
            break;
        *used += w;
        i += n;
    }
    return i;
}

/* In ASCII mode the data must be ASCII too (a terminal that cannot draw box
 * lines cannot show other non-ASCII either): each other character becomes
 * '?' repeated to its display width, so the columns stay aligned. */
static void put_text(FILE *out, const char *text, size_t bytes, bool ascii)
{
    if (!ascii) {
        fwrite(text, 1, bytes, out);
        return;
    }
    for (size_t i = 0; i < bytes;) {
        uint32_t cp;
        size_t n = term_utf8_decode(text + i, bytes - i, &cp);
        if (cp < 0x80)
            fputc((int)cp, out);
        else
            put_repeated(out, "?", term_codepoint_width(cp));
        i += n ? n : 1;
    }
}

static void draw_cell(FILE *out, const struct cell *c, enum table_align align, int width,
                      const struct table_render_options *o, const struct glyphs *g)
{
    size_t bytes = strlen(c->text);
    int shown = c->width;
    bool cut = c->width > width;
    if (cut) {
        bytes = prefix_fitting(c->text, width - 1, &shown);
        shown += 1;   /* the cut mark */
    }
    char sgr[32] = "";
    if (o->color)
        sgr_start(c->style, sgr, sizeof sgr);

    fputc(' ', out);
    if (align == TABLE_RIGHT)
        put_repeated(out, " ", width - shown);
    fputs(sgr, out);
    put_text(out, c->text, bytes, o->ascii);
    if (cut)
        fputs(g->cut, out);
    if (sgr[0])
        fputs("\033[0m", out);
    if (align == TABLE_LEFT)
        put_repeated(out, " ", width - shown);
    fputc(' ', out);
    fputs(g->v, out);
}

static void draw_cells(FILE *out, const struct table *t, const struct cell *cells,
                       size_t filled, const int *widths, const struct table_render_options *o,
                       const struct glyphs *g)
{
    static const struct cell empty = {.text = (char *)"", .style = 0, .width = 0};
    fputs(g->v, out);
    for (size_t c = 0; c < t->ncols; c++)
        if (widths[c] != COLUMN_DROPPED)
            draw_cell(out, c < filled ? &cells[c] : &empty, t->columns[c].align, widths[c], o,
                      g);
    fputc('\n', out);
}

static void draw_table(FILE *out, const struct table *t, const int *widths,
                       const struct table_render_options *o)
{
    const struct glyphs *g = o->ascii ? &ascii_glyphs : &utf8_glyphs;
    draw_rule(out, g, RULE_TOP, widths, t->ncols);
    draw_cells(out, t, t->titles, t->ncols, widths, o, g);
    for (size_t r = 0; r < t->nrows; r++) {
        if (r == 0 || t->rows[r].rule_before)
            draw_rule(out, g, RULE_MIDDLE, widths, t->ncols);
        draw_cells(out, t, t->rows[r].cells, t->rows[r].filled, widths, o, g);
    }
    draw_rule(out, g, RULE_BOTTOM, widths, t->ncols);
}

int table_render(const struct table *t, FILE *out, const struct table_render_options *o)
{
    static const struct table_render_options defaults = {0};
    if (!o)
        o = &defaults;
    int *widths = malloc(t->ncols * sizeof *widths);
    if (!widths)
        return -ENOMEM;
    natural_widths(t, widths);
    if (o->width > 0 && fit_or_drop(t, widths, o->width) < 0) {
        free(widths);
        return -ENOMEM;
    }

    errno = 0;
    draw_table(out, t, widths, o);
    free(widths);
    /* stdio keeps the first failure's errno only until the next call. */
    int saved = errno;
    if (ferror(out))
        return saved ? -saved : -EIO;
    if (fflush(out) == EOF)
        return errno ? -errno : -EIO;
    return 0;
}
