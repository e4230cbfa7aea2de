/* test_rogue.c - suspicious-usage detection on fixture snapshots and
 * fixture histories: names and arguments matched whole, the miner
 * behaviour test (sustained SM %, steady memory, low host CPU), resource
 * abuse, exfiltration, allow-lists, scoring; rogue.toml reading, writing
 * and JSON import; /proc/PID/io parsing; and a history read back from a
 * real audit database through policy_store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include "policy/policy_store.h"
#include "policy/rogue.h"
#include "store/audit.h"

#define GIB (1024ull * 1024 * 1024)

/* ---- fixtures ---------------------------------------------------------------------- */

struct fixture {
    struct snapshot snap;
    struct gpu_process gp[8];
    struct host_process hp[8];
    struct device dev[1];
};

static void add_proc(struct fixture *f, pid_t pid, const char *name, const char *cmdline,
                     const char *user, uint64_t mem, double sm)
{
    size_t i = f->snap.hproc_count;
    f->gp[i] = (struct gpu_process){.pid = pid, .device_index = 0};
    OPT_SET(f->gp[i].gpu_mem_bytes, mem);
    if (sm >= 0)
        OPT_SET(f->gp[i].sm_pct, sm);
    f->hp[i] = (struct host_process){.pid = pid, .exists = true, .cmdline = (char *)cmdline};
    snprintf(f->hp[i].name, sizeof f->hp[i].name, "%s", name);
    snprintf(f->hp[i].user, sizeof f->hp[i].user, "%s", user);
    OPT_SET(f->hp[i].elapsed_s, 600.0);
    OPT_SET(f->hp[i].cpu_pct, 2.0);
    f->snap.gproc_count = f->snap.hproc_count = i + 1;
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->snap.devices = f->dev;
    f->snap.device_count = 1;
    f->snap.gprocs = f->gp;
    f->snap.hprocs = f->hp;
}

/* Facts the scan would read from /proc: tests choose them. */
static struct rogue_facts next_facts;

static void fake_facts(pid_t pid, struct rogue_facts *out)
{
    (void)pid;
    *out = next_facts;
}

static const struct rogue_finding *find(const struct rogue_report *r, pid_t pid,
                                        enum rogue_category c)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->findings[i].pid == pid && r->findings[i].category == c)
            return &r->findings[i];
    return NULL;
}

static bool has_text(const struct rogue_finding *f, const char *needle)
{
    for (size_t i = 0; f && i < f->evidence_count; i++)
        if (strstr(f->evidence[i].text, needle))
            return true;
    return false;
}

static void scan(const struct rogue_config *cfg, const struct snapshot *snap,
                 const struct rogue_history *h, struct rogue_report *r)
{
    struct error e = {0};
    struct rogue_input in = {.snap = snap, .history = h, .read_facts = fake_facts};
    assert_int_equal(rogue_scan(cfg, &in, r, &e), 0);
}

static int setup(void **state)
{
    struct rogue_config *cfg = malloc(sizeof *cfg);
    assert_non_null(cfg);
    assert_int_equal(rogue_config_defaults(cfg), 0);
    memset(&next_facts, 0, sizeof next_facts);
    *state = cfg;
    return 0;
}

static int teardown(void **state)
{
    rogue_config_free(*state);
    free(*state);
    return 0;
}

/* ---- names and arguments ------------------------------------------------------------ */

static void test_names_are_whole(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 10, "python3", "/opt/cuda/bin/python3 train.py --data /data/cuda", "ann",
             GIB, 50);
    add_proc(&f, 11, "xmrigger", "/usr/local/bin/xmrigger --report stratum-notes", "bob", GIB,
             50);
    add_proc(&f, 12, "xmrig-6.21", "/home/c/xmrig-6.21 -o stratum+tcp://p:3333", "carl", GIB,
             50);
    add_proc(&f, 13, "PhoenixMiner", "./PhoenixMiner", "dan", GIB, 50);
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    assert_null(find(&r, 10, ROGUE_CRYPTO_MINER));
    assert_null(find(&r, 11, ROGUE_CRYPTO_MINER));
    const struct rogue_finding *m = find(&r, 12, ROGUE_CRYPTO_MINER);
    assert_non_null(m);
    assert_true(has_text(m, "'xmrig-6.21' is a known miner"));
    assert_true(has_text(m, "stratum+tcp://p:3333"));
    assert_int_equal(m->risk, ROGUE_RISK_CRITICAL);
    assert_string_equal(m->recommendation, "gpuctl kill --pid 12");
    assert_non_null(find(&r, 13, ROGUE_CRYPTO_MINER));   /* case folded */
    assert_int_equal(r.live_processes, 4);
    rogue_report_free(&r);
}

