/* feed.h - the one sampling loop (ARCHITECTURE.md decision 10).
 *
 * A feed owns the GPU sources (a snapshot_ctx), the sampler that fills
 * rates, and the timers.  Every interval it takes one snapshot and
 * publishes it as an immutable, reference-counted frame; the monitor,
 * `list --watch`, `watch`, `audit record`, `guard run` and `select --wait`
 * subscribe to one and only handle frames.  No subscriber calls a source.
 *
 * Threads.  A feed runs two threads of its own:
 *   - the pass thread calls the sources (the only thread that does), so a
 *     driver call that hangs blocks nothing but itself;
 *   - the clock thread keeps the interval and publishes.  When a pass
 *     overruns timeout_s, it publishes the last good snapshot again with
 *     every device marked stale (device_stale), and again every interval
 *     while the pass stays stuck, so subscribers keep receiving frames that
 *     say the data is old.  A pass reads all sources as one snapshot (one
 *     instant, decision 4), so all of a stuck pass's devices are stale.
 * Both block every signal: signals reach the caller's threads only.
 *
 * Which function from which thread:
 *   feed_start, feed_stop                  the thread that owns the feed (once each)
 *   feed_latest, feed_status, feed_kick,
 *   feed_set_interval, feed_set_ancestors,
 *   feed_subscribe                         any thread, while the feed runs
 *   feed_sub_fd, feed_sub_take             the subscriber's thread (one per sub)
 *   feed_unsubscribe                       the subscriber's thread, before feed_stop
 *   feed_frame_ref, feed_frame_unref       any thread, also after feed_stop
 */
#ifndef GPUCTL_FEED_FEED_H
#define GPUCTL_FEED_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/snapshot.h"

struct feed_frame {                   /* immutable once published */
    struct snapshot *snap;            /* rates filled by the sampler */
    uint64_t seq;                     /* 1, 2, 3 ... per feed */
    const bool *device_stale;         /* per snap->devices: its pass overran timeout_s */
    bool stale;                       /* any device is stale: snap is an older pass's */
    double stale_for_s;               /* how long the stuck pass had run when published */
    const struct host_process *ancestors;  /* with ancestors on: the non-GPU ancestors */
    size_t ancestor_count;                 /* of the GPU processes, sorted by pid */
};

/* A new reference to f (f itself).  Any thread. */
struct feed_frame *feed_frame_ref(struct feed_frame *f);
/* Drops a reference; the last one frees the frame.  Accepts NULL. */
void feed_frame_unref(struct feed_frame *f);

/* Builds a frame that no feed published (seq 0, nothing stale) around
 * snap, which it takes over, with ancestors when asked (top --once).
 * Returns 0, or -ENOMEM with e filled (snap is freed then). */
int feed_frame_wrap(struct snapshot *snap, bool ancestors, struct feed_frame **out,
                    struct error *e);

struct feed_options {
    double interval_s;                /* between the starts of two passes (> 0) */
    struct snapshot_options snap;     /* what each pass reads */
    double timeout_s;                 /* default_timeout_secs; <= 0: never stale */
    /* Owner and command line from a cache keyed by (pid, start time), read
     * from /proc once per process instead of every pass (the monitor). */
    bool cache_identities;
    bool ancestors;                   /* frames carry ancestors (feed_set_ancestors) */
};

struct feed_status {
    bool busy;                        /* a pass is running */
    double busy_for_s;                /* for how long */
    bool have_data;                   /* a pass has succeeded */
    double age_s;                     /* since the newest good pass was taken */
    uint64_t failures;                /* passes that failed, in all */
    char error[ERROR_MSG_MAX];        /* the last pass's failure, "" after a success */
};

struct feed;

/* Opens the sources (-ERROR_GPU_LIBRARY when none starts) and starts the
 * threads; the first pass starts at once.  Free with feed_stop. */
int feed_start(struct feed **out, const struct feed_options *o, struct error *e);

/* Stops the clock and waits for it.  A pass stuck in a driver call is
 * abandoned, never joined: its thread frees the sources if the call ever
 * returns, else exit ends it, so stopping never hangs.  Subscriptions must
 * be gone.  Accepts NULL. */
void feed_stop(struct feed *f);

/* The newest frame (a new reference, the caller unrefs it) or NULL before
 * the first. */
struct feed_frame *feed_latest(struct feed *f);
void feed_status(struct feed *f, struct feed_status *out);
/* Starts the next pass now instead of at the end of the interval (when no
 * pass is running). */
void feed_kick(struct feed *f);
/* A new interval, counted from the start of the last pass (guard.toml's
 * check_interval_secs changed).  -EINVAL unless > 0. */
int feed_set_interval(struct feed *f, double interval_s, struct error *e);
/* Whether the next frames carry ancestors (the tree view). */
void feed_set_ancestors(struct feed *f, bool on);

/* Subscriptions: the fd becomes readable when a frame newer than the one
 * the subscriber last took exists, or a pass failed; a slow subscriber
 * drops frames, never queues them. */
struct feed_sub;
int feed_subscribe(struct feed *f, struct feed_sub **out, struct error *e);
int feed_sub_fd(const struct feed_sub *s);
/* Drains the fd; the newest unread frame (a reference) or NULL. */
struct feed_frame *feed_sub_take(struct feed_sub *s);
/* feed_sub_take, after waiting for the fd at most timeout_ms (< 0: no
 * limit) when nothing is there yet.  NULL when time is up, a signal came,
 * or the wake-up was a failed pass (see feed_sub_error). */
struct feed_frame *feed_sub_wait(struct feed_sub *s, int timeout_ms);
/* A pass failed since this subscriber last asked: its code, with e filled
 * (the failure is reported once to each subscriber).  0 otherwise. */
int feed_sub_error(struct feed_sub *s, struct error *e);
void feed_unsubscribe(struct feed_sub *s);          /* accepts NULL */

/* Reads the ancestors (parent, grandparent, ... up to pid 1) of every GPU
 * process in snap that are not GPU processes themselves, sorted by pid.
 * Returns 0 or -ENOMEM. */
int feed_read_ancestors(const struct snapshot *snap, struct host_process **out, size_t *count);

#endif
