/* drm_sysfs.c - DRM cards from /sys/class/drm: the scan (which cards are
 * GPUs, identity from the device's uevent) and the metrics of one refresh.
 *
 * One generic reader serves amdgpu, i915, xe and the rest: every driver file
 * and hwmon attribute gpuctl knows is tried, and a file the driver does not
 * have is simply an unknown field.  Hwmon temperatures are placed by their
 * label (edge/pkg, junction, mem/vram), so the same code reads amdgpu's
 * temp1..3 and xe's temp2..3.  Processes and NVML ownership are drm.c's.
 */
#include "sources/drm_sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/str.h"
#include "sources/rootfs.h"

/* ---- small reads ------------------------------------------------------------------- */

/* dir/rel into buf; false when it does not fit. */
static bool join(char *buf, size_t size, const char *dir, const char *rel)
{
    int n = snprintf(buf, size, "%s/%s", dir, rel);
    return n >= 0 && (size_t)n < size;
}

/* dir/rel into buf with surrounding whitespace removed; false when missing. */
static bool read_text(const char *dir, const char *rel, char *buf, size_t size)
{
    char path[PATH_MAX];
    size_t len;
    if (!join(path, sizeof path, dir, rel) || rootfs_read_file(path, buf, size, &len) < 0)
        return false;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
    size_t start = 0;
    while (buf[start] == ' ' || buf[start] == '\t')
        start++;
    memmove(buf, buf + start, len - start + 1);
    return true;
}

static struct opt_i64 read_i64(const char *dir, const char *rel)
{
    struct opt_i64 v = {0};
    char buf[64], *end;
    if (!read_text(dir, rel, buf, sizeof buf) || !buf[0])
        return v;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno == 0 && *end == '\0')
        OPT_SET(v, x);
    return v;
}

static struct opt_u64 read_u64(const char *dir, const char *rel)
{
    struct opt_u64 v = {0};
    struct opt_i64 x = read_i64(dir, rel);
    if (x.known && x.v >= 0)
        OPT_SET(v, (uint64_t)x.v);
    return v;
}

/* ---- uevent and vendor ---------------------------------------------------------------- */

static bool field(const char *line, size_t n, const char *key, const char **value, size_t *vlen)
{
    size_t k = strlen(key);
    if (n < k || memcmp(line, key, k) != 0)
        return false;
    *value = line + k;
    *vlen = n - k;
    return true;
}

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void parse_uevent_line(const char *line, size_t n, struct drm_uevent *out)
{
    const char *v;
    size_t vlen;
    char tmp[32];
    if (field(line, n, "DRIVER=", &v, &vlen)) {
        copy_value(out->driver, sizeof out->driver, v, vlen);
    } else if (field(line, n, "PCI_SLOT_NAME=", &v, &vlen)) {
        copy_value(out->slot, sizeof out->slot, v, vlen);
        for (char *p = out->slot; *p; p++)
            if (*p >= 'A' && *p <= 'F')
                *p = (char)(*p - 'A' + 'a');
    } else if (field(line, n, "PCI_ID=", &v, &vlen)) {
        copy_value(tmp, sizeof tmp, v, vlen);
        unsigned a, b;
        if (sscanf(tmp, "%x:%x", &a, &b) == 2) {
            out->vendor_id = a;
            out->device_id = b;
        }
    } else if (field(line, n, "PCI_CLASS=", &v, &vlen)) {
        copy_value(tmp, sizeof tmp, v, vlen);
        unsigned c;
        if (sscanf(tmp, "%x", &c) == 1)
            out->pci_class = c;
    }
}

void drm_sysfs_parse_uevent(const char *buf, size_t len, struct drm_uevent *out)
{
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;
        parse_uevent_line(buf + at, n, out);
        at += n + 1;
    }
}

enum vendor drm_sysfs_vendor(unsigned pci_vendor, const char *driver)
{
    static const struct { unsigned id; enum vendor v; } ids[] = {
        {0x1002, VENDOR_AMD}, {0x1022, VENDOR_AMD}, {0x8086, VENDOR_INTEL},
        {0x10de, VENDOR_NVIDIA},
    };
    static const struct { const char *driver; enum vendor v; } drivers[] = {
        {"amdgpu", VENDOR_AMD}, {"radeon", VENDOR_AMD}, {"i915", VENDOR_INTEL},
        {"xe", VENDOR_INTEL}, {"nvidia", VENDOR_NVIDIA}, {"nouveau", VENDOR_NVIDIA},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i].id == pci_vendor)
            return ids[i].v;
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i].driver, driver) == 0)
            return drivers[i].v;
    return VENDOR_OTHER;
}

