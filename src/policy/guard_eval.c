/* guard_eval.c - judging one snapshot against every guard policy.
 *
 * The snapshot's GPU processes become "units": per process (summed over
 * its GPUs) for user, group and time policies, per GPU process for GPU
 * policies.  Each policy adds violations naming the units that break it.
 * A limit on a total (memory, utilisation, process count) blames the
 * fewest units that bring the total back within the limit; among equally
 * few, those of the lowest user priority, then the newest, so the
 * long-running work of the most important users is the last to go.  Units whose owner /proc could
 * not show are skipped: nothing could be enforced on them.  A GB here is
 * 2^30 bytes.  Acting on the result is guard_daemon.c's.
 */
#include "policy/guard_eval.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

struct unit {
    const struct host_process *hp;
    pid_t pid;
    int gpu;                     /* -1: summed over its GPUs */
    uint64_t gpus;               /* bit set of the GPUs it uses */
    double mem_gb;
    bool mem_known;
    double sm;
    bool sm_known;
    int64_t priority;
};

struct eval {
    const struct guard_config *c;
    const struct snapshot *snap;
    const struct guard_clock *now;
    struct unit *procs;          /* one per process */
    size_t proc_count;
    struct guard_violations *out;
    int rc;
};

enum measure { BY_MEMORY, BY_SM, BY_COUNT };

/* ---- recording violations ------------------------------------------------------------ */

