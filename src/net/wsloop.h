/* wsloop.h - the one event loop (epoll) that serves every WebSocket client
 * of gpuctl serve.
 *
 * One thread owns all upgraded sockets: it reads and answers client frames
 * (net/ws.c), and when the watched descriptor (the feed's subscription)
 * becomes readable it asks for the newest message and offers it to every
 * client.  A client still sending an older message gets only the newest one
 * after it, never a queue, so a slow client costs one message of memory and
 * never stalls another.  Messages are shared blobs holding a whole frame,
 * rendered once for all clients.
 */
#ifndef GPUCTL_NET_WSLOOP_H
#define GPUCTL_NET_WSLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "net/blob.h"
#include "net/http.h"

struct wsloop_options {
    size_t max_message;          /* largest message a client may send */
    int watch_fd;                /* readable when a new message exists; -1: none */
    /* On the loop thread, when watch_fd is readable: the message for every
     * client (a new reference, a whole frame as from wsloop_text_frame) or
     * NULL for nothing new.  It must also drain watch_fd. */
    struct net_blob *(*on_watch)(void *ctx);
    /* On the loop thread, for each new client: the first message (a new
     * reference) or NULL. */
    struct net_blob *(*greeting)(void *ctx);
    /* Subscriptions (all three may be NULL: every client gets on_watch's
     * message).  on_text, for a client's text message, may replace the
     * client's subscription *sub (an opaque pointer, NULL at first; it
     * releases the one it replaces) and returns a message to send now (a
     * new reference) or NULL.  message_for gives the message of a frame for
     * a subscription other than NULL (a new reference, or NULL for none);
     * sub_release drops a closed client's subscription. */
    struct net_blob *(*on_text)(void *ctx, const char *text, size_t len, void **sub);
    struct net_blob *(*message_for)(void *ctx, void *sub);
    void (*sub_release)(void *ctx, void *sub);
    void *ctx;
};

struct wsloop;

/* Starts the loop's thread.  Returns 0 or a negative code with e filled. */
int wsloop_start(struct wsloop **out, const struct wsloop_options *o, struct error *e);

/* Hands an upgraded connection to the loop; any thread.  From here the loop
 * owns it and closes it through up (also when the loop is stopping). */
void wsloop_add(struct wsloop *l, int fd, const char *extra, size_t extra_len,
                struct http_upgraded *up);

/* Clients now connected; any thread. */
unsigned wsloop_client_count(const struct wsloop *l);

/* Closes every client (status 1001, going away) and joins the thread.
 * Accepts NULL. */
void wsloop_stop(struct wsloop *l);

/* A blob holding one unfragmented text frame with payload text[0..len),
 * or NULL when out of memory. */
struct net_blob *wsloop_text_frame(const char *text, size_t len);

#endif
