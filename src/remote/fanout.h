/* fanout.h - running one ssh per host, at most N at once, each with its
 * own deadline, and collecting what each printed.
 *
 * A job is an argv (run with posix_spawnp, never through a shell) and what
 * came of it.  One poll loop over every running job's stdout, stderr and
 * pidfd drives them all, so a slow or silent host holds up nobody: when
 * its deadline passes it is killed (SIGTERM, then SIGKILL a second later)
 * and marked timed out, and the next job starts in its place.
 *
 * Threads: one call at a time per job array; no global state.
 */
#ifndef GPUCTL_REMOTE_FANOUT_H
#define GPUCTL_REMOTE_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

struct remote_job {
    char **argv;              /* in: NULL-terminated; argv[0] found on PATH */
    char *out, *err;          /* out: stdout and stderr, NUL-terminated (owned; free with
                                 remote_job_clear) */
    size_t out_len, err_len;
    int wait_status;          /* out: as waitpid gives it */
    bool timed_out;           /* out: killed at the deadline */
    bool truncated;           /* out: more than max_output was printed; killed */
    int spawn_error;          /* out: errno when ssh could not be started, else 0 */
    double seconds;           /* out: wall time from start to end */
};

struct remote_fanout_options {
    size_t parallel;          /* most jobs running at once; 0: 32 */
    double deadline_secs;     /* per job, from its start; 0: none */
    size_t max_output;        /* bytes of stdout kept per job; 0: 64 MiB */
    char *const *envp;        /* the jobs' environment; NULL: this process's */
};

/* Runs every job to its end.  Returns 0 when each job was run (whatever
 * came of it: see the job), or -ENOMEM / -errno of a pipe or poll failure
 * with e filled, after ending every job it started. */
int remote_fanout_run(struct remote_job *jobs, size_t n, const struct remote_fanout_options *o,
                      struct error *e);

/* Starts argv (argv[0] found on PATH) with stdin from /dev/null and its
 * stdout and stderr on pipes whose read ends (close-on-exec) go to
 * *out_fd and *err_fd.  envp NULL: this process's.  0 or -errno. */
int remote_spawn(char *const *argv, char *const *envp, pid_t *pid, int *out_fd, int *err_fd);

/* Frees what remote_fanout_run filled in (not argv).  Accepts NULL. */
void remote_job_clear(struct remote_job *j);

#endif
