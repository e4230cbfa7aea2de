/* sources.c - the list of GPU sources and the lists they fill.
 *
 * Order matters: devices are numbered source by source in this order
 * (docs/design.md, "Device indices").
 */
#include "sources/source.h"

#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

#include "sources/drm.h"
#include "sources/nvml.h"
#include "sources/simulated.h"

const struct source_ops *const source_table[] = {
    &nvml_source,
    &drm_source,      /* after nvml: it skips the NVIDIA cards NVML listed */
    &simulated_source, /* alone, and only with --simulate (snapshot.c) */
    NULL,
};

int device_list_push(struct device_list *l, struct device **slot)
{
    *slot = NULL;
    if (grow_for_one((void **)&l->items, &l->cap, l->count, sizeof *l->items, 8) < 0)
        return -ENOMEM;
    *slot = &l->items[l->count++];
    memset(*slot, 0, sizeof **slot);
    return 0;
}

void device_list_free(struct device_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        model_device_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int gpu_process_list_push(struct gpu_process_list *l, struct gpu_process **slot)
{
    *slot = NULL;
    if (grow_for_one((void **)&l->items, &l->cap, l->count, sizeof *l->items, 8) < 0)
        return -ENOMEM;
    *slot = &l->items[l->count++];
    memset(*slot, 0, sizeof **slot);
    return 0;
}

void gpu_process_list_free(struct gpu_process_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof *l);
}
