/* test_procfs.c - the /proc parsers on real-format buffers, the readers on
 * the fixture tree tests/fixtures/proc (see tests/fixtures/README.md), and
 * one read of this test's own process from the real /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sources/procfs.h"

/* ---- helpers ---- */

/* Copies text into an exact-size heap buffer, so a parser reading past len
 * trips ASan; the caller frees. */
static char *exact(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    return copy;
}

static int parse_stat_text(const char *text, size_t len, struct procfs_stat *out)
{
    char *copy = exact(text, len);
    int rc = procfs_parse_stat(copy, len, out);
    free(copy);
    return rc;
}

static int parse_status_text(const char *text, struct procfs_status *out)
{
    char *copy = exact(text, strlen(text));
    int rc = procfs_parse_status(copy, strlen(text), out);
    free(copy);
    return rc;
}

static int parse_meminfo_text(const char *text, struct procfs_meminfo *out)
{
    char *copy = exact(text, strlen(text));
    int rc = procfs_parse_meminfo(copy, strlen(text), out);
    free(copy);
    return rc;
}

static const char *fixtures(void)
{
    const char *dir = getenv("GPUCTL_FIXTURES");
    if (!dir)
        fail_msg("GPUCTL_FIXTURES is not set (tests/unit/meson.build sets it)");
    return dir;
}

static int use_fixture_root(void **state)
{
    (void)state;
    return setenv("GPUCTL_PROC_ROOT", fixtures(), 1);
}

static int use_real_root(void **state)
{
    (void)state;
    return unsetenv("GPUCTL_PROC_ROOT");
}

/* Owner of a fixture pid directory: whoever checked the tree out.  procfs
 * believes a non-root owner and asks status only about a root one. */
static uid_t fixture_owner(int pid)
{
    char dir[4096];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/proc/%d", fixtures(), pid);
    assert_int_equal(stat(dir, &sb), 0);
    return sb.st_uid;
}

static struct procfs *open_procfs(void)
{
    struct procfs *p = NULL;
    struct error e = { 0 };
    int rc = procfs_open(&p, &e);
    if (rc != 0)
        fail_msg("procfs_open: %s", e.msg);
    return p;
}

/* cmocka's float assertion works in float, too coarse for epoch seconds. */
#define assert_near(a, b, eps)                                                        \
    do {                                                                             \
        double a_ = (a), b_ = (b);                                                   \
        if (a_ - b_ > (eps) || b_ - a_ > (eps))                                      \
            fail_msg("%s = %.9f, want %.9f", #a, a_, b_);                            \
    } while (0)

static long ticks(void)
{
    return sysconf(_SC_CLK_TCK);
}

/* ---- stat ---- */

/* From a real kernel: PID 1 of a container and kthreadd. */
static const char stat_init[] =
    "1 (process_api) S 0 0 0 0 -1 4194560 45203 895288 0 694 57 183 1358 745 10 -10 13 0 24 "
    "44367872 3375 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 "
    "0 0 0\n";
static const char stat_kthreadd[] =
    "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 12 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 "
    "0 0 0 0 0 2147483647 0 1 0 0 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

static void test_stat_real_line(void **state)
{
    (void)state;
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(stat_init, strlen(stat_init), &st), 0);
    assert_int_equal(st.pid, 1);
    assert_string_equal(st.comm, "process_api");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 0);
    assert_int_equal(st.pgrp, 0);
    assert_int_equal(st.session, 0);
    assert_int_equal(st.flags, 4194560);
    assert_int_equal(st.utime, 57);
    assert_int_equal(st.stime, 183);
    assert_int_equal(st.starttime, 24);
    assert_int_equal(st.vsize, 44367872);
    assert_int_equal(st.rss_pages, 3375);
    assert_int_equal(st.processor, 1);
    assert_false(st.flags & 0x00200000u);
}

static void test_stat_kernel_thread(void **state)
{
    (void)state;
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(stat_kthreadd, strlen(stat_kthreadd), &st), 0);
    assert_string_equal(st.comm, "kthreadd");
    assert_true(st.flags & 0x00200000u);
    assert_int_equal(st.vsize, 0);
    assert_int_equal(st.rss_pages, 0);
    assert_int_equal(st.stime, 12);
    assert_int_equal(st.processor, 5);
}

static void test_stat_comm_with_parentheses(void **state)
{
    (void)state;
    static const char line[] =
        "1234 (a) (b c) R 1 1234 1234 34816 1234 4194304 1200 0 3 0 150000 50000 0 0 20 0 4 0 "
        "9000000 1073741824 2560 18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 17 3 0 0 0 0 0\n";
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(line, strlen(line), &st), 0);
    assert_string_equal(st.comm, "a) (b c");
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.utime, 150000);
    assert_int_equal(st.starttime, 9000000);
    assert_int_equal(st.processor, 3);
}

static void test_stat_comm_with_newline_and_empty(void **state)
{
    (void)state;
    static const char nl[] = "77 (x\n) y)) Z 5 77 77 0 -1 4227084 0 0 0 0 5 3 0 0 20 0 1 0 "
                             "950 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(nl, strlen(nl), &st), 0);
    assert_string_equal(st.comm, "x\n) y)");
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.ppid, 5);

    static const char empty[] = "8 () S 1 8 8 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 100 1\n";
    assert_int_equal(parse_stat_text(empty, strlen(empty), &st), 0);
    assert_string_equal(st.comm, "");
    assert_int_equal(st.rss_pages, 1);
    assert_int_equal(st.processor, -1); /* the line stops at field 24 */
}