static void violation(struct eval *ev, const struct unit *u, const char *policy,
                      const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void violation(struct eval *ev, const struct unit *u, const char *policy,
                      const char *rule, const char *fmt, ...)
{
    if (ev->rc < 0)
        return;
    struct guard_violations *out = ev->out;
    struct guard_violation *grown = realloc(out->items, (out->count + 1) * sizeof *grown);
    if (!grown) {
        ev->rc = -ENOMEM;
        return;
    }
    out->items = grown;
    struct guard_violation *v = &out->items[out->count++];
    *v = (struct guard_violation){.pid = u->pid, .start_ticks = u->hp->start_ticks,
                                  .start_time = u->hp->start_time, .gpu = u->gpu};
    str_copy(v->policy, sizeof v->policy, policy);
    str_copy(v->rule, sizeof v->rule, rule);
    str_copy(v->user, sizeof v->user, u->hp->user);
    str_copy(v->name, sizeof v->name, u->hp->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
}

/* ---- units -------------------------------------------------------------------------- */

static int64_t priority_of(const struct guard_config *c, const char *user)
{
    for (size_t i = 0; i < c->user_count; i++)
        if (strcmp(c->users[i].name, user) == 0)
            return c->users[i].priority;
    return 0;
}

static void add_usage(struct unit *u, const struct gpu_process *gp)
{
    if (gp->gpu_mem_bytes.known) {
        u->mem_gb += (double)gp->gpu_mem_bytes.v / GIB;
        u->mem_known = true;
    }
    if (gp->sm_pct.known) {
        u->sm += gp->sm_pct.v;
        u->sm_known = true;
    }
    if (gp->device_index >= 0 && gp->device_index < GUARD_MAX_GPUS)
        u->gpus |= 1ull << gp->device_index;
}

static int build_procs(struct eval *ev)
{
    const struct snapshot *s = ev->snap;
    ev->procs = calloc(s->hproc_count ? s->hproc_count : 1, sizeof *ev->procs);
    if (!ev->procs)
        return -ENOMEM;
    for (size_t i = 0; i < s->hproc_count; i++) {
        const struct host_process *hp = &s->hprocs[i];
        if (!hp->exists || !hp->user[0])
            continue;
        struct unit *u = &ev->procs[ev->proc_count++];
        *u = (struct unit){.hp = hp, .pid = hp->pid, .gpu = -1,
                           .priority = priority_of(ev->c, hp->user)};
        for (size_t g = 0; g < s->gproc_count; g++)
            if (s->gprocs[g].pid == hp->pid)
                add_usage(u, &s->gprocs[g]);
    }
    return 0;
}

/* Lowest priority first, then the newest (latest start), then higher pid. */
static int blame_order(const void *a, const void *b)
{
    const struct unit *x = *(const struct unit *const *)a, *y = *(const struct unit *const *)b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->hp->start_ticks != y->hp->start_ticks)
        return x->hp->start_ticks > y->hp->start_ticks ? -1 : 1;
    return (y->pid > x->pid) - (y->pid < x->pid);
}

static double amount(const struct unit *u, enum measure m)
{
    return m == BY_MEMORY ? (u->mem_known ? u->mem_gb : 0)
                          : m == BY_SM ? (u->sm_known ? u->sm : 0) : 1;
}

static const char *rule_of(enum measure m)
{
    return m == BY_MEMORY ? "memory_limit" : m == BY_SM ? "utilization_limit" : "process_limit";
}

static void describe(char *buf, size_t size, enum measure m, const char *who, double total,
                     double limit)
{
    if (m == BY_MEMORY)
        snprintf(buf, size, "%s uses %.2f GB of GPU memory, limit %g GB", who, total, limit);
    else if (m == BY_SM)
        snprintf(buf, size, "%s uses %.0f%% SM, limit %g%%", who, total, limit);
    else
        snprintf(buf, size, "%s runs %.0f GPU processes, limit %g", who, total, limit);
}

/* The sum of the `take` largest amounts among units[from..n), using
 * by_size (the positions 0..n-1 ordered by amount, largest first). */
static double largest_after(struct unit **units, const size_t *by_size, size_t n, size_t from,
                            size_t take, enum measure m)
{
    double sum = 0;
    for (size_t i = 0; i < n && take > 0; i++)
        if (by_size[i] >= from) {
            sum += amount(units[by_size[i]], m);
            take--;
        }
    return sum;
}

struct size_order {
    struct unit **units;
    enum measure m;
};

static int larger_first(const void *a, const void *b, void *arg)
{
    const struct size_order *o = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    double x = amount(o->units[i], o->m), y = amount(o->units[j], o->m);
    if (x != y)
        return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

/* Blames the fewest units whose removal brings total within limit: first
 * the smallest count k that can (the k largest amounts), then, of the sets
 * of k that can, the one that comes first in blame order (lowest priority,
 * then newest).  Removing units one by one in blame order instead would
 * blame every small process ahead of the one large offender. */
static void blame_fewest(struct eval *ev, struct unit **units, size_t n, enum measure m,
                         double total, double limit, const char *policy, const char *rule,
                         const char *detail)
{
    qsort(units, n, sizeof *units, blame_order);
    size_t *by_size = malloc(n * sizeof *by_size);
    if (!by_size) {
        ev->rc = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        by_size[i] = i;
    struct size_order order = {.units = units, .m = m};
    qsort_r(by_size, n, sizeof *by_size, larger_first, &order);
    size_t need = 0;
    for (double removed = 0; need < n && total - removed > limit; need++)
        removed += amount(units[by_size[need]], m);
    double removed = 0;
    for (size_t i = 0; i < n && need > 0; i++) {
        double a = amount(units[i], m);
        if (a <= 0 && m != BY_COUNT)
            continue;
        double best_rest = largest_after(units, by_size, n, i + 1, need - 1, m);
        if (total - (removed + a + best_rest) > limit)
            continue;
        violation(ev, units[i], policy, rule, "%s", detail);
        removed += a;
        need--;
    }
    free(by_size);
}

/* How many GPUs the units use: a busy GPU is 100 % at most, however the
 * per-process samples add up. */
static double sm_ceiling(struct unit **units, size_t n)
{
    uint64_t gpus = 0;
    for (size_t i = 0; i < n; i++)
        gpus |= units[i]->gpu >= 0 ? 1ull << units[i]->gpu : units[i]->gpus;
    return 100.0 * (double)__builtin_popcountll(gpus);
}

/* Blames the fewest units that bring total within limit. */
static void blame_over(struct eval *ev, struct unit **units, size_t n, enum measure m,
                       double total, double limit, const char *policy, const char *who)
{
    /* NVML's per-process SM samples can add up past 100 % of a GPU */
    double shown = m == BY_SM ? fmin(total, sm_ceiling(units, n)) : total;
    if (shown <= limit || n == 0)
        return;
    char detail[192];
    describe(detail, sizeof detail, m, who, shown, limit);
    blame_fewest(ev, units, n, m, total, limit, policy, rule_of(m), detail);
}

/* Applies limits l to the units (one user's or a group's processes). */
static void check_limits(struct eval *ev, struct unit **units, size_t n,
                         const struct guard_limits *l, const char *policy, const char *who)
{
    double mem = 0, sm = 0;
    for (size_t i = 0; i < n; i++) {
        mem += amount(units[i], BY_MEMORY);
        sm += amount(units[i], BY_SM);
    }
    if (l->memory_gb.known)
        blame_over(ev, units, n, BY_MEMORY, mem, l->memory_gb.v, policy, who);
    if (l->utilization_pct.known)
        blame_over(ev, units, n, BY_SM, sm, l->utilization_pct.v, policy, who);
    if (l->max_processes.known)
        blame_over(ev, units, n, BY_COUNT, (double)n, (double)l->max_processes.v, policy, who);
    if (!l->duration_hours.known)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct host_process *hp = units[i]->hp;
        if (hp->elapsed_s.known && hp->elapsed_s.v > l->duration_hours.v * 3600.0)
            violation(ev, units[i], policy, "duration_limit", "has run %.2f hours, limit %g",
                      hp->elapsed_s.v / 3600.0, l->duration_hours.v);
    }
}

static void check_gpu_sets(struct eval *ev, struct unit **units, size_t n, uint64_t allowed,
                           uint64_t blocked, const char *policy)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bad_allowed = allowed ? units[i]->gpus & ~allowed : 0;
        uint64_t bad_blocked = units[i]->gpus & blocked;
        for (int g = 0; g < GUARD_MAX_GPUS; g++) {
            if (bad_blocked >> g & 1)
                violation(ev, units[i], policy, "gpu_blocked", "uses GPU %d, which %s blocks",
                          g, policy);
            else if (bad_allowed >> g & 1)
                violation(ev, units[i], policy, "gpu_not_allowed", "uses GPU %d, outside the "
                          "GPUs %s allows", g, policy);
        }
    }
}

