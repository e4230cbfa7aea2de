/* test_libgpuctl.c - libgpuctl's version 2 calls through the public header
 * only, against the fake NVML and a real child process: fields by key, MIG
 * instances, finding devices, CUDA ordinals, host facts, the sampler,
 * selection, the safe kill and the snapshot document.
 * Nothing here asserts a duration; waits are bounded by generous limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpuctl/gpuctl.h"

#define GIB 1073741824ull

static char scenario_path[256];
static pid_t child;

/* GPU 0 runs the child; GPU 1 is in MIG mode with one instance; GPU 2
 * answers nothing but its name. */
static void write_scenario(pid_t pid)
{
    FILE *f = fopen(scenario_path, "w");
    assert_non_null(f);
    fprintf(f,
        "{\"devices\": ["
        "{\"name\": \"NVIDIA H100 80GB HBM3\", "
        "\"uuid\": \"GPU-aaaa0000-0000-0000-0000-000000000000\", "
        "\"pci\": {\"bus_id\": \"00000000:18:00.0\"}, "
        "\"memory\": {\"total\": %llu, \"reserved\": 0, \"used\": %llu}, "
        "\"utilization\": {\"gpu\": 42, \"memory\": 7}, \"pstate\": 2, "
        "\"compute_mode\": \"EXCLUSIVE_PROCESS\", \"persistence_mode\": true, "
        "\"processes\": {\"compute\": [{\"pid\": %d, \"used_memory\": %llu}]}},"
        "{\"name\": \"NVIDIA H100 80GB HBM3\", "
        "\"uuid\": \"GPU-aaaa1111-0000-0000-0000-000000000000\", "
        "\"pci\": {\"bus_id\": \"00000000:28:00.0\"}, "
        "\"memory\": {\"total\": %llu, \"reserved\": 0, \"used\": %llu}, "
        "\"utilization\": {\"gpu\": 90, \"memory\": 50}, "
        "\"mig\": {\"current\": true, \"max_devices\": 7, \"devices\": ["
        "{\"name\": \"NVIDIA H100 80GB HBM3 MIG 3g.40gb\", "
        "\"uuid\": \"MIG-bbbb0000-0000-0000-0000-000000000000\", "
        "\"gpu_instance_id\": 2, \"compute_instance_id\": 0, "
        "\"memory\": {\"total\": %llu, \"used\": %llu}}]}},"
        "{\"name\": \"Bare\", \"uuid\": \"GPU-cccc0000-0000-0000-0000-000000000000\", "
        "\"pci\": {\"bus_id\": \"00000000:38:00.0\"}}"
        "]}",
        80 * GIB, 10 * GIB, (int)pid, 3 * GIB, 80 * GIB, 70 * GIB, 40 * GIB, GIB);
    assert_int_equal(fclose(f), 0);
}

/* A child running `sleep 300`, returned once it has exec'd (the pipe's
 * write end closes on exec), so its name is "sleep" when read. */
