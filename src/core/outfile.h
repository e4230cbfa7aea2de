/* outfile.h - output files that appear whole or not at all.
 *
 * What gpuctl writes for people (charts, CSV exports, HTML pages, logs) is
 * written to a temporary file in the destination's directory, synced, and
 * renamed over the destination, so a crash, a full disk or a Ctrl-C leaves
 * either the old file or the new one, never half of one.  A destination
 * that exists and is not a regular file (/dev/stdout, a FIFO, a terminal)
 * is written in place: there is nothing to replace there.
 *
 * A leaf module usable from every layer; the callers choose the paths and
 * print the errors.
 */
#ifndef GPUCTL_CORE_OUTFILE_H
#define GPUCTL_CORE_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"

struct outfile {
    FILE *f;                  /* where to write; NULL when closed */
    char *path;               /* the destination; owned */
    char *tmp;                /* the temporary file; owned; NULL when writing in place */
    bool published;           /* the temporary file has been renamed to path */
};

/* Opens a temporary file beside path (same directory, so the rename stays
 * within one filesystem), with the mode the destination has, or 0666 less
 * the umask for a new one.  Returns 0, or -errno with e naming the file. */
int outfile_open(struct outfile *o, const char *path, struct error *e);

/* Opens path itself for appending (and reading: "a+"), creating it when
 * absent; publish and commit then only flush, sync and close.  For logs
 * that grow across runs, where replacing would lose the earlier runs. */
int outfile_open_append(struct outfile *o, const char *path, struct error *e);

/* The name to hand a library that opens files itself (cairo): the
 * temporary file, or path when writing in place. */
const char *outfile_write_path(const struct outfile *o);

/* Makes what is written so far the destination now and keeps the file open
 * for more (a log that grows while it runs): flush, sync, rename.  Returns
 * 0 or -errno with e; nothing is renamed on failure. */
int outfile_publish(struct outfile *o, struct error *e);

/* Flushes, syncs, closes and renames (unless published already).  On any
 * failure the temporary file is removed and the destination is left as it
 * was.  Returns 0 or -errno with e.  o is closed either way. */
int outfile_commit(struct outfile *o, struct error *e);

/* Closes and removes the temporary file, leaving the destination as it
 * was (or as last published).  Accepts a closed or zeroed o. */
void outfile_discard(struct outfile *o);

#endif
