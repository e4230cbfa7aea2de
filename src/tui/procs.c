/* procs.c - rows of the process table (see procs.h): which GPU processes
 * are shown, in which order, and in the tree view under which ancestors.
 * Drawing them is table.c's; reading the ancestors from /proc is feed/feed.c's.
 */
#include "tui/procs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui.h"

static const char *const sort_names[SORT_COUNT] = {
    "GPU", "PID", "USER", "GPU-MEM", "%SM", "%GMBW", "%CPU", "%MEM", "TIME"};

const char *procs_sort_name(enum procs_sort s)
{
    return s < SORT_COUNT ? sort_names[s] : "?";
}

int procs_sort_by_letter(int letter)
{
    static const char letters[] = "nupgsbcmt";
    static const enum procs_sort keys[] = {SORT_GPU, SORT_USER, SORT_PID, SORT_GPU_MEM, SORT_SM,
                                           SORT_GMBW, SORT_CPU, SORT_MEM, SORT_TIME};
    int l = letter >= 'A' && letter <= 'Z' ? letter - 'A' + 'a' : letter;
    const char *p = l ? strchr(letters, l) : NULL;
    return p ? (int)keys[p - letters] : -1;
}

bool procs_sort_descends_first(enum procs_sort s)
{
    return s != SORT_GPU && s != SORT_USER;
}

void procs_free(struct proc_table *t)
{
    if (!t)
        return;
    free(t->rows);
    t->rows = NULL;
    t->count = t->cap = 0;
}

static struct proc_row *append(struct proc_table *t)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct proc_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    struct proc_row *r = &t->rows[t->count++];
    memset(r, 0, sizeof *r);
    return r;
}

struct opt_f64 procs_cpu_pct(const struct proc_row *r, bool once)
{
    struct opt_f64 none = {0};
    if (!r->hp)
        return none;
    return once ? r->hp->cpu_pct : r->hp->cpu_pct_interval;
}

/* ---- choosing ------------------------------------------------------------------------ */

static bool device_shown(const struct procs_input *in, int device_index)
{
    if (!in->device_visible)
        return true;
    for (size_t i = 0; i < in->snap->device_count; i++)
        if (in->snap->devices[i].index == device_index)
            return in->device_visible[i];
    return false;
}

int procs_mig_index(const struct snapshot *s, const struct gpu_process *gp)
{
    if (!gp->gpu_instance_id.known)
        return -1;
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (d->index != gp->device_index)
            continue;
        for (size_t m = 0; m < d->mig_count; m++)
            if (d->migs[m].gpu_instance_id == gp->gpu_instance_id.v &&
                (!gp->compute_instance_id.known ||
                 d->migs[m].compute_instance_id == gp->compute_instance_id.v))
                return (int)m;
    }
    return -1;
}

/* With MIG instances named in CUDA_VISIBLE_DEVICES (-ov), a process on
 * another instance of the same GPU is hidden. */
static bool mig_shown(const struct procs_input *in, const struct gpu_process *gp)
{
    if (!in->mig_visible)
        return true;
    for (size_t i = 0; i < in->snap->device_count; i++) {
        if (in->snap->devices[i].index != gp->device_index)
            continue;
        if (!in->mig_visible[i])
            return true;
        int m = procs_mig_index(in->snap, gp);
        return m >= 0 && m < 64 && (in->mig_visible[i] >> m & 1);
    }
    return true;
}

static bool pattern_matches(const struct filter *f, const struct host_process *hp)
{
    if (!f || !f->regex)
        return true;
    return hp && (filter_regex_match(f, hp->user) || filter_regex_match(f, hp->name) ||
                  filter_regex_match(f, hp->cmdline));
}

static int hproc_by_pid(const void *key, const void *elem)
{
    pid_t k = *(const pid_t *)key, p = ((const struct host_process *)elem)->pid;
    return (k > p) - (k < p);
}

const struct host_process *procs_host_process(const struct snapshot *s,
                                              const struct tui_nodes *nodes, int device,
                                              pid_t pid)
{
    if (!nodes)
        return snapshot_host_process(s, pid);
    if (device < 0 || (size_t)device >= s->device_count)
        return NULL;
    const struct tui_node *n = &nodes->nodes[nodes->device_node[device]];
    if (!n->hproc_count)
        return NULL;
    return bsearch(&pid, s->hprocs + n->hproc_first, n->hproc_count, sizeof *s->hprocs,
                   hproc_by_pid);
}

static int add_gpu_rows(struct proc_table *t, const struct procs_input *in)
{
    const struct snapshot *s = in->snap;
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        const struct host_process *hp = procs_host_process(s, in->nodes, gp->device_index,
                                                           gp->pid);
        if (hp && !hp->exists)
            hp = NULL;
        if (!device_shown(in, gp->device_index) || !mig_shown(in, gp) ||
            (in->criteria && !filter_process(in->criteria, gp, hp, in->self_user)) ||
            !pattern_matches(in->pattern, hp))
            continue;
        struct proc_row *r = append(t);
        if (!r)
            return -ENOMEM;
        r->pid = gp->pid;
        r->gp = gp;
        r->hp = hp;
        r->start_ticks = hp ? hp->start_ticks : 0;
        r->own = hp && in->self_user && strcmp(hp->user, in->self_user) == 0;
    }
    return 0;
}

