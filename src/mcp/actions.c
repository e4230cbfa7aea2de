/* actions.c - the MCP tools that end processes or reset GPUs:
 * kill_gpu_process, kill_processes_by_name and reset_gpu.
 *
 * Every signal goes through ops/kill.h exactly as `gpuctl kill` sends it:
 * a pidfd bound to the process's start time, and kill_set_check's refusals
 * (not on a GPU unless forced, pid 1, gpuctl itself, its parent - the
 * assistant -, kernel threads, another user's process).  A refusal or a
 * process that did not end is the tool's failure with the one-line
 * message; what was done is answered with the kill document
 * (docs/json/kill.md) or the reset document (doc/reset_doc.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/kill_doc.h"
#include "doc/reset_doc.h"
#include "mcp/tools.h"
#include "ops/kill.h"
#include "ops/reset.h"

static long timeout_secs(const struct mcp_env *env)
{
    return env->cfg && env->cfg->default_timeout_secs > 0
               ? (long)env->cfg->default_timeout_secs : 5;
}

/* The first refusal in s as the tool's message, or 0 when none. */
static int first_refusal(const struct kill_set *s, bool force, struct error *e)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct kill_entry *en = &s->items[i];
        if (!en->refusal.code)
            continue;
        bool gpu = en->role == KILL_ROLE_TARGET && !en->gpu_seen && !force;
        return error_set(e, en->refusal.code, "%s%s; nothing was signalled", en->refusal.msg,
                         gpu ? " (force signals it anyway)" : "");
    }
    return 0;
}

static json_t *kill_document(struct kill_set *s, enum doc_kill_stage stage, bool force,
                             long timeout, struct error *e)
{
    size_t *order = malloc((s->count ? s->count : 1) * sizeof *order);
    if (!order) {
        error_set(e, -ENOMEM, "out of memory for the kill document");
        return NULL;
    }
    kill_set_order(s, order);
    struct doc_kill_request r = {.set = s, .order = order, .stage = stage, .signal = SIGTERM,
                                 .timeout_secs = timeout, .force = force};
    json_t *doc = doc_kill_build(&r, e);
    free(order);
    return doc;
}

/* Checks, signals and waits for every entry of s (targets added, GPUs
 * noted), then builds the document.  A process that did not end makes
 * the call fail, naming how many. */
static int run_set(const struct mcp_env *env, struct kill_set *s, bool force, bool require_gpu,
                   json_t **doc, struct error *e)
{
    kill_set_check(s, require_gpu);
    int rc = first_refusal(s, force, e);
    if (rc < 0)
        return rc;
    long timeout = timeout_secs(env);
    struct kill_run_options o = {.signal = SIGTERM, .timeout_ms = timeout * 1000L,
                                 .force = force};
    int left = kill_set_run(s, &o, e);
    if (left < 0)
        return left;
    if (left > 0)
        return error_set(e, -ETIMEDOUT, "%d of %zu process%s did not end within %ld s%s", left,
                         s->count, s->count == 1 ? "" : "es", timeout,
                         force ? "" : " (force sends SIGKILL after the wait)");
    *doc = kill_document(s, DOC_KILL_DONE, force, timeout, e);
    return *doc ? 0 : -ENOMEM;
}

int mcp_call_kill_gpu_process(const struct mcp_env *env, const struct mcp_args *a,
                              json_t **doc, struct error *e)
{
    pid_t pid = (pid_t)mcp_args_int(a, "pid", 0);
    bool force = mcp_args_bool(a, "force", false);
    struct kill_set set;
    int rc = kill_set_init(&set, e);
    if (rc == 0)
        rc = kill_set_add(&set, pid, PROC_IDENT_ANY_START, KILL_ROLE_TARGET, 0, e);
    const struct snapshot *snap = NULL;
    void *token = NULL;
    /* Without force the GPU check needs the snapshot; with force a
     * machine without a GPU source may still end the process. */
    if (rc == 0) {
        struct error se = {0};
        int src = mcp_env_snapshot(env, true, &snap, &token, &se);
        if (src < 0 && !force) {
            rc = error_set(e, src, "cannot tell whether pid %d uses a GPU (force signals it "
                           "anyway): %s", (int)pid, se.msg);
        } else if (src == 0 && kill_set_note_gpus(&set, snap) < 0) {
            rc = error_set(e, -ENOMEM, "out of memory checking pid %d", (int)pid);
        }
    }
    if (rc == 0)
        rc = run_set(env, &set, force, !force, doc, e);
    mcp_env_release(env, token);
    kill_set_free(&set);
    return rc;
}

