/* Unit tests: choosing devices (ops/select) - every constraint, the
 * tolerance, the order and its ties, unknown values, MIG, --inherit,
 * --account-as-free, the count rules and the reason for too few. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ops/select.h"

#define GiB (1ull << 30)
#define MAXDEV 8

static struct device devs[MAXDEV];
static struct mig_instance migs[4];
static struct gpu_process gprocs[8];
static struct host_process hprocs[8];
static struct snapshot snap;

/* A whole GPU with free/used/total in GiB and utilisation in percent. */
static struct device *gpu(int i, unsigned free_g, unsigned used_g, unsigned total_g,
                          double util, double mem_util)
{
    struct device *d = &devs[i];
    memset(d, 0, sizeof *d);
    d->vendor = VENDOR_NVIDIA;
    d->index = i;
    snprintf(d->uuid, sizeof d->uuid, "GPU-%08x-0000-0000-0000-000000000000", 0xa0 + i);
    OPT_SET(d->mem_free_bytes, free_g * GiB);
    OPT_SET(d->mem_used_bytes, used_g * GiB);
    OPT_SET(d->mem_total_bytes, total_g * GiB);
    OPT_SET(d->util_gpu_pct, util);
    OPT_SET(d->util_mem_pct, mem_util);
    OPT_SET(d->mig_mode, 0);
    if ((size_t)i >= snap.device_count)
        snap.device_count = (size_t)i + 1;
    return d;
}

/* GPU i in MIG mode with n MIG devices (GPU instances 1..n), each with the
 * given free memory in GiB. */
static void mig_gpu(int i, size_t n, const unsigned *free_g)
{
    struct device *d = gpu(i, 0, 0, 40, 0, 0);
    d->util_gpu_pct.known = d->util_mem_pct.known = false;
    OPT_SET(d->mig_mode, 1);
    d->migs = migs;
    d->mig_count = n;
    for (size_t m = 0; m < n; m++) {
        memset(&migs[m], 0, sizeof migs[m]);
        migs[m].gpu_instance_id = (unsigned)m + 1;
        snprintf(migs[m].uuid, sizeof migs[m].uuid, "MIG-%08zx-0000-0000-0000-000000000000",
                 0xb0 + m);
        OPT_SET(migs[m].mem_total_bytes, 20 * GiB);
        OPT_SET(migs[m].mem_free_bytes, free_g[m] * GiB);
        OPT_SET(migs[m].mem_used_bytes, (20 - free_g[m]) * GiB);
    }
}

/* A process of user (NULL: owner unknown) on device dev using mem GiB. */
static void proc(pid_t pid, int dev, const char *user, unsigned mem_g)
{
    struct gpu_process *gp = &gprocs[snap.gproc_count++];
    memset(gp, 0, sizeof *gp);
    gp->pid = pid;
    gp->device_index = dev;
    gp->type = GPU_PROC_COMPUTE;
    OPT_SET(gp->gpu_mem_bytes, mem_g * GiB);
    if (user) {
        struct host_process *hp = &hprocs[snap.hproc_count++];
        memset(hp, 0, sizeof *hp);
        hp->pid = pid;
        hp->exists = true;
        strcpy(hp->user, user);
    }
}

static int setup(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    memset(devs, 0, sizeof devs);
    snap.devices = devs;
    snap.gprocs = gprocs;
    snap.hprocs = hprocs;
    return 0;
}

static struct select_constraints any(void)
{
    return (struct select_constraints){.max_count = SELECT_NO_MAX};
}

static struct select_result run(const struct select_constraints *k)
{
    struct select_result r;
    struct error e = {0};
    assert_int_equal(select_devices(&snap, k, &r, &e), 0);
    return r;
}

/* The chosen devices as "index,index" (MIG devices as "gpu/slot"). */
static const char *order(const struct select_result *r)
{
    static char buf[128];
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->count; i++) {
        const struct select_device *d = &r->devices[i];
        if (d->mig >= 0)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%d/%d", i ? "," : "",
                                   d->cuda_index, d->mig);
        else
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%d", i ? "," : "",
                                   d->cuda_index);
    }
    return buf;
}

static const char *choose(const struct select_constraints *k)
{
    struct select_result r = run(k);
    const char *s = order(&r);
    select_result_clear(&r);
    return s;
}

