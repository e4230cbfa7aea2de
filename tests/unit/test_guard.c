/* test_guard.c - guard.toml reading (every section, the refusals with
 * their positions), writing and JSON round trips, and the evaluation of
 * every policy type on fixture snapshots: who gets blamed for a total,
 * priorities, GPU access, reserved memory, maintenance windows, time
 * policies and the global defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/guard_daemon.h"
#include "policy/guard_eval.h"
#include "policy/guard_notify.h"
#include "policy/guard_webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define GIB (1024ull * 1024 * 1024)

struct fixture {
    struct snapshot snap;
    struct gpu_process gp[16];
    struct host_process hp[16];
    struct device dev[2];
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->snap.devices = f->dev;
    f->snap.device_count = 2;
    for (int i = 0; i < 2; i++) {
        f->dev[i].index = i;
        OPT_SET(f->dev[i].mem_total_bytes, 80 * GIB);
    }
    f->snap.gprocs = f->gp;
    f->snap.hprocs = f->hp;
}

/* pids must be added in ascending order (snapshot_host_process searches). */
static void add(struct fixture *f, pid_t pid, const char *user, int gpu, double mem_gib,
                double sm, uint64_t start)
{
    size_t g = f->snap.gproc_count++;
    f->gp[g] = (struct gpu_process){.pid = pid, .device_index = gpu};
    OPT_SET(f->gp[g].gpu_mem_bytes, (uint64_t)(mem_gib * (double)GIB));
    if (sm >= 0)
        OPT_SET(f->gp[g].sm_pct, sm);
    if (f->snap.hproc_count && f->hp[f->snap.hproc_count - 1].pid == pid)
        return;
    size_t h = f->snap.hproc_count++;
    f->hp[h] = (struct host_process){.pid = pid, .exists = true, .start_ticks = start};
    snprintf(f->hp[h].user, sizeof f->hp[h].user, "%s", user);
    snprintf(f->hp[h].name, sizeof f->hp[h].name, "job%d", (int)pid);
    OPT_SET(f->hp[h].elapsed_s, 7200.0);
}

static void load(struct guard_config *c, const char *text)
{
    struct error e = {0};
    if (guard_config_parse(c, text, strlen(text), "g.toml", &e) < 0)
        fail_msg("%s", e.msg);
}

/* The violations as "policy rule pid" lines, in evaluation order. */
static void eval(const struct guard_config *c, const struct fixture *f, int wday, int minute,
                 char *out, size_t size)
{
    struct guard_clock clock = {.wday = wday, .minute = minute};
    struct guard_violations vs;
    struct error e = {0};
    assert_int_equal(guard_evaluate(c, &f->snap, &clock, &vs, &e), 0);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < vs.count && at < size; i++)
        at += (size_t)snprintf(out + at, size - at, "%s %s %d\n", vs.items[i].policy,
                               vs.items[i].rule, (int)vs.items[i].pid);
    guard_violations_free(&vs);
}

static void test_user_limits_blame_newest_first(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 3, 40, 10);
    add(&f, 101, "ann", 1, 3, 40, 30);     /* newest */
    add(&f, 102, "ann", 0, 3, 40, 20);
    add(&f, 103, "bob", 0, 9, 10, 5);
    struct guard_config c;
    load(&c, "[user_policies.ann]\nmemory_limit_gb = 5\nutilization_limit_pct = 90\n"
             "max_concurrent_processes = 2\nduration_limit_hours = 3\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    /* 9 GB over 5: the two newest go; 120 % over 90: the newest; 3 over 2: the newest */
    assert_string_equal(out, "user:ann memory_limit 101\nuser:ann memory_limit 102\n"
                             "user:ann utilization_limit 101\nuser:ann process_limit 101\n");
    guard_config_free(&c);
    load(&c, "[user_policies.ann]\nduration_limit_hours = 1.5\n");
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "user:ann duration_limit 100\nuser:ann duration_limit 101\n"
                             "user:ann duration_limit 102\n");
    guard_config_free(&c);
}

static void test_defaults_fill_unset_limits(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 3, -1, 10);
    add(&f, 101, "bob", 0, 3, -1, 10);
    struct guard_config c;
    load(&c, "[global]\ndefault_memory_limit_gb = 2\ndefault_max_concurrent_processes = 0\n"
             "[user_policies.ann]\nmemory_limit_gb = 4\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "default process_limit 100\n"
                             "default memory_limit 101\ndefault process_limit 101\n");
    guard_config_free(&c);
}