/* ---- the scan ------------------------------------------------------------------------- */

/* "card0" but not "card0-DP-1". */
static bool card_name(const char *name, unsigned *minor)
{
    if (strncmp(name, "card", 4) != 0 || !name[4])
        return false;
    char *end;
    errno = 0;
    unsigned long m = strtoul(name + 4, &end, 10);
    if (*end || errno || m > 1u << 20 || name[4] < '0' || name[4] > '9')
        return false;
    *minor = (unsigned)m;
    return true;
}

static void find_nodes(struct drm_card *c)
{
    char path[PATH_MAX];
    DIR *d = join(path, sizeof path, c->dir, "device/drm") ? opendir(path) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) && c->node_count < DRM_CARD_MAX_NODES) {
        const char *n = de->d_name;
        bool node = strncmp(n, "renderD", 7) == 0 || (strncmp(n, "card", 4) == 0 && !strchr(n, '-'));
        if (node && strlen(n) < sizeof c->nodes[0])
            str_copy(c->nodes[c->node_count++], sizeof c->nodes[0], n);
    }
    if (d)
        closedir(d);
    if (c->node_count == 0)
        str_copy(c->nodes[c->node_count++], sizeof c->nodes[0], c->name);
}

static bool has_render_node(const struct drm_card *c)
{
    for (size_t i = 0; i < c->node_count; i++)
        if (strncmp(c->nodes[i], "renderD", 7) == 0)
            return true;
    return false;
}

/* The lowest-numbered hwmonN under device/hwmon. */
static void find_hwmon(struct drm_card *c)
{
    char path[PATH_MAX];
    DIR *d = join(path, sizeof path, c->dir, "device/hwmon") ? opendir(path) : NULL;
    struct dirent *de;
    long best = -1;
    while (d && (de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "hwmon", 5) != 0 || !de->d_name[5])
            continue;
        long n = strtol(de->d_name + 5, &end, 10);
        if (*end == '\0' && n >= 0 && (best < 0 || n < best))
            best = n;
    }
    if (d)
        closedir(d);
    char name[32];
    snprintf(name, sizeof name, "hwmon%ld", best);
    if (best < 0 || !join(c->hwmon, sizeof c->hwmon, path, name))
        c->hwmon[0] = '\0';
}

/* xe: VRAM is the sum of the tiles' physical_vram_size_bytes. */
static void xe_vram(struct drm_card *c)
{
    char dev[PATH_MAX + 8], rel[32];
    snprintf(dev, sizeof dev, "%s/device", c->dir);
    uint64_t sum = 0;
    bool any = false;
    for (int t = 0; t < 8; t++) {
        snprintf(rel, sizeof rel, "tile%d/physical_vram_size_bytes", t);
        struct opt_u64 v = read_u64(dev, rel);
        if (v.known) {
            sum += v.v;
            any = true;
        }
    }
    if (any)
        OPT_SET(c->dev.mem_total_bytes, sum);
}

static void identity(struct drm_card *c, const struct drm_uevent *u)
{
    char dev[PATH_MAX + 8], name[96];
    snprintf(dev, sizeof dev, "%s/device", c->dir);
    struct device *d = &c->dev;
    d->vendor = drm_sysfs_vendor(u->vendor_id, u->driver);
    str_copy(d->driver, sizeof d->driver, u->driver);
    str_copy(d->pci_bus_id, sizeof d->pci_bus_id, u->slot);
    c->pci_vendor = u->vendor_id;
    c->pci_device = u->device_id;
    c->named_by_kernel = read_text(dev, "product_name", name, sizeof name) && name[0];
    if (c->named_by_kernel)
        str_copy(d->name, sizeof d->name, name);
    else if (u->vendor_id)
        snprintf(d->name, sizeof d->name, "%s %04x:%04x", u->driver[0] ? u->driver : "drm",
                 u->vendor_id, u->device_id);
    else
        snprintf(d->name, sizeof d->name, "%s %s", u->driver[0] ? u->driver : "drm", c->name);
    if (read_text(dev, "unique_id", name, sizeof name) && name[0])
        str_copy(d->uuid, sizeof d->uuid, name);
    char module[PATH_MAX];
    if (u->driver[0] && rootfs_path(module, sizeof module, ROOTFS_SYS, "module/%s", u->driver) == 0)
        read_text(module, "version", d->driver_version, sizeof d->driver_version);
    xe_vram(c);
}

