/* metrics.c - the Prometheus text of one snapshot (see metrics.h).
 *
 * Families come from the field table: every distinct dcgm_name, then every
 * distinct prom_name, each written once with its HELP and TYPE lines and
 * all its samples together (the format requires a family to be contiguous;
 * a name shared by a device and a MIG field, like DCGM_FI_DEV_FB_USED, is
 * one family).  Unknown values have no sample (decision 3).  A field
 * with a dcgm_value_label repeats its value as that label, as DCGM-exporter
 * does with err_code on DCGM_FI_DEV_XID_ERRORS.  The text is
 * built in memory with a stream; the server keeps it until the next frame.
 */
#include "net/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"

struct render {
    FILE *f;
    const struct snapshot *s;
    const struct metrics_options *o;
    const char *host;
    const bool *gproc_shown;   /* per s->gprocs: has series */
    const bool *hproc_shown;   /* per s->hprocs */
};

/* Writes v as a label value: backslash, quote and newline escaped.  Runs
 * of plain bytes go out in one fwrite: a character at a time, the command
 * lines of the per-process series were an eighth of the render's time
 * (every stdio call takes the stream's lock). */
static void put_escaped(FILE *f, const char *v)
{
    for (;;) {
        size_t run = strcspn(v, "\\\"\n");
        if (run)
            fwrite(v, 1, run, f);
        v += run;
        if (!*v)
            return;
        fputs(*v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\", f);
        v++;
    }
}

static void label(FILE *f, bool *first, const char *name, const char *value)
{
    fprintf(f, "%s%s=\"", *first ? "{" : ",", name);
    put_escaped(f, value ? value : "");
    fputc('"', f);
    *first = false;
}

static void label_int(FILE *f, bool *first, const char *name, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    label(f, first, name, buf);
}

static void end_sample(FILE *f, bool first, double v)
{
    if (!first)
        fputc('}', f);
    if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, " %.0f\n", v);
    else
        fprintf(f, " %.15g\n", v);
}

