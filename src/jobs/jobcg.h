/* jobcg.h - a memory cgroup of the job's own, whose high-water mark is the
 * exact peak of the whole tree.
 *
 * gpuctl makes a child of its own cgroup, "gpuctl-run-PID": in the cgroup
 * v2 hierarchy when that offers the memory controller and the kernel has
 * memory.peak (5.19 and later), else in the v1 memory hierarchy, whose
 * memory.max_usage_in_bytes is the same mark.  The job's first process
 * moves itself in between fork and exec (jobcg_enter), so everything it
 * and its descendants charge from then on is counted.  Paths go through
 * GPUCTL_PROC_ROOT (/proc/self/cgroup) and GPUCTL_SYS_ROOT (/sys/fs/cgroup).
 */
#ifndef GPUCTL_JOBS_JOBCG_H
#define GPUCTL_JOBS_JOBCG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jobcg {
    int version;          /* 2 or 1; 0 when none was made */
    char path[512];
    int procs_fd;         /* cgroup.procs, open for writing */
    int peak_fd;          /* memory.peak or memory.max_usage_in_bytes */
    int stat_fd;          /* memory.stat */
};

/* Makes the job's cgroup, named after owner.  Returns 0, or -errno with a
 * sentence in why saying what is missing (no writable hierarchy with the
 * memory controller, a kernel without memory.peak, ...); cg is then
 * unusable but safe to pass to jobcg_remove. */
int jobcg_create(struct jobcg *cg, pid_t owner, char *why, size_t why_size);

/* Moves the calling process into the cgroup.  Async-signal-safe: it is
 * called between fork and exec.  Returns 0 or -errno. */
int jobcg_enter(const struct jobcg *cg);

/* The high-water mark so far, in bytes. */
int jobcg_read_peak(const struct jobcg *cg, uint64_t *bytes);

/* The anonymous and shmem (tmpfs) memory charged to the cgroup now, in
 * bytes, from memory.stat: the RAM the job needs, without the page cache
 * that the high-water mark also counts. */
int jobcg_read_anon(const struct jobcg *cg, uint64_t *bytes);

/* Sums memory.stat's anonymous and shmem lines: "anon" and "shmem" for
 * version 2, "total_rss" and "total_shmem" (the cgroup and its children)
 * for version 1.  Returns 0, -ENOENT when the anonymous line is missing,
 * -ERROR_PARSE when one of them has no decimal value. */
int jobcg_parse_anon(const char *buf, size_t len, int version, uint64_t *bytes);

/* Closes the files and removes the (empty) cgroup; accepts an unused cg. */
void jobcg_remove(struct jobcg *cg);

/* Finds this process's cgroup path in /proc/self/cgroup contents: the v2
 * line ("0::PATH") for version 2, the line naming the memory controller for
 * version 1.  Writes it to out; -ENOENT when there is no such line,
 * -ERROR_PARSE for a malformed file. */
int jobcg_parse_self(const char *buf, size_t len, int version, char *out, size_t size);

#endif
