/* test_plot.c - what `gpuctl plot` decides before drawing: the input
 * format from a header, timestamps, the time and value ticks, and the
 * series a log becomes (per process, per GPU, sub-second samples,
 * malformed rows counted, empty and unrecognised files refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plot/plot.h"

static void use_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* ---- detection ---- */

static bool detect(const char *header, struct plot_columns *c)
{
    char buf[512];
    const char *fields[32];
    size_t n = 0;
    strcpy(buf, header);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        fields[n++] = tok;
    return plot_detect(fields, n, c);
}

static void test_detect_formats(void **state)
{
    (void)state;
    struct plot_columns c;
    assert_true(detect("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct", &c));
    assert_int_equal(c.input, PLOT_INPUT_WATCH);
    assert_int_equal(c.sys_used, -1);
    assert_true(detect("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
                       "sys_used_mib,cpu_cores,cpu_pct,host_rss_mib", &c));
    assert_int_equal(c.input, PLOT_INPUT_WATCH_EXTENDED);
    assert_int_equal(c.sys_used, 7);
    assert_int_equal(c.cpu_pct, 9);

    assert_true(detect("timestamp,used_mib", &c));
    assert_int_equal(c.input, PLOT_INPUT_HELPER);
    assert_int_equal(c.sys_used, -1);
    assert_true(detect("timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct", &c));
    assert_int_equal(c.sys_used, 2);
    assert_int_equal(c.cpu_pct, 4);
    assert_true(detect("timestamp,used_mib,cpu_pct", &c));
    assert_int_equal(c.sys_used, -1);
    assert_int_equal(c.cpu_pct, 2);
    assert_true(detect("timestamp,used_mib,cpu_cores", &c));

    assert_true(detect("timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count", &c));
    assert_int_equal(c.input, PLOT_INPUT_TIMELINE);
    assert_int_equal(c.gpu_mem, -1);
    assert_true(detect("timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count,"
                       "gpu_mem_mib", &c));
    assert_int_equal(c.gpu_mem, 5);
}

static void test_detect_refuses(void **state)
{
    (void)state;
    struct plot_columns c;
    assert_false(detect("timestamp,used_mib,cpu_pct,sys_used_mib", &c));     /* order */
    assert_false(detect("timestamp,used_mib,sys_used_mib,sys_used_mib", &c)); /* twice */
    assert_false(detect("timestamp,used_mib,temperature", &c));
    assert_false(detect("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct", &c));
    assert_false(detect("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
                        "sys_used_mib", &c));
    assert_false(detect("time,used_mib", &c));
    assert_false(detect("timestamp", &c));
    assert_false(detect("index, name, memory.used [MiB]", &c));
}

/* ---- time ---- */

static void test_parse_time(void **state)
{
    (void)state;
    double t;
    use_tz("UTC");
    assert_true(plot_parse_time("2025-01-10T14:22:30", &t));
    assert_true(t == 1736518950.0);
    assert_true(plot_parse_time("2025-01-10 14:22:30", &t));
    assert_true(t == 1736518950.0);
    assert_true(plot_parse_time("2025-01-10T14:22:30.25Z", &t));
    assert_true(t == 1736518950.25);
    assert_true(plot_parse_time("2025-01-10T15:22:30+01:00", &t));
    assert_true(t == 1736518950.0);
    assert_true(plot_parse_time("1736518950.5", &t));
    assert_true(t == 1736518950.5);
    use_tz("IST-5:30");   /* local time is what watch writes */
    assert_true(plot_parse_time("2025-01-10T19:52:30", &t));
    assert_true(t == 1736518950.0);
    assert_true(plot_parse_time("2025-01-10T14:22:30Z", &t));
    assert_true(t == 1736518950.0);
    use_tz("UTC");
    assert_false(plot_parse_time("2025-13-10T14:22:30", &t));
    assert_false(plot_parse_time("2025-01-10T14:22", &t));
    assert_false(plot_parse_time("2025-01-10T14:22:30 UTC", &t));
    assert_false(plot_parse_time("2025-01-10T14:22:30+1", &t));
    assert_false(plot_parse_time("yesterday", &t));
    assert_false(plot_parse_time("", &t));
    assert_false(plot_parse_time("-5", &t));
}

