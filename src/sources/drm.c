/* drm.c - the DRM source: cards from drm_sysfs.c, clients from one sweep of
 * /proc/PID/fdinfo, folded into one GPU process row per (pid, card).
 *
 * The sweep checks each descriptor with one readlinkat of /proc/PID/fd/N:
 * only targets under /dev/dri/ have their fdinfo opened (docs/design.md,
 * "DRM processes").  The counters stay raw (busy ns, cycles); rates are the
 * sampler's.  NVIDIA cards that NVML already enumerated are not shown twice.
 */
#include "sources/drm.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/grow.h"
#include "core/str.h"
#include "sources/drm_fdinfo.h"
#include "sources/rootfs.h"

/* fdinfo of a DRM client is about 1 KiB; anything past this is dropped. */
#define DRM_FDINFO_READ_MAX 16384

struct drm_state {
    struct drm_card *cards;
    size_t count;
};

/* ---- from fdinfo to a client ---------------------------------------------------------- */

static bool name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

static unsigned type_of_engine(const char *name)
{
    static const char *const compute[] = {"compute", "ccs", NULL};
    static const char *const graphics[] = {"gfx", "render", "rcs", NULL};
    return name_in(name, compute) ? GPU_PROC_COMPUTE
         : name_in(name, graphics) ? GPU_PROC_GRAPHICS : 0;
}

/* busy ns; else cycles against total cycles; else cycles at the engine's
 * maximum frequency, as ns (the usage-stats spec's own reading of
 * drm-maxfreq).  False when the engine has no counter. */
static bool engine_counter_from(const struct drm_fdinfo_engine *in, struct engine_counter *out)
{
    memset(out, 0, sizeof *out);
    str_copy(out->name, sizeof out->name, in->name);
    out->capacity = in->capacity.known && in->capacity.v > 0 && in->capacity.v < 65536
                  ? (unsigned)in->capacity.v : 1;
    if (in->busy_ns.known) {
        out->busy = in->busy_ns.v;
    } else if (in->cycles.known && in->total_cycles.known) {
        out->busy = in->cycles.v;
        out->total = in->total_cycles.v;
        out->cycles = true;
    } else if (in->cycles.known && in->maxfreq_hz.known && in->maxfreq_hz.v > 0) {
        out->busy = (uint64_t)((long double)in->cycles.v * 1e9L / (long double)in->maxfreq_hz.v);
    } else {
        return false;
    }
    return true;
}

static void add_bytes(struct opt_u64 *sum, struct opt_u64 v)
{
    if (v.known)
        OPT_SET(*sum, (sum->known ? sum->v : 0) + v.v);
}

static void max_pct(struct opt_f64 *m, struct opt_f64 v)
{
    if (v.known && (!m->known || v.v > m->v))
        OPT_SET(*m, v.v);
}

static void legacy_engine(struct drm_client *c, const struct drm_fdinfo_engine *en)
{
    if (strcmp(en->name, "gfx") == 0 || strcmp(en->name, "compute") == 0)
        max_pct(&c->legacy_busy_pct, en->legacy_pct);
    else if (strncmp(en->name, "enc", 3) == 0)
        max_pct(&c->legacy_enc_pct, en->legacy_pct);
    else if (strncmp(en->name, "dec", 3) == 0)
        max_pct(&c->legacy_dec_pct, en->legacy_pct);
    if (en->legacy_pct.v > 0)
        c->type |= type_of_engine(en->name);
}

static void client_from(const struct drm_fdinfo *f, struct drm_client *c)
{
    c->id = f->client_id;
    for (size_t i = 0; i < f->engine_count; i++) {
        const struct drm_fdinfo_engine *en = &f->engines[i];
        if (en->legacy_pct.known) {
            legacy_engine(c, en);
            continue;
        }
        if (c->engine_count == GPU_PROC_MAX_ENGINES ||
            !engine_counter_from(en, &c->engines[c->engine_count]))
            continue;
        if (c->engines[c->engine_count].busy > 0)
            c->type |= type_of_engine(en->name);
        c->engine_count++;
    }
    for (size_t i = 0; i < f->region_count; i++) {
        const struct drm_fdinfo_region *r = &f->regions[i];
        add_bytes(drm_fdinfo_region_is_vram(r->name) ? &c->vram_bytes : &c->sys_bytes,
                  drm_fdinfo_region_used(r));
    }
}

/* ---- the sweep ---------------------------------------------------------------------- */

/* The card of a client: by drm-pdev, else by the device node it was opened
 * through (drivers of non-PCI GPUs print no pdev).  -1 when none of ours. */
