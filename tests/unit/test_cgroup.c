/* test_cgroup.c - container attribution from /proc/PID/cgroup text.
 *
 * Every case is a whole file as the kernel writes it (v1, v2 or hybrid), in
 * the path shapes Docker, containerd, Kubernetes, Podman, LXC and systemd
 * really create, plus look-alikes that must not match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sources/procfs.h"

#define DOCKER_ID "3f2c9a81d4e6b7a0c5d8e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
#define INNER_ID "2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d"
#define CRI_ID "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459"
#define POD_DASH "0125ec2f-b64a-4868-8f5b-94b56cbab864"
#define POD_UNDER "0125ec2f_b64a_4868_8f5b_94b56cbab864"
#define PODMAN_ID "4a8dd27841a96004bc286d609621c4deee11577073d999eaf81a8fc9e513a314"

struct cgroup_case {
    const char *what;
    const char *text;
    enum container_kind kind;
    const char *id;
    const char *pod_uid;
};

/* Parses from an exact-size heap copy so ASan sees any read past the end. */
static void parse_text(const char *text, struct container_info *out)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(out, 0x5a, sizeof *out);
    procfs_parse_cgroup(copy, len, out);
    free(copy);
}

static void check_cases(const struct cgroup_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct container_info got;
        parse_text(cases[i].text, &got);
        if (got.kind != cases[i].kind || strcmp(got.id, cases[i].id) != 0 ||
            strcmp(got.pod_uid, cases[i].pod_uid) != 0)
            fail_msg("%s: got kind %s id '%s' pod '%s', want kind %s id '%s' pod '%s'",
                     cases[i].what, model_container_kind_name(got.kind), got.id, got.pod_uid,
                     model_container_kind_name(cases[i].kind), cases[i].id, cases[i].pod_uid);
    }
}

#define CHECK(cases) check_cases(cases, sizeof cases / sizeof cases[0])

/* A cgroup v1 file with every controller at the same path, as cgroupfs
 * drivers write it. */
#define V1_ALL(path)                                                                   \
    "12:net_cls,net_prio:" path "\n11:freezer:" path "\n10:rdma:/\n9:blkio:" path       \
    "\n8:memory:" path "\n7:perf_event:" path "\n6:hugetlb:" path "\n5:cpuset:" path    \
    "\n4:devices:" path "\n3:pids:" path "\n2:cpu,cpuacct:" path "\n1:name=systemd:" path \
    "\n"

static void test_docker(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "v1 cgroupfs driver, hybrid host", V1_ALL("/docker/" DOCKER_ID) "0::/system.slice/containerd.service\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "v2 cgroupfs driver", "0::/docker/" DOCKER_ID "\n", CONTAINER_DOCKER, DOCKER_ID, "" },
        { "v2 systemd driver", "0::/system.slice/docker-" DOCKER_ID ".scope\n", CONTAINER_DOCKER,
          DOCKER_ID, "" },
        { "v1 systemd driver",
          "11:memory:/system.slice/docker-" DOCKER_ID ".scope\n"
          "1:name=systemd:/system.slice/docker-" DOCKER_ID ".scope\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "rootless", "0::/user.slice/user-1000.slice/user@1000.service/docker-" DOCKER_ID ".scope\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "docker in docker: the outer container", "0::/docker/" DOCKER_ID "/docker/" INNER_ID "\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "short id", "0::/docker/3f2c9a81d4e6\n", CONTAINER_DOCKER, "3f2c9a81d4e6", "" },
        { "seen from inside a cgroup namespace", "0::/../../system.slice/docker-" DOCKER_ID ".scope\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "removed cgroup of a zombie", "0::/system.slice/docker-" DOCKER_ID ".scope (deleted)\n",
          CONTAINER_DOCKER, DOCKER_ID, "" },
        { "no trailing newline", "0::/docker/" DOCKER_ID, CONTAINER_DOCKER, DOCKER_ID, "" },
    };
    CHECK(cases);
}

