/* audit_merge.h - one audit summary from the summaries of many hosts
 * (`gpuctl --remote HOSTS audit --summary`).
 *
 * Counts and hours add up; peaks take the largest; users and processes
 * are merged by name (each host is asked for all of them, so a user who is
 * eleventh everywhere is still ranked right) and cut to top; GPUs are
 * listed per host under the host's label; hours of the day and clock hours
 * add up by hour.  A mean utilisation of an hour that several hosts report
 * is weighted by each host's GPU samples in the window (the summary keeps
 * no per-hour sample counts): exact when hosts sample alike, which is what
 * the recorder does.
 *
 * Threads: no state; any thread.
 */
#ifndef GPUCTL_REMOTE_AUDIT_MERGE_H
#define GPUCTL_REMOTE_AUDIT_MERGE_H

#include <stddef.h>

#include "core/error.h"
#include "store/audit.h"

/* Merges parts[0..n-1] (labels[i] names parts[i]'s host) keeping at most
 * top users, processes and busiest hours (0: all).  *out: free with
 * audit_summary_free.  -ENOMEM with e filled. */
int remote_audit_merge(const struct audit_summary *const *parts, const char *const *labels,
                       size_t n, size_t top, struct audit_summary **out, struct error *e);

#endif
