/* test_free_null.c - the house rule that every *_free accepts NULL, as
 * free(), Redis's listRelease and sqlite3_free do: error paths and cleanup
 * code call them on whatever was (or was not) allocated.  One test per
 * public *_free, so a new one that forgets the check shows up by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cluster/contention.h"
#include "cluster/registry.h"
#include "cluster/summary.h"
#include "core/csv.h"
#include "core/sampler.h"
#include "core/snapshot.h"
#include "core/table.h"
#include "core/toml.h"
#include "feed/feed.h"
#include "jobs/proctree.h"
#include "jobs/run.h"
#include "ops/kill.h"
#include "plot/plot.h"
#include "policy/guard_config.h"
#include "policy/guard_eval.h"
#include "policy/policy_file.h"
#include "policy/rogue.h"
#include "policy/rogue_config.h"
#include "sources/drm.h"
#include "sources/source.h"
#include "store/audit.h"
#include "trace/analyze.h"
#include "trace/collector.h"
#include "trace/json.h"
#include "trace/ndjson.h"
#include "tui/canvas.h"
#include "tui/history.h"
#include "tui/procs.h"
#include "tui/view.h"

/* Each test frees NULL; reaching the end without a crash is the pass. */
#define FREES_NULL(fn)                                                         \
    static void test_##fn##_accepts_null(void **state)                        \
    {                                                                          \
        (void)state;                                                           \
        fn(NULL);                                                              \
    }

FREES_NULL(csv_record_free)
FREES_NULL(sampler_free)
FREES_NULL(snapshot_free)
FREES_NULL(table_free)
FREES_NULL(toml_free)
FREES_NULL(pid_list_free)
FREES_NULL(run_report_free)
FREES_NULL(kill_set_free)
FREES_NULL(plot_data_free)
FREES_NULL(guard_config_free)
FREES_NULL(guard_violations_free)
FREES_NULL(policy_strlist_free)
FREES_NULL(rogue_history_free)
FREES_NULL(rogue_report_free)
FREES_NULL(rogue_config_free)
FREES_NULL(drm_sweep_free)
FREES_NULL(device_list_free)
FREES_NULL(gpu_process_list_free)
FREES_NULL(audit_summary_free)
FREES_NULL(analyze_free)
FREES_NULL(trace_collector_free)
FREES_NULL(tjson_free)
FREES_NULL(ndj_line_free)
FREES_NULL(canvas_free)
FREES_NULL(feed_frame_unref)
FREES_NULL(feed_unsubscribe)
FREES_NULL(feed_stop)
FREES_NULL(history_free)
FREES_NULL(procs_free)
FREES_NULL(view_free)
FREES_NULL(cluster_registry_free)
FREES_NULL(cluster_contention_free)
FREES_NULL(cluster_summary_clear)
FREES_NULL(cluster_view_clear)

static void test_analyze_files_free_accepts_null(void **state)
{
    (void)state;
    analyze_files_free(NULL, 0);
    analyze_files_free(NULL, 3);
}

/* audit_close is the store's *_free: the handle of a failed open is NULL. */
static void test_audit_close_accepts_null(void **state)
{
    (void)state;
    audit_close(NULL);
}

#define T(fn) cmocka_unit_test(test_##fn##_accepts_null)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(csv_record_free), T(sampler_free), T(snapshot_free), T(table_free), T(toml_free),
        T(pid_list_free), T(run_report_free), T(kill_set_free), T(plot_data_free),
        T(guard_config_free), T(guard_violations_free), T(policy_strlist_free),
        T(rogue_history_free), T(rogue_report_free), T(rogue_config_free), T(drm_sweep_free),
        T(device_list_free), T(gpu_process_list_free), T(audit_summary_free),
        T(analyze_free), T(analyze_files_free), T(trace_collector_free), T(tjson_free),
        T(ndj_line_free), T(canvas_free), T(feed_frame_unref), T(feed_unsubscribe),
        T(feed_stop), T(history_free),
        T(procs_free), T(view_free), T(audit_close), T(cluster_registry_free),
        T(cluster_contention_free), T(cluster_summary_clear), T(cluster_view_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
