/* compare_doc.h - the document of `gpuctl compare --json`: the deltas
 * between two run reports and the verdict (docs/json/run.md,
 * "compare").
 */
#ifndef GPUCTL_DOC_COMPARE_DOC_H
#define GPUCTL_DOC_COMPARE_DOC_H

#include <jansson.h>

#include "core/error.h"
#include "jobs/compare.h"

/* compare_docs' result.  New reference, or NULL with e filled. */
json_t *doc_compare_build(const struct compare_result *res, struct error *e);

/* "group" or "metric". */
const char *doc_compare_kind_name(enum compare_kind k);

#endif
