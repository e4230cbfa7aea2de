/* feed.h - the monitor's sampling thread.
 *
 * Snapshots (through the sampler, so rates are filled) are taken on a
 * thread of their own, so a driver call that takes seconds never delays a
 * key.  The thread publishes each finished frame and writes a byte to a
 * pipe the UI polls; the UI takes the frame when it likes.  Only the
 * newest unread frame is kept: a slow UI drops frames, never queues them.
 */
#ifndef GPUCTL_TUI_FEED_H
#define GPUCTL_TUI_FEED_H

#include <stdbool.h>
#include <time.h>

#include "core/error.h"
#include "core/snapshot.h"

struct feed_frame {
    struct snapshot *snap;            /* owned */
    struct host_process *ancestors;   /* owned; tree view: non-GPU ancestors, by pid */
    size_t ancestor_count;
};

void feed_frame_free(struct feed_frame *f);   /* accepts NULL */

struct feed_status {
    bool busy;                        /* a snapshot is being taken */
    double busy_for_s;                /* since when */
    bool have_data;                   /* at least one frame was published */
    double age_s;                     /* since the newest frame was taken */
    char error[ERROR_MSG_MAX];        /* the last failure, "" after a success */
};

struct feed;

/* Opens the sources (-ERROR_GPU_LIBRARY when none starts) and starts the
 * thread, which takes its first snapshot at once.  Free with feed_stop. */
int feed_start(struct feed **out, double interval_s, struct error *e);

/* Asks the thread to stop and waits up to a second for it.  A thread stuck
 * in a driver call is left to die with the process (its memory is not
 * freed then), so quitting never hangs.  Accepts NULL. */
void feed_stop(struct feed *f);

/* The fd that becomes readable when a frame is ready (drain it with
 * feed_take). */
int feed_fd(const struct feed *f);
/* The newest unread frame (caller owns it), or NULL. */
struct feed_frame *feed_take(struct feed *f);
void feed_status(struct feed *f, struct feed_status *out);
/* Whether frames should carry the ancestors of GPU processes. */
void feed_set_tree(struct feed *f, bool tree);
/* Takes the next snapshot now instead of at the end of the interval. */
void feed_kick(struct feed *f);

/* Reads the ancestors (parent, grandparent, ... up to pid 1) of every GPU
 * process in snap that are not GPU processes themselves, sorted by pid.
 * Used by the thread, and by --once.  Returns 0 or -ENOMEM. */
int feed_read_ancestors(const struct snapshot *snap, struct host_process **out, size_t *count);

#endif
