/* test_simulated.c - the simulated source: its GPUSxPROCS[:SEED] spelling,
 * that it replaces the real sources when on, that its GPUs say they are
 * simulated, that values stay plausible and repeat for a seed, and that
 * processes sit on real local pids (or on pids no process can have). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/snapshot.h"
#include "sources/simulated.h"

static void test_spec_reads_gpus_processes_and_seed(void **state)
{
    (void)state;
    struct simulated_spec sp;
    struct error e = {0};
    assert_int_equal(simulated_parse_spec("4x8", 3, &sp, &e), 0);
    assert_int_equal(sp.gpus, 4);
    assert_int_equal(sp.procs, 8);
    assert_int_equal(sp.seed, 1);
    assert_int_equal(simulated_parse_spec("8x256:42", 8, &sp, &e), 0);
    assert_int_equal(sp.gpus, 8);
    assert_int_equal(sp.procs, 256);
    assert_int_equal(sp.seed, 42);
    assert_int_equal(simulated_parse_spec("2x0", 3, &sp, &e), 0);
    assert_int_equal(sp.procs, 0);
    /* only the given length is read */
    assert_int_equal(simulated_parse_spec("3x5junk", 3, &sp, &e), 0);
    assert_int_equal(sp.procs, 5);
}

static void test_spec_refuses_what_is_not_gpus_x_processes(void **state)
{
    (void)state;
    struct simulated_spec sp;
    const char *bad[] = {"", "4", "x8", "4x", "0x8", "65x1", "4x8:", "4x8:abc", "4x8x2",
                         "-1x8", "4 x8", "4x-8", "4x65537"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct error e = {0};
        assert_int_equal(simulated_parse_spec(bad[i], strlen(bad[i]), &sp, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "--simulate"));
    }
}

static struct snapshot *take(struct snapshot_ctx *ctx)
{
    struct snapshot_options o = {.processes = true, .host_processes = true};
    struct snapshot *s = NULL;
    struct error e = {0};
    assert_int_equal(snapshot_take(ctx, &o, &s, &e), 0);
    return s;
}

static void test_simulated_gpus_replace_the_real_sources(void **state)
{
    (void)state;
    struct simulated_spec sp = {.gpus = 3, .procs = 7, .seed = 5};
    simulated_configure(&sp);
    struct snapshot_ctx *ctx;
    struct error e = {0};
    assert_int_equal(snapshot_ctx_open(&ctx, &e), 0);
    const struct source_status *st;
    assert_int_equal(snapshot_ctx_sources(ctx, &st), 1);
    assert_string_equal(st[0].name, "simulated");
    struct snapshot *s = take(ctx);
    assert_int_equal(s->device_count, 3);
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        assert_int_equal(d->vendor, VENDOR_SIMULATED);
        assert_string_equal(model_vendor_name(d->vendor), "simulated");
        assert_int_equal(strncmp(d->name, "Simulated ", 10), 0);
        assert_true(d->mem_used_bytes.known && d->mem_total_bytes.known);
        assert_true(d->mem_used_bytes.v <= d->mem_total_bytes.v);
        assert_true(d->util_gpu_pct.known && d->util_gpu_pct.v >= 0 && d->util_gpu_pct.v <= 100);
        assert_true(d->power_mw.known && d->power_mw.v <= d->power_limit_mw.v);
        assert_true(d->temp_c.known && d->temp_c.v > 20 && d->temp_c.v < 90);
    }
    assert_int_equal(s->gproc_count, 7);
    for (size_t i = 0; i < s->gproc_count; i++) {
        pid_t pid = s->gprocs[i].pid;
        /* a real process, or one no process can be (above PID_MAX_LIMIT) */
        assert_true(kill(pid, 0) == 0 || pid >= 4194304);
    }
    snapshot_free(s);
    snapshot_ctx_close(ctx);
    simulated_configure(NULL);
}

static void test_values_move_and_repeat_for_a_seed(void **state)
{
    (void)state;
    struct simulated_spec sp = {.gpus = 2, .procs = 2, .seed = 99};
    double first[2][6];
    for (int run = 0; run < 2; run++) {
        simulated_configure(&sp);
        struct snapshot_ctx *ctx;
        struct error e = {0};
        assert_int_equal(snapshot_ctx_open(&ctx, &e), 0);
        for (int k = 0; k < 6; k++) {
            struct snapshot *s = take(ctx);
            first[run][k] = s->devices[1].util_gpu_pct.v;
            snapshot_free(s);
        }
        snapshot_ctx_close(ctx);
    }
    simulated_configure(NULL);
    assert_memory_equal(first[0], first[1], sizeof first[0]);
    bool moved = false;
    for (int k = 1; k < 6; k++)
        moved = moved || first[0][k] != first[0][0];
    assert_true(moved);
}

static void test_off_means_no_simulated_source(void **state)
{
    (void)state;
    simulated_configure(NULL);
    assert_false(simulated_enabled());
    void *st = NULL;
    struct error e = {0};
    assert_true(simulated_source.init(&st, &e) < 0);
    assert_non_null(strstr(e.msg, "--simulate"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_reads_gpus_processes_and_seed),
        cmocka_unit_test(test_spec_refuses_what_is_not_gpus_x_processes),
        cmocka_unit_test(test_simulated_gpus_replace_the_real_sources),
        cmocka_unit_test(test_values_move_and_repeat_for_a_seed),
        cmocka_unit_test(test_off_means_no_simulated_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
