/* scenario.c - reads a fake NVML scenario (JSON) into struct scenario.
 *
 * json_dom.c turns the text into a tree; this file checks every field's type
 * and range, refuses unknown fields (a typo would otherwise silently turn a
 * value into NOT_SUPPORTED) and copies what it keeps into one arena, so a
 * scenario is freed in one call and a re-read never leaves half of the old
 * one behind.  A refused file is described in one line
 * "FILE:LINE:COLUMN: path: problem", the position being that of the value at
 * fault.  (jansson would do the JSON too, but parsing a 256-process scenario
 * with it costs about 0.4 ms, and the fake runs inside benchmarks.)
 *
 * What the values mean to the NVML calls is fake_nvml.c's business; the
 * schema itself is documented in README.md.
 */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "json_dom.h"

/* ---- error names and entry-point names ------------------------------------ */

static const struct {
    nvmlReturn_t code;
    const char *name;
    const char *text;
} error_table[] = {
    {NVML_SUCCESS, "SUCCESS", "Success"},
    {NVML_ERROR_UNINITIALIZED, "UNINITIALIZED", "Uninitialized"},
    {NVML_ERROR_INVALID_ARGUMENT, "INVALID_ARGUMENT", "Invalid Argument"},
    {NVML_ERROR_NOT_SUPPORTED, "NOT_SUPPORTED", "Not Supported"},
    {NVML_ERROR_NO_PERMISSION, "NO_PERMISSION", "Insufficient Permissions"},
    {NVML_ERROR_ALREADY_INITIALIZED, "ALREADY_INITIALIZED", "Already Initialized"},
    {NVML_ERROR_NOT_FOUND, "NOT_FOUND", "Not Found"},
    {NVML_ERROR_INSUFFICIENT_SIZE, "INSUFFICIENT_SIZE", "Insufficient Size"},
    {NVML_ERROR_INSUFFICIENT_POWER, "INSUFFICIENT_POWER", "Insufficient External Power"},
    {NVML_ERROR_DRIVER_NOT_LOADED, "DRIVER_NOT_LOADED", "Driver Not Loaded"},
    {NVML_ERROR_TIMEOUT, "TIMEOUT", "Timeout"},
    {NVML_ERROR_IRQ_ISSUE, "IRQ_ISSUE", "Interrupt Request Issue"},
    {NVML_ERROR_LIBRARY_NOT_FOUND, "LIBRARY_NOT_FOUND", "NVML Shared Library Not Found"},
    {NVML_ERROR_FUNCTION_NOT_FOUND, "FUNCTION_NOT_FOUND", "Function Not Found"},
    {NVML_ERROR_CORRUPTED_INFOROM, "CORRUPTED_INFOROM", "Corrupted infoROM"},
    {NVML_ERROR_GPU_IS_LOST, "GPU_IS_LOST", "GPU is lost"},
    {NVML_ERROR_RESET_REQUIRED, "RESET_REQUIRED", "GPU requires restart"},
    {NVML_ERROR_OPERATING_SYSTEM, "OPERATING_SYSTEM", "The operating system has blocked the request."},
    {NVML_ERROR_LIB_RM_VERSION_MISMATCH, "LIB_RM_VERSION_MISMATCH",
     "RM has detected an NVML/RM version mismatch."},
    {NVML_ERROR_IN_USE, "IN_USE", "In use by another client"},
    {NVML_ERROR_MEMORY, "MEMORY", "Insufficient Memory"},
    {NVML_ERROR_NO_DATA, "NO_DATA", "No data"},
    {NVML_ERROR_VGPU_ECC_NOT_SUPPORTED, "VGPU_ECC_NOT_SUPPORTED",
     "The requested vgpu operation is not available on target device, because ECC is enabled"},
    {NVML_ERROR_INSUFFICIENT_RESOURCES, "INSUFFICIENT_RESOURCES", "Ran out of critical resources, other than memory"},
    {NVML_ERROR_FREQ_NOT_SUPPORTED, "FREQ_NOT_SUPPORTED", "The requested frequency is not supported"},
    {NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "ARGUMENT_VERSION_MISMATCH", "The provided version is invalid/unsupported"},
    {NVML_ERROR_DEPRECATED, "DEPRECATED", "The requested functionality has been deprecated"},
    {NVML_ERROR_NOT_READY, "NOT_READY", "The system is not ready for the request"},
    {NVML_ERROR_GPU_NOT_FOUND, "GPU_NOT_FOUND", "No GPUs were found"},
    {NVML_ERROR_INVALID_STATE, "INVALID_STATE", "Resource not in correct state to perform requested operation"},
    {NVML_ERROR_UNKNOWN, "UNKNOWN", "Unknown Error"},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

bool scenario_error_by_name(const char *name, nvmlReturn_t *code)
{
    static const char prefix[] = "NVML_ERROR_";
    if (strncmp(name, prefix, sizeof(prefix) - 1) == 0)
        name += sizeof(prefix) - 1;
    else if (strcmp(name, "NVML_SUCCESS") == 0)
        name = "SUCCESS";
    for (size_t i = 0; i < COUNT_OF(error_table); i++) {
        if (strcmp(error_table[i].name, name) == 0) {
            *code = error_table[i].code;
            return true;
        }
    }
    return false;
}

const char *scenario_error_string(nvmlReturn_t code)
{
    for (size_t i = 0; i < COUNT_OF(error_table); i++)
        if (error_table[i].code == code)
            return error_table[i].text;
    return "Unknown Error";
}

static const char *const known_functions[] = {
    "nvmlInit", "nvmlInit_v2", "nvmlInitWithFlags", "nvmlShutdown", "nvmlErrorString",
    "nvmlSystemGetDriverVersion", "nvmlSystemGetNVMLVersion", "nvmlSystemGetCudaDriverVersion",
    "nvmlSystemGetCudaDriverVersion_v2", "nvmlDeviceGetCount", "nvmlDeviceGetCount_v2",
    "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByUUID",
    "nvmlDeviceGetIndex", "nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetMinorNumber",
    "nvmlDeviceGetPciInfo", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo_v3",
    "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetBAR1MemoryInfo",
    "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetEncoderUtilization", "nvmlDeviceGetDecoderUtilization",
    "nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetTemperatureThreshold",
    "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit",
    "nvmlDeviceGetFanSpeed", "nvmlDeviceGetFanSpeed_v2", "nvmlDeviceGetNumFans", "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetMaxClockInfo", "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetCurrPcieLinkWidth",
    "nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkWidth", "nvmlDeviceGetPcieThroughput",
    "nvmlDeviceGetPcieReplayCounter",
    "nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetPersistenceMode", "nvmlDeviceGetDisplayActive",
    "nvmlDeviceGetComputeMode", "nvmlDeviceGetPerformanceState", "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetComputeRunningProcesses_v2", "nvmlDeviceGetComputeRunningProcesses_v3",
    "nvmlDeviceGetGraphicsRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses_v2",
    "nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetMPSComputeRunningProcesses",
    "nvmlDeviceGetMPSComputeRunningProcesses_v2", "nvmlDeviceGetMPSComputeRunningProcesses_v3",
    "nvmlDeviceGetProcessUtilization", "nvmlDeviceGetMigMode", "nvmlDeviceGetMaxMigDeviceCount",
    "nvmlDeviceGetMigDeviceHandleByIndex", "nvmlDeviceIsMigDeviceHandle", "nvmlDeviceGetGpuInstanceId",
    "nvmlDeviceGetComputeInstanceId", "nvmlDeviceGetDeviceHandleFromMigDeviceHandle",
    "nvmlEventSetCreate", "nvmlDeviceGetSupportedEventTypes", "nvmlDeviceRegisterEvents",
    "nvmlEventSetWait", "nvmlEventSetWait_v2", "nvmlEventSetFree",
};

bool scenario_known_function(const char *name)
{
    for (size_t i = 0; i < COUNT_OF(known_functions); i++)
        if (strcmp(known_functions[i], name) == 0)
            return true;
    return false;
}

/* Length of name without a trailing "_v<digits>". */
static size_t unversioned_length(const char *name)
{
    size_t n = strlen(name);
    size_t i = n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    if (i < n && i >= 2 && name[i - 1] == 'v' && name[i - 2] == '_')
        return i - 2;
    return n;
}

nvmlReturn_t scenario_injected(const struct scenario_errors *map, const char *function)
{
    if (!map || map->count == 0)
        return NVML_SUCCESS;
    for (unsigned int i = 0; i < map->count; i++)
        if (strcmp(map->entries[i].function, function) == 0)
            return map->entries[i].code;
    size_t base = unversioned_length(function);
    for (unsigned int i = 0; i < map->count; i++) {
        const char *f = map->entries[i].function;
        if (strlen(f) == base && strncmp(f, function, base) == 0)
            return map->entries[i].code;
    }
    return NVML_SUCCESS;
}

unsigned int scenario_plist_visible(const struct scenario_plist *list)
{
    return list->joined > 0 ? list->wave_end[list->joined - 1] : list->base;
}

/* ---- parser state and helpers --------------------------------------------- */

typedef struct json_value node;

enum { PATH_MAX_DEPTH = 16 };

/* Where the parser is: for the message ("devices[0].memory.total") and, via
 * the innermost node, for the line and column. */
struct parser {
    struct arena *arena;
    const node *root;
    unsigned int depth;
    struct step {
        const char *key; /* NULL for an array element */
        size_t index;
        const node *node;
    } steps[PATH_MAX_DEPTH];
    char message[256];
};

static bool fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    return false;
}

