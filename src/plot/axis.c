/* axis.c - where the ticks go and what they say.
 *
 * Time ticks fall on round local clock times so a reader can place a
 * moment at a glance; value ticks are 1, 2 or 5 times a power of ten from
 * zero, since memory and CPU are never negative and a zero base shows
 * proportions honestly.  Pixels are the renderers' business.
 */
#include "plot/plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const double time_steps[] = {
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
};

static double local_offset(double t)
{
    time_t secs = (time_t)t;
    struct tm tm;
    return localtime_r(&secs, &tm) ? (double)tm.tm_gmtoff : 0;
}

static void time_label(double t, double step, bool crosses_days, char *buf, size_t size)
{
    time_t secs = (time_t)floor(t + 0.5);
    struct tm tm;
    size_t n = 0;
    if (localtime_r(&secs, &tm)) {
        if (step < 60)
            n = strftime(buf, size, "%H:%M:%S", &tm);
        else if (step < 86400 && crosses_days)
            n = strftime(buf, size, "%m-%d %H:%M", &tm);
        else if (step < 86400)
            n = strftime(buf, size, "%H:%M", &tm);
        else
            n = strftime(buf, size, "%m-%d", &tm);
    }
    if (n == 0)
        buf[0] = '\0';
}

static bool same_day(double a, double b)
{
    time_t x = (time_t)a, y = (time_t)b;
    struct tm ta, tb;
    if (!localtime_r(&x, &ta) || !localtime_r(&y, &tb))
        return true;
    return ta.tm_year == tb.tm_year && ta.tm_yday == tb.tm_yday;
}

size_t plot_time_ticks(double t0, double t1, size_t max, struct plot_tick *out)
{
    if (max < 1)
        max = 1;
    if (max > PLOT_MAX_TICKS)
        max = PLOT_MAX_TICKS;
    double span = t1 - t0, step = time_steps[sizeof time_steps / sizeof time_steps[0] - 1];
    for (size_t i = 0; i < sizeof time_steps / sizeof time_steps[0]; i++) {
        if (floor(span / time_steps[i]) + 1 <= (double)max) {
            step = time_steps[i];
            break;
        }
    }
    while (floor(span / step) + 1 > (double)max)
        step *= 2;
    /* Round in local time, so "every 6 h" means 00, 06, 12, 18 here. */
    double off = local_offset(t0);
    double first = ceil((t0 + off) / step) * step - off;
    bool crosses = !same_day(t0, t1);
    size_t n = 0;
    for (double t = first; t <= t1 + 1e-9 && n < max; t += step, n++) {
        out[n].v = t;
        time_label(t, step, crosses, out[n].label, sizeof out[n].label);
    }
    return n;
}

static void value_label(double v, double step, char *buf, size_t size)
{
    if (step >= 1 || v == 0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.*f", (int)ceil(-log10(step)), v);
}

size_t plot_value_ticks(double hi, size_t max, double *top, struct plot_tick *out)
{
    if (max < 1)
        max = 1;
    if (max > PLOT_MAX_TICKS - 1)
        max = PLOT_MAX_TICKS - 1;
    if (!(hi > 0))
        hi = 1;
    double mag = pow(10, floor(log10(hi / (double)max)));
    static const double mult[] = {1, 2, 5, 10, 20};
    double step = mag * 20;
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
        if (ceil(hi / (mag * mult[i]) - 1e-9) <= (double)max) {
            step = mag * mult[i];
            break;
        }
    }
    size_t steps = (size_t)ceil(hi / step - 1e-9);
    if (steps < 1)
        steps = 1;
    *top = step * (double)steps;
    for (size_t i = 0; i <= steps; i++) {
        out[i].v = step * (double)i;
        value_label(out[i].v, step, out[i].label, sizeof out[i].label);
    }
    return steps + 1;
}
