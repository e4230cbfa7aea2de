/* Unit tests: the kill document (doc/kill_doc.c) - top-level options,
 * one object per process in the order given, the result at each stage,
 * unknowns as null, and a command line that is not UTF-8 keeping its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "doc/kill_doc.h"

static struct kill_entry entries[2];
static struct kill_set set;
static int target_gpus[] = {0, 3};
static const size_t children_first[] = {1, 0};

/* A target (pid 4242, on GPUs 0 and 3, terminated after 0.25 s) and its
 * child (pid 4243, no GPU, killed), as kill_set_run leaves them. */
static int setup(void **state)
{
    (void)state;
    memset(entries, 0, sizeof entries);
    struct kill_entry *t = &entries[0], *c = &entries[1];
    t->h.id.pid = 4242;
    t->h.id.start_ticks = 339811;
    strcpy(t->h.stat.comm, "python3");
    strcpy(t->host.user, "alice");
    t->host.uid = (struct opt_i64){1000, true};
    t->host.cmdline = strdup("python3 train.py");
    t->host.start_time = (struct opt_f64){1795152612.0, true};
    t->role = KILL_ROLE_TARGET;
    t->target = 4242;
    t->gpus = target_gpus;
    t->gpu_count = 2;
    t->outcome = KILL_OUTCOME_TERMINATED;
    t->signals[0] = SIGTERM;
    t->signal_count = 1;
    t->ended_after_s = 0.25;

    c->h.id.pid = 4243;
    c->h.id.start_ticks = 339900;
    strcpy(c->h.stat.comm, "worker");
    c->host.cmdline = strdup("worker \xff\xfe --rank 1");   /* not UTF-8 */
    c->role = KILL_ROLE_DESCENDANT;
    c->target = 4242;
    c->outcome = KILL_OUTCOME_KILLED;
    c->signals[0] = SIGTERM;
    c->signals[1] = SIGKILL;
    c->signal_count = 2;
    c->ended_after_s = 5.5;

    set = (struct kill_set){.items = entries, .count = 2, .cap = 2};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(entries[0].host.cmdline);
    free(entries[1].host.cmdline);
    return 0;
}

static struct doc_kill_request request(enum doc_kill_stage stage)
{
    return (struct doc_kill_request){.set = &set, .order = children_first, .stage = stage,
                                     .signal = SIGTERM, .timeout_secs = 5, .force = true,
                                     .tree = true, .group = false};
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void test_top_level_names_the_options_in_documented_order(void **state)
{
    (void)state;
    struct doc_kill_request r = request(DOC_KILL_DONE);
    struct error e = {0};
    json_t *doc = doc_kill_build(&r, &e);
    assert_non_null(doc);
    const char *keys[] = {"dry_run", "batch_needed", "signal", "timeout_secs", "force", "tree",
                          "group", "processes"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        assert_true(i < sizeof keys / sizeof keys[0]);
        assert_string_equal(key, keys[i++]);
    }
    assert_int_equal(i, sizeof keys / sizeof keys[0]);
    assert_true(json_is_false(json_object_get(doc, "dry_run")));
    assert_string_equal(json_string_value(json_object_get(doc, "signal")), "SIGTERM");
    assert_int_equal(json_integer_value(json_object_get(doc, "timeout_secs")), 5);
    assert_true(json_is_true(json_object_get(doc, "tree")));
    json_decref(doc);
}

static void test_processes_follow_the_given_order_children_first(void **state)
{
    (void)state;
    struct doc_kill_request r = request(DOC_KILL_DONE);
    struct error e = {0};
    json_t *doc = doc_kill_build(&r, &e);
    json_t *procs = json_object_get(doc, "processes");
    assert_int_equal(json_array_size(procs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 0), "pid")), 4243);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 1), "pid")), 4242);
    json_decref(doc);
}