/* ---- the order ---------------------------------------------------------------- */

static void test_no_constraints_orders_by_free_memory(void **state)
{
    (void)state;
    gpu(0, 10, 70, 80, 0, 0);
    gpu(1, 50, 30, 80, 0, 0);
    gpu(2, 30, 50, 80, 0, 0);
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "1,2,0");
}

static void test_ties_less_used_then_gpu_then_memory_utilisation(void **state)
{
    (void)state;
    gpu(0, 40, 20, 80, 0, 0);
    gpu(1, 40, 10, 80, 50, 0);    /* less used: first despite utilisation */
    gpu(2, 40, 20, 80, 5, 9);
    gpu(3, 40, 20, 80, 5, 1);     /* like 2, lower memory utilisation */
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "1,0,3,2");
}

static void test_full_tie_prefers_the_higher_index(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        gpu(i, 40, 20, 80, 5, 5);
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "3,2,1,0");
}

static void test_unknown_values_sort_last_when_unconstrained(void **state)
{
    (void)state;
    gpu(0, 40, 20, 80, 5, 5);
    gpu(1, 40, 20, 80, 5, 5)->util_gpu_pct.known = false;
    gpu(2, 40, 20, 80, 5, 5)->mem_free_bytes.known = false;
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "0,1,2");
}

static void test_other_vendors_are_never_candidates(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    gpu(1, 70, 10, 80, 0, 0)->vendor = VENDOR_AMD;
    gpu(2, 30, 10, 40, 0, 0);
    struct select_constraints k = any();
    /* CUDA numbers the NVIDIA GPUs only: gpuctl's GPU 2 is CUDA's 1. */
    assert_string_equal(choose(&k), "1,0");
}

/* ---- constraints ------------------------------------------------------------- */

static void test_min_free_memory_boundary(void **state)
{
    (void)state;
    gpu(0, 10, 70, 80, 0, 0);
    gpu(1, 9, 71, 80, 0, 0);
    devs[1].mem_free_bytes.v = 10 * GiB - 1;
    struct select_constraints k = any();
    k.min_free_set = true;
    k.min_free_bytes = 10 * GiB;
    assert_string_equal(choose(&k), "0");
}

static void test_min_total_memory(void **state)
{
    (void)state;
    gpu(0, 10, 30, 40, 0, 0);
    gpu(1, 5, 75, 80, 0, 0);
    struct select_constraints k = any();
    k.min_total_set = true;
    k.min_total_bytes = 80 * GiB;
    assert_string_equal(choose(&k), "1");
}

static void test_max_gpu_utilisation_boundary(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 30, 0);
    gpu(1, 10, 10, 20, 31, 0);
    struct select_constraints k = any();
    k.max_gpu_util_set = true;
    k.max_gpu_util_pct = 30;
    assert_string_equal(choose(&k), "0");
}

static void test_max_memory_utilisation(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 60);
    gpu(1, 10, 10, 20, 0, 20);
    struct select_constraints k = any();
    k.max_mem_util_set = true;
    k.max_mem_util_pct = 50;
    assert_string_equal(choose(&k), "1");
}

static void test_zero_thresholds(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    gpu(1, 10, 10, 20, 1, 0);
    struct select_constraints k = any();
    k.max_gpu_util_set = true;     /* -G 0: only idle GPUs */
    k.min_free_set = true;         /* -f 0: every GPU that reports free memory */
    assert_string_equal(choose(&k), "0");
}

static void test_unknown_value_fails_its_constraint_and_says_so(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0)->util_gpu_pct.known = false;
    gpu(1, 10, 10, 20, 0, 0);
    struct select_constraints k = any();
    k.max_gpu_util_set = true;
    k.max_gpu_util_pct = 100;
    k.min_count = 2;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_non_null(strstr(r.reason, "--max-gpu-utilization 100 excludes 1"));
    assert_non_null(strstr(r.reason, "1 does not report GPU utilization"));
    select_result_clear(&r);
}

/* ---- tolerance ----------------------------------------------------------------- */

