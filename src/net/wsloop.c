/* wsloop.c - every WebSocket client of gpuctl serve on one epoll thread.
 *
 * libmicrohttpd answers the upgrade and hands the socket over (net/http.c);
 * from then on this thread alone reads, writes and closes it, so clients
 * need no locks.  Per client it keeps the frame reader, the bytes of a
 * frame not yet complete, the message being sent and at most one newer
 * message (replaced, never queued), and a few bytes of control frames.
 * Sockets are written straight away when a message arrives; EPOLLOUT is
 * asked for only while a client's socket is full.  Only new clients cross
 * threads, through a locked list and an eventfd.
 */
#include "net/wsloop.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ws.h"

#define WSLOOP_READ_CHUNK 16384
#define WSLOOP_CTRL_MAX (2 * (WS_MAX_HEADER + WS_MAX_CONTROL_PAYLOAD))

struct ws_client {
    int fd;
    struct http_upgraded *up;
    struct ws_reader reader;
    uint8_t *in;                 /* a frame not yet complete */
    size_t in_len;
    struct net_blob *out;        /* being sent, from out_off */
    size_t out_off;
    struct net_blob *next;       /* the newest message waiting */
    uint8_t ctrl[WSLOOP_CTRL_MAX];  /* pong and close frames waiting */
    size_t ctrl_len;
    bool closing;                /* a close frame is queued: close once sent */
    bool want_out;
    bool dead;                   /* closed; freed after this round of events */
    void *sub;                   /* the client's subscription (wsloop_options.on_text) */
    struct ws_client *prev_c, *next_c;
};

struct pending {
    int fd;
    struct http_upgraded *up;
    char *extra;
    size_t extra_len;
    struct pending *next;
};

struct wsloop {
    struct wsloop_options o;
    int epfd, wakefd;
    pthread_t thread;
    pthread_mutex_t lock;        /* guards pending and stopping */
    struct pending *pending;
    bool stopping;
    struct ws_client *clients;
    struct ws_client *dead;      /* closed this round, linked by next_c */
    atomic_uint count;
};

/* epoll data for the two descriptors that are not clients */
static char tag_wake, tag_watch;

struct net_blob *wsloop_text_frame(const char *text, size_t len)
{
    uint8_t head[WS_MAX_HEADER];
    size_t hlen = ws_frame_header_write(head, true, WS_OP_TEXT, len);
    struct net_blob *b = net_blob_with_room(WS_MAX_HEADER, text, len);
    if (b)
        net_blob_prepend(b, head, hlen);
    return b;
}

static void client_close(struct wsloop *l, struct ws_client *c)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    /* the fd is libmicrohttpd's to close, after it left our epoll set */
    http_upgraded_close(c->up);
    if (c->prev_c)
        c->prev_c->next_c = c->next_c;
    else
        l->clients = c->next_c;
    if (c->next_c)
        c->next_c->prev_c = c->prev_c;
    ws_reader_clear(&c->reader);
    free(c->in);
    c->in = NULL;
    if (c->sub && l->o.sub_release)
        l->o.sub_release(l->o.ctx, c->sub);
    c->sub = NULL;
    net_blob_unref(c->out);
    net_blob_unref(c->next);
    c->out = c->next = NULL;
    /* other events of this round may still point at it */
    c->dead = true;
    c->next_c = l->dead;
    l->dead = c;
    atomic_fetch_sub(&l->count, 1);
}

static void free_dead(struct wsloop *l)
{
    while (l->dead) {
        struct ws_client *c = l->dead;
        l->dead = c->next_c;
        free(c);
    }
}

static void set_want_out(struct wsloop *l, struct ws_client *c, bool want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->want_out = want;
}

/* Sends what can be sent: the message in progress, then control frames,
 * then the newest message.  Returns false when the client was closed. */
static bool client_flush(struct wsloop *l, struct ws_client *c)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        if (c->out) {
            p = (const uint8_t *)net_blob_data(c->out) + c->out_off;
            n = net_blob_len(c->out) - c->out_off;
        } else if (c->ctrl_len) {
            p = c->ctrl;
            n = c->ctrl_len;
        } else if (c->next && !c->closing) {
            c->out = c->next;
            c->next = NULL;
            c->out_off = 0;
            continue;
        } else {
            break;
        }
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_want_out(l, c, true);
            return true;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            client_close(l, c);
            return false;
        }
        if (c->out) {
            c->out_off += (size_t)w;
            if (c->out_off == net_blob_len(c->out)) {
                net_blob_unref(c->out);
                c->out = NULL;
            }
        } else {
            memmove(c->ctrl, c->ctrl + w, c->ctrl_len - (size_t)w);
            c->ctrl_len -= (size_t)w;
        }
    }
    set_want_out(l, c, false);
    if (c->closing) {
        client_close(l, c);
        return false;
    }
    return true;
}

