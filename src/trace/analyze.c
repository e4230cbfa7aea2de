/* analyze.c - the streaming analysis of a recorder's logs (see analyze.h).
 *
 * One pass, line by line, through a fixed read buffer.  Per-record state is
 * folded into aggregates at once: kernels by name, scopes by path, GPU busy
 * time as a bounded union of intervals per device, system samples as sums.
 * The scope tree's self times and inclusive kernel figures are derived at
 * the end from the per-path sums.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/analyze.h"
#include "trace/ndjson.h"

#define READ_CHUNK (1u << 20)
#define MAX_LINE (1u << 20)
#define BUSY_INTERVALS 1024

/* ---- files --------------------------------------------------------------------- */

static const char *const kinds[] = {"kernel", "scope", "system"};

/* For name "<prefix>.<kind>.ndjson" or "<prefix>.<kind>.<N>.ndjson": the
 * rotation number (0 for the live file), or -1. */
static long match_file(const char *name, const char *prefix, const char *kind)
{
    size_t pl = strlen(prefix), kl = strlen(kind);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.' ||
        strncmp(name + pl + 1, kind, kl) != 0 || name[pl + 1 + kl] != '.')
        return -1;
    const char *rest = name + pl + 1 + kl + 1;
    if (strcmp(rest, "ndjson") == 0)
        return 0;
    char *end;
    long n = strtol(rest, &end, 10);
    if (end == rest || rest[0] < '1' || rest[0] > '9' || strcmp(end, ".ndjson") != 0 || n <= 0)
        return -1;
    return n;
}

struct found { char *name; long rot; };

static int cmp_found(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    /* rotated files first, oldest (1) first; the live file (0) last */
    long rx = x->rot ? x->rot : 1L << 40, ry = y->rot ? y->rot : 1L << 40;
    return (rx > ry) - (rx < ry);
}

void analyze_files_free(char **files, size_t count)
{
    for (size_t i = 0; files && i < count; i++)
        free(files[i]);
    free(files);
}

static int list_kind(const char *dir, const char *prefix, const char *kind, char ***files,
                     size_t *count, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct found *f = NULL;
    size_t n = 0, fcap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        long rot = match_file(de->d_name, prefix, kind);
        if (rot < 0)
            continue;
        if (n == fcap) {
            fcap = fcap ? fcap * 2 : 8;
            struct found *g = realloc(f, fcap * sizeof *f);
            if (!g) { rc = -ENOMEM; break; }
            f = g;
        }
        if (!(f[n].name = strdup(de->d_name))) { rc = -ENOMEM; break; }
        f[n++].rot = rot;
    }
    closedir(d);
    if (n)
        qsort(f, n, sizeof *f, cmp_found);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && *count == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            char **g = realloc(*files, *cap * sizeof **files);
            if (!g)
                rc = -ENOMEM;
            else
                *files = g;
        }
        char *path = NULL;
        if (rc == 0 && asprintf(&path, "%s/%s", dir, f[i].name) < 0)
            rc = -ENOMEM;
        if (rc == 0)
            (*files)[(*count)++] = path;
        free(f[i].name);
    }
    free(f);
    return rc;
}

int analyze_find_files(const char *dir, const char *prefix, char ***files, size_t *count,
                       struct error *e)
{
    *files = NULL;
    *count = 0;
    size_t cap = 0;
    for (size_t k = 0; k < 3; k++) {
        int rc = list_kind(dir, prefix, kinds[k], files, count, &cap);
        if (rc < 0) {
            analyze_files_free(*files, *count);
            *files = NULL;
            return error_set(e, rc, "cannot read %s: %s", dir, strerror(-rc));
        }
    }
    if (*count == 0)
        return error_set(e, -ENOENT, "%s holds no trace logs named %s.{kernel,scope,system}"
                         ".ndjson", dir, prefix);
    return 0;
}

