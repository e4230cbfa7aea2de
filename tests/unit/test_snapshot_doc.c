/* test_snapshot_doc.c - the snapshot document (doc/snapshot_doc.h): what a
 * request shows, the decoder's errors, and the round trip: a decoded
 * document draws the same table as the snapshot it came from, and encodes
 * to the same document again.  The table is the CLI's own list_table.c,
 * linked in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/list.h"
#include "doc/json.h"
#include "doc/snapshot_doc.h"

#define MiB (1024ull * 1024ull)

static void set_str(char *dst, size_t size, const char *s)
{
    snprintf(dst, size, "%s", s);
}

static void nvidia_device(struct device *d, int index)
{
    d->vendor = VENDOR_NVIDIA;
    d->index = index;
    snprintf(d->uuid, sizeof d->uuid, "GPU-1111111%d-2222-3333-4444-555555555555", index);
    set_str(d->name, sizeof d->name, "NVIDIA H100 80GB HBM3");
    snprintf(d->pci_bus_id, sizeof d->pci_bus_id, "0000:%02x:00.0", 0x18 + index);
    set_str(d->driver, sizeof d->driver, "nvidia");
    set_str(d->driver_version, sizeof d->driver_version, "550.54.15");
    OPT_SET(d->mem_total_bytes, 85520809984ull);
    OPT_SET(d->mem_used_bytes, 27917287424ull);
    OPT_SET(d->mem_free_bytes, 57011077120ull);
    OPT_SET(d->util_gpu_pct, 87);
    OPT_SET(d->util_mem_pct, 41.5);
    OPT_SET(d->temp_c, 54);
    OPT_SET(d->temp_slowdown_c, 89);
    OPT_SET(d->power_mw, 412345);
    OPT_SET(d->power_limit_mw, 700000);
    OPT_SET(d->clock_sm_mhz, 1755);
    OPT_SET(d->pcie_gen, 5);
    OPT_SET(d->pcie_rx_kbps, 2000);
    OPT_SET(d->ecc_volatile_uncorrected, 2);
    OPT_SET(d->ecc_volatile_corrected, 7);
    OPT_SET(d->persistence_mode, 1);
    OPT_SET(d->compute_mode, COMPUTE_MODE_EXCLUSIVE_PROCESS);
    OPT_SET(d->pstate, 2);
    OPT_SET(d->mig_mode, 0);
    OPT_SET(d->xid_last, 79);
    OPT_SET(d->xid_count, 2);
    OPT_SET(d->xid_last_time, 1796546274.0);   /* whole seconds: RFC 3339 keeps them */
}

static void add_migs(struct device *d)
{
    d->mig_count = 2;
    d->migs = calloc(2, sizeof *d->migs);
    assert_non_null(d->migs);
    for (unsigned i = 0; i < 2; i++) {
        d->migs[i].gpu_instance_id = 1 + i;
        d->migs[i].compute_instance_id = 0;
        snprintf(d->migs[i].uuid, sizeof d->migs[i].uuid, "MIG-aaaa-%u", i);
        set_str(d->migs[i].name, sizeof d->migs[i].name, "MIG 3g.40gb");
        OPT_SET(d->migs[i].mem_total_bytes, 40000 * MiB);
        OPT_SET(d->migs[i].mem_used_bytes, (1000 + i) * MiB + 12345);
    }
    OPT_SET(d->mig_mode, 1);
    OPT_SET(d->mig_mode_pending, 1);
}

static void amd_device(struct device *d, int index)
{
    d->vendor = VENDOR_AMD;
    d->index = index;
    set_str(d->name, sizeof d->name, "AMD Radeon RX 7900 XTX");
    set_str(d->driver, sizeof d->driver, "amdgpu");
    OPT_SET(d->gtt_total_bytes, 16384 * MiB);
    OPT_SET(d->gtt_used_bytes, 30 * MiB);
    OPT_SET(d->temp_hotspot_c, 71);
    OPT_SET(d->fan_rpm, 1200);
    set_str(d->status, sizeof d->status, "sensor hwmon2: temp1_input unreadable");
}

