/* test_tui.c - the pure parts of `gpuctl top`: option values and the
 * environment, the history ring, text, bars and graphs drawn into a canvas,
 * and the process table's sorting, pattern filter and tree order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tui/canvas.h"
#include "tui/history.h"
#include "tui/procs.h"
#include "tui/tui.h"

/* ---- options ------------------------------------------------------------------------- */

static void test_option_values(void **state)
{
    (void)state;
    struct error e = {0};
    enum tui_mode m;
    bool light = false;
    double th[2], v;
    assert_int_equal(tui_parse_mode("compact", &m, &e), 0);
    assert_int_equal(m, TUI_MODE_COMPACT);
    assert_int_equal(tui_parse_mode("Full", &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "'Full'"));
    assert_int_equal(tui_parse_theme("light", &light, &e), 0);
    assert_true(light);
    assert_int_equal(tui_parse_theme("blue", &light, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold_pair("10 75", th, &e), 0);
    assert_true(th[0] == 10 && th[1] == 75);
    assert_int_equal(tui_parse_threshold_pair("5,50.5", th, &e), 0);
    assert_true(th[0] == 5 && th[1] == 50.5);
    assert_int_equal(tui_parse_threshold_pair("75 10", th, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold_pair("10", th, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold_pair("0 50", th, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold_pair("10 100", th, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold_pair("10 x", th, &e), -EINVAL);
    assert_int_equal(tui_parse_threshold("nan", &v, &e), -EINVAL);
    assert_int_equal(tui_parse_interval("0.25", &v, &e), 0);
    assert_int_equal(tui_parse_interval("0.2", &v, &e), -EINVAL);
    assert_int_equal(tui_parse_interval("2s", &v, &e), -EINVAL);
    assert_int_equal(tui_parse_interval("", &v, &e), -EINVAL);
}

static void test_options_from_env(void **state)
{
    (void)state;
    struct tui_options o;
    struct error e = {0};
    tui_options_init(&o);
    assert_true(o.interval_s == 2 && o.gpu_thresh[0] == 10 && o.gpu_thresh[1] == 75 &&
                o.mem_thresh[1] == 80 && o.mode == TUI_MODE_AUTO);
    setenv("GPUCTL_MONITOR_MODE", "full", 1);
    setenv("GPUCTL_GPU_UTILIZATION_THRESHOLDS", "20,60", 1);
    assert_int_equal(tui_options_from_env(&o, &e), 0);
    assert_int_equal(o.mode, TUI_MODE_FULL);
    assert_true(o.gpu_thresh[0] == 20 && o.gpu_thresh[1] == 60);
    /* one bad variable: an error naming it, and nothing applied */
    setenv("GPUCTL_MONITOR_MODE", "compact", 1);
    setenv("GPUCTL_MEMORY_UTILIZATION_THRESHOLDS", "90 10", 1);
    assert_int_equal(tui_options_from_env(&o, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "GPUCTL_MEMORY_UTILIZATION_THRESHOLDS"));
    assert_int_equal(o.mode, TUI_MODE_FULL);
    unsetenv("GPUCTL_MONITOR_MODE");
    unsetenv("GPUCTL_GPU_UTILIZATION_THRESHOLDS");
    unsetenv("GPUCTL_MEMORY_UTILIZATION_THRESHOLDS");
}

/* ---- history ------------------------------------------------------------------------- */

static void test_history_ring(void **state)
{
    (void)state;
    struct history h = {0};
    assert_int_equal(history_init(&h, 3), 0);
    assert_true(isnan(history_at(&h, 0)));
    history_push(&h, 1, true);
    history_push(&h, 2, true);
    history_push(&h, 0, false);
    history_push(&h, 4, true);          /* drops the 1 */
    assert_int_equal(h.len, 3);
    assert_true(history_at(&h, 0) == 4);
    assert_true(isnan(history_at(&h, 1)));
    assert_true(history_at(&h, 2) == 2);
    assert_true(isnan(history_at(&h, 3)));
    history_reset(&h);
    assert_int_equal(h.len, 0);
    history_free(&h);
    history_free(&h);
    /* ten minutes at the floor interval, and never below the minimum */
    assert_true(history_capacity(10, 0.25, 512) >= 2400);
    assert_int_equal(history_capacity(10, 60, 512), 512);
}

/* ---- canvas -------------------------------------------------------------------------- */

static char *row(const struct canvas *c, int y)
{
    static char buf[1024];
    canvas_row_text(c, y, buf, sizeof buf);
    return buf;
}

static void test_canvas_text(void **state)
{
    (void)state;
    struct canvas c = {0};
    assert_int_equal(canvas_init(&c, 10, 3, false), 0);
    assert_int_equal(canvas_put(&c, 0, 0, 100, "hello world", 11, ST_NORMAL), 10);
    assert_string_equal(row(&c, 0), "hello worl");
    /* a wide character takes two cells and is never split */
    assert_int_equal(canvas_put(&c, 1, 0, 3, "a漢b", strlen("a漢b"), ST_NORMAL), 3);
    assert_string_equal(row(&c, 1), "a漢");
    /* control and bidi characters from outside data become '?' */
    canvas_put(&c, 2, 0, 10, "a\x1b[2Jb\xe2\x80\xae", 9, ST_NORMAL);
    assert_string_equal(row(&c, 2), "a?[2Jb?");
    /* off the canvas: nothing */
    assert_int_equal(canvas_put(&c, 5, 0, 3, "x", 1, ST_NORMAL), 0);
    canvas_free(&c);
}

static void test_text_cut_to_fit_ends_in_an_ellipsis(void **state)
{
    (void)state;
    struct canvas c = {0};
    assert_int_equal(canvas_init(&c, 12, 2, false), 0);
    assert_int_equal(canvas_put_fit(&c, 0, 0, 6, "NVIDIA H100", 11, ST_NORMAL), 6);
    assert_string_equal(row(&c, 0), "NVIDI…");
    assert_int_equal(canvas_put_fit(&c, 1, 0, 6, "H100", 4, ST_NORMAL), 4);
    assert_string_equal(row(&c, 1), "H100");
    canvas_free(&c);
    assert_int_equal(canvas_init(&c, 12, 1, true), 0);
    canvas_put_fit(&c, 0, 0, 4, "abcdef", 6, ST_NORMAL);
    assert_string_equal(row(&c, 0), "abc~");
    canvas_free(&c);
}

static void test_bars(void **state)
{
    (void)state;
    struct canvas c = {0};
    assert_int_equal(canvas_init(&c, 12, 4, false), 0);
    canvas_bar(&c, 0, 0, 12, 50, ST_LOW);
    assert_string_equal(row(&c, 0), "[█████     ]");
    canvas_bar(&c, 1, 0, 12, 100, ST_LOW);
    assert_string_equal(row(&c, 1), "[██████████]");
    canvas_bar(&c, 2, 0, 12, 55, ST_LOW);
    assert_string_equal(row(&c, 2), "[█████▌    ]");
    canvas_bar(&c, 3, 0, 12, -1, ST_LOW);       /* unknown: empty */
    assert_string_equal(row(&c, 3), "[          ]");
    canvas_free(&c);
    assert_int_equal(canvas_init(&c, 12, 1, true), 0);
    canvas_bar(&c, 0, 0, 12, 50, ST_LOW);
    assert_string_equal(row(&c, 0), "[|||||     ]");
    canvas_free(&c);
}

static void test_graphs(void **state)
{
    (void)state;
    struct history h = {0};
    assert_int_equal(history_init(&h, 16), 0);
    history_push(&h, 100, true);
    history_push(&h, 50, true);
    history_push(&h, 0, false);      /* a gap */
    history_push(&h, 25, true);      /* newest */
    struct canvas c = {0};
    assert_int_equal(canvas_init(&c, 2, 2, false), 0);
    canvas_graph(&c, 0, 0, 2, 2, &h, 100, ST_GRAPH);
    /* right cell: gap (left dot column) and 25% (right, 2 of 8 dots: bottom
     * row only); left cell: 100% (left) and 50% (right, bottom row full) */
    assert_string_equal(row(&c, 0), "⡇");
    assert_string_equal(row(&c, 1), "⣿⢠");
    canvas_free(&c);
    assert_int_equal(canvas_init(&c, 4, 2, true), 0);
    canvas_graph(&c, 0, 0, 4, 2, &h, 100, ST_GRAPH);
    assert_string_equal(row(&c, 0), "#");
    assert_string_equal(row(&c, 1), "## .");
    canvas_free(&c);
    assert_int_equal(canvas_init(&c, 4, 1, false), 0);
    canvas_sparkline(&c, 0, 0, 4, &h, 100, ST_GRAPH);
    assert_string_equal(row(&c, 0), "█▄ ▂");
    canvas_free(&c);
    history_free(&h);
}

/* ---- process rows -------------------------------------------------------------------- */

struct world {
    struct snapshot snap;
    struct device dev[2];
    struct gpu_process gp[4];
    struct host_process hp[4];
    struct host_process anc[2];
};

static void add_proc(struct world *w, size_t i, pid_t pid, pid_t ppid, int dev, const char *user,
                     const char *name, uint64_t mem_mib, double sm)
{
    w->gp[i] = (struct gpu_process){.pid = pid, .device_index = dev, .type = GPU_PROC_COMPUTE};
    OPT_SET(w->gp[i].gpu_mem_bytes, mem_mib << 20);
    if (sm >= 0)
        OPT_SET(w->gp[i].sm_pct, sm);
    struct host_process *h = &w->hp[i];
    *h = (struct host_process){.pid = pid, .exists = true, .start_ticks = 100 + (uint64_t)pid};
    OPT_SET(h->ppid, ppid);
    strcpy(h->user, user);
    strcpy(h->name, name);
    h->cmdline = (char *)name;
    OPT_SET(h->elapsed_s, 1000.0 - pid);
}

static void make_world(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->dev[0].index = 0;
    w->dev[1].index = 1;
    /* hprocs must be sorted by pid: 10, 20, 30 on GPUs; 40 is listed on two */
    add_proc(w, 0, 10, 5, 0, "alice", "train.py", 300, 50);
    add_proc(w, 1, 20, 5, 1, "bob", "infer", 100, -1);      /* SM unknown */
    add_proc(w, 2, 30, 20, 1, "carol", "worker", 200, 90);
    w->snap.devices = w->dev;
    w->snap.device_count = 2;
    w->snap.gprocs = w->gp;
    w->snap.gproc_count = 3;
    w->snap.hprocs = w->hp;
    w->snap.hproc_count = 3;
    /* ancestors: 5 (launcher) under 1 (init) */
    w->anc[0] = (struct host_process){.pid = 1, .exists = true};
    strcpy(w->anc[0].user, "root");
    strcpy(w->anc[0].name, "init");
    w->anc[1] = (struct host_process){.pid = 5, .exists = true};
    OPT_SET(w->anc[1].ppid, 1);
    strcpy(w->anc[1].user, "alice");
    strcpy(w->anc[1].name, "launcher");
}

static void pids_are(const struct proc_table *t, const pid_t *want, size_t n)
{
    assert_int_equal(t->count, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(t->rows[i].pid, want[i]);
}

static void test_sorting(void **state)
{
    (void)state;
    struct world w;
    make_world(&w);
    struct proc_table t = {0};
    struct procs_input in = {.snap = &w.snap, .self_user = "alice", .sort = SORT_GPU};
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){10, 20, 30}, 3);
    assert_true(t.rows[0].own && !t.rows[1].own);
    in.sort = SORT_GPU_MEM;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){20, 30, 10}, 3);
    in.reverse = true;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){10, 30, 20}, 3);
    /* unknown SM % sorts last both ways */
    in.sort = SORT_SM;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){30, 10, 20}, 3);
    in.reverse = false;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){10, 30, 20}, 3);
    in.sort = SORT_USER;
    in.reverse = true;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){30, 20, 10}, 3);
    in.sort = SORT_TIME;       /* elapsed 990, 980, 970 */
    in.reverse = false;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){30, 20, 10}, 3);
    assert_int_equal(procs_sort_by_letter('g'), SORT_GPU_MEM);
    assert_int_equal(procs_sort_by_letter('B'), SORT_GMBW);
    assert_int_equal(procs_sort_by_letter('x'), -1);
    assert_int_equal(procs_sort_by_letter(0), -1);
    /* nvitop's directions for o + a lower-case letter */
    assert_false(procs_sort_descends_first(SORT_GPU));
    assert_false(procs_sort_descends_first(SORT_USER));
    assert_true(procs_sort_descends_first(SORT_PID));
    assert_true(procs_sort_descends_first(SORT_GPU_MEM));
    assert_true(procs_sort_descends_first(SORT_TIME));
    assert_int_equal(procs_find(&t, 20, 120, 1), 1);
    assert_int_equal(procs_find(&t, 20, 121, 1), -1);    /* another start time */
    procs_free(&t);
}

