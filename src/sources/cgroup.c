/* cgroup.c - container attribution from the text of /proc/PID/cgroup.
 *
 * Container runtimes name the cgroups they create after the container, so
 * the cgroup path is the one place the host can learn, without asking any
 * daemon, which container (Docker, containerd, Kubernetes pod, Podman, LXC)
 * or which systemd unit a process belongs to.  This file only reads the
 * path shapes those runtimes write; it never guesses from a command line,
 * never talks to a runtime, and never resolves a container id to a name
 * (that is a job for a front end that chooses to ask the runtime).
 *
 * Choices, documented once here:
 *  - Every line is looked at (cgroup v1 has one per hierarchy, v2 one "0::"
 *    line, hybrid both).  A Kubernetes pod beats any other container, any
 *    container beats a systemd unit; among equals the line of the systemd
 *    hierarchy ("name=systemd" or "0::") wins, then the first line.
 *  - Within one path the outermost container wins, since that is the one the
 *    host's runtime knows (Docker-in-Docker, Docker inside a Podman
 *    container), except that a Kubernetes pod is preferred to the container
 *    around it (a kind node is a Docker container holding pods).  For systemd
 *    the deepest .service or .scope is the unit (session-3.scope rather than
 *    user@1000.service).
 *  - Runtime monitors living in a cgroup named after their container
 *    (libpod-conmon-ID.scope, crio-conmon-ID.scope, lxc.monitor.NAME) are
 *    attributed to that container.
 *  - Container ids must be 12 to 64 hex digits, so "/docker/buildkit" or a
 *    path truncated in the middle of an id is not taken for a container.
 */
#include "sources/procfs.h"

#include <stdbool.h>
#include <string.h>

/* A piece of the caller's buffer; never NUL-terminated. */
struct span {
    const char *s;
    size_t n;
};

enum rank { RANK_NONE, RANK_SYSTEMD, RANK_CONTAINER, RANK_POD };

struct candidate {
    enum container_kind kind;
    struct span id;
    struct span pod;
};

static struct span span_make(const char *s, size_t n)
{
    return (struct span){ s, n };
}

static bool span_eq(struct span a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && memcmp(a.s, lit, n) == 0;
}

static bool span_starts(struct span a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n >= n && memcmp(a.s, lit, n) == 0;
}

static bool span_ends(struct span a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n >= n && memcmp(a.s + a.n - n, lit, n) == 0;
}

/* Drops lit from the front of *a when it is there. */
static bool span_eat_prefix(struct span *a, const char *lit)
{
    if (!span_starts(*a, lit))
        return false;
    size_t n = strlen(lit);
    a->s += n;
    a->n -= n;
    return true;
}

static bool span_eat_suffix(struct span *a, const char *lit)
{
    if (!span_ends(*a, lit))
        return false;
    a->n -= strlen(lit);
    return true;
}

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Docker, containerd, CRI-O and Podman ids are 64 hex digits; 12 is the
 * short form some tools write. */
static bool is_container_id(struct span a)
{
    if (a.n < 12 || a.n > 64)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (!is_hex_digit(a.s[i]))
            return false;
    return true;
}

/* A pod UID is a UUID (dashes, or underscores in systemd slice names) or,
 * for static pods, a 32-digit hash. */
static bool is_pod_uid(struct span a)
{
    if (a.n < 8 || a.n > 47)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (!is_hex_digit(a.s[i]) && a.s[i] != '-' && a.s[i] != '_')
            return false;
    return true;
}

static enum rank kind_rank(const struct candidate *c)
{
    switch (c->kind) {
    case CONTAINER_NONE:
        return RANK_NONE;
    case CONTAINER_SYSTEMD:
        return RANK_SYSTEMD;
    case CONTAINER_KUBERNETES:
        return c->pod.n ? RANK_POD : RANK_CONTAINER;
    default:
        return RANK_CONTAINER;
    }
}

/* Path components, skipping empty ones and "." ("//", trailing "/"). */
struct walker {
    const char *cur, *end;
};

static bool walker_next(struct walker *w, struct span *out)
{
    while (w->cur < w->end) {
        const char *slash = memchr(w->cur, '/', (size_t)(w->end - w->cur));
        const char *stop = slash ? slash : w->end;
        struct span c = span_make(w->cur, (size_t)(stop - w->cur));
        w->cur = slash ? slash + 1 : w->end;
        if (c.n > 0 && !span_eq(c, "."))
            return (*out = c), true;
    }
    return false;
}

static bool mentions_kubepods(struct span c)
{
    return memmem(c.s, c.n, "kubepods", 8) != NULL;
}

/* "kubepods-burstable-pod<uid>.slice" (systemd driver; kind's kubelet puts
 * "kubelet-" in front) or "pod<uid>" below a kubepods cgroup (cgroupfs). */
