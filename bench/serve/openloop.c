/* openloop.c - bench/serve's open-loop load generator: GET requests at a
 * constant rate over keep-alive HTTP/1.1 connections, each request's
 * latency taken from the time it was scheduled to leave, not from the time
 * it left.
 *
 *   openloop PORT PATH RATE CONNS SECONDS
 *
 * Request i is due at start + i / RATE whatever happened to the earlier
 * ones (open loop).  A due request goes out on the idle connection that has
 * waited longest; when all CONNS connections are busy it waits in a queue,
 * and that wait is part of its latency.  A closed-loop tool (wrk) sends
 * less while the server is slow and never sees the requests a real client
 * population would have sent meanwhile ("coordinated omission"); its p99 at
 * saturation is the queue it keeps itself.  One request per connection at a
 * time (no pipelining).
 *
 * After SECONDS no request is scheduled any more; those already due are
 * waited for, up to 10 s more, and those still unanswered are counted as
 * unfinished.  Prints one JSON line: the target rate and the achieved one
 * (answers / the time from the start to the last answer, at least
 * SECONDS), requests sent and answered, answers other than 200, errors
 * (connection closed or reset during a request, a malformed answer; the
 * connection is reopened), unfinished requests, how many requests found no idle connection when due
 * (queued), and the latency of the 200 answers: median, p90, p99, p99.9 and
 * maximum, in microseconds.
 *
 * One thread, epoll, and a timerfd armed at the next due time (timer slack
 * 1 µs); plain libc.  The generator shares the machine with the server:
 * when it is itself late (waiting for a CPU), the lateness counts against
 * the server, so its figures are an upper bound of the server's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192            /* a response head longer than this is an error */
#define DRAIN_SECONDS 10.0
#define TIMER_TAG UINT64_MAX     /* the timerfd's epoll data */

enum conn_state { CONN_IDLE, CONN_SENDING, CONN_READING_HEAD, CONN_READING_BODY };

struct conn {
    int fd;
    enum conn_state state;
    double due;                  /* the current request's scheduled time */
    size_t sent;                 /* bytes of the request sent */
    char head[HEAD_MAX + 1];
    size_t head_len;
    size_t body_left;
    int status;
    bool close_after;            /* the answer said Connection: close */
    bool wants_out;              /* EPOLLOUT is watched: the request did not fit */
};

static int port;
static char request[1024];
static size_t request_len;
static struct conn *conns;
static long nconns;
static int epfd;

/* Idle connections, longest waiting first (a ring of indexes). */
static long *idle_ring;
static long idle_head, idle_count;

static float *latencies;         /* microseconds, one per 200 answer */
static long latency_count, latency_cap;
static long sent, answered, non200, errors, queued;
static double last_answer;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void idle_push(long i)
{
    idle_ring[(idle_head + idle_count) % nconns] = i;
    idle_count++;
}

static long idle_pop(void)
{
    long i = idle_ring[idle_head];
    idle_head = (idle_head + 1) % nconns;
    idle_count--;
    return i;
}

static void idle_remove(long i)
{
    long kept = 0;
    for (long k = 0; k < idle_count; k++) {
        long v = idle_ring[(idle_head + k) % nconns];
        if (v != i)
            idle_ring[(idle_head + kept++) % nconns] = v;
    }
    idle_count = kept;
}

static void watch(long i, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i};
    if (epoll_ctl(epfd, op, conns[i].fd, &ev) < 0)
        die("openloop: epoll_ctl");
}

/* Connects slot i (blocking, then non-blocking) and marks it idle. */
static void open_conn(long i)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("openloop: connect");
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        die("openloop: socket options");
    conns[i].fd = fd;
    conns[i].state = CONN_IDLE;
    conns[i].wants_out = false;
    watch(i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    idle_push(i);
}

static void reopen_conn(long i)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, conns[i].fd, NULL);
    close(conns[i].fd);
    open_conn(i);
}

/* A request failed on connection i: counted, and the connection replaced. */
static void fail(long i)
{
    errors++;
    reopen_conn(i);
}

