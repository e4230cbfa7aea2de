/* exitwatch.h - the kernel's record of every process exit (taskstats over
 * generic netlink), which carries the exiting process's RSS high-water
 * mark taken before its memory is released.
 *
 * This is what makes a per-process peak exact for a process that gpuctl
 * does not reap itself (a worker its parent waits for) and for one that
 * lived and died between two samples: sampling sees VmHWM only while the
 * process lives, wait4 only for gpuctl's own children.  Registering needs
 * CAP_NET_ADMIN and the initial network namespace; where either is
 * missing, exitwatch_open fails with the reason and run.c does without.
 */
#ifndef GPUCTL_JOBS_EXITWATCH_H
#define GPUCTL_JOBS_EXITWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One exit, as the kernel reported it. */
struct exit_record {
    pid_t pid;                 /* the thread that exited */
    pid_t tgid;                /* its process; 0 when the kernel does not say (before 5.19) */
    pid_t ppid;                /* the parent process at exit */
    char comm[32];
    uint64_t hiwater_rss_kib;  /* the process's RSS high-water mark */
    uint64_t btime;            /* start, epoch seconds */
};

struct exitwatch;

/* Opens the socket and registers for the exits on every CPU.  Returns 0,
 * or -errno with a sentence in why.  Close with exitwatch_close (NULL
 * accepted). */
int exitwatch_open(struct exitwatch **out, char *why, size_t why_size);
void exitwatch_close(struct exitwatch *w);

/* The descriptor to poll for input. */
int exitwatch_fd(const struct exitwatch *w);

typedef void (*exitwatch_fn)(const struct exit_record *rec, void *arg);

/* Reads every record waiting and calls fn for each.  Returns 0, -ENOBUFS
 * when the kernel dropped records (the socket overflowed), other -errno. */
int exitwatch_drain(struct exitwatch *w, exitwatch_fn fn, void *arg);

/* Parses one datagram (netlink messages from the taskstats family) and
 * calls fn for each per-task exit record in it.  Returns the number of
 * records, or -ERROR_PARSE for a malformed message. */
int exitwatch_parse(const void *buf, size_t len, exitwatch_fn fn, void *arg);

#endif
