/* reset.c - `gpuctl reset`: choosing the GPUs, the checks in their order
 * (index, vendor support, root, processes), ending the processes with
 * --force, and the resets.
 *
 * Ending processes is `kill --force` exactly: the same kill set
 * (ops/kill.h), with its pidfds, safety checks and one wait for all.  The
 * reset itself is ops/reset.c's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/kill.h"
#include "core/term.h"
#include "ops/reset.h"

struct reset_args {
    struct cli_common common;
    int *gpus;
    size_t gpu_count;
    bool all, force;
    const char *timeout;
};

struct reset_cmd {
    struct cli_ctx ctx;
    struct reset_args a;
    struct snapshot_ctx *sctx;
    struct snapshot *snap;
    const struct device **devices;   /* the GPUs to reset, in index order */
    struct reset_method *methods;    /* per devices[] */
    size_t device_count;
    struct kill_set set;
};

/* ---- arguments ------------------------------------------------------------------ */

/* The option table (reset_opts.c) fills a reset_request. */
static int parse_args(struct reset_args *a, int argc, char **argv)
{
    struct reset_request q = {0};
    struct options_parsed p;
    int rc = cli_parse_options(&reset_options, argc, argv, &q, &p, &a->common);
    if (rc == 0) {
        a->gpus = calloc(q.gpu.count + 1, sizeof *a->gpus);
        if (!a->gpus) {
            fputs("gpuctl: out of memory\n", stderr);
            rc = EXIT_GENERAL;
        }
    }
    for (size_t i = 0; rc == 0 && i < q.gpu.count; i++)
        a->gpus[a->gpu_count++] = atoi(q.gpu.values[i]);
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->all = q.all;
    a->force = q.force;
    a->timeout = q.timeout;
    if ((a->gpu_count > 0) == a->all)
        return cli_usage_error("reset", "name the GPUs with either --gpu or --all");
    return 0;
}

/* ---- the GPUs -------------------------------------------------------------------- */

