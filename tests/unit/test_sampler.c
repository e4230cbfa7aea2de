/* test_sampler.c - the rate arithmetic of src/core/sampler.c on hand-built
 * snapshots: CPU %, DRM engine % in ns and cycles, counters going backwards,
 * energy to power, device utilisation summed from clients, and what stays
 * unknown on the first sample or for something new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/sampler.h"

/* A snapshot taken at mono second t with one device, one GPU process on it
 * (pid 100) and its host process. */
static struct snapshot *make_snapshot(double t)
{
    struct snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->mono.tv_sec = (time_t)t;
    s->mono.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
    s->host.clock_ticks = 100;
    s->devices = calloc(1, sizeof *s->devices);
    s->gprocs = calloc(1, sizeof *s->gprocs);
    s->hprocs = calloc(1, sizeof *s->hprocs);
    assert_true(s->devices && s->gprocs && s->hprocs);
    s->device_count = s->gproc_count = s->hproc_count = 1;
    s->devices[0].index = 0;
    s->gprocs[0].pid = 100;
    s->gprocs[0].device_index = 0;
    s->hprocs[0].pid = 100;
    s->hprocs[0].exists = true;
    s->hprocs[0].start_ticks = 5000;
    return s;
}

static void set_engine(struct gpu_process *g, size_t k, const char *name, uint64_t busy,
                       uint64_t total, unsigned capacity, bool cycles)
{
    struct engine_counter *c = &g->engines[k];
    strcpy(c->name, name);
    c->busy = busy;
    c->total = total;
    c->capacity = capacity;
    c->cycles = cycles;
    if (g->engine_count < k + 1)
        g->engine_count = k + 1;
}

static struct sampler *new_sampler(void)
{
    struct sampler *s = NULL;
    struct error e = {0};
    assert_int_equal(sampler_create(&s, NULL, &e), 0);
    return s;
}

static void feed(struct sampler *s, struct snapshot *snap)
{
    struct error e = {0};
    assert_int_equal(sampler_feed(s, snap, &e), 0);
}

