/* model.c - names for the model's enums, container text and the few frees
 * it needs.
 *
 * The records themselves are filled by the sources and by snapshot.c.
 */
#include "core/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const vendor_names[] = {
    [VENDOR_UNKNOWN] = "unknown", [VENDOR_NVIDIA] = "nvidia", [VENDOR_AMD] = "amd",
    [VENDOR_INTEL] = "intel",     [VENDOR_APPLE] = "apple",   [VENDOR_OTHER] = "other",
    [VENDOR_SIMULATED] = "simulated",
};

const char *model_vendor_name(enum vendor v)
{
    if ((unsigned)v >= sizeof vendor_names / sizeof vendor_names[0])
        return "unknown";
    return vendor_names[v];
}

int model_vendor_parse(const char *name, enum vendor *out)
{
    for (size_t i = 0; i < sizeof vendor_names / sizeof vendor_names[0]; i++) {
        if (strcasecmp(name, vendor_names[i]) == 0) {
            *out = (enum vendor)i;
            return 0;
        }
    }
    return -1;
}

const char *model_compute_mode_name(enum compute_mode m)
{
    switch (m) {
    case COMPUTE_MODE_DEFAULT: return "default";
    case COMPUTE_MODE_EXCLUSIVE_THREAD: return "exclusive_thread";
    case COMPUTE_MODE_PROHIBITED: return "prohibited";
    case COMPUTE_MODE_EXCLUSIVE_PROCESS: return "exclusive_process";
    }
    return "unknown";
}

const char *model_gpu_process_type_name(unsigned type)
{
    bool compute = type & GPU_PROC_COMPUTE, mps = type & GPU_PROC_MPS;
    bool graphics = type & GPU_PROC_GRAPHICS;
    if (graphics)
        return compute ? "C+G" : mps ? "M+G" : "G";
    if (compute)
        return "C";
    return mps ? "M" : "?";
}

const char *model_container_kind_name(enum container_kind k)
{
    switch (k) {
    case CONTAINER_NONE: return "none";
    case CONTAINER_DOCKER: return "docker";
    case CONTAINER_CONTAINERD: return "containerd";
    case CONTAINER_KUBERNETES: return "kubernetes";
    case CONTAINER_PODMAN: return "podman";
    case CONTAINER_LXC: return "lxc";
    case CONTAINER_SYSTEMD: return "systemd";
    }
    return "unknown";
}

const char *model_container_text(const struct container_info *c, bool full, char *buf,
                                 size_t size)
{
    if (c->kind == CONTAINER_NONE)
        return NULL;
    const char *kind = c->kind == CONTAINER_KUBERNETES ? "k8s" : model_container_kind_name(c->kind);
    int idlen = full ? (int)strlen(c->id) : 12;
    if (c->kind == CONTAINER_KUBERNETES && c->pod_uid[0])
        snprintf(buf, size, "%s:%.*s/%.*s", kind, full ? 48 : 8, c->pod_uid, idlen, c->id);
    else if (c->kind == CONTAINER_SYSTEMD || c->kind == CONTAINER_LXC)
        snprintf(buf, size, "%s:%s", kind, c->id);
    else
        snprintf(buf, size, "%s:%.*s", kind, idlen, c->id);
    return buf;
}

void model_device_clear(struct device *d)
{
    if (!d)
        return;
    free(d->migs);
    d->migs = NULL;
    d->mig_count = 0;
}

void model_host_process_clear(struct host_process *p)
{
    if (!p)
        return;
    free(p->cmdline);
    p->cmdline = NULL;
}