static void test_stat_long_comm_is_cut(void **state)
{
    (void)state;
    char line[512], comm[100];
    memset(comm, 'k', 99);
    comm[99] = '\0';
    snprintf(line, sizeof line, "9 (%s) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
             comm);
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(line, strlen(line), &st), 0);
    assert_int_equal(strlen(st.comm), sizeof st.comm - 1);
    assert_int_equal(st.state, 'I');
}

static void test_stat_huge_values(void **state)
{
    (void)state;
    static const char max[] =
        "2147483647 (big) R 2147483647 1 1 0 -1 4294967295 0 0 0 0 18446744073709551615 "
        "18446744073709551615 0 0 20 0 1 0 18446744073709551615 18446744073709551615 "
        "9223372036854775807 0 0 0 0 0 0 0 0 0 0 0 0 0 17 2147483647 0 0\n";
    struct procfs_stat st;
    assert_int_equal(parse_stat_text(max, strlen(max), &st), 0);
    assert_int_equal(st.pid, 2147483647);
    assert_int_equal(st.flags, 4294967295u);
    assert_true(st.utime == UINT64_MAX);
    assert_true(st.starttime == UINT64_MAX);
    assert_true(st.vsize == UINT64_MAX);
    assert_true(st.rss_pages == INT64_MAX);
    assert_int_equal(st.processor, 2147483647);

    static const char *const too_big[] = {
        /* utime one past UINT64_MAX */
        "5 (x) R 1 1 1 0 -1 0 0 0 0 0 18446744073709551616 0 0 0 20 0 1 0 3 0 0\n",
        /* flags beyond unsigned int */
        "5 (x) R 1 1 1 0 -1 4294967296 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        /* pid beyond pid_t */
        "2147483648 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        /* ppid beyond pid_t */
        "5 (x) R 2147483648 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        /* a number with 30 digits */
        "5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 123456789012345678901234567890 0 0\n",
    };
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++)
        assert_int_equal(parse_stat_text(too_big[i], strlen(too_big[i]), &st), -ERROR_PARSE);
}

static void test_stat_truncated(void **state)
{
    (void)state;
    struct procfs_stat st;
    /* Every cut before field 24 (rss) begins is an error, never a guess. */
    const char *rss = strstr(stat_init, " 3375 ");
    assert_non_null(rss);
    size_t rss_at = (size_t)(rss - stat_init) + 1;
    for (size_t len = 0; len < rss_at; len++)
        if (parse_stat_text(stat_init, len, &st) != -ERROR_PARSE)
            fail_msg("a stat line cut at %zu bytes was accepted", len);
    /* Cut right after rss: accepted, with the processor unknown. */
    assert_int_equal(parse_stat_text(stat_init, rss_at + 4, &st), 0);
    assert_int_equal(st.rss_pages, 3375);
    assert_int_equal(st.processor, -1);
}

static void test_stat_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1234",
        "1234 ",
        "abc (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "-5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "0 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x)R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x) RR 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x) R -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x) R 1 1 1 0 -1 0 0 0 0 0 1x 0 0 0 20 0 1 0 3 0 0\n",
        "5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 zero\n",
        "5 (x) R 1  1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0\n",
        /* processor, field 39 */
        "5 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 x\n",
    };
    struct procfs_stat st;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_stat_text(bad[i], strlen(bad[i]), &st) != -ERROR_PARSE)
            fail_msg("malformed stat line %zu was accepted: %s", i, bad[i]);
}

/* ---- status ---- */

static const char status_real[] =
    "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t6641\nNgid:\t0\nPid:\t6641\n"
    "PPid:\t6638\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t256\n"
    "Groups:\t \nNStgid:\t6641\nNSpid:\t6641\nNSpgid:\t6638\nNSsid:\t3091\nKthread:\t0\n"
    "VmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n"
    "VmHWM:\t    1700 kB\nVmRSS:\t    1696 kB\nRssAnon:\t     112 kB\nRssFile:\t    1584 kB\n"
    "Threads:\t1\nSigQ:\t0/96365\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"
    "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t1\n";

static void test_status_real(void **state)
{
    (void)state;
    struct procfs_status s;
    assert_int_equal(parse_status_text(status_real, &s), 0);
    assert_true(s.uid.known);
    assert_int_equal(s.uid.v, 1000); /* the real uid, not the effective one */
    assert_true(s.vm_rss_kib.known);
    assert_int_equal(s.vm_rss_kib.v, 1696);
    assert_true(s.vm_hwm_kib.known);
    assert_int_equal(s.vm_hwm_kib.v, 1700);
    assert_int_equal(s.nspid_levels, 1);
}