/* The units of one user (or of every listed user), into sel. */
static size_t select_users(struct eval *ev, const struct policy_strlist *users, const char *one,
                           struct unit **sel)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->proc_count; i++) {
        const char *u = ev->procs[i].hp->user;
        if (one ? strcmp(u, one) == 0 : policy_strlist_has(users, u))
            sel[n++] = &ev->procs[i];
    }
    return n;
}

/* ---- the policies ------------------------------------------------------------------- */

static bool seen_before(const struct eval *ev, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(ev->procs[j].hp->user, ev->procs[i].hp->user) == 0)
            return true;
    return false;
}

/* User policies, and the global defaults for users without one (field by
 * field: a user policy's unset limit falls back to the default). */
static void eval_users(struct eval *ev, struct unit **sel)
{
    for (size_t i = 0; i < ev->proc_count && ev->rc == 0; i++) {
        if (seen_before(ev, i))
            continue;
        const char *user = ev->procs[i].hp->user;
        size_t n = select_users(ev, NULL, user, sel);
        const struct guard_user_policy *up = NULL;
        for (size_t k = 0; k < ev->c->user_count; k++)
            if (strcmp(ev->c->users[k].name, user) == 0)
                up = &ev->c->users[k];
        struct guard_limits own = up ? up->limits : (struct guard_limits){0};
        struct guard_limits def = ev->c->defaults;
        char policy[96], who[96];
        snprintf(policy, sizeof policy, "user:%s", user);
        snprintf(who, sizeof who, "user %s", user);
        if (own.memory_gb.known) def.memory_gb.known = false;
        if (own.utilization_pct.known) def.utilization_pct.known = false;
        if (own.duration_hours.known) def.duration_hours.known = false;
        if (own.max_processes.known) def.max_processes.known = false;
        check_limits(ev, sel, n, &own, policy, who);
        check_limits(ev, sel, n, &def, "default", who);
        if (up)
            check_gpu_sets(ev, sel, n, up->allowed_gpus, up->blocked_gpus, policy);
    }
}

