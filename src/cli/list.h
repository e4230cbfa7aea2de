/* list.h - what `gpuctl list` hands its renderers: one snapshot and the
 * choices made about it (which devices and processes, how to draw).
 */
#ifndef GPUCTL_CLI_LIST_H
#define GPUCTL_CLI_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "core/snapshot.h"

struct list_view {
    const struct snapshot *snap;
    const bool *device_visible;             /* per snap->devices */
    const struct gpu_process *const *procs; /* shown processes, device then pid order */
    size_t proc_count;
    bool details, containers;
    bool ascii, color;
    int width;                               /* 0: unlimited */
    const char *self_user;                   /* dims other users' rows */
};

/* The process using the most GPU memory on a device, among those shown. */
const struct gpu_process *list_top_process(const struct list_view *v, int device_index,
                                           size_t *count);
/* "docker:3f2a1b2c3d4e", "k8s:<pod>/<cid>", or NULL without a container. */
const char *list_container_text(const struct container_info *c, bool full, char *buf,
                                size_t size);

int list_render_table(const struct list_view *v, FILE *out);
int list_render_json(const struct list_view *v, FILE *out, bool compact);

#endif