static void test_status_kernel_thread_and_namespaces(void **state)
{
    (void)state;
    struct procfs_status s;
    /* Kernel threads have no Vm lines: unknown, not zero. */
    assert_int_equal(parse_status_text("Name:\tkthreadd\nUid:\t0\t0\t0\t0\nNSpid:\t2\n"
                                       "Kthread:\t1\nThreads:\t1\n",
                                       &s),
                     0);
    assert_true(s.uid.known);
    assert_int_equal(s.uid.v, 0);
    assert_false(s.vm_rss_kib.known);
    assert_false(s.vm_hwm_kib.known);
    /* A process two pid namespaces down, no trailing newline. */
    assert_int_equal(parse_status_text("Uid:\t0\t0\t0\t0\nNSpid:\t4242\t17\t1", &s), 0);
    assert_int_equal(s.nspid_levels, 3);
    /* Old kernels have no NSpid at all. */
    assert_int_equal(parse_status_text("Name:\tx\nUid:\t5\t5\t5\t5\n", &s), 0);
    assert_int_equal(s.nspid_levels, 0);
    /* A comm that looks like a key is only a Name value. */
    assert_int_equal(parse_status_text("Name:\tVmRSS: 5 kB\n", &s), 0);
    assert_false(s.vm_rss_kib.known);
}

static void test_status_malformed(void **state)
{
    (void)state;
    struct procfs_status s;
    /* A bad value leaves that field unknown and says so; the rest is kept. */
    assert_int_equal(parse_status_text("Uid:\t1000\t1000\t1000\t1000\nVmRSS:\t  12x kB\n", &s),
                     -ERROR_PARSE);
    assert_true(s.uid.known);
    assert_int_equal(s.uid.v, 1000);
    assert_false(s.vm_rss_kib.known);
    assert_int_equal(parse_status_text("Uid:\troot\n", &s), -ERROR_PARSE);
    assert_false(s.uid.known);
    assert_int_equal(parse_status_text("Uid:\t4294967296\t0\t0\t0\n", &s), -ERROR_PARSE);
    assert_int_equal(parse_status_text("VmRSS:\t99999999999999999999999 kB\n", &s), -ERROR_PARSE);
    assert_int_equal(parse_status_text("NSpid:\t12\tx\n", &s), -ERROR_PARSE);
    assert_int_equal(parse_status_text("VmHWM:\t\n", &s), -ERROR_PARSE);
    /* Lines without a colon are ignored. */
    assert_int_equal(parse_status_text("garbage\n\n\nUid 5\n", &s), 0);
    assert_false(s.uid.known);
}

/* ---- meminfo and the small host files ---- */

static void test_meminfo(void **state)
{
    (void)state;
    struct procfs_meminfo m;
    assert_int_equal(parse_meminfo_text("MemTotal:       16318276 kB\nMemFree:          834120 kB\n"
                                        "MemAvailable:    9876544 kB\nBuffers:          312456 kB\n"
                                        "SwapCached:        10240 kB\nSwapTotal:       2097148 kB\n"
                                        "SwapFree:        2000000 kB\nHugePages_Total:       0\n"
                                        "VmallocTotal:   34359738367 kB\n",
                                        &m),
                     0);
    assert_true(m.mem_total_kib.known);
    assert_int_equal(m.mem_total_kib.v, 16318276);
    assert_int_equal(m.mem_available_kib.v, 9876544);
    assert_int_equal(m.swap_total_kib.v, 2097148);
    assert_int_equal(m.swap_free_kib.v, 2000000);

    /* Kernels before 3.14 have no MemAvailable: unknown. */
    assert_int_equal(parse_meminfo_text("MemTotal: 1000 kB\nMemFree: 10 kB\n", &m), 0);
    assert_true(m.mem_total_kib.known);
    assert_false(m.mem_available_kib.known);
    assert_false(m.swap_total_kib.known);

    assert_int_equal(parse_meminfo_text("MemTotal: lots kB\nSwapFree: 5 kB\n", &m), -ERROR_PARSE);
    assert_false(m.mem_total_kib.known);
    assert_true(m.swap_free_kib.known);
    assert_int_equal(parse_meminfo_text("MemTotal: 18446744073709551616 kB\n", &m), -ERROR_PARSE);
    assert_int_equal(parse_meminfo_text("MemTotal: 5 kB extra\n", &m), -ERROR_PARSE);
    assert_int_equal(parse_meminfo_text("", &m), 0);
    assert_false(m.mem_total_kib.known);
}