static void test_containerd(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "ctr, default namespace, v1", V1_ALL("/default/redis"), CONTAINER_CONTAINERD, "redis", "" },
        { "nerdctl cgroupfs", "0::/default/" DOCKER_ID "\n", CONTAINER_CONTAINERD, DOCKER_ID, "" },
        { "nerdctl systemd", "0::/system.slice/nerdctl-" DOCKER_ID ".scope\n", CONTAINER_CONTAINERD,
          DOCKER_ID, "" },
        { "k8s.io namespace outside kubelet", "0::/k8s.io/" CRI_ID "\n", CONTAINER_CONTAINERD,
          CRI_ID, "" },
        { "/containerd/<id>", "12:memory:/containerd/" CRI_ID "\n", CONTAINER_CONTAINERD, CRI_ID, "" },
        { "cri-containerd scope outside a pod", "0::/system.slice/cri-containerd-" CRI_ID ".scope\n",
          CONTAINER_CONTAINERD, CRI_ID, "" },
        { "v1 raw systemd path", "4:pids:/system.slice:nerdctl:" DOCKER_ID "\n", CONTAINER_CONTAINERD,
          DOCKER_ID, "" },
    };
    CHECK(cases);
}

static void test_kubernetes(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "v1 cgroupfs burstable", V1_ALL("/kubepods/burstable/pod" POD_DASH "/" CRI_ID),
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "v1 cgroupfs guaranteed", V1_ALL("/kubepods/pod" POD_DASH "/" CRI_ID), CONTAINER_KUBERNETES,
          CRI_ID, POD_DASH },
        { "v2 cgroupfs besteffort", "0::/kubepods/besteffort/pod" POD_DASH "/" CRI_ID "\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "v2 systemd, containerd",
          "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_UNDER
          ".slice/cri-containerd-" CRI_ID ".scope\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "v2 systemd guaranteed",
          "0::/kubepods.slice/kubepods-pod" POD_UNDER ".slice/cri-containerd-" CRI_ID ".scope\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "CRI-O",
          "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_UNDER
          ".slice/crio-" CRI_ID ".scope\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "CRI-O monitor",
          "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_UNDER
          ".slice/crio-conmon-" CRI_ID ".scope\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "CRI-O cgroupfs", "0::/kubepods/burstable/pod" POD_DASH "/crio-" CRI_ID "\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "docker in kubernetes, systemd",
          "1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_UNDER
          ".slice/docker-" DOCKER_ID ".scope\n",
          CONTAINER_KUBERNETES, DOCKER_ID, POD_DASH },
        { "v1 raw systemd path written by runc",
          "11:perf_event:/kubepods-besteffort-pod" POD_UNDER ".slice:cri-containerd:" CRI_ID "\n"
          "10:blkio:/system.slice/containerd.service/kubepods-besteffort-pod" POD_UNDER
          ".slice:cri-containerd:" CRI_ID "\n"
          "1:name=systemd:/system.slice/containerd.service/kubepods-besteffort-pod" POD_UNDER
          ".slice:cri-containerd:" CRI_ID "\n0::/\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "kind node: the pod beats the docker container around it",
          "0::/system.slice/docker-" DOCKER_ID ".scope/kubelet.slice/kubelet-kubepods.slice/"
          "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_UNDER
          ".slice/cri-containerd-" CRI_ID ".scope\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
        { "pod cgroup only", "0::/kubepods/burstable/pod" POD_DASH "\n", CONTAINER_KUBERNETES, "",
          POD_DASH },
        { "static pod (hash uid)",
          "0::/kubepods/burstable/pod8f1a0c2b9d3e4f5a6b7c8d9e0f1a2b3c/" CRI_ID "\n",
          CONTAINER_KUBERNETES, CRI_ID, "8f1a0c2b9d3e4f5a6b7c8d9e0f1a2b3c" },
        { "hybrid: a pod line beats a docker line",
          "4:memory:/docker/" DOCKER_ID "\n3:pids:/kubepods/pod" POD_DASH "/" CRI_ID "\n",
          CONTAINER_KUBERNETES, CRI_ID, POD_DASH },
    };
    CHECK(cases);
}

