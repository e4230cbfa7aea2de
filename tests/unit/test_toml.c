/* test_toml.c - the TOML 1.0 reader: valid documents with exact values,
 * invalid documents with the exact line:column of the error.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/toml.h"

/* ------------------------------------------------------------ helpers */

static struct toml_value *parse_len(const char *doc, size_t len)
{
    struct toml_value *root = NULL;
    struct error e = {0};
    int rc = toml_parse(doc, len, "t.toml", &root, &e);
    if (rc != 0)
        print_message("unexpected error for:\n%s\n-> %s\n", doc, e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(root);
    return root;
}

static struct toml_value *parse(const char *doc)
{
    return parse_len(doc, strlen(doc));
}

static int64_t int_at(const struct toml_value *t, const char *path)
{
    int64_t v = 0;
    if (!toml_get_int(toml_table_get_path(t, path), &v))
        fail_msg("%s is not an integer", path);
    return v;
}

static double float_at(const struct toml_value *t, const char *path)
{
    double v = 0;
    if (!toml_get_float(toml_table_get_path(t, path), &v))
        fail_msg("%s is not a float", path);
    return v;
}

static const char *str_at(const struct toml_value *t, const char *path)
{
    const char *s = toml_get_string(toml_table_get_path(t, path), NULL);
    if (!s)
        fail_msg("%s is not a string", path);
    return s;
}

static bool bool_at(const struct toml_value *t, const char *path)
{
    bool v = false;
    if (!toml_get_bool(toml_table_get_path(t, path), &v))
        fail_msg("%s is not a boolean", path);
    return v;
}

/* An invalid document, the "line:column" its error must name and words the
 * message must contain. */
struct bad {
    const char *doc;
    const char *where;
    const char *words;
};

static bool refused_as_expected(const char *doc, size_t len, const char *where, const char *words)
{
    struct toml_value *root = (struct toml_value *)&root;   /* must become NULL */
    struct error e = {0};
    int rc = toml_parse(doc, len, "t.toml", &root, &e);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.toml:%s: ", where);
    if (rc == -ERROR_PARSE && root == NULL && strncmp(e.msg, prefix, strlen(prefix)) == 0 &&
        strstr(e.msg, words))
        return true;
    print_message("document:\n%.*s\nwant: %s...%s\ngot (rc %d): %s\n\n", (int)len, doc, prefix,
                  words, rc, e.msg);
    if (rc == 0)
        toml_free(root);
    return false;
}

static void check_bad_cases(const struct bad *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++)
        if (!refused_as_expected(cases[i].doc, strlen(cases[i].doc), cases[i].where,
                                 cases[i].words))
            failures++;
    assert_int_equal(failures, 0);
}

#define CHECK_BAD(cases) check_bad_cases((cases), sizeof(cases) / sizeof((cases)[0]))

/* ------------------------------------------------------------ valid: basics */

static void test_empty_and_blank_documents(void **state)
{
    (void)state;
    const char *docs[] = {"", "\n", "   \t\n\n", "# only a comment", "# c\r\n\r\n  # d\n",
                          "\xEF\xBB\xBF", "\xEF\xBB\xBF# bom then comment\n"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct toml_value *root = parse(docs[i]);
        assert_int_equal(toml_type(root), TOML_TABLE);
        assert_int_equal(toml_table_size(root), 0);
        toml_free(root);
    }
}

static void test_keys(void **state)
{
    (void)state;
    struct toml_value *root = parse("key = 1\n"
                                    "bare_key-2 = 2\n"
                                    "1234 = 3\n"
                                    "\"127.0.0.1\" = 4\n"
                                    "\"character encoding\" = 5\n"
                                    "'quoted \"value\"' = 6\n"
                                    "\"\" = 7\n"
                                    "\"\\u00e9t\\u00e9\" = 8\n"
                                    "3.14159 = 9\n"
                                    "  site . \"google.com\"\t.x = 10\n"
                                    "\"nul\\u0000key\" = 11\n");
    assert_int_equal(int_at(root, "key"), 1);
    assert_int_equal(int_at(root, "bare_key-2"), 2);
    assert_int_equal(int_at(root, "1234"), 3);
    int64_t v;
    assert_true(toml_get_int(toml_table_get(root, "127.0.0.1"), &v));
    assert_int_equal(v, 4);
    assert_true(toml_get_int(toml_table_get(root, "character encoding"), &v));
    assert_int_equal(v, 5);
    assert_true(toml_get_int(toml_table_get(root, "quoted \"value\""), &v));
    assert_int_equal(v, 6);
    assert_true(toml_get_int(toml_table_get(root, ""), &v));
    assert_int_equal(v, 7);
    assert_true(toml_get_int(toml_table_get(root, "\xC3\xA9t\xC3\xA9"), &v));
    assert_int_equal(v, 8);
    assert_int_equal(int_at(root, "3.14159"), 9);   /* a dotted key: 3 -> 14159 */
    const struct toml_value *site = toml_table_get(root, "site");
    assert_true(toml_get_int(toml_table_get(toml_table_get(site, "google.com"), "x"), &v));
    assert_int_equal(v, 10);
    struct toml_entry ent;
    assert_true(toml_table_at(root, toml_table_size(root) - 1, &ent));
    assert_int_equal(ent.key_len, 7);
    assert_memory_equal(ent.key, "nul\0key", 8);
    toml_free(root);
}