static void test_a_signalled_target_is_described_whole(void **state)
{
    (void)state;
    struct doc_kill_request r = request(DOC_KILL_DONE);
    struct error e = {0};
    json_t *doc = doc_kill_build(&r, &e);
    char *text = dump(json_array_get(json_object_get(doc, "processes"), 1));
    assert_string_equal(text,
        "{\"pid\":4242,\"start_time\":\"2026-11-20T05:30:12Z\",\"start_ticks\":339811,"
        "\"name\":\"python3\",\"user\":\"alice\",\"uid\":1000,\"cmdline\":\"python3 train.py\","
        "\"gpus\":[0,3],\"role\":\"target\",\"target_pid\":4242,\"result\":\"terminated\","
        "\"signals\":[\"SIGTERM\"],\"ended_after_s\":0.25,\"reason\":null}");
    free(text);
    json_decref(doc);
}

static void test_unknowns_are_null_and_a_killed_child_lists_both_signals(void **state)
{
    (void)state;
    struct doc_kill_request r = request(DOC_KILL_DONE);
    struct error e = {0};
    json_t *doc = doc_kill_build(&r, &e);
    json_t *child = json_array_get(json_object_get(doc, "processes"), 0);
    assert_true(json_is_null(json_object_get(child, "start_time")));
    assert_true(json_is_null(json_object_get(child, "user")));
    assert_true(json_is_null(json_object_get(child, "uid")));
    assert_int_equal(json_array_size(json_object_get(child, "gpus")), 0);
    assert_string_equal(json_string_value(json_object_get(child, "result")), "killed");
    char *sigs = dump(json_object_get(child, "signals"));
    assert_string_equal(sigs, "[\"SIGTERM\",\"SIGKILL\"]");
    free(sigs);
    json_decref(doc);
}

static void test_a_command_line_that_is_not_utf8_keeps_its_key(void **state)
{
    (void)state;
    struct doc_kill_request r = request(DOC_KILL_DONE);
    struct error e = {0};
    json_t *doc = doc_kill_build(&r, &e);
    json_t *child = json_array_get(json_object_get(doc, "processes"), 0);
    const char *cmdline = json_string_value(json_object_get(child, "cmdline"));
    assert_non_null(cmdline);
    assert_string_equal(cmdline, "worker \xef\xbf\xbd\xef\xbf\xbd --rank 1");
    json_decref(doc);
}

static void test_a_dry_run_would_signal_and_a_listing_only_matched(void **state)
{
    (void)state;
    struct error e = {0};
    struct doc_kill_request dry = request(DOC_KILL_DRY_RUN);
    json_t *doc = doc_kill_build(&dry, &e);
    assert_true(json_is_true(json_object_get(doc, "dry_run")));
    assert_true(json_is_false(json_object_get(doc, "batch_needed")));
    json_t *p = json_array_get(json_object_get(doc, "processes"), 1);
    assert_string_equal(json_string_value(json_object_get(p, "result")), "would_signal");
    json_decref(doc);

    struct doc_kill_request matched = request(DOC_KILL_MATCHED);
    doc = doc_kill_build(&matched, &e);
    assert_true(json_is_true(json_object_get(doc, "batch_needed")));
    p = json_array_get(json_object_get(doc, "processes"), 1);
    assert_string_equal(json_string_value(json_object_get(p, "result")), "matched");
    json_decref(doc);
}

static void test_an_empty_set_gives_an_empty_array(void **state)
{
    (void)state;
    struct kill_set empty = {0};
    struct doc_kill_request r = request(DOC_KILL_DONE);
    r.set = &empty;
    struct error e = {0};
    json_t *procs = doc_kill_processes(&r, &e);
    assert_non_null(procs);
    assert_true(json_is_array(procs));
    assert_int_equal(json_array_size(procs), 0);
    json_decref(procs);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_top_level_names_the_options_in_documented_order),
        T(test_processes_follow_the_given_order_children_first),
        T(test_a_signalled_target_is_described_whole),
        T(test_unknowns_are_null_and_a_killed_child_lists_both_signals),
        T(test_a_command_line_that_is_not_utf8_keeps_its_key),
        T(test_a_dry_run_would_signal_and_a_listing_only_matched),
        T(test_an_empty_set_gives_an_empty_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
