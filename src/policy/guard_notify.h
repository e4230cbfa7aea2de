/* guard_notify.h - the ways guard mode warns a user: syslog, a webhook
 * POST (libcurl) and a message on the user's terminals.
 *
 * Each returns 0 or -errno with a message, so the daemon can record
 * whether the warning was delivered.  Deciding when to warn is
 * guard_daemon.c's.
 */
#ifndef GPUCTL_POLICY_GUARD_NOTIFY_H
#define GPUCTL_POLICY_GUARD_NOTIFY_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* syslog(3) at LOG_WARNING, facility LOG_DAEMON, ident "gpuctl-guard". */
void guard_notify_syslog(const char *message);

/* POSTs body (JSON) to url with Content-Type application/json; waits at
 * most timeout_s, and gives up within about a second of *cancel (may be
 * NULL) becoming true.  A response status of 400 or above is a failure.
 * Safe to call from one thread other than the caller's main thread (the
 * webhook worker of guard_webhook.c); not from several at once. */
int guard_notify_webhook(const char *url, const char *body, long timeout_s,
                         const atomic_bool *cancel, struct error *e);

/* Writes message to the terminals of user: the login sessions utmp lists
 * for that user and the controlling terminal of pid (when it has one).
 * *written receives how many terminals took it; -ENOENT when none did. */
int guard_notify_terminals(const char *user, pid_t pid, const char *message, size_t *written,
                           struct error *e);

/* The terminal device of a tty_nr from /proc/PID/stat field 7 (pts and
 * virtual consoles); -ENOENT for none or another kind. */
int guard_tty_path(unsigned long tty_nr, char *buf, size_t size);

#endif
