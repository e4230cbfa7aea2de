/* Unit tests: XID errors from NVML's event API (src/sources/nvml_events.c).
 * A stub event API stands in for the driver: it says which GPUs support
 * XID events, which registrations succeed, and queues the events a wait
 * hands out, so the tally logic is checked without a library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sources/nvml_internal.h"

#define GPUS 3
#define QUEUE_MAX 600

static struct {
    unsigned long long supported[GPUS];
    nvmlReturn_t register_rc[GPUS];
    nvml_event_data queue[QUEUE_MAX];
    size_t queued, next;
    nvmlReturn_t when_empty;       /* what a wait on an empty queue answers */
    bool freed;
    int set;                       /* its address is the event set */
} stub;

static nvmlDevice_t handle(unsigned i)
{
    return (nvmlDevice_t)(uintptr_t)(0x1000 + 16 * i);
}

static unsigned slot_of(nvmlDevice_t h)
{
    return (unsigned)(((uintptr_t)h - 0x1000) / 16);
}

static nvmlReturn_t stub_create(nvmlEventSet_t *set)
{
    *set = (nvmlEventSet_t)&stub.set;
    return NVML_SUCCESS;
}

static nvmlReturn_t stub_supported(nvmlDevice_t h, unsigned long long *types)
{
    *types = stub.supported[slot_of(h)];
    return NVML_SUCCESS;
}

static nvmlReturn_t stub_register(nvmlDevice_t h, unsigned long long types, nvmlEventSet_t set)
{
    assert_ptr_equal(set, &stub.set);
    assert_true(types == NVML_EVENT_TYPE_XID_CRITICAL_ERROR);
    return stub.register_rc[slot_of(h)];
}

static nvmlReturn_t stub_wait(nvmlEventSet_t set, nvml_event_data *data, unsigned timeout_ms)
{
    assert_ptr_equal(set, &stub.set);
    assert_int_equal(timeout_ms, 0);   /* the sampling pass never sleeps here */
    if (stub.next == stub.queued)
        return stub.when_empty;
    *data = stub.queue[stub.next++];
    return NVML_SUCCESS;
}

static nvmlReturn_t stub_free(nvmlEventSet_t set)
{
    assert_ptr_equal(set, &stub.set);
    stub.freed = true;
    return NVML_SUCCESS;
}

static void queue_xid(unsigned gpu, unsigned long long xid)
{
    stub.queue[stub.queued++] = (nvml_event_data){
        .device = handle(gpu), .event_type = NVML_EVENT_TYPE_XID_CRITICAL_ERROR, .event_data = xid};
}

/* A driver with the event API and GPUS GPUs that all support XIDs. */
static struct nvml_device_state devs[GPUS];
static struct nvml_state state;

static int setup(void **unused)
{
    (void)unused;
    memset(&stub, 0, sizeof stub);
    stub.when_empty = NVML_ERROR_TIMEOUT;
    for (unsigned i = 0; i < GPUS; i++) {
        stub.supported[i] = NVML_EVENT_TYPE_XID_CRITICAL_ERROR;
        devs[i] = (struct nvml_device_state){.handle = handle(i)};
    }
    memset(&state, 0, sizeof state);
    state.count = GPUS;
    state.devs = devs;
    state.api.event_set_create = stub_create;
    state.api.device_get_supported_event_types = stub_supported;
    state.api.device_register_events = stub_register;
    state.api.event_set_wait = stub_wait;
    state.api.event_set_free = stub_free;
    return 0;
}

static struct device filled(unsigned slot)
{
    struct device d = {0};
    nvml_xid_fill(&state, slot, &d);
    return d;
}

static void test_each_gpu_keeps_its_last_xid_count_and_time(void **unused)
{
    (void)unused;
    nvml_xid_watch(&state);
    queue_xid(1, 79);
    queue_xid(0, 13);
    queue_xid(1, 48);
    assert_int_equal(nvml_xid_collect(&state, 1000.5), 3);
    struct device d1 = filled(1), d0 = filled(0);
    assert_true(d1.xid_last.known && d1.xid_count.known && d1.xid_last_time.known);
    assert_int_equal(d1.xid_last.v, 48);
    assert_int_equal(d1.xid_count.v, 2);
    assert_true(d1.xid_last_time.v == 1000.5);
    assert_int_equal(d0.xid_last.v, 13);
    assert_int_equal(d0.xid_count.v, 1);
    /* a later pass adds to the count */
    queue_xid(0, 31);
    assert_int_equal(nvml_xid_collect(&state, 1001.0), 1);
    d0 = filled(0);
    assert_int_equal(d0.xid_last.v, 31);
    assert_int_equal(d0.xid_count.v, 2);
    assert_true(d0.xid_last_time.v == 1001.0);
    nvml_xid_unwatch(&state);
    assert_true(stub.freed);
}