static bool pod_component(struct span c, bool under_kubepods, struct span *pod)
{
    struct span rest = c;
    const char *kp = memmem(c.s, c.n, "kubepods", 8);
    if (kp && span_eat_suffix(&rest, ".slice")) {
        const char *end = rest.s + rest.n;
        const char *at = memmem(kp, (size_t)(end - kp), "-pod", 4);
        if (!at)
            return false;
        rest = span_make(at + 4, (size_t)(end - (at + 4)));
    } else if (!under_kubepods || !span_eat_prefix(&rest, "pod")) {
        return false;
    }
    if (!is_pod_uid(rest))
        return false;
    *pod = rest;
    return true;
}

/* Scope prefixes runtimes use under the systemd cgroup driver; the longer
 * "conmon" forms come before the prefixes they extend. */
static const struct {
    const char *prefix;
    enum container_kind kind;
} scope_prefixes[] = {
    { "docker-", CONTAINER_DOCKER },
    { "cri-containerd-", CONTAINER_CONTAINERD },
    { "nerdctl-", CONTAINER_CONTAINERD },
    { "crio-conmon-", CONTAINER_KUBERNETES },
    { "crio-", CONTAINER_KUBERNETES },
    { "libpod-conmon-", CONTAINER_PODMAN },
    { "libpod-", CONTAINER_PODMAN },
};

/* "<prefix><id>.scope", or "<prefix><id>" (Podman's cgroupfs driver). */
static bool scope_component(struct span c, struct candidate *out)
{
    struct span rest = c;
    span_eat_suffix(&rest, ".scope");
    for (size_t i = 0; i < sizeof scope_prefixes / sizeof scope_prefixes[0]; i++) {
        struct span id = rest;
        if (span_eat_prefix(&id, scope_prefixes[i].prefix) && is_container_id(id)) {
            out->kind = scope_prefixes[i].kind;
            out->id = id;
            return true;
        }
    }
    return false;
}

/* The container below a pod: a bare id (cgroupfs) or a runtime scope. */
static bool pod_container_id(struct span c, struct span *id)
{
    struct candidate scoped = { 0 };
    if (scope_component(c, &scoped)) {
        *id = scoped.id;
        return true;
    }
    struct span rest = c;
    span_eat_prefix(&rest, "crio-");
    if (!is_container_id(rest))
        return false;
    *id = rest;
    return true;
}

/* runc writes v1 paths of the systemd driver raw as "<slice>:<prefix>:<id>",
 * e.g. "kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>". */
static bool colon_component(struct span c, struct candidate *out)
{
    const char *c1 = memchr(c.s, ':', c.n);
    if (!c1)
        return false;
    const char *after1 = c1 + 1, *end = c.s + c.n;
    const char *c2 = memchr(after1, ':', (size_t)(end - after1));
    if (!c2)
        return false;
    struct span slice = span_make(c.s, (size_t)(c1 - c.s));
    struct span prefix = span_make(after1, (size_t)(c2 - after1));
    struct span id = span_make(c2 + 1, (size_t)(end - (c2 + 1)));
    if (!is_container_id(id))
        return false;
    if (span_eq(prefix, "docker"))
        out->kind = CONTAINER_DOCKER;
    else if (span_eq(prefix, "cri-containerd") || span_eq(prefix, "nerdctl"))
        out->kind = CONTAINER_CONTAINERD;
    else if (span_eq(prefix, "crio"))
        out->kind = CONTAINER_KUBERNETES;
    else if (span_eq(prefix, "libpod"))
        out->kind = CONTAINER_PODMAN;
    else
        return false;
    out->id = id;
    if (pod_component(slice, false, &out->pod))
        out->kind = CONTAINER_KUBERNETES;
    return true;
}

/* containerd's own default is "/<namespace>/<id>": "default" for ctr and
 * nerdctl, "k8s.io" for CRI, "/containerd/<id>" in some set-ups.  Free-form
 * ids (ctr run IMAGE redis) only in the "default" namespace. */
static bool containerd_namespace(struct span ns, struct span id)
{
    if (span_eq(ns, "default"))
        return id.n > 0;
    return (span_eq(ns, "k8s.io") || span_eq(ns, "containerd")) && is_container_id(id);
}

static bool lxc_named(struct span c, struct span *name)
{
    struct span rest = c;
    if ((span_eat_prefix(&rest, "lxc.payload.") || span_eat_prefix(&rest, "lxc.monitor.")) &&
        rest.n > 0) {
        *name = rest;
        return true;
    }
    return false;
}

static bool lxc_parent(struct span c)
{
    return span_eq(c, "lxc") || span_eq(c, "lxc.payload") || span_eq(c, "lxc.monitor");
}

/* Components that name a container together with the component after
 * them; *used_next tells the walker to skip that one. */