static void test_gpu_sets(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 1, -1, 10);
    add(&f, 100, "ann", 1, 1, -1, 10);
    add(&f, 101, "carl", 1, 1, -1, 10);
    struct guard_config c;
    load(&c, "[user_policies.ann]\nallowed_gpus = [0]\n"
             "[group_policies.g]\nmembers = [\"carl\"]\nblocked_gpus = [1]\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "user:ann gpu_not_allowed 100\ngroup:g gpu_blocked 101\n");
    guard_config_free(&c);
}

static void test_group_totals(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 2, 30, 10);
    add(&f, 101, "bob", 1, 2, 30, 20);
    add(&f, 102, "carl", 1, 2, 30, 30);
    struct guard_config c;
    load(&c, "[group_policies.ml]\nmembers = [\"ann\", \"bob\"]\ntotal_memory_limit_gb = 3\n"
             "total_utilization_limit_pct = 50\nmax_concurrent_processes = 1\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "group:ml memory_limit 101\ngroup:ml utilization_limit 101\n"
                             "group:ml process_limit 101\n");
    guard_config_free(&c);
}

static void test_gpu_policies_and_priority(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 30, -1, 10);   /* old, low priority */
    add(&f, 101, "vip", 0, 30, -1, 50);   /* new, high priority */
    add(&f, 102, "eve", 1, 1, -1, 10);
    struct guard_config c;
    load(&c, "[user_policies.vip]\npriority = 5\n"
             "[gpu_policies.\"0\"]\nmax_memory_gb = 40\nreserved_memory_gb = 30\n"
             "[gpu_policies.\"1\"]\nallowed_users = [\"ann\"]\nblocked_users = [\"eve\"]\n"
             "maintenance_window = {start = \"02:00\", end = \"04:00\", days_of_week = "
             "[\"sun\"]}\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    /* 60 GB on GPU 0: ann (priority 0) is blamed for both the limit (40)
     * and the reserve (80 - 30 = 50 usable) */
    assert_string_equal(out, "gpu:0 memory_limit 100\ngpu:0 reserved_memory 100\n"
                             "gpu:1 user_blocked 102\n");
    eval(&c, &f, 0, 150, out, sizeof out);    /* Sunday 02:30 */
    assert_non_null(strstr(out, "gpu:1 maintenance_window 102\n"));
    eval(&c, &f, 0, 240, out, sizeof out);    /* 04:00: the window has ended */
    assert_null(strstr(out, "maintenance_window"));
    guard_config_free(&c);
}

static void test_the_fewest_processes_are_blamed_for_a_total(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 1, 99, 10);    /* the oldest, and the one that matters */
    add(&f, 101, "ann", 0, 1, 1, 20);
    add(&f, 102, "ann", 0, 1, 1, 30);
    add(&f, 103, "bob", 0, 1, 1, 40);
    add(&f, 104, "bob", 0, 1, 1, 50);
    struct guard_config c;
    load(&c, "[gpu_policies.\"0\"]\nmax_utilization_pct = 90\n");
    struct guard_clock clock = {.wday = 1, .minute = 600};
    struct guard_violations vs;
    struct error e = {0};
    assert_int_equal(guard_evaluate(&c, &f.snap, &clock, &vs, &e), 0);
    assert_int_equal(vs.count, 1);
    assert_int_equal(vs.items[0].pid, 100);
    /* the samples add up to 103 %, but a GPU is at most 100 % busy */
    assert_string_equal(vs.items[0].detail, "GPU 0 uses 100% SM, limit 90%");
    guard_violations_free(&vs);
    guard_config_free(&c);
    /* memory: 5 GB over a 3.5 GB limit; the oldest (2 GB) alone is enough */
    fixture_init(&f);
    add(&f, 100, "ann", 0, 2, -1, 10);
    add(&f, 101, "ann", 0, 1, -1, 20);
    add(&f, 102, "ann", 0, 1, -1, 30);
    add(&f, 103, "ann", 0, 0.5, -1, 40);
    add(&f, 104, "ann", 0, 0.5, -1, 50);
    char out[1024];
    load(&c, "[user_policies.ann]\nmemory_limit_gb = 3.5\n");
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "user:ann memory_limit 100\n");
    guard_config_free(&c);
    /* among equally few, the newest that is enough: 0.8 GB over, so not a 0.5 GB one */
    load(&c, "[user_policies.ann]\nmemory_limit_gb = 4.2\n");
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "user:ann memory_limit 102\n");
    guard_config_free(&c);
    /* a sum at exactly 100 % is not over a 100 % limit */
    fixture_init(&f);
    add(&f, 100, "ann", 0, 1, 60, 10);
    add(&f, 101, "ann", 0, 1, 45, 20);
    load(&c, "[gpu_policies.\"0\"]\nmax_utilization_pct = 100\n");
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "");
    guard_config_free(&c);
}

