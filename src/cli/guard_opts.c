/* guard_opts.c - the options of `gpuctl guard`.  Every option may also be
 * spelt as gpu-kill spells it, with "guard-" in front (`gpuctl --guard
 * --guard-add-group ml --guard-group-members a,b
 * --guard-group-memory-limit 32`), including gpu-kill's group- and gpu-
 * prefixed limits.
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct guard_request, field)

/* An option whose gpu-kill spelling is "--guard-" and its name. */
#define FLAG(n, f, h) \
    {.name = n, .aliases = "--guard-" n, .type = OPTIONS_FLAG, .help = h, .offset = R(f)}
#define VALUE(n, meta, f, h) \
    {.name = n, .aliases = "--guard-" n, .type = OPTIONS_STRING, .metavar = meta, .help = h, \
     .offset = R(f)}

static const struct options_spec specs[] = {
    {.name = "enable", .aliases = "--guard-enable", .type = OPTIONS_FLAG, .group = "Settings",
     .help = "switch enforcement on", .offset = R(enable)},
    FLAG("disable", disable, "switch enforcement off"),
    FLAG("dry-run", dry_run, "log what would happen, act on nothing"),
    FLAG("enforce", enforce, "act on violations"),
    FLAG("toggle-dry-run", toggle_dry_run, "flip between dry run and enforcing"),
    {.name = "mode", .aliases = "--guard-mode --enforcement", .type = OPTIONS_CHOICE,
     .choices = "soft|hard", .metavar = "MODE",
     .help = "soft: warn, end the process after the grace period; hard: end it at once",
     .offset = R(mode)},
    VALUE("grace-period", "SEC", grace, "soft: how long a violation may last"),
    VALUE("interval", "SEC", interval, "seconds between checks (with run: this run only)"),
    VALUE("webhook", "URL", webhook, "POST a JSON notice for each warning"),
    VALUE("file", "PATH", file, "guard.toml to read and edit instead of the default"),
    {.name = "add-user", .aliases = "--guard-add-user", .type = OPTIONS_STRING,
     .metavar = "NAME", .group = "Policies",
     .help = "add or replace a user's policy, with the limits below", .offset = R(add_user)},
    VALUE("add-group", "NAME", add_group,
          "add or replace a group's policy: --members and limits on the members' totals"),
    VALUE("add-gpu", "IDX", add_gpu,
          "add or replace a GPU's policy: memory, utilisation, reserved memory, users, "
          "maintenance window"),
    VALUE("add-time-policy", "NAME", add_time,
          "add or replace a time-of-day policy: --start, --end, --days, --users, limits"),
    VALUE("remove-user", "NAME", remove_user, "delete a user's policy"),
    VALUE("remove-group", "NAME", remove_group, "delete a group's policy"),
    VALUE("remove-gpu", "IDX", remove_gpu, "delete a GPU's policy"),
    VALUE("remove-time-policy", "NAME", remove_time, "delete a time policy"),
    {.name = "memory-limit", .aliases = "--guard-memory-limit", .type = OPTIONS_STRING,
     .metavar = "GB", .group = "Limits (with an --add option)",
     .help = "GPU memory in GB (user, group total, GPU, time policy)", .offset = R(memory)},
    VALUE("utilization-limit", "PCT", utilization, "GPU utilisation in percent"),
    VALUE("process-limit", "N", processes, "GPU processes at once"),
    VALUE("duration-limit", "HOURS", duration, "hours a process may hold a GPU"),
    VALUE("priority", "N", priority, "user policy priority (higher wins)"),
    VALUE("allowed-gpus", "LIST", allowed_gpus, "GPU indices the user or group may use (0,2)"),
    VALUE("blocked-gpus", "LIST", blocked_gpus, "GPU indices the user or group may not use"),
    {.name = "members", .aliases = "--guard-members --group-members --guard-group-members",
     .type = OPTIONS_STRING, .metavar = "USERS",
     .help = "the group's members, comma separated", .offset = R(members)},
    {.name = "group-memory-limit", .aliases = "--guard-group-memory-limit",
     .type = OPTIONS_STRING, .metavar = "GB",
     .help = "with --add-group: the members' total GPU memory in GB", .offset = R(group_memory)},
    VALUE("group-utilization-limit", "PCT", group_utilization,
          "with --add-group: the members' total utilisation in percent"),
    VALUE("group-process-limit", "N", group_processes,
          "with --add-group: the members' GPU processes at once"),
    VALUE("gpu-memory-limit", "GB", gpu_memory, "with --add-gpu: GPU memory in GB"),
    VALUE("gpu-utilization-limit", "PCT", gpu_utilization,
          "with --add-gpu: utilisation in percent"),
    {.name = "reserved-memory",
     .aliases = "--guard-reserved-memory --gpu-reserved-memory --guard-gpu-reserved-memory",
     .type = OPTIONS_STRING, .metavar = "GB",
     .help = "with --add-gpu: GB kept free for allowed users", .offset = R(reserved)},
    {.name = "allowed-users",
     .aliases = "--guard-allowed-users --gpu-allowed-users --guard-gpu-allowed-users",
     .type = OPTIONS_STRING, .metavar = "USERS",
     .help = "with --add-gpu: who may use the GPU", .offset = R(allowed_users)},
    VALUE("blocked-users", "USERS", blocked_users, "with --add-gpu: who may not use the GPU"),
    VALUE("maintenance", "HH:MM-HH:MM", maintenance,
          "with --add-gpu: daily window in which nobody may use it"),
    VALUE("days", "DAYS", days, "days of the window or time policy (mon,tue or monday)"),
    VALUE("start", "HH:MM", start, "with --add-time-policy: when it begins"),
    VALUE("end", "HH:MM", end, "with --add-time-policy: when it ends"),
    VALUE("users", "USERS", users, "with --add-time-policy: whom it concerns (default all)"),
    {.name = "config", .aliases = "--guard-config", .type = OPTIONS_FLAG, .group = "Showing",
     .help = "print guard.toml's path and contents (here --config takes no PATH)",
     .offset = R(show)},
    FLAG("test-policies", test, "evaluate now and print what would happen"),
    FLAG("export-config", export_config, "print the policies as JSON"),
    VALUE("import-config", "FILE", import_file,
          "replace the policies with FILE (JSON), validated whole"),
    {.name = "once", .aliases = "--guard-once", .type = OPTIONS_FLAG, .group = "guard run and guard status",
     .help = "run: one check, then exit", .offset = R(once)},
    {.name = "hours", .aliases = "--guard-hours", .type = OPTIONS_STRING, .metavar = "N",
     .help = "status: the last N hours", .offset = R(hours)},
    {.name = "limit", .aliases = "--guard-limit", .type = OPTIONS_STRING, .metavar = "N",
     .help = "status: at most N events", .offset = R(limit)},
    {.name = "output", .aliases = "-o --guard-output", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .help = "status: table (default) or json", .offset = R(output)},
};

const struct options_command guard_options = {
    .name = "guard",
    .usage = "gpuctl guard [EDITS] [--config] [--test-policies] [--export-config]\n"
             "       gpuctl guard run [--once] [--interval SEC]\n"
             "       gpuctl guard status [--hours N] [--limit N] [--output table|json]",
    .about = "Usage policies in $XDG_CONFIG_HOME/gpuctl/guard.toml (or --file PATH): per\n"
             "user, per group, per GPU and per time of day.  `guard run` enforces them:\n"
             "dry run logs what would happen, soft warns (log, syslog, webhook, the user's\n"
             "terminals) and ends the process after the grace period, hard ends it at\n"
             "once (SIGTERM, then SIGKILL).  Violations and actions go to the audit\n"
             "database; `guard status` shows them.  Every option may also be spelt with\n"
             "guard- in front (--guard-add-user), as gpu-kill does.\n",
    .epilog = "GPUCTL_GUARD_NOW=YYYY-MM-DDTHH:MM sets the local time time policies are\n"
              "judged at (for testing policies).\n",
    .operands = "run status",
    .max_operands = 1,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
