/* ring.c - bounded multi-producer single-consumer ring (see ring.h).
 *
 * Each cell carries a sequence number: equal to the position when the cell
 * is free for the producer of that position, position + 1 once written, and
 * position + capacity once the consumer has read it.  Producers race only on
 * the head with a compare-and-swap; the consumer owns the tail alone.  What
 * a record means, and when the ring is drained, is the collector's business.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/ring.h"

_Static_assert(sizeof(struct trace_ring_cell) == 64, "a ring cell is one cache line");

int trace_ring_init(struct trace_ring *r, size_t bytes, struct error *e)
{
    memset(r, 0, sizeof *r);
    size_t cells = 2;
    while (cells * 2 * sizeof(struct trace_ring_cell) <= bytes)
        cells *= 2;
    r->cells = aligned_alloc(64, cells * sizeof(struct trace_ring_cell));
    if (!r->cells)
        return error_set(e, -ENOMEM, "cannot allocate a trace ring of %zu bytes",
                         cells * sizeof(struct trace_ring_cell));
    memset(r->cells, 0, cells * sizeof(struct trace_ring_cell));
    for (size_t i = 0; i < cells; i++)
        atomic_init(&r->cells[i].seq, i);
    r->mask = cells - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->dropped, 0);
    atomic_init(&r->pushed, 0);
    return 0;
}

void trace_ring_destroy(struct trace_ring *r)
{
    if (!r)
        return;
    free(r->cells);
    r->cells = NULL;
}

bool trace_ring_push(struct trace_ring *r, const struct trace_rec *rec)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        struct trace_ring_cell *c = &r->cells[pos & r->mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->rec = *rec;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                atomic_fetch_add_explicit(&r->pushed, 1, memory_order_relaxed);
                return true;
            }
            /* pos was reloaded by the failed exchange */
        } else if (diff < 0) {
            atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
            return false;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

bool trace_ring_pop(struct trace_ring *r, struct trace_rec *out)
{
    uint64_t pos = r->tail;
    struct trace_ring_cell *c = &r->cells[pos & r->mask];
    uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (seq != pos + 1)
        return false;
    *out = c->rec;
    atomic_store_explicit(&c->seq, pos + r->mask + 1, memory_order_release);
    r->tail = pos + 1;
    return true;
}
