/* Unit tests: the coordinator's node registry (cluster/registry.c), the
 * per-push summaries (cluster/summary.c), the contention analysis
 * (cluster/contention.c) and its document (doc/contention_doc.c), with the
 * hand-computed case of docs/json/contention.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/contention.h"
#include "cluster/registry.h"
#include "doc/contention_doc.h"

#define GIB (1024ull * 1024 * 1024)

/* ------------------------------------------------------------ building snapshots */

struct proc_spec {
    int gpu;
    pid_t pid;
    const char *user;
    double mem_gib;
    double elapsed_s;
};

struct gpu_spec {
    double util;        /* < 0: unknown */
};

static int hproc_by_pid(const void *a, const void *b)
{
    pid_t x = ((const struct host_process *)a)->pid, y = ((const struct host_process *)b)->pid;
    return (x > y) - (x < y);
}

static struct snapshot *make_snapshot(const struct gpu_spec *gpus, size_t ng,
                                      const struct proc_spec *procs, size_t np)
{
    struct snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->devices = calloc(ng ? ng : 1, sizeof *s->devices);
    s->gprocs = calloc(np ? np : 1, sizeof *s->gprocs);
    s->hprocs = calloc(np ? np : 1, sizeof *s->hprocs);
    assert_true(s->devices && s->gprocs && s->hprocs);
    for (size_t i = 0; i < ng; i++) {
        struct device *d = &s->devices[s->device_count++];
        d->index = (int)i;
        snprintf(d->uuid, sizeof d->uuid, "GPU-%zu", i);
        snprintf(d->name, sizeof d->name, "Test GPU");
        OPT_SET(d->mem_total_bytes, 80 * GIB);
        if (gpus[i].util >= 0)
            OPT_SET(d->util_gpu_pct, gpus[i].util);
    }
    /* procs are given in device then pid order */
    for (size_t i = 0; i < np; i++) {
        struct gpu_process *p = &s->gprocs[s->gproc_count++];
        p->pid = procs[i].pid;
        p->device_index = procs[i].gpu;
        p->type = GPU_PROC_COMPUTE;
        OPT_SET(p->gpu_mem_bytes, (uint64_t)(procs[i].mem_gib * (double)GIB));
        struct host_process *h = &s->hprocs[s->hproc_count++];
        h->pid = procs[i].pid;
        h->exists = true;
        snprintf(h->user, sizeof h->user, "%s", procs[i].user);
        OPT_SET(h->elapsed_s, procs[i].elapsed_s);
    }
    qsort(s->hprocs, s->hproc_count, sizeof *s->hprocs, hproc_by_pid);
    return s;
}

static struct cluster_node_info info_of(const char *id, const char *host, double interval)
{
    struct cluster_node_info i = {.interval_s = interval, .address_count = 1};
    snprintf(i.id, sizeof i.id, "%s", id);
    snprintf(i.hostname, sizeof i.hostname, "%s", host);
    snprintf(i.addresses[0], sizeof i.addresses[0], "192.0.2.1");
    return i;
}

static struct cluster_registry *new_registry(void)
{
    struct cluster_registry_options o;
    cluster_registry_options_defaults(&o);
    struct cluster_registry *r;
    struct error e = {0};
    assert_int_equal(cluster_registry_new(&r, &o, &e), 0);
    return r;
}

static void register_node(struct cluster_registry *r, const char *id, double interval,
                          double now)
{
    struct cluster_node_info i = info_of(id, id, interval);
    struct error e = {0};
    assert_int_equal(cluster_registry_register(r, &i, now, NULL, &e), 0);
}

static int push_one_gpu(struct cluster_registry *r, const char *id, uint64_t seq, double now,
                        struct error *e)
{
    struct gpu_spec g = {50};
    return cluster_registry_push(r, id, seq, make_snapshot(&g, 1, NULL, 0), now, e);
}

