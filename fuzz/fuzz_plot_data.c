/* fuzz_plot_data.c - plot_data_add on arbitrary bytes: a log of any shape
 * is read or refused with a message, and every series it yields has finite
 * times and non-negative values. */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "plot/plot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plot_data d = {0};
    struct plot_options o = {.per_gpu = size % 2 == 1};
    struct error e = {0};
    int rc = plot_data_add(&d, "fuzz.csv", (const char *)data, size, &o, &e);
    if (rc < 0 && e.msg[0] == '\0')
        abort();
    for (size_t i = 0; i < d.count; i++)
        for (size_t j = 0; j < d.series[i].count; j++)
            if (!isfinite(d.series[i].pts[j].t) || !(d.series[i].pts[j].v >= 0))
                abort();
    plot_data_free(&d);
    return 0;
}
