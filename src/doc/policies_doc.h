/* policies_doc.h - the documents of `gpuctl guard` (schema
 * docs/json/guard.md): the policies themselves (guard.toml as JSON, read
 * back by guard_config_from_json), a policy test against the present
 * processes, and the recorded violations (`guard status`).
 */
#ifndef GPUCTL_DOC_POLICIES_DOC_H
#define GPUCTL_DOC_POLICIES_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "policy/guard_config.h"
#include "policy/guard_eval.h"
#include "policy/policy_store.h"

/* The policies.  New reference, or NULL with e filled. */
json_t *doc_policies_build(const struct guard_config *c, struct error *e);

struct doc_policies_test_request {
    const struct guard_config *config;
    const struct guard_violations *violations;   /* guard_evaluate's */
};

/* What the test finds now and what the guard would do.  New reference, or
 * NULL with e filled. */
json_t *doc_policies_test_build(const struct doc_policies_test_request *r, struct error *e);

/* What the guard does on a violation under c, for people: "terminate",
 * "would warn, then terminate after 60 s", ... */
void doc_policies_planned_action(const struct guard_config *c, char *buf, size_t size);

struct doc_policies_events_request {
    const struct policy_event *events;   /* newest first */
    size_t count;
    double hours;                        /* the window they were read from */
};

/* The recorded violations and their actions.  New reference, or NULL with
 * e filled. */
json_t *doc_policies_events_build(const struct doc_policies_events_request *r,
                                  struct error *e);

#endif
