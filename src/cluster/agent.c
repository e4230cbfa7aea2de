/* agent.c - the node side of the cluster (see agent.h): registration,
 * one push per feed frame, re-registration on 404, back-off with jitter.
 *
 * The documents are the snapshot documents of src/doc (what `gpuctl list
 * --details --output json` prints, stale GPUs marked), so the coordinator
 * decodes them with the same decoder as everything else.
 */
#include "cluster/agent.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/curl_load.h"
#include "doc/json.h"
#include "doc/snapshot_doc.h"

#define BACKOFF_FIRST_S 1.0

struct agent {
    const struct cluster_agent_options *o;
    const struct curl_calls *curl;
    struct cluster_node_info info;
    uint64_t seq;
    double backoff_s;
    double pushed_at;          /* monotonic seconds of the last push; 0: none yet */
    unsigned rand_state;
};

static void say(struct agent *a, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct agent *a, enum log_level level, const char *fmt, ...)
{
    if (!a->o->log)
        return;
    char msg[ERROR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->o->log(a->o->cls, level, msg);
}

/* ------------------------------------------------------------ identity */

int cluster_agent_machine_id(char buf[CLUSTER_NODE_ID_MAX], struct error *e)
{
    FILE *f = fopen("/etc/machine-id", "re");
    if (!f)
        return error_set(e, -ENOENT, "cannot read /etc/machine-id (%s); give --node-id",
                         strerror(errno));
    char line[128] = "";
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = ok ? strspn(line, "0123456789abcdefABCDEF") : 0;
    if (n < 32)
        return error_set(e, -EINVAL, "/etc/machine-id holds no machine id; give --node-id");
    memcpy(buf, line, 32);
    buf[32] = '\0';
    return 0;
}

void cluster_agent_identity(struct cluster_node_info *info)
{
    if (gethostname(info->hostname, sizeof info->hostname) < 0)
        info->hostname[0] = '\0';
    info->hostname[sizeof info->hostname - 1] = '\0';
    info->address_count = 0;
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0)
        return;
    for (const struct ifaddrs *i = list; i && info->address_count < CLUSTER_MAX_ADDRESSES;
         i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        int family = i->ifa_addr->sa_family;
        const void *where;
        if (family == AF_INET) {
            where = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
        } else if (family == AF_INET6) {
            const struct in6_addr *a6 =
                &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a6))
                continue;
            where = a6;
        } else {
            continue;
        }
        char *slot = info->addresses[info->address_count];
        if (inet_ntop(family, where, slot, sizeof info->addresses[0]))
            info->address_count++;
    }
    freeifaddrs(list);
}

/* ------------------------------------------------------------ HTTP */

struct growing {
    char *data;
    size_t len, cap;
    bool failed;
};

static size_t keep_all(char *ptr, size_t size, size_t n, void *arg)
{
    struct growing *g = arg;
    size_t len = size * n;
    if (g->len + len + 1 > g->cap) {
        size_t cap = (g->len + len + 1) * 2;
        char *p = realloc(g->data, cap);
        if (!p) {
            g->failed = true;
            return 0;
        }
        g->data = p;
        g->cap = cap;
    }
    memcpy(g->data + g->len, ptr, len);
    g->len += len;
    g->data[g->len] = '\0';
    return len;
}

/* One request: a POST of body[0..len) (JSON), or a GET when body is NULL;
 * the answer's status and bytes.  -EIO with e filled when no answer came. */
static int transfer(const struct curl_calls *cl, const char *url, const char *token,
                    const char *body, size_t len, long timeout_s, long *status,
                    struct growing *g, struct error *e)
{
    *status = 0;
    CURL *c = cl->easy_init();
    if (!c)
        return error_set(e, -ENOMEM, "cannot start libcurl for %s", url);
    char auth[600] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = body ? cl->slist_append(NULL, "Content-Type: application/json")
                                : NULL;
    if (auth[0] && (h || !body))
        h = cl->slist_append(h, auth);
    char errbuf[CURL_ERROR_SIZE] = "";
    cl->easy_setopt(c, CURLOPT_URL, url);
    /* URLs come from options and registrations: HTTP only, never file:// */
    cl->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        cl->easy_setopt(c, CURLOPT_POSTFIELDS, body);
        cl->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    cl->easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cl->easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    cl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cl->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cl->easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_all);
    cl->easy_setopt(c, CURLOPT_WRITEDATA, g);
    cl->easy_setopt(c, CURLOPT_USERAGENT, "gpuctl");
    CURLcode res = (body || auth[0]) && !h ? CURLE_OUT_OF_MEMORY : cl->easy_perform(c);
    cl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    cl->slist_free_all(h);
    cl->easy_cleanup(c);
    if (g->failed)
        return error_set(e, -ENOMEM, "out of memory reading %s", url);
    if (res != CURLE_OK)
        return error_set(e, -EIO, "%s: %s", url, errbuf[0] ? errbuf : cl->easy_strerror(res));
    return 0;
}

