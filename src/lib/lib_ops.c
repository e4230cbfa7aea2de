/* lib_ops.c - libgpuctl's version 2 services: host facts of any pid, the
 * sampler, GPU selection, the safe kill and the snapshot document.
 *
 * Each call hands the work to the module the CLI uses for the same job
 * (sources/procfs, core/sampler, ops/select, ops/kill, doc/snapshot_doc,
 * doc/select_doc), so a library user and the command see the same figures
 * and the same refusals.  What is left here is argument checking and
 * turning struct error into the caller's buffer.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/sampler.h"
#include "doc/json.h"
#include "doc/select_doc.h"
#include "doc/snapshot_doc.h"
#include "lib/lib.h"
#include "ops/kill.h"
#include "ops/select.h"

/* ---- host facts --------------------------------------------------------- */

static int pid_order(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* Reads each distinct pid into snap->hprocs (those that exist), in pid
 * order, as snapshot_host_process's binary search needs. */
static int read_pids(struct procfs *p, struct snapshot *snap, const pid_t *pids, size_t n,
                     struct error *e)
{
    pid_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    snap->hprocs = calloc(n ? n : 1, sizeof *snap->hprocs);
    if (!sorted || !snap->hprocs) {
        free(sorted);
        return error_set(e, -ENOMEM, "out of memory reading %zu processes", n);
    }
    if (n)
        memcpy(sorted, pids, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, pid_order);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && sorted[i] == sorted[i - 1])
            continue;              /* named twice */
        struct host_process *hp = &snap->hprocs[snap->hproc_count];
        struct error ignored = {0};
        int got = procfs_read_process(p, sorted[i], hp, &ignored);
        if (got == 0 && hp->exists)
            snap->hproc_count++;
        else
            model_host_process_clear(hp);
        if (got == -ENOMEM)        /* anything else: the pid is left out */
            rc = error_set(e, got, "out of memory reading pid %d", (int)sorted[i]);
    }
    free(sorted);
    return rc;
}

API int gpuctl_host_take(gpuctl *g, const pid_t *pids, size_t pid_count, gpuctl_snapshot **out,
                         char *err, size_t err_size)
{
    struct error e = {0};
    if (!g || !out || (pid_count && !pids))
        return -EINVAL;
    *out = NULL;
    if (!g->procfs && procfs_open(&g->procfs, &e) < 0)
        return lib_report(&e, err, err_size);
    struct snapshot *snap = calloc(1, sizeof *snap);
    if (!snap)
        return -ENOMEM;
    clock_gettime(CLOCK_MONOTONIC, &snap->mono);
    clock_gettime(CLOCK_REALTIME, &snap->wall);
    int rc = procfs_read_host(g->procfs, &snap->host, &e);
    if (rc == 0)
        (void)procfs_read_cpu_times(g->procfs, &snap->host); /* unreadable: unknown */
    if (rc == 0)
        rc = read_pids(g->procfs, snap, pids, pid_count, &e);
    if (rc < 0) {
        snapshot_free(snap);
        return lib_report(&e, err, err_size);
    }
    rc = lib_snapshot_wrap(snap, out, &e);
    return rc < 0 ? lib_report(&e, err, err_size) : 0;
}

/* ---- the sampler --------------------------------------------------------- */

struct gpuctl_sampler {
    struct sampler *sampler;
};

API int gpuctl_sampler_open(gpuctl *g, gpuctl_sampler **out, char *err, size_t err_size)
{
    struct error e = {0};
    if (!g || !out)
        return -EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    if (sampler_create(&(*out)->sampler, g->ctx, &e) < 0) {
        free(*out);
        *out = NULL;
        return lib_report(&e, err, err_size);
    }
    return 0;
}

API void gpuctl_sampler_close(gpuctl_sampler *sm)
{
    if (!sm)
        return;
    sampler_free(sm->sampler);
    free(sm);
}

API int gpuctl_sampler_take_with(gpuctl_sampler *sm, unsigned what, gpuctl_snapshot **out,
                                 char *err, size_t err_size)
{
    struct error e = {0};
    if (!sm || !out || (what & ~GPUCTL_TAKE_ALL))
        return -EINVAL;
    *out = NULL;
    struct snapshot_options opts = lib_take_options(what);
    struct snapshot *snap;
    int rc = sampler_take(sm->sampler, &opts, &snap, &e);
    if (rc == 0)
        rc = lib_snapshot_wrap(snap, out, &e);
    return rc < 0 ? lib_report(&e, err, err_size) : 0;
}

API int gpuctl_sampler_take(gpuctl_sampler *sm, gpuctl_snapshot **out, char *err,
                            size_t err_size)
{
    return gpuctl_sampler_take_with(sm, GPUCTL_TAKE_ALL, out, err, err_size);
}

/* ---- selection ----------------------------------------------------------- */

