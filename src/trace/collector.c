/* collector.c - the recorder's writer thread (see collector.h).
 *
 * Everything that may lock, allocate or make a system call on the
 * recorder's behalf happens here: turning ring records and activity
 * records into NDJSON lines, resolving scope paths and demangled names
 * (cached, one entry per distinct kernel), sampling the system, writing.
 * The record layouts are documented in docs/json/trace.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/rootfs.h"
#include "trace/collector.h"

enum { LOG_KERNEL, LOG_SCOPE, LOG_SYSTEM, LOG_COUNT };
static const char *const log_kinds[LOG_COUNT] = {"kernel", "scope", "system"};

struct name_entry {
    char *name;
    char *demangled;         /* NULL: same as name */
    uint64_t hash;
};

struct trace_collector {
    struct trace_rt *rt;
    struct trace_collector_info info;
    struct trace_log logs[LOG_COUNT];
    char prefix[160];
    struct tjson j;
    struct trace_system *sys;
    uint64_t next_sample_ns, next_flush_ns;
    struct trace_counts n;

    struct name_entry *names;
    size_t name_count, name_cap;     /* cap: power of two, or 0 */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stop, stopped;
};

static int emit_system(void *arg, const char *line, size_t len)
{
    struct trace_collector *c = arg;
    c->n.samples++;
    return trace_log_line(&c->logs[LOG_SYSTEM], line, len);
}

/* ---- header and summary -------------------------------------------------------- */

static void command_array(struct tjson *j)
{
    char path[4096], buf[8192];
    size_t len = 0;
    tjson_key(j, "command");
    tjson_open(j, '[');
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/cmdline", (int)getpid()) == 0 &&
        rootfs_read_file(path, buf, sizeof buf, &len) == 0) {
        for (size_t i = 0; i < len;) {
            size_t n = strnlen(buf + i, len - i);
            tjson_elem_str(j, buf + i, n);
            i += n + 1;
        }
    }
    tjson_close(j, ']');
}

static void header_line(struct trace_collector *c, const char *kind)
{
    struct tjson *j = &c->j;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0)
        host[0] = '\0';
    const struct trace_config *cfg = &c->rt->cfg;
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "header");
    tjson_ku64(j, "version", TRACE_FORMAT_VERSION);
    tjson_kstr(j, "log", kind);
    tjson_kstr(j, "gpuctl", c->info.version);
    tjson_kstr(j, "host", host[0] ? host : NULL);
    tjson_ki64(j, "pid", getpid());
    command_array(j);
    tjson_key(j, "clock");
    tjson_open(j, '{');
    tjson_kstr(j, "timestamps", "CLOCK_MONOTONIC");
    tjson_ku64(j, "mono_ns", c->info.clock.mono_ns);
    tjson_ku64(j, "wall_ns", c->info.clock.wall_ns);
    tjson_kstr(j, "activity_clock", c->info.clock.activity_clock);
    tjson_ki64(j, "activity_offset_ns", c->info.clock.activity_offset_ns);
    tjson_close(j, '}');
    tjson_key(j, "config");
    tjson_open(j, '{');
    tjson_ku64(j, "system_interval_ms", cfg->system_interval_ms);
    tjson_ku64(j, "ring_mb", cfg->ring_mb);
    tjson_ku64(j, "ring_records", trace_ring_capacity(&c->rt->ring));
    tjson_ku64(j, "flush_ms", cfg->flush_ms);
    tjson_ku64(j, "rotate_bytes", cfg->rotate_bytes);
    tjson_key(j, "kinds");
    tjson_open(j, '[');
    static const char *const kn[] = {"kernel", "memcpy", "memset", "scope", "nvtx", "system"};
    for (unsigned i = 0; i < 6; i++)
        if (cfg->kinds & (1u << i))
            tjson_elem_str(j, kn[i], strlen(kn[i]));
    tjson_close(j, ']');
    tjson_close(j, '}');
    tjson_kstr(j, "activity_error", c->info.activity_status);
    tjson_kstr(j, "system_error",
               c->sys && trace_system_status(c->sys)[0] ? trace_system_status(c->sys) : NULL);
    tjson_close(j, '}');
}