/* HELP text must not hold a raw newline or backslash. */
static void family_head(FILE *f, const char *name, const char *help, bool counter)
{
    fprintf(f, "# HELP %s ", name);
    for (const char *p = help ? help : name; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\n# TYPE %s %s\n", name, counter ? "counter" : "gauge");
}

/* DCGM writes the bus id with an 8-digit domain, upper case. */
static void dcgm_bus_id(const char *id, char *out, size_t size)
{
    size_t n = 0;
    if (strlen(id) == 12)   /* "0000:01:00.0" */
        n = (size_t)snprintf(out, size, "0000");
    for (const char *p = id; *p && n + 1 < size; p++)
        out[n++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    out[n < size ? n : size - 1] = '\0';
}

static bool dcgm_vendor(const struct device *d)
{
    return d->vendor == VENDOR_NVIDIA || d->vendor == VENDOR_SIMULATED;
}

static void dcgm_labels(const struct render *r, const struct device *d, bool *first)
{
    char bus[40], dev[32];
    dcgm_bus_id(d->pci_bus_id, bus, sizeof bus);
    snprintf(dev, sizeof dev, "%s%d", d->vendor == VENDOR_NVIDIA ? "nvidia" : "sim", d->index);
    label_int(r->f, first, "gpu", d->index);
    label(r->f, first, "UUID", d->uuid);
    label(r->f, first, "pci_bus_id", bus);
    label(r->f, first, "device", dev);
    label(r->f, first, "modelName", d->name);
    label(r->f, first, "Hostname", r->host);
}

static void own_labels(const struct render *r, const struct device *d, bool *first)
{
    label_int(r->f, first, "gpu", d->index);
    label(r->f, first, "uuid", d->uuid);
    label(r->f, first, "name", d->name);
    label(r->f, first, "vendor", model_vendor_name(d->vendor));
    label(r->f, first, "hostname", r->host);
}

static void mig_labels(const struct render *r, const struct mig_instance *m, bool *first)
{
    label(r->f, first, "GPU_I_PROFILE", m->name);
    label_int(r->f, first, "GPU_I_ID", m->gpu_instance_id);
}

static const struct device *device_by_index(const struct snapshot *s, int index)
{
    for (size_t i = 0; i < s->device_count; i++)
        if (s->devices[i].index == index)
            return &s->devices[i];
    return NULL;
}

/* pid, user, command, container, pod, namespace; pod and namespace are
 * Kubernetes': the pod's UID is in the cgroup path, its name and namespace
 * come from the kubelet's pod directories (net/pods.h); without them the
 * pod label is the UID and the namespace stays empty rather than guessed. */
static void process_labels(const struct render *r, pid_t pid, bool *first)
{
    const struct host_process *h = snapshot_host_process(r->s, pid);
    label_int(r->f, first, "pid", pid);
    label(r->f, first, "user", h ? h->user : "");
    label(r->f, first, "command", h ? h->name : "");
    bool container = h && h->container.kind != CONTAINER_NONE &&
                     h->container.kind != CONTAINER_SYSTEMD;
    label(r->f, first, "container", container ? h->container.id : "");
    const struct pod_name *pod = h ? pods_find(r->o->pods, h->container.pod_uid) : NULL;
    label(r->f, first, "pod", pod ? pod->name : h ? h->container.pod_uid : "");
    label(r->f, first, "namespace", pod ? pod->ns : "");
    label(r->f, first, "hostname", r->host);
}

static void sample(FILE *f, const char *name)
{
    fputs(name, f);
}

/* The samples of one field under the family `name`. */
static void field_samples(const struct render *r, const struct field_def *fd, const char *name,
                          bool dcgm)
{
    const struct snapshot *s = r->s;
    double scale = dcgm ? fd->dcgm_scale : fd->prom_scale;
    if (scale == 0)
        scale = 1;
    double v;
    switch (fd->scope) {
    case FIELD_DEVICE:
        for (size_t i = 0; i < s->device_count; i++) {
            const struct device *d = &s->devices[i];
            if ((dcgm && !dcgm_vendor(d)) || !fields_get_f64(fd, d, &v))
                continue;
            bool first = true;
            sample(r->f, name);
            (dcgm ? dcgm_labels : own_labels)(r, d, &first);
            if (dcgm && fd->dcgm_value_label)
                label_int(r->f, &first, fd->dcgm_value_label, (long long)(v * scale));
            end_sample(r->f, first, v * scale);
        }
        break;
    case FIELD_MIG:
        for (size_t i = 0; i < s->device_count; i++) {
            const struct device *d = &s->devices[i];
            if (dcgm && !dcgm_vendor(d))
                continue;
            for (size_t m = 0; m < d->mig_count; m++) {
                if (!fields_get_f64(fd, &d->migs[m], &v))
                    continue;
                bool first = true;
                sample(r->f, name);
                (dcgm ? dcgm_labels : own_labels)(r, d, &first);
                mig_labels(r, &d->migs[m], &first);
                end_sample(r->f, first, v * scale);
            }
        }
        break;
    case FIELD_GPU_PROCESS:
        for (size_t i = 0; i < s->gproc_count; i++) {
            const struct gpu_process *p = &s->gprocs[i];
            const struct device *d = device_by_index(s, p->device_index);
            if (!r->gproc_shown[i] || !d || !fields_get_f64(fd, p, &v))
                continue;
            bool first = true;
            sample(r->f, name);
            label_int(r->f, &first, "gpu", d->index);
            label(r->f, &first, "uuid", d->uuid);
            process_labels(r, p->pid, &first);
            end_sample(r->f, first, v * scale);
        }
        break;
    case FIELD_HOST_PROCESS:
        for (size_t i = 0; i < s->hproc_count; i++) {
            const struct host_process *h = &s->hprocs[i];
            if (!r->hproc_shown[i] || !h->exists || !fields_get_f64(fd, h, &v))
                continue;
            bool first = true;
            sample(r->f, name);
            process_labels(r, h->pid, &first);
            end_sample(r->f, first, v * scale);
        }
        break;
    case FIELD_HOST:
        if (fields_get_f64(fd, &s->host, &v)) {
            bool first = true;
            sample(r->f, name);
            label(r->f, &first, "hostname", r->host);
            end_sample(r->f, first, v * scale);
        }
        break;
    }
}

static const char *family_name(const struct field_def *fd, bool dcgm)
{
    return dcgm ? fd->dcgm_name : fd->prom_name;
}

/* Every distinct family name of one kind, in table order. */
static void families(const struct render *r, bool dcgm)
{
    size_t n;
    const struct field_def *all = fields_all(&n);
    for (size_t i = 0; i < n; i++) {
        const char *name = family_name(&all[i], dcgm);
        if (!name)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = family_name(&all[j], dcgm) && strcmp(family_name(&all[j], dcgm), name) == 0;
        if (seen)
            continue;
        family_head(r->f, name, all[i].help, all[i].flags & FIELD_F_COUNTER);
        for (size_t j = i; j < n; j++) {
            const char *other = family_name(&all[j], dcgm);
            if (!other || strcmp(other, name) != 0)
                continue;
            /* two keys for one quantity (MiB and bytes) export once */
            bool dup = false;
            for (size_t k = i; k < j && !dup; k++)
                dup = family_name(&all[k], dcgm) && strcmp(family_name(&all[k], dcgm), name) == 0 &&
                      all[k].scope == all[j].scope && all[k].offset == all[j].offset;
            if (!dup)
                field_samples(r, &all[j], name, dcgm);
        }
    }
}

/* Marks the processes that get series: those with the most GPU memory
 * first, at most max_processes (pid, GPU) pairs.  Returns how many were
 * left out. */
static const struct snapshot *sort_snap;

static int by_memory_desc(const void *a, const void *b)
{
    const struct gpu_process *x = &sort_snap->gprocs[*(const size_t *)a];
    const struct gpu_process *y = &sort_snap->gprocs[*(const size_t *)b];
    uint64_t mx = x->gpu_mem_bytes.known ? x->gpu_mem_bytes.v : 0;
    uint64_t my = y->gpu_mem_bytes.known ? y->gpu_mem_bytes.v : 0;
    if (mx != my)
        return mx < my ? 1 : -1;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    return (ia > ib) - (ia < ib);
}

static size_t choose_processes(const struct snapshot *s, unsigned max, bool *gshown,
                               bool *hshown, size_t *order)
{
    for (size_t i = 0; i < s->gproc_count; i++)
        order[i] = i;
    if (s->gproc_count > max) {
        /* qsort has no context argument; the renderer runs on one thread */
        sort_snap = s;
        qsort(order, s->gproc_count, sizeof *order, by_memory_desc);
        sort_snap = NULL;
    }
    size_t kept = s->gproc_count < max ? s->gproc_count : max;
    for (size_t k = 0; k < kept; k++) {
        size_t i = order[k];
        gshown[i] = true;
        const struct host_process *h = snapshot_host_process(s, s->gprocs[i].pid);
        if (h)
            hshown[h - s->hprocs] = true;
    }
    return s->gproc_count - kept;
}

static void own_gauges(const struct render *r, const bool *device_stale, size_t dropped)
{
    FILE *f = r->f;
    const struct snapshot *s = r->s;
    bool first = true;
    family_head(f, "gpuctl_up", "1 when gpuctl serve is running and has a sample.", false);
    fprintf(f, "gpuctl_up 1\n");
    family_head(f, "gpuctl_build_info", "gpuctl's version and revision, as labels.", false);
    sample(f, "gpuctl_build_info");
    label(f, &first, "version", r->o->version ? r->o->version : "");
    label(f, &first, "revision", r->o->revision ? r->o->revision : "");
    end_sample(f, first, 1);
    family_head(f, "gpuctl_device_info", "A GPU's identity, as labels.", false);
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        first = true;
        sample(f, "gpuctl_device_info");
        own_labels(r, d, &first);
        label(f, &first, "pci_bus_id", d->pci_bus_id);
        label(f, &first, "driver", d->driver);
        label(f, &first, "driver_version", d->driver_version);
        end_sample(f, first, 1);
    }
    family_head(f, "gpuctl_device_stale",
                "1 when the GPU's figures are from an older sample because reading it overran "
                "the timeout.", false);
    for (size_t i = 0; i < s->device_count; i++) {
        first = true;
        sample(f, "gpuctl_device_stale");
        own_labels(r, &s->devices[i], &first);
        end_sample(f, first, device_stale && device_stale[i] ? 1 : 0);
    }
    double wall = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    family_head(f, "gpuctl_sample_timestamp_seconds", "When the sample was taken (Unix time).",
                false);
    fprintf(f, "gpuctl_sample_timestamp_seconds %.3f\n", wall);
    family_head(f, "gpuctl_sample_age_seconds",
                "How old the sample was when these metrics were rendered.", false);
    fprintf(f, "gpuctl_sample_age_seconds %.6f\n", r->o->sample_age_s);
    family_head(f, "gpuctl_metrics_render_duration_seconds",
                "How long rendering the previous metrics text took.", false);
    fprintf(f, "gpuctl_metrics_render_duration_seconds %.6f\n", r->o->last_render_s);
    family_head(f, "gpuctl_metrics_processes_dropped",
                "GPU processes left without series by --metrics-max-processes.", false);
    fprintf(f, "gpuctl_metrics_processes_dropped %zu\n", dropped);
}

int metrics_render(const struct snapshot *s, const bool *device_stale,
                   const struct metrics_options *o, char **out, size_t *len, struct error *e)
{
    *out = NULL;
    *len = 0;
    size_t n = s->gproc_count ? s->gproc_count : 1;
    bool *gshown = calloc(n, sizeof *gshown);
    bool *hshown = calloc(s->hproc_count ? s->hproc_count : 1, sizeof *hshown);
    size_t *order = calloc(n, sizeof *order);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = gshown && hshown && order ? open_memstream(&buf, &blen) : NULL;
    if (!f) {
        free(gshown);
        free(hshown);
        free(order);
        return error_set(e, -ENOMEM, "out of memory rendering /metrics");
    }
    size_t dropped = choose_processes(s, o->max_processes, gshown, hshown, order);
    struct render r = {
        .f = f, .s = s, .o = o,
        .host = o->hostname && o->hostname[0] ? o->hostname : s->host.hostname,
        .gproc_shown = gshown, .hproc_shown = hshown,
    };
    families(&r, true);
    families(&r, false);
    own_gauges(&r, device_stale, dropped);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0)
        failed = true;
    free(gshown);
    free(hshown);
    free(order);
    if (failed) {
        free(buf);
        return error_set(e, -ENOMEM, "out of memory rendering /metrics");
    }
    *out = buf;
    *len = blen;
    return 0;
}
