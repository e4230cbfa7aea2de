/* nvml_procs.c - GPU process lists from NVML: compute, graphics and MPS
 * lists merged into one entry per process, with per-process utilisation.
 *
 * Handles the INSUFFICIENT_SIZE protocol (a list may grow between the
 * sizing call and the fetch), the per-generation struct stride, and MIG,
 * where each instance has its own list.  What a process is on the host
 * (user, command) is procfs's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "sources/nvml_internal.h"

#define FETCH_ATTEMPTS 5

struct raw_proc {
    unsigned pid, gi, ci;
    unsigned long long mem;
    unsigned type;
};

struct raw_list {
    struct raw_proc *items;
    size_t count, cap;
};

static int raw_push(struct raw_list *l, const struct raw_proc *p)
{
    if (grow_for_one((void **)&l->items, &l->cap, l->count, sizeof *l->items, 64) < 0)
        return -ENOMEM;
    l->items[l->count++] = *p;
    return 0;
}

/* Calls fn with a buffer large enough for the list, retrying while the list
 * grows under us.  On success *buf holds *count entries of the given stride. */
static nvmlReturn_t fetch_list(nvml_process_list_fn fn, nvmlDevice_t h, size_t stride,
                               unsigned char **buf, size_t *cap, unsigned *count)
{
    unsigned n = 0;
    nvmlReturn_t rc = fn(h, &n, NULL);
    for (int attempt = 0; rc == NVML_ERROR_INSUFFICIENT_SIZE && attempt < FETCH_ATTEMPTS;
         attempt++) {
        /* Headroom so a few processes starting meanwhile do not cost a retry. */
        size_t want = (size_t)n + n / 4 + 8;
        if (want > *cap) {
            unsigned char *nb = realloc(*buf, want * stride);
            if (!nb)
                return NVML_ERROR_MEMORY;
            *buf = nb;
            *cap = want;
        }
        n = (unsigned)*cap;
        rc = fn(h, &n, *buf);
    }
    *count = rc == NVML_SUCCESS ? n : 0;
    return rc;
}

static void decode_entries(const unsigned char *buf, size_t stride, unsigned count, unsigned type,
                           unsigned mig_gi, unsigned mig_ci, struct raw_list *out, int *oom)
{
    for (unsigned i = 0; i < count; i++) {
        const unsigned char *p = buf + (size_t)i * stride;
        struct raw_proc rp = {.type = type, .gi = NVML_NO_INSTANCE_ID, .ci = NVML_NO_INSTANCE_ID};
        memcpy(&rp.pid, p + offsetof(nvml_process_info_v1, pid), sizeof rp.pid);
        memcpy(&rp.mem, p + offsetof(nvml_process_info_v1, used_gpu_memory), sizeof rp.mem);
        if (stride >= sizeof(nvml_process_info_v2)) {
            memcpy(&rp.gi, p + offsetof(nvml_process_info_v2, gpu_instance_id), sizeof rp.gi);
            memcpy(&rp.ci, p + offsetof(nvml_process_info_v2, compute_instance_id), sizeof rp.ci);
        }
        if (rp.gi == NVML_NO_INSTANCE_ID)
            rp.gi = mig_gi;
        if (rp.ci == NVML_NO_INSTANCE_ID)
            rp.ci = mig_ci;
        if (raw_push(out, &rp) < 0)
            *oom = 1;
    }
}

struct fetch_ctx {
    const struct nvml_api *api;
    unsigned char *buf;
    size_t cap;
    struct raw_list raw;
    int oom;
    nvmlReturn_t failed;    /* why a list could not be read: lost GPU, endless growth */
};

