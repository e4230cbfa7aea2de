/* serve.c - gpuctl serve: routes, the per-frame renderings, and the
 * start and stop of the feed, the HTTP layer and the WebSocket loop.
 *
 * One feed subscription, taken on the WebSocket loop's thread, drives
 * everything: on each frame that thread renders the snapshot document (as
 * `gpuctl list --details --output json` builds it), the devices-only
 * document, the /metrics text and the /ws message once, publishes them
 * under a lock, and offers the message to every WebSocket client.  HTTP
 * handlers run on libmicrohttpd's threads and take references to what is
 * published; a request with filters builds its document from the published
 * frame.  Nothing here calls a source.
 */
#include "net/serve.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/filter.h"
#include "core/units.h"
#include "doc/audit_doc.h"
#include "doc/json.h"
#include "doc/kill_doc.h"
#include "doc/policies_doc.h"
#include "doc/select_doc.h"
#include "doc/snapshot_doc.h"
#include "mcp/feed_env.h"
#include "mcp/http.h"
#include "mcp/tools.h"
#include "net/blob.h"
#include "net/http.h"
#include "net/mcp_route.h"
#include "net/metrics.h"
#include "net/openapi.h"
#include "net/pods.h"
#include "net/reset_body.h"
#include "net/select_query.h"
#include "net/web.h"
#include "net/wsloop.h"
#include "ops/kill.h"
#include "policy/guard_config.h"
#include "policy/policy_file.h"
#include "store/audit.h"

#define QUERY_MAX_ITEMS 256

/* What one frame renders to; replaced whole on each frame. */
struct published {
    struct feed_frame *frame;
    struct net_blob *snapshot;    /* the list --details document */
    struct net_blob *gpus;        /* the same without processes */
    struct net_blob *metrics;
    struct net_blob *ws;          /* the /ws message, a whole frame */
};

struct serve {
    const struct serve_options *o;
    struct feed *feed;
    struct feed_sub *sub;
    struct wsloop *ws;
    pthread_mutex_t lock;         /* guards pub */
    struct published pub;
    struct mcp_feed_env mcp_env;  /* MCP's tools read the same feed */
    struct mcp_http *mcp;         /* the endpoint at /mcp */
    double last_render_s;         /* loop thread only */
    struct ws_sub *subs;          /* /ws subscriptions in use (loop thread only) */
    /* Why there is no feed (a coordinator on a machine without GPUs,
     * serve_options.source_optional); "" when sampling. */
    char no_source[ERROR_MSG_MAX];
    struct net_blob *openapi;     /* the OpenAPI document of the routes served */
};

/* A /ws subscription: which GPUs, and whether processes are wanted.
 * Clients asking the same share one, so a frame is rendered once per
 * distinct subscription, not once per client. */
struct ws_sub {
    unsigned refs;
    uint64_t gpu_mask;            /* GPU indices 0..63; 0 with all_gpus */
    bool all_gpus, processes;
    uint64_t seq;                 /* the frame msg was rendered from */
    struct net_blob *msg;
    struct ws_sub *next;
};

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The compact JSON of doc and a newline, as a blob; takes doc. */
static struct net_blob *json_blob(json_t *doc, struct error *e)
{
    struct net_blob *b = http_json_blob(doc);
    if (!b && doc)
        error_set(e, -ENOMEM, "out of memory writing a document");
    return b;
}

/* The snapshot document of s under r as a blob of compact text with the
 * trailing newline (as http_json_blob writes a tree), written straight
 * from the snapshot: the frame's full document is only sent, never
 * changed, so it needs no tree. */