int analyze_pick_prefix(const char *dir, char **prefix, struct error *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return error_set(e, -errno, "cannot read %s: %s", dir, strerror(errno));
    char list[400] = "";
    size_t found = 0;
    struct dirent *de;
    *prefix = NULL;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        static const char tail[] = ".kernel.ndjson";
        if (n <= sizeof tail - 1 || strcmp(de->d_name + n - (sizeof tail - 1), tail) != 0)
            continue;
        found++;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%.*s", used ? ", " : "",
                 (int)(n - (sizeof tail - 1)), de->d_name);
        if (found == 1)
            *prefix = strndup(de->d_name, n - (sizeof tail - 1));
    }
    closedir(d);
    if (found == 1 && *prefix)
        return 0;
    free(*prefix);
    *prefix = NULL;
    if (found == 0)
        return error_set(e, -ENOENT, "%s holds no trace (no *.kernel.ndjson file)", dir);
    return error_set(e, -EINVAL, "%s holds %zu traces (%s); choose one with --prefix", dir,
                     found, list);
}

/* ---- streaming ----------------------------------------------------------------- */

struct reader {
    char *buf;
    size_t len;
    bool skipping;        /* inside a line longer than MAX_LINE */
};

static void handle_line(const char *line, size_t len, const char *file, uint64_t lineno,
                        struct ndj_line *nl, analyze_line_fn fn, void *arg, uint64_t *corrupt,
                        char *where, size_t where_size)
{
    while (len && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return;
    if (ndj_parse(nl, line, len) < 0) {
        if ((*corrupt)++ == 0 && where)
            snprintf(where, where_size, "%s:%llu", file, (unsigned long long)lineno);
        return;
    }
    fn(arg, nl);
}

static int stream_file(const char *file, struct reader *rd, struct ndj_line *nl,
                       analyze_line_fn fn, void *arg, uint64_t *lines, uint64_t *corrupt,
                       char *where, size_t where_size, struct error *e)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot open %s: %s", file, strerror(errno));
    rd->len = 0;
    rd->skipping = false;
    uint64_t lineno = 0;
    for (;;) {
        if (rd->len == MAX_LINE + READ_CHUNK)   /* no newline in a whole buffer */
            rd->len = 0, rd->skipping = true;
        ssize_t n = read(fd, rd->buf + rd->len, MAX_LINE + READ_CHUNK - rd->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            return error_set(e, -err, "cannot read %s: %s", file, strerror(err));
        }
        if (n == 0)
            break;
        size_t end = rd->len + (size_t)n, start = 0;
        for (char *nlp; (nlp = memchr(rd->buf + start, '\n', end - start));) {
            size_t llen = (size_t)(nlp - (rd->buf + start));
            lineno++;
            (*lines)++;
            if (rd->skipping || llen > MAX_LINE) {
                if ((*corrupt)++ == 0 && where)
                    snprintf(where, where_size, "%s:%llu", file, (unsigned long long)lineno);
                rd->skipping = false;
            } else {
                handle_line(rd->buf + start, llen, file, lineno, nl, fn, arg, corrupt, where,
                            where_size);
            }
            start += llen + 1;
        }
        memmove(rd->buf, rd->buf + start, end - start);
        rd->len = end - start;
    }
    if (rd->len || rd->skipping) {         /* a last line without a newline */
        lineno++;
        (*lines)++;
        if (rd->skipping || rd->len > MAX_LINE) {
            if ((*corrupt)++ == 0 && where)
                snprintf(where, where_size, "%s:%llu", file, (unsigned long long)lineno);
        } else {
            handle_line(rd->buf, rd->len, file, lineno, nl, fn, arg, corrupt, where,
                        where_size);
        }
    }
    close(fd);
    return 0;
}

