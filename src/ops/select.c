/* select.c - choosing GPUs for a CUDA job, as nvitop's nvisel does.
 *
 * Pure logic over one snapshot: which devices are candidates (NVIDIA GPUs,
 * or the MIG devices of a GPU in MIG mode, optionally only those named by
 * CUDA_VISIBLE_DEVICES), how each fares against the constraints with the
 * tolerance, the order of the survivors, the one-MIG-device rule and the
 * count limits, and the sentence that says why too few qualify.  The
 * choices are written down in docs/select.md.  Reading devices, printing
 * and running the job are left to the CLI (src/cli/select.c).
 */
#include "ops/select.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/filter.h"
#include "core/str.h"
#include "core/units.h"

enum constraint { C_MIN_FREE, C_MIN_TOTAL, C_MAX_GPU_UTIL, C_MAX_MEM_UTIL, C_COUNT };

enum verdict { V_PASS, V_RELAXED, V_FAIL, V_UNKNOWN };

struct candidate {
    struct select_device d;
    const struct device *gpu;
    const struct mig_instance *mig;   /* NULL: the whole GPU */
    bool named;                       /* by CUDA_VISIBLE_DEVICES under --inherit */
    enum verdict verdict[C_COUNT];
};

/* What the reason sentence needs to know about one run. */
struct tally {
    size_t candidates;                /* after --inherit */
    size_t unusable;
    const struct device *first_unusable;
    size_t excluded[C_COUNT];         /* failed, or unknown */
    size_t unknown[C_COUNT];
    size_t qualified;
    size_t usable_together;           /* after the MIG rule */
};

/* ---- candidates ------------------------------------------------------------- */

static void fill_whole_gpu(struct candidate *c, const struct device *d, int cuda_index)
{
    c->gpu = d;
    c->d.device_index = d->index;
    c->d.mig = -1;
    c->d.cuda_index = cuda_index;
    str_copy(c->d.uuid, sizeof c->d.uuid, d->uuid);
    c->d.mem_free_bytes = d->mem_free_bytes;
    c->d.mem_used_bytes = d->mem_used_bytes;
    c->d.mem_total_bytes = d->mem_total_bytes;
    c->d.util_gpu_pct = d->util_gpu_pct;
    c->d.util_mem_pct = d->util_mem_pct;
}

/* NVML reports no utilisation for a MIG device, so both stay unknown. */
static void fill_mig(struct candidate *c, const struct device *d, size_t slot, int cuda_index)
{
    const struct mig_instance *m = &d->migs[slot];
    c->gpu = d;
    c->mig = m;
    c->d.device_index = d->index;
    c->d.mig = (int)slot;
    c->d.cuda_index = cuda_index;
    str_copy(c->d.uuid, sizeof c->d.uuid, m->uuid);
    c->d.mem_free_bytes = m->mem_free_bytes;
    c->d.mem_used_bytes = m->mem_used_bytes;
    c->d.mem_total_bytes = m->mem_total_bytes;
}

static bool in_mig_mode(const struct device *d)
{
    return d->mig_mode.known && d->mig_mode.v == 1;
}

/* A GPU in MIG mode is used through its MIG devices only (CUDA cannot run
 * on the GPU itself then); one with none gives no candidate. */
static size_t leaves_of(const struct device *d)
{
    return in_mig_mode(d) ? d->mig_count : 1;
}

static size_t count_leaves(const struct snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->device_count; i++)
        if (s->devices[i].vendor == VENDOR_NVIDIA)
            n += leaves_of(&s->devices[i]);
    return n;
}

static size_t collect_leaves(const struct snapshot *s, struct candidate *out)
{
    size_t n = 0;
    int cuda_index = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (d->vendor != VENDOR_NVIDIA)
            continue;
        if (!in_mig_mode(d))
            fill_whole_gpu(&out[n++], d, cuda_index);
        for (size_t m = 0; in_mig_mode(d) && m < d->mig_count; m++)
            fill_mig(&out[n++], d, m, cuda_index);
        cuda_index++;
    }
    return n;
}