static void test_uptime_loadavg_btime(void **state)
{
    (void)state;
    double up, load[3];
    uint64_t btime;
    char *b = exact("482.78 919.87\n", 14);
    assert_int_equal(procfs_parse_uptime(b, 14, &up), 0);
    free(b);
    assert_true(up > 482.779 && up < 482.781);
    assert_int_equal(procfs_parse_uptime("x 1\n", 4, &up), -ERROR_PARSE);
    assert_int_equal(procfs_parse_uptime("12,5 1\n", 7, &up), -ERROR_PARSE);
    assert_int_equal(procfs_parse_uptime("", 0, &up), -ERROR_PARSE);

    b = exact("0.52 1.07 12.50 3/517 7001\n", 27);
    assert_int_equal(procfs_parse_loadavg(b, 27, load), 0);
    free(b);
    assert_true(load[0] > 0.519 && load[0] < 0.521);
    assert_true(load[1] > 1.069 && load[1] < 1.071);
    assert_true(load[2] > 12.49 && load[2] < 12.51);
    assert_int_equal(procfs_parse_loadavg("0.52 1.07", 9, load), -ERROR_PARSE);

    static const char stat[] = "cpu  2151 0 1574 91987 473 0 33 8 0 0\nintr 1 2 3\n"
                               "ctxt 5\nbtime 1795239125\nprocesses 6645\n";
    assert_int_equal(procfs_parse_btime(stat, strlen(stat), &btime), 0);
    assert_int_equal(btime, 1795239125);
    assert_int_equal(procfs_parse_btime("cpu 1\nctxt 5\n", 13, &btime), -ENOENT);
    assert_int_equal(procfs_parse_btime("btime soon\n", 11, &btime), -ERROR_PARSE);
    /* The length is respected: a cut line gives the digits that are there. */
    assert_int_equal(procfs_parse_btime(stat, strlen(stat) - strlen("25\nprocesses 6645\n"),
                                        &btime),
                     0);
    assert_int_equal(btime, 17952391);
}

/* ---- cmdline ---- */

static void test_cmdline_join(void **state)
{
    (void)state;
    static const char args[] = "python3\0train.py\0--name\0my run\0";
    char *s = procfs_cmdline_join(args, sizeof args - 1);
    assert_string_equal(s, "python3 train.py --name my run");
    free(s);
    s = procfs_cmdline_join("", 0);
    assert_string_equal(s, "");
    free(s);
    s = procfs_cmdline_join("\0\0\0", 3);
    assert_string_equal(s, "");
    free(s);
    /* A process that rewrote its arguments (setproctitle) may leave no NUL. */
    s = procfs_cmdline_join("nginx: worker process", 21);
    assert_string_equal(s, "nginx: worker process");
    free(s);
    s = procfs_cmdline_join("a\0\0b", 4);
    assert_string_equal(s, "a  b");
    free(s);
}

/* ---- the fixture tree ---- */

static void test_fixture_host(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_info h;
    struct error e = { 0 };
    assert_int_equal(procfs_read_host(p, &h, &e), 0);
    assert_string_equal(h.hostname, "gpu-node-07");
    assert_true(h.mem_total_bytes.known);
    assert_int_equal(h.mem_total_bytes.v, 16318276ull * 1024);
    assert_int_equal(h.mem_available_bytes.v, 9876544ull * 1024);
    assert_int_equal(h.swap_total_bytes.v, 2097148ull * 1024);
    assert_int_equal(h.swap_free_bytes.v, 2000000ull * 1024);
    assert_true(h.uptime_s.known);
    assert_true(h.uptime_s.v == 100000.0);
    assert_true(h.boot_time.known);
    assert_true(h.boot_time.v == 1700000000.0);
    assert_true(h.load1.known && h.load5.known && h.load15.known);
    assert_true(h.load15.v > 2.49 && h.load15.v < 2.51);
    assert_int_equal(h.clock_ticks, ticks());
    assert_int_equal(h.page_size, sysconf(_SC_PAGESIZE));
    const struct host_info *kept = procfs_host(p);
    assert_string_equal(kept->hostname, h.hostname);
    assert_true(kept->mem_total_bytes.known && kept->mem_total_bytes.v == h.mem_total_bytes.v);
    assert_true(kept->boot_time.known && kept->boot_time.v == h.boot_time.v);
    procfs_close(p);
}

static void test_fixture_user_process(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, 1234, &hp, &e), 0);
    assert_true(hp.exists);
    assert_int_equal(hp.pid, 1234);
    assert_string_equal(hp.name, "a) (b c");
    assert_int_equal(hp.state, 'R');
    assert_true(hp.ppid.known);
    assert_int_equal(hp.ppid.v, 1);
    /* status says 4000123; it is read when the directory's owner is root. */
    uid_t owner = fixture_owner(1234);
    bool status_read = owner == 0;
    assert_true(hp.uid.known);
    assert_int_equal(hp.uid.v, status_read ? 4000123 : owner);
    if (status_read && !getpwuid(4000123))
        assert_string_equal(hp.user, "4000123");
    assert_string_equal(hp.cmdline, "python3 train.py --epochs 10");
    assert_int_equal(hp.start_ticks, 9000000);
    assert_true(hp.cpu_ticks.known);
    assert_int_equal(hp.cpu_ticks.v, 200000);

    /* Times as ps derives them, for whatever tick rate this host has. */
    double hz = (double)ticks(), since_boot = 9000000 / hz;
    assert_true(hp.start_time.known);
    assert_near(hp.start_time.v, 1700000000.0 + since_boot, 1e-6);
    assert_true(hp.elapsed_s.known);
    assert_near(hp.elapsed_s.v, 100000.0 - since_boot, 1e-6);
    assert_true(hp.cpu_pct.known);
    if (hp.elapsed_s.v > 0)
        assert_near(hp.cpu_pct.v, 200000 / hz / hp.elapsed_s.v * 100.0, 1e-6);

    /* VmRSS when status was read, else stat's 2560 pages. */
    uint64_t rss = status_read ? 10240ull * 1024 : 2560ull * (uint64_t)sysconf(_SC_PAGESIZE);
    assert_true(hp.rss_bytes.known);
    assert_int_equal(hp.rss_bytes.v, rss);
    assert_true(hp.mem_pct.known);
    assert_near(hp.mem_pct.v, (double)rss / (16318276.0 * 1024) * 100.0, 1e-9);

    assert_int_equal(hp.container.kind, CONTAINER_SYSTEMD);
    assert_string_equal(hp.container.id, "session-3.scope");
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 0);
    model_host_process_clear(&hp);
    procfs_close(p);
}