static struct net_blob *snapshot_blob(const struct snapshot *s,
                                      const struct doc_snapshot_request *r, struct error *e)
{
    struct doc_snapshot_view v;
    char *text = NULL;
    size_t n = 0;
    if (doc_snapshot_view_init(&v, s, r, e) == 0)
        text = doc_snapshot_dumps_view(&v, true, &n, e);
    doc_snapshot_view_clear(&v);
    char *withnl = text ? realloc(text, n + 2) : NULL;
    if (!withnl) {
        free(text);
        if (text)
            error_set(e, -ENOMEM, "out of memory writing a document");
        return NULL;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    return net_blob_take(withnl, n + 1);
}

/* The devices-only document: the snapshot document with no processes. */
static json_t *devices_only(json_t *doc)
{
    if (doc && json_object_set_new(doc, "procs", json_array()) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- per-frame rendering (WebSocket loop thread) ---- */

/* The /ws message around a document already written as JSON text (the
 * snapshot blob, without its newline): the 155 KiB of an 8-GPU snapshot
 * are not serialised a second time each frame. */
static struct net_blob *ws_message_around(const struct feed_frame *f, const struct net_blob *doc)
{
    char head[128];
    int n = snprintf(head, sizeof head, "{\"type\":\"snapshot\",\"seq\":%llu,\"stale\":%s,\"data\":",
                     (unsigned long long)f->seq, f->stale ? "true" : "false");
    size_t body = net_blob_len(doc);
    if (body && net_blob_data(doc)[body - 1] == '\n')
        body--;
    size_t len = (size_t)n + body + 1;
    char *text = malloc(len);
    if (!text)
        return NULL;
    memcpy(text, head, (size_t)n);
    memcpy(text + n, net_blob_data(doc), body);
    text[len - 1] = '}';
    struct net_blob *b = wsloop_text_frame(text, len);
    free(text);
    return b;
}

static struct net_blob *render_ws_message(const struct feed_frame *f, json_t *doc)
{
    json_t *msg = json_object();
    if (!msg)
        return NULL;
    doc_json_put(msg, "type", json_string("snapshot"));
    doc_json_put(msg, "seq", json_integer((json_int_t)f->seq));
    doc_json_put(msg, "stale", json_boolean(f->stale));
    doc_json_put(msg, "data", json_incref(doc));
    char *text = json_dumps(msg, doc_json_dump_flags(true));
    json_decref(msg);
    if (!text)
        return NULL;
    struct net_blob *b = wsloop_text_frame(text, strlen(text));
    free(text);
    return b;
}

static struct net_blob *render_metrics(struct serve *sv, const struct feed_frame *f)
{
    const struct serve_options *o = sv->o;
    double start = now_mono();
    double taken = (double)f->snap->mono.tv_sec + f->snap->mono.tv_nsec / 1e9;
    struct metrics_options mo = {
        .hostname = o->hostname, .max_processes = o->metrics_max_processes,
        .version = o->version, .revision = o->revision,
        .last_render_s = sv->last_render_s, .sample_age_s = start - taken,
    };
    char *text;
    size_t len;
    struct error e = {0};
    /* the kubelet's pod directories: a missing one is no pods, not an error */
    struct pod_names pods;
    if (pods_read(o->pods_dir, &pods, &e) == 0)
        mo.pods = &pods;
    int rc = metrics_render(f->snap, f->device_stale, &mo, &text, &len, &e);
    pods_clear(&pods);
    if (rc < 0)
        return NULL;
    sv->last_render_s = now_mono() - start;
    return net_blob_take(text, len);
}

static void published_clear(struct published *p)
{
    feed_frame_unref(p->frame);
    net_blob_unref(p->snapshot);
    net_blob_unref(p->gpus);
    net_blob_unref(p->metrics);
    net_blob_unref(p->ws);
    memset(p, 0, sizeof *p);
}

/* Renders frame f (taking the reference) and publishes it; returns the
 * /ws message (a new reference) or NULL. */
static struct net_blob *publish(struct serve *sv, struct feed_frame *f)
{
    struct published next = {.frame = f};
    struct error e = {0};
    struct doc_snapshot_request all = {.details = true, .self_user = sv->o->self_user};
    struct doc_snapshot_request devices = {.self_user = sv->o->self_user};
    next.snapshot = snapshot_blob(f->snap, &all, &e);
    if (next.snapshot)
        next.ws = ws_message_around(f, next.snapshot);
    next.gpus = json_blob(devices_only(doc_snapshot_build(f->snap, &devices, &e)), &e);
    next.metrics = render_metrics(sv, f);
    if (!next.snapshot || !next.gpus || !next.metrics || !next.ws) {
        /* out of memory: keep serving the previous frame */
        published_clear(&next);
        return NULL;
    }
    pthread_mutex_lock(&sv->lock);
    struct published old = sv->pub;
    sv->pub = next;
    struct net_blob *msg = net_blob_ref(next.ws);
    pthread_mutex_unlock(&sv->lock);
    published_clear(&old);
    return msg;
}

static struct net_blob *on_feed(void *ctx)
{
    struct serve *sv = ctx;
    struct feed_frame *f = feed_sub_take(sv->sub);
    struct error e = {0};
    (void)feed_sub_error(sv->sub, &e);   /* a failed pass: keep the last frame */
    return f ? publish(sv, f) : NULL;
}

static struct net_blob *ws_greeting(void *ctx)
{
    struct serve *sv = ctx;
    pthread_mutex_lock(&sv->lock);
    struct net_blob *b = net_blob_ref(sv->pub.ws);
    pthread_mutex_unlock(&sv->lock);
    return b;
}

/* ---- /ws subscriptions (the WebSocket loop's thread) ---- */

static struct net_blob *ws_error_message(const char *message)
{
    json_t *doc = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code",
                            "invalid_argument", "message", message);
    char *text = doc ? json_dumps(doc, doc_json_dump_flags(true)) : NULL;
    json_decref(doc);
    struct net_blob *b = text ? wsloop_text_frame(text, strlen(text)) : NULL;
    free(text);
    return b;
}

/* The message of the published frame for sub, rendered once per frame. */
static struct net_blob *ws_message_for(void *ctx, void *opaque)
{
    struct serve *sv = ctx;
    struct ws_sub *sub = opaque;
    struct feed_frame *f = sv->pub.frame;   /* written on this thread only */
    if (!f)
        return NULL;
    if (sub->msg && sub->seq == f->seq)
        return net_blob_ref(sub->msg);
    int only[64];
    struct filter filter = {0};
    for (int i = 0; i < 64; i++)
        if (sub->gpu_mask >> i & 1)
            only[filter.only_count++] = i;
    filter.only = sub->all_gpus ? NULL : only;
    struct doc_snapshot_request r = {.filter = &filter, .self_user = sv->o->self_user,
                                     .details = sub->processes};
    struct error e = {0};
    json_t *doc = doc_snapshot_build(f->snap, &r, &e);
    if (doc && !sub->processes)
        doc = devices_only(doc);
    struct net_blob *msg = doc ? render_ws_message(f, doc) : NULL;
    json_decref(doc);
    if (!msg)
        return NULL;
    net_blob_unref(sub->msg);
    sub->msg = msg;
    sub->seq = f->seq;
    return net_blob_ref(msg);
}

static void ws_sub_release(void *ctx, void *opaque)
{
    struct serve *sv = ctx;
    struct ws_sub *sub = opaque;
    if (!sub || --sub->refs)
        return;
    for (struct ws_sub **p = &sv->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    net_blob_unref(sub->msg);
    free(sub);
}

/* Reads {"subscribe": {"gpus": [0, 2], "processes": true}} into *want. */
static int parse_subscribe(const char *text, size_t len, struct ws_sub *want, struct error *e)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    json_t *s = doc ? json_object_get(doc, "subscribe") : NULL;
    int rc = 0;
    if (!doc)
        rc = error_set(e, -EINVAL, "not JSON: %s", jerr.text);
    else if (!json_is_object(s) || json_object_size(doc) != 1)
        rc = error_set(e, -EINVAL, "expected {\"subscribe\": {\"gpus\": [...], "
                                   "\"processes\": true|false}}");
    *want = (struct ws_sub){.all_gpus = true, .processes = true};
    const char *key;
    json_t *v;
    if (rc == 0) {
        json_object_foreach(s, key, v) {
            if (strcmp(key, "processes") == 0 && json_is_boolean(v)) {
                want->processes = json_is_true(v);
            } else if (strcmp(key, "gpus") == 0 && json_is_array(v)) {
                size_t i;
                json_t *g;
                want->all_gpus = false;
                json_array_foreach(v, i, g) {
                    json_int_t idx = json_is_integer(g) ? json_integer_value(g) : -1;
                    if (idx < 0 || idx > 63) {
                        rc = error_set(e, -EINVAL, "gpus: item %zu is not a GPU index (0-63)",
                                       i + 1);
                        break;
                    }
                    want->gpu_mask |= 1ull << idx;
                }
            } else {
                rc = error_set(e, -EINVAL, "subscribe: '%s' is not gpus (a list of indices) "
                                           "or processes (true or false)", key);
            }
            if (rc < 0)
                break;
        }
    }
    json_decref(doc);
    return rc;
}

/* A client's text message: a new subscription, answered at once with the
 * latest frame under it; anything else gets an error message. */
static struct net_blob *ws_on_text(void *ctx, const char *text, size_t len, void **client_sub)
{
    struct serve *sv = ctx;
    struct ws_sub want;
    struct error e = {0};
    if (parse_subscribe(text, len, &want, &e) < 0)
        return ws_error_message(e.msg);
    struct ws_sub *sub = NULL;
    for (struct ws_sub *s = sv->subs; s && !sub; s = s->next)
        if (s->all_gpus == want.all_gpus && s->gpu_mask == want.gpu_mask &&
            s->processes == want.processes)
            sub = s;
    if (!sub) {
        sub = calloc(1, sizeof *sub);
        if (!sub)
            return ws_error_message("out of memory");
        *sub = want;
        sub->refs = 0;
        sub->next = sv->subs;
        sv->subs = sub;
    }
    sub->refs++;
    ws_sub_release(sv, *client_sub);
    *client_sub = sub;
    return ws_message_for(sv, sub);
}

/* /ws is the feed of what this server samples: its GPUs, or on a
 * coordinator that has no GPU source, the cluster's messages. */
static void on_upgrade(void *ctx, int fd, const char *extra, size_t extra_len,
                       struct http_upgraded *up)
{
    struct serve *sv = ctx;
    if (sv->no_source[0] && sv->o->extra_on_upgrade)
        sv->o->extra_on_upgrade(sv->o->extra_upgrade_ctx, fd, extra, extra_len, up);
    else
        wsloop_add(sv->ws, fd, extra, extra_len, up);
}

/* ---- taking what is published (server threads) ---- */

/* A new reference to the published frame, or NULL with e set (503). */
static struct feed_frame *take_frame(struct serve *sv, struct error *e)
{
    pthread_mutex_lock(&sv->lock);
    struct feed_frame *f = sv->pub.frame ? feed_frame_ref(sv->pub.frame) : NULL;
    pthread_mutex_unlock(&sv->lock);
    if (!f)
        error_set(e, -EAGAIN, "no sample yet: the first one is being taken");
    return f;
}

static int take_blob(struct serve *sv, struct net_blob *const *which, struct http_reply *out,
                     struct error *e)
{
    pthread_mutex_lock(&sv->lock);
    struct net_blob *b = net_blob_ref(*which);
    pthread_mutex_unlock(&sv->lock);
    if (!b)
        return error_set(e, -EAGAIN, "no sample yet: the first one is being taken");
    out->body = b;
    return 0;
}

/* ---- query strings ---- */

struct query {
    const struct serve_options *o;
    struct filter filter;
    int only[QUERY_MAX_ITEMS];
    pid_t pids[QUERY_MAX_ITEMS];
    char users_buf[2048];
    const char *users[QUERY_MAX_ITEMS];
    const char *regex;
    bool containers;
    bool any;                     /* some filter or option was given */
    struct error *e;
};

static bool truthy(const char *v)
{
    return !v || !*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
           strcmp(v, "yes") == 0;
}

/* Checks value as the CLI's option of the same name checks it. */
static int check_like_cli(struct query *q, const char *key, const char *value)
{
    if (!q->o->query_table)
        return 0;
    char name[64];
    snprintf(name, sizeof name, "%s", key);
    for (char *p = name; *p; p++)
        if (*p == '_')
            *p = '-';
    const struct options_spec *spec = options_find(q->o->query_table, name);
    return spec ? options_check_value(spec, value, q->e) : 0;
}

static int add_vendor(struct query *q, const char *v)
{
    if (strcmp(v, "all") == 0) {
        q->filter.vendor_mask = 0;
        return 0;
    }
    enum vendor vendor;
    if (model_vendor_parse(v, &vendor) < 0)
        return error_set(q->e, -EINVAL,
                         "vendor: '%s' is not a vendor (nvidia, amd, intel, simulated or all)", v);
    q->filter.vendor_mask |= 1u << vendor;
    return 0;
}

static int add_item(struct query *q, const char *key, const char *v)
{
    int rc = check_like_cli(q, key, v);
    if (rc < 0)
        return rc;
    if (strcmp(key, "vendor") == 0)
        return add_vendor(q, v);
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    bool number = *v && !*end && v[0] != '-' && v[0] != '+';
    if (strcmp(key, "only") == 0 || strcmp(key, "pid") == 0) {
        size_t *count = key[0] == 'o' ? &q->filter.only_count : &q->filter.pid_count;
        if (!number || n > 4194304)
            return error_set(q->e, -EINVAL, "%s: '%s' is not a whole number", key, v);
        if (*count >= QUERY_MAX_ITEMS)
            return error_set(q->e, -EINVAL, "%s: at most %d values", key, QUERY_MAX_ITEMS);
        if (key[0] == 'o')
            q->only[(*count)++] = (int)n;
        else
            q->pids[(*count)++] = (pid_t)n;
        return 0;
    }
    /* user */
    if (q->filter.user_count >= QUERY_MAX_ITEMS)
        return error_set(q->e, -EINVAL, "user: at most %d values", QUERY_MAX_ITEMS);
    q->users[q->filter.user_count++] = v;
    return 0;
}

/* Splits a comma list (copied into the query's buffer for users). */
static int add_list(struct query *q, const char *key, const char *value)
{
    size_t used = 0;
    for (size_t i = 0; i < q->filter.user_count; i++)
        used += strlen(q->users[i]) + 1;
    const char *p = value;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len && used + len + 1 > sizeof q->users_buf)
            return error_set(q->e, -EINVAL, "%s: the list is too long", key);
        if (len) {
            char *item = q->users_buf + used;
            memcpy(item, p, len);
            item[len] = '\0';
            used += len + 1;
            int rc = add_item(q, key, item);
            if (rc < 0)
                return rc;
        }
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static int take_query_arg(void *cls, const char *key, const char *value)
{
    struct query *q = cls;
    q->any = true;
    if (strcmp(key, "vendor") == 0 || strcmp(key, "only") == 0 || strcmp(key, "pid") == 0)
        return add_list(q, key, value ? value : "");
    if (strcmp(key, "user") == 0) {
        q->filter.users_set = true;
        return value && *value ? add_list(q, key, value) : 0;
    }
    if (strcmp(key, "filter") == 0) {
        q->regex = value ? value : "";
        return 0;
    }
    bool *flag = strcmp(key, "compute") == 0        ? &q->filter.compute
               : strcmp(key, "graphics") == 0       ? &q->filter.graphics
               : strcmp(key, "only_visible") == 0   ? &q->filter.only_visible
               : strcmp(key, "containers") == 0     ? &q->containers
               : NULL;
    if (!flag)
        return error_set(q->e, -EINVAL,
                         "unknown query parameter '%s' (known: vendor, only, user, pid, filter, "
                         "compute, graphics, only_visible, containers)", key);
    if (value && *value && !truthy(value) && strcmp(value, "0") != 0 &&
        strcmp(value, "false") != 0 && strcmp(value, "no") != 0)
        return error_set(q->e, -EINVAL, "%s: '%s' is not true or false", key, value);
    *flag = truthy(value);
    return 0;
}

/* Reads the request's query into q; returns 0 or -EINVAL with e set. */
static int read_query(const struct http_request *req, struct query *q)
{
    int rc = http_request_query_each(req, take_query_arg, q);
    if (rc < 0)
        return rc;
    q->filter.only = q->filter.only_count ? q->only : NULL;
    q->filter.pids = q->pids;
    q->filter.users = q->users;
    if (q->regex && filter_set_regex(&q->filter, q->regex, q->e) < 0) {
        error_prefix(q->e, "filter");
        return -EINVAL;
    }
    return 0;
}

/* The snapshot document of the published frame under the request's query
 * (and only `index` when >= 0); details as asked. */
static json_t *build_doc(struct serve *sv, const struct http_request *req, bool details,
                         int index, struct error *e)
{
    struct query q = {.o = sv->o, .e = e};
    if (read_query(req, &q) < 0) {
        filter_clear(&q.filter);
        return NULL;
    }
    if (index >= 0) {
        q.only[0] = index;
        q.filter.only = q.only;
        q.filter.only_count = 1;
    }
    struct feed_frame *f = take_frame(sv, e);
    json_t *doc = NULL;
    if (f) {
        struct doc_snapshot_request r = {
            .filter = &q.filter, .self_user = sv->o->self_user,
            .details = details, .containers = q.containers,
            .cuda_visible_devices = NULL,
        };
        doc = doc_snapshot_build(f->snap, &r, e);
        if (doc && index >= 0 && json_array_size(json_object_get(doc, "gpus")) == 0) {
            json_decref(doc);
            doc = NULL;
            error_set(e, -ENOENT, "no GPU with index %d", index);
        }
    }
    feed_frame_unref(f);
    filter_clear(&q.filter);
    return doc;
}

/* ---- routes ---- */

static int route_snapshot(void *ctx, const struct http_request *req, struct http_reply *out,
                          struct error *e)
{
    json_t *doc = build_doc(ctx, req, true, -1, e);
    if (!doc)
        return e->code ? e->code : -ENOMEM;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static bool has_query(const struct http_request *req);

static int route_snapshot_cached(void *ctx, const struct http_request *req,
                                 struct http_reply *out, struct error *e)
{
    struct serve *sv = ctx;
    if (!has_query(req))
        return take_blob(sv, &sv->pub.snapshot, out, e);
    return route_snapshot(ctx, req, out, e);
}

static int route_gpus(void *ctx, const struct http_request *req, struct http_reply *out,
                      struct error *e)
{
    struct serve *sv = ctx;
    if (!has_query(req))
        return take_blob(sv, &sv->pub.gpus, out, e);
    json_t *doc = devices_only(build_doc(sv, req, false, -1, e));
    if (!doc)
        return e->code ? e->code : -ENOMEM;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_gpu(void *ctx, const struct http_request *req, struct http_reply *out,
                     struct error *e)
{
    char *end;
    unsigned long index = strtoul(req->param, &end, 10);
    if (*end || !*req->param || req->param[0] == '-' || index > 4095)
        return error_set(e, -EINVAL, "'%s' is not a GPU index", req->param);
    json_t *doc = build_doc(ctx, req, true, (int)index, e);
    if (!doc)
        return e->code ? e->code : -ENOMEM;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_processes(void *ctx, const struct http_request *req, struct http_reply *out,
                           struct error *e)
{
    json_t *doc = build_doc(ctx, req, true, -1, e);
    if (!doc)
        return e->code ? e->code : -ENOMEM;
    json_t *procs = json_object();
    if (procs) {
        doc_json_put(procs, "hostname", json_incref(json_object_get(doc, "hostname")));
        doc_json_put(procs, "ts", json_incref(json_object_get(doc, "ts")));
        doc_json_put(procs, "procs", json_incref(json_object_get(doc, "procs")));
    }
    json_decref(doc);
    if (!procs)
        return error_set(e, -ENOMEM, "out of memory");
    out->body = json_blob(procs, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_metrics(void *ctx, const struct http_request *req, struct http_reply *out,
                         struct error *e)
{
    struct serve *sv = ctx;
    (void)req;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return take_blob(sv, &sv->pub.metrics, out, e);
}

static int route_health(void *ctx, const struct http_request *req, struct http_reply *out,
                        struct error *e)
{
    struct serve *sv = ctx;
    (void)req;
    struct error none = {0};
    struct feed_frame *f = take_frame(sv, &none);
    json_t *doc = json_object();
    if (!doc) {
        feed_frame_unref(f);
        return error_set(e, -ENOMEM, "out of memory");
    }
    /* a coordinator without a GPU source is alive with nothing to sample */
    bool sampling = !sv->no_source[0];
    doc_json_put(doc, "status", json_string(!f && sampling ? "starting"
                                            : f && f->stale ? "stale" : "ok"));
    doc_json_put(doc, "version", json_string(sv->o->version ? sv->o->version : ""));
    json_t *last = json_null();
    json_t *age = json_null();
    if (f) {
        char ts[64];
        const struct snapshot *s = f->snap;
        double wall = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
        double taken = (double)s->mono.tv_sec + s->mono.tv_nsec / 1e9;
        if (units_format_rfc3339_utc(wall, ts, sizeof ts) == 0) {
            json_decref(last);
            last = json_string(ts);
        }
        json_decref(age);
        age = doc_json_real(now_mono() - taken, 3);
    }
    doc_json_put(doc, "last_sample", last);
    doc_json_put(doc, "sample_age_s", age);
    doc_json_put(doc, "seq", f ? json_integer((json_int_t)f->seq) : json_null());
    doc_json_put(doc, "ws_clients", json_integer(wsloop_client_count(sv->ws)));
    feed_frame_unref(f);
    if (!f && sampling)
        out->status = 503;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_openapi(void *ctx, const struct http_request *req, struct http_reply *out,
                         struct error *e)
{
    struct serve *sv = ctx;
    (void)req;
    (void)e;
    out->body = net_blob_ref(sv->openapi);
    return 0;
}

/* ---- POST /api/v1/kill ---- */

/* The body of POST /api/v1/kill, as `gpuctl kill`'s options. */
struct kill_body {
    pid_t pids[QUERY_MAX_ITEMS];
    size_t pid_count;
    const char *filter;
    bool batch, force, tree, group, dry_run;
    int signal;
    long timeout_secs;
};

static int body_bool(json_t *v, const char *key, bool *out, struct error *e)
{
    if (!json_is_boolean(v))
        return error_set(e, -EINVAL, "%s: expected true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int body_pids(json_t *v, struct kill_body *b, struct error *e)
{
    if (json_is_integer(v)) {
        json_t *one = json_pack("[O]", v);
        int rc = one ? body_pids(one, b, e) : error_set(e, -ENOMEM, "out of memory");
        json_decref(one);
        return rc;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > QUERY_MAX_ITEMS)
        return error_set(e, -EINVAL, "pids: expected a list of 1 to %d process ids",
                         QUERY_MAX_ITEMS);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        json_int_t pid = json_is_integer(item) ? json_integer_value(item) : 0;
        if (pid < 1 || pid > 4194304)
            return error_set(e, -EINVAL, "pids: item %zu is not a process id", i + 1);
        b->pids[b->pid_count++] = (pid_t)pid;
    }
    return 0;
}

static int body_field(const char *key, json_t *v, struct kill_body *b, struct error *e)
{
    if (strcmp(key, "pids") == 0 || strcmp(key, "pid") == 0)
        return body_pids(v, b, e);
    if (strcmp(key, "filter") == 0) {
        if (!json_is_string(v) || !*json_string_value(v))
            return error_set(e, -EINVAL, "filter: expected a regular expression");
        b->filter = json_string_value(v);
        return 0;
    }
    if (strcmp(key, "signal") == 0) {
        char buf[32];
        if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else if (json_is_string(v))
            snprintf(buf, sizeof buf, "%s", json_string_value(v));
        else
            buf[0] = '\0';
        if (kill_signal_parse(buf, &b->signal) < 0)
            return error_set(e, -EINVAL, "signal: '%s' is not a signal name or number", buf);
        return 0;
    }
    if (strcmp(key, "timeout_secs") == 0) {
        json_int_t t = json_is_integer(v) ? json_integer_value(v) : -1;
        if (t < 0 || t > SERVE_MAX_KILL_TIMEOUT_S)
            return error_set(e, -EINVAL, "timeout_secs: expected 0 to %d seconds",
                             SERVE_MAX_KILL_TIMEOUT_S);
        b->timeout_secs = (long)t;
        return 0;
    }
    bool *flag = strcmp(key, "batch") == 0     ? &b->batch
               : strcmp(key, "force") == 0     ? &b->force
               : strcmp(key, "tree") == 0      ? &b->tree
               : strcmp(key, "group") == 0     ? &b->group
               : strcmp(key, "dry_run") == 0   ? &b->dry_run
               : NULL;
    if (!flag)
        return error_set(e, -EINVAL,
                         "unknown field '%s' (known: pids, filter, batch, signal, timeout_secs, "
                         "force, tree, group, dry_run)", key);
    return body_bool(v, key, flag, e);
}

static int read_kill_body(const struct http_request *req, json_t **root, struct kill_body *b,
                          long default_timeout, struct error *e)
{
    json_error_t jerr;
    *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return error_set(e, -EINVAL, "the body is not JSON: %s (line %d, column %d)", jerr.text,
                         jerr.line, jerr.column);
    if (!json_is_object(*root))
        return error_set(e, -EINVAL, "the body must be a JSON object");
    *b = (struct kill_body){.signal = SIGTERM, .timeout_secs = default_timeout};
    const char *key;
    json_t *v;
    json_object_foreach(*root, key, v) {
        int rc = body_field(key, v, b, e);
        if (rc < 0)
            return rc;
    }
    if ((b->pid_count > 0) == (b->filter != NULL))
        return error_set(e, -EINVAL, "name the processes with either pids or filter");
    return 0;
}

/* The targets: the pids given, or the GPU processes the pattern matches. */
static int add_targets(struct kill_set *set, const struct kill_body *b, const struct snapshot *snap,
                       struct error *e)
{
    for (size_t i = 0; i < b->pid_count; i++) {
        const struct host_process *hp = snapshot_host_process(snap, b->pids[i]);
        int rc = kill_set_add(set, b->pids[i], hp && hp->exists ? hp->start_ticks
                                                                : PROC_IDENT_ANY_START,
                              KILL_ROLE_TARGET, 0, e);
        if (rc < 0)
            return rc;
    }
    if (!b->filter)
        return 0;
    size_t matched;
    return kill_set_add_matches(set, snap, b->filter, &matched, e);
}

static json_t *kill_doc(struct kill_set *set, const struct kill_body *b, enum doc_kill_stage stage,
                        struct error *e)
{
    size_t *order = malloc((set->count ? set->count : 1) * sizeof *order);
    if (!order) {
        error_set(e, -ENOMEM, "out of memory for the kill document");
        return NULL;
    }
    kill_set_order(set, order);
    struct doc_kill_request r = {
        .set = set, .order = order, .stage = stage, .signal = b->signal,
        .timeout_secs = b->timeout_secs, .force = b->force, .tree = b->tree, .group = b->group,
    };
    json_t *doc = doc_kill_build(&r, e);
    free(order);
    return doc;
}

/* The first refusal as the request's error: nothing is signalled then. */
static int first_refusal(const struct kill_set *set, struct error *e)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->items[i].refusal.code)
            return error_set(e, set->items[i].refusal.code, "%s; nothing was signalled",
                             set->items[i].refusal.msg);
    return 0;
}

/* Runs on a thread of its own (HTTP_ACCESS_CHANGE_WAITS): it waits for the
 * processes to end, at most timeout_secs. */
static int route_kill(void *ctx, const struct http_request *req, struct http_reply *out,
                      struct error *e)
{
    struct serve *sv = ctx;
    json_t *root = NULL;
    struct kill_body b;
    int rc = read_kill_body(req, &root, &b, sv->o->kill_timeout_s, e);
    struct feed_frame *f = rc == 0 ? take_frame(sv, e) : NULL;
    if (rc == 0 && !f)
        rc = e->code;
    struct kill_set set;
    bool have_set = rc == 0 && (rc = kill_set_init(&set, e)) == 0;
    if (rc == 0)
        rc = add_targets(&set, &b, f->snap, e);
    if (rc == 0 && kill_set_note_gpus(&set, f->snap) < 0)
        rc = error_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = kill_set_expand(&set, b.tree, b.group, e);
    json_t *doc = NULL;
    if (rc == 0) {
        kill_set_check(&set, !b.force);
        if (b.filter && !b.batch) {
            doc = kill_doc(&set, &b, DOC_KILL_MATCHED, e);   /* what batch would signal */
        } else if ((rc = first_refusal(&set, e)) == 0 && b.dry_run) {
            doc = kill_doc(&set, &b, DOC_KILL_DRY_RUN, e);
        } else if (rc == 0) {
            struct kill_run_options ko = {.signal = b.signal, .timeout_ms = b.timeout_secs * 1000,
                                          .force = b.force};
            rc = kill_set_run(&set, &ko, e);
            doc = rc >= 0 ? kill_doc(&set, &b, DOC_KILL_DONE, e) : NULL;
            rc = rc < 0 ? rc : 0;
        }
        if (rc == 0 && !doc)
            rc = e->code ? e->code : -ENOMEM;
    }
    if (have_set)
        kill_set_free(&set);
    feed_frame_unref(f);
    json_decref(root);
    if (rc < 0)
        return rc;
    /* a new sample shows the processes gone */
    feed_kick(sv->feed);
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

struct any_arg {
    bool found;
};

static int note_arg(void *cls, const char *key, const char *value)
{
    (void)key;
    (void)value;
    ((struct any_arg *)cls)->found = true;
    return 1;
}

static bool has_query(const struct http_request *req)
{
    struct any_arg a = {false};
    http_request_query_each(req, note_arg, &a);
    return a.found;
}

/* ---- routes answered by the MCP tools' code: the same checks, the same documents ---- */

struct args_walk {
    const struct mcp_tool *tool;
    json_t *args;
    struct error *e;
};

static json_t *typed_value(enum mcp_arg_type type, const char *key, const char *v,
                           struct error *e)
{
    char *end;
    if (type == MCP_ARG_STRING)
        return json_string(v);
    if (type == MCP_ARG_BOOLEAN) {
        if (!*v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            return json_true();
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            return json_false();
        error_set(e, -EINVAL, "%s: '%s' is not true or false", key, v);
        return NULL;
    }
    double d = strtod(v, &end);
    if (!*v || *end || !isfinite(d) || (type == MCP_ARG_INTEGER && d != floor(d))) {
        error_set(e, -EINVAL, "%s: '%s' is not %s", key, v,
                  type == MCP_ARG_INTEGER ? "a whole number" : "a number");
        return NULL;
    }
    return type == MCP_ARG_INTEGER ? json_integer((json_int_t)d) : json_real(d);
}

static int add_query_arg(void *cls, const char *key, const char *value)
{
    struct args_walk *w = cls;
    enum mcp_arg_type type = MCP_ARG_STRING;
    for (size_t i = 0; i < w->tool->arg_count; i++)
        if (strcmp(w->tool->args[i].name, key) == 0)
            type = w->tool->args[i].type;
    json_t *v = typed_value(type, key, value ? value : "", w->e);
    if (!v || json_object_set_new(w->args, key, v) < 0)
        return w->e->code ? w->e->code : error_set(w->e, -ENOMEM, "out of memory");
    return 0;
}

/* The query of req as a tool's JSON arguments, each value typed as the
 * tool's argument of that name wants (text stays text for unknown names:
 * the tool's check names them). */
static json_t *query_as_args(const struct mcp_tool *t, const struct http_request *req,
                             struct error *e)
{
    struct args_walk w = {.tool = t, .args = json_object(), .e = e};
    if (!w.args || http_request_query_each(req, add_query_arg, &w) < 0) {
        if (!w.args)
            error_set(e, -ENOMEM, "out of memory");
        json_decref(w.args);
        return NULL;
    }
    return w.args;
}

/* A JSON object body as a tool's arguments ("" counts as {}). */
static json_t *body_as_args(const struct http_request *req, struct error *e)
{
    if (req->body_len == 0)
        return json_object();
    json_error_t jerr;
    json_t *args = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!args)
        error_set(e, -EINVAL, "the body is not JSON: %s (line %d, column %d)", jerr.text,
                  jerr.line, jerr.column);
    else if (!json_is_object(args)) {
        json_decref(args);
        args = NULL;
        error_set(e, -EINVAL, "the body must be a JSON object");
    }
    return args;
}

/* Runs the MCP tool `name` on args (taken), answering its document. */
static int run_tool(struct serve *sv, const char *name, json_t *args, struct http_reply *out,
                    struct error *e)
{
    const struct mcp_tool *t = mcp_tool_find(name);
    if (!args)
        return e->code ? e->code : -ENOMEM;
    int rc = t ? mcp_tool_check_args(t, &sv->mcp_env.env, args, e)
               : error_set(e, -ENOTSUP, "%s is not available in this build", name);
    json_t *doc = NULL;
    if (rc == 0) {
        struct mcp_args a = {.obj = args};
        rc = t->call(&sv->mcp_env.env, &a, &doc, e);
    }
    json_decref(args);
    if (rc < 0)
        return rc;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int query_tool(void *ctx, const char *name, const struct http_request *req,
                      struct http_reply *out, struct error *e)
{
    const struct mcp_tool *t = mcp_tool_find(name);
    if (!t)
        return error_set(e, -ENOTSUP, "%s is not available in this build", name);
    return run_tool(ctx, name, query_as_args(t, req, e), out, e);
}

/* The query as `gpuctl select`'s options (net/select_query.h), answered
 * from the last sample with the select document. */
static int route_select(void *ctx, const struct http_request *req, struct http_reply *out,
                        struct error *e)
{
    struct serve *sv = ctx;
    const struct options_command *table =
        sv->o->option_tables ? sv->o->option_tables("select") : NULL;
    if (!table)
        return error_set(e, -ENOTSUP, "select is not available in this build");
    struct select_query q;
    int rc = select_query_read(table, req, sv->o->self_user, &q, e);
    struct feed_frame *f = rc == 0 ? take_frame(sv, e) : NULL;
    if (!f)
        return rc < 0 ? rc : e->code;
    struct select_result res = {0};
    rc = select_devices(f->snap, &q.c, &res, e);
    json_t *doc = NULL;
    if (rc == 0) {
        struct doc_select_request r = {.constraints = &q.c, .result = &res, .uuid = q.uuid};
        doc = doc_select_build(&r, e);
        rc = doc ? 0 : -ENOMEM;
    }
    select_result_clear(&res);
    feed_frame_unref(f);
    if (rc < 0)
        return rc;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_audit_summary(void *ctx, const struct http_request *req,
                               struct http_reply *out, struct error *e)
{
    return query_tool(ctx, "audit_summary", req, out, e);
}

static int route_rogue(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    return query_tool(ctx, "scan_rogue_activity", req, out, e);
}

static int route_policies(void *ctx, const struct http_request *req, struct http_reply *out,
                          struct error *e)
{
    struct serve *sv = ctx;
    if (has_query(req))
        return error_set(e, -EINVAL, "GET /api/v1/policies takes no query");
    json_t *doc = NULL;
    int rc = mcp_read_policies(&sv->mcp_env.env, &doc, e);
    if (rc < 0)
        return rc;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

static int route_policies_test(void *ctx, const struct http_request *req,
                               struct http_reply *out, struct error *e)
{
    return run_tool(ctx, "test_policies", body_as_args(req, e), out, e);
}

/* Waits (HTTP_ACCESS_CHANGE_WAITS): with force, for the GPU's processes to
 * end, then for the reset. */
static int route_reset(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    struct serve *sv = ctx;
    const struct options_command *table =
        sv->o->option_tables ? sv->o->option_tables("reset") : NULL;
    json_t *body = body_as_args(req, e);
    if (!body)
        return e->code ? e->code : -ENOMEM;
    struct reset_body b;
    json_t *doc = NULL;
    int rc = reset_body_read(table, body, &b, e);
    json_decref(body);
    if (rc == 0)
        rc = mcp_reset_gpus(&sv->mcp_env.env, &b.q, &doc, e);
    reset_body_clear(&b);
    if (rc < 0)
        return rc;
    /* a new sample shows the GPUs after the reset */
    feed_kick(sv->feed);
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

/* Replaces guard.toml with the body (the document GET answers, so what was
 * read can be edited and sent back): parsed and checked whole as the file
 * is (the same messages as the CLI's), then written atomically, or nothing
 * is changed. */
static int route_policies_put(void *ctx, const struct http_request *req,
                              struct http_reply *out, struct error *e)
{
    struct serve *sv = ctx;
    if (req->body_len == 0)
        return error_set(e, -EINVAL, "the body must be the policies document (GET it first)");
    json_t *body = body_as_args(req, e);
    if (!body)
        return e->code;
    char path[4096];
    struct guard_config c;
    bool have = false;
    int rc = policy_config_path(path, sizeof path, "guard.toml", e);
    if (rc == 0) {
        rc = guard_config_from_json(&c, body, "the policies", e);
        have = rc == 0;
    }
    struct feed_frame *f = rc == 0 ? take_frame(sv, e) : NULL;
    if (rc == 0 && f)
        rc = guard_config_check_gpus(&c, f->snap->device_count, NULL, e);
    feed_frame_unref(f);
    if (rc == 0)
        rc = guard_config_save(&c, path, e);
    json_t *doc = rc == 0 ? doc_policies_build(&c, e) : NULL;
    if (rc == 0 && !doc)
        rc = e->code ? e->code : -ENOMEM;
    if (have)
        guard_config_free(&c);
    json_decref(body);
    if (rc < 0) {
        char why[ERROR_MSG_MAX];
        memcpy(why, e->msg, sizeof why);
        error_set(e, rc, "%s; nothing was changed", why);
        return rc;
    }
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

/* ---- GET /api/v1/audit: the records of `gpuctl audit` ---- */

#define AUDIT_MAX_HOURS (24.0 * 31)

struct audit_query {
    double hours;
    const char *user, *process;
    bool gpus;
    struct error *e;
};

static int take_audit_arg(void *cls, const char *key, const char *value)
{
    struct audit_query *q = cls;
    const char *v = value ? value : "";
    if (strcmp(key, "hours") == 0) {
        char *end;
        q->hours = strtod(v, &end);
        if (!*v || *end || !(q->hours > 0) || q->hours > AUDIT_MAX_HOURS)
            return error_set(q->e, -EINVAL, "hours: '%s' is not a number of hours from 0 to %.0f",
                             v, AUDIT_MAX_HOURS);
        return 0;
    }
    if (strcmp(key, "user") == 0 || strcmp(key, "process") == 0) {
        if (!*v)
            return error_set(q->e, -EINVAL, "%s: needs a value", key);
        *(key[0] == 'u' ? &q->user : &q->process) = v;
        return 0;
    }
    if (strcmp(key, "gpus") == 0) {
        q->gpus = truthy(value);
        if (!q->gpus && strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
            return error_set(q->e, -EINVAL, "gpus: '%s' is not true or false", v);
        return 0;
    }
    return error_set(q->e, -EINVAL,
                     "unknown query parameter '%s' (known: hours, user, process, gpus)", key);
}

static int route_audit(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    (void)ctx;
    struct audit_query q = {.hours = 24, .e = e};
    int rc = http_request_query_each(req, take_audit_arg, &q);
    if (rc < 0)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    struct audit_filter f = {.from_ms = now_ms - (int64_t)llround(q.hours * 3600000.0),
                             .to_ms = now_ms + 1, .user = q.user, .process = q.process};
    struct audit_db *db = NULL;
    rc = audit_open(NULL, AUDIT_OPEN_READONLY, &db, e);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    /* nothing recorded yet: an empty answer, which is the truth */
    struct doc_audit_query_request r = {.filter = &f, .database = db ? audit_path(db) : NULL,
                                        .gpus = q.gpus};
    json_t *doc = doc_audit_query_build(db, &r, e);
    audit_close(db);
    if (!doc)
        return e->code ? e->code : -ENOMEM;
    out->body = json_blob(doc, e);
    return out->body ? 0 : -ENOMEM;
}

/* POST, GET and DELETE /mcp: MCP's Streamable HTTP endpoint. */
static int route_mcp(void *ctx, const struct http_request *req, struct http_reply *out,
                     struct error *e)
{
    struct serve *sv = ctx;
    return mcp_route_handle(sv->mcp, req, out, e);
}

static const struct http_route routes[] = {
    {"GET", "/health", HTTP_ACCESS_READ, route_health},
    {"GET", "/metrics", HTTP_ACCESS_READ, route_metrics},
    {"GET", "/api/v1/openapi.json", HTTP_ACCESS_READ, route_openapi},
    {"GET", "/api/v1/snapshot", HTTP_ACCESS_READ, route_snapshot_cached},
    {"GET", "/api/v1/gpus", HTTP_ACCESS_READ, route_gpus},
    {"GET", "/api/v1/gpus/{}", HTTP_ACCESS_READ, route_gpu},
    {"GET", "/api/v1/processes", HTTP_ACCESS_READ, route_processes},
    {"POST", "/api/v1/kill", HTTP_ACCESS_CHANGE_WAITS, route_kill},
    {"POST", "/api/v1/reset", HTTP_ACCESS_CHANGE_WAITS, route_reset},
    {"GET", "/api/v1/select", HTTP_ACCESS_READ, route_select},
    {"GET", "/api/v1/audit", HTTP_ACCESS_READ, route_audit},
    {"GET", "/api/v1/audit/summary", HTTP_ACCESS_READ, route_audit_summary},
    {"GET", "/api/v1/rogue", HTTP_ACCESS_READ, route_rogue},
    {"GET", "/api/v1/policies", HTTP_ACCESS_READ, route_policies},
    {"PUT", "/api/v1/policies", HTTP_ACCESS_CHANGE, route_policies_put},
    {"POST", "/api/v1/policies/test", HTTP_ACCESS_READ, route_policies_test},
    {"POST", "/mcp", HTTP_ACCESS_READ, route_mcp},
    {"GET", "/mcp", HTTP_ACCESS_READ, route_mcp},
    {"DELETE", "/mcp", HTTP_ACCESS_READ, route_mcp},
    /* the dashboard (net/web.c), last: "/{}" must not shadow a route above */
    {"GET", "/", HTTP_ACCESS_PUBLIC, net_web_route},
    {"GET", "/{}", HTTP_ACCESS_PUBLIC, net_web_route},
};

/* ---- start and stop ---- */

static void serve_stop(struct serve *sv, struct http_server *http)
{
    http_server_quiesce(http);
    wsloop_stop(sv->ws);          /* closes the upgraded sockets first */
    if (sv->o->extra_close_clients)
        sv->o->extra_close_clients(sv->o->extra_upgrade_ctx);
    http_server_stop(http);
    mcp_http_free(sv->mcp);
    feed_unsubscribe(sv->sub);
    feed_stop(sv->feed);
    published_clear(&sv->pub);
    net_blob_unref(sv->openapi);
    pthread_mutex_destroy(&sv->lock);
}

/* What a route that reads the samples answers on a server without a GPU
 * source. */
static int route_no_source(void *ctx, const struct http_request *req, struct http_reply *out,
                           struct error *e)
{
    struct serve *sv = ctx;
    (void)req;
    (void)out;
    return error_set(e, -ERROR_GPU_LIBRARY, "%s; this coordinator serves /api/nodes and "
                     "/api/cluster/* only", sv->no_source);
}

/* The routes that answer without a sample: liveness, the API's
 * description, the audit database and the dashboard's files. */
static bool route_needs_samples(const struct http_route *r)
{
    return r->handler != route_health && r->handler != route_openapi &&
           r->handler != route_audit && r->handler != route_audit_summary &&
           r->handler != net_web_route;
}

/* The node's routes followed by the caller's extra ones, with a ctx per
 * route (NULL: the server's); without a GPU source, the node's routes that
 * read samples say so.  Both arrays freed by the caller. */
static int join_routes(const struct serve *sv, struct http_route **routes_out,
                       void ***ctx_out, struct error *e)
{
    const struct serve_options *o = sv->o;
    size_t own = sizeof routes / sizeof *routes, n = own + o->extra_route_count;
    struct http_route *all = calloc(n, sizeof *all);
    void **ctx = calloc(n, sizeof *ctx);
    if (!all || !ctx) {
        free(all);
        free(ctx);
        return error_set(e, -ENOMEM, "out of memory listing the routes");
    }
    memcpy(all, routes, sizeof routes);
    for (size_t i = 0; sv->no_source[0] && i < own; i++)
        if (route_needs_samples(&all[i]))
            all[i].handler = route_no_source;
    for (size_t i = 0; i < o->extra_route_count; i++) {
        all[own + i] = o->extra_routes[i];
        ctx[own + i] = o->extra_route_ctx[i];
    }
    *routes_out = all;
    *ctx_out = ctx;
    return 0;
}

/* The route spelling ("/x/{}") of an OpenAPI path ("/x/{name}") in want;
 * false when it does not fit. */
static bool route_path(const char *path, char want[256])
{
    size_t n = 0;
    for (const char *p = path; *p; p++) {
        if (n + 3 > 256)
            return false;
        want[n++] = *p;
        if (*p == '{') {
            p = strchr(p, '}');
            if (!p)
                return false;
            want[n++] = '}';
        }
    }
    want[n] = '\0';
    return true;
}

/* Whether this server answers the OpenAPI path `path`: a node route unless
 * it reads samples and there is no GPU source (then it answers 503), an
 * extra route or WebSocket of the caller's (the coordinator's) when given. */
static bool serves_path(const struct serve *sv, const char *path, bool extra)
{
    const struct serve_options *o = sv->o;
    char want[256];
    if (!route_path(path, want))
        return false;
    if (extra) {
        if (o->extra_ws_path && !strcmp(o->extra_ws_path, want))
            return true;
        for (size_t i = 0; i < o->extra_route_count; i++)
            if (!strcmp(o->extra_routes[i].path, want))
                return true;
        return false;
    }
    if (!sv->no_source[0])
        return true;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (!strcmp(routes[i].path, want) && !route_needs_samples(&routes[i]))
            return true;
    return !strcmp(want, "/ws") && o->extra_on_upgrade;   /* the cluster feed there */
}

/* The OpenAPI document of what this server serves: the paths marked
 * "x-gpuctl-coordinator" only where the coordinator's routes were given,
 * and without a GPU source none of the routes that read samples, so a
 * client deciding from it what to offer (the dashboard's views) never
 * offers a route that cannot answer. */
static int openapi_build(struct serve *sv, struct error *e)
{
    json_error_t je;
    json_t *doc = json_loads(net_openapi_json, JSON_PRESERVE_ORDER, &je);
    json_t *paths = json_object_get(doc, "paths");
    if (!json_is_object(paths)) {
        json_decref(doc);
        return error_set(e, -EINVAL, "the embedded OpenAPI document does not parse: %s, line %d",
                         je.text, je.line);
    }
    const char *path;
    json_t *item;
    void *tmp;
    json_object_foreach_safe(paths, tmp, path, item) {
        bool extra = json_is_true(json_object_get(item, "x-gpuctl-coordinator"));
        if (!serves_path(sv, path, extra))
            json_object_del(paths, path);
    }
    sv->openapi = http_json_blob(doc);
    return sv->openapi ? 0 : error_set(e, -ENOMEM, "out of memory writing the OpenAPI document");
}

int serve_run(const struct serve_options *o, struct error *e)
{
    struct serve sv = {.o = o};
    if (pthread_mutex_init(&sv.lock, NULL) != 0)
        return error_set(e, -ENOMEM, "cannot create a lock");
    int rc = feed_start(&sv.feed, &o->feed, e);
    if (rc == -ERROR_GPU_LIBRARY && o->source_optional) {
        snprintf(sv.no_source, sizeof sv.no_source, "%s", e->msg);
        *e = (struct error){0};
        rc = 0;
    } else if (rc == 0) {
        rc = feed_subscribe(sv.feed, &sv.sub, e);
    }
    struct http_route *all_routes = NULL;
    void **route_ctx = NULL;
    if (rc == 0)
        rc = openapi_build(&sv, e);
    if (rc == 0)
        rc = join_routes(&sv, &all_routes, &route_ctx, e);
    mcp_feed_env_init(&sv.mcp_env, sv.feed, o->cfg, o->option_tables);
    struct mcp_http_options mo = {.env = &sv.mcp_env.env, .server_version = o->version};
    if (rc == 0)
        rc = mcp_http_new(&sv.mcp, &mo, e);
    struct wsloop_options wo = {
        .max_message = SERVE_MAX_WS_MESSAGE, .watch_fd = sv.sub ? feed_sub_fd(sv.sub) : -1,
        .on_watch = on_feed, .greeting = ws_greeting, .on_text = ws_on_text,
        .message_for = ws_message_for, .sub_release = ws_sub_release, .ctx = &sv,
    };
    if (rc == 0)
        rc = wsloop_start(&sv.ws, &wo, e);
    struct http_server *http = NULL;
    struct http_server_options ho = {
        .listen = o->listen, .token = o->token,
        .tls_cert_pem = o->tls_cert_pem, .tls_key_pem = o->tls_key_pem,
        .max_connections = SERVE_MAX_CONNECTIONS, .max_body = SERVE_MAX_BODY,
        .max_headers = SERVE_MAX_HEADERS, .idle_timeout_s = SERVE_IDLE_TIMEOUT_S,
        .threads = 2, .routes = all_routes,
        .route_count = sizeof routes / sizeof *routes + o->extra_route_count,
        .route_ctx = route_ctx, .ws_path = "/ws", .on_upgrade = on_upgrade, .ctx = &sv,
        .ws_path2 = o->extra_ws_path, .on_upgrade2 = o->extra_on_upgrade,
        .upgrade_ctx2 = o->extra_upgrade_ctx,
    };
    if (rc == 0)
        rc = http_server_start(&http, &ho, e);
    if (rc == 0 && o->on_listening)
        o->on_listening(o->cls, http_server_port(http));
    if (rc == 0 && sv.no_source[0] && o->on_no_source)
        o->on_no_source(o->cls, sv.no_source);
    bool attached = false;
    if (rc == 0 && o->attach)
        attached = (rc = o->attach(o->attach_cls, sv.feed, http_server_port(http), e)) == 0;
    if (rc == 0) {
        struct pollfd p = {.fd = o->stop_fd, .events = POLLIN};
        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
    }
    if (attached && o->detach)
        o->detach(o->attach_cls);
    serve_stop(&sv, http);
    free(all_routes);
    free(route_ctx);
    return rc;
}
