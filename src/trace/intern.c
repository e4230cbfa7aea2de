/* intern.c - the lock-free dictionaries of intern.h.
 *
 * Open addressing with linear probing over a fixed table.  A slot goes
 * empty -> claimed (key set by compare-and-swap) -> ready (release store
 * after its fields are written).  A reader that meets a claimed but not yet
 * ready slot with its key moves on instead of waiting, so no thread ever
 * waits for another; the price is an occasional duplicate entry.  Slots are
 * never removed: the dictionaries live as long as the recorder.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/intern.h"

int trace_intern_init(struct trace_intern *t, uint32_t slots, size_t arena_bytes,
                      struct error *e)
{
    memset(t, 0, sizeof *t);
    uint32_t n = 16;
    while (n < slots && n < (1u << 30))
        n *= 2;
    t->slots = calloc(n, sizeof *t->slots);
    if (!t->slots)
        return error_set(e, -ENOMEM, "cannot allocate an intern table of %u slots", n);
    if (arena_bytes) {
        t->arena = malloc(arena_bytes);
        if (!t->arena) {
            free(t->slots);
            t->slots = NULL;
            return error_set(e, -ENOMEM, "cannot allocate a name arena of %zu bytes",
                             arena_bytes);
        }
    }
    t->mask = n - 1;
    t->arena_size = arena_bytes;
    return 0;
}

void trace_intern_destroy(struct trace_intern *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->arena);
    t->slots = NULL;
    t->arena = NULL;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;       /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h | 1;
}

static uint64_t hash_pair(uint32_t a, uint32_t b)
{
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
    return (h ^ (h >> 29)) | 1;
}

static int str_matches(struct trace_intern *t, struct trace_intern_slot *s,
                       const char *str, size_t len)
{
    return s->b == len && memcmp(t->arena + s->a, str, len) == 0;
}

/* Claims slot s for key; 1 on success, 0 when someone else took it first. */
static int claim(struct trace_intern_slot *s, uint64_t key)
{
    uint64_t expect = 0;
    return atomic_compare_exchange_strong_explicit(&s->key, &expect, key,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire);
}

static uint32_t no_room(struct trace_intern *t)
{
    atomic_fetch_add_explicit(&t->failures, 1, memory_order_relaxed);
    return 0;
}

uint32_t trace_intern_str(struct trace_intern *t, const char *str, size_t len)
{
    uint64_t key = hash_bytes(str, len);
    for (uint32_t probe = 0, i = (uint32_t)key & t->mask; probe <= t->mask;
         probe++, i = (i + 1) & t->mask) {
        struct trace_intern_slot *s = &t->slots[i];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0 && claim(s, key)) {
            atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
            size_t off = atomic_fetch_add_explicit(&t->arena_used, len + 1,
                                                   memory_order_relaxed);
            if (off + len + 1 > t->arena_size || len > UINT32_MAX || off > UINT32_MAX)
                return no_room(t);          /* the slot stays claimed, never ready */
            memcpy(t->arena + off, str, len);
            t->arena[off + len] = '\0';
            s->a = (uint32_t)off;
            s->b = (uint32_t)len;
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            return i + 1;
        }
        k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key && atomic_load_explicit(&s->ready, memory_order_acquire) &&
            str_matches(t, s, str, len))
            return i + 1;
    }
    return no_room(t);
}

const char *trace_intern_str_get(struct trace_intern *t, uint32_t id, size_t *len)
{
    if (id == 0 || id - 1 > t->mask || !t->arena)
        return NULL;
    struct trace_intern_slot *s = &t->slots[id - 1];
    if (!atomic_load_explicit(&s->ready, memory_order_acquire))
        return NULL;
    *len = s->b;
    return t->arena + s->a;
}

uint32_t trace_intern_pair(struct trace_intern *t, uint32_t a, uint32_t b)
{
    uint64_t key = hash_pair(a, b);
    for (uint32_t probe = 0, i = (uint32_t)key & t->mask; probe <= t->mask;
         probe++, i = (i + 1) & t->mask) {
        struct trace_intern_slot *s = &t->slots[i];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0 && claim(s, key)) {
            atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
            s->a = a;
            s->b = b;
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            return i + 1;
        }
        k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key && atomic_load_explicit(&s->ready, memory_order_acquire) &&
            s->a == a && s->b == b)
            return i + 1;
    }
    return no_room(t);
}

int trace_intern_pair_get(struct trace_intern *t, uint32_t id, uint32_t *a, uint32_t *b)
{
    if (id == 0 || id - 1 > t->mask)
        return -1;
    struct trace_intern_slot *s = &t->slots[id - 1];
    if (!atomic_load_explicit(&s->ready, memory_order_acquire))
        return -1;
    *a = s->a;
    *b = s->b;
    return 0;
}