static int take_snapshot(struct reset_cmd *c)
{
    struct error e = {0};
    struct snapshot_options opts = {.processes = true, .host_processes = true,
                                    .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    int rc = snapshot_ctx_open(&c->sctx, &e);
    if (rc == 0)
        rc = snapshot_take(c->sctx, &opts, &c->snap, &e);
    return rc < 0 ? cli_fail(&e) : EXIT_OK;
}

static int unknown_index(const struct reset_cmd *c, int idx)
{
    size_t n = c->snap->device_count;
    if (n == 0)
        return cli_usage_error("reset", "no GPU with index %d: this machine has no GPU", idx);
    if (n == 1)
        return cli_usage_error("reset", "no GPU with index %d: this machine has only GPU 0", idx);
    return cli_usage_error("reset", "no GPU with index %d: this machine has GPUs 0-%zu", idx,
                           n - 1);
}

/* The chosen devices in index order, each once. */
static int choose_devices(struct reset_cmd *c)
{
    const struct snapshot *s = c->snap;
    c->devices = calloc(s->device_count ? s->device_count : 1, sizeof *c->devices);
    c->methods = calloc(s->device_count ? s->device_count : 1, sizeof *c->methods);
    if (!c->devices || !c->methods) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < c->a.gpu_count; i++)
        if (!snapshot_device(s, c->a.gpus[i]))
            return unknown_index(c, c->a.gpus[i]);
    for (size_t d = 0; d < s->device_count; d++) {
        bool chosen = c->a.all;
        for (size_t i = 0; i < c->a.gpu_count && !chosen; i++)
            chosen = c->a.gpus[i] == s->devices[d].index;
        if (chosen)
            c->devices[c->device_count++] = &s->devices[d];
    }
    if (c->device_count == 0) {
        fputs("gpuctl: there is no GPU to reset\n", stderr);
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

/* Unsupported (5) before root (4): no point asking for root when the reset
 * cannot be done anyway. */
static int check_devices(struct reset_cmd *c)
{
    struct error e = {0};
    for (size_t i = 0; i < c->device_count; i++)
        if (reset_prepare(c->devices[i], getenv("PATH"), &c->methods[i], &e) < 0)
            return cli_fail(&e);
    for (size_t i = 0; i < c->device_count; i++)
        if (reset_check_privilege(c->devices[i], &e) < 0)
            return cli_fail(&e);
    return EXIT_OK;
}

static bool device_chosen(const struct reset_cmd *c, int index)
{
    for (size_t i = 0; i < c->device_count; i++)
        if (c->devices[i]->index == index)
            return true;
    return false;
}

/* ---- the processes on them ----------------------------------------------------------- */

static void describe_device(const struct device *d, char *buf, size_t size)
{
    snprintf(buf, size, "GPU %d (%s%s%s)", d->index, d->name[0] ? d->name : "unknown model",
             d->pci_bus_id[0] ? ", " : "", d->pci_bus_id);
}

/* Lists the processes on each chosen GPU; returns how many there are. */
static size_t list_busy(const struct reset_cmd *c, FILE *out)
{
    size_t total = 0;
    for (size_t i = 0; i < c->device_count; i++) {
        const struct device *d = c->devices[i];
        char what[160];
        size_t n = 0;
        for (size_t k = 0; k < c->snap->gproc_count; k++)
            n += c->snap->gprocs[k].device_index == d->index;
        if (n == 0)
            continue;
        describe_device(d, what, sizeof what);
        fprintf(out, "gpuctl: %s has %zu active process%s:\n", what, n, n == 1 ? "" : "es");
        for (size_t k = 0; k < c->snap->gproc_count; k++) {
            const struct gpu_process *gp = &c->snap->gprocs[k];
            if (gp->device_index != d->index)
                continue;
            const struct host_process *hp = snapshot_host_process(c->snap, gp->pid);
            bool seen = hp && hp->exists;
            fprintf(out, "  %7d  %-12s %s\n", (int)gp->pid, seen && hp->user[0] ? hp->user : "?",
                    seen && hp->cmdline ? hp->cmdline : "(not visible on this host)");
        }
        total += n;
    }
    return total;
}

/* Opens every process on the chosen GPUs.  One the GPU lists but this host
 * cannot see (gone, or in a pid namespace gpuctl cannot reach) cannot be
 * signalled; it is reported and left to the reset, which the driver
 * refuses if the GPU is really in use. */
static int add_busy(struct reset_cmd *c)
{
    for (size_t k = 0; k < c->snap->gproc_count; k++) {
        const struct gpu_process *gp = &c->snap->gprocs[k];
        if (!device_chosen(c, gp->device_index))
            continue;
        const struct host_process *hp = snapshot_host_process(c->snap, gp->pid);
        uint64_t start = hp && hp->exists ? hp->start_ticks : PROC_IDENT_ANY_START;
        struct error e = {0};
        int rc = kill_set_add(&c->set, gp->pid, start, KILL_ROLE_TARGET, 0, &e);
        if (rc == -ESRCH || rc == -ESTALE)
            fprintf(stderr, "gpuctl: process %d on GPU %d cannot be signalled from here (%s); "
                    "leaving it to the reset\n", (int)gp->pid, gp->device_index, e.msg);
        else if (rc < 0)
            return cli_fail(&e);
    }
    return EXIT_OK;
}

static int show_kill(struct reset_cmd *c, long timeout_secs)
{
    size_t *order = malloc((c->set.count ? c->set.count : 1) * sizeof *order);
    if (!order) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    kill_set_order(&c->set, order);
    struct cli_kill_view v = {
        .doc = {.set = &c->set, .order = order, .stage = DOC_KILL_DONE, .signal = SIGTERM,
                .timeout_secs = timeout_secs, .force = true},
        .color = term_use_color(STDOUT_FILENO, c->ctx.cfg.use_colors),
        .width = c->ctx.cfg.table_width ? c->ctx.cfg.table_width : term_width(STDOUT_FILENO),
    };
    int rc = cli_kill_render_table(&v, stdout);
    free(order);
    return rc < 0 && rc != -EPIPE ? EXIT_GENERAL : EXIT_OK;
}

/* As `kill --force`: SIGTERM, the wait, SIGKILL for the survivors. */
static int end_processes(struct reset_cmd *c)
{
    struct error e = {0};
    int rc = kill_set_init(&c->set, &e) < 0 ? cli_fail(&e) : add_busy(c);
    if (rc || c->set.count == 0)
        return rc;
    if (kill_set_note_gpus(&c->set, c->snap) < 0) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    if (kill_set_check(&c->set, false) > 0) {
        for (size_t i = 0; i < c->set.count; i++) {
            if (!c->set.items[i].refusal.code)
                continue;
            int code = cli_fail(&c->set.items[i].refusal);
            rc = rc ? rc : code;
        }
        fputs("gpuctl: nothing was signalled and no GPU was reset\n", stderr);
        return rc;
    }
    long timeout = c->ctx.cfg.default_timeout_secs;
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = timeout * 1000L, .force = true};
    int left = kill_set_run(&c->set, &o, &e);
    if (left < 0)
        return cli_fail(&e);
    rc = show_kill(c, timeout);
    if (left > 0) {
        fprintf(stderr, "gpuctl: %d process%s did not end; no GPU was reset\n", left,
                left == 1 ? "" : "es");
        return EXIT_GENERAL;
    }
    return rc;
}

static int check_busy(struct reset_cmd *c)
{
    if (c->a.force)
        return end_processes(c);
    if (list_busy(c, stderr) == 0)
        return EXIT_OK;
    fprintf(stderr, "gpuctl: not resetting a GPU in use; end the processes first, or pass "
            "--force to end them (SIGTERM, then SIGKILL after %d s)\n",
            c->ctx.cfg.default_timeout_secs);
    return EXIT_INVALID_ARGS;
}

/* ---- the resets ------------------------------------------------------------------------ */

static void print_output(FILE *out, const char *text)
{
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(out, "  %.*s\n", len, line);
        line = nl ? nl + 1 : NULL;
    }
}

