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
    uint64_t cminflt, cmajflt;   /* faults of the children it has waited for */
    uint64_t utime, stime;       /* clock ticks */
    uint64_t starttime;          /* clock ticks after boot */
    uint64_t vsize;              /* bytes */
    int64_t rss_pages;
    unsigned flags;              /* PF_* flags; PF_KTHREAD = 0x00200000 */
    int processor;               /* CPU last run on */
};

/* comm may contain spaces and ')' - the parser uses the last ')'.  A comm
 * longer than comm[] is cut.  Fields 1-24 are required; processor is -1 when
 * the line stops before field 39.  Returns 0, or -ERROR_PARSE for a line that
 * is truncated, malformed or holds a number out of range. */
int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out);

struct procfs_status {
    struct opt_i64 uid;          /* real uid */
    struct opt_u64 vm_rss_kib;
    struct opt_u64 vm_hwm_kib;
    int nspid_levels;            /* entries on the NSpid line; 0 if absent */
    struct opt_u64 threads;      /* the Threads line */
    char name[64];               /* the Name line as written (escaped); "" if absent */
    char state;                  /* first letter of the State line; 0 if absent */
    struct opt_i64 ppid;         /* the PPid line */
};
/* Absent keys stay unknown (kernel threads have no VmRSS).  Returns
 * -ERROR_PARSE when a key it reads holds a malformed value; the other
 * fields are still filled, so a caller may use them either way. */
int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out);

struct procfs_meminfo {
    struct opt_u64 mem_total_kib, mem_available_kib, swap_total_kib, swap_free_kib;
};
/* Same contract as procfs_parse_status. */
int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out);

/* The small host files.  All return 0 or -ERROR_PARSE; the decimal numbers
 * are parsed without the C locale's help, so setlocale cannot break them.
 * /proc/uptime: first number, seconds since boot. */
int procfs_parse_uptime(const char *buf, size_t len, double *uptime_s);
/* /proc/loadavg: the three averages. */
int procfs_parse_loadavg(const char *buf, size_t len, double load[3]);
/* /proc/stat: the "btime" line (epoch seconds at boot); -ENOENT without one. */
int procfs_parse_btime(const char *buf, size_t len, uint64_t *btime);

/* Container attribution from /proc/PID/cgroup contents (v1 and v2):
 * Docker, containerd, Kubernetes (pod uid + container id), Podman/libpod,
 * LXC, systemd scopes and services.  Never guessed from the command line.
 * Sets out->kind = CONTAINER_NONE when nothing is recognised.  The pod uid
 * is written with dashes; id is the full hex id, the LXC name or the
 * systemd unit.  Which line and which level wins is described in cgroup.c. */
void procfs_parse_cgroup(const char *buf, size_t len, struct container_info *out);

/* Turns the NUL-separated cmdline into a space-separated, NUL-terminated
 * malloc'd string (caller frees); trailing NULs dropped.  NULL on ENOMEM;
 * an empty cmdline (kernel thread, zombie) gives "". */
char *procfs_cmdline_join(const char *buf, size_t len);

/* Reader state: host facts needed to turn ticks into times, and a uid->name
 * cache so a table of 256 processes does not hit NSS 256 times. */
struct procfs;

/* Opens <GPUCTL_PROC_ROOT>/proc (the root is read once, here).  Reads no
 * file yet: the host facts come with the first procfs_read_host, or the
 * first procfs_read_process.  Fails only when the directory cannot be
 * opened.  Owned by
 * the caller: release with procfs_close (which accepts NULL).  Not for use
 * by two threads at once (the uid cache is unlocked). */
int procfs_open(struct procfs **out, struct error *e);
void procfs_close(struct procfs *p);

/* Host-wide facts (hostname, memory, swap, uptime, boot time, load).  Also
 * stored in *p: the process times of later procfs_read_process calls are
 * derived from the latest reading, so a monitor re-reads this each refresh.
 * The boot time is read once per struct procfs: /proc/stat, where it lives,
 * is regenerated whole on every read and is large on big machines.
 * A fact that cannot be read is unknown; fails (-errno, message naming the
 * directory) only when none of meminfo, uptime, stat and loadavg can be read,
 * which means a wrong root or no /proc.  out may be NULL. */
int procfs_read_host(struct procfs *p, struct host_info *out, struct error *e);
/* The facts of the latest reading, all unknown before the first; owned by p. */
const struct host_info *procfs_host(const struct procfs *p);

