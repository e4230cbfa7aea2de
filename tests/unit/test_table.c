/* test_table.c - the table renderer, checked against exact output: both
 * line styles, colour on and off, width fitting and cutting, wide
 * characters, hostile cell text, empty tables, short rows, separators and
 * write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/table.h"
#include "core/term.h"

static char *render(const struct table *t, bool ascii, bool color, int width)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct table_render_options o = {.ascii = ascii, .color = color, .width = width};
    assert_int_equal(table_render(t, f, &o), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void assert_renders(const struct table *t, bool ascii, bool color, int width,
                           const char *want)
{
    char *got = render(t, ascii, color, width);
    assert_string_equal(got, want);
    free(got);
}

/* Every line of the output is exactly `width` display columns. */
static void assert_line_widths(const char *text, int width)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        int w = term_display_width(line, (size_t)(end - line));
        if (w != width)
            fail_msg("line \"%.*s\" is %d columns, not %d", (int)(end - line), line, w, width);
        line = end + 1;
    }
}

/* ---- a small GPU table --------------------------------------------------- */

static const struct table_column gpu_columns[] = {
    {"GPU", TABLE_RIGHT, false, 0},
    {"Name", TABLE_LEFT, true, 0},
    {"Temp", TABLE_RIGHT, false, 0},
};

static struct table *gpu_table(void)
{
    struct table *t = table_new(gpu_columns, 3);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_NONE, "%d", 0), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_BOLD, "A100"), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_RED, "%d°C", 72), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_NONE, "%d", 1), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_NONE, "%s", "H100 80GB"), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_DIM, "N/A"), 0);
    return t;
}

static void test_utf8_lines(void **state)
{
    (void)state;
    struct table *t = gpu_table();
    assert_renders(t, false, false, 0,
                   "┌─────┬───────────┬──────┐\n"
                   "│ GPU │ Name      │ Temp │\n"
                   "├─────┼───────────┼──────┤\n"
                   "│   0 │ A100      │ 72°C │\n"
                   "│   1 │ H100 80GB │  N/A │\n"
                   "└─────┴───────────┴──────┘\n");
    table_free(t);
}

static void test_ascii_lines(void **state)
{
    (void)state;
    struct table *t = gpu_table();
    assert_renders(t, true, false, 0,
                   "+-----+-----------+------+\n"
                   "| GPU | Name      | Temp |\n"
                   "+-----+-----------+------+\n"
                   "|   0 | A100      | 72?C |\n"
                   "|   1 | H100 80GB |  N/A |\n"
                   "+-----+-----------+------+\n");
    table_free(t);
}

/* ASCII output is ASCII throughout, data included, with columns aligned:
 * a wide character becomes two '?', a combining mark none. */
static void test_ascii_mode_replaces_non_ascii_data(void **state)
{
    (void)state;
    static const struct table_column cols[] = {{"User", TABLE_LEFT, false, 0},
                                               {"Cmd", TABLE_LEFT, false, 0}};
    struct table *t = table_new(cols, 2);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "%s", "\xe7\x94\xb0\xe4\xb8\xad"), 0);   /* 田中 */
    assert_int_equal(table_cell(t, 0, "%s", "cafe\xcc\x81 \xc3\xa9"), 0);     /* café é */
    assert_renders(t, true, false, 0,
                   "+------+--------+\n"
                   "| User | Cmd    |\n"
                   "+------+--------+\n"
                   "| ???? | cafe ? |\n"
                   "+------+--------+\n");
    table_free(t);
}

static void test_colour_stays_inside_the_padding(void **state)
{
    (void)state;
    struct table *t = gpu_table();
    assert_renders(t, true, true, 0,
                   "+-----+-----------+------+\n"
                   "| \033[1mGPU\033[0m | \033[1mName\033[0m      | \033[1mTemp\033[0m |\n"
                   "+-----+-----------+------+\n"
                   "|   0 | \033[1mA100\033[0m      | \033[31m72?C\033[0m |\n"
                   "|   1 | H100 80GB |  \033[2mN/A\033[0m |\n"
                   "+-----+-----------+------+\n");
    table_free(t);
}

static void test_combined_styles(void **state)
{
    (void)state;
    static const struct table_column col[] = {{"S", TABLE_LEFT, false, 0}};
    struct table *t = table_new(col, 1);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_BOLD | TABLE_STYLE_RED, "x"), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_YELLOW, "y"), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, TABLE_STYLE_GREEN | TABLE_STYLE_CYAN | TABLE_STYLE_DIM, "z"),
                     0);
    assert_renders(t, true, true, 0,
                   "+---+\n"
                   "| \033[1mS\033[0m |\n"
                   "+---+\n"
                   "| \033[1;31mx\033[0m |\n"
                   "| \033[33my\033[0m |\n"
                   "| \033[2;32;36mz\033[0m |\n"
                   "+---+\n");
    table_free(t);
}

