/* run_doc.h - the documents of a finished `gpuctl run`: the report
 * (schema docs/json/run.md; memwatch's keys keep memwatch's names and
 * meanings) and the chart data the HTML page draws.
 */
#ifndef GPUCTL_DOC_RUN_DOC_H
#define GPUCTL_DOC_RUN_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "jobs/report.h"
#include "jobs/run.h"

/* A finished job and how its processes are grouped. */
struct doc_run_request {
    const struct run_report *r;
    enum run_group_by group_by;
    struct run_group *groups;
    size_t group_count;
    double leak_min_growth_pct, leak_min_duration_s;
};

/* The report.  Every argument of the job's command is kept, invalid UTF-8
 * repaired (doc/json.h).  New reference, or NULL with e filled. */
json_t *doc_run_build(const struct doc_run_request *v, struct error *e);

/* The chart data: {"t": [elapsed s per sample], "duration": s,
 * "groups": [{"name", "values": [KiB per sample]}] (the stacked series),
 * "procs": [{"pid", "ppid", "command", "cmdline", "peak_kib", "first",
 * "last", "points": [[sample, KiB], ...]}]}.  New reference, or NULL with
 * e filled. */
json_t *doc_run_chart_build(const struct doc_run_request *v, struct error *e);

/* "--max-total-rss" or "--max-per-proc-rss": the flag that set a limit. */
const char *doc_run_limit_flag(enum run_limit k);

#endif