/* ---- --inherit: CUDA_VISIBLE_DEVICES at the level of MIG devices ------------- */

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* A GPU entry names the GPU, or all its MIG devices in MIG mode; a MIG
 * entry names the one MIG device whose UUID starts with it. */
static bool entry_names(const struct candidate *c, int gpu, bool mig, const char *tok,
                        size_t len)
{
    if (c->d.device_index != gpu)
        return false;
    return !mig || (c->mig && strncasecmp(c->mig->uuid, tok, len) == 0);
}

/* Marks the candidates one entry names; false when the entry ends the list
 * (CUDA stops at an invalid, out-of-range or ambiguous entry). *dup is set
 * when a candidate was already named. */
static bool name_entry(const struct snapshot *s, const char *tok, size_t len,
                       struct candidate *c, size_t n, bool *dup)
{
    int gpu;
    size_t found;
    /* The core parser decides, for this one entry, which GPU it means. */
    filter_cuda_visible(tok, len, s->devices, s->device_count, &gpu, 1, &found);
    if (found == 0)
        return false;
    trim(&tok, &len);
    bool mig = len >= 4 && strncasecmp(tok, "MIG-", 4) == 0;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += entry_names(&c[i], gpu, mig, tok, len);
    /* A MIG UUID prefix shared by two MIG devices of one GPU is ambiguous. */
    if (mig && hits != 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!entry_names(&c[i], gpu, mig, tok, len))
            continue;
        *dup = *dup || c[i].named;
        c[i].named = true;
    }
    return true;
}

/* As CUDA: entries up to the first bad one; naming a device twice (or a
 * GPU and one of its MIG devices) names none, as CUDA then fails. */
static void apply_inherit(const struct snapshot *s, const char *value, struct candidate *c,
                          size_t n)
{
    bool dup = false;
    size_t len = strlen(value), pos = 0;
    while (pos < len) {
        const char *comma = memchr(value + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - value) : len;
        if (!name_entry(s, value + pos, end - pos, c, n, &dup))
            break;
        pos = end + 1;
    }
    for (size_t i = 0; i < n; i++)
        c[i].named = c[i].named && !dup;
}

/* ---- --account-as-free --------------------------------------------------------- */

static bool process_on(const struct gpu_process *gp, const struct candidate *c)
{
    if (gp->device_index != c->d.device_index)
        return false;
    if (!c->mig)
        return true;
    return gp->gpu_instance_id.known && gp->gpu_instance_id.v == c->mig->gpu_instance_id &&
           (!gp->compute_instance_id.known ||
            gp->compute_instance_id.v == c->mig->compute_instance_id);
}

static bool user_listed(const struct select_constraints *k, const char *user)
{
    for (size_t i = 0; i < k->free_user_count; i++)
        if (strcmp(k->free_users[i], user) == 0)
            return true;
    return false;
}

/* Memory of the listed users' processes moves from used to free; a process
 * whose owner or memory is unknown moves nothing. */
static void account_as_free(const struct snapshot *s, const struct select_constraints *k,
                            struct candidate *c)
{
    uint64_t mine = 0;
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        const struct host_process *hp = snapshot_host_process(s, gp->pid);
        if (process_on(gp, c) && gp->gpu_mem_bytes.known && hp && hp->user[0] &&
            user_listed(k, hp->user))
            mine += gp->gpu_mem_bytes.v;
    }
    struct select_device *d = &c->d;
    if (d->mem_free_bytes.known) {
        uint64_t room = UINT64_MAX - d->mem_free_bytes.v;
        d->mem_free_bytes.v += mine < room ? mine : room;
        if (d->mem_total_bytes.known && d->mem_free_bytes.v > d->mem_total_bytes.v)
            d->mem_free_bytes.v = d->mem_total_bytes.v;
    }
    if (d->mem_used_bytes.known)
        d->mem_used_bytes.v -= mine < d->mem_used_bytes.v ? mine : d->mem_used_bytes.v;
}

