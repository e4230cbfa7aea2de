/* memload.c - the test and benchmark workloads of `gpuctl run`: processes
 * whose memory peaks are known, so gpuctl's figures can be checked against
 * the truth.
 *
 * Every process that allocates writes one line to the file named by
 * $MEMLOAD_REPORT (appended, one write): "pid=P role=R hwm_kib=H
 * maxrss_kib=M", its own VmHWM and ru_maxrss just before it exits, which
 * is the truth the tests compare gpuctl's report with.  A parent that
 * waits for its workers also writes "pid=C role=reaped maxrss_kib=M" for
 * each, the ru_maxrss wait4 gave it: the kernel's figure at the child's
 * exit, the same one its taskstats exit record carries.
 *
 *   memload alloc MIB HOLD_MS            allocate and touch MIB MiB, hold, exit
 *   memload spike MIB HOLD_MS AFTER_MS   allocate, hold, free, then live AFTER_MS
 *   memload workers K BASE_MIB HOLD_MS   fork K workers, worker i takes (i+1)*BASE
 *   memload daemon MIB HOLD_MS           double fork; the daemon allocates, the
 *                                        parent exits at once
 *   memload exec MIB1 MIB2 HOLD_MS       allocate MIB1, then exec itself as "exe"
 *                                        (via /proc/self/exe) and allocate MIB2
 *   memload signal MIB SIG               allocate, then die of signal SIG
 *   memload exit CODE                    exit with CODE
 *   memload sleep MS                     sleep, allocating nothing
 *   memload grow STEP_MIB STEPS STEP_MS  add STEP_MIB every STEP_MS (a leak)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static char *take(unsigned long mib)
{
    if (mib == 0)
        return NULL;
    char *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("memload: mmap");
        exit(90);
    }
    long page = sysconf(_SC_PAGESIZE);
    for (unsigned long off = 0; off < mib * MIB; off += (unsigned long)page)
        p[off] = 1;
    return p;
}

/* Reads /proc/self/status into a stack buffer: no stdio, no malloc, so
 * reporting does not itself move the high-water mark it reports (main
 * calls it once at start so the stack and code it uses are already in). */
static unsigned long status_kib(const char *key)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    size_t k = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, k) == 0 && line[k] == ':')
            return strtoul(line + k + 1, NULL, 10);
    return 0;
}

static void report(const char *role)
{
    const char *path = getenv("MEMLOAD_REPORT");
    if (!path)
        return;
    struct rusage ru;
    unsigned long hwm = status_kib("VmHWM");
    getrusage(RUSAGE_SELF, &ru);
    char line[256];
    int n = snprintf(line, sizeof line, "pid=%d role=%s hwm_kib=%lu maxrss_kib=%ld\n",
                     (int)getpid(), role, hwm, ru.ru_maxrss);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
}

/* What wait4 told the parent about a child: the kernel's figure at exit. */
static void report_reaped(pid_t pid, const struct rusage *ru)
{
    const char *path = getenv("MEMLOAD_REPORT");
    if (!path)
        return;
    char line[128];
    int n = snprintf(line, sizeof line, "pid=%d role=reaped hwm_kib=0 maxrss_kib=%ld\n",
                     (int)pid, ru->ru_maxrss);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
}

static long arg(char **argv, int i)
{
    return strtol(argv[i], NULL, 10);
}

static int do_workers(int k, unsigned long base, long hold)
{
    for (int i = 0; i < k; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("memload: fork");
            return 91;
        }
        if (pid == 0) {
            take((unsigned long)(i + 1) * base);
            sleep_ms(hold);
            report("worker");
            sleep_ms(hold);     /* a sample after the report sees the final VmHWM */
            _exit(0);
        }
    }
    int bad = 0, st;
    pid_t pid;
    struct rusage ru;
    while ((pid = wait4(-1, &st, 0, &ru)) > 0) {
        bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        report_reaped(pid, &ru);
    }
    report("parent");
    return bad;
}

static int do_daemon(unsigned long mib, long hold)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        if (fork() == 0) {
            take(mib);
            sleep_ms(hold);
            report("daemon");
            _exit(0);
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    report("launcher");
    return 0;
}

static int do_exec(char **argv)
{
    if (strcmp(argv[0], "exe-phase") != 0) {
        take((unsigned long)arg(argv, 2));
        char *args[] = {"exe-phase", argv[1], argv[2], argv[3], argv[4], NULL};
        execv("/proc/self/exe", args);
        perror("memload: exec");
        return 92;
    }
    take((unsigned long)arg(argv, 3));
    sleep_ms(arg(argv, 4));
    report("exec");
    return 0;
}

static int do_grow(unsigned long step, int steps, long step_ms)
{
    for (int i = 0; i < steps; i++) {
        take(step);
        sleep_ms(step_ms);
    }
    report("grow");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: memload alloc|spike|workers|daemon|exec|signal|exit|sleep|grow ...\n",
              stderr);
        return 2;
    }
    const char *mode = argv[1];
    (void)status_kib("VmHWM");
    {
        char line[256];
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        snprintf(line, sizeof line, "pid=%d role=%s hwm_kib=%lu maxrss_kib=%ld\n", 1, "x", 1UL,
                 ru.ru_maxrss);
    }
    if (strcmp(mode, "alloc") == 0 && argc == 4) {
        take((unsigned long)arg(argv, 2));
        sleep_ms(arg(argv, 3));
        report("alloc");
        return 0;
    }
    if (strcmp(mode, "spike") == 0 && argc == 5) {
        unsigned long mib = (unsigned long)arg(argv, 2);
        char *p = take(mib);
        sleep_ms(arg(argv, 3));
        if (p)
            munmap(p, mib * MIB);
        sleep_ms(arg(argv, 4));
        report("spike");
        return 0;
    }
    if (strcmp(mode, "workers") == 0 && argc == 5)
        return do_workers((int)arg(argv, 2), (unsigned long)arg(argv, 3), arg(argv, 4));
    if (strcmp(mode, "daemon") == 0 && argc == 4)
        return do_daemon((unsigned long)arg(argv, 2), arg(argv, 3));
    if (strcmp(mode, "exec") == 0 && argc == 5)
        return do_exec(argv);
    if (strcmp(mode, "signal") == 0 && argc == 4) {
        take((unsigned long)arg(argv, 2));
        report("signal");
        signal((int)arg(argv, 3), SIG_DFL);
        raise((int)arg(argv, 3));
        return 93;
    }
    if (strcmp(mode, "exit") == 0)
        return (int)arg(argv, 2);
    if (strcmp(mode, "sleep") == 0) {
        sleep_ms(arg(argv, 2));
        return 0;
    }
    if (strcmp(mode, "grow") == 0 && argc == 5)
        return do_grow((unsigned long)arg(argv, 2), (int)arg(argv, 3), arg(argv, 4));
    fprintf(stderr, "memload: bad arguments for '%s'\n", mode);
    return 2;
}
