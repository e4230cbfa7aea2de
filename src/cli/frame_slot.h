/* frame_slot.h - where a command's own thread leaves the newest frame for
 * the monitor (tui_source): remote top's stream and top --cluster's polls.
 *
 * The producer puts frames (or says why none come) from its thread; the
 * monitor's thread polls the fd and takes the newest one.  A frame may
 * carry an extra the producer made with it (the cluster's nodes), which
 * changes hands with the frame.  Nothing queues: a slow monitor skips
 * frames.
 */
#ifndef GPUCTL_CLI_FRAME_SLOT_H
#define GPUCTL_CLI_FRAME_SLOT_H

#include <pthread.h>
#include <stdint.h>

#include "core/error.h"

struct feed_frame;
struct feed_status;

struct cli_frame_slot {
    int efd;                       /* readable when something new is there */
    pthread_mutex_t lock;          /* guards what follows */
    struct feed_frame *latest;
    void *extra;                   /* the extra of latest, until taken */
    void (*extra_free)(void *extra);
    uint64_t seq, taken;           /* frames put / handed to the monitor */
    double latest_at;              /* monotonic seconds latest was put */
    char error[ERROR_MSG_MAX];     /* why the frames stopped, "" while they come */
};

/* extra_free frees the extras of frames never taken (NULL: none carry
 * one).  -errno with e filled when the eventfd cannot be made. */
int cli_frame_slot_init(struct cli_frame_slot *s, void (*extra_free)(void *), struct error *e);
void cli_frame_slot_clear(struct cli_frame_slot *s);

/* Producer: the newest frame (taken over) with its extra (NULL: none);
 * clears the error. */
void cli_frame_slot_put(struct cli_frame_slot *s, struct feed_frame *fr, void *extra);
/* Producer: why no frame comes; the last one stays, said to be old. */
void cli_frame_slot_fail(struct cli_frame_slot *s, const char *why);

/* Monitor: the newest frame not taken yet (a reference) or NULL; its
 * extra moves to *extra (the caller frees it) when extra is not NULL. */
struct feed_frame *cli_frame_slot_take(struct cli_frame_slot *s, void **extra);
/* Monitor: how old the data is and why it stopped. */
void cli_frame_slot_status(struct cli_frame_slot *s, struct feed_status *out);

/* Starts fn(arg) on a thread that blocks every signal (Ctrl-C, SIGTERM and
 * SIGWINCH are the monitor's).  0 or -errno. */
int cli_thread_start_unsignalled(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
