/* test_audit.c - the audit store through its public API: open and
 * migrations, recording rows and reading them back with every filter, the
 * duration rule, retention, the summary against hand-computed figures, and
 * the guard's violations and actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/audit.h"

#define H (INT64_C(3600000))
#define MIB (UINT64_C(1) << 20)
/* 2026-01-01T00:00:00Z, a whole hour */
#define T0 (INT64_C(1767225600000))

struct fixture {
    char dir[64];
    char path[128];
    struct audit_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_audit.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/sub/audit.db", f->dir);
    struct error e = {0};
    if (audit_open(f->path, 0, &f->db, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    audit_set_retention_days(f->db, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    audit_close(f->db);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct audit_proc_record proc(int gpu, pid_t pid, const char *user, const char *name,
                                     uint64_t mem_mib, int sm)
{
    struct audit_proc_record p = {.gpu_index = gpu, .pid = pid, .user = user, .name = name,
                                  .cmdline = name, .container = ""};
    OPT_SET(p.start_time_s, 1000 + pid);
    OPT_SET(p.gpu_mem_bytes, mem_mib * MIB);
    if (sm >= 0)
        OPT_SET(p.sm_pct, sm);
    return p;
}

static struct audit_gpu_record gpu(int idx, int util, uint64_t used_mib)
{
    struct audit_gpu_record g = {.gpu_index = idx, .uuid = idx ? "GPU-b" : "GPU-a",
                                 .vendor = VENDOR_NVIDIA, .name = "Tesla T4"};
    OPT_SET(g.mem_used_bytes, used_mib * MIB);
    OPT_SET(g.mem_total_bytes, 16384 * MIB);
    if (util >= 0)
        OPT_SET(g.util_pct, util);
    OPT_SET(g.temp_c, 40);
    OPT_SET(g.power_mw, 70000);
    return g;
}

static void record(struct audit_db *db, int64_t t, const struct audit_gpu_record *g, size_t ng,
                   const struct audit_proc_record *p, size_t np)
{
    struct audit_sample s = {.time_ms = t, .host = "h1", .gpus = g, .gpu_count = ng,
                             .procs = p, .proc_count = np};
    struct error e = {0};
    int rc = audit_record_samples(db, &s, 1, 0, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
}

struct collected {
    size_t n;
    struct audit_proc_record rows[16];
    char names[16][32], users[16][32];
};

static int collect(const struct audit_proc_record *r, void *arg)
{
    struct collected *c = arg;
    if (c->n < 16) {
        c->rows[c->n] = *r;
        snprintf(c->names[c->n], 32, "%s", r->name);
        snprintf(c->users[c->n], 32, "%s", r->user);
    }
    c->n++;
    return 0;
}

static void query(struct audit_db *db, int64_t from, int64_t to, const char *user,
                  const char *pattern, struct collected *c)
{
    memset(c, 0, sizeof *c);
    struct audit_filter f = {.from_ms = from, .to_ms = to, .user = user, .process = pattern};
    struct error e = {0};
    int rc = audit_query_processes(db, &f, collect, c, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
}

static void test_open_sets_version_and_wal(void **state)
{
    struct fixture *f = *state;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), AUDIT_SCHEMA_VERSION);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    audit_close(f->db);
    f->db = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &f->db, &e), -EPROTO);
    assert_non_null(strstr(e.msg, "newer"));
    assert_int_equal(audit_open(f->path, AUDIT_OPEN_READONLY, &f->db, &e), -EPROTO);
    assert_null(f->db);
}

/* A negative user_version was never written by any gpuctl: refused by
 * writers and readers alike, not used as an index into the migrations. */
static void test_negative_schema_version_refused(void **state)
{
    struct fixture *f = *state;
    audit_close(f->db);
    f->db = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = -1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &f->db, &e), -EPROTO);
    assert_null(f->db);
    assert_non_null(strstr(e.msg, "schema version -1"));
    assert_int_equal(audit_open(f->path, AUDIT_OPEN_READONLY, &f->db, &e), -EPROTO);
    assert_null(f->db);
}

