/* remote.c - `gpuctl --remote HOSTS COMMAND …` and `--hosts FILE`: the
 * command runs on every host as `gpuctl COMMAND … --output json` over the
 * system ssh (src/remote), and the documents that come back are decoded
 * and drawn here by the local table code with a HOST column
 * (remote_show.c), or gathered into one JSON document with a `hosts`
 * array.
 *
 * The command's arguments are checked here with its own option table
 * before any host is contacted, so a mistake is reported once, not once
 * per host; they then travel to the remote gpuctl unchanged, each quoted
 * as one word for the remote shell.  Exit code: 0 when every host
 * succeeded, otherwise the worst host's; a one-line summary goes to
 * stderr.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/remote.h"
#include "doc/audit_doc.h"
#include "doc/json.h"
#include "doc/snapshot_doc.h"
#include "remote/askpass.h"
#include "remote/fanout.h"
#include "remote/hosts.h"

#define DEFAULT_TIMEOUT_SECS 30.0
#define CONNECT_TIMEOUT_SECS 10u
#define PASSWORD_MAX 1024

enum remote_command {
    RC_LIST, RC_KILL, RC_RESET, RC_SELECT, RC_AUDIT, RC_ROGUE, RC_GUARD, RC_CONFIG, RC_TOP
};

struct remote_run {
    struct remote_request q;
    struct options_parsed parsed;
    struct remote_host_list hosts;
    struct remote_ssh_options ssh;
    struct remote_askpass askpass;
    char control_dir[PATH_MAX];
    enum remote_command command;
    /* the command's own arguments, checked */
    struct options_parsed cmd_parsed;
    struct list_request list;
    struct kill_request kill;
    struct reset_request reset;
    struct top_request top;
    int top_argc;                   /* top's own arguments, for the monitor */
    char **top_argv;
    struct cli_select_hosts select;
    struct audit_request audit;
    struct guard_request guard;
    struct config_request config;
    unsigned long audit_top;        /* --top, cut here: each host is asked for every user */
    json_t *merged;                 /* audit with json: the merged summary's document */
    bool json, ascii, color;
    char *remote_command;           /* the quoted command line for the remote shell */
    bool watch;                     /* list --watch: streams, not one answer */
    double watch_secs;
    struct remote_job *jobs;
    struct cli_remote_host *results;
};

/* ---- the remote options ------------------------------------------------------------ */

int cli_remote_option_span(int argc, char **argv, int i)
{
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    size_t len = strcspn(arg + 2, "=");
    for (size_t k = 0; k < remote_options.count; k++) {
        const struct options_spec *s = &remote_options.specs[k];
        if (strlen(s->name) != len || strncmp(arg + 2, s->name, len) != 0)
            continue;
        if (s->type == OPTIONS_FLAG || arg[2 + len] == '=' || i + 1 >= argc)
            return 1;
        return 2;
    }
    return 0;
}

static int parse_remote_options(struct remote_run *r, char **ropts, int rcount)
{
    struct error e = {0};
    char **argv = calloc((size_t)rcount + 2, sizeof *argv);
    if (!argv) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    argv[0] = (char *)"gpuctl";
    memcpy(argv + 1, ropts, (size_t)rcount * sizeof *argv);
    int rc = options_parse(&remote_options, rcount + 1, argv, &r->q, &r->parsed, &e);
    if (rc == 0)
        rc = options_apply_env(&remote_options, &r->q, &r->parsed, &e);
    free(argv);
    if (rc < 0)
        return cli_usage_error(NULL, "%s", e.msg);
    return 0;
}

static int load_hosts(struct remote_run *r)
{
    struct error e = {0};
    int rc = 0;
    if (r->q.remote)
        rc = remote_hosts_add_list(&r->hosts, r->q.remote, strlen(r->q.remote), "--remote", &e);
    if (rc == 0 && r->q.hosts_file)
        rc = remote_hosts_load_file(&r->hosts, r->q.hosts_file, &e);
    if (rc == -EINVAL)
        return cli_usage_error(NULL, "%s", e.msg);
    if (rc < 0)
        return cli_fail(&e);
    if (r->hosts.count == 0)
        return cli_usage_error(NULL, r->q.remote || r->q.hosts_file
                                         ? "no hosts to run on: the host list is empty"
                                         : "the ssh options need --remote HOSTS or --hosts FILE");
    return 0;
}

