/* contention_doc.c - the contention document (contention_doc.h,
 * docs/json/contention.md): cluster/contention.c's analysis as JSON.
 *
 * Only presentation lives here: which figures a finding shows, rounding,
 * and the evidence and command of each recommendation.  The figures
 * themselves are computed by the analysis.
 */
#include "doc/contention_doc.h"

#include <stdio.h>
#include <string.h>

#include "doc/build.h"
#include "doc/json.h"

#define PCT_DECIMALS 2
#define SECONDS_DECIMALS 1
#define RATIO_DECIMALS 3

static json_t *pids_json(struct doc_build *b, const struct cluster_summary *s,
                         const struct cluster_gpu_summary *g, const struct cluster_holding *only)
{
    json_t *a = doc_array(b);
    for (size_t k = 0; a && k < g->holding_count; k++) {
        const struct cluster_holding *h = &s->holdings[g->holding_start + k];
        if (only && h != only)
            continue;
        for (size_t p = 0; p < h->pid_count; p++)
            doc_append(b, a, json_integer(s->pids[h->pid_start + p]));
    }
    return a;
}

static json_t *users_on_gpu(struct doc_build *b, const struct cluster_gpu_ref *at)
{
    json_t *a = doc_array(b);
    for (size_t k = 0; a && k < at->gpu->holding_count; k++) {
        const struct cluster_holding *h = &at->summary->holdings[at->gpu->holding_start + k];
        doc_append(b, a, doc_json_text(at->summary->users[h->user]));
    }
    return a;
}

/* The keys every GPU finding starts with. */
static json_t *gpu_head(struct doc_build *b, const struct cluster_gpu_ref *at)
{
    const struct cluster_gpu_summary *g = at->gpu;
    json_t *o = doc_object(b);
    doc_put(b, o, "node", doc_json_text(at->node->info->id));
    doc_put(b, o, "hostname", doc_json_str(at->node->info->hostname));
    doc_put(b, o, "gpu", json_integer(g->index));
    doc_put(b, o, "uuid", doc_json_str(g->uuid));
    doc_put(b, o, "name", doc_json_str(g->name));
    doc_put(b, o, "memory_total_bytes", doc_json_u64(g->mem_total_bytes));
    doc_put(b, o, "memory_held_bytes", json_integer((json_int_t)g->held_bytes));
    doc_put(b, o, "utilization_pct", doc_json_f64(g->util_pct, PCT_DECIMALS));
    return o;
}

static json_t *blocked_json(struct doc_build *b, const struct cluster_blocked_gpu *f)
{
    json_t *o = gpu_head(b, &f->at);
    doc_put(b, o, "user", doc_json_text(f->at.summary->users[f->holder->user]));
    doc_put(b, o, "held_for_s", doc_json_real(f->holder->held_s, SECONDS_DECIMALS));
    doc_put(b, o, "pids", pids_json(b, f->at.summary, f->at.gpu, f->holder));
    return o;
}

static json_t *idle_json(struct doc_build *b, const struct cluster_idle_gpu *f)
{
    json_t *o = gpu_head(b, &f->at);
    doc_put(b, o, "users", users_on_gpu(b, &f->at));
    doc_put(b, o, "idle_for_s", doc_json_real(f->idle_for_s, SECONDS_DECIMALS));
    doc_put(b, o, "pids", pids_json(b, f->at.summary, f->at.gpu, NULL));
    return o;
}

static json_t *user_json(struct doc_build *b, const struct cluster_contention *c,
                         const struct cluster_user_usage *u)
{
    json_t *o = doc_object(b), *nodes = doc_array(b);
    doc_put(b, o, "user", doc_json_text(u->name));
    doc_put(b, o, "gpu_memory_bytes", json_integer((json_int_t)u->gpu_mem_bytes));
    doc_put(b, o, "gpus", json_integer(u->gpus));
    doc_put(b, o, "gpu_hours", doc_json_real(u->gpu_hours, RATIO_DECIMALS));
    doc_put(b, o, "processes", json_integer(u->processes));
    for (size_t i = 0; nodes && i < u->node_count; i++)
        doc_append(b, nodes, doc_json_text(c->view->nodes[u->nodes[i]].info->id));
    doc_put(b, o, "nodes", nodes);
    doc_put(b, o, "fair_share_ratio", doc_json_real(u->fair_share_ratio, RATIO_DECIMALS));
    doc_put(b, o, "over_share", json_boolean(u->over_share));
    return o;
}

