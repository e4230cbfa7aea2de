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

#include "core/grow.h"

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
    if (!sum->packed) {
        free(sum->gpus);
        free(sum->holdings);
        free(sum->users);
        free(sum->pids);
    }
    memset(sum, 0, sizeof *sum);
}

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

size_t cluster_summary_packed_size(const struct cluster_summary *src)
{
    return round8(src->gpu_count * sizeof *src->gpus) +
           round8(src->holding_count * sizeof *src->holdings) +
           round8(src->pid_count * sizeof *src->pids) +
           round8(src->user_count * sizeof *src->users);
}

/* Copies n bytes of from to *at and moves *at past them (8-aligned). */
static void *place(char **at, const void *from, size_t n)
{
    void *to = *at;
    if (n)
        memcpy(to, from, n);
    *at += round8(n);
    return to;
}

void cluster_summary_pack(struct cluster_summary *dst, const struct cluster_summary *src,
                          void *mem)
{
    char *at = mem;
    *dst = *src;
    dst->gpus = place(&at, src->gpus, src->gpu_count * sizeof *src->gpus);
    dst->holdings = place(&at, src->holdings, src->holding_count * sizeof *src->holdings);
    dst->pids = place(&at, src->pids, src->pid_count * sizeof *src->pids);
    dst->users = place(&at, src->users, src->user_count * sizeof *src->users);
    dst->packed = true;
}

/* ------------------------------------------------------------ facts */

/* Grows *items (count used, *cap allocated) by one zeroed entry. */
static void *add_one(void **items, size_t *count, size_t *cap, size_t size)
{
    if (grow_for_one(items, cap, *count, size, 8) < 0)
        return NULL;
    void *p = (char *)*items + (*count)++ * size;
    memset(p, 0, size);
    return p;
}

struct cluster_gpu_facts *cluster_node_facts_add_gpu(struct cluster_node_facts *f)
{
    return add_one((void **)&f->gpus, &f->gpu_count, &f->gpu_cap, sizeof *f->gpus);
}

struct cluster_process_facts *cluster_node_facts_add_process(struct cluster_node_facts *f)
{
    return add_one((void **)&f->procs, &f->proc_count, &f->proc_cap, sizeof *f->procs);
}

struct cluster_host_facts *cluster_node_facts_add_host(struct cluster_node_facts *f)
{
    return add_one((void **)&f->hosts, &f->host_count, &f->host_cap, sizeof *f->hosts);
}

void cluster_node_facts_clear(struct cluster_node_facts *f)
{
    if (!f)
        return;
    free(f->gpus);
    free(f->procs);
    free(f->hosts);
    memset(f, 0, sizeof *f);
}

static int host_by_pid(const void *a, const void *b)
{
    pid_t x = ((const struct cluster_host_facts *)a)->pid;
    pid_t y = ((const struct cluster_host_facts *)b)->pid;
    return (x > y) - (x < y);
}

/* Insertion sort: stable, and the hosts of one push are few and mostly in
 * order already. */
void cluster_node_facts_finish(struct cluster_node_facts *f)
{
    for (size_t i = 1; i < f->host_count; i++) {
        struct cluster_host_facts h = f->hosts[i];
        size_t j = i;
        for (; j > 0 && f->hosts[j - 1].pid > h.pid; j--)
            f->hosts[j] = f->hosts[j - 1];
        f->hosts[j] = h;
    }
    size_t kept = f->host_count ? 1 : 0;
    for (size_t i = 1; i < f->host_count; i++)
        if (f->hosts[i].pid != f->hosts[kept - 1].pid)
            f->hosts[kept++] = f->hosts[i];
    f->host_count = kept;
}