/* ---- the command's arguments ----------------------------------------------------- */

static int check_output(struct remote_run *r, const char *command, const char *output)
{
    if (!output || strcmp(output, "table") == 0)
        return 0;
    if (strcmp(output, "json") == 0) {
        r->json = true;
        return 0;
    }
    return cli_usage_error(command, "--output %s is not supported with --remote; use table or "
                           "json", output);
}

static int parse_with(const struct options_command *t, int argc, char **argv, void *req,
                      struct options_parsed *p)
{
    struct error e = {0};
    if (options_parse(t, argc, argv, req, p, &e) < 0)
        return cli_usage_error(t->name, "%s", e.msg);
    /* Help is the same everywhere: this gpuctl's. */
    if (p->help)
        return options_write_help(t, stdout) < 0 ? EXIT_GENERAL : -1;
    if (p->version) {
        cli_print_version();
        return -1;
    }
    return 0;
}

/* list --watch holds a session per host for as long as it runs. */
static int check_watch(struct remote_run *r)
{
    size_t most = r->q.ssh_fanout ? r->q.ssh_fanout : 32;
    if (r->json)
        return cli_usage_error("list", "--watch with --remote draws tables; --output json is "
                               "for one-shot list");
    if (r->hosts.count > most)
        return cli_usage_error("list", "--watch holds a connection to every host: %zu hosts "
                               "is more than --ssh-fanout %zu", r->hosts.count, most);
    r->watch_secs = r->list.watch_secs;
    if (r->watch_secs <= 0) {
        struct cli_ctx ctx = {0};
        struct cli_common common = {0};
        int rc = cli_load_config(&ctx, &common);
        if (rc)
            return rc;
        r->watch_secs = ctx.cfg.watch_interval_secs;
    }
    return 0;
}

/* audit across hosts: the summaries, merged here. */
static int check_audit(struct remote_run *r, int argc, char **argv)
{
    int rc = parse_with(&audit_options, argc, argv, &r->audit, &r->cmd_parsed);
    if (rc)
        return rc;
    const struct audit_request *q = &r->audit;
    if (q->rogue && !q->summary && !r->cmd_parsed.operand_count && !q->rogue_config &&
        !q->rogue_export && !q->rogue_import) {
        r->command = RC_ROGUE;
        return check_output(r, "audit", q->output);
    }
    if (!q->summary || r->cmd_parsed.operand_count || q->gpus || q->rogue || q->rogue_config ||
        q->rogue_export || q->rogue_import)
        return cli_usage_error("audit", "with --remote, audit takes --summary (with --hours, "
                               "--user, --process, --top, --output) or --rogue");
    r->audit_top = 10;
    if (q->top && (!cli_parse_uint(q->top, 100000, &r->audit_top) || r->audit_top == 0))
        return cli_usage_error("audit", "--top: '%s' is not a whole number from 1 to 100000",
                               q->top);
    return check_output(r, "audit", q->output);
}

/* guard across hosts: what each host's policies find now; nothing edited. */
static int check_guard(struct remote_run *r, int argc, char **argv)
{
    int rc = parse_with(&guard_options, argc, argv, &r->guard, &r->cmd_parsed);
    if (rc)
        return rc;
    /* --test-policies and --output (and --file) alone: any edit is refused. */
    for (size_t i = 0; i < guard_options.count; i++) {
        const char *name = guard_options.specs[i].name;
        if (strcmp(name, "test-policies") != 0 && strcmp(name, "output") != 0 &&
            strcmp(name, "file") != 0 && options_given(&guard_options, &r->cmd_parsed, name))
            return cli_usage_error("guard", "with --remote, guard takes --test-policies (and "
                                   "--file, --output) only, not --%s", name);
    }
    if (!r->guard.test || r->cmd_parsed.operand_count)
        return cli_usage_error("guard", "with --remote: gpuctl --remote HOSTS guard "
                               "--test-policies");
    return check_output(r, "guard", r->guard.output);
}