static bool push_key(struct parser *p, const char *key, const node *n)
{
    if (p->depth >= PATH_MAX_DEPTH)
        return fail(p, "nested too deeply");
    p->steps[p->depth++] = (struct step){.key = key, .node = n};
    return true;
}

static bool push_index(struct parser *p, size_t index, const node *n)
{
    if (p->depth >= PATH_MAX_DEPTH)
        return fail(p, "nested too deeply");
    p->steps[p->depth++] = (struct step){.index = index, .node = n};
    return true;
}

static void pop(struct parser *p)
{
    p->depth--;
}

static size_t error_offset(const struct parser *p)
{
    return p->depth > 0 ? p->steps[p->depth - 1].node->offset : p->root->offset;
}

static void format_path(const struct parser *p, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned int i = 0; i < p->depth && used < size; i++) {
        const struct step *st = &p->steps[i];
        int n = st->key ? snprintf(buf + used, size - used, "%s%s", i ? "." : "", st->key)
                        : snprintf(buf + used, size - used, "[%zu]", st->index);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static bool out_of_memory(struct parser *p)
{
    return fail(p, "out of memory");
}

static bool is_object(const node *n)
{
    return n && n->type == JSON_OBJECT;
}

static bool is_array(const node *n)
{
    return n && n->type == JSON_ARRAY;
}

/* Every member of obj must be named in allowed (NULL-terminated). */
static bool only_fields(struct parser *p, const node *obj, const char *const *allowed)
{
    for (const node *m = obj->first; m; m = m->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], m->key) == 0;
        if (!ok) {
            push_key(p, m->key, m);
            return fail(p, "unknown field \"%s\"", m->key);
        }
    }
    return true;
}

/* The member key of obj, or NULL when absent or null (both mean "not given"). */
static const node *member(const node *obj, const char *key)
{
    const node *v = json_get(obj, key);
    return v && v->type == JSON_NULL ? NULL : v;
}