struct answer {
    char text[512];
    size_t len;
};

/* POSTs body to the coordinator's path; *status gets the HTTP status and
 * ans the head of the answer.  -EIO with e filled when no answer came. */
static int post(struct agent *a, const char *path, const char *body, size_t len, long *status,
                struct answer *ans, struct error *e)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", a->o->coordinator, path);
    struct growing g = {0};
    int rc = transfer(a->curl, url, a->o->token, body, len, a->o->timeout_s, status, &g, e);
    ans->len = g.len < sizeof ans->text - 1 ? g.len : sizeof ans->text - 1;
    memcpy(ans->text, g.data ? g.data : "", ans->len);
    ans->text[ans->len] = '\0';
    free(g.data);
    return rc;
}

/* The error message of a JSON error answer, else its text. */
static const char *answer_message(const struct answer *ans, char *buf, size_t size)
{
    json_t *doc = json_loadb(ans->text, ans->len, 0, NULL);
    const char *m = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    snprintf(buf, size, "%s", m ? m : ans->text);
    json_decref(doc);
    return buf;
}

int cluster_http_request(const char *url, const char *token, const char *body, size_t len,
                         long timeout_s, long *status, char **answer, size_t *answer_len,
                         struct error *e)
{
    *answer = NULL;
    *answer_len = 0;
    const struct curl_calls *cl = curl_load(url, e);
    if (!cl)
        return e->code;
    struct growing g = {0};
    int rc = transfer(cl, url, token, body, len, timeout_s, status, &g, e);
    if (rc == 0 && !g.data && !(g.data = strdup("")))
        rc = error_set(e, -ENOMEM, "out of memory reading %s", url);
    if (rc < 0) {
        free(g.data);
        return rc;
    }
    *answer = g.data;
    *answer_len = g.len;
    return 0;
}