static pid_t spawn_sleeper(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        execl("/bin/sleep", "sleep", "300", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char c;
    while (pid > 0 && read(fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    return pid;
}

static int setup(void **state)
{
    (void)state;
    const char *dir = getenv("FAKE_NVML_DIR");
    if (!dir)
        return -1;
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libnvidia-ml.so.1", dir);
    char tmpl[] = "/tmp/gpuctl-test-lib-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(scenario_path, sizeof scenario_path, "%s/scenario.json", tmpl);
    child = spawn_sleeper();
    if (child < 0)
        return -1;
    write_scenario(child);
    setenv("GPUCTL_NVML_LIBRARY", lib, 1);
    setenv("FAKE_NVML_SCENARIO", scenario_path, 1);
    setenv("GPUCTL_SYS_ROOT", "/nonexistent", 1);   /* no DRM card joins */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    unlink(scenario_path);
    char *slash = strrchr(scenario_path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(scenario_path);
    }
    return 0;
}

static gpuctl_snapshot *take(gpuctl **g)
{
    char err[256] = "";
    assert_int_equal(gpuctl_open(g, err, sizeof err), 0);
    gpuctl_snapshot *s;
    assert_int_equal(gpuctl_snapshot_take(*g, &s, err, sizeof err), 0);
    assert_int_equal(gpuctl_device_count(s), 3);
    return s;
}

static int field(enum gpuctl_scope scope, const char *key)
{
    int id = gpuctl_field_find(scope, key);
    assert_true(id >= 0);
    return id;
}

static void test_fields_are_found_by_their_document_key(void **state)
{
    (void)state;
    assert_true(gpuctl_field_count() > 50);
    int used = field(GPUCTL_SCOPE_DEVICE, "mem_used_mb");
    assert_string_equal(gpuctl_field_key(used), "mem_used_mb");
    assert_string_equal(gpuctl_field_unit(used), "bytes");
    assert_non_null(gpuctl_field_help(used));
    assert_int_equal(gpuctl_field_scope(used), GPUCTL_SCOPE_DEVICE);
    assert_int_equal(gpuctl_field_is_text(used), 0);
    assert_string_equal(gpuctl_field_unit(field(GPUCTL_SCOPE_DEVICE, "power_w")), "milliwatts");
    assert_int_equal(gpuctl_field_is_text(field(GPUCTL_SCOPE_DEVICE, "name")), 1);
    assert_null(gpuctl_field_unit(field(GPUCTL_SCOPE_DEVICE, "name")));
    assert_int_equal(gpuctl_field_find(GPUCTL_SCOPE_DEVICE, "no_such_key"), -ENOENT);
    assert_int_equal(gpuctl_field_find(GPUCTL_SCOPE_HOST, "pstate"), -ENOENT);
    assert_int_equal(gpuctl_field_find(GPUCTL_SCOPE_DEVICE, NULL), -EINVAL);
    assert_null(gpuctl_field_key(-1));
    assert_null(gpuctl_field_key((int)gpuctl_field_count()));
    assert_int_equal(gpuctl_field_scope(-1), -EINVAL);
}

static void test_every_document_field_reads_known_or_enodata(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    double v;
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 0,
                                       field(GPUCTL_SCOPE_DEVICE, "mem_used_mb"), &v), 0);
    assert_true(v == (double)(10 * GIB));
    int pstate = field(GPUCTL_SCOPE_DEVICE, "pstate");
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 0, pstate, &v), 0);
    assert_true(v == 2.0);
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_DEVICE, 0, pstate), "P2");
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_DEVICE, 0,
                                          field(GPUCTL_SCOPE_DEVICE, "compute_mode")),
                        "exclusive_process");
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 0,
                                       field(GPUCTL_SCOPE_DEVICE, "persistence_mode"), &v), 0);
    assert_true(v == 1.0);
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_DEVICE, 2,
                                          field(GPUCTL_SCOPE_DEVICE, "name")), "Bare");
    /* the bare GPU: unknown, never zero */
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 2,
                                       field(GPUCTL_SCOPE_DEVICE, "mem_used_mb"), &v),
                     GPUCTL_ENODATA);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 2,
                                       field(GPUCTL_SCOPE_DEVICE, "util_pct"), &v),
                     GPUCTL_ENODATA);
    assert_null(gpuctl_get_string(s, GPUCTL_SCOPE_DEVICE, 2, pstate));
    /* wrong scope, out of range, a text field as a number */
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_HOST, 0, pstate, &v), -EINVAL);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 3, pstate, &v), -EINVAL);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_DEVICE, 0,
                                       field(GPUCTL_SCOPE_DEVICE, "name"), &v), GPUCTL_ENODATA);
    assert_string_equal(gpuctl_snapshot_info(s, "cuda_version"), "12.4");
    assert_string_equal(gpuctl_snapshot_info(s, "driver_version"), "550.54.15");
    assert_non_null(gpuctl_snapshot_info(s, "host"));
    assert_null(gpuctl_snapshot_info(s, "gpus"));
    assert_null(gpuctl_snapshot_info(NULL, "host"));
    /* a field of every item at once: unknown is NaN */
    double used[4] = {0};
    assert_int_equal(gpuctl_get_doubles(s, GPUCTL_SCOPE_DEVICE,
                                        field(GPUCTL_SCOPE_DEVICE, "mem_used_mb"), used, 4), 3);
    assert_true(used[0] == (double)(10 * GIB) && used[1] == (double)(70 * GIB));
    assert_true(isnan(used[2]));
    assert_int_equal(gpuctl_get_doubles(s, GPUCTL_SCOPE_DEVICE,
                                        field(GPUCTL_SCOPE_DEVICE, "mem_used_mb"), used, 1), 1);
    assert_int_equal(gpuctl_get_doubles(s, GPUCTL_SCOPE_HOST, pstate, used, 4), 0);
    /* the host's memory is known */
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_HOST, 0,
                                       field(GPUCTL_SCOPE_HOST, "mem_total_bytes"), &v), 0);
    assert_true(v > 0);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_HOST, 1,
                                       field(GPUCTL_SCOPE_HOST, "mem_total_bytes"), &v), -EINVAL);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void test_mig_instances_have_parent_profile_and_ids(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    assert_int_equal(gpuctl_mig_count(s), 1);
    size_t parent;
    assert_int_equal(gpuctl_mig_parent(s, 0, &parent), 0);
    assert_int_equal(parent, 1);
    assert_int_equal(gpuctl_mig_parent(s, 1, &parent), -EINVAL);
    char profile[32];
    assert_int_equal(gpuctl_mig_profile(s, 0, profile, sizeof profile), 0);
    assert_string_equal(profile, "3g.40gb");
    double v;
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_MIG, 0,
                                       field(GPUCTL_SCOPE_MIG, "gpu_instance_id"), &v), 0);
    assert_true(v == 2.0);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_MIG, 0,
                                       field(GPUCTL_SCOPE_MIG, "mem_used_mb"), &v), 0);
    assert_true(v == (double)GIB);
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_MIG, 0, field(GPUCTL_SCOPE_MIG, "uuid")),
                        "MIG-bbbb0000-0000-0000-0000-000000000000");
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void expect_found(const gpuctl_snapshot *s, const char *id, size_t want)
{
    size_t at = 99;
    char err[256] = "";
    assert_int_equal(gpuctl_device_find(s, id, &at, err, sizeof err), 0);
    assert_int_equal(at, want);
}

