/* recorder.c - configuration, scopes and launch attribution (recorder.h).
 *
 * The scope stack is per thread (thread-local storage, so no thread ever
 * touches another's); a scope's path node is interned when it opens, so a
 * launch inside it costs one atomic store.  Writing the records out is the
 * collector's (collector.c); CUPTI is cupti.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/recorder.h"

/* ---- configuration ------------------------------------------------------------- */

static const struct { const char *name; unsigned bit; } kind_names[] = {
    {"kernel", TRACE_KIND_KERNEL}, {"memcpy", TRACE_KIND_MEMCPY},
    {"memset", TRACE_KIND_MEMSET}, {"scope", TRACE_KIND_SCOPE},
    {"nvtx", TRACE_KIND_NVTX}, {"system", TRACE_KIND_SYSTEM},
    {"all", TRACE_KIND_ALL},
};

int trace_kinds_parse(const char *s, unsigned *out, struct error *e)
{
    unsigned kinds = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
            if (strlen(kind_names[i].name) == n && strncmp(p, kind_names[i].name, n) == 0) {
                kinds |= kind_names[i].bit;
                found = true;
            }
        if (!found)
            return error_set(e, -EINVAL, "unknown trace kind '%.*s' (known: kernel, memcpy, "
                             "memset, scope, nvtx, system, all)", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!kinds)
        return error_set(e, -EINVAL, "an empty list of trace kinds records nothing");
    *out = kinds;
    return 0;
}

static int env_uint(const char *(*env)(const char *), const char *name, unsigned long min,
                    unsigned long max, unsigned long *out, struct error *e)
{
    const char *v = env(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || v[0] == '-' || n < min || n > max)
        return error_set(e, -EINVAL, "%s='%s': expected a whole number from %lu to %lu",
                         name, v, min, max);
    *out = n;
    return 0;
}

static int env_str(const char *(*env)(const char *), const char *name, char *buf,
                   size_t size, struct error *e)
{
    const char *v = env(name);
    if (!v || !*v)
        return 0;
    if (strlen(v) >= size)
        return error_set(e, -ENAMETOOLONG, "%s is longer than %zu bytes", name, size - 1);
    memcpy(buf, v, strlen(v) + 1);
    return 0;
}

int trace_config_load(struct trace_config *c, const char *(*env)(const char *name),
                      struct error *e)
{
    memset(c, 0, sizeof *c);
    strcpy(c->dir, ".");
    strcpy(c->prefix, "gpuctl-trace");
    c->system_interval_ms = 100;
    c->ring_mb = 16;
    c->kinds = TRACE_KIND_ALL;
    c->flush_ms = 250;
    c->rotate_bytes = 256ull << 20;
    unsigned long interval = c->system_interval_ms, ring = c->ring_mb;
    unsigned long rotate = c->rotate_bytes >> 20;
    int rc;
    if ((rc = env_str(env, "GPUCTL_TRACE_DIR", c->dir, sizeof c->dir, e)) < 0 ||
        (rc = env_str(env, "GPUCTL_TRACE_PREFIX", c->prefix, sizeof c->prefix, e)) < 0 ||
        (rc = env_uint(env, "GPUCTL_TRACE_SYSTEM_INTERVAL_MS", 0, 3600000, &interval, e)) < 0 ||
        (rc = env_uint(env, "GPUCTL_TRACE_RING_MB", 1, 4096, &ring, e)) < 0 ||
        (rc = env_uint(env, "GPUCTL_TRACE_ROTATE_MB", 1, 1u << 20, &rotate, e)) < 0)
        return rc;
    if (strchr(c->prefix, '/'))
        return error_set(e, -EINVAL, "GPUCTL_TRACE_PREFIX='%s' must not contain '/'",
                         c->prefix);
    const char *kinds = env("GPUCTL_TRACE_KINDS");
    if (kinds && *kinds && (rc = trace_kinds_parse(kinds, &c->kinds, e)) < 0) {
        error_prefix(e, "GPUCTL_TRACE_KINDS");
        return rc;
    }
    c->system_interval_ms = (unsigned)interval;
    c->ring_mb = (unsigned)ring;
    c->rotate_bytes = (uint64_t)rotate << 20;
    return 0;
}

/* ---- shared state -------------------------------------------------------------- */

int trace_rt_init(struct trace_rt *rt, const struct trace_config *cfg, struct error *e)
{
    memset(rt, 0, sizeof *rt);
    rt->cfg = *cfg;
    int rc = trace_ring_init(&rt->ring, (size_t)cfg->ring_mb << 20, e);
    if (rc < 0)
        return rc;
    if ((rc = trace_intern_init(&rt->names, TRACE_NAME_SLOTS, TRACE_NAME_ARENA, e)) < 0 ||
        (rc = trace_intern_init(&rt->nodes, TRACE_NODE_SLOTS, 0, e)) < 0) {
        trace_rt_destroy(rt);
        return rc;
    }
    rt->attrib = calloc(TRACE_ATTRIB_SLOTS, sizeof *rt->attrib);
    if (!rt->attrib) {
        trace_rt_destroy(rt);
        return error_set(e, -ENOMEM, "cannot allocate the launch attribution table");
    }
    return 0;
}

