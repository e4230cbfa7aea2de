/* sampler.c - interval rates from the counters of consecutive snapshots.
 *
 * Keeps only the counters of the previous snapshot (sorted arrays, looked up
 * by binary search), not the snapshot itself, so callers own every snapshot
 * they take and a monitor's memory does not grow with its history.  Reading
 * the counters is the sources' business; what is shown is the callers'.
 */
#include "core/sampler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cpu_memory {
    pid_t pid;
    uint64_t start_ticks;
    uint64_t cpu_ticks;
};

struct engine_memory {
    int device_index;
    pid_t pid;
    size_t engine_count;
    struct engine_counter engines[GPU_PROC_MAX_ENGINES];
};

struct energy_memory {
    int device_index;
    uint64_t energy_uj;
};

struct sampler_memory {
    bool valid;
    struct timespec mono;
    long clock_ticks;
    struct cpu_memory *cpu;
    size_t cpu_count;
    struct engine_memory *engines;
    size_t engine_count;
    struct energy_memory *energy;
    size_t energy_count;
    struct opt_u64 host_busy, host_total;   /* /proc/stat cpu line */
};

struct sampler {
    struct snapshot_ctx *ctx;
    struct sampler_memory prev;
};

static void memory_clear(struct sampler_memory *m)
{
    free(m->cpu);
    free(m->engines);
    free(m->energy);
    *m = (struct sampler_memory){0};
}

int sampler_create(struct sampler **out, struct snapshot_ctx *ctx, struct error *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return error_set(e, -ENOMEM, "out of memory creating a sampler");
    (*out)->ctx = ctx;
    return 0;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    memory_clear(&s->prev);
    free(s);
}

/* ---- lookups ---------------------------------------------------------------------- */

static int cmp_cpu(const void *a, const void *b)
{
    const struct cpu_memory *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->start_ticks > y->start_ticks) - (x->start_ticks < y->start_ticks);
}

