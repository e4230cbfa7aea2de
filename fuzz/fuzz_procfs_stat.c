/* fuzz_procfs_stat.c - procfs_parse_stat on arbitrary bytes: it must never
 * read past the length, and what it accepts must hold together. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sources/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct procfs_stat st;
    if (procfs_parse_stat((const char *)data, size, &st) == 0) {
        if (st.pid <= 0 || strlen(st.comm) >= sizeof st.comm)
            abort();
    }
    return 0;
}
