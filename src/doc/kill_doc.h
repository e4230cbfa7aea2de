/* kill_doc.h - the document of `gpuctl kill` and of the processes that
 * `reset --force` ends (schema: docs/json/kill.md).
 *
 * The request names the kill set, the order its entries are shown in
 * (children first, as kill_set_order gives it), the stage the operation
 * reached and the options it ran with.  Any front end (CLI, HTTP, MCP)
 * turns the same request into the same JSON.
 */
#ifndef GPUCTL_DOC_KILL_DOC_H
#define GPUCTL_DOC_KILL_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "ops/kill.h"

enum doc_kill_stage {
    DOC_KILL_MATCHED,    /* --filter without --batch: what would be chosen */
    DOC_KILL_DRY_RUN,    /* --dry-run: what would be signalled */
    DOC_KILL_DONE,       /* after kill_set_run */
};

struct doc_kill_request {
    const struct kill_set *set;
    const size_t *order;          /* entry indices in the order shown; set->count of them */
    enum doc_kill_stage stage;
    int signal;                   /* the first signal */
    long timeout_secs;
    bool force, tree, group;
};

/* The document of r: a new reference (the caller json_decrefs it), or
 * NULL with e filled (-ENOMEM). */
json_t *doc_kill_build(const struct doc_kill_request *r, struct error *e);

/* The "processes" array alone, as doc_kill_build has it (reset's document
 * embeds it). */
json_t *doc_kill_processes(const struct doc_kill_request *r, struct error *e);

/* The "result" of one entry at r's stage: "matched", "would_signal", or
 * kill_outcome_name's. */
const char *doc_kill_result_name(const struct doc_kill_request *r, const struct kill_entry *en);

#endif
