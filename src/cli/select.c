/* select.c - `gpuctl select`: choose GPUs for a CUDA job, print them or
 * run the job on them.
 *
 * This file parses the flags, loads the configuration, takes a snapshot
 * (under --wait, subscribes to a feed and checks each fresh frame), prints the
 * chosen devices or replaces itself with the command after `--`.  Which
 * devices qualify and in what order is decided by src/ops/select.c.
 */
#include <pwd.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/snapshot.h"
#include "core/str.h"
#include "core/units.h"
#include "feed/feed.h"
#include "ops/select.h"
#include "cli/remote.h"

struct select_args {
    struct cli_common common;
    struct options_parsed parsed;  /* owns the --account-as-free names */
    struct select_constraints k;
    bool min_set, max_set, count_set;
    size_t count;
    bool uuid;                 /* --format uuid */
    const char *sep;           /* --sep; NULL: "," */
    int separators;            /* how many of --sep, --newline, --null */
    bool newline, null;
    bool wait;
    double wait_secs;          /* 0: watch_interval_secs */
    bool inherit_value_set;    /* --inherit=VALUE rather than the environment */
    const char **users;        /* --account-as-free names */
    bool account_as_free;
    char **command;            /* after `--`; NULL: print */
};

/* ---- arguments --------------------------------------------------------------------- */

/* The option table (select_opts.c) checks every value it can; sizes are
 * units.h's to read. */
static int parse_size(const char *flag, const char *v, bool *set, uint64_t *out)
{
    struct error e = {0};
    if (!v)
        return 0;
    if (units_parse_size(v, strlen(v), out, &e) < 0)
        return cli_usage_error("select", "%s: %s", flag, e.msg);
    *set = true;
    return 0;
}

static void take_counts_and_rates(struct select_args *a, const struct select_request *q)
{
    struct select_constraints *k = &a->k;
    const struct options_command *t = &select_options;
    a->min_set = options_given(t, &a->parsed, "min-count");
    a->max_set = options_given(t, &a->parsed, "max-count");
    a->count_set = options_given(t, &a->parsed, "count");
    k->min_count = q->min_count;
    k->max_count = q->max_count;
    a->count = q->count;
    k->max_gpu_util_set = options_given(t, &a->parsed, "max-gpu-utilization");
    k->max_gpu_util_pct = (unsigned)q->max_gpu;
    k->max_mem_util_set = options_given(t, &a->parsed, "max-memory-utilization");
    k->max_mem_util_pct = (unsigned)q->max_mem;
    k->tolerance_pct = (unsigned)q->tolerance;
}

static int take_output(struct select_args *a, const struct select_request *q)
{
    a->uuid = q->format && strcmp(q->format, "uuid") == 0;
    if (q->sep && !q->sep[0])
        return cli_usage_error("select", "--sep: the separator cannot be empty");
    a->sep = q->sep;
    a->newline = q->newline;
    a->null = q->null;
    a->separators = (q->sep != NULL) + q->newline + q->null;
    a->wait = options_given(&select_options, &a->parsed, "wait");
    a->wait_secs = q->wait_secs;
    return 0;
}

static int take_request(struct select_args *a, const struct select_request *q)
{
    take_counts_and_rates(a, q);
    int rc = parse_size("--min-free-memory", q->min_free, &a->k.min_free_set,
                        &a->k.min_free_bytes);
    if (rc == 0)
        rc = parse_size("--min-total-memory", q->min_total, &a->k.min_total_set,
                        &a->k.min_total_bytes);
    if (rc)
        return rc;
    a->k.inherit = options_given(&select_options, &a->parsed, "inherit");
    a->inherit_value_set = q->inherit != NULL;
    a->k.cuda_visible_devices = q->inherit;
    a->account_as_free = options_given(&select_options, &a->parsed, "account-as-free");
    a->users = calloc(q->account_as_free.count + 1, sizeof *a->users);
    if (!a->users) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < q->account_as_free.count; i++)
        a->users[a->k.free_user_count++] = q->account_as_free.values[i];
    a->k.free_users = a->users;
    return take_output(a, q);
}

/* nvisel's rules: --count N is --min-count N --max-count N and wins over
 * them; a maximum below the minimum is a mistake. */
