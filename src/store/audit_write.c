/* audit_write.c - appending samples to the audit database.
 *
 * A sample is one instant of one host: a row in `samples` (time, host, the
 * time it stands for), a GPU row per device and a process row per GPU
 * process, plus the hourly rollups that the summary reads.  Everything of
 * one call is one IMMEDIATE transaction, so concurrent writers serialise on
 * the database lock (with the busy timeout) and a killed writer leaves
 * either all of a call or none of it.  Reading is audit_query.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit_internal.h"

/* ------------------------------------------------------------ interning */

struct intern_sql {
    enum audit_stmt_id get, add;
    const char *get_sql, *add_sql;
};

static const struct intern_sql intern_hosts = {
    ST_HOST_GET, ST_HOST_ADD, "SELECT id FROM hosts WHERE name = ?",
    "INSERT INTO hosts(name) VALUES(?)"};
static const struct intern_sql intern_users = {
    ST_USER_GET, ST_USER_ADD, "SELECT id FROM users WHERE name = ?",
    "INSERT INTO users(name) VALUES(?)"};
static const struct intern_sql intern_pnames = {
    ST_PNAME_GET, ST_PNAME_ADD, "SELECT id FROM pnames WHERE name = ?",
    "INSERT INTO pnames(name) VALUES(?)"};
static const struct intern_sql intern_cmds = {
    ST_CMD_GET, ST_CMD_ADD, "SELECT id FROM cmdlines WHERE text = ?",
    "INSERT INTO cmdlines(text) VALUES(?)"};
static const struct intern_sql intern_ctrs = {
    ST_CTR_GET, ST_CTR_ADD, "SELECT id FROM containers WHERE name = ?",
    "INSERT INTO containers(name) VALUES(?)"};

/* The id of s in one of the string tables, adding it when new.  NULL is
 * stored as "" (unknown). */
