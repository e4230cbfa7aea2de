/* test_run_parsers.c - the small formats `gpuctl run` reads: children
 * lists, the Pss line of smaps_rollup, /proc/self/cgroup for the job's
 * cgroup, and taskstats exit records as the kernel sends them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

#include "jobs/exitwatch.h"
#include "jobs/jobcg.h"
#include "jobs/proctree.h"

/* Exact-size heap copies so ASan sees any read past the end. */
static char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

static int children(const char *text, struct pid_list *out)
{
    char *c = dup_exact(text, strlen(text));
    int rc = proctree_parse_children(c, strlen(text), out);
    free(c);
    return rc;
}

static void test_children(void **state)
{
    (void)state;
    struct pid_list l = {0};
    assert_int_equal(children("", &l), 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(children("12 345 6789 ", &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[0], 12);
    assert_int_equal(l.items[2], 6789);
    assert_int_equal(children("4194304\n", &l), 0);
    assert_int_equal(l.items[3], 4194304);
    assert_int_equal(children("12 x3", &l), -ERROR_PARSE);
    assert_int_equal(children("0 ", &l), -ERROR_PARSE);
    assert_int_equal(children("-1", &l), -ERROR_PARSE);
    assert_int_equal(children("99999999999", &l), -ERROR_PARSE);
    pid_list_free(&l);
    assert_null(l.items);
}

static int pss(const char *text, uint64_t *v)
{
    char *c = dup_exact(text, strlen(text));
    int rc = proctree_parse_pss(c, strlen(text), v);
    free(c);
    return rc;
}

static void test_pss(void **state)
{
    (void)state;
    uint64_t v = 0;
    const char *rollup =
        "55a4c0a00000-7ffd2c5f8000 ---p 00000000 00:00 0                          [rollup]\n"
        "Rss:               65868 kB\nPss:               64123 kB\nPss_Dirty:         "
        "64000 kB\nPss_Anon:          63000 kB\n";
    assert_int_equal(pss(rollup, &v), 0);
    assert_int_equal(v, 64123);
    assert_int_equal(pss("Rss: 1 kB\n", &v), -ENOENT);
    assert_int_equal(pss("", &v), -ENOENT);
    assert_int_equal(pss("Pss: kB\n", &v), -ERROR_PARSE);
    assert_int_equal(pss("Pss:  12x kB\n", &v), -ERROR_PARSE);
    assert_int_equal(pss("Pss:\t7", &v), 0);
    assert_int_equal(v, 7);
}

static void test_statm(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(proctree_parse_statm("2585 1638 1380 12 0 219 0\n", 27, &v), 0);
    assert_int_equal(v, 1638);
    assert_int_equal(proctree_parse_statm("0 0 0 0 0 0 0\n", 14, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(proctree_parse_statm("2585", 4, &v), -ERROR_PARSE);
    assert_int_equal(proctree_parse_statm("2585 x", 6, &v), -ERROR_PARSE);
    assert_int_equal(proctree_parse_statm(" 1 2", 4, &v), -ERROR_PARSE);
    assert_int_equal(proctree_parse_statm("1 2", 3, &v), 0);
    assert_int_equal(v, 2);
}

static int self_path(const char *text, int version, char *out, size_t size)
{
    char *c = dup_exact(text, strlen(text));
    int rc = jobcg_parse_self(c, strlen(text), version, out, size);
    free(c);
    return rc;
}

static void test_cgroup_self(void **state)
{
    (void)state;
    char p[256];
    const char *hybrid = "9:name=systemd:/\n4:memory:/process_api/3f49\n3:cpuset:/\n0::/\n";
    assert_int_equal(self_path(hybrid, 2, p, sizeof p), 0);
    assert_string_equal(p, "/");
    assert_int_equal(self_path(hybrid, 1, p, sizeof p), 0);
    assert_string_equal(p, "/process_api/3f49");
    assert_int_equal(self_path("0::/user.slice/user-1000.slice/session-2.scope\n", 2, p,
                               sizeof p), 0);
    assert_string_equal(p, "/user.slice/user-1000.slice/session-2.scope");
    assert_int_equal(self_path("0::/user.slice\n", 1, p, sizeof p), -ENOENT);
    assert_int_equal(self_path("7:cpu,memory:/a\n", 1, p, sizeof p), 0);
    assert_string_equal(p, "/a");
    assert_int_equal(self_path("7:memoryx:/a\n", 1, p, sizeof p), -ENOENT);
    assert_int_equal(self_path("garbage\n", 2, p, sizeof p), -ERROR_PARSE);
    assert_int_equal(self_path("0::relative\n", 2, p, sizeof p), -ERROR_PARSE);
    assert_int_equal(self_path("0::/a/../../etc\n", 2, p, sizeof p), -ERROR_PARSE);
    assert_int_equal(self_path("0::/abcdef\n", 2, p, 4), -ERROR_PARSE);
}

static int anon_of(const char *text, int version, uint64_t *v)
{
    char *c = dup_exact(text, strlen(text));
    int rc = jobcg_parse_anon(c, strlen(text), version, v);
    free(c);
    return rc;
}

/* The RAM a job needs is its anonymous and shmem memory: the page cache
 * (cache, file) and the huge-page split lines are no part of it. */
static void test_cgroup_anon_and_shmem_without_the_page_cache(void **state)
{
    (void)state;
    uint64_t v = 0;
    static const char v1[] = "cache 419430400\nrss 2097152\nrss_huge 0\nshmem 0\n"
                             "total_cache 419430400\ntotal_rss 3145728\ntotal_rss_huge 2097152\n"
                             "total_shmem 1048576\ntotal_mapped_file 0\n";
    assert_int_equal(anon_of(v1, 1, &v), 0);
    assert_int_equal(v, 3145728 + 1048576);
    static const char v2[] = "anon 5242880\nfile 419430400\nkernel 123\nanon_thp 2097152\n"
                             "shmem 4096\nshmem_thp 0\n";
    assert_int_equal(anon_of(v2, 2, &v), 0);
    assert_int_equal(v, 5242880 + 4096);
    assert_int_equal(anon_of("anon 7\n", 2, &v), 0);           /* no shmem line: 0 */
    assert_int_equal(v, 7);
    assert_int_equal(anon_of("file 7\n", 2, &v), -ENOENT);
    assert_int_equal(anon_of("anon x\n", 2, &v), -ERROR_PARSE);
    assert_int_equal(anon_of("anon 1\nshmem 2x\n", 2, &v), -ERROR_PARSE);
    assert_int_equal(anon_of("anon 99999999999999999999999\n", 2, &v), -ERROR_PARSE);
    assert_int_equal(anon_of("anon 5", 2, &v), 0);              /* cut at the end */
    assert_int_equal(v, 5);
}

/* Found by libFuzzer: an empty line used to end the search with success
 * and an untouched (uninitialised) path. */
static void test_cgroup_self_empty_lines_name_nothing(void **state)
{
    (void)state;
    char p[64];
    assert_int_equal(self_path("\n", 2, p, sizeof p), -ENOENT);
    assert_int_equal(self_path("\n", 1, p, sizeof p), -ENOENT);
    assert_int_equal(self_path("\n\n0::/job\n", 2, p, sizeof p), 0);
    assert_string_equal(p, "/job");
    assert_int_equal(self_path("\n4:memory:/m\n", 1, p, sizeof p), 0);
    assert_string_equal(p, "/m");
}

/* ---- taskstats ------------------------------------------------------------------------ */

struct collected {
    struct exit_record recs[8];
    int n;
};

static void collect(const struct exit_record *rec, void *arg)
{
    struct collected *c = arg;
    if (c->n < 8)
        c->recs[c->n++] = *rec;
}

static size_t put_attr(char *at, uint16_t type, const void *data, size_t len)
{
    struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
    memcpy(at, &a, sizeof a);
    if (data)
        memcpy(at + NLA_HDRLEN, data, len);
    return NLA_ALIGN(NLA_HDRLEN + len);
}

/* One message as the kernel's taskstats_exit sends it: AGGR_PID nesting
 * the pid and the stats, sized to stats_len (an older kernel sends less). */
static size_t exit_message(char *buf, uint32_t pid, uint32_t tgid, uint32_t ppid,
                           uint64_t hiwater, size_t stats_len)
{
    struct taskstats ts;
    memset(&ts, 0, sizeof ts);
    ts.version = TASKSTATS_VERSION;
    ts.ac_pid = pid;
    ts.ac_tgid = tgid;
    ts.ac_ppid = ppid;
    ts.hiwater_rss = hiwater;
    ts.ac_btime = 1700000000;
    memcpy(ts.ac_comm, "worker", 7);
    char nest[1024];
    size_t n = put_attr(nest, TASKSTATS_TYPE_PID, &pid, sizeof pid);
    n += put_attr(nest + n, TASKSTATS_TYPE_STATS, &ts, stats_len);
    struct nlmsghdr h = {.nlmsg_type = 0x1a};
    struct genlmsghdr g = {.cmd = TASKSTATS_CMD_NEW, .version = 1};
    size_t off = NLMSG_LENGTH(GENL_HDRLEN);
    off += put_attr(buf + off, TASKSTATS_TYPE_AGGR_PID | NLA_F_NESTED, nest, n);
    off += put_attr(buf + off, TASKSTATS_TYPE_NULL, NULL, 0);
    h.nlmsg_len = (uint32_t)off;
    memcpy(buf, &h, sizeof h);
    memcpy(buf + NLMSG_HDRLEN, &g, sizeof g);
    return NLMSG_ALIGN(off);
}

static void test_exit_records(void **state)
{
    (void)state;
    char buf[4096];
    size_t n = exit_message(buf, 4242, 4242, 4000, 206188, sizeof(struct taskstats));
    n += exit_message(buf + n, 4243, 4242, 4000, 1024, sizeof(struct taskstats));
    struct collected c = {0};
    char *exact = dup_exact(buf, n);
    assert_int_equal(exitwatch_parse(exact, n, collect, &c), 2);
    free(exact);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.recs[0].pid, 4242);
    assert_int_equal(c.recs[0].tgid, 4242);
    assert_int_equal(c.recs[0].ppid, 4000);
    assert_int_equal(c.recs[0].hiwater_rss_kib, 206188);
    assert_int_equal(c.recs[0].btime, 1700000000);
    assert_string_equal(c.recs[0].comm, "worker");
    assert_int_equal(c.recs[1].pid, 4243);      /* a thread of 4242 */
    assert_int_equal(c.recs[1].tgid, 4242);

    /* A kernel whose struct ends before ac_tgid: the record still counts. */
    size_t old = offsetof(struct taskstats, ac_tgid);
    n = exit_message(buf, 77, 77, 1, 5, old);
    c.n = 0;
    assert_int_equal(exitwatch_parse(buf, n, collect, &c), 1);
    assert_int_equal(c.recs[0].tgid, 0);

    /* Too short to hold hiwater_rss; lengths that overrun the datagram. */
    n = exit_message(buf, 77, 77, 1, 5, 16);
    assert_int_equal(exitwatch_parse(buf, n, collect, &c), -ERROR_PARSE);
    n = exit_message(buf, 77, 77, 1, 5, sizeof(struct taskstats));
    assert_int_equal(exitwatch_parse(buf, n - 8, collect, &c), -ERROR_PARSE);
    assert_int_equal(exitwatch_parse(buf, 3, collect, &c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_children),
        cmocka_unit_test(test_pss),
        cmocka_unit_test(test_statm),
        cmocka_unit_test(test_cgroup_self),
        cmocka_unit_test(test_cgroup_self_empty_lines_name_nothing),
        cmocka_unit_test(test_cgroup_anon_and_shmem_without_the_page_cache),
        cmocka_unit_test(test_exit_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
