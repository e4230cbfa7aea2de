/* Fuzz target: the dashboard's Accept-Encoding reader (net/web.c) on any
 * bytes, NUL-free or not, read only within the length it is given. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past size is caught by ASan. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    bool yes = net_web_accepts_gzip(copy, size);
    /* "gzip" alone must be taken whatever follows after a comma. */
    if (size >= 4 && memcmp(copy, "gzip", 4) == 0 && (size == 4 || copy[4] == ',') && !yes)
        __builtin_trap();
    free(copy);
    return 0;
}
