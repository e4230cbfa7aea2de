/* proc_ident.h - a process is (pid, start time), held through a pidfd
 * (ARCHITECTURE.md decision 5).
 *
 * Anything that signals a process opens a proc_handle first.  Opening binds
 * a pidfd to the process whose /proc/PID/stat was read: the pidfd is opened,
 * stat is read (through GPUCTL_PROC_ROOT, like every /proc read), and the
 * pidfd is checked to be still alive afterwards.  A pidfd always names one
 * process; a live pidfd after the read means the pid was not reused in
 * between, so the start time read is that process's own.  When the caller
 * knows the start time it selected the process by, a different one means
 * the pid now belongs to another process, and the open is refused.  From
 * then on signals go through the pidfd, so a reused pid is never hit.
 */
#ifndef GPUCTL_OPS_PROC_IDENT_H
#define GPUCTL_OPS_PROC_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "sources/procfs.h"

/* Kernel threads carry this in the flags field of /proc/PID/stat. */
#define PROC_IDENT_PF_KTHREAD 0x00200000u

/* expected_start for "whatever the process with this pid is now". */
#define PROC_IDENT_ANY_START UINT64_MAX

struct proc_ident {
    pid_t pid;
    uint64_t start_ticks;        /* field 22 of /proc/PID/stat */
};

struct proc_handle {
    struct proc_ident id;
    int pidfd;                   /* -1 when closed */
    struct procfs_stat stat;     /* as read when the handle was opened */
};

/* Reads and parses <proc root>/proc/PID/stat.  -ESRCH when there is no such
 * pid, -ERROR_PARSE for a malformed file, -errno otherwise; all name the
 * pid. */
int proc_ident_read_stat(pid_t pid, struct procfs_stat *out, struct error *e);

/* Opens a handle on pid.  expected_start is the start time the caller
 * selected the process by, or PROC_IDENT_ANY_START.  Returns 0; -ESRCH when
 * there is no such process or it has already exited (a zombie counts as
 * exited); -ESTALE when the pid now belongs to a process with another start
 * time; -EINVAL for pid <= 0 or a thread id that is not a process; other
 * -errno.  The message names the pid.  Close with proc_handle_close. */
int proc_handle_open(struct proc_handle *h, pid_t pid, uint64_t expected_start,
                     struct error *e);
/* Closes the pidfd; safe on a closed handle. */
void proc_handle_close(struct proc_handle *h);

bool proc_handle_is_kthread(const struct proc_handle *h);

/* Sends sig (0: only checks permission) through the pidfd.  Returns 0,
 * -ESRCH when the process has exited, -EPERM when the caller may not signal
 * it, other -errno; the message names the pid and its name. */
int proc_handle_signal(const struct proc_handle *h, int sig, struct error *e);

/* 1 when the process has exited, 0 when it is still running, -errno when
 * the pidfd cannot be polled. */
int proc_handle_exited(const struct proc_handle *h);

/* CLOCK_MONOTONIC in seconds, the clock of proc_handles_wait's ended_at. */
double proc_ident_clock(void);

/* Waits with one poll() over every pidfd until all the handles whose
 * exited[i] is false have exited, or timeout_ms has passed (0: only looks).
 * Sets exited[i] for each process seen to exit and, when ended_at is not
 * NULL, ended_at[i] to proc_ident_clock() at that moment.  Returns how many
 * are still running, or -errno when poll fails (a signal only restarts it). */
int proc_handles_wait(const struct proc_handle *const *hs, size_t n, bool *exited,
                      long timeout_ms, double *ended_at);

#endif