static void test_fixture_init_and_kernel_thread(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };

    assert_int_equal(procfs_read_process(p, 1, &hp, &e), 0);
    assert_string_equal(hp.name, "systemd");
    assert_string_equal(hp.cmdline, "/sbin/init splash");
    if (fixture_owner(1) == 0) {
        assert_int_equal(hp.uid.v, 0);
        assert_string_equal(hp.user, "root");
    }
    assert_int_equal(hp.container.kind, CONTAINER_SYSTEMD);
    assert_string_equal(hp.container.id, "init.scope");
    model_host_process_clear(&hp);

    /* Kernel threads: bracketed like ps, no memory, no container. */
    assert_int_equal(procfs_read_process(p, 2, &hp, &e), 0);
    assert_string_equal(hp.name, "kthreadd");
    assert_string_equal(hp.cmdline, "[kthreadd]");
    assert_true(hp.rss_bytes.known);
    assert_int_equal(hp.rss_bytes.v, 0);
    assert_int_equal(hp.container.kind, CONTAINER_NONE);
    assert_int_equal(hp.ppid.v, 0);
    model_host_process_clear(&hp);
    procfs_close(p);
}

static void test_fixture_container_processes(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };

    /* Docker, with its own pid namespace seen through ns/pid. */
    assert_int_equal(procfs_read_process(p, 4242, &hp, &e), 0);
    assert_int_equal(hp.container.kind, CONTAINER_DOCKER);
    assert_string_equal(hp.container.id,
                        "3f2c9a81d4e6b7a0c5d8e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5");
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 1);
    assert_string_equal(hp.cmdline, "python -m vllm.entrypoints.api_server");
    model_host_process_clear(&hp);

    /* Kubernetes; no ns/pid link, so status is read and NSpid's two levels
     * decide; its real uid and VmRSS come along whoever owns the tree. */
    assert_int_equal(procfs_read_process(p, 7000, &hp, &e), 0);
    assert_true(hp.uid.known);
    assert_int_equal(hp.uid.v, 1000);
    assert_int_equal(hp.rss_bytes.v, 16384ull * 1024);
    assert_int_equal(hp.container.kind, CONTAINER_KUBERNETES);
    assert_string_equal(hp.container.pod_uid, "0125ec2f-b64a-4868-8f5b-94b56cbab864");
    assert_string_equal(hp.container.id,
                        "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459");
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 1);
    model_host_process_clear(&hp);
    procfs_close(p);
}

static void test_fixture_zombie(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, 5000, &hp, &e), 0);
    assert_true(hp.exists);
    assert_int_equal(hp.state, 'Z');
    assert_string_equal(hp.cmdline, "[defunct-child]");
    assert_true(hp.rss_bytes.known);
    assert_int_equal(hp.rss_bytes.v, 0);
    model_host_process_clear(&hp);
    procfs_close(p);
}

/* Only stat is there: everything else is unknown, the process still is. */
static void test_fixture_missing_files(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, 6000, &hp, &e), 0);
    assert_true(hp.exists);
    assert_string_equal(hp.name, "secretive");
    assert_null(hp.cmdline);
    assert_int_equal(hp.container.kind, CONTAINER_NONE);
    assert_false(hp.other_pidns.known);
    /* Without status: rss from stat pages, uid from the directory owner. */
    assert_true(hp.rss_bytes.known);
    assert_int_equal(hp.rss_bytes.v, 100ull * (uint64_t)sysconf(_SC_PAGESIZE));
    assert_true(hp.uid.known);
    assert_int_equal(hp.uid.v, fixture_owner(6000));
    model_host_process_clear(&hp);
    procfs_close(p);
}

/* Fields not asked for are not read and stay unknown. */
static void test_fixture_selected_fields(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process_fields(p, 4242, 0, &hp, &e), 0);
    assert_true(hp.exists);
    assert_string_equal(hp.name, "python");
    assert_true(hp.cpu_pct.known && hp.rss_bytes.known && hp.start_time.known);
    assert_null(hp.cmdline);
    assert_int_equal(hp.container.kind, CONTAINER_NONE);
    assert_false(hp.uid.known);
    assert_string_equal(hp.user, "");
    assert_false(hp.other_pidns.known);
    model_host_process_clear(&hp);

    assert_int_equal(procfs_read_process_fields(p, 7000, PROCFS_WANT_PIDNS, &hp, &e), 0);
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 1);
    assert_false(hp.uid.known);
    assert_null(hp.cmdline);
    model_host_process_clear(&hp);

    assert_int_equal(procfs_read_process_fields(p, 7000, PROCFS_WANT_USER | PROCFS_WANT_CONTAINER,
                                                &hp, &e),
                     0);
    assert_true(hp.uid.known);
    assert_int_equal(hp.container.kind, CONTAINER_KUBERNETES);
    assert_false(hp.other_pidns.known);
    assert_null(hp.cmdline);
    model_host_process_clear(&hp);
    procfs_close(p);
}