/* top on one host: the monitor here, fed by the host's list --watch. */
static int check_top(struct remote_run *r, int argc, char **argv)
{
    r->command = RC_TOP;
    int rc = parse_with(&top_options, argc, argv, &r->top, &r->cmd_parsed);
    if (rc)
        return rc;
    if (r->hosts.count != 1)
        return cli_usage_error("top", "with --remote, top watches one host, not %zu",
                               r->hosts.count);
    if (r->top.once)
        return cli_usage_error("top", "--once with --remote: use gpuctl --remote HOST list "
                               "--details");
    r->top_argc = argc;
    r->top_argv = argv;
    return 0;
}

static int check_command(struct remote_run *r, int argc, char **argv)
{
    const char *name = argv[0];
    int rc;
    if (strcmp(name, "list") == 0) {
        r->command = RC_LIST;
        if ((rc = parse_with(&list_options, argc, argv, &r->list, &r->cmd_parsed)))
            return rc;
        r->watch = options_given(&list_options, &r->cmd_parsed, "watch");
        r->ascii = r->list.ascii;
        r->color = r->color && !r->list.no_color;
        if ((rc = check_output(r, name, r->list.output)))
            return rc;
        return r->watch ? check_watch(r) : 0;
    }
    if (strcmp(name, "kill") == 0) {
        r->command = RC_KILL;
        if ((rc = parse_with(&kill_options, argc, argv, &r->kill, &r->cmd_parsed)))
            return rc;
        return check_output(r, name, r->kill.output);
    }
    if (strcmp(name, "reset") == 0) {
        r->command = RC_RESET;
        if ((rc = parse_with(&reset_options, argc, argv, &r->reset, &r->cmd_parsed)))
            return rc;
        if ((r->reset.gpu.count > 0) == r->reset.all)
            return cli_usage_error(name, "name the GPUs with either --gpu or --all");
        return check_output(r, name, r->reset.output);
    }
    if (strcmp(name, "top") == 0)
        return check_top(r, argc, argv);
    if (strcmp(name, "select") == 0) {
        r->command = RC_SELECT;
        return cli_select_hosts_parse(argc, argv, &r->select);
    }
    if (strcmp(name, "audit") == 0) {
        r->command = RC_AUDIT;
        return check_audit(r, argc, argv);
    }
    if (strcmp(name, "guard") == 0) {
        r->command = RC_GUARD;
        return check_guard(r, argc, argv);
    }
    if (strcmp(name, "config") == 0) {
        r->command = RC_CONFIG;
        if ((rc = parse_with(&config_options, argc, argv, &r->config, &r->cmd_parsed)))
            return rc;
        if (r->cmd_parsed.operand_count != 1 || strcmp(r->cmd_parsed.operands[0], "show") != 0)
            return cli_usage_error("config", "with --remote: gpuctl --remote HOSTS config show");
        r->ascii = r->config.ascii;
        return check_output(r, "config", r->config.output);
    }
    return cli_usage_error(NULL, "--remote works with list, kill, select, reset, audit "
                           "--summary, audit --rogue, guard --test-policies and config show, "
                           "not '%s'", name);
}

/* The words the remote gpuctl runs: the command and its arguments as given
 * (select asks for the snapshot and chooses here), then --output json,
 * which wins over an earlier --output. */
static int build_remote_command(struct remote_run *r, int argc, char **argv)
{
    const char *path = r->q.remote_path ? r->q.remote_path : "gpuctl";
    const char **words = calloc((size_t)argc + 7, sizeof *words);
    if (!words)
        return -ENOMEM;
    size_t n = 0;
    words[n++] = path;
    if (r->command == RC_SELECT) {
        words[n++] = "list";
        if (r->select.processes)
            words[n++] = "--details";
    } else if (r->command == RC_TOP) {
        /* the monitor's filters apply here; the host sends every process */
        words[n++] = "list";
        words[n++] = "--watch";
        if (r->top.interval)
            words[n++] = r->top.interval;
        words[n++] = "--details";
    } else {
        for (int i = 0; i < argc; i++)
            words[n++] = argv[i];
    }
    if (r->command == RC_AUDIT) {
        words[n++] = "--top";              /* every user: the ranking is made here */
        words[n++] = "100000";
    }
    words[n++] = "--output";
    /* --watch: one document a line */
    words[n++] = r->watch || r->command == RC_TOP ? "ndjson" : "json";
    r->remote_command = remote_shell_quote(words, n);
    free(words);
    return r->remote_command ? 0 : -ENOMEM;
}

