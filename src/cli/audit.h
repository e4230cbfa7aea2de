/* audit.h - what the `gpuctl audit` files share, and the hook through
 * which `gpuctl list` records a sample.
 */
#ifndef GPUCTL_CLI_AUDIT_H
#define GPUCTL_CLI_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/snapshot.h"
#include "store/audit.h"

/* ---- recording from list (audit_hook.c) ---- */

/* The database is opened at the first sample and kept for --watch. */
struct cli_audit_hook {
    struct audit_db *db;
    bool disabled;     /* opening failed: no further tries this run */
    bool warned;       /* one warning per run at most */
};

/* What list asks of the snapshot so that a sample names its processes. */
unsigned cli_audit_hook_host_fields(const struct cli_ctx *ctx);

/* Appends s to the audit database when audit.record_on_list is on.  Never
 * fails: a problem is said once on stderr (or, when the database's place
 * is not writable, only at log level info), and list goes on. */
void cli_audit_hook_record(struct cli_audit_hook *h, const struct cli_ctx *ctx,
                           const struct snapshot *s, unsigned interval_s);
void cli_audit_hook_close(struct cli_audit_hook *h);

/* ---- gpuctl audit record (audit_record.c) ---- */

/* The recording daemon: a sample every interval (text, seconds; NULL: 60)
 * until SIGINT/SIGTERM, or count samples (NULL: no limit).  Returns the
 * exit code. */
int cli_audit_record(struct cli_ctx *ctx, const char *interval, const char *count);

/* ---- output helpers (audit_out.c) ---- */

/* Local time for tables: "2026-01-31 13:00:00" */
void cli_audit_time_local(int64_t ms, char *buf, size_t size);

int cli_audit_print_summary(const struct audit_summary *s, enum output_format f, bool compact_json,
                        const struct cli_ctx *ctx, FILE *out);

#endif