static void test_strings(void **state)
{
    (void)state;
    struct toml_value *root = parse(
        "basic = \"I'm a string. \\\"You can quote me\\\". Name\\tJos\\u00E9\\nLocation\\tSF.\"\n"
        "escapes = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
        "astral = \"\\U0001F600\"\n"
        "utf8 = \"gr\xC3\xBC\xC3\x9F \xE2\x82\xAC\"\n"
        "tab = \"a\tb\"\n"
        "empty = \"\"\n"
        "lit = 'C:\\Users\\nodejs\\templates'\n"
        "lit2 = '<\\i\\c*\\s*>'\n"
        "lit_empty = ''\n"
        "ml = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
        "ml_crlf = \"\"\"\r\none\r\ntwo\"\"\"\n"
        "fold = \"\"\"\\\n  The quick brown \\\n\n\n  fox.\\\n   \"\"\"\n"
        "fold_ws = \"\"\"a \\   \n   b\"\"\"\n"
        "quotes = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
        "q3 = \"\"\"Here are three quotation marks: \"\"\\\".\"\"\"\n"
        "q15 = \"\"\"Here are fifteen quotation marks: "
        "\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n"
        "end1 = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
        "end2 = \"\"\"x\"\"\"\"\"\n"
        "ml_lit = '''\nThe first newline is\ntrimmed in raw strings.\n"
        "   All other whitespace\n   is preserved.\n'''\n"
        "regex2 = '''I [dw]on't need \\d{2} apples'''\n"
        "lit_quotes = ''''That,' she said, 'is still pointless.''''\n"
        "nul = \"a\\u0000b\"\n"
        "bmp = \"\\u20AC\\u0041\\u00e9\\U0010FFFF\"\n"
        "fold_crlf = \"\"\"a\\\r\n  \r\n   b\"\"\"\r\n");
    assert_string_equal(str_at(root, "basic"),
                        "I'm a string. \"You can quote me\". Name\tJos\xC3\xA9\nLocation\tSF.");
    assert_string_equal(str_at(root, "escapes"), "\b\t\n\f\r\"\\");
    assert_string_equal(str_at(root, "astral"), "\xF0\x9F\x98\x80");
    assert_string_equal(str_at(root, "utf8"), "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC");
    assert_string_equal(str_at(root, "tab"), "a\tb");
    assert_string_equal(str_at(root, "empty"), "");
    assert_string_equal(str_at(root, "lit"), "C:\\Users\\nodejs\\templates");
    assert_string_equal(str_at(root, "lit2"), "<\\i\\c*\\s*>");
    assert_string_equal(str_at(root, "lit_empty"), "");
    assert_string_equal(str_at(root, "ml"), "Roses are red\nViolets are blue");
    assert_string_equal(str_at(root, "ml_crlf"), "one\ntwo");
    assert_string_equal(str_at(root, "fold"), "The quick brown fox.");
    assert_string_equal(str_at(root, "fold_ws"), "a b");
    assert_string_equal(str_at(root, "quotes"),
                        "Here are two quotation marks: \"\". Simple enough.");
    assert_string_equal(str_at(root, "q3"), "Here are three quotation marks: \"\"\".");
    assert_string_equal(str_at(root, "q15"),
                        "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".");
    assert_string_equal(str_at(root, "end1"),
                        "\"This,\" she said, \"is just a pointless statement.\"");
    assert_string_equal(str_at(root, "end2"), "x\"\"");
    assert_string_equal(str_at(root, "ml_lit"), "The first newline is\ntrimmed in raw strings.\n"
                                                "   All other whitespace\n   is preserved.\n");
    assert_string_equal(str_at(root, "regex2"), "I [dw]on't need \\d{2} apples");
    assert_string_equal(str_at(root, "lit_quotes"), "'That,' she said, 'is still pointless.'");
    assert_string_equal(str_at(root, "bmp"), "\xE2\x82\xAC" "A\xC3\xA9\xF4\x8F\xBF\xBF");
    assert_string_equal(str_at(root, "fold_crlf"), "ab");
    size_t len = 0;
    const char *nul = toml_get_string(toml_table_get(root, "nul"), &len);
    assert_int_equal(len, 3);
    assert_memory_equal(nul, "a\0b", 4);
    toml_free(root);
}

static void test_integers(void **state)
{
    (void)state;
    struct toml_value *root = parse("a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\n"
                                    "f = 5_349_221\ng = 53_49_221\nh = 1_2_3_4_5\n"
                                    "hex1 = 0xDEADBEEF\nhex2 = 0xdeadbeef\nhex3 = 0xdead_beef\n"
                                    "hex0 = 0x0\nhex00 = 0x00ff\n"
                                    "oct1 = 0o01234567\noct2 = 0o755\n"
                                    "bin1 = 0b11010110\n"
                                    "max = 9223372036854775807\nmin = -9223372036854775808\n"
                                    "hexmax = 0x7FFFFFFFFFFFFFFF\n"
                                    "pz = +0\nnz = -0\n");
    assert_int_equal(int_at(root, "a"), 99);
    assert_int_equal(int_at(root, "b"), 42);
    assert_int_equal(int_at(root, "c"), 0);
    assert_int_equal(int_at(root, "d"), -17);
    assert_int_equal(int_at(root, "e"), 1000);
    assert_int_equal(int_at(root, "f"), 5349221);
    assert_int_equal(int_at(root, "g"), 5349221);
    assert_int_equal(int_at(root, "h"), 12345);
    assert_int_equal(int_at(root, "hex1"), 0xDEADBEEF);
    assert_int_equal(int_at(root, "hex2"), 0xDEADBEEF);
    assert_int_equal(int_at(root, "hex3"), 0xDEADBEEF);
    assert_int_equal(int_at(root, "hex0"), 0);
    assert_int_equal(int_at(root, "hex00"), 255);
    assert_int_equal(int_at(root, "oct1"), 01234567);
    assert_int_equal(int_at(root, "oct2"), 0755);
    assert_int_equal(int_at(root, "bin1"), 214);
    assert_true(int_at(root, "max") == INT64_MAX);
    assert_true(int_at(root, "min") == INT64_MIN);
    assert_true(int_at(root, "hexmax") == INT64_MAX);
    assert_int_equal(int_at(root, "pz"), 0);
    assert_int_equal(int_at(root, "nz"), 0);
    toml_free(root);
}

static void test_floats(void **state)
{
    (void)state;
    struct toml_value *root = parse("f1 = +1.0\nf2 = 3.1415\nf3 = -0.01\nf4 = 5e+22\n"
                                    "f5 = 1e06\nf6 = -2E-2\nf7 = 6.626e-34\n"
                                    "f8 = 224_617.445_991_228\nf9 = 1e1_0\n"
                                    "z1 = -0.0\nz2 = +0.0\nz3 = 0e0\n"
                                    "i1 = inf\ni2 = +inf\ni3 = -inf\n"
                                    "n1 = nan\nn2 = +nan\nn3 = -nan\n"
                                    "tiny = 1e-400\nbig = 1.7976931348623157e308\n");
    assert_true(float_at(root, "f1") == 1.0);
    assert_true(float_at(root, "f2") == 3.1415);
    assert_true(float_at(root, "f3") == -0.01);
    assert_true(float_at(root, "f4") == 5e22);
    assert_true(float_at(root, "f5") == 1e6);
    assert_true(float_at(root, "f6") == -2e-2);
    assert_true(float_at(root, "f7") == 6.626e-34);
    assert_true(float_at(root, "f8") == 224617.445991228);
    assert_true(float_at(root, "f9") == 1e10);
    assert_true(float_at(root, "z1") == 0.0 && signbit(float_at(root, "z1")));
    assert_true(float_at(root, "z2") == 0.0 && !signbit(float_at(root, "z2")));
    assert_true(float_at(root, "z3") == 0.0);
    assert_true(isinf(float_at(root, "i1")) && float_at(root, "i1") > 0);
    assert_true(isinf(float_at(root, "i2")) && float_at(root, "i2") > 0);
    assert_true(isinf(float_at(root, "i3")) && float_at(root, "i3") < 0);
    assert_true(isnan(float_at(root, "n1")));
    assert_true(isnan(float_at(root, "n2")));
    assert_true(isnan(float_at(root, "n3")));
    assert_true(float_at(root, "tiny") == 0.0);  /* underflow rounds to zero */
    assert_true(float_at(root, "big") == 1.7976931348623157e308);
    /* An integer is not a float, but is a number. */
    double d;
    assert_false(toml_get_float(toml_table_get(root, "nothing"), &d));
    toml_free(root);
    root = parse("n = 3\n");
    assert_false(toml_get_float(toml_table_get(root, "n"), &d));
    assert_true(toml_get_number(toml_table_get(root, "n"), &d));
    assert_true(d == 3.0);
    toml_free(root);
}

static void test_booleans(void **state)
{
    (void)state;
    struct toml_value *root = parse("t = true\nf = false\narr = [true,false]\n");
    assert_true(bool_at(root, "t"));
    assert_false(bool_at(root, "f"));
    bool b = true;
    assert_true(toml_get_bool(toml_array_get(toml_table_get(root, "arr"), 1), &b));
    assert_false(b);
    toml_free(root);
}

static void expect_datetime(const struct toml_value *root, const char *key, enum toml_type type,
                            struct toml_datetime want)
{
    const struct toml_value *v = toml_table_get(root, key);
    struct toml_datetime dt;
    assert_non_null(v);
    if (toml_type(v) != type)
        fail_msg("%s: type %s", key, toml_type_name(toml_type(v)));
    assert_true(toml_get_datetime(v, &dt));
    if (memcmp(&dt, &want, sizeof dt) != 0)
        fail_msg("%s: got %d-%d-%d %d:%d:%d.%09d %+d", key, dt.year, dt.month, dt.day, dt.hour,
                 dt.minute, dt.second, dt.nanosecond, dt.offset_minutes);
}

#define DT(...) ((struct toml_datetime){__VA_ARGS__})

static void test_datetimes(void **state)
{
    (void)state;
    struct toml_value *root = parse("odt1 = 1979-05-27T07:32:00Z\n"
                                    "odt2 = 1979-05-27T00:32:00-07:00\n"
                                    "odt3 = 1979-05-27T00:32:00.999999+07:00\n"
                                    "odt4 = 1979-05-27 07:32:00Z\n"
                                    "odt5 = 1979-05-27t07:32:00z\n"
                                    "ldt1 = 1979-05-27T07:32:00\n"
                                    "ldt2 = 1979-05-27T00:32:00.999999\n"
                                    "ldt3 = 1979-05-27 00:32:00.1234567891\n"
                                    "ld1 = 1979-05-27\n"
                                    "leap = 2024-02-29\n"
                                    "leap400 = 2000-02-29\n"
                                    "lt1 = 07:32:00\n"
                                    "lt2 = 00:32:00.999999\n"
                                    "lsec = 23:59:60\n"
                                    "arr = [1979-05-27 07:32:00, 1979-05-27]\n"
                                    "d_then_comment = 1979-05-27 # date\n");
    expect_datetime(root, "odt1", TOML_OFFSET_DATETIME,
                    DT(1979, 5, 27, 7, 32, 0, 0, 0));
    expect_datetime(root, "odt2", TOML_OFFSET_DATETIME,
                    DT(1979, 5, 27, 0, 32, 0, 0, -420));
    expect_datetime(root, "odt3", TOML_OFFSET_DATETIME,
                    DT(1979, 5, 27, 0, 32, 0, 999999000, 420));
    expect_datetime(root, "odt4", TOML_OFFSET_DATETIME,
                    DT(1979, 5, 27, 7, 32, 0, 0, 0));
    expect_datetime(root, "odt5", TOML_OFFSET_DATETIME,
                    DT(1979, 5, 27, 7, 32, 0, 0, 0));
    expect_datetime(root, "ldt1", TOML_LOCAL_DATETIME,
                    DT(1979, 5, 27, 7, 32, 0, 0, 0));
    expect_datetime(root, "ldt2", TOML_LOCAL_DATETIME,
                    DT(1979, 5, 27, 0, 32, 0, 999999000, 0));
    expect_datetime(root, "ldt3", TOML_LOCAL_DATETIME,
                    DT(1979, 5, 27, 0, 32, 0, 123456789, 0));
    expect_datetime(root, "ld1", TOML_LOCAL_DATE,
                    DT(1979, 5, 27, 0, 0, 0, 0, 0));
    expect_datetime(root, "leap", TOML_LOCAL_DATE,
                    DT(2024, 2, 29, 0, 0, 0, 0, 0));
    expect_datetime(root, "leap400", TOML_LOCAL_DATE,
                    DT(2000, 2, 29, 0, 0, 0, 0, 0));
    expect_datetime(root, "lt1", TOML_LOCAL_TIME,
                    DT(0, 0, 0, 7, 32, 0, 0, 0));
    expect_datetime(root, "lt2", TOML_LOCAL_TIME,
                    DT(0, 0, 0, 0, 32, 0, 999999000, 0));
    expect_datetime(root, "lsec", TOML_LOCAL_TIME,
                    DT(0, 0, 0, 23, 59, 60, 0, 0));
    const struct toml_value *arr = toml_table_get(root, "arr");
    assert_int_equal(toml_array_size(arr), 2);
    assert_int_equal(toml_type(toml_array_get(arr, 0)), TOML_LOCAL_DATETIME);
    assert_int_equal(toml_type(toml_array_get(arr, 1)), TOML_LOCAL_DATE);
    assert_int_equal(toml_type(toml_table_get(root, "d_then_comment")), TOML_LOCAL_DATE);
    toml_free(root);
}

static void test_arrays(void **state)
{
    (void)state;
    struct toml_value *root = parse("integers = [ 1, 2, 3 ]\n"
                                    "colors = [ \"red\", \"yellow\", \"green\" ]\n"
                                    "nested = [ [ 1, 2 ], [3, 4, 5] ]\n"
                                    "mixed = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\n"
                                    "numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n"
                                    "contributors = [\n"
                                    "  \"Foo Bar <foo@example.com>\",\n"
                                    "  { name = \"Baz Qux\", email = \"bazqux@example.com\" }\n"
                                    "]\n"
                                    "empty = []\n"
                                    "empty_lines = [\n\n]\n"
                                    "trailing = [\n  1, # one\n  2, # two\n]\n"
                                    "comments = [ # start\n 1 # after\n , # comma\n 2\n ]\n"
                                    "tables = [{a = 1}, {}]\n"
                                    "crlf = [\r\n  1,\r\n  2 # two\r\n]\r\n");
    const struct toml_value *a = toml_table_get(root, "integers");
    assert_int_equal(toml_type(a), TOML_ARRAY);
    assert_int_equal(toml_array_size(a), 3);
    int64_t v;
    assert_true(toml_get_int(toml_array_get(a, 2), &v));
    assert_int_equal(v, 3);
    assert_null(toml_array_get(a, 3));
    const struct toml_value *nested = toml_table_get(root, "nested");
    assert_int_equal(toml_array_size(toml_array_get(nested, 1)), 3);
    const struct toml_value *mixed = toml_table_get(root, "mixed");
    assert_string_equal(toml_get_string(toml_array_get(toml_array_get(mixed, 1), 2), NULL), "c");
    const struct toml_value *numbers = toml_table_get(root, "numbers");
    assert_int_equal(toml_type(toml_array_get(numbers, 2)), TOML_FLOAT);
    assert_int_equal(toml_type(toml_array_get(numbers, 3)), TOML_INTEGER);
    const struct toml_value *contributors = toml_table_get(root, "contributors");
    assert_int_equal(toml_array_size(contributors), 2);
    assert_string_equal(str_at(toml_array_get(contributors, 1), "email"), "bazqux@example.com");
    assert_int_equal(toml_array_size(toml_table_get(root, "empty")), 0);
    assert_int_equal(toml_array_size(toml_table_get(root, "empty_lines")), 0);
    assert_int_equal(toml_array_size(toml_table_get(root, "trailing")), 2);
    assert_int_equal(toml_array_size(toml_table_get(root, "comments")), 2);
    const struct toml_value *tables = toml_table_get(root, "tables");
    assert_int_equal(int_at(toml_array_get(tables, 0), "a"), 1);
    assert_int_equal(toml_table_size(toml_array_get(tables, 1)), 0);
    assert_int_equal(toml_array_size(toml_table_get(root, "crlf")), 2);
    toml_free(root);
}

static void test_tables(void **state)
{
    (void)state;
    struct toml_value *root = parse("[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n"
                                    "[table-2]\nkey1 = \"another string\"\nkey2 = 456\n"
                                    "[dog.\"tater.man\"]\ntype.name = \"pug\"\n"
                                    "[ j . \"\xCA\x9E\" . 'l' ]\nx = 1\n"
                                    "[x.y.z.w]\ninner = 1\n"
                                    "[x]\nouter = 2\n"
                                    "[empty]\n");
    assert_string_equal(str_at(root, "table-1.key1"), "some string");
    assert_int_equal(int_at(root, "table-2.key2"), 456);
    const struct toml_value *tater = toml_table_get(toml_table_get(root, "dog"), "tater.man");
    assert_string_equal(str_at(tater, "type.name"), "pug");
    const struct toml_value *j = toml_table_get(root, "j");
    assert_int_equal(int_at(toml_table_get(toml_table_get(j, "\xCA\x9E"), "l"), "x"), 1);
    assert_int_equal(int_at(root, "x.y.z.w.inner"), 1);
    assert_int_equal(int_at(root, "x.outer"), 2);
    assert_int_equal(toml_type(toml_table_get(root, "empty")), TOML_TABLE);
    toml_free(root);
}

static void test_dotted_keys_and_tables(void **state)
{
    (void)state;
    struct toml_value *root = parse("name = \"Orange\"\n"
                                    "physical.color = \"orange\"\n"
                                    "physical.shape = \"round\"\n"
                                    "site.\"google.com\" = true\n"
                                    "a.b.c = 1\na.d = 2\n"
                                    "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
                                    "[fruit.apple.texture]\nsmooth = true\n"
                                    "[p.q.r]\nz = 9\n"
                                    "[p]\nq.s = 1\n");
    assert_string_equal(str_at(root, "physical.color"), "orange");
    assert_string_equal(str_at(root, "physical.shape"), "round");
    assert_int_equal(int_at(root, "a.b.c"), 1);
    assert_int_equal(int_at(root, "a.d"), 2);
    assert_string_equal(str_at(root, "fruit.apple.color"), "red");
    assert_true(bool_at(root, "fruit.apple.taste.sweet"));
    assert_true(bool_at(root, "fruit.apple.texture.smooth"));
    /* q was made implicitly by [p.q.r]; dotted keys in [p] may add to it. */
    assert_int_equal(int_at(root, "p.q.s"), 1);
    assert_int_equal(int_at(root, "p.q.r.z"), 9);
    toml_free(root);
}

static void test_inline_tables(void **state)
{
    (void)state;
    struct toml_value *root = parse("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
                                    "point = { x = 1, y = 2 }\n"
                                    "animal = { type.name = \"pug\" }\n"
                                    "deep = { a = { b = { c = [ { d = 1 } ] } } }\n"
                                    "empty = {}\n"
                                    "spaced = {   }\n"
                                    "dots = { a.b = 1, a.c = 2 }\n");
    assert_string_equal(str_at(root, "name.last"), "Preston-Werner");
    assert_int_equal(int_at(root, "point.y"), 2);
    assert_string_equal(str_at(root, "animal.type.name"), "pug");
    const struct toml_value *c = toml_table_get_path(root, "deep.a.b.c");
    assert_int_equal(int_at(toml_array_get(c, 0), "d"), 1);
    assert_int_equal(toml_table_size(toml_table_get(root, "empty")), 0);
    assert_int_equal(toml_table_size(toml_table_get(root, "spaced")), 0);
    assert_int_equal(int_at(root, "dots.a.c"), 2);
    toml_free(root);
}

static void test_arrays_of_tables(void **state)
{
    (void)state;
    struct toml_value *root = parse("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
                                    "[[products]]  # empty table within the array\n\n"
                                    "[[products]]\nname = \"Nail\"\nsku = 284758393\n\n"
                                    "[[fruits]]\nname = \"apple\"\n"
                                    "[fruits.physical]\ncolor = \"red\"\n"
                                    "[[fruits.varieties]]\nname = \"red delicious\"\n"
                                    "[[fruits.varieties]]\nname = \"granny smith\"\n"
                                    "[[fruits]]\nname = \"banana\"\n"
                                    "[[fruits.varieties]]\nname = \"plantain\"\n"
                                    "[[ spaced . aot ]]\nx.y = 1\n"
                                    "[[spaced.aot]]\nx.y = 2\n");
    const struct toml_value *products = toml_table_get(root, "products");
    assert_int_equal(toml_array_size(products), 3);
    assert_string_equal(str_at(toml_array_get(products, 0), "name"), "Hammer");
    assert_int_equal(toml_table_size(toml_array_get(products, 1)), 0);
    assert_int_equal(int_at(toml_array_get(products, 2), "sku"), 284758393);
    const struct toml_value *fruits = toml_table_get(root, "fruits");
    assert_int_equal(toml_array_size(fruits), 2);
    const struct toml_value *apple = toml_array_get(fruits, 0);
    assert_string_equal(str_at(apple, "physical.color"), "red");
    const struct toml_value *varieties = toml_table_get(apple, "varieties");
    assert_int_equal(toml_array_size(varieties), 2);
    assert_string_equal(str_at(toml_array_get(varieties, 1), "name"), "granny smith");
    const struct toml_value *banana = toml_array_get(fruits, 1);
    assert_string_equal(str_at(toml_array_get(toml_table_get(banana, "varieties"), 0), "name"),
                        "plantain");
    const struct toml_value *aot = toml_table_get_path(root, "spaced.aot");
    assert_int_equal(int_at(toml_array_get(aot, 1), "x.y"), 2);
    toml_free(root);
}

/* ------------------------------------------------------- valid: the API */

static void test_document_order_and_positions(void **state)
{
    (void)state;
    struct toml_value *root = parse("# comment\n"
                                    "zeta = 1\n"
                                    "  alpha = \"x\"   \n"
                                    "[tbl]\n"
                                    "\"\xC3\xA9 k\" = 2\n"
                                    "\t'\xE2\x82\xAC' = [1, 2]\n"
                                    "[[arr]]\n"
                                    "x.y = 3\n"
                                    "[ more.than . one ]\r\n"
                                    "k = true\r\n");
    struct toml_entry ent;
    const char *order[] = {"zeta", "alpha", "tbl", "arr", "more"};
    const unsigned lines[] = {2, 3, 4, 7, 9}, cols[] = {1, 3, 2, 3, 3};
    assert_int_equal(toml_table_size(root), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_true(toml_table_at(root, i, &ent));
        assert_string_equal(ent.key, order[i]);
        assert_int_equal(ent.key_pos.line, lines[i]);
        assert_int_equal(ent.key_pos.column, cols[i]);
    }
    assert_false(toml_table_at(root, 5, &ent));
    /* value positions: columns count characters, not bytes */
    struct toml_pos pos = toml_value_pos(toml_table_get(root, "alpha"));
    assert_int_equal(pos.line, 3);
    assert_int_equal(pos.column, 11);
    const struct toml_value *tbl = toml_table_get(root, "tbl");
    assert_true(toml_table_at(tbl, 0, &ent));
    assert_string_equal(ent.key, "\xC3\xA9 k");
    assert_int_equal(ent.key_pos.line, 5);
    assert_int_equal(ent.key_pos.column, 1);
    pos = toml_value_pos(ent.value);
    assert_int_equal(pos.line, 5);
    assert_int_equal(pos.column, 9);
    assert_true(toml_table_at(tbl, 1, &ent));
    assert_int_equal(ent.key_pos.column, 2);
    pos = toml_value_pos(toml_array_get(ent.value, 1));
    assert_int_equal(pos.line, 6);
    assert_int_equal(pos.column, 12);
    const struct toml_value *arr0 = toml_array_get(toml_table_get(root, "arr"), 0);
    assert_true(toml_table_at(toml_table_get(arr0, "x"), 0, &ent));
    assert_string_equal(ent.key, "y");
    assert_int_equal(ent.key_pos.line, 8);
    assert_int_equal(ent.key_pos.column, 3);
    const struct toml_value *one = toml_table_get_path(root, "more.than.one");
    pos = toml_value_pos(one);
    assert_int_equal(pos.line, 9);
    assert_int_equal(pos.column, 15);
    assert_true(toml_table_at(one, 0, &ent));
    assert_int_equal(ent.key_pos.line, 10);
    toml_free(root);
}

static void test_bom_does_not_shift_columns(void **state)
{
    (void)state;
    struct toml_value *root = parse("\xEF\xBB\xBF" "a = 1\n");
    struct toml_entry ent;
    assert_true(toml_table_at(root, 0, &ent));
    assert_int_equal(ent.key_pos.column, 1);
    assert_int_equal(toml_value_pos(ent.value).column, 5);
    toml_free(root);
    struct bad cases[] = {{"\xEF\xBB\xBF" "a = ?", "1:5", "expected a value"}};
    CHECK_BAD(cases);
}

static void test_accessors_tolerate_null_and_wrong_types(void **state)
{
    (void)state;
    struct toml_value *root = parse("s = 'x'\ni = 1\nt = {}\n");
    const struct toml_value *s = toml_table_get(root, "s");
    int64_t n = 42;
    bool b = true;
    double d = 4.5;
    struct toml_datetime dt;
    struct toml_entry ent;
    assert_false(toml_get_int(s, &n));
    assert_int_equal(n, 42);
    assert_false(toml_get_bool(s, &b));
    assert_false(toml_get_number(s, &d));
    assert_false(toml_get_datetime(s, &dt));
    assert_null(toml_get_string(toml_table_get(root, "i"), NULL));
    assert_null(toml_get_string(NULL, NULL));
    assert_false(toml_get_int(NULL, &n));
    assert_int_equal(toml_table_size(s), 0);
    assert_int_equal(toml_table_size(NULL), 0);
    assert_false(toml_table_at(s, 0, &ent));
    assert_int_equal(toml_array_size(s), 0);
    assert_null(toml_array_get(NULL, 0));
    assert_null(toml_table_get(s, "x"));
    assert_null(toml_table_get(NULL, "x"));
    assert_null(toml_table_get(root, "missing"));
    assert_null(toml_table_get_path(root, "s.x"));
    assert_null(toml_table_get_path(root, "t.x"));
    assert_null(toml_table_get_path(NULL, "t"));
    assert_null(toml_table_get_path(root, NULL));
    assert_null(toml_table_get(root, NULL));
    assert_non_null(toml_table_get_path(root, "t"));
    assert_int_equal(toml_value_pos(NULL).line, 0);
    assert_string_equal(toml_type_name(TOML_OFFSET_DATETIME), "offset date-time");
    assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
    assert_string_equal(toml_type_name(TOML_TABLE), "table");
    toml_free(root);
    toml_free(NULL);
}

static void test_buffer_is_not_nul_terminated(void **state)
{
    (void)state;
    /* Only the first len bytes count, whatever follows them. */
    char *exact = malloc(5);
    assert_non_null(exact);
    memcpy(exact, "a = 1", 5);
    struct toml_value *root = parse_len(exact, 5);
    assert_int_equal(int_at(root, "a"), 1);
    toml_free(root);
    root = parse_len("a = 12345", 5);
    assert_int_equal(int_at(root, "a"), 1);
    toml_free(root);
    memcpy(exact, "k='x'", 5);
    root = parse_len(exact, 5);
    assert_string_equal(str_at(root, "k"), "x");
    toml_free(root);
    free(exact);
    assert_true(refused_as_expected("a = \"abc\"", 8, "1:5", "not closed"));
    assert_true(refused_as_expected("a = tru", 7, "1:5", "expected a value"));
    assert_true(refused_as_expected("a = truexx", 9, "1:5", "expected a value"));
    assert_true(refused_as_expected("a = 1\0", 6, "1:6", "found U+0000"));
    assert_true(refused_as_expected("a = \"x\0\"", 8, "1:7", "control character U+0000"));
    assert_true(refused_as_expected("# x\0", 4, "1:4", "control character U+0000"));
    assert_int_equal(toml_parse(NULL, 3, "t.toml", &root, NULL), -EINVAL);
    root = parse_len(NULL, 0);
    toml_free(root);
}

static void test_many_keys_use_the_index(void **state)
{
    (void)state;
    enum { N = 3000 };
    size_t cap = N * 24, len = 0;
    char *doc = malloc(cap);
    assert_non_null(doc);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(doc + len, cap - len, "key%d = %d\n", i, i * 7);
    struct toml_value *root = parse_len(doc, len);
    assert_int_equal(toml_table_size(root), N);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%d", i);
        assert_int_equal(int_at(root, key), i * 7);
    }
    assert_null(toml_table_get(root, "key3000"));
    toml_free(root);
    /* a duplicate far down a big table is still found */
    len += (size_t)snprintf(doc + len, cap - len, "key1234 = 0\n");
    assert_true(refused_as_expected(doc, len, "3001:1", "key \"key1234\" is defined twice "
                                                        "(first at line 1235, column 1)"));
    free(doc);
}