static int check_counts(struct select_args *a)
{
    struct select_constraints *k = &a->k;
    /* Placing a job is the point of the command form: running it on no GPU
     * because nothing qualified would hide the failure, so it needs one. */
    if (a->command && !a->min_set && !a->count_set)
        k->min_count = 1;
    if (a->count_set)
        k->min_count = k->max_count = a->count;
    else if (!a->max_set)
        k->max_count = SELECT_NO_MAX;
    if (k->max_count < k->min_count)
        return cli_usage_error("select", "--max-count %zu is below --min-count %zu",
                               k->max_count, k->min_count);
    return 0;
}

static int check_args(struct select_args *a)
{
    if (a->separators > 1)
        return cli_usage_error("select", "--sep, --newline and --null exclude each other");
    if (a->command && a->separators)
        return cli_usage_error("select", "--sep, --newline and --null shape printed output; "
                               "with a command the selection goes to CUDA_VISIBLE_DEVICES");
    return check_counts(a);
}

static int parse_args(struct select_args *a, int argc, char **argv)
{
    struct select_request q = {0};
    int rc = cli_parse_options(&select_options, argc, argv, &q, &a->parsed, &a->common);
    if (rc)
        return rc;
    if (a->parsed.dashdash) {
        if (a->parsed.rest_count == 0)
            return cli_usage_error("select", "'--' must be followed by a command");
        a->command = a->parsed.rest;
    }
    if ((rc = take_request(a, &q)))
        return rc;
    return check_args(a);
}

/* ---- choosing ---------------------------------------------------------------------- */

/* Set by the SIGINT/SIGTERM handler while --wait sleeps: the only way a
 * signal can reach the loop, hence the one global. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_stop_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

struct select_run {
    struct cli_ctx ctx;
    struct select_args args;
    struct snapshot_ctx *sctx;        /* one check */
    struct feed *feed;                /* --wait: a check per frame */
    struct feed_sub *sub;
    char self_user[64];
    const char *self_users[1];
};

/* Processes are listed only when their owners matter (--account-as-free). */
static struct snapshot_options snapshot_wanted(const struct select_run *r)
{
    bool procs = r->args.account_as_free;
    return (struct snapshot_options){.processes = procs, .host_processes = procs,
                                     .host_fields = SNAPSHOT_HOST_USER};
}

static int choose_from(struct select_run *r, const struct snapshot *s,
                       struct select_result *res)
{
    struct error e = {0};
    return select_devices(s, &r->args.k, res, &e) < 0 ? cli_fail(&e) : EXIT_OK;
}

/* One snapshot, one choice. */
static int choose_once(struct select_run *r, struct select_result *res)
{
    struct error e = {0};
    struct snapshot *s;
    struct snapshot_options o = snapshot_wanted(r);
    if (snapshot_ctx_open(&r->sctx, &e) < 0 || snapshot_take(r->sctx, &o, &s, &e) < 0)
        return cli_fail(&e);
    int rc = choose_from(r, s, res);
    snapshot_free(s);
    if (rc == EXIT_OK && !res->enough) {
        fprintf(stderr, "gpuctl: not enough devices: %s\n", res->reason);
        return EXIT_GENERAL;
    }
    return rc;
}

static int interrupted(const char *last_reason)
{
    fprintf(stderr, "gpuctl: interrupted while waiting for devices%s%s\n",
            last_reason[0] ? "; the last check said: " : "", last_reason);
    return EXIT_GENERAL;
}

static int start_feed(struct select_run *r)
{
    struct error e = {0};
    const struct feed_options fo = {
        .interval_s = r->args.wait_secs > 0 ? r->args.wait_secs : r->ctx.cfg.watch_interval_secs,
        .snap = snapshot_wanted(r),
        .timeout_s = r->ctx.cfg.default_timeout_secs,
    };
    if (feed_start(&r->feed, &fo, &e) < 0 || feed_subscribe(r->feed, &r->sub, &e) < 0)
        return cli_fail(&e);
    return EXIT_OK;
}

/* Says why it still waits when the reason changed, so the wait is never
 * silent. */
static void say_waiting(char *last, size_t size, const char *reason)
{
    if (strcmp(last, reason) != 0) {
        fprintf(stderr, "gpuctl: waiting: %s\n", reason);
        str_copy(last, size, reason);
    }
}

/* --wait: a choice on each fresh frame until enough devices qualify.  A
 * stale frame is old data: nothing is chosen on it. */
