/* intern.h - lock-free interned dictionaries for the recorder's hot path.
 *
 * Scope names are stored once and referred to by a 32-bit id, and so are
 * scope paths: a path node is the pair (parent node, name id), node 0 being
 * the root.  Lookups and insertions never lock and never allocate: the slot
 * table and the string arena are allocated up front, a slot is claimed by
 * compare-and-swap and published with a release store.  Two threads
 * interning the same new string at the same instant may get two ids for it;
 * readers compare by content, so that costs a slot, never a wrong answer.
 * A full table or arena gives id 0 and counts the failure.
 */
#ifndef GPUCTL_TRACE_INTERN_H
#define GPUCTL_TRACE_INTERN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct trace_intern_slot {
    _Atomic uint64_t key;      /* hash | 1; 0 = empty */
    _Atomic uint32_t ready;    /* 1 once the fields below are written */
    uint32_t a, b;             /* strings: arena offset, length; pairs: parent, name */
};

struct trace_intern {
    struct trace_intern_slot *slots;
    uint32_t mask;
    char *arena;               /* strings only */
    size_t arena_size;
    _Atomic size_t arena_used;
    _Atomic uint32_t used;     /* slots claimed */
    _Atomic uint64_t failures; /* lookups that found no room */
};

/* slots is rounded up to a power of two; arena_bytes may be 0 for a table
 * of pairs.  Release with trace_intern_destroy. */
int trace_intern_init(struct trace_intern *t, uint32_t slots, size_t arena_bytes,
                      struct error *e);
void trace_intern_destroy(struct trace_intern *t);

/* Id (>= 1) of the string s[0..len), or 0 when there is no room. */
uint32_t trace_intern_str(struct trace_intern *t, const char *s, size_t len);
/* The string of id, NULL for an id never returned; *len gets its length. */
const char *trace_intern_str_get(struct trace_intern *t, uint32_t id, size_t *len);

/* Id (>= 1) of the pair (a, b), or 0 when there is no room. */
uint32_t trace_intern_pair(struct trace_intern *t, uint32_t a, uint32_t b);
/* 0 and the pair, or -1 for an id never returned. */
int trace_intern_pair_get(struct trace_intern *t, uint32_t id, uint32_t *a, uint32_t *b);

static inline uint64_t trace_intern_failures(struct trace_intern *t)
{
    return atomic_load_explicit(&t->failures, memory_order_relaxed);
}

#endif