static void test_tolerance_loosens_memory_by_percent(void **state)
{
    (void)state;
    gpu(0, 4, 76, 80, 0, 0);       /* 4GiB: exactly 5GiB less 20% */
    gpu(1, 3, 77, 80, 0, 0);
    devs[1].mem_free_bytes.v = 4 * GiB - 1;
    struct select_constraints k = any();
    k.min_free_set = true;
    k.min_free_bytes = 5 * GiB;
    k.tolerance_pct = 20;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "0");
    assert_int_equal(r.devices[0].relaxed, 1);
    select_result_clear(&r);
}

static void test_tolerance_loosens_utilisation_by_points(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 40, 0);
    gpu(1, 10, 10, 20, 41, 0);
    struct select_constraints k = any();
    k.max_gpu_util_set = true;
    k.max_gpu_util_pct = 30;
    k.tolerance_pct = 10;
    assert_string_equal(choose(&k), "0");
}

static void test_loosened_devices_sort_after_strict_ones(void **state)
{
    (void)state;
    gpu(0, 70, 10, 80, 35, 35);    /* most free memory, but two limits only loosened */
    gpu(1, 20, 60, 80, 35, 5);     /* one limit loosened */
    gpu(2, 10, 70, 80, 5, 5);      /* meets everything */
    struct select_constraints k = any();
    k.max_gpu_util_set = k.max_mem_util_set = true;
    k.max_gpu_util_pct = k.max_mem_util_pct = 30;
    k.tolerance_pct = 10;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "2,1,0");
    assert_int_equal(r.devices[0].relaxed, 0);
    assert_int_equal(r.devices[1].relaxed, 1);
    assert_int_equal(r.devices[2].relaxed, 2);
    select_result_clear(&r);
}

static void test_full_tolerance_still_refuses_unknown(void **state)
{
    (void)state;
    gpu(0, 0, 80, 80, 100, 100);
    gpu(1, 0, 80, 80, 100, 100)->mem_free_bytes.known = false;
    struct select_constraints k = any();
    k.min_free_set = k.max_gpu_util_set = true;
    k.min_free_bytes = 80 * GiB;
    k.tolerance_pct = 100;
    assert_string_equal(choose(&k), "0");
}

/* ---- counts ---------------------------------------------------------------------- */

static void test_max_count_cuts_the_ordered_list(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    gpu(1, 30, 10, 40, 0, 0);
    gpu(2, 20, 10, 30, 0, 0);
    struct select_constraints k = any();
    k.max_count = 2;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "1,2");
    assert_true(r.enough);
    assert_int_equal(r.qualified, 3);
    select_result_clear(&r);
}

static void test_max_count_zero_chooses_nothing(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    struct select_constraints k = any();
    k.max_count = 0;
    struct select_result r = run(&k);
    assert_int_equal(r.count, 0);
    assert_true(r.enough);
    select_result_clear(&r);
}

static void test_min_count_met_exactly(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    gpu(1, 10, 10, 20, 0, 0);
    struct select_constraints k = any();
    k.min_count = k.max_count = 2;
    struct select_result r = run(&k);
    assert_true(r.enough);
    assert_int_equal(r.count, 2);
    select_result_clear(&r);
}

static void test_too_few_names_the_constraint_excluding_most(void **state)
{
    (void)state;
    gpu(0, 1, 79, 80, 0, 0);
    gpu(1, 2, 78, 80, 0, 0);
    gpu(2, 50, 30, 80, 90, 0);
    gpu(3, 50, 30, 80, 0, 0);
    struct select_constraints k = any();
    k.min_count = 2;
    k.min_free_set = k.max_gpu_util_set = true;
    k.min_free_bytes = 10 * GiB;
    k.max_gpu_util_pct = 50;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_int_equal(r.qualified, 1);
    assert_string_equal(r.reason, "only 1 of 4 devices qualifies, 2 needed: "
                                  "--min-free-memory 10.0GiB excludes 2");
    select_result_clear(&r);
}

static void test_too_few_reason_shows_the_loosened_threshold(void **state)
{
    (void)state;
    gpu(0, 1, 79, 80, 0, 0);
    struct select_constraints k = any();
    k.min_count = 1;
    k.min_free_set = true;
    k.min_free_bytes = 10 * GiB;
    k.tolerance_pct = 10;
    struct select_result r = run(&k);
    assert_string_equal(r.reason, "0 of 1 device qualify, 1 needed: --min-free-memory 10.0GiB "
                                  "(9.00GiB with --tolerance 10) excludes 1");
    select_result_clear(&r);
}

