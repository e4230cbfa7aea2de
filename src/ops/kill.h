/* kill.h - ending GPU processes safely: choosing them, refusing the ones
 * that must not be signalled, and signalling and waiting on all of them at
 * once.
 *
 * A kill set holds one proc_handle per process (ops/proc_ident.h), so every
 * signal goes through a pidfd bound to (pid, start time).  The order of use
 * is: kill_set_add for each target (or kill_select first, for a pattern),
 * kill_set_note_gpus with a snapshot, kill_set_expand for --tree/--group,
 * kill_set_check, then kill_set_run, unless something was refused.
 * Printing and exit codes are the CLI's; `reset --force` uses the same set.
 */
#ifndef GPUCTL_OPS_KILL_H
#define GPUCTL_OPS_KILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/filter.h"
#include "core/model.h"
#include "core/snapshot.h"
#include "ops/proc_ident.h"

enum kill_role {
    KILL_ROLE_TARGET,        /* named by the caller or matched by the pattern */
    KILL_ROLE_GROUP,         /* in a target's process group (--group) */
    KILL_ROLE_DESCENDANT,    /* below a target or group member (--tree) */
};

enum kill_outcome {
    KILL_OUTCOME_PENDING,        /* not acted on (yet): refused, dry run, listing */
    KILL_OUTCOME_TERMINATED,     /* ended without SIGKILL from gpuctl */
    KILL_OUTCOME_KILLED,         /* ended after SIGKILL */
    KILL_OUTCOME_STILL_RUNNING,  /* alive when the wait ran out */
    KILL_OUTCOME_FAILED,         /* a signal could not be sent: see failure */
};

struct kill_entry {
    struct proc_handle h;        /* open while the entry is in the set */
    struct host_process host;    /* name, user, command line, start time (owned) */
    enum kill_role role;
    pid_t target;                /* the target it was found from (its own pid for one) */
    int depth;                   /* ancestors in the set; set by kill_set_order */
    int *gpus;                   /* GPU indices it is using (owned), ascending */
    size_t gpu_count;
    bool gpu_seen;               /* kill_set_note_gpus found it on a GPU */
    struct error refusal;        /* why it may not be signalled; code 0 when it may */
    bool refused_off_gpu;        /* the refusal is only that it uses no GPU (a front
                                  * end's force flag would lift it) */
    enum kill_outcome outcome;
    int signals[2];              /* sent, in order */
    size_t signal_count;
    double ended_after_s;        /* from the first signal to the exit; < 0 when unknown */
    struct error failure;        /* why the outcome is KILL_OUTCOME_FAILED, or a note
                                  * (code 0) such as "had exited before the signal" */
};

struct kill_set {
    struct kill_entry *items;
    size_t count, cap;
    struct procfs *procfs;
};

/* Opens the process reader the entries' host facts come from.  Free with
 * kill_set_free, which accepts NULL and a set that failed to open. */
int kill_set_init(struct kill_set *s, struct error *e);
void kill_set_free(struct kill_set *s);

/* Opens a handle on pid (see proc_handle_open for expected_start and the
 * errors: -ESRCH, -ESTALE, -EINVAL) and reads its user and command line.
 * A pid already in the set is not added twice (returns 0). */
int kill_set_add(struct kill_set *s, pid_t pid, uint64_t expected_start, enum kill_role role,
                 pid_t target, struct error *e);

struct kill_entry *kill_set_find(const struct kill_set *s, pid_t pid);

/* A process the pattern chose: its pid and the start time the snapshot saw
 * (PROC_IDENT_ANY_START when the snapshot has no host record of it). */
struct kill_pick {
    pid_t pid;
    uint64_t start_ticks;
};

/* The processes snap shows on a GPU that f matches (by name and command
 * line, so snap needs host records with command lines), one per pid, in pid
 * order.  Processes /proc cannot show are never matched.  Caller frees
 * *out; returns 0 or -ENOMEM. */
int kill_select(const struct snapshot *snap, const struct filter *f, struct kill_pick **out,
                size_t *count);

/* Adds, as targets, the GPU processes of snap whose name or command line
 * pattern (PCRE2) matches; *matched receives how many snap showed (some may
 * have exited since: those are left out).  -EINVAL for a bad pattern,
 * -ESRCH when none is left, with a message. */
int kill_set_add_matches(struct kill_set *s, const struct snapshot *snap, const char *pattern,
                         size_t *matched, struct error *e);

/* Records the GPUs snap shows each entry on.  A GPU process whose host
 * record in snap has another start time than the entry was another process
 * with the same pid, and does not count.  Returns 0 or -ENOMEM. */
int kill_set_note_gpus(struct kill_set *s, const struct snapshot *snap);

/* Adds, to the targets already in the set: with group, every process in a
 * target's process group; with tree, every descendant of the targets (and
 * of the group members), found from the parent links in /proc now and
 * each opened with the start time read there.  A child is only taken as
 * one when it started no earlier than its parent.  Processes that exit
 * during the scan are left out.  Returns 0 or -errno with a message. */
int kill_set_expand(struct kill_set *s, bool tree, bool group, struct error *e);

/* The safety checks, in order, on every entry still pending: it is on a
 * GPU (targets only, and only with require_gpu; after kill_set_note_gpus);
 * it is not pid 1, gpuctl itself, its parent or a kernel thread (-EINVAL);
 * the caller may signal it (-EPERM, naming the owner).  An entry that fails
 * keeps the first failure in its refusal.  Returns how many were refused. */
size_t kill_set_check(struct kill_set *s, bool require_gpu);

/* Sets each entry's depth and writes the entry indices children first:
 * deepest first, then by pid.  order has room for s->count. */
void kill_set_order(struct kill_set *s, size_t *order);

struct kill_run_options {
    int signal;          /* sent first, e.g. SIGTERM */
    long timeout_ms;     /* how long to wait for the processes to end */
    bool force;          /* SIGKILL whatever is still running after the wait */
};

/* Signals every entry that was not refused, children first, then waits
 * for all of them at once with one poll over their pidfds; with force the
 * survivors get SIGKILL, children first, and another wait.  A wait after a
 * SIGKILL lasts at least one second, since its delivery is not immediate.
 * Sets each entry's outcome.  Returns how many did not end (still running
 * or failed), or -errno when waiting itself failed. */
int kill_set_run(struct kill_set *s, const struct kill_run_options *o, struct error *e);

/* "terminated", "killed", "still_running", "failed", "pending". */
const char *kill_outcome_name(enum kill_outcome o);
/* "target", "group", "descendant". */
const char *kill_role_name(enum kill_role r);

/* Signal number for a name ("TERM", "SIGTERM", "term") or a number 1-64;
 * -EINVAL for anything else (0 included). */
int kill_signal_parse(const char *text, int *out);
/* "SIGTERM"; "SIG<n>" for a signal without a name. */
void kill_signal_name(int sig, char *buf, size_t size);

#endif
