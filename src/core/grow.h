/* grow.h - doubling growth for the project's growable arrays.
 *
 * A leaf header (like error.h and model.h) usable from any layer.
 */
#ifndef GPUCTL_CORE_GROW_H
#define GPUCTL_CORE_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for one more element after count: doubles *cap (starting at
 * first_cap) when full.  *items is untouched on failure.  Returns 0 or
 * -ENOMEM (also on size overflow). */
static inline int grow_for_one(void **items, size_t *cap, size_t count, size_t elem_size,
                               size_t first_cap)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first_cap;
    if (ncap < *cap || ncap > SIZE_MAX / elem_size)
        return -ENOMEM;
    void *p = realloc(*items, ncap * elem_size);
    if (!p)
        return -ENOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

#endif
