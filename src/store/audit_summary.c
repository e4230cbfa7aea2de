/* audit_summary.c - the summary of a window of history: top users and
 * process names, per-GPU utilisation, the hourly pattern and the busiest
 * hours.
 *
 * The budget is under a second over ten million process rows, so the
 * summary never reads raw rows of whole hours: the writers keep hourly
 * rollups (audit_write.c), and only the partial hours at the window's two
 * ends are aggregated from raw rows, in the same shape.  Both give "cells"
 * (one clock hour and one user/name, or one hour and one GPU) and
 * everything else is sums over cells in C.  The figures are therefore
 * exact for any window, not rounded to hours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/audit_internal.h"

struct proc_cell {
    int64_t hour, user_id, name_id;
    int64_t rows, mem_kib_ms, sm_pct_ms, peak_kib;   /* peak_kib -1: unknown */
};

struct gpu_cell {
    int64_t hour, device_id;
    int64_t rows, util_n, util_sum, util_max, mem_max_kib;   /* -1: unknown */
};

struct cells {
    struct proc_cell *p;
    size_t np, capp;
    struct gpu_cell *g;
    size_t ng, capg;
};

static void cells_free(struct cells *c)
{
    if (!c)
        return;
    free(c->p);
    free(c->g);
}

static int64_t col_or(sqlite3_stmt *st, int i, int64_t unknown)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? unknown : sqlite3_column_int64(st, i);
}

static int grow(void **arr, size_t *cap, size_t n, size_t size, struct error *e)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, c * size);
    if (!p)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    *arr = p;
    *cap = c;
    return 0;
}

static int add_proc_cell(struct cells *c, sqlite3_stmt *st, struct error *e)
{
    int rc = grow((void **)&c->p, &c->capp, c->np, sizeof *c->p, e);
    if (rc)
        return rc;
    c->p[c->np++] = (struct proc_cell){
        sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
        sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
        col_or(st, 6, -1)};
    return 0;
}

static int add_gpu_cell(struct cells *c, sqlite3_stmt *st, struct error *e)
{
    int rc = grow((void **)&c->g, &c->capg, c->ng, sizeof *c->g, e);
    if (rc)
        return rc;
    c->g[c->ng++] = (struct gpu_cell){
        sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
        sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4), col_or(st, 5, -1),
        col_or(st, 6, -1)};
    return 0;
}

/* Hour boundaries: rollups cover [full_from, full_to), raw rows the rest. */
struct window {
    int64_t from, to, full_from_h, full_to_h;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static struct window window_of(const struct audit_filter *f)
{
    struct window w = {f->from_ms, f->to_ms, floor_div(f->from_ms + AUDIT_HOUR_MS - 1,
                                                       AUDIT_HOUR_MS),
                       floor_div(f->to_ms, AUDIT_HOUR_MS)};
    if (w.full_to_h < w.full_from_h)
        w.full_to_h = w.full_from_h;
    return w;
}

static int load(struct audit_db *db, const char *sql, const struct window *w,
                const struct audit_filter *f, struct cells *c,
                int (*add)(struct cells *, sqlite3_stmt *, struct error *), struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, w->from);
    sqlite3_bind_int64(st, 2, w->to);
    sqlite3_bind_int64(st, 3, w->full_from_h);
    sqlite3_bind_int64(st, 4, w->full_to_h);
    if (f->user && sqlite3_bind_parameter_index(st, "?5") > 0)
        sqlite3_bind_text(st, 5, f->user, -1, SQLITE_TRANSIENT);
    int step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = add(c, st, e);
    if (!rc && step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "summarising the audit database");
    sqlite3_finalize(st);
    return rc;
}

/* The raw rows of the partial hours are found time first (CROSS JOIN fixes
 * the order): at most two hours of rows, whatever the filter, where an
 * index on the user or name could lead through months of rows. */