int analyze_stream(char *const *files, size_t count, analyze_line_fn fn, void *arg,
                   uint64_t *lines, uint64_t *corrupt, char *where, size_t where_size,
                   struct error *e)
{
    struct reader rd = {malloc(MAX_LINE + READ_CHUNK), 0, false};
    if (!rd.buf)
        return error_set(e, -ENOMEM, "out of memory");
    struct ndj_line nl;
    ndj_line_init(&nl);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = stream_file(files[i], &rd, &nl, fn, arg, lines, corrupt, where, where_size, e);
    ndj_line_free(&nl);
    free(rd.buf);
    return rc;
}

/* ---- string-keyed index -------------------------------------------------------- */

struct index {
    uint32_t *slots;          /* entry + 1; 0 empty */
    size_t cap;               /* power of two */
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Finds key; on a miss returns the empty slot where it would go. */
static uint32_t *index_slot(struct index *ix, const char *key, const char *(*key_of)(void *,
                            uint32_t), void *ctx)
{
    size_t k = hash_key(key) & (ix->cap - 1);
    while (ix->slots[k] && strcmp(key_of(ctx, ix->slots[k] - 1), key) != 0)
        k = (k + 1) & (ix->cap - 1);
    return &ix->slots[k];
}

static int index_grow(struct index *ix, size_t count, const char *(*key_of)(void *, uint32_t),
                      void *ctx)
{
    if ((count + 1) * 2 <= ix->cap)
        return 0;
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    uint32_t *old = ix->slots;
    size_t old_cap = ix->cap;
    ix->slots = calloc(cap, sizeof *ix->slots);
    if (!ix->slots) {
        ix->slots = old;
        return -ENOMEM;
    }
    ix->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            *index_slot(ix, key_of(ctx, old[i] - 1), key_of, ctx) = old[i];
    free(old);
    return 0;
}

/* ---- aggregation state --------------------------------------------------------- */

struct busy {
    int64_t device;
    uint64_t start[BUSY_INTERVALS], end[BUSY_INTERVALS];
    size_t n;
    uint64_t committed;       /* length of intervals retired from the set */
};

struct state {
    struct analyze_result *r;
    struct index scope_ix, kern_ix;
    size_t scope_cap, hot_cap;
    struct busy *busy[ANALYZE_MAX_DEVICES];
    size_t busy_count;
    double util_sum, host_cpu_sum, proc_cpu_sum;
    uint64_t util_n, host_cpu_n, proc_cpu_n;
    char key[8192];
    int err;
};

static const char *scope_key(void *ctx, uint32_t i)
{
    return ((struct state *)ctx)->r->scopes[i].path;
}

static const char *kern_key(void *ctx, uint32_t i)
{
    return ((struct state *)ctx)->r->hot[i].name;
}

static void span(struct state *s, uint64_t a, uint64_t b)
{
    struct analyze_result *r = s->r;
    if (!r->have_time) {
        r->t_min = a;
        r->t_max = b;
        r->have_time = true;
        return;
    }
    if (a < r->t_min)
        r->t_min = a;
    if (b > r->t_max)
        r->t_max = b;
}

/* Joins a path array into s->key; false when it does not fit. */
static bool path_key(struct state *s, const struct ndj_field *f)
{
    size_t used = 0;
    s->key[0] = '\0';
    for (size_t i = 0; i < f->count && i < NDJ_MAX_ITEMS; i++) {
        if (used + f->item_lens[i] + 2 > sizeof s->key)
            return false;
        if (i)
            s->key[used++] = ANALYZE_PATH_SEP;
        memcpy(s->key + used, f->items[i], f->item_lens[i]);
        used += f->item_lens[i];
        s->key[used] = '\0';
    }
    return true;
}

static struct analyze_scope *scope_entry(struct state *s, const char *key, unsigned depth)
{
    struct analyze_result *r = s->r;
    if (index_grow(&s->scope_ix, r->scope_count, scope_key, s) < 0)
        return s->err = -ENOMEM, NULL;
    uint32_t *slot = index_slot(&s->scope_ix, key, scope_key, s);
    if (*slot)
        return &r->scopes[*slot - 1];
    if (r->scope_count >= ANALYZE_MAX_KEYS) {
        r->overflow_keys++;
        return NULL;
    }
    if (r->scope_count == s->scope_cap) {
        size_t cap = s->scope_cap ? s->scope_cap * 2 : 64;
        struct analyze_scope *p = realloc(r->scopes, cap * sizeof *p);
        if (!p)
            return s->err = -ENOMEM, NULL;
        r->scopes = p;
        s->scope_cap = cap;
    }
    struct analyze_scope *sc = &r->scopes[r->scope_count];
    memset(sc, 0, sizeof *sc);
    if (!(sc->path = strdup(key)))
        return s->err = -ENOMEM, NULL;
    const char *last = strrchr(sc->path, ANALYZE_PATH_SEP);
    sc->name = last ? last + 1 : sc->path;
    sc->depth = depth;
    *slot = (uint32_t)++r->scope_count;
    return sc;
}

static struct analyze_kernel *kernel_entry(struct state *s, const char *name)
{
    struct analyze_result *r = s->r;
    if (index_grow(&s->kern_ix, r->hot_count, kern_key, s) < 0)
        return s->err = -ENOMEM, NULL;
    uint32_t *slot = index_slot(&s->kern_ix, name, kern_key, s);
    if (*slot)
        return &r->hot[*slot - 1];
    if (r->hot_count >= ANALYZE_MAX_KEYS) {
        r->overflow_keys++;
        return NULL;
    }
    if (r->hot_count == s->hot_cap) {
        size_t cap = s->hot_cap ? s->hot_cap * 2 : 64;
        struct analyze_kernel *p = realloc(r->hot, cap * sizeof *p);
        if (!p)
            return s->err = -ENOMEM, NULL;
        r->hot = p;
        s->hot_cap = cap;
    }
    struct analyze_kernel *k = &r->hot[r->hot_count];
    memset(k, 0, sizeof *k);
    if (!(k->name = strdup(name)))
        return s->err = -ENOMEM, NULL;
    *slot = (uint32_t)++r->hot_count;
    return k;
}

/* Adds [a, b) to the device's interval union.  The set keeps at most
 * BUSY_INTERVALS disjoint intervals; past that the earliest is retired into
 * the committed total (kernels arrive nearly in time order, so a later
 * kernel overlapping a retired interval is rare and only overcounts). */
static void busy_add(struct busy *u, uint64_t a, uint64_t b)
{
    if (b <= a)
        return;
    size_t i = 0;
    while (i < u->n && u->end[i] < a)
        i++;
    size_t j = i;
    while (j < u->n && u->start[j] <= b) {
        if (u->start[j] < a)
            a = u->start[j];
        if (u->end[j] > b)
            b = u->end[j];
        j++;
    }
    /* intervals i..j-1 merge into [a, b) */
    size_t removed = j - i;
    if (removed == 0) {
        if (u->n == BUSY_INTERVALS) {
            if (i == 0) {                /* older than everything kept */
                u->committed += b - a;
                return;
            }
            u->committed += u->end[0] - u->start[0];
            memmove(u->start, u->start + 1, (u->n - 1) * sizeof *u->start);
            memmove(u->end, u->end + 1, (u->n - 1) * sizeof *u->end);
            u->n--;
            i--;
        }
        memmove(u->start + i + 1, u->start + i, (u->n - i) * sizeof *u->start);
        memmove(u->end + i + 1, u->end + i, (u->n - i) * sizeof *u->end);
        u->n++;
    } else if (removed > 1) {
        memmove(u->start + i + 1, u->start + j, (u->n - j) * sizeof *u->start);
        memmove(u->end + i + 1, u->end + j, (u->n - j) * sizeof *u->end);
        u->n -= removed - 1;
    }
    u->start[i] = a;
    u->end[i] = b;
}

static struct busy *busy_for(struct state *s, int64_t device)
{
    for (size_t i = 0; i < s->busy_count; i++)
        if (s->busy[i]->device == device)
            return s->busy[i];
    if (s->busy_count == ANALYZE_MAX_DEVICES)
        return NULL;
    struct busy *u = calloc(1, sizeof *u);
    if (!u)
        return s->err = -ENOMEM, NULL;
    u->device = device;
    s->busy[s->busy_count++] = u;
    return u;
}

/* ---- records ------------------------------------------------------------------- */

static bool times(const struct ndj_line *l, uint64_t *a, uint64_t *b)
{
    return ndj_u64(l, "start_ns", a) && ndj_u64(l, "end_ns", b) && *b >= *a;
}

static void copy_dims(int64_t dst[3], bool *vary, bool first, const struct ndj_field *f)
{
    int64_t v[3] = {0, 0, 0};
    for (size_t i = 0; f && f->type == NDJ_INT_ARRAY && i < 3 && i < f->count; i++)
        v[i] = f->ints[i];
    if (first)
        memcpy(dst, v, sizeof v);
    else if (memcmp(dst, v, sizeof v) != 0)
        *vary = true;
}

static void kernel_scope(struct state *s, struct analyze_kernel *k, const char *path)
{
    for (size_t i = 0; i < k->scope_count; i++) {
        const char *p = k->scopes[i].path;
        if ((p == NULL && path == NULL) || (p && path && strcmp(p, path) == 0)) {
            k->scopes[i].count++;
            return;
        }
    }
    if (k->scope_count == ANALYZE_MAX_KERNEL_SCOPES) {
        k->other_scopes++;
        return;
    }
    char *copy = NULL;
    if (path && !(copy = strdup(path))) {
        s->err = -ENOMEM;
        return;
    }
    k->scopes[k->scope_count++] = (struct analyze_kernel_scope){copy, 1};
}

static bool on_kernel(struct state *s, const struct ndj_line *l)
{
    uint64_t a, b;
    const char *name = ndj_str(l, "demangled");
    if (!name)
        name = ndj_str(l, "name");
    if (!name || !times(l, &a, &b))
        return false;
    struct analyze_result *r = s->r;
    uint64_t d = b - a;
    r->kernels++;
    r->kernel_ns += d;
    span(s, a, b);
    uint64_t dev = 0;
    ndj_u64(l, "device", &dev);
    struct busy *u = busy_for(s, (int64_t)dev);
    if (u)
        busy_add(u, a, b);
    struct analyze_kernel *k = kernel_entry(s, name);
    const struct ndj_field *scope = ndj_get(l, "scope");
    bool attributed = scope && scope->type == NDJ_STR_ARRAY && path_key(s, scope);
    if (k) {
        bool first = k->count == 0;
        k->count++;
        k->total_ns += d;
        if (first || d < k->min_ns)
            k->min_ns = d;
        if (d > k->max_ns)
            k->max_ns = d;
        copy_dims(k->grid, &k->dims_vary, first, ndj_get(l, "grid"));
        copy_dims(k->block, &k->dims_vary, first, ndj_get(l, "block"));
        ndj_u64(l, "registers", &k->registers);
        ndj_u64(l, "static_smem", &k->static_smem);
        ndj_u64(l, "dynamic_smem", &k->dynamic_smem);
        kernel_scope(s, k, attributed ? s->key : NULL);
    }
    if (attributed && s->key[0]) {
        struct analyze_scope *sc = scope_entry(s, s->key, (unsigned)scope->count);
        if (sc) {
            sc->kernels_self++;
            sc->gpu_self_ns += d;
        }
    }
    return true;
}

static bool on_scope(struct state *s, const struct ndj_line *l)
{
    uint64_t a, b;
    const struct ndj_field *path = ndj_get(l, "path");
    if (!times(l, &a, &b) || !path || path->type != NDJ_STR_ARRAY || path->count == 0 ||
        !path_key(s, path))
        return false;
    span(s, a, b);
    struct analyze_scope *sc = scope_entry(s, s->key, (unsigned)path->count);
    if (sc) {
        sc->calls++;
        sc->total_ns += b - a;
    }
    return true;
}

static bool on_device(struct state *s, const struct ndj_line *l)
{
    uint64_t t;
    if (!ndj_u64(l, "t_ns", &t))
        return false;
    struct analyze_result *r = s->r;
    span(s, t, t);
    r->device_samples++;
    double v;
    uint64_t used, total;
    if (ndj_num(l, "util_gpu_pct", &v)) {
        s->util_sum += v;
        s->util_n++;
    }
    if (ndj_u64(l, "mem_used_bytes", &used) &&
        (!r->vram_peak_bytes.known || used > r->vram_peak_bytes.v)) {
        OPT_SET(r->vram_peak_bytes, used);
        if (ndj_u64(l, "mem_total_bytes", &total))
            OPT_SET(r->vram_total_bytes, total);
    }
    return true;
}

static bool on_host(struct state *s, const struct ndj_line *l)
{
    uint64_t t;
    if (!ndj_u64(l, "t_ns", &t))
        return false;
    span(s, t, t);
    s->r->host_samples++;
    double v;
    if (ndj_num(l, "cpu_pct", &v)) {
        s->host_cpu_sum += v;
        s->host_cpu_n++;
    }
    if (ndj_num(l, "process_cpu_pct", &v)) {
        s->proc_cpu_sum += v;
        s->proc_cpu_n++;
    }
    return true;
}

static char *join_command(const struct ndj_field *f)
{
    if (!f || f->type != NDJ_STR_ARRAY)
        return NULL;
    size_t n = 1;
    for (size_t i = 0; i < f->count; i++)
        n += f->item_lens[i] + 1;
    char *out = malloc(n), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < f->count; i++) {
        if (i)
            *p++ = ' ';
        memcpy(p, f->items[i], f->item_lens[i]);
        p += f->item_lens[i];
    }
    *p = '\0';
    return out;
}

