/* snapshot.c - taking snapshots from the started sources and procfs.
 *
 * Owns device numbering: devices are numbered source by source in
 * source_table order, each source's devices in the order it enumerates
 * them (NVML: PCI bus order, as nvidia-smi).  Reads /proc only for the pids
 * that are on a GPU.  Filtering and rendering are left to callers.
 */
#include "core/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "sources/nvml.h"
#include "sources/procfs.h"
#include "sources/simulated.h"
#include "sources/source.h"

struct started_source {
    const struct source_ops *ops;
    void *state;
    size_t first, count;      /* its devices in ctx->templates */
};

struct snapshot_ctx {
    struct started_source started[SNAPSHOT_MAX_SOURCES];
    size_t started_count;
    struct source_status status[SNAPSHOT_MAX_SOURCES];
    size_t status_count;
    struct device_list templates;   /* identity and static facts from enumerate */
    struct procfs *procfs;
    struct nvml_system_info nvml_info;
};

static void start_source(struct snapshot_ctx *ctx, int id, const struct source_ops *ops)
{
    struct source_status *st = &ctx->status[ctx->status_count++];
    struct error err = {0};
    void *state = NULL;
    st->name = ops->name;
    if (ops->init(&state, &err) < 0) {
        str_copy(st->message, sizeof st->message, err.msg);
        return;
    }
    size_t first = ctx->templates.count;
    if (ops->enumerate(state, &ctx->templates, &err) < 0) {
        str_copy(st->message, sizeof st->message, err.msg);
        ops->shutdown(state);
        return;
    }
    for (size_t i = first; i < ctx->templates.count; i++) {
        ctx->templates.items[i].source_id = id;
        ctx->templates.items[i].index = (int)i;
    }
    st->started = true;
    if (ops == &nvml_source)
        nvml_system_info(state, &ctx->nvml_info);
    ctx->started[ctx->started_count++] = (struct started_source){
        .ops = ops, .state = state, .first = first, .count = ctx->templates.count - first};
}