/* Reads card name's facts; false when it is not a GPU. */
static bool read_card(struct drm_card *c, const char *name, unsigned minor)
{
    memset(c, 0, sizeof *c);
    str_copy(c->name, sizeof c->name, name);
    c->minor = minor;
    if (rootfs_path(c->dir, sizeof c->dir, ROOTFS_SYS, "class/drm/%s", name) < 0)
        return false;
    char path[PATH_MAX], buf[2048];
    size_t len;
    struct drm_uevent u = {0};
    if (join(path, sizeof path, c->dir, "device/uevent") &&
        rootfs_read_file(path, buf, sizeof buf, &len) == 0)
        drm_sysfs_parse_uevent(buf, len, &u);
    find_nodes(c);
    if (!has_render_node(c) && (u.pci_class >> 16) != 0x03)
        return false;
    find_hwmon(c);
    c->has_busy = join(path, sizeof path, c->dir, "device/gpu_busy_percent") &&
                  access(path, F_OK) == 0;
    identity(c, &u);
    c->dev.util_from_clients = !c->has_busy;
    return true;
}

/* ---- pci.ids ------------------------------------------------------------------------ */

/* The line starting at buf[at], without its newline. */
static size_t line_end(const char *buf, size_t len, size_t at)
{
    const char *nl = memchr(buf + at, '\n', len - at);
    return nl ? (size_t)(nl - buf) : len;
}

