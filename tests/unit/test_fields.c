/* test_fields.c - the field table (core/fields.h): one name per quantity,
 * Prometheus names that follow Prometheus's rules, DCGM names where they
 * exist, and generic reads that agree with the model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "core/fields.h"
#include "core/model.h"

static const struct field_def *all(size_t *n)
{
    const struct field_def *t = fields_all(n);
    assert_non_null(t);
    assert_true(*n > 60);
    return t;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool same_group(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void test_every_key_is_unique_within_its_scope(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].key);
        for (size_t j = i + 1; j < n; j++)
            if (t[i].scope == t[j].scope && strcmp(t[i].key, t[j].key) == 0)
                fail_msg("%s: key %s twice", fields_scope_name(t[i].scope), t[i].key);
    }
}

static void test_the_process_keys_are_unique_across_gpu_and_host_sides(void **state)
{
    /* procs[] holds both scopes in one object */
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (t[i].scope == FIELD_GPU_PROCESS && t[j].scope == FIELD_HOST_PROCESS &&
                strcmp(t[i].key, t[j].key) == 0)
                fail_msg("procs[] key %s on both sides", t[i].key);
}

static void test_prometheus_names_follow_the_naming_rules(void **state)
{
    (void)state;
    regex_t re;
    assert_int_equal(regcomp(&re, "^gpuctl_[a-z][a-z0-9_]*[a-z0-9]$", REG_EXTENDED | REG_NOSUB), 0);
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        const struct field_def *f = &t[i];
        if (!f->prom_name)
            continue;
        if (regexec(&re, f->prom_name, 0, NULL, 0) != 0 || strstr(f->prom_name, "__"))
            fail_msg("%s: not a valid metric name", f->prom_name);
        assert_true(f->prom_scale > 0);
        bool counter = f->flags & FIELD_F_COUNTER;
        if (counter != ends_with(f->prom_name, "_total"))
            fail_msg("%s: _total is for counters only, and every counter has it", f->prom_name);
        for (size_t j = 0; j < i; j++)
            if (t[j].prom_name && strcmp(t[j].prom_name, f->prom_name) == 0)
                fail_msg("%s exported twice", f->prom_name);
    }
    regfree(&re);
}

/* The base-unit suffix a JSON unit must have, and the scale into it. */
static void check_base_unit(const struct field_def *f, const char *unit, const char *suffix,
                            double scale)
{
    if (!f->prom_name || !f->unit || strcmp(f->unit, unit) != 0)
        return;
    char want[64];
    snprintf(want, sizeof want, "%s%s", suffix, f->flags & FIELD_F_COUNTER ? "_total" : "");
    if (!ends_with(f->prom_name, want))
        fail_msg("%s (unit %s) should end in %s", f->prom_name, unit, want);
    if (!isnan(scale) && fabs(f->prom_scale - scale) > scale * 1e-12)
        fail_msg("%s: scale %g, want %g", f->prom_name, f->prom_scale, scale);
}

static void test_prometheus_series_are_in_base_units(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        /* MiB documents still export bytes: the model holds bytes */
        check_base_unit(&t[i], "MiB", "_bytes", 1);
        check_base_unit(&t[i], "bytes", "_bytes", 1);
        check_base_unit(&t[i], "percent", "_ratio", 0.01);
        check_base_unit(&t[i], "celsius", "_celsius", 1);
        check_base_unit(&t[i], "watts", "_watts", 0.001);
        check_base_unit(&t[i], "MHz", "_hertz", 1e6);
        check_base_unit(&t[i], "seconds", "_seconds", 1);
        check_base_unit(&t[i], "microjoules", "_joules", 1e-6);
        check_base_unit(&t[i], "KiB/s", "_bytes_per_second", 1024);
    }
}

