/* rogue_doc.h - the documents of `gpuctl audit --rogue`: the scan report
 * (schema docs/json/rogue.md) and the detection settings (rogue.toml as
 * JSON, --rogue-export-config).
 */
#ifndef GPUCTL_DOC_ROGUE_DOC_H
#define GPUCTL_DOC_ROGUE_DOC_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "policy/rogue.h"
#include "policy/rogue_config.h"

struct doc_rogue_request {
    const struct rogue_report *report;
    double hours;                 /* the history window scanned */
    bool history;                 /* audit history was scanned */
    bool live;                    /* a live snapshot was scanned */
};

/* New reference, or NULL with e filled (-ENOMEM). */
json_t *doc_rogue_build(const struct doc_rogue_request *r, struct error *e);

/* The settings as rogue_config_from_json reads them back.  New reference,
 * or NULL with e filled. */
json_t *doc_rogue_config_build(const struct rogue_config *c, struct error *e);

#endif
