/* test_drm_fdinfo.c - the DRM fdinfo parser on the kernel's own samples
 * (amdgpu, i915, xe and the amdgpu format of kernels 5.14-5.18), every key
 * form, size units, garbage lines, files cut anywhere, and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/drm_fdinfo.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

/* amdgpu prints "drm-memory-gtt: \t" with a space before the tab. */
static const char amdgpu[] =
    "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1076\n"
    "drm-driver:\tamdgpu\n"
    "drm-client-id:\t4\n"
    "drm-pdev:\t0000:04:00.0\n"
    "pasid:\t32771\n"
    "drm-total-gtt:\t2392 KiB\n"
    "drm-resident-vram:\t44564 KiB\n"
    "drm-memory-vram:\t44564 KiB\n"
    "drm-memory-gtt: \t2392 KiB\n"
    "amd-evicted-vram:\t0 KiB\n"
    "drm-engine-compute:\t46464671 ns\n";

static const char i915[] =
    "drm-driver:\ti915\n"
    "drm-client-id:\t39\n"
    "drm-pdev:\t0000:00:02.0\n"
    "drm-total-system0:\t6044 KiB\n"
    "drm-engine-render:\t346249 ns\n"
    "drm-engine-copy:\t0 ns\n"
    "drm-engine-capacity-video:\t2\n";

static const char xe[] =
    "drm-driver:\txe\n"
    "drm-client-id:\t11\n"
    "drm-pdev:\t0000:03:00.0\n"
    "drm-total-vram0:\t23992 KiB\n"
    "drm-shared-vram0:\t16 MiB\n"
    "drm-cycles-rcs:\t28257900\n"
    "drm-total-cycles-rcs:\t7655183225\n"
    "drm-engine-capacity-ccs:\t4\n";

static const char legacy[] =
    "pos:\t0\nflags:\t02100002\nmnt_id:\t25\n"
    "pdev:\t0000:0a:00.0\n"
    "pasid:\t32781\n"
    "vram mem:\t23896 kB\n"
    "gtt mem:\t1264 kB\n"
    "cpu mem:\t0 kB\n"
    "gfx0:\t12.5%\n"
    "gfx1:\t30.0%\n"
    "dec0:\t40.2%\n";

static struct drm_fdinfo parse_ok(const char *text)
{
    struct drm_fdinfo f;
    assert_int_equal(drm_fdinfo_parse(text, strlen(text), &f), 0);
    return f;
}

static const struct drm_fdinfo_engine *engine(const struct drm_fdinfo *f, const char *name)
{
    for (size_t i = 0; i < f->engine_count; i++)
        if (strcmp(f->engines[i].name, name) == 0)
            return &f->engines[i];
    fail_msg("no engine %s", name);
    return NULL;
}

static const struct drm_fdinfo_region *region(const struct drm_fdinfo *f, const char *name)
{
    for (size_t i = 0; i < f->region_count; i++)
        if (strcmp(f->regions[i].name, name) == 0)
            return &f->regions[i];
    fail_msg("no region %s", name);
    return NULL;
}

static void test_amdgpu_sample(void **state)
{
    (void)state;
    struct drm_fdinfo f = parse_ok(amdgpu);
    assert_string_equal(f.driver, "amdgpu");
    assert_string_equal(f.pdev, "0000:04:00.0");
    assert_true(f.client_id.known);
    assert_int_equal(f.client_id.v, 4);              /* not the pasid */
    assert_false(f.legacy_amdgpu);
    const struct drm_fdinfo_region *gtt = region(&f, "gtt"), *vram = region(&f, "vram");
    assert_int_equal(gtt->total.v, 2392 * KiB);
    assert_true(gtt->memory.known);                  /* the " \t" key */
    assert_int_equal(gtt->memory.v, 2392 * KiB);
    assert_false(gtt->resident.known);
    assert_int_equal(vram->resident.v, 44564 * KiB);
    assert_int_equal(vram->memory.v, 44564 * KiB);
    assert_int_equal(f.engine_count, 1);
    const struct drm_fdinfo_engine *c = engine(&f, "compute");
    assert_true(c->busy_ns.known);
    assert_int_equal(c->busy_ns.v, 46464671);
    assert_false(c->capacity.known);
    assert_true(drm_fdinfo_region_is_vram("vram"));
    assert_false(drm_fdinfo_region_is_vram("gtt"));
}

