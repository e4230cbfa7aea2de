/* test_pods.c - pod names from the kubelet's pod directories: the
 * NAMESPACE_NAME_UID spelling, entries that are not pods skipped, lookups
 * by the UID as cgroups spell it (dashes or underscores). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/pods.h"

static const char *uid = "0b5a7c2e-1f3d-4e5a-9b6c-7d8e9f0a1b2c";

static void test_entry_names_namespace_pod_and_uid(void **state)
{
    (void)state;
    struct pod_name p;
    char entry[200];
    snprintf(entry, sizeof entry, "ml-team_trainer-7f9c.0_%s", uid);
    assert_int_equal(pods_parse_entry(entry, strlen(entry), &p), 0);
    assert_string_equal(p.ns, "ml-team");
    assert_string_equal(p.name, "trainer-7f9c.0");
    assert_string_equal(p.uid, uid);
    /* only the given length is read */
    assert_int_equal(pods_parse_entry(entry, strlen(entry) - 4, &p), 0);
    assert_int_equal(strlen(p.uid), strlen(uid) - 4);
}

static void test_other_entries_are_refused(void **state)
{
    (void)state;
    struct pod_name p;
    const char *bad[] = {"", "kube-system", "a_b", "a_b_c_d", "_b_0123", "a__0123",
                         "a_b_", "A_b_0123", "a_b_xyz", "a b_c_0123", "a_b_01\n23"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(pods_parse_entry(bad[i], strlen(bad[i]), &p), -EINVAL);
    char longname[400];
    memset(longname, 'a', sizeof longname);
    memcpy(longname + 300, "_b_0123", 8);
    assert_int_equal(pods_parse_entry(longname, strlen(longname), &p), -EINVAL);
}

static void test_directory_listing_and_lookup(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-pods-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/default_web-1_%s", dir, uid);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/kube-system_dns_11111111-2222-3333-4444-555555555555", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/not-a-pod", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    struct pod_names pods;
    struct error e = {0};
    assert_int_equal(pods_read(dir, &pods, &e), 0);
    assert_int_equal(pods.count, 2);
    const struct pod_name *p = pods_find(&pods, uid);
    assert_non_null(p);
    assert_string_equal(p->name, "web-1");
    assert_string_equal(p->ns, "default");
    /* systemd's cgroup driver spells the UID with underscores */
    p = pods_find(&pods, "11111111_2222_3333_4444_555555555555");
    assert_non_null(p);
    assert_string_equal(p->ns, "kube-system");
    assert_null(pods_find(&pods, "99999999-2222-3333-4444-555555555555"));
    assert_null(pods_find(&pods, ""));
    pods_clear(&pods);
    pods_clear(NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", dir);
    assert_int_equal(system(cmd), 0);
    /* no directory: no pods */
    assert_int_equal(pods_read(dir, &pods, &e), 0);
    assert_int_equal(pods.count, 0);
    assert_int_equal(pods_read(NULL, &pods, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_names_namespace_pod_and_uid),
        cmocka_unit_test(test_other_entries_are_refused),
        cmocka_unit_test(test_directory_listing_and_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
