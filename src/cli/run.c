/* run.c - `gpuctl run`: arguments, the output files, --live, the run
 * itself (src/jobs/run.c), the report, --post-run-cmd and the exit status.
 *
 * Output files are opened before the job starts, so a wrong path fails in
 * a second and not after a three-hour job.  The exit status is the job's
 * own unless a memory limit was exceeded (10, 11) or gpuctl itself failed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/run.h"
#include "core/outfile.h"
#include "core/term.h"
#include "core/units.h"

#define DEFAULT_INTERVAL_MS 500

struct run_args {
    struct cli_common common;
    struct run_options o;
    bool json, quiet, live;
    const char *csv, *timeline, *html, *post_run_cmd;
    enum run_group_by group_by;
    double leak_growth, leak_duration;
};

struct out_file {
    const char *path;
    FILE *f;                  /* of.f while open */
    struct outfile of;        /* replaced whole once written (core/outfile.h) */
};

struct live_state {
    bool tty;
    double last_line;
};

/* ---- arguments ---------------------------------------------------------------------------- */

static int parse_size_flag(const char *flag, const char *v, uint64_t *kib)
{
    struct error e = {0};
    uint64_t bytes;
    if (units_parse_size(v, strlen(v), &bytes, &e) < 0)
        return cli_usage_error("run", "%s: %s", flag, e.msg);
    if (bytes < 1024)
        return cli_usage_error("run", "%s: '%s' is less than 1 KiB", flag, v);
    *kib = bytes / 1024;
    return 0;
}

/* The option table (run_opts.c) fills a run_request; the job is what
 * follows "--" or the first argument that is no option. */
static int parse_args(struct run_args *a, int argc, char **argv)
{
    struct run_request q = {.interval_ms = DEFAULT_INTERVAL_MS, .leak_growth = 50,
                            .leak_duration = 60};
    struct options_parsed p;
    int rc = cli_parse_options(&run_options, argc, argv, &q, &p, &a->common);
    char **job = p.rest_count ? p.rest : NULL;
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->o.interval_ms = (unsigned)q.interval_ms;
    a->o.pss = q.pss;
    a->o.gpu = q.gpu;
    a->o.kill_on_limit = q.kill_on_limit;
    a->json = q.json;
    a->quiet = q.quiet;
    a->live = q.live;
    a->csv = q.csv;
    a->timeline = q.timeline;
    a->html = q.html;
    a->post_run_cmd = q.post_run_cmd;
    a->leak_growth = q.leak_growth;
    a->leak_duration = q.leak_duration;
    if (q.group_by && run_group_by_parse(q.group_by, &a->group_by) < 0)
        return cli_usage_error("run", "--group-by: '%s' is not command, exe or ppid",
                               q.group_by);
    if ((q.max_total && (rc = parse_size_flag("--max-total-rss", q.max_total,
                                              &a->o.max_total_kib))) ||
        (q.max_proc && (rc = parse_size_flag("--max-per-proc-rss", q.max_proc,
                                             &a->o.max_proc_kib))))
        return rc;
    if (!job)
        return cli_usage_error("run", "no command to run: gpuctl run [OPTIONS] -- COMMAND "
                               "[ARG...]");
    if (a->o.kill_on_limit && !a->o.max_total_kib && !a->o.max_proc_kib)
        return cli_usage_error("run", "--kill-on-limit needs --max-total-rss or "
                               "--max-per-proc-rss");
    a->o.argv = job;
    return 0;
}

/* A boolean environment variable; unset or empty is false. */
static int env_flag(const char *name, bool *out)
{
    const char *v = getenv(name);
    *out = false;
    if (!v || !*v || config_parse_bool(v, out))
        return 0;
    fprintf(stderr, "gpuctl: %s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)\n",
            name, v);
    return EXIT_GENERAL;
}

/* ---- files ----------------------------------------------------------------------------------- */

static int open_out(struct out_file *f, const char *path)
{
    f->path = path;
    f->f = NULL;
    if (!path)
        return 0;
    struct error e = {0};
    if (outfile_open(&f->of, path, &e) < 0) {
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return EXIT_GENERAL;
    }
    f->f = f->of.f;
    return 0;
}

/* Renames the finished file over the old one; a failed write leaves the
 * old one as it was. */
static int close_out(struct out_file *f, int write_rc)
{
    if (!f->f)
        return 0;
    f->f = NULL;
    struct error e = {0};
    if (write_rc < 0) {
        outfile_discard(&f->of);
        fprintf(stderr, "gpuctl: writing %s failed: %s\n", f->path, strerror(-write_rc));
        return EXIT_GENERAL;
    }
    if (outfile_commit(&f->of, &e) < 0) {
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return EXIT_GENERAL;
    }
    return 0;
}

/* ---- --live ------------------------------------------------------------------------------------ */