static char *nested_arrays(int levels, const char *inner)
{
    size_t len = 4 + (size_t)levels * 2 + strlen(inner) + 1;
    char *doc = malloc(len);
    assert_non_null(doc);
    char *w = doc;
    w += sprintf(w, "a = ");
    for (int i = 0; i < levels; i++)
        *w++ = '[';
    w += sprintf(w, "%s", inner);
    for (int i = 0; i < levels; i++)
        *w++ = ']';
    *w = '\0';
    return doc;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    /* "a" is level 1, so 128 arrays reach level 128: accepted. */
    char *ok = nested_arrays(TOML_MAX_DEPTH, "");
    struct toml_value *root = parse(ok);
    toml_free(root);
    free(ok);
    char *deep = nested_arrays(TOML_MAX_DEPTH + 1, "");
    char *deep_value = nested_arrays(TOML_MAX_DEPTH, "1");
    char *huge = nested_arrays(100000, "");
    char keys[4 * 200];
    size_t n = 0;
    for (int i = 0; i < 129; i++)
        n += (size_t)sprintf(keys + n, "%sk", i ? "." : "");
    sprintf(keys + n, " = 1");
    char header[4 * 200] = "[";
    for (int i = 0; i < 129; i++)
        strcat(header, i ? ".h" : "h");
    strcat(header, "]");
    struct bad cases[] = {
        {deep, "1:133", "deeper than 128 levels"},
        {deep_value, "1:133", "deeper than 128 levels"},
        {huge, "1:133", "deeper than 128 levels"},
        {keys, "1:257", "more than 128 dotted parts"},
        {header, "1:258", "more than 128 dotted parts"},
    };
    CHECK_BAD(cases);
    free(deep);
    free(deep_value);
    free(huge);
}