static void test_time_ticks_minutes(void **state)
{
    (void)state;
    use_tz("UTC");
    struct plot_tick t[PLOT_MAX_TICKS];
    double t0 = 1736518950;   /* 14:22:30 */
    size_t n = plot_time_ticks(t0, t0 + 600, 6, t);
    assert_int_equal(n, 5);   /* every 2 min: 14:24 ... 14:32 */
    assert_string_equal(t[0].label, "14:24");
    assert_string_equal(t[4].label, "14:32");
    assert_true(t[1].v - t[0].v == 120);
    for (size_t i = 0; i < n; i++)
        assert_true(t[i].v >= t0 && t[i].v <= t0 + 600);
}

static void test_time_ticks_seconds_and_days(void **state)
{
    (void)state;
    use_tz("UTC");
    struct plot_tick t[PLOT_MAX_TICKS];
    double t0 = 1736518950;
    size_t n = plot_time_ticks(t0, t0 + 30, 7, t);
    assert_int_equal(n, 7);   /* every 5 s */
    assert_string_equal(t[0].label, "14:22:30");
    assert_string_equal(t[1].label, "14:22:35");

    n = plot_time_ticks(t0, t0 + 2 * 86400, 10, t);   /* crosses days: date shown */
    assert_string_equal(t[0].label, "01-10 18:00");
    assert_string_equal(t[1].label, "01-11 00:00");

    n = plot_time_ticks(t0, t0 + 30 * 86400, 6, t);
    assert_true(n <= 6 && n >= 2);
    assert_int_equal(strlen(t[0].label), 5);          /* MM-DD */
    assert_true(t[1].v - t[0].v >= 7 * 86400);
}

static void test_time_ticks_local_round_hours(void **state)
{
    (void)state;
    use_tz("IST-5:30");
    struct plot_tick t[PLOT_MAX_TICKS];
    double t0 = 1736518950;   /* 19:52:30 local */
    size_t n = plot_time_ticks(t0, t0 + 3 * 3600, 4, t);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].label, "20:00");
    assert_string_equal(t[1].label, "21:00");
    use_tz("UTC");
}

static void test_time_ticks_limits(void **state)
{
    (void)state;
    use_tz("UTC");
    struct plot_tick t[PLOT_MAX_TICKS];
    for (size_t max = 1; max <= 40; max++) {
        size_t n = plot_time_ticks(1736518950, 1736518950 + 7777, max, t);
        assert_true(n <= max && n <= PLOT_MAX_TICKS);
    }
}

static void test_value_ticks(void **state)
{
    (void)state;
    struct plot_tick t[PLOT_MAX_TICKS];
    double top;
    size_t n = plot_value_ticks(1234, 5, &top, t);
    assert_true(top == 1500);
    assert_int_equal(n, 4);
    assert_string_equal(t[0].label, "0");
    assert_string_equal(t[3].label, "1500");
    n = plot_value_ticks(0, 5, &top, t);           /* nothing: still an axis */
    assert_true(top == 1);
    n = plot_value_ticks(0.37, 4, &top, t);
    assert_true(top > 0.37 && top <= 0.5);
    assert_string_equal(t[1].label, "0.1");
    n = plot_value_ticks(100, 5, &top, t);          /* a round top stays */
    assert_true(top == 100);
    assert_string_equal(t[n - 1].label, "100");
}

/* ---- data ---- */

static const char watch_log[] =
    "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\r\n"
    "2025-01-10T14:22:30,0,100,python a.py,1000,50,10\r\n"
    "2025-01-10T14:22:30,1,100,python a.py,500,,\r\n"
    "2025-01-10T14:22:30,1,200,python b.py,300,,\r\n"
    "2025-01-10T14:23:00,0,100,python a.py,1100,50,10\r\n"
    "2025-01-10T14:23:00,1,100,python a.py,bad,,\r\n"
    "2025-01-10T14:23:00,1,200\r\n"
    "2025-01-10T14:23:00,1,200,python b.py,,,\r\n"
    "not a time,1,200,python b.py,1,,\r\n";

static const struct plot_series *find(const struct plot_data *d, const char *label)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->series[i].label, label) == 0)
            return &d->series[i];
    return NULL;
}