static void gproc(struct gpu_process *gp, int dev, pid_t pid, unsigned type, uint64_t mem)
{
    gp->device_index = dev;
    gp->pid = pid;
    gp->type = type;
    if (mem)
        OPT_SET(gp->gpu_mem_bytes, mem);
}

static void hproc(struct host_process *hp, pid_t pid, const char *user, const char *name,
                  const char *cmdline)
{
    hp->pid = pid;
    hp->exists = true;
    set_str(hp->user, sizeof hp->user, user);
    set_str(hp->name, sizeof hp->name, name);
    hp->cmdline = cmdline ? strdup(cmdline) : NULL;
    OPT_SET(hp->uid, 1000 + pid);
    OPT_SET(hp->ppid, 1);
    hp->state = 'S';
    OPT_SET(hp->start_time, 1764990000.0 - pid);
    OPT_SET(hp->elapsed_s, 3600.25 + pid);
    OPT_SET(hp->cpu_pct, 12.5);
    OPT_SET(hp->rss_bytes, 123456789);
    OPT_SET(hp->mem_pct, 1.25);
    OPT_SET(hp->other_pidns, 0);
}

/* Three GPUs (NVIDIA, NVIDIA with MIG, AMD), five processes: a trainer, a
 * compute+graphics one in Kubernetes, one /proc cannot see, a DRM client
 * with engines in a systemd unit, one in a MIG instance. */
static struct snapshot *sample(void)
{
    struct snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->wall.tv_sec = 1764990000;
    s->wall.tv_nsec = 250000000;
    set_str(s->host.hostname, sizeof s->host.hostname, "node-1");
    set_str(s->driver_version, sizeof s->driver_version, "550.54.15");
    set_str(s->cuda_version, sizeof s->cuda_version, "12.4");
    set_str(s->nvml_version, sizeof s->nvml_version, "12.550.54.15");
    s->source_count = 2;
    s->sources[0] = (struct source_status){.name = "nvml", .started = true};
    s->sources[1] = (struct source_status){.name = "drm", .started = false};
    set_str(s->sources[1].message, sizeof s->sources[1].message, "no DRM GPU was found");

    s->device_count = 3;
    s->devices = calloc(3, sizeof *s->devices);
    assert_non_null(s->devices);
    nvidia_device(&s->devices[0], 0);
    nvidia_device(&s->devices[1], 1);
    add_migs(&s->devices[1]);
    amd_device(&s->devices[2], 2);

    s->gproc_count = 5;
    s->gprocs = calloc(5, sizeof *s->gprocs);
    assert_non_null(s->gprocs);
    gproc(&s->gprocs[0], 0, 100, GPU_PROC_COMPUTE, 3000 * MiB);
    OPT_SET(s->gprocs[0].sm_pct, 81);
    OPT_SET(s->gprocs[0].mem_bw_pct, 38.25);
    gproc(&s->gprocs[1], 0, 200, GPU_PROC_COMPUTE | GPU_PROC_GRAPHICS, 700 * MiB);
    gproc(&s->gprocs[2], 0, 300, GPU_PROC_GRAPHICS, 0);
    gproc(&s->gprocs[3], 1, 500, GPU_PROC_COMPUTE, 1000 * MiB);
    OPT_SET(s->gprocs[3].gpu_instance_id, 1);
    OPT_SET(s->gprocs[3].compute_instance_id, 0);
    gproc(&s->gprocs[4], 2, 400, GPU_PROC_GRAPHICS, 512 * MiB);
    OPT_SET(s->gprocs[4].gpu_sys_mem_bytes, 64 * MiB);
    s->gprocs[4].engine_count = 2;
    set_str(s->gprocs[4].engines[0].name, sizeof s->gprocs[4].engines[0].name, "gfx");
    set_str(s->gprocs[4].engines[1].name, sizeof s->gprocs[4].engines[1].name, "compute");
    OPT_SET(s->gprocs[4].engine_pct[0], 12.5);