static void test_wallets(void **state)
{
    (void)state;
    assert_true(rogue_wallet_like("0x52908400098527886E0F7030069857D2E4169EE7"));
    assert_true(rogue_wallet_like("0x52908400098527886E0F7030069857D2E4169EE7.rig1"));
    assert_false(rogue_wallet_like("0x52908400098527886E0F7030069857D2E4169EEZ"));
    assert_false(rogue_wallet_like("0x1234"));
    char xmr[96];
    memset(xmr, 'A', 95);
    xmr[0] = '4';
    xmr[95] = '\0';
    assert_true(rogue_wallet_like(xmr));
    xmr[5] = '0';    /* not base58 */
    assert_false(rogue_wallet_like(xmr));
    assert_false(rogue_wallet_like("--epochs"));
}

static void test_allow_lists(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 20, "xmrig", "xmrig", "eve", GIB, 50);
    add_proc(&f, 21, "ethminer", "ethminer -P stratum://x", "frank", GIB, 50);
    assert_int_equal(policy_strlist_add(&cfg->allowed_processes, "xmr*"), 0);
    assert_int_equal(policy_strlist_add(&cfg->allowed_users, "frank"), 0);
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    assert_int_equal(r.count, 0);
    rogue_report_free(&r);
}

/* ---- suspicious processes, abuse, exfiltration ---------------------------------------- */

static void test_suspicious_process(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 30, "kworker/0:1", "[kworker/0:1]", "www-data", GIB, 10);
    snprintf(next_facts.exe, sizeof next_facts.exe, "/dev/shm/.x/kworker");
    next_facts.exe_known = next_facts.exe_deleted = true;
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    const struct rogue_finding *s = find(&r, 30, ROGUE_SUSPICIOUS_PROCESS);
    assert_non_null(s);
    assert_true(has_text(s, "temporary directory: /dev/shm/.x/kworker"));
    assert_true(has_text(s, "has been deleted"));
    assert_true(has_text(s, "imitates a kernel thread"));
    assert_true(has_text(s, "service account 'www-data'"));
    /* 1 - 0.6 * 0.5 * 0.2 * 0.3 * 0.3 (the name test) */
    assert_float_equal(s->confidence, 1 - 0.6 * 0.5 * 0.2 * 0.3 * 0.7, 1e-9);
    assert_float_equal(s->risk_score, s->confidence * 0.7, 1e-9);
    rogue_report_free(&r);
}

static void test_temp_dir_alone_is_below_the_threshold(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 31, "python3", "/tmp/job/python3 train.py", "ann", GIB, 10);
    snprintf(next_facts.exe, sizeof next_facts.exe, "/tmp/job/python3");
    next_facts.exe_known = true;
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    assert_int_equal(r.count, 0);
    rogue_report_free(&r);
    cfg->min_confidence_threshold = 0.3;
    scan(cfg, &f.snap, NULL, &r);
    assert_non_null(find(&r, 31, ROGUE_SUSPICIOUS_PROCESS));
    rogue_report_free(&r);
}

static void test_resource_abuse(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 40, "train", "train", "ann", 30 * GIB, 99);
    OPT_SET(f.hp[0].elapsed_s, 48 * 3600.0);
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    const struct rogue_finding *a = find(&r, 40, ROGUE_RESOURCE_ABUSE);
    assert_non_null(a);
    assert_true(has_text(a, "30.0 GiB of GPU memory (limit 20 GiB)"));
    assert_true(has_text(a, "has run 48.0 hours (limit 24)"));
    assert_true(has_text(a, "SM 99% now"));
    assert_non_null(strstr(a->recommendation, "gpuctl kill --pid 40"));
    rogue_report_free(&r);
    cfg->max_memory_usage_gb = 40;
    cfg->max_duration_hours = 72;
    cfg->max_utilization_pct = 100;
    scan(cfg, &f.snap, NULL, &r);
    assert_null(find(&r, 40, ROGUE_RESOURCE_ABUSE));
    rogue_report_free(&r);
}