static void test_a_watched_gpu_without_xids_reads_zero_and_no_time(void **unused)
{
    (void)unused;
    nvml_xid_watch(&state);
    assert_int_equal(nvml_xid_collect(&state, 5.0), 0);
    struct device d = filled(2);
    assert_true(d.xid_last.known && d.xid_count.known);
    assert_int_equal(d.xid_last.v, 0);
    assert_int_equal(d.xid_count.v, 0);
    assert_false(d.xid_last_time.known);
    nvml_xid_unwatch(&state);
}

static void test_gpus_that_cannot_report_xids_stay_unknown(void **unused)
{
    (void)unused;
    stub.supported[1] = 0;                           /* the driver says no */
    stub.register_rc[2] = NVML_ERROR_NO_PERMISSION;  /* registering fails */
    devs[0].handle = NULL;                           /* no handle at all */
    nvml_xid_watch(&state);
    for (unsigned i = 0; i < GPUS; i++) {
        struct device d = filled(i);
        assert_false(d.xid_last.known);
        assert_false(d.xid_count.known);
    }
    /* with no GPU watched the event set is not kept */
    assert_true(stub.freed);
    assert_null(state.events);
    assert_int_equal(nvml_xid_collect(&state, 1.0), 0);
}

static void test_a_driver_without_the_event_api_leaves_xids_unknown(void **unused)
{
    (void)unused;
    state.api.event_set_wait = NULL;
    nvml_xid_watch(&state);
    assert_null(state.events);
    queue_xid(0, 79);
    assert_int_equal(nvml_xid_collect(&state, 1.0), 0);
    struct device d = filled(0);
    assert_false(d.xid_last.known);
    assert_false(d.xid_count.known);
    nvml_xid_unwatch(&state);
    assert_false(stub.freed);
}

static void test_registering_without_the_support_query_is_the_test(void **unused)
{
    (void)unused;
    state.api.device_get_supported_event_types = NULL;
    stub.register_rc[1] = NVML_ERROR_NOT_SUPPORTED;
    nvml_xid_watch(&state);
    assert_true(filled(0).xid_count.known);
    assert_false(filled(1).xid_count.known);
    nvml_xid_unwatch(&state);
}

static void test_a_pass_takes_a_bounded_number_and_leaves_the_rest_queued(void **unused)
{
    (void)unused;
    nvml_xid_watch(&state);
    for (unsigned i = 0; i < 300; i++)
        queue_xid(0, 100 + i);
    int first = nvml_xid_collect(&state, 1.0);
    assert_true(first > 0 && first < 300);
    assert_int_equal(first + nvml_xid_collect(&state, 2.0), 300);
    struct device d = filled(0);
    assert_int_equal(d.xid_count.v, 300);
    assert_int_equal(d.xid_last.v, 399);
    nvml_xid_unwatch(&state);
}

static void test_a_failing_wait_ends_the_pass_and_the_next_one_goes_on(void **unused)
{
    (void)unused;
    nvml_xid_watch(&state);
    stub.when_empty = NVML_ERROR_GPU_IS_LOST;
    assert_int_equal(nvml_xid_collect(&state, 1.0), 0);
    queue_xid(2, 94);
    assert_int_equal(nvml_xid_collect(&state, 2.0), 1);
    assert_int_equal(filled(2).xid_last.v, 94);
    nvml_xid_unwatch(&state);
}

static void test_other_events_and_unwatched_gpus_are_not_counted(void **unused)
{
    (void)unused;
    stub.supported[1] = 0;
    nvml_xid_watch(&state);
    queue_xid(1, 79);                                  /* a GPU not watched */
    stub.queue[stub.queued++] = (nvml_event_data){     /* not an XID event */
        .device = handle(0), .event_type = 0x4, .event_data = 7};
    queue_xid(7, 79);                                  /* a handle not ours */
    assert_int_equal(nvml_xid_collect(&state, 1.0), 3);
    assert_int_equal(filled(0).xid_count.v, 0);
    assert_int_equal(filled(0).xid_last.v, 0);
    assert_false(filled(1).xid_count.known);
    nvml_xid_unwatch(&state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_each_gpu_keeps_its_last_xid_count_and_time, setup),
        cmocka_unit_test_setup(test_a_watched_gpu_without_xids_reads_zero_and_no_time, setup),
        cmocka_unit_test_setup(test_gpus_that_cannot_report_xids_stay_unknown, setup),
        cmocka_unit_test_setup(test_a_driver_without_the_event_api_leaves_xids_unknown, setup),
        cmocka_unit_test_setup(test_registering_without_the_support_query_is_the_test, setup),
        cmocka_unit_test_setup(test_a_pass_takes_a_bounded_number_and_leaves_the_rest_queued,
                               setup),
        cmocka_unit_test_setup(test_a_failing_wait_ends_the_pass_and_the_next_one_goes_on, setup),
        cmocka_unit_test_setup(test_other_events_and_unwatched_gpus_are_not_counted, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