    s->hproc_count = 4;
    s->hprocs = calloc(4, sizeof *s->hprocs);
    assert_non_null(s->hprocs);
    hproc(&s->hprocs[0], 100, "alice", "python3", "python3 train.py --lr 0.1");
    s->hprocs[0].container.kind = CONTAINER_DOCKER;
    set_str(s->hprocs[0].container.id, sizeof s->hprocs[0].container.id,
            "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8");
    hproc(&s->hprocs[1], 200, "bob", "Xorg \xC3\xA9t\xC3\xA9", NULL);
    s->hprocs[1].container.kind = CONTAINER_KUBERNETES;
    set_str(s->hprocs[1].container.id, sizeof s->hprocs[1].container.id,
            "0123456789abcdef0123456789abcdef");
    set_str(s->hprocs[1].container.pod_uid, sizeof s->hprocs[1].container.pod_uid,
            "5d2c1a9e-8f7b-4c3d-9e2f-1a0b9c8d7e6f");
    s->hprocs[2].pid = 300;    /* exists = false: gone, or another pid namespace */
    hproc(&s->hprocs[3], 400, "carol", "glxgears", "glxgears -fullscreen");
    s->hprocs[3].container.kind = CONTAINER_SYSTEMD;
    set_str(s->hprocs[3].container.id, sizeof s->hprocs[3].container.id, "session-3.scope");
    return s;
}

/* 500 has no host entry at all: snapshot_host_process finds none. */