/* ---- ssh ---------------------------------------------------------------------------- */

static bool have_terminal(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The password from the terminal without echo, or else stdin's first line. */
static int read_password(char *buf, size_t size)
{
    FILE *in = fopen("/dev/tty", "r+e");
    struct termios old, quiet;
    bool tty = in && tcgetattr(fileno(in), &old) == 0;
    if (tty) {
        fputs("ssh password: ", in);
        fflush(in);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)size, tty ? in : stdin);
    if (tty) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fputc('\n', in);
    }
    if (in)
        fclose(in);
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int set_up_password(struct remote_run *r)
{
    char pw[PASSWORD_MAX];
    fputs("gpuctl: --ssh-password: keys are safer (ssh-keygen, ssh-copy-id); the password "
          "goes to ssh only through SSH_ASKPASS\n", stderr);
    if (read_password(pw, sizeof pw) < 0) {
        fputs("gpuctl: --ssh-password: no password given (nothing on the terminal or "
              "stdin)\n", stderr);
        return EXIT_INVALID_ARGS;
    }
    struct error e = {0};
    int rc = remote_askpass_init(&r->askpass, pw, strlen(pw), &e);
    explicit_bzero(pw, sizeof pw);
    return rc < 0 ? cli_fail(&e) : 0;
}

static int set_up_ssh(struct remote_run *r)
{
    struct remote_ssh_options *o = &r->ssh;
    o->user = r->q.ssh_user;
    o->port = (unsigned)r->q.ssh_port;
    o->identity = r->q.ssh_key;
    o->config = r->q.ssh_config && *r->q.ssh_config ? r->q.ssh_config : NULL;
    o->accept_new = r->q.ssh_accept_new;
    o->password = r->q.ssh_password;
    o->batch = !have_terminal();
    double timeout = r->q.ssh_timeout > 0 ? r->q.ssh_timeout : DEFAULT_TIMEOUT_SECS;
    o->connect_timeout = timeout < CONNECT_TIMEOUT_SECS ? (unsigned)timeout
                                                        : CONNECT_TIMEOUT_SECS;
    struct error e = {0};
    if (remote_control_dir(r->control_dir, sizeof r->control_dir, &e) == 0)
        o->control_dir = r->control_dir;
    else
        fprintf(stderr, "gpuctl: not sharing ssh connections: %s\n", e.msg);
    return o->password ? set_up_password(r) : 0;
}

static double host_timeout(const struct remote_run *r)
{
    return r->q.ssh_timeout > 0 ? r->q.ssh_timeout : DEFAULT_TIMEOUT_SECS;
}

static int make_jobs(struct remote_run *r)
{
    struct error e = {0};
    size_t n = r->hosts.count;
    r->jobs = calloc(n, sizeof *r->jobs);
    r->results = calloc(n, sizeof *r->results);
    if (!r->jobs || !r->results) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < n; i++)
        if (remote_ssh_argv(&r->ssh, &r->hosts.hosts[i], r->remote_command, &r->jobs[i].argv,
                            &e) < 0)
            return cli_fail(&e);
    return 0;
}

static int run_watch(struct remote_run *r)
{
    size_t n = r->hosts.count;
    const char **labels = calloc(n, sizeof *labels);
    char ***argvs = calloc(n, sizeof *argvs);
    int rc = labels && argvs ? 0 : EXIT_GENERAL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        labels[i] = r->hosts.hosts[i].label;
        argvs[i] = r->jobs[i].argv;
    }
    struct cli_remote_watch w = {
        .labels = labels, .argvs = argvs, .n = n, .envp = r->askpass.envp,
        .interval_secs = r->watch_secs, .first_frame_secs = host_timeout(r),
        .details = r->list.details || r->list.pid.count || r->list.user.count ||
                   r->list.filter,
        .containers = r->list.containers, .ascii = r->ascii, .color = r->color,
        .screen = isatty(STDOUT_FILENO),
    };
    if (rc == 0)
        rc = cli_remote_watch(&w);
    else
        fputs("gpuctl: out of memory\n", stderr);
    free(labels);
    free(argvs);
    return rc;
}

