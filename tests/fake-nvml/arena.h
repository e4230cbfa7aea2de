/* arena.h - bump allocation for data that is freed all at once.
 *
 * A parsed scenario and the JSON tree it is read from are many small pieces
 * with one lifetime; an arena makes building them cheap and freeing them one
 * call.  Not thread-safe: one owner at a time.
 */
#ifndef FAKE_NVML_ARENA_H
#define FAKE_NVML_ARENA_H

#include <stddef.h>

struct arena;

/* NULL when out of memory.  Free with arena_free. */
struct arena *arena_new(void);

/* n zeroed bytes aligned for any type, valid until arena_free; NULL when out
 * of memory. */
void *arena_alloc(struct arena *a, size_t n);

/* Accepts NULL. */
void arena_free(struct arena *a);

#endif
