/* fuzz_cgroup.c - procfs_parse_cgroup on arbitrary bytes: no read past the
 * length, and the strings it fills are always terminated. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sources/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct container_info c;
    procfs_parse_cgroup((const char *)data, size, &c);
    if (memchr(c.id, '\0', sizeof c.id) == NULL || memchr(c.pod_uid, '\0', sizeof c.pod_uid) == NULL)
        abort();
    if (c.kind == CONTAINER_NONE && (c.id[0] || c.pod_uid[0]))
        abort();
    return 0;
}
