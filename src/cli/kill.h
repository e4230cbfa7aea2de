/* kill.h - what `gpuctl kill` (and `reset --force`, which ends processes
 * the same way) hands its renderers: a kill set and what was done with it.
 */
#ifndef GPUCTL_CLI_KILL_H
#define GPUCTL_CLI_KILL_H

#include <stdbool.h>
#include <stdio.h>

#include "ops/kill.h"

enum kill_view_stage {
    KILL_VIEW_MATCHED,    /* --filter without --batch: what would be chosen */
    KILL_VIEW_DRY_RUN,    /* --dry-run: what would be signalled */
    KILL_VIEW_DONE,       /* after kill_set_run */
};

struct kill_view {
    const struct kill_set *set;
    const size_t *order;          /* entry indices, children first */
    enum kill_view_stage stage;
    int signal;
    long timeout_secs;
    bool force, tree, group;
    bool color;
    int width;                    /* 0: unlimited */
};

int kill_render_table(const struct kill_view *v, FILE *out);
int kill_render_json(const struct kill_view *v, FILE *out, bool compact);

/* One sentence for the dry run: "would send SIGTERM to 3 processes, ..." */
void kill_plan_sentence(const struct kill_view *v, char *buf, size_t size);

#endif
