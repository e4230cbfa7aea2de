/* Unit tests: process filters (type, pid, user, PCRE2 pattern) and device
 * filters (vendor, index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/filter.h"

static struct host_process host(const char *user, const char *name, char *cmdline)
{
    struct host_process hp = {.exists = true, .cmdline = cmdline};
    strcpy(hp.user, user);
    strcpy(hp.name, name);
    return hp;
}

static void test_no_criteria_matches_everything(void **state)
{
    (void)state;
    struct filter f = {0};
    struct gpu_process gp = {.pid = 10, .type = GPU_PROC_GRAPHICS};
    assert_false(filter_process_has_criteria(&f));
    assert_true(filter_process(&f, &gp, NULL, "me"));
}

static void test_type_filters(void **state)
{
    (void)state;
    struct gpu_process c = {.type = GPU_PROC_COMPUTE}, g = {.type = GPU_PROC_GRAPHICS};
    struct gpu_process cg = {.type = GPU_PROC_COMPUTE | GPU_PROC_GRAPHICS};
    struct gpu_process mps = {.type = GPU_PROC_MPS};
    struct filter compute = {.compute = true}, graphics = {.graphics = true};
    assert_true(filter_process(&compute, &c, NULL, NULL));
    assert_true(filter_process(&compute, &mps, NULL, NULL));
    assert_false(filter_process(&compute, &g, NULL, NULL));
    assert_true(filter_process(&compute, &cg, NULL, NULL));
    assert_true(filter_process(&graphics, &g, NULL, NULL));
    assert_false(filter_process(&graphics, &c, NULL, NULL));
}

static void test_pid_filter(void **state)
{
    (void)state;
    pid_t pids[] = {5, 7};
    struct filter f = {.pids = pids, .pid_count = 2};
    struct gpu_process a = {.pid = 7}, b = {.pid = 8};
    assert_true(filter_process(&f, &a, NULL, NULL));
    assert_false(filter_process(&f, &b, NULL, NULL));
}

static void test_user_filter_named_and_self(void **state)
{
    (void)state;
    const char *users[] = {"alice"};
    struct filter named = {.users = users, .user_count = 1, .users_set = true};
    struct filter self = {.users_set = true};
    struct gpu_process gp = {.pid = 1};
    struct host_process alice = host("alice", "python", NULL), bob = host("bob", "python", NULL);
    assert_true(filter_process(&named, &gp, &alice, "bob"));
    assert_false(filter_process(&named, &gp, &bob, "bob"));
    assert_true(filter_process(&self, &gp, &bob, "bob"));
    assert_false(filter_process(&self, &gp, &alice, "bob"));
    /* Unknown owner never matches a user criterion. */
    assert_false(filter_process(&named, &gp, NULL, "bob"));
}

static void test_regex_on_name_and_command_line(void **state)
{
    (void)state;
    struct filter f = {0};
    struct error e;
    assert_int_equal(filter_set_regex(&f, "train(ing)?\\.py", &e), 0);
    char cmd[] = "python3 /srv/train.py --epochs 3";
    struct host_process by_cmd = host("a", "python3", cmd);
    struct host_process by_name = host("a", "training.py", NULL);
    struct host_process neither = host("a", "bash", NULL);
    struct gpu_process gp = {.pid = 3};
    assert_true(filter_process(&f, &gp, &by_cmd, NULL));
    assert_true(filter_process(&f, &gp, &by_name, NULL));
    assert_false(filter_process(&f, &gp, &neither, NULL));
    assert_false(filter_process(&f, &gp, NULL, NULL));
    filter_clear(&f);
    filter_clear(&f);   /* twice is harmless */
}

static void test_invalid_regex_names_position(void **state)
{
    (void)state;
    struct filter f = {0};
    struct error e = {0};
    assert_int_equal(filter_set_regex(&f, "ab(c", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "position 5"));
    assert_non_null(strstr(e.msg, "ab(c"));
    assert_null(f.regex);
}

static void test_device_vendor_and_index_filters(void **state)
{
    (void)state;
    struct device d[3] = {{.vendor = VENDOR_NVIDIA, .index = 0},
                          {.vendor = VENDOR_AMD, .index = 1},
                          {.vendor = VENDOR_INTEL, .index = 2}};
    bool vis[3];
    struct filter amd = {.vendor_mask = 1u << VENDOR_AMD};
    filter_devices(&amd, d, 3, NULL, vis);
    assert_false(vis[0]);
    assert_true(vis[1]);
    assert_false(vis[2]);
    int only[] = {0, 2};
    struct filter idx = {.only = only, .only_count = 2};
    filter_devices(&idx, d, 3, NULL, vis);
    assert_true(vis[0]);
    assert_false(vis[1]);
    assert_true(vis[2]);
}

static void test_a_pattern_pcre2_gives_up_on_is_a_failure_not_a_miss(void **state)
{
    (void)state;
    struct filter f = {0};
    struct error e = {0};
    char msg[256];
    assert_int_equal(filter_set_regex(&f, "(a+)+$", &e), 0);
    assert_false(filter_regex_match(&f, "aaab"));            /* a plain miss */
    assert_int_equal(filter_regex_failure(&f, msg, sizeof msg), 0);
    assert_false(filter_regex_match(&f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    assert_true(filter_regex_failure(&f, msg, sizeof msg) < 0);
    assert_non_null(strstr(msg, "limit"));
    filter_clear(&f);
    assert_int_equal(filter_regex_failure(&f, msg, sizeof msg), 0);
}

static void test_mig_uuids_in_cuda_visible_devices_name_their_instances(void **state)
{
    (void)state;
    struct mig_instance migs[3] = {{.uuid = "MIG-aaaa1111-0000"}, {.uuid = "MIG-bbbb2222-0000"},
                                   {.uuid = "MIG-cccc3333-0000"}};
    struct device d = {.vendor = VENDOR_NVIDIA, .uuid = "GPU-1234", .mig_count = 3, .migs = migs};
    const char *two = "MIG-aaaa1111-0000, mig-cccc";
    assert_int_equal(filter_cuda_visible_migs(two, strlen(two), &d), 0x5);
    const char *whole = "0,GPU-1234";
    assert_int_equal(filter_cuda_visible_migs(whole, strlen(whole), &d), 0);
    const char *other = "MIG-dddd";
    assert_int_equal(filter_cuda_visible_migs(other, strlen(other), &d), 0);
    assert_int_equal(filter_cuda_visible_migs("MIG-", 4, &d), 0);    /* no prefix at all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_criteria_matches_everything),
        cmocka_unit_test(test_type_filters),
        cmocka_unit_test(test_pid_filter),
        cmocka_unit_test(test_user_filter_named_and_self),
        cmocka_unit_test(test_regex_on_name_and_command_line),
        cmocka_unit_test(test_invalid_regex_names_position),
        cmocka_unit_test(test_device_vendor_and_index_filters),
        cmocka_unit_test(test_mig_uuids_in_cuda_visible_devices_name_their_instances),
        cmocka_unit_test(test_a_pattern_pcre2_gives_up_on_is_a_failure_not_a_miss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
