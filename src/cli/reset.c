/* reset.c - `gpuctl reset`: choosing the GPUs, the checks in their order
 * (index, vendor support, root, processes), ending the processes with
 * --force, and the resets.
 *
 * Ending processes is `kill --force` exactly: the same kill set
 * (ops/kill.h), with its pidfds, safety checks and one wait for all.  The
 * reset itself is ops/reset.c's.  With --output json what happened is
 * gathered per GPU and printed as doc/reset_doc.c's document instead of
 * the lines and the table.
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
#include "doc/json.h"
#include "doc/reset_doc.h"
#include "ops/reset.h"

struct reset_args {
    struct cli_common common;
    int *gpus;
    size_t gpu_count;
    bool all, force;
    const char *timeout, *output;
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
    size_t *kill_order;              /* set's entries as they are shown */
    bool json;
    struct doc_reset_gpu *results;   /* per devices[]: what happened, for the document */
    char **texts;                    /* the results' output and error, two per device */
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
    a->output = q.output;
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
    c->results = calloc(s->device_count ? s->device_count : 1, sizeof *c->results);
    c->texts = calloc(s->device_count ? 2 * s->device_count : 1, sizeof *c->texts);
    if (!c->devices || !c->methods || !c->results || !c->texts) {
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
        if (!chosen)
            continue;
        c->results[c->device_count] = (struct doc_reset_gpu){.device = &s->devices[d],
                                                             .method = &c->methods[
                                                                 c->device_count]};
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

static int order_kill(struct reset_cmd *c)
{
    c->kill_order = malloc((c->set.count ? c->set.count : 1) * sizeof *c->kill_order);
    if (!c->kill_order) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    kill_set_order(&c->set, c->kill_order);
    return EXIT_OK;
}

static struct doc_kill_request kill_doc(const struct reset_cmd *c)
{
    return (struct doc_kill_request){.set = &c->set, .order = c->kill_order,
                                     .stage = DOC_KILL_DONE, .signal = SIGTERM,
                                     .timeout_secs = c->ctx.cfg.default_timeout_secs,
                                     .force = true};
}

static int show_kill(struct reset_cmd *c)
{
    struct cli_kill_view v = {
        .doc = kill_doc(c),
        .color = term_use_color(STDOUT_FILENO, c->ctx.cfg.use_colors),
        .width = c->ctx.cfg.table_width ? c->ctx.cfg.table_width : term_width(STDOUT_FILENO),
    };
    int rc = cli_kill_render_table(&v, stdout);
    return rc < 0 && rc != -EPIPE ? EXIT_GENERAL : EXIT_OK;
}

/* The document of docs/json/reset.md: the processes ended first (when
 * --force ended any) and each GPU's result. */
static int write_document(struct reset_cmd *c)
{
    struct error e = {0};
    struct doc_kill_request ended = kill_doc(c);
    struct doc_reset_request r = {.gpus = c->results, .gpu_count = c->device_count,
                                  .force = c->a.force,
                                  .ended = c->set.count ? &ended : NULL};
    json_t *root = doc_reset_build(&r, &e);
    if (!root)
        return cli_fail(&e);
    int rc = doc_json_write(root, stdout, c->ctx.cfg.output_format == OUTPUT_NDJSON);
    return rc < 0 ? cli_output_failed(rc) : EXIT_OK;
}

/* A process outlived the wait: no GPU is reset, and the document says why. */
static int processes_left(struct reset_cmd *c, int left)
{
    char why[96];
    snprintf(why, sizeof why, "%d process%s on the GPUs did not end", left,
             left == 1 ? "" : "es");
    fprintf(stderr, "gpuctl: %s; no GPU was reset\n", why);
    if (!c->json)
        return EXIT_GENERAL;
    for (size_t i = 0; i < c->device_count; i++) {
        c->results[i].result = DOC_RESET_NOT_ATTEMPTED;
        c->results[i].error = why;
    }
    int rc = write_document(c);
    for (size_t i = 0; i < c->device_count; i++)
        c->results[i].error = NULL;
    return rc ? rc : EXIT_GENERAL;
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
    if ((rc = order_kill(c)))
        return rc;
    if (!c->json)
        rc = show_kill(c);
    return left > 0 ? processes_left(c, left) : rc;
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

/* Resets one GPU; its output and any error are kept in texts[] for the
 * document.  Returns the exit code it calls for. */
static int reset_one(struct reset_cmd *c, size_t i)
{
    const struct device *d = c->devices[i];
    struct doc_reset_gpu *g = &c->results[i];
    struct error e = {0};
    char what[160];
    describe_device(d, what, sizeof what);
    int rc = reset_run(d, &c->methods[i], &c->texts[2 * i], &e);
    g->output = c->texts[2 * i];
    if (rc < 0) {
        g->result = DOC_RESET_FAILED;
        g->error = c->texts[2 * i + 1] = strdup(e.msg);
        bool show = !c->json && g->output;
        fprintf(stderr, "gpuctl: %s%s\n", e.msg, show ? "; its output:" : "");
        if (show)
            print_output(stderr, g->output);
        return g->error ? cli_exit_code(e.code) : EXIT_GENERAL;
    }
    g->result = DOC_RESET_DONE;
    if (!c->json) {
        printf("%s: reset\n", what);
        print_output(stdout, g->output);
    }
    return EXIT_OK;
}

static int reset_all(struct reset_cmd *c)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < c->device_count; i++) {
        int one = reset_one(c, i);
        rc = rc ? rc : one;
    }
    if (c->json) {
        int wrote = write_document(c);
        return rc ? rc : wrote;
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
    if ((rc = cli_apply_table_or_json(&c->ctx, "reset", c->a.output)))
        return rc;
    c->json = c->ctx.cfg.output_format != OUTPUT_TABLE;
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
    for (size_t i = 0; c.texts && i < 2 * c.device_count; i++)
        free(c.texts[i]);
    free(c.texts);
    free(c.results);
    free(c.kill_order);
    free(c.devices);
    free(c.methods);
    free(c.a.gpus);
    return rc < 0 ? EXIT_OK : rc;
}
