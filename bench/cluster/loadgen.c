/* loadgen.c - bench/cluster's load generator: N simulated agents pushing
 * one snapshot document each, over keep-alive HTTP/1.1 connections to a
 * real coordinator on loopback.
 *
 *   loadgen PORT TOKEN DOCFILE NODES CONNS SECONDS MODE [SEQFILE]
 *
 * MODE register: registers node-0 .. node-(NODES-1) once.
 * MODE push:     CONNS threads, each owning the nodes i with i % CONNS ==
 *                its number, push in turn for SECONDS (at least one push per
 *                node), each node's pushes numbered 1, 2, 3 ... as an agent
 *                does; a node is only ever pushed by its thread, one request
 *                at a time, so its sequence is never reordered.  With
 *                SEQFILE, each node's numbers go on from those it holds and
 *                the last ones are written back, so runs follow each other.
 * MODE health:   the same connections sending GET /health for SECONDS (the
 *                anchor: the cheapest route of the same server).
 * Prints one JSON line: requests, seconds, failures (non-2xx or I/O), and
 * the request latency's median and 99th percentile in microseconds (each
 * request timed from its first byte sent to its answer's last received).
 *
 * Plain libc (sockets, pthreads); the coordinator is the measured party.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static const char *token;
static char *doc;
static size_t doc_len;
static long nodes, conns;
static double seconds;
static const char *mode;
static atomic_long total_requests, total_failures;
static uint64_t *node_seq;       /* each node's last sequence number */

/* Each worker's latencies (microseconds), gathered at the end. */
#define MAX_SAMPLES 4000000
static float *latencies;
static atomic_long latency_count;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_local(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("loadgen: connect");
        exit(2);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response; returns its status or -1. */
static int read_response(int fd, char *buf, size_t size)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have + 1 >= size)
            return -1;
        ssize_t r = recv(fd, buf + have, size - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "content-length:");
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t got = have - (size_t)(end + 4 - buf);
    while (got < body) {
        ssize_t r = recv(fd, buf, size - 1 < body - got ? size - 1 : body - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return status;
}

/* One request on fd (reconnecting once when the server closed it). */
static bool request(int *fd, const char *method, const char *path, const char *body,
                    size_t body_len)
{
    char head[512], buf[65536];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, token, body_len);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send_all(*fd, head, (size_t)n) && (!body_len || send_all(*fd, body, body_len))) {
            int status = read_response(*fd, buf, sizeof buf);
            if (status > 0)
                return status >= 200 && status < 300;
        }
        close(*fd);
        *fd = connect_local();
    }
    return false;
}

static void *worker(void *arg)
{
    long me = (long)arg, mine = 0;
    for (long i = me; i < nodes; i += conns)
        mine++;
    int fd = connect_local();
    double stop = now() + seconds;
    long k = 0, done = 0;
    char path[128];
    bool once = false;
    while (mine && (now() < stop || !once)) {
        long node = me + k * conns;
        bool ok;
        double t0 = now();
        if (!strcmp(mode, "health")) {
            ok = request(&fd, "GET", "/health", NULL, 0);
        } else {
            snprintf(path, sizeof path, "/api/nodes/node-%ld/snapshot?seq=%llu", node,
                     (unsigned long long)++node_seq[node]);
            ok = request(&fd, "POST", path, doc, doc_len);
        }
        long slot = atomic_fetch_add(&latency_count, 1);
        if (slot < MAX_SAMPLES)
            latencies[slot] = (float)((now() - t0) * 1e6);
        atomic_fetch_add(&total_requests, 1);
        if (!ok)
            atomic_fetch_add(&total_failures, 1);
        done++;
        if (++k == mine) {
            k = 0;
            once = true;
        }
    }
    close(fd);
    return NULL;
}

static void register_all(void)
{
    int fd = connect_local();
    char path[128], body[128];
    for (long i = 0; i < nodes; i++) {
        snprintf(path, sizeof path, "/api/nodes/node-%ld/register", i);
        int n = snprintf(body, sizeof body,
                         "{\"hostname\":\"sim-%ld\",\"addresses\":[\"10.0.%ld.%ld\"],"
                         "\"interval_s\":3600}", i, i / 250 % 256, i % 250 + 1);
        atomic_fetch_add(&total_requests, 1);
        if (!request(&fd, "POST", path, body, (size_t)n))
            atomic_fetch_add(&total_failures, 1);
    }
    close(fd);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "loadgen: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of the recorded latencies (sorted first). */
static double quantile(double q)
{
    long n = atomic_load(&latency_count);
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    if (!n)
        return 0;
    long i = (long)(q * (double)(n - 1) + 0.5);
    return latencies[i];
}

int main(int argc, char **argv)
{
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: loadgen PORT TOKEN DOCFILE NODES CONNS SECONDS "
                        "register|push|health [SEQFILE]\n");
        return 2;
    }
    port = atoi(argv[1]);
    token = argv[2];
    doc = read_file(argv[3], &doc_len);
    nodes = atol(argv[4]);
    conns = atol(argv[5]);
    seconds = atof(argv[6]);
    mode = argv[7];
    const char *seq_file = argc == 9 ? argv[8] : NULL;
    node_seq = calloc((size_t)(nodes > 0 ? nodes : 1), sizeof *node_seq);
    FILE *sf = seq_file ? fopen(seq_file, "rb") : NULL;
    if (sf) {
        if (fread(node_seq, sizeof *node_seq, (size_t)nodes, sf) != (size_t)nodes)
            memset(node_seq, 0, (size_t)nodes * sizeof *node_seq);
        fclose(sf);
    }
    latencies = malloc(MAX_SAMPLES * sizeof *latencies);
    if (!latencies) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    double start = now();
    if (!strcmp(mode, "register")) {
        register_all();
    } else {
        pthread_t *t = calloc((size_t)conns, sizeof *t);
        for (long i = 0; i < conns; i++)
            pthread_create(&t[i], NULL, worker, (void *)i);
        for (long i = 0; i < conns; i++)
            pthread_join(t[i], NULL);
        free(t);
    }
    double took = now() - start;
    long n = atomic_load(&latency_count);
    qsort(latencies, (size_t)(n < MAX_SAMPLES ? n : MAX_SAMPLES), sizeof *latencies, by_value);
    printf("{\"requests\": %ld, \"seconds\": %.3f, \"failures\": %ld, \"p50_us\": %.0f, "
           "\"p99_us\": %.0f}\n", atomic_load(&total_requests), took,
           atomic_load(&total_failures), quantile(0.5), quantile(0.99));
    if (seq_file && (sf = fopen(seq_file, "wb"))) {
        fwrite(node_seq, sizeof *node_seq, (size_t)nodes, sf);
        fclose(sf);
    }
    free(node_seq);
    free(latencies);
    free(doc);
    return 0;
}