static void test_podman(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "root, systemd", "0::/machine.slice/libpod-" PODMAN_ID ".scope/container\n",
          CONTAINER_PODMAN, PODMAN_ID, "" },
        { "cgroupfs driver, v1", V1_ALL("/libpod_parent/libpod-" PODMAN_ID), CONTAINER_PODMAN,
          PODMAN_ID, "" },
        { "rootless",
          "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" PODMAN_ID ".scope\n",
          CONTAINER_PODMAN, PODMAN_ID, "" },
        { "in a podman pod",
          "0::/machine.slice/machine-libpod_pod_9b1e2c3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c.slice/"
          "libpod-" PODMAN_ID ".scope/container\n",
          CONTAINER_PODMAN, PODMAN_ID, "" },
        { "conmon monitor", "0::/machine.slice/libpod-conmon-" PODMAN_ID ".scope\n", CONTAINER_PODMAN,
          PODMAN_ID, "" },
        { "docker inside podman: the outer container",
          "11:pids:/machine.slice/libpod-" PODMAN_ID ".scope/docker/" INNER_ID "/\n",
          CONTAINER_PODMAN, PODMAN_ID, "" },
    };
    CHECK(cases);
}

static void test_lxc(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "v1 /lxc/<name>", V1_ALL("/lxc/web01"), CONTAINER_LXC, "web01", "" },
        { "LXC 4 payload, systemd inside",
          "0::/lxc.payload.web01/system.slice/nginx.service\n", CONTAINER_LXC, "web01", "" },
        { "payload directory form", "0::/lxc.payload/web01\n", CONTAINER_LXC, "web01", "" },
        { "monitor", "0::/lxc.monitor.web01\n", CONTAINER_LXC, "web01", "" },
        { "LXD project container", "0::/lxc.payload.prod_db-1/init.scope\n", CONTAINER_LXC,
          "prod_db-1", "" },
    };
    CHECK(cases);
}

static void test_systemd(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "service", "0::/system.slice/sshd.service\n", CONTAINER_SYSTEMD, "sshd.service", "" },
        { "login session", "0::/user.slice/user-1000.slice/session-3.scope\n", CONTAINER_SYSTEMD,
          "session-3.scope", "" },
        { "init", "0::/init.scope\n", CONTAINER_SYSTEMD, "init.scope", "" },
        { "deepest unit in a user manager",
          "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
          "app-org.gnome.Terminal.slice/vte-spawn-5f1c2d3e.scope\n",
          CONTAINER_SYSTEMD, "vte-spawn-5f1c2d3e.scope", "" },
        { "sub-cgroup of a service", "0::/system.slice/ollama.service/worker\n", CONTAINER_SYSTEMD,
          "ollama.service", "" },
        { "the docker daemon is a service", "0::/system.slice/docker.service\n", CONTAINER_SYSTEMD,
          "docker.service", "" },
        { "v1 prefers the systemd hierarchy",
          "12:cpu,cpuacct:/system.slice/other.service\n6:memory:/system.slice\n"
          "1:name=systemd:/system.slice/sshd.service\n",
          CONTAINER_SYSTEMD, "sshd.service", "" },
        { "escaped unit name", "0::/machine.slice/machine-qemu\\x2d1\\x2dwin10.scope\n",
          CONTAINER_SYSTEMD, "machine-qemu\\x2d1\\x2dwin10.scope", "" },
        { "lxc.service is the LXC daemon", "0::/system.slice/lxc.service\n", CONTAINER_SYSTEMD,
          "lxc.service", "" },
    };
    CHECK(cases);
}