static void collect_handle(struct fetch_ctx *c, nvmlDevice_t h, unsigned gi, unsigned ci)
{
    const struct { nvml_process_list_fn fn; unsigned type; } lists[] = {
        {c->api->compute_procs, GPU_PROC_COMPUTE},
        {c->api->graphics_procs, GPU_PROC_GRAPHICS},
        {c->api->mps_procs, GPU_PROC_MPS},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        unsigned count = 0;
        if (!lists[i].fn)
            continue;
        nvmlReturn_t rc = fetch_list(lists[i].fn, h, c->api->process_stride, &c->buf, &c->cap,
                                     &count);
        if (nvml_is_lost(rc) || rc == NVML_ERROR_INSUFFICIENT_SIZE)
            c->failed = rc;
        if (rc == NVML_ERROR_MEMORY)
            c->oom = 1;
        if (rc == NVML_SUCCESS)
            decode_entries(c->buf, c->api->process_stride, count, lists[i].type, gi, ci, &c->raw,
                           &c->oom);
    }
}

static void collect_migs(struct fetch_ctx *c, nvmlDevice_t parent)
{
    nvmlDevice_t migs[NVML_MAX_MIG_SLOTS];
    int n = nvml_mig_handles(c->api, parent, migs, NVML_MAX_MIG_SLOTS);
    for (int i = 0; i < n; i++) {
        unsigned gi = NVML_NO_INSTANCE_ID, ci = NVML_NO_INSTANCE_ID;
        if (c->api->device_get_gpu_instance_id)
            c->api->device_get_gpu_instance_id(migs[i], &gi);
        if (c->api->device_get_compute_instance_id)
            c->api->device_get_compute_instance_id(migs[i], &ci);
        collect_handle(c, migs[i], gi, ci);
    }
}

static int by_pid_instance(const void *a, const void *b)
{
    const struct raw_proc *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->gi != y->gi)
        return x->gi < y->gi ? -1 : 1;
    return x->ci < y->ci ? -1 : x->ci > y->ci;
}

static unsigned long long larger_known_memory(unsigned long long a, unsigned long long b)
{
    if (a == NVML_VALUE_NOT_AVAILABLE_ULL)
        return b;
    if (b == NVML_VALUE_NOT_AVAILABLE_ULL)
        return a;
    return a > b ? a : b;
}

/* One entry per (pid, instance): a process with compute and graphics
 * contexts appears in both lists with the same memory figure.  An entry
 * without instance ids is dropped when the same pid was also seen through a
 * MIG instance, which is the more precise view of it. */
static size_t merge_raw(struct raw_list *l)
{
    if (l->count == 0)
        return 0;
    qsort(l->items, l->count, sizeof *l->items, by_pid_instance);
    size_t w = 0;
    for (size_t r = 0; r < l->count; r++) {
        struct raw_proc *cur = &l->items[r];
        struct raw_proc *last = w ? &l->items[w - 1] : NULL;
        if (last && last->pid == cur->pid && last->gi == cur->gi && last->ci == cur->ci) {
            last->type |= cur->type;
            last->mem = larger_known_memory(last->mem, cur->mem);
            continue;
        }
        if (last && last->pid == cur->pid && cur->gi == NVML_NO_INSTANCE_ID) {
            last->type |= cur->type;
            continue;
        }
        l->items[w++] = *cur;
    }
    return l->count = w;
}

static int by_sample_pid(const void *a, const void *b)
{
    const nvml_process_utilization_sample *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->timestamp_us < y->timestamp_us ? -1 : x->timestamp_us > y->timestamp_us;
}

/* Samples newer than the last ones seen on this device, sorted by pid and
 * time.  NOT_FOUND means no new sample: the utilisation stays unknown. */
static size_t fetch_utilization(const struct nvml_api *api, struct nvml_device_state *ds,
                                nvml_process_utilization_sample **out)
{
    *out = NULL;
    if (!api->device_get_process_utilization)
        return 0;
    unsigned n = 0;
    nvmlReturn_t rc = api->device_get_process_utilization(ds->handle, NULL, &n,
                                                          ds->util_last_seen_us);
    if ((rc != NVML_ERROR_INSUFFICIENT_SIZE && rc != NVML_SUCCESS) || n == 0)
        return 0;
    n += 8;
    nvml_process_utilization_sample *s = calloc(n, sizeof *s);
    if (!s)
        return 0;
    rc = api->device_get_process_utilization(ds->handle, s, &n, ds->util_last_seen_us);
    if (rc != NVML_SUCCESS || n == 0) {
        free(s);
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        if (s[i].timestamp_us > ds->util_last_seen_us)
            ds->util_last_seen_us = s[i].timestamp_us;
    qsort(s, n, sizeof *s, by_sample_pid);
    *out = s;
    return n;
}

/* The newest sample of pid (samples sorted by pid, then time). */
static const nvml_process_utilization_sample *
newest_sample(const nvml_process_utilization_sample *s, size_t n, unsigned pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].pid <= pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && s[lo - 1].pid == pid ? &s[lo - 1] : NULL;
}

