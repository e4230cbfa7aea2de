/* guard_daemon.h - `gpuctl guard run`: the enforcement loop.
 *
 * Each interval: re-read guard.toml when it changed (a bad new file is
 * reported and the previous policies stay in force), take a snapshot,
 * evaluate every policy (guard_eval.h) and act by mode.  Dry run only
 * logs and records what would happen ("would warn", "would terminate").
 * Soft warns once per process (log, syslog, webhook, the user's
 * terminals) and, when the violation outlasts the grace period, escalates
 * to hard.  Hard ends the process through ops/kill (pidfd bound to its
 * start time, SIGTERM, then SIGKILL).  Every violation and action goes to
 * the audit database with what was done and whether it worked.
 *
 * Messages go through the caller's log callback: only the CLI prints.
 */
#ifndef GPUCTL_POLICY_GUARD_DAEMON_H
#define GPUCTL_POLICY_GUARD_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "core/error.h"
#include "policy/guard_eval.h"
#include "policy/policy_store.h"

enum guard_log_level { GUARD_LOG_ERROR, GUARD_LOG_WARN, GUARD_LOG_INFO, GUARD_LOG_DEBUG };

struct guard_daemon_options {
    const char *config_path;
    struct policy_store *store;          /* where violations and actions go; may be NULL */
    bool once;                           /* one evaluation, then return */
    const volatile sig_atomic_t *stop;   /* set by a signal handler to end the loop */
    const struct guard_clock *fixed_clock;   /* NULL: the local time of each round */
    double interval_override_s;          /* > 0: instead of check_interval_secs */
    long kill_timeout_ms;                /* SIGTERM to SIGKILL; 0: 5000 */
    void (*log)(void *arg, enum guard_log_level level, const char *msg);
    void *log_arg;
};

/* Runs until *stop is set (or one round with once).  Fails only when it
 * cannot start: the configuration is invalid or names an unknown GPU, or
 * no GPU source starts.  Problems during a round are logged. */
int guard_daemon_run(const struct guard_daemon_options *o, struct error *e);

/* The local clock now (day of week and minute). */
void guard_clock_now(struct guard_clock *out);
/* Parses "YYYY-MM-DDTHH:MM[:SS]" (or with a space) as a local time; -EINVAL. */
int guard_clock_parse(const char *text, struct guard_clock *out);

#endif