static void test_readonly_missing_file(void **state)
{
    struct fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/none.db", f->dir);
    struct audit_db *db = NULL;
    struct error e = {0};
    assert_int_equal(audit_open(path, AUDIT_OPEN_READONLY, &db, &e), -ENOENT);
    assert_null(db);
    assert_int_not_equal(access(path, F_OK), 0);
}

/* A reader that opens the file while its creator has not yet written the
 * schema (user_version 0) waits, then sees "nothing recorded", not an
 * "older schema" error. */
static void test_readonly_while_being_created(void **state)
{
    struct fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/creating.db", f->dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    struct audit_db *db = NULL;
    struct error e = {0};
    assert_int_equal(audit_open(path, AUDIT_OPEN_READONLY | AUDIT_OPEN_SHORT_WAIT, &db, &e),
                     -ENOENT);
    assert_null(db);
    assert_non_null(strstr(e.msg, "nothing recorded"));
}

static void test_record_and_query(void **state)
{
    struct fixture *f = *state;
    struct audit_gpu_record g[2] = {gpu(0, 50, 4096), gpu(1, -1, 0)};
    struct audit_proc_record p[3] = {proc(0, 100, "alice", "python", 1024, 30),
                                     proc(0, 200, "bob", "xmrig", 2048, -1),
                                     proc(1, 300, "alice", "train", 512, 10)};
    record(f->db, T0 + 1000, g, 2, p, 3);
    p[0].gpu_mem_bytes.v = 3072 * MIB;
    record(f->db, T0 + 61000, g, 2, p, 2);

    struct collected c;
    query(f->db, T0, T0 + H, NULL, NULL, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.rows[0].time_ms, T0 + 1000);
    assert_int_equal(c.rows[0].pid, 100);
    assert_string_equal(c.users[0], "alice");
    assert_int_equal(c.rows[0].gpu_mem_bytes.v, 1024 * MIB);
    assert_true(c.rows[0].sm_pct.known);
    assert_false(c.rows[1].sm_pct.known);           /* unknown stays unknown */
    assert_int_equal(c.rows[1].start_time_s.v, 1200);
    assert_int_equal(c.rows[2].gpu_index, 1);
    assert_int_equal(c.rows[3].gpu_mem_bytes.v, 3072 * MIB);

    query(f->db, T0 + 2000, T0 + H, NULL, NULL, &c);   /* from is inclusive */
    assert_int_equal(c.n, 2);
    query(f->db, T0, T0 + 61000, NULL, NULL, &c);      /* to is exclusive */
    assert_int_equal(c.n, 3);
    query(f->db, T0, T0 + H, "alice", NULL, &c);
    assert_int_equal(c.n, 3);
    query(f->db, T0, T0 + H, "nobody", NULL, &c);
    assert_int_equal(c.n, 0);
    query(f->db, T0, T0 + H, NULL, "^xm", &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "xmrig");
    query(f->db, T0, T0 + H, "alice", "^(train|xmrig)$", &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "train");

    struct audit_filter bad = {.from_ms = T0, .to_ms = T0 + H, .process = "(unclosed"};
    struct error e = {0};
    assert_int_equal(audit_query_processes(f->db, &bad, collect, &c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "position"));
}


#define M (INT64_C(60000))
#define GIB_S (1.0 / 3600.0)   /* one GiB for one second, in GiB-hours */

/* Four samples (see the comments) whose figures are worked out by hand in
 * the tests below. */
static void record_history(struct audit_db *db)
{
    struct audit_gpu_record g[2] = {gpu(0, 50, 4096), gpu(1, -1, 0)};
    struct audit_proc_record p[3] = {proc(0, 100, "alice", "python", 1024, 30),
                                     proc(0, 200, "bob", "xmrig", 2048, -1),
                                     proc(1, 300, "alice", "train", 512, 10)};
    record(db, T0 + 10 * M, g, 2, p, 3);            /* first sample: stands for 0 s */
    g[0].util_pct.v = 70;
    p[0].gpu_mem_bytes.v = 3072 * MIB;
    record(db, T0 + 11 * M, g, 2, p, 2);            /* 60 s */
    g[0] = gpu(0, 90, 8192);
    p[0] = proc(0, 100, "alice", "python", 1024, 50);
    record(db, T0 + H + 5 * M, g, 1, p, 1);         /* 54 min later: capped at 300 s */
    g[0] = gpu(0, 10, 100);
    p[0] = proc(0, 200, "bob", "xmrig", 4096, 100);
    record(db, T0 + 2 * H + 30 * M, g, 1, p, 1);    /* 300 s */
}