static void queue_control(struct ws_client *c, unsigned opcode, const uint8_t *payload,
                          size_t len)
{
    if (c->closing || c->ctrl_len + WS_MAX_HEADER + len > sizeof c->ctrl)
        return;   /* a pong flood: the newest ping is answered once the queue drains */
    c->ctrl_len += ws_frame_header_write(c->ctrl + c->ctrl_len, true, opcode, len);
    memcpy(c->ctrl + c->ctrl_len, payload, len);
    c->ctrl_len += len;
}

static void queue_close(struct ws_client *c, uint16_t code, const char *reason)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t n = ws_close_payload(payload, code, reason);
    c->ctrl_len = 0;   /* pongs not yet sent no longer matter */
    queue_control(c, WS_OP_CLOSE, payload, n);
    c->closing = true;
}

/* A client's text message: a subscription, answered at once. */
static void client_text(struct wsloop *l, struct ws_client *c, const struct ws_event *ev)
{
    if (!l->o.on_text)
        return;
    struct net_blob *reply = l->o.on_text(l->o.ctx, (const char *)ev->data, ev->len, &c->sub);
    if (reply) {
        net_blob_unref(c->next);
        c->next = reply;
    }
}

/* Handles the complete frames at buf[0..len); returns how many bytes were
 * used (the rest is an incomplete frame). */
static size_t handle_frames(struct wsloop *l, struct ws_client *c, const uint8_t *buf,
                            size_t len)
{
    size_t used = 0;
    while (used < len && !c->closing) {
        struct ws_event ev;
        struct error e = {0};
        uint16_t code = 0;
        int rc = ws_reader_take(&c->reader, buf + used, len - used, &ev, &code, &e);
        if (rc < 0) {
            queue_close(c, code, e.msg);
            return len;
        }
        if (rc == 0)
            break;
        used += (size_t)rc;
        if (ev.kind == WS_EVENT_PING)
            queue_control(c, WS_OP_PONG, ev.data, ev.len);
        else if (ev.kind == WS_EVENT_CLOSE)
            queue_close(c, ev.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.close_code,
                        NULL);
        else if (ev.kind == WS_EVENT_MESSAGE && ev.opcode == WS_OP_TEXT)
            client_text(l, c, &ev);
        /* binary messages ask for nothing */
    }
    return used;
}

/* Feeds bytes to the client, joining them to a frame begun earlier. */
static bool client_take_bytes(struct wsloop *l, struct ws_client *c, const uint8_t *buf,
                              size_t len)
{
    if (c->in_len) {
        uint8_t *p = realloc(c->in, c->in_len + len);
        if (!p)
            return false;
        c->in = p;
        memcpy(c->in + c->in_len, buf, len);
        c->in_len += len;
        size_t used = handle_frames(l, c, c->in, c->in_len);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        if (!c->in_len) {
            free(c->in);
            c->in = NULL;
        }
        return true;
    }
    size_t used = handle_frames(l, c, buf, len);
    if (used < len) {
        c->in = malloc(len - used);
        if (!c->in)
            return false;
        memcpy(c->in, buf + used, len - used);
        c->in_len = len - used;
    }
    return true;
}

static void client_readable(struct wsloop *l, struct ws_client *c)
{
    uint8_t buf[WSLOOP_READ_CHUNK];
    /* a bounded number of reads per wake-up keeps the loop fair */
    for (int i = 0; i < 4 && !c->closing; i++) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || !client_take_bytes(l, c, buf, (size_t)n)) {
            client_close(l, c);
            return;
        }
        if ((size_t)n < sizeof buf)
            break;
    }
    client_flush(l, c);
}

static void add_client(struct wsloop *l, struct pending *p)
{
    struct ws_client *c = calloc(1, sizeof *c);
    int flags = fcntl(p->fd, F_GETFL);
    if (!c || flags < 0 || fcntl(p->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        free(c);
        http_upgraded_close(p->up);
        return;
    }
    c->fd = p->fd;
    c->up = p->up;
    ws_reader_init(&c->reader, l->o.max_message);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        free(c);
        http_upgraded_close(p->up);
        return;
    }
    c->next_c = l->clients;
    if (l->clients)
        l->clients->prev_c = c;
    l->clients = c;
    atomic_fetch_add(&l->count, 1);
    if (l->o.greeting)
        c->next = l->o.greeting(l->o.ctx);
    if (p->extra_len && !client_take_bytes(l, c, (const uint8_t *)p->extra, p->extra_len)) {
        client_close(l, c);
        return;
    }
    client_flush(l, c);
}

static void broadcast(struct wsloop *l, struct net_blob *msg)
{
    struct ws_client *c = l->clients;
    while (c) {
        struct ws_client *following = c->next_c;   /* flushing may close c */
        if (!c->closing) {
            struct net_blob *m = c->sub && l->o.message_for ? l->o.message_for(l->o.ctx, c->sub)
                                                            : net_blob_ref(msg);
            if (m) {
                net_blob_unref(c->next);
                c->next = m;
            }
            if (!c->want_out)
                client_flush(l, c);
        }
        c = following;
    }
}

