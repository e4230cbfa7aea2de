/* fuzz_run_parsers.c - the formats `gpuctl run` reads from the kernel on
 * arbitrary bytes: children lists, smaps_rollup's Pss line,
 * /proc/self/cgroup and memory.stat (both versions) and taskstats exit
 * datagrams. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jobs/exitwatch.h"
#include "jobs/jobcg.h"
#include "jobs/proctree.h"

static void check_record(const struct exit_record *rec, void *arg)
{
    (void)arg;
    if (rec->pid <= 0 || strnlen(rec->comm, sizeof rec->comm) >= sizeof rec->comm)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct pid_list l = {0};
    if (proctree_parse_children(s, size, &l) == 0)
        for (size_t i = 0; i < l.count; i++)
            if (l.items[i] <= 0)
                abort();
    pid_list_free(&l);
    uint64_t pss, pages;
    (void)proctree_parse_pss(s, size, &pss);
    (void)proctree_parse_statm(s, size, &pages);
    char path[64];
    for (int v = 1; v <= 2; v++)
        if (jobcg_parse_self(s, size, v, path, sizeof path) == 0 &&
            (path[0] != '/' || strlen(path) >= sizeof path))
            abort();
    uint64_t anon;
    for (int v = 1; v <= 2; v++)
        (void)jobcg_parse_anon(s, size, v, &anon);
    (void)exitwatch_parse(data, size, check_record, NULL);
    return 0;
}
