/* run.h - what `gpuctl run`'s files share: the effective settings and the
 * renderers of a finished report (run_output.c, run_html.c).
 */
#ifndef GPUCTL_CLI_RUN_H
#define GPUCTL_CLI_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "jobs/report.h"
#include "jobs/run.h"

struct run_view {
    const struct run_report *r;
    enum run_group_by group_by;
    struct run_group *groups;
    size_t group_count;
    double leak_min_growth_pct, leak_min_duration_s;
};

/* The human summary (stderr).  Returns 0 or -errno. */
int run_print_summary(const struct run_view *v, FILE *out);
/* The JSON report, pretty; docs/json/run.md is its schema. */
int run_write_json(const struct run_view *v, FILE *out);
/* Per-process CSV and the timeline CSV (RFC 4180). */
int run_write_csv(const struct run_view *v, FILE *out);
int run_write_timeline(const struct run_view *v, FILE *out);
/* One self-contained HTML page (no network). */
int run_write_html(const struct run_view *v, FILE *out);

#endif