static json_t *top_list(struct doc_build *b, const struct cluster_contention *c,
                        const size_t *order, const char *key)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < c->top_count; i++) {
        const struct cluster_user_usage *u = &c->users[order[i]];
        json_t *o = doc_object(b);
        doc_put(b, o, "user", doc_json_text(u->name));
        if (!strcmp(key, "gpu_memory_bytes"))
            doc_put(b, o, key, json_integer((json_int_t)u->gpu_mem_bytes));
        else if (!strcmp(key, "gpu_hours"))
            doc_put(b, o, key, doc_json_real(u->gpu_hours, RATIO_DECIMALS));
        else
            doc_put(b, o, key, json_integer(u->gpus));
        doc_append(b, a, o);
    }
    return a;
}

static json_t *thresholds_json(struct doc_build *b, const struct cluster_thresholds *t)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "idle_util_pct", doc_json_real(t->idle_util_pct, PCT_DECIMALS));
    doc_put(b, o, "idle_min_memory_bytes", json_integer((json_int_t)t->idle_min_mem_bytes));
    doc_put(b, o, "idle_s", doc_json_real(t->idle_s, SECONDS_DECIMALS));
    doc_put(b, o, "low_util_pct", doc_json_real(t->low_util_pct, PCT_DECIMALS));
    doc_put(b, o, "hold_s", doc_json_real(t->hold_s, SECONDS_DECIMALS));
    doc_put(b, o, "fair_share_factor", doc_json_real(t->fair_share_factor, RATIO_DECIMALS));
    doc_put(b, o, "top_users", json_integer(t->top_users));
    return o;
}

static json_t *totals_json(struct doc_build *b, const struct cluster_contention *c)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "nodes", json_integer((json_int_t)c->view->count));
    doc_put(b, o, "nodes_counted", json_integer((json_int_t)c->nodes_counted));
    doc_put(b, o, "nodes_skipped", json_integer((json_int_t)c->nodes_skipped));
    doc_put(b, o, "gpus", json_integer((json_int_t)c->gpus));
    doc_put(b, o, "gpus_in_use", json_integer((json_int_t)c->gpus_in_use));
    doc_put(b, o, "memory_total_bytes", json_integer((json_int_t)c->mem_total_bytes));
    doc_put(b, o, "memory_held_bytes", json_integer((json_int_t)c->mem_held_bytes));
    doc_put(b, o, "mean_utilization_pct", doc_json_f64(c->mean_util_pct, PCT_DECIMALS));
    return o;
}

static json_t *fairness_json(struct doc_build *b, const struct cluster_contention *c)
{
    json_t *o = doc_object(b), *over = doc_array(b);
    size_t holders = 0;
    for (size_t i = 0; over && i < c->user_count; i++) {
        holders += c->users[i].gpus > 0;
        if (c->users[i].over_share)
            doc_append(b, over, doc_json_text(c->users[i].name));
    }
    doc_put(b, o, "users_holding", json_integer((json_int_t)holders));
    doc_put(b, o, "fair_share_gpus", doc_json_real(c->fair_share_gpus, RATIO_DECIMALS));
    doc_put(b, o, "jain_index", doc_json_f64(c->jain_index, RATIO_DECIMALS));
    doc_put(b, o, "over_share", over);
    return o;
}