static void test_i915_sample(void **state)
{
    (void)state;
    struct drm_fdinfo f = parse_ok(i915);
    assert_string_equal(f.driver, "i915");
    assert_int_equal(f.client_id.v, 39);
    assert_string_equal(f.pdev, "0000:00:02.0");
    assert_int_equal(region(&f, "system0")->total.v, 6044 * KiB);
    assert_int_equal(engine(&f, "render")->busy_ns.v, 346249);
    assert_true(engine(&f, "copy")->busy_ns.known);
    assert_int_equal(engine(&f, "copy")->busy_ns.v, 0);
    const struct drm_fdinfo_engine *video = engine(&f, "video");
    assert_true(video->capacity.known);
    assert_int_equal(video->capacity.v, 2);
    assert_false(video->busy_ns.known);
    assert_true(drm_fdinfo_region_is_vram("local0"));
    assert_false(drm_fdinfo_region_is_vram("system0"));
}

static void test_xe_sample(void **state)
{
    (void)state;
    struct drm_fdinfo f = parse_ok(xe);
    const struct drm_fdinfo_region *v = region(&f, "vram0");
    assert_int_equal(v->total.v, 23992 * KiB);
    assert_int_equal(v->shared.v, 16 * MiB);          /* MiB honoured */
    const struct drm_fdinfo_engine *rcs = engine(&f, "rcs");
    assert_int_equal(rcs->cycles.v, 28257900);
    assert_int_equal(rcs->total_cycles.v, 7655183225ull);
    assert_false(rcs->busy_ns.known);
    assert_int_equal(engine(&f, "ccs")->capacity.v, 4);
    assert_true(drm_fdinfo_region_is_vram("vram0"));
}

static void test_legacy_amdgpu(void **state)
{
    (void)state;
    struct drm_fdinfo f = parse_ok(legacy);
    assert_true(f.legacy_amdgpu);
    assert_string_equal(f.driver, "amdgpu");
    assert_string_equal(f.pdev, "0000:0a:00.0");
    assert_int_equal(f.client_id.v, 32781);          /* pasid stands in */
    assert_int_equal(region(&f, "vram")->memory.v, 23896 * KiB);
    assert_int_equal(region(&f, "gtt")->memory.v, 1264 * KiB);
    assert_int_equal(region(&f, "cpu")->memory.v, 0);
    const struct drm_fdinfo_engine *gfx = engine(&f, "gfx");
    assert_true(gfx->legacy_pct.known);
    assert_float_equal(gfx->legacy_pct.v, 30.0, 1e-9);   /* busiest instance */
    assert_float_equal(engine(&f, "dec")->legacy_pct.v, 40.2, 1e-9);
    assert_false(gfx->busy_ns.known);
}

static void test_every_key_form(void **state)
{
    (void)state;
    static const char text[] =
        "drm-client-id: 7\n"
        "drm-engine-gfx: 100 ns\n"
        "drm-engine-capacity-gfx: 3\n"
        "drm-cycles-gfx: 500\n"
        "drm-total-cycles-gfx: 1000\n"
        "drm-maxfreq-gfx: 1500 MHz\n"
        "drm-maxfreq-dma: 200 KHz\n"
        "drm-maxfreq-vcn: 300 Hz\n"
        "drm-engine-bare: 42\n"
        "drm-total-r: 1\n"
        "drm-shared-r: 2 B\n"
        "drm-resident-r: 3 KiB\n"
        "drm-purgeable-r: 4 MiB\n"
        "drm-active-r: 1 GiB\n"
        "drm-memory-r: 6\n";
    struct drm_fdinfo f = parse_ok(text);
    assert_int_equal(f.client_id.v, 7);
    assert_string_equal(f.driver, "");
    const struct drm_fdinfo_engine *g = engine(&f, "gfx");
    assert_int_equal(g->busy_ns.v, 100);
    assert_int_equal(g->capacity.v, 3);
    assert_int_equal(g->cycles.v, 500);
    assert_int_equal(g->total_cycles.v, 1000);
    assert_int_equal(g->maxfreq_hz.v, 1500000000ull);
    assert_int_equal(engine(&f, "dma")->maxfreq_hz.v, 200000);
    assert_int_equal(engine(&f, "vcn")->maxfreq_hz.v, 300);
    assert_int_equal(engine(&f, "bare")->busy_ns.v, 42);
    const struct drm_fdinfo_region *r = region(&f, "r");
    assert_int_equal(r->total.v, 1);
    assert_int_equal(r->shared.v, 2);
    assert_int_equal(r->resident.v, 3 * KiB);
    assert_int_equal(r->purgeable.v, 4 * MiB);
    assert_int_equal(r->active.v, 1024 * MiB);
    assert_int_equal(r->memory.v, 6);
    assert_int_equal(drm_fdinfo_region_used(r).v, 3 * KiB);   /* resident first */
}