static bool want_object(struct parser *p, const node *obj, const char *key, const node **out)
{
    *out = member(obj, key);
    if (*out && !is_object(*out)) {
        push_key(p, key, *out);
        return fail(p, "expected an object");
    }
    return true;
}

static bool want_array(struct parser *p, const node *obj, const char *key, const node **out)
{
    *out = member(obj, key);
    if (*out && !is_array(*out)) {
        push_key(p, key, *out);
        return fail(p, "expected an array");
    }
    return true;
}

static bool integer_in_range(const node *v, unsigned long long max, unsigned long long *out)
{
    if (!v || v->type != JSON_INTEGER || v->integer < 0)
        return false;
    *out = (unsigned long long)v->integer;
    return *out <= max;
}

static bool want_ull(struct parser *p, const node *obj, const char *key, unsigned long long max, struct opt_ull *out)
{
    const node *v = member(obj, key);
    if (!v)
        return true;
    unsigned long long value;
    if (!integer_in_range(v, max, &value)) {
        push_key(p, key, v);
        return fail(p, "expected an integer from 0 to %llu", max);
    }
    *out = (struct opt_ull){.set = true, .value = value};
    return true;
}

static bool want_uint(struct parser *p, const node *obj, const char *key, unsigned int max, struct opt_uint *out)
{
    struct opt_ull wide = {0};
    if (!want_ull(p, obj, key, max, &wide))
        return false;
    if (wide.set) /* an absent field keeps the caller's default */
        *out = (struct opt_uint){.set = true, .value = (unsigned int)wide.value};
    return true;
}

/* A required member: as want_uint, but absence is an error too. */
static bool need_uint(struct parser *p, const node *obj, const char *key, unsigned int max, unsigned int *out)
{
    struct opt_uint v = {0};
    if (!want_uint(p, obj, key, max, &v))
        return false;
    if (!v.set)
        return fail(p, "missing field \"%s\"", key);
    *out = v.value;
    return true;
}

/* true/false, or 0/1 (NVML answers these as 0/1 enums). */
static bool want_flag(struct parser *p, const node *obj, const char *key, struct opt_uint *out)
{
    const node *v = member(obj, key);
    if (!v)
        return true;
    unsigned long long value;
    if (v->type == JSON_TRUE || v->type == JSON_FALSE) {
        value = v->type == JSON_TRUE;
    } else if (!integer_in_range(v, 1, &value)) {
        push_key(p, key, v);
        return fail(p, "expected true, false, 0 or 1");
    }
    *out = (struct opt_uint){.set = true, .value = (unsigned int)value};
    return true;
}