static void set_pct(struct opt_f64 *out, unsigned v)
{
    if (v <= 100)
        OPT_SET(*out, v);
}

static int emit(const struct raw_list *raw, const nvml_process_utilization_sample *samples,
                size_t nsamples, int device_index, struct gpu_process_list *out)
{
    for (size_t i = 0; i < raw->count; i++) {
        const struct raw_proc *rp = &raw->items[i];
        struct gpu_process *gp;
        if (gpu_process_list_push(out, &gp) < 0)
            return -ENOMEM;
        gp->pid = (pid_t)rp->pid;
        gp->device_index = device_index;
        gp->type = rp->type;
        if (rp->mem != NVML_VALUE_NOT_AVAILABLE_ULL)
            OPT_SET(gp->gpu_mem_bytes, rp->mem);
        if (rp->gi != NVML_NO_INSTANCE_ID)
            OPT_SET(gp->gpu_instance_id, rp->gi);
        if (rp->ci != NVML_NO_INSTANCE_ID)
            OPT_SET(gp->compute_instance_id, rp->ci);
        const nvml_process_utilization_sample *s = newest_sample(samples, nsamples, rp->pid);
        if (s) {
            set_pct(&gp->sm_pct, s->sm_util);
            set_pct(&gp->mem_bw_pct, s->mem_util);
            set_pct(&gp->enc_pct, s->enc_util);
            set_pct(&gp->dec_pct, s->dec_util);
        }
    }
    return 0;
}

static void note_failure(struct device *d, nvmlReturn_t rc)
{
    if (d->status[0])
        return;
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE)
        snprintf(d->status, sizeof d->status,
                 "the process list kept growing while it was read; some processes may be "
                 "missing");
    else
        snprintf(d->status, sizeof d->status,
                 "%s while listing processes: the GPU has fallen off the bus or needs a reset",
                 nvml_return_name(rc));
}

static int device_processes(struct nvml_state *s, struct device *d, struct fetch_ctx *c,
                            struct gpu_process_list *out)
{
    struct nvml_device_state *ds = &s->devs[d->source_slot];
    c->raw.count = 0;
    c->failed = NVML_SUCCESS;
    collect_handle(c, ds->handle, NVML_NO_INSTANCE_ID, NVML_NO_INSTANCE_ID);
    if (d->mig_mode.known && d->mig_mode.v == 1)
        collect_migs(c, ds->handle);
    if (c->oom)
        return -ENOMEM;
    if (c->failed != NVML_SUCCESS)
        note_failure(d, c->failed);
    merge_raw(&c->raw);
    nvml_process_utilization_sample *samples = NULL;
    size_t nsamples = c->raw.count ? fetch_utilization(&s->api, ds, &samples) : 0;
    int rc = emit(&c->raw, samples, nsamples, d->index, out);
    free(samples);
    return rc;
}

int nvml_processes(void *state, struct device *devices, size_t count,
                   struct gpu_process_list *out, struct error *e)
{
    struct nvml_state *s = state;
    struct fetch_ctx c = {.api = &s->api};
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct device *d = &devices[i];
        if (d->source_slot < 0 || (unsigned)d->source_slot >= s->count ||
            !s->devs[d->source_slot].handle || d->status[0])
            continue;
        rc = device_processes(s, d, &c, out);
    }
    free(c.buf);
    free(c.raw.items);
    if (rc < 0)
        return error_set(e, rc, "out of memory reading NVIDIA process lists");
    return 0;
}
