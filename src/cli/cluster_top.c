/* cluster_top.c - the frames of `gpuctl top --cluster URL`: a thread polls
 * the coordinator's GET /api/cluster/snapshot every interval, decodes each
 * node's snapshot document (doc_snapshot_decode, as list --cluster does)
 * and joins them into one frame for the monitor, with the node each device
 * and process came from (struct tui_nodes), so the monitor's own panels and
 * table draw the cluster with a NODE column.
 *
 * It polls the snapshot route rather than reading the cluster WebSocket:
 * the process table needs every node's whole document, and the WebSocket
 * carries by design only four GPU figures of what changed.  One request at
 * a time, on the thread: a slow coordinator delays the next poll, never
 * the keys.  When the coordinator stops answering, the last frame stays
 * with the reason in the header (feed_status.error), never as live data.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "cli/cluster_top.h"
#include "cli/frame_slot.h"
#include "cluster/agent.h"
#include "core/units.h"
#include "doc/snapshot_doc.h"
#include "feed/feed.h"
#include "tui/tui.h"

/* One frame's nodes, owned (struct tui_nodes points into it). */
struct frame_nodes {
    struct tui_nodes pub;
    struct tui_node *nodes;
    char **texts;                 /* every id and note, freed with it */
    size_t text_count;
    size_t *device_node;
    int *device_index;
    char summary[256];
};

struct cli_cluster_top {
    char url[2048];               /* .../api/cluster/snapshot */
    const char *base;
    const char *token;
    double interval_s;
    long timeout_s;
    struct filter only;           /* --only, applied to each node's own indices */
    pthread_t thread;
    bool running;
    int stop_fd;
    struct tui_source source;
    struct cli_frame_slot slot;   /* the newest frame, its nodes as the extra */
    struct frame_nodes *shown_nodes;   /* those of the frame taken last (monitor's thread) */
    char first_error[ERROR_MSG_MAX];   /* the last poll's failure, "" after a success */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void frame_nodes_free(void *arg)
{
    struct frame_nodes *fn = arg;
    if (!fn)
        return;
    for (size_t i = 0; i < fn->text_count; i++)
        free(fn->texts[i]);
    free(fn->texts);
    free(fn->nodes);
    free(fn->device_node);
    free(fn->device_index);
    free(fn);
}

/* ---- joining the nodes' documents ---------------------------------------------------- */

/* One node as decoded: its snapshot (devices not asked for by --only
 * already left out), or the reason it shows none. */
struct decoded {
    const char *id, *status;
    struct snapshot *snap;
    char note[ERROR_MSG_MAX];
};

/* Leaves out the devices --only does not name, with their processes. */
static void keep_only(struct snapshot *s, const struct filter *only)
{
    if (!only->only || !s->device_count)
        return;
    bool *visible = calloc(s->device_count, sizeof *visible);
    if (!visible)
        return;                   /* out of memory: every GPU stays */
    filter_devices(only, s->devices, s->device_count, NULL, visible);
    size_t kept = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        if (visible[i])
            s->devices[kept++] = s->devices[i];
        else
            model_device_clear(&s->devices[i]);
    }
    s->device_count = kept;
    free(visible);
    size_t procs = 0;
    for (size_t i = 0; i < s->gproc_count; i++)
        if (snapshot_device(s, s->gprocs[i].device_index))
            s->gprocs[procs++] = s->gprocs[i];
    s->gproc_count = procs;
}

static void decode_node(const json_t *node, const struct filter *only, struct decoded *d)
{
    d->id = json_string_value(json_object_get(node, "id"));
    d->status = json_string_value(json_object_get(node, "status"));
    const json_t *doc = json_object_get(node, "snapshot");
    struct error e = {0};
    if (!d->id)
        d->id = "?";
    if (!doc || json_is_null(doc))
        snprintf(d->note, sizeof d->note, "%s, no snapshot yet", d->status ? d->status : "?");
    else if (d->status && !strcmp(d->status, "offline"))
        snprintf(d->note, sizeof d->note, "offline since %s",
                 json_string_value(json_object_get(node, "last_seen"))
                     ? json_string_value(json_object_get(node, "last_seen")) : "?");
    else if (doc_snapshot_decode(doc, &d->snap, &e) == 0)
        keep_only(d->snap, only);
    else if (snprintf(d->note, sizeof d->note, "its snapshot does not decode: %s", e.msg) < 0)
        snprintf(d->note, sizeof d->note, "its snapshot does not decode");
}

