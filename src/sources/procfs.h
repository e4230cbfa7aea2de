/* procfs.h - host processes, users, containers and host memory from /proc.
 *
 * Reads only what it is asked for: one-shot commands read the pids that
 * matter, never the whole process table.  All paths go through rootfs.
 * Parsers take a buffer and a length and never assume NUL termination.
 */
#ifndef GPUCTL_SOURCES_PROCFS_H
#define GPUCTL_SOURCES_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"

/* The fields of /proc/PID/stat that gpuctl uses. */
struct procfs_stat {
    pid_t pid;
    char comm[64];
    char state;
    pid_t ppid;
    pid_t pgrp;
    pid_t session;
    uint64_t utime, stime;       /* clock ticks */
    uint64_t starttime;          /* clock ticks after boot */
    uint64_t vsize;              /* bytes */
    int64_t rss_pages;
    unsigned flags;              /* PF_* flags; PF_KTHREAD = 0x00200000 */
    int processor;               /* CPU last run on */
};

/* comm may contain spaces and ')' - the parser uses the last ')'. */
int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out);

struct procfs_status {
    struct opt_i64 uid;          /* real uid */
    struct opt_u64 vm_rss_kib;
    struct opt_u64 vm_hwm_kib;
    int nspid_levels;            /* entries on the NSpid line; 0 if absent */
};
int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out);

struct procfs_meminfo {
    struct opt_u64 mem_total_kib, mem_available_kib, swap_total_kib, swap_free_kib;
};
int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out);

/* Container attribution from /proc/PID/cgroup contents (v1 and v2):
 * Docker, containerd, Kubernetes (pod uid + container id), Podman/libpod,
 * LXC, systemd scopes and services.  Never guessed from the command line.
 * Sets out->kind = CONTAINER_NONE when nothing is recognised. */
void procfs_parse_cgroup(const char *buf, size_t len, struct container_info *out);

/* Turns the NUL-separated cmdline into a space-separated, NUL-terminated
 * malloc'd string (caller frees); trailing NULs dropped.  NULL on ENOMEM;
 * an empty cmdline (kernel thread, zombie) gives "". */
char *procfs_cmdline_join(const char *buf, size_t len);

/* Reader state: host facts needed to turn ticks into times, and a uid->name
 * cache so a table of 256 processes does not hit NSS 256 times. */
struct procfs;

int procfs_open(struct procfs **out, struct error *e);
void procfs_close(struct procfs *p);

/* Host-wide facts (hostname, memory, swap, uptime, boot time, load). */
int procfs_read_host(struct procfs *p, struct host_info *out, struct error *e);
const struct host_info *procfs_host(const struct procfs *p);

/* Fills *out for one pid.  A pid that does not exist gives -ESRCH with
 * out->exists = false; a field that cannot be read is left unknown.
 * Caller frees with model_host_process_clear(). */
int procfs_read_process(struct procfs *p, pid_t pid, struct host_process *out,
                        struct error *e);

/* User name for a uid through the cache; writes the decimal uid when the
 * uid has no name. */
void procfs_user_name(struct procfs *p, uid_t uid, char *buf, size_t size);

/* Every numeric entry of /proc; caller frees *pids. */
int procfs_list_pids(pid_t **pids, size_t *count, struct error *e);

#endif
