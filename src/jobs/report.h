/* report.h - what is derived from a finished job's report: groups of
 * processes (by command, executable or parent) and the leak heuristic.
 *
 * Pure functions of a struct run_report; nothing here reads /proc or
 * prints.
 */
#ifndef GPUCTL_JOBS_REPORT_H
#define GPUCTL_JOBS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "jobs/run.h"

enum run_group_by { RUN_GROUP_COMMAND, RUN_GROUP_EXE, RUN_GROUP_PPID };

/* "command", "exe", "ppid"; parse returns -EINVAL for anything else. */
const char *run_group_by_name(enum run_group_by by);
int run_group_by_parse(const char *s, enum run_group_by *out);

/* The group key of one process: its command, its executable (the command
 * when the link could not be read), or its parent's pid. */
void run_group_key(const struct run_proc *p, enum run_group_by by, char *buf, size_t size);

struct run_group {
    char key[256];
    size_t process_count;
    uint64_t total_peak_kib;     /* sum of the members' peaks */
    uint64_t max_peak_kib;       /* the largest member's */
    struct opt_u64 gpu_mem_peak_bytes;   /* sum of the members' GPU peaks */
};

/* The groups, largest total first (ties by key).  Caller frees *out. */
int run_groups(const struct run_report *r, enum run_group_by by, struct run_group **out,
               size_t *count);

/* Index of the group of p in groups (as run_groups made them), or -1. */
int run_group_index(const struct run_group *groups, size_t count, const struct run_proc *p,
                    enum run_group_by by);

/* The leak heuristic: marks each process whose memory grew steadily.  A
 * process qualifies when its samples span at least min_duration_s, number
 * at least 8, the mean of each quarter of its lifetime (by time) is above
 * the previous quarter's, and the last quarter's mean is at least
 * min_growth_pct above the first's.  Sets leak_suspect and
 * leak_growth_pct (the first-to-last-quarter growth) on every process. */
void run_mark_leaks(struct run_report *r, double min_growth_pct, double min_duration_s);

#endif