void trace_collector_counts(const struct trace_collector *c, struct trace_counts *out)
{
    *out = c->n;
    struct trace_rt *rt = c->rt;
    out->ring_drops = trace_ring_dropped(&rt->ring);
    out->name_drops = trace_intern_failures(&rt->names) + trace_intern_failures(&rt->nodes);
    out->depth_overflow = atomic_load_explicit(&rt->depth_overflow, memory_order_relaxed);
    out->activity_drops = c->n.activity_drops;
    for (int i = 0; i < LOG_COUNT; i++)
        out->write_errors += c->logs[i].error != 0;
}

static void summary_line(struct trace_collector *c)
{
    struct trace_counts n;
    trace_collector_counts(c, &n);
    struct tjson *j = &c->j;
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "summary");
    tjson_ku64(j, "t_ns", trace_now_ns());
    tjson_key(j, "records");
    tjson_open(j, '{');
    tjson_ku64(j, "kernel", n.kernels);
    tjson_ku64(j, "memcpy", n.memcpys);
    tjson_ku64(j, "memset", n.memsets);
    tjson_ku64(j, "scope", n.scopes);
    tjson_ku64(j, "system", n.samples);
    tjson_close(j, '}');
    tjson_ku64(j, "ring_drops", n.ring_drops);
    tjson_ku64(j, "cupti_drops", n.activity_drops);
    tjson_ku64(j, "name_drops", n.name_drops);
    tjson_ku64(j, "depth_overflow", n.depth_overflow);
    tjson_ku64(j, "unattributed_kernels", n.unattributed);
    tjson_close(j, '}');
}

/* ---- open / close -------------------------------------------------------------- */

static int open_logs(struct trace_collector *c, const char *prefix, struct error *e)
{
    for (int i = 0; i < LOG_COUNT; i++) {
        int rc = trace_log_open(&c->logs[i], c->rt->cfg.dir, prefix, log_kinds[i],
                                c->rt->cfg.rotate_bytes, e);
        if (rc < 0) {
            for (int k = 0; k < i; k++) {
                char path[PATH_MAX + 200];
                trace_log_path(&c->logs[k], path, sizeof path);
                trace_log_close(&c->logs[k]);
                unlink(path);
            }
            return rc;
        }
    }
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
    return 0;
}

int trace_collector_open(struct trace_collector **out, struct trace_rt *rt,
                         const struct trace_collector_info *info, struct error *e)
{
    struct trace_collector *c = calloc(1, sizeof *c);
    if (!c)
        return error_set(e, -ENOMEM, "out of memory");
    c->rt = rt;
    c->info = *info;
    tjson_init(&c->j);
    for (int i = 0; i < LOG_COUNT; i++)
        c->logs[i].fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int rc = open_logs(c, rt->cfg.prefix, e);
    if (rc == -EEXIST) {
        char alt[160];
        snprintf(alt, sizeof alt, "%.120s-%d", rt->cfg.prefix, (int)getpid());
        error_clear(e);
        rc = open_logs(c, alt, e);
    }
    if (rc < 0) {
        trace_collector_free(c);
        return rc;
    }
    if (rt->cfg.kinds & TRACE_KIND_SYSTEM && rt->cfg.system_interval_ms &&
        (rc = trace_system_open(&c->sys, e)) < 0) {
        trace_collector_stop(c);
        trace_collector_free(c);
        return rc;
    }
    for (int i = 0; i < LOG_COUNT; i++) {
        header_line(c, log_kinds[i]);
        trace_log_header(&c->logs[i], c->j.p, c->j.len);
        trace_log_flush(&c->logs[i]);
    }
    uint64_t now = trace_now_ns();
    c->next_sample_ns = now;
    c->next_flush_ns = now + (uint64_t)rt->cfg.flush_ms * 1000000u;
    atomic_store(&rt->running, 1);
    *out = c;
    return 0;
}

const char *trace_collector_prefix(const struct trace_collector *c)
{
    return c->prefix;
}

