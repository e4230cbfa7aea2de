/* lib.h - what the files of libgpuctl share: the handle and snapshot
 * structs behind the public header's opaque types, and the error adapter.
 * Internal to src/lib; nothing here is exported.
 */
#ifndef GPUCTL_LIB_LIB_H
#define GPUCTL_LIB_LIB_H

#include <stddef.h>

#include "core/error.h"
#include "core/snapshot.h"
#include "gpuctl/gpuctl.h"
#include "sources/procfs.h"

#define API __attribute__((visibility("default")))

struct gpuctl {
    struct snapshot_ctx *ctx;
    struct procfs *procfs;      /* host facts of any pid (gpuctl_host_take); opened lazily */
};

struct gpuctl_snapshot {
    struct snapshot *snap;
    /* MIG instances flattened in device order: mig_dev[i] is the device's
     * place, mig_sub[i] the instance within it (built on demand, once) */
    size_t mig_count;
    size_t *mig_dev;
    size_t *mig_sub;
};

/* Wraps snap (taking ownership) into a new public snapshot in *out;
 * -ENOMEM frees snap. */
int lib_snapshot_wrap(struct snapshot *snap, gpuctl_snapshot **out, struct error *e);

/* Fills s's flat MIG list (lib_fields.c); -ENOMEM with e filled. */
int lib_snapshot_index(gpuctl_snapshot *s, struct error *e);

/* The snapshot options GPUCTL_TAKE_* flags ask for. */
struct snapshot_options lib_take_options(unsigned what);

/* Copies e's message into the caller's buffer (when there is one) and
 * returns e's code. */
int lib_report(const struct error *e, char *err, size_t err_size);

#endif
