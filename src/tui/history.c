/* history.c - the sample ring behind every graph of the monitor.  Drawing
 * is canvas.c's; what is pushed when is the view's.
 */
#include "tui/history.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int history_init(struct history *h, size_t cap)
{
    h->v = calloc(cap ? cap : 1, sizeof *h->v);
    h->cap = cap ? cap : 1;
    h->len = h->head = 0;
    return h->v ? 0 : -ENOMEM;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    free(h->v);
    h->v = NULL;
    h->cap = h->len = h->head = 0;
}

void history_reset(struct history *h)
{
    h->len = h->head = 0;
}

void history_push(struct history *h, double value, bool known)
{
    if (!h->v)
        return;
    h->v[h->head] = known ? (float)value : NAN;
    h->head = (h->head + 1) % h->cap;
    if (h->len < h->cap)
        h->len++;
}

double history_at(const struct history *h, size_t age)
{
    if (age >= h->len)
        return NAN;
    return h->v[(h->head + h->cap - 1 - age) % h->cap];
}

size_t history_capacity(double minutes, double interval_s, size_t min)
{
    double n = ceil(minutes * 60.0 / interval_s) + 1;
    return n > (double)min ? (size_t)n : min;
}