static void test_null_options_mean_defaults(void **state)
{
    (void)state;
    struct table *t = gpu_table();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(table_render(t, f, NULL), 0);
    assert_int_equal(fclose(f), 0);
    char *want = render(t, false, false, 0);
    assert_string_equal(buf, want);
    free(want);
    free(buf);
    table_free(t);
}

/* ---- fitting the width --------------------------------------------------- */

static const struct table_column proc_columns[] = {
    {"PID", TABLE_RIGHT, false, 0},
    {"Command", TABLE_LEFT, true, 0},
};

static struct table *proc_table(unsigned style)
{
    struct table *t = table_new(proc_columns, 2);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "1234"), 0);
    assert_int_equal(table_cell(t, style, "python train.py --epochs 100"), 0);
    return t;
}

static void test_cut_to_width(void **state)
{
    (void)state;
    struct table *t = proc_table(0);
    const char *want = "┌──────┬─────────────────────┐\n"
                       "│  PID │ Command             │\n"
                       "├──────┼─────────────────────┤\n"
                       "│ 1234 │ python train.py --… │\n"
                       "└──────┴─────────────────────┘\n";
    assert_renders(t, false, false, 30, want);
    assert_line_widths(want, 30);
    /* Wide enough: nothing is cut. */
    char *full = render(t, false, false, 39);
    assert_non_null(strstr(full, "│ python train.py --epochs 100 │"));
    assert_line_widths(full, 39);
    free(full);
    table_free(t);
}

static void test_cut_ascii_and_colour(void **state)
{
    (void)state;
    struct table *t = proc_table(TABLE_STYLE_CYAN);
    assert_renders(t, true, false, 30,
                   "+------+---------------------+\n"
                   "|  PID | Command             |\n"
                   "+------+---------------------+\n"
                   "| 1234 | python train.py --~ |\n"
                   "+------+---------------------+\n");
    char *coloured = render(t, true, true, 30);
    assert_non_null(strstr(coloured, "| 1234 | \033[36mpython train.py --~\033[0m |\n"));
    free(coloured);
    table_free(t);
}

static void test_never_below_the_title(void **state)
{
    (void)state;
    struct table *t = proc_table(0);
    /* Too narrow for even the minimum: printed wider than asked. */
    assert_renders(t, true, false, 10,
                   "+------+---------+\n"
                   "|  PID | Command |\n"
                   "+------+---------+\n"
                   "| 1234 | python~ |\n"
                   "+------+---------+\n");
    table_free(t);
}

static void test_explicit_min_width_cuts_the_title_too(void **state)
{
    (void)state;
    static const struct table_column cols[] = {
        {"PID", TABLE_RIGHT, false, 0},
        {"Command", TABLE_LEFT, true, 3},
    };
    struct table *t = table_new(cols, 2);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "1"), 0);
    assert_int_equal(table_cell(t, 0, "python"), 0);
    assert_renders(t, true, false, 5,
                   "+-----+-----+\n"
                   "| PID | Co~ |\n"
                   "+-----+-----+\n"
                   "|   1 | py~ |\n"
                   "+-----+-----+\n");
    table_free(t);
}

static void test_widest_flexible_column_goes_first(void **state)
{
    (void)state;
    static const struct table_column cols[] = {
        {"A", TABLE_LEFT, true, 0},
        {"B", TABLE_LEFT, true, 0},
        {"C", TABLE_LEFT, false, 0},
    };
    struct table *t = table_new(cols, 3);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "aaaaaaaaaaaaaaaaaaaa"), 0);   /* 20 */
    assert_int_equal(table_cell(t, 0, "bbbbbbbbbb"), 0);             /* 10 */
    assert_int_equal(table_cell(t, 0, "cccccccccccccccccccccccccc"), 0); /* 26, fixed */
    /* Natural width 1 + 23 + 13 + 29 = 66; 61 takes 5 from A only. */
    char *out = render(t, true, false, 61);
    assert_non_null(strstr(out, "| aaaaaaaaaaaaaa~ | bbbbbbbbbb | cccccccccccccccccccccccccc |\n"));
    assert_line_widths(out, 61);
    free(out);
    /* 51 takes 15: A down to B's width, then both share the rest. */
    out = render(t, true, false, 51);
    assert_non_null(strstr(out, "| aaaaaa~ | bbbbbbb~ | cccccccccccccccccccccccccc |\n"));
    assert_line_widths(out, 51);
    free(out);
    table_free(t);
}