struct top_frames {
    struct remote_run *r;
    struct cli_remote_top *t;
};

static int open_top_frames(void *ctx, const struct tui_source **src, struct error *e)
{
    struct top_frames *f = ctx;
    struct remote_run *r = f->r;
    int rc = cli_remote_top_open(&f->t, r->hosts.hosts[0].label, r->jobs[0].argv,
                                 r->askpass.envp, host_timeout(r), e);
    if (rc == 0)
        *src = cli_remote_top_source(f->t);
    return rc;
}

static void close_top_frames(void *ctx)
{
    struct top_frames *f = ctx;
    cli_remote_top_close(f->t);
    f->t = NULL;
}

/* top's own arguments are checked by top.c before the host's stream starts. */
static int run_top(struct remote_run *r)
{
    struct top_frames f = {.r = r};
    const struct cli_top_frames frames = {.open = open_top_frames, .close = close_top_frames,
                                          .ctx = &f};
    return cli_top_run(r->top_argc, r->top_argv, &frames);
}

static int run_ssh(struct remote_run *r)
{
    struct error e = {0};
    size_t n = r->hosts.count;
    struct remote_fanout_options fo = {
        .parallel = r->q.ssh_fanout,
        .deadline_secs = host_timeout(r),
        .envp = r->askpass.envp,
    };
    return remote_fanout_run(r->jobs, n, &fo, &e) < 0 ? cli_fail(&e) : 0;
}

/* ---- what each host said ------------------------------------------------------------ */

static bool says_too_old(const struct remote_job *j)
{
    return j->err && (strstr(j->err, "unknown option '--output'") ||
                      strstr(j->err, "unrecognized option") ||
                      strstr(j->err, "unknown option --output"));
}

/* A document where one is expected, decoded for list and select. */
static void read_document(struct remote_run *r, struct cli_remote_host *h,
                          const struct remote_job *j)
{
    json_error_t je;
    if (j->out_len)
        h->doc = json_loadb(j->out, j->out_len, 0, &je);
    if (h->status != REMOTE_OK)
        return;
    if (!h->doc) {
        h->status = REMOTE_BAD_OUTPUT;
        snprintf(h->error, sizeof h->error, j->out_len ? "the remote gpuctl printed no JSON "
                 "document (line %d: %s); is it too old to answer in JSON?"
                 : "the remote gpuctl printed nothing", je.line, je.text);
        return;
    }
    if (r->command == RC_KILL)
        return;
    static const char *const needs[] = {[RC_RESET] = "gpus", [RC_ROGUE] = "findings",
                                        [RC_GUARD] = "violations", [RC_CONFIG] = "keys"};
    if (r->command == RC_RESET || r->command == RC_ROGUE || r->command == RC_GUARD ||
        r->command == RC_CONFIG) {
        const json_t *v = json_object_get(h->doc, needs[r->command]);
        if (r->command == RC_CONFIG ? !json_is_object(v) : !json_is_array(v)) {
            h->status = REMOTE_BAD_OUTPUT;
            snprintf(h->error, sizeof h->error, "its document has no '%s'", needs[r->command]);
        }
        return;
    }
    struct error e = {0};
    if (r->command == RC_AUDIT) {
        if (doc_audit_summary_decode(h->doc, &h->summary, &e) < 0) {
            h->status = REMOTE_BAD_OUTPUT;
            snprintf(h->error, sizeof h->error, "cannot read its audit summary: %s", e.msg);
        }
        return;
    }
    if (doc_snapshot_decode(h->doc, &h->snap, &e) < 0) {
        h->status = REMOTE_BAD_OUTPUT;
        snprintf(h->error, sizeof h->error, "cannot read its snapshot: %s", e.msg);
    }
}

