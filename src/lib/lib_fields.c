/* lib_fields.c - libgpuctl's version 2 readers: every field of the
 * snapshot document by its key, MIG instances, and finding devices by
 * index, UUID, PCI bus id or CUDA ordinal.
 *
 * All of it reads the field table (core/fields.h) and the snapshot; the
 * CUDA_VISIBLE_DEVICES rules are filter_cuda_visible's, the same that
 * `list --only-visible` follows.  Nothing here takes a snapshot.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fields.h"
#include "core/filter.h"
#include "core/str.h"
#include "lib/lib.h"

static const struct field_def *field_at(int id)
{
    size_t n;
    const struct field_def *all = fields_all(&n);
    return id >= 0 && (size_t)id < n ? &all[id] : NULL;
}

API size_t gpuctl_field_count(void)
{
    size_t n;
    (void)fields_all(&n);
    return n;
}

API int gpuctl_field_find(enum gpuctl_scope scope, const char *key)
{
    if (!key)
        return -EINVAL;
    size_t n;
    const struct field_def *all = fields_all(&n);
    for (size_t i = 0; i < n; i++)
        if ((int)all[i].scope == (int)scope && strcmp(all[i].key, key) == 0)
            return (int)i;
    return -ENOENT;
}

API const char *gpuctl_field_key(int field)
{
    const struct field_def *f = field_at(field);
    return f ? f->key : NULL;
}

static bool is_text(const struct field_def *f)
{
    return f->kind == FIELD_STR || f->kind == FIELD_STRPTR || f->kind == FIELD_CHAR;
}

API const char *gpuctl_field_unit(int field)
{
    const struct field_def *f = field_at(field);
    if (!f || is_text(f))
        return NULL;
    switch (f->json) {
    case FIELD_JSON_MIB: return "bytes";
    case FIELD_JSON_MILLI: return strcmp(f->unit, "watts") == 0 ? "milliwatts" : f->unit;
    case FIELD_JSON_NAME: return "";
    default: return f->unit ? f->unit : "";
    }
}

API const char *gpuctl_field_help(int field)
{
    const struct field_def *f = field_at(field);
    return f ? f->help : NULL;
}

API int gpuctl_field_scope(int field)
{
    const struct field_def *f = field_at(field);
    return f ? (int)f->scope : -EINVAL;
}

API int gpuctl_field_is_text(int field)
{
    const struct field_def *f = field_at(field);
    return f ? is_text(f) : -EINVAL;
}

/* ---- MIG instances flattened ------------------------------------------ */

/* Builds the flat MIG list once, when the snapshot is wrapped: after that
 * a snapshot is read-only, so any thread may read it. */
int lib_snapshot_index(gpuctl_snapshot *s, struct error *e)
{
    const struct snapshot *snap = s->snap;
    size_t n = 0;
    for (size_t d = 0; d < snap->device_count; d++)
        n += snap->devices[d].mig_count;
    s->mig_count = 0;
    if (n == 0)
        return 0;
    s->mig_dev = malloc(n * sizeof *s->mig_dev);
    s->mig_sub = malloc(n * sizeof *s->mig_sub);
    if (!s->mig_dev || !s->mig_sub)
        return error_set(e, -ENOMEM, "out of memory listing %zu MIG instances", n);
    for (size_t d = 0; d < snap->device_count; d++) {
        for (size_t m = 0; m < snap->devices[d].mig_count; m++) {
            s->mig_dev[s->mig_count] = d;
            s->mig_sub[s->mig_count++] = m;
        }
    }
    return 0;
}

API size_t gpuctl_mig_count(const gpuctl_snapshot *s)
{
    return s ? s->mig_count : 0;
}

API int gpuctl_mig_parent(const gpuctl_snapshot *s, size_t mig, size_t *device)
{
    if (!s || !device || mig >= s->mig_count)
        return -EINVAL;
    *device = s->mig_dev[mig];
    return 0;
}

static const struct mig_instance *mig_at(const gpuctl_snapshot *s, size_t mig)
{
    if (!s || mig >= s->mig_count)
        return NULL;
    return &s->snap->devices[s->mig_dev[mig]].migs[s->mig_sub[mig]];
}

/* NVML names a MIG device "<GPU name> MIG <profile>"; the profile is the
 * word after "MIG ". */
API int gpuctl_mig_profile(const gpuctl_snapshot *s, size_t mig, char *buf, size_t size)
{
    const struct mig_instance *m = mig_at(s, mig);
    if (!m || !buf || size == 0)
        return -EINVAL;
    const char *at = strstr(m->name, "MIG ");
    if (!at || !at[4])
        return GPUCTL_ENODATA;
    str_copy(buf, size, at + 4);
    return 0;
}

