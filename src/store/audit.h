/* audit.h - the audit store: GPU usage history and the guard's record of
 * policy violations and actions, in one SQLite database.
 *
 * The database lives at $GPUCTL_AUDIT_DB, else $XDG_DATA_HOME/gpuctl/audit.db,
 * else ~/.local/share/gpuctl/audit.db (ARCHITECTURE.md decision 9).  It runs
 * in WAL mode with a busy timeout, and every write is one IMMEDIATE
 * transaction, so several writers (list, the record daemon, the guard, an
 * import) may share it.  The schema carries its version in user_version and
 * audit_open migrates older files forward.
 *
 * Times are milliseconds since the epoch (UTC).  Memory is bytes in this
 * API (stored in KiB).  Unknown values keep the model's known flags: a field
 * a GPU did not report is never stored or returned as zero.
 *
 * Ownership: audit_open returns a handle closed with audit_close.  Strings in
 * records handed to callbacks are valid only during the callback.  Structs
 * returned through an out pointer are freed with their *_free, which accepts
 * NULL.
 *
 * This header is stable: later versions only add to it.
 */
#ifndef GPUCTL_STORE_AUDIT_H
#define GPUCTL_STORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"
#include "core/snapshot.h"

/* The schema version this build writes (PRAGMA user_version). */
#define AUDIT_SCHEMA_VERSION 2

/* A sample counts for the time since its host's previous sample, but for at
 * most max(AUDIT_MAX_GAP_S, the recorder's interval): a gap longer than that
 * means nobody was recording, not that the processes ran unobserved. */
#define AUDIT_MAX_GAP_S 300

/* Retention runs at most this often (per database, whoever writes). */
#define AUDIT_RETENTION_EVERY_S 3600

/* ---- opening ---------------------------------------------------------- */

/* The database path: $GPUCTL_AUDIT_DB when set and not empty, else
 * $XDG_DATA_HOME/gpuctl/audit.db, else $HOME/.local/share/gpuctl/audit.db.
 * -ENOENT when no path can be formed, -ENAMETOOLONG when it does not fit. */
int audit_default_path(char *buf, size_t size, struct error *e);

enum audit_open_flags {
    AUDIT_OPEN_READONLY = 1u << 0, /* never create or migrate; queries only */
    AUDIT_OPEN_SHORT_WAIT = 1u << 1, /* wait at most 1 s for another writer's lock */
};

struct audit_db;

/* Opens (creating the file and its directory unless READONLY) the database
 * at path, or at audit_default_path() when path is NULL, and migrates its
 * schema to AUDIT_SCHEMA_VERSION.  A file written by a newer gpuctl
 * (user_version above ours) is refused with -EPROTO.  READONLY on a file
 * that does not exist is -ENOENT.  Close with audit_close. */
int audit_open(const char *path, unsigned flags, struct audit_db **out, struct error *e);
void audit_close(struct audit_db *db);

/* The path the handle was opened with. */
const char *audit_path(const struct audit_db *db);

/* Retention in days applied by writers through this handle (default 90;
 * 0 keeps everything). */
void audit_set_retention_days(struct audit_db *db, unsigned days);

/* Runs retention now, whenever it last ran: deletes samples (and the
 * rollups of whole hours) older than now_ms minus the retention, then the
 * process identities and command lines nothing refers to any more.
 * *deleted (may be NULL) receives the number of process rows removed. */
int audit_apply_retention(struct audit_db *db, int64_t now_ms, uint64_t *deleted,
                          struct error *e);

/* ---- recording -------------------------------------------------------- */

/* Appends one sample from a snapshot: a GPU row per device and a process
 * row per GPU process (user, name, command line and container from the
 * snapshot's host process, when read).  interval_s is how often the caller
 * samples (the daemon), 0 when it does not sample regularly (list): it
 * widens the gap a sample may stand for (AUDIT_MAX_GAP_S).  Applies
 * retention when it is due.  Nothing is written when it fails. */
