/* serve.c - `gpuctl serve`: the command-line front of the server.
 *
 * Reads the options (serve_opts.c), the token and the TLS files, blocks
 * SIGINT and SIGTERM into a signalfd that tells the server to stop, says
 * where it listens, and leaves everything else to net/serve.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "net/serve.h"
#include "version.h"

#define SERVE_FILE_MAX (1024 * 1024)

/* Reads a whole small file (a token, a PEM) into a new string. */
static int read_small_file(const char *what, const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "gpuctl: serve: cannot read %s %s: %s\n", what, path, strerror(errno));
        return errno == EACCES ? EXIT_PERMISSION : EXIT_INVALID_ARGS;
    }
    char *buf = malloc(SERVE_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, SERVE_FILE_MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err || n > SERVE_FILE_MAX) {
        free(buf);
        fprintf(stderr, "gpuctl: serve: %s %s is %s\n", what, path,
                !buf ? "too big for memory" : err ? "unreadable" : "larger than 1 MiB");
        return EXIT_INVALID_ARGS;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* The token from --token-file or GPUCTL_TOKEN, trailing white space cut. */
static int read_token(const struct serve_request *q, char **token)
{
    *token = NULL;
    if (q->token_file) {
        int rc = read_small_file("token file", q->token_file, token);
        if (rc)
            return rc;
    } else {
        const char *env = getenv("GPUCTL_TOKEN");
        if (!env || !*env)
            return 0;
        if (!(*token = strdup(env)))
            return EXIT_GENERAL;
    }
    size_t n = strlen(*token);
    while (n && strchr(" \t\r\n", (*token)[n - 1]))
        (*token)[--n] = '\0';
    if (n == 0 || strpbrk(*token, " \t\r\n")) {
        fprintf(stderr, "gpuctl: serve: the token %s must be one word, not empty\n",
                q->token_file ? q->token_file : "in GPUCTL_TOKEN");
        free(*token);
        *token = NULL;
        return EXIT_INVALID_ARGS;
    }
    return 0;
}

/* --listen, or gpu-kill's --server-host and --server-port over the default. */
static const char *listen_address(const struct serve_request *q, bool port_given, char *buf,
                                  size_t size)
{
    if (q->listen && !q->server_host && !port_given)
        return q->listen;
    const char *host = q->server_host ? q->server_host : "127.0.0.1";
    unsigned long port = port_given ? q->server_port : 8080;
    if (q->listen) {
        const char *colon = strrchr(q->listen, ':');
        if (!q->server_host && colon) {
            snprintf(buf, size, "%.*s:%lu", (int)(colon - q->listen), q->listen, port);
            return buf;
        }
    }
    snprintf(buf, size, strchr(host, ':') && host[0] != '[' ? "[%s]:%lu" : "%s:%lu", host, port);
    return buf;
}

static void say_listening(void *cls, unsigned port)
{
    const char *const *where = cls;
    const char *listen = where[0];
    const char *colon = strrchr(listen, ':');
    fprintf(stderr, "gpuctl serve: listening on %s://%.*s:%u\n", where[1],
            colon ? (int)(colon - listen) : (int)strlen(listen), listen, port);
    fflush(stderr);
}

/* A thousand clients need more descriptors than the usual soft limit. */
static void raise_fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

struct serve_files {
    char *token, *cert, *key;
};

static void serve_files_clear(struct serve_files *f)
{
    free(f->token);
    free(f->cert);
    free(f->key);
}

static int read_files(const struct serve_request *q, struct serve_files *f)
{
    int rc = read_token(q, &f->token);
    if (rc)
        return rc;
    if (!q->tls_cert != !q->tls_key)
        return cli_usage_error("serve", "TLS needs both --tls-cert and --tls-key");
    if (q->tls_cert && (rc = read_small_file("certificate", q->tls_cert, &f->cert)) != 0)
        return rc;
    if (q->tls_key && (rc = read_small_file("key", q->tls_key, &f->key)) != 0)
        return rc;
    return 0;
}

static int run_server(struct serve_options *o, const char *scheme)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    /* blocked before any thread starts, so every thread inherits it */
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0 ||
        (o->stop_fd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "gpuctl: serve: cannot watch for signals: %s\n", strerror(errno));
        return EXIT_GENERAL;
    }
    const char *where[2] = {o->listen, scheme};
    o->on_listening = say_listening;
    o->cls = where;
    struct error e = {0};
    int rc = serve_run(o, &e);
    close(o->stop_fd);
    if (rc < 0)
        return cli_fail(&e);
    fprintf(stderr, "gpuctl serve: stopped\n");
    return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_request q = {0};
    struct options_parsed parsed;
    struct cli_common common = {0};
    int rc = cli_parse_options(&serve_options, argc, argv, &q, &parsed, &common);
    if (rc) {
        options_parsed_clear(&parsed);
        return rc < 0 ? EXIT_OK : rc;
    }
    struct cli_ctx ctx;
    rc = cli_load_config(&ctx, &common);
    struct serve_files files = {0};
    if (rc == 0)
        rc = read_files(&q, &files);
    if (rc) {
        serve_files_clear(&files);
        options_parsed_clear(&parsed);
        return rc;
    }
    char listen[300];
    const struct passwd *pw = getpwuid(getuid());
    struct serve_options o = {
        .listen = listen_address(&q, options_given(&serve_options, &parsed, "server-port"),
                                 listen, sizeof listen),
        .token = files.token, .tls_cert_pem = files.cert, .tls_key_pem = files.key,
        .feed = {
            .interval_s = q.interval > 0 ? q.interval : 1.0,
            .snap = {.processes = true, .host_processes = true,
                     .host_fields = SNAPSHOT_HOST_ALL, .host_cpu = true},
            .timeout_s = ctx.cfg.default_timeout_secs,
            .cache_identities = true,
        },
        .metrics_max_processes = options_given(&serve_options, &parsed, "metrics-max-processes")
                                     ? (unsigned)q.metrics_max_processes : 512,
        .kill_timeout_s = ctx.cfg.default_timeout_secs > 0 ? ctx.cfg.default_timeout_secs : 5,
        .hostname = getenv("NODE_NAME"),
        .version = GPUCTL_VERSION, .revision = GPUCTL_GIT_REVISION,
        .self_user = pw ? pw->pw_name : NULL,
        .query_table = &list_options,
        .cfg = &ctx.cfg, .option_tables = cli_option_table,
    };
    raise_fd_limit();
    rc = run_server(&o, files.cert ? "https" : "http");
    serve_files_clear(&files);
    options_parsed_clear(&parsed);
    return rc;
}