static bool on_header(struct state *s, const struct ndj_line *l)
{
    struct analyze_result *r = s->r;
    if (r->have_header)
        return true;
    r->have_header = true;
    const char *host = ndj_str(l, "host");
    snprintf(r->host, sizeof r->host, "%s", host ? host : "");
    double pid = 0;
    r->pid = ndj_num(l, "pid", &pid) ? (int64_t)pid : -1;
    ndj_u64(l, "version", &r->version);
    r->command = join_command(ndj_get(l, "command"));
    const char *err = ndj_str(l, "activity_error");
    if (err)
        r->activity_error = strdup(err);
    return true;
}

static bool on_summary(struct state *s, const struct ndj_line *l)
{
    struct analyze_result *r = s->r;
    /* The same summary ends every log; the kernel log's is read first. */
    if (r->have_summary)
        return true;
    r->have_summary = true;
    ndj_u64(l, "ring_drops", &r->ring_drops);
    ndj_u64(l, "cupti_drops", &r->cupti_drops);
    ndj_u64(l, "name_drops", &r->name_drops);
    ndj_u64(l, "unattributed_kernels", &r->unattributed);
    return true;
}

static void on_line(void *arg, const struct ndj_line *l)
{
    struct state *s = arg;
    const char *type = ndj_str(l, "type");
    bool known = false;
    if (!type)
        known = false;
    else if (strcmp(type, "kernel") == 0)
        known = on_kernel(s, l);
    else if (strcmp(type, "scope") == 0)
        known = on_scope(s, l);
    else if (strcmp(type, "device") == 0)
        known = on_device(s, l);
    else if (strcmp(type, "host") == 0)
        known = on_host(s, l);
    else if (strcmp(type, "memcpy") == 0 || strcmp(type, "memset") == 0) {
        uint64_t a, b, bytes = 0;
        if ((known = times(l, &a, &b))) {
            span(s, a, b);
            ndj_u64(l, "bytes", &bytes);
            if (type[3] == 'c') {
                s->r->memcpys++;
                s->r->memcpy_bytes += bytes;
            } else {
                s->r->memsets++;
            }
        }
    } else if (strcmp(type, "header") == 0)
        known = on_header(s, l);
    else if (strcmp(type, "summary") == 0)
        known = on_summary(s, l);
    if (!known)
        s->r->unknown_lines++;
}