static int load_cells(struct audit_db *db, const struct audit_filter *f, const struct window *w,
                      struct cells *c, struct error *e)
{
    char sql[2048];
#define BY_USER(t) " AND " t ".user_id = (SELECT id FROM users WHERE name = ?5)"
#define BY_NAME(t) " AND " t ".name_id IN (SELECT id FROM temp.audit_sel_name)"
    const char *user_r = f->user ? BY_USER("r") : "", *user_p = f->user ? BY_USER("p") : "";
    const char *name_r = f->process ? BY_NAME("r") : "";
    const char *name_p = f->process ? BY_NAME("p") : "";
#undef BY_USER
#undef BY_NAME
    snprintf(sql, sizeof sql,
             "SELECT r.hour, r.user_id, r.name_id, r.rows, r.mem_kib_ms, r.sm_pct_ms,"
             " r.peak_kib FROM rollup_procs r"
             " WHERE r.hour >= ?3 AND r.hour < ?4 AND ?1 IS NOT NULL AND ?2 IS NOT NULL%s%s"
             " UNION ALL "
             "SELECT s.t / 3600000, p.user_id, p.name_id, count(*),"
             " sum(coalesce(ps.mem_kib, 0) * s.dur_ms), sum(coalesce(ps.sm_pct, 0) * s.dur_ms),"
             " max(ps.mem_kib) FROM samples s"
             " CROSS JOIN proc_samples ps ON ps.sample_id = s.id"
             " CROSS JOIN procs p ON p.id = ps.proc_id"
             " WHERE s.t >= ?1 AND s.t < ?2 AND (s.t < ?3 * 3600000 OR s.t >= ?4 * 3600000)%s%s"
             " GROUP BY 1, 2, 3", user_r, name_r, user_p, name_p);
    int rc = load(db, sql, w, f, c, add_proc_cell, e);
    if (rc)
        return rc;
    return load(db,
                "SELECT hour, device_id, rows, util_n, util_sum, util_max, mem_max_kib"
                " FROM rollup_gpus WHERE hour >= ?3 AND hour < ?4"
                " AND ?1 IS NOT NULL AND ?2 IS NOT NULL"
                " UNION ALL "
                "SELECT s.t / 3600000, g.device_id, count(*), count(g.util_pct),"
                " coalesce(sum(g.util_pct), 0), max(g.util_pct), max(g.mem_used_kib)"
                " FROM samples s CROSS JOIN gpu_samples g ON g.sample_id = s.id"
                " WHERE s.t >= ?1 AND s.t < ?2 AND (s.t < ?3 * 3600000 OR s.t >= ?4 * 3600000)"
                " GROUP BY 1, 2",
                w, f, c, add_gpu_cell, e);
}

/* ------------------------------------------------------------ users, names */

#define KIB_MS_PER_GIB_HOUR (1024.0 * 1024.0 * 3600000.0)

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_user(const void *a, const void *b)
{
    const struct proc_cell *x = a, *y = b;
    return cmp_i64(x->user_id, y->user_id);
}

static int cmp_name(const void *a, const void *b)
{
    const struct proc_cell *x = a, *y = b;
    return cmp_i64(x->name_id, y->name_id);
}

/* Ranked by GPU-memory hours, then SM hours, then rows; ties by id so
 * the order never depends on qsort. */
struct ranked {
    int64_t id, rows, mem_kib_ms, sm_pct_ms, peak_kib;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->mem_kib_ms != y->mem_kib_ms)
        return x->mem_kib_ms < y->mem_kib_ms ? 1 : -1;
    if (x->sm_pct_ms != y->sm_pct_ms)
        return x->sm_pct_ms < y->sm_pct_ms ? 1 : -1;
    if (x->rows != y->rows)
        return x->rows < y->rows ? 1 : -1;
    return cmp_i64(x->id, y->id);
}

static int name_of(struct audit_db *db, bool user, int64_t id, char **out, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, user ? "SELECT name FROM users WHERE id = ?"
                                    : "SELECT name FROM pnames WHERE id = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    const char *name = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
                                                      : "";
    *out = strdup(name ? name : "");
    sqlite3_finalize(st);
    return *out ? 0 : error_set(e, -ENOMEM, "out of memory summarising the audit database");
}

/* Groups the cells by user (by_user) or name, ranks the groups and keeps
 * the first top_n, with their names. */