/* A recommendation: what, where, the evidence, and the command. */
static json_t *rec_json(struct doc_build *b, const struct cluster_contention *c,
                        const struct cluster_recommendation *r)
{
    json_t *o = doc_object(b), *ev = doc_object(b), *run_on = doc_array(b);
    char finding[64], command[1024];
    doc_put(b, o, "kind", json_string(cluster_rec_kind_name(r->kind)));
    if (r->kind == CLUSTER_REC_REVIEW_USER) {
        const struct cluster_user_usage *u = &c->users[r->ref];
        snprintf(finding, sizeof finding, "users[%zu]", r->ref);
        doc_put(b, o, "user", doc_json_text(u->name));
        doc_put(b, ev, "gpus", json_integer(u->gpus));
        doc_put(b, ev, "fair_share_gpus", doc_json_real(c->fair_share_gpus, RATIO_DECIMALS));
        doc_put(b, ev, "fair_share_ratio", doc_json_real(u->fair_share_ratio, RATIO_DECIMALS));
        doc_put(b, ev, "fair_share_factor",
                doc_json_real(c->thresholds.fair_share_factor, RATIO_DECIMALS));
        for (size_t i = 0; run_on && i < u->node_count; i++)
            doc_append(b, run_on, doc_json_text(c->view->nodes[u->nodes[i]].info->hostname));
    } else {
        bool idle = r->kind == CLUSTER_REC_RELEASE_IDLE;
        const struct cluster_gpu_ref *at = idle ? &c->idle[r->ref].at : &c->blocked[r->ref].at;
        snprintf(finding, sizeof finding, "%s[%zu]", idle ? "idle_allocated_gpus" : "blocked_gpus",
                 r->ref);
        doc_put(b, o, "node", doc_json_text(at->node->info->id));
        doc_put(b, o, "gpu", json_integer(at->gpu->index));
        doc_put(b, ev, "memory_held_bytes", json_integer((json_int_t)at->gpu->held_bytes));
        doc_put(b, ev, "utilization_pct", doc_json_f64(at->gpu->util_pct, PCT_DECIMALS));
        if (idle) {
            doc_put(b, ev, "idle_for_s", doc_json_real(c->idle[r->ref].idle_for_s,
                                                       SECONDS_DECIMALS));
            doc_put(b, ev, "idle_s", doc_json_real(c->thresholds.idle_s, SECONDS_DECIMALS));
        } else {
            const struct cluster_holding *h = c->blocked[r->ref].holder;
            doc_put(b, o, "user", doc_json_text(at->summary->users[h->user]));
            doc_put(b, ev, "held_for_s", doc_json_real(h->held_s, SECONDS_DECIMALS));
            doc_put(b, ev, "hold_s", doc_json_real(c->thresholds.hold_s, SECONDS_DECIMALS));
            doc_put(b, ev, "low_util_pct",
                    doc_json_real(c->thresholds.low_util_pct, PCT_DECIMALS));
        }
        doc_append(b, run_on, doc_json_text(at->node->info->hostname[0]
                                                ? at->node->info->hostname
                                                : at->node->info->id));
    }
    doc_put(b, ev, "finding", json_string(finding));
    doc_put(b, o, "evidence", ev);
    doc_put(b, o, "run_on", run_on);
    doc_put(b, o, "command", doc_json_text(cluster_rec_command(c, r, command, sizeof command)));
    return o;
}

json_t *doc_contention_build(const struct cluster_contention *c, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *blocked = doc_array(&b), *idle = doc_array(&b);
    json_t *users = doc_array(&b), *top = doc_object(&b), *recs = doc_array(&b);
    doc_put(&b, root, "schema_version", json_integer(DOC_CONTENTION_SCHEMA_VERSION));
    doc_put(&b, root, "generated_at", doc_json_time((struct opt_f64){c->at, true}));
    doc_put(&b, root, "thresholds", thresholds_json(&b, &c->thresholds));
    doc_put(&b, root, "totals", totals_json(&b, c));
    for (size_t i = 0; blocked && i < c->blocked_count; i++)
        doc_append(&b, blocked, blocked_json(&b, &c->blocked[i]));
    for (size_t i = 0; idle && i < c->idle_count; i++)
        doc_append(&b, idle, idle_json(&b, &c->idle[i]));
    for (size_t i = 0; users && i < c->user_count; i++)
        doc_append(&b, users, user_json(&b, c, &c->users[i]));
    doc_put(&b, top, "by_gpu_memory", top_list(&b, c, c->top_by_memory, "gpu_memory_bytes"));
    doc_put(&b, top, "by_gpu_hours", top_list(&b, c, c->top_by_gpu_hours, "gpu_hours"));
    doc_put(&b, top, "by_gpus", top_list(&b, c, c->top_by_gpus, "gpus"));
    for (size_t i = 0; recs && i < c->rec_count; i++)
        doc_append(&b, recs, rec_json(&b, c, &c->recs[i]));
    doc_put(&b, root, "blocked_gpus", blocked);
    doc_put(&b, root, "idle_allocated_gpus", idle);
    doc_put(&b, root, "users", users);
    doc_put(&b, root, "top_users", top);
    doc_put(&b, root, "fairness", fairness_json(&b, c));
    doc_put(&b, root, "recommendations", recs);
    return doc_finish(&b, root, e);
}
