/* test_watch.c - the pieces of `gpuctl watch` that need no loop: the fixed
 * schedule, the cpu_cores text, --match with its literal fallback, the
 * header rules of an existing file, the rows of a snapshot, and the CPUs
 * of a process's threads read from a fixture tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/procfs.h"
#include "watch/watch.h"

/* ---- schedule ---- */

static struct timespec at(double s)
{
    struct timespec t = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    return t;
}

static void test_schedule_is_fixed(void **state)
{
    (void)state;
    struct watch_schedule s;
    struct timespec start = at(100), now;
    uint64_t skipped;
    watch_schedule_init(&s, &start, 30);
    now = at(100.2);
    struct timespec next = watch_schedule_next(&s, &now, &skipped);
    assert_int_equal(next.tv_sec, 130);
    assert_int_equal(next.tv_nsec, 0);
    assert_int_equal(skipped, 0);
    now = at(131.7);   /* a slow sample: the next time does not move */
    next = watch_schedule_next(&s, &now, &skipped);
    assert_int_equal(next.tv_sec, 160);
    assert_int_equal(skipped, 0);
    now = at(200);     /* far behind: 190 is skipped, not caught up */
    next = watch_schedule_next(&s, &now, &skipped);
    assert_int_equal(next.tv_sec, 220);
    assert_int_equal(skipped, 1);
}

static void test_schedule_does_not_drift(void **state)
{
    (void)state;
    struct watch_schedule s;
    struct timespec start = {.tv_sec = 5, .tv_nsec = 123456789}, next = start;
    watch_schedule_init(&s, &start, 0.1);
    for (int i = 0; i < 360000; i++) {   /* ten hours of 0.1 s samples */
        struct timespec now = next;
        now.tv_nsec += 3000000;          /* each wake-up a little late */
        if (now.tv_nsec >= 1000000000L) {
            now.tv_sec++;
            now.tv_nsec -= 1000000000L;
        }
        next = watch_schedule_next(&s, &now, NULL);
    }
    assert_int_equal(next.tv_sec, 5 + 36000);
    assert_int_equal(next.tv_nsec, 123456789);
}

/* ---- text ---- */

static void test_format_cpus(void **state)
{
    (void)state;
    char buf[64];
    int cpus[] = {8, 9, 11};
    assert_string_equal(watch_format_cpus(cpus, 3, buf, sizeof buf), "8/9/11");
    assert_string_equal(watch_format_cpus(cpus, 0, buf, sizeof buf), "");
    int many[] = {100, 101, 102};
    assert_string_equal(watch_format_cpus(many, 3, buf, 9), "100/101"); /* whole numbers only */
}

static void test_match_regex_and_literal(void **state)
{
    (void)state;
    struct watch_matcher m;
    assert_int_equal(watch_matcher_init(&m, "python[0-9]* .*train", NULL), 0);
    assert_null(m.literal);
    assert_true(watch_matcher_hits(&m, "/usr/bin/python3 -u train.py --lr 3e-4"));
    assert_false(watch_matcher_hits(&m, "python3 eval.py"));
    assert_false(watch_matcher_hits(&m, NULL));
    watch_matcher_clear(&m);

    assert_int_equal(watch_matcher_init(&m, "train(", NULL), 0);
    assert_non_null(m.literal);
    assert_non_null(strstr(m.why, "position"));
    assert_true(watch_matcher_hits(&m, "python train(1).py"));
    assert_false(watch_matcher_hits(&m, "python train.py"));
    watch_matcher_clear(&m);
    watch_matcher_clear(&m);
}