static struct cluster_node_view one_node(struct cluster_registry *r, const char *id, double now,
                                         struct cluster_view *v)
{
    struct error e = {0};
    assert_int_equal(cluster_registry_view_node(r, id, now, v, &e), 0);
    return v->nodes[0];
}

/* ------------------------------------------------------------ registry */

static void test_a_registered_node_takes_pushes_in_sequence(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    bool created = false;
    struct cluster_node_info i = info_of("n1", "host-a", 2);
    assert_int_equal(cluster_registry_register(r, &i, 100, &created, &e), 0);
    assert_true(created);
    assert_int_equal(push_one_gpu(r, "n1", 1, 101, &e), 0);
    assert_int_equal(push_one_gpu(r, "n1", 2, 102, &e), 0);
    struct cluster_view v;
    struct cluster_node_view n = one_node(r, "n1", 102, &v);
    assert_string_equal(n.info->hostname, "host-a");
    assert_int_equal(n.sample->seq, 2);
    assert_int_equal(n.pushes, 2);
    assert_int_equal(n.lost, 0);
    assert_true(n.last_seen == 102);
    assert_int_equal(n.status, CLUSTER_NODE_ONLINE);
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

static void test_a_push_from_an_unregistered_node_is_not_found(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    assert_int_equal(push_one_gpu(r, "ghost", 1, 1, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "ghost"));
    assert_non_null(strstr(e.msg, "register"));
    cluster_registry_free(r);
}

static void test_a_repeated_or_older_sequence_number_is_refused_and_keeps_the_newer(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    assert_int_equal(push_one_gpu(r, "n1", 5, 1, &e), 0);
    assert_int_equal(push_one_gpu(r, "n1", 5, 2, &e), -EEXIST);
    assert_non_null(strstr(e.msg, "not newer than snapshot 5"));
    assert_int_equal(push_one_gpu(r, "n1", 4, 3, &e), -EEXIST);
    struct cluster_view v;
    struct cluster_node_view n = one_node(r, "n1", 3, &v);
    assert_int_equal(n.sample->seq, 5);
    assert_int_equal(n.refused, 2);
    assert_true(n.last_seen == 1);
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

static void test_a_gap_in_the_sequence_counts_the_missing_pushes_as_lost(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    assert_int_equal(push_one_gpu(r, "n1", 3, 1, &e), 0);   /* first: no gap counted */
    assert_int_equal(push_one_gpu(r, "n1", 4, 2, &e), 0);
    assert_int_equal(push_one_gpu(r, "n1", 7, 3, &e), 0);
    struct cluster_view v;
    struct cluster_node_view n = one_node(r, "n1", 3, &v);
    assert_int_equal(n.lost, 2);
    assert_int_equal(n.pushes, 3);
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

static void test_registering_again_starts_a_new_sequence_and_keeps_the_sample(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    bool created = true;
    register_node(r, "n1", 1, 0);
    assert_int_equal(push_one_gpu(r, "n1", 40, 1, &e), 0);
    struct cluster_node_info i = info_of("n1", "renamed", 1);
    assert_int_equal(cluster_registry_register(r, &i, 2, &created, &e), 0);
    assert_false(created);
    struct cluster_view v;
    struct cluster_node_view n = one_node(r, "n1", 2, &v);
    assert_string_equal(n.info->hostname, "renamed");
    assert_int_equal(n.sample->seq, 40);
    cluster_view_clear(&v);
    assert_int_equal(push_one_gpu(r, "n1", 1, 3, &e), 0);
    n = one_node(r, "n1", 3, &v);
    assert_int_equal(n.sample->seq, 1);
    assert_int_equal(n.lost, 0);
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

static void test_a_node_goes_stale_after_three_missed_intervals_and_offline_after_ten(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    struct cluster_event ev[8];
    register_node(r, "n1", 2, 100);
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 1);
    assert_int_equal(ev[0].kind, CLUSTER_EVENT_JOINED);
    assert_string_equal(ev[0].node_id, "n1");

    cluster_registry_tick(r, 106);          /* 3 intervals: still online */
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 0);
    cluster_registry_tick(r, 106.5);
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 1);
    assert_int_equal(ev[0].kind, CLUSTER_EVENT_STATUS);
    assert_int_equal(ev[0].status, CLUSTER_NODE_STALE);
    cluster_registry_tick(r, 120);          /* 10 intervals: still stale */
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 0);
    cluster_registry_tick(r, 120.5);
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 1);
    assert_int_equal(ev[0].status, CLUSTER_NODE_OFFLINE);

    struct cluster_view v;
    assert_int_equal(one_node(r, "n1", 121, &v).status, CLUSTER_NODE_OFFLINE);
    cluster_view_clear(&v);

    assert_int_equal(push_one_gpu(r, "n1", 1, 122, &e), 0);
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 1);
    assert_int_equal(ev[0].kind, CLUSTER_EVENT_STATUS);
    assert_int_equal(ev[0].status, CLUSTER_NODE_ONLINE);
    cluster_registry_free(r);
}