static const char *copy_string(struct parser *p, const char *s, size_t n)
{
    char *copy = arena_alloc(p->arena, n + 1);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static bool want_string(struct parser *p, const node *obj, const char *key, size_t max_len, const char **out)
{
    const node *v = member(obj, key);
    if (!v)
        return true;
    if (v->type != JSON_STRING || v->length > max_len || v->length == 0 || strlen(v->string) != v->length) {
        push_key(p, key, v);
        return fail(p, "expected a string of 1 to %zu characters", max_len);
    }
    *out = copy_string(p, v->string, v->length);
    return *out ? true : out_of_memory(p);
}

/* An integer, or a string of hex digits with 0x (PCI ids read better in hex). */
static bool want_hex32(struct parser *p, const node *obj, const char *key, unsigned int *out)
{
    const node *v = member(obj, key);
    if (!v)
        return true;
    unsigned long long value = 0;
    bool ok = integer_in_range(v, 0xFFFFFFFFu, &value);
    if (!ok && v->type == JSON_STRING && v->length > 2 && v->length <= 10 && v->string[0] == '0' &&
        (v->string[1] == 'x' || v->string[1] == 'X')) {
        ok = true;
        value = 0;
        for (size_t i = 2; i < v->length && ok; i++) {
            char c = v->string[i];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            ok = d >= 0;
            value = value * 16 + (unsigned long long)(d < 0 ? 0 : d);
        }
    }
    if (!ok) {
        push_key(p, key, v);
        return fail(p, "expected a 32-bit integer or a string like \"0x233010DE\"");
    }
    *out = (unsigned int)value;
    return true;
}

/* ---- errors maps ---------------------------------------------------------- */

static bool parse_errors(struct parser *p, const node *parent, struct scenario_errors *out)
{
    const node *obj;
    if (!want_object(p, parent, "errors", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "errors", obj);
    out->entries = arena_alloc(p->arena, (obj->length + 1) * sizeof(*out->entries));
    if (!out->entries)
        return out_of_memory(p);
    for (const node *m = obj->first; m; m = m->next) {
        push_key(p, m->key, m);
        if (!scenario_known_function(m->key))
            return fail(p, "\"%s\" is not an NVML function this library implements", m->key);
        nvmlReturn_t code;
        if (m->type != JSON_STRING || !scenario_error_by_name(m->string, &code) || code == NVML_SUCCESS)
            return fail(p, "expected an NVML error name such as \"NOT_SUPPORTED\"");
        const char *function = copy_string(p, m->key, strlen(m->key));
        if (!function)
            return out_of_memory(p);
        out->entries[out->count++] = (struct scenario_error){.function = function, .code = code};
        pop(p);
    }
    pop(p);
    return true;
}

/* "delays_ms": {"<function>": milliseconds, ...}, at most 10 minutes each. */
static bool parse_delays(struct parser *p, const node *parent, struct scenario_errors *out)
{
    const node *obj;
    if (!want_object(p, parent, "delays_ms", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "delays_ms", obj);
    out->entries = arena_alloc(p->arena, (obj->length + 1) * sizeof(*out->entries));
    if (!out->entries)
        return out_of_memory(p);
    for (const node *m = obj->first; m; m = m->next) {
        push_key(p, m->key, m);
        if (!scenario_known_function(m->key))
            return fail(p, "\"%s\" is not an NVML function this library implements", m->key);
        if (m->type != JSON_INTEGER || m->integer < 0 || m->integer > 600000)
            return fail(p, "expected a whole number of milliseconds, 0 to 600000");
        const char *function = copy_string(p, m->key, strlen(m->key));
        if (!function)
            return out_of_memory(p);
        out->entries[out->count++] =
            (struct scenario_error){.function = function, .code = (nvmlReturn_t)m->integer};
        pop(p);
    }
    pop(p);
    return true;
}

unsigned int scenario_delay_ms(const struct scenario *sc, const char *function)
{
    return (unsigned int)scenario_injected(&sc->delays, function);
}

/* ---- processes ------------------------------------------------------------ */

static const char *const list_names[LIST_KINDS] = {"compute", "graphics", "mps"};

static bool parse_process(struct parser *p, const node *obj, unsigned int default_gi, unsigned int default_ci,
                          struct scenario_process *out)
{
    static const char *const fields[] = {"pid", "used_memory", "gpu_instance_id", "compute_instance_id", NULL};
    if (!is_object(obj))
        return fail(p, "expected a process object");
    if (!only_fields(p, obj, fields) || !need_uint(p, obj, "pid", 0xFFFFFFFFu, &out->pid))
        return false;
    struct opt_ull used = {.value = NVML_VALUE_NOT_AVAILABLE_ULL}; /* null: the driver cannot tell */
    struct opt_uint gi = {.value = default_gi}, ci = {.value = default_ci};
    if (!want_ull(p, obj, "used_memory", (unsigned long long)INT64_MAX, &used) ||
        !want_uint(p, obj, "gpu_instance_id", 0xFFFFFFFFu, &gi) ||
        !want_uint(p, obj, "compute_instance_id", 0xFFFFFFFFu, &ci))
        return false;
    out->used_memory = used.value;
    out->gpu_instance_id = gi.value;
    out->compute_instance_id = ci.value;
    return true;
}

static bool parse_process_array(struct parser *p, const node *arr, unsigned int gi, unsigned int ci,
                                struct scenario_process *dst)
{
    size_t i = 0;
    for (const node *item = arr->first; item; item = item->next, i++) {
        push_index(p, i, item);
        if (!parse_process(p, item, gi, ci, &dst[i]))
            return false;
        pop(p);
    }
    return true;
}

/* One list from "processes".<kind> and "process_growth".<kind>. */
static bool parse_plist(struct parser *p, const node *procs, const node *growth, enum scenario_list kind,
                        unsigned int gi, unsigned int ci, struct scenario_plist *out)
{
    const char *name = list_names[kind];
    const node *base = NULL, *waves = NULL;
    if ((procs && !want_array(p, procs, name, &base)) || (growth && !want_array(p, growth, name, &waves)))
        return false;
    if (!base && !waves)
        return true;
    size_t total = base ? base->length : 0;
    size_t w = 0;
    for (const node *wave = waves ? waves->first : NULL; wave; wave = wave->next, w++) {
        if (!is_array(wave)) {
            push_key(p, "process_growth", growth);
            push_key(p, name, waves);
            push_index(p, w, wave);
            return fail(p, "expected an array of processes (one growth wave)");
        }
        total += wave->length;
    }
    out->present = true;
    out->items = arena_alloc(p->arena, (total + 1) * sizeof(*out->items));
    out->wave_end = arena_alloc(p->arena, (w + 1) * sizeof(*out->wave_end));
    if (!out->items || !out->wave_end)
        return out_of_memory(p);
    unsigned int filled = 0;
    if (base) {
        push_key(p, "processes", procs);
        push_key(p, name, base);
        if (!parse_process_array(p, base, gi, ci, out->items))
            return false;
        pop(p);
        pop(p);
        filled = (unsigned int)base->length;
    }
    out->base = filled;
    w = 0;
    for (const node *wave = waves ? waves->first : NULL; wave; wave = wave->next, w++) {
        push_key(p, "process_growth", growth);
        push_key(p, name, waves);
        push_index(p, w, wave);
        if (!parse_process_array(p, wave, gi, ci, out->items + filled))
            return false;
        pop(p);
        pop(p);
        pop(p);
        filled += (unsigned int)wave->length;
        out->wave_end[w] = filled;
    }
    out->nwaves = (unsigned int)w;
    return true;
}

static bool parse_plists(struct parser *p, const node *owner, unsigned int gi, unsigned int ci,
                         struct scenario_plist lists[LIST_KINDS])
{
    static const char *const kinds[] = {"compute", "graphics", "mps", NULL};
    const node *procs, *growth;
    if (!want_object(p, owner, "processes", &procs) || !want_object(p, owner, "process_growth", &growth))
        return false;
    if (procs) {
        push_key(p, "processes", procs);
        if (!only_fields(p, procs, kinds))
            return false;
        pop(p);
    }
    if (growth) {
        push_key(p, "process_growth", growth);
        if (!only_fields(p, growth, kinds))
            return false;
        pop(p);
    }
    for (int k = 0; k < LIST_KINDS; k++)
        if (!parse_plist(p, procs, growth, (enum scenario_list)k, gi, ci, &lists[k]))
            return false;
    return true;
}

static bool parse_sample(struct parser *p, const node *item, struct scenario_sample *s)
{
    static const char *const fields[] = {"pid", "sm", "mem", "enc", "dec", "timestamp_us", NULL};
    struct opt_uint sm = {0}, mem = {0}, enc = {0}, dec = {0};
    struct opt_ull ts = {0};
    if (!is_object(item))
        return fail(p, "expected a sample object");
    if (!only_fields(p, item, fields) || !need_uint(p, item, "pid", 0xFFFFFFFFu, &s->pid) ||
        !want_uint(p, item, "sm", 100, &sm) || !want_uint(p, item, "mem", 100, &mem) ||
        !want_uint(p, item, "enc", 100, &enc) || !want_uint(p, item, "dec", 100, &dec) ||
        !want_ull(p, item, "timestamp_us", (unsigned long long)INT64_MAX, &ts))
        return false;
    s->sm = sm.value;
    s->mem = mem.value;
    s->enc = enc.value;
    s->dec = dec.value;
    s->stamped = ts.set;
    s->timestamp = ts.value;
    return true;
}

static bool parse_samples(struct parser *p, const node *dev, struct scenario_device *out)
{
    const node *arr;
    if (!want_array(p, dev, "process_utilization", &arr))
        return false;
    if (!arr)
        return true;
    out->samples_set = true;
    out->nsamples = (unsigned int)arr->length;
    out->samples = arena_alloc(p->arena, (arr->length + 1) * sizeof(*out->samples));
    if (!out->samples)
        return out_of_memory(p);
    push_key(p, "process_utilization", arr);
    size_t i = 0;
    for (const node *item = arr->first; item; item = item->next, i++) {
        push_index(p, i, item);
        if (!parse_sample(p, item, &out->samples[i]))
            return false;
        pop(p);
    }
    pop(p);
    return true;
}

/* ---- device parts --------------------------------------------------------- */

static bool parse_memory(struct parser *p, const node *owner, struct scenario_memory *out)
{
    static const char *const fields[] = {"total", "used", "free", "reserved", NULL};
    const node *obj;
    if (!want_object(p, owner, "memory", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "memory", obj);
    const unsigned long long max = (unsigned long long)INT64_MAX;
    struct opt_ull total = {0}, used = {0}, free_ = {0}, reserved = {0};
    if (!only_fields(p, obj, fields) || !want_ull(p, obj, "total", max, &total) ||
        !want_ull(p, obj, "used", max, &used) || !want_ull(p, obj, "free", max, &free_) ||
        !want_ull(p, obj, "reserved", max, &reserved))
        return false;
    if (!total.set || !used.set)
        return fail(p, "memory needs at least \"total\" and \"used\" (bytes)");
    unsigned long long taken = used.value + reserved.value;
    if (!free_.set && taken > total.value)
        return fail(p, "used + reserved exceeds total; give \"free\" explicitly if that is intended");
    *out = (struct scenario_memory){
        .set = true,
        .total = total.value,
        .used = used.value,
        .reserved = reserved.value,
        .free = free_.set ? free_.value : total.value - taken,
    };
    pop(p);
    return true;
}

static bool parse_bus_id(struct parser *p, const node *pci, struct scenario_device *out)
{
    const node *v = member(pci, "bus_id");
    unsigned int domain, bus, device, function;
    int consumed = -1;
    if (v && v->type == JSON_STRING &&
        sscanf(v->string, "%8x:%2x:%2x.%1x%n", &domain, &bus, &device, &function, &consumed) == 4 &&
        (size_t)consumed == v->length && device < 32 && function < 8 && v->string[0] != '-' &&
        v->string[0] != '+' && v->string[0] != ' ') {
        out->pci_domain = domain;
        out->pci_bus = bus;
        out->pci_device = device;
        out->pci_function = function;
        return true;
    }
    push_key(p, "bus_id", v ? v : pci);
    return fail(p, "expected a PCI address like \"00000000:01:00.0\"");
}

static bool parse_pci(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"bus_id", "device_id", "subsystem_id", NULL};
    const node *obj;
    if (!want_object(p, dev, "pci", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "pci", obj);
    if (!only_fields(p, obj, fields) || !parse_bus_id(p, obj, out) ||
        !want_hex32(p, obj, "device_id", &out->pci_device_id) ||
        !want_hex32(p, obj, "subsystem_id", &out->pci_subsystem_id))
        return false;
    out->pci_set = true;
    pop(p);
    return true;
}

static bool parse_bar1(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"total", "used", "free", NULL};
    const node *obj;
    if (!want_object(p, dev, "bar1", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "bar1", obj);
    const unsigned long long max = (unsigned long long)INT64_MAX;
    struct opt_ull total = {0}, used = {0}, free_ = {0};
    if (!only_fields(p, obj, fields) || !want_ull(p, obj, "total", max, &total) ||
        !want_ull(p, obj, "used", max, &used) || !want_ull(p, obj, "free", max, &free_))
        return false;
    if (!total.set || !used.set || (!free_.set && used.value > total.value))
        return fail(p, "bar1 needs \"total\" and \"used\" (bytes), used not above total");
    out->bar1_set = true;
    out->bar1_total = total.value;
    out->bar1_used = used.value;
    out->bar1_free = free_.set ? free_.value : total.value - used.value;
    pop(p);
    return true;
}

static bool parse_codec(struct parser *p, const node *dev, const char *key, struct opt_uint *util,
                        struct opt_uint *period)
{
    static const char *const fields[] = {"utilization", "sampling_period_us", NULL};
    const node *obj;
    if (!want_object(p, dev, key, &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, key, obj);
    *period = (struct opt_uint){.set = true, .value = 167000}; /* what current drivers report */
    if (!only_fields(p, obj, fields) || !need_uint(p, obj, "utilization", 100, &util->value) ||
        !want_uint(p, obj, "sampling_period_us", 0xFFFFFFFFu, period))
        return false;
    util->set = true;
    pop(p);
    return true;
}

static bool parse_utilization(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"gpu", "memory", NULL};
    const node *util;
    if (!want_object(p, dev, "utilization", &util))
        return false;
    if (util) {
        push_key(p, "utilization", util);
        if (!only_fields(p, util, fields) || !need_uint(p, util, "gpu", 100, &out->util_gpu.value) ||
            !need_uint(p, util, "memory", 100, &out->util_memory.value))
            return false;
        out->util_gpu.set = out->util_memory.set = true;
        pop(p);
    }
    return parse_codec(p, dev, "encoder", &out->encoder_util, &out->encoder_period_us) &&
           parse_codec(p, dev, "decoder", &out->decoder_util, &out->decoder_period_us);
}

static bool parse_temperature(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"gpu", "thresholds", NULL};
    static const char *const names[NVML_TEMPERATURE_THRESHOLD_COUNT + 1] = {
        "shutdown", "slowdown", "mem_max", "gpu_max", "acoustic_min", "acoustic_current", "acoustic_max",
        "gps_current", NULL};
    const node *obj, *thresholds;
    if (!want_object(p, dev, "temperature", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "temperature", obj);
    if (!only_fields(p, obj, fields) || !want_uint(p, obj, "gpu", 1000, &out->temperature) ||
        !want_object(p, obj, "thresholds", &thresholds))
        return false;
    if (thresholds) {
        push_key(p, "thresholds", thresholds);
        if (!only_fields(p, thresholds, names))
            return false;
        for (int t = 0; t < NVML_TEMPERATURE_THRESHOLD_COUNT; t++)
            if (!want_uint(p, thresholds, names[t], 1000, &out->thresholds[t]))
                return false;
        pop(p);
    }
    pop(p);
    return true;
}

static bool parse_power(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"usage_mw", "enforced_limit_mw", "management_limit_mw", NULL};
    const node *obj;
    if (!want_object(p, dev, "power", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "power", obj);
    if (!only_fields(p, obj, fields) || !want_uint(p, obj, "usage_mw", 0xFFFFFFFFu, &out->power_usage_mw) ||
        !want_uint(p, obj, "enforced_limit_mw", 0xFFFFFFFFu, &out->enforced_limit_mw) ||
        !want_uint(p, obj, "management_limit_mw", 0xFFFFFFFFu, &out->management_limit_mw))
        return false;
    pop(p);
    return true;
}

static bool parse_fans(struct parser *p, const node *dev, struct scenario_device *out)
{
    const node *arr;
    if (!want_array(p, dev, "fans", &arr))
        return false;
    if (!arr)
        return true;
    push_key(p, "fans", arr);
    if (arr->length > SCENARIO_MAX_FANS)
        return fail(p, "at most %d fans", SCENARIO_MAX_FANS);
    size_t i = 0;
    for (const node *item = arr->first; item; item = item->next, i++) {
        unsigned long long speed;
        push_index(p, i, item);
        if (!integer_in_range(item, 100, &speed))
            return fail(p, "expected a fan speed from 0 to 100 (%%)");
        out->fans[i] = (unsigned int)speed;
        pop(p);
    }
    out->fans_set = true;
    out->nfans = (unsigned int)arr->length;
    pop(p);
    return true;
}

/* "xid_errors": [79, 48, ...]; [] is a GPU that supports XID events and
 * has raised none. */
static bool parse_xids(struct parser *p, const node *dev, struct scenario_device *out)
{
    const node *arr;
    if (!want_array(p, dev, "xid_errors", &arr))
        return false;
    if (!arr)
        return true;
    push_key(p, "xid_errors", arr);
    if (arr->length > SCENARIO_MAX_XIDS)
        return fail(p, "at most %d XIDs", SCENARIO_MAX_XIDS);
    out->xids = arena_alloc(p->arena, (arr->length + 1) * sizeof(*out->xids));
    if (!out->xids)
        return out_of_memory(p);
    size_t i = 0;
    for (const node *item = arr->first; item; item = item->next, i++) {
        push_index(p, i, item);
        if (!integer_in_range(item, 0xFFFFFFFFu, &out->xids[i]))
            return fail(p, "expected an XID, an integer from 0 to 4294967295");
        pop(p);
    }
    out->xids_set = true;
    out->nxids = (unsigned int)arr->length;
    pop(p);
    return true;
}

static bool parse_clock_set(struct parser *p, const node *dev, const char *key,
                            struct opt_uint clocks[NVML_CLOCK_COUNT])
{
    static const char *const names[NVML_CLOCK_COUNT + 1] = {"graphics", "sm", "memory", "video", NULL};
    const node *obj;
    if (!want_object(p, dev, key, &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, key, obj);
    if (!only_fields(p, obj, names))
        return false;
    for (int c = 0; c < NVML_CLOCK_COUNT; c++)
        if (!want_uint(p, obj, names[c], 100000, &clocks[c]))
            return false;
    pop(p);
    return true;
}

static bool parse_pcie(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"generation", "width",   "max_generation", "max_width",
                                         "tx_kbps",    "rx_kbps", "replay_counter", NULL};
    const node *obj;
    if (!want_object(p, dev, "pcie", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "pcie", obj);
    if (!only_fields(p, obj, fields) || !want_uint(p, obj, "generation", 16, &out->pcie_gen) ||
        !want_uint(p, obj, "width", 64, &out->pcie_width) ||
        !want_uint(p, obj, "max_generation", 16, &out->pcie_max_gen) ||
        !want_uint(p, obj, "max_width", 64, &out->pcie_max_width) ||
        !want_uint(p, obj, "tx_kbps", 0xFFFFFFFFu, &out->pcie_tx_kbps) ||
        !want_uint(p, obj, "rx_kbps", 0xFFFFFFFFu, &out->pcie_rx_kbps) ||
        !want_uint(p, obj, "replay_counter", 0xFFFFFFFFu, &out->pcie_replay_counter))
        return false;
    pop(p);
    return true;
}

static bool parse_ecc(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const counters[] = {"volatile", "aggregate", NULL};
    static const char *const types[] = {"corrected", "uncorrected", NULL};
    const node *obj;
    if (!want_object(p, dev, "ecc", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "ecc", obj);
    if (!only_fields(p, obj, counters))
        return false;
    for (int c = 0; c < NVML_ECC_COUNTER_TYPE_COUNT; c++) {
        const node *counter;
        if (!want_object(p, obj, counters[c], &counter))
            return false;
        if (!counter)
            continue;
        push_key(p, counters[c], counter);
        if (!only_fields(p, counter, types))
            return false;
        for (int t = 0; t < NVML_MEMORY_ERROR_TYPE_COUNT; t++)
            if (!want_ull(p, counter, types[t], (unsigned long long)INT64_MAX, &out->ecc[t][c]))
                return false;
        pop(p);
    }
    pop(p);
    return true;
}

static bool parse_compute_mode(struct parser *p, const node *dev, struct opt_uint *out)
{
    static const char *const modes[NVML_COMPUTEMODE_COUNT] = {"DEFAULT", "EXCLUSIVE_THREAD", "PROHIBITED",
                                                              "EXCLUSIVE_PROCESS"};
    const node *v = member(dev, "compute_mode");
    if (!v)
        return true;
    for (unsigned int m = 0; v->type == JSON_STRING && m < NVML_COMPUTEMODE_COUNT; m++) {
        if (strcmp(v->string, modes[m]) == 0) {
            *out = (struct opt_uint){.set = true, .value = m};
            return true;
        }
    }
    unsigned long long m;
    if (integer_in_range(v, NVML_COMPUTEMODE_COUNT - 1, &m)) {
        *out = (struct opt_uint){.set = true, .value = (unsigned int)m};
        return true;
    }
    push_key(p, "compute_mode", v);
    return fail(p, "expected DEFAULT, EXCLUSIVE_THREAD, PROHIBITED, EXCLUSIVE_PROCESS or 0..3");
}

static bool parse_modes(struct parser *p, const node *dev, struct scenario_device *out)
{
    if (!want_flag(p, dev, "persistence_mode", &out->persistence_mode) ||
        !want_flag(p, dev, "display_active", &out->display_active) ||
        !parse_compute_mode(p, dev, &out->compute_mode) || !want_uint(p, dev, "pstate", 32, &out->pstate))
        return false;
    if (out->pstate.set && out->pstate.value > 15 && out->pstate.value != NVML_PSTATE_UNKNOWN) {
        push_key(p, "pstate", member(dev, "pstate"));
        return fail(p, "expected a performance state 0..15, or 32 for unknown");
    }
    return true;
}

/* ---- MIG ------------------------------------------------------------------ */

static bool parse_mig_device(struct parser *p, const node *obj, size_t position, struct scenario_device *dev)
{
    static const char *const fields[] = {"index", "name", "uuid", "gpu_instance_id", "compute_instance_id",
                                         "memory", "processes", "process_growth", "errors", NULL};
    struct opt_uint index = {.value = (unsigned int)position};
    if (!is_object(obj))
        return fail(p, "expected a MIG device object");
    if (!only_fields(p, obj, fields) || !want_uint(p, obj, "index", SCENARIO_MAX_MIG - 1, &index))
        return false;
    if (index.value >= dev->mig_max_devices || dev->mig[index.value].present) {
        if (json_get(obj, "index"))
            push_key(p, "index", json_get(obj, "index"));
        return fail(p, dev->mig[index.value].present ? "two MIG devices use index %u"
                                                     : "MIG device index %u is not below max_devices",
                    index.value);
    }
    struct scenario_mig *mig = &dev->mig[index.value];
    mig->present = true;
    return want_string(p, obj, "name", 95, &mig->name) && want_string(p, obj, "uuid", 95, &mig->uuid) &&
           need_uint(p, obj, "gpu_instance_id", 0xFFFFFFFEu, &mig->gpu_instance_id) &&
           need_uint(p, obj, "compute_instance_id", 0xFFFFFFFEu, &mig->compute_instance_id) &&
           parse_memory(p, obj, &mig->memory) &&
           parse_plists(p, obj, mig->gpu_instance_id, mig->compute_instance_id, mig->lists) &&
           parse_errors(p, obj, &mig->errors);
}

static bool parse_mig(struct parser *p, const node *dev, struct scenario_device *out)
{
    static const char *const fields[] = {"current", "pending", "max_devices", "devices", NULL};
    const node *obj, *devices;
    if (!want_object(p, dev, "mig", &obj))
        return false;
    if (!obj)
        return true;
    push_key(p, "mig", obj);
    struct opt_uint current = {0}, pending = {0}, max = {.value = 7};
    if (!only_fields(p, obj, fields) || !want_flag(p, obj, "current", &current) ||
        !want_flag(p, obj, "pending", &pending) || !want_uint(p, obj, "max_devices", SCENARIO_MAX_MIG, &max) ||
        !want_array(p, obj, "devices", &devices))
        return false;
    if (!current.set)
        return fail(p, "mig needs \"current\" (true when MIG mode is enabled)");
    out->mig_set = true;
    out->mig_current = current.value;
    out->mig_pending = pending.set ? pending.value : current.value;
    out->mig_max_devices = max.value;
    if (devices) {
        push_key(p, "devices", devices);
        size_t i = 0;
        for (const node *item = devices->first; item; item = item->next, i++) {
            push_index(p, i, item);
            if (!parse_mig_device(p, item, i, out))
                return false;
            pop(p);
        }
        pop(p);
    }
    pop(p);
    return true;
}

/* ---- devices and the whole file ------------------------------------------- */

static bool parse_device(struct parser *p, const node *obj, struct scenario_device *out)
{
    static const char *const fields[] = {
        "name",          "uuid",           "minor_number",        "pci",         "memory",
        "bar1",          "utilization",    "encoder",             "decoder",     "temperature",
        "power",         "fans",           "clocks",              "max_clocks",  "pcie",
        "ecc",           "persistence_mode", "display_active",    "compute_mode", "pstate",
        "mig",           "processes",      "process_growth",      "process_utilization", "errors",
        "xid_errors",    "description",    NULL};
    if (!is_object(obj))
        return fail(p, "expected a device object");
    return only_fields(p, obj, fields) && want_string(p, obj, "name", 95, &out->name) &&
           want_string(p, obj, "uuid", 95, &out->uuid) &&
           want_uint(p, obj, "minor_number", 0xFFFFFFFFu, &out->minor_number) && parse_pci(p, obj, out) &&
           parse_memory(p, obj, &out->memory) && parse_bar1(p, obj, out) && parse_utilization(p, obj, out) &&
           parse_temperature(p, obj, out) && parse_power(p, obj, out) && parse_fans(p, obj, out) &&
           parse_clock_set(p, obj, "clocks", out->clocks) &&
           parse_clock_set(p, obj, "max_clocks", out->max_clocks) && parse_pcie(p, obj, out) &&
           parse_ecc(p, obj, out) && parse_modes(p, obj, out) && parse_mig(p, obj, out) &&
           parse_plists(p, obj, NVML_NO_INSTANCE_ID, NVML_NO_INSTANCE_ID, out->lists) &&
           parse_samples(p, obj, out) && parse_xids(p, obj, out) && parse_errors(p, obj, &out->errors);
}

static bool parse_devices(struct parser *p, const node *root, struct scenario *sc)
{
    const node *arr;
    if (!want_array(p, root, "devices", &arr))
        return false;
    if (!arr)
        return true;
    push_key(p, "devices", arr);
    if (arr->length > SCENARIO_MAX_DEVICES)
        return fail(p, "at most %d devices", SCENARIO_MAX_DEVICES);
    sc->ndevices = (unsigned int)arr->length;
    sc->devices = arena_alloc(p->arena, (arr->length + 1) * sizeof(*sc->devices));
    if (!sc->devices)
        return out_of_memory(p);
    size_t i = 0;
    for (const node *item = arr->first; item; item = item->next, i++) {
        push_index(p, i, item);
        if (!parse_device(p, item, &sc->devices[i]))
            return false;
        pop(p);
    }
    pop(p);
    return true;
}

static bool parse_root(struct parser *p, const node *root, struct scenario *sc)
{
    static const char *const fields[] = {"description", "driver_version", "nvml_version", "cuda_driver_version",
                                         "init_error",  "errors",         "devices",      "delays_ms",
                                         "abort_in",    NULL};
    if (!is_object(root))
        return fail(p, "a scenario is a JSON object");
    if (!only_fields(p, root, fields))
        return false;
    sc->driver_version = "550.54.15";
    sc->nvml_version = "12.550.54.15";
    struct opt_uint cuda = {.value = 12040};
    if (!want_string(p, root, "driver_version", 79, &sc->driver_version) ||
        !want_string(p, root, "nvml_version", 79, &sc->nvml_version) ||
        !want_uint(p, root, "cuda_driver_version", 1000000, &cuda))
        return false;
    sc->cuda_driver_version = (int)cuda.value;
    if (!want_string(p, root, "abort_in", 79, &sc->abort_in))
        return false;
    if (sc->abort_in && !scenario_known_function(sc->abort_in)) {
        push_key(p, "abort_in", member(root, "abort_in"));
        return fail(p, "\"%s\" is not an NVML function this library implements", sc->abort_in);
    }
    const node *init_error = member(root, "init_error");
    if (init_error &&
        (init_error->type != JSON_STRING || !scenario_error_by_name(init_error->string, &sc->init_error))) {
        push_key(p, "init_error", init_error);
        return fail(p, "expected an NVML error name such as \"DRIVER_NOT_LOADED\"");
    }
    return parse_errors(p, root, &sc->errors) && parse_delays(p, root, &sc->delays) &&
           parse_devices(p, root, sc);
}

int scenario_parse(const char *text, size_t len, const char *file, struct scenario **out, char err[SCENARIO_ERROR_MAX])
{
    struct arena *tree_arena = arena_new();
    struct parser p = {.arena = arena_new()};
    size_t offset = 0;
    char message[128];
    unsigned int line, column;
    const node *root = tree_arena && p.arena ? json_parse(text, len, tree_arena, &offset, message, sizeof(message))
                                             : NULL;
    if (!root) {
        json_position(text, len, offset, &line, &column);
        snprintf(err, SCENARIO_ERROR_MAX, "%s:%u:%u: %s", file, line, column,
                 tree_arena && p.arena ? message : "out of memory");
        arena_free(tree_arena);
        arena_free(p.arena);
        return -1;
    }
    p.root = root;
    struct scenario *sc = arena_alloc(p.arena, sizeof(*sc));
    if (!sc || !parse_root(&p, root, sc)) {
        char where[160];
        if (!sc)
            out_of_memory(&p);
        json_position(text, len, error_offset(&p), &line, &column);
        format_path(&p, where, sizeof(where));
        snprintf(err, SCENARIO_ERROR_MAX, "%s:%u:%u: %s%s%s", file, line, column, where, where[0] ? ": " : "",
                 p.message);
        arena_free(tree_arena);
        arena_free(p.arena);
        return -1;
    }
    arena_free(tree_arena);
    sc->arena = p.arena;
    *out = sc;
    return 0;
}

int scenario_load(const char *path, struct scenario **out, char err[SCENARIO_ERROR_MAX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, SCENARIO_ERROR_MAX, "%s:0:0: cannot open the scenario: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    size_t got = 0;
    int read_errno = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            read_errno = errno;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || read_errno) {
        snprintf(err, SCENARIO_ERROR_MAX, "%s:0:0: cannot read the scenario: %s", path,
                 buf ? strerror(read_errno) : "out of memory");
        free(buf);
        return -1;
    }
    int rc = scenario_parse(buf, got, path, out, err);
    free(buf);
    return rc;
}

void scenario_free(struct scenario *sc)
{
    if (sc)
        arena_free(sc->arena);
}
