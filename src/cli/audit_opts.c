/* audit_opts.c - the options of `gpuctl audit`: queries, the recorder,
 * import and export, and the suspicious-usage scan (--rogue, --rogue-*),
 * with gpu-kill's spellings (`gpuctl --audit --audit-summary --audit-hours
 * 12 --audit-user alice --audit-process python`).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct audit_request, field)
#define ROGUE_VALUE(n, meta, f, h) \
    {.name = n, .type = OPTIONS_STRING, .metavar = meta, .help = h, .offset = R(f)}

static const struct options_spec specs[] = {
    {.name = "hours", .aliases = "--audit-hours", .type = OPTIONS_STRING, .metavar = "N",
     .group = "Showing", .help = "the last N hours (default 24)", .offset = R(hours)},
    {.name = "user", .aliases = "--audit-user", .type = OPTIONS_STRING, .metavar = "NAME",
     .help = "only this user's processes", .offset = R(user)},
    {.name = "process", .aliases = "--audit-process", .type = OPTIONS_STRING,
     .metavar = "REGEX", .help = "only processes whose name matches (PCRE2)",
     .offset = R(process)},
    {.name = "gpus", .type = OPTIONS_FLAG, .help = "GPU samples instead of process samples",
     .offset = R(gpus)},
    {.name = "summary", .aliases = "--audit-summary", .type = OPTIONS_FLAG,
     .help = "top users and processes (GPU-memory hours, SM-% hours, peak memory), per-GPU "
             "average and peak utilisation, the 24-hour pattern (local time) and the busiest "
             "hours", .offset = R(summary)},
    {.name = "top", .type = OPTIONS_STRING, .metavar = "N",
     .help = "users, processes and hours in the summary (default 10)", .offset = R(top)},
    {.name = "output", .aliases = "-o", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .config_key = "output_format", .env = "GPUCTL_OUTPUT_FORMAT",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "table (default), json, jsonl (ndjson) or csv; --rogue: table or json",
     .offset = R(output)},
    {.name = "interval", .type = OPTIONS_STRING, .metavar = "SEC", .group = "record and export",
     .help = "record: a sample every SEC seconds (default 60)", .offset = R(interval)},
    {.name = "count", .type = OPTIONS_STRING, .metavar = "N",
     .help = "record: stop after N samples", .offset = R(count)},
    {.name = "format", .type = OPTIONS_STRING, .metavar = "FORMAT", .choices = "jsonl",
     .help = "export: jsonl (gpu-kill's audit.jsonl shape)", .offset = R(format)},
    {.name = "rogue", .type = OPTIONS_FLAG, .group = "Suspicious usage",
     .help = "scan the live GPU processes and the history of the last --hours (default 24) "
             "for miners, suspicious processes, abuse and exfiltration", .offset = R(rogue)},
    {.name = "rogue-config", .type = OPTIONS_FLAG,
     .help = "print rogue.toml's path and settings", .offset = R(rogue_config)},
    ROGUE_VALUE("rogue-memory-threshold", "GB", rogue_memory,
                "set detection.max_memory_usage_gb"),
    ROGUE_VALUE("rogue-utilization-threshold", "PCT", rogue_utilization,
                "set detection.max_utilization_pct"),
    ROGUE_VALUE("rogue-duration-threshold", "HOURS", rogue_duration,
                "set detection.max_duration_hours"),
    ROGUE_VALUE("rogue-confidence-threshold", "C", rogue_confidence,
                "set detection.min_confidence_threshold (0-1)"),
    ROGUE_VALUE("rogue-whitelist-process", "NAME", rogue_wl_process,
                "allow a process name or glob"),
    ROGUE_VALUE("rogue-unwhitelist-process", "NAME", rogue_unwl_process,
                "remove it from the allow-list"),
    ROGUE_VALUE("rogue-whitelist-user", "NAME", rogue_wl_user, "allow a user name or glob"),
    ROGUE_VALUE("rogue-unwhitelist-user", "NAME", rogue_unwl_user,
                "remove it from the allow-list"),
    {.name = "rogue-export-config", .type = OPTIONS_FLAG, .help = "print the settings as JSON",
     .offset = R(rogue_export)},
    ROGUE_VALUE("rogue-import-config", "FILE", rogue_import,
                "replace the settings with FILE (JSON), validated whole before anything is "
                "written"),
};

const struct options_command audit_options = {
    .name = "audit",
    .usage = "gpuctl audit [--hours N] [--user NAME] [--process REGEX] [--gpus]\n"
             "                    [--output table|json|jsonl|csv]\n"
             "       gpuctl audit --summary [--hours N] [--user NAME] [--process REGEX]\n"
             "                    [--top N] [--output table|json|jsonl]\n"
             "       gpuctl audit record [--interval SEC] [--count N]\n"
             "       gpuctl audit import FILE.jsonl\n"
             "       gpuctl audit export [--format jsonl] [--hours N] [--user NAME] "
             "[--process REGEX]\n"
             "       gpuctl audit --rogue [--hours N] [--output table|json]\n"
             "       gpuctl audit [--rogue-config] [--rogue-export-config] [ROGUE EDITS]",
    .about = "The usage history in $GPUCTL_AUDIT_DB, else $XDG_DATA_HOME/gpuctl/audit.db\n"
             "(~/.local/share/gpuctl/audit.db).  Samples come from every gpuctl list\n"
             "(audit.record_on_list) and from gpuctl audit record.  With --rogue:\n"
             "suspicious-usage detection over the live GPU processes and the history:\n"
             "crypto miners, suspicious processes, resource abuse and exfiltration signs,\n"
             "each finding with a confidence, a risk level, its evidence and a\n"
             "recommendation; settings in $XDG_CONFIG_HOME/gpuctl/rogue.toml.\n",
    .epilog = "A sample stands for the time since the host's previous one, at most 300 s\n"
              "(or the recorder's interval when longer).\n"
              "\n"
              "record:  a sample every SEC seconds (default 60) until SIGINT/SIGTERM, or\n"
              "         N samples with --count; see docs/gpuctl-audit.service.\n"
              "import:  gpu-kill audit.jsonl records (\"-\" reads standard input); a bad\n"
              "         line is reported as FILE:LINE and skipped, the rest imported\n"
              "         (exit status 1 when any line was skipped).\n"
              "export:  all history (or --hours N) in that shape, one record per line.\n"
              "\n"
              "Retention: audit.retention_days (default 90), applied by the writers.\n"
              "Recording from list never makes list fail: a problem is said once, and\n"
              "an unwritable location only at --log-level info.\n",
    .operands = "record import export",
    .max_operands = 2,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