int audit_record_snapshot(struct audit_db *db, const struct snapshot *s, unsigned interval_s,
                          struct error *e);

/* One GPU row of a sample, as stored and as queried. */
struct audit_gpu_record {
    int64_t time_ms;
    const char *host;
    int gpu_index;
    const char *uuid;          /* "" when unknown */
    enum vendor vendor;
    const char *name;          /* "" when unknown */
    struct opt_u64 mem_used_bytes;
    struct opt_u64 mem_total_bytes;
    struct opt_f64 util_pct;
    struct opt_i64 temp_c;
    struct opt_u64 power_mw;
};

/* One process row of a sample. */
struct audit_proc_record {
    int64_t time_ms;
    const char *host;
    int gpu_index;
    pid_t pid;
    struct opt_i64 start_time_s;   /* process start, epoch seconds */
    const char *user;              /* "" when unknown */
    const char *name;              /* "" when unknown */
    const char *cmdline;           /* "" when unknown */
    const char *container;         /* short form ("docker:3f2a..."), "" when none */
    struct opt_u64 gpu_mem_bytes;
    struct opt_f64 sm_pct;
};

/* A sample given as rows rather than a snapshot (import, tests, bench):
 * every row carries the sample's time and host.  gpu_rows and proc_rows
 * may be empty.  interval_s as for audit_record_snapshot. */
struct audit_sample {
    int64_t time_ms;
    const char *host;
    const struct audit_gpu_record *gpus;
    size_t gpu_count;
    const struct audit_proc_record *procs;
    size_t proc_count;
};

/* Appends samples in one transaction (all or nothing). */
int audit_record_samples(struct audit_db *db, const struct audit_sample *samples, size_t count,
                         unsigned interval_s, struct error *e);

/* ---- the spool: samples of one-shot commands ------------------------------ */

/* Recording into SQLite from a fresh process costs ~2 ms (schema, WAL index,
 * ~290 statements); `gpuctl list` appends its sample to a spool file next
 * to the database instead (PATH-spool: one open, a shared lock, one write).
 * The spool is folded into the database, in one transaction per 64
 * samples, by audit_open (every mode: a reader folds with a writable handle
 * of its own first), by every query and audit_record_samples on a handle
 * kept open, and by list itself once the spool passes
 * AUDIT_SPOOL_FOLD_BYTES.  Every reader therefore sees every sample.  A
 * record is checksummed: one torn by a crash, or damaged, is skipped with a
 * warning naming the file and the offset (audit_take_warning), and the
 * records after it are kept. */

/* A spool this long is folded by the list that made it so. */
#define AUDIT_SPOOL_FOLD_BYTES (256u << 10)

/* "<db_path>-spool"; -ENAMETOOLONG when it does not fit. */
int audit_spool_path(const char *db_path, char *buf, size_t size, struct error *e);

/* Appends a sample of s to the spool of the database at db_path (NULL: the
 * default path) and returns 1, *spool_bytes (may be NULL) receiving the
 * spool's size after it.  Returns 0, writing nothing, when there is no
 * SQLite database at that path yet (a missing file, a directory, another
 * kind of file): the caller records directly, which creates the database
 * or says what is wrong with the path.  Negative on an error: -EBUSY when a
 * fold has held the spool for more than a second (list never stalls). */
int audit_spool_append(const char *db_path, const struct snapshot *s, unsigned interval_s,
                       size_t *spool_bytes, struct error *e);

/* True when the spool of the database at db_path holds records. */
bool audit_spool_pending(const char *db_path);

/* Moves every record of db's spool into the database and empties the
 * spool (under an exclusive lock: appends wait, a second folder waits).
 * Bad records are skipped and said in the handle's warning.  Fails, leaving
 * the spool as it was, when the database cannot be written; a sample the
 * database already holds (same host and time) is not written twice. */
int audit_spool_fold(struct audit_db *db, struct error *e);