static int cmp_engine(const void *a, const void *b)
{
    const struct engine_memory *x = a, *y = b;
    if (x->device_index != y->device_index)
        return x->device_index < y->device_index ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_energy(const void *a, const void *b)
{
    const struct energy_memory *x = a, *y = b;
    return (x->device_index > y->device_index) - (x->device_index < y->device_index);
}

static const struct engine_counter *find_engine(const struct engine_memory *m, const char *name)
{
    for (size_t i = 0; i < m->engine_count; i++)
        if (strcmp(m->engines[i].name, name) == 0)
            return &m->engines[i];
    return NULL;
}

/* ---- rates ------------------------------------------------------------------------- */

static double seconds_between(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void cpu_rates(const struct sampler_memory *prev, struct snapshot *snap, double dt)
{
    if (prev->clock_ticks <= 0)
        return;
    for (size_t i = 0; i < snap->hproc_count; i++) {
        struct host_process *p = &snap->hprocs[i];
        if (!p->exists || !p->cpu_ticks.known)
            continue;
        struct cpu_memory key = {.pid = p->pid, .start_ticks = p->start_ticks};
        const struct cpu_memory *old =
            bsearch(&key, prev->cpu, prev->cpu_count, sizeof key, cmp_cpu);
        if (!old || p->cpu_ticks.v < old->cpu_ticks)
            continue;
        double busy_s = (double)(p->cpu_ticks.v - old->cpu_ticks) / (double)prev->clock_ticks;
        OPT_SET(p->cpu_pct_interval, 100.0 * busy_s / dt);
    }
}

static double clamp_pct(double v)
{
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

/* One engine's rate; *baseline is what the next interval compares against. */
static struct opt_f64 engine_rate(const struct engine_counter *old, struct engine_counter *cur,
                                  double dt)
{
    struct opt_f64 pct = {0};
    unsigned capacity = cur->capacity ? cur->capacity : 1;
    if (cur->busy < old->busy || (cur->cycles && cur->total < old->total)) {
        OPT_SET(pct, 0.0);
        return pct;
    }
    double dbusy = (double)(cur->busy - old->busy);
    if (cur->cycles) {
        double dtotal = (double)(cur->total - old->total);
        if (dtotal > 0)
            OPT_SET(pct, clamp_pct(100.0 * dbusy / (dtotal * capacity)));
    } else {
        OPT_SET(pct, clamp_pct(100.0 * dbusy / (dt * 1e9 * capacity)));
    }
    return pct;
}

/* A counter that went backwards keeps the previous value as its baseline. */
static void keep_larger_baseline(const struct engine_memory *old, struct engine_memory *mem)
{
    for (size_t i = 0; i < mem->engine_count; i++) {
        const struct engine_counter *o = find_engine(old, mem->engines[i].name);
        if (!o || o->cycles != mem->engines[i].cycles)
            continue;
        if (o->busy > mem->engines[i].busy)
            mem->engines[i].busy = o->busy;
        if (o->total > mem->engines[i].total)
            mem->engines[i].total = o->total;
    }
}

static void engine_rates(const struct sampler_memory *prev, struct snapshot *snap, double dt)
{
    for (size_t i = 0; i < snap->gproc_count; i++) {
        struct gpu_process *g = &snap->gprocs[i];
        if (g->engine_count == 0)
            continue;
        struct engine_memory key = {.device_index = g->device_index, .pid = g->pid};
        const struct engine_memory *old =
            bsearch(&key, prev->engines, prev->engine_count, sizeof key, cmp_engine);
        if (!old)
            continue;
        double busiest = -1;
        for (size_t k = 0; k < g->engine_count && k < GPU_PROC_MAX_ENGINES; k++) {
            const struct engine_counter *o = find_engine(old, g->engines[k].name);
            if (!o || o->cycles != g->engines[k].cycles)
                continue;
            g->engine_pct[k] = engine_rate(o, &g->engines[k], dt);
            if (g->engine_pct[k].known && g->engine_pct[k].v > busiest)
                busiest = g->engine_pct[k].v;
        }
        if (!g->sm_pct.known && busiest >= 0)
            OPT_SET(g->sm_pct, busiest);
    }
}

static void power_rates(const struct sampler_memory *prev, struct snapshot *snap, double dt)
{
    for (size_t i = 0; i < snap->device_count; i++) {
        struct device *d = &snap->devices[i];
        if (d->power_mw.known || !d->energy_uj.known)
            continue;
        struct energy_memory key = {.device_index = d->index};
        const struct energy_memory *old =
            bsearch(&key, prev->energy, prev->energy_count, sizeof key, cmp_energy);
        if (!old || d->energy_uj.v < old->energy_uj)
            continue;
        /* microjoules per second are microwatts */
        OPT_SET(d->power_mw, (uint64_t)((double)(d->energy_uj.v - old->energy_uj) / dt / 1000.0));
    }
}

/* Host CPU %: the busy share of all ticks between the two readings. */
static void host_cpu_rate(const struct sampler_memory *prev, struct snapshot *snap)
{
    const struct host_info *h = &snap->host;
    if (!prev->host_busy.known || !prev->host_total.known || !h->cpu_busy_ticks.known ||
        !h->cpu_total_ticks.known || h->cpu_total_ticks.v <= prev->host_total.v ||
        h->cpu_busy_ticks.v < prev->host_busy.v)
        return;
    double busy = (double)(h->cpu_busy_ticks.v - prev->host_busy.v);
    double total = (double)(h->cpu_total_ticks.v - prev->host_total.v);
    OPT_SET(snap->host.cpu_pct, clamp_pct(100.0 * busy / total));
}

/* Devices without a busy figure: per engine class, the clients' sum; the
 * busiest class is the device's utilisation. */
static void device_util_from_clients(struct snapshot *snap)
{
    for (size_t i = 0; i < snap->device_count; i++) {
        struct device *d = &snap->devices[i];
        if (!d->util_from_clients || d->util_gpu_pct.known)
            continue;
        struct engine_class { const char *name; double sum; } classes[GPU_PROC_MAX_ENGINES * 2];
        size_t n = 0;
        bool any = false;
        for (size_t g = 0; g < snap->gproc_count; g++) {
            const struct gpu_process *p = &snap->gprocs[g];
            if (p->device_index != d->index)
                continue;
            for (size_t k = 0; k < p->engine_count && k < GPU_PROC_MAX_ENGINES; k++) {
                if (!p->engine_pct[k].known)
                    continue;
                any = true;
                size_t c = 0;
                while (c < n && strcmp(classes[c].name, p->engines[k].name) != 0)
                    c++;
                if (c == n && n == sizeof classes / sizeof classes[0])
                    continue;
                if (c == n)
                    classes[n++] = (struct engine_class){p->engines[k].name, 0};
                classes[c].sum += p->engine_pct[k].v;
            }
        }
        double busiest = 0;
        for (size_t c = 0; c < n; c++)
            if (classes[c].sum > busiest)
                busiest = classes[c].sum;
        if (any)
            OPT_SET(d->util_gpu_pct, clamp_pct(busiest));
    }
}

/* ---- remembering --------------------------------------------------------------------- */

static int remember_cpu(struct sampler_memory *m, const struct snapshot *snap)
{
    m->cpu = calloc(snap->hproc_count ? snap->hproc_count : 1, sizeof *m->cpu);
    if (!m->cpu)
        return -ENOMEM;
    for (size_t i = 0; i < snap->hproc_count; i++) {
        const struct host_process *p = &snap->hprocs[i];
        if (p->exists && p->cpu_ticks.known)
            m->cpu[m->cpu_count++] = (struct cpu_memory){p->pid, p->start_ticks, p->cpu_ticks.v};
    }
    qsort(m->cpu, m->cpu_count, sizeof *m->cpu, cmp_cpu);
    return 0;
}

static int remember_engines(struct sampler_memory *m, const struct sampler_memory *old,
                            const struct snapshot *snap)
{
    m->engines = calloc(snap->gproc_count ? snap->gproc_count : 1, sizeof *m->engines);
    if (!m->engines)
        return -ENOMEM;
    for (size_t i = 0; i < snap->gproc_count; i++) {
        const struct gpu_process *g = &snap->gprocs[i];
        if (g->engine_count == 0)
            continue;
        struct engine_memory *mem = &m->engines[m->engine_count++];
        mem->device_index = g->device_index;
        mem->pid = g->pid;
        mem->engine_count = g->engine_count < GPU_PROC_MAX_ENGINES ? g->engine_count
                                                                   : GPU_PROC_MAX_ENGINES;
        memcpy(mem->engines, g->engines, mem->engine_count * sizeof mem->engines[0]);
        const struct engine_memory *prev = old->valid
            ? bsearch(mem, old->engines, old->engine_count, sizeof *mem, cmp_engine) : NULL;
        if (prev)
            keep_larger_baseline(prev, mem);
    }
    qsort(m->engines, m->engine_count, sizeof *m->engines, cmp_engine);
    return 0;
}

static int remember_energy(struct sampler_memory *m, const struct snapshot *snap)
{
    m->energy = calloc(snap->device_count ? snap->device_count : 1, sizeof *m->energy);
    if (!m->energy)
        return -ENOMEM;
    for (size_t i = 0; i < snap->device_count; i++)
        if (snap->devices[i].energy_uj.known)
            m->energy[m->energy_count++] =
                (struct energy_memory){snap->devices[i].index, snap->devices[i].energy_uj.v};
    qsort(m->energy, m->energy_count, sizeof *m->energy, cmp_energy);
    return 0;
}

static int remember(struct sampler *s, const struct snapshot *snap, struct error *e)
{
    struct sampler_memory next = {.valid = true, .mono = snap->mono,
                                  .clock_ticks = snap->host.clock_ticks,
                                  .host_busy = snap->host.cpu_busy_ticks,
                                  .host_total = snap->host.cpu_total_ticks};
    if (remember_cpu(&next, snap) < 0 || remember_engines(&next, &s->prev, snap) < 0 ||
        remember_energy(&next, snap) < 0) {
        memory_clear(&next);
        return error_set(e, -ENOMEM, "out of memory remembering a sample");
    }
    memory_clear(&s->prev);
    s->prev = next;
    return 0;
}

int sampler_feed(struct sampler *s, struct snapshot *snap, struct error *e)
{
    if (s->prev.valid) {
        double dt = seconds_between(s->prev.mono, snap->mono);
        if (dt > 0) {
            cpu_rates(&s->prev, snap, dt);
            engine_rates(&s->prev, snap, dt);
            power_rates(&s->prev, snap, dt);
            device_util_from_clients(snap);
            host_cpu_rate(&s->prev, snap);
        }
    }
    return remember(s, snap, e);
}

int sampler_take(struct sampler *s, const struct snapshot_options *opts,
                 struct snapshot **out, struct error *e)
{
    *out = NULL;
    if (!s->ctx)
        return error_set(e, -EINVAL, "sampler has no sources to take snapshots from");
    struct snapshot *snap = NULL;
    int rc = snapshot_take(s->ctx, opts, &snap, e);
    if (rc < 0)
        return rc;
    rc = sampler_feed(s, snap, e);
    if (rc < 0) {
        snapshot_free(snap);
        return rc;
    }
    *out = snap;
    return 0;
}
