/* coord.c - the coordinator's routes (see coord.h and docs/api.md).
 *
 * Handlers run on the HTTP layer's threads.  A push is decoded here once,
 * in one pass (doc_snapshot_ingest), and its facts and text handed to the
 * registry, which condenses and compresses them outside its lock; reads
 * take a registry view and build their documents from it without holding
 * anything, so no reader delays a push.
 * What a node's registration may say is checked here, with messages that
 * name the key.
 */
#include "cluster/coord.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/agent.h"
#include "cluster/contention.h"
#include "doc/build.h"
#include "doc/contention_doc.h"
#include "doc/json.h"
#include "doc/rogue_doc.h"
#include "doc/snapshot_doc.h"
#include "doc/snapshot_ingest.h"
#include "net/wsloop.h"

/* A forwarded kill may wait for its processes (at most 300 s on the node). */
#define FORWARD_TIMEOUT_S 330

/* What the last WebSocket update said of one node's GPUs. */
struct sent_gpu {
    int index;
    struct opt_f64 util;
    struct opt_u64 mem_used, mem_total;
    struct opt_f64 power_w;
    uint64_t held;
    bool idle;
};

struct sent_node {
    char id[CLUSTER_NODE_ID_MAX];
    uint64_t seq;
    struct sent_gpu *gpus;
    size_t gpu_count;
};