static void test_dcgm_names_and_scales(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].dcgm_name)
            continue;
        assert_true(strncmp(t[i].dcgm_name, "DCGM_FI_DEV_", 12) == 0);
        assert_true(t[i].dcgm_scale > 0);
        for (size_t j = 0; j < i; j++)
            if (t[j].scope == t[i].scope && t[j].dcgm_name &&
                strcmp(t[j].dcgm_name, t[i].dcgm_name) == 0)
                fail_msg("%s twice in one scope", t[i].dcgm_name);
    }
    /* DCGM's own units: frame buffer in MiB, power in W, energy in mJ */
    const struct field_def *fb = fields_find(FIELD_DEVICE, "mem_used_mb");
    assert_string_equal(fb->dcgm_name, "DCGM_FI_DEV_FB_USED");
    assert_true(fb->dcgm_scale * 1048576.0 == 1.0);
    assert_true(fields_find(FIELD_DEVICE, "power_w")->dcgm_scale == 0.001);
    const struct field_def *energy = fields_find(FIELD_DEVICE, "energy_uj");
    assert_string_equal(energy->dcgm_name, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
    assert_true(energy->dcgm_scale == 0.001);
    const char *expected[] = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL",
                              "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
                              "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_SM_CLOCK",
                              "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
                              "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL"};
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= t[i].scope == FIELD_DEVICE && t[i].dcgm_name &&
                     strcmp(t[i].dcgm_name, expected[k]) == 0;
        if (!found)
            fail_msg("no device field maps to %s", expected[k]);
    }
}

static void test_every_field_has_help_and_a_sane_shape(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        const struct field_def *f = &t[i];
        if (!f->help || !*f->help || !ends_with(f->help, "."))
            fail_msg("%s: help must be one sentence", f->key);
        if (f->kind == FIELD_F64 && f->json == FIELD_JSON_PLAIN)
            assert_in_range(f->precision, 0, 9);
        if (f->json == FIELD_JSON_MILLI)
            assert_int_equal(f->precision, 3);
        if (f->json == FIELD_JSON_NAME)
            assert_true(f->names && f->name_count > 0);
        if (f->json == FIELD_JSON_MIB || f->json == FIELD_JSON_MILLI)
            assert_int_equal(f->kind, FIELD_U64);
        if (f->kind == FIELD_STR)
            assert_true(f->size > 1);
        if (f->group)
            assert_int_equal(f->scope, FIELD_DEVICE);
    }
}

static void test_gpu_kill_keys_come_first(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    bool device_other = false, process_other = false;
    for (size_t i = 0; i < n; i++) {
        bool gk = t[i].flags & FIELD_F_GPU_KILL;
        bool *other = t[i].scope == FIELD_DEVICE ? &device_other
                    : t[i].scope == FIELD_GPU_PROCESS || t[i].scope == FIELD_HOST_PROCESS
                        ? &process_other : NULL;
        if (!other)
            continue;
        if (gk && *other)
            fail_msg("gpu-kill key %s after a key of gpuctl's own", t[i].key);
        *other |= !gk;
    }
}

static void test_groups_are_contiguous(void **state)
{
    (void)state;
    size_t n;
    const struct field_def *t = all(&n);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].group)
            continue;
        for (size_t j = i + 2; j < n; j++)
            if (same_group(t[j].group, t[i].group) && !same_group(t[j - 1].group, t[i].group))
                fail_msg("group %s is split", t[i].group);
    }
}

