/* analyze_doc.h - the document of `gpuctl analyze --output json`: a
 * flight-recorder trace's summary, scope tree and hotspots
 * (docs/json/trace.md).
 */
#ifndef GPUCTL_DOC_ANALYZE_DOC_H
#define GPUCTL_DOC_ANALYZE_DOC_H

#include <jansson.h>

#include "core/error.h"
#include "trace/analyze.h"

/* analyze_run's result.  New reference, or NULL with e filled. */
json_t *doc_analyze_build(const struct analyze_result *r, struct error *e);

#endif