int mcp_call_kill_processes_by_name(const struct mcp_env *env, const struct mcp_args *a,
                                    json_t **doc, struct error *e)
{
    const char *pattern = mcp_args_string(a, "pattern");
    bool force = mcp_args_bool(a, "force", false);
    const struct snapshot *snap;
    void *token = NULL;
    int rc = mcp_env_snapshot(env, true, &snap, &token, e);
    if (rc < 0)
        return rc;
    struct kill_set set;
    size_t matched;
    rc = kill_set_init(&set, e);
    if (rc == 0)
        rc = kill_set_add_matches(&set, snap, pattern, &matched, e);
    if (rc == 0 && kill_set_note_gpus(&set, snap) < 0)
        rc = error_set(e, -ENOMEM, "out of memory matching '%s'", pattern);
    mcp_env_release(env, token);
    if (rc == 0 && !force) {
        /* Without force: the matches, for the user to confirm. */
        kill_set_check(&set, true);
        *doc = kill_document(&set, DOC_KILL_MATCHED, false, timeout_secs(env), e);
        rc = *doc ? 0 : -ENOMEM;
    } else if (rc == 0) {
        rc = run_set(env, &set, true, true, doc, e);
    }
    kill_set_free(&set);
    return rc;
}

/* ---- reset_gpu --------------------------------------------------------------------- */

/* Adds the GPU processes on device index to set (force), or refuses when
 * there are any (no force). */
static int add_gpu_processes(const struct snapshot *snap, int index, bool force,
                             struct kill_set *set, struct error *e)
{
    for (size_t i = 0; i < snap->gproc_count; i++) {
        const struct gpu_process *gp = &snap->gprocs[i];
        if (gp->device_index != index)
            continue;
        if (!force)
            return error_set(e, -EBUSY, "GPU %d is in use (pid %d and maybe others); force "
                             "ends its processes first", index, (int)gp->pid);
        const struct host_process *hp = snapshot_host_process(snap, gp->pid);
        struct error ae = {0};
        int r = kill_set_add(set, gp->pid, hp && hp->exists ? hp->start_ticks
                                                             : PROC_IDENT_ANY_START,
                             KILL_ROLE_TARGET, 0, &ae);
        if (r < 0 && r != -ESRCH && r != -ESTALE)
            return error_set(e, r, "%s", ae.msg);
    }
    return 0;
}

/* Ends every process in set at once, as `gpuctl kill --force` does. */
static int end_processes(const struct mcp_env *env, const struct snapshot *snap,
                         struct kill_set *set, struct error *e)
{
    if (set->count == 0)
        return 0;
    if (kill_set_note_gpus(set, snap) < 0)
        return error_set(e, -ENOMEM, "out of memory checking the GPUs' processes");
    json_t *ignored = NULL;
    int rc = run_set(env, set, true, true, &ignored, e);
    json_decref(ignored);
    return rc;
}

/* What one reset call works on: the chosen GPUs in index order. */
struct reset_job {
    const struct mcp_env *env;
    const struct snapshot *snap;
    const struct mcp_reset_request *q;
    struct doc_reset_gpu *gpus;
    struct reset_method *methods;
    char **outputs;
    size_t count;
    struct kill_set set;
    bool set_open;
};

/* The checks of `gpuctl reset`, in its order: the indices, one way to
 * reset each GPU, root, then the processes on them. */
static int choose_and_check(struct reset_job *j, struct error *e)
{
    const struct snapshot *s = j->snap;
    for (size_t i = 0; i < j->q->gpu_count; i++)
        if (!snapshot_device(s, j->q->gpus[i]))
            return mcp_no_such_gpu(s, j->q->gpus[i], e);
    for (size_t d = 0; d < s->device_count; d++) {
        bool chosen = j->q->all;
        for (size_t i = 0; i < j->q->gpu_count && !chosen; i++)
            chosen = j->q->gpus[i] == s->devices[d].index;
        if (chosen) {
            size_t k = j->count++;
            j->gpus[k] = (struct doc_reset_gpu){.device = &s->devices[d],
                                                .method = &j->methods[k]};
        }
    }
    if (j->count == 0)
        return error_set(e, -ENODEV, "there is no GPU to reset");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < j->count; i++)
        rc = reset_prepare(j->gpus[i].device, getenv("PATH"), &j->methods[i], e);
    for (size_t i = 0; rc == 0 && i < j->count; i++)
        rc = reset_check_privilege(j->gpus[i].device, e);
    if (rc == 0 && (rc = kill_set_init(&j->set, e)) == 0)
        j->set_open = true;
    for (size_t i = 0; rc == 0 && i < j->count; i++)
        rc = add_gpu_processes(s, j->gpus[i].device->index, j->q->force, &j->set, e);
    return rc;
}