static long card_of(const struct drm_card *cards, size_t n, const char *pdev, const char *node)
{
    for (size_t i = 0; i < n; i++) {
        if (pdev[0]) {
            if (strcasecmp(cards[i].dev.pci_bus_id, pdev) == 0)
                return (long)i;
            continue;
        }
        for (size_t k = 0; k < cards[i].node_count; k++)
            if (strcmp(cards[i].nodes[k], node) == 0)
                return (long)i;
    }
    return -1;
}

struct sweep_ctx {
    const struct drm_card *cards;
    size_t card_count;
    int proc_fd;
    struct drm_sweep *out;
};

static ssize_t read_at(int dirfd, const char *rel, char *buf, size_t size)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t total = 0;
    while (total < size) {
        ssize_t r = read(fd, buf + total, size - total);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(fd);
    return (ssize_t)total;
}

/* The fdinfo of descriptor fd of pid (both as directory names); a file that
 * has gone (the descriptor was closed) or names no client is skipped. */
static int read_client(struct sweep_ctx *sc, pid_t pid, const char *pid_name, const char *fd,
                       const char *node)
{
    char rel[96], buf[DRM_FDINFO_READ_MAX];
    struct drm_fdinfo info;
    int n = snprintf(rel, sizeof rel, "%s/fdinfo/%s", pid_name, fd);
    if (n < 0 || (size_t)n >= sizeof rel)
        return 0;
    ssize_t len = read_at(sc->proc_fd, rel, buf, sizeof buf);
    sc->out->drm_fds++;
    if (len <= 0 || drm_fdinfo_parse(buf, (size_t)len, &info) < 0)
        return 0;
    long slot = card_of(sc->cards, sc->card_count, info.pdev, node);
    if (slot < 0)
        return 0;
    struct drm_sweep *s = sc->out;
    if (grow_for_one((void **)&s->items, &s->cap, s->count, sizeof *s->items, 16) < 0)
        return -ENOMEM;
    struct drm_client *c = &s->items[s->count++];
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->slot = (size_t)slot;
    client_from(&info, c);
    return 0;
}

static int sweep_pid(struct sweep_ctx *sc, pid_t pid, const char *pid_name)
{
    char rel[64];
    int n = snprintf(rel, sizeof rel, "%s/fd", pid_name);
    if (n < 0 || (size_t)n >= sizeof rel)
        return 0;
    int fdd = openat(sc->proc_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fdd < 0)
        return 0;      /* exited, or another user's */
    DIR *d = fdopendir(fdd);
    if (!d) {
        close(fdd);
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char target[64];
        sc->out->fds_seen++;
        ssize_t len = readlinkat(fdd, de->d_name, target, sizeof target - 1);
        if (len <= 9 || memcmp(target, "/dev/dri/", 9) != 0)
            continue;
        target[len] = '\0';
        rc = read_client(sc, pid, pid_name, de->d_name, target + 9);
    }
    closedir(d);
    return rc;
}

static bool pid_name(const char *s, pid_t *pid)
{
    long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000)
            return false;
        v = v * 10 + (*s - '0');
    }
    *pid = (pid_t)v;
    return v > 0;
}

static int by_client_then_pid(const void *a, const void *b)
{
    const struct drm_client *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->id.known != y->id.known)
        return x->id.known ? -1 : 1;
    if (x->id.v != y->id.v)
        return x->id.v < y->id.v ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Keeps the first (lowest pid) of each (card, client id). */
static void dedup(struct drm_sweep *s)
{
    if (s->count < 2)
        return;
    qsort(s->items, s->count, sizeof *s->items, by_client_then_pid);
    size_t n = 1;
    for (size_t i = 1; i < s->count; i++) {
        const struct drm_client *prev = &s->items[n - 1], *c = &s->items[i];
        if (c->id.known && prev->id.known && c->slot == prev->slot && c->id.v == prev->id.v)
            continue;
        s->items[n++] = *c;
    }
    s->count = n;
}

/* ---- the candidates debugfs names ------------------------------------------------------ */

struct pid_set {
    pid_t *items;
    size_t count, cap;
};