static void test_exfiltration(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 50, "python3", "python3 up.py", "ann", GIB, 10);
    OPT_SET(f.hp[0].elapsed_s, 100.0);
    OPT_SET(next_facts.io.wchar, 3000ull << 20);
    OPT_SET(next_facts.io.write_bytes, 1000ull << 20);   /* 2000 MiB / 100 s = 20 MiB/s */
    OPT_SET(next_facts.sockets, 12);
    struct rogue_report r;
    scan(cfg, &f.snap, NULL, &r);
    const struct rogue_finding *x = find(&r, 50, ROGUE_DATA_EXFILTRATION);
    assert_non_null(x);
    assert_true(has_text(x, "2000.0 MiB outside storage (20.0 MiB/s"));
    assert_true(has_text(x, "12 sockets open"));
    assert_float_equal(x->confidence, 1 - 0.4 * 0.7, 1e-9);
    rogue_report_free(&r);
    OPT_SET(next_facts.sockets, 0);    /* no socket: output went to pipes or files */
    scan(cfg, &f.snap, NULL, &r);
    assert_null(find(&r, 50, ROGUE_DATA_EXFILTRATION));
    rogue_report_free(&r);
}

/* ---- history ------------------------------------------------------------------------- */

static void add_rows(struct rogue_history *h, pid_t pid, const char *name, const char *user,
                     int rows, double sm, double mem_gib, double mem_step)
{
    for (int i = 0; i < rows; i++) {
        struct rogue_sample s = {.time = 1e9 + i * 60.0, .gpu = 0, .pid = pid,
                                 .cmdline = (char *)name};
        snprintf(s.name, sizeof s.name, "%s", name);
        snprintf(s.user, sizeof s.user, "%s", user);
        OPT_SET(s.sm_pct, sm + (i % 2));
        OPT_SET(s.gpu_mem_bytes, (uint64_t)((mem_gib + (i % 2) * mem_step) * GIB));
        assert_int_equal(rogue_history_add(h, &s), 0);
    }
}

static void test_miner_behaviour_from_history(void **state)
{
    struct rogue_config *cfg = *state;
    struct fixture f;
    fixture_init(&f);
    add_proc(&f, 60, "worker", "worker", "gus", 4 * GIB, 98);   /* CPU 2 % */
    add_proc(&f, 61, "trainer", "trainer", "hal", 4 * GIB, 98);
    struct rogue_history h = {0};
    add_rows(&h, 60, "worker", "gus", 20, 97, 4, 0.01);    /* steady: 20 min */
    add_rows(&h, 61, "trainer", "hal", 20, 97, 4, 2);      /* memory swings */
    add_rows(&h, 62, "xmrig", "ivy", 3, 50, 1, 0);         /* ended miner */
    struct rogue_report r;
    scan(cfg, &f.snap, &h, &r);
    const struct rogue_finding *m = find(&r, 60, ROGUE_CRYPTO_MINER);
    assert_non_null(m);
    assert_true(has_text(m, "over 19 min with steady memory"));
    assert_true(has_text(m, "low host CPU (2.0%)"));
    assert_float_equal(m->confidence, 0.6, 1e-9);
    assert_null(find(&r, 61, ROGUE_CRYPTO_MINER));
    const struct rogue_finding *gone = find(&r, 62, ROGUE_CRYPTO_MINER);
    assert_non_null(gone);
    assert_false(gone->live);
    assert_non_null(strstr(gone->recommendation, "no longer running"));
    assert_non_null(strstr(gone->recommendation, "gpuctl audit --user ivy"));
    const struct rogue_finding *a = find(&r, 60, ROGUE_RESOURCE_ABUSE);
    assert_non_null(a);
    assert_true(has_text(a, "on average over 19 min (limit 95%)"));
    assert_int_equal(r.history_rows, 43);
    assert_int_equal(r.history_processes, 1);
    rogue_report_free(&r);
    /* a busy CPU is no miner's signature */
    OPT_SET(f.hp[0].cpu_pct, 80.0);
    scan(cfg, &f.snap, &h, &r);
    assert_null(find(&r, 60, ROGUE_CRYPTO_MINER));
    rogue_report_free(&r);
    /* too short to call sustained */
    cfg->sustained_minutes = 30;
    OPT_SET(f.hp[0].cpu_pct, 2.0);
    scan(cfg, &f.snap, &h, &r);
    assert_null(find(&r, 60, ROGUE_CRYPTO_MINER));
    rogue_report_free(&r);
    rogue_history_free(&h);
}

/* A process that ended is judged on what the history kept of it: its
 * peak GPU memory (summed over its GPUs at one sample) and its run time
 * (from its recorded start to its last row). */
