/* compare.c - reading two run reports and comparing them (compare.h).
 *
 * Only the fields compare needs are read, so a report from a newer gpuctl
 * with more fields still compares; a report without max_total_rss_kib is
 * not a run report and is refused.  Rendering is the CLI's.
 */
#include "jobs/compare.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/str.h"

#define MAX_REPORT_BYTES (256u << 20)

static bool number(json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static void opt_number(json_t *obj, const char *key, struct opt_f64 *out)
{
    double v;
    if (number(obj, key, &v))
        OPT_SET(*out, v);
}

static void string(json_t *obj, const char *key, char *buf, size_t size)
{
    const char *s = json_string_value(json_object_get(obj, key));
    str_copy(buf, size, s ? s : "");
}

static int cmp_group_index(const void *a, const void *b, void *arg)
{
    const struct compare_group *g = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(g[x].name, g[y].name);
    return c ? c : (x > y) - (x < y);
}

/* Sorts the groups' indices by name (then position), which finds a name
 * given twice in O(n log n) and lets find_group search. */
static int index_groups(struct compare_doc *d, const char *name, struct error *e)
{
    if (!d->group_count)
        return 0;
    d->by_name = malloc(d->group_count * sizeof *d->by_name);
    if (!d->by_name)
        return error_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < d->group_count; i++)
        d->by_name[i] = i;
    qsort_r(d->by_name, d->group_count, sizeof *d->by_name, cmp_group_index, d->groups);
    size_t dup = SIZE_MAX;    /* the first position that repeats an earlier name */
    for (size_t i = 1; i < d->group_count; i++)
        if (strcmp(d->groups[d->by_name[i]].name, d->groups[d->by_name[i - 1]].name) == 0 &&
            d->by_name[i] < dup)
            dup = d->by_name[i];
    if (dup != SIZE_MAX)
        return error_set(e, -ERROR_PARSE, "%s: groups[%zu]: the group \"%.100s\" appears twice",
                         name, dup, d->groups[dup].name);
    return 0;
}

static int read_groups(json_t *root, struct compare_doc *d, const char *name, struct error *e)
{
    json_t *groups = json_object_get(root, "groups");
    if (!groups)
        return 0;
    if (!json_is_array(groups))
        return error_set(e, -ERROR_PARSE, "%s: \"groups\" is not an array", name);
    size_t cap = 0, i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        const char *key = json_string_value(json_object_get(g, "name"));
        double total;
        if (!key || !number(g, "total_peak_kib", &total))
            return error_set(e, -ERROR_PARSE, "%s: groups[%zu] lacks a \"name\" string or a "
                             "numeric \"total_peak_kib\"", name, i);
        if (grow_for_one((void **)&d->groups, &cap, d->group_count, sizeof *d->groups, 8) < 0)
            return error_set(e, -ENOMEM, "out of memory");
        struct compare_group *cg = &d->groups[d->group_count++];
        str_copy(cg->name, sizeof cg->name, key);
        cg->total_peak_kib = total;
    }
    return index_groups(d, name, e);
}

static void read_processes(json_t *root, struct compare_doc *d)
{
    json_t *procs = json_object_get(root, "processes");
    if (!json_is_array(procs))
        return;
    OPT_SET(d->process_count, (double)json_array_size(procs));
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        double v;
        if (number(p, "max_rss_kib", &v) &&
            (!d->max_proc_rss_kib.known || v > d->max_proc_rss_kib.v))
            OPT_SET(d->max_proc_rss_kib, v);
    }
}

int compare_parse(const char *buf, size_t len, const char *name, struct compare_doc *out,
                  struct error *e)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return error_set(e, -ERROR_PARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    int rc = 0;
    if (!json_is_object(root) || !number(root, "max_total_rss_kib", &out->max_total_rss_kib))
        rc = error_set(e, -ERROR_PARSE, "%s: not a gpuctl run report (no numeric "
                       "\"max_total_rss_kib\")", name);
    if (rc == 0)
        rc = read_groups(root, out, name, e);
    if (rc == 0) {
        opt_number(root, "duration_seconds", &out->duration_s);
        opt_number(root, "gpu_total_peak_bytes", &out->gpu_total_peak_bytes);
        string(root, "method", out->method, sizeof out->method);
        string(root, "group_by", out->group_by, sizeof out->group_by);
        read_processes(root, out);
    }
    json_decref(root);
    if (rc < 0)
        compare_doc_clear(out);
    return rc;
}