static int host_exit_code(const struct cli_remote_host *h, const struct remote_job *j)
{
    if (h->status == REMOTE_OK)
        return EXIT_OK;
    if (h->status == REMOTE_FAILED && WIFEXITED(j->wait_status))
        return WEXITSTATUS(j->wait_status);
    return EXIT_GENERAL;
}

static void gather(struct remote_run *r)
{
    for (size_t i = 0; i < r->hosts.count; i++) {
        struct cli_remote_host *h = &r->results[i];
        const struct remote_job *j = &r->jobs[i];
        h->label = r->hosts.hosts[i].label;
        if (j->spawn_error) {
            h->status = REMOTE_SSH_FAILED;
            snprintf(h->error, sizeof h->error, "cannot run ssh: %s", strerror(j->spawn_error));
        } else {
            h->status = remote_classify(j->wait_status, j->timed_out, j->err, j->err_len,
                                        h->error, sizeof h->error);
            if (h->status == REMOTE_FAILED && says_too_old(j)) {
                h->status = REMOTE_BAD_OUTPUT;
                snprintf(h->error, sizeof h->error, "the remote gpuctl is too old to answer "
                         "in JSON (no --output json); upgrade it");
            } else if (j->truncated) {
                h->status = REMOTE_BAD_OUTPUT;
                snprintf(h->error, sizeof h->error, "the remote printed more than 64 MiB");
            }
            read_document(r, h, j);
        }
        h->exit_code = host_exit_code(h, j);
    }
}

/* ---- output ----------------------------------------------------------------------- */

static const char *command_name(enum remote_command c)
{
    static const char *const names[] = {[RC_LIST] = "list", [RC_KILL] = "kill",
                                        [RC_RESET] = "reset", [RC_SELECT] = "select", [RC_AUDIT] = "audit",
                                        [RC_ROGUE] = "audit", [RC_GUARD] = "guard",
                                        [RC_CONFIG] = "config", [RC_TOP] = "top"};
    return names[c];
}

static int write_json(struct remote_run *r)
{
    json_t *root = json_object(), *hosts = json_array();
    int rc = root && hosts ? 0 : -ENOMEM;
    if (rc == 0)
        rc = json_object_set_new(root, "command", json_string(command_name(r->command))) |
             json_object_set(root, "hosts", hosts) ? -ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < r->hosts.count; i++) {
        const struct cli_remote_host *h = &r->results[i];
        json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:O}", "host", h->label, "status",
                              remote_status_name(h->status), "exit_code", h->exit_code,
                              "error", h->error[0] ? json_string(h->error) : json_null(),
                              "document", h->doc ? h->doc : json_null());
        if (!o || json_array_append_new(hosts, o) < 0)
            rc = -ENOMEM;
    }
    json_decref(hosts);
    if (rc == 0 && r->merged && json_object_set(root, "merged", r->merged) < 0)
        rc = -ENOMEM;
    if (rc == 0)
        rc = doc_json_write(root, stdout, false);    /* drops root */
    else
        json_decref(root);
    if (rc < 0) {
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
        return EXIT_GENERAL;
    }
    return 0;
}

static int show(struct remote_run *r)
{
    size_t n = r->hosts.count;
    if (r->command == RC_SELECT) {
        int rc = cli_remote_show_select(r->results, n, &r->select, stdout);
        for (size_t i = 0; i < n; i++)
            if (r->results[i].status != REMOTE_OK && r->results[i].exit_code == 0)
                r->results[i].exit_code = EXIT_GENERAL;
        return rc;
    }
    if (r->command == RC_AUDIT) {
        int rc = cli_remote_show_audit(r->results, n, r->audit_top, r->json, &r->merged,
                                       stdout);
        if (rc || !r->json)
            return rc;
    }
    if (r->json)
        return write_json(r);
    if (r->command == RC_LIST) {
        bool details = r->list.details || r->list.pid.count || r->list.user.count ||
                       r->list.filter;
        return cli_remote_show_list(r->results, n, details, r->list.containers, r->ascii,
                                    r->color, stdout);
    }
    if (r->command == RC_ROGUE)
        return cli_remote_show_rogue(r->results, n, r->ascii, r->color, stdout);
    if (r->command == RC_GUARD)
        return cli_remote_show_policies(r->results, n, r->ascii, r->color, stdout);
    if (r->command == RC_CONFIG)
        return cli_remote_show_config(r->results, n, r->ascii, r->color, stdout);
    if (r->command == RC_RESET)
        return cli_remote_show_reset(r->results, n, r->ascii, r->color, stdout);
    return cli_remote_show_kill(r->results, n, r->ascii, r->color, stdout);
}

