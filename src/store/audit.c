/* audit.c - opening the audit database: where it lives, WAL and busy
 * timeout, the schema and its migrations, and retention.
 *
 * The schema is built for size (the budget is under 60 bytes per process
 * row): a process row is only (sample id, process id, memory, SM %) in a
 * WITHOUT ROWID table; the time and host live once per sample, and who the
 * process is (host, GPU, pid, start time, user, name, command line,
 * container) once per process in `proc`, with every string interned.
 * Hourly rollups, kept up to date by the writers, let the summary read a
 * few thousand rows instead of millions (audit_summary.c).  Recording is in
 * audit_write.c, queries in audit_query.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"
#include "store/audit_internal.h"

/* Pages of WAL after which a commit checkpoints (SQLite's default is 1000).
 * Each new process that opens the database reads the whole WAL to rebuild
 * its index (nobody keeps it open between two `gpuctl list`), so a short
 * WAL keeps that cheap; a checkpoint (three fsyncs) comes every ten or so
 * samples of a busy host. */
#define AUDIT_WAL_CHECKPOINT_PAGES 256

/* A database (with its WAL) of at most this size is checked (PRAGMA
 * quick_check) when it is opened: about 15 ms a MiB on a loaded 2-core VM,
 * so at most ~60 ms; a larger one is checked by no open, and corruption
 * shows on the first page that cannot be read (SQLITE_CORRUPT). */
#define AUDIT_CHECK_MAX_BYTES (4 << 20)

/* Busy timeout: long enough for another writer's largest transaction (an
 * import batch, a retention pass) on a slow disk. */
#define AUDIT_BUSY_TIMEOUT_MS 30000

/* ------------------------------------------------------------ helpers */

int64_t audit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int audit_sql_error(struct audit_db *db, struct error *e, const char *what)
{
    int rc = sqlite3_extended_errcode(db->db);
    int code = -EIO;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        code = -EBUSY;
    else if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_PERM ||
             (rc & 0xff) == SQLITE_CANTOPEN)
        code = -EACCES;
    else if ((rc & 0xff) == SQLITE_FULL)
        code = -ENOSPC;
    else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        return error_set(e, -EPROTO, "%s: the audit database is corrupt (%s): %s; move it aside "
                                     "(gpuctl then starts a new one) or recover what it can "
                                     "with sqlite3's .recover", what, sqlite3_errmsg(db->db),
                         db->path);
    return error_set(e, code, "%s: %s (%s)", what, sqlite3_errmsg(db->db), db->path);
}

int audit_prepare(struct audit_db *db, const char *sql, sqlite3_stmt **st, struct error *e)
{
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return audit_sql_error(db, e, "audit database");
    }
    return 0;
}

int audit_stmt(struct audit_db *db, enum audit_stmt_id id, const char *sql, sqlite3_stmt **st,
               struct error *e)
{
    if (!db->stmts[id]) {
        if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->stmts[id],
                               NULL) != SQLITE_OK) {
            db->stmts[id] = NULL;
            return audit_sql_error(db, e, "audit database");
        }
    }
    *st = db->stmts[id];
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return 0;
}

int audit_exec(struct audit_db *db, const char *sql, struct error *e)
{
    if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return audit_sql_error(db, e, "audit database");
    return 0;
}

int audit_begin(struct audit_db *db, struct error *e)
{
    return audit_exec(db, "BEGIN IMMEDIATE", e);
}

int audit_commit(struct audit_db *db, struct error *e)
{
    return audit_exec(db, "COMMIT", e);
}

void audit_rollback(struct audit_db *db)
{
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

int audit_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* ------------------------------------------------------------ path */

int audit_default_path(char *buf, size_t size, struct error *e)
{
    const char *env = getenv("GPUCTL_AUDIT_DB");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(buf, size, "%s", env);
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/gpuctl/audit.db", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.local/share/gpuctl/audit.db", home);
    else
        return error_set(e, -ENOENT, "no place for the audit database: set GPUCTL_AUDIT_DB, "
                                     "XDG_DATA_HOME or HOME");
    if (n < 0 || (size_t)n >= size)
        return error_set(e, -ENAMETOOLONG, "the audit database path is too long");
    return 0;
}

