/* test_proc_ident.c - pidfd handles bound to (pid, start time), on real
 * child processes: opening, the start-time check (a reused pid, simulated
 * with a fake expected start time and with a proc root whose stat shows
 * another start time), kernel threads, signals and the one-poll wait.
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
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/proc_ident.h"

/* ---- children ---- */

/* A child that pauses forever; with ignore_term it ignores SIGTERM.  Returns
 * once the child has set itself up. */
static pid_t spawn_child(bool ignore_term)
{
    int sync[2];
    assert_int_equal(pipe(sync), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sync[0]);
        if (ignore_term)
            signal(SIGTERM, SIG_IGN);
        if (write(sync[1], "x", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(sync[1]);
    char c;
    assert_int_equal(read(sync[0], &c, 1), 1);
    close(sync[0]);
    return pid;
}

static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static uint64_t real_start_ticks(pid_t pid)
{
    struct procfs_stat st;
    struct error e = {0};
    assert_int_equal(proc_ident_read_stat(pid, &st, &e), 0);
    return st.starttime;
}

static int use_real_root(void **state)
{
    (void)state;
    unsetenv("GPUCTL_PROC_ROOT");
    return 0;
}

/* ---- opening ---- */

static void test_open_records_identity(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, PROC_IDENT_ANY_START, &e), 0);
    assert_int_equal(h.id.pid, pid);
    assert_true(h.pidfd >= 0);
    assert_int_equal(h.id.start_ticks, real_start_ticks(pid));
    assert_int_equal(h.stat.ppid, getpid());
    assert_false(proc_handle_is_kthread(&h));
    assert_int_equal(proc_handle_exited(&h), 0);
    /* The start time it was selected by is accepted. */
    struct proc_handle again;
    assert_int_equal(proc_handle_open(&again, pid, h.id.start_ticks, &e), 0);
    proc_handle_close(&again);
    proc_handle_close(&h);
    assert_int_equal(h.pidfd, -1);
    proc_handle_close(&h);   /* twice is harmless */
    end_child(pid);
}

/* A pid whose start time is not the one the caller selected it by is
 * another process: a reused pid. */
static void test_mismatching_start_time_is_refused(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    uint64_t start = real_start_ticks(pid);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, start + 1, &e), -ESTALE);
    assert_int_equal(h.pidfd, -1);
    assert_non_null(strstr(e.msg, "another process"));
    char num[32];
    snprintf(num, sizeof num, "pid %d", (int)pid);
    assert_non_null(strstr(e.msg, num));
    assert_int_equal(proc_handle_open(&h, pid, start - 1, &e), -ESTALE);
    /* And the process is untouched. */
    assert_int_equal(kill(pid, 0), 0);
    end_child(pid);
}

static void test_missing_and_invalid_pids(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    end_child(pid);   /* reaped: the pid is free (and not reused this soon) */
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, PROC_IDENT_ANY_START, &e), -ESRCH);
    assert_non_null(strstr(e.msg, "no process"));
    assert_int_equal(proc_handle_open(&h, 0, PROC_IDENT_ANY_START, &e), -EINVAL);
    assert_int_equal(proc_handle_open(&h, -5, PROC_IDENT_ANY_START, &e), -EINVAL);
    struct procfs_stat st;
    assert_int_equal(proc_ident_read_stat(pid, &st, &e), -ESRCH);
}

static void test_zombie_counts_as_exited(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    /* Wait for the exit without reaping it. */
    siginfo_t info;
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, PROC_IDENT_ANY_START, &e), -ESRCH);
    assert_non_null(strstr(e.msg, "already exited"));
    waitpid(pid, NULL, 0);
}

static void *sleeper_thread(void *arg)
{
    pid_t *tid = arg;
    *tid = gettid();
    pause();
    return NULL;
}

static void test_thread_id_is_not_a_process(void **state)
{
    (void)state;
    volatile pid_t tid = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleeper_thread, (void *)&tid), 0);
    while (tid == 0)
        usleep(1000);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, tid, PROC_IDENT_ANY_START, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "thread"));
    pthread_cancel(t);
    pthread_join(t, NULL);
}

/* ---- a proc root that says something else ---- */

static char fake_root[256];

static void write_fake_stat(pid_t pid, uint64_t start, unsigned flags)
{
    char dir[320], path[340], line[512];
    snprintf(dir, sizeof dir, "%s/proc/%d", fake_root, (int)pid);
    char proc[300];
    snprintf(proc, sizeof proc, "%s/proc", fake_root);
    mkdir(proc, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/stat", dir);
    int n = snprintf(line, sizeof line,
                     "%d (kworker/0:1) I 2 0 0 0 -1 %u 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0 "
                     "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0\n",
                     (int)pid, flags, (unsigned long long)start);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(line, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

static int use_fake_root(void **state)
{
    (void)state;
    snprintf(fake_root, sizeof fake_root, "/tmp/gpuctl-test-proc-ident-XXXXXX");
    assert_non_null(mkdtemp(fake_root));
    setenv("GPUCTL_PROC_ROOT", fake_root, 1);
    return 0;
}

static int drop_fake_root(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fake_root);
    assert_int_equal(system(cmd), 0);
    unsetenv("GPUCTL_PROC_ROOT");
    return 0;
}

/* The start time is read through the proc root, and a kernel thread is
 * recognised by PF_KTHREAD in its flags. */
static void test_kernel_thread_flag_through_root(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    write_fake_stat(pid, 4242, 0x00208040u);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, 4242, &e), 0);
    assert_true(proc_handle_is_kthread(&h));
    assert_string_equal(h.stat.comm, "kworker/0:1");
    proc_handle_close(&h);
    end_child(pid);
}

