/* Unit tests: CUDA_VISIBLE_DEVICES with CUDA's own rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/filter.h"

static struct mig_instance migs[2];
static struct device devs[5];

static int setup(void **state)
{
    (void)state;
    memset(devs, 0, sizeof devs);
    const char *uuids[] = {"GPU-aaaa1111-0000-0000-0000-000000000000",
                           "GPU-bbbb2222-0000-0000-0000-000000000000",
                           "GPU-abcd3333-0000-0000-0000-000000000000",
                           "GPU-cccc4444-0000-0000-0000-000000000000"};
    for (int i = 0; i < 4; i++) {
        devs[i].vendor = VENDOR_NVIDIA;
        devs[i].index = i;
        strcpy(devs[i].uuid, uuids[i]);
    }
    /* An AMD card numbered after the NVIDIA ones: CUDA never counts it. */
    devs[4].vendor = VENDOR_AMD;
    devs[4].index = 4;
    strcpy(migs[0].uuid, "MIG-1111aaaa-0000-0000-0000-000000000000");
    strcpy(migs[1].uuid, "MIG-2222bbbb-0000-0000-0000-000000000000");
    devs[3].migs = migs;
    devs[3].mig_count = 2;
    return 0;
}

static size_t visible(const char *value, int *out)
{
    size_t n = 99;
    filter_cuda_visible(value, strlen(value), devs, 5, out, 8, &n);
    return n;
}

static void test_indices_in_given_order(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("2,0", out), 2);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0);
}

static void test_list_stops_at_first_invalid_entry(void **state)
{
    (void)state;
    int out[8];
    /* CUDA's documented example: 0,2,-1,1 shows devices 0 and 2. */
    assert_int_equal(visible("0,2,-1,1", out), 2);
    assert_int_equal(out[1], 2);
    assert_int_equal(visible("1,7,0", out), 1);    /* out of range */
    assert_int_equal(visible("1,x,0", out), 1);
    assert_int_equal(visible("1,,0", out), 1);     /* empty entry */
    assert_int_equal(visible("4", out), 0);        /* the AMD card is not a CUDA device */
}

static void test_empty_value_shows_nothing(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("", out), 0);
}

static void test_duplicate_device_shows_nothing(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("0,1,0", out), 0);
    /* The same device named by index and by UUID is still a duplicate. */
    assert_int_equal(visible("1,GPU-bbbb2222", out), 0);
}

static void test_uuid_and_unambiguous_prefix(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("GPU-bbbb2222-0000-0000-0000-000000000000", out), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(visible("GPU-cc,0", out), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(visible("gpu-BBBB", out), 1);  /* case does not matter */
    assert_int_equal(out[0], 1);
}

static void test_ambiguous_prefix_ends_the_list(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("0,GPU-a,1", out), 1); /* aaaa... and abcd... */
}

static void test_mig_uuid_selects_its_parent(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible("MIG-2222", out), 1);
    assert_int_equal(out[0], 3);
    assert_int_equal(visible("MIG-9999", out), 0);
}

static void test_whitespace_around_entries(void **state)
{
    (void)state;
    int out[8];
    assert_int_equal(visible(" 1 , 2", out), 2);
}

static void test_filter_devices_leaves_other_vendors_alone(void **state)
{
    (void)state;
    struct filter f = {.only_visible = true};
    bool vis[5];
    filter_devices(&f, devs, 5, "2", vis);
    assert_false(vis[0]);
    assert_true(vis[2]);
    assert_true(vis[4]);
    filter_devices(&f, devs, 5, NULL, vis);   /* unset: everything */
    for (int i = 0; i < 5; i++)
        assert_true(vis[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_indices_in_given_order, setup),
        cmocka_unit_test_setup(test_list_stops_at_first_invalid_entry, setup),
        cmocka_unit_test_setup(test_empty_value_shows_nothing, setup),
        cmocka_unit_test_setup(test_duplicate_device_shows_nothing, setup),
        cmocka_unit_test_setup(test_uuid_and_unambiguous_prefix, setup),
        cmocka_unit_test_setup(test_ambiguous_prefix_ends_the_list, setup),
        cmocka_unit_test_setup(test_mig_uuid_selects_its_parent, setup),
        cmocka_unit_test_setup(test_whitespace_around_entries, setup),
        cmocka_unit_test_setup(test_filter_devices_leaves_other_vendors_alone, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
