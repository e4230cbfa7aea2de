/* test_kill.c - the kill set on real processes: choosing by pattern from a
 * snapshot, the GPU check with start times, the refusals (pid 1, self,
 * parent, kernel thread), --tree and --group from real process trees, the
 * children-first order, and the run with and without escalation.
 *
 * The test makes itself a child subreaper, so grandchildren orphaned by a
 * test end up as its own children and are reaped here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/filter.h"
#include "ops/kill.h"

/* ---- processes ---- */

static void child_setup_and_report(int fd, bool ignore_term)
{
    if (ignore_term)
        signal(SIGTERM, SIG_IGN);
    pid_t me = getpid();
    if (write(fd, &me, sizeof me) != (ssize_t)sizeof me)
        _exit(2);
}

static pid_t read_pid(int fd)
{
    pid_t pid = 0;
    assert_int_equal(read(fd, &pid, sizeof pid), (ssize_t)sizeof pid);
    return pid;
}

static pid_t spawn_child(bool ignore_term)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_setup_and_report(p[1], ignore_term);
        for (;;)
            pause();
    }
    close(p[1]);
    assert_int_equal(read_pid(p[0]), pid);
    close(p[0]);
    return pid;
}

/* A -> B -> C, each pausing.  With own_group, A leads a new process group
 * (B inherits it) and C leads its own.  Writes the three pids. */
static void spawn_chain(bool own_group, pid_t out[3])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t a = fork();
    assert_true(a >= 0);
    if (a == 0) {
        close(p[0]);
        if (own_group)
            setpgid(0, 0);
        if (fork() == 0) {              /* B */
            if (fork() == 0) {          /* C */
                if (own_group)
                    setpgid(0, 0);
                child_setup_and_report(p[1], false);
                for (;;)
                    pause();
            }
            child_setup_and_report(p[1], false);
            for (;;)
                pause();
        }
        child_setup_and_report(p[1], false);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t got[3];
    for (int i = 0; i < 3; i++)
        got[i] = read_pid(p[0]);
    close(p[0]);
    /* Reports arrive in any order; the chain is known from the parents. */
    out[0] = a;
    for (int i = 0; i < 3; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)got[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof buf, f));
        fclose(f);
        int ppid = atoi(strrchr(buf, ')') + 4);
        if (ppid == a)
            out[1] = got[i];
    }
    for (int i = 0; i < 3; i++)
        if (got[i] != a && got[i] != out[1])
            out[2] = got[i];
}

