/* rootfs.h - every read of /proc and /sys goes through one root prefix
 * (ARCHITECTURE.md decision 6), so tests run the real parsers on fixture
 * trees.  GPUCTL_PROC_ROOT and GPUCTL_SYS_ROOT name a directory under which
 * "proc/..." and "sys/..." are found; both default to "/".
 */
#ifndef GPUCTL_SOURCES_ROOTFS_H
#define GPUCTL_SOURCES_ROOTFS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

enum rootfs_tree { ROOTFS_PROC, ROOTFS_SYS };

/* Writes "<root>/proc/<rel>" (or sys) into buf; rel is a printf format
 * relative to the tree, e.g. rootfs_path(buf, n, ROOTFS_PROC, "%d/stat", pid).
 * Returns -ENAMETOOLONG when it does not fit. */
int rootfs_path(char *buf, size_t size, enum rootfs_tree tree, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads at most size-1 bytes of the file into buf, NUL-terminates, and
 * stores the byte count in *len.  Returns -errno on failure (no message:
 * a missing file is usually an unknown field, not an error). */
int rootfs_read_file(const char *path, char *buf, size_t size, size_t *len);

#endif