/* ---- records ------------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int names_grow(struct trace_collector *c)
{
    size_t cap = c->name_cap ? c->name_cap * 2 : 256;
    struct name_entry *t = calloc(cap, sizeof *t);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < c->name_cap; i++) {
        if (!c->names[i].name)
            continue;
        size_t k = c->names[i].hash & (cap - 1);
        while (t[k].name)
            k = (k + 1) & (cap - 1);
        t[k] = c->names[i];
    }
    free(c->names);
    c->names = t;
    c->name_cap = cap;
    return 0;
}

/* The demangled form of name (name itself when it is not mangled). */
static const char *demangled(struct trace_collector *c, const char *name)
{
    const struct trace_activity_ops *ops = c->info.ops;
    if (!ops || !ops->demangle)
        return name;
    if ((c->name_count + 1) * 2 > c->name_cap && names_grow(c) < 0)
        return name;
    uint64_t h = hash_str(name);
    size_t k = h & (c->name_cap - 1);
    for (; c->names[k].name; k = (k + 1) & (c->name_cap - 1))
        if (c->names[k].hash == h && strcmp(c->names[k].name, name) == 0)
            return c->names[k].demangled ? c->names[k].demangled : c->names[k].name;
    char *copy = strdup(name);
    if (!copy)
        return name;
    c->names[k] = (struct name_entry){copy, ops->demangle(ops->ctx, name), h};
    c->name_count++;
    return c->names[k].demangled ? c->names[k].demangled : copy;
}

static void path_array(struct trace_collector *c, const char *key, uint32_t node)
{
    const char *names[TRACE_MAX_DEPTH];
    size_t lens[TRACE_MAX_DEPTH];
    int n = trace_path(c->rt, node, names, lens, TRACE_MAX_DEPTH);
    if (n < 0) {
        tjson_knull(&c->j, key);
        return;
    }
    tjson_key(&c->j, key);
    tjson_open(&c->j, '[');
    for (int i = 0; i < n; i++)
        tjson_elem_str(&c->j, names[i], lens[i]);
    tjson_close(&c->j, ']');
}

static void dim3(struct tjson *j, const char *key, const int32_t v[3])
{
    tjson_key(j, key);
    tjson_open(j, '[');
    for (int i = 0; i < 3; i++)
        tjson_elem_i64(j, v[i]);
    tjson_close(j, ']');
}

static void common_times(struct tjson *j, uint64_t start, uint64_t end)
{
    tjson_ku64(j, "start_ns", start);
    tjson_ku64(j, "end_ns", end);
    tjson_ku64(j, "duration_ns", end >= start ? end - start : 0);
}

void trace_collector_kernel(struct trace_collector *c, const struct trace_kernel *k)
{
    if (!(c->rt->cfg.kinds & TRACE_KIND_KERNEL))
        return;
    struct tjson *j = &c->j;
    const char *name = k->name ? k->name : "";
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "kernel");
    tjson_kstr(j, "name", name);
    tjson_kstr(j, "demangled", demangled(c, name));
    common_times(j, k->start_ns, k->end_ns);
    tjson_ku64(j, "device", k->device);
    tjson_ku64(j, "context", k->context);
    tjson_ku64(j, "stream", k->stream);
    tjson_ku64(j, "correlation", k->correlation);
    dim3(j, "grid", k->grid);
    dim3(j, "block", k->block);
    tjson_ku64(j, "registers", k->registers);
    tjson_ki64(j, "static_smem", k->static_smem);
    tjson_ki64(j, "dynamic_smem", k->dynamic_smem);
    tjson_ku64(j, "local_mem_per_thread", k->local_mem_per_thread);
    int64_t node = trace_attrib_lookup(c->rt, k->correlation);
    if (node < 0) {
        c->n.unattributed++;
        tjson_knull(j, "scope");
    } else {
        path_array(c, "scope", (uint32_t)node);
    }
    tjson_close(j, '}');
    if (!j->oom && trace_log_line(&c->logs[LOG_KERNEL], j->p, j->len) == 0)
        c->n.kernels++;
}

void trace_collector_copy(struct trace_collector *c, const struct trace_copy *m)
{
    bool memset_rec = m->kind == NULL;
    if (!(c->rt->cfg.kinds & (memset_rec ? TRACE_KIND_MEMSET : TRACE_KIND_MEMCPY)))
        return;
    struct tjson *j = &c->j;
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", memset_rec ? "memset" : "memcpy");
    if (memset_rec)
        tjson_ku64(j, "value", m->value);
    else
        tjson_kstr(j, "kind", m->kind);
    tjson_ku64(j, "bytes", m->bytes);
    common_times(j, m->start_ns, m->end_ns);
    tjson_ku64(j, "device", m->device);
    tjson_ku64(j, "context", m->context);
    tjson_ku64(j, "stream", m->stream);
    tjson_ku64(j, "correlation", m->correlation);
    tjson_close(j, '}');
    if (!j->oom && trace_log_line(&c->logs[LOG_KERNEL], j->p, j->len) == 0) {
        if (memset_rec)
            c->n.memsets++;
        else
            c->n.memcpys++;
    }
}