static void test_an_offline_node_is_kept_until_the_retention_time_passes(void **state)
{
    (void)state;
    struct cluster_registry_options o;
    cluster_registry_options_defaults(&o);
    o.retention_s = 100;
    struct cluster_registry *r;
    struct error e = {0};
    assert_int_equal(cluster_registry_new(&r, &o, &e), 0);
    register_node(r, "n1", 1, 0);
    cluster_registry_tick(r, 99);
    struct cluster_view v;
    assert_int_equal(cluster_registry_view(r, 99, &v, &e), 0);
    assert_int_equal(v.count, 1);
    cluster_view_clear(&v);
    cluster_registry_tick(r, 100);
    assert_int_equal(cluster_registry_view(r, 100, &v, &e), 0);
    assert_int_equal(v.count, 0);
    cluster_view_clear(&v);
    struct cluster_event ev[8];
    size_t n = cluster_registry_events(r, ev, 8, NULL);
    assert_true(n >= 2);
    assert_int_equal(ev[n - 1].kind, CLUSTER_EVENT_LEFT);
    assert_string_equal(ev[n - 1].reason, "retention");
    cluster_registry_free(r);
}

static void test_removing_a_node_leaves_an_event_and_unknown_ids_are_not_found(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    assert_int_equal(cluster_registry_remove(r, "n2", 1, &e), -ENOENT);
    assert_int_equal(cluster_registry_remove(r, "n1", 1, &e), 0);
    struct cluster_event ev[8];
    assert_int_equal(cluster_registry_events(r, ev, 8, NULL), 2);
    assert_int_equal(ev[1].kind, CLUSTER_EVENT_LEFT);
    assert_string_equal(ev[1].reason, "removed");
    assert_int_equal(push_one_gpu(r, "n1", 1, 2, &e), -ENOENT);
    cluster_registry_free(r);
}