static void test_too_few_without_constraints(void **state)
{
    (void)state;
    gpu(0, 10, 10, 20, 0, 0);
    struct select_constraints k = any();
    k.min_count = 3;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_string_equal(r.reason, "only 1 of 1 device qualifies, 3 needed: there is only 1 "
                                  "device");
    select_result_clear(&r);
}

static void test_no_gpu_at_all(void **state)
{
    (void)state;
    struct select_constraints k = any();
    k.min_count = 1;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_string_equal(r.reason, "there is no NVIDIA GPU or MIG device to choose from; "
                                  "1 needed");
    select_result_clear(&r);
}

static void test_device_with_a_status_is_unusable(void **state)
{
    (void)state;
    gpu(0, 70, 10, 80, 0, 0);
    strcpy(devs[0].status, "GPU_IS_LOST: the GPU has fallen off the bus or needs a reset");
    gpu(1, 10, 10, 20, 0, 0);
    struct select_constraints k = any();
    k.min_count = 2;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "1");
    assert_false(r.enough);
    assert_non_null(strstr(r.reason, "1 is unusable (GPU 0: GPU_IS_LOST"));
    select_result_clear(&r);
}

/* ---- MIG ------------------------------------------------------------------------- */

static void test_mig_gpu_offers_its_mig_devices_only(void **state)
{
    (void)state;
    const unsigned free_g[] = {5, 15};
    mig_gpu(0, 2, free_g);
    struct select_constraints k = any();
    struct select_result r = run(&k);
    /* One MIG device at most, the best: the one with more free memory. */
    assert_string_equal(order(&r), "0/1");
    assert_true(r.uuid_required);
    assert_string_equal(r.devices[0].uuid, migs[1].uuid);
    select_result_clear(&r);
}

static void test_mig_tie_prefers_the_higher_slot(void **state)
{
    (void)state;
    const unsigned free_g[] = {10, 10, 4};
    mig_gpu(0, 3, free_g);
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "0/1");
}

static void test_mig_devices_have_no_utilisation(void **state)
{
    (void)state;
    const unsigned free_g[] = {15};
    mig_gpu(0, 1, free_g);
    struct select_constraints k = any();
    k.max_gpu_util_set = true;
    k.max_gpu_util_pct = 100;
    k.min_count = 1;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_non_null(strstr(r.reason, "1 does not report GPU utilization"));
    select_result_clear(&r);
}

static void test_whole_gpus_win_when_they_are_best(void **state)
{
    (void)state;
    const unsigned free_g[] = {5, 6};
    mig_gpu(0, 2, free_g);
    gpu(1, 30, 10, 40, 0, 0);
    gpu(2, 20, 20, 40, 0, 0);
    struct select_constraints k = any();
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "1,2");
    assert_false(r.uuid_required);
    select_result_clear(&r);
}

static void test_whole_gpus_win_when_they_meet_min_count(void **state)
{
    (void)state;
    const unsigned free_g[] = {19, 18};
    mig_gpu(0, 2, free_g);        /* best free memory, but whole GPUs suffice */
    gpu(1, 3, 37, 40, 0, 0);
    struct select_constraints k = any();
    k.min_count = 1;
    assert_string_equal(choose(&k), "1");
}

static void test_best_mig_device_when_whole_gpus_do_not_suffice(void **state)
{
    (void)state;
    const unsigned free_g[] = {19, 18};
    mig_gpu(0, 2, free_g);
    struct select_constraints k = any();
    k.min_count = 1;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "0/0");
    assert_true(r.enough);
    select_result_clear(&r);
}

static void test_two_mig_devices_cannot_be_had(void **state)
{
    (void)state;
    const unsigned free_g[] = {19, 18};
    mig_gpu(0, 2, free_g);
    struct select_constraints k = any();
    k.min_count = 2;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_int_equal(r.qualified, 2);
    assert_string_equal(r.reason, "2 of 2 devices qualify, 2 needed: a CUDA process can use "
                                  "only one MIG device and no whole GPU beside it, so at "
                                  "most 1 can be chosen together");
    select_result_clear(&r);
}