/* ---- generic reads ----------------------------------------------------- */

static const void *record_of(const gpuctl_snapshot *s, enum field_scope scope, size_t item)
{
    if (!s)
        return NULL;
    const struct snapshot *snap = s->snap;
    switch (scope) {
    case FIELD_DEVICE: return item < snap->device_count ? &snap->devices[item] : NULL;
    case FIELD_MIG: return mig_at(s, item);
    case FIELD_GPU_PROCESS: return item < snap->gproc_count ? &snap->gprocs[item] : NULL;
    case FIELD_HOST_PROCESS: return item < snap->hproc_count ? &snap->hprocs[item] : NULL;
    case FIELD_HOST: return item == 0 ? &snap->host : NULL;
    }
    return NULL;
}

static const void *checked_record(const gpuctl_snapshot *s, enum gpuctl_scope scope,
                                  size_t item, int field, const struct field_def **f)
{
    *f = field_at(field);
    if (!*f || (int)(*f)->scope != (int)scope)
        return NULL;
    return record_of(s, (*f)->scope, item);
}

API int gpuctl_get_double(const gpuctl_snapshot *s, enum gpuctl_scope scope, size_t item,
                          int field, double *out)
{
    const struct field_def *f;
    const void *rec = checked_record(s, scope, item, field, &f);
    if (!rec || !out)
        return -EINVAL;
    return fields_get_f64(f, rec, out) ? 0 : GPUCTL_ENODATA;
}

static size_t item_count(const gpuctl_snapshot *s, enum field_scope scope)
{
    switch (scope) {
    case FIELD_DEVICE: return s->snap->device_count;
    case FIELD_MIG: return s->mig_count;
    case FIELD_GPU_PROCESS: return s->snap->gproc_count;
    case FIELD_HOST_PROCESS: return s->snap->hproc_count;
    case FIELD_HOST: return 1;
    }
    return 0;
}

API size_t gpuctl_get_doubles(const gpuctl_snapshot *s, enum gpuctl_scope scope, int field,
                              double *out, size_t cap)
{
    const struct field_def *f = field_at(field);
    if (!s || !out || !f || (int)f->scope != (int)scope)
        return 0;
    size_t n = item_count(s, f->scope);
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        if (!fields_get_f64(f, record_of(s, f->scope, i), &out[i]))
            out[i] = NAN;
    return n;
}

/* One-character strings for FIELD_CHAR (a process state such as 'R'). */
static const char *char_text(char c)
{
    static const char letters[] = "RSDZTtXxKWPI";
    static const char *const texts[] = {"R", "S", "D", "Z", "T", "t", "X", "x", "K", "W",
                                        "P", "I"};
    const char *at = c ? strchr(letters, c) : NULL;
    return at ? texts[at - letters] : NULL;
}

API const char *gpuctl_get_string(const gpuctl_snapshot *s, enum gpuctl_scope scope,
                                  size_t item, int field)
{
    const struct field_def *f;
    const void *rec = checked_record(s, scope, item, field, &f);
    if (!rec)
        return NULL;
    const void *slot = fields_cslot(f, rec);
    switch (f->kind) {
    case FIELD_STR: return *(const char *)slot ? slot : NULL;
    case FIELD_STRPTR: {
        const char *p = *(const char *const *)slot;
        return p && *p ? p : NULL;
    }
    case FIELD_CHAR: return char_text(*(const char *)slot);
    default: break;
    }
    double v;
    if (f->json != FIELD_JSON_NAME || !fields_get_f64(f, rec, &v) || v < 0 ||
        v >= (double)f->name_count)
        return NULL;
    return f->names[(size_t)v];
}

API const char *gpuctl_snapshot_info(const gpuctl_snapshot *s, const char *key)
{
    if (!s || !key)
        return NULL;
    const struct snapshot *snap = s->snap;
    const char *v = NULL;
    if (strcmp(key, "driver_version") == 0)
        v = snap->driver_version;
    else if (strcmp(key, "cuda_version") == 0)
        v = snap->cuda_version;
    else if (strcmp(key, "nvml_version") == 0)
        v = snap->nvml_version;
    else if (strcmp(key, "host") == 0)
        v = snap->host.hostname;
    return v && *v ? v : NULL;
}

/* ---- finding devices -------------------------------------------------- */

/* "00000000:18:00.0", "0000:18:00.0" and "18:00.0" all name bus 18,
 * device 00, function 0 of domain 0. */