static void test_fixture_missing_and_bad_pids(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, 99999, &hp, &e), -ESRCH);
    assert_false(hp.exists);
    assert_int_equal(hp.pid, 99999);
    assert_non_null(strstr(e.msg, "99999"));
    assert_null(hp.cmdline);

    error_clear(&e);
    assert_int_equal(procfs_read_process(p, 7001, &hp, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "7001/stat"));
    assert_false(hp.exists);

    assert_int_equal(procfs_read_process(p, 0, &hp, &e), -EINVAL);
    assert_int_equal(procfs_read_process(p, -3, &hp, &e), -EINVAL);
    procfs_close(p);
}

static void test_fixture_list_pids(void **state)
{
    (void)state;
    pid_t *pids;
    size_t count;
    struct error e = { 0 };
    assert_int_equal(procfs_list_pids(&pids, &count, &e), 0);
    static const pid_t want[] = { 1, 2, 1234, 4242, 5000, 6000, 7000, 7001 };
    assert_int_equal(count, sizeof want / sizeof want[0]);
    assert_memory_equal(pids, want, sizeof want);
    free(pids);
}

static void test_fixture_user_cache(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    char name[64];
    procfs_user_name(p, 0, name, sizeof name);
    assert_string_equal(name, "root");
    procfs_user_name(p, 0, name, sizeof name);
    assert_string_equal(name, "root");
    if (!getpwuid(3999999)) {
        procfs_user_name(p, 3999999, name, sizeof name);
        assert_string_equal(name, "3999999");
    }
    char tiny[3];
    procfs_user_name(p, 0, tiny, sizeof tiny);
    assert_string_equal(tiny, "ro");
    procfs_close(p);
}

/* ---- trees built by the test: unreadable files, wrong roots ---- */

struct temp_tree {
    char root[64];
    char proc[128];
};

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void make_tree(struct temp_tree *t)
{
    snprintf(t->root, sizeof t->root, "/tmp/gpuctl-procfs-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->proc, sizeof t->proc, "%s/proc", t->root);
    assert_int_equal(mkdir(t->proc, 0755), 0);
    assert_int_equal(setenv("GPUCTL_PROC_ROOT", t->root, 1), 0);
}

static void remove_tree(const struct temp_tree *t)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' && rm -rf '%s'", t->root, t->root);
    assert_int_equal(system(cmd), 0);
}

static void test_unreadable_files(void **state)
{
    (void)state;
    struct temp_tree t;
    make_tree(&t);
    char pid_dir[256];
    snprintf(pid_dir, sizeof pid_dir, "%s/77", t.proc);
    assert_int_equal(mkdir(pid_dir, 0755), 0);
    static const char line[] = "77 (worker) S 1 77 77 0 -1 4194560 0 0 0 0 10 10 0 0 20 0 1 0 "
                               "500 1000 25 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0\n";
    write_file(pid_dir, "stat", line, sizeof line - 1);
    write_file(pid_dir, "cmdline", "worker\0--x\0", 11);
    /* A directory where a file should be fails every reader (root too). */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/status", pid_dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/cgroup", pid_dir);
    assert_int_equal(mkdir(sub, 0755), 0);

    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, 77, &hp, &e), 0);
    assert_true(hp.exists);
    assert_string_equal(hp.cmdline, "worker --x");
    assert_int_equal(hp.container.kind, CONTAINER_NONE);
    assert_true(hp.uid.known); /* from the directory's owner */
    assert_int_equal(hp.uid.v, geteuid());
    /* No host facts in this tree: derived fields are unknown, not zero. */
    assert_false(hp.start_time.known);
    assert_false(hp.elapsed_s.known);
    assert_false(hp.cpu_pct.known);
    assert_false(hp.mem_pct.known);
    assert_true(hp.cpu_ticks.known);
    model_host_process_clear(&hp);

    /* Permission denied, as for another user's files (root ignores modes). */
    if (geteuid() != 0) {
        char path[300];
        snprintf(path, sizeof path, "%s/cmdline", pid_dir);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(procfs_read_process(p, 77, &hp, &e), 0);
        assert_true(hp.exists);
        assert_null(hp.cmdline);
        model_host_process_clear(&hp);
        snprintf(path, sizeof path, "%s/stat", pid_dir);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(procfs_read_process(p, 77, &hp, &e), -EACCES);
        assert_non_null(strstr(e.msg, "77/stat"));
    }

    /* No host files: reading the host fails, naming the directory. */
    error_clear(&e);
    struct host_info h;
    assert_true(procfs_read_host(p, &h, &e) < 0);
    assert_non_null(strstr(e.msg, t.proc));
    assert_false(h.mem_total_bytes.known);
    assert_true(h.hostname[0] != '\0'); /* gethostname stands in */
    procfs_close(p);
    remove_tree(&t);
}

/* Who the process belongs to: the directory owner when that is not root and
 * the namespace link answers; status otherwise. */
