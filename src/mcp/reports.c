/* reports.c - the MCP tools and resources that answer with a report:
 * select_gpus, audit_summary, scan_rogue_activity, test_policies, the
 * policies themselves, and create_user_policy, the one that edits
 * guard.toml.
 *
 * Each runs the service its command runs (ops/select, store/audit,
 * policy/rogue, policy/guard_*) on the environment's snapshot and builds
 * the command's document (src/doc), so `gpuctl audit --summary --output
 * json` and audit_summary answer alike.  Nothing here creates a file a
 * read would not: a missing audit database is an empty history, a missing
 * rogue.toml the default settings.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "doc/audit_doc.h"
#include "doc/policies_doc.h"
#include "doc/rogue_doc.h"
#include "doc/select_doc.h"
#include "mcp/tools.h"
#include "ops/select.h"
#include "policy/guard_config.h"
#include "policy/guard_daemon.h"
#include "policy/guard_eval.h"
#include "policy/policy_file.h"
#include "policy/policy_store.h"
#include "policy/rogue.h"
#include "policy/rogue_config.h"
#include "store/audit.h"

#define AUDIT_TOP 10
#define DEFAULT_HOURS 24.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- select_gpus ------------------------------------------------------------------- */

int mcp_call_select_gpus(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                         struct error *e)
{
    size_t count = (size_t)mcp_args_int(a, "count", 1);
    struct select_constraints c = {.min_count = count, .max_count = count};
    if (mcp_args_has(a, "min_free_gb")) {
        c.min_free_set = true;
        c.min_free_bytes = (uint64_t)llround(mcp_args_number(a, "min_free_gb", 0) *
                                             1073741824.0);
    }
    if (mcp_args_has(a, "max_util_pct")) {
        c.max_gpu_util_set = true;
        c.max_gpu_util_pct = (unsigned)mcp_args_int(a, "max_util_pct", 100);
    }
    const struct snapshot *snap;
    void *token = NULL;
    int rc = mcp_env_snapshot(env, false, &snap, &token, e);
    if (rc < 0)
        return rc;
    struct select_result res = {0};
    rc = select_devices(snap, &c, &res, e);
    if (rc == 0) {
        struct doc_select_request r = {.constraints = &c, .result = &res};
        *doc = doc_select_build(&r, e);
        rc = *doc ? 0 : -ENOMEM;
    }
    select_result_clear(&res);
    mcp_env_release(env, token);
    return rc;
}

/* ---- audit_summary ----------------------------------------------------------------- */

static int audit_summary_doc(double hours, const char *user, json_t **doc, struct error *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    struct audit_filter f = {.to_ms = now_ms + 1, .user = user,
                             .from_ms = now_ms - (int64_t)llround(hours * 3600000.0)};
    struct audit_db *db = NULL;
    int rc = audit_open(NULL, AUDIT_OPEN_READONLY, &db, e);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    /* Nothing recorded yet: an empty summary of the window, the truth. */
    struct audit_summary empty = {.from_ms = f.from_ms, .to_ms = f.to_ms}, *s = &empty;
    for (int i = 0; i < 24; i++)
        empty.hours[i].hour = i;
    rc = db ? audit_summary(db, &f, AUDIT_TOP, &s, e) : 0;
    if (rc == 0) {
        *doc = doc_audit_summary_build(s, e);
        rc = *doc ? 0 : -ENOMEM;
    }
    if (s != &empty)
        audit_summary_free(s);
    audit_close(db);
    return rc;
}

int mcp_call_audit_summary(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                           struct error *e)
{
    (void)env;
    return audit_summary_doc(mcp_args_number(a, "hours", DEFAULT_HOURS),
                             mcp_args_string(a, "user"), doc, e);
}

int mcp_read_audit(const struct mcp_env *env, json_t **doc, struct error *e)
{
    (void)env;
    return audit_summary_doc(DEFAULT_HOURS, NULL, doc, e);
}

/* ---- scan_rogue_activity ----------------------------------------------------------- */

/* rogue.toml's settings, or the defaults when there is none (a scan does
 * not create the file). */
static int rogue_settings(struct rogue_config *cfg, struct error *e)
{
    char path[4096];
    bool created = false;
    if (policy_config_path(path, sizeof path, "rogue.toml", e) < 0)
        return rogue_config_defaults(cfg) < 0 ? -ENOMEM : 0;
    int rc = rogue_config_load(cfg, path, false, &created, e);
    if (rc == -ENOENT) {
        error_clear(e);
        return rogue_config_defaults(cfg) < 0 ? error_set(e, -ENOMEM, "out of memory") : 0;
    }
    return rc;
}