static struct audit_summary *summary(struct audit_db *db, int64_t from, int64_t to,
                                     const char *user, const char *pattern)
{
    struct audit_filter f = {.from_ms = from, .to_ms = to, .user = user, .process = pattern};
    struct audit_summary *s = NULL;
    struct error e = {0};
    int rc = audit_summary(db, &f, 0, &s, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return s;
}

static void check_usage(const struct audit_usage *u, const char *key, uint64_t rows,
                        double gib_s, double pct_s, uint64_t peak_mib)
{
    assert_string_equal(u->key, key);
    assert_int_equal(u->rows, rows);
    assert_float_equal(u->gpu_mem_gib_hours, gib_s * GIB_S, 1e-9);
    assert_float_equal(u->sm_pct_hours, pct_s / 3600.0, 1e-9);
    assert_true(u->peak_mem_bytes.known);
    assert_int_equal(u->peak_mem_bytes.v, peak_mib * MIB);
}

/* Every figure of the whole history: the same whether it comes from the
 * rollups (window on whole hours) or from raw rows (ends inside hours). */
static void check_full_summary(const struct audit_summary *s)
{
    assert_int_equal(s->samples, 4);
    assert_int_equal(s->proc_rows, 7);
    assert_int_equal(s->gpu_rows, 6);
    assert_int_equal(s->first_ms.v, T0 + 10 * M);
    assert_int_equal(s->last_ms.v, T0 + 2 * H + 30 * M);
    /* bob: 2 GiB x 60 s + 4 GiB x 300 s; SM 100 % x 300 s */
    assert_int_equal(s->user_count, 2);
    check_usage(&s->users[0], "bob", 3, 120 + 1200, 30000, 4096);
    /* alice: 3 GiB x 60 s + 1 GiB x 300 s; SM 30 x 60 + 50 x 300 */
    check_usage(&s->users[1], "alice", 4, 180 + 300, 1800 + 15000, 3072);
    assert_int_equal(s->process_count, 3);
    check_usage(&s->processes[0], "xmrig", 3, 1320, 30000, 4096);
    check_usage(&s->processes[1], "python", 3, 480, 16800, 3072);
    check_usage(&s->processes[2], "train", 1, 0, 0, 512);   /* its only sample stands for 0 s */

    assert_int_equal(s->gpu_count, 2);
    assert_string_equal(s->gpus[0].host, "h1");
    assert_int_equal(s->gpus[0].gpu_index, 0);
    assert_string_equal(s->gpus[0].uuid, "GPU-a");
    assert_int_equal(s->gpus[0].rows, 4);
    assert_float_equal(s->gpus[0].util_avg_pct.v, (50 + 70 + 90 + 10) / 4.0, 1e-9);
    assert_float_equal(s->gpus[0].util_peak_pct.v, 90, 1e-9);
    assert_int_equal(s->gpus[0].mem_peak_bytes.v, 8192 * MIB);
    assert_int_equal(s->gpus[1].rows, 2);
    assert_false(s->gpus[1].util_avg_pct.known);            /* never reported */
    assert_false(s->gpus[1].util_peak_pct.known);
    assert_int_equal(s->gpus[1].mem_peak_bytes.v, 0);

    /* TZ=UTC: T0 is midnight */
    assert_int_equal(s->hours[0].proc_rows, 5);
    assert_float_equal(s->hours[0].gpu_mem_gib_hours, 300 * GIB_S, 1e-9);
    assert_float_equal(s->hours[0].sm_pct_hours, 1800 / 3600.0, 1e-9);
    assert_float_equal(s->hours[0].util_avg_pct.v, 60, 1e-9);
    assert_int_equal(s->hours[1].proc_rows, 1);
    assert_float_equal(s->hours[1].sm_pct_hours, 15000 / 3600.0, 1e-9);
    assert_float_equal(s->hours[1].util_avg_pct.v, 90, 1e-9);
    assert_float_equal(s->hours[2].gpu_mem_gib_hours, 1200 * GIB_S, 1e-9);
    assert_float_equal(s->hours[2].util_avg_pct.v, 10, 1e-9);
    for (int b = 3; b < 24; b++) {
        assert_int_equal(s->hours[b].hour, b);
        assert_int_equal(s->hours[b].proc_rows, 0);
        assert_false(s->hours[b].util_avg_pct.known);
    }
    /* busiest: hour 2 (1200 GiB s), then hours 1 and 0 tie on memory (300)
     * and hour 1 has more SM */
    assert_int_equal(s->busiest_count, 3);
    assert_int_equal(s->busiest[0].start_ms, s->from_ms > T0 + 2 * H ? s->from_ms : T0 + 2 * H);
    assert_int_equal(s->busiest[1].start_ms, T0 + H);
    assert_int_equal(s->busiest[1].end_ms, T0 + 2 * H);
    assert_float_equal(s->busiest[1].util_avg_pct.v, 90, 1e-9);
    assert_int_equal(s->busiest[2].proc_rows, 5);
}

static void test_summary_hand_computed(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);
    struct audit_summary *s = summary(f->db, T0, T0 + 3 * H, NULL, NULL);
    check_full_summary(s);
    audit_summary_free(s);
    s = summary(f->db, T0 + 1, T0 + 3 * H - 1, NULL, NULL);   /* raw rows at both ends */
    check_full_summary(s);
    assert_int_equal(s->busiest[2].start_ms, T0 + 1);
    assert_int_equal(s->busiest[0].end_ms, T0 + 3 * H - 1);
    audit_summary_free(s);
}