static void scope_record(struct trace_collector *c, const struct trace_rec *r)
{
    const char *names[TRACE_MAX_DEPTH];
    size_t lens[TRACE_MAX_DEPTH];
    int n = trace_path(c->rt, r->node, names, lens, TRACE_MAX_DEPTH);
    struct tjson *j = &c->j;
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "scope");
    if (n > 0) {
        tjson_kstrn(j, "name", names[n - 1], lens[n - 1]);
    } else {
        tjson_knull(j, "name");
    }
    path_array(c, "path", r->node);
    tjson_ku64(j, "depth", r->depth);
    tjson_ku64(j, "thread", r->thread);
    common_times(j, r->start_ns, r->end_ns);
    tjson_close(j, '}');
    if (!j->oom && trace_log_line(&c->logs[LOG_SCOPE], j->p, j->len) == 0)
        c->n.scopes++;
}

static void drain_ring(struct trace_collector *c)
{
    struct trace_rec r;
    while (trace_ring_pop(&c->rt->ring, &r))
        if (r.type == TRACE_REC_SCOPE && (c->rt->cfg.kinds & (TRACE_KIND_SCOPE | TRACE_KIND_NVTX)))
            scope_record(c, &r);
}

/* ---- the thread ---------------------------------------------------------------- */

void trace_collector_cycle(struct trace_collector *c, uint64_t now, bool flush)
{
    const struct trace_activity_ops *ops = c->info.ops;
    if (now >= c->next_flush_ns) {
        flush = true;
        c->next_flush_ns = now + (uint64_t)c->rt->cfg.flush_ms * 1000000u;
    }
    if (ops && ops->poll)
        ops->poll(ops->ctx, c, flush);
    if (ops && ops->dropped)
        c->n.activity_drops += ops->dropped(ops->ctx);
    drain_ring(c);
    if (c->sys && now >= c->next_sample_ns) {
        trace_system_sample(c->sys, now, &c->j, emit_system, c);
        uint64_t step = (uint64_t)c->rt->cfg.system_interval_ms * 1000000u;
        c->next_sample_ns += step;
        if (c->next_sample_ns <= now)      /* fell behind: skip, do not burst */
            c->next_sample_ns = now + step;
    }
    for (int i = 0; i < LOG_COUNT; i++)
        trace_log_flush(&c->logs[i]);
}

static uint64_t next_wake(const struct trace_collector *c)
{
    uint64_t t = c->next_flush_ns;
    if (c->sys && c->next_sample_ns < t)
        t = c->next_sample_ns;
    return t;
}

static void *collector_main(void *arg)
{
    struct trace_collector *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        uint64_t wake = next_wake(c), now = trace_now_ns();
        if (wake > now) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t at = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                          (wake - now);
            ts.tv_sec = (time_t)(at / 1000000000u);
            ts.tv_nsec = (long)(at % 1000000000u);
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
            if (c->stop)
                break;
        }
        pthread_mutex_unlock(&c->mu);
        trace_collector_cycle(c, trace_now_ns(), false);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int trace_collector_start(struct trace_collector *c, struct error *e)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&c->cv);
    pthread_cond_init(&c->cv, &attr);
    pthread_condattr_destroy(&attr);
    /* The thread must not take the application's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, collector_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return error_set(e, -rc, "cannot start the trace collector thread: %s", strerror(rc));
    c->started = true;
    return 0;
}

int trace_collector_stop(struct trace_collector *c)
{
    if (!c || c->stopped)
        return 0;
    c->stopped = true;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    atomic_store(&c->rt->running, 0);
    trace_collector_cycle(c, trace_now_ns(), true);
    summary_line(c);
    int rc = 0;
    for (int i = 0; i < LOG_COUNT; i++) {
        if (c->logs[i].fd < 0)
            continue;
        trace_log_line(&c->logs[i], c->j.p, c->j.len);
        int r = trace_log_close(&c->logs[i]);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

void trace_collector_free(struct trace_collector *c)
{
    if (!c)
        return;
    for (int i = 0; i < LOG_COUNT; i++)
        trace_log_close(&c->logs[i]);
    for (size_t i = 0; i < c->name_cap; i++) {
        free(c->names[i].name);
        free(c->names[i].demangled);
    }
    free(c->names);
    trace_system_close(c->sys);
    tjson_free(&c->j);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