static void test_memory_hogs_and_long_runs_in_the_history_are_found(void **state)
{
    struct rogue_config *cfg = *state;
    struct rogue_history h = {0};
    for (int i = 0; i < 3; i++)
        for (int gpu = 0; gpu < 2; gpu++) {
            struct rogue_sample s = {.time = 1e9 + i * 60.0, .gpu = gpu, .pid = 70,
                                     .cmdline = "train.py"};
            snprintf(s.name, sizeof s.name, "python3");
            snprintf(s.user, sizeof s.user, "kim");
            OPT_SET(s.gpu_mem_bytes, (uint64_t)(i == 1 ? 15 : 5) * GIB);
            OPT_SET(s.start_time, 1e9 - 30 * 3600.0);
            assert_int_equal(rogue_history_add(&h, &s), 0);
        }
    /* no start time recorded: the rows' own span counts */
    add_rows(&h, 71, "sim", "lee", 3, 10, 1, 0);
    struct rogue_report r;
    scan(cfg, NULL, &h, &r);
    const struct rogue_finding *a = find(&r, 70, ROGUE_RESOURCE_ABUSE);
    assert_non_null(a);
    assert_false(a->live);
    assert_true(has_text(a, "held up to 30.0 GiB of GPU memory (limit 20 GiB)"));
    assert_true(has_text(a, "ran at least 30.0 hours (limit 24)"));
    assert_null(find(&r, 71, ROGUE_RESOURCE_ABUSE));
    rogue_report_free(&r);
    cfg->max_duration_hours = 0.03;     /* 108 s: the 120 s the rows span is over it */
    scan(cfg, NULL, &h, &r);
    assert_true(has_text(find(&r, 71, ROGUE_RESOURCE_ABUSE), "ran at least 0.0 hours"));
    rogue_report_free(&r);
    rogue_history_free(&h);
}

static void test_history_from_the_audit_database(void **state)
{
    struct rogue_config *cfg = *state;
    char dir[] = "/tmp/gpuctl-rogue-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/audit.db", dir);
    struct error e = {0};
    struct audit_db *db;
    assert_int_equal(audit_open(path, 0, &db, &e), 0);
    double now = 1.7e9;
    struct audit_proc_record rows[12];
    struct audit_sample samples[12];
    for (int i = 0; i < 12; i++) {
        rows[i] = (struct audit_proc_record){
            .time_ms = (int64_t)(now - 3600 + i * 120) * 1000, .host = "h", .gpu_index = 0,
            .pid = 4242, .user = "joe", .name = "ccminer",
            .cmdline = "ccminer -a x16r -o stratum+tcp://pool:4553", .container = ""};
        OPT_SET(rows[i].gpu_mem_bytes, 2 * GIB);
        OPT_SET(rows[i].sm_pct, 99.0);
        samples[i] = (struct audit_sample){.time_ms = rows[i].time_ms, .host = "h",
                                           .procs = &rows[i], .proc_count = 1};
    }
    assert_int_equal(audit_record_samples(db, samples, 12, 120, &e), 0);
    audit_close(db);
    struct policy_store *st;
    assert_int_equal(policy_store_open(path, true, &st, &e), 0);
    struct rogue_history h = {0};
    assert_int_equal(policy_store_history(st, 2, now, &h, &e), 0);
    assert_int_equal(h.count, 12);
    struct rogue_report r;
    scan(cfg, NULL, &h, &r);
    const struct rogue_finding *m = find(&r, 4242, ROGUE_CRYPTO_MINER);
    assert_non_null(m);
    assert_true(has_text(m, "'ccminer' is a known miner"));
    assert_true(has_text(m, "stratum+tcp://pool:4553"));
    assert_true(has_text(m, "SM 99% on average"));
    rogue_report_free(&r);
    rogue_history_free(&h);
    /* a window that ends before the rows holds none of them */
    assert_int_equal(policy_store_history(st, 1, now - 3700, &h, &e), 0);
    assert_int_equal(h.count, 0);
    rogue_history_free(&h);
    policy_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- configuration --------------------------------------------------------------------- */

static void test_config_toml_round_trip(void **state)
{
    struct rogue_config *cfg = *state;
    cfg->max_memory_usage_gb = 12.5;
    cfg->risk_thresholds[ROGUE_RISK_HIGH] = 0.65;
    assert_int_equal(policy_strlist_add(&cfg->allowed_users, "a \"quoted\" name"), 0);
    char *text = rogue_config_to_toml(cfg);
    assert_non_null(text);
    struct rogue_config back;
    struct error e = {0};
    assert_int_equal(rogue_config_parse(&back, text, strlen(text), "r.toml", &e), 0);
    char *again = rogue_config_to_toml(&back);
    assert_string_equal(text, again);
    assert_float_equal(back.max_memory_usage_gb, 12.5, 0);
    assert_true(policy_strlist_has(&back.allowed_users, "a \"quoted\" name"));
    json_t *doc = rogue_config_to_json(&back);
    struct rogue_config from_json;
    assert_int_equal(rogue_config_from_json(&from_json, doc, &e), 0);
    char *third = rogue_config_to_toml(&from_json);
    assert_string_equal(text, third);
    json_decref(doc);
    free(text);
    free(again);
    free(third);
    rogue_config_free(&back);
    rogue_config_free(&from_json);
}