static bool pair_component(struct span c, const struct span *next, bool at_root,
                           struct candidate *out, bool *used_next)
{
    if (!next)
        return false;
    enum container_kind kind = CONTAINER_NONE;
    if (span_eq(c, "docker") && is_container_id(*next))
        kind = CONTAINER_DOCKER;
    else if (lxc_parent(c))
        kind = CONTAINER_LXC;
    else if (at_root && containerd_namespace(c, *next))
        kind = CONTAINER_CONTAINERD;
    if (kind == CONTAINER_NONE)
        return false;
    out->kind = kind;
    out->id = *next;
    *used_next = true;
    return true;
}

static bool systemd_unit(struct span c)
{
    return (span_ends(c, ".service") && c.n > strlen(".service")) ||
           (span_ends(c, ".scope") && c.n > strlen(".scope"));
}

/* Classifies one component (and maybe the next) into *out. */
static void classify_component(struct span c, const struct span *next, bool at_root,
                               bool under_kubepods, struct candidate *out, bool *used_next)
{
    if (colon_component(c, out))
        return;
    if (pod_component(c, under_kubepods, &out->pod)) {
        out->kind = CONTAINER_KUBERNETES;
        if (next && pod_container_id(*next, &out->id))
            *used_next = true;
        return;
    }
    if (pair_component(c, next, at_root, out, used_next))
        return;
    if (lxc_named(c, &out->id)) {
        out->kind = CONTAINER_LXC;
        return;
    }
    if (scope_component(c, out))
        return;
    if (systemd_unit(c)) {
        out->kind = CONTAINER_SYSTEMD;
        out->id = c;
    }
}

/* Outermost container wins within a path, deepest systemd unit wins. */
static void keep_better(struct candidate *best, const struct candidate *c)
{
    enum rank have = kind_rank(best), got = kind_rank(c);
    if (got > have || (got == RANK_SYSTEMD && have == RANK_SYSTEMD))
        *best = *c;
}

static struct candidate classify_path(struct span path)
{
    struct candidate best = { 0 };
    struct walker w = { path.s, path.s + path.n };
    struct span c;
    bool at_root = true, under_kubepods = false;
    while (walker_next(&w, &c)) {
        struct walker peek = w;
        struct span next;
        bool has_next = walker_next(&peek, &next), used_next = false;
        if (mentions_kubepods(c))
            under_kubepods = true;
        struct candidate cand = { 0 };
        classify_component(c, has_next ? &next : NULL, at_root, under_kubepods, &cand,
                           &used_next);
        keep_better(&best, &cand);
        if (used_next)
            w = peek;
        at_root = false;
    }
    return best;
}

/* "<hierarchy-id>:<controllers>:<path>"; the path may itself hold ':'. */
static bool split_line(struct span line, struct span *hier, struct span *ctrl,
                       struct span *path)
{
    const char *end = line.s + line.n;
    const char *c1 = memchr(line.s, ':', line.n);
    if (!c1)
        return false;
    const char *c2 = memchr(c1 + 1, ':', (size_t)(end - (c1 + 1)));
    if (!c2)
        return false;
    *hier = span_make(line.s, (size_t)(c1 - line.s));
    *ctrl = span_make(c1 + 1, (size_t)(c2 - (c1 + 1)));
    *path = span_make(c2 + 1, (size_t)(end - (c2 + 1)));
    /* v2 marks a removed cgroup (a zombie's) this way. */
    span_eat_suffix(path, " (deleted)");
    return true;
}

static void copy_span(char *dst, size_t size, struct span s, bool dashes)
{
    size_t n = s.n < size - 1 ? s.n : size - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (dashes && s.s[i] == '_') ? '-' : s.s[i];
    dst[n] = '\0';
}

void procfs_parse_cgroup(const char *buf, size_t len, struct container_info *out)
{
    memset(out, 0, sizeof *out);
    out->kind = CONTAINER_NONE;
    struct candidate best = { 0 };
    unsigned best_score = 0;
    const char *cur = buf, *end = buf + len;
    while (cur < end) {
        const char *nl = memchr(cur, '\n', (size_t)(end - cur));
        struct span line = span_make(cur, (size_t)((nl ? nl : end) - cur));
        cur = nl ? nl + 1 : end;
        struct span hier, ctrl, path;
        if (!split_line(line, &hier, &ctrl, &path))
            continue;
        struct candidate c = classify_path(path);
        bool systemd_hierarchy =
            span_eq(ctrl, "name=systemd") || (span_eq(hier, "0") && ctrl.n == 0);
        unsigned score = 2u * kind_rank(&c) + (systemd_hierarchy ? 1u : 0u);
        if (kind_rank(&c) != RANK_NONE && score > best_score) {
            best = c;
            best_score = score;
        }
    }
    if (best.kind == CONTAINER_NONE)
        return;
    out->kind = best.kind;
    copy_span(out->id, sizeof out->id, best.id, false);
    copy_span(out->pod_uid, sizeof out->pod_uid, best.pod, true);
}
