/* test_reset.c - the vendor dispatch, finding nvidia-smi on PATH, and
 * running a stand-in nvidia-smi script: its arguments, its output on
 * success and failure, and a death by signal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/reset.h"

static char dir[128];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/gpuctl-test-reset-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void write_script(const char *name, const char *body, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static struct device nvidia_gpu(void)
{
    struct device d = {.vendor = VENDOR_NVIDIA, .index = 3};
    strcpy(d.pci_bus_id, "0000:18:00.0");
    strcpy(d.uuid, "GPU-12345678-aaaa-bbbb-cccc-1234567890ab");
    strcpy(d.name, "NVIDIA H100 80GB HBM3");
    return d;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- dispatch ---- */

static void test_other_vendors_are_unsupported(void **state)
{
    (void)state;
    struct reset_method m;
    struct error e = {0};
    struct device d = {.vendor = VENDOR_INTEL, .index = 1};
    assert_int_equal(reset_prepare(&d, "/usr/bin:/bin", &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "not supported for intel devices"));
    d.vendor = VENDOR_APPLE;
    assert_int_equal(reset_prepare(&d, "/usr/bin:/bin", &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "apple"));
    d.vendor = VENDOR_OTHER;
    assert_int_equal(reset_prepare(&d, "/usr/bin:/bin", &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "GPU 1"));
}

static void test_nvidia_needs_nvidia_smi(void **state)
{
    (void)state;
    struct device d = nvidia_gpu();
    struct reset_method m;
    struct error e = {0};
    assert_int_equal(reset_prepare(&d, dir, &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "nvidia-smi"));
    assert_non_null(strstr(e.msg, "not on PATH"));
    assert_int_equal(reset_prepare(&d, NULL, &m, &e), -ENOTSUP);
    assert_int_equal(reset_prepare(&d, "", &m, &e), -ENOTSUP);
    /* Not executable, or not a file: not a program to run. */
    write_script("nvidia-smi", "exit 0\n", 0644);
    assert_int_equal(reset_prepare(&d, dir, &m, &e), -ENOTSUP);
    char sub[200];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/sub/nvidia-smi", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(reset_prepare(&d, sub, &m, &e), -ENOTSUP);
}

static void test_nvidia_found_on_path(void **state)
{
    (void)state;
    write_script("nvidia-smi", "exit 0\n", 0755);
    struct device d = nvidia_gpu();
    struct reset_method m;
    struct error e = {0};
    char path[400];
    snprintf(path, sizeof path, "/nonexistent:%s:/usr/bin", dir);
    assert_int_equal(reset_prepare(&d, path, &m, &e), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/nvidia-smi", dir);
    assert_string_equal(m.program, want);
    assert_string_equal(m.device_arg, "0000:18:00.0");
    char cmd[600];
    reset_command_text(&m, cmd, sizeof cmd);
    snprintf(path, sizeof path, "%s --gpu-reset -i 0000:18:00.0", want);
    assert_string_equal(cmd, path);
    /* Without a bus id the UUID names it; without both, nothing can. */
    d.pci_bus_id[0] = '\0';
    assert_int_equal(reset_prepare(&d, dir, &m, &e), 0);
    assert_string_equal(m.device_arg, d.uuid);
    d.uuid[0] = '\0';
    assert_int_equal(reset_prepare(&d, dir, &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "neither"));
}

/* An empty PATH entry means the current directory: never searched. */
static void test_empty_path_entry_is_not_the_current_directory(void **state)
{
    (void)state;
    write_script("nvidia-smi", "exit 0\n", 0755);
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    struct device d = nvidia_gpu();
    struct reset_method m;
    struct error e = {0};
    int rc = reset_prepare(&d, ":/nonexistent:", &m, &e);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, -ENOTSUP);
}

/* ---- running ---- */

static void prepare_script(const char *body, struct reset_method *m)
{
    write_script("nvidia-smi", body, 0755);
    struct device d = nvidia_gpu();
    struct error e = {0};
    assert_int_equal(reset_prepare(&d, dir, m, &e), 0);
}

static void test_run_passes_arguments_and_captures_output(void **state)
{
    (void)state;
    char body[512];
    snprintf(body, sizeof body,
             "printf '%%s\\n' \"$@\" > '%s/args'\n"
             "echo \"GPU 00000000:18:00.0 was successfully reset.\"\n"
             "echo 'All done.' >&2\n", dir);
    struct reset_method m;
    prepare_script(body, &m);
    struct device d = nvidia_gpu();
    char *output = NULL;
    struct error e = {0};
    assert_int_equal(reset_run(&d, &m, &output, &e), 0);
    assert_non_null(output);
    assert_string_equal(output, "GPU 00000000:18:00.0 was successfully reset.\nAll done.\n");
    free(output);
    char args[256];
    snprintf(args, sizeof args, "%s/args", dir);
    assert_string_equal(slurp(args), "--gpu-reset\n-i\n0000:18:00.0\n");
}

static void test_run_failure_keeps_output(void **state)
{
    (void)state;
    struct reset_method m;
    prepare_script("echo 'Unable to reset this GPU because it is being used by another "
                   "process'\nexit 3\n", &m);
    struct device d = nvidia_gpu();
    char *output = NULL;
    struct error e = {0};
    assert_int_equal(reset_run(&d, &m, &output, &e), -EIO);
    assert_non_null(strstr(e.msg, "resetting GPU 3 failed"));
    assert_non_null(strstr(e.msg, "--gpu-reset -i 0000:18:00.0 exited with status 3"));
    assert_non_null(output);
    assert_non_null(strstr(output, "being used by another process"));
    free(output);
}