/* Resets every chosen GPU, going on after a failure as the CLI does; the
 * first failure is the call's error, naming the GPUs that were reset. */
static int reset_each(struct reset_job *j, struct error *e)
{
    int first = 0;
    char done[256] = "";
    for (size_t i = 0; i < j->count; i++) {
        struct doc_reset_gpu *g = &j->gpus[i];
        struct error re = {0};
        int rc = reset_run(g->device, &j->methods[i], &j->outputs[i], &re);
        g->output = j->outputs[i];
        g->result = rc < 0 ? DOC_RESET_FAILED : DOC_RESET_DONE;
        if (rc < 0 && first == 0)
            first = error_set(e, rc, "%s", re.msg);
        else if (rc == 0) {
            size_t used = strlen(done);
            snprintf(done + used, sizeof done - used, "%s%d", used ? ", " : "",
                     g->device->index);
        }
    }
    if (first < 0 && done[0]) {
        char msg[sizeof e->msg + sizeof done + 16];
        snprintf(msg, sizeof msg, "%s (reset: GPU %s)", e->msg, done);
        error_set(e, first, "%s", msg);
    }
    return first;
}

static int reset_document(struct reset_job *j, json_t **doc, struct error *e)
{
    size_t *order = malloc((j->set.count ? j->set.count : 1) * sizeof *order);
    if (!order)
        return error_set(e, -ENOMEM, "out of memory for the reset document");
    kill_set_order(&j->set, order);
    struct doc_kill_request ended = {.set = &j->set, .order = order, .stage = DOC_KILL_DONE,
                                     .signal = SIGTERM, .timeout_secs = timeout_secs(j->env),
                                     .force = true};
    struct doc_reset_request r = {.gpus = j->gpus, .gpu_count = j->count, .force = j->q->force,
                                  .ended = j->set.count ? &ended : NULL};
    *doc = doc_reset_build(&r, e);
    free(order);
    return *doc ? 0 : error_set(e, -ENOMEM, "out of memory for the reset document");
}

int mcp_reset_gpus(const struct mcp_env *env, const struct mcp_reset_request *q, json_t **doc,
                   struct error *e)
{
    if ((q->gpu_count > 0) == q->all)
        return error_set(e, -EINVAL, "name the GPUs with either gpu or all");
    struct reset_job j = {.env = env, .q = q};
    void *token = NULL;
    int rc = mcp_env_snapshot(env, true, &j.snap, &token, e);
    if (rc < 0)
        return rc;
    size_t n = j.snap->device_count ? j.snap->device_count : 1;
    j.gpus = calloc(n, sizeof *j.gpus);
    j.methods = calloc(n, sizeof *j.methods);
    j.outputs = calloc(n, sizeof *j.outputs);
    rc = j.gpus && j.methods && j.outputs ? choose_and_check(&j, e)
                                          : error_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = end_processes(env, j.snap, &j.set, e);
    if (rc == 0)
        rc = reset_each(&j, e);
    if (rc == 0)
        rc = reset_document(&j, doc, e);
    for (size_t i = 0; j.outputs && i < j.count; i++)
        free(j.outputs[i]);
    free(j.outputs);
    free(j.methods);
    free(j.gpus);
    if (j.set_open)
        kill_set_free(&j.set);
    mcp_env_release(env, token);
    return rc;
}

int mcp_call_reset_gpu(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                       struct error *e)
{
    int index = (int)mcp_args_int(a, "gpu_id", 0);
    struct mcp_reset_request q = {.gpus = &index, .gpu_count = 1,
                                  .force = mcp_args_bool(a, "force", false)};
    return mcp_reset_gpus(env, &q, doc, e);
}