static void test_summary_partial_window(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);
    /* drops the first sample (raw, hour 0) and nothing else */
    struct audit_summary *s = summary(f->db, T0 + 10 * M + 30000, T0 + 2 * H + 40 * M, NULL,
                                      NULL);
    assert_int_equal(s->samples, 3);
    assert_int_equal(s->proc_rows, 4);
    assert_int_equal(s->first_ms.v, T0 + 11 * M);
    check_usage(&s->users[0], "bob", 2, 1320, 30000, 4096);
    check_usage(&s->users[1], "alice", 2, 480, 16800, 3072);
    assert_int_equal(s->process_count, 2);                   /* train only ran in the first */
    assert_float_equal(s->gpus[0].util_avg_pct.v, (70 + 90 + 10) / 3.0, 1e-9);
    audit_summary_free(s);
}

static void test_summary_filters(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);
    struct audit_summary *s = summary(f->db, T0, T0 + 3 * H, "alice", NULL);
    assert_int_equal(s->user_count, 1);
    check_usage(&s->users[0], "alice", 4, 480, 16800, 3072);
    assert_int_equal(s->process_count, 2);
    assert_string_equal(s->processes[0].key, "python");
    assert_int_equal(s->proc_rows, 4);
    assert_int_equal(s->gpu_rows, 6);                        /* GPU figures are unfiltered */
    assert_int_equal(s->busiest_count, 2);                   /* hour 2 had no alice */
    assert_int_equal(s->busiest[0].start_ms, T0 + H);
    assert_int_equal(s->last_ms.v, T0 + H + 5 * M);
    audit_summary_free(s);

    s = summary(f->db, T0 + 1, T0 + 3 * H, NULL, "^x");
    assert_int_equal(s->process_count, 1);
    check_usage(&s->processes[0], "xmrig", 3, 1320, 30000, 4096);
    assert_int_equal(s->user_count, 1);
    assert_string_equal(s->users[0].key, "bob");
    audit_summary_free(s);

    s = summary(f->db, T0, T0 + 3 * H, "carol", NULL);
    assert_int_equal(s->proc_rows, 0);
    assert_int_equal(s->user_count, 0);
    assert_false(s->first_ms.known);
    assert_int_equal(s->busiest_count, 0);
    audit_summary_free(s);
}