static void test_not_recognised(void **state)
{
    (void)state;
    static const struct cgroup_case cases[] = {
        { "empty", "", CONTAINER_NONE, "", "" },
        { "v2 root", "0::/\n", CONTAINER_NONE, "", "" },
        { "v1 root", V1_ALL("/"), CONTAINER_NONE, "", "" },
        { "slice only", "0::/user.slice\n", CONTAINER_NONE, "", "" },
        { "kubepods slices without a pod", "0::/kubepods.slice/kubepods-burstable.slice\n",
          CONTAINER_NONE, "", "" },
        { "non-hex docker child", "0::/docker/buildkit\n", CONTAINER_NONE, "", "" },
        { "id cut short", "0::/docker/3f2c9a81\n", CONTAINER_NONE, "", "" },
        { "id too long", "0::/docker/" DOCKER_ID "0\n", CONTAINER_NONE, "", "" },
        { "docker scope with a non-hex id", "0::/system.slice/docker-hello.scope.d\n", CONTAINER_NONE,
          "", "" },
        { "pod outside kubepods", "0::/pods/pod" POD_DASH "/" CRI_ID "\n", CONTAINER_NONE, "", "" },
        { "containerd namespace not at the root", "0::/srv/default/redis\n", CONTAINER_NONE, "", "" },
        { "namespace without an id", "0::/default\n", CONTAINER_NONE, "", "" },
        { "lxc without a name", "0::/lxc\n", CONTAINER_NONE, "", "" },
        { "bare suffixes", "0::/.service/.scope\n", CONTAINER_NONE, "", "" },
        { "old v1 user layout", "5:name=systemd:/user/1000.user/64.session\n", CONTAINER_NONE, "", "" },
        { "lines without colons", "docker " DOCKER_ID "\n/docker/" DOCKER_ID "\n", CONTAINER_NONE, "",
          "" },
        { "only one colon", "0:/docker/" DOCKER_ID "\n", CONTAINER_NONE, "", "" },
        { "command-line look-alike", "0::/user.slice/user-1000.slice/session-3.scope/docker run x\n",
          CONTAINER_SYSTEMD, "session-3.scope", "" },
    };
    CHECK(cases);
}

/* Long names are cut to fit and stay NUL-terminated. */
static void test_long_unit_name_is_cut(void **state)
{
    (void)state;
    char text[400];
    char unit[300];
    memset(unit, 'u', 200);
    memcpy(unit + 200, ".service", sizeof ".service");
    snprintf(text, sizeof text, "0::/system.slice/%s\n", unit);
    struct container_info got;
    parse_text(text, &got);
    assert_int_equal(got.kind, CONTAINER_SYSTEMD);
    assert_int_equal(strlen(got.id), sizeof got.id - 1);
    assert_memory_equal(got.id, unit, sizeof got.id - 1);
}

/* A buffer that is not NUL-terminated and ends mid-line. */
static void test_length_is_respected(void **state)
{
    (void)state;
    const char text[] = "0::/docker/" DOCKER_ID "\n0::/lxc/web01\n";
    struct container_info got;
    procfs_parse_cgroup(text, strlen("0::/docker/") + 12, &got);
    assert_int_equal(got.kind, CONTAINER_DOCKER);
    assert_string_equal(got.id, "3f2c9a81d4e6");
    procfs_parse_cgroup(text, strlen("0::/docker/") + 8, &got);
    assert_int_equal(got.kind, CONTAINER_NONE);
    assert_string_equal(got.id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker),
        cmocka_unit_test(test_containerd),
        cmocka_unit_test(test_kubernetes),
        cmocka_unit_test(test_podman),
        cmocka_unit_test(test_lxc),
        cmocka_unit_test(test_systemd),
        cmocka_unit_test(test_not_recognised),
        cmocka_unit_test(test_long_unit_name_is_cut),
        cmocka_unit_test(test_length_is_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