/* Fills *out for one pid.  A pid that does not exist gives -ESRCH with
 * out->exists = false; a field that cannot be read is left unknown (another
 * user's status or cgroup, a process that exits half-way through).  Other
 * failures: -EINVAL for pid <= 0, -errno when /proc/PID cannot be opened for
 * another reason, -ERROR_PARSE for a malformed stat; all name the pid.
 *
 * What it derives (ticks = sysconf(_SC_CLK_TCK), host = latest reading):
 *   start_time = btime + starttime / ticks;  elapsed = uptime - starttime /
 *   ticks (0 for a process younger than the reading);  cpu_pct = lifetime
 *   average, (utime + stime) / ticks / elapsed * 100, as ps shows;
 *   mem_pct = rss / MemTotal * 100;  cmdline is the arguments joined by spaces, or
 *   "[comm]" when empty (kernel threads, zombies) as ps shows them, NULL
 *   when unreadable;  other_pidns compares the ns/pid links of the process
 *   and of proc/self under the same root, else uses the depth of NSpid.
 * uid is the owner of /proc/PID (the effective uid, as ps shows) unless that
 * reads 0 - root, or a non-dumpable process the kernel shows as root - in
 * which case status gives the real uid.  status is read only then, or when
 * the ns/pid link cannot be read, because it costs as much as stat and
 * cgroup together; rss_bytes comes from VmRSS when it was read, else from
 * stat's page count (the kernel sums the same counters for both).
 * Cost on the 2-vCPU development VM, dentries warm: 24-29 us per pid (the
 * directory and stat alone 10), 11 more when status is read; the first read
 * of a pid nobody has looked at costs about twice that.
 * Caller frees with model_host_process_clear(). */
int procfs_read_process(struct procfs *p, pid_t pid, struct host_process *out,
                        struct error *e);

/* What procfs_read_process_fields reads beyond stat, which always gives the
 * name, state, parent, times, CPU and memory.  Each costs a file; the rough
 * price per pid on the development VM is in brackets. */
enum procfs_want {
    PROCFS_WANT_USER = 1u << 0,      /* uid, user  [fstat; status if root-owned] */
    PROCFS_WANT_CMDLINE = 1u << 1,   /* cmdline  [about 5 us] */
    PROCFS_WANT_CONTAINER = 1u << 2, /* container, from cgroup  [about 7 us] */
    PROCFS_WANT_PIDNS = 1u << 3,     /* other_pidns  [about 3 us] */
    PROCFS_WANT_ALL = 0xfu,
};

/* procfs_read_process restricted to the fields in want (enum procfs_want
 * flags); the others stay unknown (cmdline NULL, container none).  For a
 * caller that knows which columns it will show. */
int procfs_read_process_fields(struct procfs *p, pid_t pid, unsigned want,
                               struct host_process *out, struct error *e);

/* User name for a uid through the cache; writes the decimal uid when the
 * uid has no name. */
void procfs_user_name(struct procfs *p, uid_t uid, char *buf, size_t size);

/* Every numeric entry of /proc, ascending; caller frees *pids. */
int procfs_list_pids(pid_t **pids, size_t *count, struct error *e);

/* The logical CPUs pid's threads last ran on (field 39 of each
 * /proc/PID/task/TID/stat), ascending and distinct, into cpus (room for
 * cap; more are dropped) with their number in *count.  A thread that exits
 * while being read is skipped.  -ESRCH when pid does not exist; -errno,
 * naming the pid, when its task directory cannot be listed. */
int procfs_read_thread_cpus(pid_t pid, int *cpus, size_t cap, size_t *count,
                            struct error *e);

/* The aggregate "cpu" line of /proc/stat (the first line): ticks spent
 * busy (user, nice, system, irq, softirq, steal) and in total (busy plus
 * idle and iowait).  guest and guest_nice are already inside user and nice,
 * so they are not added again.  Older kernels stop after fewer fields; at
 * least user, nice, system and idle are required.  -ENOENT without a cpu
 * line, -ERROR_PARSE for a malformed one. */
struct procfs_cpu_times {
    uint64_t busy_ticks;
    uint64_t total_ticks;
};
int procfs_parse_cpu_times(const char *buf, size_t len, struct procfs_cpu_times *out);

/* Reads /proc/stat's cpu line into out->cpu_busy_ticks and cpu_total_ticks
 * (left unknown when it cannot be read).  For monitors, which want the host
 * CPU % every refresh; one-shot commands do not pay for /proc/stat. */
int procfs_read_cpu_times(struct procfs *p, struct host_info *out);

/* The environment of pid (/proc/PID/environ) as a malloc'd buffer of
 * NUL-separated VAR=value strings (caller frees), its length in *len.
 * -ESRCH when there is no such pid, -EACCES for another user's process,
 * other -errno; the message names the pid. */
int procfs_read_environ(pid_t pid, char **out, size_t *len, struct error *e);

#endif
