/* drm_fdinfo.c - the DRM client usage-stats parser (drm_fdinfo.h).
 *
 * One pass over the lines, no allocation, no NUL-terminated assumption about
 * the input: every value is a (pointer, length) slice of the caller's
 * buffer.  What the numbers mean per process (summing clients, choosing the
 * VRAM figure, rates) is left to drm.c and the sampler.
 */
#include "sources/drm_fdinfo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct slice {
    const char *p;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct slice trim(struct slice s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool eq(struct slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Strips prefix from *s when it is there. */
static bool take_prefix(struct slice *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (s->n <= n || memcmp(s->p, prefix, n) != 0)
        return false;
    s->p += n;
    s->n -= n;
    return true;
}

static void copy_slice(char *dst, size_t size, struct slice s)
{
    size_t n = s.n < size - 1 ? s.n : size - 1;
    memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* Leading decimal digits of *s into *v, consuming them; false on none or
 * overflow. */
static bool take_u64(struct slice *s, uint64_t *v)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i < s->n && s->p[i] >= '0' && s->p[i] <= '9'; i++) {
        unsigned d = (unsigned)(s->p[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    if (i == 0)
        return false;
    *v = acc;
    s->p += i;
    s->n -= i;
    return true;
}

/* A number followed by nothing or by one of the units; multiplier per unit. */
struct unit {
    const char *name;
    uint64_t mult;
};

static int number_with_unit(struct slice s, const struct unit *units, uint64_t *out)
{
    uint64_t v;
    s = trim(s);
    if (!take_u64(&s, &v))
        return -EINVAL;
    s = trim(s);
    for (const struct unit *u = units; u->name; u++) {
        if (!eq(s, u->name))
            continue;
        if (u->mult > 1 && v > UINT64_MAX / u->mult)
            return -EINVAL;
        *out = v * u->mult;
        return 0;
    }
    return -EINVAL;
}

static const struct unit size_units[] = {
    {"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024},
    {"GiB", 1024ull * 1024 * 1024}, {"kB", 1024}, {NULL, 0},
};
static const struct unit ns_units[] = {{"", 1}, {"ns", 1}, {NULL, 0}};
static const struct unit plain_units[] = {{"", 1}, {NULL, 0}};
static const struct unit freq_units[] = {
    {"", 1}, {"Hz", 1}, {"KHz", 1000}, {"kHz", 1000}, {"MHz", 1000000}, {NULL, 0},
};

int drm_fdinfo_parse_size(const char *s, size_t len, uint64_t *bytes)
{
    return number_with_unit((struct slice){s, len}, size_units, bytes);
}

static void set_number(struct slice value, const struct unit *units, struct opt_u64 *field)
{
    uint64_t v;
    if (number_with_unit(value, units, &v) == 0)
        OPT_SET(*field, v);
}

/* ---- engines and regions ------------------------------------------------------ */

/* An engine or region name the kernel could print: printable ASCII, no
 * NUL (which would end the copied name early, leaving it empty or cut). */
static bool name_ok(struct slice name)
{
    if (name.n == 0 || name.n >= DRM_FDINFO_NAME_MAX)
        return false;
    for (size_t i = 0; i < name.n; i++)
        if ((unsigned char)name.p[i] <= ' ' || (unsigned char)name.p[i] >= 0x7f)
            return false;
    return true;
}

static struct drm_fdinfo_engine *engine(struct drm_fdinfo *f, struct slice name)
{
    if (!name_ok(name))
        return NULL;
    for (size_t i = 0; i < f->engine_count; i++)
        if (eq(name, f->engines[i].name))
            return &f->engines[i];
    if (f->engine_count == DRM_FDINFO_MAX_ENGINES)
        return NULL;
    struct drm_fdinfo_engine *e = &f->engines[f->engine_count++];
    copy_slice(e->name, sizeof e->name, name);
    return e;
}

static struct drm_fdinfo_region *region(struct drm_fdinfo *f, struct slice name)
{
    if (!name_ok(name))
        return NULL;
    for (size_t i = 0; i < f->region_count; i++)
        if (eq(name, f->regions[i].name))
            return &f->regions[i];
    if (f->region_count == DRM_FDINFO_MAX_REGIONS)
        return NULL;
    struct drm_fdinfo_region *r = &f->regions[f->region_count++];
    copy_slice(r->name, sizeof r->name, name);
    return r;
}

/* drm-engine-capacity-<e>, drm-engine-<e>, drm-cycles-<e>, drm-total-cycles-<e>,
 * drm-maxfreq-<e>.  Longer prefixes first: "drm-engine-capacity-" is also a
 * "drm-engine-" key. */
static bool engine_key(struct drm_fdinfo *f, struct slice key, struct slice value)
{
    static const struct {
        const char *prefix;
        const struct unit *units;
        size_t field;
    } keys[] = {
        {"drm-engine-capacity-", plain_units, offsetof(struct drm_fdinfo_engine, capacity)},
        {"drm-engine-", ns_units, offsetof(struct drm_fdinfo_engine, busy_ns)},
        {"drm-total-cycles-", plain_units, offsetof(struct drm_fdinfo_engine, total_cycles)},
        {"drm-cycles-", plain_units, offsetof(struct drm_fdinfo_engine, cycles)},
        {"drm-maxfreq-", freq_units, offsetof(struct drm_fdinfo_engine, maxfreq_hz)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct slice name = key;
        if (!take_prefix(&name, keys[i].prefix))
            continue;
        struct drm_fdinfo_engine *e = engine(f, name);
        if (e)
            set_number(value, keys[i].units, (struct opt_u64 *)((char *)e + keys[i].field));
        return true;
    }
    return false;
}

static bool region_key(struct drm_fdinfo *f, struct slice key, struct slice value)
{
    static const struct {
        const char *prefix;
        size_t field;
    } keys[] = {
        {"drm-total-", offsetof(struct drm_fdinfo_region, total)},
        {"drm-shared-", offsetof(struct drm_fdinfo_region, shared)},
        {"drm-resident-", offsetof(struct drm_fdinfo_region, resident)},
        {"drm-purgeable-", offsetof(struct drm_fdinfo_region, purgeable)},
        {"drm-active-", offsetof(struct drm_fdinfo_region, active)},
        {"drm-memory-", offsetof(struct drm_fdinfo_region, memory)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct slice name = key;
        if (!take_prefix(&name, keys[i].prefix))
            continue;
        struct drm_fdinfo_region *r = region(f, name);
        if (r)
            set_number(value, size_units, (struct opt_u64 *)((char *)r + keys[i].field));
        return true;
    }
    return false;
}

/* ---- the amdgpu format of kernels 5.14-5.18 --------------------------------------- */

/* "12.5%" (the kernel prints "%d.%d%%"). */
static bool percent(struct slice v, double *out)
{
    v = trim(v);
    if (v.n < 2 || v.n > 31 || v.p[v.n - 1] != '%')
        return false;
    char buf[32];
    copy_slice(buf, sizeof buf, (struct slice){v.p, v.n - 1});
    if (!(buf[0] >= '0' && buf[0] <= '9'))
        return false;
    char *end;
    double d = strtod(buf, &end);
    if (*end || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* "gfx0: 12.5%": the IP name without its instance number. */
static bool legacy_engine(struct drm_fdinfo *f, struct slice key, struct slice value)
{
    double pct;
    size_t n = key.n;
    while (n && key.p[n - 1] >= '0' && key.p[n - 1] <= '9')
        n--;
    if (n == key.n || n == 0 || !percent(value, &pct))
        return false;
    struct drm_fdinfo_engine *e = engine(f, (struct slice){key.p, n});
    if (e && (!e->legacy_pct.known || pct > e->legacy_pct.v))
        OPT_SET(e->legacy_pct, pct);
    return true;
}

static bool legacy_key(struct drm_fdinfo *f, struct slice key, struct slice value,
                       struct opt_u64 *pasid)
{
    static const char *const mem_regions[][2] = {
        {"vram mem", "vram"}, {"gtt mem", "gtt"}, {"cpu mem", "cpu"},
    };
    if (eq(key, "pdev")) {
        copy_slice(f->pdev, sizeof f->pdev, trim(value));
        return true;
    }
    if (eq(key, "pasid")) {
        set_number(value, plain_units, pasid);
        return true;
    }
    for (size_t i = 0; i < sizeof mem_regions / sizeof mem_regions[0]; i++) {
        if (!eq(key, mem_regions[i][0]))
            continue;
        const char *name = mem_regions[i][1];
        struct drm_fdinfo_region *r = region(f, (struct slice){name, strlen(name)});
        if (r)
            set_number(value, size_units, &r->memory);
        return true;
    }
    return legacy_engine(f, key, value);
}

/* ---- lines ------------------------------------------------------------------------ */

static void line(struct drm_fdinfo *f, struct slice l, struct opt_u64 *pasid, bool *old_pdev)
{
    const char *colon = memchr(l.p, ':', l.n);
    if (!colon)
        return;
    struct slice key = trim((struct slice){l.p, (size_t)(colon - l.p)});
    struct slice value = trim((struct slice){colon + 1, l.n - (size_t)(colon - l.p) - 1});
    if (eq(key, "drm-driver"))
        copy_slice(f->driver, sizeof f->driver, value);
    else if (eq(key, "drm-pdev"))
        copy_slice(f->pdev, sizeof f->pdev, value);
    else if (eq(key, "drm-client-id"))
        set_number(value, plain_units, &f->client_id);
    else if (engine_key(f, key, value) || region_key(f, key, value))
        return;
    else if (key.n < 3 || memcmp(key.p, "drm", 3) != 0) {
        if (eq(key, "pdev"))
            *old_pdev = true;
        (void)legacy_key(f, key, value, pasid);
    }
}

int drm_fdinfo_parse(const char *buf, size_t len, struct drm_fdinfo *out)
{
    memset(out, 0, sizeof *out);
    struct opt_u64 pasid = {0};
    bool old_pdev = false;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl)
            break;            /* a last line without its newline was cut short */
        line(out, (struct slice){buf + at, (size_t)(nl - (buf + at))}, &pasid, &old_pdev);
        at = (size_t)(nl - buf) + 1;
    }
    if (out->client_id.known || out->driver[0])
        return 0;
    if (old_pdev && pasid.known && out->pdev[0]) {
        out->legacy_amdgpu = true;
        out->client_id = pasid;
        if (!out->driver[0])
            memcpy(out->driver, "amdgpu", sizeof "amdgpu");
        return 0;
    }
    return -ENOENT;
}

/* ---- what the regions mean -------------------------------------------------------- */

bool drm_fdinfo_region_is_vram(const char *name)
{
    return strncmp(name, "vram", 4) == 0 || strncmp(name, "local", 5) == 0;
}

struct opt_u64 drm_fdinfo_region_used(const struct drm_fdinfo_region *r)
{
    return r->resident.known ? r->resident : r->memory.known ? r->memory : r->total;
}

/* ---- debugfs clients ---------------------------------------------------------------- */

/* The command is printed "%20s" and is at most 15 characters (TASK_COMM_LEN
 * - 1) or "<unknown>", so the tgid always starts after column 20, whatever
 * spaces the command holds. */
#define CLIENTS_COMMAND_WIDTH 20

static int client_line(struct slice l, pid_t *pid)
{
    if (l.n <= CLIENTS_COMMAND_WIDTH || l.p[CLIENTS_COMMAND_WIDTH] != ' ')
        return -EINVAL;
    struct slice rest = trim((struct slice){l.p + CLIENTS_COMMAND_WIDTH, l.n - CLIENTS_COMMAND_WIDTH});
    uint64_t v;
    if (!take_u64(&rest, &v) || v == 0 || v > 0x7fffffff || (rest.n && !is_space(rest.p[0])))
        return -EINVAL;
    *pid = (pid_t)v;
    return 0;
}

int drm_fdinfo_parse_clients(const char *buf, size_t len, pid_t *pids, size_t cap,
                             size_t *count)
{
    *count = 0;
    size_t at = 0;
    bool header = true;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl)
            return -EINVAL;                /* cut short: the list is not whole */
        struct slice l = {buf + at, (size_t)(nl - (buf + at))};
        at = (size_t)(nl - buf) + 1;
        if (header) {
            header = false;
            continue;
        }
        pid_t pid;
        if (client_line(l, &pid) < 0)
            return -EINVAL;
        if (*count < cap)
            pids[*count] = pid;
        ++*count;
    }
    return header ? -EINVAL : 0;
}
