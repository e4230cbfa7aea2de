/* table.h - rendering rows of text as an aligned table.
 *
 * UTF-8 box drawing, or plain ASCII with ascii=true; colour escapes only
 * when color=true; when the table is wider than width, flexible columns are
 * cut first (with "…", or "~" in ASCII), never below their min_width.
 * Knows nothing of GPUs: the CLI builds the rows.
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
    const char *title;
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

/* Copies the column array.  NULL on ENOMEM.  Free with table_free. */
struct table *table_new(const struct table_column *columns, size_t count);
void table_free(struct table *t);

/* Starts a new row; following table_cell calls fill it left to right.
 * A row with fewer cells than columns is padded with empty cells. */
int table_row(struct table *t);
int table_cell(struct table *t, unsigned style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A horizontal rule between the rows added so far and the next ones. */
int table_separator(struct table *t);

size_t table_row_count(const struct table *t);

/* Returns 0, or -errno when writing failed (EPIPE, ENOSPC). */
int table_render(const struct table *t, FILE *out, const struct table_render_options *o);

#endif