/* ------------------------------------------------------------ invalid */

static void test_bad_syntax(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"use_colors true", "1:12", "expected '=' after key \"use_colors\", found 't'"},
        {"a = 1\nb = 2\n  use_colors  true\n", "3:15", "expected '=' after key \"use_colors\""},
        {"a.b c = 1", "1:5", "expected '=' after key \"a.b\""},
        {"= 1", "1:1", "expected a key, found '='"},
        {"a = ", "1:5", "expected a value, found end of file"},
        {"a =\n", "1:4", "expected a value, found end of line"},
        {"a = # nothing\n", "1:5", "expected a value, found '#'"},
        {"a = 1 2", "1:7", "expected a new line after the value, found '2'"},
        {"a = 1 # ok\nb", "2:2", "expected '=' after key \"b\", found end of file"},
        {"a.  = 1", "1:5", "expected a key, found '='"},
        {"a. .b = 1", "1:4", "expected a key, found '.'"},
        {".a = 1", "1:1", "expected a key, found '.'"},
        {"a = yes", "1:5", "expected a value, found yes (strings must be quoted)"},
        {"a = True", "1:5", "expected a value, found True"},
        {"a = truex", "1:5", "expected a value, found truex"},
        {"a = @", "1:5", "expected a value, found '@'"},
        {"\xC3\xA9 = 1", "1:1", "expected a key, found '\xC3\xA9'"},
        {"'\xC3\xA9' = 1 2", "1:9", "expected a new line after the value"},
        {"[a", "1:3", "expected ']' after table name \"a\", found end of file"},
        {"[a b]", "1:4", "expected ']' after table name \"a\", found 'b'"},
        {"[[a]", "1:5", "expected ']]' after table name \"a\", found end of file"},
        {"[[a] ]", "1:5", "expected ']]' after table name \"a\", found ' '"},
        {"[a]]", "1:4", "expected a new line after the table header, found ']'"},
        {"[a] b = 1", "1:5", "expected a new line after the table header"},
        {"[ [a] ]", "1:3", "expected a key, found '['"},
        {"[]", "1:2", "expected a key, found ']'"},
        {"[a.]", "1:4", "expected a key, found ']'"},
        {"a = 1\rb = 2", "1:6", "a carriage return must be followed by a line feed"},
        {"\r", "1:1", "a carriage return must be followed by a line feed"},
        {"# comment\x01", "1:10", "control character U+0001 is not allowed in a comment"},
        {"# comment\x7f\n", "1:10", "control character U+007F"},
        {"a = 1 # \r\n# \r", "2:3", "control character U+000D"},
        {"a = \"x\x7f\"", "1:7", "control character U+007F must be escaped"},
        {"a = \"x\x1b\"", "1:7", "control character U+001B"},
        {"a = 'x\x08'", "1:7", "control character U+0008"},
        {"a = \"\"\"x\x01\"\"\"", "1:9", "control character U+0001"},
        {"a = '''x\ry'''", "1:9", "control character U+000D"},
        {"\"\"\"key\"\"\" = 1", "1:1", "a multi-line string cannot be a key"},
        {"'''key''' = 1", "1:1", "a multi-line string cannot be a key"},
        {"a\n= 1", "1:2", "expected '=' after key \"a\", found end of line"},
    };
    CHECK_BAD(cases);
}