/* ---- constraints ----------------------------------------------------------------- */

/* min lowered by tol percent, the reduction rounded down; tol is capped
 * at 100, which also keeps the arithmetic from overflowing. */
static uint64_t loosen_min(uint64_t min, unsigned tol)
{
    if (tol > 100)
        tol = 100;
    return min - (min / 100 * tol + min % 100 * tol / 100);
}

static enum verdict check_min(struct opt_u64 v, uint64_t min, unsigned tol)
{
    if (!v.known)
        return V_UNKNOWN;
    return v.v >= min ? V_PASS : v.v >= loosen_min(min, tol) ? V_RELAXED : V_FAIL;
}

static enum verdict check_max(struct opt_f64 v, unsigned max, unsigned tol)
{
    if (!v.known)
        return V_UNKNOWN;
    return v.v <= max ? V_PASS : v.v <= (double)max + tol ? V_RELAXED : V_FAIL;
}

static void judge(const struct select_constraints *k, struct candidate *c)
{
    const struct select_device *d = &c->d;
    unsigned tol = k->tolerance_pct;
    c->verdict[C_MIN_FREE] = k->min_free_set ? check_min(d->mem_free_bytes, k->min_free_bytes, tol)
                                             : V_PASS;
    c->verdict[C_MIN_TOTAL] = k->min_total_set
                                  ? check_min(d->mem_total_bytes, k->min_total_bytes, tol)
                                  : V_PASS;
    c->verdict[C_MAX_GPU_UTIL] = k->max_gpu_util_set
                                     ? check_max(d->util_gpu_pct, k->max_gpu_util_pct, tol)
                                     : V_PASS;
    c->verdict[C_MAX_MEM_UTIL] = k->max_mem_util_set
                                     ? check_max(d->util_mem_pct, k->max_mem_util_pct, tol)
                                     : V_PASS;
    c->d.relaxed = 0;
    for (int i = 0; i < C_COUNT; i++)
        c->d.relaxed += c->verdict[i] == V_RELAXED;
}

static bool qualifies(const struct candidate *c)
{
    for (int i = 0; i < C_COUNT; i++)
        if (c->verdict[i] == V_FAIL || c->verdict[i] == V_UNKNOWN)
            return false;
    return true;
}

/* ---- order --------------------------------------------------------------------- */

/* Known before unknown, then by value: larger first when desc. */
static int cmp_u64(struct opt_u64 a, struct opt_u64 b, bool desc)
{
    if (a.known != b.known)
        return a.known ? -1 : 1;
    if (!a.known || a.v == b.v)
        return 0;
    return (a.v < b.v) == desc ? 1 : -1;
}

static int cmp_f64_asc(struct opt_f64 a, struct opt_f64 b)
{
    if (a.known != b.known)
        return a.known ? -1 : 1;
    if (!a.known || a.v == b.v)
        return 0;
    return a.v < b.v ? -1 : 1;
}

/* Fewer loosened constraints, more free memory, less used memory, lower
 * GPU then memory utilisation; last the higher index, keeping GPU 0 (the
 * one everybody's defaults land on) for last. */
static int compare(const void *pa, const void *pb)
{
    const struct select_device *a = &((const struct candidate *)pa)->d;
    const struct select_device *b = &((const struct candidate *)pb)->d;
    int r;
    if (a->relaxed != b->relaxed)
        return a->relaxed < b->relaxed ? -1 : 1;
    if ((r = cmp_u64(a->mem_free_bytes, b->mem_free_bytes, true)) ||
        (r = cmp_u64(a->mem_used_bytes, b->mem_used_bytes, false)) ||
        (r = cmp_f64_asc(a->util_gpu_pct, b->util_gpu_pct)) ||
        (r = cmp_f64_asc(a->util_mem_pct, b->util_mem_pct)))
        return r;
    if (a->cuda_index != b->cuda_index)
        return a->cuda_index > b->cuda_index ? -1 : 1;
    if (a->mig != b->mig)
        return a->mig > b->mig ? -1 : 1;
    return 0;
}

