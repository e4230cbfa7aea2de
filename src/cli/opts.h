/* opts.h - the request structs the option tables fill, and the tables.
 *
 * Each command's table lives next to it (list_opts.c beside list.c) and
 * names every option once; the command reads the filled request.  The
 * tables link without the rest of the CLI, so the build-time generator
 * (optgen.c: man page option lists, bash and zsh completions) and the
 * tests see exactly what the binary parses.
 */
#ifndef GPUCTL_CLI_OPTS_H
#define GPUCTL_CLI_OPTS_H

#include <stdbool.h>

#include "core/options.h"

struct list_request {
    bool details, containers, ascii, no_color, only_visible, compute, graphics;
    double watch_secs;                 /* 0: --watch without SEC, from configuration */
    const char *output, *filter, *cluster;
    struct options_list vendor, only, user, pid;
};
extern const struct options_command list_options;

struct kill_request {
    struct options_list pid;
    const char *filter, *timeout, *signal, *output;
    bool batch, force, tree, group, dry_run;
};
extern const struct options_command kill_options;

struct top_request {
    bool once, no_color, force_color, light, ascii, readonly, only_visible, compute, graphics;
    const char *monitor, *interval, *cluster, *token_file;
    struct options_list gpu_thresh, mem_thresh, only, user, pid;
};
extern const struct options_command top_options;

struct reset_request {
    struct options_list gpu;
    bool all, force;
    const char *timeout, *output;
};
extern const struct options_command reset_options;

#define SELECT_MAX_COUNT_ARG 65536
struct select_request {
    unsigned long min_count, max_count, count, max_gpu, max_mem, tolerance;
    const char *min_free, *min_total, *inherit, *format, *sep;
    struct options_list account_as_free;
    bool newline, null;
    double wait_secs;
};
extern const struct options_command select_options;

struct audit_request {
    const char *hours, *user, *process, *output, *top, *interval, *count, *format;
    bool summary, gpus;
    bool rogue, rogue_config, rogue_export;
    const char *rogue_import, *rogue_memory, *rogue_utilization, *rogue_duration;
    const char *rogue_confidence, *rogue_wl_process, *rogue_unwl_process, *rogue_wl_user;
    const char *rogue_unwl_user;
};
extern const struct options_command audit_options;

struct watch_request {
    struct options_list pid;
    const char *match, *interval, *output, *count, *duration, *format;
    bool append, extended;
};
extern const struct options_command watch_options;

struct compare_request {
    double threshold;
    bool json;
};
extern const struct options_command compare_options;

struct plot_request {
    struct options_list pid;
    const char *output, *title, *width, *height;
    bool per_gpu, cpu, terminal;
};
extern const struct options_command plot_options;

struct trace_request {
    const char *output, *prefix;
    unsigned long interval_ms, ring_mb;
};
extern const struct options_command trace_options;

struct analyze_request {
    const char *prefix, *output, *html;
    unsigned long top;
};
extern const struct options_command analyze_options;

struct run_request {
    unsigned long interval_ms;
    bool pss, gpu, json, quiet, live, kill_on_limit;
    const char *csv, *timeline, *html, *group_by, *post_run_cmd, *max_total, *max_proc;
    double leak_growth, leak_duration;
};
extern const struct options_command run_options;

struct config_request {
    const char *output;
    bool ascii;
};
extern const struct options_command config_options;

/* guard: every value is checked by guard.c, which knows what each means for
 * the policy it edits. */
struct guard_request {
    const char *file;                      /* --file: guard.toml elsewhere */
    bool enable, disable, dry_run, enforce, toggle_dry_run, show, test, export_config, once;
    const char *import_file, *mode, *grace, *interval, *webhook, *output, *hours, *limit;
    const char *add_user, *add_group, *add_gpu, *add_time;
    const char *remove_user, *remove_group, *remove_gpu, *remove_time;
    const char *memory, *utilization, *processes, *duration, *priority, *members;
    const char *group_memory, *group_utilization, *group_processes;
    const char *gpu_memory, *gpu_utilization;
    const char *allowed_gpus, *blocked_gpus, *allowed_users, *blocked_users, *reserved;
    const char *maintenance, *days, *start, *end, *users;
};
extern const struct options_command guard_options;

/* The remote options, before the command (cli/remote.c). */
struct remote_request {
    const char *remote, *hosts_file, *remote_path;
    const char *ssh_user, *ssh_key, *ssh_config;
    unsigned long ssh_port, ssh_fanout;
    double ssh_timeout;
    bool ssh_accept_new, ssh_password;
};
extern const struct options_command remote_options;

struct mcp_request {
    bool read_only, http;
    const char *listen, *token_file;
};
extern const struct options_command mcp_options;
struct serve_request {
    const char *listen, *server_host, *token_file, *tls_cert, *tls_key, *pods_dir;
    const char *coordinator_url, *node_id, *api_url;
    unsigned long server_port, metrics_max_processes;
    double interval, push_interval;
    bool server, coordinator;
};
extern const struct options_command serve_options;

struct agent_request {
    const char *coordinator, *token_file, *node_id, *api_url;
    double interval;
};
extern const struct options_command agent_options;

/* Every command's table, in the order of `gpuctl --help`; NULL-terminated. */
extern const struct options_command *const cli_option_tables[];

/* The table of a command, NULL when it has none. */
const struct options_command *cli_option_table(const char *command);

#endif