static void test_watch_log_per_process(void **state)
{
    (void)state;
    use_tz("UTC");
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "w.csv", watch_log, strlen(watch_log), &o, &e), 0);
    assert_int_equal(d.malformed, 3);
    assert_string_equal(d.first_malformed, "w.csv:6: a value is not a number");
    const struct plot_series *a = find(&d, "100 python a.py"), *b = find(&d, "200 python b.py");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->count, 2);
    assert_true(a->pts[0].v == 1500);   /* both GPUs summed */
    assert_true(a->pts[1].v == 1100);
    assert_int_equal(b->count, 1);      /* the empty value is a gap */
    assert_false(plot_data_has_panel(&d, PLOT_SYS_MEM));
    assert_false(plot_data_has_panel(&d, PLOT_CPU));
    plot_data_free(&d);
}

static void test_watch_log_per_gpu_and_pid(void **state)
{
    (void)state;
    use_tz("UTC");
    struct plot_data d = {0};
    struct plot_options o = {.per_gpu = true};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "w.csv", watch_log, strlen(watch_log), &o, &e), 0);
    assert_int_equal(d.count, 2);
    const struct plot_series *g1 = find(&d, "GPU 1");
    assert_non_null(g1);
    assert_true(g1->pts[0].v == 800);
    plot_data_free(&d);

    pid_t only = 200;
    struct plot_options by_pid = {.pid_count = 1, .pids = &only};
    assert_int_equal(plot_data_add(&d, "w.csv", watch_log, strlen(watch_log), &by_pid, &e), 0);
    assert_int_equal(d.count, 1);
    assert_non_null(find(&d, "200 python b.py"));
    plot_data_free(&d);
}

static void test_samples_within_one_second(void **state)
{
    (void)state;
    static const char log[] =
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
        "2025-01-10T14:22:30,0,100,x,10,,\n"
        "2025-01-10T14:22:30,1,100,x,5,,\n"
        "2025-01-10T14:22:30,0,100,x,20,,\n"   /* the same process again: a new sample */
        "2025-01-10T14:22:30,1,100,x,5,,\n";
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "w.csv", log, strlen(log), &o, &e), 0);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.series[0].count, 2);
    assert_true(d.series[0].pts[0].v == 15);
    assert_true(d.series[0].pts[1].v == 25);
    plot_data_free(&d);
}

/* Thousands of processes in one sample: each gets its own series and each
 * second sample its second point (the series and the pairs of a sample are
 * found through hashes that grow many times on the way). */
static void test_many_processes_each_get_their_series(void **state)
{
    (void)state;
    enum { PIDS = 5000 };
    size_t cap = 64 + 2 * PIDS * 48, len = 0;
    char *log = malloc(cap);
    assert_non_null(log);
    len += (size_t)snprintf(log + len, cap - len,
                            "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n");
    for (int t = 0; t < 2; t++)
        for (int p = 1; p <= PIDS; p++)
            len += (size_t)snprintf(log + len, cap - len, "2025-01-10T14:22:3%d,%d,%d,w,%d,,\n",
                                    t, p % 3, p, p + t);
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "w.csv", log, len, &o, &e), 0);
    assert_int_equal(d.count, PIDS);
    for (size_t i = 0; i < d.count; i++) {
        assert_int_equal(d.series[i].count, 2);
        assert_true(d.series[i].pts[1].v == d.series[i].pid + 1);
    }
    plot_data_free(&d);
    free(log);
}