static char *keep_text(struct frame_nodes *fn, const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    if (copy)
        fn->texts[fn->text_count++] = copy;
    return copy;
}

/* "5 nodes: 3 online, 1 stale, 1 offline  GPUs 7  memory 12.0GiB / 560GiB
 * mean utilisation 41 %", from the coordinator's totals. */
static void summary_of(const json_t *totals, char *buf, size_t size)
{
    char used[UNITS_BYTES_BUFSZ], total[UNITS_BYTES_BUFSZ];
    units_format_bytes((uint64_t)json_integer_value(json_object_get(totals, "memory_used_bytes")),
                       used, sizeof used);
    units_format_bytes((uint64_t)json_integer_value(json_object_get(totals,
                                                                    "memory_total_bytes")),
                       total, sizeof total);
    const json_t *util = json_object_get(totals, "mean_utilization_pct");
    char mean[32] = "N/A";
    if (json_is_number(util))
        snprintf(mean, sizeof mean, "%.0f%%", json_number_value(util));
    snprintf(buf, size, "NODES %lld: %lld online, %lld stale, %lld offline   GPUs %lld   "
             "MEM %s / %s   mean UTIL %s",
             json_integer_value(json_object_get(totals, "nodes")),
             json_integer_value(json_object_get(totals, "nodes_online")),
             json_integer_value(json_object_get(totals, "nodes_stale")),
             json_integer_value(json_object_get(totals, "nodes_offline")),
             json_integer_value(json_object_get(totals, "gpus")), used, total, mean);
}

/* Moves every node's devices, GPU processes and host processes into s,
 * devices renumbered in node order; fills fn's per-device tables. */
static void move_parts(struct decoded *d, size_t n, struct snapshot *s, struct frame_nodes *fn)
{
    for (size_t i = 0; i < n; i++) {
        struct tui_node *tn = &fn->nodes[i];
        tn->id = keep_text(fn, d[i].id);
        tn->note = d[i].note[0] ? keep_text(fn, d[i].note) : NULL;
        tn->stale = d[i].status && !strcmp(d[i].status, "stale");
        tn->device_first = s->device_count;
        tn->hproc_first = s->hproc_count;
        struct snapshot *ns = d[i].snap;
        if (!ns)
            continue;
        for (size_t k = 0; k < ns->gproc_count; k++) {
            struct gpu_process gp = ns->gprocs[k];
            const struct device *dev = snapshot_device(ns, gp.device_index);
            if (!dev)
                continue;             /* a GPU --only left out */
            gp.device_index = (int)(s->device_count + (size_t)(dev - ns->devices));
            s->gprocs[s->gproc_count++] = gp;
        }
        for (size_t k = 0; k < ns->device_count; k++) {
            fn->device_node[s->device_count] = i;
            fn->device_index[s->device_count] = ns->devices[k].index;
            s->devices[s->device_count] = ns->devices[k];
            s->devices[s->device_count].index = (int)s->device_count;
            s->device_count++;
        }
        if (ns->hproc_count)     /* none: hprocs may be NULL */
            memcpy(s->hprocs + s->hproc_count, ns->hprocs,
                   ns->hproc_count * sizeof *ns->hprocs);
        s->hproc_count += ns->hproc_count;
        tn->device_count = ns->device_count;
        tn->hproc_count = ns->hproc_count;
        /* the parts now belong to s: only the arrays that held them go */
        free(ns->devices);
        free(ns->gprocs);
        free(ns->hprocs);
        free(ns);
        d[i].snap = NULL;
    }
}