void compare_doc_clear(struct compare_doc *d)
{
    free(d->groups);
    free(d->by_name);
    d->groups = NULL;
    d->by_name = NULL;
    d->group_count = 0;
}

int compare_load(const char *path, struct compare_doc *out, struct error *e)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(e, -errno, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = ncap <= MAX_REPORT_BYTES ? realloc(buf, ncap) : NULL;
            if (!nb) {
                rc = error_set(e, -EFBIG, "%s is larger than a run report can be", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = error_set(e, -EIO, "cannot read %s", path);
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = compare_parse(buf, len, path, out, e);
    free(buf);
    return rc;
}

/* ---- comparing ------------------------------------------------------------------------- */

static int push(struct compare_result *r, size_t *cap, enum compare_kind kind, const char *name,
                struct opt_f64 base, struct opt_f64 cand, bool gated)
{
    if (grow_for_one((void **)&r->rows, cap, r->count, sizeof *r->rows, 16) < 0)
        return -ENOMEM;
    struct compare_row *row = &r->rows[r->count++];
    *row = (struct compare_row){.kind = kind, .base = base, .candidate = cand, .gated = gated};
    str_copy(row->name, sizeof row->name, name);
    if (base.known && cand.known && base.v > 0)
        OPT_SET(row->delta_pct, (cand.v - base.v) / base.v * 100.0);
    row->regression = gated && base.known && cand.known &&
                      (base.v > 0 ? row->delta_pct.v > r->threshold_pct : cand.v > 0);
    r->regression |= row->regression;
    return 0;
}

static struct opt_f64 known(double v)
{
    return (struct opt_f64){v, true};
}

static const struct compare_group *find_group(const struct compare_doc *d, const char *name)
{
    size_t lo = 0, hi = d->by_name ? d->group_count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct compare_group *g = &d->groups[d->by_name[mid]];
        int c = strcmp(g->name, name);
        if (c == 0)
            return g;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int compare_groups(const struct compare_doc *b, const struct compare_doc *c,
                          struct compare_result *r, size_t *cap)
{
    struct opt_f64 none = {0};
    for (size_t i = 0; i < b->group_count; i++) {
        const struct compare_group *o = find_group(c, b->groups[i].name);
        if (push(r, cap, COMPARE_GROUP, b->groups[i].name, known(b->groups[i].total_peak_kib),
                 o ? known(o->total_peak_kib) : none, o != NULL) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < c->group_count; i++)
        if (!find_group(b, c->groups[i].name) &&
            push(r, cap, COMPARE_GROUP, c->groups[i].name, none,
                 known(c->groups[i].total_peak_kib), false) < 0)
            return -ENOMEM;
    return 0;
}

int compare_docs(const struct compare_doc *b, const struct compare_doc *c, double threshold_pct,
                 struct compare_result *out)
{
    memset(out, 0, sizeof *out);
    out->threshold_pct = threshold_pct;
    str_copy(out->base_method, sizeof out->base_method, b->method);
    str_copy(out->candidate_method, sizeof out->candidate_method, c->method);
    out->group_by_differs = strcmp(b->group_by, c->group_by) != 0;
    size_t cap = 0;
    int rc = push(out, &cap, COMPARE_METRIC, "max_total_rss_kib", known(b->max_total_rss_kib),
                  known(c->max_total_rss_kib), true);
    if (rc == 0)
        rc = push(out, &cap, COMPARE_METRIC, "max_process_rss_kib", b->max_proc_rss_kib,
                  c->max_proc_rss_kib, false);
    if (rc == 0)
        rc = push(out, &cap, COMPARE_METRIC, "process_count", b->process_count,
                  c->process_count, false);
    if (rc == 0)
        rc = push(out, &cap, COMPARE_METRIC, "duration_seconds", b->duration_s, c->duration_s,
                  false);
    if (rc == 0 && (b->gpu_total_peak_bytes.known || c->gpu_total_peak_bytes.known))
        rc = push(out, &cap, COMPARE_METRIC, "gpu_total_peak_bytes", b->gpu_total_peak_bytes,
                  c->gpu_total_peak_bytes, false);
    if (rc == 0)
        rc = compare_groups(b, c, out, &cap);
    if (rc < 0)
        compare_result_clear(out);
    return rc;
}

void compare_result_clear(struct compare_result *r)
{
    free(r->rows);
    r->rows = NULL;
    r->count = 0;
}