static void live_line(const struct run_report *r, void *arg)
{
    struct live_state *ls = arg;
    const struct run_sample *s = &r->timeline[r->sample_count - 1];
    if (!ls->tty && ls->last_line > 0 && s->elapsed_s - ls->last_line < 1.0)
        return;      /* a log gets a line a second at most */
    ls->last_line = s->elapsed_s > 0 ? s->elapsed_s : 1e-9;
    char now[UNITS_BYTES_BUFSZ], peak[UNITS_BYTES_BUFSZ], top[UNITS_BYTES_BUFSZ];
    units_format_bytes(s->total_kib * 1024, now, sizeof now);
    units_format_bytes(r->sampled_max_total_kib * 1024, peak, sizeof peak);
    const struct run_proc *t = run_report_top(r);
    units_format_bytes(t ? t->max_rss_kib * 1024 : 0, top, sizeof top);
    fprintf(stderr, "%sgpuctl run: %.1fs  total %s  peak %s  procs %u  top %s%s%.40s%s%s",
            ls->tty ? "\r\033[K" : "", s->elapsed_s, now, peak, s->process_count,
            t ? top : "-", t ? " (" : "", t ? t->command : "", t ? ")" : "",
            ls->tty ? "" : "\n");
    fflush(stderr);
}

/* ---- after the job ------------------------------------------------------------------------------ */

/* Writes the JSON report to a temporary file and runs CMD "PATH" through
 * the shell; the file is removed afterwards. */
static void post_run(const struct doc_run_request *v, const char *cmd)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/gpuctl-run-XXXXXX.json", dir && *dir ? dir : "/tmp");
    int fd = mkstemps(path, 5);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "gpuctl: --post-run-cmd: cannot write the report to %s: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    int rc = cli_run_write_json(v, f);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "gpuctl: --post-run-cmd: writing %s failed\n", path);
        unlink(path);
        return;
    }
    char *script = NULL;
    if (asprintf(&script, "%s \"$1\"", cmd) < 0) {
        unlink(path);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script, "gpuctl-post-run", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        fprintf(stderr, "gpuctl: --post-run-cmd could not be started: %s\n", strerror(errno));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "gpuctl: --post-run-cmd failed (status %d)\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    free(script);
    unlink(path);
}

static int write_outputs(const struct run_args *a, const struct doc_run_request *v,
                         struct out_file files[3])
{
    int rc = EXIT_OK, r;
    r = close_out(&files[0], files[0].f ? cli_run_write_csv(v, files[0].f) : 0);
    rc = rc ? rc : r;
    r = close_out(&files[1], files[1].f ? cli_run_write_timeline(v, files[1].f) : 0);
    rc = rc ? rc : r;
    r = close_out(&files[2], files[2].f ? cli_run_write_html(v, files[2].f) : 0);
    rc = rc ? rc : r;
    if (!a->quiet && cli_run_print_summary(v, stderr) < 0)
        rc = rc ? rc : EXIT_GENERAL;
    if (a->json && cli_run_write_json(v, stdout) < 0) {
        fprintf(stderr, "gpuctl: writing the JSON report failed: %s\n", strerror(errno));
        rc = rc ? rc : EXIT_GENERAL;
    }
    if (a->post_run_cmd)
        post_run(v, a->post_run_cmd);
    return rc;
}

static int job_status(const struct run_report *r)
{
    if (r->breach.kind != RUN_LIMIT_NONE)
        return (int)r->breach.kind;
    return r->exit_code;
}

static int execute(struct run_args *a, struct out_file files[3])
{
    struct live_state ls = {.tty = term_is_tty(STDERR_FILENO)};
    if (a->live) {
        a->o.on_sample = live_line;
        a->o.on_sample_arg = &ls;
    }
    struct run_report *r = NULL;
    struct error e = {0};
    int rc = run_job(&a->o, &r, &e);
    if (a->live && ls.tty)
        fputs("\r\033[K", stderr);
    if (rc < 0) {
        int code = cli_fail(&e);
        return rc == -ENOENT || rc == -EACCES ? (rc == -ENOENT ? 127 : 126) : code;
    }
    run_mark_leaks(r, a->leak_growth, a->leak_duration);
    struct doc_run_request v = {.r = r, .group_by = a->group_by,
                         .leak_min_growth_pct = a->leak_growth,
                         .leak_min_duration_s = a->leak_duration};
    if (run_groups(r, a->group_by, &v.groups, &v.group_count) < 0) {
        run_report_free(r);
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    int out_rc = write_outputs(a, &v, files);
    int status = job_status(r);
    free(v.groups);
    run_report_free(r);
    return out_rc && status == 0 ? out_rc : status;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct cli_ctx ctx = {0};
    rc = cli_load_config(&ctx, &a.common);
    if (rc == 0)
        rc = env_flag("GPUCTL_RUN_NO_CGROUP", &a.o.no_cgroup);
    if (rc == 0)
        rc = env_flag("GPUCTL_RUN_NO_TASKSTATS", &a.o.no_exit_records);
    if (rc)
        return rc;
    struct out_file files[3] = {{0}};
    const char *paths[3] = {a.csv, a.timeline, a.html};
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = open_out(&files[i], paths[i]);
    if (rc == 0)
        rc = execute(&a, files);
    for (int i = 0; i < 3; i++)
        outfile_discard(&files[i].of);    /* not written: the old file stays */
    return rc;
}