static void eval_groups(struct eval *ev, struct unit **sel)
{
    for (size_t i = 0; i < ev->c->group_count && ev->rc == 0; i++) {
        const struct guard_group_policy *g = &ev->c->groups[i];
        size_t n = select_users(ev, &g->members, NULL, sel);
        char policy[96], who[96];
        snprintf(policy, sizeof policy, "group:%s", g->name);
        snprintf(who, sizeof who, "group %s", g->name);
        check_limits(ev, sel, n, &g->total, policy, who);
        check_gpu_sets(ev, sel, n, g->allowed_gpus, g->blocked_gpus, policy);
    }
}

static void eval_times(struct eval *ev, struct unit **sel)
{
    for (size_t i = 0; i < ev->c->time_count && ev->rc == 0; i++) {
        const struct guard_time_policy *t = &ev->c->times[i];
        if (!guard_window_open(&t->window, ev->now->wday, ev->now->minute))
            continue;
        char policy[96], who[96];
        snprintf(policy, sizeof policy, "time:%s", t->name);
        for (size_t p = 0; p < ev->proc_count; p++) {
            const char *user = ev->procs[p].hp->user;
            if (seen_before(ev, p) || (t->users.count && !policy_strlist_has(&t->users, user)))
                continue;
            size_t n = select_users(ev, NULL, user, sel);
            snprintf(who, sizeof who, "user %s", user);
            check_limits(ev, sel, n, &t->limits, policy, who);
        }
    }
}

/* The units of one GPU: its processes with their use of that GPU alone. */
static size_t gpu_units(struct eval *ev, int index, struct unit *units, struct unit **sel)
{
    size_t n = 0;
    for (size_t g = 0; g < ev->snap->gproc_count; g++) {
        const struct gpu_process *gp = &ev->snap->gprocs[g];
        if (gp->device_index != index)
            continue;
        const struct host_process *hp = snapshot_host_process(ev->snap, gp->pid);
        if (!hp || !hp->exists || !hp->user[0])
            continue;
        units[n] = (struct unit){.hp = hp, .pid = gp->pid, .gpu = index,
                                 .priority = priority_of(ev->c, hp->user)};
        add_usage(&units[n], gp);
        sel[n] = &units[n];
        n++;
    }
    return n;
}

static void eval_gpu_access(struct eval *ev, const struct guard_gpu_policy *p, struct unit **sel,
                            size_t n, const char *policy)
{
    bool maint = guard_window_open(&p->maintenance, ev->now->wday, ev->now->minute);
    for (size_t i = 0; i < n; i++) {
        const char *user = sel[i]->hp->user;
        if (maint)
            violation(ev, sel[i], policy, "maintenance_window", "GPU %d is in its maintenance "
                      "window %02d:%02d-%02d:%02d", p->index, p->maintenance.start_min / 60,
                      p->maintenance.start_min % 60, p->maintenance.end_min / 60,
                      p->maintenance.end_min % 60);
        if (policy_strlist_has(&p->blocked_users, user))
            violation(ev, sel[i], policy, "user_blocked", "user %s is blocked from GPU %d",
                      user, p->index);
        else if (p->allowed_users.count && !policy_strlist_has(&p->allowed_users, user))
            violation(ev, sel[i], policy, "user_not_allowed", "user %s is not among GPU %d's "
                      "allowed users", user, p->index);
    }
}

