/* test_trace_ring.c - the recorder's lock-free ring and dictionaries under
 * concurrent producers: nothing lost or duplicated, drops counted exactly,
 * per-producer order kept.  Also built with ThreadSanitizer by
 * scripts/run-tests.sh, so it links only the modules it tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/intern.h"
#include "trace/ring.h"

#define PRODUCERS 4
#define PER_PRODUCER 200000

static void test_single_thread_order_and_full(void **state)
{
    (void)state;
    struct trace_ring r;
    struct error e = {0};
    assert_int_equal(trace_ring_init(&r, 64 * 16, &e), 0);
    assert_int_equal(trace_ring_capacity(&r), 16);
    for (uint32_t i = 0; i < 21; i++) {
        struct trace_rec rec = {.type = 1, .node = i};
        assert_true(trace_ring_push(&r, &rec) == (i < 16));
    }
    assert_int_equal(trace_ring_dropped(&r), 5);
    assert_int_equal(trace_ring_pushed(&r), 16);
    struct trace_rec out;
    for (uint32_t i = 0; i < 16; i++) {
        assert_true(trace_ring_pop(&r, &out));
        assert_int_equal(out.node, i);
    }
    assert_false(trace_ring_pop(&r, &out));
    /* room again after draining, and the sequence wraps correctly */
    for (uint32_t round = 0; round < 100; round++) {
        struct trace_rec rec = {.type = 1, .node = round};
        assert_true(trace_ring_push(&r, &rec));
        assert_true(trace_ring_pop(&r, &out));
        assert_int_equal(out.node, round);
    }
    trace_ring_destroy(&r);
}

struct producer {
    struct trace_ring *ring;
    uint32_t id;
    uint64_t ok, dropped;      /* read by the main thread only after the join */
    atomic_int finished;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        struct trace_rec rec = {.type = 1, .thread = p->id, .start_ns = i};
        if (trace_ring_push(p->ring, &rec))
            p->ok++;
        else
            p->dropped++;
    }
    atomic_store(&p->finished, 1);
    return NULL;
}

static void run_producers(size_t ring_bytes, bool expect_drops)
{
    struct trace_ring r;
    struct error e = {0};
    assert_int_equal(trace_ring_init(&r, ring_bytes, &e), 0);
    struct producer p[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        p[i].ring = &r;
        p[i].id = i + 1;
        p[i].ok = p[i].dropped = 0;
        atomic_init(&p[i].finished, 0);
        assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    }
    uint64_t next[PRODUCERS + 1] = {0}, popped = 0, seen[PRODUCERS + 1] = {0};
    int done = 0;
    struct trace_rec out;
    for (;;) {
        if (trace_ring_pop(&r, &out)) {
            assert_true(out.thread >= 1 && out.thread <= PRODUCERS);
            /* per producer, records come out in the order they went in */
            assert_true(seen[out.thread] == 0 || out.start_ns >= next[out.thread]);
            next[out.thread] = out.start_ns + 1;
            seen[out.thread]++;
            popped++;
            continue;
        }
        if (done)
            break;
        bool all = true;
        for (int i = 0; i < PRODUCERS; i++)
            all = all && atomic_load(&p[i].finished);
        if (all) {
            for (int i = 0; i < PRODUCERS; i++)
                pthread_join(t[i], NULL);
            done = 1;       /* one more pass empties the ring */
        }
    }
    uint64_t ok = 0, dropped = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        ok += p[i].ok;
        dropped += p[i].dropped;
        assert_int_equal(seen[i + 1], p[i].ok);
    }
    assert_int_equal(ok + dropped, (uint64_t)PRODUCERS * PER_PRODUCER);
    assert_int_equal(popped, ok);
    assert_int_equal(trace_ring_dropped(&r), dropped);
    assert_int_equal(trace_ring_pushed(&r), ok);
    if (!expect_drops)
        assert_int_equal(dropped, 0);
    trace_ring_destroy(&r);
}

static void test_four_producers_no_drops(void **state)
{
    (void)state;
    /* a ring that holds everything: nothing may be dropped */
    run_producers((size_t)64 * PRODUCERS * PER_PRODUCER * 2, false);
}

static void test_four_producers_small_ring(void **state)
{
    (void)state;
    /* 64 cells against a racing consumer: drops, each one counted */
    run_producers(64 * 64, true);
}

struct interner {
    struct trace_intern *names, *pairs;
    uint32_t ids[64], pair_ids[64];
};

static void *intern_many(void *arg)
{
    struct interner *w = arg;
    char name[32];
    for (int round = 0; round < 200; round++)
        for (int i = 0; i < 64; i++) {
            int n = snprintf(name, sizeof name, "scope-%d", i);
            uint32_t id = trace_intern_str(w->names, name, (size_t)n);
            uint32_t pid = trace_intern_pair(w->pairs, (uint32_t)i, id);
            if (round == 199) {
                w->ids[i] = id;
                w->pair_ids[i] = pid;
            }
        }
    return NULL;
}

static void test_intern_concurrent(void **state)
{
    (void)state;
    struct trace_intern names, pairs;
    struct error e = {0};
    assert_int_equal(trace_intern_init(&names, 1024, 1 << 16, &e), 0);
    assert_int_equal(trace_intern_init(&pairs, 1024, 0, &e), 0);
    struct interner w[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].names = &names;
        w[i].pairs = &pairs;
        assert_int_equal(pthread_create(&t[i], NULL, intern_many, &w[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < PRODUCERS; k++)
        for (int i = 0; i < 64; i++) {
            size_t len;
            const char *s = trace_intern_str_get(&names, w[k].ids[i], &len);
            char want[32];
            snprintf(want, sizeof want, "scope-%d", i);
            assert_non_null(s);
            assert_int_equal(len, strlen(want));
            assert_memory_equal(s, want, len);
            uint32_t a, b;
            assert_int_equal(trace_intern_pair_get(&pairs, w[k].pair_ids[i], &a, &b), 0);
            assert_int_equal(a, (uint32_t)i);
            assert_int_equal(b, w[k].ids[i]);
        }
    assert_int_equal(trace_intern_failures(&names), 0);
    trace_intern_destroy(&names);
    trace_intern_destroy(&pairs);
}

static void test_intern_full(void **state)
{
    (void)state;
    struct trace_intern names;
    struct error e = {0};
    assert_int_equal(trace_intern_init(&names, 16, 32, &e), 0);
    /* the arena (32 bytes) runs out before the 16 slots do */
    uint32_t a = trace_intern_str(&names, "0123456789", 10);
    uint32_t b = trace_intern_str(&names, "abcdefghij", 10);
    assert_true(a && b && a != b);
    assert_int_equal(trace_intern_str(&names, "0123456789", 10), a);
    assert_int_equal(trace_intern_str(&names, "klmnopqrstuvwxyz", 16), 0);
    assert_int_equal(trace_intern_failures(&names), 1);
    trace_intern_destroy(&names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_order_and_full),
        cmocka_unit_test(test_four_producers_no_drops),
        cmocka_unit_test(test_four_producers_small_ring),
        cmocka_unit_test(test_intern_concurrent),
        cmocka_unit_test(test_intern_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