static void test_summary_top_n(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);
    struct audit_filter flt = {.from_ms = T0, .to_ms = T0 + 3 * H};
    struct audit_summary *s = NULL;
    struct error e = {0};
    assert_int_equal(audit_summary(f->db, &flt, 1, &s, &e), 0);
    assert_int_equal(s->user_count, 1);
    assert_string_equal(s->users[0].key, "bob");
    assert_int_equal(s->process_count, 1);
    assert_int_equal(s->busiest_count, 1);
    audit_summary_free(s);
}

static void test_interval_widens_gap(void **state)
{
    struct fixture *f = *state;
    struct audit_proc_record p = proc(0, 1, "u", "n", 1024, 0);
    struct audit_sample smp = {.time_ms = T0, .host = "h1", .procs = &p, .proc_count = 1};
    struct error e = {0};
    assert_int_equal(audit_record_samples(f->db, &smp, 1, 600, &e), 0);
    smp.time_ms = T0 + 500000;                               /* 500 s: within 600 */
    assert_int_equal(audit_record_samples(f->db, &smp, 1, 600, &e), 0);
    smp.time_ms = T0 + 500000 + 700000;                      /* 700 s: capped at 600 */
    assert_int_equal(audit_record_samples(f->db, &smp, 1, 600, &e), 0);
    struct audit_summary *s = summary(f->db, T0, T0 + 2 * H, NULL, NULL);
    assert_float_equal(s->users[0].gpu_mem_gib_hours, (500 + 600) * GIB_S, 1e-9);
    audit_summary_free(s);
}

static size_t count_rows(const char *path, const char *table)
{
    sqlite3 *raw;
    sqlite3_stmt *st;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return n;
}

/* The writer finds the processes of the previous sample in memory: one
 * seen again keeps its identity, and anything that differs (a changed
 * command line, a pid on another GPU, an unknown start time) is a process
 * of its own, as when each was looked up in the database. */
static void test_processes_seen_again_keep_their_identity(void **state)
{
    struct fixture *f = *state;
    struct audit_proc_record p[4] = {proc(0, 100, "alice", "python", 1024, 30),
                                     proc(0, 200, "bob", "train", 512, 10),
                                     proc(0, 300, "carol", "eval", 256, 5),
                                     proc(0, 300, "carol", "eval", 256, 5)};
    p[1].start_time_s.known = false;
    record(f->db, T0, NULL, 0, p, 3);
    assert_int_equal(count_rows(f->path, "procs"), 3);

    p[2].cmdline = "eval --again";    /* same pid, GPU and start: a new identity */
    p[3].gpu_index = 1;               /* the same pid on another GPU */
    record(f->db, T0 + 60000, NULL, 0, p, 4);
    assert_int_equal(count_rows(f->path, "procs"), 5);

    p[3] = p[0];                      /* shown twice on one GPU (MIG): one row, summed */
    record(f->db, T0 + 120000, NULL, 0, p, 4);
    record(f->db, T0 + 180000, NULL, 0, p, 2);
    assert_int_equal(count_rows(f->path, "procs"), 5);

    struct collected c;
    query(f->db, T0 + 120000, T0 + 120001, NULL, NULL, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.rows[0].pid, 100);
    assert_int_equal(c.rows[0].gpu_mem_bytes.v, 2048 * MIB);
    assert_false(c.rows[1].start_time_s.known);
    query(f->db, T0, T0 + H, NULL, NULL, &c);
    assert_int_equal(c.n, 12);
}