static void test_gpu_utilization_from_the_device(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 1, -1, 10);
    add(&f, 101, "bob", 0, 1, -1, 20);
    OPT_SET(f.dev[0].util_gpu_pct, 97.0);
    struct guard_config c;
    load(&c, "[gpu_policies.\"0\"]\nmax_utilization_pct = 80\n");
    char out[1024];
    eval(&c, &f, 1, 600, out, sizeof out);
    assert_string_equal(out, "gpu:0 utilization_limit 101\n");
    guard_config_free(&c);
}

static void test_time_policies(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    add(&f, 100, "ann", 0, 3, -1, 10);
    add(&f, 101, "bob", 0, 3, -1, 10);
    struct guard_config c;
    load(&c, "[[time_policies]]\nname = \"day\"\nstart_time = \"09:00\"\nend_time = \"17:00\"\n"
             "days_of_week = [\"mon\", \"Friday\"]\nmemory_limit_gb = 1\nusers = [\"ann\"]\n"
             "[[time_policies]]\nname = \"all\"\nstart_time = \"00:00\"\nend_time = \"24:00\"\n"
             "max_concurrent_processes = 0\n");
    char out[1024];
    eval(&c, &f, 1, 9 * 60, out, sizeof out);
    assert_string_equal(out, "time:day memory_limit 100\ntime:all process_limit 100\n"
                             "time:all process_limit 101\n");
    eval(&c, &f, 2, 12 * 60, out, sizeof out);   /* Tuesday: only "all" */
    assert_string_equal(out, "time:all process_limit 100\ntime:all process_limit 101\n");
    eval(&c, &f, 5, 17 * 60, out, sizeof out);   /* Friday 17:00: "day" has ended */
    assert_null(strstr(out, "time:day"));
    guard_config_free(&c);
}

static void expect_error(const char *text, const char *msg)
{
    struct guard_config c;
    struct error e = {0};
    if (guard_config_parse(&c, text, strlen(text), "g.toml", &e) == 0)
        fail_msg("accepted: %s", text);
    if (!strstr(e.msg, msg))
        fail_msg("'%s' not in '%s'", msg, e.msg);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_error("[global]\ncheck_interval_secs = 0\n", "g.toml:2:23: global.check_interval");
    expect_error("[global]\nwebhook_url = \"ftp://x\"\n", "g.toml:2:15: global.webhook_url");
    expect_error("[global]\nnope = 1\n", "g.toml:2:1: unknown key 'nope' in [global]");
    expect_error("[user_policies.a]\nmemory_limit_gb = -0.5\n", "g.toml:2:19: user_policies.a."
                 "memory_limit_gb must not be negative");
    expect_error("[user_policies.a]\nallowed_gpus = [0, 64]\n", "g.toml:2:20: ");
    expect_error("[user_policies.a]\npriority = 1.5\n", "priority must be a whole number");
    expect_error("[group_policies.g]\ntotal_memory_limit_gb = 1\n", "members");
    expect_error("[gpu_policies.x]\n", "g.toml:1:15: gpu_policies: \"x\" is not a GPU index");
    expect_error("[gpu_policies.\"0\"]\nmaintenance_window = {start = \"05:00\", end = "
                 "\"04:00\"}\n", "end 04:00 is before start 05:00");
    expect_error("[gpu_policies.\"0\"]\nmaintenance_window = {start = \"25:00\", end = "
                 "\"04:00\"}\n", "'25:00' is not a time of day");
    expect_error("[[time_policies]]\nstart_time = \"01:00\"\nend_time = \"02:00\"\n",
                 "time_policies[0] needs a name");
    expect_error("[[time_policies]]\nname = \"a\"\nstart_time = \"01:00\"\n",
                 "needs start_time and end_time");
    expect_error("[[time_policies]]\nname = \"a\"\nstart_time = \"01:00\"\nend_time = \"02:00\"\n"
                 "days_of_week = [\"funday\"]\n", "g.toml:5:17: ");
    expect_error("[[time_policies]]\nname = \"a\"\nstart_time = \"01:00\"\nend_time = \"02:00\"\n"
                 "[[time_policies]]\nname = \"a\"\nstart_time = \"01:00\"\nend_time = \"02:00\"\n",
                 "defined twice");
    expect_error("[other]\n", "g.toml:1:2: unknown section");
    expect_error("[global\n", "g.toml:1:");
}

