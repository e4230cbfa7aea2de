/* guard_webhook.c - the queue and worker thread behind guard's webhooks.
 *
 * Two singly linked lists under one mutex: posts waiting (FIFO, bounded)
 * and outcomes waiting for the loop (FIFO, unbounded but small: the loop
 * collects them every few hundred milliseconds, and there is at most one
 * outcome per post).  The worker sleeps on a condition variable while the
 * queue is empty.  Delivery itself is guard_notify.c's; recording the
 * outcomes is guard_daemon.c's.
 */
#include "policy/guard_webhook.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/guard_notify.h"

struct post {
    struct post *next;
    char *url, *body;
    int64_t tag;
};

struct outcome {
    struct outcome *next;
    struct guard_webhook_result r;
};

struct guard_webhook {
    pthread_t worker;
    bool started, joined;
    long timeout_s;
    atomic_bool cancel;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;                       /* under lock */
    struct post *head, *tail;            /* under lock */
    size_t queued;                       /* under lock */
    struct outcome *done, *done_tail;    /* under lock */
};

static void post_free(struct post *p)
{
    if (!p)
        return;
    free(p->url);
    free(p->body);
    free(p);
}

/* Appends an outcome; called with the lock held.  Out of memory loses the
 * outcome (the post's own fate is unaffected). */
static void add_outcome(struct guard_webhook *w, int64_t tag, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_outcome(struct guard_webhook *w, int64_t tag, bool ok, const char *fmt, ...)
{
    struct outcome *o = calloc(1, sizeof *o);
    if (!o)
        return;
    o->r.tag = tag;
    o->r.ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->r.message, sizeof o->r.message, fmt, ap);
    va_end(ap);
    if (w->done_tail)
        w->done_tail->next = o;
    else
        w->done = o;
    w->done_tail = o;
}

static void *work(void *arg)
{
    struct guard_webhook *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->head)
            break;          /* stopping, and nothing left to deliver */
        struct post *p = w->head;
        w->head = p->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->lock);
        struct error e = {0};
        int rc = guard_notify_webhook(p->url, p->body, w->timeout_s, &w->cancel, &e);
        pthread_mutex_lock(&w->lock);
        if (rc == 0)
            add_outcome(w, p->tag, true, "%s", p->url);
        else
            add_outcome(w, p->tag, false, "%s", e.msg);
        post_free(p);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int guard_webhook_start(struct guard_webhook **out, long timeout_s, struct error *e)
{
    struct guard_webhook *w = calloc(1, sizeof *w);
    if (!w)
        return error_set(e, -ENOMEM, "out of memory starting the webhook worker");
    w->timeout_s = timeout_s >= 1 ? timeout_s : 1;
    atomic_init(&w->cancel, false);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->worker, NULL, work, w);
    if (rc != 0) {
        guard_webhook_free(w);
        return error_set(e, -rc, "cannot start the webhook worker: %s", strerror(rc));
    }
    w->started = true;
    *out = w;
    return 0;
}

int guard_webhook_post(struct guard_webhook *w, const char *url, const char *body, int64_t tag,
                       struct error *e)
{
    struct post *p = calloc(1, sizeof *p);
    if (p) {
        p->url = strdup(url);
        p->body = strdup(body);
        p->tag = tag;
    }
    if (!p || !p->url || !p->body) {
        post_free(p);
        return error_set(e, -ENOMEM, "out of memory queueing the webhook %s", url);
    }
    pthread_mutex_lock(&w->lock);
    bool full = w->queued >= GUARD_WEBHOOK_QUEUE || w->stopping;   /* none after stop */
    if (!full) {
        if (w->tail)
            w->tail->next = p;
        else
            w->head = p;
        w->tail = p;
        w->queued++;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (full) {
        post_free(p);
        return error_set(e, -ENOSPC, "webhook %s: not sent, %d posts are already waiting for "
                         "an answer (is the webhook down?)", url, GUARD_WEBHOOK_QUEUE);
    }
    return 0;
}

size_t guard_webhook_collect(struct guard_webhook *w, struct guard_webhook_result *out,
                             size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&w->lock);
    while (w->done && n < max) {
        struct outcome *o = w->done;
        w->done = o->next;
        if (!w->done)
            w->done_tail = NULL;
        out[n++] = o->r;
        free(o);
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

void guard_webhook_stop(struct guard_webhook *w, bool finish)
{
    if (!w || !w->started || w->joined)
        return;
    if (!finish)
        atomic_store(&w->cancel, true);
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    while (!finish && w->head) {
        struct post *p = w->head;
        w->head = p->next;
        add_outcome(w, p->tag, false, "webhook %s: not sent, guard stopped first", p->url);
        post_free(p);
    }
    if (!finish) {
        w->tail = NULL;
        w->queued = 0;
    }
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->worker, NULL);
    w->joined = true;
}

void guard_webhook_free(struct guard_webhook *w)
{
    if (!w)
        return;
    guard_webhook_stop(w, false);
    while (w->done) {
        struct outcome *o = w->done;
        w->done = o->next;
        free(o);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
