/* fuzz_procfs_status.c - procfs_parse_status on arbitrary bytes, and the
 * cmdline joiner, which reads the same kind of per-process file. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sources/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct procfs_status st;
    (void)procfs_parse_status((const char *)data, size, &st);
    if (st.nspid_levels < 0 || (st.uid.known && (st.uid.v < 0 || st.uid.v > UINT32_MAX)))
        abort();
    char *joined = procfs_cmdline_join((const char *)data, size);
    if (joined && strlen(joined) > size)
        abort();
    free(joined);
    return 0;
}
