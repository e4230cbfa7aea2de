/* Unit tests: the comparison document (doc/compare_doc.c) - the verdict,
 * the rows in order with their kind, a group on one side only (null on the
 * other, no delta), and the methods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "doc/compare_doc.h"

static struct compare_row rows[3];
static struct compare_result result;

/* The total regressed by 25 %; group "python" grew 10 %; group "nccl"
 * exists only in the candidate. */
static int setup(void **state)
{
    (void)state;
    memset(rows, 0, sizeof rows);
    rows[0] = (struct compare_row){.kind = COMPARE_METRIC, .name = "max_total_rss_kib",
                                   .base = {1000, true}, .candidate = {1250, true},
                                   .delta_pct = {25, true}, .gated = true, .regression = true};
    rows[1] = (struct compare_row){.kind = COMPARE_GROUP, .name = "python",
                                   .base = {800, true}, .candidate = {880, true},
                                   .delta_pct = {10, true}, .gated = true};
    rows[2] = (struct compare_row){.kind = COMPARE_GROUP, .name = "nccl",
                                   .candidate = {64, true}};
    result = (struct compare_result){.rows = rows, .count = 3, .threshold_pct = 15,
                                     .regression = true, .base_method = "cgroup_v2",
                                     .candidate_method = "cgroup_v2"};
    return 0;
}

static json_t *build(void)
{
    struct error e = {0};
    json_t *doc = doc_compare_build(&result, &e);
    assert_non_null(doc);
    return doc;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void test_the_verdict_and_threshold_come_before_the_rows(void **state)
{
    (void)state;
    json_t *doc = build();
    const char *keys[] = {"threshold_pct", "regression", "base_method", "candidate_method",
                          "rows"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
        assert_string_equal(key, keys[i++]);
    assert_int_equal(i, 5);
    assert_true(json_is_true(json_object_get(doc, "regression")));
    assert_true(json_real_value(json_object_get(doc, "threshold_pct")) == 15.0);
    assert_string_equal(json_string_value(json_object_get(doc, "base_method")), "cgroup_v2");
    json_decref(doc);
}

static void test_a_gated_metric_row_is_described_whole(void **state)
{
    (void)state;
    json_t *doc = build();
    char *text = dump(json_array_get(json_object_get(doc, "rows"), 0));
    assert_string_equal(text,
        "{\"kind\":\"metric\",\"name\":\"max_total_rss_kib\",\"base\":1000.0,"
        "\"candidate\":1250.0,\"delta_pct\":25.0,\"gated\":true,\"regression\":true}");
    free(text);
    json_decref(doc);
}

static void test_a_group_on_one_side_only_has_nulls_and_no_verdict(void **state)
{
    (void)state;
    json_t *doc = build();
    json_t *rowsj = json_object_get(doc, "rows");
    assert_int_equal(json_array_size(rowsj), 3);
    char *text = dump(json_array_get(rowsj, 2));
    assert_string_equal(text,
        "{\"kind\":\"group\",\"name\":\"nccl\",\"base\":null,\"candidate\":64.0,"
        "\"delta_pct\":null,\"gated\":false,\"regression\":false}");
    free(text);
    json_decref(doc);
}

static void test_unknown_methods_are_null(void **state)
{
    (void)state;
    result.base_method[0] = '\0';
    json_t *doc = build();
    assert_true(json_is_null(json_object_get(doc, "base_method")));
    json_decref(doc);
}

static void test_no_rows_gives_an_empty_array_and_no_regression(void **state)
{
    (void)state;
    result.count = 0;
    result.regression = false;
    json_t *doc = build();
    assert_int_equal(json_array_size(json_object_get(doc, "rows")), 0);
    assert_true(json_is_false(json_object_get(doc, "regression")));
    json_decref(doc);
}

#define T(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_the_verdict_and_threshold_come_before_the_rows),
        T(test_a_gated_metric_row_is_described_whole),
        T(test_a_group_on_one_side_only_has_nulls_and_no_verdict),
        T(test_unknown_methods_are_null),
        T(test_no_rows_gives_an_empty_array_and_no_regression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