static void test_extended_helper_timeline(void **state)
{
    (void)state;
    static const char ext[] =
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,sys_used_mib,"
        "cpu_cores,cpu_pct,host_rss_mib\n"
        "2025-01-10T14:22:30,0,100,x,10,,,4000,1/2,150.5,300\n"
        "2025-01-10T14:22:30,1,200,y,10,,,4000,3,20,100\n"
        "2025-01-10T14:23:30,0,100,x,10,,,4100,1/2,99,300\n";
    static const char helper[] = "timestamp,used_mib,sys_used_mib\n2025-01-10T14:22:30,10,20\n";
    static const char timeline[] =
        "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count,gpu_mem_mib\n"
        "2025-01-10T14:22:30Z,0.0,1024,1.0,1,\n2025-01-10T14:22:31Z,1.0,2048,2.0,2,512\n";
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "e.csv", ext, strlen(ext), &o, &e), 0);
    const struct plot_series *sys = find(&d, "system RAM used");
    assert_non_null(sys);
    assert_int_equal(sys->count, 2);    /* once per sample, not per row */
    assert_true(plot_data_has_panel(&d, PLOT_CPU));
    assert_true(plot_panel_max(&d, PLOT_CPU) == 150.5);
    assert_int_equal(plot_data_add(&d, "h.csv", helper, strlen(helper), &o, &e), 0);
    assert_int_equal(plot_data_add(&d, "t.csv", timeline, strlen(timeline), &o, &e), 0);
    assert_int_equal(d.files, 3);
    const struct plot_series *rss = find(&d, "job RSS"), *gpu = find(&d, "job GPU memory");
    assert_non_null(rss);
    assert_int_equal(rss->panel, PLOT_SYS_MEM);
    assert_int_equal(rss->count, 2);
    assert_non_null(gpu);
    assert_int_equal(gpu->count, 1);
    const char *names[] = {"dir/e.csv", "h.csv", "t.csv"};
    plot_data_finish(&d, names);
    assert_non_null(find(&d, "e.csv: system RAM used"));
    assert_non_null(find(&d, "h.csv: GPU memory used"));
    assert_int_equal(d.malformed, 0);
    plot_data_free(&d);
}

static void test_gaps(void **state)
{
    (void)state;
    use_tz("UTC");
    static const char log[] =
        "timestamp,used_mib\n"
        "2025-01-10T14:00:00,1\n2025-01-10T14:00:30,1\n2025-01-10T14:01:00,1\n"
        "2025-01-10T14:01:30,1\n"
        "2025-01-10T18:00:00,1\n2025-01-10T18:00:30,1\n";   /* resumed hours later */
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "g.csv", log, strlen(log), &o, &e), 0);
    plot_data_finish(&d, (const char *[]){"g.csv"});
    const struct plot_series *s = &d.series[0];
    assert_true(s->gap_s == 90);
    for (size_t i = 0; i < s->count; i++)
        assert_int_equal(plot_series_gap(s, i), i == 4);
    plot_data_free(&d);
}

static void test_refused_files(void **state)
{
    (void)state;
    struct plot_data d = {0};
    struct plot_options o = {0};
    struct error e = {0};
    assert_int_equal(plot_data_add(&d, "empty.csv", "", 0, &o, &e), -ERROR_PARSE);
    assert_string_equal(e.msg, "empty.csv:1: the file is empty");
    assert_int_equal(plot_data_add(&d, "blank.csv", "\n\n", 2, &o, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "blank.csv:"));
    static const char other[] = "\nindex,name\n0,x\n";
    assert_int_equal(plot_data_add(&d, "o.csv", other, strlen(other), &o, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "o.csv:2: unrecognised header"));
    static const char header_only[] = "timestamp,used_mib\n";
    assert_int_equal(plot_data_add(&d, "h.csv", header_only, strlen(header_only), &o, &e),
                     -ERROR_PARSE);
    assert_string_equal(e.msg, "h.csv:2: no data rows after the header");
    static const char all_bad[] = "timestamp,used_mib\nx,1\n";
    assert_int_equal(plot_data_add(&d, "b.csv", all_bad, strlen(all_bad), &o, &e), -ERROR_PARSE);
    assert_int_equal(d.files, 0);
    plot_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_formats),
        cmocka_unit_test(test_detect_refuses),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_time_ticks_minutes),
        cmocka_unit_test(test_time_ticks_seconds_and_days),
        cmocka_unit_test(test_time_ticks_local_round_hours),
        cmocka_unit_test(test_time_ticks_limits),
        cmocka_unit_test(test_value_ticks),
        cmocka_unit_test(test_watch_log_per_process),
        cmocka_unit_test(test_watch_log_per_gpu_and_pid),
        cmocka_unit_test(test_samples_within_one_second),
        cmocka_unit_test(test_many_processes_each_get_their_series),
        cmocka_unit_test(test_extended_helper_timeline),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_refused_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