void trace_rt_destroy(struct trace_rt *rt)
{
    if (!rt)
        return;
    trace_ring_destroy(&rt->ring);
    trace_intern_destroy(&rt->names);
    trace_intern_destroy(&rt->nodes);
    free(rt->attrib);
    rt->attrib = NULL;
}

size_t trace_rt_memory(const struct trace_rt *rt)
{
    return trace_ring_capacity(&rt->ring) * sizeof(struct trace_ring_cell) +
           (rt->names.mask + 1u) * sizeof(struct trace_intern_slot) + rt->names.arena_size +
           (rt->nodes.mask + 1u) * sizeof(struct trace_intern_slot) +
           TRACE_ATTRIB_SLOTS * sizeof *rt->attrib;
}

/* ---- scopes (hot path) --------------------------------------------------------- */

struct scope_stack {
    uint32_t node[TRACE_MAX_DEPTH];
    uint64_t start[TRACE_MAX_DEPTH];
    unsigned depth;        /* may exceed TRACE_MAX_DEPTH: those levels are not kept */
    uint32_t thread;
};

static _Thread_local struct scope_stack tls_scopes;

void trace_scope_begin(struct trace_rt *rt, const char *name, size_t len, uint64_t now)
{
    struct scope_stack *s = &tls_scopes;
    if (s->depth >= TRACE_MAX_DEPTH) {
        if (s->depth++ == TRACE_MAX_DEPTH)
            atomic_fetch_add_explicit(&rt->depth_overflow, 1, memory_order_relaxed);
        return;
    }
    uint32_t parent = s->depth ? s->node[s->depth - 1] : 0;
    uint32_t name_id = trace_intern_str(&rt->names, name, len);
    s->node[s->depth] = trace_intern_pair(&rt->nodes, parent, name_id);
    s->start[s->depth] = now;
    s->depth++;
}

void trace_scope_end(struct trace_rt *rt, uint64_t now)
{
    struct scope_stack *s = &tls_scopes;
    if (s->depth == 0)
        return;
    s->depth--;
    if (s->depth >= TRACE_MAX_DEPTH)
        return;
    if (!s->thread)
        s->thread = atomic_fetch_add_explicit(&rt->threads, 1, memory_order_relaxed) + 1;
    if (!atomic_load_explicit(&rt->running, memory_order_relaxed))
        return;
    struct trace_rec r = {
        .type = TRACE_REC_SCOPE, .node = s->node[s->depth], .depth = s->depth + 1,
        .thread = s->thread, .start_ns = s->start[s->depth], .end_ns = now,
    };
    trace_ring_push(&rt->ring, &r);
}

uint32_t trace_scope_current(void)
{
    const struct scope_stack *s = &tls_scopes;
    if (s->depth == 0)
        return 0;
    return s->node[(s->depth > TRACE_MAX_DEPTH ? TRACE_MAX_DEPTH : s->depth) - 1];
}

unsigned trace_scope_depth(void)
{
    return tls_scopes.depth;
}

/* ---- launch attribution -------------------------------------------------------- */

void trace_attrib_launch(struct trace_rt *rt, uint32_t corr)
{
    uint64_t v = (uint64_t)corr << 32 | trace_scope_current();
    atomic_store_explicit(&rt->attrib[corr & (TRACE_ATTRIB_SLOTS - 1)], v,
                          memory_order_release);
}

int64_t trace_attrib_lookup(struct trace_rt *rt, uint32_t corr)
{
    uint64_t v = atomic_load_explicit(&rt->attrib[corr & (TRACE_ATTRIB_SLOTS - 1)],
                                      memory_order_acquire);
    if (v == 0 || (uint32_t)(v >> 32) != corr)
        return -1;
    return (int64_t)(uint32_t)v;
}

int trace_path(struct trace_rt *rt, uint32_t node, const char **names, size_t *lens,
               size_t max)
{
    const char *rev[TRACE_MAX_DEPTH];
    size_t revlen[TRACE_MAX_DEPTH];
    size_t n = 0;
    while (node != 0) {
        uint32_t parent, name_id;
        if (n == TRACE_MAX_DEPTH || trace_intern_pair_get(&rt->nodes, node, &parent,
                                                          &name_id) < 0)
            return -1;
        size_t len = 0;
        const char *name = trace_intern_str_get(&rt->names, name_id, &len);
        rev[n] = name ? name : "?";
        revlen[n++] = name ? len : 1;
        node = parent;
    }
    if (n > max)
        return -1;
    for (size_t i = 0; i < n; i++) {
        names[i] = rev[n - 1 - i];
        lens[i] = revlen[n - 1 - i];
    }
    return (int)n;
}
