/* test_feed.c - the sampling loop of src/feed against the fake NVML: frames
 * in order, a slow subscriber that drops frames instead of queueing them,
 * frames that outlive the feed, and a pass stuck in the driver that gives
 * stale frames and is abandoned, not waited for, when the feed stops.
 * Nothing here asserts a duration; waits are bounded by generous limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed/feed.h"

static char scenario_path[256];

static const char calm_scenario[] =
    "{\"devices\": [{\"name\": \"NVIDIA H100 80GB HBM3\", "
    "\"uuid\": \"GPU-00000000-0000-0000-0000-000000000001\", "
    "\"pci\": {\"bus_id\": \"00000000:18:00.0\"}, "
    "\"memory\": {\"total\": 85520809984, \"used\": 1073741824}, "
    "\"utilization\": {\"gpu\": 42, \"memory\": 7}}]}";

/* The same GPU, its utilisation call hanging for ten minutes. */
static const char hung_scenario[] =
    "{\"delays_ms\": {\"nvmlDeviceGetUtilizationRates\": 600000}, "
    "\"devices\": [{\"name\": \"NVIDIA H100 80GB HBM3\", "
    "\"uuid\": \"GPU-00000000-0000-0000-0000-000000000001\", "
    "\"pci\": {\"bus_id\": \"00000000:18:00.0\"}, "
    "\"memory\": {\"total\": 85520809984, \"used\": 1073741824}, "
    "\"utilization\": {\"gpu\": 42, \"memory\": 7}}]}";