static void test_bad_utf8(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = \"\xff\"", "1:6", "invalid UTF-8: unexpected byte 0xFF"},
        {"a = \"\x80\"", "1:6", "unexpected byte 0x80"},
        {"# \xC3\xA9\xC3\xA9 \xC0\xAF", "1:6", "overlong encoding"},
        {"a = '\xE0\x80\xAF'", "1:6", "overlong encoding"},
        {"a = '\xF0\x82\x82\xAC'", "1:6", "overlong encoding"},
        {"a = '\xED\xA0\x80'", "1:6", "encoded surrogate U+D800"},
        {"a = '\xF4\x90\x80\x80'", "1:6", "beyond U+10FFFF"},
        {"a = '\xE2\x82'", "1:6", "incomplete sequence"},
        {"a = 1\n\n# \xE2\x82", "3:3", "incomplete sequence"},
        {"a = '\xF8\x88\x80\x80\x80'", "1:6", "unexpected byte 0xF8"},
    };
    CHECK_BAD(cases);
}

static void test_bad_strings(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = \"abc", "1:5", "string is not closed before the end of the file"},
        {"a = \"abc\nb = 1", "1:5", "string is not closed before the end of the line"},
        {"a = 'abc\n'", "1:5", "string is not closed before the end of the line"},
        {"a = 'abc", "1:5", "not closed before the end of the file"},
        {"a = \"\\x41\"", "1:6", "invalid escape sequence \"\\x\""},
        {"a = \"\\e\"", "1:6", "invalid escape sequence \"\\e\""},
        {"a = \"\\ \"", "1:6", "'\\' followed by ' '"},
        {"a = \"ab\\", "1:8", "'\\' followed by end of file"},
        {"a = \"\\uD800\"", "1:6", "escape \\uD800 is a surrogate"},
        {"a = \"\\uDFFF\"", "1:6", "surrogate"},
        {"a = \"\\U0000D800\"", "1:6", "surrogate"},
        {"a = \"\\U00110000\"", "1:6", "escape \\U00110000 is beyond U+10FFFF"},
        {"a = \"\\u12\"", "1:6", "escape \\u needs exactly 4 hexadecimal digits"},
        {"a = \"\\U1234567\"", "1:6", "escape \\U needs exactly 8 hexadecimal digits"},
        {"a = \"\\u12G4\"", "1:6", "needs exactly 4"},
        {"a = \"\"\"abc", "1:5", "multi-line string is not closed before the end of the file"},
        {"a = '''abc\n''", "1:5", "multi-line string is not closed"},
        {"a = \"\"\"a\"\"\"\"\"\"", "1:14", "too many quotes"},
        {"a = '''a''''''", "1:14", "too many quotes"},
        {"a = \"\"\"\\ x\"\"\"", "1:8", "'\\' followed by ' '"},
        {"a = \"\"\"\n\\q\"\"\"", "2:1", "invalid escape sequence \"\\q\""},
        {"a = \"\"\"x\"\"\" y", "1:13", "expected a new line after the value, found 'y'"},
        {"a = \"x\" \"y\"", "1:9", "expected a new line after the value"},
        {"a = \"\"\"\\\n \\\r \"\"\"", "2:2", "'\\' followed by U+000D"},
    };
    CHECK_BAD(cases);
}