/* ---- files ---- */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/gpuctl-test-watch-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_header_rules(void **state)
{
    (void)state;
    char path[128];
    struct outfile f = {0};
    bool header;
    struct error e = {0};
    snprintf(path, sizeof path, "%s/log.csv", dir);

    /* absent: created, header wanted (with or without --append) */
    assert_int_equal(watch_open_output(path, true, false, WATCH_CSV, &f, &header, &e), 0);
    assert_true(header);
    assert_int_equal(watch_write_header(f.f, false), 0);
    fputs("2025-01-10T14:22:30,0,1,x,1,,\r\n", f.f);
    assert_int_equal(outfile_commit(&f, &e), 0);
    long size = file_size(path);

    /* same columns, --append: kept, no second header */
    assert_int_equal(watch_open_output(path, true, false, WATCH_CSV, &f, &header, &e), 0);
    assert_false(header);
    assert_int_equal(outfile_commit(&f, &e), 0);
    assert_int_equal(file_size(path), size);

    /* other columns, --append: refused, file untouched */
    assert_int_equal(watch_open_output(path, true, true, WATCH_CSV, &f, &header, &e), -EEXIST);
    assert_null(f.f);
    assert_non_null(strstr(e.msg, "log.csv:1:"));
    assert_non_null(strstr(e.msg, "sys_used_mib"));
    assert_non_null(strstr(e.msg, "drop --extended"));
    assert_int_equal(file_size(path), size);

    /* no --append: replaced, but only once the new log is committed (or
     * published); given up before, the old log stays whole */
    assert_int_equal(watch_open_output(path, false, true, WATCH_CSV, &f, &header, &e), 0);
    assert_true(header);
    assert_int_equal(file_size(path), size);
    outfile_discard(&f);
    assert_int_equal(file_size(path), size);
    assert_int_equal(watch_open_output(path, false, true, WATCH_CSV, &f, &header, &e), 0);
    assert_int_equal(file_size(path), size);
    assert_int_equal(outfile_commit(&f, &e), 0);
    assert_int_equal(file_size(path), 0);

    /* --append to an empty file: header wanted */
    assert_int_equal(watch_open_output(path, true, true, WATCH_CSV, &f, &header, &e), 0);
    assert_true(header);
    assert_int_equal(outfile_commit(&f, &e), 0);

    /* an unrelated CSV: refused, no --extended hint */
    write_text(path, "index,name\n0,x\n");
    assert_int_equal(watch_open_output(path, true, false, WATCH_CSV, &f, &header, &e), -EEXIST);
    assert_null(strstr(e.msg, "--extended"));

    /* JSON lines: never a header; the first record's keys must match */
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    static const char record[] =
        "{\"timestamp\":\"2025-01-10T14:22:30\",\"gpu_index\":0,\"pid\":1,\"cmd\":\"x\","
        "\"gpu_mem_mib\":1,\"sm_util_pct\":null,\"mem_util_pct\":null}\n";
    write_text(path, record);
    assert_int_equal(watch_open_output(path, true, false, WATCH_JSONL, &f, &header, &e), 0);
    assert_false(header);
    assert_int_equal(outfile_commit(&f, &e), 0);
    assert_int_equal(file_size(path), (long)strlen(record));
    assert_int_equal(watch_open_output(path, true, true, WATCH_JSONL, &f, &header, &e), -EEXIST);
    assert_non_null(strstr(e.msg, "log.jsonl:1:"));
    assert_non_null(strstr(e.msg, "drop --extended"));
    write_text(path, "{\"a\":1}\n");
    assert_int_equal(watch_open_output(path, true, false, WATCH_JSONL, &f, &header, &e), -EEXIST);
    write_text(path, "not json\n");
    assert_int_equal(watch_open_output(path, true, false, WATCH_JSONL, &f, &header, &e), -EEXIST);
}

static void test_unopenable_file(void **state)
{
    (void)state;
    struct outfile f;
    bool header;
    struct error e = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/dir/log.csv", dir);
    assert_int_equal(watch_open_output(path, false, false, WATCH_CSV, &f, &header, &e), -ENOENT);
    assert_non_null(strstr(e.msg, path));
}

/* ---- rows ---- */