int cluster_node_facts_from_snapshot(struct cluster_node_facts *out, const struct snapshot *s,
                                     struct error *e)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        struct cluster_gpu_facts *g = cluster_node_facts_add_gpu(out);
        if (!g)
            goto nomem;
        g->index = d->index;
        snprintf(g->uuid, sizeof g->uuid, "%s", d->uuid);
        snprintf(g->name, sizeof g->name, "%s", d->name);
        g->mem_total_bytes = d->mem_total_bytes;
        g->mem_used_bytes = d->mem_used_bytes;
        g->util_pct = d->util_gpu_pct;
        g->power_mw = d->power_mw;
    }
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        struct cluster_process_facts *p = cluster_node_facts_add_process(out);
        if (!p)
            goto nomem;
        *p = (struct cluster_process_facts){gp->device_index, gp->pid, gp->gpu_mem_bytes,
                                            gp->sm_pct};
    }
    for (size_t i = 0; i < s->hproc_count; i++) {
        const struct host_process *hp = &s->hprocs[i];
        struct cluster_host_facts *h = cluster_node_facts_add_host(out);
        if (!h)
            goto nomem;
        h->pid = hp->pid;
        snprintf(h->user, sizeof h->user, "%s", hp->user);
        h->uid = hp->uid;
        h->elapsed_s = hp->elapsed_s;
    }
    cluster_node_facts_finish(out);
    return 0;
nomem:
    cluster_node_facts_clear(out);
    return error_set(e, -ENOMEM, "out of memory summarising a node's snapshot");
}

/* ------------------------------------------------------------ summary */

/* The owner's name of each process: its user name, else its numeric uid,
 * else "unknown"; and how long it has run.  Looked up once per process. */
struct owner {
    char name[64];
    struct opt_f64 elapsed_s;
};