static void test_a_view_keeps_its_samples_after_the_node_is_removed(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    assert_int_equal(push_one_gpu(r, "n1", 1, 1, &e), 0);
    struct cluster_view v;
    assert_int_equal(cluster_registry_view(r, 1, &v, &e), 0);
    assert_int_equal(cluster_registry_remove(r, "n1", 1, &e), 0);
    assert_int_equal(push_one_gpu(r, "n1", 2, 1, &e), -ENOENT);
    assert_int_equal(v.nodes[0].sample->summary.gpu_count, 1);
    assert_string_equal(v.nodes[0].info->id, "n1");
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

static void test_bad_ids_intervals_and_a_full_registry_are_refused(void **state)
{
    (void)state;
    struct cluster_registry_options o;
    cluster_registry_options_defaults(&o);
    o.max_nodes = 1;
    struct cluster_registry *r;
    struct error e = {0};
    assert_int_equal(cluster_registry_new(&r, &o, &e), 0);
    struct cluster_node_info i = info_of("bad/id", "h", 1);
    assert_int_equal(cluster_registry_register(r, &i, 0, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "bad/id"));
    i = info_of("", "h", 1);
    assert_int_equal(cluster_registry_register(r, &i, 0, NULL, &e), -EINVAL);
    i = info_of("n1", "h", 0);
    assert_int_equal(cluster_registry_register(r, &i, 0, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "interval"));
    register_node(r, "n1", 1, 0);
    i = info_of("n2", "h", 1);
    assert_int_equal(cluster_registry_register(r, &i, 0, NULL, &e), -ENOSPC);
    register_node(r, "n1", 1, 1);          /* the same node again is fine */
    cluster_registry_free(r);
}

static void test_a_snapshot_with_two_gpus_of_one_index_is_refused_with_the_reason(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    struct gpu_spec g[2] = {{1}, {2}};
    struct proc_spec p = {1, 10, "alice", 1, 1};
    struct snapshot *s = make_snapshot(g, 2, &p, 1);
    s->devices[1].index = 0;
    assert_int_equal(cluster_registry_push(r, "n1", 1, s, 1, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "gpus[1]: index 0 appears twice"));
    struct cluster_view v;
    struct cluster_node_view n = one_node(r, "n1", 1, &v);
    assert_null(n.sample);
    assert_int_equal(n.refused, 1);
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

struct pusher {
    struct cluster_registry *r;
    char id[16];
    int failures;
};

static void *push_many(void *arg)
{
    struct pusher *p = arg;
    for (uint64_t seq = 1; seq <= 500; seq++) {
        struct error e = {0};
        struct gpu_spec g = {(double)(seq % 100)};
        if (cluster_registry_push(p->r, p->id, seq, make_snapshot(&g, 1, NULL, 0),
                                  (double)seq, &e) < 0)
            p->failures++;
    }
    return NULL;
}

static void test_concurrent_pushes_of_many_nodes_lose_and_reorder_nothing(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct pusher p[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (struct pusher){.r = r};
        snprintf(p[i].id, sizeof p[i].id, "node-%d", i);
        register_node(r, p[i].id, 1, 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, push_many, &p[i]), 0);
    struct error e = {0};
    for (int k = 0; k < 50; k++) {          /* readers alongside */
        struct cluster_view v;
        assert_int_equal(cluster_registry_view(r, 1, &v, &e), 0);
        cluster_view_clear(&v);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct cluster_view v;
    assert_int_equal(cluster_registry_view(r, 500, &v, &e), 0);
    assert_int_equal(v.count, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p[i].failures, 0);
        assert_string_equal(v.nodes[i].info->id, p[i].id);   /* ordered by id */
        assert_int_equal(v.nodes[i].pushes, 500);
        assert_int_equal(v.nodes[i].lost, 0);
        assert_int_equal(v.nodes[i].sample->seq, 500);
    }
    cluster_view_clear(&v);
    cluster_registry_free(r);
}

/* ------------------------------------------------------------ summaries */

static void test_a_summary_groups_each_gpus_processes_by_user(void **state)
{
    (void)state;
    struct gpu_spec g[2] = {{0}, {-1}};
    struct proc_spec p[] = {{0, 101, "alice", 20, 7200}, {0, 102, "bob", 2, 60},
                            {0, 103, "alice", 0.5, 600}, {1, 104, "bob", 4, 30}};
    struct snapshot *s = make_snapshot(g, 2, p, 4);
    s->gprocs[3].sm_pct = (struct opt_f64){12.5, true};
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    struct cluster_summary sum;
    struct error e = {0};
    assert_int_equal(cluster_summary_build(&sum, s, NULL, 50, &t, &e), 0);
    assert_int_equal(sum.gpu_count, 2);
    assert_int_equal(sum.user_count, 2);
    const struct cluster_gpu_summary *g0 = &sum.gpus[0];
    assert_int_equal(g0->holding_count, 2);
    const struct cluster_holding *alice = &sum.holdings[g0->holding_start];
    assert_string_equal(sum.users[alice->user], "alice");
    assert_int_equal(alice->mem_bytes, (uint64_t)(20.5 * (double)GIB));
    assert_true(alice->held_s == 7200);
    assert_int_equal(alice->pid_count, 2);
    assert_int_equal(sum.pids[alice->pid_start], 101);
    assert_int_equal(sum.pids[alice->pid_start + 1], 103);
    assert_int_equal(g0->held_bytes, (uint64_t)(22.5 * (double)GIB));
    assert_true(g0->idle_allocated_now);
    assert_true(g0->idle_since == 50);
    /* No device figure: the processes' SM shares stand in. */
    assert_true(sum.gpus[1].util_pct.known && sum.gpus[1].util_pct.v == 12.5);
    assert_false(sum.gpus[1].idle_allocated_now);
    cluster_summary_clear(&sum);
    snapshot_free(s);
}

static void test_idle_time_carries_over_while_idle_and_restarts_after_work(void **state)
{
    (void)state;
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    struct error e = {0};
    struct proc_spec p = {0, 7, "carol", 8, 100};
    struct gpu_spec idle = {1}, busy = {60};
    struct snapshot *s1 = make_snapshot(&idle, 1, &p, 1), *s2 = make_snapshot(&idle, 1, &p, 1);
    struct snapshot *s3 = make_snapshot(&busy, 1, &p, 1), *s4 = make_snapshot(&idle, 1, &p, 1);
    struct cluster_summary a, b, c, d;
    assert_int_equal(cluster_summary_build(&a, s1, NULL, 10, &t, &e), 0);
    assert_int_equal(cluster_summary_build(&b, s2, &a, 20, &t, &e), 0);
    assert_int_equal(cluster_summary_build(&c, s3, &b, 30, &t, &e), 0);
    assert_int_equal(cluster_summary_build(&d, s4, &c, 40, &t, &e), 0);
    assert_true(b.gpus[0].idle_since == 10);
    assert_true(c.gpus[0].idle_since == 0);
    assert_true(d.gpus[0].idle_since == 40);
    cluster_summary_clear(&a);
    cluster_summary_clear(&b);
    cluster_summary_clear(&c);
    cluster_summary_clear(&d);
    snapshot_free(s1);
    snapshot_free(s2);
    snapshot_free(s3);
    snapshot_free(s4);
}

static void test_memory_below_the_threshold_or_unknown_utilisation_is_never_idle(void **state)
{
    (void)state;
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    assert_false(cluster_gpu_idle_allocated(GIB - 1, (struct opt_f64){0, true}, &t));
    assert_true(cluster_gpu_idle_allocated(GIB, (struct opt_f64){5, true}, &t));
    assert_false(cluster_gpu_idle_allocated(GIB, (struct opt_f64){5.01, true}, &t));
    assert_false(cluster_gpu_idle_allocated(4 * GIB, (struct opt_f64){0, false}, &t));
}

/* ------------------------------------------------------------ contention */

/* The worked example of docs/json/contention.md. */
static struct cluster_registry *worked_example(void)
{
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    struct cluster_node_info a = info_of("n1", "host-a", 10), b = info_of("n2", "host-b", 10),
                             c = info_of("n3", "host-c", 10);
    assert_int_equal(cluster_registry_register(r, &a, 1000, NULL, &e), 0);
    assert_int_equal(cluster_registry_register(r, &b, 1000, NULL, &e), 0);
    assert_int_equal(cluster_registry_register(r, &c, 1000, NULL, &e), 0);
    struct gpu_spec g1[2] = {{0}, {90}}, g2[2] = {{7}, {0}}, g3[1] = {{0}};
    struct proc_spec p1[] = {{0, 101, "alice", 20, 7200}, {0, 103, "alice", 0.5, 600},
                             {1, 102, "bob", 24, 1800}};
    struct proc_spec p2[] = {{0, 201, "alice", 10, 5400}};
    struct proc_spec p3[] = {{0, 301, "carol", 70, 99999}};
    for (uint64_t seq = 1; seq <= 2; seq++) {
        double at = seq == 1 ? 1000 : 3000;
        assert_int_equal(cluster_registry_push(r, "n1", seq, make_snapshot(g1, 2, p1, 3), at, &e),
                         0);
        assert_int_equal(cluster_registry_push(r, "n2", seq, make_snapshot(g2, 2, p2, 1), at, &e),
                         0);
    }
    assert_int_equal(cluster_registry_push(r, "n3", 1, make_snapshot(g3, 1, p3, 1), 1000, &e), 0);
    return r;
}

static json_t *contention_doc(struct cluster_registry *r, const struct cluster_thresholds *t,
                              double now)
{
    struct cluster_view v;
    struct cluster_contention *c;
    struct error e = {0};
    assert_int_equal(cluster_registry_view(r, now, &v, &e), 0);
    assert_int_equal(cluster_contention_compute(&v, t, now, &c, &e), 0);
    json_t *doc = doc_contention_build(c, &e);
    assert_non_null(doc);
    cluster_contention_free(c);
    cluster_view_clear(&v);
    return doc;
}

#define GET(o, k) json_object_get((o), (k))
#define INT(o, k) json_integer_value(GET((o), (k)))
#define REAL(o, k) json_number_value(GET((o), (k)))
#define STR(o, k) json_string_value(GET((o), (k)))

static void test_the_worked_example_gives_the_documented_totals(void **state)
{
    (void)state;
    struct cluster_registry *r = worked_example();
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    json_t *doc = contention_doc(r, &t, 3000);
    json_t *tot = GET(doc, "totals");
    assert_int_equal(INT(tot, "nodes"), 3);
    assert_int_equal(INT(tot, "nodes_counted"), 2);
    assert_int_equal(INT(tot, "nodes_skipped"), 1);      /* n3 is offline */
    assert_int_equal(INT(tot, "gpus"), 4);
    assert_int_equal(INT(tot, "gpus_in_use"), 3);
    assert_int_equal(INT(tot, "memory_total_bytes"), 343597383680);
    assert_int_equal(INT(tot, "memory_held_bytes"), 58518929408);
    assert_true(REAL(tot, "mean_utilization_pct") == 24.25);
    assert_string_equal(STR(doc, "generated_at"), "1970-01-01T00:50:00Z");
    json_decref(doc);
    cluster_registry_free(r);
}

static void test_the_worked_example_finds_one_idle_and_one_blocked_gpu(void **state)
{
    (void)state;
    struct cluster_registry *r = worked_example();
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    json_t *doc = contention_doc(r, &t, 3000);

    json_t *idle = GET(doc, "idle_allocated_gpus");
    assert_int_equal(json_array_size(idle), 1);
    json_t *i0 = json_array_get(idle, 0);
    assert_string_equal(STR(i0, "node"), "n1");
    assert_int_equal(INT(i0, "gpu"), 0);
    assert_true(REAL(i0, "idle_for_s") == 2000.0);
    assert_int_equal(INT(i0, "memory_held_bytes"), 22011707392);
    assert_string_equal(json_string_value(json_array_get(GET(i0, "users"), 0)), "alice");
    assert_int_equal(json_array_size(GET(i0, "pids")), 2);
    assert_int_equal(json_integer_value(json_array_get(GET(i0, "pids"), 1)), 103);

    json_t *blocked = GET(doc, "blocked_gpus");
    assert_int_equal(json_array_size(blocked), 1);
    json_t *b0 = json_array_get(blocked, 0);
    assert_string_equal(STR(b0, "node"), "n2");
    assert_int_equal(INT(b0, "gpu"), 0);
    assert_string_equal(STR(b0, "user"), "alice");
    assert_true(REAL(b0, "held_for_s") == 5400.0);
    assert_true(REAL(b0, "utilization_pct") == 7.0);

    json_t *recs = GET(doc, "recommendations");
    assert_int_equal(json_array_size(recs), 2);
    json_t *r0 = json_array_get(recs, 0), *r1 = json_array_get(recs, 1);
    assert_string_equal(STR(r0, "kind"), "release_idle_gpu");
    assert_string_equal(STR(r0, "command"), "gpuctl kill --pid 101 103");
    assert_string_equal(json_string_value(json_array_get(GET(r0, "run_on"), 0)), "host-a");
    assert_string_equal(STR(GET(r0, "evidence"), "finding"), "idle_allocated_gpus[0]");
    assert_true(REAL(GET(r0, "evidence"), "idle_for_s") == 2000.0);
    assert_string_equal(STR(r1, "kind"), "release_blocked_gpu");
    assert_string_equal(STR(r1, "command"), "gpuctl kill --pid 201");
    assert_string_equal(STR(r1, "user"), "alice");
    assert_string_equal(json_string_value(json_array_get(GET(r1, "run_on"), 0)), "host-b");
    json_decref(doc);
    cluster_registry_free(r);
}

static void test_the_worked_example_ranks_users_and_measures_fairness(void **state)
{
    (void)state;
    struct cluster_registry *r = worked_example();
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    json_t *doc = contention_doc(r, &t, 3000);
    json_t *users = GET(doc, "users");
    assert_int_equal(json_array_size(users), 2);          /* carol's node is offline */
    json_t *alice = json_array_get(users, 0), *bob = json_array_get(users, 1);
    assert_string_equal(STR(alice, "user"), "alice");
    assert_int_equal(INT(alice, "gpu_memory_bytes"), 32749125632);
    assert_int_equal(INT(alice, "gpus"), 2);
    assert_true(REAL(alice, "gpu_hours") == 3.5);
    assert_int_equal(INT(alice, "processes"), 3);
    assert_int_equal(json_array_size(GET(alice, "nodes")), 2);
    assert_true(REAL(alice, "fair_share_ratio") == 1.0);
    assert_false(json_is_true(GET(alice, "over_share")));
    assert_string_equal(STR(bob, "user"), "bob");
    assert_int_equal(INT(bob, "gpu_memory_bytes"), 25769803776);
    assert_true(REAL(bob, "gpu_hours") == 0.5);
    assert_true(REAL(bob, "fair_share_ratio") == 0.5);

    json_t *fair = GET(doc, "fairness");
    assert_true(REAL(fair, "fair_share_gpus") == 2.0);
    assert_true(REAL(fair, "jain_index") == 0.9);
    assert_int_equal(INT(fair, "users_holding"), 2);
    json_t *top = GET(doc, "top_users");
    assert_string_equal(STR(json_array_get(GET(top, "by_gpu_hours"), 0), "user"), "alice");
    assert_string_equal(STR(json_array_get(GET(top, "by_gpus"), 1), "user"), "bob");
    assert_int_equal(INT(json_array_get(GET(top, "by_gpus"), 1), "gpus"), 1);
    json_decref(doc);
    cluster_registry_free(r);
}

static void test_a_user_above_the_fair_share_factor_gets_a_review(void **state)
{
    (void)state;
    struct cluster_registry *r = worked_example();
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    t.fair_share_factor = 0.9;
    t.top_users = 1;
    json_t *doc = contention_doc(r, &t, 3000);
    json_t *recs = GET(doc, "recommendations");
    assert_int_equal(json_array_size(recs), 3);
    json_t *r2 = json_array_get(recs, 2);
    assert_string_equal(STR(r2, "kind"), "review_user");
    assert_string_equal(STR(r2, "command"), "gpuctl list --details --user alice");
    assert_int_equal(json_array_size(GET(r2, "run_on")), 2);
    assert_string_equal(STR(GET(r2, "evidence"), "finding"), "users[0]");
    assert_int_equal(json_array_size(GET(GET(doc, "top_users"), "by_gpu_memory")), 1);
    assert_string_equal(json_string_value(json_array_get(GET(GET(doc, "fairness"),
                                                             "over_share"), 0)), "alice");
    json_decref(doc);
    cluster_registry_free(r);
}

static void test_a_user_name_that_is_not_a_plain_word_is_quoted_in_the_command(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct error e = {0};
    register_node(r, "n1", 1, 0);
    struct gpu_spec g[2] = {{50}, {50}};
    struct proc_spec p[] = {{0, 5, "o'neil; rm", 1, 1}, {1, 6, "o'neil; rm", 1, 1}};
    assert_int_equal(cluster_registry_push(r, "n1", 1, make_snapshot(g, 2, p, 2), 0, &e), 0);
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    t.fair_share_factor = 0.5;
    json_t *doc = contention_doc(r, &t, 0);
    json_t *rec = json_array_get(GET(doc, "recommendations"), 0);
    assert_string_equal(STR(rec, "command"), "gpuctl list --details --user 'o'\\''neil; rm'");
    json_decref(doc);
    cluster_registry_free(r);
}

static void test_an_empty_cluster_has_an_empty_analysis(void **state)
{
    (void)state;
    struct cluster_registry *r = new_registry();
    struct cluster_thresholds t;
    cluster_thresholds_defaults(&t);
    json_t *doc = contention_doc(r, &t, 0);
    assert_int_equal(INT(GET(doc, "totals"), "gpus"), 0);
    assert_true(json_is_null(GET(GET(doc, "totals"), "mean_utilization_pct")));
    assert_true(json_is_null(GET(GET(doc, "fairness"), "jain_index")));
    assert_int_equal(json_array_size(GET(doc, "recommendations")), 0);
    json_decref(doc);
    cluster_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_registered_node_takes_pushes_in_sequence),
        cmocka_unit_test(test_a_push_from_an_unregistered_node_is_not_found),
        cmocka_unit_test(test_a_repeated_or_older_sequence_number_is_refused_and_keeps_the_newer),
        cmocka_unit_test(test_a_gap_in_the_sequence_counts_the_missing_pushes_as_lost),
        cmocka_unit_test(test_registering_again_starts_a_new_sequence_and_keeps_the_sample),
        cmocka_unit_test(test_a_node_goes_stale_after_three_missed_intervals_and_offline_after_ten),
        cmocka_unit_test(test_an_offline_node_is_kept_until_the_retention_time_passes),
        cmocka_unit_test(test_removing_a_node_leaves_an_event_and_unknown_ids_are_not_found),
        cmocka_unit_test(test_a_view_keeps_its_samples_after_the_node_is_removed),
        cmocka_unit_test(test_bad_ids_intervals_and_a_full_registry_are_refused),
        cmocka_unit_test(test_a_snapshot_with_two_gpus_of_one_index_is_refused_with_the_reason),
        cmocka_unit_test(test_concurrent_pushes_of_many_nodes_lose_and_reorder_nothing),
        cmocka_unit_test(test_a_summary_groups_each_gpus_processes_by_user),
        cmocka_unit_test(test_idle_time_carries_over_while_idle_and_restarts_after_work),
        cmocka_unit_test(test_memory_below_the_threshold_or_unknown_utilisation_is_never_idle),
        cmocka_unit_test(test_the_worked_example_gives_the_documented_totals),
        cmocka_unit_test(test_the_worked_example_finds_one_idle_and_one_blocked_gpu),
        cmocka_unit_test(test_the_worked_example_ranks_users_and_measures_fairness),
        cmocka_unit_test(test_a_user_above_the_fair_share_factor_gets_a_review),
        cmocka_unit_test(test_a_user_name_that_is_not_a_plain_word_is_quoted_in_the_command),
        cmocka_unit_test(test_an_empty_cluster_has_an_empty_analysis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