/* One decoded record; its strings and rows live in mem. */
struct audit_spool_record {
    struct audit_sample sample;
    unsigned interval_s;
    void *mem;
};
void audit_spool_record_clear(struct audit_spool_record *rec);   /* accepts NULL */

/* Called with each good record, which the callee takes (clears); a
 * non-zero return stops the parse and is returned by it. */
typedef int (*audit_spool_record_cb)(struct audit_spool_record *rec, size_t offset, void *arg);
/* Told about len bytes at offset that are not a good record, and why. */
typedef void (*audit_spool_bad_cb)(size_t offset, size_t len, const char *why, void *arg);

/* Parses spool bytes (outside input: buf, len).  Returns 0, -ENOMEM, or
 * what take returned. */
int audit_spool_parse(const uint8_t *buf, size_t len, audit_spool_record_cb take,
                      audit_spool_bad_cb bad, void *arg);

/* One record of sample s (the rows' time and host are the sample's): a
 * malloc'd buffer in *out, len bytes. */
int audit_spool_encode(const struct audit_sample *s, unsigned interval_s, uint8_t **out,
                       size_t *len, struct error *e);

/* The first problem the handle met that did not fail the call (a bad spool
 * record, a fold that could not run), copied to buf; false when there is
 * none.  Each is given once.  db may be NULL. */
bool audit_take_warning(struct audit_db *db, char *buf, size_t size);

/* Retention when it is due (AUDIT_RETENTION_EVERY_S), in a transaction of
 * its own: for a writer, like list, whose samples reach the database by a
 * fold (which never applies retention, since whoever folds may not know the
 * configured retention). */
int audit_maintain(struct audit_db *db, struct error *e);

/* ---- querying ---------------------------------------------------------- */

struct audit_filter {
    int64_t from_ms;           /* inclusive */
    int64_t to_ms;             /* exclusive */
    const char *user;          /* exact user name; NULL: any */
    const char *process;       /* PCRE2 pattern searched in the process name; NULL: any */
};

/* Called once per row in time order; a non-zero return stops the query and
 * is returned by it.  Strings are valid only during the call. */
typedef int (*audit_proc_cb)(const struct audit_proc_record *r, void *arg);
typedef int (*audit_gpu_cb)(const struct audit_gpu_record *r, void *arg);

/* Process rows matching f, in (time, gpu, pid) order.  An invalid pattern
 * is -EINVAL naming its position. */
int audit_query_processes(struct audit_db *db, const struct audit_filter *f, audit_proc_cb cb,
                          void *arg, struct error *e);

/* GPU rows with from_ms <= time < to_ms, in (time, gpu) order; user and
 * process are ignored. */
int audit_query_gpus(struct audit_db *db, const struct audit_filter *f, audit_gpu_cb cb,
                     void *arg, struct error *e);

/* ---- summary ------------------------------------------------------------ */

/* Usage of one user or one process name over the window.  Hours weigh each
 * row by the time its sample stands for (see AUDIT_MAX_GAP_S). */
struct audit_usage {
    char *key;                     /* user or process name (owned by the summary) */
    uint64_t rows;
    double gpu_mem_gib_hours;      /* GiB of GPU memory x hours */
    double sm_pct_hours;           /* SM % x hours (rows with a known SM %) */
    struct opt_u64 peak_mem_bytes; /* the most one process row held */
};

struct audit_gpu_usage {
    char *host;                    /* owned by the summary */
    int gpu_index;
    char *uuid;
    char *name;
    uint64_t rows;
    struct opt_f64 util_avg_pct;   /* mean of the samples with a known value */
    struct opt_f64 util_peak_pct;
    struct opt_u64 mem_peak_bytes;
};

/* One hour of the day (local time), over every day of the window. */
struct audit_hour_bin {
    int hour;                      /* 0..23 */
    uint64_t proc_rows;
    double gpu_mem_gib_hours;
    double sm_pct_hours;
    struct opt_f64 util_avg_pct;   /* mean GPU utilisation of the GPU samples */
};

