/* registry.c - the coordinator's node registry (see registry.h).
 *
 * A hash table of nodes by id under one mutex.  Each node points to two
 * reference-counted, immutable things: what it said when it registered and
 * its latest sample.  Pushes do their expensive part (condensing the
 * facts, compressing the document) outside the lock and only swap a
 * pointer inside it; views copy
 * a few words per node and take references, so a contention request over
 * thousands of nodes holds the lock for a copy, never for its analysis.
 * Freeing a replaced sample also happens outside the lock.
 *
 * It does not decode documents, speak HTTP or know about WebSockets: the
 * front end gives it snapshots and collects its events.
 */
#include "cluster/registry.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/grow.h"

struct shared_info {
    struct cluster_node_info info;    /* first: views point here */
    unsigned refs;
};

struct shared_sample {
    struct cluster_sample s;          /* first: views point here */
    unsigned refs;
};

struct node {
    struct shared_info *info;
    struct shared_sample *sample;
    double registered_at, last_seen;
    uint64_t last_seq;                /* 0: a new sequence starts with the next push */
    uint64_t pushes, lost, refused;
    enum cluster_node_status reported;   /* as the last event said */
    struct node *next;                /* hash chain */
};

struct cluster_registry {
    struct cluster_registry_options o;
    pthread_mutex_t lock;
    struct node **buckets;
    size_t bucket_count;              /* a power of two */
    size_t count;
    struct cluster_event *events;     /* ring of CLUSTER_EVENT_QUEUE */
    size_t event_head, event_count;
    uint64_t events_dropped;
    double trimmed_at;                /* the ticker's last heap trim */
};

/* How often the ticker gives the heap's free pages back. */
#define TRIM_EVERY_S 5.0

/* ------------------------------------------------------------ names */

const char *cluster_node_status_name(enum cluster_node_status s)
{
    switch (s) {
    case CLUSTER_NODE_ONLINE: return "online";
    case CLUSTER_NODE_STALE: return "stale";
    case CLUSTER_NODE_OFFLINE: return "offline";
    }
    return "unknown";
}

const char *cluster_event_kind_name(enum cluster_event_kind k)
{
    switch (k) {
    case CLUSTER_EVENT_JOINED: return "joined";
    case CLUSTER_EVENT_STATUS: return "status";
    case CLUSTER_EVENT_LEFT: return "left";
    }
    return "unknown";
}

int cluster_node_id_check(const char *id, size_t len, struct error *e)
{
    if (len == 0)
        return error_set(e, -EINVAL, "a node id must not be empty");
    if (len >= CLUSTER_NODE_ID_MAX)
        return error_set(e, -EINVAL, "node id is %zu bytes long; at most %d are allowed", len,
                         CLUSTER_NODE_ID_MAX - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':';
        if (!ok)
            return error_set(e, -EINVAL,
                             "node id \"%.*s\": byte %zu (0x%02x) is not a letter, digit, "
                             "'.', '-', '_' or ':'",
                             (int)(len < 64 ? len : 64), id, i + 1, c);
    }
    return 0;
}

/* ------------------------------------------------------------ shared parts */

static void info_unref(struct shared_info *i)
{
    if (i && __atomic_sub_fetch(&i->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(i);
}

static void sample_unref(struct shared_sample *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        cluster_summary_clear(&s->s.summary);   /* packed: frees nothing */
        free(s);
    }
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    info_unref(n->info);
    sample_unref(n->sample);
    free(n);
}

/* ------------------------------------------------------------ options */

void cluster_registry_options_defaults(struct cluster_registry_options *o)
{
    *o = (struct cluster_registry_options){
        .stale_intervals = 3,
        .offline_intervals = 10,
        .retention_s = 24 * 3600.0,
        .max_nodes = 100000,
    };
    cluster_thresholds_defaults(&o->thresholds);
}

enum cluster_node_status cluster_node_status_at(const struct cluster_registry_options *o,
                                                double interval_s, double last_seen,
                                                double now)
{
    double missed = (now - last_seen) / interval_s;
    if (missed > o->offline_intervals)
        return CLUSTER_NODE_OFFLINE;
    if (missed > o->stale_intervals)
        return CLUSTER_NODE_STALE;
    return CLUSTER_NODE_ONLINE;
}

/* ------------------------------------------------------------ table */

uint64_t cluster_hash_name(const char *id)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}

static struct node **slot_of(struct cluster_registry *r, const char *id)
{
    struct node **p = &r->buckets[cluster_hash_name(id) & (r->bucket_count - 1)];
    while (*p && strcmp((*p)->info->info.id, id))
        p = &(*p)->next;
    return p;
}

