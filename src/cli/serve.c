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
#include "cluster/agent.h"
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

/* The default seconds between a serving node's pushes, as gpuctl agent's. */
#define SERVE_PUSH_INTERVAL_S 5.0

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

static void say_no_source(void *cls, const char *why)
{
    (void)cls;
    fprintf(stderr, "gpuctl serve: %s; serving the cluster routes only\n", why);
    fflush(stderr);
}

/* ---- --coordinator-url: the agent on the server's feed ------------------- */

struct serve_agent {
    struct cluster_agent_options o;
    const char *listen, *scheme, *api_url_given;
    char api_url[512];
    struct cluster_agent *agent;
    const struct cli_ctx *ctx;
};

static void agent_log(void *cls, enum log_level level, const char *message)
{
    cli_log(cls, level, "%s", message);
}

/* The URL the coordinator forwards to: --api-url, else this server's
 * address and port, the host name standing in for a wildcard address. */
static void own_api_url(struct serve_agent *sa, unsigned port)
{
    if (sa->api_url_given) {
        snprintf(sa->api_url, sizeof sa->api_url, "%s", sa->api_url_given);
        return;
    }
    const char *colon = strrchr(sa->listen, ':');
    int len = colon ? (int)(colon - sa->listen) : (int)strlen(sa->listen);
    char host[300];
    snprintf(host, sizeof host, "%.*s", len, sa->listen);
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "[::]") || !strcmp(host, "::") ||
        !host[0]) {
        if (gethostname(host, sizeof host) < 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
    }
    snprintf(sa->api_url, sizeof sa->api_url, "%s://%s:%u", sa->scheme, host, port);
}

static int attach_agent(void *cls, struct feed *feed, unsigned port, struct error *e)
{
    struct serve_agent *sa = cls;
    if (!feed)
        return error_set(e, -ERROR_GPU_LIBRARY, "--coordinator-url: this machine has no GPU "
                                                "source to push");
    own_api_url(sa, port);
    sa->o.api_url = sa->api_url;
    return cluster_agent_start(&sa->agent, &sa->o, feed, e);
}

static void detach_agent(void *cls)
{
    struct serve_agent *sa = cls;
    cluster_agent_stop(sa->agent);
    sa->agent = NULL;
}

/* Fills sa and hooks it onto o when --coordinator-url is given. */
static int plan_agent(const struct serve_request *q, const struct cli_ctx *ctx,
                      struct serve_agent *sa, struct serve_options *o, const char *scheme)
{
    if (!q->coordinator_url) {
        if (q->node_id || q->api_url || q->push_interval > 0)
            return cli_usage_error("serve", "--node-id, --api-url and --push-interval go with "
                                   "--coordinator-url");
        return 0;
    }
    double push = q->push_interval > 0 ? q->push_interval : SERVE_PUSH_INTERVAL_S;
    if (push < o->feed.interval_s)
        push = o->feed.interval_s;      /* one push per sample at most */
    *sa = (struct serve_agent){
        .o = {.coordinator = q->coordinator_url, .token = o->token, .node_id = q->node_id,
              .feed = o->feed, .push_interval_s = push,
              .timeout_s = ctx->cfg.default_timeout_secs > 0
                               ? (long)ctx->cfg.default_timeout_secs : 5,
              .backoff_max_s = 60.0, .log = agent_log, .cls = (void *)ctx},
        .listen = o->listen, .scheme = scheme, .api_url_given = q->api_url, .ctx = ctx,
    };
    if (q->api_url)
        sa->o.api_url = q->api_url;
    struct error e = {0};
    if (cluster_agent_check(&sa->o, &e) < 0)
        return e.code == -EINVAL ? cli_usage_error("serve", "%s", e.msg) : cli_fail(&e);
    o->attach = attach_agent;
    o->detach = detach_agent;
    o->attach_cls = sa;
    return 0;
}

static int run_server(struct serve_options *o, const char *scheme)
{
    if ((o->stop_fd = cli_stop_signal_fd("serve")) < 0)
        return EXIT_GENERAL;
    const char *where[2] = {o->listen, scheme};
    o->on_listening = say_listening;
    o->on_no_source = say_no_source;
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
    /* a head node needs no GPU of its own, unless it is a node too */
    o.source_optional = q.coordinator && !q.coordinator_url;
    const char *scheme = files.cert ? "https" : "http";
    struct serve_agent agent;
    rc = plan_agent(&q, &ctx, &agent, &o, scheme);
    raise_fd_limit();
    struct cluster_coord *coord = NULL;
    void *route_ctx[CLUSTER_COORD_ROUTE_COUNT];
    if (rc == 0 && q.coordinator)
        rc = start_coordinator(&ctx.cfg, &coord, route_ctx, &o);
    if (rc == 0)
        rc = run_server(&o, scheme);
    cluster_coord_stop(coord);
    serve_files_clear(&files);
    options_parsed_clear(&parsed);
    return rc;
}
