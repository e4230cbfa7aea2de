/* audit_merge.c - merging the audit summaries of several hosts
 * (audit_merge.h).  Pure arithmetic over decoded summaries; asking the
 * hosts and drawing the result are the CLI's.
 */
#include <stdlib.h>
#include <string.h>

#include "remote/audit_merge.h"

struct merger {
    struct audit_summary *s;
    size_t user_cap, process_cap, gpu_cap, period_cap;
    bool failed;
};

static bool grow(struct merger *m, void **items, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return true;
    size_t want = *cap ? 2 * *cap : 16;
    void *p = realloc(*items, want * size);
    if (!p) {
        m->failed = true;
        return false;
    }
    *items = p;
    *cap = want;
    return true;
}

static struct opt_u64 max_u64(struct opt_u64 a, struct opt_u64 b)
{
    if (!a.known)
        return b;
    return b.known && b.v > a.v ? b : a;
}

static void add_usage(struct merger *m, struct audit_usage **list, size_t *count, size_t *cap,
                      const struct audit_usage *u)
{
    for (size_t i = 0; i < *count; i++) {
        struct audit_usage *have = &(*list)[i];
        if (strcmp(have->key, u->key) != 0)
            continue;
        have->rows += u->rows;
        have->gpu_mem_gib_hours += u->gpu_mem_gib_hours;
        have->sm_pct_hours += u->sm_pct_hours;
        have->peak_mem_bytes = max_u64(have->peak_mem_bytes, u->peak_mem_bytes);
        return;
    }
    if (!grow(m, (void **)list, *count, cap, sizeof **list))
        return;
    struct audit_usage *n = &(*list)[*count];
    *n = *u;
    if (!(n->key = strdup(u->key))) {
        m->failed = true;
        return;
    }
    (*count)++;
}

static void add_gpu(struct merger *m, const struct audit_gpu_usage *g, const char *label)
{
    struct audit_summary *s = m->s;
    if (!grow(m, (void **)&s->gpus, s->gpu_count, &m->gpu_cap, sizeof *s->gpus))
        return;
    struct audit_gpu_usage *n = &s->gpus[s->gpu_count];
    *n = *g;
    n->host = strdup(label);
    n->uuid = g->uuid ? strdup(g->uuid) : NULL;
    n->name = g->name ? strdup(g->name) : NULL;
    s->gpu_count++;
    if (!n->host || (g->uuid && !n->uuid) || (g->name && !n->name))
        m->failed = true;
}

/* A mean two hosts report, weighted by their GPU samples. */
static struct opt_f64 weighted(struct opt_f64 have, double *have_w, struct opt_f64 add, double w)
{
    if (!add.known)
        return have;
    if (!have.known || *have_w + w <= 0) {
        *have_w = w;
        return add;
    }
    have.v = (have.v * *have_w + add.v * w) / (*have_w + w);
    *have_w += w;
    return have;
}

static void add_period(struct merger *m, double *weights, const struct audit_period *p, double w)
{
    struct audit_summary *s = m->s;
    for (size_t i = 0; i < s->busiest_count; i++) {
        struct audit_period *have = &s->busiest[i];
        if (have->start_ms != p->start_ms)
            continue;
        have->proc_rows += p->proc_rows;
        have->gpu_mem_gib_hours += p->gpu_mem_gib_hours;
        have->sm_pct_hours += p->sm_pct_hours;
        have->util_avg_pct = weighted(have->util_avg_pct, &weights[i], p->util_avg_pct, w);
        return;
    }
    if (!grow(m, (void **)&s->busiest, s->busiest_count, &m->period_cap, sizeof *s->busiest))
        return;
    weights[s->busiest_count] = w;
    s->busiest[s->busiest_count++] = *p;
}

