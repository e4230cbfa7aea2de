/* rootfs.c - path building under GPUCTL_PROC_ROOT / GPUCTL_SYS_ROOT and
 * small-file reads.
 *
 * The environment is read on every call rather than cached: getenv is a
 * short scan, and no cache means no global state and no ordering rules.
 */
#include "sources/rootfs.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tree_root(enum rootfs_tree tree)
{
    const char *root = getenv(tree == ROOTFS_PROC ? "GPUCTL_PROC_ROOT" : "GPUCTL_SYS_ROOT");
    if (!root || !*root || strcmp(root, "/") == 0)
        return "";
    return root;
}

int rootfs_path(char *buf, size_t size, enum rootfs_tree tree, const char *fmt, ...)
{
    const char *root = tree_root(tree);
    int n = snprintf(buf, size, "%s/%s/", root, tree == ROOTFS_PROC ? "proc" : "sys");
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)m >= size - (size_t)n)
        return -ENAMETOOLONG;
    return 0;
}

int rootfs_read_file(const char *path, char *buf, size_t size, size_t *len)
{
    *len = 0;
    if (size == 0)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t total = 0;
    while (total < size - 1) {
        ssize_t r = read(fd, buf + total, size - 1 - total);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int err = -errno;
            close(fd);
            return err;
        }
        if (r == 0)
            break;
        total += (size_t)r;
    }
    close(fd);
    buf[total] = '\0';
    *len = total;
    return 0;
}