/* The pidfd names the live child, but /proc says the pid started at
 * another time: the identity check must refuse it. */
static void test_reused_pid_seen_through_root(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    write_fake_stat(pid, 99, 0);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, 98, &e), -ESTALE);
    assert_int_equal(proc_handle_open(&h, pid, 99, &e), 0);
    proc_handle_close(&h);
    end_child(pid);
}

static void test_malformed_stat_through_root(void **state)
{
    (void)state;
    pid_t pid = spawn_child(false);
    char path[340];
    snprintf(path, sizeof path, "%s/proc/%d", fake_root, (int)pid);
    char proc[300];
    snprintf(proc, sizeof proc, "%s/proc", fake_root);
    mkdir(proc, 0755);
    mkdir(path, 0755);
    strcat(path, "/stat");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    struct proc_handle h;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&h, pid, PROC_IDENT_ANY_START, &e), -ERROR_PARSE);
    assert_int_equal(h.pidfd, -1);
    end_child(pid);
}

/* ---- signals and waiting ---- */

static void test_signal_and_wait(void **state)
{
    (void)state;
    pid_t stubborn = spawn_child(true), meek = spawn_child(false);
    struct proc_handle a, b;
    struct error e = {0};
    assert_int_equal(proc_handle_open(&a, stubborn, PROC_IDENT_ANY_START, &e), 0);
    assert_int_equal(proc_handle_open(&b, meek, PROC_IDENT_ANY_START, &e), 0);
    assert_int_equal(proc_handle_signal(&a, 0, &e), 0);
    assert_int_equal(proc_handle_signal(&a, SIGTERM, &e), 0);
    assert_int_equal(proc_handle_signal(&b, SIGTERM, &e), 0);

    const struct proc_handle *hs[] = {&a, &b};
    bool exited[2] = {false, false};
    double ended[2] = {0, 0};
    double before = proc_ident_clock();
    /* The meek one ends; the wait runs out for the other. */
    assert_int_equal(proc_handles_wait(hs, 2, exited, 200, ended), 1);
    assert_false(exited[0]);
    assert_true(exited[1]);
    assert_true(ended[1] >= before);
    assert_int_equal(proc_handle_exited(&b), 1);
    assert_int_equal(proc_handle_exited(&a), 0);

    assert_int_equal(proc_handle_signal(&a, SIGKILL, &e), 0);
    assert_int_equal(proc_handles_wait(hs, 2, exited, 10000, ended), 0);
    assert_true(exited[0]);
    /* A zombie still takes signal 0; a reaped process does not. */
    waitpid(stubborn, NULL, 0);
    waitpid(meek, NULL, 0);
    assert_int_equal(proc_handle_signal(&a, SIGTERM, &e), -ESRCH);
    assert_non_null(strstr(e.msg, "has exited"));
    /* Nothing left to wait for: returns at once. */
    assert_int_equal(proc_handles_wait(hs, 2, exited, 10000, NULL), 0);
    proc_handle_close(&a);
    proc_handle_close(&b);
}

/* One poll over all pidfds: several stubborn processes cost one timeout. */
static void test_wait_is_one_poll_for_all(void **state)
{
    (void)state;
    enum { N = 4 };
    pid_t pids[N];
    struct proc_handle hs[N];
    const struct proc_handle *ptrs[N];
    bool exited[N] = {false};
    struct error e = {0};
    for (int i = 0; i < N; i++) {
        pids[i] = spawn_child(true);
        assert_int_equal(proc_handle_open(&hs[i], pids[i], PROC_IDENT_ANY_START, &e), 0);
        ptrs[i] = &hs[i];
    }
    double start = proc_ident_clock();
    assert_int_equal(proc_handles_wait(ptrs, N, exited, 300, NULL), N);
    double took = proc_ident_clock() - start;
    assert_true(took >= 0.29);
    assert_true(took < 0.3 * N);   /* loose: far from one timeout per process */
    for (int i = 0; i < N; i++) {
        proc_handle_close(&hs[i]);
        end_child(pids[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_records_identity, use_real_root),
        cmocka_unit_test_setup(test_mismatching_start_time_is_refused, use_real_root),
        cmocka_unit_test_setup(test_missing_and_invalid_pids, use_real_root),
        cmocka_unit_test_setup(test_zombie_counts_as_exited, use_real_root),
        cmocka_unit_test_setup(test_thread_id_is_not_a_process, use_real_root),
        cmocka_unit_test_setup_teardown(test_kernel_thread_flag_through_root, use_fake_root,
                                        drop_fake_root),
        cmocka_unit_test_setup_teardown(test_reused_pid_seen_through_root, use_fake_root,
                                        drop_fake_root),
        cmocka_unit_test_setup_teardown(test_malformed_stat_through_root, use_fake_root,
                                        drop_fake_root),
        cmocka_unit_test_setup(test_signal_and_wait, use_real_root),
        cmocka_unit_test_setup(test_wait_is_one_poll_for_all, use_real_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