static void test_mig_gpu_without_mig_devices_offers_nothing(void **state)
{
    (void)state;
    mig_gpu(0, 0, NULL);
    gpu(1, 3, 37, 40, 0, 0);
    struct select_constraints k = any();
    assert_string_equal(choose(&k), "1");
}

/* ---- --inherit ------------------------------------------------------------------- */

static void four_gpus(void)
{
    for (int i = 0; i < 4; i++)
        gpu(i, 10 + (unsigned)i, 10, 40, 0, 0);
}

static const char *inherit(const char *value)
{
    struct select_constraints k = any();
    k.inherit = true;
    k.cuda_visible_devices = value;
    return choose(&k);
}

static void test_inherit_keeps_the_named_devices(void **state)
{
    (void)state;
    four_gpus();
    assert_string_equal(inherit("0,2"), "2,0");
    assert_string_equal(inherit(" 1 "), "1");
    assert_string_equal(inherit(NULL), "3,2,1,0");     /* unset: every device */
}

static void test_inherit_by_uuid_prefix(void **state)
{
    (void)state;
    four_gpus();
    assert_string_equal(inherit("GPU-000000a1,GPU-000000a3-0000"), "3,1");
}

static void test_inherit_follows_cuda_rules(void **state)
{
    (void)state;
    four_gpus();
    assert_string_equal(inherit(""), "");
    assert_string_equal(inherit("1,x,2"), "1");        /* ends at the first bad entry */
    assert_string_equal(inherit("1,7,2"), "1");        /* out of range ends it too */
    assert_string_equal(inherit("1,2,1"), "");         /* twice: CUDA fails, nothing */
    assert_string_equal(inherit("GPU-000000a"), "");   /* ambiguous prefix */
}

static void test_inherit_empty_says_so(void **state)
{
    (void)state;
    four_gpus();
    struct select_constraints k = any();
    k.inherit = true;
    k.cuda_visible_devices = "";
    k.min_count = 1;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_string_equal(r.reason, "CUDA_VISIBLE_DEVICES='' names no device (--inherit); "
                                  "1 needed");
    select_result_clear(&r);
}

static void test_inherit_too_few_visible(void **state)
{
    (void)state;
    four_gpus();
    struct select_constraints k = any();
    k.inherit = true;
    k.cuda_visible_devices = "3";
    k.min_count = 2;
    struct select_result r = run(&k);
    assert_false(r.enough);
    assert_non_null(strstr(r.reason, "there is only 1 device under CUDA_VISIBLE_DEVICES"));
    select_result_clear(&r);
}

static void test_inherit_mig_devices(void **state)
{
    (void)state;
    const unsigned free_g[] = {5, 15, 10};
    mig_gpu(0, 3, free_g);
    gpu(1, 1, 39, 40, 0, 0);
    /* A MIG UUID names that MIG device; the GPU's index names all of them. */
    assert_string_equal(inherit("MIG-000000b0"), "0/0");
    assert_string_equal(inherit("MIG-000000b2-0000"), "0/2");
    assert_string_equal(inherit("0"), "0/1");
    assert_string_equal(inherit("0,MIG-000000b1"), "");   /* named twice */
    assert_string_equal(inherit("1,MIG-000000b"), "1");   /* ambiguous MIG prefix ends it */
}

/* ---- --account-as-free ----------------------------------------------------------- */

static void test_account_as_free_moves_listed_users_memory(void **state)
{
    (void)state;
    gpu(0, 10, 30, 40, 0, 0);
    gpu(1, 15, 25, 40, 0, 0);
    proc(100, 0, "alice", 8);
    proc(101, 0, "alice", 4);
    proc(102, 0, "bob", 10);
    proc(103, 1, "bob", 20);
    proc(104, 0, NULL, 5);        /* owner unknown: stays used */
    gprocs[4].gpu_mem_bytes.known = false;
    const char *users[] = {"alice"};
    struct select_constraints k = any();
    k.free_users = users;
    k.free_user_count = 1;
    k.min_free_set = true;
    k.min_free_bytes = 20 * GiB;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "0");
    assert_int_equal(r.devices[0].mem_free_bytes.v, 22 * GiB);
    assert_int_equal(r.devices[0].mem_used_bytes.v, 18 * GiB);
    select_result_clear(&r);
}