/* mkdir -p of the directory part of path, mode 0700 (the history names
 * users and command lines). */
static int make_parent_dirs(const char *path, struct error *e)
{
    char dir[PATH_MAX];
    if (strlen(path) >= sizeof dir)
        return error_set(e, -ENAMETOOLONG, "%s: path too long", path);
    strcpy(dir, path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return error_set(e, -errno, "cannot create %s: %s", dir, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    return 0;
}

/* ------------------------------------------------------------ schema */

/* Version 1.  Interned strings use "" for unknown so ids are never NULL. */
static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE hosts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE pnames(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE cmdlines(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);"
    "CREATE TABLE containers(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE devices(id INTEGER PRIMARY KEY, host_id INTEGER NOT NULL,"
    " idx INTEGER NOT NULL, uuid TEXT NOT NULL, vendor INTEGER NOT NULL,"
    " name TEXT NOT NULL, mem_total_kib INTEGER, UNIQUE(host_id, idx, uuid));"
    /* t: epoch ms; dur_ms: the time this sample stands for */
    "CREATE TABLE samples(id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
    " host_id INTEGER NOT NULL, dur_ms INTEGER NOT NULL);"
    "CREATE INDEX samples_t ON samples(t);"
    "CREATE INDEX samples_host_t ON samples(host_id, t);"
    "CREATE TABLE procs(id INTEGER PRIMARY KEY, host_id INTEGER NOT NULL,"
    " gpu INTEGER NOT NULL, pid INTEGER NOT NULL, start_s INTEGER,"
    " user_id INTEGER NOT NULL, name_id INTEGER NOT NULL, cmd_id INTEGER NOT NULL,"
    " container_id INTEGER NOT NULL);"
    "CREATE INDEX procs_ident ON procs(host_id, pid, gpu, start_s);"
    "CREATE INDEX procs_user ON procs(user_id);"
    "CREATE INDEX procs_name ON procs(name_id);"
    "CREATE INDEX procs_cmd ON procs(cmd_id);"
    "CREATE TABLE proc_samples(sample_id INTEGER NOT NULL, proc_id INTEGER NOT NULL,"
    " mem_kib INTEGER, sm_pct INTEGER, PRIMARY KEY(sample_id, proc_id)) WITHOUT ROWID;"
    "CREATE INDEX proc_samples_proc ON proc_samples(proc_id);"
    "CREATE TABLE gpu_samples(sample_id INTEGER NOT NULL, device_id INTEGER NOT NULL,"
    " mem_used_kib INTEGER, util_pct INTEGER, temp_c INTEGER, power_mw INTEGER,"
    " PRIMARY KEY(sample_id, device_id)) WITHOUT ROWID;"
    /* hourly rollups: sums over the rows of one hour, kept by the writers */
    "CREATE TABLE rollup_procs(hour INTEGER NOT NULL, user_id INTEGER NOT NULL,"
    " name_id INTEGER NOT NULL, rows INTEGER NOT NULL, mem_kib_ms INTEGER NOT NULL,"
    " sm_pct_ms INTEGER NOT NULL, peak_kib INTEGER,"
    " PRIMARY KEY(hour, user_id, name_id)) WITHOUT ROWID;"
    "CREATE TABLE rollup_gpus(hour INTEGER NOT NULL, device_id INTEGER NOT NULL,"
    " rows INTEGER NOT NULL, util_n INTEGER NOT NULL, util_sum INTEGER NOT NULL,"
    " util_max INTEGER, mem_max_kib INTEGER,"
    " PRIMARY KEY(hour, device_id)) WITHOUT ROWID;"
    "CREATE TABLE violations(id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
    " host_id INTEGER NOT NULL, policy TEXT NOT NULL, user_id INTEGER NOT NULL,"
    " pid INTEGER, start_s INTEGER, gpu INTEGER, violation TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX violations_t ON violations(t);"
    "CREATE TABLE actions(id INTEGER PRIMARY KEY, violation_id INTEGER, t INTEGER NOT NULL,"
    " action TEXT NOT NULL, dry_run INTEGER NOT NULL, success INTEGER NOT NULL,"
    " message TEXT);"
    "CREATE INDEX actions_violation ON actions(violation_id);";

/* Version 2.  The index of process rows by process cost a second B-tree
 * insert per row and, once each process's rows filled pages of their own,
 * one dirty page per running process per sample (a megabyte of WAL for 256
 * processes); its only reader was retention's search for process
 * identities with no rows left.  procs.last_hour (the hour of the
 * identity's latest row) answers that instead and changes once an hour. */
static const char schema_v2[] =
    "ALTER TABLE procs ADD COLUMN last_hour INTEGER;"
    "UPDATE procs SET last_hour = (SELECT max(s.t) / 3600000 FROM proc_samples ps"
    " JOIN samples s ON s.id = ps.sample_id WHERE ps.proc_id = procs.id);"
    "DROP INDEX proc_samples_proc;";

/* migrations[i] takes the schema from version i to i + 1. */
static const char *const migrations[] = {schema_v1, schema_v2};

_Static_assert(sizeof migrations / sizeof migrations[0] == AUDIT_SCHEMA_VERSION,
               "one migration per schema version");

static int user_version(struct audit_db *db, int *out, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "PRAGMA user_version", &st, e);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = audit_sql_error(db, e, "reading the schema version");
        sqlite3_finalize(st);
        return rc;
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* A version this build cannot take forward: newer than ours, or one no
 * gpuctl ever wrote (negative: another program's file, or a damaged one). */
static int check_known_version(struct audit_db *db, int version, struct error *e)
{
    if (version > AUDIT_SCHEMA_VERSION)
        return error_set(e, -EPROTO, "%s: schema version %d is newer than this gpuctl "
                                     "understands (%d)", db->path, version,
                         AUDIT_SCHEMA_VERSION);
    if (version < 0)
        return error_set(e, -EPROTO, "%s: schema version %d was never written by gpuctl: "
                                     "not an audit database, or a damaged one", db->path,
                         version);
    return 0;
}

/* Each step in its own transaction together with the new user_version, so a
 * crash leaves the file at one version or the next, never between. */
static int migrate(struct audit_db *db, struct error *e)
{
    int version = 0;
    int rc = audit_begin(db, e);
    if (rc)
        return rc;
    rc = user_version(db, &version, e);
    if (!rc)
        rc = check_known_version(db, version, e);
    while (!rc && version < AUDIT_SCHEMA_VERSION) {
        char sql[64];
        rc = audit_exec(db, migrations[version], e);
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
        if (!rc)
            rc = audit_exec(db, sql, e);
        version++;
    }
    if (rc) {
        audit_rollback(db);
        return rc;
    }
    return audit_commit(db, e);
}

/* A reader can open the file while its creator is still migrating it
 * (version 0, no tables yet): wait for the creator, and when none finishes,
 * it is a database with nothing recorded yet, not an old one. */
static int check_version_readonly(struct audit_db *db, int timeout_ms, struct error *e)
{
    int version, rc;
    for (int waited = 0;; waited += 10) {
        if ((rc = user_version(db, &version, e)))
            return rc;
        if (version != 0 || waited >= timeout_ms)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (version == 0)
        return error_set(e, -ENOENT, "%s: no audit database yet (nothing recorded)", db->path);
    if ((rc = check_known_version(db, version, e)))
        return rc;
    if (version < AUDIT_SCHEMA_VERSION)
        return error_set(e, -EPROTO, "%s: schema version %d is older than %d; open it once "
                                     "for writing (e.g. gpuctl list) to upgrade it",
                         db->path, version, AUDIT_SCHEMA_VERSION);
    return 0;
}

/* Switching a new file to WAL and creating the schema take locks that
 * SQLite refuses at once, without the busy handler, when two processes
 * create the database together (each holds a shared lock and wants the
 * exclusive one: waiting could deadlock).  Such a step is retried with a
 * short sleep until the busy timeout has passed. */
static int retry_busy(struct audit_db *db, int (*step)(struct audit_db *, struct error *),
                      int timeout_ms, struct error *e)
{
    int waited = 0, rc;
    while ((rc = step(db, e)) == -EBUSY && waited < timeout_ms) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        waited += 10;
    }
    return rc;
}

static int set_wal(struct audit_db *db, struct error *e)
{
    /* WAL: readers never block the writer.  synchronous=NORMAL syncs the
     * WAL only at checkpoints, not at each commit: a commit is in the WAL
     * (the kernel's page cache) when COMMIT returns, so a gpuctl that is
     * killed or crashes loses nothing and the next opener replays the WAL;
     * only a power loss or kernel crash can drop the last commits since
     * the latest checkpoint, and never leaves the file inconsistent.  For
     * sampled history that is the right trade against an fsync per list. */
    return audit_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", e);
}

/* SQLite's automatic checkpoint copies the WAL into the database but
 * leaves its frames in place until the next write transaction of the same
 * connection starts the log over.  A one-shot writer exits first, and the
 * next process, rebuilding the WAL index from the file, cannot know those
 * frames were copied: its commit checkpoints them all again, and so on at
 * every `gpuctl list`.  A TRUNCATE checkpoint empties the file instead.
 * It does not wait for readers (a long query would stall list): when one
 * is in the way it copies what it can, and a later commit tries again.
 * Called by SQLite after a commit, with no lock held. */
static int checkpoint_when_long(void *arg, sqlite3 *conn, const char *schema, int frames)
{
    const struct audit_db *db = arg;
    if (frames < AUDIT_WAL_CHECKPOINT_PAGES)
        return SQLITE_OK;
    sqlite3_busy_timeout(conn, 0);
    sqlite3_wal_checkpoint_v2(conn, schema, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(conn, db->busy_ms);
    return SQLITE_OK;   /* the commit stands whatever the checkpoint did */
}

/* The schema needs work only when it is not at our version; reading the
 * version first keeps the common open free of a write transaction. */
static int migrate_if_needed(struct audit_db *db, struct error *e)
{
    int version = 0;
    int rc = user_version(db, &version, e);
    if (!rc)
        rc = check_known_version(db, version, e);
    if (rc || version == AUDIT_SCHEMA_VERSION)
        return rc;
    return migrate(db, e);
}

/* Total size of the database and its WAL, -1 when unknown. */
static off_t file_bytes(const char *path)
{
    char wal[PATH_MAX];
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    off_t n = sb.st_size;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal && stat(wal, &sb) == 0)
        n += sb.st_size;
    return n;
}

int audit_check_if_cheap(struct audit_db *db, struct error *e)
{
    off_t n = file_bytes(db->path);
    if (n < 0 || n > AUDIT_CHECK_MAX_BYTES)
        return 0;
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "PRAGMA quick_check(1)", &st, e);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    const char *verdict = (const char *)sqlite3_column_text(st, 0);
    if (step != SQLITE_ROW) {
        rc = audit_sql_error(db, e, "checking the audit database");
    } else if (!verdict || strcmp(verdict, "ok") != 0) {
        /* "*** in database main ***\nPage 77: ..." on one line, the page */
        char why[160];
        const char *nl = verdict ? strrchr(verdict, '\n') : NULL;
        str_copy(why, sizeof why, nl ? nl + 1 : verdict ? verdict : "no verdict");
        rc = error_set(e, -EPROTO, "%s: the audit database is corrupt (%s); move it aside "
                                   "(gpuctl then starts a new one) or recover what it can "
                                   "with sqlite3's .recover", db->path, why);
    }
    sqlite3_finalize(st);
    return rc;
}

static int configure(struct audit_db *db, unsigned flags, struct error *e)
{
    int timeout = flags & AUDIT_OPEN_SHORT_WAIT ? 1000 : AUDIT_BUSY_TIMEOUT_MS;
    audit_set_busy_timeout(db, timeout);
    sqlite3_extended_result_codes(db->db, 1);
    if (db->readonly) {
        int rc = check_version_readonly(db, timeout < 2000 ? timeout : 2000, e);
        return rc ? rc : audit_check_if_cheap(db, e);
    }
    /* The last connection to close would checkpoint the whole WAL into the
     * database (two fsyncs) and delete the WAL, which the next writer
     * creates again (a directory fsync): that was most of what a sample
     * recorded by `gpuctl list` cost.  The WAL stays instead; the automatic
     * checkpoint (every 1000 pages) keeps it bounded, and a writer or
     * reader that opens it later reads the committed frames from it. */
    if (sqlite3_db_config(db->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK)
        return audit_sql_error(db, e, "configuring the audit database");
    sqlite3_wal_hook(db->db, checkpoint_when_long, db);
    int rc = retry_busy(db, set_wal, timeout, e);
    if (!rc)
        rc = retry_busy(db, migrate_if_needed, timeout, e);
    /* list's recording (a short wait) has a 1 ms budget: it checks with the
     * hourly retention pass instead */
    if (!rc && !(flags & AUDIT_OPEN_SHORT_WAIT))
        rc = audit_check_if_cheap(db, e);
    return rc;
}

/* A read-only reader of a WAL database needs the -shm file, and creates it
 * when it is missing; on a read-only filesystem it cannot.  With no WAL
 * there (the last writer checkpointed it away) the file alone is the whole
 * database, and since nothing can write on that filesystem, SQLite may
 * read it as immutable, without locks or -shm.  A WAL without its -shm
 * there cannot be read at all: said so.  *uri is NULL when the plain path
 * does (freed by the caller). */
static int readonly_uri(const char *path, char **uri, struct error *e)
{
    char dir[PATH_MAX], side[PATH_MAX];
    struct statvfs vfs;
    struct stat sb;
    *uri = NULL;
    str_copy(dir, sizeof dir, path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    if (statvfs(slash ? dir : ".", &vfs) != 0 || !(vfs.f_flag & ST_RDONLY))
        return 0;
    snprintf(side, sizeof side, "%s-shm", path);
    if (access(side, F_OK) == 0)
        return 0;                   /* SQLite reads a read-only -shm */
    snprintf(side, sizeof side, "%s-wal", path);
    if (stat(side, &sb) == 0 && sb.st_size > 0)
        return error_set(e, -EROFS, "%s is on a read-only filesystem with a write-ahead log "
                                    "but no -shm file, which SQLite needs to read it; copy "
                                    "%s and %s elsewhere to read them", path, path, side);
    size_t len = strlen(path), cap = 3 * len + 32;
    char *u = malloc(cap), *w = u;
    if (!u)
        return error_set(e, -ENOMEM, "out of memory opening %s", path);
    w += sprintf(w, "file:");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        w += c == '%' || c == '?' || c == '#' ? sprintf(w, "%%%02X", c) : sprintf(w, "%c", c);
    }
    sprintf(w, "?immutable=1");
    *uri = u;
    return 0;
}

void audit_warn(struct audit_db *db, const char *fmt, ...)
{
    if (db->warning[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->warning, sizeof db->warning, fmt, ap);
    va_end(ap);
}

bool audit_take_warning(struct audit_db *db, char *buf, size_t size)
{
    if (!db || !db->warning[0])
        return false;
    snprintf(buf, size, "%s", db->warning);
    db->warning[0] = '\0';
    return true;
}

/* Folds the spool of path with a writable handle of its own, for a reader
 * (or a read-only handle) about to read; what went wrong goes to warn.  A
 * place this process may not write is left alone quietly: the spool is
 * its owner's to fold. */
static void fold_for_reader(const char *path, struct audit_db *warn)
{
    struct audit_db *w = NULL;
    struct error e = {0};
    int rc = audit_open(path, 0, &w, &e);
    if (w && w->warning[0])
        audit_warn(warn, "%s", w->warning);
    audit_close(w);
    if (rc && rc != -EACCES && rc != -EROFS && rc != -EPERM)
        audit_warn(warn, "the samples spooled for %s were not added to it: %s", path, e.msg);
}

void audit_catch_up(struct audit_db *db)
{
    if (!audit_spool_pending(db->path))
        return;
    if (db->readonly) {
        fold_for_reader(db->path, db);
        return;
    }
    struct error e = {0};
    if (audit_spool_fold(db, &e) != 0)
        audit_warn(db, "the samples spooled for %s were not added to it: %s", db->path, e.msg);
}

int audit_maintain(struct audit_db *db, struct error *e)
{
    if (db->readonly)
        return error_set(e, -EACCES, "%s: opened read-only", db->path);
    int rc = audit_begin(db, e);
    if (!rc)
        rc = audit_retention_if_due(db, audit_now_ms(), e);
    if (rc) {
        audit_rollback(db);
        return rc;
    }
    return audit_commit(db, e);
}

int audit_open(const char *path, unsigned flags, struct audit_db **out, struct error *e)
{
    char def[PATH_MAX];
    *out = NULL;
    if (!path) {
        int rc = audit_default_path(def, sizeof def, e);
        if (rc)
            return rc;
        path = def;
    }
    /* a reader first has what lists spooled moved into the database (which
     * creates it when only the spool exists) */
    char spool_warning[sizeof ((struct audit_db *)0)->warning] = "";
    if ((flags & AUDIT_OPEN_READONLY) && audit_spool_pending(path)) {
        struct audit_db warn = {0};
        fold_for_reader(path, &warn);
        memcpy(spool_warning, warn.warning, sizeof spool_warning);
    }
    struct audit_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return error_set(e, -ENOMEM, "out of memory opening %s", path);
    }
    db->readonly = flags & AUDIT_OPEN_READONLY;
    db->retention_days = 90;
    if (gethostname(db->host, sizeof db->host - 1) != 0 || !db->host[0])
        str_copy(db->host, sizeof db->host, "localhost");

    struct stat sb;
    int rc = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        rc = error_set(e, -EISDIR, "%s is a directory, not an audit database (GPUCTL_AUDIT_DB "
                                   "names the database file itself)", path);
    else if (db->readonly && access(path, F_OK) != 0)
        rc = error_set(e, -ENOENT, "%s: no audit database yet (nothing recorded)", path);
    else if (!db->readonly)
        rc = make_parent_dirs(path, e);
    char *uri = NULL;
    if (!rc && db->readonly)
        rc = readonly_uri(path, &uri, e);
    if (!rc) {
        int oflags = db->readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if (sqlite3_open_v2(uri ? uri : path, &db->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK)
            rc = db->db ? audit_sql_error(db, e, "cannot open the audit database")
                        : error_set(e, -ENOMEM, "out of memory opening %s", path);
    }
    free(uri);
    if (!rc && !db->readonly)
        chmod(path, 0600);   /* best effort: the file names users and commands */
    if (!rc)
        rc = configure(db, flags, e);
    if (rc) {
        audit_close(db);
        return rc;
    }
    memcpy(db->warning, spool_warning, sizeof db->warning);
    if (!db->readonly)
        audit_catch_up(db);
    *out = db;
    return 0;
}

void audit_close(struct audit_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->stmts[i]);
    sqlite3_close_v2(db->db);
    free(db->path);
    free(db);
}

const char *audit_path(const struct audit_db *db)
{
    return db->path;
}

void audit_set_busy_timeout(struct audit_db *db, int ms)
{
    db->busy_ms = ms;
    sqlite3_busy_timeout(db->db, ms);
}

void audit_set_retention_days(struct audit_db *db, unsigned days)
{
    db->retention_days = days;
}

/* ------------------------------------------------------------ retention */

int audit_meta_get(struct audit_db *db, const char *key, int64_t *out, bool *found,
                   struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "SELECT value FROM meta WHERE key = ?", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    *found = step == SQLITE_ROW;
    if (*found)
        *out = sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "reading the audit database");
    sqlite3_finalize(st);
    return rc;
}

int audit_meta_set(struct audit_db *db, const char *key, int64_t value, struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = audit_sql_error(db, e, "writing the audit database");
    sqlite3_finalize(st);
    return rc;
}

/* Runs one statement with the cutoff bound to every parameter. */
static int delete_before(struct audit_db *db, const char *sql, int64_t cutoff, uint64_t *n,
                         struct error *e)
{
    sqlite3_stmt *st;
    int rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++)
        sqlite3_bind_int64(st, i, cutoff);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = audit_sql_error(db, e, "applying retention");
    else if (n)
        *n = (uint64_t)sqlite3_changes(db->db);
    sqlite3_finalize(st);
    return rc;
}

int audit_retention_run(struct audit_db *db, int64_t now_ms, uint64_t *deleted,
                        struct error *e)
{
    if (deleted)
        *deleted = 0;
    int rc = audit_meta_set(db, "retention_ms", now_ms, e);
    if (!rc && db->retention_days == 0)
        rc = audit_exec(db, "PRAGMA analysis_limit=400; PRAGMA optimize;", e);
    if (rc || db->retention_days == 0)
        return rc;
    /* Whole hours, so a rollup never holds part of a deleted hour. */
    int64_t cutoff = now_ms - (int64_t)db->retention_days * 24 * AUDIT_HOUR_MS;
    cutoff -= ((cutoff % AUDIT_HOUR_MS) + AUDIT_HOUR_MS) % AUDIT_HOUR_MS;
    static const char *const steps[] = {
        "DELETE FROM gpu_samples WHERE sample_id IN (SELECT id FROM samples WHERE t < ?)",
        "DELETE FROM samples WHERE t < ?",
        "DELETE FROM rollup_procs WHERE hour < ? / 3600000",
        "DELETE FROM rollup_gpus WHERE hour < ? / 3600000",
        "DELETE FROM procs WHERE last_hour IS NULL OR last_hour < ? / 3600000",
        "DELETE FROM cmdlines WHERE NOT EXISTS"
        " (SELECT 1 FROM procs WHERE cmd_id = cmdlines.id)",
        "DELETE FROM actions WHERE violation_id IN (SELECT id FROM violations WHERE t < ?)"
        " OR (violation_id = 0 AND t < ?)",
        "DELETE FROM violations WHERE t < ?",
    };
    rc = delete_before(db, "DELETE FROM proc_samples WHERE sample_id IN"
                           " (SELECT id FROM samples WHERE t < ?)", cutoff, deleted, e);
    for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++)
        rc = delete_before(db, steps[i], cutoff, NULL, e);
    /* Fresh statistics for the query planner (choosing between the time
     * index and the user/name indexes), sampled so that it stays cheap. */
    if (!rc)
        rc = audit_exec(db, "PRAGMA analysis_limit=400; PRAGMA optimize;", e);
    return rc;
}

int audit_retention_if_due(struct audit_db *db, int64_t now_ms, struct error *e)
{
    int64_t last = 0;
    bool found;
    int rc = audit_meta_get(db, "retention_ms", &last, &found, e);
    if (rc)
        return rc;
    if (found && now_ms - last < (int64_t)AUDIT_RETENTION_EVERY_S * 1000 && now_ms >= last)
        return 0;
    /* the hourly check of writers that skip it at open (list) */
    rc = audit_check_if_cheap(db, e);
    return rc ? rc : audit_retention_run(db, now_ms, NULL, e);
}

int audit_apply_retention(struct audit_db *db, int64_t now_ms, uint64_t *deleted,
                          struct error *e)
{
    if (db->readonly)
        return error_set(e, -EACCES, "%s: opened read-only", db->path);
    int rc = audit_begin(db, e);
    if (!rc)
        rc = audit_retention_run(db, now_ms, deleted, e);
    if (rc) {
        audit_rollback(db);
        return rc;
    }
    return audit_commit(db, e);
}