static void add_summary(struct merger *m, const struct audit_summary *p, const char *label,
                        double *hour_w, double **period_w, size_t *period_w_cap, bool first)
{
    struct audit_summary *s = m->s;
    double w = (double)p->gpu_rows;
    s->from_ms = first || p->from_ms < s->from_ms ? p->from_ms : s->from_ms;
    s->to_ms = first || p->to_ms > s->to_ms ? p->to_ms : s->to_ms;
    s->samples += p->samples;
    s->proc_rows += p->proc_rows;
    s->gpu_rows += p->gpu_rows;
    if (p->first_ms.known && (!s->first_ms.known || p->first_ms.v < s->first_ms.v))
        s->first_ms = p->first_ms;
    s->last_ms = max_u64(s->last_ms, p->last_ms);
    for (size_t i = 0; i < p->user_count; i++)
        add_usage(m, &s->users, &s->user_count, &m->user_cap, &p->users[i]);
    for (size_t i = 0; i < p->process_count; i++)
        add_usage(m, &s->processes, &s->process_count, &m->process_cap, &p->processes[i]);
    for (size_t i = 0; i < p->gpu_count; i++)
        add_gpu(m, &p->gpus[i], label);
    for (int h = 0; h < 24; h++) {
        struct audit_hour_bin *have = &s->hours[h];
        const struct audit_hour_bin *add = &p->hours[h];
        have->proc_rows += add->proc_rows;
        have->gpu_mem_gib_hours += add->gpu_mem_gib_hours;
        have->sm_pct_hours += add->sm_pct_hours;
        have->util_avg_pct = weighted(have->util_avg_pct, &hour_w[h], add->util_avg_pct, w);
    }
    for (size_t i = 0; i < p->busiest_count && !m->failed; i++) {
        size_t need = s->busiest_count + 1;
        if (need > *period_w_cap) {
            size_t cap = 2 * need;
            double *grown = realloc(*period_w, cap * sizeof *grown);
            if (!grown) {
                m->failed = true;
                return;
            }
            *period_w = grown;
            *period_w_cap = cap;
        }
        add_period(m, *period_w, &p->busiest[i], w);
    }
}

/* The store's order: GPU-memory hours, then SM-% hours, then rows, then
 * the name. */
static int by_usage(const void *pa, const void *pb)
{
    const struct audit_usage *a = pa, *b = pb;
    if (a->gpu_mem_gib_hours != b->gpu_mem_gib_hours)
        return a->gpu_mem_gib_hours > b->gpu_mem_gib_hours ? -1 : 1;
    if (a->sm_pct_hours != b->sm_pct_hours)
        return a->sm_pct_hours > b->sm_pct_hours ? -1 : 1;
    if (a->rows != b->rows)
        return a->rows > b->rows ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int by_period(const void *pa, const void *pb)
{
    const struct audit_period *a = pa, *b = pb;
    if (a->gpu_mem_gib_hours != b->gpu_mem_gib_hours)
        return a->gpu_mem_gib_hours > b->gpu_mem_gib_hours ? -1 : 1;
    if (a->sm_pct_hours != b->sm_pct_hours)
        return a->sm_pct_hours > b->sm_pct_hours ? -1 : 1;
    return a->start_ms < b->start_ms ? -1 : a->start_ms > b->start_ms;
}

static void cut_usage(struct audit_usage *u, size_t *count, size_t top)
{
    qsort(u, *count, sizeof *u, by_usage);
    if (top == 0 || *count <= top)
        return;
    for (size_t i = top; i < *count; i++)
        free(u[i].key);
    *count = top;
}

int remote_audit_merge(const struct audit_summary *const *parts, const char *const *labels,
                       size_t n, size_t top, struct audit_summary **out, struct error *e)
{
    struct merger m = {.s = calloc(1, sizeof *m.s)};
    double hour_w[24] = {0}, *period_w = NULL;
    size_t period_w_cap = 0;
    *out = NULL;
    if (!m.s)
        return error_set(e, -ENOMEM, "out of memory");
    for (int h = 0; h < 24; h++)
        m.s->hours[h].hour = h;
    for (size_t i = 0; i < n && !m.failed; i++)
        add_summary(&m, parts[i], labels[i], hour_w, &period_w, &period_w_cap, i == 0);
    free(period_w);
    if (m.failed) {
        audit_summary_free(m.s);
        return error_set(e, -ENOMEM, "out of memory");
    }
    cut_usage(m.s->users, &m.s->user_count, top);
    cut_usage(m.s->processes, &m.s->process_count, top);
    qsort(m.s->busiest, m.s->busiest_count, sizeof *m.s->busiest, by_period);
    if (top && m.s->busiest_count > top)
        m.s->busiest_count = top;
    *out = m.s;
    return 0;
}