int cluster_http_get(const char *url, const char *token, long timeout_s, char **body,
                     size_t *len, struct error *e)
{
    long status;
    int rc = cluster_http_request(url, token, NULL, 0, timeout_s, &status, body, len, e);
    if (rc == 0 && status != 200) {
        struct answer ans;
        ans.len = *len < sizeof ans.text - 1 ? *len : sizeof ans.text - 1;
        memcpy(ans.text, *body, ans.len);
        ans.text[ans.len] = '\0';
        char msg[512];
        rc = error_set(e, -EIO, "%s: HTTP %ld: %s", url, status,
                       answer_message(&ans, msg, sizeof msg));
        free(*body);
        *body = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------ protocol */

static int register_node(struct agent *a, struct error *e)
{
    cluster_agent_identity(&a->info);
    json_t *body = json_object(), *addrs = json_array();
    for (size_t i = 0; addrs && i < a->info.address_count; i++)
        json_array_append_new(addrs, json_string(a->info.addresses[i]));
    doc_json_put(body, "hostname", doc_json_str(a->info.hostname));
    doc_json_put(body, "addresses", addrs);
    doc_json_put(body, "interval_s", json_real(a->info.interval_s));
    doc_json_put(body, "api_url", doc_json_str(a->o->api_url));
    char *text = body ? json_dumps(body, doc_json_dump_flags(true)) : NULL;
    json_decref(body);
    if (!text)
        return error_set(e, -ENOMEM, "out of memory registering");
    char path[CLUSTER_NODE_ID_MAX + 32];
    snprintf(path, sizeof path, "/api/nodes/%s/register", a->info.id);
    long status;
    struct answer ans;
    int rc = post(a, path, text, strlen(text), &status, &ans, e);
    free(text);
    if (rc < 0)
        return rc;
    if (status != 200 && status != 201) {
        char msg[512];
        return error_set(e, -EIO, "registering with %s: HTTP %ld: %s", a->o->coordinator,
                         status, answer_message(&ans, msg, sizeof msg));
    }
    say(a, LOG_INFO, "registered with %s as node %s (%s)", a->o->coordinator, a->info.id,
        a->info.hostname);
    return 0;
}

static char *frame_text(const struct feed_frame *f, size_t *len, struct error *e)
{
    struct doc_snapshot_request r = {.details = true, .containers = true,
                                     .device_stale = f->device_stale};
    json_t *doc = doc_snapshot_build(f->snap, &r, e);
    if (!doc)
        return NULL;
    char *text = json_dumps(doc, doc_json_dump_flags(true));
    json_decref(doc);
    if (!text) {
        error_set(e, -ENOMEM, "out of memory writing the snapshot document");
        return NULL;
    }
    *len = strlen(text);
    return text;
}

/* Pushes one document as the next sequence number; on 404 registers again
 * and repeats it once.  0 when the coordinator took it. */
static int push(struct agent *a, const char *text, size_t len, struct error *e)
{
    char path[CLUSTER_NODE_ID_MAX + 64];
    snprintf(path, sizeof path, "/api/nodes/%s/snapshot?seq=%" PRIu64, a->info.id, ++a->seq);
    for (int attempt = 0;; attempt++) {
        long status;
        struct answer ans;
        int rc = post(a, path, text, len, &status, &ans, e);
        if (rc < 0)
            return rc;
        if (status == 200)
            return 0;
        if (status == 404 && attempt == 0) {
            say(a, LOG_WARN, "%s does not know node %s (it restarted?): registering again",
                a->o->coordinator, a->info.id);
            if ((rc = register_node(a, e)) < 0)
                return rc;
            continue;
        }
        char msg[512];
        return error_set(e, -EIO, "push %" PRIu64 " to %s: HTTP %ld: %s", a->seq,
                         a->o->coordinator, status, answer_message(&ans, msg, sizeof msg));
    }
}

/* ------------------------------------------------------------ waiting */

/* Waits up to seconds (< 0: for ever) for the stop fd or sub_fd (-1:
 * none).  Returns 1 when stopping, 0 otherwise. */
static int wait_for(const struct agent *a, int sub_fd, double seconds)
{
    struct pollfd p[2] = {{.fd = a->o->stop_fd, .events = POLLIN},
                          {.fd = sub_fd, .events = POLLIN}};
    int ms = seconds < 0 ? -1 : (int)(seconds * 1000);
    int n = poll(p, sub_fd >= 0 ? 2 : 1, ms);
    return n > 0 && (p[0].revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

/* The next wait after a failure: doubled, capped, and spread by ±50 %. */
static double next_backoff(struct agent *a)
{
    a->backoff_s = a->backoff_s > 0 ? a->backoff_s * 2 : BACKOFF_FIRST_S;
    if (a->backoff_s > a->o->backoff_max_s)
        a->backoff_s = a->o->backoff_max_s;
    double spread = 0.5 + (double)rand_r(&a->rand_state) / ((double)RAND_MAX + 1.0);
    return a->backoff_s * spread;
}

static int backoff(struct agent *a, const struct error *why)
{
    double wait = next_backoff(a);
    say(a, LOG_WARN, "%s; trying again in %.1f s", why->msg, wait);
    return wait_for(a, -1, wait);
}

static int start(struct agent *a, const struct cluster_agent_options *o, struct error *e)
{
    memset(a, 0, sizeof *a);
    a->o = o;
    a->rand_state = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    if (strncmp(o->coordinator, "http://", 7) != 0 && strncmp(o->coordinator, "https://", 8))
        return error_set(e, -EINVAL, "coordinator URL \"%s\": expected http://HOST:PORT or "
                                     "https://HOST:PORT", o->coordinator);
    int rc = o->node_id ? 0 : cluster_agent_machine_id(a->info.id, e);
    if (rc < 0)
        return rc;
    if (o->node_id)
        snprintf(a->info.id, sizeof a->info.id, "%s", o->node_id);
    if ((rc = cluster_node_id_check(a->info.id, strlen(a->info.id), e)) < 0)
        return rc;
    a->info.interval_s = o->push_interval_s > 0 ? o->push_interval_s : o->feed.interval_s;
    if (o->api_url && strncmp(o->api_url, "http://", 7) != 0 &&
        strncmp(o->api_url, "https://", 8) != 0)
        return error_set(e, -EINVAL, "API URL \"%s\": expected http://HOST:PORT or "
                                     "https://HOST:PORT", o->api_url);
    if (o->token && strlen(o->token) > 512)
        return error_set(e, -EINVAL, "the token is too long (at most 512 bytes)");
    char what[300];
    snprintf(what, sizeof what, "agent for %s", o->coordinator);
    a->curl = curl_load(what, e);
    return a->curl ? 0 : e->code;
}

/* Registers (retrying) until it worked or stop; 1 when stopping. */
static int register_until_done(struct agent *a)
{
    for (;;) {
        struct error e = {0};
        if (register_node(a, &e) == 0) {
            a->backoff_s = 0;
            return 0;
        }
        if (backoff(a, &e))
            return 1;
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With a push interval longer than the sampling's (an agent on a server's
 * feed), frames come more often than pushes go: the ones in between are
 * skipped.  Half a sampling interval of slack keeps a frame that comes a
 * hair early from waiting a whole interval more. */
static bool push_due(const struct agent *a)
{
    double every = a->o->push_interval_s;
    if (every <= 0 || a->pushed_at == 0)
        return true;
    return mono_s() - a->pushed_at >= every - a->o->feed.interval_s / 2;
}

static int loop(struct agent *a, struct feed_sub *sub)
{
    if (register_until_done(a))
        return 0;
    for (;;) {
        if (wait_for(a, feed_sub_fd(sub), -1))
            return 0;
        struct feed_frame *f = feed_sub_take(sub);
        struct error e = {0};
        if (!f) {
            if (feed_sub_error(sub, &e))
                say(a, LOG_WARN, "sampling failed: %s", e.msg);
            continue;
        }
        if (!push_due(a)) {
            feed_frame_unref(f);
            continue;
        }
        a->pushed_at = mono_s();
        size_t len = 0;
        char *text = frame_text(f, &len, &e);
        feed_frame_unref(f);
        int rc = text ? push(a, text, len, &e) : e.code;
        free(text);
        if (rc == 0) {
            a->backoff_s = 0;
            continue;
        }
        if (backoff(a, &e))
            return 0;
        /* Frames that came during the wait are dropped: the next push is
         * the newest. */
    }
}

/* Registers and pushes the frames of feed until stop_fd is readable. */
static int run_on(const struct cluster_agent_options *o, struct feed *feed, struct error *e)
{
    struct agent a;
    int rc = start(&a, o, e);
    if (rc < 0)
        return rc;
    struct feed_sub *sub;
    if ((rc = feed_subscribe(feed, &sub, e)) < 0)
        return rc;
    rc = loop(&a, sub);
    feed_unsubscribe(sub);
    return rc;
}

int cluster_agent_run(const struct cluster_agent_options *o, struct error *e)
{
    struct agent a;
    int rc = start(&a, o, e);       /* the arguments are checked before sampling starts */
    if (rc < 0)
        return rc;
    struct feed *feed;
    if ((rc = feed_start(&feed, &o->feed, e)) < 0)
        return rc;
    rc = run_on(o, feed, e);
    feed_stop(feed);
    return rc;
}

/* ------------------------------------------------------------ on a thread */

struct cluster_agent {
    struct cluster_agent_options o;    /* stop_fd: the eventfd below */
    struct feed *feed;
    pthread_t thread;
};

static void *agent_thread(void *arg)
{
    struct cluster_agent *t = arg;
    struct error e = {0};
    if (run_on(&t->o, t->feed, &e) < 0 && t->o.log)
        t->o.log(t->o.cls, LOG_ERROR, e.msg);
    return NULL;
}

int cluster_agent_check(const struct cluster_agent_options *o, struct error *e)
{
    struct agent check;
    return start(&check, o, e);
}

int cluster_agent_start(struct cluster_agent **out, const struct cluster_agent_options *o,
                        struct feed *feed, struct error *e)
{
    *out = NULL;
    int rc = cluster_agent_check(o, e);
    if (rc < 0)
        return rc;
    struct cluster_agent *t = calloc(1, sizeof *t);
    if (!t)
        return error_set(e, -ENOMEM, "out of memory starting the agent");
    t->o = *o;
    t->feed = feed;
    t->o.stop_fd = eventfd(0, EFD_CLOEXEC);
    if (t->o.stop_fd < 0) {
        rc = error_set(e, -errno, "cannot create an eventfd: %s", strerror(errno));
        free(t);
        return rc;
    }
    /* signals stay with the caller's threads (its signalfd) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&t->thread, NULL, agent_thread, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        close(t->o.stop_fd);
        free(t);
        return error_set(e, -prc, "cannot start the agent's thread: %s", strerror(prc));
    }
    *out = t;
    return 0;
}

void cluster_agent_stop(struct cluster_agent *t)
{
    if (!t)
        return;
    uint64_t one = 1;
    if (write(t->o.stop_fd, &one, sizeof one) < 0) {
        /* an eventfd takes a write unless its counter is full: it is readable then */
    }
    pthread_join(t->thread, NULL);
    close(t->o.stop_fd);
    free(t);
}
