/* registry.h - the coordinator's nodes: who registered, the latest snapshot
 * each pushed, and whether it is online, stale or offline.
 *
 * Only the latest snapshot per node is held, in memory (ARCHITECTURE.md
 * decision 16): history lives in Prometheus and on the nodes, and agents
 * resend everything within one interval after a coordinator restart.
 *
 * Ingest.  The front end decodes a pushed document once, in one pass
 * (doc/snapshot_ingest.h), on its own request thread and hands the node's
 * facts over with the document's text and the sequence number; the
 * registry condenses the facts (cluster/summary.h) and compresses the text
 * (LZ4) outside its lock and swaps them in under a short one.  No decoded
 * snapshot is kept: a node's sample is its summary and its document, about
 * 6 KB for 8 GPUs and 256 processes.  A sequence number not above the last
 * accepted one is refused (a reordered or repeated push), a gap is counted
 * as lost.  Readers (the routes, the contention analysis) take a view: a
 * copy of each node's state holding references to immutable samples, so
 * they work on a consistent picture while pushes go on.
 *
 * Status.  A node is online until it has missed stale_intervals of its
 * interval, stale until offline_intervals, then offline.  Nodes are never
 * dropped silently: only cluster_registry_remove (an operator) or the
 * retention time after going offline forgets one, and both leave an event.
 *
 * Time is passed in (wall-clock seconds), so tests need no sleeping.
 * Threads: every function may be called from any thread.
 */
#ifndef GPUCTL_CLUSTER_REGISTRY_H
#define GPUCTL_CLUSTER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/summary.h"
#include "core/error.h"
#include "core/snapshot.h"

#define CLUSTER_NODE_ID_MAX 128      /* bytes of an id, NUL included */
#define CLUSTER_MAX_ADDRESSES 16
#define CLUSTER_EVENT_QUEUE 4096     /* events kept between two collections */

enum cluster_node_status { CLUSTER_NODE_ONLINE, CLUSTER_NODE_STALE, CLUSTER_NODE_OFFLINE };

/* "online", "stale", "offline". */
const char *cluster_node_status_name(enum cluster_node_status s);

/* What a node says about itself when it registers. */
struct cluster_node_info {
    char id[CLUSTER_NODE_ID_MAX];
    char hostname[256];
    char addresses[CLUSTER_MAX_ADDRESSES][64];
    size_t address_count;
    char api_url[256];               /* its own API, where actions are forwarded; "" none */
    double interval_s;               /* how often it pushes (> 0) */
};

/* Whether id is acceptable: 1 to CLUSTER_NODE_ID_MAX - 1 bytes of letters,
 * digits, '.', '-', '_' and ':' (it appears in URLs and commands).
 * Returns 0 or -EINVAL naming it. */
int cluster_node_id_check(const char *id, size_t len, struct error *e);

/* FNV-1a of a NUL-terminated name (node ids here, user names in the
 * contention analysis). */
uint64_t cluster_hash_name(const char *name);

/* One accepted push, immutable and shared by every view holding it. */
struct cluster_sample {
    struct cluster_summary summary;
    uint64_t seq;
    double received_at;
    char *document;                  /* the pushed text, LZ4-compressed; NULL: none */
    size_t document_size;            /* compressed bytes */
    size_t document_len;             /* the text's bytes */
};

/* The text of the document that the sample's push carried (exactly as the
 * node sent it), NUL-terminated, into *out (free it) and *len.  -ENOENT
 * when the push carried none (cluster_registry_push), -ENOMEM. */
int cluster_sample_document(const struct cluster_sample *s, char **out, size_t *len,
                            struct error *e);

/* One node as a view shows it. */
struct cluster_node_view {
    const struct cluster_node_info *info;     /* shared, immutable */
    const struct cluster_sample *sample;      /* NULL before the first push */
    enum cluster_node_status status;
    double registered_at;
    double last_seen;                         /* last push or registration */
    uint64_t pushes;                          /* accepted since registration */
    uint64_t lost;                            /* sequence numbers skipped */
    uint64_t refused;                         /* pushes refused (reordered, bad) */
};

struct cluster_view {
    struct cluster_node_view *nodes;          /* ordered by id */
    size_t count;
    double taken_at;
};

