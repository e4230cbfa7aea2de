/* list.h - how `gpuctl list` draws what is shown: the view (what, chosen by
 * src/doc) plus the drawing choices that belong to a terminal.
 */
#ifndef GPUCTL_CLI_LIST_H
#define GPUCTL_CLI_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "doc/snapshot_doc.h"

struct list_view {
    const struct doc_snapshot_view *shown;
    bool ascii, color;
    int width;                               /* 0: unlimited */
    const char *self_user;                   /* dims other users' rows */
    double stale_for_s;                      /* --watch: how long a stuck sample has run */
};

int list_render_table(const struct list_view *v, FILE *out);

#endif
