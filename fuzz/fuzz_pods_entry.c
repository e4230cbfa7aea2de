/* fuzz_pods_entry.c - pods_parse_entry on arbitrary bytes: it reads only
 * the given length and what it accepts has three non-empty parts of the
 * allowed characters that spell the input back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net/pods.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct pod_name p;
    if (pods_parse_entry(copy, size, &p) == 0) {
        char back[400];
        int n = snprintf(back, sizeof back, "%s_%s_%s", p.ns, p.name, p.uid);
        if (n < 0 || (size_t)n != size || memcmp(back, copy, size) != 0)
            abort();
        if (!*p.ns || !*p.name || !*p.uid)
            abort();
    }
    free(copy);
    return 0;
}
