/* audit_internal.h - what the audit store's files share: the handle, the
 * prepared-statement helpers and the schema's conventions.  Not for use
 * outside src/store.
 *
 * Conventions: interned strings use "" for unknown (never NULL), so every
 * id column is NOT NULL; memory is KiB; times are epoch milliseconds; an
 * hour number is time_ms / 3600000.
 */
#ifndef GPUCTL_STORE_AUDIT_INTERNAL_H
#define GPUCTL_STORE_AUDIT_INTERNAL_H

#include <sqlite3.h>

#include "store/audit.h"

#define AUDIT_HOUR_MS INT64_C(3600000)

/* Statements the writers run per row, prepared once per handle. */
enum audit_stmt_id {
    ST_HOST_GET, ST_HOST_ADD,
    ST_USER_GET, ST_USER_ADD,
    ST_PNAME_GET, ST_PNAME_ADD,
    ST_CMD_GET, ST_CMD_ADD,
    ST_CTR_GET, ST_CTR_ADD,
    ST_PREV_SAMPLE, ST_SAMPLE_ADD, ST_SAMPLE_AT, ST_NEXT_SAMPLE, ST_SAMPLE_DUR, ST_ROLLUP_REDUR,
    ST_DEVICE_GET, ST_DEVICE_ADD, ST_DEVICE_UPDATE,
    ST_GPU_SAMPLE_ADD, ST_ROLLUP_GPU,
    ST_PROC_GET, ST_PROC_FIND, ST_PREV_PROCS, ST_PROC_ADD, ST_PROC_TOUCH, ST_PROC_SAMPLE_ADD, ST_ROLLUP_PROC,
    ST_COUNT
};

struct audit_db {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST_COUNT];
    char *path;
    bool readonly;
    unsigned retention_days;
    int busy_ms;               /* the lock wait, restored after a checkpoint */
    bool no_retention;         /* set while a fold writes: retention is the recorders' */
    char warning[512];         /* the first thing worth saying, "" when none */
    /* the local hostname, read once */
    char host[256];
};

/* Reports the connection's last error as "<what>: <sqlite message> (<path>)"
 * and returns a negative code (-EBUSY for a locked database, -EIO else). */
int audit_sql_error(struct audit_db *db, struct error *e, const char *what);

/* Prepares sql (-EIO with the message on failure). */
int audit_prepare(struct audit_db *db, const char *sql, sqlite3_stmt **st, struct error *e);

/* Runs statements with no result rows. */
int audit_exec(struct audit_db *db, const char *sql, struct error *e);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int audit_begin(struct audit_db *db, struct error *e);
int audit_commit(struct audit_db *db, struct error *e);
void audit_rollback(struct audit_db *db);

/* Runs retention when it is due (AUDIT_RETENTION_EVERY_S), inside the
 * caller's write transaction. */
int audit_retention_if_due(struct audit_db *db, int64_t now_ms, struct error *e);
int audit_retention_run(struct audit_db *db, int64_t now_ms, uint64_t *deleted,
                        struct error *e);

int64_t audit_now_ms(void);

/* The cached statement id (prepared from sql on first use), reset and with
 * its bindings cleared. */
int audit_stmt(struct audit_db *db, enum audit_stmt_id id, const char *sql, sqlite3_stmt **st,
               struct error *e);

/* audit_record_samples, and with skipped (count flags) not NULL, a sample
 * whose host already has one at its time is not written and its flag set:
 * what makes an import idempotent. */
int audit_write_samples(struct audit_db *db, const struct audit_sample *samples, size_t count,
                        unsigned interval_s, bool *skipped, struct error *e);

/* How much of the spool the database holds: its first bytes, and their
 * CRC-32 (meta keys spool_folded_bytes and spool_folded_crc). */
struct audit_spool_mark {
    int64_t bytes;
    int64_t crc;
};

/* audit_write_samples for a fold of the spool: every sample is written
 * (two of one host at one time are two samples), and the mark with them in
 * one transaction, so a fold that dies before emptying the spool is
 * resumed after what it stored, never stored twice. */
int audit_write_samples_marked(struct audit_db *db, const struct audit_sample *samples,
                               size_t count, unsigned interval_s,
                               const struct audit_spool_mark *mark, struct error *e);

/* An integer of the meta table; found false when the key is not there. */
int audit_meta_get(struct audit_db *db, const char *key, int64_t *out, bool *found,
                   struct error *e);
int audit_meta_set(struct audit_db *db, const char *key, int64_t value, struct error *e);

/* PRAGMA quick_check when the file is small enough for it to be cheap
 * (AUDIT_CHECK_MAX_BYTES); -EPROTO saying the file is corrupt. */
int audit_check_if_cheap(struct audit_db *db, struct error *e);

/* Binds text, or NULL for a NULL pointer. */
int audit_bind_text(sqlite3_stmt *st, int i, const char *s);

/* The id of the compiled process-name pattern's matches, as a temp table
 * temp.audit_sel_name(id); -EINVAL for a bad pattern. */
int audit_select_names(struct audit_db *db, const char *pattern, struct error *e);

/* A sample of a snapshot as rows (audit_record_snapshot, the spool): the
 * strings point into the snapshot and ctr; clear with audit_rows_clear. */
struct audit_rows {
    struct audit_sample sample;
    struct audit_gpu_record *gpus;
    struct audit_proc_record *procs;
    char (*ctr)[160];
};
int audit_rows_from_snapshot(const struct snapshot *s, struct audit_rows *r, struct error *e);
void audit_rows_clear(struct audit_rows *r);

/* Keeps the first warning of the handle (audit_take_warning). */
void audit_warn(struct audit_db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Folds the spool when it holds records, before a query or a write: with
 * a handle of its own when db is read-only.  What fails is kept as the
 * handle's warning; the caller goes on with what the database holds. */
void audit_catch_up(struct audit_db *db);

#endif