static void eval_reserved(struct eval *ev, const struct guard_gpu_policy *p, struct unit **sel,
                          size_t n, const char *policy)
{
    const struct device *d = snapshot_device(ev->snap, p->index);
    if (!p->reserved_memory_gb.known || !d || !d->mem_total_bytes.known)
        return;
    double total = (double)d->mem_total_bytes.v / GIB, used = 0;
    for (size_t i = 0; i < n; i++)
        used += amount(sel[i], BY_MEMORY);
    double usable = total - p->reserved_memory_gb.v;
    if (used <= usable)
        return;
    char detail[192];
    snprintf(detail, sizeof detail, "processes on GPU %d use %.2f GB, leaving less than the %g "
             "GB reserved (of %.2f GB)", p->index, used, p->reserved_memory_gb.v, total);
    blame_fewest(ev, sel, n, BY_MEMORY, used, usable, policy, "reserved_memory", detail);
}

static void eval_gpus(struct eval *ev, struct unit **sel)
{
    struct unit *units = calloc(ev->snap->gproc_count ? ev->snap->gproc_count : 1, sizeof *units);
    if (!units) {
        ev->rc = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < ev->c->gpu_count && ev->rc == 0; i++) {
        const struct guard_gpu_policy *p = &ev->c->gpus[i];
        size_t n = gpu_units(ev, p->index, units, sel);
        char policy[96], who[96];
        snprintf(policy, sizeof policy, "gpu:%d", p->index);
        snprintf(who, sizeof who, "GPU %d", p->index);
        eval_gpu_access(ev, p, sel, n, policy);
        struct guard_limits l = {.memory_gb = p->max_memory_gb,
                                 .utilization_pct = p->max_utilization_pct};
        const struct device *d = snapshot_device(ev->snap, p->index);
        double sm = 0;
        for (size_t k = 0; k < n; k++)
            sm += amount(sel[k], BY_SM);
        /* the device's own figure is the truth when processes report none */
        if (l.utilization_pct.known && d && d->util_gpu_pct.known && sm == 0 && n > 0 &&
            d->util_gpu_pct.v > l.utilization_pct.v) {
            qsort(sel, n, sizeof *sel, blame_order);
            violation(ev, sel[0], policy, "utilization_limit", "GPU %d is %.0f%% busy, limit "
                      "%g%%", p->index, d->util_gpu_pct.v, l.utilization_pct.v);
            l.utilization_pct.known = false;
        }
        check_limits(ev, sel, n, &l, policy, who);
        eval_reserved(ev, p, sel, n, policy);
    }
    free(units);
}

int guard_evaluate(const struct guard_config *c, const struct snapshot *snap,
                   const struct guard_clock *now, struct guard_violations *out, struct error *e)
{
    *out = (struct guard_violations){0};
    struct eval ev = {.c = c, .snap = snap, .now = now, .out = out};
    size_t most = snap->gproc_count + snap->hproc_count + 1;
    struct unit **sel = calloc(most, sizeof *sel);
    if (!sel || build_procs(&ev) < 0)
        ev.rc = -ENOMEM;
    if (ev.rc == 0)
        eval_users(&ev, sel);
    if (ev.rc == 0)
        eval_groups(&ev, sel);
    if (ev.rc == 0)
        eval_gpus(&ev, sel);
    if (ev.rc == 0)
        eval_times(&ev, sel);
    free(sel);
    free(ev.procs);
    if (ev.rc < 0) {
        guard_violations_free(out);
        return error_set(e, ev.rc, "out of memory evaluating the guard policies");
    }
    return 0;
}

void guard_violations_free(struct guard_violations *v)
{
    if (!v)
        return;
    free(v->items);
    *v = (struct guard_violations){0};
}
