/* Unit tests: NVML symbol resolution, newest first, with the struct stride
 * each generation needs.  A lookup over a fixed set of names stands in for
 * dlsym, so every driver generation can be described in a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "sources/nvml_abi.h"

/* Each "symbol" resolves to the address of its own name string, so a test
 * can tell which one was bound. */
struct symbols {
    const char *const *names;
};

static void *lookup(void *ctx, const char *symbol)
{
    const struct symbols *s = ctx;
    for (size_t i = 0; s->names[i]; i++)
        if (strcmp(s->names[i], symbol) == 0)
            return (void *)s->names[i];
    return NULL;
}

static const char *bound_name(const void *fn)
{
    return (const char *)fn;
}

#define REQUIRED "nvmlInit", "nvmlShutdown", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex"

static void resolve(const char *const *names, struct nvml_api *api)
{
    struct symbols s = {names};
    char missing[64];
    assert_int_equal(nvml_abi_resolve(api, lookup, &s, missing, sizeof missing), 0);
}

static void test_modern_driver_uses_v3_with_24_byte_entries(void **state)
{
    (void)state;
    static const char *const names[] = {
        REQUIRED, "nvmlInit_v2", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses_v2",
        "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v3",
        "nvmlDeviceGetMPSComputeRunningProcesses_v3", "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetTemperatureV",
        "nvmlDeviceGetRunningProcessDetailList", "nvmlDeviceGetConfComputeMemSizeInfo", NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_string_equal(bound_name((void *)api.init), "nvmlInit_v2");
    assert_string_equal(bound_name((void *)api.device_get_count), "nvmlDeviceGetCount_v2");
    assert_int_equal(api.process_api, NVML_PROCS_V3);
    assert_int_equal(api.process_stride, 24);
    assert_string_equal(bound_name((void *)api.compute_procs),
                        "nvmlDeviceGetComputeRunningProcesses_v3");
    assert_string_equal(bound_name((void *)api.mps_procs),
                        "nvmlDeviceGetMPSComputeRunningProcesses_v3");
    assert_int_equal(api.memory_version, 2);
    assert_int_equal(api.pci_version, 3);
    assert_non_null(api.device_get_temperature_v);
}

static void test_cc_era_driver_uses_32_byte_entries(void **state)
{
    (void)state;
    static const char *const names[] = {
        REQUIRED, "nvmlDeviceGetComputeRunningProcesses_v3",
        "nvmlDeviceGetConfComputeMemSizeInfo", NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_int_equal(api.process_api, NVML_PROCS_V3);
    assert_int_equal(api.process_stride, 32);
    assert_null(api.graphics_procs);
}

static void test_v2_generation_keeps_its_suffix_for_every_list(void **state)
{
    (void)state;
    static const char *const names[] = {
        REQUIRED, "nvmlDeviceGetComputeRunningProcesses_v2",
        "nvmlDeviceGetGraphicsRunningProcesses_v2", "nvmlDeviceGetGraphicsRunningProcesses",
        "nvmlDeviceGetMPSComputeRunningProcesses", NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_int_equal(api.process_api, NVML_PROCS_V2);
    assert_int_equal(api.process_stride, 24);
    assert_string_equal(bound_name((void *)api.graphics_procs),
                        "nvmlDeviceGetGraphicsRunningProcesses_v2");
    /* Mixing generations would mix strides: no _v2 MPS list, so none at all. */
    assert_null(api.mps_procs);
}

static void test_old_driver_falls_back_to_plain_calls(void **state)
{
    (void)state;
    static const char *const names[] = {
        REQUIRED, "nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses",
        "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetPciInfo", "nvmlDeviceGetTemperature", NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_string_equal(bound_name((void *)api.init), "nvmlInit");
    assert_int_equal(api.process_api, NVML_PROCS_V1);
    assert_int_equal(api.process_stride, 16);
    assert_int_equal(api.memory_version, 1);
    assert_int_equal(api.pci_version, 1);
    assert_null(api.device_get_temperature_v);
    assert_non_null(api.device_get_temperature);
}

static void test_pci_v2_is_used_when_v3_is_absent(void **state)
{
    (void)state;
    static const char *const names[] = {REQUIRED, "nvmlDeviceGetPciInfo_v2",
                                        "nvmlDeviceGetPciInfo", NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_string_equal(bound_name((void *)api.device_get_pci_info), "nvmlDeviceGetPciInfo_v2");
    assert_int_equal(api.pci_version, 2);
}

static void test_missing_required_symbol_is_named(void **state)
{
    (void)state;
    static const char *const names[] = {"nvmlInit", "nvmlShutdown", "nvmlDeviceGetCount", NULL};
    struct symbols s = {names};
    struct nvml_api api;
    char missing[64] = "";
    assert_int_equal(nvml_abi_resolve(&api, lookup, &s, missing, sizeof missing), -ENOENT);
    assert_string_equal(missing, "nvmlDeviceGetHandleByIndex");
}

static void test_optional_symbols_absent_stay_null(void **state)
{
    (void)state;
    static const char *const names[] = {REQUIRED, NULL};
    struct nvml_api api;
    resolve(names, &api);
    assert_null(api.compute_procs);
    assert_int_equal(api.process_stride, 0);
    assert_null(api.device_get_memory_info);
    assert_null(api.device_get_process_utilization);
}

static void test_event_wait_prefers_v2_and_falls_back_to_the_plain_call(void **state)
{
    (void)state;
    static const char *const modern[] = {REQUIRED, "nvmlEventSetCreate", "nvmlEventSetWait",
                                         "nvmlEventSetWait_v2", NULL};
    static const char *const old[] = {REQUIRED, "nvmlEventSetCreate", "nvmlEventSetWait", NULL};
    struct nvml_api api;
    resolve(modern, &api);
    assert_string_equal(bound_name((void *)api.event_set_wait), "nvmlEventSetWait_v2");
    assert_string_equal(bound_name((void *)api.event_set_create), "nvmlEventSetCreate");
    assert_null(api.device_register_events);
    resolve(old, &api);
    assert_string_equal(bound_name((void *)api.event_set_wait), "nvmlEventSetWait");
}

static void test_struct_layouts_match_the_abi(void **state)
{
    (void)state;
    assert_int_equal(sizeof(nvml_process_info_v1), 16);
    assert_int_equal(sizeof(nvml_process_info_v2), 24);
    assert_int_equal(sizeof(nvml_process_info_v3_cc), 32);
    assert_int_equal(sizeof(nvml_memory_v2), 40);
    assert_int_equal(sizeof(nvml_temperature_v1), 12);
    assert_int_equal(offsetof(nvml_pci_info_v3, bus_id), 36);
    assert_int_equal(sizeof(nvml_process_utilization_sample), 32);
    assert_int_equal(NVML_STRUCT_VERSION(sizeof(nvml_memory_v2), 2), 0x02000028);
    /* _v2's event record; the plain call writes the first 24 bytes */
    assert_int_equal(sizeof(nvml_event_data), 32);
    assert_int_equal(offsetof(nvml_event_data, event_data), 16);
    assert_int_equal(offsetof(nvml_event_data, gpu_instance_id), 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modern_driver_uses_v3_with_24_byte_entries),
        cmocka_unit_test(test_cc_era_driver_uses_32_byte_entries),
        cmocka_unit_test(test_v2_generation_keeps_its_suffix_for_every_list),
        cmocka_unit_test(test_old_driver_falls_back_to_plain_calls),
        cmocka_unit_test(test_pci_v2_is_used_when_v3_is_absent),
        cmocka_unit_test(test_missing_required_symbol_is_named),
        cmocka_unit_test(test_optional_symbols_absent_stay_null),
        cmocka_unit_test(test_event_wait_prefers_v2_and_falls_back_to_the_plain_call),
        cmocka_unit_test(test_struct_layouts_match_the_abi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
