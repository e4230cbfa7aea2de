/* sampler.h - rates from two snapshots (ARCHITECTURE.md decision 4).
 *
 * Sources report cumulative counters (a process's CPU ticks, a DRM client's
 * engine busy time or cycles, a device's energy); the sampler remembers the
 * previous reading of each and fills the rates of the next snapshot:
 *
 *   host_process.cpu_pct_interval   100 * dticks / CLK_TCK / dt
 *   gpu_process.engine_pct[i]       100 * dbusy_ns / (dt_ns * capacity), or
 *                                   100 * dcycles / (dtotal_cycles * capacity)
 *   gpu_process.sm_pct              the busiest engine, when the source gave none
 *   device.power_mw                 denergy / dt, when the source gave none
 *   device.util_gpu_pct             util_from_clients devices: per engine class
 *                                   the sum over clients, the busiest class
 *   host.cpu_pct                    100 * dbusy_ticks / dtotal_ticks (/proc/stat)
 *
 * A process is matched by (pid, start time) for CPU and by (device, pid) for
 * engines.  An engine counter that goes backwards (the DRM usage-stats spec
 * allows it) keeps its previous value as the baseline, so the catch-up is not
 * counted twice; that interval's rate is 0.  The first snapshot, and anything
 * new in a later one, has these rates unknown: one-shot commands never sleep.
 */
#ifndef GPUCTL_CORE_SAMPLER_H
#define GPUCTL_CORE_SAMPLER_H

#include "core/error.h"
#include "core/snapshot.h"

struct sampler;

/* ctx is borrowed (it must outlive the sampler) and may be NULL for a
 * sampler that is only fed snapshots taken elsewhere.  Free with
 * sampler_free, which accepts NULL. */
int sampler_create(struct sampler **out, struct snapshot_ctx *ctx, struct error *e);
void sampler_free(struct sampler *s);

/* Fills snap's rates from the previous snapshot fed and remembers snap's
 * counters for the next one.  Snapshots must be fed in time order; one whose
 * monotonic time is not after the previous is remembered with no rates. */
int sampler_feed(struct sampler *s, struct snapshot *snap, struct error *e);

/* snapshot_take on the sampler's ctx, then sampler_feed.  Caller frees *out
 * with snapshot_free. */
int sampler_take(struct sampler *s, const struct snapshot_options *opts,
                 struct snapshot **out, struct error *e);

#endif