static void test_region_used_order(void **state)
{
    (void)state;
    struct drm_fdinfo_region r = {0};
    assert_false(drm_fdinfo_region_used(&r).known);
    OPT_SET(r.total, 10);
    assert_int_equal(drm_fdinfo_region_used(&r).v, 10);
    OPT_SET(r.memory, 20);
    assert_int_equal(drm_fdinfo_region_used(&r).v, 20);
    OPT_SET(r.resident, 30);
    assert_int_equal(drm_fdinfo_region_used(&r).v, 30);
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct { const char *s; uint64_t v; } good[] = {
        {"0", 0}, {"123", 123}, {"1 B", 1}, {"2 KiB", 2 * KiB}, {"3 MiB", 3 * MiB},
        {"1 GiB", 1024 * MiB}, {"4 kB", 4 * KiB}, {"  5\tKiB  ", 5 * KiB}, {"6KiB", 6 * KiB},
        {"18446744073709551615", UINT64_MAX},
    };
    static const char *const bad[] = {
        "", "KiB", "-1", "12abc", "5 TiB", "5 kib", "1.5 MiB", "18446744073709551616",
        "18446744073709551615 KiB", "9007199254740993 GiB", "1 KiB x",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(drm_fdinfo_parse_size(good[i].s, strlen(good[i].s), &v), 0);
        assert_int_equal(v, good[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(drm_fdinfo_parse_size(bad[i], strlen(bad[i]), &v), -EINVAL);
        assert_int_equal(v, 99);
    }
}

static void test_garbage_lines_are_skipped(void **state)
{
    (void)state;
    static const char text[] =
        "no colon here\n"
        ":\n"
        ": 5\n"
        "\x01\xff\xfe:\x80\n"
        "drm-engine-: 5 ns\n"                 /* no engine name */
        "drm-engine-render: abc ns\n"
        "drm-engine-copy: 5 ms\n"             /* not ns */
        "drm-engine-video: 5 ns trailing\n"
        "drm-total-: 5 KiB\n"
        "drm-client-id: four\n"
        "drm-client-id: 12\n"
        "drm-engine-compute:\t 77 ns \r\n"
        "gfx0: 50\n"                          /* old format needs a % */
        "\n";
    struct drm_fdinfo f = parse_ok(text);
    assert_int_equal(f.client_id.v, 12);
    assert_false(engine(&f, "render")->busy_ns.known);
    assert_false(engine(&f, "copy")->busy_ns.known);
    assert_false(engine(&f, "video")->busy_ns.known);
    assert_int_equal(engine(&f, "compute")->busy_ns.v, 77);
    assert_int_equal(f.region_count, 0);
    for (size_t i = 0; i < f.engine_count; i++)
        assert_string_not_equal(f.engines[i].name, "gfx");
}

/* Found by libFuzzer: a NUL or control byte in a key made an engine whose
 * copied name was empty or cut short. */
static void test_engine_names_with_control_bytes_are_refused(void **state)
{
    (void)state;
    static const char text[] = "drm-client-id: 3\n"
                               "\0000:5%\n"
                               "drm-engine-re\0der: 5 ns\n"
                               "drm-engine-\033[2J: 5 ns\n"
                               "drm-total-vr\x01m: 5 KiB\n"
                               "drm-engine-render: 7 ns\n";
    struct drm_fdinfo f;
    assert_int_equal(drm_fdinfo_parse(text, sizeof text - 1, &f), 0);
    assert_int_equal(f.engine_count, 1);
    assert_string_equal(f.engines[0].name, "render");
    assert_int_equal(f.engines[0].busy_ns.v, 7);
    assert_int_equal(f.region_count, 0);
}

static void test_not_a_drm_client(void **state)
{
    (void)state;
    static const char text[] = "pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t1234\n";
    struct drm_fdinfo f;
    assert_int_equal(drm_fdinfo_parse(text, strlen(text), &f), -ENOENT);
    assert_int_equal(drm_fdinfo_parse("", 0, &f), -ENOENT);
    /* pdev without pasid is not the old format */
    assert_int_equal(drm_fdinfo_parse("pdev:\t0000:01:00.0\n", 19, &f), -ENOENT);
}

/* A file cut anywhere parses without reading past the cut, and a cut
 * number is never taken as a smaller one: the last line needs its newline. */
static void test_truncated_files(void **state)
{
    (void)state;
    const char *samples[] = {amdgpu, i915, xe, legacy};
    for (size_t s = 0; s < 4; s++) {
        size_t n = strlen(samples[s]);
        for (size_t cut = 0; cut <= n; cut++) {
            char *copy = malloc(cut ? cut : 1);   /* exact size: ASan catches overreads */
            assert_non_null(copy);
            memcpy(copy, samples[s], cut);
            struct drm_fdinfo f;
            (void)drm_fdinfo_parse(copy, cut, &f);
            for (size_t i = 0; i < f.engine_count; i++) {
                const struct drm_fdinfo_engine *e = &f.engines[i];
                if (strcmp(e->name, "compute") == 0 && e->busy_ns.known)
                    assert_int_equal(e->busy_ns.v, 46464671);
                if (strcmp(e->name, "rcs") == 0 && e->cycles.known)
                    assert_int_equal(e->cycles.v, 28257900);
            }
            free(copy);
        }
    }
    struct drm_fdinfo f;
    static const char cut[] = "drm-client-id:\t4\ndrm-engine-compute:\t4646";
    assert_int_equal(drm_fdinfo_parse(cut, strlen(cut), &f), 0);
    assert_int_equal(f.engine_count, 0);
}

static void test_limits(void **state)
{
    (void)state;
    char text[4096];
    size_t at = (size_t)snprintf(text, sizeof text, "drm-client-id: 1\n");
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "drm-engine-e%d: %d ns\n"
                               "drm-total-r%d: 1 KiB\n", i, i, i);
    at += (size_t)snprintf(text + at, sizeof text - at,
                           "drm-engine-a-very-long-engine-name: 5 ns\n");
    struct drm_fdinfo f;
    assert_int_equal(drm_fdinfo_parse(text, at, &f), 0);
    assert_int_equal(f.engine_count, DRM_FDINFO_MAX_ENGINES);
    assert_int_equal(f.region_count, DRM_FDINFO_MAX_REGIONS);
    for (size_t i = 0; i < f.engine_count; i++)
        assert_true(strlen(f.engines[i].name) < DRM_FDINFO_NAME_MAX);
    /* the same engine twice: the later value wins, no second entry */
    static const char twice[] = "drm-client-id: 1\ndrm-engine-gfx: 5 ns\ndrm-engine-gfx: 9 ns\n";
    assert_int_equal(drm_fdinfo_parse(twice, strlen(twice), &f), 0);
    assert_int_equal(f.engine_count, 1);
    assert_int_equal(f.engines[0].busy_ns.v, 9);
}

static void test_debugfs_clients(void **state)
{
    (void)state;
    static const char list[] =
        "             command  tgid dev master a   uid      magic\n"
        "                Xorg  1234   0   y    y     0          0\n"
        "     Web Content x y  5678 128   n    n  1000          0\n"   /* spaces in comm */
        "           <unknown>   42   0   n    y     0          7\n";
    pid_t pids[4];
    size_t n;
    assert_int_equal(drm_fdinfo_parse_clients(list, strlen(list), pids, 4, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(pids[0], 1234);
    assert_int_equal(pids[1], 5678);
    assert_int_equal(pids[2], 42);
    /* counting past cap */
    assert_int_equal(drm_fdinfo_parse_clients(list, strlen(list), pids, 1, &n), 0);
    assert_int_equal(n, 3);
    /* header only: no clients */
    assert_int_equal(drm_fdinfo_parse_clients(list, 57, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    /* an owner that is gone (tgid 0), a cut list, garbage, nothing at all */
    static const char gone[] =
        "             command  tgid dev master a   uid      magic\n"
        "                Xorg     0   0   y    y     0          0\n";
    assert_int_equal(drm_fdinfo_parse_clients(gone, strlen(gone), pids, 4, &n), -EINVAL);
    assert_int_equal(drm_fdinfo_parse_clients(list, strlen(list) - 1, pids, 4, &n), -EINVAL);
    static const char junk[] = "header\nshort\n                Xorg  12ab\n";
    assert_int_equal(drm_fdinfo_parse_clients(junk, strlen(junk), pids, 4, &n), -EINVAL);
    assert_int_equal(drm_fdinfo_parse_clients("", 0, pids, 4, &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amdgpu_sample),
        cmocka_unit_test(test_i915_sample),
        cmocka_unit_test(test_xe_sample),
        cmocka_unit_test(test_legacy_amdgpu),
        cmocka_unit_test(test_every_key_form),
        cmocka_unit_test(test_region_used_order),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_garbage_lines_are_skipped),
        cmocka_unit_test(test_engine_names_with_control_bytes_are_refused),
        cmocka_unit_test(test_not_a_drm_client),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_debugfs_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
