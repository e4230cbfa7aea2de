/* audit_hook.c - `gpuctl list` appending its snapshot to the audit
 * database (audit.record_on_list).
 *
 * Recording is a side effect of list, so it must never make list fail or
 * stall: the lock wait is short, a failure is said at most once per run,
 * and a place that cannot be written at all (a read-only home, a sandbox)
 * is said only at log level info, since warning on every list would punish
 * people who never asked for history.  A one-shot list appends its sample
 * to the store's spool (store/audit.h), which costs a few microseconds
 * instead of the ~2 ms of a SQLite transaction in a fresh process; the
 * list whose sample makes the spool long folds it.  The recording itself is
 * the store's.
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

/* What the store met on the way that did not fail the sample (a damaged
 * spool record skipped): said once, like a failure. */
static void say_warning(struct cli_audit_hook *h, const struct cli_ctx *ctx, struct audit_db *db)
{
    char msg[512];
    if (audit_take_warning(db, msg, sizeof msg) && !h->warned) {
        h->warned = true;
        cli_log(ctx, LOG_WARN, "%s", msg);
    }
}

static int open_db(struct cli_audit_hook *h, const struct cli_ctx *ctx, struct error *e)
{
    /* A short lock wait: enough for another sample's commit, while a long
     * import or retention pass never holds list up. */
    int rc = audit_open(NULL, AUDIT_OPEN_SHORT_WAIT, &h->db, e);
    if (rc == 0) {
        audit_set_retention_days(h->db, (unsigned)ctx->cfg.audit_retention_days);
        say_warning(h, ctx, h->db);
    }
    return rc;
}

/* The list whose sample made the spool long folds it (audit_open does),
 * and runs retention when due, which a fold leaves to the recorders. */
static void fold_spool(struct cli_audit_hook *h, const struct cli_ctx *ctx)
{
    struct error e = {0};
    if (open_db(h, ctx, &e) != 0 || audit_maintain(h->db, &e) != 0)
        say(h, ctx, &e);
    cli_audit_hook_close(h);
}

void cli_audit_hook_record(struct cli_audit_hook *h, const struct cli_ctx *ctx,
                           const struct snapshot *s, unsigned interval_s)
{
    if (!ctx->cfg.audit_record_on_list || h->disabled)
        return;
    struct error e = {0};
    if (!h->db && interval_s == 0) {
        /* one-shot: appended to the spool, when there is a database to
         * fold it into; else recorded directly, which creates it */
        size_t bytes = 0;
        int rc = audit_spool_append(NULL, s, interval_s, &bytes, &e);
        if (rc < 0) {
            h->disabled = true;
            say(h, ctx, &e);
        } else if (rc > 0 && bytes >= AUDIT_SPOOL_FOLD_BYTES) {
            fold_spool(h, ctx);
        }
        if (rc != 0)
            return;
    }
    if (!h->db && open_db(h, ctx, &e) != 0) {
        h->disabled = true;
        say(h, ctx, &e);
        return;
    }
    if (audit_record_snapshot(h->db, s, interval_s, &e) != 0)
        say(h, ctx, &e);
    else
        say_warning(h, ctx, h->db);
}

void cli_audit_hook_close(struct cli_audit_hook *h)
{
    audit_close(h->db);
    h->db = NULL;
}