static void test_bad_numbers(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = 01", "1:5", "leading zeros are not allowed: 01"},
        {"a = -01", "1:5", "leading zeros"},
        {"a = 00", "1:5", "leading zeros"},
        {"a = 0_1", "1:5", "leading zeros"},
        {"a = 01.5", "1:5", "leading zeros"},
        {"a = 1__2", "1:5", "an underscore must sit between two digits"},
        {"a = 1_", "1:5", "underscore"},
        {"a = _1", "1:5", "expected a value, found _1"},
        {"a = 1_.5", "1:5", "underscore"},
        {"a = 1._5", "1:5", "decimal point needs digits on both sides"},
        {"a = 1e_5", "1:5", "the exponent needs digits: an underscore must sit"},
        {"a = 0x_1", "1:5", "invalid hexadecimal integer 0x_1"},
        {"a = 0x", "1:5", "invalid number 0x"},
        {"a = 0xG1", "1:5", "invalid hexadecimal integer"},
        {"a = 0X1F", "1:5", "invalid number 0X1F"},
        {"a = 0o8", "1:5", "invalid octal integer"},
        {"a = 0b102", "1:5", "invalid binary integer"},
        {"a = +0x1", "1:5", "cannot have a sign"},
        {"a = -0b1", "1:5", "cannot have a sign"},
        {"a = 9223372036854775808", "1:5", "does not fit in 64 bits"},
        {"a = -9223372036854775809", "1:5", "does not fit in 64 bits"},
        {"a = 99999999999999999999999", "1:5", "does not fit"},
        {"a = 0x8000000000000000", "1:5", "does not fit"},
        {"a = 0o1000000000000000000000", "1:5", "does not fit"},
        {"a = 1.2.3", "1:5", "invalid number 1.2.3"},
        {"a = 1.", "1:5", "invalid float 1.: a decimal point needs digits on both sides"},
        {"a = .5", "1:5", "expected a value, found .5"},
        {"a = -.5", "1:5", "invalid number -.5"},
        {"a = 1.e5", "1:5", "decimal point"},
        {"a = 1e", "1:5", "the exponent needs digits"},
        {"a = 1e+", "1:5", "exponent"},
        {"a = 1e5.5", "1:5", "invalid number"},
        {"a = 1e400", "1:5", "float 1e400 is out of range"},
        {"a = -1.5e309", "1:5", "out of range"},
        {"a = infinity", "1:5", "expected a value, found infinity"},
        {"a = +infinity", "1:5", "invalid number"},
        {"a = Inf", "1:5", "expected a value"},
        {"a = nan1", "1:5", "expected a value"},
        {"a = -", "1:5", "invalid number -"},
        {"a = +", "1:5", "invalid number +"},
        {"a = 1x", "1:5", "invalid number 1x"},
        {"a = 12:34", "1:5", "invalid time in 12:34"},
    };
    CHECK_BAD(cases);
}

