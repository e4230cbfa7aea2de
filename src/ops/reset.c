/* reset.c - resetting GPUs: the vendor dispatch, finding nvidia-smi, and
 * running it with its output captured.
 *
 * Each vendor is one row of reset_vendors: how to prepare and run a reset,
 * or why it cannot be done.  AMD GPU recovery (amdgpu's debugfs file) needs
 * the GPU's DRM minor, which the device model does not hold yet, so AMD,
 * Intel and the rest answer -ENOTSUP rather than guess.  Whether a reset is
 * wise (processes still on the GPU) is the caller's question.
 */
#include "ops/reset.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/str.h"

extern char **environ;

/* Output beyond this is dropped (nvidia-smi writes a line or two). */
#define RESET_OUTPUT_MAX (64 * 1024)

/* ---- finding a program on PATH --------------------------------------------------- */

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool find_on_path(const char *name, const char *path_env, char *out, size_t size)
{
    const char *dir = path_env;
    while (dir && *dir) {
        const char *colon = strchr(dir, ':');
        size_t len = colon ? (size_t)(colon - dir) : strlen(dir);
        /* An empty entry means the current directory: never run from there. */
        if (len > 0) {
            int n = snprintf(out, size, "%.*s/%s", (int)len, dir, name);
            if (n > 0 && (size_t)n < size && is_executable_file(out))
                return true;
        }
        dir = colon ? colon + 1 : NULL;
    }
    return false;
}

/* ---- vendors ---------------------------------------------------------------------- */

static int prepare_nvidia(const struct device *d, const char *path_env, struct reset_method *m,
                          struct error *e)
{
    if (!find_on_path("nvidia-smi", path_env, m->program, sizeof m->program))
        return error_set(e, -ENOTSUP, "cannot reset GPU %d: NVML has no reset call and "
                         "nvidia-smi, which gpuctl runs to reset NVIDIA GPUs, is not on PATH; "
                         "install the NVIDIA driver utilities (nvidia-utils)", d->index);
    const char *id = d->pci_bus_id[0] ? d->pci_bus_id : d->uuid;
    if (!id[0])
        return error_set(e, -ENOTSUP, "cannot reset GPU %d: the driver gives neither its PCI bus "
                         "id nor its UUID, so nvidia-smi cannot be told which GPU", d->index);
    str_copy(m->device_arg, sizeof m->device_arg, id);
    return 0;
}

static int prepare_unsupported(const struct device *d, const char *path_env,
                               struct reset_method *m, struct error *e)
{
    (void)path_env;
    (void)m;
    const char *vendor = model_vendor_name(d->vendor);
    if (d->vendor == VENDOR_AMD)
        return error_set(e, -ENOTSUP, "reset is not supported for amd devices yet: amdgpu "
                         "recovery (debugfs amdgpu_gpu_recover) needs the GPU's DRM device, "
                         "which gpuctl does not read yet (GPU %d)", d->index);
    return error_set(e, -ENOTSUP, "reset is not supported for %s devices yet (GPU %d)", vendor,
                     d->index);
}

typedef int (*reset_prepare_fn)(const struct device *, const char *, struct reset_method *,
                                struct error *);

static const struct {
    enum vendor vendor;
    reset_prepare_fn prepare;
} reset_vendors[] = {
    {VENDOR_NVIDIA, prepare_nvidia},
};

int reset_prepare(const struct device *d, const char *path_env, struct reset_method *out,
                  struct error *e)
{
    memset(out, 0, sizeof *out);
    out->vendor = d->vendor;
    for (size_t i = 0; i < sizeof reset_vendors / sizeof reset_vendors[0]; i++)
        if (reset_vendors[i].vendor == d->vendor)
            return reset_vendors[i].prepare(d, path_env, out, e);
    return prepare_unsupported(d, path_env, out, e);
}

int reset_check_privilege(const struct device *d, struct error *e)
{
    if (geteuid() == 0)
        return 0;
    return error_set(e, -EPERM, "resetting GPU %d needs root (the reset affects every process "
                     "on the GPU); run gpuctl reset as root", d->index);
}

void reset_command_text(const struct reset_method *m, char *buf, size_t size)
{
    snprintf(buf, size, "%s --gpu-reset -i %s", m->program, m->device_arg);
}

/* ---- running it ------------------------------------------------------------------------- */

static int spawn_with_pipe(const struct reset_method *m, pid_t *child, int *read_fd)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) {
        /* stdin from /dev/null: nvidia-smi must never wait for an answer. */
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (rc == 0)
            rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        if (rc == 0)
            rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        char *argv[] = {(char *)m->program, "--gpu-reset", "-i", (char *)m->device_arg, NULL};
        if (rc == 0)
            rc = posix_spawn(child, m->program, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
    }
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return -rc;
    }
    *read_fd = pipefd[0];
    return 0;
}

/* Reads to the end (keeping at most RESET_OUTPUT_MAX bytes), so the child
 * never blocks on a full pipe. */
static char *read_output(int fd)
{
    char *buf = malloc(RESET_OUTPUT_MAX + 1), chunk[4096];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (take > RESET_OUTPUT_MAX - len)
            take = RESET_OUTPUT_MAX - len;
        if (buf)
            memcpy(buf + len, chunk, take);
        len += take;
    }
    if (buf && len == 0) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int wait_child(pid_t child, int *status)
{
    while (waitpid(child, status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int reset_run(const struct device *d, const struct reset_method *m, char **output,
              struct error *e)
{
    char cmd[PATH_MAX + 128];
    reset_command_text(m, cmd, sizeof cmd);
    *output = NULL;
    pid_t child = -1;
    int fd = -1, status = 0;
    int rc = spawn_with_pipe(m, &child, &fd);
    if (rc < 0)
        return error_set(e, rc, "cannot run %s to reset GPU %d: %s", cmd, d->index,
                         strerror(-rc));
    *output = read_output(fd);
    close(fd);
    if ((rc = wait_child(child, &status)) < 0)
        return error_set(e, rc, "cannot wait for %s (GPU %d): %s", cmd, d->index, strerror(-rc));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        return error_set(e, -EIO, "resetting GPU %d failed: %s was killed by signal %d", d->index,
                         cmd, WTERMSIG(status));
    return error_set(e, -EIO, "resetting GPU %d failed: %s exited with status %d", d->index, cmd,
                     WEXITSTATUS(status));
}