static void reap_everything(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void end_all(const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (size_t i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    reap_everything();
}

static int setup_set(void **state)
{
    struct kill_set *s = calloc(1, sizeof *s);
    struct error e = {0};
    assert_non_null(s);
    assert_int_equal(kill_set_init(s, &e), 0);
    *state = s;
    return 0;
}

static int teardown_set(void **state)
{
    kill_set_free(*state);
    free(*state);
    reap_everything();
    return 0;
}

static void add_target(struct kill_set *s, pid_t pid)
{
    struct error e = {0};
    assert_int_equal(kill_set_add(s, pid, PROC_IDENT_ANY_START, KILL_ROLE_TARGET, 0, &e), 0);
}

/* ---- names ---- */

static void test_signal_names(void **state)
{
    (void)state;
    int sig = 0;
    assert_int_equal(kill_signal_parse("TERM", &sig), 0);
    assert_int_equal(sig, SIGTERM);
    assert_int_equal(kill_signal_parse("SIGKILL", &sig), 0);
    assert_int_equal(sig, SIGKILL);
    assert_int_equal(kill_signal_parse("sigint", &sig), 0);
    assert_int_equal(sig, SIGINT);
    assert_int_equal(kill_signal_parse("hup", &sig), 0);
    assert_int_equal(sig, SIGHUP);
    assert_int_equal(kill_signal_parse("10", &sig), 0);
    assert_int_equal(sig, 10);
    assert_int_equal(kill_signal_parse("64", &sig), 0);
    assert_int_equal(kill_signal_parse("0", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("65", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("-9", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("9x", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("SIG", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("NOPE", &sig), -EINVAL);
    assert_int_equal(kill_signal_parse("", &sig), -EINVAL);
    char buf[32];
    kill_signal_name(SIGTERM, buf, sizeof buf);
    assert_string_equal(buf, "SIGTERM");
    kill_signal_name(40, buf, sizeof buf);
    assert_string_equal(buf, "SIG40");
    assert_string_equal(kill_outcome_name(KILL_OUTCOME_STILL_RUNNING), "still_running");
    assert_string_equal(kill_role_name(KILL_ROLE_DESCENDANT), "descendant");
}

/* ---- choosing by pattern ---- */

static void test_select_by_pattern(void **state)
{
    (void)state;
    struct gpu_process gprocs[] = {
        {.pid = 300, .device_index = 0}, {.pid = 100, .device_index = 0},
        {.pid = 200, .device_index = 0}, {.pid = 300, .device_index = 1},
        {.pid = 400, .device_index = 1},
    };
    char cmd1[] = "python train.py", cmd2[] = "sleep 300", cmd3[] = "python eval.py";
    struct host_process hprocs[] = {
        {.pid = 100, .exists = true, .name = "python3", .cmdline = cmd1, .start_ticks = 11},
        {.pid = 200, .exists = true, .name = "sleep", .cmdline = cmd2, .start_ticks = 22},
        {.pid = 300, .exists = true, .name = "python3", .cmdline = cmd3, .start_ticks = 33},
        {.pid = 400, .exists = false},
    };
    struct snapshot snap = {.gprocs = gprocs, .gproc_count = 5, .hprocs = hprocs,
                            .hproc_count = 4};
    struct filter f = {0};
    struct error e = {0};
    assert_int_equal(filter_set_regex(&f, "py", &e), 0);
    struct kill_pick *picks;
    size_t n;
    assert_int_equal(kill_select(&snap, &f, &picks, &n), 0);
    assert_int_equal(n, 2);   /* 300 once although on two GPUs; 400 not visible */
    assert_int_equal(picks[0].pid, 100);
    assert_int_equal(picks[0].start_ticks, 11);
    assert_int_equal(picks[1].pid, 300);
    assert_int_equal(picks[1].start_ticks, 33);
    free(picks);
    /* The command line counts as well as the name. */
    assert_int_equal(filter_set_regex(&f, "^sleep 300$", &e), 0);
    assert_int_equal(kill_select(&snap, &f, &picks, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(picks[0].pid, 200);
    free(picks);
    assert_int_equal(filter_set_regex(&f, "nothing-like-this", &e), 0);
    assert_int_equal(kill_select(&snap, &f, &picks, &n), 0);
    assert_int_equal(n, 0);
    free(picks);
    filter_clear(&f);
}

/* ---- the GPU check ---- */

static void test_gpu_check_uses_start_time(void **state)
{
    struct kill_set *s = *state;
    pid_t pid = spawn_child(false);
    add_target(s, pid);
    struct kill_entry *en = kill_set_find(s, pid);
    assert_non_null(en);
    assert_int_equal(en->role, KILL_ROLE_TARGET);
    assert_int_equal(en->target, pid);
    assert_non_null(en->host.cmdline);

    struct gpu_process gprocs[] = {
        {.pid = pid, .device_index = 0}, {.pid = pid, .device_index = 2},
        {.pid = pid, .device_index = 2},   /* a second MIG instance */
    };
    struct host_process hp = {.pid = pid, .exists = true, .start_ticks = en->h.id.start_ticks};
    struct snapshot snap = {.gprocs = gprocs, .gproc_count = 3, .hprocs = &hp, .hproc_count = 1};
    assert_int_equal(kill_set_note_gpus(s, &snap), 0);
    assert_true(en->gpu_seen);
    assert_int_equal(en->gpu_count, 2);
    assert_int_equal(en->gpus[0], 0);
    assert_int_equal(en->gpus[1], 2);
    assert_int_equal(kill_set_check(s, true), 0);

    /* The GPU's pid had another start time: that was another process. */
    hp.start_ticks = en->h.id.start_ticks + 7;
    assert_int_equal(kill_set_note_gpus(s, &snap), 0);
    assert_false(en->gpu_seen);
    assert_int_equal(en->gpu_count, 0);
    assert_int_equal(kill_set_check(s, true), 1);
    assert_int_equal(en->refusal.code, -EINVAL);
    assert_non_null(strstr(en->refusal.msg, "is not using a GPU"));
    /* Without the GPU requirement (--force) it passes. */
    assert_int_equal(kill_set_check(s, false), 0);
    assert_int_equal(en->refusal.code, 0);
    end_all(&pid, 1);
}

/* ---- refusals ---- */

static void test_protected_processes_are_refused(void **state)
{
    struct kill_set *s = *state;
    add_target(s, 1);
    add_target(s, getpid());
    add_target(s, getppid());
    assert_int_equal(kill_set_check(s, false), 3);
    assert_non_null(strstr(kill_set_find(s, 1)->refusal.msg, "init process"));
    assert_non_null(strstr(kill_set_find(s, getpid())->refusal.msg, "gpuctl itself"));
    assert_non_null(strstr(kill_set_find(s, getppid())->refusal.msg, "gpuctl's parent"));
    for (size_t i = 0; i < s->count; i++)
        assert_int_equal(s->items[i].refusal.code, -EINVAL);
}

static void test_kernel_thread_is_refused(void **state)
{
    struct kill_set *s = *state;
    struct error e = {0};
    struct procfs_stat st;
    /* kthreadd is pid 2 on a host; a container's pid namespace has none. */
    if (proc_ident_read_stat(2, &st, &e) < 0 || !(st.flags & PROC_IDENT_PF_KTHREAD))
        skip();
    add_target(s, 2);
    assert_int_equal(kill_set_check(s, false), 1);
    assert_non_null(strstr(s->items[0].refusal.msg, "kernel thread"));
}

static void test_missing_pid(void **state)
{
    struct kill_set *s = *state;
    pid_t pid = spawn_child(false);
    end_all(&pid, 1);
    struct error e = {0};
    assert_int_equal(kill_set_add(s, pid, PROC_IDENT_ANY_START, KILL_ROLE_TARGET, 0, &e), -ESRCH);
    assert_int_equal(s->count, 0);
    /* Adding a pid twice keeps one entry. */
    pid = spawn_child(false);
    add_target(s, pid);
    add_target(s, pid);
    assert_int_equal(s->count, 1);
    end_all(&pid, 1);
}

/* With --tree, gpuctl below a target is found and refused. */
static void test_tree_containing_gpuctl_is_refused(void **state)
{
    struct kill_set *s = *state;
    struct error e = {0};
    add_target(s, getppid());
    assert_int_equal(kill_set_expand(s, true, false, &e), 0);
    struct kill_entry *self = kill_set_find(s, getpid());
    assert_non_null(self);
    assert_int_equal(self->role, KILL_ROLE_DESCENDANT);
    assert_true(kill_set_check(s, false) >= 2);
    assert_non_null(strstr(self->refusal.msg, "gpuctl itself"));
    assert_non_null(strstr(self->refusal.msg, "a descendant of target"));
}

/* ---- --tree, --group, order ---- */

static void test_tree_found_and_ordered_children_first(void **state)
{
    struct kill_set *s = *state;
    pid_t chain[3];
    spawn_chain(false, chain);
    add_target(s, chain[0]);
    struct error e = {0};
    assert_int_equal(kill_set_expand(s, true, false, &e), 0);
    assert_int_equal(s->count, 3);
    for (int i = 1; i < 3; i++) {
        struct kill_entry *en = kill_set_find(s, chain[i]);
        assert_non_null(en);
        assert_int_equal(en->role, KILL_ROLE_DESCENDANT);
        assert_int_equal(en->target, chain[0]);
    }
    size_t order[3];
    kill_set_order(s, order);
    assert_int_equal(s->items[order[0]].h.id.pid, chain[2]);
    assert_int_equal(s->items[order[1]].h.id.pid, chain[1]);
    assert_int_equal(s->items[order[2]].h.id.pid, chain[0]);
    assert_int_equal(s->items[order[0]].depth, 2);

    assert_int_equal(kill_set_check(s, false), 0);
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = 5000};
    assert_int_equal(kill_set_run(s, &o, &e), 0);
    for (size_t i = 0; i < s->count; i++) {
        assert_int_equal(s->items[i].outcome, KILL_OUTCOME_TERMINATED);
        assert_int_equal(s->items[i].signal_count, 1);
        assert_true(s->items[i].ended_after_s >= 0);
    }
    end_all(chain, 1);
}

static void test_without_tree_nothing_is_added(void **state)
{
    struct kill_set *s = *state;
    pid_t chain[3];
    spawn_chain(false, chain);
    add_target(s, chain[0]);
    struct error e = {0};
    assert_int_equal(kill_set_expand(s, false, false, &e), 0);
    assert_int_equal(s->count, 1);
    end_all(chain, 3);
}

static void test_group_members(void **state)
{
    struct kill_set *s = *state;
    pid_t chain[3];
    spawn_chain(true, chain);   /* A and B share A's group; C has its own */
    add_target(s, chain[0]);
    struct error e = {0};
    assert_int_equal(kill_set_expand(s, false, true, &e), 0);
    assert_int_equal(s->count, 2);
    struct kill_entry *b = kill_set_find(s, chain[1]);
    assert_non_null(b);
    assert_int_equal(b->role, KILL_ROLE_GROUP);
    assert_int_equal(b->target, chain[0]);
    assert_null(kill_set_find(s, chain[2]));
    /* With --tree too, the group members' descendants join. */
    assert_int_equal(kill_set_expand(s, true, true, &e), 0);
    assert_int_equal(s->count, 3);
    assert_int_equal(kill_set_find(s, chain[2])->role, KILL_ROLE_DESCENDANT);
    /* Order follows the parent links whatever the roles. */
    size_t order[3];
    kill_set_order(s, order);
    assert_int_equal(s->items[order[0]].h.id.pid, chain[2]);
    assert_int_equal(s->items[order[2]].h.id.pid, chain[0]);
    end_all(chain, 3);
}

/* ---- the run ---- */

static void test_stubborn_process_without_force(void **state)
{
    struct kill_set *s = *state;
    pid_t stubborn = spawn_child(true), meek = spawn_child(false);
    add_target(s, stubborn);
    add_target(s, meek);
    assert_int_equal(kill_set_check(s, false), 0);
    struct error e = {0};
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = 200};
    assert_int_equal(kill_set_run(s, &o, &e), 1);
    struct kill_entry *a = kill_set_find(s, stubborn), *b = kill_set_find(s, meek);
    assert_int_equal(a->outcome, KILL_OUTCOME_STILL_RUNNING);
    assert_int_equal(a->signal_count, 1);
    assert_int_equal(a->signals[0], SIGTERM);
    assert_int_equal(b->outcome, KILL_OUTCOME_TERMINATED);
    assert_int_equal(kill(stubborn, 0), 0);   /* really still there */
    pid_t pids[] = {stubborn, meek};
    end_all(pids, 2);
}

static void test_force_escalates_in_parallel(void **state)
{
    struct kill_set *s = *state;
    enum { N = 4 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = spawn_child(true);
        add_target(s, pids[i]);
    }
    struct error e = {0};
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = 300, .force = true};
    double start = proc_ident_clock();
    assert_int_equal(kill_set_run(s, &o, &e), 0);
    double took = proc_ident_clock() - start;
    for (int i = 0; i < N; i++) {
        const struct kill_entry *en = &s->items[i];
        assert_int_equal(en->outcome, KILL_OUTCOME_KILLED);
        assert_int_equal(en->signal_count, 2);
        assert_int_equal(en->signals[1], SIGKILL);
        assert_true(en->ended_after_s >= 0.29);
    }
    /* Loose: one timeout for all, not one per process. */
    assert_true(took < 0.3 * N);
    end_all(pids, N);
}

static void test_first_signal_and_refused_entries(void **state)
{
    struct kill_set *s = *state;
    pid_t pid = spawn_child(true);
    add_target(s, pid);
    add_target(s, getpid());          /* refused: must never be signalled */
    assert_int_equal(kill_set_check(s, false), 1);
    struct error e = {0};
    struct kill_run_options o = {.signal = SIGKILL, .timeout_ms = 0};
    assert_int_equal(kill_set_run(s, &o, &e), 0);
    assert_int_equal(kill_set_find(s, pid)->outcome, KILL_OUTCOME_KILLED);
    assert_int_equal(kill_set_find(s, pid)->signal_count, 1);
    assert_int_equal(kill_set_find(s, getpid())->outcome, KILL_OUTCOME_PENDING);
    assert_int_equal(kill_set_find(s, getpid())->signal_count, 0);
    end_all(&pid, 1);
}

static void test_process_that_exits_before_the_signal(void **state)
{
    struct kill_set *s = *state;
    pid_t pid = spawn_child(false);
    add_target(s, pid);
    assert_int_equal(kill_set_check(s, false), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    struct error e = {0};
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = 100, .force = true};
    assert_int_equal(kill_set_run(s, &o, &e), 0);
    const struct kill_entry *en = &s->items[0];
    assert_int_equal(en->outcome, KILL_OUTCOME_TERMINATED);
    assert_int_equal(en->signal_count, 0);
    assert_non_null(strstr(en->failure.msg, "exited before SIGTERM"));
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_select_by_pattern),
        cmocka_unit_test_setup_teardown(test_gpu_check_uses_start_time, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_protected_processes_are_refused, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_kernel_thread_is_refused, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_missing_pid, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_tree_containing_gpuctl_is_refused, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_tree_found_and_ordered_children_first, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_without_tree_nothing_is_added, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_group_members, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_stubborn_process_without_force, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_force_escalates_in_parallel, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_first_signal_and_refused_entries, setup_set,
                                        teardown_set),
        cmocka_unit_test_setup_teardown(test_process_that_exits_before_the_signal, setup_set,
                                        teardown_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