/* ---- the end: tree and rankings ------------------------------------------------ */

static int cmp_path(const void *a, const void *b)
{
    /* components compare as strings; the separator sorts below every other
     * byte, so a parent comes before its children and siblings stay apart */
    const unsigned char *x = (const unsigned char *)((const struct analyze_scope *)a)->path;
    const unsigned char *y = (const unsigned char *)((const struct analyze_scope *)b)->path;
    for (;; x++, y++) {
        unsigned cx = *x == (unsigned char)ANALYZE_PATH_SEP ? 1 : *x;
        unsigned cy = *y == (unsigned char)ANALYZE_PATH_SEP ? 1 : *y;
        if (cx != cy || cx == 0)
            return (cx > cy) - (cx < cy);
    }
}

static int cmp_hot(const void *a, const void *b)
{
    const struct analyze_kernel *x = a, *y = b;
    if (x->total_ns != y->total_ns)
        return x->total_ns < y->total_ns ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Whether a is a proper ancestor of b (a's path, then a separator, starts b's). */
static bool scope_ancestor(const struct analyze_scope *a, const struct analyze_scope *b)
{
    size_t n = strlen(a->path);
    return (size_t)(b->name - b->path) > n && strncmp(a->path, b->path, n) == 0 &&
           b->path[n] == ANALYZE_PATH_SEP;
}

/* The index of each scope's parent (SIZE_MAX for a top-level one) in the
 * depth-first sorted array, in one pass with a stack of the current
 * ancestors: a scope's parent is the nearest earlier scope that is its
 * ancestor, and every ancestor has a row.  Caller frees; NULL on ENOMEM. */
static size_t *scope_parents(const struct analyze_result *r)
{
    size_t *parent = malloc(r->scope_count * sizeof *parent);
    size_t *stack = malloc(r->scope_count * sizeof *stack);
    if (!parent || !stack) {
        free(parent);
        free(stack);
        return NULL;
    }
    size_t depth = 0;
    for (size_t i = 0; i < r->scope_count; i++) {
        while (depth && !scope_ancestor(&r->scopes[stack[depth - 1]], &r->scopes[i]))
            depth--;
        parent[i] = depth ? stack[depth - 1] : SIZE_MAX;
        stack[depth++] = i;
    }
    free(stack);
    return parent;
}

static int finish_scopes(struct state *s)
{
    struct analyze_result *r = s->r;
    /* parents that only appear through their children (a kernel in a scope
     * that never closed) still get a row */
    size_t n = r->scope_count;
    for (size_t i = 0; i < n; i++) {
        char buf[sizeof s->key];
        snprintf(buf, sizeof buf, "%s", r->scopes[i].path);
        unsigned depth = r->scopes[i].depth;
        for (char *cut; (cut = strrchr(buf, ANALYZE_PATH_SEP));) {
            *cut = '\0';
            if (!scope_entry(s, buf, --depth) && s->err)
                return s->err;
        }
    }
    if (r->scope_count)
        qsort(r->scopes, r->scope_count, sizeof *r->scopes, cmp_path);
    for (size_t i = 0; i < r->scope_count; i++) {
        struct analyze_scope *c = &r->scopes[i];
        c->self_ns = c->total_ns;
        c->kernels = c->kernels_self;
        c->gpu_ns = c->gpu_self_ns;
    }
    size_t *parent = scope_parents(r);
    if (!parent && r->scope_count)
        return -ENOMEM;
    /* children after their parents: from the end, each child is complete
     * (its own descendants folded in) when it is folded into its parent */
    for (size_t i = r->scope_count; i-- > 0;) {
        if (parent[i] == SIZE_MAX)
            continue;
        struct analyze_scope *c = &r->scopes[i], *p = &r->scopes[parent[i]];
        p->self_ns = p->self_ns > c->total_ns ? p->self_ns - c->total_ns : 0;
        p->kernels += c->kernels;
        p->gpu_ns += c->gpu_ns;
    }
    free(parent);
    return 0;
}

static void finish(struct state *s, const struct analyze_opts *o)
{
    struct analyze_result *r = s->r;
    uint64_t dur = r->have_time ? r->t_max - r->t_min : 0;
    double busy_sum = 0;
    for (size_t i = 0; i < s->busy_count; i++) {
        struct busy *u = s->busy[i];
        uint64_t t = u->committed;
        for (size_t k = 0; k < u->n; k++)
            t += u->end[k] - u->start[k];
        if (dur)
            busy_sum += 100.0 * (double)t / (double)dur;
    }
    r->devices_with_kernels = s->busy_count;
    if (s->busy_count && dur)
        OPT_SET(r->gpu_busy_pct, busy_sum / (double)s->busy_count);
    if (s->util_n)
        OPT_SET(r->util_gpu_mean_pct, s->util_sum / (double)s->util_n);
    if (s->host_cpu_n)
        OPT_SET(r->host_cpu_mean_pct, s->host_cpu_sum / (double)s->host_cpu_n);
    if (s->proc_cpu_n)
        OPT_SET(r->process_cpu_mean_pct, s->proc_cpu_sum / (double)s->proc_cpu_n);
    if (r->hot_count)
        qsort(r->hot, r->hot_count, sizeof *r->hot, cmp_hot);
    if (o->top && r->hot_count > o->top) {
        for (size_t i = o->top; i < r->hot_count; i++) {
            free(r->hot[i].name);
            for (size_t k = 0; k < r->hot[i].scope_count; k++)
                free(r->hot[i].scopes[k].path);
        }
        r->hot_count = o->top;
    }
}

int analyze_run(const struct analyze_opts *o, struct analyze_result **out, struct error *e)
{
    struct analyze_result *r = calloc(1, sizeof *r);
    struct state *s = calloc(1, sizeof *s);
    char **files = NULL, *picked = NULL;
    size_t count = 0;
    int rc = -ENOMEM;
    if (!r || !s) {
        error_set(e, rc, "out of memory");
        goto done;
    }
    r->pid = -1;
    s->r = r;
    const char *prefix = o->prefix;
    if (!prefix) {
        if ((rc = analyze_pick_prefix(o->dir, &picked, e)) < 0)
            goto done;
        prefix = picked;
    }
    if ((rc = analyze_find_files(o->dir, prefix, &files, &count, e)) < 0)
        goto done;
    r->files = count;
    rc = analyze_stream(files, count, on_line, s, &r->lines, &r->corrupt_lines,
                        r->first_corrupt, sizeof r->first_corrupt, e);
    if (rc == 0 && s->err)
        rc = error_set(e, s->err, "out of memory while analysing %s", o->dir);
    if (rc == 0 && (rc = finish_scopes(s)) < 0)
        error_set(e, rc, "out of memory while analysing %s", o->dir);
    if (rc == 0)
        finish(s, o);
done:
    if (s) {
        for (size_t i = 0; i < s->busy_count; i++)
            free(s->busy[i]);
        free(s->scope_ix.slots);
        free(s->kern_ix.slots);
    }
    free(s);
    free(picked);
    analyze_files_free(files, count);
    if (rc < 0) {
        analyze_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void analyze_free(struct analyze_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->scope_count; i++)
        free(r->scopes[i].path);
    for (size_t i = 0; i < r->hot_count; i++) {
        free(r->hot[i].name);
        for (size_t k = 0; k < r->hot[i].scope_count; k++)
            free(r->hot[i].scopes[k].path);
    }
    free(r->scopes);
    free(r->hot);
    free(r->command);
    free(r->activity_error);
    free(r);
}
