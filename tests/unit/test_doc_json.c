/* test_doc_json.c - the documents' shared JSON rules (doc/json.h): strings
 * that are not UTF-8 keep their key, reals carry no binary noise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doc/json.h"

static void check_string(json_t *j, const char *want)
{
    assert_non_null(j);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), want);
    json_decref(j);
}

static void test_valid_utf8_is_kept_byte_for_byte(void **state)
{
    (void)state;
    check_string(doc_json_str("python3 train.py --lr=0.1 \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
                 "python3 train.py --lr=0.1 \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

static void test_each_invalid_byte_becomes_one_replacement_character(void **state)
{
    (void)state;
    check_string(doc_json_str("gpu\xFF" "bad"), "gpu\xEF\xBF\xBD" "bad");
    /* a truncated sequence, an overlong form and a surrogate */
    check_string(doc_json_str("a\xC3"), "a\xEF\xBF\xBD");
    check_string(doc_json_str("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    check_string(doc_json_str("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void test_embedded_nul_in_a_buffer_is_replaced_not_cut(void **state)
{
    (void)state;
    check_string(doc_json_stringn("a\0b", 3), "a\xEF\xBF\xBD" "b");
}

static void test_str_maps_empty_to_null_but_text_keeps_it(void **state)
{
    (void)state;
    json_t *j = doc_json_str("");
    assert_true(json_is_null(j));
    json_decref(j);
    j = doc_json_str(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
    check_string(doc_json_text(""), "");
    j = doc_json_text(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
}

static void test_utf8_validity(void **state)
{
    (void)state;
    assert_true(doc_json_utf8_valid("", 0));
    assert_true(doc_json_utf8_valid("\xE2\x82\xAC", 3));
    assert_false(doc_json_utf8_valid("\xE2\x82", 2));
    assert_false(doc_json_utf8_valid("a\0", 2));
}

static void test_round_to_precision(void **state)
{
    (void)state;
    assert_true(doc_json_round(0.5800000000000001, 2) == 0.58);
    assert_true(doc_json_round(412.3449, 3) == 412.345);
    assert_true(doc_json_round(12.345, 0) == 12.0);
    assert_true(doc_json_round(-0.001, 2) == 0.0);
    assert_false(signbit(doc_json_round(-0.001, 2)));
    assert_true(doc_json_round(1.23456, -1) == 1.23456);
    assert_true(doc_json_round(1e300, 2) == 1e300);
}

static void check_dump(json_t *j, const char *want)
{
    char *s = json_dumps(j, doc_json_dump_flags(true));
    json_decref(j);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void test_documents_print_reals_without_noise(void **state)
{
    (void)state;
    json_t *a = json_array();
    json_array_append_new(a, doc_json_real(0.58, 2));
    json_array_append_new(a, doc_json_real(0.1 + 0.2, 2));
    json_array_append_new(a, doc_json_real(87.0, 2));
    json_array_append_new(a, doc_json_real(NAN, 2));
    json_array_append_new(a, doc_json_real(INFINITY, 2));
    check_dump(a, "[0.58,0.3,87.0,null,null]");
}

/* doc_json_dumps must write what json_dumps writes with the documents'
 * flags, byte for byte, compact and indented. */
static void assert_dumps_like_jansson(json_t *doc)
{
    for (int compact = 0; compact <= 1; compact++) {
        char *want = json_dumps(doc, doc_json_dump_flags(compact));
        size_t len = 0;
        char *got = doc_json_dumps(doc, compact, &len);
        assert_non_null(want);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(want);
        free(got);
    }
    json_decref(doc);
}

static void test_dump_matches_jansson_for_every_kind_of_value(void **state)
{
    (void)state;
    json_t *inner = json_pack("{s:[], s:{}, s:[i, {s:n}], s:b, s:b}", "empty_array",
                              "empty_object", "nested", 1, "k", "t", 1, "f", 0);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:[s, s]}", "plain", "abc",
                            "escapes", "q\" b\\ \b\f\n\r\t \x01\x1f\x7f / \xC3\xA9",
                            "zero", (json_int_t)0, "min", (json_int_t)INT64_MIN,
                            "max", (json_int_t)INT64_MAX, "inner", inner,
                            "list", "", "\xF0\x9F\x98\x80");
    json_object_set_new(doc, "key \"quoted\"\n", json_null());
    json_object_set_new(doc, "nul", json_stringn("a\0b", 3));
    assert_dumps_like_jansson(doc);
    assert_dumps_like_jansson(json_array());
    assert_dumps_like_jansson(json_pack("[[[]], [{}], [i, [i, [i]]]]", 1, 2, 3));
}

static void test_dump_matches_jansson_for_reals(void **state)
{
    (void)state;
    static const double fixed[] = {
        0.0, -0.0, 1.0, -1.0, 0.5, 0.58, 0.1, 0.0001, 0.00012, 0.00009999, 1e-5, 1e-7,
        12.34, -12.345, 99.99, 100.0, 1e14, 999999999999999.0, 1e15, 1e16, 1e21, 1e300,
        -1e-300, 4.9e-324, 123456.789012, 0.1234567, 1234567.1234567, 3.141592653589793,
        2.5e-4, 5e-324, 1.7976931348623157e308, 0.30000000000000004, 1e15 - 0.5, 9.5e14,
    };
    json_t *doc = json_array();
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        json_array_append_new(doc, json_real(fixed[i]));
    /* figures as documents hold them (rounded to 0..6 decimals) and raw
     * doubles of every magnitude */
    srand(13);
    for (int i = 0; i < 20000; i++) {
        double mag = pow(10, rand() % 40 - 20);
        double v = (double)rand() / RAND_MAX * mag * (rand() % 2 ? 1 : -1);
        json_array_append_new(doc, json_real(v));
        json_array_append_new(doc, json_real(doc_json_round(v, rand() % 7)));
    }
    assert_dumps_like_jansson(doc);
}

static void test_unknown_optionals_are_null(void **state)
{
    (void)state;
    json_t *a = json_array();
    json_array_append_new(a, doc_json_u64((struct opt_u64){0}));
    json_array_append_new(a, doc_json_i64((struct opt_i64){0}));
    json_array_append_new(a, doc_json_f64((struct opt_f64){0}, 2));
    json_array_append_new(a, doc_json_bool((struct opt_i64){0}));
    json_array_append_new(a, doc_json_time((struct opt_f64){0}));
    json_array_append_new(a, doc_json_u64((struct opt_u64){.v = 7, .known = true}));
    json_array_append_new(a, doc_json_i64((struct opt_i64){.v = -3, .known = true}));
    json_array_append_new(a, doc_json_f64((struct opt_f64){.v = 2.25, .known = true}, 1));
    json_array_append_new(a, doc_json_bool((struct opt_i64){.v = 2, .known = true}));
    json_array_append_new(a, doc_json_time((struct opt_f64){.v = 0, .known = true}));
    check_dump(a, "[null,null,null,null,null,7,-3,2.3,true,\"1970-01-01T00:00:00Z\"]");
}

static void test_put_skips_a_missing_value(void **state)
{
    (void)state;
    json_t *o = json_object();
    doc_json_put(o, "a", NULL);
    doc_json_put(o, "b", json_integer(1));
    check_dump(o, "{\"b\":1}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_utf8_is_kept_byte_for_byte),
        cmocka_unit_test(test_each_invalid_byte_becomes_one_replacement_character),
        cmocka_unit_test(test_embedded_nul_in_a_buffer_is_replaced_not_cut),
        cmocka_unit_test(test_str_maps_empty_to_null_but_text_keeps_it),
        cmocka_unit_test(test_utf8_validity),
        cmocka_unit_test(test_round_to_precision),
        cmocka_unit_test(test_documents_print_reals_without_noise),
        cmocka_unit_test(test_unknown_optionals_are_null),
        cmocka_unit_test(test_put_skips_a_missing_value),
        cmocka_unit_test(test_dump_matches_jansson_for_every_kind_of_value),
        cmocka_unit_test(test_dump_matches_jansson_for_reals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