static void test_pattern_and_devices(void **state)
{
    (void)state;
    struct world w;
    make_world(&w);
    struct filter pat = {0};
    struct error e = {0};
    struct proc_table t = {0};
    bool visible[2] = {true, false};
    struct procs_input in = {.snap = &w.snap, .pattern = &pat, .sort = SORT_PID};
    assert_int_equal(filter_set_regex(&pat, "^bo", &e), 0);        /* a user */
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){20}, 1);
    filter_clear(&pat);
    assert_int_equal(filter_set_regex(&pat, "train|work", &e), 0); /* names */
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){10, 30}, 2);
    in.device_visible = visible;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){10}, 1);
    filter_clear(&pat);
    procs_free(&t);
}

/* A cluster's frame: two nodes, each with one GPU and a process of pid 10
 * (pids are per machine); each row gets its own node's host facts. */
static void test_a_clusters_rows_take_the_host_facts_of_their_own_node(void **state)
{
    (void)state;
    struct world w;
    make_world(&w);
    add_proc(&w, 0, 10, 5, 0, "alice", "train.py", 300, 50);
    add_proc(&w, 1, 10, 5, 1, "bob", "infer", 100, 20);
    w.snap.gproc_count = 2;
    w.snap.hproc_count = 2;        /* node-a's run [0, 1), node-b's [1, 2) */
    struct tui_node nodes[2] = {
        {.id = "node-a", .device_first = 0, .device_count = 1, .hproc_first = 0,
         .hproc_count = 1},
        {.id = "node-b", .device_first = 1, .device_count = 1, .hproc_first = 1,
         .hproc_count = 1},
    };
    size_t device_node[2] = {0, 1};
    int device_index[2] = {0, 0};
    struct tui_nodes ns = {.nodes = nodes, .count = 2, .device_node = device_node,
                           .device_index = device_index};
    assert_string_equal(procs_host_process(&w.snap, &ns, 0, 10)->user, "alice");
    assert_string_equal(procs_host_process(&w.snap, &ns, 1, 10)->user, "bob");
    assert_null(procs_host_process(&w.snap, &ns, 1, 20));
    assert_null(procs_host_process(&w.snap, &ns, 2, 10));     /* no such device */
    struct proc_table t = {0};
    struct procs_input in = {.snap = &w.snap, .nodes = &ns, .sort = SORT_GPU};
    assert_int_equal(procs_build(&t, &in), 0);
    assert_int_equal(t.count, 2);
    assert_string_equal(t.rows[0].hp->user, "alice");
    assert_string_equal(t.rows[1].hp->user, "bob");
    procs_free(&t);
}

