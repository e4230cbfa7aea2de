/* test_csv.c - RFC 4180 records: quoting, doubled quotes, CRLF, NULL
 * fields, and write errors; and reading them back: quoted separators and
 * line ends, blank lines, malformed records skipped with their line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/csv.h"
#include "core/error.h"
#include <string.h>

static void check_record(const char *const *fields, size_t count, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(csv_write_record(f, fields, count), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, want);
    free(buf);
}

static void test_plain_fields(void **state)
{
    (void)state;
    const char *fields[] = {"0", "NVIDIA A100-SXM4-80GB", "72", " spaced "};
    check_record(fields, 4, "0,NVIDIA A100-SXM4-80GB,72, spaced \r\n");
}

static void test_null_and_empty_fields(void **state)
{
    (void)state;
    const char *fields[] = {"a", NULL, "", "d"};
    check_record(fields, 4, "a,,,d\r\n");
    const char *two_empty[] = {NULL, NULL};
    check_record(two_empty, 2, ",\r\n");
}

static void test_lone_empty_field_is_not_a_blank_line(void **state)
{
    (void)state;
    const char *empty[] = {""};
    check_record(empty, 1, "\"\"\r\n");
    const char *null[] = {NULL};
    check_record(null, 1, "\"\"\r\n");
    check_record(NULL, 0, "\r\n");
}

static void test_quoting(void **state)
{
    (void)state;
    const char *comma[] = {"x,y", "z"};
    check_record(comma, 2, "\"x,y\",z\r\n");
    const char *quote[] = {"say \"hi\""};
    check_record(quote, 1, "\"say \"\"hi\"\"\"\r\n");
    const char *only_quote[] = {"\""};
    check_record(only_quote, 1, "\"\"\"\"\r\n");
    const char *newline[] = {"line1\nline2", "cr\rhere", "crlf\r\n"};
    check_record(newline, 3, "\"line1\nline2\",\"cr\rhere\",\"crlf\r\n\"\r\n");
    const char *edges[] = {"\"start", "end\"", "a\"\"b"};
    check_record(edges, 3, "\"\"\"start\",\"end\"\"\",\"a\"\"\"\"b\"\r\n");
}

static void test_text_passes_through(void **state)
{
    (void)state;
    const char *fields[] = {"日本語", "72°C", "=SUM(A1)", "tab\there"};
    check_record(fields, 4, "日本語,72°C,=SUM(A1),tab\there\r\n");
}

static void test_records_follow_each_other(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    const char *header[] = {"gpu", "name"};
    const char *row[] = {"0", "A,B"};
    assert_int_equal(csv_write_record(f, header, 2), 0);
    assert_int_equal(csv_write_record(f, row, 2), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "gpu,name\r\n0,\"A,B\"\r\n");
    free(buf);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    assert_int_equal(setvbuf(f, NULL, _IONBF, 0), 0);
    const char *plain[] = {"a", "b"};
    assert_int_equal(csv_write_record(f, plain, 2), -ENOSPC);
    clearerr(f);
    const char *quoted[] = {"a\"b"};
    assert_int_equal(csv_write_record(f, quoted, 1), -ENOSPC);
    fclose(f);
}

/* ---- reading ---- */

static void test_read_plain_and_line_ends(void **state)
{
    (void)state;
    const char text[] = "a,b,c\r\n1,,3\n\n\nx\ry,z";
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, text, strlen(text));
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(rec.count, 3);
    assert_string_equal(rec.fields[2], "c");
    assert_int_equal(rec.line, 1);
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(rec.count, 3);
    assert_string_equal(rec.fields[1], "");
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_read_record(&r, &rec), 1);   /* blank lines skipped */
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.fields[0], "x");
    assert_int_equal(rec.line, 5);
    assert_int_equal(csv_read_record(&r, &rec), 1);   /* no final line end */
    assert_int_equal(rec.count, 2);
    assert_string_equal(rec.fields[1], "z");
    assert_int_equal(rec.line, 6);
    assert_int_equal(csv_read_record(&r, &rec), 0);
    csv_record_free(&rec);
}

static void test_read_quoted(void **state)
{
    (void)state;
    const char text[] = "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\"\nnext\n";
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, text, strlen(text));
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(rec.count, 4);
    assert_string_equal(rec.fields[0], "a,b");
    assert_string_equal(rec.fields[1], "say \"hi\"");
    assert_string_equal(rec.fields[2], "two\nlines");
    assert_string_equal(rec.fields[3], "");
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_string_equal(rec.fields[0], "next");
    assert_int_equal(rec.line, 3);                   /* the quoted line end counts */
    csv_record_free(&rec);
}

static void test_read_malformed_skips_the_line(void **state)
{
    (void)state;
    const char text[] = "ok,1\nba\"d,2\n\"x\"y,3\nfine,4\n\"never closed,5\n";
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, text, strlen(text));
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(csv_read_record(&r, &rec), -ERROR_PARSE);
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_read_record(&r, &rec), -ERROR_PARSE);
    assert_int_equal(rec.line, 3);
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_string_equal(rec.fields[0], "fine");
    assert_int_equal(rec.line, 4);
    assert_int_equal(csv_read_record(&r, &rec), -ERROR_PARSE);
    assert_int_equal(rec.line, 5);
    assert_int_equal(csv_read_record(&r, &rec), 0);
    csv_record_free(&rec);
}

static void test_read_back_what_was_written(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    const char *fields[] = {"2025-01-10T14:22:30", "a \"quoted\", text", "line\r\nend", ""};
    assert_int_equal(csv_write_record(f, fields, 4), 0);
    assert_int_equal(fclose(f), 0);
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, buf, len);
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(rec.count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(rec.fields[i], fields[i]);
    assert_int_equal(csv_read_record(&r, &rec), 0);
    csv_record_free(&rec);
    csv_record_free(&rec);   /* twice is harmless */
    free(buf);
}

static void test_read_no_nul_needed(void **state)
{
    (void)state;
    const char text[] = {'a', ',', 'b'};   /* not NUL-terminated */
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, text, sizeof text);
    assert_int_equal(csv_read_record(&r, &rec), 1);
    assert_int_equal(rec.count, 2);
    assert_string_equal(rec.fields[1], "b");
    csv_record_free(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_fields),
        cmocka_unit_test(test_null_and_empty_fields),
        cmocka_unit_test(test_lone_empty_field_is_not_a_blank_line),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_text_passes_through),
        cmocka_unit_test(test_records_follow_each_other),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_read_plain_and_line_ends),
        cmocka_unit_test(test_read_quoted),
        cmocka_unit_test(test_read_malformed_skips_the_line),
        cmocka_unit_test(test_read_back_what_was_written),
        cmocka_unit_test(test_read_no_nul_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