/* Takes the clients handed over since the last wake-up; false when the
 * loop must end. */
static bool take_pending(struct wsloop *l)
{
    uint64_t v;
    if (read(l->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
        return true;
    pthread_mutex_lock(&l->lock);
    struct pending *p = l->pending;
    l->pending = NULL;
    bool stop = l->stopping;
    pthread_mutex_unlock(&l->lock);
    while (p) {
        struct pending *following = p->next;
        if (stop)
            http_upgraded_close(p->up);
        else
            add_client(l, p);
        free(p->extra);
        free(p);
        p = following;
    }
    return !stop;
}

static void close_all(struct wsloop *l)
{
    while (l->clients) {
        struct ws_client *c = l->clients;
        if (!c->closing) {
            net_blob_unref(c->next);
            c->next = NULL;
            queue_close(c, WS_CLOSE_GOING_AWAY, "the server is stopping");
        }
        /* one attempt: a client that cannot take the close frame now loses it */
        if (client_flush(l, c))
            client_close(l, c);
    }
}

static void *loop_main(void *arg)
{
    struct wsloop *l = arg;
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(l->epfd, events, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *ptr = events[i].data.ptr;
            if (ptr == &tag_wake) {
                stop = !take_pending(l) || stop;
            } else if (ptr == &tag_watch) {
                struct net_blob *msg = l->o.on_watch(l->o.ctx);
                if (msg)
                    broadcast(l, msg);
                net_blob_unref(msg);
            }
        }
        for (int i = 0; i < n; i++) {
            void *ptr = events[i].data.ptr;
            if (ptr == &tag_wake || ptr == &tag_watch)
                continue;
            struct ws_client *c = ptr;
            if (c->dead)
                continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                client_readable(l, c);
            else if (events[i].events & EPOLLOUT)
                client_flush(l, c);
        }
        free_dead(l);
        if (stop)
            break;
    }
    close_all(l);
    free_dead(l);
    return NULL;
}

int wsloop_start(struct wsloop **out, const struct wsloop_options *o, struct error *e)
{
    *out = NULL;
    struct wsloop *l = calloc(1, sizeof *l);
    if (!l)
        return error_set(e, -ENOMEM, "out of memory");
    l->o = *o;
    atomic_init(&l->count, 0);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = 0;
    if (l->epfd < 0 || l->wakefd < 0)
        rc = error_set(e, -errno, "cannot create the WebSocket loop: %s", strerror(errno));
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &tag_wake};
    struct epoll_event watch = {.events = EPOLLIN, .data.ptr = &tag_watch};
    if (rc == 0 && (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &wake) < 0 ||
                    (o->watch_fd >= 0 &&
                     epoll_ctl(l->epfd, EPOLL_CTL_ADD, o->watch_fd, &watch) < 0)))
        rc = error_set(e, -errno, "cannot watch the WebSocket loop's descriptors: %s",
                       strerror(errno));
    if (rc == 0 && pthread_mutex_init(&l->lock, NULL) != 0)
        rc = error_set(e, -ENOMEM, "cannot create the WebSocket loop's lock");
    if (rc == 0 && (rc = -pthread_create(&l->thread, NULL, loop_main, l)) < 0) {
        pthread_mutex_destroy(&l->lock);
        error_set(e, rc, "cannot start the WebSocket loop's thread");
    }
    if (rc < 0) {
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wakefd >= 0)
            close(l->wakefd);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void wsloop_add(struct wsloop *l, int fd, const char *extra, size_t extra_len,
                struct http_upgraded *up)
{
    struct pending *p = calloc(1, sizeof *p);
    if (p && extra_len) {
        p->extra = malloc(extra_len);
        if (p->extra)
            memcpy(p->extra, extra, extra_len);
    }
    if (!p || (extra_len && !p->extra)) {
        if (p)
            free(p);
        http_upgraded_close(up);
        return;
    }
    p->fd = fd;
    p->up = up;
    p->extra_len = extra_len;
    pthread_mutex_lock(&l->lock);
    bool stopping = l->stopping;
    if (!stopping) {
        p->next = l->pending;
        l->pending = p;
    }
    pthread_mutex_unlock(&l->lock);
    if (stopping) {
        http_upgraded_close(up);
        free(p->extra);
        free(p);
        return;
    }
    uint64_t one = 1;
    if (write(l->wakefd, &one, sizeof one) < 0) {
        /* the counter is saturated only if the loop stopped reading; it
         * still takes the pending list on its next wake-up */
    }
}

unsigned wsloop_client_count(const struct wsloop *l)
{
    return atomic_load(&((struct wsloop *)l)->count);
}

void wsloop_stop(struct wsloop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_mutex_unlock(&l->lock);
    uint64_t one = 1;
    if (write(l->wakefd, &one, sizeof one) < 0) {
        /* see wsloop_add */
    }
    pthread_join(l->thread, NULL);
    /* clients handed over after the loop's last look */
    take_pending(l);
    close(l->epfd);
    close(l->wakefd);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
