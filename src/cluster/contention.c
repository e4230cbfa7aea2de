/* contention.c - the contention analysis of the cluster (see contention.h;
 * the definitions are those of docs/json/contention.md).
 *
 * One pass over the view's summaries: GPU totals, per-user usage (users
 * interned in a hash table, since 10,000 nodes may hold tens of thousands
 * of holdings), idle-but-allocated and blocked GPUs; then fairness, the top
 * lists and the recommendations.  Nothing here looks at processes one by
 * one: the registry's summaries already did at ingest.
 */
#include "cluster/contention.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

const char *cluster_rec_kind_name(enum cluster_rec_kind k)
{
    switch (k) {
    case CLUSTER_REC_RELEASE_IDLE: return "release_idle_gpu";
    case CLUSTER_REC_RELEASE_BLOCKED: return "release_blocked_gpu";
    case CLUSTER_REC_REVIEW_USER: return "review_user";
    }
    return "unknown";
}

struct work {
    struct cluster_contention *c;
    size_t user_cap, idle_cap, blocked_cap, rec_cap;
    size_t *slots;                  /* hash of user name -> index + 1; 0 empty */
    size_t slot_count;              /* a power of two, over twice the users */
    size_t *last_gpu_mark;          /* per user: the GPU (counter) last counted */
    long *node_users;               /* the node being scanned: its users' indices */
    size_t node_users_cap;
};

static int rehash(struct work *w)
{
    size_t n = w->slot_count ? w->slot_count * 2 : 256;
    size_t *s = calloc(n, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t u = 0; u < w->c->user_count; u++) {
        size_t i = cluster_hash_name(w->c->users[u].name) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = u + 1;
    }
    free(w->slots);
    w->slots = s;
    w->slot_count = n;
    return 0;
}

/* The user's index, added when new; -ENOMEM. */
static long intern_user(struct work *w, const char *name)
{
    struct cluster_contention *c = w->c;
    if ((c->user_count + 1) * 2 > w->slot_count && rehash(w) < 0)
        return -ENOMEM;
    size_t i = cluster_hash_name(name) & (w->slot_count - 1);
    for (; w->slots[i]; i = (i + 1) & (w->slot_count - 1))
        if (!strcmp(c->users[w->slots[i] - 1].name, name))
            return (long)(w->slots[i] - 1);
    size_t cap = w->user_cap;
    if (grow_for_one((void **)&c->users, &w->user_cap, c->user_count, sizeof *c->users, 64) < 0)
        return -ENOMEM;
    if (cap != w->user_cap) {
        size_t *m = realloc(w->last_gpu_mark, w->user_cap * sizeof *m);
        if (!m)
            return -ENOMEM;
        w->last_gpu_mark = m;
    }
    struct cluster_user_usage *u = &c->users[c->user_count];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    w->last_gpu_mark[c->user_count] = 0;
    w->slots[i] = ++c->user_count;
    return (long)(c->user_count - 1);
}

static int add_node_to_user(struct cluster_user_usage *u, size_t node)
{
    if (u->node_count && u->nodes[u->node_count - 1] == node)
        return 0;
    if (grow_for_one((void **)&u->nodes, &u->node_cap, u->node_count, sizeof *u->nodes, 4) < 0)
        return -ENOMEM;
    u->nodes[u->node_count++] = node;
    return 0;
}

static int add_rec(struct work *w, enum cluster_rec_kind kind, size_t ref)
{
    struct cluster_contention *c = w->c;
    if (grow_for_one((void **)&c->recs, &w->rec_cap, c->rec_count, sizeof *c->recs, 16) < 0)
        return -ENOMEM;
    c->recs[c->rec_count++] = (struct cluster_recommendation){kind, ref};
    return 0;
}

/* Idle and blocked: the definitions of docs/json/contention.md. */
static int judge_gpu(struct work *w, const struct cluster_gpu_ref *at, double now)
{
    struct cluster_contention *c = w->c;
    const struct cluster_thresholds *t = &c->thresholds;
    const struct cluster_gpu_summary *g = at->gpu;
    if (g->idle_allocated_now && g->idle_since > 0 && now - g->idle_since >= t->idle_s) {
        if (grow_for_one((void **)&c->idle, &w->idle_cap, c->idle_count, sizeof *c->idle, 16) < 0)
            return -ENOMEM;
        c->idle[c->idle_count++] = (struct cluster_idle_gpu){*at, now - g->idle_since};
        return add_rec(w, CLUSTER_REC_RELEASE_IDLE, c->idle_count - 1);
    }
    if (g->holding_count != 1 || g->held_bytes < t->idle_min_mem_bytes || !g->held_bytes ||
        !g->util_pct.known || g->util_pct.v >= t->low_util_pct)
        return 0;
    const struct cluster_holding *h = &at->summary->holdings[g->holding_start];
    if (h->held_s < t->hold_s)
        return 0;
    if (grow_for_one((void **)&c->blocked, &w->blocked_cap, c->blocked_count,
                     sizeof *c->blocked, 16) < 0)
        return -ENOMEM;
    c->blocked[c->blocked_count++] = (struct cluster_blocked_gpu){*at, h};
    return add_rec(w, CLUSTER_REC_RELEASE_BLOCKED, c->blocked_count - 1);
}