static int usage_of(struct audit_db *db, struct cells *c, bool by_user, size_t top_n,
                    struct audit_usage **out, size_t *count, struct error *e)
{
    *out = NULL;
    *count = 0;
    if (c->np == 0)
        return 0;
    qsort(c->p, c->np, sizeof *c->p, by_user ? cmp_user : cmp_name);
    struct ranked *r = calloc(c->np, sizeof *r);
    if (!r)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    size_t n = 0;
    for (size_t i = 0; i < c->np; i++) {
        const struct proc_cell *p = &c->p[i];
        int64_t id = by_user ? p->user_id : p->name_id;
        if (n == 0 || r[n - 1].id != id)
            r[n++] = (struct ranked){id, 0, 0, 0, -1};
        struct ranked *cur = &r[n - 1];
        cur->rows += p->rows;
        cur->mem_kib_ms += p->mem_kib_ms;
        cur->sm_pct_ms += p->sm_pct_ms;
        if (p->peak_kib > cur->peak_kib)
            cur->peak_kib = p->peak_kib;
    }
    qsort(r, n, sizeof *r, cmp_ranked);
    if (top_n && n > top_n)
        n = top_n;
    struct audit_usage *u = calloc(n, sizeof *u);
    int rc = u ? 0 : error_set(e, -ENOMEM, "out of memory summarising the audit database");
    for (size_t i = 0; !rc && i < n; i++) {
        u[i].rows = (uint64_t)r[i].rows;
        u[i].gpu_mem_gib_hours = (double)r[i].mem_kib_ms / KIB_MS_PER_GIB_HOUR;
        u[i].sm_pct_hours = (double)r[i].sm_pct_ms / 3600000.0;
        if (r[i].peak_kib >= 0)
            OPT_SET(u[i].peak_mem_bytes, (uint64_t)r[i].peak_kib * 1024);
        rc = name_of(db, by_user, r[i].id, &u[i].key, e);
    }
    free(r);
    *out = u;
    *count = u ? n : 0;
    return rc;
}

/* ------------------------------------------------------------ GPUs */

static int cmp_gpu_cell(const void *a, const void *b)
{
    const struct gpu_cell *x = a, *y = b;
    return (x->device_id > y->device_id) - (x->device_id < y->device_id);
}

static int cmp_gpu_usage(const void *a, const void *b)
{
    const struct audit_gpu_usage *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    if (c)
        return c;
    if (x->gpu_index != y->gpu_index)
        return x->gpu_index < y->gpu_index ? -1 : 1;
    return strcmp(x->uuid, y->uuid);
}

static int describe_device(struct audit_db *db, int64_t id, struct audit_gpu_usage *g,
                           struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "SELECT h.name, d.idx, d.uuid, d.name FROM devices d"
                               " JOIN hosts h ON h.id = d.host_id WHERE d.id = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        g->host = strdup((const char *)sqlite3_column_text(st, 0));
        g->gpu_index = sqlite3_column_int(st, 1);
        g->uuid = strdup((const char *)sqlite3_column_text(st, 2));
        g->name = strdup((const char *)sqlite3_column_text(st, 3));
    } else {
        g->host = strdup("");
        g->uuid = strdup("");
        g->name = strdup("");
    }
    sqlite3_finalize(st);
    if (!g->host || !g->uuid || !g->name)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    return 0;
}

static int gpus_of(struct audit_db *db, struct cells *c, struct audit_summary *s,
                   struct error *e)
{
    if (c->ng == 0)
        return 0;
    qsort(c->g, c->ng, sizeof *c->g, cmp_gpu_cell);
    s->gpus = calloc(c->ng, sizeof *s->gpus);
    if (!s->gpus)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    int64_t util_n = 0, util_sum = 0;
    int rc = 0;
    for (size_t i = 0; i < c->ng && !rc; i++) {
        const struct gpu_cell *g = &c->g[i];
        if (i == 0 || g->device_id != c->g[i - 1].device_id) {
            util_n = util_sum = 0;
            rc = describe_device(db, g->device_id, &s->gpus[s->gpu_count++], e);
        }
        struct audit_gpu_usage *u = &s->gpus[s->gpu_count - 1];
        s->gpu_rows += (uint64_t)g->rows;
        u->rows += (uint64_t)g->rows;
        util_n += g->util_n;
        util_sum += g->util_sum;
        if (util_n > 0)
            OPT_SET(u->util_avg_pct, (double)util_sum / (double)util_n);
        if (g->util_max >= 0 && (!u->util_peak_pct.known || g->util_max > u->util_peak_pct.v))
            OPT_SET(u->util_peak_pct, (double)g->util_max);
        if (g->mem_max_kib >= 0 && (!u->mem_peak_bytes.known ||
                                    (uint64_t)g->mem_max_kib * 1024 > u->mem_peak_bytes.v))
            OPT_SET(u->mem_peak_bytes, (uint64_t)g->mem_max_kib * 1024);
    }
    qsort(s->gpus, s->gpu_count, sizeof *s->gpus, cmp_gpu_usage);
    return rc;
}

/* ------------------------------------------------------------ hours */

static int local_hour(int64_t hour)
{
    time_t t = (time_t)(hour * 3600);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return (int)(((hour % 24) + 24) % 24);
    return tm.tm_hour;
}

/* Per clock hour of the window: process sums and GPU utilisation. */
struct hour_acc {
    int64_t hour, rows, mem_kib_ms, sm_pct_ms, util_n, util_sum;
};