static void test_a_gpu_named_twice_is_refused_at_its_second_key(void **state)
{
    (void)state;
    expect_error("[gpu_policies.\"0\"]\nmax_memory_gb = 1\n[gpu_policies.\"00\"]\n"
                 "max_memory_gb = 2\n", "g.toml:3:15: gpu_policies.\"00\": GPU 0 already has a "
                 "policy (gpu_policies at line 1)");
}

static void test_refusals_say_what_is_wrong_and_where(void **state)
{
    (void)state;
    expect_error("[user_policies.a]\nmemory_limit_gb = nan\n",
                 "g.toml:2:19: user_policies.a.memory_limit_gb must be a finite number, not nan");
    expect_error("[global]\ngrace_period_secs = inf\n", "must be a finite number, not inf");
    expect_error("[[time_policies]]\nname = \"a\"\nstart_time = \"10:00\"\nend_time = \"10:00\"\n",
                 "g.toml:4:12: time_policies[0] \"a\": end_time 10:00 equals start_time 10:00");
    expect_error("[gpu_policies.\"0\"]\nmaintenance_window = {start = \"05:00\", end = "
                 "\"05:00\"}\n", "end 05:00 equals start 05:00");
    expect_error("[global]\nwebhook_url = \"http://h/\\r\\nX-Evil: 1\"\n",
                 "g.toml:2:15: global.webhook_url must not contain spaces or control characters");
    struct guard_config c;
    struct error e = {0};
    load(&c, "[user_policies.a]\nallowed_gpus = [0, 5]\n[group_policies.g]\nmembers = [\"a\"]\n"
             "blocked_gpus = [7]\n");
    assert_int_not_equal(guard_config_check_gpus(&c, 2, "g.toml", &e), 0);
    assert_string_equal(e.msg, "g.toml:2:16: user_policies.a.allowed_gpus names GPU 5, but this "
                               "machine has 2 GPUs");
    c.users[0].allowed_gpus = 1;
    assert_int_not_equal(guard_config_check_gpus(&c, 2, "g.toml", &e), 0);
    assert_non_null(strstr(e.msg, "g.toml:5:16: group_policies.g.blocked_gpus names GPU 7"));
    guard_config_free(&c);
}

/* Every edit a front end makes goes through guard_config_save: what it
 * writes must load again, and a refusal leaves the file as it was. */