static void test_retention(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);                                   /* T0 .. T0 + 2h30 */
    struct audit_proc_record p = proc(0, 7, "dave", "new", 64, 0);
    struct audit_gpu_record g = gpu(0, 5, 64);
    record(f->db, T0 + 48 * H, &g, 1, &p, 1);
    audit_set_retention_days(f->db, 1);
    uint64_t deleted = 0;
    struct error e = {0};
    /* cutoff: T0 + 26h30 - 24h = T0 + 2h30, down to the hour: T0 + 2h */
    assert_int_equal(audit_apply_retention(f->db, T0 + 26 * H + 30 * M, &deleted, &e), 0);
    assert_int_equal(deleted, 6);                            /* hours 0 and 1 */
    struct collected c;
    query(f->db, 0, T0 + 100 * H, NULL, NULL, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "xmrig");
    struct audit_summary *s = summary(f->db, 0, T0 + 100 * H, NULL, NULL);
    assert_int_equal(s->proc_rows, 2);                       /* the rollups went too */
    assert_int_equal(s->samples, 2);
    assert_int_equal(s->gpu_rows, 2);
    audit_summary_free(s);
    assert_int_equal(count_rows(f->path, "procs"), 2);       /* identities nothing uses */
    assert_int_equal(count_rows(f->path, "cmdlines"), 2);
}

/* A version 1 file (an index of process rows by process, no
 * procs.last_hour) is taken to version 2 with its rows kept: last_hour
 * from each identity's latest row, the index gone, retention still
 * removing the identities whose rows it deleted. */
static void test_version_1_file_is_migrated(void **state)
{
    struct fixture *f = *state;
    record_history(f->db);                                   /* T0 .. T0 + 2h30 */
    audit_close(f->db);
    f->db = NULL;
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE INDEX proc_samples_proc ON proc_samples(proc_id);"
                                       "ALTER TABLE procs DROP COLUMN last_hour;"
                                       "PRAGMA user_version = 1;", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &f->db, &e), 0);
    audit_set_retention_days(f->db, 0);
    assert_int_equal(count_rows(f->path, "procs WHERE last_hour IS NULL"), 0);
    assert_int_equal(count_rows(f->path, "sqlite_schema WHERE name = 'proc_samples_proc'"), 0);
    struct collected c;
    query(f->db, 0, T0 + 100 * H, NULL, NULL, &c);
    size_t before = c.n;
    assert_true(before > 0);
    audit_set_retention_days(f->db, 1);
    uint64_t deleted = 0;
    assert_int_equal(audit_apply_retention(f->db, T0 + 26 * H + 30 * M, &deleted, &e), 0);
    assert_int_equal(deleted, 6);                            /* hours 0 and 1, as in v1 */
    query(f->db, 0, T0 + 100 * H, NULL, NULL, &c);
    assert_int_equal(c.n, before - 6);
    assert_int_equal(count_rows(f->path, "procs"), 1);       /* only xmrig has rows left */
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* One-shot writers (a connection per sample, as `gpuctl list` is): the
 * WAL is emptied once it is long, so the next process neither reads nor
 * copies it all again; every sample stays. */
static void test_one_shot_writers_keep_the_wal_short(void **state)
{
    struct fixture *f = *state;
    audit_close(f->db);
    f->db = NULL;
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct audit_proc_record p[64];
    char names[64][16];
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "job%d", i);
        p[i] = proc(i % 2, 1000 + i, "alice", names[i], 100 + i, i);
    }
    struct audit_gpu_record g[2] = {gpu(0, 50, 4096), gpu(1, 60, 4096)};
    long longest = 0;
    bool emptied = false;
    for (int k = 0; k < 120; k++) {
        struct error e = {0};
        struct audit_db *db;
        assert_int_equal(audit_open(f->path, AUDIT_OPEN_SHORT_WAIT, &db, &e), 0);
        audit_set_retention_days(db, 0);
        long before = file_size(wal);
        record(db, T0 + k * 60000, g, 2, p, 64);
        audit_close(db);
        long after = file_size(wal);
        emptied = emptied || after < before;
        longest = after > longest ? after : longest;
    }
    assert_true(emptied);
    assert_true(longest < 2 * 256 * (4096 + 24));
    assert_int_equal(count_rows(f->path, "samples"), 120);
    assert_int_equal(count_rows(f->path, "proc_samples"), 120 * 64);
}

struct events {
    size_t n;
    int64_t vid[8];
    bool has_action[8], dry_run[8], success[8];
    char policy[8][32], action[8][32], user[8][32];
};

