/* bench_trace.c - the recorder's CPU costs (bench/trace runs it):
 *  1. ring push cost in ns with 1 and 4 producers (a consumer draining);
 *  2. scope records per second sustained with no drop at the default ring
 *     size, through the real collector writing NDJSON to disk. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace/collector.h"
#include "trace/recorder.h"
#include "trace/ring.h"

static uint64_t now(void) { return trace_now_ns(); }

struct prod { struct trace_ring *r; uint64_t n, ns; };
static atomic_int go;

static void *producer(void *arg)
{
    struct prod *p = arg;
    struct trace_rec rec = {.type = TRACE_REC_SCOPE};
    while (!atomic_load(&go))
        ;
    uint64_t t0 = now();
    for (uint64_t i = 0; i < p->n; i++) {
        rec.start_ns = i;
        trace_ring_push(p->r, &rec);
    }
    p->ns = now() - t0;
    return NULL;
}

/* The ring holds every push (allocated and touched up front), so the figure
 * is the cost of a successful push, not of a drop; the consumer empties it
 * afterwards and checks the count. */
static void push_cost(int producers, uint64_t per)
{
    struct trace_ring r;
    struct error e = {0};
    if (trace_ring_init(&r, (size_t)(per * (uint64_t)producers) * 64 * 2, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    struct prod p[8];
    pthread_t t[8];
    atomic_store(&go, 0);
    for (int i = 0; i < producers; i++) {
        p[i] = (struct prod){&r, per, 0};
        pthread_create(&t[i], NULL, producer, &p[i]);
    }
    atomic_store(&go, 1);
    double sum = 0;
    for (int i = 0; i < producers; i++) {
        pthread_join(t[i], NULL);
        sum += (double)p[i].ns / (double)per;
    }
    struct trace_rec out;
    uint64_t popped = 0;
    while (trace_ring_pop(&r, &out))
        popped++;
    if (popped != per * (uint64_t)producers)
        fprintf(stderr, "ring push: %llu pushed but %llu popped\n",
                (unsigned long long)(per * (uint64_t)producers), (unsigned long long)popped);
    printf("ring push, %d producer(s): %.1f ns per push (mean over producers), "
           "%llu pushes, %llu dropped\n", producers, sum / producers,
           (unsigned long long)(per * (uint64_t)producers),
           (unsigned long long)trace_ring_dropped(&r));
    trace_ring_destroy(&r);
}

static const char *no_env(const char *n) { (void)n; return NULL; }

struct rate { struct trace_rt *rt; uint64_t per_s, dur_ns; };

static void *paced(void *arg)
{
    struct rate *q = arg;
    uint64_t t0 = now(), done = 0;
    while (now() - t0 < q->dur_ns) {
        uint64_t due = (now() - t0) * q->per_s / 1000000000u;
        for (; done < due; done++) {
            trace_scope_begin(q->rt, "step", 4, now());
            trace_scope_end(q->rt, now());
        }
    }
    return NULL;
}

/* Returns the drops for rate per_s (records/s over producers threads). */
static uint64_t sustained(const char *dir, uint64_t per_s, int producers, int run)
{
    struct trace_config cfg;
    struct error e = {0};
    trace_config_load(&cfg, no_env, &e);
    snprintf(cfg.dir, sizeof cfg.dir, "%s", dir);
    snprintf(cfg.prefix, sizeof cfg.prefix, "run%d", run);
    cfg.system_interval_ms = 0;
    struct trace_rt rt;
    trace_rt_init(&rt, &cfg, &e);
    struct trace_collector_info info = {NULL, {0, 0, "none", 0}, NULL, "bench"};
    struct trace_collector *c;
    if (trace_collector_open(&c, &rt, &info, &e) < 0 || trace_collector_start(c, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    struct rate q[8];
    pthread_t t[8];
    for (int i = 0; i < producers; i++) {
        q[i] = (struct rate){&rt, per_s / (uint64_t)producers, 2000000000u};
        pthread_create(&t[i], NULL, paced, &q[i]);
    }
    for (int i = 0; i < producers; i++)
        pthread_join(t[i], NULL);
    trace_collector_stop(c);
    struct trace_counts n;
    trace_collector_counts(c, &n);
    trace_collector_free(c);
    trace_rt_destroy(&rt);
    return n.ring_drops;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    printf("%ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));
    push_cost(1, 2000000);
    push_cost(4, 500000);
    /* the highest rate (doubling, then bisecting) with no drop over 2 s */
    uint64_t lo = 0, hi = 250000;
    int run = 0;
    while (sustained(dir, hi, 2, run++) == 0 && hi < 64000000u) {
        lo = hi;
        hi *= 2;
    }
    for (int i = 0; i < 5; i++) {
        uint64_t mid = (lo + hi) / 2;
        if (sustained(dir, mid, 2, run++) == 0)
            lo = mid;
        else
            hi = mid;
    }
    printf("sustained with no drop at the default 16 MiB ring, 2 producers, collector "
           "writing NDJSON: %llu scope records/s (drops at %llu/s)\n",
           (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}