/* A CUDA process can use one MIG device, and not together with whole
 * GPUs: keep the whole GPUs when they meet a non-zero min_count or the
 * best device is one; otherwise only the best MIG device.  Returns the
 * number kept at the front of q. */
static size_t apply_mig_rule(struct candidate *q, size_t n, size_t min_count, bool *uuid)
{
    size_t whole = 0;
    for (size_t i = 0; i < n; i++)
        whole += !q[i].mig;
    if (whole == n)
        return n;
    if ((whole >= min_count && min_count > 0) || !q[0].mig) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (!q[i].mig)
                q[kept++] = q[i];
        return kept;
    }
    *uuid = true;
    return 1;
}

/* ---- the reason ---------------------------------------------------------------- */

static const char *const flag_names[C_COUNT] = {
    "--min-free-memory", "--min-total-memory", "--max-gpu-utilization",
    "--max-memory-utilization",
};
static const char *const value_names[C_COUNT] = {
    "free memory", "total memory", "GPU utilization", "memory utilization",
};

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

struct text {
    char *buf;
    size_t size, len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    if (t->len >= t->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

static void describe_limit(struct text *t, const struct select_constraints *k, int which)
{
    char a[UNITS_BYTES_BUFSZ], b[UNITS_BYTES_BUFSZ];
    unsigned tol = k->tolerance_pct;
    if (which == C_MIN_FREE || which == C_MIN_TOTAL) {
        uint64_t min = which == C_MIN_FREE ? k->min_free_bytes : k->min_total_bytes;
        units_format_bytes(min, a, sizeof a);
        add(t, "%s %s", flag_names[which], a);
        if (tol) {
            units_format_bytes(loosen_min(min, tol), b, sizeof b);
            add(t, " (%s with --tolerance %u)", b, tol);
        }
    } else {
        unsigned max = which == C_MAX_GPU_UTIL ? k->max_gpu_util_pct : k->max_mem_util_pct;
        add(t, "%s %u", flag_names[which], max);
        if (tol)
            add(t, " (%u with --tolerance %u)", max + tol, tol);
    }
}

static void reason_no_candidates(struct text *t, const struct snapshot *s,
                                 const struct select_constraints *k)
{
    if (count_leaves(s) == 0)
        add(t, "there is no NVIDIA GPU or MIG device to choose from");
    else
        add(t, "CUDA_VISIBLE_DEVICES='%.100s' names no device (--inherit)",
            k->cuda_visible_devices ? k->cuda_visible_devices : "");
}

/* The exclusion with the most victims: -1 for "unusable", else a
 * constraint; ties go to the earlier one.  *most = 0 when none excluded. */
static int top_exclusion(const struct tally *ty, size_t *most)
{
    int top = -1;
    *most = ty->unusable;
    for (int i = 0; i < C_COUNT; i++) {
        if (ty->excluded[i] > *most) {
            *most = ty->excluded[i];
            top = i;
        }
    }
    return top;
}

static void reason_exclusion(struct text *t, const struct tally *ty,
                             const struct select_constraints *k)
{
    size_t most;
    int top = top_exclusion(ty, &most);
    if (most == 0) {
        add(t, "there %s only %zu %s%s", plural(ty->candidates, "is", "are"), ty->candidates,
            plural(ty->candidates, "device", "devices"),
            k->inherit && k->cuda_visible_devices ? " under CUDA_VISIBLE_DEVICES" : "");
        return;
    }
    if (top < 0) {
        const struct device *u = ty->first_unusable;
        add(t, "%zu %s unusable (GPU %d: %s)", most, plural(most, "is", "are"), u->index,
            u->status);
        return;
    }
    describe_limit(t, k, top);
    add(t, " excludes %zu", most);
    size_t unknown = ty->unknown[top];
    if (unknown)
        add(t, " (%zu %s not report %s)", unknown, plural(unknown, "does", "do"),
            value_names[top]);
}

static void write_reason(char *buf, size_t size, const struct snapshot *s,
                         const struct select_constraints *k, const struct tally *ty)
{
    struct text t = {buf, size, 0};
    size_t need = k->min_count;
    if (ty->candidates == 0) {
        reason_no_candidates(&t, s, k);
        add(&t, "; %zu needed", need);
        return;
    }
    bool only = ty->qualified && ty->qualified < need;
    add(&t, "%s%zu of %zu %s %s, %zu needed: ", only ? "only " : "", ty->qualified,
        ty->candidates, plural(ty->candidates, "device", "devices"),
        plural(ty->qualified, "qualifies", "qualify"), need);
    if (ty->qualified >= need)
        add(&t, "a CUDA process can use only one MIG device and no whole GPU beside it, so "
                "at most %zu can be chosen together", ty->usable_together);
    else
        reason_exclusion(&t, ty, k);
}

/* ---- selection -------------------------------------------------------------------- */

static void count_verdicts(const struct candidate *c, struct tally *ty)
{
    for (int i = 0; i < C_COUNT; i++) {
        ty->excluded[i] += c->verdict[i] == V_FAIL || c->verdict[i] == V_UNKNOWN;
        ty->unknown[i] += c->verdict[i] == V_UNKNOWN;
    }
}

/* Judges the candidates in place; the qualifying ones move to the front.
 * A device whose status reports a failure (lost GPU, a process list that
 * could not be read whole) is unusable: its values cannot be trusted. */
static size_t judge_all(const struct snapshot *s, const struct select_constraints *k,
                        struct candidate *c, size_t n, struct tally *ty)
{
    size_t q = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].gpu->status[0]) {
            if (!ty->unusable++)
                ty->first_unusable = c[i].gpu;
            continue;
        }
        if (k->free_user_count)
            account_as_free(s, k, &c[i]);
        judge(k, &c[i]);
        count_verdicts(&c[i], ty);
        if (qualifies(&c[i])) {
            struct candidate keep = c[i];
            c[i] = c[q];
            c[q++] = keep;
        }
    }
    return q;
}