struct cluster_coord {
    struct cluster_registry *registry;
    char *node_token;
    struct wsloop *ws;
    int tick_fd;                       /* written by the ticker, read by the WebSocket loop */
    struct sent_node *sent;            /* by id; the WebSocket loop's alone */
    size_t sent_count;
    uint64_t updates;                  /* updates sent; the WebSocket loop's alone */
    struct cluster_thresholds thresholds;
    pthread_t ticker;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

double cluster_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cluster_registry *cluster_coord_registry(struct cluster_coord *c)
{
    return c->registry;
}

/* ------------------------------------------------------------ ticker */

static void *tick_loop(void *arg)
{
    struct cluster_coord *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        pthread_mutex_unlock(&c->lock);
        cluster_registry_tick(c->registry, cluster_now());
        uint64_t one = 1;
        if (write(c->tick_fd, &one, sizeof one) < 0) {
            /* the counter is full: the loop has not read it yet, fine */
        }
        pthread_mutex_lock(&c->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        while (!c->stopping && pthread_cond_timedwait(&c->wake, &c->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static struct net_blob *ws_update(void *ctx);
static struct net_blob *ws_greeting(void *ctx);

static void sent_clear(struct cluster_coord *c)
{
    for (size_t i = 0; i < c->sent_count; i++)
        free(c->sent[i].gpus);
    free(c->sent);
    c->sent = NULL;
    c->sent_count = 0;
}

static void coord_free(struct cluster_coord *c)
{
    wsloop_stop(c->ws);
    if (c->tick_fd >= 0)
        close(c->tick_fd);
    sent_clear(c);
    cluster_registry_free(c->registry);
    free(c->node_token);
    free(c);
}

/* The ticker and the WebSocket loop block every signal: signals reach the
 * caller's threads (the server's signalfd). */
static int start_threads(struct cluster_coord *c, struct error *e)
{
    struct wsloop_options wo = {.max_message = 4096, .watch_fd = c->tick_fd,
                                .on_watch = ws_update, .greeting = ws_greeting, .ctx = c};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = wsloop_start(&c->ws, &wo, e);
    int prc = rc == 0 ? pthread_create(&c->ticker, NULL, tick_loop, c) : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0)
        rc = error_set(e, -prc, "cannot start the coordinator's ticker: %s", strerror(prc));
    return rc;
}

int cluster_coord_start(struct cluster_coord **out, const struct cluster_coord_options *o,
                        struct error *e)
{
    *out = NULL;
    struct cluster_coord *c = calloc(1, sizeof *c);
    if (!c)
        return error_set(e, -ENOMEM, "out of memory starting the coordinator");
    c->tick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->thresholds = o->registry.thresholds;
    int rc = 0;
    if (c->tick_fd < 0)
        rc = error_set(e, -errno, "cannot create an eventfd: %s", strerror(errno));
    else if (o->node_token && !(c->node_token = strdup(o->node_token)))
        rc = error_set(e, -ENOMEM, "out of memory starting the coordinator");
    if (rc == 0)
        rc = cluster_registry_new(&c->registry, &o->registry, e);
    if (rc < 0) {
        coord_free(c);
        return rc;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);
    if ((rc = start_threads(c, e)) < 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        coord_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cluster_coord_stop(struct cluster_coord *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->ticker, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    coord_free(c);
}

void cluster_coord_ws_upgrade(void *ctx, int fd, const char *extra, size_t extra_len,
                              struct http_upgraded *up)
{
    struct cluster_coord *c = ctx;
    wsloop_add(c->ws, fd, extra, extra_len, up);
}

void cluster_coord_ws_close(void *ctx)
{
    struct cluster_coord *c = ctx;
    wsloop_stop(c->ws);
    c->ws = NULL;
}

/* ------------------------------------------------------------ replies */

static int no_memory(struct error *e)
{
    return error_set(e, -ENOMEM, "out of memory writing the answer");
}

/* body (NULL when memory ran out) becomes the answer. */
static int reply_body(struct http_reply *out, unsigned status, struct net_blob *body,
                      struct error *e)
{
    out->status = status;
    out->body = body;
    return body ? 0 : no_memory(e);
}

static int reply_json(struct http_reply *out, unsigned status, json_t *doc, struct error *e)
{
    if (!doc)
        return e->code ? e->code : error_set(e, -ENOMEM, "out of memory building the answer");
    return reply_body(out, status, http_json_blob(doc), e);
}

static json_t *time_json(double t)
{
    return doc_json_time((struct opt_f64){t, t > 0});
}

static json_t *node_json(struct doc_build *b, const struct cluster_node_view *n, double now)
{
    const struct cluster_node_info *i = n->info;
    json_t *o = doc_object(b), *addrs = doc_array(b);
    doc_put(b, o, "id", doc_json_text(i->id));
    doc_put(b, o, "hostname", doc_json_str(i->hostname));
    for (size_t k = 0; addrs && k < i->address_count; k++)
        doc_append(b, addrs, doc_json_text(i->addresses[k]));
    doc_put(b, o, "addresses", addrs);
    doc_put(b, o, "api_url", doc_json_str(i->api_url));
    doc_put(b, o, "interval_s", doc_json_real(i->interval_s, 3));
    doc_put(b, o, "status", json_string(cluster_node_status_name(n->status)));
    doc_put(b, o, "registered_at", time_json(n->registered_at));
    doc_put(b, o, "last_seen", time_json(n->last_seen));
    doc_put(b, o, "last_seen_age_s", doc_json_real(now - n->last_seen, 1));
    doc_put(b, o, "seq", n->sample ? json_integer((json_int_t)n->sample->seq) : json_null());
    doc_put(b, o, "pushes", json_integer((json_int_t)n->pushes));
    doc_put(b, o, "lost", json_integer((json_int_t)n->lost));
    doc_put(b, o, "refused", json_integer((json_int_t)n->refused));
    doc_put(b, o, "gpus", n->sample ? json_integer((json_int_t)n->sample->summary.gpu_count)
                                    : json_null());
    return o;
}

/* ------------------------------------------------------------ agent side */

/* Copies a string member of the registration into buf, or "" when absent
 * or null; -EINVAL naming it when it is not a string or too long. */
static int text_member(const json_t *body, const char *key, char *buf, size_t size,
                       struct error *e)
{
    const json_t *v = json_object_get(body, key);
    buf[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set(e, -EINVAL, "%s: expected a string", key);
    if (json_string_length(v) >= size)
        return error_set(e, -EINVAL, "%s: %zu bytes; at most %zu", key, json_string_length(v),
                         size - 1);
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_registration(const char *id, const char *text, size_t len,
                              struct cluster_node_info *info, struct error *e)
{
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "%s", id);
    json_error_t je;
    json_t *body = json_loadb(text, len, 0, &je);
    if (!body || !json_is_object(body)) {
        json_decref(body);
        return body ? error_set(e, -EINVAL, "a registration is a JSON object")
                    : error_set(e, -EINVAL, "registration: %s (line %d, column %d)", je.text,
                                je.line, je.column);
    }
    int rc = text_member(body, "hostname", info->hostname, sizeof info->hostname, e);
    if (rc == 0)
        rc = text_member(body, "api_url", info->api_url, sizeof info->api_url, e);
    if (rc == 0 && info->api_url[0] && strncmp(info->api_url, "http://", 7) != 0 &&
        strncmp(info->api_url, "https://", 8) != 0)
        rc = error_set(e, -EINVAL, "api_url: \"%s\" is not an http:// or https:// URL",
                       info->api_url);
    const json_t *iv = json_object_get(body, "interval_s"), *addrs = json_object_get(body,
                                                                                  "addresses");
    if (rc == 0 && (!json_is_number(iv) || !isfinite(json_number_value(iv)) ||
                    json_number_value(iv) <= 0))
        rc = error_set(e, -EINVAL, "interval_s: expected a number of seconds above 0");
    if (rc == 0)
        info->interval_s = json_number_value(iv);
    if (rc == 0 && addrs && !json_is_array(addrs))
        rc = error_set(e, -EINVAL, "addresses: expected an array of strings");
    for (size_t k = 0; rc == 0 && k < json_array_size(addrs); k++) {
        const json_t *a = json_array_get(addrs, k);
        if (k >= CLUSTER_MAX_ADDRESSES)
            rc = error_set(e, -EINVAL, "addresses: at most %d", CLUSTER_MAX_ADDRESSES);
        else if (!json_is_string(a) || json_string_length(a) >= sizeof info->addresses[0])
            rc = error_set(e, -EINVAL, "addresses[%zu]: expected a string of at most %zu bytes",
                           k, sizeof info->addresses[0] - 1);
        else
            memcpy(info->addresses[info->address_count++], json_string_value(a),
                   json_string_length(a) + 1);
    }
    json_decref(body);
    return rc;
}

static int route_register(void *ctx, const struct http_request *req, struct http_reply *out,
                          struct error *e)
{
    struct cluster_coord *c = ctx;
    struct cluster_node_info info = {0};
    int rc = cluster_node_id_check(req->param, strlen(req->param), e);
    if (rc == 0)
        rc = parse_registration(req->param, req->body, req->body_len, &info, e);
    if (rc < 0)
        return rc;
    double now = cluster_now();
    bool created = false;
    rc = cluster_registry_register(c->registry, &info, now, &created, e);
    struct cluster_view v;
    if (rc == 0)
        rc = cluster_registry_view_node(c->registry, info.id, now, &v, e);
    if (rc < 0)
        return rc;
    struct doc_build b = {0};
    json_t *root = doc_object(&b);
    doc_put(&b, root, "node", node_json(&b, &v.nodes[0], now));
    doc_put(&b, root, "created", json_boolean(created));
    cluster_view_clear(&v);
    return reply_json(out, created ? 201 : 200, doc_finish(&b, root, e), e);
}

static int parse_seq(const char *text, uint64_t *out, struct error *e)
{
    if (!text)
        return error_set(e, -EINVAL, "seq: the push's sequence number (?seq=N) is missing");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || errno || v == 0 || text[0] == '-' || text[0] == '+')
        return error_set(e, -EINVAL, "seq: \"%.40s\" is not a whole number from 1", text);
    *out = v;
    return 0;
}

static int route_push(void *ctx, const struct http_request *req, struct http_reply *out,
                      struct error *e)
{
    struct cluster_coord *c = ctx;
    uint64_t seq = 0;
    int rc = parse_seq(http_request_query(req, "seq"), &seq, e);
    if (rc < 0)
        return rc;
    struct cluster_node_facts facts;
    rc = doc_snapshot_ingest(req->body, req->body_len, &facts, e);
    if (rc < 0) {
        error_prefix(e, "node %s: snapshot %" PRIu64 " does not decode", req->param, seq);
        cluster_registry_count_refused(c->registry, req->param);
        return rc;
    }
    rc = cluster_registry_push_document(c->registry, req->param, seq, &facts, req->body,
                                        req->body_len, cluster_now(), e);
    cluster_node_facts_clear(&facts);
    if (rc < 0)
        return rc;
    /* Printed, not built: every push gets this answer, and the id is a
     * registered one (letters, digits and ".-_:"), which needs no escape. */
    size_t size = strlen(req->param) + 48;
    char *text = malloc(size);
    if (!text)
        return no_memory(e);
    int n = snprintf(text, size, "{\"node\":\"%s\",\"seq\":%" PRIu64 "}\n", req->param, seq);
    return reply_body(out, 200, net_blob_take(text, (size_t)n), e);
}

/* ------------------------------------------------------------ operator side */

static int route_nodes(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    (void)req;
    struct cluster_coord *c = ctx;
    double now = cluster_now();
    struct cluster_view v;
    int rc = cluster_registry_view(c->registry, now, &v, e);
    if (rc < 0)
        return rc;
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *nodes = doc_array(&b);
    for (size_t i = 0; nodes && i < v.count; i++)
        doc_append(&b, nodes, node_json(&b, &v.nodes[i], now));
    doc_put(&b, root, "nodes", nodes);
    cluster_view_clear(&v);
    return reply_json(out, 200, doc_finish(&b, root, e), e);
}

/* The node's document as its agent pushed it, as JSON. */
static int route_node(void *ctx, const struct http_request *req, struct http_reply *out,
                      struct error *e)
{
    struct cluster_coord *c = ctx;
    struct cluster_view v;
    int rc = cluster_registry_view_node(c->registry, req->param, cluster_now(), &v, e);
    if (rc < 0)
        return rc;
    if (!v.nodes[0].sample) {
        cluster_view_clear(&v);
        return error_set(e, -ENOENT, "node %s has not pushed a snapshot yet", req->param);
    }
    char *text;
    size_t len;
    rc = cluster_sample_document(v.nodes[0].sample, &text, &len, e);
    cluster_view_clear(&v);
    if (rc < 0)
        return rc;
    text[len] = '\n';   /* the NUL's room: the answer ends its line as every other */
    return reply_body(out, 200, net_blob_take(text, len + 1), e);
}

static int route_forget(void *ctx, const struct http_request *req, struct http_reply *out,
                        struct error *e)
{
    struct cluster_coord *c = ctx;
    int rc = cluster_registry_remove(c->registry, req->param, cluster_now(), e);
    if (rc < 0)
        return rc;
    struct doc_build b = {0};
    json_t *root = doc_object(&b);
    doc_put(&b, root, "removed", doc_json_text(req->param));
    return reply_json(out, 200, doc_finish(&b, root, e), e);
}

static json_t *totals_json(struct doc_build *b, const struct cluster_view *v)
{
    size_t by_status[3] = {0}, gpus = 0, util_n = 0;
    uint64_t total = 0, used = 0;
    double util = 0;
    for (size_t i = 0; i < v->count; i++) {
        const struct cluster_node_view *n = &v->nodes[i];
        by_status[n->status]++;
        if (!n->sample || n->status == CLUSTER_NODE_OFFLINE)
            continue;
        const struct cluster_summary *s = &n->sample->summary;
        gpus += s->gpu_count;
        for (size_t g = 0; g < s->gpu_count; g++) {
            total += s->gpus[g].mem_total_bytes.known ? s->gpus[g].mem_total_bytes.v : 0;
            used += s->gpus[g].mem_used_bytes.known ? s->gpus[g].mem_used_bytes.v : 0;
            if (s->gpus[g].util_pct.known) {
                util += s->gpus[g].util_pct.v;
                util_n++;
            }
        }
    }
    json_t *o = doc_object(b);
    doc_put(b, o, "nodes", json_integer((json_int_t)v->count));
    doc_put(b, o, "nodes_online", json_integer((json_int_t)by_status[CLUSTER_NODE_ONLINE]));
    doc_put(b, o, "nodes_stale", json_integer((json_int_t)by_status[CLUSTER_NODE_STALE]));
    doc_put(b, o, "nodes_offline", json_integer((json_int_t)by_status[CLUSTER_NODE_OFFLINE]));
    doc_put(b, o, "gpus", json_integer((json_int_t)gpus));
    doc_put(b, o, "memory_total_bytes", json_integer((json_int_t)total));
    doc_put(b, o, "memory_used_bytes", json_integer((json_int_t)used));
    doc_put(b, o, "mean_utilization_pct",
            util_n ? doc_json_real(util / (double)util_n, 2) : json_null());
    return o;
}

/* Appends a node's object with its kept document as its last member,
 * "snapshot": the document is spliced in as the agent sent it (it was
 * checked when it came), never loaded into a tree: at 10,000 nodes the
 * trees took gigabytes. */
static int put_node(FILE *f, const struct cluster_node_view *n, double now, struct error *e)
{
    struct doc_build b = {0};
    json_t *o = doc_finish(&b, node_json(&b, n, now), e);
    char *head = o ? json_dumps(o, doc_json_dump_flags(true)) : NULL;
    json_decref(o);
    if (!head)
        return e->code ? e->code : no_memory(e);
    size_t hlen = strlen(head);      /* an object with an "id": "{...}" */
    char *text = NULL;
    size_t len = 0;
    int rc = n->sample ? cluster_sample_document(n->sample, &text, &len, e) : 0;
    while (len > 0 && strchr(" \t\r\n", text[len - 1]))
        len--;
    if (rc == 0 && (fwrite(head, 1, hlen - 1, f) != hlen - 1 || fputs(",\"snapshot\":", f) < 0 ||
                    (text ? fwrite(text, 1, len, f) != len : fputs("null", f) < 0) ||
                    fputc('}', f) == EOF))
        rc = no_memory(e);
    free(head);
    free(text);
    return rc;
}

static int route_cluster_snapshot(void *ctx, const struct http_request *req,
                                  struct http_reply *out, struct error *e)
{
    (void)req;
    struct cluster_coord *c = ctx;
    double now = cluster_now();
    struct cluster_view v;
    int rc = cluster_registry_view(c->registry, now, &v, e);
    if (rc < 0)
        return rc;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f) {
        cluster_view_clear(&v);
        return no_memory(e);
    }
    struct doc_build b = {0};
    json_t *totals = doc_finish(&b, totals_json(&b, &v), e);
    char *ttext = totals ? json_dumps(totals, doc_json_dump_flags(true)) : NULL;
    json_decref(totals);
    rc = ttext && fprintf(f, "{\"totals\":%s,\"nodes\":[", ttext) >= 0
             ? 0 : no_memory(e);
    free(ttext);
    for (size_t i = 0; rc == 0 && i < v.count; i++) {
        if (i > 0 && fputc(',', f) == EOF)
            rc = no_memory(e);
        else
            rc = put_node(f, &v.nodes[i], now, e);
    }
    if (rc == 0 && fputs("]}\n", f) < 0)
        rc = no_memory(e);
    cluster_view_clear(&v);
    if (fclose(f) != 0 && rc == 0)
        rc = no_memory(e);
    if (rc < 0) {
        free(body);
        return rc;
    }
    return reply_body(out, 200, net_blob_take(body, len), e);
}

static int route_contention(void *ctx, const struct http_request *req, struct http_reply *out,
                            struct error *e)
{
    (void)req;
    struct cluster_coord *c = ctx;
    double now = cluster_now();
    struct cluster_view v;
    int rc = cluster_registry_view(c->registry, now, &v, e);
    if (rc < 0)
        return rc;
    struct cluster_contention *an = NULL;
    rc = cluster_contention_compute(&v, &c->thresholds, now, &an, e);
    json_t *doc = rc == 0 ? doc_contention_build(an, e) : NULL;
    cluster_contention_free(an);
    cluster_view_clear(&v);
    return rc < 0 ? rc : reply_json(out, 200, doc, e);
}

/* A node's processes run on that node: their /proc facts (executable,
 * I/O, sockets) cannot be read here and stay unknown; the scan judges what
 * the document says (name, command line, user, GPU use). */
static void no_local_facts(pid_t pid, struct rogue_facts *out)
{
    (void)pid;
    memset(out, 0, sizeof *out);
}

static json_t *node_rogue_json(struct doc_build *b, const struct rogue_config *cfg,
                               const struct cluster_node_view *n, size_t *findings,
                               struct error *e)
{
    struct rogue_report report = {0};
    char *text;
    size_t len;
    struct snapshot *snap = NULL;
    if (cluster_sample_document(n->sample, &text, &len, e) < 0)
        return NULL;
    int rc = doc_snapshot_decode_buffer(text, len, &snap, e);
    free(text);
    struct rogue_input in = {.snap = snap, .read_facts = no_local_facts};
    if (rc < 0 || rogue_scan(cfg, &in, &report, e) < 0) {
        snapshot_free(snap);
        return NULL;
    }
    struct doc_rogue_request r = {.report = &report, .live = true};
    json_t *o = doc_object(b);
    doc_put(b, o, "node", doc_json_text(n->info->id));
    doc_put(b, o, "hostname", doc_json_str(n->info->hostname));
    doc_put(b, o, "report", doc_rogue_build(&r, e));
    *findings += report.count;
    rogue_report_free(&report);
    snapshot_free(snap);   /* the report may point into it */
    return o;
}

static int route_rogue(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    (void)req;
    struct cluster_coord *c = ctx;
    struct rogue_config cfg;
    int rc = rogue_config_defaults(&cfg);
    if (rc < 0)
        return error_set(e, rc, "out of memory loading the rogue detection settings");
    struct cluster_view v;
    if ((rc = cluster_registry_view(c->registry, cluster_now(), &v, e)) < 0) {
        rogue_config_free(&cfg);
        return rc;
    }
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *nodes = doc_array(&b);
    size_t findings = 0;
    for (size_t i = 0; nodes && i < v.count; i++) {
        const struct cluster_node_view *n = &v.nodes[i];
        if (n->sample && n->status != CLUSTER_NODE_OFFLINE)
            doc_append(&b, nodes, node_rogue_json(&b, &cfg, n, &findings, e));
    }
    doc_put(&b, root, "findings", json_integer((json_int_t)findings));
    doc_put(&b, root, "nodes", nodes);
    cluster_view_clear(&v);
    rogue_config_free(&cfg);
    return reply_json(out, 200, doc_finish(&b, root, e), e);
}

/* POSTs the request's body to the node's own API at path and returns its
 * answer as it is (status and body). */
static int forward(struct cluster_coord *c, const struct http_request *req, const char *path,
                   struct http_reply *out, struct error *e)
{
    struct cluster_view v;
    int rc = cluster_registry_view_node(c->registry, req->param, cluster_now(), &v, e);
    if (rc < 0)
        return rc;
    char url[512];
    snprintf(url, sizeof url, "%s%s", v.nodes[0].info->api_url, path);
    bool has_api = v.nodes[0].info->api_url[0] != '\0';
    cluster_view_clear(&v);
    if (!has_api)
        return error_set(e, -ENOTSUP, "node %s registered no API URL to forward to (its agent "
                                      "takes --api-url)", req->param);
    long status;
    char *answer;
    size_t len;
    rc = cluster_http_request(url, c->node_token, req->body, req->body_len, FORWARD_TIMEOUT_S,
                              &status, &answer, &len, e);
    if (rc < 0) {
        error_prefix(e, "node %s's API did not answer", req->param);
        return -EAGAIN;
    }
    out->status = (unsigned)status;
    out->body = net_blob_take(answer, len);
    return out->body ? 0 : error_set(e, -ENOMEM, "out of memory forwarding to node %s",
                                     req->param);
}

static int route_forward_kill(void *ctx, const struct http_request *req, struct http_reply *out,
                              struct error *e)
{
    return forward(ctx, req, "/api/v1/kill", out, e);
}

static int route_forward_reset(void *ctx, const struct http_request *req,
                               struct http_reply *out, struct error *e)
{
    return forward(ctx, req, "/api/v1/reset", out, e);
}

/* ------------------------------------------------------------ WebSocket */

static struct net_blob *frame_of(json_t *doc)
{
    if (!doc)
        return NULL;
    char *text = json_dumps(doc, doc_json_dump_flags(true));
    json_decref(doc);
    struct net_blob *b = text ? wsloop_text_frame(text, strlen(text)) : NULL;
    free(text);
    return b;
}

static const struct sent_node *sent_find(const struct cluster_coord *c, const char *id)
{
    size_t lo = 0, hi = c->sent_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(c->sent[mid].id, id);
        if (cmp == 0)
            return &c->sent[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool f64_same(struct opt_f64 a, struct opt_f64 b)
{
    return a.known == b.known && (!a.known || a.v == b.v);
}

static bool u64_same(struct opt_u64 a, struct opt_u64 b)
{
    return a.known == b.known && (!a.known || a.v == b.v);
}

/* The figures the WebSocket sends of a sample's i-th GPU (its summary's). */
static struct sent_gpu gpu_figures(const struct cluster_sample *smp, size_t i)
{
    const struct cluster_gpu_summary *g = &smp->summary.gpus[i];
    struct sent_gpu f = {g->index, g->util_pct, g->mem_used_bytes, g->mem_total_bytes,
                         {0, false}, g->held_bytes, g->idle_allocated_now};
    if (g->power_mw.known)
        f.power_w = (struct opt_f64){(double)g->power_mw.v / 1000.0, true};
    return f;
}

/* The figures of g that differ from what was sent (was: NULL, all of them);
 * NULL when none does. */
static json_t *gpu_delta(struct doc_build *b, const struct sent_gpu *g, const struct sent_gpu *was)
{
    json_t *o = doc_object(b);
    bool any = !was;
    doc_put(b, o, "gpu", json_integer(g->index));
    if (!was || !f64_same(was->util, g->util)) {
        doc_put(b, o, "utilization_pct", doc_json_f64(g->util, 2));
        any = true;
    }
    if (!was || !u64_same(was->mem_used, g->mem_used)) {
        doc_put(b, o, "memory_used_bytes", doc_json_u64(g->mem_used));
        any = true;
    }
    if (!was || !u64_same(was->mem_total, g->mem_total)) {
        doc_put(b, o, "memory_total_bytes", doc_json_u64(g->mem_total));
        any = true;
    }
    if (!was || !f64_same(was->power_w, g->power_w)) {
        doc_put(b, o, "power_w", doc_json_f64(g->power_w, 1));
        any = true;
    }
    if (!was || was->held != g->held) {
        doc_put(b, o, "memory_held_bytes", json_integer((json_int_t)g->held));
        any = true;
    }
    if (!was || was->idle != g->idle) {
        doc_put(b, o, "idle_allocated", json_boolean(g->idle));
        any = true;
    }
    if (!any) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A node's new push as the GPU figures that changed; NULL when none did. */
static json_t *node_delta(struct doc_build *b, const struct cluster_node_view *n,
                          const struct sent_node *was)
{
    if (!n->sample || (was && was->seq == n->sample->seq))
        return NULL;
    const struct cluster_summary *s = &n->sample->summary;
    json_t *gpus = doc_array(b);
    for (size_t i = 0; gpus && i < s->gpu_count; i++) {
        const struct sent_gpu *wg = NULL;
        for (size_t k = 0; was && k < was->gpu_count; k++)
            if (was->gpus[k].index == s->gpus[i].index)
                wg = &was->gpus[k];
        struct sent_gpu now = gpu_figures(n->sample, i);
        json_t *d = gpu_delta(b, &now, wg);
        if (d)
            doc_append(b, gpus, d);
    }
    if (!json_array_size(gpus)) {
        json_decref(gpus);
        return NULL;
    }
    json_t *o = doc_object(b);
    doc_put(b, o, "node", doc_json_text(n->info->id));
    doc_put(b, o, "seq", json_integer((json_int_t)n->sample->seq));
    doc_put(b, o, "gpus", gpus);
    return o;
}

/* The figures of every GPU of a node as the last update left them (what a
 * client that joins now is told; the next update says what changed since). */
static json_t *sent_figures(struct doc_build *b, const struct sent_node *sn)
{
    json_t *a = doc_array(b);
    for (size_t g = 0; a && sn && g < sn->gpu_count; g++)
        doc_append(b, a, gpu_delta(b, &sn->gpus[g], NULL));
    return a;
}

static struct net_blob *ws_greeting(void *ctx)
{
    struct cluster_coord *c = ctx;
    double now = cluster_now();
    struct cluster_view v;
    struct error e = {0};
    if (cluster_registry_view(c->registry, now, &v, &e) < 0)
        return NULL;
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *nodes = doc_array(&b);
    doc_put(&b, root, "type", json_string("nodes"));
    doc_put(&b, root, "update", json_integer((json_int_t)c->updates));
    for (size_t i = 0; nodes && i < v.count; i++) {
        json_t *n = node_json(&b, &v.nodes[i], now);
        const struct sent_node *sn = sent_find(c, v.nodes[i].info->id);
        doc_put(&b, n, "figures_seq", sn ? json_integer((json_int_t)sn->seq) : json_null());
        doc_put(&b, n, "figures", sent_figures(&b, sn));
        doc_append(&b, nodes, n);
    }
    doc_put(&b, root, "nodes", nodes);
    cluster_view_clear(&v);
    return frame_of(doc_finish(&b, root, &e));
}

/* What the view's samples say, kept for the next update's comparison. */
static void remember(struct cluster_coord *c, const struct cluster_view *v)
{
    struct sent_node *now = calloc(v->count ? v->count : 1, sizeof *now);
    if (!now)
        return;      /* the next update repeats what it cannot compare */
    size_t n = 0;
    for (size_t i = 0; i < v->count; i++) {
        const struct cluster_sample *smp = v->nodes[i].sample;
        if (!smp)
            continue;
        struct sent_node *sn = &now[n++];
        snprintf(sn->id, sizeof sn->id, "%s", v->nodes[i].info->id);
        sn->seq = smp->seq;
        sn->gpus = calloc(smp->summary.gpu_count ? smp->summary.gpu_count : 1,
                          sizeof *sn->gpus);
        for (size_t g = 0; sn->gpus && g < smp->summary.gpu_count; g++) {
            sn->gpus[sn->gpu_count++] = gpu_figures(smp, g);
        }
    }
    sent_clear(c);
    c->sent = now;
    c->sent_count = n;
}

static json_t *events_json(struct doc_build *b, const struct cluster_event *ev, size_t n,
                           uint64_t dropped)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = doc_object(b);
        doc_put(b, o, "event", json_string(cluster_event_kind_name(ev[i].kind)));
        doc_put(b, o, "node", doc_json_text(ev[i].node_id));
        doc_put(b, o, "status", json_string(cluster_node_status_name(ev[i].status)));
        if (ev[i].reason[0])
            doc_put(b, o, "reason", json_string(ev[i].reason));
        doc_put(b, o, "at", time_json(ev[i].at));
        doc_append(b, a, o);
    }
    if (dropped) {
        json_t *o = doc_object(b);
        doc_put(b, o, "event", json_string("dropped"));
        doc_put(b, o, "count", json_integer((json_int_t)dropped));
        doc_append(b, a, o);
    }
    return a;
}

/* Once a second (the ticker's eventfd): the events and the deltas since
 * the last update, or nothing when nothing changed. */
static struct net_blob *ws_update(void *ctx)
{
    struct cluster_coord *c = ctx;
    uint64_t ticks;
    if (read(c->tick_fd, &ticks, sizeof ticks) < 0) {
        /* nothing to drain: a spurious wake-up */
    }
    static struct cluster_event ev[CLUSTER_EVENT_QUEUE];   /* the loop thread's alone */
    uint64_t dropped = 0;
    size_t n = cluster_registry_events(c->registry, ev, CLUSTER_EVENT_QUEUE, &dropped);
    if (wsloop_client_count(c->ws) == 0) {
        /* Nobody to tell: no deltas built over every node (60 MiB of
         * garbage a second at 10,000 nodes). The next client's greeting has
         * the full state, and the first update after it compares with
         * nothing, so it repeats every node once. */
        sent_clear(c);
        return NULL;
    }
    struct cluster_view v;
    struct error e = {0};
    if (cluster_registry_view(c->registry, cluster_now(), &v, &e) < 0)
        return NULL;
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *nodes = doc_array(&b);
    for (size_t i = 0; nodes && i < v.count; i++) {
        json_t *d = node_delta(&b, &v.nodes[i], sent_find(c, v.nodes[i].info->id));
        if (d)
            doc_append(&b, nodes, d);
    }
    bool any = n || dropped || json_array_size(nodes);
    doc_put(&b, root, "type", json_string("update"));
    if (any)
        c->updates++;
    doc_put(&b, root, "update", json_integer((json_int_t)c->updates));
    doc_put(&b, root, "events", events_json(&b, ev, n, dropped));
    doc_put(&b, root, "nodes", nodes);
    remember(c, &v);
    cluster_view_clear(&v);
    json_t *doc = doc_finish(&b, root, &e);
    if (!any) {
        json_decref(doc);
        return NULL;
    }
    return frame_of(doc);
}

/* The reads over every node run on threads of their own (READ_WAITS): at
 * 10,000 nodes they take milliseconds to seconds, and the server's two
 * threads are the pushes'. */
const struct http_route cluster_coord_routes[CLUSTER_COORD_ROUTE_COUNT] = {
    {"GET", "/api/nodes", HTTP_ACCESS_READ_WAITS, route_nodes},
    {"POST", "/api/nodes/{}/register", HTTP_ACCESS_CHANGE, route_register},
    {"POST", "/api/nodes/{}/snapshot", HTTP_ACCESS_CHANGE, route_push},
    {"GET", "/api/nodes/{}", HTTP_ACCESS_READ, route_node},
    {"DELETE", "/api/nodes/{}", HTTP_ACCESS_CHANGE, route_forget},
    {"GET", "/api/cluster/snapshot", HTTP_ACCESS_READ_WAITS, route_cluster_snapshot},
    {"GET", "/api/cluster/contention", HTTP_ACCESS_READ_WAITS, route_contention},
    {"GET", "/api/cluster/rogue", HTTP_ACCESS_READ_WAITS, route_rogue},
    {"POST", "/api/nodes/{}/kill", HTTP_ACCESS_CHANGE_WAITS, route_forward_kill},
    {"POST", "/api/nodes/{}/reset", HTTP_ACCESS_CHANGE_WAITS, route_forward_reset},
};
