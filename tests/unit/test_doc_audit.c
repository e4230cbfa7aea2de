/* Unit tests: the audit documents (doc/audit_doc.c) - reals kept to 10
 * significant digits as the audit output always printed them, unknowns
 * null, a command line that is not UTF-8 keeping its key, the head of the
 * records document, and times clamped to four-digit years. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "doc/audit_doc.h"
#include "doc/json.h"

static char *dump(const json_t *j)
{
    return json_dumps(j, doc_json_dump_flags(true));
}

static void test_summary_reals_keep_ten_significant_digits(void **state)
{
    (void)state;
    struct audit_usage user = {.key = "alice", .rows = 3,
                               .gpu_mem_gib_hours = 2.4479166666666667e-6,
                               .sm_pct_hours = 1.0 / 3.0,
                               .peak_mem_bytes = {67108864, true}};
    struct audit_summary s = {.from_ms = 0, .to_ms = 3600000, .samples = 3, .proc_rows = 3,
                              .users = &user, .user_count = 1};
    for (int h = 0; h < 24; h++)
        s.hours[h].hour = h;
    struct error e = {0};
    json_t *doc = doc_audit_summary_build(&s, &e);
    assert_non_null(doc);
    char *text = dump(json_array_get(json_object_get(doc, "top_users"), 0));
    assert_string_equal(text, "{\"user\":\"alice\",\"rows\":3,"
                              "\"gpu_memory_gib_hours\":2.447916667e-6,"
                              "\"sm_pct_hours\":0.3333333333,\"peak_memory_bytes\":67108864}");
    free(text);
    assert_int_equal(json_array_size(json_object_get(doc, "hourly")), 24);
    assert_true(json_is_null(json_object_get(doc, "first")));
    assert_string_equal(json_string_value(json_object_get(doc, "to")),
                        "1970-01-01T01:00:00.000Z");
    json_decref(doc);
}

static void test_a_process_record_keeps_a_command_line_that_is_not_utf8(void **state)
{
    (void)state;
    struct audit_proc_record r = {.time_ms = 1250, .host = "node1", .gpu_index = 1, .pid = 77,
                                  .user = "", .name = "train", .cmdline = "train \xff",
                                  .container = "", .sm_pct = {12.5, true}};
    struct error e = {0};
    json_t *o = doc_audit_proc_record(&r, &e);
    assert_non_null(o);
    char *text = dump(o);
    assert_string_equal(text, "{\"time\":\"1970-01-01T00:00:01.250Z\",\"host\":\"node1\","
                              "\"gpu\":1,\"pid\":77,\"start_time\":null,\"user\":null,"
                              "\"name\":\"train\",\"command\":\"train \xef\xbf\xbd\","
                              "\"container\":null,\"gpu_memory_bytes\":null,\"sm_pct\":12.5}");
    free(text);
    json_decref(o);
}

static void test_a_gpu_record_shows_power_in_watts(void **state)
{
    (void)state;
    struct audit_gpu_record r = {.time_ms = 0, .host = "node1", .uuid = "", .name = "",
                                 .vendor = VENDOR_UNKNOWN, .power_mw = {70123, true},
                                 .temp_c = {41, true}};
    struct error e = {0};
    json_t *o = doc_audit_gpu_record(&r, &e);
    assert_non_null(o);
    assert_true(json_is_null(json_object_get(o, "vendor")));
    assert_true(json_is_null(json_object_get(o, "uuid")));
    assert_true(json_real_value(json_object_get(o, "power_w")) == 70.123);
    assert_int_equal(json_integer_value(json_object_get(o, "temperature_c")), 41);
    json_decref(o);
}

static void test_the_head_names_the_window_and_the_filter(void **state)
{
    (void)state;
    struct audit_filter f = {.from_ms = -1000, .to_ms = INT64_MAX / 2, .user = "bob"};
    struct doc_audit_query_request r = {.filter = &f, .database = NULL, .gpus = true};
    struct error e = {0};
    json_t *head = doc_audit_query_head(&r, &e);
    assert_non_null(head);
    char *text = dump(head);
    assert_string_equal(text, "{\"database\":null,\"from\":\"1969-12-31T23:59:59.000Z\","
                              "\"to\":\"9999-12-31T23:59:59.999Z\",\"user\":\"bob\","
                              "\"process\":null}");
    free(text);
    assert_string_equal(doc_audit_query_key(&r), "gpus");
    json_decref(head);
}

static void test_without_a_database_the_whole_document_has_no_records(void **state)
{
    (void)state;
    struct audit_filter f = {.from_ms = 0, .to_ms = 1000};
    struct doc_audit_query_request r = {.filter = &f};
    struct error e = {0};
    json_t *doc = doc_audit_query_build(NULL, &r, &e);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "processes")), 0);
    assert_int_equal(json_object_size(doc), 6);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_reals_keep_ten_significant_digits),
        cmocka_unit_test(test_a_process_record_keeps_a_command_line_that_is_not_utf8),
        cmocka_unit_test(test_a_gpu_record_shows_power_in_watts),
        cmocka_unit_test(test_the_head_names_the_window_and_the_filter),
        cmocka_unit_test(test_without_a_database_the_whole_document_has_no_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
