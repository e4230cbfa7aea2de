/* run.h - what `gpuctl run`'s files share: the renderers of a finished
 * report (run_output.c, run_html.c).  What a report shows is the document
 * request of src/doc/run_doc.h; its JSON is built there.
 */
#ifndef GPUCTL_CLI_RUN_H
#define GPUCTL_CLI_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "doc/run_doc.h"

/* The human summary (stderr).  Returns 0 or -errno. */
int cli_run_print_summary(const struct doc_run_request *v, FILE *out);
/* doc_run_build's report, pretty; docs/json/run.md is its schema. */
int cli_run_write_json(const struct doc_run_request *v, FILE *out);
/* Per-process CSV and the timeline CSV (RFC 4180). */
int cli_run_write_csv(const struct doc_run_request *v, FILE *out);
int cli_run_write_timeline(const struct doc_run_request *v, FILE *out);
/* One self-contained HTML page (no network). */
int cli_run_write_html(const struct doc_run_request *v, FILE *out);

#endif