static int cmp_hour_acc(const void *a, const void *b)
{
    const struct hour_acc *x = a, *y = b;
    return (x->hour > y->hour) - (x->hour < y->hour);
}

static int cmp_busy(const void *a, const void *b)
{
    const struct hour_acc *x = a, *y = b;
    if (x->mem_kib_ms != y->mem_kib_ms)
        return x->mem_kib_ms < y->mem_kib_ms ? 1 : -1;
    if (x->sm_pct_ms != y->sm_pct_ms)
        return x->sm_pct_ms < y->sm_pct_ms ? 1 : -1;
    return (x->hour > y->hour) - (x->hour < y->hour);
}

/* Folds cells into one entry per clock hour, sorted by hour. */
static int hours_of(const struct cells *c, struct hour_acc **out, size_t *count,
                    struct error *e)
{
    size_t n = c->np + c->ng;
    struct hour_acc *h = calloc(n + 1, sizeof *h);
    if (!h)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    for (size_t i = 0; i < c->np; i++)
        h[i] = (struct hour_acc){c->p[i].hour, c->p[i].rows, c->p[i].mem_kib_ms,
                                 c->p[i].sm_pct_ms, 0, 0};
    for (size_t i = 0; i < c->ng; i++)
        h[c->np + i] = (struct hour_acc){c->g[i].hour, 0, 0, 0, c->g[i].util_n,
                                         c->g[i].util_sum};
    qsort(h, n, sizeof *h, cmp_hour_acc);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && h[m - 1].hour == h[i].hour) {
            h[m - 1].rows += h[i].rows;
            h[m - 1].mem_kib_ms += h[i].mem_kib_ms;
            h[m - 1].sm_pct_ms += h[i].sm_pct_ms;
            h[m - 1].util_n += h[i].util_n;
            h[m - 1].util_sum += h[i].util_sum;
        } else {
            h[m++] = h[i];
        }
    }
    *out = h;
    *count = m;
    return 0;
}

static void hour_bins(const struct hour_acc *h, size_t n, struct audit_summary *s)
{
    int64_t util_n[24] = {0}, util_sum[24] = {0}, mem[24] = {0}, sm[24] = {0};
    for (int i = 0; i < 24; i++)
        s->hours[i] = (struct audit_hour_bin){.hour = i};
    for (size_t i = 0; i < n; i++) {
        int b = local_hour(h[i].hour);
        s->hours[b].proc_rows += (uint64_t)h[i].rows;
        mem[b] += h[i].mem_kib_ms;
        sm[b] += h[i].sm_pct_ms;
        util_n[b] += h[i].util_n;
        util_sum[b] += h[i].util_sum;
    }
    for (int b = 0; b < 24; b++) {
        s->hours[b].gpu_mem_gib_hours = (double)mem[b] / KIB_MS_PER_GIB_HOUR;
        s->hours[b].sm_pct_hours = (double)sm[b] / 3600000.0;
        if (util_n[b] > 0)
            OPT_SET(s->hours[b].util_avg_pct, (double)util_sum[b] / (double)util_n[b]);
    }
}

static int busiest(struct hour_acc *h, size_t n, const struct window *w, size_t top_n,
                   struct audit_summary *s, struct error *e)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i].rows > 0)
            h[m++] = h[i];
    qsort(h, m, sizeof *h, cmp_busy);
    if (top_n && m > top_n)
        m = top_n;
    if (m == 0)
        return 0;
    s->busiest = calloc(m, sizeof *s->busiest);
    if (!s->busiest)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    for (size_t i = 0; i < m; i++) {
        struct audit_period *p = &s->busiest[i];
        int64_t start = h[i].hour * AUDIT_HOUR_MS, end = start + AUDIT_HOUR_MS;
        p->start_ms = start > w->from ? start : w->from;
        p->end_ms = end < w->to ? end : w->to;
        p->proc_rows = (uint64_t)h[i].rows;
        p->gpu_mem_gib_hours = (double)h[i].mem_kib_ms / KIB_MS_PER_GIB_HOUR;
        p->sm_pct_hours = (double)h[i].sm_pct_ms / 3600000.0;
        if (h[i].util_n > 0)
            OPT_SET(p->util_avg_pct, (double)h[i].util_sum / (double)h[i].util_n);
    }
    s->busiest_count = m;
    return 0;
}

/* ------------------------------------------------------------ counts */

static int count_samples(struct audit_db *db, const struct window *w, uint64_t *out,
                         struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "SELECT count(*) FROM samples WHERE t >= ? AND t < ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, w->from);
    sqlite3_bind_int64(st, 2, w->to);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = audit_sql_error(db, e, "summarising the audit database");
    sqlite3_finalize(st);
    return rc;
}

