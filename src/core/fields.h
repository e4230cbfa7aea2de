/* fields.h - the field table: every device, MIG, GPU-process, host-process
 * and host metric named once (ARCHITECTURE.md decision 7).
 *
 * One static array gives each quantity its JSON key (gpu-kill's keys first,
 * then every other key as docs/json/list.md documents it), the unit and
 * precision of the JSON value, a help sentence, its Prometheus series in
 * base units and, where one exists, the DCGM-exporter field it matches.
 * Documents (src/doc), the exporter, the MCP schemas, CSV headers and the
 * docs derive from it, so a quantity never has two names or units.
 *
 * Order matters: within a scope the entries follow the snapshot document's
 * key order, and the process entries of FIELD_GPU_PROCESS and
 * FIELD_HOST_PROCESS are interleaved in the order of `procs[]`.
 *
 * The table is constant; every function here may be called from any thread.
 * It knows nothing of JSON (src/doc encodes and decodes with it).
 */
#ifndef GPUCTL_CORE_FIELDS_H
#define GPUCTL_CORE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

/* What the model holds at offset. */
enum field_kind {
    FIELD_U64,      /* struct opt_u64 */
    FIELD_I64,      /* struct opt_i64 */
    FIELD_F64,      /* struct opt_f64 */
    FIELD_BOOL,     /* struct opt_i64 holding 0 or 1 */
    FIELD_STR,      /* char[size]; "" is unknown */
    FIELD_STRPTR,   /* char * (owned by the record); NULL or "" is unknown */
    FIELD_CHAR,     /* char; 0 is unknown */
    FIELD_INT,      /* int (also pid_t and the model's enums); always known */
    FIELD_UINT,     /* unsigned; always known */
};

/* Which record the offset is into. */
enum field_scope {
    FIELD_DEVICE,        /* struct device */
    FIELD_MIG,           /* struct mig_instance */
    FIELD_GPU_PROCESS,   /* struct gpu_process */
    FIELD_HOST_PROCESS,  /* struct host_process */
    FIELD_HOST,          /* struct host_info */
};

/* How the document's value relates to the model's. */
enum field_json {
    FIELD_JSON_PLAIN,   /* the model's value */
    FIELD_JSON_MIB,     /* bytes as whole MiB, rounded down (gpu-kill's *_mb keys) */
    FIELD_JSON_MILLI,   /* thousandths as units (mW as W), precision 3 */
    FIELD_JSON_NAME,    /* an integer shown as names[value]; out of range or NULL: null */
    FIELD_JSON_TIME,    /* epoch seconds as RFC 3339 UTC */
};

enum field_flags {
    FIELD_F_GPU_KILL = 1u << 0,    /* gpu-kill's key and meaning */
    FIELD_F_NO_DOC = 1u << 1,      /* not a key of the snapshot document (exported only) */
    FIELD_F_CONTAINERS = 1u << 2,  /* in the document only when containers are asked for */
    FIELD_F_COUNTER = 1u << 3,     /* only grows: a Prometheus counter, not a gauge */
};

struct field_def {
    const char *key;          /* JSON key; unique within its scope and group */
    enum field_scope scope;
    enum field_kind kind;
    size_t offset;            /* offsetof into the scope's record */
    size_t size;              /* FIELD_STR: the buffer's size */
    const char *group;        /* sub-object of the document holding the key ("clocks"), or NULL */
    enum field_json json;
    const char *const *names; /* FIELD_JSON_NAME: value -> name, name_count entries */
    size_t name_count;
    const char *unit;         /* unit of the JSON value: "bytes", "MiB", "percent", "celsius",
                                 "watts", "MHz", ...; "" for counts and NULL for text */
    int precision;            /* decimals a document keeps for a real (FIELD_F64,
                                 FIELD_JSON_MILLI); unused otherwise */
    const char *help;         /* one sentence */
    const char *prom_name;    /* gpuctl's series in base units; NULL: not exported */
    double prom_scale;        /* model value * scale = base unit */
    const char *dcgm_name;    /* DCGM-exporter's field, or NULL */
    double dcgm_scale;        /* model value * scale = DCGM's unit */
    const char *dcgm_value_label; /* DCGM's sample also carries its value as this
                                     label (err_code on DCGM_FI_DEV_XID_ERRORS), or NULL */
    unsigned flags;           /* enum field_flags */
};

/* The table never holds more entries than this (checked when it is
 * compiled), so callers may size arrays of fields with it. */
#define FIELDS_MAX 160

/* The whole table, in order; *count receives its length. */
const struct field_def *fields_all(size_t *count);

/* The field of scope with that key (NULL when none); group NULL matches
 * any group, as keys are unique within a scope. */
const struct field_def *fields_find(enum field_scope scope, const char *key);

/* Stable lower-case scope names ("device", "mig", "gpu_process",
 * "host_process", "host") for messages and generated docs. */
const char *fields_scope_name(enum field_scope scope);

/* The model value of f in record (the scope's struct) as a number, in the
 * model's unit (bytes, mW, percent, epoch seconds, 0/1 for booleans, the
 * enum's value).  false: unknown, or a text field. */
bool fields_get_f64(const struct field_def *f, const void *record, double *out);

/* f's slot in record, for code that reads or writes it by kind. */
void *fields_slot(const struct field_def *f, void *record);
const void *fields_cslot(const struct field_def *f, const void *record);

#endif