static void test_tree(void **state)
{
    (void)state;
    struct world w;
    make_world(&w);
    struct proc_table t = {0};
    struct procs_input in = {.snap = &w.snap, .ancestors = w.anc, .ancestor_count = 2,
                             .sort = SORT_GPU_MEM, .tree = true};
    assert_int_equal(procs_build(&t, &in), 0);
    /* init > launcher > {10, 20 > 30} */
    pids_are(&t, (pid_t[]){1, 5, 10, 20, 30}, 5);
    assert_null(t.rows[0].gp);
    assert_null(t.rows[1].gp);
    assert_non_null(t.rows[2].gp);
    assert_string_equal(t.rows[0].tree, "");
    assert_string_equal(t.rows[1].tree, "└─ ");
    assert_string_equal(t.rows[2].tree, "   ├─ ");
    assert_string_equal(t.rows[3].tree, "   └─ ");
    assert_string_equal(t.rows[4].tree, "      └─ ");
    /* filtered down to 30: its own ancestors only */
    struct filter pat = {0};
    struct error e = {0};
    assert_int_equal(filter_set_regex(&pat, "worker", &e), 0);
    in.pattern = &pat;
    in.ascii = true;
    assert_int_equal(procs_build(&t, &in), 0);
    pids_are(&t, (pid_t[]){1, 5, 20, 30}, 4);
    assert_string_equal(t.rows[3].tree, "      `- ");
    filter_clear(&pat);
    procs_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_options_from_env),
        cmocka_unit_test(test_history_ring),
        cmocka_unit_test(test_canvas_text),
        cmocka_unit_test(test_bars),
        cmocka_unit_test(test_graphs),
        cmocka_unit_test(test_sorting),
        cmocka_unit_test(test_text_cut_to_fit_ends_in_an_ellipsis),
        cmocka_unit_test(test_pattern_and_devices),
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_a_clusters_rows_take_the_host_facts_of_their_own_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