static char *render_table(const struct snapshot *s, const struct doc_snapshot_request *r)
{
    struct doc_snapshot_view shown;
    struct error e = {0};
    assert_int_equal(doc_snapshot_view_init(&shown, s, r, &e), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    struct list_view v = {.shown = &shown, .width = 0, .self_user = "alice"};
    assert_int_equal(list_render_table(&v, f), 0);
    assert_int_equal(fclose(f), 0);
    doc_snapshot_view_clear(&shown);
    return text;
}

static char *dump(json_t *doc)
{
    assert_non_null(doc);
    char *s = json_dumps(doc, doc_json_dump_flags(false));
    json_decref(doc);
    assert_non_null(s);
    return s;
}

static struct snapshot *decode_text(const char *text)
{
    struct snapshot *s = NULL;
    struct error e = {0};
    if (doc_snapshot_decode_buffer(text, strlen(text), &s, &e) != 0)
        fail_msg("decode failed: %s", e.msg);
    return s;
}

/* decode(build(s)) draws the table of s, and build(decode(build(s))) is
 * build(s), for the request r (what the decoded side shows: everything). */
static void check_round_trip(const struct snapshot *s, const struct doc_snapshot_request *r)
{
    struct error e = {0};
    char *doc = dump(doc_snapshot_build(s, r, &e));
    struct snapshot *back = decode_text(doc);
    struct doc_snapshot_request all = {.details = true, .containers = r->containers,
                                       .schema_version = r->schema_version};
    struct doc_snapshot_request shown = *r;
    shown.details = true;
    char *want = render_table(s, &shown), *got = render_table(back, &all);
    assert_string_equal(got, want);
    char *again = dump(doc_snapshot_build(back, &all, &e));
    assert_string_equal(again, doc);
    free(want);
    free(got);
    free(again);
    free(doc);
    snapshot_free(back);
}

static void test_decoded_document_draws_the_same_table_and_document(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    check_round_trip(s, &(struct doc_snapshot_request){0});
    check_round_trip(s, &(struct doc_snapshot_request){.containers = true});
    check_round_trip(s, &(struct doc_snapshot_request){.schema_version = true});
    snapshot_free(s);
}

static void test_round_trip_of_a_filtered_document(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    const int only[] = {1, 2};
    struct filter f = {.only = only, .only_count = 2};
    check_round_trip(s, &(struct doc_snapshot_request){.filter = &f});
    struct filter compute = {.compute = true};
    check_round_trip(s, &(struct doc_snapshot_request){.filter = &compute, .containers = true});
    snapshot_free(s);
}

static void test_text_that_is_not_utf8_round_trips_as_replacement(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    set_str(s->hprocs[0].name, sizeof s->hprocs[0].name, "gpu\xFF" "bad");
    struct error e = {0};
    char *doc = dump(doc_snapshot_build(s, &(struct doc_snapshot_request){0}, &e));
    assert_non_null(strstr(doc, "\"proc_name\": \"gpu\xEF\xBF\xBD" "bad\""));
    struct snapshot *back = decode_text(doc);
    assert_string_equal(snapshot_host_process(back, 100)->name, "gpu\xEF\xBF\xBD" "bad");
    char *again = dump(doc_snapshot_build(back, &(struct doc_snapshot_request){0}, &e));
    assert_string_equal(again, doc);
    free(doc);
    free(again);
    snapshot_free(back);
    snapshot_free(s);
}

static void test_view_counts_and_top_process_follow_the_filter(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    struct filter f = {.graphics = true};
    struct doc_snapshot_view v;
    struct error e = {0};
    assert_int_equal(doc_snapshot_view_init(&v, s, &(struct doc_snapshot_request){
                                                       .filter = &f}, &e), 0);
    assert_true(v.details);   /* a process criterion shows processes */
    size_t count;
    const struct gpu_process *top = doc_snapshot_top_process(&v, 0, &count);
    assert_int_equal(count, 2);
    assert_int_equal(top->pid, 200);
    assert_null(doc_snapshot_top_process(&v, 1, &count));
    assert_int_equal(count, 0);
    doc_snapshot_view_clear(&v);
    doc_snapshot_view_clear(NULL);
    snapshot_free(s);
}

static void test_document_values_and_rounding(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    OPT_SET(s->devices[0].util_gpu_pct, 0.1 + 0.48);
    struct error e = {0};
    char *doc = dump(doc_snapshot_build(s, &(struct doc_snapshot_request){0}, &e));
    assert_non_null(strstr(doc, "\"util_pct\": 0.58,"));
    assert_non_null(strstr(doc, "\"power_w\": 412.345,"));
    assert_non_null(strstr(doc, "\"mem_used_mb\": 26624,"));
    assert_non_null(strstr(doc, "\"compute_mode\": \"exclusive_process\","));
    assert_non_null(strstr(doc, "\"pstate\": \"P2\","));
    assert_non_null(strstr(doc, "\"container\": \"k8s:5d2c1a9e/0123456789ab\","));
    assert_non_null(strstr(doc, "\"engines_pct\": {\n        \"gfx\": 12.5,\n        \"compute\": null\n"));
    assert_null(strstr(doc, "container_kind"));
    assert_null(strstr(doc, "schema_version"));
    assert_null(strstr(doc, "energy"));
    free(doc);
    snapshot_free(s);
}

/* jansson's allocator, failing from the nth allocation on. */
static long allocations_left;

static void *failing_malloc(size_t size)
{
    return allocations_left-- > 0 ? malloc(size) : NULL;
}

static void test_out_of_memory_gives_no_document_never_half_of_one(void **state)
{
    (void)state;
    struct snapshot *s = sample();
    struct doc_snapshot_request r = {.containers = true, .schema_version = true};
    struct error e = {0};
    char *whole = dump(doc_snapshot_build(s, &r, &e));
    size_t complete = 0;
    for (long n = 0; n < 2000 && complete < 3; n++) {
        allocations_left = n;
        json_set_alloc_funcs(failing_malloc, free);
        error_clear(&e);
        json_t *doc = doc_snapshot_build(s, &r, &e);
        allocations_left = 1L << 30;
        if (!doc) {
            assert_int_equal(e.code, -ENOMEM);
        } else {
            char *text = json_dumps(doc, doc_json_dump_flags(false));
            assert_string_equal(text, whole);
            free(text);
            json_decref(doc);
            complete++;
        }
        json_set_alloc_funcs(malloc, free);
    }
    assert_true(complete > 0);
    free(whole);
    snapshot_free(s);
}

static void check_error(const char *text, const char *want)
{
    struct snapshot *s = (struct snapshot *)1;
    struct error e = {0};
    assert_int_equal(doc_snapshot_decode_buffer(text, strlen(text), &s, &e), -ERROR_PARSE);
    assert_null(s);
    if (!strstr(e.msg, want))
        fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void test_decode_errors_name_the_key(void **state)
{
    (void)state;
    check_error("[]", "expected a JSON object");
    check_error("{\"gpus\": [{\"gpu_index\": 0, \"temp_c\": \"hot\"}]}",
                "gpus[0].temp_c: expected an integer, got a string");
    check_error("{\"gpus\": [{\"gpu_index\": 0, \"clocks\": {\"sm_mhz\": 1.5}}]}",
                "gpus[0].clocks.sm_mhz: expected an integer, got a real");
    check_error("{\"gpus\": [{\"gpu_index\": 0, \"mem_used_mb\": -1}]}",
                "gpus[0].mem_used_mb: -1 is out of range");
    check_error("{\"procs\": [{\"gpu_index\": 0}]}", "procs[0].pid: expected an integer, got nothing");
    check_error("{\"procs\": [{\"gpu_index\": 0, \"pid\": 1, \"start_time\": \"yesterday\"}]}",
                "procs[0].start_time: expected an RFC 3339 UTC time");
    check_error("{\"gpus\": [{\"gpu_index\": 1}, {\"gpu_index\": 0}]}",
                "gpus[1].gpu_index: 0 after 1");
    check_error("{\"gpus\": {}}", "gpus: expected an array, got an object");
    check_error("{\"schema_version\": 2}", "schema_version 2 is newer");
    check_error("{\"host\": 7}", "host: expected a string, got an integer");
    check_error("{\"gpus\": [", "line 1");
}

static void test_absent_and_unknown_keys_decode_as_unknown(void **state)
{
    (void)state;
    struct snapshot *s = decode_text("{\"schema_version\": 1, \"future_key\": [1, 2], "
                                     "\"gpus\": [{\"gpu_index\": 4, \"vendor\": \"quantum\", "
                                     "\"util_pct\": null, \"new_metric\": 3}], "
                                     "\"procs\": [{\"gpu_index\": 4, \"pid\": 9, "
                                     "\"host_visible\": false, \"user\": \"x\"}]}");
    assert_int_equal(s->device_count, 1);
    const struct device *d = snapshot_device(s, 4);
    assert_non_null(d);
    assert_int_equal(d->vendor, VENDOR_UNKNOWN);
    assert_false(d->util_gpu_pct.known);
    assert_false(d->mem_used_bytes.known);
    assert_int_equal(s->gproc_count, 1);
    assert_int_equal(s->hproc_count, 0);
    assert_null(snapshot_host_process(s, 9));
    snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoded_document_draws_the_same_table_and_document),
        cmocka_unit_test(test_round_trip_of_a_filtered_document),
        cmocka_unit_test(test_text_that_is_not_utf8_round_trips_as_replacement),
        cmocka_unit_test(test_view_counts_and_top_process_follow_the_filter),
        cmocka_unit_test(test_document_values_and_rounding),
        cmocka_unit_test(test_out_of_memory_gives_no_document_never_half_of_one),
        cmocka_unit_test(test_decode_errors_name_the_key),
        cmocka_unit_test(test_absent_and_unknown_keys_decode_as_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