static void test_bad_datetimes(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = 1979-13-27", "1:5", "the month must be 01 to 12"},
        {"a = 1979-00-27", "1:5", "month"},
        {"a = 1979-02-30", "1:5", "the day must be 01 to 28 in that month"},
        {"a = 2023-02-29", "1:5", "01 to 28"},
        {"a = 1900-02-29", "1:5", "01 to 28"},
        {"a = 1979-04-31", "1:5", "01 to 30"},
        {"a = 1979-05-00", "1:5", "day"},
        {"a = 1979-5-27", "1:5", "invalid date 1979-5-27 (expected YYYY-MM-DD)"},
        {"a = 1979-05-2", "1:5", "expected YYYY-MM-DD"},
        {"a = 1979-05-27T25:00:00", "1:5", "out of range"},
        {"a = 1979-05-27T07:60:00", "1:5", "out of range"},
        {"a = 1979-05-27T07:32:61", "1:5", "out of range"},
        {"a = 1979-05-27T07:32", "1:5", "invalid time in 1979-05-27T07:32 (expected HH:MM:SS)"},
        {"a = 1979-05-27T7:32:00", "1:5", "expected HH:MM:SS"},
        {"a = 1979-05-27T07:32:00.", "1:5", "a decimal point needs digits after it"},
        {"a = 1979-05-27T07:32:00+25:00", "1:5", "the offset is out of range"},
        {"a = 1979-05-27T07:32:00+07:60", "1:5", "offset is out of range"},
        {"a = 1979-05-27T07:32:00+0700", "1:5", "expected 'Z' or an offset like +01:00"},
        {"a = 1979-05-27T07:32:00Zx", "1:5", "expected 'Z' or an offset"},
        {"a = 1979-05-27X07:32:00", "1:5", "expected 'T' or a space between date and time"},
        {"a = 1979-05-27T", "1:5", "expected HH:MM:SS"},
        {"a = 1979-05-27 07:32", "1:5", "expected HH:MM:SS"},
        {"a = 1979-05-27  07:32:00", "1:17", "expected a new line after the value"},
        {"a = 07:32:00Z", "1:5", "invalid local time 07:32:00Z: nothing may follow the seconds"},
        {"a = 07:32:00+01:00", "1:5", "nothing may follow"},
        {"a = 24:00:00", "1:5", "out of range"},
        {"a = 07:32", "1:5", "expected HH:MM:SS"},
        {"a = 07:32:00 1979-05-27", "1:14", "expected a new line"},
    };
    CHECK_BAD(cases);
}

static void test_bad_arrays_and_inline_tables(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = [1, 2", "1:5", "array is not closed before the end of the file"},
        {"a = [1, 2,\n# c\n", "1:5", "array is not closed"},
        {"a = [1 2]", "1:8", "expected ',' or ']' after an array element, found '2'"},
        {"a = [,]", "1:6", "expected a value, found ','"},
        {"a = [1,,2]", "1:8", "expected a value, found ','"},
        {"a = [1]]", "1:8", "expected a new line after the value"},
        {"a = [\n1\n2]", "3:1", "expected ',' or ']'"},
        {"a = {x = 1,}", "1:12", "an inline table cannot end with a comma"},
        {"a = {x = 1\n}", "1:11", "an inline table must be closed with '}' on the same line"},
        {"a = {\nx = 1}", "1:6", "an inline table must be written on one line"},
        {"a = {x = 1,\ny = 2}", "1:12", "must be written on one line"},
        {"a = {x = 1 y = 2}", "1:12", "expected ',' or '}' in an inline table, found 'y'"},
        {"a = {x = 1", "1:11", "must be closed with '}'"},
        {"a = {,}", "1:6", "expected a key, found ','"},
        {"a = {x}", "1:7", "expected '=' after key \"x\", found '}'"},
        {"a = {x = 1, x = 2}", "1:13", "key \"x\" is defined twice (first at line 1, column 6)"},
        {"a = {x.y = 1, x = 2}", "1:15", "key \"x\" is defined twice"},
        {"a = {x = {y = 1}, x.z = 2}", "1:19",
         "cannot define key \"x.z\": \"x\" is an inline table, which cannot be extended (line 1, "
         "column 10)"},
        {"a = {x = 1, x.y = 2}", "1:13", "\"x\" is already an integer"},
        {"a = {x = [1], x.y = 2}", "1:15", "\"x\" is already an array"},
        {"a = {x = 1} # c\na.y = 2", "2:1", "\"a\" is an inline table, which cannot be extended"},
        {"a = {x = 1}\n[a]", "2:2", "table [a] is already defined as an inline table (line 1, "
                                    "column 5)"},
        {"a = {}\n[a.b]", "2:2", "cannot define table [a.b]: \"a\" is an inline table"},
        {"[a]\nb = {c = 1}\n[a.b.d]", "3:4", "cannot define table [a.b.d]: \"a.b\" is an inline "
                                             "table"},
        {"a = {}\n[[a.b]]", "2:3", "cannot define table [[a.b]]: \"a\" is an inline table"},
        {"a = {b = []}\n[[a.b]]", "2:3", "\"a\" is an inline table"},
        {"a = [{b = 1}]\n[a.c]", "2:2", "\"a\" is a static array, not an array of tables"},
        {"a = [{b = 1}]\n[[a]]", "2:3", "cannot append to [[a]]: \"a\" is a static array, which "
                                        "cannot be extended (line 1, column 5)"},
        {"a = []\n[[a]]", "2:3", "static array"},
    };
    CHECK_BAD(cases);
}