static int choose_waiting(struct select_run *r, struct select_result *res)
{
    char last[sizeof res->reason] = "";
    int rc = start_feed(r);
    if (rc != EXIT_OK)
        return rc;
    install_stop_handlers();
    while (!stop_requested) {
        struct feed_frame *fr = feed_sub_wait(r->sub, -1);
        struct error e = {0};
        if (!fr && feed_sub_error(r->sub, &e) < 0)
            return cli_fail(&e);
        if (fr && fr->stale)
            say_waiting(last, sizeof last, "the GPU driver does not answer");
        if (!fr || fr->stale) {
            feed_frame_unref(fr);
            continue;
        }
        rc = choose_from(r, fr->snap, res);
        feed_frame_unref(fr);
        /* A Ctrl-C that came while checking still ends the wait. */
        if (rc != EXIT_OK || (res->enough && !stop_requested))
            return rc;
        if (!res->enough)
            say_waiting(last, sizeof last, res->reason);
        select_result_clear(res);
    }
    return interrupted(last);
}

/* Chooses until enough devices qualify (once without --wait). */
static int choose(struct select_run *r, struct select_result *res)
{
    return r->args.wait ? choose_waiting(r, res) : choose_once(r, res);
}

/* ---- output -------------------------------------------------------------------------- */

/* Whether every chosen device can be named in the format: a device whose
 * UUID is unknown cannot be named by UUID (says so when not). */
static bool nameable(const struct select_result *res, bool uuid)
{
    for (size_t i = 0; uuid && i < res->count; i++) {
        if (!res->devices[i].uuid[0]) {
            fprintf(stderr, "gpuctl: GPU %d has no known UUID to print\n",
                    res->devices[i].device_index);
            return false;
        }
    }
    return true;
}

/* The identifiers, sep (sep_len bytes: it may be a NUL) between them. */
static void write_ids(FILE *f, const struct select_result *res, bool uuid, const char *sep,
                      size_t sep_len)
{
    for (size_t i = 0; i < res->count; i++) {
        const struct select_device *d = &res->devices[i];
        if (i)
            fwrite(sep, 1, sep_len, f);
        if (uuid)
            fputs(d->uuid, f);
        else
            fprintf(f, "%d", d->cuda_index);
    }
}

static bool uuid_format(const struct select_run *r, const struct select_result *res)
{
    return r->args.uuid || res->uuid_required;
}

/* Nothing at all for an empty selection; otherwise the list and a
 * terminator: NUL with --null (NUL between them too), else a newline. */
static int print_selection(const struct select_run *r, const struct select_result *res)
{
    const struct select_args *a = &r->args;
    const char *sep = a->null ? "" : a->newline ? "\n" : a->sep ? a->sep : ",";
    size_t sep_len = a->null ? 1 : strlen(sep);
    if (res->count == 0)
        return EXIT_OK;
    if (!nameable(res, uuid_format(r, res)))
        return EXIT_GENERAL;
    errno = 0;
    write_ids(stdout, res, uuid_format(r, res), sep, sep_len);
    putchar(a->null ? '\0' : '\n');
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(errno));
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

/* The selection as CUDA_VISIBLE_DEVICES wants it, or NULL after printing
 * why not. */
static char *visible_devices_value(const struct select_run *r, const struct select_result *res)
{
    char *text = NULL;
    size_t len = 0;
    if (!nameable(res, uuid_format(r, res)))
        return NULL;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        fputs("gpuctl: out of memory\n", stderr);
        return NULL;
    }
    write_ids(f, res, uuid_format(r, res), ",", 1);
    if (fclose(f) != 0) {
        fputs("gpuctl: out of memory\n", stderr);
        free(text);
        return NULL;
    }
    return text;
}

/* ---- running the command ----------------------------------------------------------- */

/* Replaces gpuctl with the command, so its exit status is the command's.
 * Only returns on failure: 127 when the command is not found, else 126
 * (the shell's convention). */