static int no_source_error(const struct snapshot_ctx *ctx, struct error *e)
{
    char why[ERROR_MSG_MAX] = "";
    size_t at = 0;
    for (size_t i = 0; i < ctx->status_count && at < sizeof why; i++) {
        int n = snprintf(why + at, sizeof why - at, "%s%s", i ? "; " : "",
                         ctx->status[i].message);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return error_set(e, -ERROR_GPU_LIBRARY, "no GPU source could start: %s", why);
}

int snapshot_ctx_open(struct snapshot_ctx **out, struct error *e)
{
    *out = NULL;
    struct snapshot_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return error_set(e, -ENOMEM, "out of memory starting the GPU sources");
    /* simulation replaces the real sources, so what is shown is all made up
     * or all real, never a mix */
    bool simulate = simulated_enabled();
    for (int id = 0; id < SNAPSHOT_MAX_SOURCES && source_table[id]; id++)
        if ((source_table[id] == &simulated_source) == simulate)
            start_source(ctx, id, source_table[id]);
    int rc = ctx->started_count ? 0 : no_source_error(ctx, e);
    if (rc == 0)
        rc = procfs_open(&ctx->procfs, e);
    if (rc < 0) {
        snapshot_ctx_close(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void snapshot_ctx_close(struct snapshot_ctx *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->started_count; i++)
        ctx->started[i].ops->shutdown(ctx->started[i].state);
    device_list_free(&ctx->templates);
    procfs_close(ctx->procfs);
    free(ctx);
}

size_t snapshot_ctx_sources(const struct snapshot_ctx *ctx, const struct source_status **out)
{
    *out = ctx->status;
    return ctx->status_count;
}

/* Each snapshot gets its own copy of the templates, MIG arrays included. */
static int copy_templates(const struct snapshot_ctx *ctx, struct snapshot *s)
{
    size_t n = ctx->templates.count;
    s->devices = calloc(n ? n : 1, sizeof *s->devices);
    if (!s->devices)
        return -ENOMEM;
    if (n)
        memcpy(s->devices, ctx->templates.items, n * sizeof *s->devices);
    for (size_t i = 0; i < n; i++) {
        s->devices[i].migs = NULL;
        s->devices[i].mig_count = 0;
    }
    s->device_count = n;
    return 0;
}

static int by_device_then_pid(const void *a, const void *b)
{
    const struct gpu_process *x = a, *y = b;
    if (x->device_index != y->device_index)
        return x->device_index < y->device_index ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int collect_processes(struct snapshot_ctx *ctx, struct snapshot *s, struct error *e)
{
    struct gpu_process_list list = {0};
    for (size_t i = 0; i < ctx->started_count; i++) {
        const struct started_source *src = &ctx->started[i];
        int rc = src->ops->processes(src->state, s->devices + src->first, src->count, &list, e);
        if (rc < 0) {
            gpu_process_list_free(&list);
            return rc;
        }
    }
    if (list.count)
        qsort(list.items, list.count, sizeof *list.items, by_device_then_pid);
    s->gprocs = list.items;
    s->gproc_count = list.count;
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static size_t distinct_pids(const struct snapshot *s, pid_t *pids)
{
    for (size_t i = 0; i < s->gproc_count; i++)
        pids[i] = s->gprocs[i].pid;
    qsort(pids, s->gproc_count, sizeof *pids, by_pid);
    size_t n = 0;
    for (size_t i = 0; i < s->gproc_count; i++)
        if (n == 0 || pids[n - 1] != pids[i])
            pids[n++] = pids[i];
    return n;
}

/* A pid that is gone, or lives in a pid namespace we cannot see, stays in
 * the list with exists = false: the GPU still reports it. */
static unsigned procfs_want(unsigned host_fields)
{
    return (host_fields & SNAPSHOT_HOST_USER ? PROCFS_WANT_USER : 0) |
           (host_fields & SNAPSHOT_HOST_CMDLINE ? PROCFS_WANT_CMDLINE : 0) |
           (host_fields & SNAPSHOT_HOST_CONTAINER ? PROCFS_WANT_CONTAINER : 0) |
           (host_fields & SNAPSHOT_HOST_PIDNS ? PROCFS_WANT_PIDNS : 0);
}

static int collect_host_processes(struct snapshot_ctx *ctx, struct snapshot *s, unsigned fields)
{
    unsigned want = procfs_want(fields);
    if (s->gproc_count == 0)
        return 0;
    pid_t *pids = malloc(s->gproc_count * sizeof *pids);
    if (!pids)
        return -ENOMEM;
    size_t n = distinct_pids(s, pids);
    s->hprocs = calloc(n, sizeof *s->hprocs);
    if (!s->hprocs) {
        free(pids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct error ignored;
        s->hprocs[i].pid = pids[i];
        (void)procfs_read_process_fields(ctx->procfs, pids[i], want, &s->hprocs[i], &ignored);
        s->hprocs[i].pid = pids[i];
    }
    s->hproc_count = n;
    free(pids);
    return 0;
}

static void fill_header(const struct snapshot_ctx *ctx, struct snapshot *s)
{
    clock_gettime(CLOCK_MONOTONIC, &s->mono);
    clock_gettime(CLOCK_REALTIME, &s->wall);
    str_copy(s->driver_version, sizeof s->driver_version, ctx->nvml_info.driver_version);
    str_copy(s->cuda_version, sizeof s->cuda_version, ctx->nvml_info.cuda_version);
    str_copy(s->nvml_version, sizeof s->nvml_version, ctx->nvml_info.nvml_version);
    memcpy(s->sources, ctx->status, ctx->status_count * sizeof *ctx->status);
    s->source_count = ctx->status_count;
}

static int take(struct snapshot_ctx *ctx, const struct snapshot_options *opts, struct snapshot *s,
                struct error *e)
{
    fill_header(ctx, s);
    if (copy_templates(ctx, s) < 0)
        return error_set(e, -ENOMEM, "out of memory taking a snapshot");
    for (size_t i = 0; i < ctx->started_count; i++) {
        const struct started_source *src = &ctx->started[i];
        int rc = src->ops->refresh(src->state, s->devices + src->first, src->count, e);
        if (rc < 0)
            return rc;
    }
    int rc = procfs_read_host(ctx->procfs, &s->host, e);
    if (rc < 0)
        return rc;
    if (opts->host_cpu)
        (void)procfs_read_cpu_times(ctx->procfs, &s->host); /* unreadable: unknown */
    if (opts->processes && (rc = collect_processes(ctx, s, e)) < 0)
        return rc;
    bool host = opts->processes && opts->host_processes;
    if (host && collect_host_processes(ctx, s, opts->host_fields) < 0)
        return error_set(e, -ENOMEM, "out of memory reading host processes");
    return 0;
}

int snapshot_take(struct snapshot_ctx *ctx, const struct snapshot_options *opts,
                  struct snapshot **out, struct error *e)
{
    *out = NULL;
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory taking a snapshot");
    int rc = take(ctx, opts, s, e);
    if (rc < 0) {
        snapshot_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->device_count; i++)
        model_device_clear(&s->devices[i]);
    for (size_t i = 0; i < s->hproc_count; i++)
        model_host_process_clear(&s->hprocs[i]);
    free(s->devices);
    free(s->gprocs);
    free(s->hprocs);
    free(s);
}

static int hproc_by_pid(const void *key, const void *elem)
{
    pid_t k = *(const pid_t *)key, p = ((const struct host_process *)elem)->pid;
    return (k > p) - (k < p);
}

const struct host_process *snapshot_host_process(const struct snapshot *s, pid_t pid)
{
    if (!s->hproc_count)
        return NULL;
    return bsearch(&pid, s->hprocs, s->hproc_count, sizeof *s->hprocs, hproc_by_pid);
}

const struct device *snapshot_device(const struct snapshot *s, int index)
{
    /* A taken snapshot holds every device at its index; a decoded one
     * (src/doc) may hold only the devices a filter showed. */
    if (index >= 0 && (size_t)index < s->device_count && s->devices[index].index == index)
        return &s->devices[index];
    for (size_t i = 0; i < s->device_count; i++)
        if (s->devices[i].index == index)
            return &s->devices[i];
    return NULL;
}
