/* trace.c - `gpuctl trace -- CMD`: run a job under the kernel flight
 * recorder and say where its logs went.
 *
 * The recorder is libgpuctl-trace.so, loaded by CUDA itself through
 * CUDA_INJECTION64_PATH (and by NVTX through NVTX_INJECTION64_PATH); this
 * command only finds the library, sets the variables, runs the job,
 * forwards its exit status and reads the summary the recorder wrote.
 * Recording is src/trace's business.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "trace/ndjson.h"

extern char **environ;

struct trace_args {
    struct cli_common common;
    const char *output, *prefix;
    unsigned long interval_ms, ring_mb;
    bool have_interval, have_ring;
    char **cmd;
};

/* The option table (trace_opts.c) fills a trace_request; the job is what
 * follows "--" or the first argument that is no option. */
static int parse_args(struct trace_args *a, int argc, char **argv)
{
    struct trace_request q = {.output = ".", .prefix = "gpuctl-trace"};
    struct options_parsed p;
    int rc = cli_parse_options(&trace_options, argc, argv, &q, &p, &a->common);
    a->cmd = p.rest_count ? p.rest : NULL;
    a->have_interval = options_given(&trace_options, &p, "system-interval");
    a->have_ring = options_given(&trace_options, &p, "ring-mb");
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->output = q.output;
    a->prefix = q.prefix;
    a->interval_ms = q.interval_ms;
    a->ring_mb = q.ring_mb;
    if (!a->cmd || !a->cmd[0])
        return cli_usage_error("trace", "no command to run: gpuctl trace [OPTIONS] -- CMD "
                               "[ARGS...]");
    if (!a->prefix[0] || strchr(a->prefix, '/'))
        return cli_usage_error("trace", "--prefix: '%s' must be a file name prefix without "
                               "'/'", a->prefix);
    return EXIT_OK;
}

/* The recorder library: $GPUCTL_TRACE_LIBRARY, else next to this gpuctl in
 * a build tree, else in the library directories of its install prefix. */
static int find_library(char *out)
{
    const char *env = getenv("GPUCTL_TRACE_LIBRARY");
    if (env && *env) {
        if (!realpath(env, out) || access(out, R_OK) != 0)
            return -ENOENT;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -ENOENT;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    static const char *const rel[] = {
        "src/trace/libgpuctl-trace.so", "../lib/libgpuctl-trace.so",
        "../lib64/libgpuctl-trace.so", "../lib/x86_64-linux-gnu/libgpuctl-trace.so",
        "../lib/aarch64-linux-gnu/libgpuctl-trace.so",
    };
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
        if (access(cand, R_OK) == 0 && realpath(cand, out))
            return 0;
    }
    return -ENOENT;
}

static bool driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!h)
        return false;
    dlclose(h);
    return true;
}

static int prepare_dir(const char *dir, const char *prefix, char *abs, size_t size)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "gpuctl: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_GENERAL;
    }
    if (!realpath(dir, abs) || strlen(abs) >= size) {
        fprintf(stderr, "gpuctl: %s: %s\n", dir, strerror(errno));
        return EXIT_GENERAL;
    }
    char path[PATH_MAX + 200];
    snprintf(path, sizeof path, "%s/%s.kernel.ndjson", abs, prefix);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "gpuctl: %s already holds a trace named '%s'; choose another --prefix "
                "or --output, or remove it\n", abs, prefix);
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

static int set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) < 0) {
        fprintf(stderr, "gpuctl: cannot set %s: %s\n", name, strerror(errno));
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

static int run_job(char **cmd, int *status)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, cmd[0], NULL, NULL, cmd, environ);
    if (rc != 0) {
        fprintf(stderr, "gpuctl: cannot run %s: %s\n", cmd[0], strerror(rc));
        return rc == ENOENT ? 127 : 126;
    }
    /* The terminal's Ctrl-C goes to the job as well; gpuctl stays to report. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return EXIT_GENERAL;
    return -1;
}

/* The last line of path (the summary when the job ended cleanly). */
static int last_line(const char *path, char *buf, size_t size, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)size - 1 ? end - (off_t)size + 1 : 0;
    ssize_t n = pread(fd, buf, size - 1, from);
    close(fd);
    if (n <= 0)
        return -1;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    char *nl = memrchr(buf, '\n', (size_t)n);
    size_t start = nl ? (size_t)(nl - buf) + 1 : 0;
    memmove(buf, buf + start, (size_t)n - start + 1);
    *len = (size_t)n - start;
    return 0;
}

