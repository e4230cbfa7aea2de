/* fuzz_procfs_meminfo.c - the host-file parsers (meminfo, uptime, loadavg,
 * the btime and cpu lines of /proc/stat) on arbitrary bytes. */
#include "fuzz.h"
#include "sources/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct procfs_meminfo m;
    double uptime, load[3];
    uint64_t btime;
    (void)procfs_parse_meminfo(buf, size, &m);
    (void)procfs_parse_uptime(buf, size, &uptime);
    (void)procfs_parse_loadavg(buf, size, load);
    (void)procfs_parse_btime(buf, size, &btime);
    struct procfs_cpu_times cpu;
    (void)procfs_parse_cpu_times(buf, size, &cpu);
    return 0;
}