static char *sample_text(enum watch_format format, bool extended, const struct watch_select *sel)
{
    struct gpu_process gp[3] = {
        {.pid = getpid(), .device_index = 0},
        {.pid = 999999, .device_index = 1},
        {.pid = getpid(), .device_index = 1},
    };
    OPT_SET(gp[0].gpu_mem_bytes, 512u << 20);
    OPT_SET(gp[0].sm_pct, 40);
    OPT_SET(gp[0].mem_bw_pct, 12.5);
    OPT_SET(gp[2].gpu_mem_bytes, 3u << 20);
    struct host_process hp[1] = {{.pid = getpid(), .exists = true, .cmdline = "python train.py, \"big\""}};
    OPT_SET(hp[0].cpu_pct_interval, 101.5);
    OPT_SET(hp[0].rss_bytes, 300u << 20);
    struct snapshot s = {.gprocs = gp, .gproc_count = 3, .hprocs = hp, .hproc_count = 1};
    s.wall.tv_sec = 1736518950;   /* 2025-01-10T14:22:30Z */
    OPT_SET(s.host.mem_total_bytes, 8192ull << 20);
    OPT_SET(s.host.mem_available_bytes, 6144ull << 20);
    char *buf = NULL;
    size_t len = 0, rows;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(watch_write_sample(f, format, extended, &s, sel, &rows), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_rows_basic(void **state)
{
    (void)state;
    struct watch_select all = {0};
    char *text = sample_text(WATCH_CSV, false, &all);
    char want[512];
    snprintf(want, sizeof want,
             "2025-01-10T14:22:30,0,%d,\"python train.py, \"\"big\"\"\",512,40,12.5\r\n"
             "2025-01-10T14:22:30,1,999999,,,,\r\n"
             "2025-01-10T14:22:30,1,%d,\"python train.py, \"\"big\"\"\",3,,\r\n",
             (int)getpid(), (int)getpid());
    assert_string_equal(text, want);
    free(text);
}

static void test_rows_selected(void **state)
{
    (void)state;
    pid_t only = 999999;
    struct watch_select by_pid = {.pids = &only, .pid_count = 1};
    char *text = sample_text(WATCH_CSV, false, &by_pid);
    assert_string_equal(text, "2025-01-10T14:22:30,1,999999,,,,\r\n");
    free(text);
    struct watch_matcher m;
    assert_int_equal(watch_matcher_init(&m, "train", NULL), 0);
    struct watch_select by_match = {.match = &m};
    text = sample_text(WATCH_CSV, false, &by_match);
    assert_null(strstr(text, "999999"));   /* no host facts: no command line to match */
    assert_non_null(strstr(text, ",0,"));
    free(text);
    watch_matcher_clear(&m);
}

static void test_rows_extended(void **state)
{
    (void)state;
    struct watch_select all = {0};
    char *text = sample_text(WATCH_CSV, true, &all);
    /* sys_used_mib, cpu_cores (this process's threads, read now), cpu_pct, RSS */
    char *line = strtok(text, "\r\n");
    assert_non_null(line);
    const char *tail = strstr(line, ",12.5,2048,");
    assert_non_null(tail);
    const char *cores = tail + strlen(",12.5,2048,");
    size_t n = strspn(cores, "0123456789/");
    assert_true(n > 0);
    assert_string_equal(cores + n, ",101.5,300");
    line = strtok(NULL, "\r\n");
    assert_string_equal(line, "2025-01-10T14:22:30,1,999999,,,,,2048,,,");
    free(text);
}

static void test_rows_jsonl(void **state)
{
    (void)state;
    struct watch_select all = {0};
    char *text = sample_text(WATCH_JSONL, true, &all);
    assert_non_null(strstr(text, "\"gpu_index\":1,\"pid\":999999,\"cmd\":\"\",\"gpu_mem_mib\":null,"
                                 "\"sm_util_pct\":null,\"mem_util_pct\":null,\"sys_used_mib\":2048,"
                                 "\"cpu_cores\":null,\"cpu_pct\":null,\"host_rss_mib\":null}\n"));
    assert_non_null(strstr(text, "\"gpu_mem_mib\":512,\"sm_util_pct\":40,\"mem_util_pct\":12.5,"));
    assert_non_null(strstr(text, "\"cpu_cores\":["));
    assert_non_null(strstr(text, "\"cpu_pct\":101.5,\"host_rss_mib\":300}"));
    free(text);
}

/* ---- procfs_read_thread_cpus on a fixture tree ---- */

static void write_task_stat(const char *root, int pid, int tid, int processor)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/proc/%d/task/%d", root, pid, tid);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    int n = snprintf(line, sizeof line, "%d (a b) S", tid);
    for (int field = 4; field <= 38; field++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %d", field == 22 ? 100 : 1);
    snprintf(line + n, sizeof line - (size_t)n, " %d 0 0 0\n", processor);
    strcat(path, "/stat");
    write_text(path, line);
}

static void test_thread_cpus(void **state)
{
    (void)state;
    write_task_stat(dir, 4242, 4242, 11);
    write_task_stat(dir, 4242, 4243, 8);
    write_task_stat(dir, 4242, 4250, 11);
    write_task_stat(dir, 4242, 4251, 9);
    assert_int_equal(setenv("GPUCTL_PROC_ROOT", dir, 1), 0);
    int cpus[8];
    size_t n;
    struct error e = {0};
    assert_int_equal(procfs_read_thread_cpus(4242, cpus, 8, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cpus[0], 8);
    assert_int_equal(cpus[1], 9);
    assert_int_equal(cpus[2], 11);
    assert_int_equal(procfs_read_thread_cpus(4242, cpus, 2, &n, &e), 0);
    assert_int_equal(n, 2);                    /* room for two: the rest dropped */
    assert_int_equal(procfs_read_thread_cpus(7, cpus, 8, &n, &e), -ESRCH);
    assert_non_null(strstr(e.msg, "7"));
    unsetenv("GPUCTL_PROC_ROOT");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_is_fixed),
        cmocka_unit_test(test_schedule_does_not_drift),
        cmocka_unit_test(test_format_cpus),
        cmocka_unit_test(test_match_regex_and_literal),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_unopenable_file),
        cmocka_unit_test(test_rows_basic),
        cmocka_unit_test(test_rows_selected),
        cmocka_unit_test(test_rows_extended),
        cmocka_unit_test(test_rows_jsonl),
        cmocka_unit_test(test_thread_cpus),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