struct gpuctl_selection {
    struct select_constraints c;
    char **free_users;                /* owned copies of the caller's names */
    struct select_result r;
    size_t *places;                   /* per r.devices: the device's place in the snapshot */
    long *mig_items;                  /* per r.devices: gpuctl_mig_count numbering, -1 */
};

API void gpuctl_select_options_init(struct gpuctl_select_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->min_free_bytes = -1;
    o->min_total_bytes = -1;
    o->max_gpu_util_pct = -1;
    o->max_mem_util_pct = -1;
}

static int set_pct(const char *what, int v, bool *set, unsigned *out, struct error *e)
{
    if (v < -1 || v > 100)
        return error_set(e, -EINVAL, "%s: %d is not a percentage from 0 to 100", what, v);
    *set = v >= 0;
    *out = v >= 0 ? (unsigned)v : 0;
    return 0;
}

static int constraints_from(const struct gpuctl_select_options *o, struct gpuctl_selection *sel,
                            struct error *e)
{
    struct select_constraints *c = &sel->c;
    if (o->size < sizeof *o)
        return error_set(e, -EINVAL, "select options of %zu bytes: call "
                         "gpuctl_select_options_init first", o->size);
    if (o->min_free_bytes < -1 || o->min_total_bytes < -1)
        return error_set(e, -EINVAL, "memory constraints are bytes, or -1 for none");
    if (o->max_count && o->max_count < o->min_count)
        return error_set(e, -EINVAL, "max_count %zu is less than min_count %zu", o->max_count,
                         o->min_count);
    bool tol_set;
    int rc = set_pct("max_gpu_util_pct", o->max_gpu_util_pct, &c->max_gpu_util_set,
                     &c->max_gpu_util_pct, e);
    if (rc == 0)
        rc = set_pct("max_mem_util_pct", o->max_mem_util_pct, &c->max_mem_util_set,
                     &c->max_mem_util_pct, e);
    if (rc == 0)
        rc = set_pct("tolerance_pct", o->tolerance_pct < 0 ? 101 : o->tolerance_pct, &tol_set,
                     &c->tolerance_pct, e);
    if (rc < 0)
        return rc;
    c->min_count = o->min_count;
    c->max_count = o->max_count ? o->max_count : SELECT_NO_MAX;
    c->min_free_set = o->min_free_bytes >= 0;
    c->min_free_bytes = c->min_free_set ? (uint64_t)o->min_free_bytes : 0;
    c->min_total_set = o->min_total_bytes >= 0;
    c->min_total_bytes = c->min_total_set ? (uint64_t)o->min_total_bytes : 0;
    c->inherit = o->inherit != 0;
    c->cuda_visible_devices = NULL;   /* read by select_devices only; copied below when used */
    if (o->free_user_count) {
        sel->free_users = calloc(o->free_user_count, sizeof *sel->free_users);
        if (!sel->free_users)
            return error_set(e, -ENOMEM, "out of memory");
        for (size_t i = 0; i < o->free_user_count; i++) {
            if (!o->free_users || !o->free_users[i])
                return error_set(e, -EINVAL, "free_users[%zu] is NULL", i);
            sel->free_users[i] = strdup(o->free_users[i]);
            if (!sel->free_users[i])
                return error_set(e, -ENOMEM, "out of memory");
        }
        c->free_users = (const char *const *)sel->free_users;
        c->free_user_count = o->free_user_count;
    }
    return 0;
}

/* Each chosen device's place in s, and the flat MIG number of the MIG
 * devices (-1: a whole GPU). */
static int place_items(struct gpuctl_selection *sel, const gpuctl_snapshot *s, struct error *e)
{
    size_t n = sel->r.count ? sel->r.count : 1;
    sel->mig_items = calloc(n, sizeof *sel->mig_items);
    sel->places = calloc(n, sizeof *sel->places);
    if (!sel->mig_items || !sel->places)
        return error_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < sel->r.count; i++) {
        const struct select_device *d = &sel->r.devices[i];
        for (size_t p = 0; p < s->snap->device_count; p++)
            if (s->snap->devices[p].index == d->device_index)
                sel->places[i] = p;
        sel->mig_items[i] = -1;
        for (size_t m = 0; d->mig >= 0 && m < s->mig_count; m++) {
            const struct device *parent = &s->snap->devices[s->mig_dev[m]];
            if (parent->index == d->device_index && s->mig_sub[m] == (size_t)d->mig)
                sel->mig_items[i] = (long)m;
        }
    }
    return 0;
}

API int gpuctl_select(const gpuctl_snapshot *s, const struct gpuctl_select_options *o,
                      gpuctl_selection **out, char *err, size_t err_size)
{
    struct error e = {0};
    if (!s || !o || !out)
        return -EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    int rc = constraints_from(o, *out, &e);
    if (rc == 0) {
        (*out)->c.cuda_visible_devices = o->inherit ? o->cuda_visible_devices : NULL;
        rc = select_devices(s->snap, &(*out)->c, &(*out)->r, &e);
        (*out)->c.cuda_visible_devices = NULL;   /* the caller's string is not kept */
    }
    if (rc == 0)
        rc = place_items(*out, s, &e);
    if (rc < 0) {
        gpuctl_selection_free(*out);
        *out = NULL;
        return lib_report(&e, err, err_size);
    }
    return 0;
}