static void report_log(const char *dir, const char *prefix)
{
    char path[PATH_MAX + 300], line[65536];
    size_t len;
    snprintf(path, sizeof path, "%s/%s.kernel.ndjson", dir, prefix);
    fprintf(stderr, "gpuctl: trace written to %s/%s.{kernel,scope,system}.ndjson\n", dir,
            prefix);
    struct ndj_line l;
    ndj_line_init(&l);
    if (last_line(path, line, sizeof line, &len) < 0 || ndj_parse(&l, line, len) < 0 ||
        !ndj_str(&l, "type") || strcmp(ndj_str(&l, "type"), "summary") != 0) {
        fprintf(stderr, "gpuctl: %s has no summary: the job did not end cleanly, so drop "
                "counts are unknown\n", path);
        ndj_line_free(&l);
        return;
    }
    uint64_t ring = 0, cupti = 0, names = 0;
    ndj_u64(&l, "ring_drops", &ring);
    ndj_u64(&l, "cupti_drops", &cupti);
    ndj_u64(&l, "name_drops", &names);
    fprintf(stderr, "gpuctl: dropped records: %llu from the scope ring, %llu by CUPTI, "
            "%llu scope names\n", (unsigned long long)ring, (unsigned long long)cupti,
            (unsigned long long)names);
    ndj_line_free(&l);
}

/* Prints every trace this run created ("<prefix>" or "<prefix>-<pid>" for
 * further CUDA processes of the job); returns how many. */
static int report(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    size_t pl = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        static const char tail[] = ".kernel.ndjson";
        size_t tl = sizeof tail - 1;
        if (len <= tl || strcmp(n + len - tl, tail) != 0 || strncmp(n, prefix, pl) != 0)
            continue;
        if (len - tl != pl && (n[pl] != '-' || strspn(n + pl + 1, "0123456789") !=
                               len - tl - pl - 1))
            continue;
        char p[256];
        snprintf(p, sizeof p, "%.*s", (int)(len - tl), n);
        report_log(dir, p);
        found++;
    }
    closedir(d);
    return found;
}

int cmd_trace(int argc, char **argv)
{
    struct trace_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    struct cli_ctx ctx;
    if ((rc = cli_load_config(&ctx, &a.common)))
        return rc;
    char lib[PATH_MAX], dir[PATH_MAX];
    if (find_library(lib) < 0) {
        fprintf(stderr, "gpuctl: the recorder library libgpuctl-trace.so was not found (gpuctl "
                "builds it only where the CUDA toolkit's CUPTI is present); set "
                "GPUCTL_TRACE_LIBRARY to its path\n");
        return EXIT_UNSUPPORTED;
    }
    if ((rc = prepare_dir(a.output, a.prefix, dir, sizeof dir)))
        return rc;
    bool driver = driver_present();
    if (!driver)
        fprintf(stderr, "gpuctl: no CUDA driver on this machine (libcuda.so.1 cannot be "
                "loaded): the job cannot use CUDA, so no kernel will be recorded\n");
    char num[32];
    if ((rc = set_env("CUDA_INJECTION64_PATH", lib)) || (rc = set_env("NVTX_INJECTION64_PATH", lib)) ||
        (rc = set_env("GPUCTL_TRACE_DIR", dir)) || (rc = set_env("GPUCTL_TRACE_PREFIX", a.prefix)))
        return rc;
    if (a.have_interval) {
        snprintf(num, sizeof num, "%lu", a.interval_ms);
        if ((rc = set_env("GPUCTL_TRACE_SYSTEM_INTERVAL_MS", num)))
            return rc;
    }
    if (a.have_ring) {
        snprintf(num, sizeof num, "%lu", a.ring_mb);
        if ((rc = set_env("GPUCTL_TRACE_RING_MB", num)))
            return rc;
    }
    int status = 0;
    if ((rc = run_job(a.cmd, &status)) >= 0)
        return rc;
    if (report(dir, a.prefix) == 0)
        fprintf(stderr, "gpuctl: nothing was recorded: the job never initialised CUDA%s\n",
                driver ? "" : " (no CUDA driver on this machine)");
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