static void finish(long i)
{
    struct conn *c = &conns[i];
    double t = now();
    answered++;
    last_answer = t;
    if (c->status == 200) {
        if (latency_count < latency_cap)
            latencies[latency_count++] = (float)((t - c->due) * 1e6);
    } else {
        non200++;
    }
    if (c->close_after) {
        reopen_conn(i);
        return;
    }
    c->state = CONN_IDLE;
    idle_push(i);
}

static void send_more(long i)
{
    struct conn *c = &conns[i];
    while (c->sent < request_len) {
        ssize_t w = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->wants_out)
                watch(i, EPOLLIN | EPOLLOUT | EPOLLRDHUP, EPOLL_CTL_MOD);
            c->wants_out = true;
            return;
        }
        if (w <= 0) {
            fail(i);
            return;
        }
        c->sent += (size_t)w;
    }
    if (c->wants_out)
        watch(i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    c->wants_out = false;
    c->state = CONN_READING_HEAD;
}

static void start_request(long i, double due)
{
    struct conn *c = &conns[i];
    c->due = due;
    c->sent = 0;
    c->head_len = 0;
    c->body_left = 0;
    c->status = 0;
    c->close_after = false;
    c->state = CONN_SENDING;
    sent++;
    send_more(i);
}

/* The value of header name in head (NUL-terminated, lines end in CRLF). */
static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, n) == 0 && line[2 + n] == ':') {
            const char *v = line + 3 + n;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Parses a complete head; false unless it is an HTTP/1.x answer with a
 * Content-Length (both servers measured send one). */
static bool parse_head(struct conn *c)
{
    if (strncmp(c->head, "HTTP/1.", 7) != 0 || strlen(c->head) < 12)
        return false;
    c->status = atoi(c->head + 9);
    const char *cl = header_value(c->head, "Content-Length");
    if (!cl)
        return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if (end == cl)
        return false;
    c->body_left = (size_t)n;
    const char *conn = header_value(c->head, "Connection");
    c->close_after = conn && strncasecmp(conn, "close", 5) == 0;
    return true;
}

/* Takes len bytes received on connection i; false when the connection was
 * replaced as failed. */
static bool take_bytes(long i, const char *p, size_t len)
{
    struct conn *c = &conns[i];
    if (c->state == CONN_READING_HEAD) {
        size_t room = HEAD_MAX - c->head_len;
        size_t n = len < room ? len : room;
        memcpy(c->head + c->head_len, p, n);
        c->head_len += n;
        c->head[c->head_len] = '\0';
        char *end = strstr(c->head, "\r\n\r\n");
        if (!end) {
            if (c->head_len < HEAD_MAX)
                return true;
            fail(i);
            return false;
        }
        size_t head_bytes = (size_t)(end + 4 - c->head);
        end[2] = '\0';
        if (!parse_head(c)) {
            fail(i);
            return false;
        }
        /* what followed the head in these bytes is body */
        size_t body_here = c->head_len - head_bytes + (len - n);
        c->state = CONN_READING_BODY;
        if (body_here > c->body_left) {
            fail(i);         /* more than one answer: nothing was pipelined */
            return false;
        }
        c->body_left -= body_here;
    } else if (c->state == CONN_READING_BODY) {
        if (len > c->body_left) {
            fail(i);
            return false;
        }
        c->body_left -= len;
    } else {
        fail(i);             /* bytes nobody asked for */
        return false;
    }
    if (c->body_left == 0)
        finish(i);
    return true;
}

static void on_event(long i, uint32_t events)
{
    static char buf[1 << 18];
    struct conn *c = &conns[i];
    if ((events & EPOLLOUT) && c->state == CONN_SENDING)
        send_more(i);
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r == 0 && c->state == CONN_IDLE) {
            /* the server closed an idle connection: no request failed */
            idle_remove(i);
            reopen_conn(i);
            return;
        }
        if (r <= 0) {
            fail(i);
            return;
        }
        if (!take_bytes(i, buf, (size_t)r))
            return;
    }
}

static void arm_timer(int tfd, double at)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)at;
    its.it_value.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;    /* zero would disarm it */
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        die("openloop: timerfd_settime");
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double quantile(double q)
{
    if (!latency_count)
        return 0;
    return latencies[(long)(q * (double)(latency_count - 1) + 0.5)];
}

/* The generator's loop: sends what is due, reads what came, until every
 * scheduled request is answered or the drain time is over. */