static void test_wide_characters(void **state)
{
    (void)state;
    static const struct table_column cols[] = {
        {"名前", TABLE_LEFT, true, 2},
        {"°C", TABLE_RIGHT, false, 0},
    };
    struct table *t = table_new(cols, 2);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "日本語テスト"), 0);
    assert_int_equal(table_cell(t, 0, "45"), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "ab"), 0);
    assert_int_equal(table_cell(t, 0, "100"), 0);
    const char *want = "┌──────────────┬─────┐\n"
                       "│ 名前         │  °C │\n"
                       "├──────────────┼─────┤\n"
                       "│ 日本語テスト │  45 │\n"
                       "│ ab           │ 100 │\n"
                       "└──────────────┴─────┘\n";
    assert_renders(t, false, false, 0, want);
    assert_line_widths(want, 22);
    /* Cut to 6 columns: "日本" (4) + "…", and a column of padding because
     * "語" would not fit beside the mark. */
    const char *cut = "┌────────┬─────┐\n"
                      "│ 名前   │  °C │\n"
                      "├────────┼─────┤\n"
                      "│ 日本…  │  45 │\n"
                      "│ ab     │ 100 │\n"
                      "└────────┴─────┘\n";
    assert_renders(t, false, false, 16, cut);
    assert_line_widths(cut, 16);
    table_free(t);
}

static void test_cut_keeps_combining_marks_with_their_letter(void **state)
{
    (void)state;
    static const struct table_column cols[] = {{"N", TABLE_LEFT, true, 1}};
    struct table *t = table_new(cols, 1);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "e\u0301e\u0301e\u0301e\u0301"), 0);   /* 4 columns */
    assert_renders(t, false, false, 7,
                   "┌─────┐\n"
                   "│ N   │\n"
                   "├─────┤\n"
                   "│ e\u0301e\u0301… │\n"
                   "└─────┘\n");
    table_free(t);
}

/* ---- hostile and odd content --------------------------------------------- */

static void test_control_characters_are_neutralised(void **state)
{
    (void)state;
    static const struct table_column cols[] = {{"Cmd", TABLE_LEFT, false, 0}};
    struct table *t = table_new(cols, 1);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "evil\033[2J\nrm\t-rf\r"), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "x\xff\xc2\x9b" "1m\u202e"), 0);
    char *out = render(t, true, true, 0);
    assert_null(strstr(out, "\033[2J"));
    assert_null(strchr(out, '\t'));
    assert_null(strchr(out, '\r'));
    free(out);
    assert_renders(t, true, false, 0,
                   "+------------------+\n"
                   "| Cmd              |\n"
                   "+------------------+\n"
                   "| evil?[2J?rm?-rf? |\n"
                   "| x??1m?           |\n"
                   "+------------------+\n");
    table_free(t);
}

static void test_titles_are_sanitised_and_copied(void **state)
{
    (void)state;
    char title[] = "A\nB";
    struct table_column col = {title, TABLE_LEFT, false, 0};
    struct table *t = table_new(&col, 1);
    assert_non_null(t);
    title[0] = 'Z';   /* the table keeps its own copy */
    assert_renders(t, true, false, 0, "+-----+\n| A?B |\n+-----+\n");
    table_free(t);
}

static void test_empty_table_is_title_only(void **state)
{
    (void)state;
    struct table *t = table_new(gpu_columns, 3);
    assert_non_null(t);
    assert_int_equal(table_row_count(t), 0);
    assert_renders(t, false, false, 0,
                   "┌─────┬──────┬──────┐\n"
                   "│ GPU │ Name │ Temp │\n"
                   "└─────┴──────┴──────┘\n");
    table_free(t);
}

static void test_short_rows_are_padded(void **state)
{
    (void)state;
    struct table *t = table_new(gpu_columns, 3);
    assert_non_null(t);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "7"), 0);
    assert_int_equal(table_row(t), 0);
    assert_renders(t, true, false, 0,
                   "+-----+------+------+\n"
                   "| GPU | Name | Temp |\n"
                   "+-----+------+------+\n"
                   "|   7 |      |      |\n"
                   "|     |      |      |\n"
                   "+-----+------+------+\n");
    assert_int_equal(table_row_count(t), 2);
    table_free(t);
}

static void test_separators(void **state)
{
    (void)state;
    static const struct table_column col[] = {{"X", TABLE_LEFT, false, 0}};
    struct table *t = table_new(col, 1);
    assert_non_null(t);
    assert_int_equal(table_separator(t), 0);   /* before any row: nothing */
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "a"), 0);
    assert_int_equal(table_separator(t), 0);
    assert_int_equal(table_separator(t), 0);   /* twice: still one rule */
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "b"), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "c"), 0);
    assert_int_equal(table_separator(t), 0);   /* at the end: nothing */
    assert_renders(t, false, false, 0,
                   "┌───┐\n"
                   "│ X │\n"
                   "├───┤\n"
                   "│ a │\n"
                   "├───┤\n"
                   "│ b │\n"
                   "│ c │\n"
                   "└───┘\n");
    table_free(t);
}

