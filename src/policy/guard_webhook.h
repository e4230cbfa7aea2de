/* guard_webhook.h - guard's webhook posts, delivered off the enforcement
 * loop.
 *
 * One worker thread takes posts from a bounded queue and delivers them one
 * at a time (guard_notify_webhook) with the timeout the daemon was given
 * (config.toml's default_timeout_secs), so an unanswering webhook delays
 * only other webhooks, never a check.  Outcomes wait in a list until the
 * loop collects them and records them in the audit database (the
 * database is the loop's alone).  A full queue refuses a new post at once;
 * the caller records it as not sent.  Stopping either delivers what is
 * queued or cancels it.
 *
 * Threads: every function here is called from the loop's thread; the
 * worker is internal.
 */
#ifndef GPUCTL_POLICY_GUARD_WEBHOOK_H
#define GPUCTL_POLICY_GUARD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Posts waiting for the worker, at most (the one in flight not counted). */
#define GUARD_WEBHOOK_QUEUE 64

struct guard_webhook;

struct guard_webhook_result {
    int64_t tag;            /* the caller's, as given to guard_webhook_post */
    bool ok;
    char message[512];      /* the URL when delivered, else what went wrong */
};

/* Starts the worker; posts wait at most timeout_s each (>= 1).  Free with
 * guard_webhook_free (accepts NULL). */
int guard_webhook_start(struct guard_webhook **out, long timeout_s, struct error *e);

/* Queues a POST of body to url (both copied).  -ENOSPC with a message when
 * GUARD_WEBHOOK_QUEUE posts are already waiting; -ENOMEM. */
int guard_webhook_post(struct guard_webhook *w, const char *url, const char *body, int64_t tag,
                       struct error *e);

/* Moves up to max finished outcomes into out, oldest first; returns how
 * many. */
size_t guard_webhook_collect(struct guard_webhook *w, struct guard_webhook_result *out,
                             size_t max);

/* Ends the worker and waits for it.  With finish, the posts still queued
 * are delivered first (each within the timeout: what `guard run --once`
 * wants); without, the post in flight is cancelled (libcurl gives up
 * within about a second) and every queued post becomes a "not sent"
 * outcome.  Outcomes can still be collected afterwards. */
void guard_webhook_stop(struct guard_webhook *w, bool finish);

/* Stops it if needed and frees it, with any outcomes left uncollected. */
void guard_webhook_free(struct guard_webhook *w);

#endif
