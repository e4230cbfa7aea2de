/* audit_doc.h - the documents of `gpuctl audit` (schema docs/json/audit.md):
 * the records of a window, and the summary.
 *
 * The records document is built in parts so a front end can stream months
 * of history without holding it: the head (database, window, filter), then
 * one object per record under doc_audit_query_key.  doc_audit_query_build
 * assembles the whole document in memory for front ends that answer at
 * once.  Reals carry 10 significant digits (hours summed from milliseconds
 * need no more).
 */
#ifndef GPUCTL_DOC_AUDIT_DOC_H
#define GPUCTL_DOC_AUDIT_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/audit.h"

struct doc_audit_query_request {
    const struct audit_filter *filter;   /* the window and the filter */
    const char *database;                /* its path; NULL: nothing recorded yet */
    bool gpus;                           /* GPU rows (--gpus) rather than process rows */
};

/* "processes" or "gpus": the key the records go under. */
const char *doc_audit_query_key(const struct doc_audit_query_request *r);

/* The head object: database, from, to, user, process.  New reference or
 * NULL with e filled. */
json_t *doc_audit_query_head(const struct doc_audit_query_request *r, struct error *e);

/* One record.  New reference or NULL with e filled. */
json_t *doc_audit_proc_record(const struct audit_proc_record *rec, struct error *e);
json_t *doc_audit_gpu_record(const struct audit_gpu_record *rec, struct error *e);

/* The whole document: the head and every record of db (NULL: none) in the
 * window.  New reference, or NULL with e filled (a query or ENOMEM). */
json_t *doc_audit_query_build(struct audit_db *db, const struct doc_audit_query_request *r,
                              struct error *e);

/* The summary document.  New reference or NULL with e filled. */
json_t *doc_audit_summary_build(const struct audit_summary *s, struct error *e);

/* The summary a document describes (a remote host's, for merging): *out is
 * freed with audit_summary_free.  A value of the wrong type is
 * -ERROR_PARSE with e naming its key; keys an older gpuctl leaves out are
 * unknown, zero or empty; "from" and "to" are required. */
int doc_audit_summary_decode(const json_t *doc, struct audit_summary **out, struct error *e);

/* "2026-01-31T12:00:00.250Z": the audit documents' time format (and its
 * CSV's), clamped to years 0000-9999. */
void doc_audit_time_rfc3339(int64_t ms, char *buf, size_t size);

#endif
