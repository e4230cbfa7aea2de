/* test_trace.c - the flight recorder without CUDA: JSON encoding and
 * escaping, the analyzer's line parser, scope attribution, the collector
 * end to end with a stand-in activity source, log rotation, and the
 * analyzer's figures against hand-computed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/analyze.h"
#include "trace/collector.h"
#include "trace/json.h"
#include "trace/ndjson.h"
#include "trace/recorder.h"
#include "trace/system.h"

static char tmpdir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gpuctl-test-trace-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- encoding ------------------------------------------------------------------- */

static void test_json_escaping(void **state)
{
    (void)state;
    struct tjson j;
    tjson_init(&j);
    const char name[] = "a\"b\\c\n\x01\x7f\xff\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80";
    tjson_open(&j, '{');
    tjson_kstrn(&j, "name", name, sizeof name - 1);
    tjson_kf64(&j, "nan", NAN);
    tjson_kf64(&j, "inf", INFINITY);
    tjson_kf64(&j, "x", 1.5);
    tjson_ku64(&j, "big", UINT64_MAX);
    tjson_key(&j, "arr");
    tjson_open(&j, '[');
    tjson_elem_str(&j, "p", 1);
    tjson_elem_str(&j, "q", 1);
    tjson_close(&j, ']');
    tjson_knull(&j, "n");
    tjson_close(&j, '}');
    assert_false(j.oom);
    assert_string_equal(j.p, "{\"name\":\"a\\\"b\\\\c\\n\\u0001\\u007f\\ufffd\xc3\xa9 \xe2\x82\xac "
                             "\xf0\x9f\x98\x80 \\ufffd\\ufffd\\ufffd\",\"nan\":null,\"inf\":null,"
                             "\"x\":1.5,\"big\":18446744073709551615,\"arr\":[\"p\",\"q\"],"
                             "\"n\":null}");
    /* and the analyzer's parser reads back exactly what went in */
    struct ndj_line l;
    ndj_line_init(&l);
    assert_int_equal(ndj_parse(&l, j.p, j.len), 0);
    const char *back = ndj_str(&l, "name");
    assert_non_null(back);
    assert_string_equal(back, "a\"b\\c\n\x01\x7f\xef\xbf\xbd\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    const struct ndj_field *arr = ndj_get(&l, "arr");
    assert_non_null(arr);
    assert_int_equal(arr->type, NDJ_STR_ARRAY);
    assert_int_equal(arr->count, 2);
    assert_null(ndj_str(&l, "nan"));
    ndj_line_free(&l);
    tjson_free(&j);
}

static void test_ndjson_parser(void **state)
{
    (void)state;
    struct ndj_line l;
    ndj_line_init(&l);
    static const char *const good[] = {
        "{}", " {\"a\":1} ", "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"\\ud83d\\ude00\"}",
        "{\"g\":[128,1,1],\"e\":-1.5e3,\"t\":true,\"f\":false}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(ndj_parse(&l, good[i], strlen(good[i])), 0);
    const struct ndj_field *g = ndj_get(&l, "g");
    assert_int_equal(g->type, NDJ_INT_ARRAY);
    assert_int_equal(g->ints[0], 128);
    double e;
    assert_true(ndj_num(&l, "e", &e));
    assert_true(e == -1500.0);
    static const char *const bad[] = {
        "", "[1]", "{", "{\"a\":1", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
        "{\"a\":\"x}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\x\"}", "{\"a\":tru}", "{\"a\":1}x",
        "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{a:1}", "{\"a\" 1}", "{\"a\":1e999}",
        "{\"type\":\"kernel\",\"name\":\"k\",\"start_ns\":1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ndj_parse(&l, bad[i], strlen(bad[i])), -1);
    /* never reads past the length it was given */
    const char cut[] = "{\"a\":1}";
    assert_int_equal(ndj_parse(&l, cut, 6), -1);
    ndj_line_free(&l);
}

static void test_cpu_stat(void **state)
{
    (void)state;
    const char line[] = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n";
    uint64_t busy, total;
    assert_int_equal(trace_parse_cpu_stat(line, sizeof line - 1, &busy, &total), 0);
    assert_int_equal(total, 1000);
    assert_int_equal(busy, 160);
    assert_int_equal(trace_parse_cpu_stat("cpu0 1 2 3 4", 12, &busy, &total), -ERROR_PARSE);
    assert_int_equal(trace_parse_cpu_stat("cpu  1 2", 8, &busy, &total), -ERROR_PARSE);
}

/* ---- scopes and attribution ----------------------------------------------------- */

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void init_rt(struct trace_rt *rt, unsigned ring_mb)
{
    struct trace_config cfg;
    struct error e = {0};
    assert_int_equal(trace_config_load(&cfg, no_env, &e), 0);
    snprintf(cfg.dir, sizeof cfg.dir, "%s", tmpdir);
    cfg.ring_mb = ring_mb;
    cfg.system_interval_ms = 0;
    assert_int_equal(trace_rt_init(rt, &cfg, &e), 0);
}

static void expect_path(struct trace_rt *rt, uint32_t node, int n, const char *const *want)
{
    const char *names[TRACE_MAX_DEPTH];
    size_t lens[TRACE_MAX_DEPTH];
    assert_int_equal(trace_path(rt, node, names, lens, TRACE_MAX_DEPTH), n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(lens[i], strlen(want[i]));
        assert_memory_equal(names[i], want[i], lens[i]);
    }
}

struct launcher {
    struct trace_rt *rt;
    uint32_t corr;
};

static void *launch_outside_scopes(void *arg)
{
    struct launcher *l = arg;
    trace_attrib_launch(l->rt, l->corr);   /* this thread has no scope open */
    return NULL;
}

static void test_scope_attribution(void **state)
{
    (void)state;
    struct trace_rt rt;
    init_rt(&rt, 1);
    atomic_store(&rt.running, 1);
    trace_scope_begin(&rt, "train", 5, 100);
    trace_attrib_launch(&rt, 7);
    trace_scope_begin(&rt, "step", 4, 110);
    trace_scope_begin(&rt, "forward", 7, 120);
    trace_attrib_launch(&rt, 8);
    trace_scope_end(&rt, 130);
    trace_attrib_launch(&rt, 9);
    /* another thread launching at the same time is not in these scopes */
    struct launcher other = {&rt, 10};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, launch_outside_scopes, &other), 0);
    pthread_join(t, NULL);
    trace_scope_end(&rt, 140);
    trace_scope_end(&rt, 150);
    trace_scope_end(&rt, 160);       /* one end too many: ignored */
    trace_attrib_launch(&rt, 11);

    static const char *const p7[] = {"train"}, *const p8[] = {"train", "step", "forward"},
                             *const p9[] = {"train", "step"};
    expect_path(&rt, (uint32_t)trace_attrib_lookup(&rt, 7), 1, p7);
    expect_path(&rt, (uint32_t)trace_attrib_lookup(&rt, 8), 3, p8);
    expect_path(&rt, (uint32_t)trace_attrib_lookup(&rt, 9), 2, p9);
    assert_int_equal(trace_attrib_lookup(&rt, 10), 0);     /* root: no scope */
    assert_int_equal(trace_attrib_lookup(&rt, 11), 0);
    assert_int_equal(trace_attrib_lookup(&rt, 12), -1);    /* never launched */
    /* a launch TRACE_ATTRIB_SLOTS later takes the slot */
    trace_attrib_launch(&rt, 7 + TRACE_ATTRIB_SLOTS);
    assert_int_equal(trace_attrib_lookup(&rt, 7), -1);

    /* three closed scopes in the ring, innermost first */
    struct trace_rec r;
    assert_true(trace_ring_pop(&rt.ring, &r));
    assert_int_equal(r.depth, 3);
    assert_int_equal(r.start_ns, 120);
    assert_int_equal(r.end_ns, 130);
    expect_path(&rt, r.node, 3, p8);
    assert_true(trace_ring_pop(&rt.ring, &r));
    assert_int_equal(r.depth, 2);
    assert_true(trace_ring_pop(&rt.ring, &r));
    assert_int_equal(r.depth, 1);
    assert_int_equal(r.end_ns, 150);
    assert_false(trace_ring_pop(&rt.ring, &r));
    trace_rt_destroy(&rt);
}

static void test_scope_depth_limit(void **state)
{
    (void)state;
    struct trace_rt rt;
    init_rt(&rt, 1);
    atomic_store(&rt.running, 1);
    for (int i = 0; i < TRACE_MAX_DEPTH + 3; i++)
        trace_scope_begin(&rt, "d", 1, (uint64_t)i);
    assert_int_equal(trace_scope_depth(), TRACE_MAX_DEPTH + 3);
    for (int i = 0; i < TRACE_MAX_DEPTH + 3; i++)
        trace_scope_end(&rt, 1000);
    assert_int_equal(trace_scope_depth(), 0);
    assert_int_equal(atomic_load(&rt.depth_overflow), 1);
    size_t n = 0;
    struct trace_rec r;
    while (trace_ring_pop(&rt.ring, &r))
        n++;
    assert_int_equal(n, TRACE_MAX_DEPTH);
    trace_rt_destroy(&rt);
}

static void test_config_env(void **state)
{
    (void)state;
    struct trace_config c;
    struct error e = {0};
    assert_int_equal(trace_config_load(&c, no_env, &e), 0);
    assert_int_equal(c.ring_mb, 16);
    assert_int_equal(c.system_interval_ms, 100);
    assert_int_equal(c.flush_ms, 250);
    assert_int_equal(c.kinds, TRACE_KIND_ALL);
    unsigned k;
    assert_int_equal(trace_kinds_parse("kernel,scope", &k, &e), 0);
    assert_int_equal(k, TRACE_KIND_KERNEL | TRACE_KIND_SCOPE);
    assert_int_equal(trace_kinds_parse("kernel,bogus", &k, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "bogus"));
}

/* ---- the collector with a stand-in activity source ------------------------------ */

static struct trace_rt *fake_rt;

static void fake_poll(void *ctx, struct trace_collector *c, bool flush)
{
    int *calls = ctx;
    if (!flush || (*calls)++)
        return;
    struct trace_kernel k = {
        .name = "_Z4gemmPf\"", .start_ns = 1000, .end_ns = 3000, .device = 0, .stream = 7,
        .correlation = 42, .grid = {128, 1, 1}, .block = {256, 1, 1}, .registers = 32,
        .static_smem = 1024, .dynamic_smem = 0,
    };
    trace_collector_kernel(c, &k);
    k.correlation = 43;          /* never launched through a callback: unattributed */
    trace_collector_kernel(c, &k);
    struct trace_copy m = {.kind = "HtoD", .bytes = 4096, .start_ns = 500, .end_ns = 900};
    trace_collector_copy(c, &m);
}

static uint64_t fake_dropped(void *ctx)
{
    (void)ctx;
    return 3;
}

static char *fake_demangle(void *ctx, const char *name)
{
    (void)ctx;
    return strncmp(name, "_Z", 2) == 0 ? strdup("gemm(float*)") : NULL;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_collector_end_to_end(void **state)
{
    (void)state;
    struct trace_rt rt;
    init_rt(&rt, 1);
    fake_rt = &rt;
    int calls = 0;
    struct trace_activity_ops ops = {fake_poll, fake_dropped, fake_demangle, &calls};
    struct trace_collector_info info = {&ops, {1, 2, "monotonic", 0}, NULL, "test"};
    struct trace_collector *c;
    struct error e = {0};
    assert_int_equal(trace_collector_open(&c, &rt, &info, &e), 0);
    trace_scope_begin(&rt, "epoch", 5, 100);
    trace_attrib_launch(&rt, 42);
    trace_scope_end(&rt, 5000);
    assert_int_equal(trace_collector_stop(c), 0);
    struct trace_counts n;
    trace_collector_counts(c, &n);
    assert_int_equal(n.kernels, 2);
    assert_int_equal(n.memcpys, 1);
    assert_int_equal(n.scopes, 1);
    assert_int_equal(n.unattributed, 1);
    assert_int_equal(n.activity_drops, 3);       /* one poll: the final one */
    trace_collector_free(c);

    char path[512];
    snprintf(path, sizeof path, "%s/gpuctl-trace.kernel.ndjson", tmpdir);
    char *text = read_all(path);
    assert_non_null(strstr(text, "{\"type\":\"header\",\"version\":1,\"log\":\"kernel\""));
    assert_non_null(strstr(text, "\"name\":\"_Z4gemmPf\\\"\",\"demangled\":\"gemm(float*)\","
                                 "\"start_ns\":1000,\"end_ns\":3000,\"duration_ns\":2000,"
                                 "\"device\":0,\"context\":0,\"stream\":7,\"correlation\":42,"
                                 "\"grid\":[128,1,1],\"block\":[256,1,1],\"registers\":32,"
                                 "\"static_smem\":1024,\"dynamic_smem\":0,"
                                 "\"local_mem_per_thread\":0,\"scope\":[\"epoch\"]}"));
    assert_non_null(strstr(text, "\"correlation\":43,"));
    assert_non_null(strstr(text, "\"scope\":null}"));
    assert_non_null(strstr(text, "{\"type\":\"memcpy\",\"kind\":\"HtoD\",\"bytes\":4096"));
    assert_non_null(strstr(text, "\"ring_drops\":0,\"cupti_drops\":3"));
    /* every line is valid JSON */
    struct ndj_line l;
    ndj_line_init(&l);
    size_t lines = 0;
    for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++)
        assert_int_equal(ndj_parse(&l, p, (size_t)(nl - p)), 0);
    assert_int_equal(lines, 5);   /* header, 2 kernels, memcpy, summary */
    ndj_line_free(&l);
    free(text);
    snprintf(path, sizeof path, "%s/gpuctl-trace.scope.ndjson", tmpdir);
    text = read_all(path);
    assert_non_null(strstr(text, "{\"type\":\"scope\",\"name\":\"epoch\",\"path\":[\"epoch\"],"
                                 "\"depth\":1,\"thread\":"));
    assert_non_null(strstr(text, "\"start_ns\":100,\"end_ns\":5000,\"duration_ns\":4900}"));
    free(text);

    /* a second recorder with the same prefix does not overwrite: it takes <prefix>-<pid> */
    struct trace_collector *c2;
    assert_int_equal(trace_collector_open(&c2, &rt, &info, &e), 0);
    char want[64];
    snprintf(want, sizeof want, "gpuctl-trace-%d", (int)getpid());
    assert_string_equal(trace_collector_prefix(c2), want);
    trace_collector_stop(c2);
    trace_collector_free(c2);
    trace_rt_destroy(&rt);
}

static void test_log_rotation(void **state)
{
    (void)state;
    struct trace_log lg;
    struct error e = {0};
    assert_int_equal(trace_log_open(&lg, tmpdir, "rot", "kernel", 200, &e), 0);
    assert_int_equal(trace_log_header(&lg, "{\"type\":\"header\"}", 17), 0);
    char line[64];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(line, sizeof line, "{\"type\":\"x\",\"i\":%d,\"pad\":\"0123456789\"}", i);
        assert_int_equal(trace_log_line(&lg, line, (size_t)n), 0);
    }
    assert_int_equal(trace_log_close(&lg), 0);
    assert_true(lg.rotations >= 3);
    char **files;
    size_t count;
    assert_int_equal(analyze_find_files(tmpdir, "rot", &files, &count, &e), 0);
    assert_int_equal(count, lg.rotations + 1);
    /* oldest first, the live file last; each starts with the header */
    char want[512];
    snprintf(want, sizeof want, "%s/rot.kernel.1.ndjson", tmpdir);
    assert_string_equal(files[0], want);
    snprintf(want, sizeof want, "%s/rot.kernel.ndjson", tmpdir);
    assert_string_equal(files[count - 1], want);
    int expect = 0;
    for (size_t f = 0; f < count; f++) {
        char *text = read_all(files[f]);
        assert_memory_equal(text, "{\"type\":\"header\"}\n", 18);
        for (char *p = text; (p = strstr(p, "\"i\":")); p += 4)
            assert_int_equal(atoi(p + 4), expect++);
        free(text);
    }
    assert_int_equal(expect, 20);
    analyze_files_free(files, count);
}