/* One GPU's holdings into the users' figures.  gpu_mark numbers the GPU
 * so a user with two holdings on one GPU (impossible from one summary, but
 * cheap to guard) counts it once. */
static int count_holdings(struct work *w, const struct cluster_gpu_ref *at, size_t node,
                          size_t gpu_mark)
{
    const struct cluster_summary *s = at->summary;
    for (size_t k = 0; k < at->gpu->holding_count; k++) {
        const struct cluster_holding *h = &s->holdings[at->gpu->holding_start + k];
        long ui = w->node_users[h->user];
        struct cluster_user_usage *u = &w->c->users[ui];
        u->gpu_mem_bytes += h->mem_bytes;
        u->processes += (unsigned)h->pid_count;
        if (w->last_gpu_mark[ui] != gpu_mark) {
            w->last_gpu_mark[ui] = gpu_mark;
            u->gpus++;
        }
        u->gpu_hours += h->held_s / 3600.0;
        if (add_node_to_user(u, node) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The cluster-wide index of each of a node's users, looked up once per
 * node rather than once per holding (a node has few users). */
static int map_node_users(struct work *w, const struct cluster_summary *s)
{
    if (s->user_count > w->node_users_cap) {
        long *m = realloc(w->node_users, s->user_count * sizeof *m);
        if (!m)
            return -ENOMEM;
        w->node_users = m;
        w->node_users_cap = s->user_count;
    }
    for (size_t u = 0; u < s->user_count; u++)
        if ((w->node_users[u] = intern_user(w, s->users[u])) < 0)
            return -ENOMEM;
    return 0;
}

static int scan_nodes(struct work *w, double now)
{
    struct cluster_contention *c = w->c;
    double util_sum = 0;
    size_t util_n = 0, gpu_mark = 0;
    for (size_t n = 0; n < c->view->count; n++) {
        const struct cluster_node_view *nv = &c->view->nodes[n];
        if (nv->status == CLUSTER_NODE_OFFLINE || !nv->sample) {
            c->nodes_skipped++;
            continue;
        }
        c->nodes_counted++;
        const struct cluster_summary *s = &nv->sample->summary;
        if (map_node_users(w, s) < 0)
            return -ENOMEM;
        for (size_t i = 0; i < s->gpu_count; i++) {
            const struct cluster_gpu_summary *g = &s->gpus[i];
            struct cluster_gpu_ref at = {nv, s, g};
            c->gpus++;
            if (g->held_bytes > 0)
                c->gpus_in_use++;
            c->mem_held_bytes += g->held_bytes;
            if (g->mem_total_bytes.known)
                c->mem_total_bytes += g->mem_total_bytes.v;
            if (g->util_pct.known) {
                util_sum += g->util_pct.v;
                util_n++;
            }
            if (count_holdings(w, &at, n, ++gpu_mark) < 0 || judge_gpu(w, &at, now) < 0)
                return -ENOMEM;
        }
    }
    if (util_n)
        OPT_SET(c->mean_util_pct, util_sum / (double)util_n);
    return 0;
}

static int by_memory(const void *a, const void *b)
{
    const struct cluster_user_usage *x = a, *y = b;
    if (x->gpu_mem_bytes != y->gpu_mem_bytes)
        return x->gpu_mem_bytes < y->gpu_mem_bytes ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* qsort_r comparators of indices into the users array (ctx). */
static int by_gpu_hours(const void *a, const void *b, void *ctx)
{
    const struct cluster_user_usage *users = ctx;
    const struct cluster_user_usage *x = &users[*(const size_t *)a];
    const struct cluster_user_usage *y = &users[*(const size_t *)b];
    if (x->gpu_hours != y->gpu_hours)
        return x->gpu_hours < y->gpu_hours ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int by_gpus(const void *a, const void *b, void *ctx)
{
    const struct cluster_user_usage *users = ctx;
    const struct cluster_user_usage *x = &users[*(const size_t *)a];
    const struct cluster_user_usage *y = &users[*(const size_t *)b];
    if (x->gpus != y->gpus)
        return x->gpus < y->gpus ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int by_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Users sorted by memory; the three top lists; fair shares, Jain's index
 * and the review recommendations. */
static int rank_and_share(struct work *w)
{
    struct cluster_contention *c = w->c;
    if (c->user_count)
        qsort(c->users, c->user_count, sizeof *c->users, by_memory);
    size_t n = c->user_count, top = c->thresholds.top_users < n ? c->thresholds.top_users : n;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    c->top_by_memory = calloc(top ? top : 1, sizeof *c->top_by_memory);
    c->top_by_gpu_hours = calloc(top ? top : 1, sizeof *c->top_by_gpu_hours);
    c->top_by_gpus = calloc(top ? top : 1, sizeof *c->top_by_gpus);
    if (!order || !c->top_by_memory || !c->top_by_gpu_hours || !c->top_by_gpus) {
        free(order);
        return -ENOMEM;
    }
    c->top_count = top;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    memcpy(c->top_by_memory, order, top * sizeof *order);
    qsort_r(order, n, sizeof *order, by_gpu_hours, c->users);
    memcpy(c->top_by_gpu_hours, order, top * sizeof *order);
    qsort_r(order, n, sizeof *order, by_gpus, c->users);
    memcpy(c->top_by_gpus, order, top * sizeof *order);
    free(order);

    double sum = 0, sum_sq = 0;
    size_t holders = 0;
    for (size_t i = 0; i < n; i++) {
        double g = c->users[i].gpus;
        sum += g;
        sum_sq += g * g;
        holders += c->users[i].gpus > 0;
        if (c->users[i].node_count)
            qsort(c->users[i].nodes, c->users[i].node_count, sizeof *c->users[i].nodes,
                  by_index);
    }
    if (holders && sum_sq > 0)
        OPT_SET(c->jain_index, sum * sum / ((double)holders * sum_sq));
    c->fair_share_gpus = holders ? (double)c->gpus / (double)holders : 0;
    for (size_t i = 0; i < n; i++) {
        struct cluster_user_usage *u = &c->users[i];
        u->fair_share_ratio = c->fair_share_gpus > 0 ? u->gpus / c->fair_share_gpus : 0;
        u->over_share = u->fair_share_ratio > c->thresholds.fair_share_factor;
        if (u->over_share && add_rec(w, CLUSTER_REC_REVIEW_USER, i) < 0)
            return -ENOMEM;
    }
    return 0;
}

void cluster_contention_free(struct cluster_contention *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->user_count; i++)
        free(c->users[i].nodes);
    free(c->users);
    free(c->top_by_memory);
    free(c->top_by_gpu_hours);
    free(c->top_by_gpus);
    free(c->idle);
    free(c->blocked);
    free(c->recs);
    free(c);
}

int cluster_contention_compute(const struct cluster_view *view,
                               const struct cluster_thresholds *t, double now,
                               struct cluster_contention **out, struct error *e)
{
    *out = NULL;
    struct work w = {.c = calloc(1, sizeof *w.c)};
    if (!w.c)
        return error_set(e, -ENOMEM, "out of memory analysing contention");
    w.c->view = view;
    w.c->thresholds = *t;
    w.c->at = now;
    int rc = scan_nodes(&w, now);
    if (rc == 0)
        rc = rank_and_share(&w);
    free(w.slots);
    free(w.last_gpu_mark);
    free(w.node_users);
    if (rc < 0) {
        cluster_contention_free(w.c);
        return error_set(e, -ENOMEM, "out of memory analysing contention over %zu nodes",
                         view->count);
    }
    *out = w.c;
    return 0;
}

/* name as one shell word: as it is when it holds only safe characters,
 * else in single quotes (a user name comes from a node's document and a
 * person may paste the command). */
static const char *shell_word(const char *name, char *buf, size_t size)
{
    if (name[0] && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789._-@") == strlen(name))
        return name;
    size_t n = 0;
    buf[n++] = '\'';
    for (const char *p = name; *p && n + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return buf;
}

/* "gpuctl kill --pid" and the pids of every holding on the GPU. */
static void kill_command(const struct cluster_gpu_ref *at, const struct cluster_holding *only,
                         char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "gpuctl kill --pid");
    const struct cluster_summary *s = at->summary;
    for (size_t k = 0; k < at->gpu->holding_count && n < size; k++) {
        const struct cluster_holding *h = &s->holdings[at->gpu->holding_start + k];
        if (only && h != only)
            continue;
        for (size_t p = 0; p < h->pid_count && n < size; p++)
            n += (size_t)snprintf(buf + n, size - n, " %d", (int)s->pids[h->pid_start + p]);
    }
}

const char *cluster_rec_command(const struct cluster_contention *c,
                                const struct cluster_recommendation *r, char *buf, size_t size)
{
    switch (r->kind) {
    case CLUSTER_REC_RELEASE_IDLE:
        kill_command(&c->idle[r->ref].at, NULL, buf, size);
        break;
    case CLUSTER_REC_RELEASE_BLOCKED:
        kill_command(&c->blocked[r->ref].at, c->blocked[r->ref].holder, buf, size);
        break;
    case CLUSTER_REC_REVIEW_USER: {
        char quoted[4 * 64 + 3];
        snprintf(buf, size, "gpuctl list --details --user %s",
                 shell_word(c->users[r->ref].name, quoted, sizeof quoted));
        break;
    }
    }
    return buf;
}