/* Doubles the buckets when nodes outnumber them; a failed grow only makes
 * chains longer. */
static void maybe_grow(struct cluster_registry *r)
{
    if (r->count < r->bucket_count)
        return;
    size_t n = r->bucket_count * 2;
    struct node **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < r->bucket_count; i++)
        for (struct node *x = r->buckets[i], *next; x; x = next) {
            next = x->next;
            struct node **head = &b[cluster_hash_name(x->info->info.id) & (n - 1)];
            x->next = *head;
            *head = x;
        }
    free(r->buckets);
    r->buckets = b;
    r->bucket_count = n;
}

int cluster_registry_new(struct cluster_registry **out, const struct cluster_registry_options *o,
                         struct error *e)
{
    *out = NULL;
    if (!(o->stale_intervals > 0) || !(o->offline_intervals > o->stale_intervals))
        return error_set(e, -EINVAL,
                         "node status: offline after %g intervals must come after stale "
                         "after %g (> 0)",
                         o->offline_intervals, o->stale_intervals);
    struct cluster_registry *r = calloc(1, sizeof *r);
    if (!r)
        return error_set(e, -ENOMEM, "out of memory creating the node registry");
    r->o = *o;
    r->bucket_count = 64;
    r->buckets = calloc(r->bucket_count, sizeof *r->buckets);
    r->events = calloc(CLUSTER_EVENT_QUEUE, sizeof *r->events);
    if (!r->buckets || !r->events) {
        free(r->buckets);
        free(r->events);
        free(r);
        return error_set(e, -ENOMEM, "out of memory creating the node registry");
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void cluster_registry_free(struct cluster_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->bucket_count; i++)
        for (struct node *x = r->buckets[i], *next; x; x = next) {
            next = x->next;
            node_free(x);
        }
    pthread_mutex_destroy(&r->lock);
    free(r->buckets);
    free(r->events);
    free(r);
}

/* ------------------------------------------------------------ events */

/* Under the lock.  A full queue drops its oldest event. */
static void emit(struct cluster_registry *r, enum cluster_event_kind kind, const char *id,
                 enum cluster_node_status status, const char *reason, double now)
{
    if (r->event_count == CLUSTER_EVENT_QUEUE) {
        r->event_head = (r->event_head + 1) % CLUSTER_EVENT_QUEUE;
        r->event_count--;
        r->events_dropped++;
    }
    struct cluster_event *ev =
        &r->events[(r->event_head + r->event_count++) % CLUSTER_EVENT_QUEUE];
    *ev = (struct cluster_event){.kind = kind, .status = status, .at = now};
    snprintf(ev->node_id, sizeof ev->node_id, "%s", id);
    snprintf(ev->reason, sizeof ev->reason, "%s", reason ? reason : "");
}

size_t cluster_registry_events(struct cluster_registry *r, struct cluster_event *out, size_t max,
                               uint64_t *dropped)
{
    pthread_mutex_lock(&r->lock);
    size_t n = 0;
    while (n < max && r->event_count) {
        out[n++] = r->events[r->event_head];
        r->event_head = (r->event_head + 1) % CLUSTER_EVENT_QUEUE;
        r->event_count--;
    }
    if (dropped)
        *dropped = r->events_dropped;
    r->events_dropped = 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* ------------------------------------------------------------ registering */

static int check_info(const struct cluster_node_info *info, struct error *e)
{
    int rc = cluster_node_id_check(info->id, strnlen(info->id, sizeof info->id), e);
    if (rc < 0)
        return rc;
    if (!isfinite(info->interval_s) || info->interval_s <= 0)
        return error_set(e, -EINVAL, "node %s: interval %g is not a positive number of seconds",
                         info->id, info->interval_s);
    if (info->address_count > CLUSTER_MAX_ADDRESSES)
        return error_set(e, -EINVAL, "node %s: %zu addresses; at most %d are kept", info->id,
                         info->address_count, CLUSTER_MAX_ADDRESSES);
    return 0;
}

int cluster_registry_register(struct cluster_registry *r, const struct cluster_node_info *info,
                              double now, bool *created, struct error *e)
{
    int rc = check_info(info, e);
    if (rc < 0)
        return rc;
    struct shared_info *si = malloc(sizeof *si);
    if (!si)
        return error_set(e, -ENOMEM, "out of memory registering node %s", info->id);
    si->info = *info;
    si->refs = 1;

    struct shared_info *old = NULL;
    pthread_mutex_lock(&r->lock);
    struct node **slot = slot_of(r, info->id);
    struct node *n = *slot;
    if (n) {
        old = n->info;
        n->info = si;
        n->last_seq = 0;
        n->last_seen = now;
        if (n->reported != CLUSTER_NODE_ONLINE) {
            n->reported = CLUSTER_NODE_ONLINE;
            emit(r, CLUSTER_EVENT_STATUS, info->id, CLUSTER_NODE_ONLINE, NULL, now);
        }
    } else if (r->count >= r->o.max_nodes) {
        rc = error_set(e, -ENOSPC, "node %s: the coordinator already holds its limit of %zu "
                                   "nodes", info->id, r->o.max_nodes);
    } else if (!(n = calloc(1, sizeof *n))) {
        rc = error_set(e, -ENOMEM, "out of memory registering node %s", info->id);
    } else {
        *n = (struct node){.info = si, .registered_at = now, .last_seen = now,
                           .reported = CLUSTER_NODE_ONLINE};
        *slot = n;
        r->count++;
        maybe_grow(r);
        emit(r, CLUSTER_EVENT_JOINED, info->id, CLUSTER_NODE_ONLINE, NULL, now);
    }
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        free(si);
    else if (created)
        *created = old == NULL;
    info_unref(old);
    return rc;
}

int cluster_registry_remove(struct cluster_registry *r, const char *id, double now,
                            struct error *e)
{
    pthread_mutex_lock(&r->lock);
    struct node **slot = slot_of(r, id);
    struct node *n = *slot;
    if (n) {
        *slot = n->next;
        r->count--;
        emit(r, CLUSTER_EVENT_LEFT, id, cluster_node_status_at(&r->o, n->info->info.interval_s,
                                                               n->last_seen, now),
             "removed", now);
    }
    pthread_mutex_unlock(&r->lock);
    if (!n)
        return error_set(e, -ENOENT, "node %s is not registered", id);
    node_free(n);
    return 0;
}

/* ------------------------------------------------------------ pushing */

/* Under the lock: the node, or -ENOENT; -EEXIST when seq is not new. */
static int find_for_push(struct cluster_registry *r, const char *id, uint64_t seq,
                         struct node **out, struct error *e)
{
    struct node *n = *slot_of(r, id);
    if (!n)
        return error_set(e, -ENOENT, "node %s is not registered; register it first", id);
    if (seq <= n->last_seq) {
        n->refused++;
        return error_set(e, -EEXIST,
                         "node %s: snapshot %llu is not newer than snapshot %llu (reordered or "
                         "repeated); refused",
                         id, (unsigned long long)seq, (unsigned long long)n->last_seq);
    }
    *out = n;
    return 0;
}

/* Each thread's buffer for compressing, kept from one push to the next:
 * a fresh 50 KB buffer per push would leave holes in the heap between the
 * nodes' long-lived samples. */
struct scratch {
    char *buf;
    size_t cap;
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_made;

static void scratch_free(void *arg)
{
    struct scratch *s = arg;
    if (s)
        free(s->buf);
    free(s);
}

static void scratch_key_make(void)
{
    scratch_key_made = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* The calling thread's buffer of at least size bytes, or NULL. */
static char *scratch_buffer(size_t size)
{
    pthread_once(&scratch_once, scratch_key_make);
    if (!scratch_key_made)
        return NULL;
    struct scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < size) {
        char *grown = realloc(s->buf, size);
        if (!grown)
            return NULL;
        s->buf = grown;
        s->cap = size;
    }
    return s->buf;
}

/* A node's sample in one allocation: the wrapper, the summary's arrays and
 * the document, compressed with LZ4 at acceleration 2 (a 45 KB document to
 * 6 KB in under 20 us; the default level saves 4 % more at twice the time,
 * zlib's fastest level gives 4.7 KB in 100 us: bench/README.md,
 * "bench/cluster").  sum is moved in (packed, then cleared). */
static int pack_sample(struct cluster_summary *sum, const char *doc, size_t len,
                       struct shared_sample **out, struct error *e)
{
    *out = NULL;
    if (len > LZ4_MAX_INPUT_SIZE) {
        cluster_summary_clear(sum);
        return error_set(e, -EINVAL, "a snapshot document of %zu bytes is too large to keep",
                         len);
    }
    int bound = doc ? LZ4_compressBound((int)len) : 0;
    char *scratch = doc ? scratch_buffer((size_t)bound) : NULL;
    int packed = scratch ? LZ4_compress_fast(doc, scratch, (int)len, bound, 2) : 0;
    size_t head = (sizeof(struct shared_sample) + 7) & ~(size_t)7;
    size_t arrays = cluster_summary_packed_size(sum);
    struct shared_sample *s = (doc && packed <= 0) ? NULL
                                                   : malloc(head + arrays + (size_t)packed);
    if (s) {
        *s = (struct shared_sample){.refs = 1};
        cluster_summary_pack(&s->s.summary, sum, (char *)s + head);
        if (doc) {
            s->s.document = (char *)s + head + arrays;
            memcpy(s->s.document, scratch, (size_t)packed);
            s->s.document_size = (size_t)packed;
            s->s.document_len = len;
        }
    }
    cluster_summary_clear(sum);
    *out = s;
    return s ? 0 : error_set(e, -ENOMEM, "out of memory keeping a node's snapshot");
}

int cluster_sample_document(const struct cluster_sample *s, char **out, size_t *len,
                            struct error *e)
{
    *out = NULL;
    *len = 0;
    if (!s->document)
        return error_set(e, -ENOENT, "no document was kept of snapshot %llu",
                         (unsigned long long)s->seq);
    char *text = malloc(s->document_len + 1);
    if (!text)
        return error_set(e, -ENOMEM, "out of memory reading a node's document");
    int n = LZ4_decompress_safe(s->document, text, (int)s->document_size,
                                (int)s->document_len);
    if (n < 0 || (size_t)n != s->document_len) {
        free(text);
        return error_set(e, -EIO, "a kept snapshot document does not decompress");
    }
    text[n] = '\0';
    *out = text;
    *len = (size_t)n;
    return 0;
}

/* The new sample of node id: the summary of facts (idle times carried over
 * from the node's previous sample) and the document. */
static int make_sample(struct cluster_registry *r, const char *id, uint64_t seq,
                       const struct cluster_node_facts *facts, const char *doc, size_t len,
                       double now, struct shared_sample **out, struct error *e)
{
    struct node *n = NULL;
    struct shared_sample *prev = NULL;
    *out = NULL;
    pthread_mutex_lock(&r->lock);
    int rc = find_for_push(r, id, seq, &n, e);
    if (rc == 0 && (prev = n->sample))
        __atomic_add_fetch(&prev->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return rc;
    struct cluster_summary sum;
    rc = cluster_summary_build_facts(&sum, facts, prev ? &prev->s.summary : NULL, now,
                                     &r->o.thresholds, e);
    sample_unref(prev);
    struct shared_sample *s = NULL;
    if (rc == 0)
        rc = pack_sample(&sum, doc, len, &s, e);
    if (rc < 0) {
        error_prefix(e, "node %s: snapshot %llu", id, (unsigned long long)seq);
        cluster_registry_count_refused(r, id);
        return rc;
    }
    s->s.seq = seq;
    s->s.received_at = now;
    *out = s;
    return 0;
}

int cluster_registry_push_document(struct cluster_registry *r, const char *id, uint64_t seq,
                                   const struct cluster_node_facts *facts, const char *doc,
                                   size_t len, double now, struct error *e)
{
    if (seq == 0)
        return error_set(e, -EINVAL, "node %s: sequence numbers start at 1", id);
    /* The expensive part, outside the lock. */
    struct shared_sample *s;
    int rc = make_sample(r, id, seq, facts, doc, len, now, &s, e);
    if (rc < 0)
        return rc;

    /* Another push of the same node may have come in meanwhile: the
     * sequence is checked again where it counts. */
    struct node *n = NULL;
    struct shared_sample *old = NULL;
    pthread_mutex_lock(&r->lock);
    rc = find_for_push(r, id, seq, &n, e);
    if (rc == 0) {
        old = n->sample;
        n->sample = s;
        if (n->last_seq)
            n->lost += seq - n->last_seq - 1;
        n->last_seq = seq;
        n->pushes++;
        n->last_seen = now;
        if (n->reported != CLUSTER_NODE_ONLINE) {
            n->reported = CLUSTER_NODE_ONLINE;
            emit(r, CLUSTER_EVENT_STATUS, id, CLUSTER_NODE_ONLINE, NULL, now);
        }
    }
    pthread_mutex_unlock(&r->lock);
    sample_unref(rc == 0 ? old : s);
    return rc;
}

int cluster_registry_push(struct cluster_registry *r, const char *id, uint64_t seq,
                          struct snapshot *snap, double now, struct error *e)
{
    struct cluster_node_facts facts;
    int rc = cluster_node_facts_from_snapshot(&facts, snap, e);
    snapshot_free(snap);
    if (rc == 0)
        rc = cluster_registry_push_document(r, id, seq, &facts, NULL, 0, now, e);
    cluster_node_facts_clear(&facts);
    return rc;
}

void cluster_registry_count_refused(struct cluster_registry *r, const char *id)
{
    pthread_mutex_lock(&r->lock);
    struct node *n = *slot_of(r, id);
    if (n)
        n->refused++;
    pthread_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------ time */

/* Every few seconds, the free pages inside the heap go back to the system.
 * Thousands of pushes a second replace samples all over the heap and the
 * reads over every node build documents of megabytes there: without it the
 * free holes between the nodes' samples stayed resident (bench/cluster:
 * 170 to 270 MiB at 10,000 nodes from one run to the next).  Called on
 * the ticker thread, never under the registry's lock. */
static void trim_heap(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void cluster_registry_tick(struct cluster_registry *r, double now)
{
    struct node *gone = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->bucket_count; i++) {
        for (struct node **p = &r->buckets[i]; *p;) {
            struct node *n = *p;
            const struct cluster_node_info *info = &n->info->info;
            enum cluster_node_status st =
                cluster_node_status_at(&r->o, info->interval_s, n->last_seen, now);
            if (st != n->reported) {
                n->reported = st;
                emit(r, CLUSTER_EVENT_STATUS, info->id, st, NULL, now);
            }
            if (st == CLUSTER_NODE_OFFLINE && r->o.retention_s > 0 &&
                now - n->last_seen >= r->o.retention_s) {
                emit(r, CLUSTER_EVENT_LEFT, info->id, st, "retention", now);
                *p = n->next;
                r->count--;
                n->next = gone;
                gone = n;
                continue;
            }
            p = &n->next;
        }
    }
    bool trim = now - r->trimmed_at >= TRIM_EVERY_S || now < r->trimmed_at;
    if (trim)
        r->trimmed_at = now;
    pthread_mutex_unlock(&r->lock);
    for (struct node *next; gone; gone = next) {
        next = gone->next;
        node_free(gone);
    }
    if (trim)
        trim_heap();
}

/* ------------------------------------------------------------ views */

static void view_take(struct cluster_registry *r, const struct node *n, double now,
                      struct cluster_node_view *v)
{
    __atomic_add_fetch(&n->info->refs, 1, __ATOMIC_ACQ_REL);
    if (n->sample)
        __atomic_add_fetch(&n->sample->refs, 1, __ATOMIC_ACQ_REL);
    *v = (struct cluster_node_view){
        .info = &n->info->info,
        .sample = n->sample ? &n->sample->s : NULL,
        .status = cluster_node_status_at(&r->o, n->info->info.interval_s, n->last_seen, now),
        .registered_at = n->registered_at,
        .last_seen = n->last_seen,
        .pushes = n->pushes,
        .lost = n->lost,
        .refused = n->refused,
    };
}

static int by_node_id(const void *a, const void *b)
{
    const struct cluster_node_view *x = a, *y = b;
    return strcmp(x->info->id, y->info->id);
}

int cluster_registry_view(struct cluster_registry *r, double now, struct cluster_view *out,
                          struct error *e)
{
    memset(out, 0, sizeof *out);
    out->taken_at = now;
    pthread_mutex_lock(&r->lock);
    out->nodes = malloc((r->count ? r->count : 1) * sizeof *out->nodes);
    if (out->nodes)
        for (size_t i = 0; i < r->bucket_count; i++)
            for (const struct node *n = r->buckets[i]; n; n = n->next)
                view_take(r, n, now, &out->nodes[out->count++]);
    pthread_mutex_unlock(&r->lock);
    if (!out->nodes)
        return error_set(e, -ENOMEM, "out of memory copying the node registry");
    qsort(out->nodes, out->count, sizeof *out->nodes, by_node_id);
    return 0;
}

int cluster_registry_view_node(struct cluster_registry *r, const char *id, double now,
                               struct cluster_view *out, struct error *e)
{
    memset(out, 0, sizeof *out);
    out->taken_at = now;
    out->nodes = malloc(sizeof *out->nodes);
    if (!out->nodes)
        return error_set(e, -ENOMEM, "out of memory copying node %s", id);
    pthread_mutex_lock(&r->lock);
    const struct node *n = *slot_of(r, id);
    if (n)
        view_take(r, n, now, &out->nodes[out->count++]);
    pthread_mutex_unlock(&r->lock);
    if (n)
        return 0;
    cluster_view_clear(out);
    return error_set(e, -ENOENT, "node %s is not registered", id);
}

void cluster_view_clear(struct cluster_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        /* Both point at the first member of their shared wrapper. */
        info_unref((struct shared_info *)(void *)v->nodes[i].info);
        sample_unref((struct shared_sample *)(void *)v->nodes[i].sample);
    }
    free(v->nodes);
    memset(v, 0, sizeof *v);
}