/* Replaces the scenario atomically (the fake library re-reads it). */
static void write_scenario(const char *text)
{
    char tmp[sizeof scenario_path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", scenario_path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, scenario_path), 0);
}

static int setup(void **state)
{
    (void)state;
    const char *dir = getenv("FAKE_NVML_DIR");
    if (!dir)
        return -1;
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libnvidia-ml.so.1", dir);
    char tmpl[] = "/tmp/gpuctl-test-feed-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(scenario_path, sizeof scenario_path, "%s/scenario.json", tmpl);
    write_scenario(calm_scenario);
    setenv("GPUCTL_NVML_LIBRARY", lib, 1);
    setenv("FAKE_NVML_SCENARIO", scenario_path, 1);
    setenv("FAKE_NVML_RECHECK_MS", "0", 1);
    setenv("GPUCTL_SYS_ROOT", "/nonexistent", 1);   /* no DRM card joins */
    return 0;
}

/* Removes the scenario and its directory (the library has read it). */
static int teardown(void **state)
{
    (void)state;
    unlink(scenario_path);
    char *slash = strrchr(scenario_path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(scenario_path);
    }
    return 0;
}

/* A feed on the calm scenario, and a subscription to it. */
static struct feed *start(double interval_s, double timeout_s, struct feed_sub **sub)
{
    write_scenario(calm_scenario);
    struct feed_options o = {.interval_s = interval_s, .timeout_s = timeout_s,
                             .snap = {.processes = true, .host_processes = true}};
    struct feed *f = NULL;
    struct error e = {0};
    assert_int_equal(feed_start(&f, &o, &e), 0);
    assert_int_equal(feed_subscribe(f, sub, &e), 0);
    return f;
}

/* The next frame, waiting at most a minute. */
static struct feed_frame *next_frame(struct feed_sub *s)
{
    for (int i = 0; i < 600; i++) {
        struct feed_frame *fr = feed_sub_wait(s, 100);
        if (fr)
            return fr;
    }
    fail_msg("no frame within a minute");
    return NULL;
}

static void test_frames_come_in_order_with_the_devices(void **state)
{
    (void)state;
    struct feed_sub *s = NULL;
    struct feed *f = start(0.02, 0, &s);
    uint64_t last = 0;
    for (int i = 0; i < 3; i++) {
        struct feed_frame *fr = next_frame(s);
        assert_true(fr->seq > last);
        last = fr->seq;
        assert_int_equal(fr->snap->device_count, 1);
        assert_false(fr->stale);
        assert_false(fr->device_stale[0]);
        assert_true(fr->snap->devices[0].util_gpu_pct.known);
        feed_frame_unref(fr);
    }
    feed_unsubscribe(s);
    feed_stop(f);
}

static void test_a_slow_subscriber_gets_only_the_newest_frame(void **state)
{
    (void)state;
    struct feed_sub *s = NULL;
    struct feed *f = start(0.01, 0, &s);
    struct feed_frame *first = next_frame(s);
    /* wait until the feed is well ahead of this subscriber */
    struct feed_frame *latest = NULL;
    for (int i = 0; i < 6000; i++) {
        feed_frame_unref(latest);
        latest = feed_latest(f);
        if (latest->seq >= first->seq + 3)
            break;
        usleep(10000);
    }
    assert_true(latest->seq >= first->seq + 3);
    struct feed_frame *taken = feed_sub_take(s);
    assert_non_null(taken);
    assert_true(taken->seq >= latest->seq);    /* skipped the ones between */
    struct feed_frame *again = feed_sub_take(s);
    assert_true(again == NULL || again->seq > taken->seq);   /* never an older one */
    feed_frame_unref(again);
    feed_frame_unref(taken);
    feed_frame_unref(latest);
    feed_frame_unref(first);
    feed_unsubscribe(s);
    feed_stop(f);
}

static void test_a_frame_outlives_its_feed(void **state)
{
    (void)state;
    struct feed_sub *s = NULL;
    struct feed *f = start(0.02, 0, &s);
    struct feed_frame *fr = next_frame(s);
    struct feed_frame *extra = feed_frame_ref(fr);
    feed_unsubscribe(s);
    feed_stop(f);
    feed_frame_unref(fr);
    assert_string_equal(extra->snap->devices[0].name, "NVIDIA H100 80GB HBM3");
    feed_frame_unref(extra);
    feed_frame_unref(NULL);
}

static void test_a_new_interval_takes_effect_without_waiting_out_the_old(void **state)
{
    (void)state;
    struct feed_sub *s = NULL;
    struct feed *f = start(3600, 0, &s);             /* the next pass an hour away */
    struct feed_frame *first = next_frame(s);
    struct error e = {0};
    assert_int_equal(feed_set_interval(f, 0.02, &e), 0);
    struct feed_frame *second = next_frame(s);       /* within the minute next_frame allows */
    assert_true(second->seq > first->seq);
    assert_int_equal(feed_set_interval(f, 0, &e), -EINVAL);
    feed_frame_unref(second);
    feed_frame_unref(first);
    feed_unsubscribe(s);
    feed_stop(f);
}

static void test_a_hung_pass_gives_stale_frames_and_stop_leaves_it(void **state)
{
    (void)state;
    struct feed_sub *s = NULL;
    struct feed *f = start(0.05, 0.2, &s);
    struct feed_frame *good = next_frame(s);
    assert_false(good->stale);
    write_scenario(hung_scenario);
    struct feed_frame *fr = NULL;
    for (int i = 0; i < 1000; i++) {
        fr = next_frame(s);
        if (fr->stale)
            break;
        feed_frame_unref(good);
        good = fr;
        fr = NULL;
    }
    assert_non_null(fr);
    assert_true(fr->device_stale[0]);
    assert_ptr_equal(fr->snap, good->snap);          /* the last good sample, shared */
    assert_true(fr->seq > good->seq);
    struct feed_frame *more = next_frame(s);        /* and again while it stays stuck */
    assert_true(more->stale && more->seq > fr->seq);
    struct feed_status st;
    feed_status(f, &st);
    assert_true(st.busy && st.have_data);
    feed_frame_unref(more);
    feed_frame_unref(fr);
    feed_frame_unref(good);
    feed_unsubscribe(s);
    feed_stop(f);                                    /* returns: the pass is abandoned */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_come_in_order_with_the_devices),
        cmocka_unit_test(test_a_slow_subscriber_gets_only_the_newest_frame),
        cmocka_unit_test(test_a_frame_outlives_its_feed),
        cmocka_unit_test(test_a_new_interval_takes_effect_without_waiting_out_the_old),
        /* last: its abandoned pass holds the fake library's lock until exit */
        cmocka_unit_test(test_a_hung_pass_gives_stale_frames_and_stop_leaves_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