/* "<indent>xxxx  Name": the id and where the name starts; false otherwise. */
static bool id_line(const char *l, size_t n, size_t indent, unsigned *id, size_t *name_at)
{
    if (n < indent + 7)
        return false;
    for (size_t i = 0; i < indent; i++)
        if (l[i] != '\t')
            return false;
    unsigned v = 0;
    for (size_t i = indent; i < indent + 4; i++) {
        char ch = l[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (unsigned)d;
    }
    if (l[indent + 4] != ' ' || l[indent + 5] != ' ')
        return false;
    *id = v;
    *name_at = indent + 6;
    return true;
}

bool drm_sysfs_pci_ids_name(const char *buf, size_t len, unsigned vendor, unsigned device,
                            char *out, size_t size)
{
    bool in_vendor = false;
    for (size_t at = 0; at < len;) {
        size_t end = line_end(buf, len, at), name_at;
        const char *l = buf + at;
        size_t n = end - at;
        unsigned id;
        if (n && l[0] != '\t' && l[0] != '#') {
            if (in_vendor)
                return false;          /* the next vendor: not listed */
            in_vendor = id_line(l, n, 0, &id, &name_at) && id == vendor;
        } else if (in_vendor && id_line(l, n, 1, &id, &name_at) && id == device) {
            size_t k = n - name_at < size - 1 ? n - name_at : size - 1;
            memcpy(out, l + name_at, k);
            out[k] = '\0';
            return k > 0;
        }
        at = end + 1;
    }
    return false;
}

static void name_from_pci_ids(struct drm_card *cards, size_t count)
{
    static const char *const defaults[] = {"/usr/share/misc/pci.ids",
                                           "/usr/share/hwdata/pci.ids", NULL};
    bool wanted = false;
    for (size_t i = 0; i < count; i++)
        wanted |= !cards[i].named_by_kernel && cards[i].pci_vendor;
    const char *env = getenv("GPUCTL_PCI_IDS");
    int fd = -1;
    for (size_t i = 0; wanted && fd < 0 && (env ? i == 0 : defaults[i] != NULL); i++)
        fd = open(env ? env : defaults[i], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    for (size_t i = 0; i < count; i++) {
        struct drm_card *c = &cards[i];
        char name[96];
        if (!c->named_by_kernel && c->pci_vendor &&
            drm_sysfs_pci_ids_name(map, (size_t)st.st_size, c->pci_vendor, c->pci_device, name,
                                   sizeof name))
            str_copy(c->dev.name, sizeof c->dev.name, name);
    }
    munmap(map, (size_t)st.st_size);
}

static int by_bus_then_minor(const void *a, const void *b)
{
    const struct drm_card *x = a, *y = b;
    bool xp = x->dev.pci_bus_id[0], yp = y->dev.pci_bus_id[0];
    if (xp != yp)
        return xp ? -1 : 1;
    int c = strcmp(x->dev.pci_bus_id, y->dev.pci_bus_id);
    if (c)
        return c;
    return (x->minor > y->minor) - (x->minor < y->minor);
}

int drm_sysfs_scan(struct drm_card **cards, size_t *count, struct error *e)
{
    *cards = NULL;
    *count = 0;
    char path[PATH_MAX];
    if (rootfs_path(path, sizeof path, ROOTFS_SYS, "class/drm") < 0)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        unsigned minor;
        if (!card_name(de->d_name, &minor))
            continue;
        if (*count == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct drm_card *n = realloc(*cards, ncap * sizeof *n);
            if (!n) {
                rc = error_set(e, -ENOMEM, "out of memory reading the DRM cards in %s", path);
                break;
            }
            *cards = n;
            cap = ncap;
        }
        if (read_card(&(*cards)[*count], de->d_name, minor))
            ++*count;
    }
    closedir(d);
    if (rc < 0) {
        free(*cards);
        *cards = NULL;
        *count = 0;
        return rc;
    }
    if (*count)
        qsort(*cards, *count, sizeof **cards, by_bus_then_minor);
    name_from_pci_ids(*cards, *count);
    return 0;
}

/* ---- refresh -------------------------------------------------------------------------- */

static void memory(const char *dev, struct device *d)
{
    d->mem_used_bytes = read_u64(dev, "mem_info_vram_used");
    struct opt_u64 total = read_u64(dev, "mem_info_vram_total");
    if (total.known)
        d->mem_total_bytes = total;
    if (d->mem_total_bytes.known && d->mem_used_bytes.known &&
        d->mem_total_bytes.v >= d->mem_used_bytes.v)
        OPT_SET(d->mem_free_bytes, d->mem_total_bytes.v - d->mem_used_bytes.v);
    d->gtt_total_bytes = read_u64(dev, "mem_info_gtt_total");
    d->gtt_used_bytes = read_u64(dev, "mem_info_gtt_used");
}

static void utilisation(const char *dev, struct device *d)
{
    struct opt_u64 busy = read_u64(dev, "gpu_busy_percent");
    struct opt_u64 mem = read_u64(dev, "mem_busy_percent");
    if (busy.known)
        OPT_SET(d->util_gpu_pct, (double)busy.v);
    if (mem.known)
        OPT_SET(d->util_mem_pct, (double)mem.v);
}

/* "16.0 GT/s PCIe" to a PCIe generation. */
static struct opt_u64 link_gen(const char *dev, const char *rel)
{
    static const struct { double gts; unsigned gen; } gens[] = {
        {2.5, 1}, {5, 2}, {8, 3}, {16, 4}, {32, 5}, {64, 6},
    };
    struct opt_u64 g = {0};
    char buf[64];
    if (!read_text(dev, rel, buf, sizeof buf))
        return g;
    double gts = strtod(buf, NULL);
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++)
        if (gts > gens[i].gts - 0.1 && gts < gens[i].gts + 0.1)
            OPT_SET(g, gens[i].gen);
    return g;
}

static void pcie(const char *dev, struct device *d)
{
    d->pcie_gen = link_gen(dev, "current_link_speed");
    d->pcie_gen_max = link_gen(dev, "max_link_speed");
    d->pcie_width = read_u64(dev, "current_link_width");
    d->pcie_width_max = read_u64(dev, "max_link_width");
}

/* i915 in the card folder, xe per GT (tile0/gt0 is the render GT). */
static void intel_clocks(const struct drm_card *c, const char *dev, struct device *d)
{
    struct opt_u64 cur = read_u64(c->dir, "gt_cur_freq_mhz");
    struct opt_u64 max = read_u64(c->dir, "gt_max_freq_mhz");
    if (!cur.known) {
        cur = read_u64(dev, "tile0/gt0/freq0/act_freq");
        if (!cur.known)
            cur = read_u64(dev, "tile0/gt0/freq0/cur_freq");
        max = read_u64(dev, "tile0/gt0/freq0/max_freq");
    }
    if (cur.known)
        d->clock_graphics_mhz = cur;
    if (max.known)
        d->clock_graphics_max_mhz = max;
}

