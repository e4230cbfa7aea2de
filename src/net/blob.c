/* blob.c - shared immutable bytes for the server's responses (see blob.h).
 *
 * One allocation per blob: the counter, the room reserved for a header and
 * the bytes.  Atomic counting because MHD's threads, the WebSocket loop
 * and the renderer drop their references independently.
 */
#include "net/blob.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct net_blob {
    atomic_uint refs;
    size_t start;        /* where the bytes begin in data[] */
    size_t len;          /* bytes from start */
    char *owned;         /* net_blob_take: the caller's buffer */
    const char *lent;    /* net_blob_static: bytes that are never freed */
    char data[];
};

static struct net_blob *blob_alloc(size_t room)
{
    if (room > SIZE_MAX - sizeof(struct net_blob) - 1)
        return NULL;
    struct net_blob *b = malloc(sizeof *b + room + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->start = 0;
    b->len = 0;
    b->owned = NULL;
    b->lent = NULL;
    return b;
}

struct net_blob *net_blob_copy(const void *data, size_t len)
{
    return net_blob_with_room(0, data, len);
}

struct net_blob *net_blob_with_room(size_t reserve, const void *data, size_t len)
{
    if (len > SIZE_MAX / 2 || reserve > SIZE_MAX / 2)
        return NULL;
    struct net_blob *b = blob_alloc(reserve + len);
    if (!b)
        return NULL;
    b->start = reserve;
    b->len = len;
    if (len)
        memcpy(b->data + reserve, data, len);
    b->data[reserve + len] = '\0';
    return b;
}

void net_blob_prepend(struct net_blob *b, const void *header, size_t len)
{
    if (len > b->start)
        len = b->start;
    b->start -= len;
    b->len += len;
    memcpy(b->data + b->start, header, len);
}

struct net_blob *net_blob_take(char *data, size_t len)
{
    struct net_blob *b = blob_alloc(0);
    if (!b) {
        free(data);
        return NULL;
    }
    b->owned = data;
    b->len = len;
    return b;
}

struct net_blob *net_blob_static(const void *data, size_t len)
{
    struct net_blob *b = blob_alloc(0);
    if (!b)
        return NULL;
    b->lent = data;
    b->len = len;
    return b;
}

struct net_blob *net_blob_ref(struct net_blob *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void net_blob_unref(struct net_blob *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(b->owned);
    free(b);
}

const char *net_blob_data(const struct net_blob *b)
{
    if (b->lent)
        return b->lent;
    return b->owned ? b->owned : b->data + b->start;
}

size_t net_blob_len(const struct net_blob *b)
{
    return b->len;
}
