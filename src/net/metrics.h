/* metrics.h - one snapshot as Prometheus text (exposition format 0.0.4).
 *
 * The server renders this once per feed frame and serves the same bytes to
 * every scrape (net/serve.c), so a scrape never reads a source.  Three kinds
 * of series, all named by the field table (core/fields.h):
 *   - DCGM-exporter's names, units and labels (gpu, UUID, pci_bus_id,
 *     device, modelName, Hostname; GPU_I_PROFILE and GPU_I_ID for MIG), for
 *     NVIDIA and simulated GPUs, so DCGM dashboards and alerts work as they
 *     are;
 *   - gpuctl's own series in base units for every vendor;
 *   - per-process series with pid, user, command, container, pod and
 *     namespace labels, capped at max_processes processes (those using the
 *     most GPU memory are kept).
 * Plus gpuctl_up, gpuctl_build_info and the exporter's own gauges.
 */
#ifndef GPUCTL_NET_METRICS_H
#define GPUCTL_NET_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/snapshot.h"
#include "net/pods.h"

struct metrics_options {
    const char *hostname;          /* Hostname label; NULL: the snapshot's host name */
    unsigned max_processes;        /* processes with series; the rest are counted */
    const char *version;           /* gpuctl_build_info labels */
    const char *revision;
    double last_render_s;          /* the previous render's duration, exported */
    double sample_age_s;           /* how old the frame's data is (stale passes) */
    /* pod names and namespaces by UID (net/pods.h); NULL: the pod label is
     * the UID from the cgroup and the namespace is empty */
    const struct pod_names *pods;
};

/* Renders s (device_stale may be NULL: nothing stale) into a new
 * NUL-terminated buffer *out of *len bytes (the caller frees it).
 * Returns 0 or -ENOMEM with e filled. */
int metrics_render(const struct snapshot *s, const bool *device_stale,
                   const struct metrics_options *o, char **out, size_t *len, struct error *e);

#endif