/* ---- sorting ------------------------------------------------------------------------- */

/* Unknown values sort after every known one, whichever the direction. */
static int cmp_known(bool ka, double a, bool kb, double b, bool reverse)
{
    if (ka != kb)
        return ka ? -1 : 1;
    if (!ka || a == b)
        return 0;
    int c = a < b ? -1 : 1;
    return reverse ? -c : c;
}

struct sort_ctx {
    enum procs_sort key;
    bool reverse, once;
};

static int cmp_key(const struct proc_row *x, const struct proc_row *y, const struct sort_ctx *k)
{
    const struct host_process *a = x->hp, *b = y->hp;
    struct opt_f64 ca, cb;
    switch (k->key) {
    case SORT_GPU: return cmp_known(true, x->gp->device_index, true, y->gp->device_index,
                                    k->reverse);
    case SORT_PID: return cmp_known(true, x->pid, true, y->pid, k->reverse);
    case SORT_USER: {
        if (!a || !b)
            return cmp_known(a, 0, b, 0, false);
        int c = strcmp(a->user, b->user);
        return k->reverse ? -c : c;
    }
    case SORT_GPU_MEM: return cmp_known(x->gp->gpu_mem_bytes.known, (double)x->gp->gpu_mem_bytes.v,
                                        y->gp->gpu_mem_bytes.known,
                                        (double)y->gp->gpu_mem_bytes.v, k->reverse);
    case SORT_SM: return cmp_known(x->gp->sm_pct.known, x->gp->sm_pct.v, y->gp->sm_pct.known,
                                   y->gp->sm_pct.v, k->reverse);
    case SORT_GMBW: return cmp_known(x->gp->mem_bw_pct.known, x->gp->mem_bw_pct.v,
                                     y->gp->mem_bw_pct.known, y->gp->mem_bw_pct.v, k->reverse);
    case SORT_CPU:
        ca = procs_cpu_pct(x, k->once);
        cb = procs_cpu_pct(y, k->once);
        return cmp_known(ca.known, ca.v, cb.known, cb.v, k->reverse);
    case SORT_MEM: return cmp_known(a && a->mem_pct.known, a ? a->mem_pct.v : 0,
                                    b && b->mem_pct.known, b ? b->mem_pct.v : 0, k->reverse);
    case SORT_TIME: return cmp_known(a && a->elapsed_s.known, a ? a->elapsed_s.v : 0,
                                     b && b->elapsed_s.known, b ? b->elapsed_s.v : 0, k->reverse);
    default: return 0;
    }
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
    const struct proc_row *x = pa, *y = pb;
    int c = cmp_key(x, y, arg);
    if (c)
        return c;
    if (x->gp->device_index != y->gp->device_index)
        return x->gp->device_index < y->gp->device_index ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* ---- the tree view ------------------------------------------------------------------- */

struct node {
    pid_t pid, ppid;
    const struct host_process *hp;
    size_t first_row, row_count;      /* its GPU rows in the flat table */
    long parent;                      /* node index, -1 for a root */
};

struct forest {
    struct node *nodes;
    size_t count;
};

static long node_find(const struct forest *f, pid_t pid)
{
    for (size_t i = 0; i < f->count; i++)
        if (f->nodes[i].pid == pid)
            return (long)i;
    return -1;
}

static const struct host_process *ancestor_record(const struct procs_input *in, pid_t pid)
{
    size_t lo = 0, hi = in->ancestor_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (in->ancestors[mid].pid == pid)
            return &in->ancestors[mid];
        if (in->ancestors[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct host_process *hp = snapshot_host_process(in->snap, pid);
    return hp && hp->exists ? hp : NULL;
}

static pid_t parent_of(const struct host_process *hp)
{
    return hp && hp->ppid.known ? (pid_t)hp->ppid.v : 0;
}

/* Nodes for every pid of the flat rows (sorted by pid) and their ancestors. */
static int build_forest(struct forest *f, const struct proc_table *flat,
                        const struct procs_input *in)
{
    f->nodes = calloc(flat->count + in->ancestor_count + 1, sizeof *f->nodes);
    if (!f->nodes)
        return -ENOMEM;
    for (size_t i = 0; i < flat->count; i++) {
        const struct proc_row *r = &flat->rows[i];
        if (f->count && f->nodes[f->count - 1].pid == r->pid) {
            f->nodes[f->count - 1].row_count++;
            continue;
        }
        f->nodes[f->count++] = (struct node){r->pid, parent_of(r->hp), r->hp, i, 1, -1};
    }
    size_t gpu_nodes = f->count;
    for (size_t i = 0; i < gpu_nodes; i++) {
        pid_t pid = f->nodes[i].ppid;
        for (int guard = 0; pid > 0 && guard < 64 && node_find(f, pid) < 0; guard++) {
            const struct host_process *hp = ancestor_record(in, pid);
            if (!hp || f->count == flat->count + in->ancestor_count + 1)
                break;
            f->nodes[f->count++] = (struct node){pid, parent_of(hp), hp, 0, 0, -1};
            pid = parent_of(hp);
        }
    }
    for (size_t i = 0; i < f->count; i++)
        f->nodes[i].parent = f->nodes[i].ppid > 0 ? node_find(f, f->nodes[i].ppid) : -1;
    return 0;
}

static int emit_node(struct proc_table *out, const struct forest *f, const struct proc_table *flat,
                     size_t n, int depth, const char *indent, bool last, const struct procs_input *in);

static int emit_children(struct proc_table *out, const struct forest *f,
                         const struct proc_table *flat, long parent, int depth, const char *indent,
                         const struct procs_input *in)
{
    /* children in pid order: repeatedly take the smallest pid above the last */
    pid_t after = 0;
    for (;;) {
        long best = -1, next = -1;
        for (size_t i = 0; i < f->count; i++)
            if (f->nodes[i].parent == parent && f->nodes[i].pid > after &&
                (best < 0 || f->nodes[i].pid < f->nodes[best].pid))
                best = (long)i;
        if (best < 0)
            return 0;
        for (size_t i = 0; i < f->count; i++)
            if (f->nodes[i].parent == parent && f->nodes[i].pid > f->nodes[best].pid)
                next = (long)i;
        int rc = emit_node(out, f, flat, (size_t)best, depth, indent, next < 0, in);
        if (rc < 0)
            return rc;
        after = f->nodes[best].pid;
    }
}

static void set_tree(struct proc_row *r, int depth, const char *indent, bool last, bool ascii)
{
    r->depth = depth;
    if (depth == 0)
        r->tree[0] = '\0';
    else
        snprintf(r->tree, sizeof r->tree, "%s%s", indent,
                 ascii ? (last ? "`- " : "|- ") : (last ? "└─ " : "├─ "));
}

static int emit_node(struct proc_table *out, const struct forest *f, const struct proc_table *flat,
                     size_t n, int depth, const char *indent, bool last, const struct procs_input *in)
{
    const struct node *node = &f->nodes[n];
    size_t rows = node->row_count ? node->row_count : 1;
    for (size_t k = 0; k < rows; k++) {
        struct proc_row *r = append(out);
        if (!r)
            return -ENOMEM;
        if (node->row_count)
            *r = flat->rows[node->first_row + k];
        else
            *r = (struct proc_row){.pid = node->pid, .hp = node->hp,
                                   .start_ticks = node->hp->start_ticks,
                                   .own = in->self_user &&
                                          strcmp(node->hp->user, in->self_user) == 0};
        set_tree(r, depth, indent, last, in->ascii);
    }
    char child_indent[96];
    if (depth == 0)
        child_indent[0] = '\0';
    else
        snprintf(child_indent, sizeof child_indent, "%s%s", indent,
                 last ? "   " : in->ascii ? "|  " : "│  ");
    if (depth >= 30)
        return 0;          /* deeper than any screen: stop drawing branches */
    return emit_children(out, f, flat, (long)n, depth + 1, child_indent, in);
}

static int build_tree(struct proc_table *t, struct proc_table *flat, const struct procs_input *in)
{
    struct sort_ctx by_pid = {SORT_PID, false, in->once};
    if (flat->count > 1)
        qsort_r(flat->rows, flat->count, sizeof *flat->rows, cmp_rows, &by_pid);
    struct forest f = {0};
    int rc = build_forest(&f, flat, in);
    if (rc == 0)
        rc = emit_children(t, &f, flat, -1, 0, "", in);
    free(f.nodes);
    return rc;
}

/* ---- building ------------------------------------------------------------------------ */

int procs_build(struct proc_table *t, const struct procs_input *in)
{
    t->count = 0;
    struct proc_table flat = {0};
    int rc = add_gpu_rows(in->tree ? &flat : t, in);
    if (rc == 0 && in->tree)
        rc = build_tree(t, &flat, in);
    else if (rc == 0) {
        struct sort_ctx k = {in->sort, in->reverse, in->once};
        if (t->count > 1)
            qsort_r(t->rows, t->count, sizeof *t->rows, cmp_rows, &k);
    }
    procs_free(&flat);
    if (rc < 0)
        t->count = 0;
    return rc;
}

long procs_find(const struct proc_table *t, pid_t pid, uint64_t start, int device)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct proc_row *r = &t->rows[i];
        int dev = r->gp ? r->gp->device_index : -1;
        if (r->pid == pid && r->start_ticks == start && dev == device)
            return (long)i;
    }
    return -1;
}
