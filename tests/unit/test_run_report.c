/* test_run_report.c - what is derived from a finished job: groups (by
 * command, executable, parent) and the leak heuristic, on hand-built
 * reports; and compare's reading and verdicts on hand-written reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobs/compare.h"
#include "jobs/report.h"
#include "jobs/run.h"

static struct run_proc proc(pid_t pid, pid_t ppid, const char *cmd, const char *exe,
                            uint64_t kib)
{
    struct run_proc p = {.pid = pid, .ppid = ppid, .max_rss_kib = kib,
                         .peak_source = RUN_PEAK_HWM};
    strcpy(p.command, cmd);
    strcpy(p.exe, exe);
    return p;
}

static void test_groups(void **state)
{
    (void)state;
    struct run_proc procs[] = {
        proc(10, 1, "make", "/usr/bin/make", 2000),
        proc(11, 10, "cc1", "/usr/lib/gcc/cc1", 300000),
        proc(12, 10, "cc1", "/usr/lib/gcc/cc1", 100000),
        proc(13, 11, "as", "", 5000),
    };
    struct run_report r = {.procs = procs, .proc_count = 4};
    struct run_group *g;
    size_t n;
    assert_int_equal(run_groups(&r, RUN_GROUP_COMMAND, &g, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(g[0].key, "cc1");
    assert_int_equal(g[0].process_count, 2);
    assert_int_equal(g[0].total_peak_kib, 400000);
    assert_int_equal(g[0].max_peak_kib, 300000);
    assert_string_equal(g[1].key, "as");
    assert_string_equal(g[2].key, "make");
    assert_int_equal(run_group_index(g, n, &procs[2], RUN_GROUP_COMMAND), 0);
    free(g);

    assert_int_equal(run_groups(&r, RUN_GROUP_EXE, &g, &n), 0);
    assert_string_equal(g[0].key, "/usr/lib/gcc/cc1");
    assert_string_equal(g[1].key, "as");          /* no exe: the command stands in */
    free(g);

    assert_int_equal(run_groups(&r, RUN_GROUP_PPID, &g, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(g[0].key, "10");
    assert_int_equal(g[0].process_count, 2);
    free(g);

    enum run_group_by by;
    assert_int_equal(run_group_by_parse("exe", &by), 0);
    assert_int_equal(by, RUN_GROUP_EXE);
    assert_int_equal(run_group_by_parse("pid", &by), -EINVAL);
    assert_string_equal(run_group_by_name(RUN_GROUP_PPID), "ppid");
}

/* A process sampled every second with the given values. */
static void leak_case(const uint64_t *vals, size_t n, double growth, double duration,
                      bool expect)
{
    struct run_sample *tl = calloc(n, sizeof *tl);
    struct run_point *pts = calloc(n, sizeof *pts);
    assert_non_null(tl);
    assert_non_null(pts);
    for (size_t i = 0; i < n; i++) {
        tl[i].elapsed_s = (double)i;
        pts[i] = (struct run_point){.sample = (uint32_t)i, .rss_kib = vals[i]};
    }
    struct run_proc p = proc(1, 0, "x", "", 0);
    p.points = pts;
    p.point_count = n;
    struct run_report r = {.procs = &p, .proc_count = 1, .timeline = tl, .sample_count = n};
    run_mark_leaks(&r, growth, duration);
    if (p.leak_suspect != expect)
        fail_msg("leak_suspect %d, want %d (growth %.1f%%)", p.leak_suspect, expect,
                 p.leak_growth_pct);
    free(tl);
    free(pts);
}

static void test_leaks(void **state)
{
    (void)state;
    uint64_t climb[16], plateau[16], wave[16], small[16];
    for (int i = 0; i < 16; i++) {
        climb[i] = 1000 + 200 * (uint64_t)i;            /* steady, 1000 -> 4000 */
        plateau[i] = i < 4 ? 1000 + 1000 * (uint64_t)i : 4000;   /* warm-up, then flat */
        wave[i] = (i / 2) % 2 ? 4000 : 1000;           /* up and down */
        small[i] = 1000 + 5 * (uint64_t)i;             /* steady but only +7% */
    }
    leak_case(climb, 16, 50, 10, true);
    leak_case(climb, 16, 50, 60, false);      /* too short to judge */
    leak_case(climb, 7, 50, 1, false);        /* too few samples */
    leak_case(plateau, 16, 50, 10, false);
    leak_case(wave, 16, 50, 10, false);
    leak_case(small, 16, 50, 10, false);
    leak_case(small, 16, 5, 10, true);        /* a lower bar catches it */
}

/* ---- compare ------------------------------------------------------------------------------ */

static int parse(const char *text, struct compare_doc *d)
{
    struct error e = {0};
    size_t len = strlen(text);
    char *c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, text, len);
    int rc = compare_parse(c, len, "r.json", d, &e);
    free(c);
    if (rc < 0)
        assert_non_null(strstr(e.msg, "r.json"));
    return rc;
}

static const char base_json[] =
    "{\"max_total_rss_kib\": 100000, \"duration_seconds\": 10.5, \"method\": \"cgroup-v2\","
    "\"group_by\": \"command\", \"processes\": [{\"max_rss_kib\": 60000}, {\"max_rss_kib\": 1}],"
    "\"groups\": [{\"name\": \"cc1\", \"total_peak_kib\": 80000},"
    "{\"name\": \"make\", \"total_peak_kib\": 2000}]}";