static void test_devices_are_found_by_index_uuid_prefix_and_bus_id(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    expect_found(s, "1", 1);
    expect_found(s, "GPU-aaaa1111-0000-0000-0000-000000000000", 1);
    expect_found(s, "gpu-AAAA1111", 1);
    expect_found(s, "GPU-c", 2);
    expect_found(s, "00000000:28:00.0", 1);
    expect_found(s, "0000:38:00.0", 2);
    expect_found(s, "18:00.0", 0);
    size_t at;
    char err[256] = "";
    assert_int_equal(gpuctl_device_find(s, "GPU-aaaa", &at, err, sizeof err), -ENOTUNIQ);
    assert_non_null(strstr(err, "GPU-aaaa"));
    assert_int_equal(gpuctl_device_find(s, "7", &at, err, sizeof err), -ENOENT);
    assert_int_equal(gpuctl_device_find(s, "99:00.0", &at, err, sizeof err), -ENOENT);
    assert_int_equal(gpuctl_device_find(s, "fast one", &at, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "fast one"));
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void expect_cuda(const gpuctl_snapshot *s, const char *value, const size_t *want,
                        size_t n)
{
    size_t got[8], count = 99;
    assert_int_equal(gpuctl_cuda_devices(s, value, got, 8, &count), 0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_cuda_ordinals_follow_cuda_visible_devices(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    expect_cuda(s, NULL, (size_t[]){0, 1, 2}, 3);
    expect_cuda(s, "2,0", (size_t[]){2, 0}, 2);
    expect_cuda(s, "1,bogus,0", (size_t[]){1}, 1);
    expect_cuda(s, "0,0", NULL, 0);
    expect_cuda(s, "", NULL, 0);
    expect_cuda(s, "GPU-c,MIG-bbbb", (size_t[]){2, 1}, 2);
    expect_cuda(s, "GPU-aaaa", NULL, 0);          /* ambiguous: the list ends there */
    size_t one, count;
    assert_int_equal(gpuctl_cuda_devices(s, "2,1,0", &one, 1, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(one, 2);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void test_gpu_processes_carry_their_host_facts(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    assert_int_equal(gpuctl_process_count(s), 1);
    size_t h;
    assert_int_equal(gpuctl_process_host(s, 0, &h), 0);
    assert_int_equal(gpuctl_host_process_count(s), 1);
    pid_t pid;
    uint64_t start;
    assert_int_equal(gpuctl_host_process_ident(s, h, &pid, &start), 0);
    assert_int_equal(pid, child);
    assert_true(start > 0);
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                          field(GPUCTL_SCOPE_HOST_PROCESS, "proc_name")),
                        "sleep");
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                          field(GPUCTL_SCOPE_HOST_PROCESS, "cmdline")),
                        "sleep 300");
    assert_non_null(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                      field(GPUCTL_SCOPE_HOST_PROCESS, "state")));
    double v;
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_GPU_PROCESS, 0,
                                       field(GPUCTL_SCOPE_GPU_PROCESS, "used_mem_bytes"), &v), 0);
    assert_true(v == (double)(3 * GIB));
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_GPU_PROCESS, 0,
                                          field(GPUCTL_SCOPE_GPU_PROCESS, "type")), "C");
    assert_int_equal(gpuctl_process_host(s, 1, &h), -EINVAL);
    assert_int_equal(gpuctl_host_process_ident(s, 1, &pid, &start), -EINVAL);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void test_take_with_reads_only_what_is_asked(void **state)
{
    (void)state;
    gpuctl *g;
    char err[256] = "";
    assert_int_equal(gpuctl_open(&g, err, sizeof err), 0);
    gpuctl_snapshot *s;
    assert_int_equal(gpuctl_snapshot_take_with(g, 0, &s, err, sizeof err), 0);
    assert_int_equal(gpuctl_device_count(s), 3);
    assert_int_equal(gpuctl_process_count(s), 0);
    gpuctl_snapshot_free(s);
    assert_int_equal(gpuctl_snapshot_take_with(g, GPUCTL_TAKE_PROCESSES, &s, err, sizeof err), 0);
    assert_int_equal(gpuctl_process_count(s), 1);
    size_t h;
    assert_int_equal(gpuctl_process_host(s, 0, &h), 0);
    assert_string_equal(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                          field(GPUCTL_SCOPE_HOST_PROCESS, "proc_name")),
                        "sleep");
    assert_null(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                  field(GPUCTL_SCOPE_HOST_PROCESS, "cmdline")));
    assert_null(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, h,
                                  field(GPUCTL_SCOPE_HOST_PROCESS, "user")));
    gpuctl_snapshot_free(s);
    assert_int_equal(gpuctl_snapshot_take_with(g, 0x100, &s, err, sizeof err), -EINVAL);
    gpuctl_sampler *sm;
    assert_int_equal(gpuctl_sampler_open(g, &sm, err, sizeof err), 0);
    assert_int_equal(gpuctl_sampler_take_with(sm, GPUCTL_TAKE_PROCESSES | GPUCTL_TAKE_CMDLINE,
                                              &s, err, sizeof err), 0);
    assert_non_null(gpuctl_get_string(s, GPUCTL_SCOPE_HOST_PROCESS, 0,
                                      field(GPUCTL_SCOPE_HOST_PROCESS, "cmdline")));
    gpuctl_snapshot_free(s);
    gpuctl_sampler_close(sm);
    gpuctl_close(g);
}

