/* Unit tests: the selection document (doc/select_doc.c) - the devices best
 * first, the CUDA_VISIBLE_DEVICES value as `select` prints it, UUIDs for MIG,
 * the constraints with unset ones null, and the reason when too few. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "doc/select_doc.h"

#define GiB (1ull << 30)

static struct select_device devices[2];
static struct select_result result;
static struct select_constraints constraints;
static const char *const free_users[] = {"alice"};

/* GPUs 2 and 0 chosen, in that order; GPU 0's utilisation met the limit
 * only within the tolerance. */
static int setup(void **state)
{
    (void)state;
    memset(devices, 0, sizeof devices);
    devices[0] = (struct select_device){
        .device_index = 2, .mig = -1, .cuda_index = 2, .uuid = "GPU-2222",
        .mem_free_bytes = {30 * GiB, true}, .mem_used_bytes = {10 * GiB, true},
        .mem_total_bytes = {40 * GiB, true}, .util_gpu_pct = {5, true},
        .util_mem_pct = {1, true}};
    devices[1] = (struct select_device){
        .device_index = 0, .mig = -1, .cuda_index = 0, .uuid = "GPU-0000",
        .mem_free_bytes = {20 * GiB, true}, .mem_used_bytes = {20 * GiB, true},
        .mem_total_bytes = {40 * GiB, true}, .util_gpu_pct = {31, true}, .relaxed = 1};
    result = (struct select_result){.devices = devices, .count = 2, .qualified = 3,
                                    .enough = true};
    constraints = (struct select_constraints){
        .min_count = 1, .max_count = 2, .min_free_set = true, .min_free_bytes = 16 * GiB,
        .max_gpu_util_set = true, .max_gpu_util_pct = 30, .tolerance_pct = 5,
        .free_users = free_users, .free_user_count = 1};
    return 0;
}

static json_t *build(bool uuid)
{
    struct doc_select_request r = {.constraints = &constraints, .result = &result, .uuid = uuid};
    struct error e = {0};
    json_t *doc = doc_select_build(&r, &e);
    assert_non_null(doc);
    return doc;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_the_devices_keep_the_order_of_the_choice(void **state)
{
    (void)state;
    json_t *doc = build(false);
    json_t *devs = json_object_get(doc, "devices");
    assert_int_equal(json_array_size(devs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(devs, 0), "gpu")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(devs, 1), "gpu")), 0);
    assert_true(json_is_true(json_object_get(doc, "enough")));
    assert_true(json_is_null(json_object_get(doc, "reason")));
    assert_int_equal(json_integer_value(json_object_get(doc, "qualified")), 3);
    json_decref(doc);
}

static void test_visible_devices_are_indices_joined_by_commas(void **state)
{
    (void)state;
    json_t *doc = build(false);
    assert_string_equal(str(doc, "format"), "index");
    assert_string_equal(str(doc, "cuda_visible_devices"), "2,0");
    json_decref(doc);
}

static void test_uuids_when_asked_for_or_when_a_mig_device_is_chosen(void **state)
{
    (void)state;
    json_t *doc = build(true);
    assert_string_equal(str(doc, "format"), "uuid");
    assert_string_equal(str(doc, "cuda_visible_devices"), "GPU-2222,GPU-0000");
    json_decref(doc);
    result.uuid_required = true;
    doc = build(false);
    assert_string_equal(str(doc, "cuda_visible_devices"), "GPU-2222,GPU-0000");
    json_decref(doc);
}

static void test_a_device_without_uuid_leaves_the_value_null(void **state)
{
    (void)state;
    devices[1].uuid[0] = '\0';
    json_t *doc = build(true);
    assert_true(json_is_null(json_object_get(doc, "cuda_visible_devices")));
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "devices"), 1),
                                             "uuid")));
    json_decref(doc);
}

static void test_a_device_is_described_whole_with_unknowns_null(void **state)
{
    (void)state;
    json_t *doc = build(false);
    char *text = json_dumps(json_array_get(json_object_get(doc, "devices"), 1),
                            JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text,
        "{\"gpu\":0,\"mig\":null,\"cuda_index\":0,\"uuid\":\"GPU-0000\","
        "\"memory_free_bytes\":21474836480,\"memory_used_bytes\":21474836480,"
        "\"memory_total_bytes\":42949672960,\"utilization_gpu_pct\":31.0,"
        "\"utilization_memory_pct\":null,\"relaxed\":1}");
    free(text);
    json_decref(doc);
}

static void test_the_constraints_show_unset_limits_as_null(void **state)
{
    (void)state;
    json_t *doc = build(false);
    char *text = json_dumps(json_object_get(doc, "constraints"),
                            JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text,
        "{\"min_count\":1,\"max_count\":2,\"min_free_memory_bytes\":17179869184,"
        "\"min_total_memory_bytes\":null,\"max_gpu_utilization_pct\":30,"
        "\"max_memory_utilization_pct\":null,\"tolerance_pct\":5,\"inherit\":false,"
        "\"account_as_free\":[\"alice\"]}");
    free(text);
    json_decref(doc);
    constraints.max_count = SELECT_NO_MAX;
    doc = build(false);
    assert_true(json_is_null(json_object_get(json_object_get(doc, "constraints"), "max_count")));
    json_decref(doc);
}

static void test_too_few_says_why_and_chooses_nothing(void **state)
{
    (void)state;
    result = (struct select_result){.enough = false, .qualified = 0};
    strcpy(result.reason, "0 of 2 devices qualify; 2 have less free memory than --min-free-memory");
    json_t *doc = build(false);
    assert_true(json_is_false(json_object_get(doc, "enough")));
    assert_string_equal(str(doc, "reason"), result.reason);
    assert_string_equal(str(doc, "cuda_visible_devices"), "");
    assert_int_equal(json_array_size(json_object_get(doc, "devices")), 0);
    json_decref(doc);
}

#define T(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_the_devices_keep_the_order_of_the_choice),
        T(test_visible_devices_are_indices_joined_by_commas),
        T(test_uuids_when_asked_for_or_when_a_mig_device_is_chosen),
        T(test_a_device_without_uuid_leaves_the_value_null),
        T(test_a_device_is_described_whole_with_unknowns_null),
        T(test_the_constraints_show_unset_limits_as_null),
        T(test_too_few_says_why_and_chooses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
