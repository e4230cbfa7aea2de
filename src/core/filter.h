/* filter.h - choosing which devices and processes a command shows or acts
 * on: vendor, index, CUDA_VISIBLE_DEVICES, process type, user, pid and a
 * PCRE2 pattern on the process name and command line.
 */
#ifndef GPUCTL_CORE_FILTER_H
#define GPUCTL_CORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"

/* CUDA_VISIBLE_DEVICES with CUDA's own rules: comma-separated indices (of
 * the NVIDIA devices, in NVML/PCI order), GPU-/MIG- UUIDs or unambiguous
 * UUID prefixes; the list ends at the first invalid, out-of-range or
 * ambiguous entry; a device named twice makes no device visible, as CUDA
 * then fails to initialise.  An empty value makes no device visible.
 * Writes the gpuctl indices of the visible devices, in CUDA order, to out
 * (room for cap) and their number to *count. */
void filter_cuda_visible(const char *value, size_t len, const struct device *devices,
                         size_t device_count, int *out, size_t cap, size_t *count);

/* The MIG instances of device d that CUDA_VISIBLE_DEVICES names by their
 * MIG- UUID (or an unambiguous prefix of it), as a mask over d->migs (bit
 * m for d->migs[m], the first 64); 0 when it names none of them.  A
 * process on d is then visible only on those instances, as under CUDA. */
uint64_t filter_cuda_visible_migs(const char *value, size_t len, const struct device *d);

struct filter {
    unsigned vendor_mask;      /* 1u << enum vendor; 0 = every vendor */
    const int *only;           /* device indices; NULL = all */
    size_t only_count;
    bool only_visible;         /* apply CUDA_VISIBLE_DEVICES to NVIDIA devices */
    bool compute, graphics;    /* neither: both kinds */
    const char *const *users;  /* user names; NULL with users_set = the caller */
    size_t user_count;
    bool users_set;
    const pid_t *pids;
    size_t pid_count;
    void *regex;               /* compiled PCRE2 pattern (owned) */
    void *match_data;
    int *match_error;          /* first matching failure (a PCRE2 limit), 0 none (owned) */
};

/* Compiles pattern; an invalid one is -EINVAL with the error and its
 * 1-based position in the message. */
int filter_set_regex(struct filter *f, const char *pattern, struct error *e);
void filter_clear(struct filter *f);     /* frees the compiled pattern */

/* The devices a command should show: visible[i] for devices[i]. */
void filter_devices(const struct filter *f, const struct device *devices, size_t count,
                    const char *cuda_visible_devices, bool *visible);

bool filter_process_has_criteria(const struct filter *f);

/* hp may be NULL (pid not readable): then only the GPU-side criteria
 * can match, and a user or pattern criterion fails. */
bool filter_process(const struct filter *f, const struct gpu_process *gp,
                    const struct host_process *hp, const char *self_user);

/* The first failure of the pattern while matching (PCRE2's match or depth
 * limit, hit by a pattern that backtracks too much): 0 when every match
 * answered yes or no; else a negative code with its text in msg.  A
 * failure counts as "no match" in filter_process, so a front end that
 * reports "nothing matches" asks here first. */
int filter_regex_failure(const struct filter *f, char *msg, size_t size);

/* Whether f's pattern matches s (false without a pattern or for NULL s);
 * for front ends that match more than the name and command line. */
bool filter_regex_match(const struct filter *f, const char *s);

#endif