/* ---- the analyzer's figures ----------------------------------------------------- */

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define K(name, a, b, dev, scope) \
    "{\"type\":\"kernel\",\"name\":\"" name "\",\"start_ns\":" #a ",\"end_ns\":" #b \
    ",\"device\":" #dev ",\"stream\":1,\"grid\":[128,1,1],\"block\":[256,1,1],\"registers\":" \
    "40,\"static_smem\":0,\"dynamic_smem\":512,\"scope\":" scope "}\n"
#define S(path, depth, a, b) \
    "{\"type\":\"scope\",\"name\":\"x\",\"path\":" path ",\"depth\":" #depth ",\"thread\":1," \
    "\"start_ns\":" #a ",\"end_ns\":" #b "}\n"

static void test_analyzer_figures(void **state)
{
    (void)state;
    write_file("fig.kernel.ndjson",
        "{\"type\":\"header\",\"version\":1,\"host\":\"h\",\"pid\":42,\"command\":[\"./a\",\"-x\"]}\n"
        K("gemm", 1000, 1100, 0, "[\"train\",\"step\"]")
        K("gemm", 1050, 1150, 0, "[\"train\",\"step\"]")     /* overlaps: union 1000-1150 */
        K("gemm", 1300, 1400, 0, "[\"train\",\"step\"]")
        K("relu", 1500, 1510, 0, "[\"train\"]")
        K("relu", 1600, 1630, 1, "[]")
        "{\"type\":\"kernel\",\"name\":\"gemm\",\"start_ns\":17\n"   /* cut short */
        "not json at all\n"
        "{\"type\":\"summary\",\"ring_drops\":4,\"cupti_drops\":2,\"name_drops\":0}\n");
    write_file("fig.scope.ndjson",
        "{\"type\":\"header\",\"version\":1}\n"
        S("[\"train\",\"step\"]", 2, 1000, 1200)
        S("[\"train\",\"step\"]", 2, 1250, 1450)
        S("[\"train\"]", 1, 1000, 2000)
        "{\"type\":\"summary\",\"ring_drops\":4,\"cupti_drops\":2}\n");
    write_file("fig.system.ndjson",
        "{\"type\":\"header\",\"version\":1}\n"
        "{\"type\":\"host\",\"t_ns\":1000,\"cpu_pct\":null}\n"
        "{\"type\":\"host\",\"t_ns\":1500,\"cpu_pct\":20}\n"
        "{\"type\":\"host\",\"t_ns\":2000,\"cpu_pct\":40}\n"
        "{\"type\":\"device\",\"t_ns\":1500,\"index\":0,\"util_gpu_pct\":50,"
        "\"mem_used_bytes\":1000,\"mem_total_bytes\":8000}\n"
        "{\"type\":\"device\",\"t_ns\":2000,\"index\":0,\"util_gpu_pct\":70,"
        "\"mem_used_bytes\":3000,\"mem_total_bytes\":8000}\n"
        "{\"type\":\"device\",\"t_ns\":2000,\"index\":1,\"util_gpu_pct\":null,"
        "\"mem_used_bytes\":2000,\"mem_total_bytes\":8000}\n");  /* no summary: killed */
    struct analyze_opts o = {tmpdir, "fig", 1};
    struct analyze_result *r;
    struct error e = {0};
    assert_int_equal(analyze_run(&o, &r, &e), 0);
    assert_int_equal(r->files, 3);
    assert_int_equal(r->corrupt_lines, 2);
    assert_non_null(strstr(r->first_corrupt, "fig.kernel.ndjson:7"));
    assert_string_equal(r->command, "./a -x");
    assert_int_equal(r->pid, 42);
    assert_int_equal(r->t_min, 1000);
    assert_int_equal(r->t_max, 2000);
    assert_int_equal(r->kernels, 5);
    assert_int_equal(r->kernel_ns, 100 + 100 + 100 + 10 + 30);
    /* device 0: 150 + 100 + 10 = 260 of 1000; device 1: 30 of 1000; mean 14.5 % */
    assert_true(r->gpu_busy_pct.known);
    assert_true(fabs(r->gpu_busy_pct.v - 14.5) < 1e-9);
    assert_true(fabs(r->util_gpu_mean_pct.v - 60.0) < 1e-9);
    assert_int_equal(r->vram_peak_bytes.v, 3000);
    assert_true(fabs(r->host_cpu_mean_pct.v - 30.0) < 1e-9);
    assert_true(r->have_summary);
    assert_int_equal(r->ring_drops, 4);
    assert_int_equal(r->cupti_drops, 2);
    /* scope tree: train 1000 ns, 1 call, self 1000 - 400; step 2 calls 400 ns;
     * kernels: 3 gemm (300 ns) in step, 1 relu (10 ns) in train itself */
    assert_int_equal(r->scope_count, 2);
    assert_string_equal(r->scopes[0].name, "train");
    assert_int_equal(r->scopes[0].calls, 1);
    assert_int_equal(r->scopes[0].total_ns, 1000);
    assert_int_equal(r->scopes[0].self_ns, 600);
    assert_int_equal(r->scopes[0].kernels, 4);
    assert_int_equal(r->scopes[0].gpu_ns, 310);
    assert_int_equal(r->scopes[0].kernels_self, 1);
    assert_string_equal(r->scopes[1].name, "step");
    assert_int_equal(r->scopes[1].depth, 2);
    assert_int_equal(r->scopes[1].calls, 2);
    assert_int_equal(r->scopes[1].total_ns, 400);
    assert_int_equal(r->scopes[1].self_ns, 400);
    assert_int_equal(r->scopes[1].kernels, 3);
    assert_int_equal(r->scopes[1].gpu_ns, 300);
    /* hotspots, top 1: gemm */
    assert_int_equal(r->hot_count, 1);
    assert_string_equal(r->hot[0].name, "gemm");
    assert_int_equal(r->hot[0].count, 3);
    assert_int_equal(r->hot[0].total_ns, 300);
    assert_int_equal(r->hot[0].min_ns, 100);
    assert_int_equal(r->hot[0].max_ns, 100);
    assert_int_equal(r->hot[0].grid[0], 128);
    assert_int_equal(r->hot[0].block[0], 256);
    assert_int_equal(r->hot[0].registers, 40);
    assert_int_equal(r->hot[0].dynamic_smem, 512);
    assert_int_equal(r->hot[0].scope_count, 1);
    assert_string_equal(r->hot[0].scopes[0].path, "train\x1fstep");
    analyze_free(r);

    /* the timeline is written, self-contained, with the kernel names in it */
    char html[512];
    snprintf(html, sizeof html, "%s/t.html", tmpdir);
    assert_int_equal(analyze_run(&o, &r, &e), 0);
    assert_int_equal(analyze_html_write(&o, r, html, &e), 0);
    char *text = read_all(html);
    assert_non_null(strstr(text, "<!DOCTYPE html>"));
    assert_non_null(strstr(text, "\"gemm\""));
    assert_null(strstr(text, "<script src"));
    free(text);
    analyze_free(r);
}

static void test_analyzer_errors(void **state)
{
    (void)state;
    struct analyze_opts o = {tmpdir, "nothing-here", 10};
    struct analyze_result *r;
    struct error e = {0};
    assert_int_equal(analyze_run(&o, &r, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "nothing-here"));
    /* several traces and no prefix: the message lists them */
    write_file("one.kernel.ndjson", "{\"type\":\"header\"}\n");
    write_file("two.kernel.ndjson", "{\"type\":\"header\"}\n");
    o.prefix = NULL;
    assert_int_equal(analyze_run(&o, &r, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "--prefix"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_ndjson_parser),
        cmocka_unit_test(test_cpu_stat),
        cmocka_unit_test(test_scope_attribution),
        cmocka_unit_test(test_scope_depth_limit),
        cmocka_unit_test(test_config_env),
        cmocka_unit_test(test_collector_end_to_end),
        cmocka_unit_test(test_log_rotation),
        cmocka_unit_test(test_analyzer_figures),
        cmocka_unit_test(test_analyzer_errors),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