static int collect_event(const struct audit_policy_event *ev, void *arg)
{
    struct events *x = arg;
    if (x->n < 8) {
        x->vid[x->n] = ev->violation_id;
        x->has_action[x->n] = ev->has_action;
        x->dry_run[x->n] = ev->a.dry_run;
        x->success[x->n] = ev->a.success;
        snprintf(x->policy[x->n], 32, "%s", ev->v.policy);
        snprintf(x->action[x->n], 32, "%s", ev->has_action ? ev->a.action : "");
        snprintf(x->user[x->n], 32, "%s", ev->v.user);
    }
    x->n++;
    return 0;
}

static void test_violations_and_actions(void **state)
{
    struct fixture *f = *state;
    struct error e = {0};
    struct audit_violation v = {.time_ms = T0, .policy = "user:alice", .user = "alice",
                                .pid = 42, .gpu_index = 0, .violation = "memory_limit",
                                .detail = "12.0 GiB > 8.0 GiB"};
    OPT_SET(v.start_time_s, 1234);
    int64_t id1 = 0, id2 = 0, aid = 0;
    assert_int_equal(audit_violation_add(f->db, &v, &id1, &e), 0);
    struct audit_action a = {.time_ms = T0 + 1, .action = "warn", .success = true};
    assert_int_equal(audit_action_add(f->db, id1, &a, &aid, &e), 0);
    a = (struct audit_action){.time_ms = T0 + 2, .action = "terminate", .dry_run = true,
                              .success = true, .message = "would terminate"};
    assert_int_equal(audit_action_add(f->db, id1, &a, NULL, &e), 0);
    v = (struct audit_violation){.time_ms = T0 + 10, .policy = "gpu:1", .gpu_index = 1,
                                 .violation = "blocked_gpu"};
    assert_int_equal(audit_violation_add(f->db, &v, &id2, &e), 0);
    assert_true(id2 > id1);
    assert_true(aid > 0);

    struct events x = {0};
    struct audit_filter flt = {.from_ms = T0, .to_ms = T0 + H};
    assert_int_equal(audit_query_policy_events(f->db, &flt, 0, collect_event, &x, &e), 0);
    assert_int_equal(x.n, 3);
    assert_int_equal(x.vid[0], id2);                         /* newest first */
    assert_false(x.has_action[0]);
    assert_string_equal(x.user[0], "");
    assert_string_equal(x.action[1], "warn");
    assert_false(x.dry_run[1]);
    assert_string_equal(x.action[2], "terminate");
    assert_true(x.dry_run[2]);
    memset(&x, 0, sizeof x);
    flt.user = "alice";
    assert_int_equal(audit_query_policy_events(f->db, &flt, 1, collect_event, &x, &e), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.policy[0], "user:alice");
}

struct containers {
    size_t n;
    char v[4][160];
};

static int collect_containers(const struct audit_proc_record *r, void *arg)
{
    struct containers *k = arg;
    if (k->n < 4)
        snprintf(k->v[k->n], sizeof k->v[0], "%s", r->container);
    k->n++;
    return 0;
}

/* A snapshot as the sources fill it: two devices, a process on each plus
 * one process shown twice on GPU 0 (two MIG instances), one pid whose
 * host facts could not be read. */