enum cluster_event_kind {
    CLUSTER_EVENT_JOINED,        /* a new node registered */
    CLUSTER_EVENT_STATUS,        /* its status changed (online/stale/offline) */
    CLUSTER_EVENT_LEFT,          /* forgotten: removed, or retention passed */
};

/* "joined", "status", "left". */
const char *cluster_event_kind_name(enum cluster_event_kind k);

struct cluster_event {
    enum cluster_event_kind kind;
    char node_id[CLUSTER_NODE_ID_MAX];
    enum cluster_node_status status;   /* the new status (JOINED: online) */
    char reason[32];                   /* LEFT: "removed" or "retention" */
    double at;
};

struct cluster_registry_options {
    double stale_intervals;            /* default 3 */
    double offline_intervals;          /* default 10 */
    double retention_s;                /* offline nodes forgotten after; 0: never */
    size_t max_nodes;                  /* registrations beyond are refused */
    struct cluster_thresholds thresholds;
};

void cluster_registry_options_defaults(struct cluster_registry_options *o);

struct cluster_registry;

int cluster_registry_new(struct cluster_registry **out, const struct cluster_registry_options *o,
                         struct error *e);
void cluster_registry_free(struct cluster_registry *r);   /* accepts NULL */

/* Registers a node or updates what it said about itself (a node that
 * registers again, after its own restart or the coordinator's, keeps its
 * latest sample but starts a new sequence: the next push may carry any
 * number).  *created tells which (may be NULL).  -EINVAL for a bad id or
 * interval, -ENOSPC when max_nodes are registered, -ENOMEM. */
int cluster_registry_register(struct cluster_registry *r, const struct cluster_node_info *info,
                              double now, bool *created, struct error *e);

/* Accepts a node's facts (finished) and the document they were read from
 * (len bytes, kept as they are) as node id's push number seq (>= 1).
 * -ENOENT when the node is not registered (it should register again),
 * -EEXIST when seq is not above the last accepted one, -ERROR_PARSE when
 * the facts cannot be a node's (two GPUs with one index), -ENOMEM. */
int cluster_registry_push_document(struct cluster_registry *r, const char *id, uint64_t seq,
                                   const struct cluster_node_facts *facts, const char *doc,
                                   size_t len, double now, struct error *e);

/* The same for a snapshot (taken over, freed on failure too), whose facts
 * are taken; no document is kept (for callers that have none). */
int cluster_registry_push(struct cluster_registry *r, const char *id, uint64_t seq,
                          struct snapshot *snap, double now, struct error *e);

/* Counts a push of node id that the front end refused before it got here
 * (its document did not decode); nothing when the node is unknown. */
void cluster_registry_count_refused(struct cluster_registry *r, const char *id);

/* Forgets node id (an operator's DELETE).  -ENOENT when unknown. */
int cluster_registry_remove(struct cluster_registry *r, const char *id, double now,
                            struct error *e);

/* Recomputes every status at now, queues an event for each change, and
 * forgets nodes offline for longer than the retention; every 5 s it also
 * gives the heap's free pages back to the system (malloc_trim).  Call it
 * about once a second (the coordinator's timer). */
void cluster_registry_tick(struct cluster_registry *r, double now);

/* Moves up to max queued events (oldest first) into out; returns how many.
 * *dropped (may be NULL) receives how many were lost to a full queue since
 * the last call. */
size_t cluster_registry_events(struct cluster_registry *r, struct cluster_event *out, size_t max,
                               uint64_t *dropped);

/* A consistent copy of every node (statuses as of now).  Returns 0 or
 * -ENOMEM; clear with cluster_view_clear either way. */
int cluster_registry_view(struct cluster_registry *r, double now, struct cluster_view *out,
                          struct error *e);
/* The same for one node: -ENOENT when unknown (out is then empty and
 * needs no clearing). */
int cluster_registry_view_node(struct cluster_registry *r, const char *id, double now,
                               struct cluster_view *out, struct error *e);
void cluster_view_clear(struct cluster_view *v);            /* accepts NULL */

/* The status of a node last seen at last_seen with this interval. */
enum cluster_node_status cluster_node_status_at(const struct cluster_registry_options *o,
                                                double interval_s, double last_seen,
                                                double now);

#endif
