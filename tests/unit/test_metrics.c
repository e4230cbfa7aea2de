/* test_metrics.c - the Prometheus text of a snapshot: DCGM names, units and
 * labels for NVIDIA GPUs only, gpuctl's own series for every vendor, no
 * sample for an unknown value, each family written once and whole, the
 * per-process cap keeping the biggest users, and escaped label values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "net/metrics.h"

struct fixture {
    struct snapshot s;
    struct device dev[2];
    struct mig_instance mig;
    struct gpu_process gp[3];
    struct host_process hp[3];
};

static void build(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    struct device *n = &f->dev[0], *a = &f->dev[1];
    n->vendor = VENDOR_NVIDIA;
    n->index = 0;
    strcpy(n->uuid, "GPU-aaaa");
    strcpy(n->name, "NVIDIA A100-SXM4-40GB");
    strcpy(n->pci_bus_id, "0000:3b:00.0");
    OPT_SET(n->util_gpu_pct, 42);
    OPT_SET(n->mem_used_bytes, 3ull << 30);
    OPT_SET(n->power_mw, 123456);
    OPT_SET(n->energy_uj, 5000000);
    /* temperature unknown: no sample */
    n->mig_count = 1;
    n->migs = &f->mig;
    f->mig.gpu_instance_id = 7;
    strcpy(f->mig.name, "1g.5gb");
    OPT_SET(f->mig.mem_used_bytes, 1ull << 20);

    a->vendor = VENDOR_AMD;
    a->index = 1;
    strcpy(a->uuid, "amd-1");
    strcpy(a->name, "AMD Radeon");
    strcpy(a->pci_bus_id, "0000:c1:00.0");
    OPT_SET(a->util_gpu_pct, 10);

    const uint64_t mem[3] = {100 << 20, 300 << 20, 200 << 20};
    for (int i = 0; i < 3; i++) {
        f->gp[i].pid = 100 + i;
        f->gp[i].device_index = 0;
        OPT_SET(f->gp[i].gpu_mem_bytes, mem[i]);
        OPT_SET(f->gp[i].sm_pct, 10.0 * (i + 1));
        f->hp[i].pid = 100 + i;
        f->hp[i].exists = true;
        strcpy(f->hp[i].user, "alice");
        OPT_SET(f->hp[i].rss_bytes, 4096);
    }
    strcpy(f->hp[1].name, "py\"thon");
    f->hp[1].container.kind = CONTAINER_KUBERNETES;
    strcpy(f->hp[1].container.id, "c0ffee");
    strcpy(f->hp[1].container.pod_uid, "pod-uid-1");
    strcpy(f->s.host.hostname, "node1");
    f->s.devices = f->dev;
    f->s.device_count = 2;
    f->s.gprocs = f->gp;
    f->s.gproc_count = 3;
    f->s.hprocs = f->hp;
    f->s.hproc_count = 3;
}