static void test_host_take_reads_any_pid_and_leaves_out_missing_ones(void **state)
{
    (void)state;
    gpuctl *g;
    char err[256] = "";
    assert_int_equal(gpuctl_open(&g, err, sizeof err), 0);
    pid_t self = getpid();
    pid_t pids[] = {child, self, 0x3fffffff, child, self, -4};
    gpuctl_snapshot *s;
    assert_int_equal(gpuctl_host_take(g, pids, 6, &s, err, sizeof err), 0);
    assert_int_equal(gpuctl_device_count(s), 0);
    assert_int_equal(gpuctl_host_process_count(s), 2);
    pid_t first, second;
    uint64_t start;
    assert_int_equal(gpuctl_host_process_ident(s, 0, &first, &start), 0);
    assert_int_equal(gpuctl_host_process_ident(s, 1, &second, &start), 0);
    assert_true(first < second);
    assert_true((first == self && second == child) || (first == child && second == self));
    double v;
    int rss = field(GPUCTL_SCOPE_HOST_PROCESS, "host_rss_bytes");
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_HOST_PROCESS, 0, rss, &v), 0);
    assert_true(v > 0);
    assert_int_equal(gpuctl_get_double(s, GPUCTL_SCOPE_HOST, 0,
                                       field(GPUCTL_SCOPE_HOST, "load1"), &v), 0);
    assert_int_equal(gpuctl_host_take(g, NULL, 1, &s, err, sizeof err), -EINVAL);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static void test_sampler_gives_rates_from_the_second_snapshot_on(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_sampler *sm;
    char err[256] = "";
    assert_int_equal(gpuctl_open(&g, err, sizeof err), 0);
    assert_int_equal(gpuctl_sampler_open(g, &sm, err, sizeof err), 0);
    int host_cpu = field(GPUCTL_SCOPE_HOST, "cpu_pct");
    int proc_cpu = field(GPUCTL_SCOPE_HOST_PROCESS, "cpu_interval_pct");
    gpuctl_snapshot *a, *b;
    double v;
    assert_int_equal(gpuctl_sampler_take(sm, &a, err, sizeof err), 0);
    assert_int_equal(gpuctl_get_double(a, GPUCTL_SCOPE_HOST, 0, host_cpu, &v), GPUCTL_ENODATA);
    assert_int_equal(gpuctl_get_double(a, GPUCTL_SCOPE_HOST_PROCESS, 0, proc_cpu, &v),
                     GPUCTL_ENODATA);
    usleep(50000);
    assert_int_equal(gpuctl_sampler_take(sm, &b, err, sizeof err), 0);
    assert_int_equal(gpuctl_get_double(b, GPUCTL_SCOPE_HOST, 0, host_cpu, &v), 0);
    assert_true(v >= 0 && v <= 100);
    assert_int_equal(gpuctl_get_double(b, GPUCTL_SCOPE_HOST_PROCESS, 0, proc_cpu, &v), 0);
    assert_true(v >= 0);
    gpuctl_snapshot_free(a);
    gpuctl_snapshot_free(b);
    gpuctl_sampler_close(sm);
    gpuctl_sampler_close(NULL);
    gpuctl_close(g);
}