static void test_owner_or_status_decides_uid(void **state)
{
    (void)state;
    struct temp_tree t;
    make_tree(&t);
    char dir[256], path[512];
    static const char *const dirs[] = { "self", "self/ns", "88", "88/ns" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", t.proc, dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    snprintf(path, sizeof path, "%s/self/ns/pid", t.proc);
    assert_int_equal(symlink("pid:[4026531836]", path), 0);
    snprintf(dir, sizeof dir, "%s/88", t.proc);
    snprintf(path, sizeof path, "%s/ns/pid", dir);
    assert_int_equal(symlink("pid:[4026531836]", path), 0);
    static const char line[] = "88 (job) S 1 88 88 0 -1 4194560 0 0 0 0 10 10 0 0 20 0 1 0 "
                               "500 1000 3 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0\n";
    static const char status[] = "Name:\tjob\nUid:\t555\t0\t0\t0\nNSpid:\t88\nVmRSS:\t  777 kB\n";
    write_file(dir, "stat", line, sizeof line - 1);
    write_file(dir, "status", status, sizeof status - 1);
    uid_t owner = geteuid() == 0 ? 4000321 : geteuid();
    if (geteuid() == 0)
        assert_int_equal(chown(dir, owner, (gid_t)-1), 0);

    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(procfs_read_process(p, 88, &hp, &e), 0);
    assert_int_equal(hp.uid.v, owner);
    assert_int_equal(hp.other_pidns.v, 0);
    assert_int_equal(hp.rss_bytes.v, 3 * page); /* status was not read */
    model_host_process_clear(&hp);

    /* No namespace link: status answers both questions. */
    snprintf(path, sizeof path, "%s/ns/pid", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(procfs_read_process(p, 88, &hp, &e), 0);
    assert_int_equal(hp.uid.v, 555);
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 0);
    assert_int_equal(hp.rss_bytes.v, 777 * 1024);
    model_host_process_clear(&hp);

    /* A root-owned directory is not believed (non-dumpable processes). */
    if (geteuid() == 0) {
        assert_int_equal(symlink("pid:[4026531836]", path), 0);
        assert_int_equal(chown(dir, 0, (gid_t)-1), 0);
        assert_int_equal(procfs_read_process(p, 88, &hp, &e), 0);
        assert_int_equal(hp.uid.v, 555);
        model_host_process_clear(&hp);
    }
    procfs_close(p);
    remove_tree(&t);
}

/* Host facts: none before the first reading; uptime moves on each reading
 * while the boot time is taken once. */
static void test_host_rereads_but_keeps_boot_time(void **state)
{
    (void)state;
    struct temp_tree t;
    make_tree(&t);
    write_file(t.proc, "uptime", "50.00 90.00\n", strlen("50.00 90.00\n"));
    write_file(t.proc, "stat", "cpu  1 2 3 4\nbtime 1600000000\n",
               strlen("cpu  1 2 3 4\nbtime 1600000000\n"));
    struct procfs *p = open_procfs();
    assert_false(procfs_host(p)->uptime_s.known);
    assert_false(procfs_host(p)->boot_time.known);

    struct host_info h;
    struct error e = { 0 };
    assert_int_equal(procfs_read_host(p, &h, &e), 0);
    assert_true(h.uptime_s.v == 50.0);
    assert_true(h.boot_time.v == 1600000000.0);
    assert_false(h.mem_total_bytes.known); /* no meminfo in this tree */

    write_file(t.proc, "uptime", "60.00 95.00\n", strlen("60.00 95.00\n"));
    write_file(t.proc, "stat", "cpu  1 2 3 4\nbtime 1600000099\n",
               strlen("cpu  1 2 3 4\nbtime 1600000099\n"));
    assert_int_equal(procfs_read_host(p, &h, &e), 0);
    assert_true(h.uptime_s.v == 60.0);
    assert_true(h.boot_time.v == 1600000000.0);
    assert_true(procfs_host(p)->uptime_s.v == 60.0);
    procfs_close(p);

    /* A process read before any host reading brings one along. */
    char dir[256];
    snprintf(dir, sizeof dir, "%s/9", t.proc);
    assert_int_equal(mkdir(dir, 0755), 0);
    static const char line[] = "9 (w) S 1 9 9 0 -1 0 0 0 0 0 300 100 0 0 20 0 1 0 2000 0 0\n";
    write_file(dir, "stat", line, sizeof line - 1);
    p = open_procfs();
    struct host_process hp;
    assert_int_equal(procfs_read_process(p, 9, &hp, &e), 0);
    double hz = (double)ticks();
    assert_true(hp.start_time.known);
    assert_near(hp.start_time.v, 1600000099.0 + 2000 / hz, 1e-6);
    assert_true(hp.elapsed_s.known);
    assert_near(hp.elapsed_s.v, 60.0 > 2000 / hz ? 60.0 - 2000 / hz : 0.0, 1e-6);
    model_host_process_clear(&hp);
    procfs_close(p);
    remove_tree(&t);
}

static void test_missing_root(void **state)
{
    (void)state;
    assert_int_equal(setenv("GPUCTL_PROC_ROOT", "/nonexistent/gpuctl-root", 1), 0);
    struct procfs *p = (struct procfs *)1;
    struct error e = { 0 };
    assert_int_equal(procfs_open(&p, &e), -ENOENT);
    assert_null(p);
    assert_non_null(strstr(e.msg, "/nonexistent/gpuctl-root/proc"));
    pid_t *pids = (pid_t *)1;
    size_t count = 5;
    assert_int_equal(procfs_list_pids(&pids, &count, &e), -ENOENT);
    assert_null(pids);
    assert_int_equal(count, 0);
    procfs_close(NULL);
}

/* ---- the real /proc ---- */

static void test_real_own_process(void **state)
{
    (void)state;
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, getpid(), &hp, &e), 0);
    assert_true(hp.exists);
    assert_string_equal(hp.name, "test_procfs");
    assert_non_null(hp.cmdline);
    assert_non_null(strstr(hp.cmdline, "test_procfs"));
    assert_int_equal(hp.state, 'R');
    assert_int_equal(hp.ppid.v, getppid());
    assert_int_equal(hp.uid.v, getuid());
    assert_true(hp.user[0] != '\0');
    assert_true(hp.rss_bytes.known && hp.rss_bytes.v > 0);
    assert_true(hp.mem_pct.known && hp.mem_pct.v > 0 && hp.mem_pct.v < 100);
    assert_true(hp.other_pidns.known);
    assert_int_equal(hp.other_pidns.v, 0);
    /* Started a moment ago: within a day of now, lenient for odd clocks. */
    assert_true(hp.start_time.known);
    double now = (double)time(NULL);
    assert_true(hp.start_time.v > now - 86400 && hp.start_time.v < now + 86400);
    assert_true(hp.elapsed_s.known && hp.elapsed_s.v >= 0);
    model_host_process_clear(&hp);

    pid_t *pids;
    size_t count;
    assert_int_equal(procfs_list_pids(&pids, &count, &e), 0);
    bool found = false;
    for (size_t i = 0; i < count; i++) {
        found |= pids[i] == getpid();
        if (i > 0)
            assert_true(pids[i - 1] < pids[i]);
    }
    assert_true(found);
    free(pids);
    procfs_close(p);
}

