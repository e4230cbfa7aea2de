/* audit_query.c - reading rows back: process rows and GPU rows of a time
 * window, with the user and process-name filters.
 *
 * Rows stream through a callback, so a query over months of history never
 * holds it all in memory.  A process-name pattern is matched once per
 * distinct name (the pnames table is small) into a temp table the query
 * joins, rather than once per row.  The summary is audit_summary.c's.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "store/audit_internal.h"

int audit_select_names(struct audit_db *db, const char *pattern, struct error *e)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
                                   &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return error_set(e, -EINVAL, "invalid process pattern '%s' at position %zu: %s",
                         pattern, (size_t)off + 1, (const char *)msg);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    sqlite3_stmt *names = NULL, *add = NULL;
    int rc = md ? 0 : error_set(e, -ENOMEM, "out of memory matching a pattern");
    if (!rc)
        rc = audit_exec(db, "CREATE TEMP TABLE IF NOT EXISTS audit_sel_name"
                            "(id INTEGER PRIMARY KEY); DELETE FROM temp.audit_sel_name;", e);
    if (!rc)
        rc = audit_prepare(db, "SELECT id, name FROM pnames", &names, e);
    if (!rc)
        rc = audit_prepare(db, "INSERT INTO temp.audit_sel_name(id) VALUES(?)", &add, e);
    int step;
    while (!rc && (step = sqlite3_step(names)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(names, 1);
        int len = sqlite3_column_bytes(names, 1);
        if (pcre2_match(re, name, (PCRE2_SIZE)len, 0, 0, md, NULL) < 0)
            continue;
        sqlite3_bind_int64(add, 1, sqlite3_column_int64(names, 0));
        if (sqlite3_step(add) != SQLITE_DONE)
            rc = audit_sql_error(db, e, "matching process names");
        sqlite3_reset(add);
    }
    if (!rc && step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "matching process names");
    sqlite3_finalize(names);
    sqlite3_finalize(add);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

static struct opt_u64 col_kib(sqlite3_stmt *st, int i)
{
    struct opt_u64 v = {0};
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        OPT_SET(v, (uint64_t)sqlite3_column_int64(st, i) * 1024);
    return v;
}

static struct opt_f64 col_f64(sqlite3_stmt *st, int i)
{
    struct opt_f64 v = {0};
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        OPT_SET(v, sqlite3_column_double(st, i));
    return v;
}

static struct opt_i64 col_i64(sqlite3_stmt *st, int i)
{
    struct opt_i64 v = {0};
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        OPT_SET(v, sqlite3_column_int64(st, i));
    return v;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* Steps st, handing each row to emit; returns emit's non-zero value. */
static int stream(struct audit_db *db, sqlite3_stmt *st, int (*emit)(sqlite3_stmt *, void *),
                  void *arg, struct error *e)
{
    int step, rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = emit(st, arg)) != 0)
            break;
    if (!rc && step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "querying the audit database");
    sqlite3_finalize(st);
    return rc;
}

struct proc_emit {
    audit_proc_cb cb;
    void *arg;
};

static int emit_proc(sqlite3_stmt *st, void *arg)
{
    const struct proc_emit *pe = arg;
    struct audit_proc_record r = {
        .time_ms = sqlite3_column_int64(st, 0), .host = col_text(st, 1),
        .gpu_index = sqlite3_column_int(st, 2), .pid = (pid_t)sqlite3_column_int64(st, 3),
        .start_time_s = col_i64(st, 4), .user = col_text(st, 5), .name = col_text(st, 6),
        .cmdline = col_text(st, 7), .container = col_text(st, 8),
        .gpu_mem_bytes = col_kib(st, 9), .sm_pct = col_f64(st, 10)};
    return pe->cb(&r, pe->arg);
}

int audit_query_processes(struct audit_db *db, const struct audit_filter *f, audit_proc_cb cb,
                          void *arg, struct error *e)
{
    audit_catch_up(db);
    if (f->process) {
        int rc = audit_select_names(db, f->process, e);
        if (rc)
            return rc;
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT s.t, h.name, p.gpu, p.pid, p.start_s, u.name, n.name, c.text, k.name,"
             " ps.mem_kib, ps.sm_pct"
             " FROM samples s JOIN proc_samples ps ON ps.sample_id = s.id"
             " JOIN procs p ON p.id = ps.proc_id JOIN hosts h ON h.id = s.host_id"
             " JOIN users u ON u.id = p.user_id JOIN pnames n ON n.id = p.name_id"
             " JOIN cmdlines c ON c.id = p.cmd_id JOIN containers k ON k.id = p.container_id"
             " WHERE s.t >= ?1 AND s.t < ?2%s%s"
             " ORDER BY s.t, s.id, p.gpu, p.pid",
             f->user ? " AND u.name = ?3" : "",
             f->process ? " AND p.name_id IN (SELECT id FROM temp.audit_sel_name)" : "");
    sqlite3_stmt *st;
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    if (f->user)
        sqlite3_bind_text(st, 3, f->user, -1, SQLITE_TRANSIENT);
    struct proc_emit pe = {cb, arg};
    return stream(db, st, emit_proc, &pe, e);
}

struct gpu_emit {
    audit_gpu_cb cb;
    void *arg;
};

static int emit_gpu(sqlite3_stmt *st, void *arg)
{
    const struct gpu_emit *ge = arg;
    struct audit_gpu_record r = {
        .time_ms = sqlite3_column_int64(st, 0), .host = col_text(st, 1),
        .gpu_index = sqlite3_column_int(st, 2), .uuid = col_text(st, 3),
        .vendor = (enum vendor)sqlite3_column_int(st, 4), .name = col_text(st, 5),
        .mem_used_bytes = col_kib(st, 6), .mem_total_bytes = col_kib(st, 7),
        .util_pct = col_f64(st, 8), .temp_c = col_i64(st, 9)};
    if (sqlite3_column_type(st, 10) != SQLITE_NULL)
        OPT_SET(r.power_mw, (uint64_t)sqlite3_column_int64(st, 10));
    return ge->cb(&r, ge->arg);
}

int audit_query_gpus(struct audit_db *db, const struct audit_filter *f, audit_gpu_cb cb,
                     void *arg, struct error *e)
{
    audit_catch_up(db);
    sqlite3_stmt *st;
    int rc = audit_prepare(db,
                           "SELECT s.t, h.name, d.idx, d.uuid, d.vendor, d.name, g.mem_used_kib,"
                           " d.mem_total_kib, g.util_pct, g.temp_c, g.power_mw"
                           " FROM samples s JOIN gpu_samples g ON g.sample_id = s.id"
                           " JOIN devices d ON d.id = g.device_id"
                           " JOIN hosts h ON h.id = s.host_id"
                           " WHERE s.t >= ?1 AND s.t < ?2 ORDER BY s.t, s.id, d.idx", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    struct gpu_emit ge = {cb, arg};
    return stream(db, st, emit_gpu, &ge, e);
}
