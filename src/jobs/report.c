/* report.c - groups and the leak heuristic of a finished job (report.h).
 *
 * The leak test is deliberately conservative: a job's memory often rises
 * while it warms up and then stays flat, or rises and falls in waves; both
 * must not be called leaks.  Requiring every quarter of a process's life to
 * sit above the previous one, by a real margin overall and over a real
 * length of time, flags only the steady climb a leak makes.
 */
#include "jobs/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/str.h"

static const char *const group_names[] = {"command", "exe", "ppid"};

const char *run_group_by_name(enum run_group_by by)
{
    return (unsigned)by < 3 ? group_names[by] : "command";
}

int run_group_by_parse(const char *s, enum run_group_by *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, group_names[i]) == 0) {
            *out = (enum run_group_by)i;
            return 0;
        }
    }
    return -EINVAL;
}

void run_group_key(const struct run_proc *p, enum run_group_by by, char *buf, size_t size)
{
    if (by == RUN_GROUP_PPID)
        snprintf(buf, size, "%d", (int)p->ppid);
    else if (by == RUN_GROUP_EXE && p->exe[0])
        str_copy(buf, size, p->exe);
    else
        str_copy(buf, size, p->command);
}

int run_group_index(const struct run_group *groups, size_t count, const struct run_proc *p,
                    enum run_group_by by)
{
    char key[256];
    run_group_key(p, by, key, sizeof key);
    for (size_t i = 0; i < count; i++)
        if (strcmp(groups[i].key, key) == 0)
            return (int)i;
    return -1;
}

static int cmp_group(const void *a, const void *b)
{
    const struct run_group *x = a, *y = b;
    if (x->total_peak_kib != y->total_peak_kib)
        return x->total_peak_kib > y->total_peak_kib ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void add_member(struct run_group *g, const struct run_proc *p)
{
    g->process_count++;
    g->total_peak_kib += p->max_rss_kib;
    if (p->max_rss_kib > g->max_peak_kib)
        g->max_peak_kib = p->max_rss_kib;
    if (p->gpu_mem_peak_bytes.known)
        OPT_SET(g->gpu_mem_peak_bytes,
                (g->gpu_mem_peak_bytes.known ? g->gpu_mem_peak_bytes.v : 0) +
                p->gpu_mem_peak_bytes.v);
}

int run_groups(const struct run_report *r, enum run_group_by by, struct run_group **out,
               size_t *count)
{
    struct run_group *g = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        int at = run_group_index(g, n, p, by);
        if (at < 0) {
            if (grow_for_one((void **)&g, &cap, n, sizeof *g, 8) < 0) {
                free(g);
                return -ENOMEM;
            }
            g[n] = (struct run_group){0};
            run_group_key(p, by, g[n].key, sizeof g[n].key);
            at = (int)n++;
        }
        add_member(&g[at], p);
    }
    if (n > 1)
        qsort(g, n, sizeof *g, cmp_group);
    *out = g;
    *count = n;
    return 0;
}

/* ---- leaks ------------------------------------------------------------------------- */

static double point_time(const struct run_report *r, const struct run_point *pt)
{
    return pt->sample < r->sample_count ? r->timeline[pt->sample].elapsed_s : 0.0;
}

static void judge(const struct run_report *r, struct run_proc *p, double min_growth_pct,
                  double min_duration_s)
{
    p->leak_suspect = false;
    p->leak_growth_pct = 0;
    if (p->point_count < 8)
        return;
    double t0 = point_time(r, &p->points[0]);
    double t1 = point_time(r, &p->points[p->point_count - 1]);
    if (t1 - t0 < min_duration_s || t1 <= t0)
        return;
    double sum[4] = {0}, cnt[4] = {0};
    for (size_t i = 0; i < p->point_count; i++) {
        double f = (point_time(r, &p->points[i]) - t0) / (t1 - t0);
        int q = f >= 1.0 ? 3 : (int)(f * 4.0);
        sum[q] += (double)p->points[i].rss_kib;
        cnt[q] += 1;
    }
    double mean[4];
    for (int q = 0; q < 4; q++) {
        if (cnt[q] == 0)
            return;
        mean[q] = sum[q] / cnt[q];
    }
    if (mean[0] <= 0)
        return;
    for (int q = 1; q < 4; q++)
        if (mean[q] <= mean[q - 1])
            return;
    p->leak_growth_pct = (mean[3] - mean[0]) / mean[0] * 100.0;
    p->leak_suspect = p->leak_growth_pct >= min_growth_pct;
}

void run_mark_leaks(struct run_report *r, double min_growth_pct, double min_duration_s)
{
    for (size_t i = 0; i < r->proc_count; i++)
        judge(r, &r->procs[i], min_growth_pct, min_duration_s);
}