static int run_command(struct select_run *r, const struct select_result *res)
{
    char *ids = visible_devices_value(r, res);
    if (!ids)
        return EXIT_GENERAL;
    int rc = EXIT_GENERAL;
    if (setenv("CUDA_VISIBLE_DEVICES", ids, 1) < 0 ||
        setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1) < 0) {
        fprintf(stderr, "gpuctl: cannot set the environment: %s\n", strerror(errno));
    } else {
        cli_log(&r->ctx, LOG_INFO, "running %s with CUDA_VISIBLE_DEVICES=%s", r->args.command[0],
                ids);
        /* The job gets the signal dispositions gpuctl was given: main()
         * ignores SIGPIPE, and an ignored signal stays ignored across exec. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        snapshot_ctx_close(r->sctx);
        r->sctx = NULL;
        feed_unsubscribe(r->sub);
        r->sub = NULL;
        feed_stop(r->feed);
        r->feed = NULL;
        fflush(NULL);
        execvp(r->args.command[0], r->args.command);
        int err = errno;
        fprintf(stderr, "gpuctl: cannot run '%s': %s\n", r->args.command[0], strerror(err));
        rc = err == ENOENT ? 127 : 126;
    }
    free(ids);
    return rc;
}

/* ---- command --------------------------------------------------------------------- */

/* The caller's name as /proc attribution reports it: the name, or the
 * numeric uid when it has none. */
static void find_self_user(char *buf, size_t size)
{
    struct passwd pw, *res = NULL;
    char scratch[1024];
    if (getpwuid_r(getuid(), &pw, scratch, sizeof scratch, &res) == 0 && res)
        str_copy(buf, size, res->pw_name);
    else
        snprintf(buf, size, "%u", (unsigned)getuid());
}

static int prepare(struct select_run *r, int argc, char **argv)
{
    struct select_args *a = &r->args;
    int rc = parse_args(a, argc, argv);
    if (rc)
        return rc;
    if ((rc = cli_load_config(&r->ctx, &a->common)))
        return rc;
    if (a->k.inherit && !a->inherit_value_set)
        a->k.cuda_visible_devices = getenv("CUDA_VISIBLE_DEVICES");
    if (a->account_as_free && a->k.free_user_count == 0) {
        find_self_user(r->self_user, sizeof r->self_user);
        r->self_users[0] = r->self_user;
        a->k.free_users = r->self_users;
        a->k.free_user_count = 1;
    }
    return 0;
}

static int select_and_act(struct select_run *r)
{
    struct select_result res = {0};
    int rc = choose(r, &res);
    if (rc == EXIT_OK)
        rc = r->args.command ? run_command(r, &res) : print_selection(r, &res);
    select_result_clear(&res);
    return rc;
}

int cmd_select(int argc, char **argv)
{
    struct select_run r = {0};
    int rc = prepare(&r, argc, argv);
    if (rc == 0)
        rc = select_and_act(&r);
    snapshot_ctx_close(r.sctx);
    feed_unsubscribe(r.sub);
    feed_stop(r.feed);
    free(r.args.users);
    options_parsed_clear(&r.args.parsed);
    return rc < 0 ? EXIT_OK : rc;
}

/* ---- across hosts (--remote) ------------------------------------------------------ */

/* What only makes sense on this machine is refused: running a command
 * here, waiting, this shell's CUDA_VISIBLE_DEVICES, and the caller's own
 * name as the owner whose memory counts as free. */
static int check_for_hosts(const struct select_args *a)
{
    const char *what = a->command ? "a command after '--'"
                       : a->wait ? "--wait"
                       : a->k.inherit ? "--inherit"
                       : a->separators ? "--sep, --newline and --null"
                       : a->account_as_free && a->k.free_user_count == 0
                           ? "--account-as-free without user names" : NULL;
    if (what)
        return cli_usage_error("select", "%s cannot be used with --remote", what);
    return 0;
}

int cli_select_hosts_parse(int argc, char **argv, struct cli_select_hosts *out)
{
    struct select_args *a = calloc(1, sizeof *a);
    out->args = a;
    if (!a) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    int rc = parse_args(a, argc, argv);     /* -1: it printed --help or --version */
    if (rc == 0)
        rc = check_for_hosts(a);
    if (rc == 0) {
        out->k = a->k;
        out->uuid = a->uuid;
        out->processes = a->account_as_free;
    }
    return rc;
}

void cli_select_hosts_clear(struct cli_select_hosts *s)
{
    struct select_args *a = s ? s->args : NULL;
    if (!a)
        return;
    free(a->users);
    options_parsed_clear(&a->parsed);
    free(a);
    s->args = NULL;
}

char *cli_select_ids(const struct select_result *res, bool uuid)
{
    for (size_t i = 0; uuid && i < res->count; i++)
        if (!res->devices[i].uuid[0])
            return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    write_ids(f, res, uuid, ",", 1);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
