/* history.h - a fixed-size ring of samples for the monitor's graphs.
 *
 * Unknown samples are stored as NAN and drawn as gaps.  The capacity is
 * chosen by the caller (enough for ten minutes at the refresh interval);
 * pushing past it drops the oldest sample, so memory never grows.
 */
#ifndef GPUCTL_TUI_HISTORY_H
#define GPUCTL_TUI_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

struct history {
    float *v;
    size_t cap, len, head;      /* head: where the next sample goes */
};

/* Room for cap samples (cap >= 1).  -ENOMEM on failure. */
int history_init(struct history *h, size_t cap);
void history_free(struct history *h);     /* accepts NULL and a zeroed history */
void history_reset(struct history *h);
void history_push(struct history *h, double value, bool known);
/* The sample age steps back from the newest (0 = newest); NAN past the end. */
double history_at(const struct history *h, size_t age);
/* Samples needed for minutes of history at interval_s, at least min. */
size_t history_capacity(double minutes, double interval_s, size_t min);

#endif
