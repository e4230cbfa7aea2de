/* ring.h - the recorder's bounded lock-free multi-producer ring.
 *
 * Producers (application threads closing a scope) push fixed-size records;
 * one consumer (the collector thread) pops them.  A push never locks, never
 * allocates and never makes a system call: it claims a cell with one
 * compare-and-swap on the write position (Vyukov's bounded queue with a
 * sequence number per cell).  When the ring is full the record is dropped
 * and counted; the producer never waits for the collector.
 */
#ifndef GPUCTL_TRACE_RING_H
#define GPUCTL_TRACE_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum trace_rec_type {
    TRACE_REC_SCOPE = 1,     /* a closed scope: node, depth, start, end */
};

/* 48 bytes; with its sequence number a cell is one 64-byte cache line. */
struct trace_rec {
    uint32_t type;           /* enum trace_rec_type */
    uint32_t node;           /* scope path node (intern.h) */
    uint32_t depth;          /* 1 for a top-level scope */
    uint32_t thread;         /* recorder's thread number, from 1 */
    uint64_t start_ns, end_ns;
    uint64_t a, b;           /* reserved for other record types */
};

struct trace_ring_cell {
    _Atomic uint64_t seq;
    struct trace_rec rec;
    char pad[64 - sizeof(uint64_t) - sizeof(struct trace_rec)];
};

struct trace_ring {
    alignas(64) _Atomic uint64_t head;     /* next cell producers claim */
    alignas(64) uint64_t tail;             /* next cell the consumer reads */
    alignas(64) _Atomic uint64_t dropped;  /* pushes refused because full */
    _Atomic uint64_t pushed;
    struct trace_ring_cell *cells;
    uint64_t mask;
};

/* Sizes the ring to the largest power of two of cells fitting in bytes
 * (at least 2 cells) and allocates it.  Release with trace_ring_destroy. */
int trace_ring_init(struct trace_ring *r, size_t bytes, struct error *e);
void trace_ring_destroy(struct trace_ring *r);

/* Any thread.  False (and the drop counted) when the ring is full. */
bool trace_ring_push(struct trace_ring *r, const struct trace_rec *rec);
/* The one consumer thread.  False when nothing is ready. */
bool trace_ring_pop(struct trace_ring *r, struct trace_rec *out);

static inline size_t trace_ring_capacity(const struct trace_ring *r) { return r->mask + 1; }
static inline uint64_t trace_ring_dropped(struct trace_ring *r)
{
    return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}
static inline uint64_t trace_ring_pushed(struct trace_ring *r)
{
    return atomic_load_explicit(&r->pushed, memory_order_relaxed);
}

#endif
