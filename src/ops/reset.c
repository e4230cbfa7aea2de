/* reset.c - resetting GPUs: the vendor dispatch, finding nvidia-smi, and
 * running it with its output captured.
 *
 * Each vendor is one row of reset_vendors: how to prepare and run a reset,
 * or why it cannot be done.  NVIDIA: nvidia-smi.  AMD: reading amdgpu's
 * debugfs file amdgpu_gpu_recover, found under <sys root>/kernel/debug/dri/N
 * by the bus id in that folder's `name` file (so the DRM minor need not be
 * known).  Intel and the rest answer -ENOTSUP.  Whether a reset is wise
 * (processes still on the GPU) is the caller's question.
 */
#include "ops/reset.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/str.h"
#include "sources/rootfs.h"

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

/* debugfs dri/N/name reads "amdgpu dev=0000:03:00.0 unique=0000:03:00.0". */
static bool names_bus(const char *name_file, const char *bus)
{
    char buf[256];
    size_t len;
    if (rootfs_read_file(name_file, buf, sizeof buf, &len) < 0)
        return false;
    size_t n = strlen(bus);
    for (char *p = buf; (p = strstr(p, bus)); p += n) {
        bool starts = p >= buf + 4 && (memcmp(p - 4, "dev=", 4) == 0 ||
                                      (p >= buf + 7 && memcmp(p - 7, "unique=", 7) == 0));
        bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
        if (starts && ends)
            return true;
    }
    return false;
}

/* The recovery file of the GPU with this bus id into path: the dri/N
 * folder whose name file gives the bus id and which holds the file (render
 * minors have a folder with the same name but not amdgpu's files).
 * Returns -errno of the listing (-ENODEV when there is no such folder), or
 * -ENOENT when no folder matches. */
static int find_recover_file(const char *root, const char *bus, char *path, size_t size)
{
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT ? -ENODEV : -errno;
    struct dirent *de;
    int rc = -ENOENT;
    while (rc == -ENOENT && (de = readdir(d))) {
        char name[PATH_MAX];
        if (de->d_name[0] == '.')
            continue;
        int n = snprintf(name, sizeof name, "%s/%s/name", root, de->d_name);
        if (n < 0 || (size_t)n >= sizeof name || !names_bus(name, bus))
            continue;
        n = snprintf(path, size, "%s/%s/amdgpu_gpu_recover", root, de->d_name);
        if (n > 0 && (size_t)n < size && access(path, F_OK) == 0)
            rc = 0;
    }
    closedir(d);
    return rc;
}

static int prepare_amd(const struct device *d, const char *path_env, struct reset_method *m,
                       struct error *e)
{
    (void)path_env;
    char root[PATH_MAX];
    if (!d->pci_bus_id[0])
        return error_set(e, -ENOTSUP, "cannot reset GPU %d: amdgpu recovery is found by PCI bus "
                         "id, and this GPU has none", d->index);
    if (rootfs_path(root, sizeof root, ROOTFS_SYS, "kernel/debug/dri") < 0)
        return error_set(e, -ENAMETOOLONG, "cannot reset GPU %d: the sys root path is too long",
                         d->index);
    int rc = find_recover_file(root, d->pci_bus_id, m->program, sizeof m->program);
    if (rc == -EACCES || rc == -EPERM)
        return error_set(e, -EPERM, "resetting GPU %d needs root: amdgpu recovery is in debugfs "
                         "(%s), which only root can read", d->index, root);
    if (rc == -ENOENT)
        return error_set(e, -ENOTSUP, "cannot reset GPU %d: no folder under %s names %s and "
                         "holds amdgpu_gpu_recover (is amdgpu its driver?)", d->index, root,
                         d->pci_bus_id);
    if (rc < 0)
        return error_set(e, -ENOTSUP, "cannot reset GPU %d: amdgpu recovery needs debugfs, and "
                         "%s cannot be read (%s); mount it with `mount -t debugfs none "
                         "/sys/kernel/debug`", d->index, root,
                         rc == -ENODEV ? "it does not exist" : strerror(-rc));
    str_copy(m->device_arg, sizeof m->device_arg, d->pci_bus_id);
    return 0;
}

static int prepare_unsupported(const struct device *d, const char *path_env,
                               struct reset_method *m, struct error *e)
{
    (void)path_env;
    (void)m;
    return error_set(e, -ENOTSUP, "reset is not supported for %s devices yet (GPU %d)",
                     model_vendor_name(d->vendor), d->index);
}

typedef int (*reset_prepare_fn)(const struct device *, const char *, struct reset_method *,
                                struct error *);

static const struct {
    enum vendor vendor;
    reset_prepare_fn prepare;
} reset_vendors[] = {
    {VENDOR_NVIDIA, prepare_nvidia},
    {VENDOR_AMD, prepare_amd},
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
    if (m->vendor == VENDOR_AMD)
        snprintf(buf, size, "cat %s", m->program);
    else
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

/* amdgpu recovers the GPU while its debugfs file is read; the text read
 * ("gpu recover") is the output. */
static int run_amd(const struct device *d, const struct reset_method *m, char **output,
                   struct error *e)
{
    int fd = open(m->program, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot open %s to reset GPU %d: %s", m->program, d->index,
                         strerror(errno));
    char buf[4096];
    size_t len = 0;
    int err = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            err = errno;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *output = len ? strdup(buf) : NULL;
    if (err)
        return error_set(e, -EIO, "resetting GPU %d failed: reading %s: %s", d->index,
                         m->program, strerror(err));
    return 0;
}

int reset_run(const struct device *d, const struct reset_method *m, char **output,
              struct error *e)
{
    if (m->vendor == VENDOR_AMD)
        return run_amd(d, m, output, e);
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