static int join(const json_t *doc, const char *base, const struct filter *only,
                struct snapshot **snap_out, struct frame_nodes **nodes_out, struct error *e)
{
    const json_t *list = json_object_get(doc, "nodes");
    if (!json_is_array(list) || !json_is_object(json_object_get(doc, "totals")))
        return error_set(e, -EINVAL, "%s: not a cluster snapshot document", base);
    size_t n = json_array_size(list), devices = 0, gprocs = 0, hprocs = 0;
    struct decoded *d = calloc(n ? n : 1, sizeof *d);
    struct frame_nodes *fn = calloc(1, sizeof *fn);
    struct snapshot *s = calloc(1, sizeof *s);
    int rc = d && fn && s ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        decode_node(json_array_get(list, i), only, &d[i]);
        if (d[i].snap) {
            devices += d[i].snap->device_count;
            gprocs += d[i].snap->gproc_count;
            hprocs += d[i].snap->hproc_count;
        }
    }
    if (rc == 0) {
        fn->nodes = calloc(n ? n : 1, sizeof *fn->nodes);
        fn->texts = calloc(2 * n + 1, sizeof *fn->texts);
        fn->device_node = calloc(devices ? devices : 1, sizeof *fn->device_node);
        fn->device_index = calloc(devices ? devices : 1, sizeof *fn->device_index);
        s->devices = calloc(devices ? devices : 1, sizeof *s->devices);
        s->gprocs = calloc(gprocs ? gprocs : 1, sizeof *s->gprocs);
        s->hprocs = calloc(hprocs ? hprocs : 1, sizeof *s->hprocs);
        if (!fn->nodes || !fn->texts || !fn->device_node || !fn->device_index || !s->devices ||
            !s->gprocs || !s->hprocs)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        move_parts(d, n, s, fn);
        clock_gettime(CLOCK_MONOTONIC, &s->mono);
        clock_gettime(CLOCK_REALTIME, &s->wall);
        snprintf(s->host.hostname, sizeof s->host.hostname, "cluster %s", base);
        summary_of(json_object_get(doc, "totals"), fn->summary, sizeof fn->summary);
        fn->pub = (struct tui_nodes){.nodes = fn->nodes, .count = n,
                                     .device_node = fn->device_node,
                                     .device_index = fn->device_index, .summary = fn->summary};
    }
    for (size_t i = 0; d && i < n; i++)
        snapshot_free(d[i].snap);
    free(d);
    if (rc < 0) {
        frame_nodes_free(fn);
        snapshot_free(s);
        return error_set(e, rc, "out of memory reading the cluster's snapshot");
    }
    *snap_out = s;
    *nodes_out = fn;
    return 0;
}

/* ---- the polling thread -------------------------------------------------------------- */

static void set_error(struct cli_cluster_top *t, const struct error *e)
{
    /* the header names the coordinator already: its URL is left out of the
     * reason, which has one line for it */
    size_t n = strlen(t->url);
    const char *why = !strncmp(e->msg, t->url, n) && !strncmp(e->msg + n, ": ", 2)
                          ? e->msg + n + 2 : e->msg;
    if (snprintf(t->first_error, sizeof t->first_error, "coordinator: %s", why) < 0)
        snprintf(t->first_error, sizeof t->first_error, "the coordinator does not answer");
    cli_frame_slot_fail(&t->slot, t->first_error);
}

static void poll_once(struct cli_cluster_top *t)
{
    char *body = NULL;
    size_t len = 0;
    struct error e = {0};
    if (cluster_http_get(t->url, t->token, t->timeout_s, &body, &len, &e) < 0) {
        set_error(t, &e);
        return;
    }
    json_error_t je;
    json_t *doc = json_loadb(body, len, 0, &je);
    free(body);
    struct snapshot *snap = NULL;
    struct frame_nodes *fn = NULL;
    struct feed_frame *fr = NULL;
    int rc = doc ? join(doc, t->base, &t->only, &snap, &fn, &e)
                 : error_set(&e, -EINVAL, "%s: not JSON: %s", t->url, je.text);
    json_decref(doc);
    if (rc == 0 && (rc = feed_frame_wrap(snap, false, &fr, &e)) < 0)
        frame_nodes_free(fn);
    if (rc < 0) {
        set_error(t, &e);
        return;
    }
    t->first_error[0] = '\0';
    cli_frame_slot_put(&t->slot, fr, fn);
}

