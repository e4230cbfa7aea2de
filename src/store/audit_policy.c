/* audit_policy.c - the guard's record: policy violations and the actions
 * taken about them, stored next to the usage history so one retention
 * rule and one file cover both.
 *
 * The store only keeps what the guard reports; deciding what is a
 * violation and acting on it is src/policy's business.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/audit_internal.h"

/* The id of name in a string table (NULL and "" are the same), adding it. */
static int intern_text(struct audit_db *db, const char *table, const char *name, int64_t *id,
                       struct error *e)
{
    char sql[128];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "INSERT INTO %s(name) VALUES(?) ON CONFLICT(name) DO NOTHING",
             table);
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = audit_sql_error(db, e, "recording a policy event");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE name = ?", table);
    rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else
        rc = audit_sql_error(db, e, "recording a policy event");
    sqlite3_finalize(st);
    return rc;
}

static int insert_violation(struct audit_db *db, const struct audit_violation *v, int64_t *id,
                            struct error *e)
{
    int64_t host_id, user_id;
    int rc = intern_text(db, "hosts", v->host && *v->host ? v->host : db->host, &host_id, e);
    if (!rc)
        rc = intern_text(db, "users", v->user, &user_id, e);
    sqlite3_stmt *st;
    if (!rc)
        rc = audit_prepare(db, "INSERT INTO violations(t, host_id, policy, user_id, pid, start_s,"
                               " gpu, violation, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, v->time_ms);
    sqlite3_bind_int64(st, 2, host_id);
    sqlite3_bind_text(st, 3, v->policy ? v->policy : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, user_id);
    if (v->pid > 0)
        sqlite3_bind_int64(st, 5, v->pid);
    if (v->pid > 0 && v->start_time_s.known)
        sqlite3_bind_int64(st, 6, v->start_time_s.v);
    if (v->gpu_index >= 0)
        sqlite3_bind_int(st, 7, v->gpu_index);
    sqlite3_bind_text(st, 8, v->violation ? v->violation : "", -1, SQLITE_STATIC);
    audit_bind_text(st, 9, v->detail);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = audit_sql_error(db, e, "recording a policy violation");
    else if (id)
        *id = sqlite3_last_insert_rowid(db->db);
    sqlite3_finalize(st);
    return rc;
}

/* Ends the caller's transaction: commits after success (rc 0), else
 * rolls back and returns rc. */
static int finish(struct audit_db *db, int rc, struct error *e)
{
    if (rc) {
        audit_rollback(db);
        return rc;
    }
    rc = audit_commit(db, e);
    if (rc)
        audit_rollback(db);
    return rc;
}

int audit_violation_add(struct audit_db *db, const struct audit_violation *v, int64_t *id,
                        struct error *e)
{
    if (db->readonly)
        return error_set(e, -EACCES, "%s: opened read-only", db->path);
    int rc = audit_begin(db, e);
    if (rc)
        return rc;
    rc = audit_retention_if_due(db, audit_now_ms(), e);
    if (!rc)
        rc = insert_violation(db, v, id, e);
    return finish(db, rc, e);
}

int audit_action_add(struct audit_db *db, int64_t violation_id, const struct audit_action *a,
                     int64_t *id, struct error *e)
{
    if (db->readonly)
        return error_set(e, -EACCES, "%s: opened read-only", db->path);
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "INSERT INTO actions(violation_id, t, action, dry_run, success,"
                               " message) VALUES(?, ?, ?, ?, ?, ?)", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, violation_id);
    sqlite3_bind_int64(st, 2, a->time_ms);
    sqlite3_bind_text(st, 3, a->action ? a->action : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, a->dry_run);
    sqlite3_bind_int(st, 5, a->success);
    audit_bind_text(st, 6, a->message);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = audit_sql_error(db, e, "recording a policy action");
    else if (id)
        *id = sqlite3_last_insert_rowid(db->db);
    sqlite3_finalize(st);
    return rc;
}

static int emit_event(sqlite3_stmt *st, audit_policy_cb cb, void *arg)
{
    struct audit_policy_event ev = {0};
    ev.violation_id = sqlite3_column_int64(st, 0);
    ev.v.time_ms = sqlite3_column_int64(st, 1);
    ev.v.host = (const char *)sqlite3_column_text(st, 2);
    ev.v.policy = (const char *)sqlite3_column_text(st, 3);
    ev.v.user = (const char *)sqlite3_column_text(st, 4);
    ev.v.pid = (pid_t)sqlite3_column_int64(st, 5);
    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
        OPT_SET(ev.v.start_time_s, sqlite3_column_int64(st, 6));
    ev.v.gpu_index = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
    ev.v.violation = (const char *)sqlite3_column_text(st, 8);
    ev.v.detail = (const char *)sqlite3_column_text(st, 9);
    ev.has_action = sqlite3_column_type(st, 10) != SQLITE_NULL;
    if (ev.has_action) {
        ev.action_id = sqlite3_column_int64(st, 10);
        ev.a.time_ms = sqlite3_column_int64(st, 11);
        ev.a.action = (const char *)sqlite3_column_text(st, 12);
        ev.a.dry_run = sqlite3_column_int(st, 13) != 0;
        ev.a.success = sqlite3_column_int(st, 14) != 0;
        ev.a.message = (const char *)sqlite3_column_text(st, 15);
    }
    return cb(&ev, arg);
}

int audit_query_policy_events(struct audit_db *db, const struct audit_filter *f, size_t limit,
                              audit_policy_cb cb, void *arg, struct error *e)
{
    audit_catch_up(db);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT v.id, v.t, h.name, v.policy, u.name, v.pid, v.start_s, v.gpu, v.violation,"
             " v.detail, a.id, a.t, a.action, a.dry_run, a.success, a.message"
             " FROM violations v JOIN hosts h ON h.id = v.host_id"
             " JOIN users u ON u.id = v.user_id LEFT JOIN actions a ON a.violation_id = v.id"
             " WHERE v.t >= ?1 AND v.t < ?2%s ORDER BY v.t DESC, v.id DESC, a.id LIMIT ?4",
             f->user ? " AND u.name = ?3" : "");
    sqlite3_stmt *st;
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    if (f->user)
        sqlite3_bind_text(st, 3, f->user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, limit ? (int64_t)limit : -1);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = emit_event(st, cb, arg)) != 0)
            break;
    if (!rc && step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "querying policy events");
    sqlite3_finalize(st);
    return rc;
}
