/* frame_slot.c - the newest frame between a producer thread and the
 * monitor (see frame_slot.h): a lock, an eventfd to wake the monitor's
 * poll, and the reason frames stopped.
 */
#include "cli/frame_slot.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "feed/feed.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wake(struct cli_frame_slot *s)
{
    uint64_t one = 1;
    /* A full counter already wakes the reader; nothing else can fail here. */
    if (write(s->efd, &one, sizeof one) < 0)
        return;
}

int cli_frame_slot_init(struct cli_frame_slot *s, void (*extra_free)(void *), struct error *e)
{
    memset(s, 0, sizeof *s);
    s->extra_free = extra_free;
    pthread_mutex_init(&s->lock, NULL);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return s->efd < 0 ? error_set(e, -errno, "eventfd: %s", strerror(errno)) : 0;
}

void cli_frame_slot_clear(struct cli_frame_slot *s)
{
    feed_frame_unref(s->latest);
    if (s->extra && s->extra_free)
        s->extra_free(s->extra);
    pthread_mutex_destroy(&s->lock);
    if (s->efd >= 0)
        close(s->efd);
    s->efd = -1;
}

void cli_frame_slot_put(struct cli_frame_slot *s, struct feed_frame *fr, void *extra)
{
    pthread_mutex_lock(&s->lock);
    feed_frame_unref(s->latest);
    if (s->extra && s->extra_free)
        s->extra_free(s->extra);
    s->latest = fr;
    s->extra = extra;
    s->seq++;
    s->latest_at = now_s();
    s->error[0] = '\0';
    pthread_mutex_unlock(&s->lock);
    wake(s);
}

void cli_frame_slot_fail(struct cli_frame_slot *s, const char *why)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->error, sizeof s->error, "%s", why);
    pthread_mutex_unlock(&s->lock);
    wake(s);
}

struct feed_frame *cli_frame_slot_take(struct cli_frame_slot *s, void **extra)
{
    uint64_t count;
    if (read(s->efd, &count, sizeof count) < 0)
        count = 0;               /* EAGAIN: nothing new since the last read */
    struct feed_frame *fr = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->latest && s->seq != s->taken) {
        fr = feed_frame_ref(s->latest);
        s->taken = s->seq;
        if (extra) {
            *extra = s->extra;
            s->extra = NULL;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return fr;
}

void cli_frame_slot_status(struct cli_frame_slot *s, struct feed_status *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    out->have_data = s->latest != NULL;
    out->age_s = s->latest ? now_s() - s->latest_at : 0;
    out->failures = s->error[0] != '\0';
    snprintf(out->error, sizeof out->error, "%s", s->error);
    pthread_mutex_unlock(&s->lock);
}

int cli_thread_start_unsignalled(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}
