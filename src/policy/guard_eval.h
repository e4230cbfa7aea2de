/* guard_eval.h - evaluating guard.toml's policies against one snapshot.
 *
 * Pure: takes a snapshot, a configuration and the local time, returns the
 * violations; it neither signals nor stores anything (guard_daemon.c
 * does).  Every violation names one process (pid and start time), the
 * policy ("user:alice", "group:ml", "gpu:0", "time:nights",
 * "default") and the rule it broke, with the figures.  Where a total is
 * over its limit, the processes blamed are the fewest whose removal brings
 * it back within the limit; among equally few, lowest user priority first,
 * then the newest.  A utilisation total is shown as at most 100 % per GPU.
 */
#ifndef GPUCTL_POLICY_GUARD_EVAL_H
#define GPUCTL_POLICY_GUARD_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/snapshot.h"
#include "policy/guard_config.h"

struct guard_violation {
    char policy[96];             /* "user:alice", "group:ml", "gpu:0", "time:NAME", "default" */
    char rule[32];               /* memory_limit, utilization_limit, duration_limit,
                                  * process_limit, gpu_not_allowed, gpu_blocked,
                                  * user_not_allowed, user_blocked, reserved_memory,
                                  * maintenance_window */
    pid_t pid;
    uint64_t start_ticks;        /* /proc/PID/stat field 22 */
    struct opt_f64 start_time;   /* epoch seconds */
    char user[64];
    char name[64];
    int gpu;                     /* the GPU concerned, -1 for several */
    char detail[192];
};

struct guard_violations {
    struct guard_violation *items;
    size_t count;
};

/* The local time policies are judged at. */
struct guard_clock {
    int wday;                    /* 0 Sunday .. 6 Saturday */
    int minute;                  /* after local midnight */
};

/* Evaluates every policy of c against snap (which needs host processes
 * with users).  Fills *out (free with guard_violations_free); returns 0 or
 * -ENOMEM. */
int guard_evaluate(const struct guard_config *c, const struct snapshot *snap,
                   const struct guard_clock *now, struct guard_violations *out, struct error *e);
void guard_violations_free(struct guard_violations *v);

#endif