/* "gpuctl: 3 hosts: 2 ok, 1 unreachable" */
static void summary(const struct remote_run *r)
{
    size_t counts[REMOTE_BAD_OUTPUT + 1] = {0};
    for (size_t i = 0; i < r->hosts.count; i++)
        counts[r->results[i].status]++;
    fprintf(stderr, "gpuctl: %zu host%s:", r->hosts.count, r->hosts.count == 1 ? "" : "s");
    const char *sep = " ";
    for (size_t s = 0; s <= REMOTE_BAD_OUTPUT; s++) {
        if (!counts[s])
            continue;
        fprintf(stderr, "%s%zu %s", sep, counts[s], remote_status_name((enum remote_status)s));
        sep = ", ";
    }
    fputc('\n', stderr);
}

static int worst_code(const struct remote_run *r)
{
    int worst = 0;
    for (size_t i = 0; i < r->hosts.count; i++)
        if (r->results[i].exit_code > worst)
            worst = r->results[i].exit_code;
    return worst;
}

/* ---- the command ----------------------------------------------------------------- */

static void remote_run_clear(struct remote_run *r)
{
    for (size_t i = 0; r->jobs && i < r->hosts.count; i++) {
        remote_argv_free(r->jobs[i].argv);
        remote_job_clear(&r->jobs[i]);
    }
    for (size_t i = 0; r->results && i < r->hosts.count; i++) {
        json_decref(r->results[i].doc);
        snapshot_free(r->results[i].snap);
        audit_summary_free(r->results[i].summary);
    }
    free(r->jobs);
    free(r->results);
    free(r->remote_command);
    json_decref(r->merged);
    cli_select_hosts_clear(&r->select);
    options_parsed_clear(&r->cmd_parsed);
    options_parsed_clear(&r->parsed);
    remote_hosts_clear(&r->hosts);
    remote_askpass_clear(&r->askpass);
}

static int prepare(struct remote_run *r, char **ropts, int rcount, int argc, char **argv)
{
    int rc = parse_remote_options(r, ropts, rcount);
    if (rc == 0)
        rc = load_hosts(r);
    r->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    if (rc == 0)
        rc = check_command(r, argc, argv);
    if (rc == 0 && build_remote_command(r, argc, argv) < 0) {
        fputs("gpuctl: out of memory\n", stderr);
        rc = EXIT_GENERAL;
    }
    if (rc == 0)
        rc = set_up_ssh(r);
    return rc;
}

int cli_remote_run(char **ropts, int rcount, int argc, char **argv)
{
    struct remote_run r = {.askpass = {.fd = -1}};
    int rc = prepare(&r, ropts, rcount, argc, argv);
    if (rc == 0)
        rc = make_jobs(&r);
    if (rc == 0 && (r.watch || r.command == RC_TOP)) {
        rc = r.watch ? run_watch(&r) : run_top(&r);
        remote_run_clear(&r);
        return rc;
    }
    if (rc == 0)
        rc = run_ssh(&r);
    if (rc == 0) {
        gather(&r);
        rc = show(&r);
        summary(&r);
        if (rc == 0)
            rc = worst_code(&r);
    }
    remote_run_clear(&r);
    return rc < 0 ? EXIT_OK : rc;   /* -1: --help or --version was printed */
}

int cli_remote_askpass(const char *prompt)
{
    struct error e = {0};
    if (remote_askpass_answer(prompt, stdout, &e) < 0) {
        fprintf(stderr, "gpuctl (askpass): %s\n", e.msg);
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}