/* One clock hour of the window, ranked by GPU-memory hours of the selected
 * processes, then SM-% hours, then earlier first. */
struct audit_period {
    int64_t start_ms;
    int64_t end_ms;
    uint64_t proc_rows;
    double gpu_mem_gib_hours;
    double sm_pct_hours;
    struct opt_f64 util_avg_pct;
};

struct audit_summary {
    int64_t from_ms, to_ms;
    uint64_t proc_rows;            /* rows matching the filter */
    uint64_t gpu_rows;
    uint64_t samples;
    struct opt_u64 first_ms, last_ms;   /* of the matching process rows */
    struct audit_usage *users;     /* by gpu_mem_gib_hours, descending */
    size_t user_count;
    struct audit_usage *processes; /* by process name, same order */
    size_t process_count;
    struct audit_gpu_usage *gpus;  /* by host, then index */
    size_t gpu_count;
    struct audit_hour_bin hours[24];
    struct audit_period *busiest;
    size_t busiest_count;
};

/* Summarises the window of f (user and process filters apply to the
 * process figures; GPU figures cover every GPU).  At most top_n users,
 * processes and busiest periods (0: every one).  Free with
 * audit_summary_free. */
int audit_summary(struct audit_db *db, const struct audit_filter *f, size_t top_n,
                  struct audit_summary **out, struct error *e);
void audit_summary_free(struct audit_summary *s);

/* ---- policy violations and actions (the guard) ------------------------- */

/* What a policy found wrong with one process (or user, or GPU). */
struct audit_violation {
    int64_t time_ms;
    const char *host;              /* NULL: this host */
    const char *policy;            /* e.g. "user:alice", "gpu:0", "time:nights" */
    const char *user;              /* NULL or "": not about one user */
    pid_t pid;                     /* 0: not about one process */
    struct opt_i64 start_time_s;   /* with pid: the process's start, epoch seconds */
    int gpu_index;                 /* -1: not about one GPU */
    const char *violation;         /* what was violated, e.g. "memory_limit" */
    const char *detail;            /* the figures, e.g. "12.0 GiB > 8.0 GiB"; may be NULL */
};

/* What was done about a violation. */
struct audit_action {
    int64_t time_ms;
    const char *action;            /* e.g. "warn", "terminate", "kill", "webhook" */
    bool dry_run;                  /* true: only logged ("would terminate") */
    bool success;
    const char *message;           /* outcome or error; may be NULL */
};

/* Stores a violation; *id (may be NULL) receives its id for the actions. */
int audit_violation_add(struct audit_db *db, const struct audit_violation *v, int64_t *id,
                        struct error *e);

/* Stores an action taken about violation_id (0: an action with no stored
 * violation).  *id may be NULL. */
int audit_action_add(struct audit_db *db, int64_t violation_id, const struct audit_action *a,
                     int64_t *id, struct error *e);

/* A violation together with one of its actions (has_action false when
 * none was recorded), as the guard's status shows them. */
struct audit_policy_event {
    int64_t violation_id;
    struct audit_violation v;      /* host and user filled ("" when none) */
    bool has_action;
    int64_t action_id;
    struct audit_action a;
};

typedef int (*audit_policy_cb)(const struct audit_policy_event *ev, void *arg);

/* Violations with from_ms <= time < to_ms, newest first, each repeated per
 * action (in action order); at most limit events (0: all).  f->user, when
 * set, keeps the violations of that user; f->process is ignored. */
int audit_query_policy_events(struct audit_db *db, const struct audit_filter *f, size_t limit,
                              audit_policy_cb cb, void *arg, struct error *e);

/* ---- gpu-kill's audit.jsonl: import and export ------------------------- */

