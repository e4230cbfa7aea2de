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
    const char *host_heading;                /* tables across hosts: "HOST" when NULL
                                                ("NODE" for a cluster) */
    int width;                               /* 0: unlimited */
    const char *self_user;                   /* dims other users' rows */
    double stale_for_s;                      /* --watch: how long a stuck sample has run */
};

int list_render_table(const struct list_view *v, FILE *out);

/* Draws a frame over the previous one on the terminal: home, each line
 * cleared to its end, then the rest of the screen cleared, so shorter
 * frames leave nothing. */
void list_paint_frame(const char *frame, size_t len);

/* One host of a table across hosts (--remote): what it showed, or NULL and
 * the reason it showed nothing. */
struct list_host_view {
    const char *host;
    const struct doc_snapshot_view *shown;   /* NULL: error says why */
    const char *error;
};

/* The devices of every host in one table with a HOST column first (hosts
 * that failed as one row each, after the others), then with details the
 * processes of every host in one table.  style gives the drawing choices
 * (its shown is not used).  Returns 0 or -errno of the write. */
int list_render_hosts(const struct list_host_view *hosts, size_t n, const struct list_view *style,
                      bool details, FILE *out);

#endif
