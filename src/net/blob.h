/* blob.h - immutable, reference-counted bytes that many responses share.
 *
 * The server renders each document once per sample (a snapshot's JSON, the
 * /metrics text, the WebSocket frame) and hands the same bytes to every
 * client that asks before the next sample; the last response or socket
 * that still sends them drops the last reference.  Any thread may take and
 * drop references.
 */
#ifndef GPUCTL_NET_BLOB_H
#define GPUCTL_NET_BLOB_H

#include <stddef.h>

struct net_blob;

/* A blob holding a copy of data[0..len), or NULL when out of memory. */
struct net_blob *net_blob_copy(const void *data, size_t len);
/* A blob that takes ownership of data (allocated with malloc); on failure
 * data is freed and NULL returned. */
struct net_blob *net_blob_take(char *data, size_t len);
/* A blob over bytes that live as long as the program (the embedded
 * dashboard files): nothing is copied, and nothing freed with the blob. */
struct net_blob *net_blob_static(const void *data, size_t len);
/* A blob of len bytes whose first `reserve` bytes are left for a header
 * (the WebSocket frame header), copied from data after them; see
 * net_blob_prepend. */
struct net_blob *net_blob_with_room(size_t reserve, const void *data, size_t len);
/* Writes header (at most the room left) in front of the data. */
void net_blob_prepend(struct net_blob *b, const void *header, size_t len);

struct net_blob *net_blob_ref(struct net_blob *b);   /* returns b; accepts NULL */
void net_blob_unref(struct net_blob *b);             /* accepts NULL */
const char *net_blob_data(const struct net_blob *b);
size_t net_blob_len(const struct net_blob *b);

#endif