/* One line of gpu-kill's audit.jsonl (fields id, timestamp, gpu_index,
 * gpu_name, pid, user, process_name, memory_used_mb, utilization_pct,
 * temperature_c, power_w, container), plus the fields gpuctl's export adds
 * so that its own files round-trip exactly (host, gpu_uuid, start_time,
 * command, sm_pct).  A line without a pid is a GPU record, one with a pid
 * a process record.  On a process record gpu-kill writes 0 for utilisation,
 * temperature and power, which it never measured: those are not read. */
struct audit_jsonl_record {
    int64_t time_ms;
    bool is_process;
    int gpu_index;
    char host[256];            /* "" when not given */
    char gpu_name[96];
    char gpu_uuid[96];
    pid_t pid;
    struct opt_i64 start_time_s;
    char user[64];
    char process_name[64];
    char container[160];
    char *command;             /* owned; NULL when not given */
    struct opt_u64 mem_bytes;  /* memory_used_mb: the GPU's used memory, or the process's */
    struct opt_f64 util_pct;   /* GPU: utilization_pct; process: sm_pct */
    struct opt_i64 temp_c;
    struct opt_u64 power_mw;
};

/* Parses one line (buf, len: no NUL needed; a trailing CR/LF is allowed).
 * -ERROR_PARSE with the reason (without file or line) when it is not a
 * valid record.  Free the result with audit_jsonl_record_clear, also after
 * a failure. */
int audit_jsonl_parse(const char *buf, size_t len, struct audit_jsonl_record *out,
                      struct error *e);
void audit_jsonl_record_clear(struct audit_jsonl_record *r);

/* Told about each line that was skipped: 1-based line number and why. */
typedef void (*audit_bad_line_cb)(size_t line, const char *reason, void *arg);

struct audit_import_stats {
    size_t lines;              /* lines read, blank ones included */
    size_t gpu_records, process_records;
    size_t samples;
    size_t bad_lines;
    /* samples (and their records) already stored, with the same host and
     * time: not written again, and not counted above */
    size_t skipped_samples, skipped_records;
};

/* Imports a whole file, JSON lines or one JSON array of records (its first
 * character that is not white space is "["; a bad element is told by the
 * line it starts on): consecutive records with the same timestamp and host
 * form one sample (host: the record's, else this machine's), in any order
 * of time.  A sample the database already holds (same host and time) is
 * skipped, so importing a file again, or after an import was stopped, adds
 * nothing twice.  A bad line goes to bad (may be NULL) and is skipped;
 * everything else is stored.  Returns an error only when reading or writing failed (then the
 * batches already committed stay, and stats say how far it got). */
int audit_import_jsonl(struct audit_db *db, FILE *in, audit_bad_line_cb bad, void *arg,
                       struct audit_import_stats *stats, struct error *e);

/* The next element of a JSON array document (outside input: buf, len).
 * *pos starts at 0 and is advanced past what was read.  Returns 1 with the
 * element's bytes at buf + *start, *len long (parsed as JSON, any type); 0
 * at the closing bracket (only white space may follow); -ERROR_PARSE with
 * the reason, *pos at the place, when the text breaks the grammar. */
int audit_json_array_next(const char *buf, size_t len, size_t *pos, size_t *start,
                          size_t *elem_len, struct error *e);

/* Export in that shape, one line per call (no newline; valid during the
 * call), per sample each GPU record followed by its processes' records.
 * gpu-kill's numeric fields are always numbers (its reader refuses null):
 * an unknown one is 0 and named in the record's "unknown" list, which the
 * import reads back; memory_used_mb is whole MiB, memory_used_kib the
 * exact figure (null when unknown).  f's window applies to every record; with a
 * user or process filter only the matching process records are written. */
typedef int (*audit_line_cb)(const char *line, size_t len, void *arg);
int audit_export_jsonl(struct audit_db *db, const struct audit_filter *f, audit_line_cb cb,
                       void *arg, struct error *e);

/* The lock wait for this handle (default 30 s); list uses a short one so a
 * long import never stalls it. */
void audit_set_busy_timeout(struct audit_db *db, int ms);

#endif
