/* guard_daemon.h - `gpuctl guard run`: the enforcement loop.
 *
 * Between checks it watches guard.toml and re-reads it once a change has
 * settled (the same size and times on two looks a quarter second apart),
 * or at once on *reload (SIGHUP).  A bad, empty or missing file is
 * reported and the policies in force stay until a valid file is there.
 * Only one daemon runs per guard.toml: it holds a lock on
 * "<guard.toml>.lock" and refuses to start while another holds it.
 * Each interval: take a snapshot,
 * evaluate every policy (guard_eval.h) and act by mode.  Dry run only
 * logs and records what would happen ("would warn", "would terminate").
 * Soft warns once per process (log, syslog, the user's terminals, and a
 * webhook posted by a worker thread, guard_webhook.h, so an unanswering
 * webhook never delays a check) and, when the violation outlasts the grace
 * period, escalates
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
    volatile sig_atomic_t *reload;       /* set by a signal handler (SIGHUP) to re-read
                                          * guard.toml now; the loop clears it; may be NULL */
    long webhook_timeout_s;              /* per webhook POST; 0: 5 */
    const struct guard_clock *fixed_clock;   /* NULL: the local time of each round */
    double interval_override_s;          /* > 0: instead of check_interval_secs */
    long kill_timeout_ms;                /* SIGTERM to SIGKILL; 0: 5000 */
    double sample_timeout_s;             /* a longer sample is stale, not acted on; 0: never */
    void (*log)(void *arg, enum guard_log_level level, const char *msg);
    void *log_arg;
};

/* Runs until *stop is set (or one round with once).  Fails only when it
 * cannot start: another daemon holds guard.toml's lock (-EBUSY), the
 * configuration is invalid or names an unknown GPU, or no GPU source
 * starts.  Problems during a round are logged. */
int guard_daemon_run(const struct guard_daemon_options *o, struct error *e);

/* The local clock now (day of week and minute). */
void guard_clock_now(struct guard_clock *out);
/* Parses "YYYY-MM-DDTHH:MM[:SS]" (or with a space) as a local time; -EINVAL. */
int guard_clock_parse(const char *text, struct guard_clock *out);

#endif