static int reset_all(struct reset_cmd *c)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < c->device_count; i++) {
        const struct device *d = c->devices[i];
        struct error e = {0};
        char *output = NULL, what[160];
        describe_device(d, what, sizeof what);
        if (reset_run(d, &c->methods[i], &output, &e) < 0) {
            fprintf(stderr, "gpuctl: %s%s\n", e.msg, output ? "; its output:" : "");
            print_output(stderr, output);
            rc = rc ? rc : cli_exit_code(e.code);
        } else {
            printf("%s: reset\n", what);
            print_output(stdout, output);
        }
        free(output);
    }
    if (fflush(stdout) == EOF && !rc)
        rc = EXIT_GENERAL;
    return rc;
}

/* ---- command ------------------------------------------------------------------------- */

static int prepare(struct reset_cmd *c, int argc, char **argv)
{
    int rc = parse_args(&c->a, argc, argv);
    if (rc)
        return rc;
    if ((rc = cli_load_config(&c->ctx, &c->a.common)))
        return rc;
    struct error e = {0};
    if (c->a.timeout &&
        config_set_from_flag(&c->ctx.cfg, CONFIG_DEFAULT_TIMEOUT_SECS, c->a.timeout, &e) < 0)
        return cli_usage_error("reset", "--timeout-secs: %s", e.msg);
    return EXIT_OK;
}

int cmd_reset(int argc, char **argv)
{
    struct reset_cmd c = {0};
    int rc = prepare(&c, argc, argv);
    if (rc == EXIT_OK)
        rc = take_snapshot(&c);
    if (rc == EXIT_OK)
        rc = choose_devices(&c);
    if (rc == EXIT_OK)
        rc = check_devices(&c);
    if (rc == EXIT_OK)
        rc = check_busy(&c);
    if (rc == EXIT_OK)
        rc = reset_all(&c);
    kill_set_free(&c.set);
    snapshot_free(c.snap);
    snapshot_ctx_close(c.sctx);
    free(c.devices);
    free(c.methods);
    free(c.a.gpus);
    return rc < 0 ? EXIT_OK : rc;
}
