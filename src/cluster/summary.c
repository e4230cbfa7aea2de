/* summary.c - condensing a node's snapshot for the contention analysis.
 *
 * Called by the registry on the ingest thread that accepted a push, once
 * per push; everything the analysis reads per GPU is computed here, so a
 * contention request over 10,000 nodes reads records, not processes.  It
 * knows nothing of nodes, HTTP or JSON.
 */
#include "cluster/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cluster_thresholds_defaults(struct cluster_thresholds *t)
{
    *t = (struct cluster_thresholds){
        .idle_util_pct = 5.0,
        .idle_min_mem_bytes = 1024ull * 1024 * 1024,
        .idle_s = 30 * 60.0,
        .low_util_pct = 10.0,
        .hold_s = 60 * 60.0,
        .fair_share_factor = 2.0,
        .top_users = 10,
    };
}

const char *cluster_process_user(const struct snapshot *s, pid_t pid, char buf[64])
{
    const struct host_process *h = snapshot_host_process(s, pid);
    if (h && h->user[0])
        snprintf(buf, 64, "%s", h->user);
    else if (h && h->uid.known)
        snprintf(buf, 64, "%lld", (long long)h->uid.v);
    else
        snprintf(buf, 64, "unknown");
    return buf;
}

bool cluster_gpu_idle_allocated(uint64_t held_bytes, struct opt_f64 util_pct,
                                const struct cluster_thresholds *t)
{
    return held_bytes > 0 && held_bytes >= t->idle_min_mem_bytes && util_pct.known &&
           util_pct.v <= t->idle_util_pct;
}

void cluster_summary_clear(struct cluster_summary *sum)
{
    if (!sum)
        return;
    free(sum->gpus);
    free(sum->holdings);
    free(sum->users);
    free(sum->pids);
    memset(sum, 0, sizeof *sum);
}

/* The index of user in sum->users, added when new; -1 when out of memory.
 * Nodes have few users, so a linear search beats a hash here. */
static long user_index(struct cluster_summary *sum, size_t *cap, const char *user)
{
    for (size_t i = 0; i < sum->user_count; i++)
        if (!strcmp(sum->users[i], user))
            return (long)i;
    if (sum->user_count == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        void *p = realloc(sum->users, n * sizeof *sum->users);
        if (!p)
            return -1;
        sum->users = p;
        *cap = n;
    }
    snprintf(sum->users[sum->user_count], sizeof sum->users[0], "%s", user);
    return (long)sum->user_count++;
}

/* The GPU's utilisation: the device's figure, else the sum of its
 * processes' known SM shares (capped at 100), else unknown. */
static struct opt_f64 gpu_util(const struct snapshot *s, const struct device *d)
{
    if (d->util_gpu_pct.known)
        return d->util_gpu_pct;
    struct opt_f64 sum = {0, false};
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *p = &s->gprocs[i];
        if (p->device_index == d->index && p->sm_pct.known)
            OPT_SET(sum, sum.v + p->sm_pct.v);
    }
    if (sum.known && sum.v > 100)
        sum.v = 100;
    return sum;
}

/* The previous summary's record of the same GPU (UUID, else index). */
static const struct cluster_gpu_summary *previous_gpu(const struct cluster_summary *prev,
                                                      const struct device *d)
{
    if (!prev)
        return NULL;
    for (size_t i = 0; i < prev->gpu_count; i++) {
        const struct cluster_gpu_summary *g = &prev->gpus[i];
        if (d->uuid[0] ? !strcmp(g->uuid, d->uuid) : (!g->uuid[0] && g->index == d->index))
            return g;
    }
    return NULL;
}

static int by_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* Adds one holding per user with processes on device d: their memory,
 * their pids (ascending) and how long the oldest has run. */
static int add_holdings(struct cluster_summary *sum, size_t *user_cap, const struct snapshot *s,
                        const struct device *d, struct cluster_gpu_summary *g)
{
    g->holding_start = sum->holding_count;
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *p = &s->gprocs[i];
        if (p->device_index != d->index)
            continue;
        char name[64];
        long u = user_index(sum, user_cap, cluster_process_user(s, p->pid, name));
        if (u < 0)
            return -1;
        struct cluster_holding *h = NULL;
        for (size_t k = g->holding_start; k < sum->holding_count; k++)
            if (sum->holdings[k].user == (unsigned)u)
                h = &sum->holdings[k];
        if (!h) {
            h = &sum->holdings[sum->holding_count++];
            *h = (struct cluster_holding){.user = (unsigned)u};
        }
        uint64_t mem = p->gpu_mem_bytes.known ? p->gpu_mem_bytes.v : 0;
        h->mem_bytes += mem;
        g->held_bytes += mem;
        const struct host_process *hp = snapshot_host_process(s, p->pid);
        if (hp && hp->elapsed_s.known && hp->elapsed_s.v > h->held_s)
            h->held_s = hp->elapsed_s.v;
        h->pid_count++;
    }
    g->holding_count = sum->holding_count - g->holding_start;
    /* Pids laid out holding after holding, each run ascending. */
    for (size_t k = g->holding_start; k < sum->holding_count; k++) {
        struct cluster_holding *h = &sum->holdings[k];
        h->pid_start = sum->pid_count;
        for (size_t i = 0; i < s->gproc_count; i++) {
            const struct gpu_process *p = &s->gprocs[i];
            char name[64];
            if (p->device_index == d->index &&
                !strcmp(sum->users[h->user], cluster_process_user(s, p->pid, name)))
                sum->pids[sum->pid_count++] = p->pid;
        }
        qsort(sum->pids + h->pid_start, h->pid_count, sizeof *sum->pids, by_pid);
    }
    return 0;
}

int cluster_summary_build(struct cluster_summary *out, const struct snapshot *s,
                          const struct cluster_summary *prev, double now,
                          const struct cluster_thresholds *t, struct error *e)
{
    memset(out, 0, sizeof *out);
    size_t user_cap = 0;
    /* At most one holding and one pid per GPU process. */
    out->gpus = calloc(s->device_count ? s->device_count : 1, sizeof *out->gpus);
    out->holdings = calloc(s->gproc_count ? s->gproc_count : 1, sizeof *out->holdings);
    out->pids = calloc(s->gproc_count ? s->gproc_count : 1, sizeof *out->pids);
    if (!out->gpus || !out->holdings || !out->pids)
        goto nomem;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        /* Each process is counted on its device once: two devices with one
         * index would count it twice (and overrun the arrays). */
        for (size_t j = 0; j < i; j++)
            if (s->devices[j].index == d->index) {
                cluster_summary_clear(out);
                return error_set(e, -ERROR_PARSE, "gpus[%zu]: index %d appears twice", i,
                                 d->index);
            }
        struct cluster_gpu_summary *g = &out->gpus[out->gpu_count++];
        g->index = d->index;
        g->uuid = d->uuid;
        g->name = d->name;
        g->mem_total_bytes = d->mem_total_bytes;
        g->mem_used_bytes = d->mem_used_bytes;
        g->util_pct = gpu_util(s, d);
        if (add_holdings(out, &user_cap, s, d, g) < 0)
            goto nomem;
        g->idle_allocated_now = cluster_gpu_idle_allocated(g->held_bytes, g->util_pct, t);
        if (g->idle_allocated_now) {
            const struct cluster_gpu_summary *was = previous_gpu(prev, d);
            g->idle_since = was && was->idle_since > 0 ? was->idle_since : now;
        }
    }
    return 0;
nomem:
    cluster_summary_clear(out);
    return error_set(e, -ENOMEM, "out of memory summarising a node's snapshot");
}