static void test_compare(void **state)
{
    (void)state;
    struct compare_doc b, c;
    assert_int_equal(parse(base_json, &b), 0);
    assert_int_equal(b.group_count, 2);
    assert_true(b.max_proc_rss_kib.known);
    assert_int_equal((int)b.max_proc_rss_kib.v, 60000);
    assert_int_equal(parse("{\"max_total_rss_kib\": 105000, \"groups\": ["
                           "{\"name\": \"cc1\", \"total_peak_kib\": 95000},"
                           "{\"name\": \"ld\", \"total_peak_kib\": 9000}]}", &c), 0);
    struct compare_result res;
    assert_int_equal(compare_docs(&b, &c, 10.0, &res), 0);
    assert_true(res.regression);                 /* cc1 grew 18.75% */
    bool saw_cc1 = false, saw_ld = false, saw_total = false;
    for (size_t i = 0; i < res.count; i++) {
        const struct compare_row *row = &res.rows[i];
        if (strcmp(row->name, "max_total_rss_kib") == 0) {
            saw_total = true;
            assert_false(row->regression);       /* +5% */
            assert_true(row->gated);
        } else if (strcmp(row->name, "cc1") == 0) {
            saw_cc1 = row->regression && row->delta_pct.known;
        } else if (strcmp(row->name, "ld") == 0) {
            saw_ld = !row->gated && !row->base.known;     /* new: shown, not gated */
        }
    }
    assert_true(saw_total && saw_cc1 && saw_ld);
    compare_result_clear(&res);
    assert_int_equal(compare_docs(&b, &c, 20.0, &res), 0);
    assert_false(res.regression);
    compare_result_clear(&res);
    compare_doc_clear(&b);
    compare_doc_clear(&c);

    assert_int_equal(parse("", &b), -ERROR_PARSE);
    assert_int_equal(parse("[]", &b), -ERROR_PARSE);
    assert_int_equal(parse("{\"max_total_rss_kib\": \"1\"}", &b), -ERROR_PARSE);
    assert_int_equal(parse("{\"max_total_rss_kib\": 1, \"groups\": {}}", &b), -ERROR_PARSE);
    assert_int_equal(parse("{\"max_total_rss_kib\": 1, \"groups\": [{\"name\": 1}]}", &b),
                     -ERROR_PARSE);
    assert_int_equal(parse("{\"max_total_rss_kib\": 1, \"max_total_rss_kib\": 2}", &b),
                     -ERROR_PARSE);
}

/* Groups are matched by name through a sorted index: thousands of them,
 * in opposite orders, each meet their counterpart; rows keep base's order. */
static void test_compare_matches_many_groups_by_name(void **state)
{
    (void)state;
    enum { N = 3000 };
    size_t cap = 64 + N * 64;
    char *text[2];
    for (int side = 0; side < 2; side++) {
        text[side] = malloc(cap);
        assert_non_null(text[side]);
        size_t len = (size_t)snprintf(text[side], cap, "{\"max_total_rss_kib\": 1, \"groups\": [");
        for (int i = 0; i < N; i++) {
            int g = side ? N - 1 - i : i;
            len += (size_t)snprintf(text[side] + len, cap - len,
                                    "%s{\"name\": \"g%d\", \"total_peak_kib\": %d}",
                                    i ? "," : "", g, 100 + g * (side + 1));
        }
        snprintf(text[side] + len, cap - len, "]}");
    }
    struct compare_doc b, c;
    assert_int_equal(parse(text[0], &b), 0);
    assert_int_equal(parse(text[1], &c), 0);
    struct compare_result res;
    assert_int_equal(compare_docs(&b, &c, 1e9, &res), 0);
    size_t groups = 0;
    for (size_t i = 0; i < res.count; i++) {
        const struct compare_row *row = &res.rows[i];
        if (row->kind != COMPARE_GROUP)
            continue;
        char want[32];
        snprintf(want, sizeof want, "g%zu", groups);
        assert_string_equal(row->name, want);
        assert_true(row->gated && row->candidate.known);
        assert_true(row->candidate.v == 100 + 2 * (double)groups);
        groups++;
    }
    assert_int_equal(groups, N);
    compare_result_clear(&res);
    compare_doc_clear(&b);
    compare_doc_clear(&c);
    free(text[0]);
    free(text[1]);
}

static void test_compare_refuses_a_group_named_twice(void **state)
{
    (void)state;
    struct compare_doc d;
    struct error e = {0};
    static const char text[] =
        "{\"max_total_rss_kib\": 1, \"groups\": [{\"name\": \"b\", \"total_peak_kib\": 1},"
        "{\"name\": \"a\", \"total_peak_kib\": 1}, {\"name\": \"a\", \"total_peak_kib\": 1},"
        "{\"name\": \"b\", \"total_peak_kib\": 1}]}";
    assert_int_equal(compare_parse(text, strlen(text), "r.json", &d, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "r.json: groups[2]: the group \"a\" appears twice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_leaks),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_compare_matches_many_groups_by_name),
        cmocka_unit_test(test_compare_refuses_a_group_named_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