static void test_cpu_rate_between_samples(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(10.0), *b = make_snapshot(12.0);
    OPT_SET(a->hprocs[0].cpu_ticks, 1000);
    OPT_SET(b->hprocs[0].cpu_ticks, 1300);   /* 3 s of CPU in 2 s: 150 % */
    feed(s, a);
    assert_false(a->hprocs[0].cpu_pct_interval.known);
    feed(s, b);
    assert_true(b->hprocs[0].cpu_pct_interval.known);
    assert_float_equal(b->hprocs[0].cpu_pct_interval.v, 150.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_cpu_rate_needs_same_start_time(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(10.0), *b = make_snapshot(11.0);
    OPT_SET(a->hprocs[0].cpu_ticks, 1000);
    OPT_SET(b->hprocs[0].cpu_ticks, 1050);
    b->hprocs[0].start_ticks = 9000;          /* the pid was reused */
    feed(s, a);
    feed(s, b);
    assert_false(b->hprocs[0].cpu_pct_interval.known);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_engine_ns_rate_with_capacity(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(3.0);
    set_engine(&a->gprocs[0], 0, "render", 1000000000ull, 0, 1, false);
    set_engine(&a->gprocs[0], 1, "video", 0, 0, 2, false);
    set_engine(&b->gprocs[0], 0, "render", 1500000000ull, 0, 1, false);  /* 0.5 s of 2 s */
    set_engine(&b->gprocs[0], 1, "video", 2000000000ull, 0, 2, false);   /* 2 s of 2 x 2 s */
    feed(s, a);
    assert_false(a->gprocs[0].sm_pct.known);
    feed(s, b);
    assert_float_equal(b->gprocs[0].engine_pct[0].v, 25.0, 1e-9);
    assert_float_equal(b->gprocs[0].engine_pct[1].v, 50.0, 1e-9);
    assert_true(b->gprocs[0].sm_pct.known);
    assert_float_equal(b->gprocs[0].sm_pct.v, 50.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_engine_cycles_rate(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(2.0);
    set_engine(&a->gprocs[0], 0, "rcs", 28257900, 7655183225ull, 1, true);
    set_engine(&b->gprocs[0], 0, "rcs", 28257900 + 300, 7655183225ull + 1000, 1, true);
    set_engine(&a->gprocs[0], 1, "ccs", 0, 1000, 4, true);
    set_engine(&b->gprocs[0], 1, "ccs", 2000, 2000, 4, true);
    feed(s, a);
    feed(s, b);
    assert_float_equal(b->gprocs[0].engine_pct[0].v, 30.0, 1e-9);
    assert_float_equal(b->gprocs[0].engine_pct[1].v, 50.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_engine_counter_backwards_keeps_baseline(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(2.0), *c = make_snapshot(3.0);
    set_engine(&a->gprocs[0], 0, "gfx", 800000000ull, 0, 1, false);
    set_engine(&b->gprocs[0], 0, "gfx", 700000000ull, 0, 1, false);  /* went backwards */
    set_engine(&c->gprocs[0], 0, "gfx", 1000000000ull, 0, 1, false);
    feed(s, a);
    feed(s, b);
    assert_true(b->gprocs[0].engine_pct[0].known);
    assert_float_equal(b->gprocs[0].engine_pct[0].v, 0.0, 1e-9);
    feed(s, c);
    /* measured from the larger 0.8 s, not from 0.7 s */
    assert_float_equal(c->gprocs[0].engine_pct[0].v, 20.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    snapshot_free(c);
    sampler_free(s);
}

static void test_engine_rate_clamped_and_source_sm_kept(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(2.0);
    set_engine(&a->gprocs[0], 0, "compute", 0, 0, 1, false);
    set_engine(&b->gprocs[0], 0, "compute", 1100000000ull, 0, 1, false);
    OPT_SET(b->gprocs[0].sm_pct, 7.0);       /* the source's own figure wins */
    feed(s, a);
    feed(s, b);
    assert_float_equal(b->gprocs[0].engine_pct[0].v, 100.0, 1e-9);
    assert_float_equal(b->gprocs[0].sm_pct.v, 7.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_power_from_energy(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(1.5), *c = make_snapshot(2.0);
    OPT_SET(a->devices[0].energy_uj, 10000000);
    OPT_SET(b->devices[0].energy_uj, 20000000);   /* 10 J in 0.5 s: 20 W */
    OPT_SET(c->devices[0].energy_uj, 5);          /* wrapped: unknown */
    feed(s, a);
    feed(s, b);
    assert_true(b->devices[0].power_mw.known);
    assert_int_equal(b->devices[0].power_mw.v, 20000);
    feed(s, c);
    assert_false(c->devices[0].power_mw.known);
    snapshot_free(a);
    snapshot_free(b);
    snapshot_free(c);
    sampler_free(s);
}

static void test_device_util_from_clients(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(1.0), *b = make_snapshot(2.0);
    for (int i = 0; i < 2; i++) {
        struct snapshot *x = i ? b : a;
        x->devices[0].util_from_clients = true;
        x->gprocs = realloc(x->gprocs, 2 * sizeof *x->gprocs);
        assert_non_null(x->gprocs);
        memset(&x->gprocs[1], 0, sizeof x->gprocs[1]);
        x->gprocs[1].pid = 200;
        x->gproc_count = 2;
    }
    set_engine(&a->gprocs[0], 0, "render", 0, 0, 1, false);
    set_engine(&a->gprocs[1], 0, "render", 0, 0, 1, false);
    set_engine(&a->gprocs[1], 1, "copy", 0, 0, 1, false);
    set_engine(&b->gprocs[0], 0, "render", 300000000ull, 0, 1, false);
    set_engine(&b->gprocs[1], 0, "render", 200000000ull, 0, 1, false);
    set_engine(&b->gprocs[1], 1, "copy", 400000000ull, 0, 1, false);
    feed(s, a);
    assert_false(a->devices[0].util_gpu_pct.known);
    feed(s, b);
    /* render: 30 + 20 = 50; copy: 40; the busiest class */
    assert_float_equal(b->devices[0].util_gpu_pct.v, 50.0, 1e-9);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_time_not_moving_gives_no_rates(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(5.0), *b = make_snapshot(5.0);
    OPT_SET(a->hprocs[0].cpu_ticks, 1);
    OPT_SET(b->hprocs[0].cpu_ticks, 2);
    feed(s, a);
    feed(s, b);
    assert_false(b->hprocs[0].cpu_pct_interval.known);
    snapshot_free(a);
    snapshot_free(b);
    sampler_free(s);
}

static void test_take_without_ctx_fails_cleanly(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *out = (struct snapshot *)1;
    struct snapshot_options o = {0};
    struct error e = {0};
    assert_true(sampler_take(s, &o, &out, &e) < 0);
    assert_null(out);
    assert_true(strlen(e.msg) > 0);
    sampler_free(s);
    sampler_free(NULL);
}

static void test_host_cpu_rate(void **state)
{
    (void)state;
    struct sampler *s = new_sampler();
    struct snapshot *a = make_snapshot(10.0), *b = make_snapshot(12.0),
                    *c = make_snapshot(14.0);
    OPT_SET(a->host.cpu_busy_ticks, 1000);
    OPT_SET(a->host.cpu_total_ticks, 10000);
    OPT_SET(b->host.cpu_busy_ticks, 1100);   /* 100 of 400 ticks busy: 25 % */
    OPT_SET(b->host.cpu_total_ticks, 10400);
    feed(s, a);
    assert_false(a->host.cpu_pct.known);
    feed(s, b);
    assert_true(b->host.cpu_pct.known);
    assert_float_equal(b->host.cpu_pct.v, 25.0, 1e-9);
    /* no counters this time (unreadable /proc/stat): no rate, no crash */
    feed(s, c);
    assert_false(c->host.cpu_pct.known);
    snapshot_free(a);
    snapshot_free(b);
    snapshot_free(c);
    sampler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_rate_between_samples),
        cmocka_unit_test(test_cpu_rate_needs_same_start_time),
        cmocka_unit_test(test_engine_ns_rate_with_capacity),
        cmocka_unit_test(test_engine_cycles_rate),
        cmocka_unit_test(test_engine_counter_backwards_keeps_baseline),
        cmocka_unit_test(test_engine_rate_clamped_and_source_sm_kept),
        cmocka_unit_test(test_power_from_energy),
        cmocka_unit_test(test_device_util_from_clients),
        cmocka_unit_test(test_time_not_moving_gives_no_rates),
        cmocka_unit_test(test_take_without_ctx_fails_cleanly),
        cmocka_unit_test(test_host_cpu_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