static void test_save_refuses_what_its_reader_would_refuse(void **state)
{
    (void)state;
    char dir[] = "/tmp/gpuctl-guard-save-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/guard.toml", dir);
    struct guard_config c, back;
    struct error e = {0};
    guard_config_defaults(&c);
    assert_non_null(guard_config_add_user(&c, "ann"));
    assert_int_equal(guard_config_save(&c, path, &e), 0);
    assert_non_null(guard_config_add_user(&c, ""));
    assert_int_not_equal(guard_config_save(&c, path, &e), 0);
    assert_non_null(strstr(e.msg, "user_policies: a policy name must not be empty"));
    guard_config_remove_user(&c, "");
    assert_non_null(guard_config_add_time(&c, ""));
    assert_int_not_equal(guard_config_save(&c, path, &e), 0);
    assert_non_null(strstr(e.msg, "time_policies: a policy name must not be empty"));
    guard_config_remove_time(&c, "");
    struct guard_group_policy *g = guard_config_add_group(&c, "ml");
    assert_int_equal(policy_strlist_add(&g->members, ""), 0);
    assert_int_not_equal(guard_config_save(&c, path, &e), 0);
    assert_non_null(strstr(e.msg, "group_policies.ml.members: a user name must not be empty"));
    guard_config_remove_group(&c, "ml");
    snprintf(c.webhook_url, sizeof c.webhook_url, "http://h/\nx");
    assert_int_not_equal(guard_config_save(&c, path, &e), 0);
    /* the file still holds the last good save */
    bool found;
    assert_int_equal(guard_config_load(&back, path, false, &found, &e), 0);
    assert_int_equal(back.user_count, 1);
    assert_string_equal(back.users[0].name, "ann");
    assert_string_equal(back.webhook_url, "");
    guard_config_free(&back);
    guard_config_free(&c);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_unknown_gpu(void **state)
{
    (void)state;
    struct guard_config c;
    load(&c, "\n[gpu_policies.\"2\"]\nmax_memory_gb = 1\n");
    struct error e = {0};
    assert_int_equal(guard_config_check_gpus(&c, 3, "g.toml", &e), 0);
    assert_int_not_equal(guard_config_check_gpus(&c, 2, "g.toml", &e), 0);
    assert_non_null(strstr(e.msg, "g.toml:2:15: gpu_policies.\"2\": unknown GPU"));
    guard_config_free(&c);
    load(&c, "[user_policies.a]\nblocked_gpus = [5]\n");
    assert_int_not_equal(guard_config_check_gpus(&c, 2, NULL, &e), 0);
    assert_non_null(strstr(e.msg, "names GPU 5"));
    guard_config_free(&c);
}

static void test_round_trips(void **state)
{
    (void)state;
    static const char text[] =
        "[global]\nenabled = true\ndry_run = false\nenforcement = \"hard\"\n"
        "grace_period_secs = 12.5\ncheck_interval_secs = 5\nwebhook_url = \"http://h/\"\n"
        "default_utilization_limit_pct = 90\n"
        "[user_policies.\"odd name\"]\nmemory_limit_gb = 0.1\npriority = -2\n"
        "allowed_gpus = [0, 3]\n"
        "[group_policies.g]\nmembers = [\"a\", \"b\"]\nmax_concurrent_processes = 7\n"
        "[gpu_policies.\"1\"]\nreserved_memory_gb = 2\nblocked_users = [\"x\"]\n"
        "maintenance_window = {start = \"01:00\", end = \"02:00\", days_of_week = [\"sat\"]}\n"
        "[[time_policies]]\nname = \"n\"\nstart_time = \"20:00\"\nend_time = \"23:30\"\n"
        "users = [\"a\"]\nutilization_limit_pct = 10\n";
    struct guard_config c, back, from_json, copy;
    struct error e = {0};
    load(&c, text);
    char *t1 = guard_config_to_toml(&c);
    load(&back, t1);
    char *t2 = guard_config_to_toml(&back);
    assert_string_equal(t1, t2);
    json_t *doc = guard_config_to_json(&c);
    assert_non_null(doc);
    assert_int_equal(guard_config_from_json(&from_json, doc, "x.json", &e), 0);
    char *t3 = guard_config_to_toml(&from_json);
    assert_string_equal(t1, t3);
    assert_int_equal(guard_config_copy(&copy, &c), 0);
    assert_true(guard_config_remove_time(&copy, "n"));
    assert_true(guard_config_remove_group(&copy, "g"));
    assert_false(guard_config_remove_gpu(&copy, 0));
    assert_int_equal(c.time_count, 1);
    /* a bad value in JSON names the key, not a line of generated text */
    json_object_set_new(json_object_get(doc, "global"), "grace_period_secs", json_integer(-1));
    struct guard_config bad;
    assert_int_not_equal(guard_config_from_json(&bad, doc, "x.json", &e), 0);
    assert_non_null(strstr(e.msg, "x.json: global.grace_period_secs must not be negative"));
    json_decref(doc);
    free(t1);
    free(t2);
    free(t3);
    guard_config_free(&c);
    guard_config_free(&back);
    guard_config_free(&from_json);
    guard_config_free(&copy);
}

