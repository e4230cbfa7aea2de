/* compare.h - `gpuctl compare`: two `gpuctl run --json` reports, metric by
 * metric and group by group, and whether the candidate regressed.
 *
 * The reports are outside input: the parser takes a buffer and a length,
 * refuses what is not a run report with a message naming the file, and has
 * a fuzz target.  Printing is the CLI's.
 */
#ifndef GPUCTL_JOBS_COMPARE_H
#define GPUCTL_JOBS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/model.h"

struct compare_group {
    char name[256];
    double total_peak_kib;
};

/* What compare reads of one report. */
struct compare_doc {
    double max_total_rss_kib;
    struct opt_f64 duration_s;
    struct opt_f64 max_proc_rss_kib;     /* the largest processes[].max_rss_kib */
    struct opt_f64 process_count;
    struct opt_f64 gpu_total_peak_bytes;
    char method[32];
    char group_by[16];
    struct compare_group *groups;        /* owned, in the report's order */
    size_t group_count;
    size_t *by_name;                     /* owned: indices of groups sorted by name */
};

/* Parses a report; name (the file) is used in messages.  -ERROR_PARSE for
 * malformed JSON or a document without a numeric max_total_rss_kib.  Free
 * with compare_doc_clear. */
int compare_parse(const char *buf, size_t len, const char *name, struct compare_doc *out,
                  struct error *e);
void compare_doc_clear(struct compare_doc *d);

/* Reads and parses a file (at most 256 MiB). */
int compare_load(const char *path, struct compare_doc *out, struct error *e);

enum compare_kind { COMPARE_METRIC, COMPARE_GROUP };

struct compare_row {
    enum compare_kind kind;
    char name[256];          /* metric name, or the group's key */
    struct opt_f64 base, candidate;
    struct opt_f64 delta_pct;    /* unknown when a side is missing or base is 0 */
    bool gated;              /* takes part in the verdict */
    bool regression;         /* gated and grew by more than the threshold */
};

struct compare_result {
    struct compare_row *rows;    /* owned: the metrics, then the groups */
    size_t count;
    double threshold_pct;
    bool regression;         /* any row regressed */
    char base_method[32], candidate_method[32];
    bool group_by_differs;
};

/* Compares base and candidate.  Gated rows: max_total_rss_kib and each
 * group present in both; a group only on one side is shown, never gated
 * (a pid-keyed group would always differ).  Returns 0 or -ENOMEM. */
int compare_docs(const struct compare_doc *base, const struct compare_doc *cand,
                 double threshold_pct, struct compare_result *out);
void compare_result_clear(struct compare_result *r);

#endif