/* The main sensor, with its limits: amdgpu's temp_crit is where the GPU
 * slows down, temp_emergency where it shuts down. */
static void edge_sensor(const char *hw, int i, int64_t c, struct device *d)
{
    char rel[32];
    OPT_SET(d->temp_c, c);
    snprintf(rel, sizeof rel, "temp%d_crit", i);
    struct opt_i64 crit = read_i64(hw, rel);
    snprintf(rel, sizeof rel, "temp%d_emergency", i);
    struct opt_i64 emergency = read_i64(hw, rel);
    if (crit.known)
        OPT_SET(d->temp_slowdown_c, crit.v / 1000);
    if (emergency.known)
        OPT_SET(d->temp_shutdown_c, emergency.v / 1000);
}

static void hwmon_temps(const char *hw, struct device *d)
{
    char rel[32], label[32];
    for (int i = 1; i <= 6; i++) {
        snprintf(rel, sizeof rel, "temp%d_input", i);
        struct opt_i64 t = read_i64(hw, rel);
        if (!t.known)
            continue;
        int64_t c = t.v / 1000;   /* millidegrees */
        snprintf(rel, sizeof rel, "temp%d_label", i);
        if (!read_text(hw, rel, label, sizeof label))
            label[0] = '\0';
        if (strcmp(label, "junction") == 0 || strcmp(label, "hotspot") == 0)
            OPT_SET(d->temp_hotspot_c, c);
        else if (strcmp(label, "mem") == 0 || strcmp(label, "vram") == 0)
            OPT_SET(d->temp_mem_c, c);
        else if (!d->temp_c.known)
            edge_sensor(hw, i, c, d);
    }
}

static void hwmon_power(const char *hw, struct device *d)
{
    struct opt_u64 p = read_u64(hw, "power1_average");
    if (!p.known)
        p = read_u64(hw, "power1_input");
    if (p.known)
        OPT_SET(d->power_mw, p.v / 1000);           /* microwatts */
    struct opt_u64 cap = read_u64(hw, "power1_cap");
    if (!cap.known)
        cap = read_u64(hw, "power1_max");
    if (cap.known && cap.v > 0)
        OPT_SET(d->power_limit_mw, cap.v / 1000);
    d->energy_uj = read_u64(hw, "energy1_input");   /* microjoules */
}

static void hwmon_fan_and_clocks(const char *hw, struct device *d)
{
    char rel[32];
    for (int i = 1; i <= 3 && !d->fan_rpm.known; i++) {
        snprintf(rel, sizeof rel, "fan%d_input", i);
        d->fan_rpm = read_u64(hw, rel);
    }
    struct opt_u64 pwm = read_u64(hw, "pwm1"), pwm_max = read_u64(hw, "pwm1_max");
    uint64_t top = pwm_max.known && pwm_max.v ? pwm_max.v : 255;
    if (pwm.known && pwm.v <= top)
        OPT_SET(d->fan_pct, 100.0 * (double)pwm.v / (double)top);
    struct opt_u64 sclk = read_u64(hw, "freq1_input"), mclk = read_u64(hw, "freq2_input");
    if (sclk.known && !d->clock_graphics_mhz.known)
        OPT_SET(d->clock_graphics_mhz, sclk.v / 1000000);   /* hertz */
    if (mclk.known)
        OPT_SET(d->clock_mem_mhz, mclk.v / 1000000);
}

void drm_sysfs_refresh(const struct drm_card *c, struct device *d)
{
    char dev[PATH_MAX + 8];
    snprintf(dev, sizeof dev, "%s/device", c->dir);
    if (access(dev, F_OK) < 0) {
        snprintf(d->status, sizeof d->status, "%s is gone from sysfs (GPU removed or driver "
                 "unloaded)", c->name);
        return;
    }
    memory(dev, d);
    utilisation(dev, d);
    pcie(dev, d);
    intel_clocks(c, dev, d);
    if (c->hwmon[0]) {
        hwmon_temps(c->hwmon, d);
        hwmon_power(c->hwmon, d);
        hwmon_fan_and_clocks(c->hwmon, d);
    }
}
