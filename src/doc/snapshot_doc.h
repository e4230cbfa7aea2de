/* snapshot_doc.h - the snapshot document: what `gpuctl list --output json`
 * prints, `GET /api/v1/snapshot` returns and a remote host or node sends
 * (schema: docs/json/list.md).
 *
 * Two halves.  The request and the view say what is shown: which devices
 * and processes pass the filters, whether processes are detailed and
 * containers spelled out.  Front ends draw a view their own way (tables in
 * src/cli) and never decide what is shown themselves.  The builder turns a
 * view into JSON from the field table (core/fields.h); the decoder turns
 * such a document back into a snapshot, so a remote snapshot is drawn by
 * the same table code as a local one.
 *
 * Threads: every function may be called from any thread, but a request's
 * filter is used during the call (its pattern's match data is scratch
 * space), so threads must not share one filter at the same time.
 */
#ifndef GPUCTL_DOC_SNAPSHOT_DOC_H
#define GPUCTL_DOC_SNAPSHOT_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "core/filter.h"
#include "core/snapshot.h"

/* The version of the document's shape a decoder understands; a document
 * states it in "schema_version" when asked to (none: version 1). */
#define DOC_SNAPSHOT_SCHEMA_VERSION 1

struct doc_snapshot_request {
    const struct filter *filter;        /* NULL: every device and process */
    const char *cuda_visible_devices;   /* followed when filter->only_visible; NULL: unset */
    const char *self_user;              /* whom a --user without names means */
    bool details;                       /* processes shown (a process criterion implies it) */
    bool containers;                    /* container_kind, container_id, pod_uid keys;
                                           full container text in tables */
    bool schema_version;                /* add "schema_version" to the document */
    const bool *device_stale;           /* per s->devices (a feed frame's): each GPU gets a
                                           "stale" key; NULL: no such key (one-shot) */
};

/* What is shown of one snapshot.  Owns its two arrays; the snapshot stays
 * the caller's and must outlive the view. */
struct doc_snapshot_view {
    const struct snapshot *snap;
    bool *device_visible;                 /* per snap->devices */
    const struct gpu_process **procs;     /* shown processes, device then pid order */
    size_t proc_count;
    bool details, containers, schema_version;
    const bool *device_stale;             /* from the request (borrowed) */
};

/* Applies r to s.  Returns 0, or -ENOMEM with e filled; clear the view with
 * doc_snapshot_view_clear either way. */
int doc_snapshot_view_init(struct doc_snapshot_view *v, const struct snapshot *s,
                           const struct doc_snapshot_request *r, struct error *e);
void doc_snapshot_view_clear(struct doc_snapshot_view *v);   /* accepts NULL */

/* The shown process using the most GPU memory on a device (NULL: none
 * shown there); *count receives how many are shown there. */
const struct gpu_process *doc_snapshot_top_process(const struct doc_snapshot_view *v,
                                                   int device_index, size_t *count);

/* The document of a view / of s under r.  New reference (caller
 * json_decrefs), or NULL with e filled (-ENOMEM). */
json_t *doc_snapshot_build_view(const struct doc_snapshot_view *v, struct error *e);
json_t *doc_snapshot_build(const struct snapshot *s, const struct doc_snapshot_request *r,
                           struct error *e);

/* The document of a view as JSON text, without a tree: byte for byte
 * doc_json_dumps(doc_snapshot_build_view(v), compact), in a fraction of
 * the time.  Returns the text (the caller frees it) and its length in *len,
 * or NULL with e filled (-ENOMEM). */
char *doc_snapshot_dumps_view(const struct doc_snapshot_view *v, bool compact, size_t *len,
                              struct error *e);

/* That text and a newline written to out, then flushed, as doc_json_write
 * writes a tree.  Returns 0, or a negative errno with e filled. */
int doc_snapshot_write_view(const struct doc_snapshot_view *v, FILE *out, bool compact,
                            struct error *e);

/* The builder itself: the document of v put into sk (doc/sink.h), for
 * code that wants it in a form of its own. */
struct doc_sink;
void doc_snapshot_emit(const struct doc_snapshot_view *v, struct doc_sink *sk);

/* The snapshot a document describes (decoding is table-driven too).  A key
 * that is absent or null leaves its value unknown; keys this version does
 * not know are ignored; an index or pid must be present.  A value of the
 * wrong type, a document that is not an object, or a "schema_version" newer
 * than DOC_SNAPSHOT_SCHEMA_VERSION is -ERROR_PARSE with e naming the key
 * ("gpus[1].clocks.sm_mhz: expected an integer, got a string").  Text longer
 * than the model's buffer is cut at a character boundary.  The result holds
 * only what the document shows (its devices and processes); it has no
 * monotonic time and no rates.  *out: free with snapshot_free. */
int doc_snapshot_decode(const json_t *doc, struct snapshot **out, struct error *e);

/* The same from len bytes of JSON text (what a remote host printed). */
int doc_snapshot_decode_buffer(const char *buf, size_t len, struct snapshot **out,
                               struct error *e);

/* "2026-11-21T05:32:00Z" (optionally with a fraction of a second) as
 * epoch seconds; false when s is not such a time.  The document's times are
 * read with it wherever they are decoded. */
bool doc_snapshot_parse_time(const char *s, double *out);

/* Copies s[0..len) into dst, a buffer of size bytes, cut at a character
 * boundary so a long UTF-8 text never ends in half a character. */
void doc_snapshot_copy_text(char *dst, size_t size, const char *s, size_t len);

#endif
