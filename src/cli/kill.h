/* kill.h - what `gpuctl kill` (and `reset --force`, which ends processes
 * the same way) hands its renderers: a kill set and what was done with it.
 */
#ifndef GPUCTL_CLI_KILL_H
#define GPUCTL_CLI_KILL_H

#include <stdbool.h>
#include <stdio.h>

#include "doc/kill_doc.h"

/* What is shown (the document's request) and how it is drawn. */
struct cli_kill_view {
    struct doc_kill_request doc;  /* order: entry indices, children first */
    bool color;
    int width;                    /* 0: unlimited */
};

int cli_kill_render_table(const struct cli_kill_view *v, FILE *out);
/* doc_kill_build's document, pretty or on one line. */
int cli_kill_render_json(const struct cli_kill_view *v, FILE *out, bool compact);

/* One sentence for the dry run: "would send SIGTERM to 3 processes, ..." */
void cli_kill_plan_sentence(const struct doc_kill_request *r, char *buf, size_t size);

#endif
