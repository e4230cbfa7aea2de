/* test_trace_lib.c - libgpuctl-trace.so in a process with no CUDA driver:
 * it loads, starts (saying why nothing from CUPTI is recorded), records
 * scopes, and exits cleanly with a summary in every log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Set in the forked grandchild.  That process is the fork of a process with
 * a running collector thread, which may have held LeakSanitizer's allocator
 * lock at the fork: the sanitizer's own leak check at exit would then wait
 * for it forever (a sanitizer limitation, not the recorder's; glibc's
 * malloc is fork-safe).  LSan calls this hook before its exit check. */
static volatile int skip_leak_check;

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return skip_leak_check;
}

static void test_load_and_exit_without_driver(void **state)
{
    (void)state;
    const char *lib = getenv("GPUCTL_TRACE_LIB");
    assert_non_null(lib);
    char dir[] = "/tmp/gpuctl-test-tracelib-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child is the traced program: it ends through exit(), so the
         * recorder's atexit handler writes the summaries */
        setenv("GPUCTL_TRACE_DIR", dir, 1);
        setenv("GPUCTL_TRACE_SYSTEM_INTERVAL_MS", "10", 1);
        void *h = dlopen(lib, RTLD_NOW);
        if (!h)
            _exit(10);
        int (*init)(void) = (int (*)(void))dlsym(h, "gpuctl_trace_init");
        int (*inject)(void) = (int (*)(void))dlsym(h, "InitializeInjection");
        void (*begin)(const char *) = (void (*)(const char *))dlsym(h, "gpuctl_scope_begin");
        void (*end)(void) = (void (*)(void))dlsym(h, "gpuctl_scope_end");
        if (!init || !inject || !begin || !end || dlsym(h, "trace_ring_push"))
            _exit(11);
        if (init() != 0 || inject() != 1)
            _exit(12);
        begin("outer");
        begin("inner");
        end();
        end();
        /* a forked child neither hangs at exit nor writes to these logs */
        pid_t child = fork();
        if (child == 0) {
            skip_leak_check = 1;
            begin("in-child");
            end();
            exit(0);
        }
        int st;
        if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0)
            _exit(13);
        usleep(50000);
        exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    static const char *const kinds[] = {"kernel", "scope", "system"};
    for (int i = 0; i < 3; i++) {
        char path[256], buf[1 << 16];
        snprintf(path, sizeof path, "%s/gpuctl-trace.%s.ndjson", dir, kinds[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "\"type\":\"header\""));
        assert_non_null(strstr(buf, "\"activity_error\":\"no CUDA driver"));
        assert_non_null(strstr(buf, "{\"type\":\"summary\""));
        if (i == 1) {
            assert_non_null(strstr(buf, "\"path\":[\"outer\",\"inner\"]"));
            assert_null(strstr(buf, "in-child"));
        }
        /* exactly one summary: the child wrote none */
        char *first = strstr(buf, "{\"type\":\"summary\"");
        assert_null(strstr(first + 1, "{\"type\":\"summary\""));
        if (i == 2)
            assert_non_null(strstr(buf, "{\"type\":\"host\""));
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_exit_without_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