static void test_run_silent_and_killed(void **state)
{
    (void)state;
    struct reset_method m;
    prepare_script("exit 0\n", &m);
    struct device d = nvidia_gpu();
    char *output = (char *)"not touched";
    struct error e = {0};
    assert_int_equal(reset_run(&d, &m, &output, &e), 0);
    assert_null(output);
    prepare_script("kill -9 $$\n", &m);
    assert_int_equal(reset_run(&d, &m, &output, &e), -EIO);
    assert_non_null(strstr(e.msg, "killed by signal 9"));
    assert_null(output);
    /* A program that vanished after prepare cannot start. */
    char path[256];
    snprintf(path, sizeof path, "%s/nvidia-smi", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(reset_run(&d, &m, &output, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "cannot run"));
}

static void test_privilege(void **state)
{
    (void)state;
    struct device d = nvidia_gpu();
    struct error e = {0};
    if (geteuid() == 0) {
        assert_int_equal(reset_check_privilege(&d, &e), 0);
    } else {
        assert_int_equal(reset_check_privilege(&d, &e), -EPERM);
        assert_non_null(strstr(e.msg, "needs root"));
    }
}

/* ---- AMD: debugfs amdgpu_gpu_recover under the sys root ---- */

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sys/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    if (text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    } else {
        assert_int_equal(mkdir(path, 0755), 0);
    }
}

/* An Intel iGPU (dri/0), an AMD card's primary minor (dri/1) and render
 * minor (dri/128, same name, no amdgpu files). */
static void debugfs_tree(void)
{
    put("kernel/debug/dri/0/name", "i915 dev=0000:00:02.0 unique=0000:00:02.0\n");
    put("kernel/debug/dri/128/name", "amdgpu dev=0000:04:00.0 unique=0000:04:00.0\n");
    put("kernel/debug/dri/1/name", "amdgpu dev=0000:04:00.0 unique=0000:04:00.0\n");
    put("kernel/debug/dri/1/amdgpu_gpu_recover", "gpu recover\n");
    setenv("GPUCTL_SYS_ROOT", dir, 1);
}

static struct device amd_gpu(const char *bus)
{
    struct device d = {.vendor = VENDOR_AMD, .index = 2};
    strcpy(d.pci_bus_id, bus);
    strcpy(d.name, "AMD Radeon RX 7900 XTX");
    return d;
}

static void test_amd_recover_through_debugfs(void **state)
{
    (void)state;
    debugfs_tree();
    struct reset_method m;
    struct error e = {0};
    struct device d = amd_gpu("0000:04:00.0");
    assert_int_equal(reset_prepare(&d, NULL, &m, &e), 0);    /* no program on PATH needed */
    char want[512], cmd[600];
    snprintf(want, sizeof want, "%s/sys/kernel/debug/dri/1/amdgpu_gpu_recover", dir);
    assert_string_equal(m.program, want);
    reset_command_text(&m, cmd, sizeof cmd);
    assert_non_null(strstr(cmd, want));
    char *output = NULL;
    assert_int_equal(reset_run(&d, &m, &output, &e), 0);
    assert_non_null(output);
    assert_string_equal(output, "gpu recover\n");
    free(output);
    unsetenv("GPUCTL_SYS_ROOT");
}

static void test_amd_recover_failures(void **state)
{
    (void)state;
    struct reset_method m;
    struct error e = {0};
    struct device other = amd_gpu("0000:0a:00.0");
    setenv("GPUCTL_SYS_ROOT", dir, 1);
    /* no debugfs at all */
    assert_int_equal(reset_prepare(&other, NULL, &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "mount -t debugfs"));
    assert_non_null(strstr(e.msg, "GPU 2"));
    /* debugfs, but no folder of this GPU */
    debugfs_tree();
    assert_int_equal(reset_prepare(&other, NULL, &m, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, "0000:0a:00.0"));
    struct device nobus = amd_gpu("");
    assert_int_equal(reset_prepare(&nobus, NULL, &m, &e), -ENOTSUP);
    /* the read itself fails: the error names the file */
    put("kernel/debug/dri/2/name", "amdgpu dev=0000:0a:00.0 unique=0000:0a:00.0\n");
    put("kernel/debug/dri/2/amdgpu_gpu_recover", NULL);       /* a folder: EISDIR */
    assert_int_equal(reset_prepare(&other, NULL, &m, &e), 0);
    char *output = (char *)1;
    assert_int_equal(reset_run(&other, &m, &output, &e), -EIO);
    assert_null(output);
    assert_non_null(strstr(e.msg, "amdgpu_gpu_recover"));
    unsetenv("GPUCTL_SYS_ROOT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_vendors_are_unsupported),
        cmocka_unit_test_setup_teardown(test_nvidia_needs_nvidia_smi, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_nvidia_found_on_path, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_empty_path_entry_is_not_the_current_directory,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_passes_arguments_and_captures_output, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_run_failure_keeps_output, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_silent_and_killed, make_dir, remove_dir),
        cmocka_unit_test(test_privilege),
        cmocka_unit_test_setup_teardown(test_amd_recover_through_debugfs, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_amd_recover_failures, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
