/* test_audit_jsonl.c - the parser of gpu-kill's audit.jsonl lines: time
 * forms, GPU and process records, what gpu-kill's invented zeros become,
 * gpuctl's own fields, and the reason given for each kind of bad line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store/audit.h"

#define MIB (UINT64_C(1) << 20)

static int parse(const char *text, struct audit_jsonl_record *r, struct error *e)
{
    memset(e, 0, sizeof *e);
    return audit_jsonl_parse(text, strlen(text), r, e);
}

static int64_t time_of(const char *ts)
{
    char line[256];
    snprintf(line, sizeof line, "{\"timestamp\":\"%s\",\"gpu_index\":0}", ts);
    struct audit_jsonl_record r;
    struct error e;
    int rc = parse(line, &r, &e);
    audit_jsonl_record_clear(&r);
    return rc == 0 ? r.time_ms : -1;
}

static void test_times(void **state)
{
    (void)state;
    assert_int_equal(time_of("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(time_of("2024-01-24T00:00:00Z"), INT64_C(1706054400000));
    /* chrono writes nanoseconds; milliseconds are kept, the rest dropped */
    assert_int_equal(time_of("2024-01-24T00:00:00.123456789Z"), INT64_C(1706054400123));
    assert_int_equal(time_of("2024-01-24T00:00:00.5Z"), INT64_C(1706054400500));
    assert_int_equal(time_of("2024-01-24T05:30:00+05:30"), INT64_C(1706054400000));
    assert_int_equal(time_of("2024-01-23T23:00:00-01:00"), INT64_C(1706054400000));
    assert_int_equal(time_of("2024-02-29T00:00:00z"), INT64_C(1709164800000));
    assert_int_equal(time_of("2016-12-31T23:59:60Z"), INT64_C(1483228799000));
    assert_int_equal(time_of("2023-02-29T00:00:00Z"), -1);   /* not a leap year */
    assert_int_equal(time_of("2024-13-01T00:00:00Z"), -1);
    assert_int_equal(time_of("2024-01-01T24:00:00Z"), -1);
    assert_int_equal(time_of("2024-01-01T00:00:00"), -1);    /* no zone */
    assert_int_equal(time_of("2024-01-01 00:00:00Z"), -1);
    assert_int_equal(time_of("2024-01-01T00:00:00.Z"), -1);
    assert_int_equal(time_of("2024-01-01T00:00:00+0530"), -1);
    assert_int_equal(time_of("1706054400"), -1);
}

static void test_gpu_record(void **state)
{
    (void)state;
    struct audit_jsonl_record r;
    struct error e;
    assert_int_equal(parse("{\"id\":1,\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":2,"
                           "\"gpu_name\":\"NVIDIA H100\",\"pid\":null,\"user\":null,"
                           "\"process_name\":null,\"memory_used_mb\":2048,"
                           "\"utilization_pct\":35.5,\"temperature_c\":61,\"power_w\":180.25,"
                           "\"container\":null}\r\n", &r, &e), 0);
    assert_false(r.is_process);
    assert_int_equal(r.gpu_index, 2);
    assert_string_equal(r.gpu_name, "NVIDIA H100");
    assert_int_equal(r.mem_bytes.v, 2048 * MIB);
    assert_true(r.util_pct.known);
    assert_true(r.util_pct.v == 35.5);
    assert_int_equal(r.temp_c.v, 61);
    assert_int_equal(r.power_mw.v, 180250);
    assert_string_equal(r.host, "");
    audit_jsonl_record_clear(&r);

    assert_int_equal(parse("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,"
                           "\"utilization_pct\":null}", &r, &e), 0);
    assert_false(r.util_pct.known);      /* null and missing: unknown */
    assert_false(r.mem_bytes.known);
    assert_false(r.temp_c.known);
    audit_jsonl_record_clear(&r);
}

