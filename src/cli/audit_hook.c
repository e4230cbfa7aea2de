/* audit_hook.c - `gpuctl list` appending its snapshot to the audit
 * database (audit.record_on_list).
 *
 * Recording is a side effect of list, so it must never make list fail or
 * stall: the lock wait is short, a failure is said at most once per run,
 * and a place that cannot be written at all (a read-only home, a sandbox)
 * is said only at log level info, since warning on every list would punish
 * people who never asked for history.  The recording itself is the store's.
 */
#include <errno.h>
#include <stdio.h>

#include "cli/audit.h"

unsigned cli_audit_hook_host_fields(const struct cli_ctx *ctx)
{
    if (!ctx->cfg.audit_record_on_list)
        return 0;
    return SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE | SNAPSHOT_HOST_CONTAINER;
}

static bool unwritable(int code)
{
    return code == -EACCES || code == -EROFS || code == -EPERM;
}

static void say(struct cli_audit_hook *h, const struct cli_ctx *ctx, const struct error *e)
{
    if (h->warned)
        return;
    h->warned = true;
    if (unwritable(e->code))
        cli_log(ctx, LOG_INFO, "not recording to the audit database: %s", e->msg);
    else
        cli_log(ctx, LOG_WARN, "could not record this sample in the audit database: %s "
                "(set audit.record_on_list = false to stop recording)", e->msg);
}

void cli_audit_hook_record(struct cli_audit_hook *h, const struct cli_ctx *ctx,
                           const struct snapshot *s, unsigned interval_s)
{
    if (!ctx->cfg.audit_record_on_list || h->disabled)
        return;
    struct error e = {0};
    if (!h->db) {
        /* A short lock wait: enough for another sample's commit, while a
         * long import or retention pass never holds list up. */
        if (audit_open(NULL, AUDIT_OPEN_SHORT_WAIT, &h->db, &e) != 0) {
            h->disabled = true;
            say(h, ctx, &e);
            return;
        }
        audit_set_retention_days(h->db, (unsigned)ctx->cfg.audit_retention_days);
    }
    if (audit_record_snapshot(h->db, s, interval_s, &e) != 0)
        say(h, ctx, &e);
}

void cli_audit_hook_close(struct cli_audit_hook *h)
{
    audit_close(h->db);
    h->db = NULL;
}