static void expect_error(const char *text, const char *msg)
{
    struct rogue_config c;
    struct error e = {0};
    assert_int_not_equal(rogue_config_parse(&c, text, strlen(text), "r.toml", &e), 0);
    if (!strstr(e.msg, msg))
        fail_msg("'%s' not in '%s'", msg, e.msg);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("[detection]\nmax_utilization_pct = 101\n", "r.toml:2:23: detection.max_");
    expect_error("[detection]\nmax_memory_usage_gb = \"x\"\n", "r.toml:2:23: ");
    expect_error("[detections]\n", "r.toml:1:2: unknown section [detections]");
    expect_error("[patterns]\nminer_names = [\"a\", 1]\n", "r.toml:2:21: patterns.miner_names");
    expect_error("[patterns]\nfoo = []\n", "r.toml:2:1: unknown key 'foo' in [patterns]");
    expect_error("top = 1\n", "r.toml:1:1: unknown key 'top'");
    expect_error("[scoring.risk_thresholds]\nlow = 0.9\n", "ascend");
    expect_error("[detection\n", "r.toml:1:");
}

static void test_threshold_order_and_non_finite_values_name_their_place(void **state)
{
    (void)state;
    expect_error("[scoring.risk_thresholds]\nlow = 0.9\n", "r.toml:2:7: scoring.risk_thresholds: "
                 "low (0.9) is above medium (0.4)");
    expect_error("[scoring.risk_thresholds]\nhigh = 0.7\ncritical = 0.65\n",
                 "r.toml:3:12: scoring.risk_thresholds: high (0.7) is above critical (0.65)");
    expect_error("[detection]\nmax_duration_hours = nan\n",
                 "r.toml:2:22: detection.max_duration_hours must be a finite number, not nan");
}

static void test_save_refuses_an_empty_allow_list_entry(void **state)
{
    struct rogue_config *cfg = *state;
    char dir[] = "/tmp/gpuctl-rogue-save-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/rogue.toml", dir);
    struct error e = {0};
    assert_int_equal(rogue_config_save(cfg, path, &e), 0);
    assert_int_equal(policy_strlist_add(&cfg->allowed_processes, ""), 0);
    assert_int_not_equal(rogue_config_save(cfg, path, &e), 0);
    assert_non_null(strstr(e.msg, "patterns.allowed_processes: an empty name"));
    struct rogue_config back;
    bool created;
    assert_int_equal(rogue_config_load(&back, path, false, &created, &e), 0);
    assert_int_equal(back.allowed_processes.count, 0);
    rogue_config_free(&back);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_parse_io(void **state)
{
    (void)state;
    static const char io[] = "rchar: 100\nwchar: 5000\nsyscr: 3\nsyscw: 4\nread_bytes: 0\n"
                             "write_bytes: 4096\ncancelled_write_bytes: 0\n";
    struct rogue_io r;
    assert_int_equal(rogue_parse_io(io, sizeof io - 1, &r), 0);
    assert_true(r.wchar.known && r.wchar.v == 5000);
    assert_true(r.write_bytes.known && r.write_bytes.v == 4096);
    struct opt_u64 out = rogue_io_net_out(&r);
    assert_true(out.known && out.v == 904);
    assert_int_equal(rogue_parse_io("wchar: 12x\n", 11, &r), -ERROR_PARSE);
    assert_false(r.wchar.known);
    assert_int_equal(rogue_parse_io("wchar: 99999999999999999999\n", 28, &r), -ERROR_PARSE);
    assert_int_equal(rogue_parse_io("wchar: 7", 8, &r), 0);   /* no newline at the end */
    assert_true(r.wchar.known && r.wchar.v == 7);
    assert_false(rogue_io_net_out(&r).known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_are_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wallets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspicious_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temp_dir_alone_is_below_the_threshold, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resource_abuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exfiltration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_miner_behaviour_from_history, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_hogs_and_long_runs_in_the_history_are_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_from_the_audit_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_toml_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_threshold_order_and_non_finite_values_name_their_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_an_empty_allow_list_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parse_io, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