static void test_account_as_free_several_users(void **state)
{
    (void)state;
    gpu(0, 10, 30, 40, 0, 0);
    gpu(1, 15, 25, 40, 0, 0);
    proc(100, 0, "alice", 8);
    proc(103, 1, "bob", 20);
    const char *users[] = {"alice", "bob"};
    struct select_constraints k = any();
    k.free_users = users;
    k.free_user_count = 2;
    assert_string_equal(choose(&k), "1,0");
}

static void test_account_as_free_never_exceeds_total(void **state)
{
    (void)state;
    gpu(0, 10, 5, 40, 0, 0);      /* inconsistent driver figures */
    proc(100, 0, "alice", 35);
    const char *users[] = {"alice"};
    struct select_constraints k = any();
    k.free_users = users;
    k.free_user_count = 1;
    struct select_result r = run(&k);
    assert_int_equal(r.devices[0].mem_free_bytes.v, 40 * GiB);
    assert_int_equal(r.devices[0].mem_used_bytes.v, 0);
    select_result_clear(&r);
}

static void test_account_as_free_on_mig_devices(void **state)
{
    (void)state;
    const unsigned free_g[] = {10, 12};
    mig_gpu(0, 2, free_g);
    proc(100, 0, "alice", 6);
    OPT_SET(gprocs[0].gpu_instance_id, 1);       /* on MIG device 0 */
    OPT_SET(gprocs[0].compute_instance_id, 0);
    proc(101, 0, "alice", 9);                   /* no instance: on neither */
    const char *users[] = {"alice"};
    struct select_constraints k = any();
    k.free_users = users;
    k.free_user_count = 1;
    struct select_result r = run(&k);
    assert_string_equal(order(&r), "0/0");
    assert_int_equal(r.devices[0].mem_free_bytes.v, 16 * GiB);
    select_result_clear(&r);
}

#define T(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_constraints_orders_by_free_memory),
        T(test_ties_less_used_then_gpu_then_memory_utilisation),
        T(test_full_tie_prefers_the_higher_index),
        T(test_unknown_values_sort_last_when_unconstrained),
        T(test_other_vendors_are_never_candidates),
        T(test_min_free_memory_boundary),
        T(test_min_total_memory),
        T(test_max_gpu_utilisation_boundary),
        T(test_max_memory_utilisation),
        T(test_zero_thresholds),
        T(test_unknown_value_fails_its_constraint_and_says_so),
        T(test_tolerance_loosens_memory_by_percent),
        T(test_tolerance_loosens_utilisation_by_points),
        T(test_loosened_devices_sort_after_strict_ones),
        T(test_full_tolerance_still_refuses_unknown),
        T(test_max_count_cuts_the_ordered_list),
        T(test_max_count_zero_chooses_nothing),
        T(test_min_count_met_exactly),
        T(test_too_few_names_the_constraint_excluding_most),
        T(test_too_few_reason_shows_the_loosened_threshold),
        T(test_too_few_without_constraints),
        T(test_no_gpu_at_all),
        T(test_device_with_a_status_is_unusable),
        T(test_mig_gpu_offers_its_mig_devices_only),
        T(test_mig_tie_prefers_the_higher_slot),
        T(test_mig_devices_have_no_utilisation),
        T(test_whole_gpus_win_when_they_are_best),
        T(test_whole_gpus_win_when_they_meet_min_count),
        T(test_best_mig_device_when_whole_gpus_do_not_suffice),
        T(test_two_mig_devices_cannot_be_had),
        T(test_mig_gpu_without_mig_devices_offers_nothing),
        T(test_inherit_keeps_the_named_devices),
        T(test_inherit_by_uuid_prefix),
        T(test_inherit_follows_cuda_rules),
        T(test_inherit_empty_says_so),
        T(test_inherit_too_few_visible),
        T(test_inherit_mig_devices),
        T(test_account_as_free_moves_listed_users_memory),
        T(test_account_as_free_several_users),
        T(test_account_as_free_never_exceeds_total),
        T(test_account_as_free_on_mig_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