API void gpuctl_selection_free(gpuctl_selection *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; sel->free_users && i < sel->c.free_user_count; i++)
        free(sel->free_users[i]);
    free(sel->free_users);
    select_result_clear(&sel->r);
    free(sel->mig_items);
    free(sel->places);
    free(sel);
}

API size_t gpuctl_selection_count(const gpuctl_selection *sel)
{
    return sel ? sel->r.count : 0;
}

API int gpuctl_selection_item(const gpuctl_selection *sel, size_t i, size_t *device, long *mig)
{
    if (!sel || !device || !mig || i >= sel->r.count)
        return -EINVAL;
    *device = sel->places[i];
    *mig = sel->mig_items[i];
    return 0;
}

API int gpuctl_selection_enough(const gpuctl_selection *sel)
{
    return sel && sel->r.enough;
}

API const char *gpuctl_selection_reason(const gpuctl_selection *sel)
{
    return sel && !sel->r.enough && sel->r.reason[0] ? sel->r.reason : NULL;
}

static char *dump(json_t *doc, bool compact, struct error *e)
{
    char *text = doc ? json_dumps(doc, doc_json_dump_flags(compact)) : NULL;
    json_decref(doc);
    if (!text && e->code == 0)
        error_set(e, -ENOMEM, "out of memory writing the document");
    return text;
}

API char *gpuctl_selection_json(const gpuctl_selection *sel, char *err, size_t err_size)
{
    struct error e = {0};
    if (!sel)
        return NULL;
    struct doc_select_request req = {.constraints = &sel->c, .result = &sel->r,
                                     .uuid = sel->r.uuid_required};
    char *text = dump(doc_select_build(&req, &e), false, &e);
    if (!text)
        lib_report(&e, err, err_size);
    return text;
}

/* ---- the safe kill ------------------------------------------------------- */

static int kill_checked(struct kill_set *set, pid_t pid, uint64_t start_ticks, int sig,
                        long wait_ms, struct error *e)
{
    int rc = kill_set_add(set, pid, start_ticks, KILL_ROLE_TARGET, pid, e);
    if (rc < 0)
        return rc;
    struct kill_entry *en = &set->items[0];
    if (kill_set_check(set, false) > 0) {
        *e = en->refusal;
        return e->code;
    }
    if (sig == 0 || wait_ms <= 0)
        return proc_handle_signal(&en->h, sig, e);
    struct kill_run_options o = {.signal = sig, .timeout_ms = wait_ms};
    rc = kill_set_run(set, &o, e);
    if (rc < 0)
        return rc;
    if (en->outcome == KILL_OUTCOME_FAILED) {
        *e = en->failure;
        return e->code;
    }
    if (en->outcome == KILL_OUTCOME_STILL_RUNNING)
        return error_set(e, -ETIMEDOUT, "pid %d: still running %ld ms after the signal",
                         (int)pid, wait_ms);
    return 0;
}

API int gpuctl_kill(pid_t pid, uint64_t start_ticks, int sig, long wait_ms, char *err,
                    size_t err_size)
{
    struct error e = {0};
    if (sig < 0 || sig > 64) {
        error_set(&e, -EINVAL, "signal %d: not a signal number", sig);
        return lib_report(&e, err, err_size);
    }
    struct kill_set set = {0};
    int rc = kill_set_init(&set, &e);
    if (rc == 0)
        rc = kill_checked(&set, pid, start_ticks, sig, wait_ms, &e);
    kill_set_free(&set);
    return rc < 0 ? lib_report(&e, err, err_size) : 0;
}

/* ---- documents ----------------------------------------------------------- */

API char *gpuctl_snapshot_json(const gpuctl_snapshot *s, unsigned flags, char *err,
                               size_t err_size)
{
    struct error e = {0};
    if (!s)
        return NULL;
    struct doc_snapshot_request req = {.details = flags & GPUCTL_JSON_DETAILS,
                                       .containers = flags & GPUCTL_JSON_CONTAINERS};
    /* written straight from the snapshot (doc/sink.h): the same bytes as
     * dump() of the tree, without building one */
    struct doc_snapshot_view v;
    char *text = NULL;
    if (doc_snapshot_view_init(&v, s->snap, &req, &e) == 0)
        text = doc_snapshot_dumps_view(&v, flags & GPUCTL_JSON_COMPACT, NULL, &e);
    doc_snapshot_view_clear(&v);
    if (!text)
        lib_report(&e, err, err_size);
    return text;
}

API void gpuctl_free(void *p)
{
    free(p);
}