static void test_select_follows_the_constraints_best_first(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    struct gpuctl_select_options o;
    gpuctl_select_options_init(&o);
    o.min_count = 1;
    o.min_free_bytes = (int64_t)(20 * GIB);
    gpuctl_selection *sel;
    char err[256] = "";
    assert_int_equal(gpuctl_select(s, &o, &sel, err, sizeof err), 0);
    assert_int_equal(gpuctl_selection_enough(sel), 1);
    assert_null(gpuctl_selection_reason(sel));
    /* GPU 0 (70 GiB free) meets the count, so GPU 1's MIG instance is dropped */
    assert_int_equal(gpuctl_selection_count(sel), 1);
    size_t dev;
    long mig;
    assert_int_equal(gpuctl_selection_item(sel, 0, &dev, &mig), 0);
    assert_int_equal(dev, 0);
    assert_int_equal(mig, -1);
    assert_int_equal(gpuctl_selection_item(sel, 1, &dev, &mig), -EINVAL);
    char *json = gpuctl_selection_json(sel, err, sizeof err);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"enough\": true"));
    gpuctl_free(json);
    gpuctl_selection_free(sel);

    /* only GPU 1 visible: its MIG instance is the candidate */
    o.inherit = 1;
    o.cuda_visible_devices = "1";
    assert_int_equal(gpuctl_select(s, &o, &sel, err, sizeof err), 0);
    assert_int_equal(gpuctl_selection_count(sel), 1);
    assert_int_equal(gpuctl_selection_item(sel, 0, &dev, &mig), 0);
    assert_int_equal(dev, 1);
    assert_int_equal(mig, 0);
    gpuctl_selection_free(sel);

    o.inherit = 0;
    o.min_free_bytes = (int64_t)(75 * GIB);
    assert_int_equal(gpuctl_select(s, &o, &sel, err, sizeof err), 0);
    assert_int_equal(gpuctl_selection_enough(sel), 0);
    assert_non_null(gpuctl_selection_reason(sel));
    gpuctl_selection_free(sel);

    o.max_gpu_util_pct = 101;
    assert_int_equal(gpuctl_select(s, &o, &sel, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "max_gpu_util_pct"));
    assert_null(sel);
    gpuctl_select_options_init(&o);
    o.size = 8;
    assert_int_equal(gpuctl_select(s, &o, &sel, err, sizeof err), -EINVAL);
    gpuctl_selection_free(NULL);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

