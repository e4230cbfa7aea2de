/* table.h - rendering rows of text as an aligned table.
 *
 * UTF-8 box drawing, or plain ASCII with ascii=true; colour escapes only
 * when color=true; when the table is wider than width, flexible columns are
 * cut first (with "…", or "~" in ASCII), never below their min_width.
 * Knows nothing of GPUs: the CLI builds the rows.
 *
 * Layout: a border, the title row, a rule, the rows (with a rule wherever
 * table_separator was called between two rows), a border; one space of
 * padding on each side of every cell.  Widths are display columns
 * (term_display_width), so wide characters and "°C" line up.  Titles are
 * aligned like their column and bold when colour is on.  If cutting every
 * flexible column down to its minimum is still not enough, columns with a
 * drop rank are left out, rank 1 first, until the table fits (a narrow
 * terminal keeps the command readable rather than every counter); if it
 * still does not fit, it is printed wider than asked.  Rows never wrap.
 *
 * Cell text and titles are outside data (a process's command line): control
 * characters, invalid UTF-8 and bidirectional overrides are replaced by '?'
 * when they are stored (term_sanitize), so what is measured is what is
 * printed and nothing in a cell can move the cursor.
 */
#ifndef GPUCTL_CORE_TABLE_H
#define GPUCTL_CORE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum table_align { TABLE_LEFT, TABLE_RIGHT };

enum table_style {
    TABLE_STYLE_NONE = 0,
    TABLE_STYLE_BOLD = 1u << 0,
    TABLE_STYLE_DIM = 1u << 1,
    TABLE_STYLE_RED = 1u << 2,
    TABLE_STYLE_YELLOW = 1u << 3,
    TABLE_STYLE_GREEN = 1u << 4,
    TABLE_STYLE_CYAN = 1u << 5,
};

struct table_column {
    const char *title;  /* NULL is an empty title */
    enum table_align align;
    bool flexible;      /* may be cut to fit the width */
    int min_width;      /* display columns; 0 means the title's width */
};

struct table_render_options {
    bool ascii;
    bool color;
    int width;          /* total display columns available; 0: no limit */
};

struct table;

/* Copies the column array and the titles.  NULL on ENOMEM, or with errno
 * EINVAL when count is 0.  Free with table_free. */
struct table *table_new(const struct table_column *columns, size_t count);
void table_free(struct table *t);

/* Lets column col be left out when the table is too narrow even with every
 * flexible column cut: rank 1 goes first; 0 (the default) never goes.
 * Returns 0, or -EINVAL for a column the table lacks. */
int table_set_drop_rank(struct table *t, size_t col, int rank);

/* Starts a new row; following table_cell calls fill it left to right.
 * A row with fewer cells than columns is padded with empty cells.
 * Both return 0, -ENOMEM, or -EINVAL for table_cell before any table_row
 * or for more cells than columns.  style is a mask of enum table_style. */
int table_row(struct table *t);
int table_cell(struct table *t, unsigned style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A horizontal rule between the rows added so far and the next ones.
 * Without rows on both sides it draws nothing; repeated calls draw one. */
int table_separator(struct table *t);

size_t table_row_count(const struct table *t);

/* o may be NULL: UTF-8 lines, no colour, no width limit.  Flushes out.
 * Returns 0, or -errno when writing failed (EPIPE, ENOSPC). */
int table_render(const struct table *t, FILE *out, const struct table_render_options *o);

#endif
