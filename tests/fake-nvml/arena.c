/* arena.c - a list of large blocks handed out front to back.
 *
 * Blocks are calloc'ed, so every allocation starts zeroed; a request larger
 * than a block gets a block of its own.  Nothing is ever freed singly.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    _Alignas(max_align_t) unsigned char data[];
};

struct arena {
    struct arena_block *head;
};

enum { ARENA_BLOCK = 64 * 1024 };

struct arena *arena_new(void)
{
    return calloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (!a->head || a->head->size - a->head->used < n) {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct arena_block *b = calloc(1, sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
        b->next = a->head;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