static int intern(struct audit_db *db, const struct intern_sql *q, const char *s, int64_t *id,
                  struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, q->get, q->get_sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, s ? s : "", -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    rc = audit_stmt(db, q->add, q->add_sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, s ? s : "", -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    *id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

/* Steps a statement that returns nothing. */
static int run(struct audit_db *db, sqlite3_stmt *st, struct error *e)
{
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    return 0;
}

static void bind_opt_u64_kib(sqlite3_stmt *st, int i, struct opt_u64 v)
{
    if (v.known)
        sqlite3_bind_int64(st, i, (int64_t)((v.v + 512) / 1024));
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_pct(sqlite3_stmt *st, int i, struct opt_f64 v)
{
    if (v.known)
        sqlite3_bind_int64(st, i, (int64_t)(v.v + 0.5));
    else
        sqlite3_bind_null(st, i);
}

static struct opt_i64 column_opt_i64(sqlite3_stmt *st, int i)
{
    struct opt_i64 v = {0};
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        OPT_SET(v, sqlite3_column_int64(st, i));
    return v;
}

/* ------------------------------------------------------------ samples */

/* What a gap after the previous sample counts for: at most
 * max(AUDIT_MAX_GAP_S, interval). */
static int64_t capped_gap(int64_t gap_ms, unsigned interval_s)
{
    int64_t cap = (int64_t)(interval_s > AUDIT_MAX_GAP_S ? interval_s : AUDIT_MAX_GAP_S) * 1000;
    return gap_ms < cap ? gap_ms : cap;
}

/* The time this sample stands for: since the host's previous sample,
 * capped; 0 for a host's first sample. */
static int sample_duration(struct audit_db *db, int64_t host_id, int64_t t, unsigned interval_s,
                           int64_t *dur, int64_t *prev_id, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_PREV_SAMPLE,
                        "SELECT t, id FROM samples WHERE host_id = ? AND t <= ?"
                        " ORDER BY t DESC LIMIT 1", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int64(st, 2, t);
    int step = sqlite3_step(st);
    *dur = 0;
    *prev_id = -1;
    if (step == SQLITE_ROW) {
        *dur = capped_gap(t - sqlite3_column_int64(st, 0), interval_s);
        *prev_id = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    return 0;
}

static int device_id(struct audit_db *db, int64_t host_id, const struct audit_gpu_record *g,
                     int64_t *id, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_DEVICE_GET,
                        "SELECT id, vendor, name, mem_total_kib FROM devices"
                        " WHERE host_id = ? AND idx = ? AND uuid = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int(st, 2, g->gpu_index);
    sqlite3_bind_text(st, 3, g->uuid ? g->uuid : "", -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        int64_t total = g->mem_total_bytes.known
                            ? (int64_t)((g->mem_total_bytes.v + 512) / 1024) : -1;
        bool same = sqlite3_column_int(st, 1) == (int)g->vendor &&
                    strcmp(name ? name : "", g->name ? g->name : "") == 0 &&
                    (total < 0 || (sqlite3_column_type(st, 3) != SQLITE_NULL &&
                                   sqlite3_column_int64(st, 3) == total));
        sqlite3_reset(st);
        if (same)
            return 0;
        rc = audit_stmt(db, ST_DEVICE_UPDATE,
                        "UPDATE devices SET vendor = ?, name = ?,"
                        " mem_total_kib = coalesce(?, mem_total_kib) WHERE id = ?", &st, e);
        if (rc)
            return rc;
        sqlite3_bind_int(st, 1, (int)g->vendor);
        sqlite3_bind_text(st, 2, g->name ? g->name : "", -1, SQLITE_STATIC);
        bind_opt_u64_kib(st, 3, g->mem_total_bytes);
        sqlite3_bind_int64(st, 4, *id);
        return run(db, st, e);
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    rc = audit_stmt(db, ST_DEVICE_ADD,
                    "INSERT INTO devices(host_id, idx, uuid, vendor, name, mem_total_kib)"
                    " VALUES(?, ?, ?, ?, ?, ?)", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int(st, 2, g->gpu_index);
    sqlite3_bind_text(st, 3, g->uuid ? g->uuid : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)g->vendor);
    sqlite3_bind_text(st, 5, g->name ? g->name : "", -1, SQLITE_STATIC);
    bind_opt_u64_kib(st, 6, g->mem_total_bytes);
    rc = run(db, st, e);
    if (!rc)
        *id = sqlite3_last_insert_rowid(db->db);
    return rc;
}

static int write_gpu(struct audit_db *db, int64_t sample_id, int64_t hour, int64_t host_id,
                     const struct audit_gpu_record *g, struct error *e)
{
    int64_t dev = 0;
    sqlite3_stmt *st;
    int rc = device_id(db, host_id, g, &dev, e);
    if (!rc)
        rc = audit_stmt(db, ST_GPU_SAMPLE_ADD,
                        "INSERT OR REPLACE INTO gpu_samples(sample_id, device_id, mem_used_kib,"
                        " util_pct, temp_c, power_mw) VALUES(?, ?, ?, ?, ?, ?)", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, sample_id);
    sqlite3_bind_int64(st, 2, dev);
    bind_opt_u64_kib(st, 3, g->mem_used_bytes);
    bind_opt_pct(st, 4, g->util_pct);
    if (g->temp_c.known)
        sqlite3_bind_int64(st, 5, g->temp_c.v);
    if (g->power_mw.known)
        sqlite3_bind_int64(st, 6, (int64_t)g->power_mw.v);
    rc = run(db, st, e);
    if (!rc)
        rc = audit_stmt(db, ST_ROLLUP_GPU,
                        "INSERT INTO rollup_gpus(hour, device_id, rows, util_n, util_sum,"
                        " util_max, mem_max_kib) VALUES(?1, ?2, 1, ?3 IS NOT NULL,"
                        " coalesce(?3, 0), ?3, ?4) ON CONFLICT(hour, device_id) DO UPDATE SET"
                        " rows = rows + 1, util_n = util_n + excluded.util_n,"
                        " util_sum = util_sum + excluded.util_sum,"
                        " util_max = CASE WHEN util_max IS NULL OR excluded.util_max > util_max"
                        " THEN excluded.util_max ELSE util_max END,"
                        " mem_max_kib = CASE WHEN mem_max_kib IS NULL"
                        " OR excluded.mem_max_kib > mem_max_kib"
                        " THEN excluded.mem_max_kib ELSE mem_max_kib END", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, hour);
    sqlite3_bind_int64(st, 2, dev);
    bind_opt_pct(st, 3, g->util_pct);
    bind_opt_u64_kib(st, 4, g->mem_used_bytes);
    return run(db, st, e);
}

/* Per (user, name) sums of one sample, written to rollup_procs once. */
struct rollup_cell {
    int64_t user_id, name_id;
    int64_t rows, mem_kib_ms, sm_pct_ms, peak_kib;   /* peak_kib -1: unknown */
};

struct rollup_acc {
    struct rollup_cell *cells;
    size_t count, cap;
};

static int rollup_add(struct rollup_acc *acc, int64_t user_id, int64_t name_id, int64_t dur,
                      const struct audit_proc_record *p, struct error *e)
{
    struct rollup_cell *c = NULL;
    for (size_t i = 0; i < acc->count && !c; i++)
        if (acc->cells[i].user_id == user_id && acc->cells[i].name_id == name_id)
            c = &acc->cells[i];
    if (!c) {
        if (acc->count == acc->cap) {
            size_t cap = acc->cap ? acc->cap * 2 : 16;
            struct rollup_cell *n = realloc(acc->cells, cap * sizeof *n);
            if (!n)
                return error_set(e, -ENOMEM, "out of memory recording a sample");
            acc->cells = n;
            acc->cap = cap;
        }
        c = &acc->cells[acc->count++];
        *c = (struct rollup_cell){user_id, name_id, 0, 0, 0, -1};
    }
    c->rows++;
    if (p->gpu_mem_bytes.known) {
        int64_t kib = (int64_t)((p->gpu_mem_bytes.v + 512) / 1024);
        c->mem_kib_ms += kib * dur;
        if (kib > c->peak_kib)
            c->peak_kib = kib;
    }
    if (p->sm_pct.known)
        c->sm_pct_ms += (int64_t)(p->sm_pct.v + 0.5) * dur;
    return 0;
}

static int rollup_flush(struct audit_db *db, int64_t hour, const struct rollup_acc *acc,
                        struct error *e)
{
    for (size_t i = 0; i < acc->count; i++) {
        const struct rollup_cell *c = &acc->cells[i];
        sqlite3_stmt *st;
        int rc = audit_stmt(db, ST_ROLLUP_PROC,
                            "INSERT INTO rollup_procs(hour, user_id, name_id, rows, mem_kib_ms,"
                            " sm_pct_ms, peak_kib) VALUES(?, ?, ?, ?, ?, ?, ?)"
                            " ON CONFLICT(hour, user_id, name_id) DO UPDATE SET"
                            " rows = rows + excluded.rows,"
                            " mem_kib_ms = mem_kib_ms + excluded.mem_kib_ms,"
                            " sm_pct_ms = sm_pct_ms + excluded.sm_pct_ms,"
                            " peak_kib = CASE WHEN peak_kib IS NULL"
                            " OR excluded.peak_kib > peak_kib"
                            " THEN excluded.peak_kib ELSE peak_kib END", &st, e);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, hour);
        sqlite3_bind_int64(st, 2, c->user_id);
        sqlite3_bind_int64(st, 3, c->name_id);
        sqlite3_bind_int64(st, 4, c->rows);
        sqlite3_bind_int64(st, 5, c->mem_kib_ms);
        sqlite3_bind_int64(st, 6, c->sm_pct_ms);
        if (c->peak_kib >= 0)
            sqlite3_bind_int64(st, 7, c->peak_kib);
        rc = run(db, st, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* The id of the process identity (host, GPU, pid, start, user, name,
 * command line, container), adding it when new. */
static void bind_proc_key(sqlite3_stmt *st, const int64_t key[8], bool start_known)
{
    for (int i = 0; i < 8; i++)
        if (i != 3 || start_known)
            sqlite3_bind_int64(st, i + 1, key[i]);
}

static int proc_id(struct audit_db *db, const int64_t key[8], bool start_known, int64_t hour,
                   int64_t *id, struct opt_i64 *last_hour, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_PROC_GET,
                        "SELECT id, last_hour FROM procs WHERE host_id = ?1 AND pid = ?3 AND gpu = ?2"
                        " AND start_s IS ?4 AND user_id = ?5 AND name_id = ?6 AND cmd_id = ?7"
                        " AND container_id = ?8", &st, e);
    if (rc)
        return rc;
    bind_proc_key(st, key, start_known);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *last_hour = column_opt_i64(st, 1);
    }
    sqlite3_reset(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    rc = audit_stmt(db, ST_PROC_ADD,
                    "INSERT INTO procs(host_id, gpu, pid, start_s, user_id, name_id, cmd_id,"
                    " container_id, last_hour) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &st, e);
    if (rc)
        return rc;
    bind_proc_key(st, key, start_known);
    sqlite3_bind_int64(st, 9, hour);
    rc = run(db, st, e);
    if (!rc) {
        *id = sqlite3_last_insert_rowid(db->db);
        OPT_SET(*last_hour, hour);
    }
    return rc;
}

/* A process seen before (the common case: the same jobs sample after
 * sample) is found with one statement that compares the strings through
 * their tables; only a new one pays for interning each string. */
static int proc_find(struct audit_db *db, int64_t host_id, const struct audit_proc_record *p,
                     int64_t key[8], int64_t *id, struct opt_i64 *last_hour, bool *found,
                     struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_PROC_FIND,
                        "SELECT p.id, p.user_id, p.name_id, p.last_hour FROM procs p"
                        " JOIN users u ON u.id = p.user_id JOIN pnames n ON n.id = p.name_id"
                        " JOIN cmdlines c ON c.id = p.cmd_id"
                        " JOIN containers k ON k.id = p.container_id"
                        " WHERE p.host_id = ?1 AND p.pid = ?2 AND p.gpu = ?3 AND p.start_s IS ?4"
                        " AND u.name = ?5 AND n.name = ?6 AND c.text = ?7 AND k.name = ?8",
                        &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int64(st, 2, p->pid);
    sqlite3_bind_int(st, 3, p->gpu_index);
    if (p->start_time_s.known)
        sqlite3_bind_int64(st, 4, p->start_time_s.v);
    sqlite3_bind_text(st, 5, p->user ? p->user : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, p->name ? p->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, p->cmdline ? p->cmdline : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, p->container ? p->container : "", -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *found = step == SQLITE_ROW;
    if (*found) {
        *id = sqlite3_column_int64(st, 0);
        key[4] = sqlite3_column_int64(st, 1);
        key[5] = sqlite3_column_int64(st, 2);
        *last_hour = column_opt_i64(st, 3);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    return 0;
}

/* ------------------------------------------------------------ known processes */

/* The processes of the host's previous sample, read with one statement:
 * the same jobs show sample after sample, so most of a sample's processes
 * are found here, in memory, instead of by a statement each (what made a
 * 256-process sample cost ~770 statements).  One that is not (a new
 * process, or the first sample of a run of imports) is looked up in the
 * database as before, so this is only a cache: it changes no row. */
struct known_proc {
    int64_t id, pid, start_s, user_id, name_id;
    int gpu;
    bool start_known;
    struct opt_i64 last_hour;
    const char *user, *name, *cmdline, *container;   /* into text */
    char *text;
};

struct known_procs {
    struct known_proc *v;
    size_t count;
};

static void known_clear(struct known_procs *k)
{
    for (size_t i = 0; i < k->count; i++)
        free(k->v[i].text);
    free(k->v);
    *k = (struct known_procs){0};
}

static int known_cmp(const void *a, const void *b)
{
    const struct known_proc *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

/* The four strings of one row, copied into one allocation. */
static int known_strings(sqlite3_stmt *st, struct known_proc *k)
{
    size_t len[4], total = 0;
    for (int i = 0; i < 4; i++) {
        len[i] = (size_t)sqlite3_column_bytes(st, 7 + i);
        total += len[i] + 1;
    }
    if (!(k->text = malloc(total)))
        return -ENOMEM;
    const char **dst[4] = {&k->user, &k->name, &k->cmdline, &k->container};
    char *w = k->text;
    for (int i = 0; i < 4; i++) {
        const unsigned char *t = sqlite3_column_text(st, 7 + i);
        if (len[i])
            memcpy(w, t, len[i]);
        w[len[i]] = '\0';
        *dst[i] = w;
        w += len[i] + 1;
    }
    return 0;
}

static int known_row(sqlite3_stmt *st, struct known_proc *k)
{
    *k = (struct known_proc){
        .id = sqlite3_column_int64(st, 0), .pid = sqlite3_column_int64(st, 1),
        .gpu = sqlite3_column_int(st, 2), .start_known = sqlite3_column_type(st, 3) != SQLITE_NULL,
        .start_s = sqlite3_column_int64(st, 3), .user_id = sqlite3_column_int64(st, 4),
        .name_id = sqlite3_column_int64(st, 5), .last_hour = column_opt_i64(st, 6)};
    return known_strings(st, k);
}

static int known_load(struct audit_db *db, int64_t prev_sample, struct known_procs *k,
                      struct error *e)
{
    known_clear(k);
    if (prev_sample < 0)
        return 0;
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_PREV_PROCS,
                        "SELECT p.id, p.pid, p.gpu, p.start_s, p.user_id, p.name_id,"
                        " p.last_hour, u.name, n.name, c.text, k.name FROM proc_samples ps"
                        " CROSS JOIN procs p ON p.id = ps.proc_id"
                        " CROSS JOIN users u ON u.id = p.user_id"
                        " CROSS JOIN pnames n ON n.id = p.name_id"
                        " CROSS JOIN cmdlines c ON c.id = p.cmd_id"
                        " CROSS JOIN containers k ON k.id = p.container_id"
                        " WHERE ps.sample_id = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, prev_sample);
    size_t cap = 0;
    int step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (k->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct known_proc *n = realloc(k->v, ncap * sizeof *n);
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            k->v = n;
            cap = ncap;
        }
        if ((rc = known_row(st, &k->v[k->count])) == 0)
            k->count++;
    }
    sqlite3_reset(st);
    if (rc)
        return error_set(e, rc, "out of memory recording a sample");
    if (step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    qsort(k->v, k->count, sizeof *k->v, known_cmp);
    return 0;
}

static bool same_text(const char *stored, const char *s)
{
    return strcmp(stored, s ? s : "") == 0;
}

/* The entry with p's whole identity, or NULL. */
static struct known_proc *known_find(struct known_procs *k, const struct audit_proc_record *p)
{
    size_t lo = 0, hi = k->count;
    struct known_proc key = {.pid = p->pid, .gpu = p->gpu_index};
    while (lo < hi) {   /* the first entry not below (pid, gpu) */
        size_t mid = lo + (hi - lo) / 2;
        if (known_cmp(&k->v[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < k->count && known_cmp(&k->v[lo], &key) == 0; lo++) {
        struct known_proc *c = &k->v[lo];
        if (c->start_known == p->start_time_s.known &&
            (!c->start_known || c->start_s == p->start_time_s.v) && same_text(c->user, p->user) &&
            same_text(c->name, p->name) && same_text(c->cmdline, p->cmdline) &&
            same_text(c->container, p->container))
            return c;
    }
    return NULL;
}

/* Keeps procs.last_hour at the hour of the identity's latest row, which
 * retention reads; written once an hour per identity, not per sample. */
static int touch_proc(struct audit_db *db, int64_t id, struct opt_i64 last_hour, int64_t hour,
                      struct error *e)
{
    if (last_hour.known && last_hour.v >= hour)
        return 0;
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_PROC_TOUCH, "UPDATE procs SET last_hour = ? WHERE id = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, hour);
    sqlite3_bind_int64(st, 2, id);
    return run(db, st, e);
}

static int write_proc(struct audit_db *db, int64_t sample_id, int64_t hour, int64_t host_id,
                      int64_t dur, const struct audit_proc_record *p, struct known_procs *known,
                      struct rollup_acc *acc, struct error *e)
{
    int64_t key[8] = {host_id, p->gpu_index, p->pid, p->start_time_s.v, 0, 0, 0, 0};
    int64_t pid_id = 0;
    struct opt_i64 last_hour = {0};
    struct known_proc *k = known_find(known, p);
    bool found = k != NULL;
    int rc = 0;
    if (k) {
        pid_id = k->id;
        key[4] = k->user_id;
        key[5] = k->name_id;
        last_hour = k->last_hour;
        OPT_SET(k->last_hour, hour);   /* touched below when older */
    } else {
        rc = proc_find(db, host_id, p, key, &pid_id, &last_hour, &found, e);
    }
    if (!rc && !found)
        rc = intern(db, &intern_users, p->user, &key[4], e);
    if (!rc && !found)
        rc = intern(db, &intern_pnames, p->name, &key[5], e);
    if (!rc && !found)
        rc = intern(db, &intern_cmds, p->cmdline, &key[6], e);
    if (!rc && !found)
        rc = intern(db, &intern_ctrs, p->container, &key[7], e);
    if (!rc && !found)
        rc = proc_id(db, key, p->start_time_s.known, hour, &pid_id, &last_hour, e);
    if (!rc)
        rc = touch_proc(db, pid_id, last_hour, hour, e);
    sqlite3_stmt *st;
    /* One process may show twice on one GPU (once per MIG instance): its
     * row then holds the sum of the memory and the larger SM %. */
    if (!rc)
        rc = audit_stmt(db, ST_PROC_SAMPLE_ADD,
                        "INSERT INTO proc_samples(sample_id, proc_id, mem_kib, sm_pct)"
                        " VALUES(?, ?, ?, ?) ON CONFLICT(sample_id, proc_id) DO UPDATE SET"
                        " mem_kib = CASE WHEN mem_kib IS NULL THEN excluded.mem_kib"
                        " WHEN excluded.mem_kib IS NULL THEN mem_kib"
                        " ELSE mem_kib + excluded.mem_kib END,"
                        " sm_pct = CASE WHEN sm_pct IS NULL OR excluded.sm_pct > sm_pct"
                        " THEN excluded.sm_pct ELSE sm_pct END", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, sample_id);
    sqlite3_bind_int64(st, 2, pid_id);
    bind_opt_u64_kib(st, 3, p->gpu_mem_bytes);
    bind_opt_pct(st, 4, p->sm_pct);
    rc = run(db, st, e);
    if (!rc)
        rc = rollup_add(acc, key[4], key[5], dur, p, e);
    return rc;
}

static int64_t hour_of(int64_t t)
{
    return t >= 0 ? t / AUDIT_HOUR_MS : -((-t + AUDIT_HOUR_MS - 1) / AUDIT_HOUR_MS);
}

/* Whether the host already has a sample at t: an import skips it, so the
 * same file imported twice, or again after an import was killed, stores
 * each sample once. */
static int sample_exists(struct audit_db *db, int64_t host_id, int64_t t, bool *exists,
                         struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_SAMPLE_AT, "SELECT 1 FROM samples WHERE host_id = ? AND t = ?",
                        &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int64(st, 2, t);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    *exists = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return audit_sql_error(db, e, "recording a sample");
    return 0;
}

/* A sample written before the host's later ones (an import of a
 * newest-first file, or of history older than what is stored) is now the
 * next one's predecessor, which changes the time that one stands for (0
 * when it was the host's first): its duration and the process rollups of
 * its hour are corrected by the difference. */
static int redo_next_duration(struct audit_db *db, int64_t host_id, int64_t t,
                              unsigned interval_s, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_stmt(db, ST_NEXT_SAMPLE,
                        "SELECT id, t, dur_ms FROM samples WHERE host_id = ? AND t > ?"
                        " ORDER BY t LIMIT 1", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, host_id);
    sqlite3_bind_int64(st, 2, t);
    int step = sqlite3_step(st);
    int64_t id = 0, next_t = 0, old = 0;
    if (step == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        next_t = sqlite3_column_int64(st, 1);
        old = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? 0 : audit_sql_error(db, e, "recording a sample");
    int64_t dur = capped_gap(next_t - t, interval_s);
    if (dur == old)
        return 0;
    rc = audit_stmt(db, ST_SAMPLE_DUR, "UPDATE samples SET dur_ms = ? WHERE id = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, dur);
    sqlite3_bind_int64(st, 2, id);
    if ((rc = run(db, st, e)))
        return rc;
    rc = audit_stmt(db, ST_ROLLUP_REDUR,
                    "UPDATE rollup_procs SET mem_kib_ms = mem_kib_ms + ?3 * a.mem,"
                    " sm_pct_ms = sm_pct_ms + ?3 * a.sm FROM (SELECT p.user_id AS u,"
                    " p.name_id AS n, sum(coalesce(ps.mem_kib, 0)) AS mem,"
                    " sum(coalesce(ps.sm_pct, 0)) AS sm FROM proc_samples ps"
                    " JOIN procs p ON p.id = ps.proc_id WHERE ps.sample_id = ?1"
                    " GROUP BY 1, 2) AS a WHERE rollup_procs.hour = ?2"
                    " AND rollup_procs.user_id = a.u AND rollup_procs.name_id = a.n", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, hour_of(next_t));
    sqlite3_bind_int64(st, 3, dur - old);
    return run(db, st, e);
}

static int write_sample(struct audit_db *db, const struct audit_sample *s, unsigned interval_s,
                        bool skip_existing, bool *skipped, struct rollup_acc *acc,
                        struct known_procs *known, struct error *e)
{
    int64_t host_id, dur, sample_id, prev_id;
    sqlite3_stmt *st;
    int rc = intern(db, &intern_hosts, s->host && *s->host ? s->host : db->host, &host_id, e);
    *skipped = false;
    if (!rc && skip_existing)
        rc = sample_exists(db, host_id, s->time_ms, skipped, e);
    if (rc || *skipped)
        return rc;
    rc = sample_duration(db, host_id, s->time_ms, interval_s, &dur, &prev_id, e);
    if (!rc && s->proc_count)
        rc = known_load(db, prev_id, known, e);
    if (!rc)
        rc = redo_next_duration(db, host_id, s->time_ms, interval_s, e);
    if (!rc)
        rc = audit_stmt(db, ST_SAMPLE_ADD,
                        "INSERT INTO samples(t, host_id, dur_ms) VALUES(?, ?, ?)", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, s->time_ms);
    sqlite3_bind_int64(st, 2, host_id);
    sqlite3_bind_int64(st, 3, dur);
    rc = run(db, st, e);
    if (rc)
        return rc;
    sample_id = sqlite3_last_insert_rowid(db->db);
    int64_t hour = hour_of(s->time_ms);
    for (size_t i = 0; !rc && i < s->gpu_count; i++)
        rc = write_gpu(db, sample_id, hour, host_id, &s->gpus[i], e);
    acc->count = 0;
    for (size_t i = 0; !rc && i < s->proc_count; i++)
        rc = write_proc(db, sample_id, hour, host_id, dur, &s->procs[i], known, acc, e);
    if (!rc)
        rc = rollup_flush(db, hour, acc, e);
    return rc;
}

static int write_samples(struct audit_db *db, const struct audit_sample *samples, size_t count,
                         unsigned interval_s, bool *skipped,
                         const struct audit_spool_mark *mark, struct error *e)
{
    if (db->readonly)
        return error_set(e, -EACCES, "%s: opened read-only", db->path);
    struct rollup_acc acc = {0};
    struct known_procs known = {0};
    int rc = audit_begin(db, e);
    if (!rc && !db->no_retention)
        rc = audit_retention_if_due(db, audit_now_ms(), e);
    for (size_t i = 0; !rc && i < count; i++) {
        bool skip = false;
        rc = write_sample(db, &samples[i], interval_s, skipped != NULL, &skip, &acc, &known, e);
        if (skipped)
            skipped[i] = skip;
    }
    if (!rc && mark)
        rc = audit_meta_set(db, "spool_folded_bytes", mark->bytes, e);
    if (!rc && mark)
        rc = audit_meta_set(db, "spool_folded_crc", mark->crc, e);
    free(acc.cells);
    known_clear(&known);
    if (rc) {
        audit_rollback(db);
        return rc;
    }
    rc = audit_commit(db, e);
    if (rc)
        audit_rollback(db);
    return rc;
}

int audit_write_samples(struct audit_db *db, const struct audit_sample *samples, size_t count,
                        unsigned interval_s, bool *skipped, struct error *e)
{
    return write_samples(db, samples, count, interval_s, skipped, NULL, e);
}

int audit_write_samples_marked(struct audit_db *db, const struct audit_sample *samples,
                               size_t count, unsigned interval_s,
                               const struct audit_spool_mark *mark, struct error *e)
{
    return write_samples(db, samples, count, interval_s, NULL, mark, e);
}

int audit_record_samples(struct audit_db *db, const struct audit_sample *samples, size_t count,
                         unsigned interval_s, struct error *e)
{
    /* a daemon's handle stays open: samples that lists spooled meanwhile
     * go in first, in time order */
    audit_catch_up(db);
    return audit_write_samples(db, samples, count, interval_s, NULL, e);
}

/* ------------------------------------------------------------ snapshots */

/* The container as one string: kind and full id ("docker:<id>",
 * "kubernetes:<pod uid>/<id>", "systemd:<unit>"); "" when none. */
static void container_text(const struct container_info *c, char *buf, size_t size)
{
    buf[0] = '\0';
    if (c->kind == CONTAINER_NONE)
        return;
    if (c->kind == CONTAINER_KUBERNETES && c->pod_uid[0])
        snprintf(buf, size, "k8s:%s/%s", c->pod_uid, c->id);
    else
        snprintf(buf, size, "%s:%s",
                 c->kind == CONTAINER_KUBERNETES ? "k8s" : model_container_kind_name(c->kind),
                 c->id);
}

static void gpu_from_device(const struct device *d, struct audit_gpu_record *g)
{
    *g = (struct audit_gpu_record){
        .gpu_index = d->index, .uuid = d->uuid, .vendor = d->vendor, .name = d->name,
        .mem_used_bytes = d->mem_used_bytes, .mem_total_bytes = d->mem_total_bytes,
        .util_pct = d->util_gpu_pct, .temp_c = d->temp_c, .power_mw = d->power_mw};
}

int audit_rows_from_snapshot(const struct snapshot *s, struct audit_rows *r, struct error *e)
{
    *r = (struct audit_rows){.sample = {
        .time_ms = (int64_t)s->wall.tv_sec * 1000 + s->wall.tv_nsec / 1000000,
        .host = s->host.hostname[0] ? s->host.hostname : NULL,
        .gpu_count = s->device_count, .proc_count = s->gproc_count}};
    r->gpus = calloc(s->device_count + 1, sizeof *r->gpus);
    r->procs = calloc(s->gproc_count + 1, sizeof *r->procs);
    r->ctr = calloc(s->gproc_count + 1, sizeof *r->ctr);
    if (!r->gpus || !r->procs || !r->ctr) {
        audit_rows_clear(r);
        return error_set(e, -ENOMEM, "out of memory recording a sample");
    }
    for (size_t i = 0; i < s->device_count; i++)
        gpu_from_device(&s->devices[i], &r->gpus[i]);
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        const struct host_process *hp = snapshot_host_process(s, gp->pid);
        struct audit_proc_record *p = &r->procs[i];
        *p = (struct audit_proc_record){.time_ms = r->sample.time_ms,
                                        .gpu_index = gp->device_index, .pid = gp->pid,
                                        .gpu_mem_bytes = gp->gpu_mem_bytes, .sm_pct = gp->sm_pct};
        if (hp && hp->exists) {
            if (hp->start_time.known)
                OPT_SET(p->start_time_s, (int64_t)hp->start_time.v);
            p->user = hp->user;
            p->name = hp->name;
            p->cmdline = hp->cmdline;
            container_text(&hp->container, r->ctr[i], sizeof r->ctr[i]);
            p->container = r->ctr[i];
        }
    }
    r->sample.gpus = r->gpus;
    r->sample.procs = r->procs;
    return 0;
}

void audit_rows_clear(struct audit_rows *r)
{
    free(r->gpus);
    free(r->procs);
    free(r->ctr);
    r->gpus = NULL;
    r->procs = NULL;
    r->ctr = NULL;
}

int audit_record_snapshot(struct audit_db *db, const struct snapshot *s, unsigned interval_s,
                          struct error *e)
{
    struct audit_rows rows;
    int rc = audit_rows_from_snapshot(s, &rows, e);
    if (!rc)
        rc = audit_record_samples(db, &rows.sample, 1, interval_s, e);
    audit_rows_clear(&rows);
    return rc;
}