static void test_names_agree_with_the_model(void **state)
{
    (void)state;
    /* every value the model names, and no more: a new enum value fails here */
    const struct field_def *v = fields_find(FIELD_DEVICE, "vendor");
    for (size_t i = 0; i < 64; i++)
        if (i < v->name_count)
            assert_string_equal(v->names[i], model_vendor_name((enum vendor)i));
        else
            assert_string_equal(model_vendor_name((enum vendor)i), "unknown");
    const struct field_def *cm = fields_find(FIELD_DEVICE, "compute_mode");
    for (size_t i = 0; i < 64; i++)
        if (i < cm->name_count)
            assert_string_equal(cm->names[i], model_compute_mode_name((enum compute_mode)i));
        else
            assert_string_equal(model_compute_mode_name((enum compute_mode)i), "unknown");
    const struct field_def *ty = fields_find(FIELD_GPU_PROCESS, "type");
    assert_int_equal(ty->name_count, 8);
    for (unsigned i = 0; i < ty->name_count; i++)
        assert_string_equal(ty->names[i], model_gpu_process_type_name(i));
    const struct field_def *ck = fields_find(FIELD_HOST_PROCESS, "container_kind");
    assert_null(ck->names[CONTAINER_NONE]);
    for (size_t i = 1; i < 64; i++)
        if (i < ck->name_count)
            assert_string_equal(ck->names[i], model_container_kind_name((enum container_kind)i));
        else
            assert_string_equal(model_container_kind_name((enum container_kind)i), "unknown");
}

static void test_generic_reads_agree_with_the_record(void **state)
{
    (void)state;
    struct device d = {.index = 3, .vendor = VENDOR_AMD};
    OPT_SET(d.mem_used_bytes, 3ull << 30);
    OPT_SET(d.util_gpu_pct, 58.5);
    OPT_SET(d.temp_c, -4);
    OPT_SET(d.mig_mode, 1);
    double v;
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "mem_used_mb"), &d, &v));
    assert_true(v == (double)(3ull << 30));
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "util_pct"), &d, &v) && v == 58.5);
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "temp_c"), &d, &v) && v == -4);
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "mig_mode"), &d, &v) && v == 1);
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "gpu_index"), &d, &v) && v == 3);
    assert_true(fields_get_f64(fields_find(FIELD_DEVICE, "vendor"), &d, &v) && v == VENDOR_AMD);
    assert_false(fields_get_f64(fields_find(FIELD_DEVICE, "power_w"), &d, &v));
    assert_false(fields_get_f64(fields_find(FIELD_DEVICE, "name"), &d, &v));

    struct host_process hp = {.pid = 7};
    OPT_SET(hp.rss_bytes, 4096);
    hp.container.kind = CONTAINER_PODMAN;
    assert_true(fields_get_f64(fields_find(FIELD_HOST_PROCESS, "host_rss_bytes"), &hp, &v));
    assert_true(v == 4096);
    assert_true(fields_get_f64(fields_find(FIELD_HOST_PROCESS, "container_kind"), &hp, &v));
    assert_true(v == CONTAINER_PODMAN);
    assert_ptr_equal(fields_cslot(fields_find(FIELD_HOST_PROCESS, "pod_uid"), &hp),
                     hp.container.pod_uid);
}

static void test_find_knows_each_scope(void **state)
{
    (void)state;
    assert_int_equal(fields_find(FIELD_MIG, "name")->scope, FIELD_MIG);
    assert_int_equal(fields_find(FIELD_DEVICE, "name")->scope, FIELD_DEVICE);
    assert_string_equal(fields_find(FIELD_DEVICE, "sm_mhz")->group, "clocks");
    assert_null(fields_find(FIELD_DEVICE, "no_such_key"));
    assert_null(fields_find(FIELD_HOST, "pid"));
    assert_string_equal(fields_scope_name(FIELD_HOST_PROCESS), "host_process");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_is_unique_within_its_scope),
        cmocka_unit_test(test_the_process_keys_are_unique_across_gpu_and_host_sides),
        cmocka_unit_test(test_prometheus_names_follow_the_naming_rules),
        cmocka_unit_test(test_prometheus_series_are_in_base_units),
        cmocka_unit_test(test_dcgm_names_and_scales),
        cmocka_unit_test(test_every_field_has_help_and_a_sane_shape),
        cmocka_unit_test(test_gpu_kill_keys_come_first),
        cmocka_unit_test(test_groups_are_contiguous),
        cmocka_unit_test(test_names_agree_with_the_model),
        cmocka_unit_test(test_generic_reads_agree_with_the_record),
        cmocka_unit_test(test_find_knows_each_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
