/* schedule.c - when the samples of `gpuctl watch` are due.
 *
 * Times are computed from the start and the sample's number, never by
 * adding the interval to the previous wake-up, so rounding and the time a
 * sample takes do not accumulate.  Sleeping until the time is the caller's.
 */
#include "watch/watch.h"

#define NS_PER_S 1000000000LL

static int64_t to_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

static struct timespec from_ns(int64_t ns)
{
    struct timespec t = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    return t;
}

void watch_schedule_init(struct watch_schedule *s, const struct timespec *start,
                         double interval_s)
{
    s->start = *start;
    s->interval_ns = (int64_t)(interval_s * 1e9 + 0.5);
    if (s->interval_ns < 1)
        s->interval_ns = 1;
    s->k = 0;
}

struct timespec watch_schedule_next(struct watch_schedule *s, const struct timespec *now,
                                    uint64_t *skipped)
{
    int64_t start = to_ns(&s->start), t = to_ns(now);
    uint64_t next = s->k + 1;
    if (t >= start) {
        uint64_t due_after_now = (uint64_t)((t - start) / s->interval_ns) + 1;
        if (due_after_now > next)
            next = due_after_now;
    }
    if (skipped)
        *skipped = next - s->k - 1;
    s->k = next;
    return from_ns(start + (int64_t)next * s->interval_ns);
}