/* Reads a whole debugfs file (a client list grows with the clients). */
static char *read_all(const char *path, size_t *len)
{
    size_t cap = 16384;
    char *buf = malloc(cap);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *len = 0;
    if (!buf || fd < 0)
        goto fail;
    for (;;) {
        if (*len == cap) {
            char *n = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!n)
                goto fail;
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + *len, cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        *len += (size_t)r;
    }
    close(fd);
    return buf;
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

static int card_clients(const struct drm_card *c, struct pid_set *set)
{
    char path[PATH_MAX];
    size_t len, n;
    if (rootfs_path(path, sizeof path, ROOTFS_SYS, "kernel/debug/dri/%u/clients", c->minor) < 0)
        return -ENAMETOOLONG;
    char *buf = read_all(path, &len);
    if (!buf)
        return -ENOENT;
    int rc = drm_fdinfo_parse_clients(buf, len, NULL, 0, &n);
    if (rc == 0 && n > set->cap - set->count) {
        pid_t *grown = realloc(set->items, (set->count + n) * sizeof *grown);
        if (!grown)
            rc = -ENOMEM;
        else {
            set->items = grown;
            set->cap = set->count + n;
        }
    }
    if (rc == 0)
        rc = drm_fdinfo_parse_clients(buf, len, set->items + set->count, n, &n);
    if (rc == 0)
        set->count += n;
    free(buf);
    return rc;
}

static int by_pid_value(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* The pids debugfs lists as owning a client of the cards, sorted and unique;
 * false (sweep everything) unless every card's list was read whole with
 * every owner alive and visible. */
static bool debugfs_candidates(const struct drm_card *cards, size_t count, struct pid_set *set)
{
    for (size_t i = 0; i < count; i++) {
        if (card_clients(&cards[i], set) < 0) {
            free(set->items);
            *set = (struct pid_set){0};
            return false;
        }
    }
    if (set->count > 1)
        qsort(set->items, set->count, sizeof *set->items, by_pid_value);
    size_t n = 0;
    for (size_t i = 0; i < set->count; i++)
        if (n == 0 || set->items[n - 1] != set->items[i])
            set->items[n++] = set->items[i];
    set->count = n;
    return true;
}

/* ---- one pass --------------------------------------------------------------------------- */

static int sweep_all(struct sweep_ctx *sc, DIR *d)
{
    struct dirent *de;
    int rc = 0;
    pid_t pid;
    while (rc == 0 && (de = readdir(d)))
        if (pid_name(de->d_name, &pid))
            rc = sweep_pid(sc, pid, de->d_name);
    return rc;
}

static int sweep_some(struct sweep_ctx *sc, const struct pid_set *set)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < set->count; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", (int)set->items[i]);
        rc = sweep_pid(sc, set->items[i], name);
    }
    return rc;
}

int drm_sweep(const struct drm_card *cards, size_t card_count, struct drm_sweep *out,
              struct error *e)
{
    memset(out, 0, sizeof *out);
    char root[PATH_MAX];
    if (rootfs_path(root, sizeof root, ROOTFS_PROC, "%s", "") < 0)
        return 0;
    DIR *d = opendir(root);
    if (!d)
        return 0;
    struct sweep_ctx sc = {cards, card_count, dirfd(d), out};
    struct pid_set set = {0};
    int rc;
    if (card_count && debugfs_candidates(cards, card_count, &set)) {
        out->from_debugfs = true;
        rc = sweep_some(&sc, &set);
    } else {
        rc = sweep_all(&sc, d);
    }
    free(set.items);
    closedir(d);
    if (rc < 0) {
        drm_sweep_free(out);
        return error_set(e, rc, "out of memory reading the DRM clients in %s", root);
    }
    dedup(out);
    return 0;
}