static void test_misuse_is_refused(void **state)
{
    (void)state;
    errno = 0;
    assert_null(table_new(gpu_columns, 0));
    assert_int_equal(errno, EINVAL);
    table_free(NULL);

    static const struct table_column col[] = {{NULL, TABLE_LEFT, false, 0}};
    struct table *t = table_new(col, 1);
    assert_non_null(t);
    assert_int_equal(table_cell(t, 0, "early"), -EINVAL);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "one"), 0);
    assert_int_equal(table_cell(t, 0, "two"), -EINVAL);
    assert_renders(t, true, false, 0, "+-----+\n|     |\n+-----+\n| one |\n+-----+\n");
    table_free(t);
}

static void test_many_rows(void **state)
{
    (void)state;
    static const struct table_column col[] = {{"N", TABLE_RIGHT, false, 0}};
    struct table *t = table_new(col, 1);
    assert_non_null(t);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(table_row(t), 0);
        assert_int_equal(table_cell(t, 0, "%d", i), 0);
    }
    assert_int_equal(table_row_count(t), 1000);
    char *out = render(t, true, false, 0);
    assert_non_null(strstr(out, "|   0 |\n|   1 |\n"));
    assert_non_null(strstr(out, "| 999 |\n+-----+\n"));
    free(out);
    table_free(t);
}

static void test_write_error_is_reported(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    struct table *t = gpu_table();
    assert_int_equal(table_render(t, f, NULL), -ENOSPC);
    fclose(f);
    table_free(t);
}

/* A narrow width leaves ranked columns out (rank 1 first) before it cuts a
 * flexible column below a readable width; unranked columns always stay. */
static void test_narrow_width_drops_ranked_columns_before_cutting_the_command(void **state)
{
    (void)state;
    static const struct table_column cols[] = {
        {"PID", TABLE_RIGHT, false, 0},
        {"ECC", TABLE_RIGHT, false, 0},
        {"TIME", TABLE_RIGHT, false, 0},
        {"Command", TABLE_LEFT, true, 4},
    };
    struct table *t = table_new(cols, 4);
    assert_non_null(t);
    assert_int_equal(table_set_drop_rank(t, 1, 1), 0);
    assert_int_equal(table_set_drop_rank(t, 2, 2), 0);
    assert_int_equal(table_set_drop_rank(t, 4, 1), -EINVAL);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_cell(t, 0, "42"), 0);
    assert_int_equal(table_cell(t, 0, "0"), 0);
    assert_int_equal(table_cell(t, 0, "1:00"), 0);
    assert_int_equal(table_cell(t, 0, "python train.py --epochs 10"), 0);
    /* 50 columns wide; at 44 the ECC column goes and the command stays whole */
    assert_renders(t, true, false, 44,
                   "+-----+------+-----------------------------+\n"
                   "| PID | TIME | Command                     |\n"
                   "+-----+------+-----------------------------+\n"
                   "|  42 | 1:00 | python train.py --epochs 10 |\n"
                   "+-----+------+-----------------------------+\n");
    /* at 24 both ranked columns go, then the command is cut */
    assert_renders(t, true, false, 24,
                   "+-----+----------------+\n"
                   "| PID | Command        |\n"
                   "+-----+----------------+\n"
                   "|  42 | python train.~ |\n"
                   "+-----+----------------+\n");
    table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_lines),
        cmocka_unit_test(test_ascii_lines),
        cmocka_unit_test(test_ascii_mode_replaces_non_ascii_data),
        cmocka_unit_test(test_colour_stays_inside_the_padding),
        cmocka_unit_test(test_combined_styles),
        cmocka_unit_test(test_null_options_mean_defaults),
        cmocka_unit_test(test_cut_to_width),
        cmocka_unit_test(test_cut_ascii_and_colour),
        cmocka_unit_test(test_never_below_the_title),
        cmocka_unit_test(test_explicit_min_width_cuts_the_title_too),
        cmocka_unit_test(test_widest_flexible_column_goes_first),
        cmocka_unit_test(test_wide_characters),
        cmocka_unit_test(test_cut_keeps_combining_marks_with_their_letter),
        cmocka_unit_test(test_control_characters_are_neutralised),
        cmocka_unit_test(test_titles_are_sanitised_and_copied),
        cmocka_unit_test(test_empty_table_is_title_only),
        cmocka_unit_test(test_short_rows_are_padded),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_misuse_is_refused),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_write_error_is_reported),
        cmocka_unit_test(test_narrow_width_drops_ranked_columns_before_cutting_the_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