/* The first (or last) matching process row's time, searched only in the
 * clock hour the cells say holds it. */
static int edge_time(struct audit_db *db, const struct audit_filter *f, int64_t hour, bool last,
                     struct opt_u64 *out, struct error *e)
{
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT %s(s.t) FROM samples s CROSS JOIN proc_samples ps ON ps.sample_id = s.id"
             " CROSS JOIN procs p ON p.id = ps.proc_id"
             " WHERE s.t >= max(?1, ?3) AND s.t < min(?2, ?4)%s%s",
             last ? "max" : "min",
             f->user ? " AND p.user_id = (SELECT id FROM users WHERE name = ?5)" : "",
             f->process ? " AND p.name_id IN (SELECT id FROM temp.audit_sel_name)" : "");
    sqlite3_stmt *st;
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    sqlite3_bind_int64(st, 3, hour * AUDIT_HOUR_MS);
    sqlite3_bind_int64(st, 4, (hour + 1) * AUDIT_HOUR_MS);
    if (f->user)
        sqlite3_bind_text(st, 5, f->user, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = audit_sql_error(db, e, "summarising the audit database");
    else if (sqlite3_column_type(st, 0) != SQLITE_NULL)
        OPT_SET(*out, (uint64_t)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    return rc;
}

static int first_last(struct audit_db *db, const struct audit_filter *f, const struct cells *c,
                      struct audit_summary *s, struct error *e)
{
    if (c->np == 0)
        return 0;
    int64_t lo = c->p[0].hour, hi = c->p[0].hour;
    for (size_t i = 1; i < c->np; i++) {
        if (c->p[i].hour < lo)
            lo = c->p[i].hour;
        if (c->p[i].hour > hi)
            hi = c->p[i].hour;
    }
    int rc = edge_time(db, f, lo, false, &s->first_ms, e);
    if (!rc)
        rc = edge_time(db, f, hi, true, &s->last_ms, e);
    return rc;
}

/* ------------------------------------------------------------ entry */

static int summarise(struct audit_db *db, const struct audit_filter *f, size_t top_n,
                     struct cells *c, struct audit_summary *s, struct error *e)
{
    struct window w = window_of(f);
    int rc = f->process ? audit_select_names(db, f->process, e) : 0;
    if (!rc)
        rc = load_cells(db, f, &w, c, e);
    if (!rc)
        rc = count_samples(db, &w, &s->samples, e);
    for (size_t i = 0; !rc && i < c->np; i++)
        s->proc_rows += (uint64_t)c->p[i].rows;
    if (!rc)
        rc = first_last(db, f, c, s, e);
    if (!rc)
        rc = gpus_of(db, c, s, e);
    struct hour_acc *h = NULL;
    size_t nh = 0;
    if (!rc)
        rc = hours_of(c, &h, &nh, e);
    if (!rc) {
        hour_bins(h, nh, s);
        rc = busiest(h, nh, &w, top_n, s, e);
    }
    free(h);
    if (!rc)
        rc = usage_of(db, c, true, top_n, &s->users, &s->user_count, e);
    if (!rc)
        rc = usage_of(db, c, false, top_n, &s->processes, &s->process_count, e);
    return rc;
}

int audit_summary(struct audit_db *db, const struct audit_filter *f, size_t top_n,
                  struct audit_summary **out, struct error *e)
{
    audit_catch_up(db);
    *out = NULL;
    struct audit_summary *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory summarising the audit database");
    s->from_ms = f->from_ms;
    s->to_ms = f->to_ms;
    struct cells c = {0};
    /* One read transaction: the rollups and raw rows agree even while a
     * writer commits. */
    int rc = audit_exec(db, "BEGIN", e);
    if (!rc) {
        rc = summarise(db, f, top_n, &c, s, e);
        audit_exec(db, "COMMIT", NULL);
    }
    cells_free(&c);
    if (rc) {
        audit_summary_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void usage_free(struct audit_usage *u, size_t n)
{
    if (!u)
        return;
    for (size_t i = 0; i < n; i++)
        free(u[i].key);
    free(u);
}

void audit_summary_free(struct audit_summary *s)
{
    if (!s)
        return;
    usage_free(s->users, s->user_count);
    usage_free(s->processes, s->process_count);
    for (size_t i = 0; i < s->gpu_count; i++) {
        free(s->gpus[i].host);
        free(s->gpus[i].uuid);
        free(s->gpus[i].name);
    }
    free(s->gpus);
    free(s->busiest);
    free(s);
}