static int rogue_doc(const struct mcp_env *env, double hours, json_t **doc, struct error *e)
{
    struct rogue_config cfg;
    int rc = rogue_settings(&cfg, e);
    if (rc < 0)
        return rc;
    struct rogue_history hist = {0};
    bool have_hist = false;
    struct policy_store *st = NULL;
    rc = policy_store_open(NULL, true, &st, e);
    if (rc == 0 && (rc = policy_store_history(st, hours, now_s(), &hist, e)) == 0)
        have_hist = true;
    if (rc == -ENOENT) {
        rc = 0;
        error_clear(e);
    }
    policy_store_close(st);
    const struct snapshot *snap = NULL;
    void *token = NULL;
    struct error se = {0};
    bool live = rc == 0 && mcp_env_snapshot(env, false, &snap, &token, &se) == 0;
    if (rc == 0 && !live && !have_hist)
        rc = error_set(e, se.code ? se.code : -ENODEV, "nothing to scan: %s, and there is no "
                       "audit history", se.msg);
    struct rogue_report rep = {0};
    struct rogue_input in = {.snap = live ? snap : NULL, .history = have_hist ? &hist : NULL};
    if (rc == 0)
        rc = rogue_scan(&cfg, &in, &rep, e);
    if (rc == 0) {
        struct doc_rogue_request r = {.report = &rep, .hours = hours, .history = have_hist,
                                      .live = live};
        *doc = doc_rogue_build(&r, e);
        rc = *doc ? 0 : -ENOMEM;
    }
    rogue_report_free(&rep);
    mcp_env_release(env, token);
    rogue_history_free(&hist);
    rogue_config_free(&cfg);
    return rc;
}

int mcp_call_scan_rogue_activity(const struct mcp_env *env, const struct mcp_args *a,
                                 json_t **doc, struct error *e)
{
    return rogue_doc(env, mcp_args_number(a, "hours", DEFAULT_HOURS), doc, e);
}

int mcp_read_rogue(const struct mcp_env *env, json_t **doc, struct error *e)
{
    return rogue_doc(env, DEFAULT_HOURS, doc, e);
}

/* ---- policies ---------------------------------------------------------------------- */

static int guard_path(char *path, size_t size, struct error *e)
{
    return policy_config_path(path, size, "guard.toml", e);
}

/* guard.toml, or the defaults (no policy) when there is none. */
static int load_policies(struct guard_config *c, char *path, size_t size, struct error *e)
{
    int rc = guard_path(path, size, e);
    if (rc == 0)
        rc = guard_config_load(c, path, true, NULL, e);
    return rc;
}

int mcp_read_policies(const struct mcp_env *env, json_t **doc, struct error *e)
{
    (void)env;
    struct guard_config c;
    char path[4096];
    int rc = load_policies(&c, path, sizeof path, e);
    if (rc < 0)
        return rc;
    *doc = doc_policies_build(&c, e);
    guard_config_free(&c);
    return *doc ? 0 : -ENOMEM;
}

int mcp_call_test_policies(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                           struct error *e)
{
    (void)a;
    struct guard_config c;
    char path[4096];
    int rc = load_policies(&c, path, sizeof path, e);
    if (rc < 0)
        return rc;
    const struct snapshot *snap = NULL;
    void *token = NULL;
    struct guard_violations vs = {0};
    struct guard_clock clock;
    guard_clock_now(&clock);
    rc = mcp_env_snapshot(env, false, &snap, &token, e);
    if (rc == 0)
        rc = guard_config_check_gpus(&c, snap->device_count, path, e);
    if (rc == 0)
        rc = guard_evaluate(&c, snap, &clock, &vs, e);
    if (rc == 0) {
        struct doc_policies_test_request r = {.config = &c, .violations = &vs};
        *doc = doc_policies_test_build(&r, e);
        rc = *doc ? 0 : -ENOMEM;
    }
    guard_violations_free(&vs);
    mcp_env_release(env, token);
    guard_config_free(&c);
    return rc;
}

/* Sets limit from the argument when it was given. */
static void take_limit(const struct mcp_args *a, const char *name, struct opt_f64 *out)
{
    if (mcp_args_has(a, name))
        *out = (struct opt_f64){.known = true, .v = mcp_args_number(a, name, 0)};
}

int mcp_call_create_user_policy(const struct mcp_env *env, const struct mcp_args *a,
                                json_t **doc, struct error *e)
{
    (void)env;
    struct guard_config cur, next;
    char path[4096];
    int rc = load_policies(&cur, path, sizeof path, e);
    if (rc < 0)
        return rc;
    if (guard_config_copy(&next, &cur) < 0) {
        guard_config_free(&cur);
        return error_set(e, -ENOMEM, "out of memory editing %s", path);
    }
    guard_config_free(&cur);
    const char *name = mcp_args_string(a, "username");
    struct guard_user_policy *u = NULL;
    if (strlen(name) == 0 || strlen(name) >= sizeof u->name)
        rc = error_set(e, -EINVAL, "argument 'username': a user name of 1 to %zu bytes",
                       sizeof u->name - 1);
    else if (!(u = guard_config_add_user(&next, name)))
        rc = error_set(e, -ENOMEM, "out of memory adding the policy of %s", name);
    if (rc == 0) {
        take_limit(a, "memory_limit_gb", &u->limits.memory_gb);
        take_limit(a, "utilization_limit_pct", &u->limits.utilization_pct);
        if (mcp_args_has(a, "process_limit"))
            u->limits.max_processes = (struct opt_u64){
                .known = true, .v = (uint64_t)mcp_args_int(a, "process_limit", 0)};
        rc = guard_config_validate(&next, e);
    }
    /* Saved whole (write, fsync, rename) or not at all. */
    if (rc == 0)
        rc = guard_config_save(&next, path, e);
    if (rc == 0) {
        *doc = doc_policies_build(&next, e);
        rc = *doc ? 0 : -ENOMEM;
    }
    if (rc < 0) {
        char why[ERROR_MSG_MAX];
        memcpy(why, e->msg, sizeof why);
        error_set(e, rc, "%s; nothing was changed", why);
    }
    guard_config_free(&next);
    return rc;
}