static void find_owners(const struct cluster_node_facts *f, struct owner *out)
{
    for (size_t i = 0; i < f->proc_count; i++) {
        struct cluster_host_facts key = {.pid = f->procs[i].pid};
        const struct cluster_host_facts *h =
            f->host_count ? bsearch(&key, f->hosts, f->host_count, sizeof *f->hosts,
                                    host_by_pid)
                          : NULL;
        if (h && h->user[0])
            snprintf(out[i].name, sizeof out[i].name, "%s", h->user);
        else if (h && h->uid.known)
            snprintf(out[i].name, sizeof out[i].name, "%lld", (long long)h->uid.v);
        else
            snprintf(out[i].name, sizeof out[i].name, "unknown");
        out[i].elapsed_s = h ? h->elapsed_s : (struct opt_f64){0, false};
    }
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
static struct opt_f64 gpu_util(const struct cluster_node_facts *f,
                               const struct cluster_gpu_facts *d)
{
    if (d->util_pct.known)
        return d->util_pct;
    struct opt_f64 sum = {0, false};
    for (size_t i = 0; i < f->proc_count; i++) {
        const struct cluster_process_facts *p = &f->procs[i];
        if (p->gpu_index == d->index && p->sm_pct.known)
            OPT_SET(sum, sum.v + p->sm_pct.v);
    }
    if (sum.known && sum.v > 100)
        sum.v = 100;
    return sum;
}

/* The previous summary's record of the same GPU (UUID, else index). */
static const struct cluster_gpu_summary *previous_gpu(const struct cluster_summary *prev,
                                                      const struct cluster_gpu_facts *d)
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

/* Adds one holding per user with processes on GPU d: their memory, their
 * pids (ascending) and how long the oldest has run. */
static int add_holdings(struct cluster_summary *sum, size_t *user_cap,
                        const struct cluster_node_facts *f, const struct owner *owners,
                        const struct cluster_gpu_facts *d, struct cluster_gpu_summary *g)
{
    g->holding_start = sum->holding_count;
    for (size_t i = 0; i < f->proc_count; i++) {
        const struct cluster_process_facts *p = &f->procs[i];
        if (p->gpu_index != d->index)
            continue;
        long u = user_index(sum, user_cap, owners[i].name);
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
        if (owners[i].elapsed_s.known && owners[i].elapsed_s.v > h->held_s)
            h->held_s = owners[i].elapsed_s.v;
        h->pid_count++;
    }
    g->holding_count = sum->holding_count - g->holding_start;
    /* Pids laid out holding after holding, each run ascending. */
    for (size_t k = g->holding_start; k < sum->holding_count; k++) {
        struct cluster_holding *h = &sum->holdings[k];
        h->pid_start = sum->pid_count;
        for (size_t i = 0; i < f->proc_count; i++)
            if (f->procs[i].gpu_index == d->index &&
                !strcmp(sum->users[h->user], owners[i].name))
                sum->pids[sum->pid_count++] = f->procs[i].pid;
        qsort(sum->pids + h->pid_start, h->pid_count, sizeof *sum->pids, by_pid);
    }
    return 0;
}

static int summarise(struct cluster_summary *out, const struct cluster_node_facts *f,
                     const struct owner *owners, const struct cluster_summary *prev, double now,
                     const struct cluster_thresholds *t, struct error *e)
{
    size_t user_cap = 0;
    /* At most one holding and one pid per GPU process. */
    out->gpus = calloc(f->gpu_count ? f->gpu_count : 1, sizeof *out->gpus);
    out->holdings = calloc(f->proc_count ? f->proc_count : 1, sizeof *out->holdings);
    out->pids = calloc(f->proc_count ? f->proc_count : 1, sizeof *out->pids);
    if (!out->gpus || !out->holdings || !out->pids)
        return error_set(e, -ENOMEM, "out of memory summarising a node's snapshot");
    for (size_t i = 0; i < f->gpu_count; i++) {
        const struct cluster_gpu_facts *d = &f->gpus[i];
        /* Each process is counted on its device once: two devices with one
         * index would count it twice (and overrun the arrays). */
        for (size_t j = 0; j < i; j++)
            if (f->gpus[j].index == d->index)
                return error_set(e, -ERROR_PARSE, "gpus[%zu]: index %d appears twice", i,
                                 d->index);
        struct cluster_gpu_summary *g = &out->gpus[out->gpu_count++];
        g->index = d->index;
        memcpy(g->uuid, d->uuid, sizeof g->uuid);
        memcpy(g->name, d->name, sizeof g->name);
        g->mem_total_bytes = d->mem_total_bytes;
        g->mem_used_bytes = d->mem_used_bytes;
        g->util_pct = gpu_util(f, d);
        g->power_mw = d->power_mw;
        if (add_holdings(out, &user_cap, f, owners, d, g) < 0)
            return error_set(e, -ENOMEM, "out of memory summarising a node's snapshot");
        g->idle_allocated_now = cluster_gpu_idle_allocated(g->held_bytes, g->util_pct, t);
        if (g->idle_allocated_now) {
            const struct cluster_gpu_summary *was = previous_gpu(prev, d);
            g->idle_since = was && was->idle_since > 0 ? was->idle_since : now;
        }
    }
    return 0;
}

int cluster_summary_build_facts(struct cluster_summary *out, const struct cluster_node_facts *f,
                                const struct cluster_summary *prev, double now,
                                const struct cluster_thresholds *t, struct error *e)
{
    memset(out, 0, sizeof *out);
    struct owner *owners = malloc((f->proc_count ? f->proc_count : 1) * sizeof *owners);
    if (!owners)
        return error_set(e, -ENOMEM, "out of memory summarising a node's snapshot");
    find_owners(f, owners);
    int rc = summarise(out, f, owners, prev, now, t, e);
    free(owners);
    if (rc < 0)
        cluster_summary_clear(out);
    return rc;
}

int cluster_summary_build(struct cluster_summary *out, const struct snapshot *s,
                          const struct cluster_summary *prev, double now,
                          const struct cluster_thresholds *t, struct error *e)
{
    struct cluster_node_facts f;
    memset(out, 0, sizeof *out);
    int rc = cluster_node_facts_from_snapshot(&f, s, e);
    if (rc == 0)
        rc = cluster_summary_build_facts(out, &f, prev, now, t, e);
    cluster_node_facts_clear(&f);
    return rc;
}