static void run(int tfd, double start, double interval, long scheduled, double seconds)
{
    long next = 0;               /* the next request to become due */
    long waiting_from = 0;       /* due, not sent: [waiting_from, next) */
    long counted = 0;            /* requests already judged queued or not */
    struct epoll_event events[256];
    for (;;) {
        double t = now();
        while (next < scheduled && start + (double)next * interval <= t)
            next++;
        while (waiting_from < next && idle_count)
            start_request(idle_pop(), start + (double)waiting_from++ * interval);
        if (next > counted) {
            /* of those that came due since the last pass, the ones left
             * waiting found every connection busy */
            long first = waiting_from > counted ? waiting_from : counted;
            queued += next > first ? next - first : 0;
            counted = next;
        }
        if (waiting_from == scheduled && answered + errors >= sent)
            return;
        if (t > start + seconds + DRAIN_SECONDS)
            return;
        if (next < scheduled)
            arm_timer(tfd, start + (double)next * interval);
        int k = epoll_wait(epfd, events, 256, 1000);
        if (k < 0 && errno != EINTR)
            die("openloop: epoll_wait");
        for (int j = 0; j < k; j++) {
            if (events[j].data.u64 == TIMER_TAG) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                    die("openloop: timerfd read");
            } else {
                on_event((long)events[j].data.u64, events[j].events);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: openloop PORT PATH RATE CONNS SECONDS\n");
        return 2;
    }
    port = atoi(argv[1]);
    const char *path = argv[2];
    double rate = atof(argv[3]);
    nconns = atol(argv[4]);
    double seconds = atof(argv[5]);
    if (port <= 0 || port > 65535 || path[0] != '/' || !(rate > 0) || nconns <= 0 ||
        nconns > 100000 || !(seconds > 0) || rate * seconds > 1e8) {
        fprintf(stderr, "openloop: PORT 1-65535, a PATH starting with /, RATE, CONNS and "
                        "SECONDS above 0 (at most 1e8 requests)\n");
        return 2;
    }
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
                     path, port);
    if (n < 0 || (size_t)n >= sizeof request) {
        fprintf(stderr, "openloop: the path is too long\n");
        return 2;
    }
    request_len = (size_t)n;
    long scheduled = (long)(rate * seconds);
    latency_cap = scheduled + 1;
    latencies = malloc((size_t)latency_cap * sizeof *latencies);
    conns = calloc((size_t)nconns, sizeof *conns);
    idle_ring = calloc((size_t)nconns, sizeof *idle_ring);
    if (!latencies || !conns || !idle_ring) {
        fprintf(stderr, "openloop: out of memory\n");
        return 2;
    }
    /* the default 50 µs slack would make every send that late */
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) < 0)
        die("openloop: PR_SET_TIMERSLACK");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (epfd < 0 || tfd < 0)
        die("openloop: epoll/timerfd");
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev) < 0)
        die("openloop: epoll_ctl");
    for (long i = 0; i < nconns; i++)
        open_conn(i);

    double start = now() + 0.05;
    run(tfd, start, 1.0 / rate, scheduled, seconds);
    long unfinished = scheduled - answered - errors;
    /* the schedule spans SECONDS: answers all on time give the target rate */
    double took = (last_answer > start ? last_answer : now()) - start;
    if (took < seconds)
        took = seconds;
    qsort(latencies, (size_t)latency_count, sizeof *latencies, by_value);
    printf("{\"target_rate\": %.1f, \"achieved_rate\": %.1f, \"sent\": %ld, \"answered\": %ld, "
           "\"non200\": %ld, \"errors\": %ld, \"unfinished\": %ld, \"queued\": %ld, "
           "\"p50_us\": %.0f, \"p90_us\": %.0f, \"p99_us\": %.0f, \"p999_us\": %.0f, "
           "\"max_us\": %.0f}\n",
           rate, (double)answered / took, sent, answered, non200, errors,
           unfinished > 0 ? unfinished : 0, queued, quantile(0.5), quantile(0.9),
           quantile(0.99), quantile(0.999),
           latency_count ? (double)latencies[latency_count - 1] : 0.0);
    free(latencies);
    free(conns);
    free(idle_ring);
    return 0;
}
