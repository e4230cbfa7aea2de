/* snapshot_ingest.h - the coordinator's one-pass reading of a pushed
 * snapshot document.
 *
 * A coordinator takes thousands of pushes a second.  Building a jansson
 * tree of every 40 KB document, then a snapshot from the tree, cost most
 * of an ingest; yet the coordinator keeps only a few figures per GPU and
 * process (struct cluster_node_facts) beside the document's own text.  So
 * this decoder reads the text once, straight from the request buffer, and
 * fills the facts.
 *
 * It accepts and refuses what doc_snapshot_decode_buffer does (the same
 * JSON rules as jansson with duplicate keys refused, the same types and
 * ranges from the field table), so a document the coordinator keeps
 * decodes wherever it is served; its refusals name the key and the byte
 * offset.  One difference: a NUL byte right after a number or a literal,
 * which jansson skips and JSON forbids, is refused.
 * tests/unit/test_snapshot_ingest.c and fuzz/fuzz_snapshot_ingest.c check
 * both agree.
 */
#ifndef GPUCTL_DOC_SNAPSHOT_INGEST_H
#define GPUCTL_DOC_SNAPSHOT_INGEST_H

#include <stddef.h>

#include "cluster/summary.h"
#include "core/error.h"

/* Decodes the snapshot document in buf[0..len) into *out (cleared first;
 * clear it with cluster_node_facts_clear either way).  Returns 0, or
 * -ERROR_PARSE with e naming the byte offset and the key, or -ENOMEM. */
int doc_snapshot_ingest(const char *buf, size_t len, struct cluster_node_facts *out,
                        struct error *e);

#endif
