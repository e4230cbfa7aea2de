/* str.h - bounded string copying without snprintf's truncation warnings.
 *
 * A leaf header (no dependencies) like error.h and model.h, usable from any
 * layer.
 */
#ifndef GPUCTL_CORE_STR_H
#define GPUCTL_CORE_STR_H

#include <stddef.h>
#include <string.h>

/* Copies at most size-1 bytes of src and NUL-terminates; returns dst. */
static inline char *str_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return dst;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

#endif