void drm_sweep_free(struct drm_sweep *s)
{
    if (!s)
        return;
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* ---- from clients to process rows --------------------------------------------------- */

/* Busy time and cycles add up over a process's clients; total cycles are
 * one GPU clock read by each, so the largest is kept, not the sum. */
static void add_engine(struct gpu_process *g, const struct engine_counter *in)
{
    for (size_t k = 0; k < g->engine_count; k++) {
        struct engine_counter *e = &g->engines[k];
        if (strcmp(e->name, in->name) != 0)
            continue;
        if (e->cycles == in->cycles) {
            e->busy += in->busy;
            if (in->total > e->total)
                e->total = in->total;
            if (in->capacity > e->capacity)
                e->capacity = in->capacity;
        }
        return;
    }
    if (g->engine_count < GPU_PROC_MAX_ENGINES)
        g->engines[g->engine_count++] = *in;
}

static void max_into(struct opt_f64 *dst, struct opt_f64 v)
{
    if (v.known && (!dst->known || v.v > dst->v))
        OPT_SET(*dst, v.v > 100 ? 100 : v.v);
}

static void add_client(struct gpu_process *g, const struct drm_client *c)
{
    g->type |= c->type;
    for (size_t k = 0; k < c->engine_count; k++)
        add_engine(g, &c->engines[k]);
    add_bytes(&g->gpu_mem_bytes, c->vram_bytes);
    add_bytes(&g->gpu_sys_mem_bytes, c->sys_bytes);
    max_into(&g->sm_pct, c->legacy_busy_pct);
    max_into(&g->enc_pct, c->legacy_enc_pct);
    max_into(&g->dec_pct, c->legacy_dec_pct);
}

static int by_pid_then_slot(const void *a, const void *b)
{
    const struct drm_client *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

static const struct device *device_of_slot(const struct device *devices, size_t count,
                                           size_t slot)
{
    for (size_t i = 0; i < count; i++)
        if ((size_t)devices[i].source_slot == slot)
            return &devices[i];
    return NULL;
}

/* A GPU without device memory (an integrated one) uses system memory as
 * its own: that is its processes' GPU memory. */
static void memory_for_igpu(struct gpu_process *g, const struct device *d)
{
    if (!g->gpu_mem_bytes.known && !d->mem_total_bytes.known && g->gpu_sys_mem_bytes.known)
        g->gpu_mem_bytes = g->gpu_sys_mem_bytes;
}

static int fold(struct drm_sweep *s, const struct device *devices, size_t count,
                struct gpu_process_list *out, struct error *e)
{
    if (s->count > 1)
        qsort(s->items, s->count, sizeof *s->items, by_pid_then_slot);
    struct gpu_process *g = NULL;
    const struct device *d = NULL;
    for (size_t i = 0; i < s->count; i++) {
        const struct drm_client *c = &s->items[i];
        bool same = i > 0 && c->pid == s->items[i - 1].pid && c->slot == s->items[i - 1].slot;
        if (!same) {
            if (g)
                memory_for_igpu(g, d);
            if (!(d = device_of_slot(devices, count, c->slot))) {
                g = NULL;
                continue;
            }
            if (gpu_process_list_push(out, &g) < 0)
                return error_set(e, -ENOMEM, "out of memory listing DRM processes");
            g->pid = c->pid;
            g->device_index = d->index;
        }
        if (g)
            add_client(g, c);
    }
    if (g)
        memory_for_igpu(g, d);
    return 0;
}

/* ---- the source --------------------------------------------------------------------- */

static int drm_init(void **state, struct error *e)
{
    *state = NULL;
    struct drm_state *st = calloc(1, sizeof *st);
    if (!st)
        return error_set(e, -ENOMEM, "out of memory starting the DRM source");
    int rc = drm_sysfs_scan(&st->cards, &st->count, e);
    if (rc == 0 && st->count == 0) {
        char path[PATH_MAX];
        if (rootfs_path(path, sizeof path, ROOTFS_SYS, "class/drm") < 0)
            str_copy(path, sizeof path, "/sys/class/drm");
        rc = error_set(e, -ENODEV, "no DRM GPU was found in %s", path);
    }
    if (rc < 0) {
        free(st->cards);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static bool owned_by_nvml(const struct drm_card *c, const struct device_list *earlier)
{
    if (c->dev.vendor != VENDOR_NVIDIA || !c->dev.pci_bus_id[0])
        return false;
    for (size_t i = 0; i < earlier->count; i++)
        if (earlier->items[i].vendor == VENDOR_NVIDIA &&
            strcasecmp(earlier->items[i].pci_bus_id, c->dev.pci_bus_id) == 0)
            return true;
    return false;
}

/* NVIDIA cards whose bus id an earlier source (NVML) listed are dropped;
 * slots are positions in what remains. */
static int drm_enumerate(void *state, struct device_list *out, struct error *e)
{
    struct drm_state *st = state;
    size_t kept = 0;
    for (size_t i = 0; i < st->count; i++)
        if (!owned_by_nvml(&st->cards[i], out))
            st->cards[kept++] = st->cards[i];
    st->count = kept;
    for (size_t i = 0; i < st->count; i++) {
        struct device *d;
        if (device_list_push(out, &d) < 0)
            return error_set(e, -ENOMEM, "out of memory listing the DRM GPUs");
        *d = st->cards[i].dev;
        d->source_slot = (int)i;
    }
    return 0;
}

static int drm_refresh(void *state, struct device *devices, size_t count, struct error *e)
{
    (void)e;
    struct drm_state *st = state;
    for (size_t i = 0; i < count; i++) {
        size_t slot = (size_t)devices[i].source_slot;
        if (slot < st->count)
            drm_sysfs_refresh(&st->cards[slot], &devices[i]);
    }
    return 0;
}

static int drm_processes(void *state, struct device *devices, size_t count,
                         struct gpu_process_list *out, struct error *e)
{
    struct drm_state *st = state;
    if (count == 0)
        return 0;
    struct drm_sweep s;
    int rc = drm_sweep(st->cards, st->count, &s, e);
    if (rc == 0)
        rc = fold(&s, devices, count, out, e);
    drm_sweep_free(&s);
    return rc;
}

static void drm_shutdown(void *state)
{
    struct drm_state *st = state;
    if (!st)
        return;
    free(st->cards);
    free(st);
}

const struct source_ops drm_source = {
    .name = "drm",
    .init = drm_init,
    .enumerate = drm_enumerate,
    .refresh = drm_refresh,
    .processes = drm_processes,
    .shutdown = drm_shutdown,
};