static char *render(struct fixture *f, unsigned max_processes)
{
    struct metrics_options o = {.max_processes = max_processes, .version = "0.1.0",
                                .revision = "abc"};
    char *text = NULL;
    size_t len = 0;
    struct error e = {0};
    assert_int_equal(metrics_render(&f->s, NULL, &o, &text, &len, &e), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_dcgm_series_carry_dcgm_units_and_labels(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    char *t = render(&f, 512);
    assert_non_null(strstr(t, "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"));
    assert_non_null(strstr(t, "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-aaaa\","
                              "pci_bus_id=\"00000000:3B:00.0\",device=\"nvidia0\","
                              "modelName=\"NVIDIA A100-SXM4-40GB\",Hostname=\"node1\"} 42\n"));
    /* MiB and watts, as DCGM reports them */
    assert_non_null(strstr(t, "DCGM_FI_DEV_FB_USED{gpu=\"0\""));
    assert_non_null(strstr(t, "Hostname=\"node1\"} 3072\n"));
    assert_non_null(strstr(t, "Hostname=\"node1\"} 123.456\n"));
    /* MIG instances add their profile and id */
    assert_non_null(strstr(t, "GPU_I_PROFILE=\"1g.5gb\",GPU_I_ID=\"7\"} 1\n"));
    /* the AMD GPU has no DCGM series, only gpuctl's */
    assert_null(strstr(t, "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\""));
    assert_non_null(strstr(t, "gpuctl_utilization_ratio{gpu=\"1\",uuid=\"amd-1\""));
    assert_non_null(strstr(t, "vendor=\"amd\",hostname=\"node1\"} 0.1\n"));
    free(t);
}

static void test_unknown_values_have_no_sample(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    char *t = render(&f, 512);
    assert_non_null(strstr(t, "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n"));
    assert_null(strstr(t, "DCGM_FI_DEV_GPU_TEMP{"));
    assert_null(strstr(t, "gpuctl_temperature_celsius{"));
    free(t);
}

static void test_xid_series_carry_the_code_as_dcgm_does_and_a_counter(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    OPT_SET(f.dev[0].xid_last, 79);
    OPT_SET(f.dev[0].xid_count, 3);
    char *t = render(&f, 512);
    assert_non_null(strstr(t, "# TYPE DCGM_FI_DEV_XID_ERRORS gauge\n"));
    assert_non_null(strstr(t, "DCGM_FI_DEV_XID_ERRORS{gpu=\"0\",UUID=\"GPU-aaaa\","
                              "pci_bus_id=\"00000000:3B:00.0\",device=\"nvidia0\","
                              "modelName=\"NVIDIA A100-SXM4-40GB\",Hostname=\"node1\","
                              "err_code=\"79\"} 79\n"));
    assert_non_null(strstr(t, "# TYPE gpuctl_xid_errors_total counter\n"));
    assert_non_null(strstr(t, "gpuctl_xid_errors_total{gpu=\"0\",uuid=\"GPU-aaaa\""));
    assert_non_null(strstr(t, "hostname=\"node1\"} 3\n"));
    /* no XID data for the AMD GPU, and no err_code on other series */
    assert_null(strstr(t, "gpuctl_xid_errors_total{gpu=\"1\""));
    assert_null(strstr(t, "Hostname=\"node1\",err_code=\"79\"} 42"));
    /* the time of the last one is unknown here: no sample */
    assert_null(strstr(t, "gpuctl_xid_last_time_seconds{"));
    free(t);
}

/* Every family's samples follow its TYPE line without another family in
 * between, and no family is declared twice. */
static void test_each_family_is_written_once_and_whole(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    char *t = render(&f, 512);
    char current[128] = "";
    char *save = NULL;
    char *names[512];
    size_t count = 0;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            sscanf(line + 7, "%127s", current);
            for (size_t i = 0; i < count; i++)
                assert_string_not_equal(names[i], current);
            assert_true(count < 512);
            names[count++] = strdup(current);
            continue;
        }
        if (line[0] == '#')
            continue;
        size_t n = strcspn(line, "{ ");
        assert_int_equal(n, strlen(current));
        assert_memory_equal(line, current, n);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(t);
}

static void test_process_cap_keeps_the_biggest_users(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    char *t = render(&f, 2);
    assert_non_null(strstr(t, "gpuctl_metrics_processes_dropped 1\n"));
    assert_non_null(strstr(t, "gpuctl_process_memory_used_bytes{gpu=\"0\",uuid=\"GPU-aaaa\","
                              "pid=\"101\",user=\"alice\",command=\"py\\\"thon\","
                              "container=\"c0ffee\",pod=\"pod-uid-1\",namespace=\"\","
                              "hostname=\"node1\"} 314572800\n"));
    assert_non_null(strstr(t, "pid=\"102\""));
    assert_null(strstr(t, "pid=\"100\""));
    free(t);
}

static void test_label_values_escape_backslash_quote_and_newline(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    strcpy(f.hp[1].name, "a\\b\"c\nd\\");
    char *t = render(&f, 512);
    assert_non_null(strstr(t, "pid=\"101\",user=\"alice\",command=\"a\\\\b\\\"c\\nd\\\\\","));
    free(t);
}

static void test_pod_and_namespace_come_from_the_pod_directories(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    struct pod_name known = {.uid = "pod-uid-1", .ns = "ml", .name = "trainer-0"};
    struct pod_names pods = {.items = &known, .count = 1};
    struct metrics_options o = {.max_processes = 512, .pods = &pods};
    char *t = NULL;
    size_t len = 0;
    struct error e = {0};
    assert_int_equal(metrics_render(&f.s, NULL, &o, &t, &len, &e), 0);
    assert_non_null(strstr(t, "container=\"c0ffee\",pod=\"trainer-0\",namespace=\"ml\""));
    free(t);
}

static void test_exporter_gauges_are_present(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    char *t = render(&f, 512);
    assert_non_null(strstr(t, "gpuctl_up 1\n"));
    assert_non_null(strstr(t, "gpuctl_build_info{version=\"0.1.0\",revision=\"abc\"} 1\n"));
    assert_non_null(strstr(t, "gpuctl_device_stale{gpu=\"1\""));
    assert_non_null(strstr(t, "# TYPE gpuctl_energy_joules_total counter\n"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dcgm_series_carry_dcgm_units_and_labels),
        cmocka_unit_test(test_unknown_values_have_no_sample),
        cmocka_unit_test(test_xid_series_carry_the_code_as_dcgm_does_and_a_counter),
        cmocka_unit_test(test_each_family_is_written_once_and_whole),
        cmocka_unit_test(test_process_cap_keeps_the_biggest_users),
        cmocka_unit_test(test_label_values_escape_backslash_quote_and_newline),
        cmocka_unit_test(test_pod_and_namespace_come_from_the_pod_directories),
        cmocka_unit_test(test_exporter_gauges_are_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