static size_t keep_named(struct candidate *c, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].named)
            c[kept++] = c[i];
    return kept;
}

static int finish(struct select_result *out, const struct candidate *q, size_t n,
                  const struct select_constraints *k, struct error *e)
{
    size_t take = n < k->max_count ? n : k->max_count;
    out->devices = calloc(take ? take : 1, sizeof *out->devices);
    if (!out->devices)
        return error_set(e, -ENOMEM, "out of memory choosing among %zu devices", n);
    for (size_t i = 0; i < take; i++)
        out->devices[i] = q[i].d;
    out->count = take;
    return 0;
}

int select_devices(const struct snapshot *s, const struct select_constraints *k,
                   struct select_result *out, struct error *e)
{
    memset(out, 0, sizeof *out);
    size_t n = count_leaves(s);
    struct candidate *c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        return error_set(e, -ENOMEM, "out of memory choosing among %zu devices", n);
    n = collect_leaves(s, c);
    if (k->inherit && k->cuda_visible_devices) {
        apply_inherit(s, k->cuda_visible_devices, c, n);
        n = keep_named(c, n);
    }
    struct tally ty = {.candidates = n};
    size_t q = judge_all(s, k, c, n, &ty);
    qsort(c, q, sizeof *c, compare);
    ty.qualified = q;
    ty.usable_together = apply_mig_rule(c, q, k->min_count, &out->uuid_required);
    out->qualified = q;
    out->enough = ty.usable_together >= k->min_count;
    if (!out->enough)
        write_reason(out->reason, sizeof out->reason, s, k, &ty);
    int rc = finish(out, c, ty.usable_together, k, e);
    free(c);
    return rc;
}

void select_result_clear(struct select_result *r)
{
    if (!r)
        return;
    free(r->devices);
    memset(r, 0, sizeof *r);
}
