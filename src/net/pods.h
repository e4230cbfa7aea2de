/* pods.h - Kubernetes pod names and namespaces for the /metrics labels.
 *
 * A process's cgroup names its pod only by UID (sources/cgroup.c).  The
 * kubelet keeps one log directory per pod, /var/log/pods/NAMESPACE_NAME_UID,
 * so listing that directory maps UIDs to names without asking the API
 * server.  Kubernetes names are DNS labels and subdomains (no '_'), which
 * makes the split unambiguous.  Read once per rendered frame.
 */
#ifndef GPUCTL_NET_PODS_H
#define GPUCTL_NET_PODS_H

#include <stddef.h>

#include "core/error.h"

struct pod_name {
    char uid[48];
    char ns[64];
    char name[254];
};

struct pod_names {
    struct pod_name *items;       /* owned; sorted by uid */
    size_t count;
};

/* Parses one directory entry name, s[0..len): "NAMESPACE_NAME_UID".
 * Returns 0, or -EINVAL when it is not of that form or a part is too long. */
int pods_parse_entry(const char *s, size_t len, struct pod_name *out);

/* Lists dir (NULL or missing: no pods, not an error).  Entries that are not
 * pod directories are skipped.  Returns 0 or -ENOMEM. */
int pods_read(const char *dir, struct pod_names *out, struct error *e);

/* The pod of uid (dashes or underscores, as cgroups spell it), or NULL. */
const struct pod_name *pods_find(const struct pod_names *p, const char *uid);

void pods_clear(struct pod_names *p);   /* accepts NULL */

#endif