/* A pid whose process has exited and been reaped reads as gone. */
static void test_real_vanished_process(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    struct procfs *p = open_procfs();
    struct host_process hp;
    struct error e = { 0 };
    assert_int_equal(procfs_read_process(p, child, &hp, &e), -ESRCH);
    assert_false(hp.exists);
    procfs_close(p);
}

static void test_cpu_times(void **state)
{
    (void)state;
    struct procfs_cpu_times t;
    const char *stat = "cpu  1000 20 300 400000 50 0 10 5 7 0\ncpu0 1 2 3 4\n";
    assert_int_equal(procfs_parse_cpu_times(stat, strlen(stat), &t), 0);
    assert_int_equal(t.busy_ticks, 1000 + 20 + 300 + 0 + 10 + 5);
    assert_int_equal(t.total_ticks, 1000 + 20 + 300 + 400000 + 50 + 0 + 10 + 5);
    /* an old kernel with four fields, no newline */
    assert_int_equal(procfs_parse_cpu_times("cpu 1 2 3 4", 11, &t), 0);
    assert_int_equal(t.total_ticks, 10);
    assert_int_equal(t.busy_ticks, 6);
    /* the length is honoured: the line is cut inside the third field */
    assert_int_equal(procfs_parse_cpu_times(stat, 12, &t), -ERROR_PARSE);
    assert_int_equal(procfs_parse_cpu_times("cpu 1 2 x 4\n", 12, &t), -ERROR_PARSE);
    assert_int_equal(procfs_parse_cpu_times("cpu0 1 2 3 4\n", 13, &t), -ENOENT);
    assert_int_equal(procfs_parse_cpu_times("", 0, &t), -ENOENT);
    const char *huge = "cpu 99999999999999999999 1 1 1\n";
    assert_int_equal(procfs_parse_cpu_times(huge, strlen(huge), &t), -ERROR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_real_line),
        cmocka_unit_test(test_stat_kernel_thread),
        cmocka_unit_test(test_stat_comm_with_parentheses),
        cmocka_unit_test(test_stat_comm_with_newline_and_empty),
        cmocka_unit_test(test_stat_long_comm_is_cut),
        cmocka_unit_test(test_stat_huge_values),
        cmocka_unit_test(test_stat_truncated),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_status_real),
        cmocka_unit_test(test_status_kernel_thread_and_namespaces),
        cmocka_unit_test(test_status_malformed),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_uptime_loadavg_btime),
        cmocka_unit_test(test_cmdline_join),
        cmocka_unit_test_setup(test_fixture_host, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_user_process, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_init_and_kernel_thread, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_container_processes, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_zombie, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_missing_files, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_selected_fields, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_missing_and_bad_pids, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_list_pids, use_fixture_root),
        cmocka_unit_test_setup(test_fixture_user_cache, use_fixture_root),
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_owner_or_status_decides_uid),
        cmocka_unit_test(test_host_rereads_but_keeps_boot_time),
        cmocka_unit_test(test_missing_root),
        cmocka_unit_test(test_cpu_times),
        cmocka_unit_test_setup(test_real_own_process, use_real_root),
        cmocka_unit_test_setup(test_real_vanished_process, use_real_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