static void test_process_record(void **state)
{
    (void)state;
    struct audit_jsonl_record r;
    struct error e;
    assert_int_equal(parse("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,"
                           "\"pid\":12345,\"user\":\"alice\",\"process_name\":\"python\","
                           "\"memory_used_mb\":1024,\"utilization_pct\":0.0,"
                           "\"temperature_c\":0,\"power_w\":0.0,"
                           "\"container\":\"docker:3f2a\"}", &r, &e), 0);
    assert_true(r.is_process);
    assert_int_equal(r.pid, 12345);
    assert_string_equal(r.user, "alice");
    assert_string_equal(r.process_name, "python");
    assert_string_equal(r.container, "docker:3f2a");
    assert_int_equal(r.mem_bytes.v, 1024 * MIB);
    /* gpu-kill's zeros on a process record were never measured */
    assert_false(r.util_pct.known);
    assert_false(r.temp_c.known);
    assert_false(r.power_mw.known);
    assert_null(r.command);
    audit_jsonl_record_clear(&r);

    assert_int_equal(parse("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":1,"
                           "\"pid\":7,\"host\":\"node7\",\"gpu_uuid\":\"GPU-1\","
                           "\"start_time\":1700000000,\"command\":\"python train.py\","
                           "\"sm_pct\":81}", &r, &e), 0);
    assert_string_equal(r.host, "node7");
    assert_string_equal(r.gpu_uuid, "GPU-1");
    assert_int_equal(r.start_time_s.v, 1700000000);
    assert_string_equal(r.command, "python train.py");
    assert_true(r.util_pct.known);
    assert_true(r.util_pct.v == 81);
    audit_jsonl_record_clear(&r);
    audit_jsonl_record_clear(&r);        /* twice is fine */
    audit_jsonl_record_clear(NULL);
}

static void expect_bad(const char *line, const char *reason)
{
    struct audit_jsonl_record r;
    struct error e;
    assert_int_equal(parse(line, &r, &e), -ERROR_PARSE);
    if (!strstr(e.msg, reason))
        fail_msg("'%s': reason '%s' lacks '%s'", line, e.msg, reason);
    audit_jsonl_record_clear(&r);
}

static void test_bad_lines(void **state)
{
    (void)state;
    expect_bad("{not json", "not JSON");
    expect_bad("", "not JSON");
    expect_bad("[1,2]", "not a JSON object");
    expect_bad("{\"gpu_index\":0}", "no \"timestamp\"");
    expect_bad("{\"timestamp\":5,\"gpu_index\":0}", "\"timestamp\"");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\"}", "no \"gpu_index\"");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":-1}", "gpu_index");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":1.5}", "gpu_index");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"pid\":0}", "pid");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"pid\":\"7\"}", "pid");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,"
               "\"memory_used_mb\":-1}", "memory_used_mb");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,"
               "\"utilization_pct\":101}", "utilization_pct");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"pid\":3,"
               "\"user\":5}", "user");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"pid\":3,"
               "\"start_time\":1.5}", "start_time");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"id\":\"x\"}", "id");
    expect_bad("{\"timestamp\":\"2024-01-24T00:00:00Z\",\"gpu_index\":0,\"gpu_index\":1}",
               "not JSON");   /* a duplicate key is refused, not guessed */
}

/* gpu-kill's `--audit --output json`: one array, pretty-printed. */
static void test_array_elements(void **state)
{
    (void)state;
    const char doc[] = " [\n  {\"a\": [1, 2]},\n  {\"b\": \"]\"}\n]\n";
    size_t pos = 0, start = 0, len = 0;
    struct error e = {0};
    assert_int_equal(audit_json_array_next(doc, strlen(doc), &pos, &start, &len, &e), 1);
    assert_memory_equal(doc + start, "{\"a\": [1, 2]}", len);
    assert_int_equal(audit_json_array_next(doc, strlen(doc), &pos, &start, &len, &e), 1);
    assert_memory_equal(doc + start, "{\"b\": \"]\"}", len);
    assert_int_equal(audit_json_array_next(doc, strlen(doc), &pos, &start, &len, &e), 0);

    pos = 0;
    assert_int_equal(audit_json_array_next("[]", 2, &pos, &start, &len, &e), 0);
    const char *bad[] = {"{}", "[{} {}]", "[{}] x", "[{\"a\": }]", "[{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        pos = 0;
        while ((rc = audit_json_array_next(bad[i], strlen(bad[i]), &pos, &start, &len, &e)) == 1)
            ;
        assert_int_equal(rc, -ERROR_PARSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_gpu_record),
        cmocka_unit_test(test_process_record),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_array_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