static void test_record_snapshot(void **state)
{
    struct fixture *f = *state;
    struct device devs[2] = {0};
    for (int i = 0; i < 2; i++) {
        devs[i].index = i;
        devs[i].vendor = VENDOR_NVIDIA;
        snprintf(devs[i].uuid, sizeof devs[i].uuid, "GPU-%d", i);
        snprintf(devs[i].name, sizeof devs[i].name, "A100");
        OPT_SET(devs[i].mem_used_bytes, 2048 * MIB);
        OPT_SET(devs[i].util_gpu_pct, 20.0 + i);
    }
    struct gpu_process gp[4] = {
        {.pid = 10, .device_index = 0}, {.pid = 10, .device_index = 0},
        {.pid = 11, .device_index = 1}, {.pid = 12, .device_index = 1}};
    OPT_SET(gp[0].gpu_mem_bytes, 100 * MIB);
    OPT_SET(gp[1].gpu_mem_bytes, 50 * MIB);
    OPT_SET(gp[0].sm_pct, 10);
    OPT_SET(gp[1].sm_pct, 30);
    OPT_SET(gp[2].gpu_mem_bytes, 1 * MIB);
    struct host_process hp[2] = {0};
    hp[0].pid = 10;
    hp[0].exists = true;
    snprintf(hp[0].user, sizeof hp[0].user, "alice");
    snprintf(hp[0].name, sizeof hp[0].name, "python");
    hp[0].cmdline = "python train.py";
    OPT_SET(hp[0].start_time, 1700000000.75);
    hp[0].container.kind = CONTAINER_DOCKER;
    snprintf(hp[0].container.id, sizeof hp[0].container.id, "3f2a1b2c3d4e5f60");
    hp[1].pid = 11;
    hp[1].exists = true;
    snprintf(hp[1].user, sizeof hp[1].user, "bob");
    snprintf(hp[1].name, sizeof hp[1].name, "job");
    hp[1].container.kind = CONTAINER_KUBERNETES;
    snprintf(hp[1].container.id, sizeof hp[1].container.id, "c0ffee");
    snprintf(hp[1].container.pod_uid, sizeof hp[1].container.pod_uid, "pod-1");
    struct snapshot snap = {.devices = devs, .device_count = 2, .gprocs = gp, .gproc_count = 4,
                            .hprocs = hp, .hproc_count = 2};
    snap.wall.tv_sec = (time_t)(T0 / 1000);
    snap.wall.tv_nsec = 250000000;
    snprintf(snap.host.hostname, sizeof snap.host.hostname, "node1");
    struct error e = {0};
    assert_int_equal(audit_record_snapshot(f->db, &snap, 0, &e), 0);

    struct collected c;
    query(f->db, T0, T0 + H, NULL, NULL, &c);
    assert_int_equal(c.n, 3);                       /* the two MIG rows of pid 10 are one */
    assert_int_equal(c.rows[0].time_ms, T0 + 250);
    assert_int_equal(c.rows[0].pid, 10);
    assert_int_equal(c.rows[0].gpu_mem_bytes.v, 150 * MIB);
    assert_true(c.rows[0].sm_pct.v == 30);
    assert_int_equal(c.rows[0].start_time_s.v, 1700000000);
    assert_string_equal(c.users[0], "alice");
    assert_string_equal(c.users[1], "bob");
    assert_int_equal(c.rows[2].pid, 12);           /* no host facts: still recorded */
    assert_string_equal(c.users[2], "");
    assert_false(c.rows[2].start_time_s.known);
    assert_false(c.rows[2].gpu_mem_bytes.known);

    struct containers k = {0};
    struct audit_filter flt = {.from_ms = T0, .to_ms = T0 + H};
    assert_int_equal(audit_query_processes(f->db, &flt, collect_containers, &k, &e), 0);
    assert_string_equal(k.v[0], "docker:3f2a1b2c3d4e5f60");
    assert_string_equal(k.v[1], "k8s:pod-1/c0ffee");
    assert_string_equal(k.v[2], "");
}


/* Retention runs at most once an hour per database: data that is already
 * past the retention when it is written stays until the next run. */
static void test_retention_at_most_hourly(void **state)
{
    struct fixture *f = *state;
    audit_set_retention_days(f->db, 1);
    struct audit_proc_record p = proc(0, 1, "u", "old", 64, 0);
    record(f->db, T0, NULL, 0, &p, 1);             /* first write: retention ran before it */
    record(f->db, T0 + 1000, NULL, 0, &p, 1);      /* not due again: both stay */
    struct collected c;
    query(f->db, 0, T0 + H, NULL, NULL, &c);
    assert_int_equal(c.n, 2);
    struct error e = {0};
    uint64_t deleted = 0;
    assert_int_equal(audit_apply_retention(f->db, now_ms(), &deleted, &e), 0);
    assert_int_equal(deleted, 2);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_sets_version_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_schema_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_while_being_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_seen_again_keep_their_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_summary_hand_computed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_partial_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_top_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_widens_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_1_file_is_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_shot_writers_keep_the_wal_short, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_violations_and_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_at_most_hourly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
