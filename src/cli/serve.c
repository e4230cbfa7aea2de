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
#include "cluster/coord.h"
#include "net/serve.h"
#include "version.h"



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
    int rc = cli_read_token("serve", q->token_file, &f->token);
    if (rc)
        return rc;
    if (!q->tls_cert != !q->tls_key)
        return cli_usage_error("serve", "TLS needs both --tls-cert and --tls-key");
    if (q->tls_cert && (rc = cli_read_small_file("serve", "certificate", q->tls_cert, &f->cert)) != 0)
        return rc;
    if (q->tls_key && (rc = cli_read_small_file("serve", "key", q->tls_key, &f->key)) != 0)
        return rc;
    return 0;
}

static int run_server(struct serve_options *o, const char *scheme)
{
    if ((o->stop_fd = cli_stop_signal_fd("serve")) < 0)
        return EXIT_GENERAL;
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

/* The coordinator's settings from config.toml's [cluster] keys. */
static void coord_options(const struct config *cfg, struct cluster_coord_options *co)
{
    struct cluster_registry_options *r = &co->registry;
    cluster_registry_options_defaults(r);
    r->retention_s = cfg->cluster_node_retention_hours * 3600.0;
    r->thresholds.idle_util_pct = cfg->cluster_idle_util_pct;
    r->thresholds.idle_min_mem_bytes = (uint64_t)cfg->cluster_idle_min_memory_mib << 20;
    r->thresholds.idle_s = cfg->cluster_idle_minutes * 60;
    r->thresholds.low_util_pct = cfg->cluster_low_util_pct;
    r->thresholds.hold_s = cfg->cluster_hold_minutes * 60;
    r->thresholds.fair_share_factor = cfg->cluster_fair_share_factor;
    r->thresholds.top_users = (unsigned)cfg->cluster_top_users;
}

/* Starts the coordinator and mounts its routes on o. */
static int start_coordinator(const struct config *cfg, struct cluster_coord **coord,
                             void *route_ctx[CLUSTER_COORD_ROUTE_COUNT], struct serve_options *o)
{
    struct cluster_coord_options co;
    coord_options(cfg, &co);
    co.node_token = o->token;     /* one token for the coordinator and its nodes */
    struct error e = {0};
    if (cluster_coord_start(coord, &co, &e) < 0)
        return cli_fail(&e);
    for (size_t i = 0; i < CLUSTER_COORD_ROUTE_COUNT; i++)
        route_ctx[i] = *coord;
    o->extra_routes = cluster_coord_routes;
    o->extra_route_ctx = route_ctx;
    o->extra_route_count = CLUSTER_COORD_ROUTE_COUNT;
    o->extra_ws_path = CLUSTER_COORD_WS_PATH;
    o->extra_on_upgrade = cluster_coord_ws_upgrade;
    o->extra_upgrade_ctx = *coord;
    o->extra_close_clients = cluster_coord_ws_close;
    return 0;
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
        .pods_dir = q.pods_dir ? q.pods_dir : "/var/log/pods",
        .version = GPUCTL_VERSION, .revision = GPUCTL_GIT_REVISION,
        .self_user = pw ? pw->pw_name : NULL,
        .query_table = &list_options,
        .cfg = &ctx.cfg, .option_tables = cli_option_table,
    };
    raise_fd_limit();
    struct cluster_coord *coord = NULL;
    void *route_ctx[CLUSTER_COORD_ROUTE_COUNT];
    rc = q.coordinator ? start_coordinator(&ctx.cfg, &coord, route_ctx, &o) : 0;
    if (rc == 0)
        rc = run_server(&o, files.cert ? "https" : "http");
    cluster_coord_stop(coord);
    serve_files_clear(&files);
    options_parsed_clear(&parsed);
    return rc;
}