static void test_redefinitions(void **state)
{
    (void)state;
    struct bad cases[] = {
        {"a = 1\na = 2", "2:1", "key \"a\" is defined twice (first at line 1, column 1)"},
        {"a = 1\n\"a\" = 2", "2:1", "key \"a\" is defined twice"},
        {"a = 1\n'a' = 2", "2:1", "defined twice"},
        {"\"\\u0061\" = 1\na = 2", "2:1", "defined twice"},
        {"a.b = 1\na.b = 2", "2:3", "key \"a.b\" is defined twice (first at line 1, column 3)"},
        {"a = 1\na.b = 2", "2:1", "cannot define key \"a.b\": \"a\" is already an integer (line 1, "
                                  "column 5)"},
        {"a.b = 'x'\na.b.c = 2", "2:3", "\"a.b\" is already a string"},
        {"[t]\na = 1\n[t]", "3:2", "table [t] is already defined (line 1, column 2)"},
        {"[a]\n[a]", "2:2", "table [a] is already defined"},
        {"[ a ]\n[\"a\"]", "2:2", "table [a] is already defined (line 1, column 3)"},
        {"[a.b]\n[a]\n[a]", "3:2", "table [a] is already defined (line 2, column 2)"},
        {"[a]\nb = 1\n[a.b]", "3:4", "table [a.b] is already defined as an integer"},
        {"a = 1\n[a]", "2:2", "table [a] is already defined as an integer"},
        {"a = 1\n[a.b]", "2:2", "cannot define table [a.b]: \"a\" is an integer (line 1, "
                                "column 5)"},
        {"a = 'x'\n[[a.b]]", "2:3", "\"a\" is a string"},
        {"a.b = 1\n[a]", "2:2", "table [a] was already defined by dotted keys (line 1, "
                                "column 1)"},
        {"[fruit]\napple.color = 'red'\n[fruit.apple]", "3:8",
         "table [fruit.apple] was already defined by dotted keys (line 2, column 1)"},
        {"[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", "3:14",
         "table [fruit.apple.taste] was already defined by dotted keys"},
        {"[t1]\nt2.t3.v = 0\n[t1.t2]", "3:5", "was already defined by dotted keys"},
        /* toml-lang/toml#846: dotted keys cannot reach into tables a header defined */
        {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1", "4:3",
         "cannot define key \"b.c.t\": \"b.c\" is a table defined by a header (line 1, "
         "column 6)"},
        {"[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 8", "4:5", "\"b.c.d\" is a table defined by a header"},
        /* once dotted keys used an implicit table, it counts as defined by them */
        {"[a.b.c]\n[a]\nb.d = 1\n[a.b]", "4:4", "table [a.b] was already defined by dotted keys"},
        {"[a]\n[[a]]", "2:3", "cannot append to [[a]]: \"a\" is a table (line 1, column 2)"},
        {"[a.b]\n[[a]]", "2:3", "\"a\" is a table"},
        {"[[a]]\n[a]", "2:2", "table [a] is already defined as an array of tables (line 1, "
                              "column 3)"},
        {"a = 1\n[[a]]", "2:3", "\"a\" is an integer"},
        {"[[fruit]]\n[fruit.physical]\n[[fruit.physical]]", "3:9",
         "cannot append to [[fruit.physical]]: \"fruit.physical\" is a table"},
        {"[[fruit]]\n[[fruit.varieties]]\n[fruit.varieties]", "3:8",
         "table [fruit.varieties] is already defined as an array of tables"},
        {"[[fruit]]\n[fruit.physical]\n[fruit.physical]", "3:8",
         "table [fruit.physical] is already defined"},
        {"[[a]]\nb = 1\n[[a]]\nb = 1\nb = 2", "5:1", "key \"b\" is defined twice (first at line "
                                                      "4, column 1)"},
        {"[[a]]\nb.c = 1\n[a.b]", "3:4", "table [a.b] was already defined by dotted keys"},
        {"[[a]]\n[a.b]\n[a.b]", "3:4", "table [a.b] is already defined"},
    };
    CHECK_BAD(cases);
}

static void test_valid_redefinition_look_alikes(void **state)
{
    (void)state;
    /* Each of these looks like a redefinition but is allowed by TOML 1.0. */
    const char *docs[] = {
        "[a.b.c]\n[a]\nd = 1",
        "[a.b.c]\n[a.b]\nd = 1",
        "[a]\nb.c = 1\n[a.b.d]\ne = 1",
        "a.b.c = 1\na.b.d = 2\na.e = 3",
        "[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2",
        "[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
        "[[a.b]]\n[a]\nc = 1",
        "[[a.b]]\n[[a.b]]\n[a.c]",
        "[a]\nx = 1\n[b]\nx = 1\n[a.x2]",
        "[a]\n[b]\na.x = 1",  /* b.a, not the [a] above */
        "a = {b = {c = 1}}\nd = {b = {c = 1}}",
        "[x.y]\n[x.z]\n[x]",
        "a.b.c = 1\n[a.b.d]\ne = 2",
        "a.b.c = 1\n[a.x]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        toml_free(parse(docs[i]));
}

static void test_error_messages_use_the_filename(void **state)
{
    (void)state;
    struct toml_value *root;
    struct error e = {0};
    assert_int_equal(toml_parse("x", 1, "/etc/gpuctl/config.toml", &root, &e), -ERROR_PARSE);
    assert_string_equal(e.msg, "/etc/gpuctl/config.toml:1:2: expected '=' after key \"x\", found "
                               "end of file");
    assert_null(root);
    assert_int_equal(toml_parse("x", 1, NULL, &root, &e), -ERROR_PARSE);
    assert_string_equal(e.msg, "<input>:1:2: expected '=' after key \"x\", found end of file");
    /* a NULL error record is allowed */
    assert_int_equal(toml_parse("x", 1, "f", &root, NULL), -ERROR_PARSE);
    /* long keys are cut in messages, however many dotted parts they have */
    char key[400];
    memset(key, 'k', 90);
    strcpy(key + 90, ".aa.bb.cc x");
    assert_int_equal(toml_parse(key, strlen(key), "f", &root, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "f:1:101: expected '=' after key \"kkkk"));
    assert_non_null(strstr(e.msg, "kkk.a...\", found 'x'"));
    /* odd bytes in keys are not copied into messages */
    assert_int_equal(toml_parse("\"a\\u0007b\" 1", 12, "f", &root, &e), -ERROR_PARSE);
    assert_string_equal(e.msg, "f:1:12: expected '=' after key \"a?b\", found '1'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_blank_documents),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_dotted_keys_and_tables),
        cmocka_unit_test(test_inline_tables),
        cmocka_unit_test(test_arrays_of_tables),
        cmocka_unit_test(test_document_order_and_positions),
        cmocka_unit_test(test_bom_does_not_shift_columns),
        cmocka_unit_test(test_accessors_tolerate_null_and_wrong_types),
        cmocka_unit_test(test_buffer_is_not_nul_terminated),
        cmocka_unit_test(test_many_keys_use_the_index),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_bad_datetimes),
        cmocka_unit_test(test_bad_arrays_and_inline_tables),
        cmocka_unit_test(test_redefinitions),
        cmocka_unit_test(test_valid_redefinition_look_alikes),
        cmocka_unit_test(test_error_messages_use_the_filename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