static uint64_t start_of(pid_t pid)
{
    gpuctl *g;
    char err[256] = "";
    assert_int_equal(gpuctl_open(&g, err, sizeof err), 0);
    gpuctl_snapshot *s;
    assert_int_equal(gpuctl_host_take(g, &pid, 1, &s, err, sizeof err), 0);
    pid_t got;
    uint64_t start;
    assert_int_equal(gpuctl_host_process_ident(s, 0, &got, &start), 0);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
    return start;
}

static void test_kill_refuses_a_stale_identity_and_ends_the_right_process(void **state)
{
    (void)state;
    pid_t p = spawn_sleeper();
    assert_true(p > 0);
    uint64_t start = start_of(p);
    char err[256] = "";
    assert_int_equal(gpuctl_kill(p, start + 1, SIGTERM, 0, err, sizeof err), -ESTALE);
    assert_int_equal(waitpid(p, NULL, WNOHANG), 0);   /* untouched */
    assert_int_equal(gpuctl_kill(p, start, 0, 0, err, sizeof err), 0);
    /* the child is reaped by the wait below, so it ends as a zombie first:
     * the pidfd sees it exit */
    assert_int_equal(gpuctl_kill(p, start, SIGTERM, 10000, err, sizeof err), 0);
    int status;
    assert_int_equal(waitpid(p, &status, 0), p);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    assert_int_equal(gpuctl_kill(p, start, SIGTERM, 0, err, sizeof err), -ESRCH);
    assert_int_equal(gpuctl_kill(1, UINT64_MAX, SIGTERM, 0, err, sizeof err), -EINVAL);
    assert_int_equal(gpuctl_kill(getpid(), UINT64_MAX, SIGTERM, 0, err, sizeof err), -EINVAL);
    assert_int_equal(gpuctl_kill(p, start, 99, 0, err, sizeof err), -EINVAL);
}

static void test_snapshot_json_is_the_list_document(void **state)
{
    (void)state;
    gpuctl *g;
    gpuctl_snapshot *s = take(&g);
    char err[256] = "";
    char *json = gpuctl_snapshot_json(s, GPUCTL_JSON_DETAILS | GPUCTL_JSON_COMPACT, err,
                                      sizeof err);
    assert_non_null(json);
    assert_null(strchr(json, '\n'));
    assert_non_null(strstr(json, "\"uuid\":\"GPU-aaaa1111-0000-0000-0000-000000000000\""));
    assert_non_null(strstr(json, "\"proc_name\":\"sleep\""));
    gpuctl_free(json);
    json = gpuctl_snapshot_json(s, 0, err, sizeof err);
    assert_non_null(json);
    assert_non_null(strstr(json, "\n  \"gpus\": ["));
    gpuctl_free(json);
    assert_null(gpuctl_snapshot_json(NULL, 0, err, sizeof err));
    gpuctl_free(NULL);
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_are_found_by_their_document_key),
        cmocka_unit_test(test_every_document_field_reads_known_or_enodata),
        cmocka_unit_test(test_mig_instances_have_parent_profile_and_ids),
        cmocka_unit_test(test_devices_are_found_by_index_uuid_prefix_and_bus_id),
        cmocka_unit_test(test_cuda_ordinals_follow_cuda_visible_devices),
        cmocka_unit_test(test_gpu_processes_carry_their_host_facts),
        cmocka_unit_test(test_take_with_reads_only_what_is_asked),
        cmocka_unit_test(test_host_take_reads_any_pid_and_leaves_out_missing_ones),
        cmocka_unit_test(test_sampler_gives_rates_from_the_second_snapshot_on),
        cmocka_unit_test(test_select_follows_the_constraints_best_first),
        cmocka_unit_test(test_kill_refuses_a_stale_identity_and_ends_the_right_process),
        cmocka_unit_test(test_snapshot_json_is_the_list_document),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