/* The first poll was the opener's; then one every interval, counted from
 * the start of the last. */
static void *drive(void *arg)
{
    struct cli_cluster_top *t = arg;
    double started = now_s();
    for (;;) {
        double wait = t->interval_s - (now_s() - started);
        struct pollfd p = {.fd = t->stop_fd, .events = POLLIN};
        if (poll(&p, 1, wait > 0 ? (int)(wait * 1000) : 0) > 0)
            return NULL;
        started = now_s();
        poll_once(t);
    }
}

/* ---- the monitor's side -------------------------------------------------------------- */

static int source_fd(void *ctx)
{
    return ((struct cli_cluster_top *)ctx)->slot.efd;
}

static struct feed_frame *source_take(void *ctx)
{
    struct cli_cluster_top *t = ctx;
    void *nodes = NULL;
    struct feed_frame *fr = cli_frame_slot_take(&t->slot, &nodes);
    if (fr) {
        frame_nodes_free(t->shown_nodes);
        t->shown_nodes = nodes;      /* the frame's nodes go with it */
    }
    return fr;
}

static const struct tui_nodes *source_nodes(void *ctx)
{
    struct cli_cluster_top *t = ctx;
    return t->shown_nodes ? &t->shown_nodes->pub : NULL;
}

static void source_status(void *ctx, struct feed_status *out)
{
    cli_frame_slot_status(&((struct cli_cluster_top *)ctx)->slot, out);
}

/* ---- life ---------------------------------------------------------------------------- */

int cli_cluster_top_open(struct cli_cluster_top **out, const struct cli_cluster_top_options *o,
                         struct error *e)
{
    *out = NULL;
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
        return error_set(e, -EINVAL, "--cluster \"%s\": expected http://HOST:PORT or "
                                     "https://HOST:PORT", o->url);
    struct cli_cluster_top *t = calloc(1, sizeof *t);
    if (!t)
        return error_set(e, -ENOMEM, "out of memory");
    t->stop_fd = -1;
    size_t base_len = strlen(o->url);
    while (base_len > 0 && o->url[base_len - 1] == '/')
        base_len--;                        /* "http://head:8080/" names the same */
    snprintf(t->url, sizeof t->url, "%.*s/api/cluster/snapshot", (int)base_len, o->url);
    t->base = o->url;
    t->token = o->token;
    t->interval_s = o->interval_s;
    t->timeout_s = o->timeout_s > 0 ? o->timeout_s : 5;
    t->only.only = o->only;
    t->only.only_count = o->only_count;
    t->source = (struct tui_source){.ctx = t, .fd = source_fd, .take = source_take,
                                    .status = source_status, .nodes = source_nodes};
    int rc = cli_frame_slot_init(&t->slot, frame_nodes_free, e);
    if (rc == 0 && (t->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
        rc = error_set(e, -errno, "eventfd: %s", strerror(errno));
    if (rc == 0) {
        poll_once(t);      /* a coordinator that does not answer at all is said at once */
        if (t->first_error[0])
            rc = error_set(e, -EIO, "--cluster %s: %s", o->url, t->first_error);
    }
    if (rc == 0) {
        rc = cli_thread_start_unsignalled(&t->thread, drive, t);
        t->running = rc == 0;
        if (rc < 0)
            error_set(e, rc, "cannot start the cluster's polling thread: %s", strerror(-rc));
    }
    if (rc < 0) {
        cli_cluster_top_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

const struct tui_source *cli_cluster_top_source(struct cli_cluster_top *t)
{
    return &t->source;
}

void cli_cluster_top_close(struct cli_cluster_top *t)
{
    if (!t)
        return;
    uint64_t one = 1;
    if (t->running) {
        if (write(t->stop_fd, &one, sizeof one) < 0) {
            /* an eventfd takes a write unless its counter is full: readable then */
        }
        pthread_join(t->thread, NULL);
    }
    frame_nodes_free(t->shown_nodes);
    cli_frame_slot_clear(&t->slot);
    if (t->stop_fd >= 0)
        close(t->stop_fd);
    free(t);
}