static bool parse_bus_id(const char *text, unsigned long out[4])
{
    unsigned long v[4] = {0};
    int parts = 0;
    const char *p = text;
    while (*p && parts < 4) {
        char *end;
        if (!isxdigit((unsigned char)*p))
            return false;
        v[parts++] = strtoul(p, &end, 16);
        p = end;
        if (*p == ':' || (*p == '.' && parts >= 2))
            p++;
        else if (*p)
            return false;
    }
    if (*p || parts < 3)
        return false;
    if (parts == 3) {               /* no domain */
        out[0] = 0;
        memcpy(out + 1, v, 3 * sizeof *v);
    } else {
        memcpy(out, v, sizeof v);
    }
    return true;
}

static int find_by_bus_id(const struct snapshot *snap, const char *id)
{
    unsigned long want[4], have[4];
    if (!parse_bus_id(id, want))
        return -1;
    for (size_t i = 0; i < snap->device_count; i++)
        if (parse_bus_id(snap->devices[i].pci_bus_id, have) && memcmp(want, have, sizeof want) == 0)
            return (int)i;
    return -1;
}

static int find_by_index(const struct snapshot *snap, const char *id)
{
    char *end;
    errno = 0;
    long v = strtol(id, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    for (size_t i = 0; i < snap->device_count; i++)
        if (snap->devices[i].index == v)
            return (int)i;
    return -1;
}

/* -1: none, -2: several. */
static int find_by_uuid(const struct snapshot *snap, const char *id)
{
    size_t len = strlen(id);
    int found = -1;
    for (size_t i = 0; i < snap->device_count; i++) {
        const char *u = snap->devices[i].uuid;
        if (!*u || strncasecmp(u, id, len) != 0)
            continue;
        if (strlen(u) == len)
            return (int)i;         /* a whole UUID is never ambiguous */
        found = found == -1 ? (int)i : -2;
    }
    return found;
}

API int gpuctl_device_find(const gpuctl_snapshot *s, const char *id, size_t *device, char *err,
                           size_t err_size)
{
    struct error e = {0};
    if (!s || !id || !device)
        return -EINVAL;
    int at = -1;
    bool digits = *id && strspn(id, "0123456789") == strlen(id);
    if (digits)
        at = find_by_index(s->snap, id);
    else if (strncasecmp(id, "GPU-", 4) == 0 || strncasecmp(id, "MIG-", 4) == 0)
        at = find_by_uuid(s->snap, id);
    else
        at = find_by_bus_id(s->snap, id);
    if (at == -2) {
        error_set(&e, -ENOTUNIQ, "%s: more than one device's UUID starts so", id);
        return lib_report(&e, err, err_size);
    }
    if (at < 0) {
        error_set(&e, -ENOENT, "%s: no such device (an index, a GPU- UUID or its prefix, "
                  "or a PCI bus id)", id);
        return lib_report(&e, err, err_size);
    }
    *device = (size_t)at;
    return 0;
}

API int gpuctl_cuda_devices(const gpuctl_snapshot *s, const char *value, size_t *devices,
                            size_t cap, size_t *count)
{
    if (!s || !count || (cap && !devices))
        return -EINVAL;
    const struct snapshot *snap = s->snap;
    *count = 0;
    if (!value) {
        for (size_t i = 0; i < snap->device_count && *count < cap; i++)
            if (snap->devices[i].vendor == VENDOR_NVIDIA)
                devices[(*count)++] = i;
        return 0;
    }
    size_t n = snap->device_count ? snap->device_count : 1;
    int *idx = malloc(n * sizeof *idx);
    if (!idx)
        return -ENOMEM;
    size_t got;
    filter_cuda_visible(value, strlen(value), snap->devices, snap->device_count, idx, n, &got);
    for (size_t i = 0; i < got && i < cap; i++)
        devices[(*count)++] = (size_t)idx[i];
    free(idx);
    return 0;
}

/* ---- host processes ------------------------------------------------- */

API int gpuctl_process_host(const gpuctl_snapshot *s, size_t process, size_t *host_item)
{
    if (!s || !host_item || process >= s->snap->gproc_count)
        return -EINVAL;
    const struct host_process *hp = snapshot_host_process(s->snap, s->snap->gprocs[process].pid);
    if (!hp || !hp->exists)
        return GPUCTL_ENODATA;
    *host_item = (size_t)(hp - s->snap->hprocs);
    return 0;
}

API size_t gpuctl_host_process_count(const gpuctl_snapshot *s)
{
    return s ? s->snap->hproc_count : 0;
}

API int gpuctl_host_process_ident(const gpuctl_snapshot *s, size_t host_item, pid_t *pid,
                                  uint64_t *start_ticks)
{
    if (!s || !pid || !start_ticks || host_item >= s->snap->hproc_count)
        return -EINVAL;
    *pid = s->snap->hprocs[host_item].pid;
    *start_ticks = s->snap->hprocs[host_item].start_ticks;
    return 0;
}