static void test_small_parsers(void **state)
{
    (void)state;
    int m, d;
    uint64_t set;
    struct guard_clock clock;
    assert_int_equal(guard_parse_clock("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(guard_parse_clock("24:00", &m), 0);
    assert_int_equal(m, 1440);
    assert_int_not_equal(guard_parse_clock("24:01", &m), 0);
    assert_int_not_equal(guard_parse_clock("9:00", &m), 0);
    assert_int_equal(guard_parse_day("Sat", &d), 0);
    assert_int_equal(d, 6);
    assert_int_not_equal(guard_parse_day("sa", &d), 0);
    assert_int_equal(guard_parse_gpu_list("0,2,63", &set), 0);
    assert_true(set == (1ull | 4ull | (1ull << 63)));
    assert_int_not_equal(guard_parse_gpu_list("0,,1", &set), 0);
    assert_int_not_equal(guard_parse_gpu_list("64", &set), 0);
    assert_int_equal(guard_clock_parse("2026-11-21T03:04", &clock), 0);   /* a Saturday */
    assert_int_equal(clock.wday, 6);
    assert_int_equal(clock.minute, 184);
    assert_int_equal(guard_clock_parse("2026-11-23 23:59:30", &clock), 0);
    assert_int_equal(clock.wday, 1);
    assert_int_not_equal(guard_clock_parse("2026-11-23T23:59x", &clock), 0);
    assert_int_not_equal(guard_clock_parse("noon", &clock), 0);
}

/* A webhook that never answers: the worker holds one post, the queue
 * takes GUARD_WEBHOOK_QUEUE more and refuses the next at once; stopping
 * cancels the one in flight and reports every post as not delivered. */
static void test_webhook_queue_is_bounded_and_stops_without_waiting(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
    struct guard_webhook *w;
    struct error e = {0};
    assert_int_equal(guard_webhook_start(&w, 3600, &e), 0);
    int accepted = 0, rc = 0;
    for (int i = 0; i < 2 * GUARD_WEBHOOK_QUEUE && rc == 0; i++)
        if ((rc = guard_webhook_post(w, url, "{}", i + 1, &e)) == 0)
            accepted++;
    assert_int_equal(rc, -ENOSPC);
    assert_non_null(strstr(e.msg, "not sent, 64 posts are already waiting"));
    /* 64 queued, and one more when the worker had already taken the first */
    assert_true(accepted == GUARD_WEBHOOK_QUEUE || accepted == GUARD_WEBHOOK_QUEUE + 1);
    guard_webhook_stop(w, false);
    struct guard_webhook_result r[2 * GUARD_WEBHOOK_QUEUE];
    size_t n = guard_webhook_collect(w, r, sizeof r / sizeof r[0]);
    assert_int_equal(n, (size_t)accepted);
    for (size_t i = 0; i < n; i++)
        assert_false(r[i].ok);
    assert_int_equal(guard_webhook_post(w, url, "{}", 99, &e), -ENOSPC);
    guard_webhook_free(w);
    close(lfd);
}

static void test_tty_paths(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(guard_tty_path((136u << 8) | 3, buf, sizeof buf), 0);
    assert_string_equal(buf, "/dev/pts/3");
    /* minor 261 on major 137: the high minor bits live above bit 20 */
    assert_int_equal(guard_tty_path((137u << 8) | 5, buf, sizeof buf), 0);
    assert_string_equal(buf, "/dev/pts/261");
    assert_int_equal(guard_tty_path((136u << 8) | (1u << 20) | 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "/dev/pts/258");
    assert_int_equal(guard_tty_path((4u << 8) | 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "/dev/tty1");
    assert_int_not_equal(guard_tty_path(0, buf, sizeof buf), 0);
    assert_int_not_equal(guard_tty_path((4u << 8) | 64, buf, sizeof buf), 0);   /* ttyS0 */
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_limits_blame_newest_first),
        cmocka_unit_test(test_defaults_fill_unset_limits),
        cmocka_unit_test(test_gpu_sets),
        cmocka_unit_test(test_group_totals),
        cmocka_unit_test(test_gpu_policies_and_priority),
        cmocka_unit_test(test_the_fewest_processes_are_blamed_for_a_total),
        cmocka_unit_test(test_gpu_utilization_from_the_device),
        cmocka_unit_test(test_time_policies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_a_gpu_named_twice_is_refused_at_its_second_key),
        cmocka_unit_test(test_refusals_say_what_is_wrong_and_where),
        cmocka_unit_test(test_save_refuses_what_its_reader_would_refuse),
        cmocka_unit_test(test_unknown_gpu),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_small_parsers),
        cmocka_unit_test(test_webhook_queue_is_bounded_and_stops_without_waiting),
        cmocka_unit_test(test_tty_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
