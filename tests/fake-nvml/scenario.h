/* scenario.h - what a fake NVML scenario file says, as plain C data.
 *
 * scenario_parse() turns the JSON text (see README.md for the schema) into a
 * struct scenario; the NVML entry points only read it, except for the
 * process-list growth counters, which they advance under the library lock.
 * Every optional value carries its own "set" flag: a field the file leaves
 * out makes the matching NVML call answer NOT_SUPPORTED.
 */
#ifndef FAKE_NVML_SCENARIO_H
#define FAKE_NVML_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "nvml_abi.h"

#define SCENARIO_MAX_DEVICES 64
#define SCENARIO_MAX_MIG 16
#define SCENARIO_MAX_FANS 32
#define SCENARIO_MAX_XIDS 4096
#define SCENARIO_ERROR_MAX 512

struct opt_uint {
    bool set;
    unsigned int value;
};

struct opt_ull {
    bool set;
    unsigned long long value;
};

enum scenario_list { LIST_COMPUTE, LIST_GRAPHICS, LIST_MPS, LIST_KINDS };

struct scenario_process {
    unsigned int pid;
    unsigned long long used_memory; /* NVML_VALUE_NOT_AVAILABLE_ULL for null */
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
};

/* A process list: the entries visible from the start, then each growth wave
 * in order.  A wave joins the list right after a call on the list answered
 * INSUFFICIENT_SIZE, the way a process may start between a client's sizing
 * call and its fetch. */
struct scenario_plist {
    bool present;
    struct scenario_process *items;
    unsigned int base;
    unsigned int nwaves;
    unsigned int *wave_end; /* entries visible once wave i has joined */
    unsigned int joined;    /* waves joined so far (mutable, under the lock) */
};

struct scenario_sample {
    unsigned int pid;
    bool stamped;                 /* false: stamp with the time of each call */
    unsigned long long timestamp; /* microseconds */
    unsigned int sm, mem, enc, dec;
};

struct scenario_errors {
    unsigned int count;
    struct scenario_error {
        const char *function; /* exported name, or a name without its _vN suffix */
        nvmlReturn_t code;
    } *entries;
};

struct scenario_memory {
    bool set;
    unsigned long long total, reserved, free, used;
};

struct scenario_mig {
    bool present; /* false: this slot is empty (NOT_FOUND) */
    const char *name;
    const char *uuid;
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
    struct scenario_memory memory;
    struct scenario_plist lists[LIST_KINDS];
    struct scenario_errors errors;
};

struct scenario_device {
    const char *name; /* NULL: not supported */
    const char *uuid;
    struct opt_uint minor_number;

    bool pci_set;
    unsigned int pci_domain, pci_bus, pci_device, pci_function;
    unsigned int pci_device_id, pci_subsystem_id;

    struct scenario_memory memory;
    bool bar1_set;
    unsigned long long bar1_total, bar1_free, bar1_used;

    struct opt_uint util_gpu, util_memory;
    struct opt_uint encoder_util, encoder_period_us;
    struct opt_uint decoder_util, decoder_period_us;

    struct opt_uint temperature;
    struct opt_uint thresholds[NVML_TEMPERATURE_THRESHOLD_COUNT];

    struct opt_uint power_usage_mw, enforced_limit_mw, management_limit_mw;

    bool fans_set;
    unsigned int nfans;
    unsigned int fans[SCENARIO_MAX_FANS];

    struct opt_uint clocks[NVML_CLOCK_COUNT];
    struct opt_uint max_clocks[NVML_CLOCK_COUNT];

    struct opt_uint pcie_gen, pcie_width, pcie_max_gen, pcie_max_width;
    struct opt_uint pcie_tx_kbps, pcie_rx_kbps, pcie_replay_counter;

    struct opt_ull ecc[NVML_MEMORY_ERROR_TYPE_COUNT][NVML_ECC_COUNTER_TYPE_COUNT];

    struct opt_uint persistence_mode, display_active, compute_mode, pstate;

    bool mig_set;
    unsigned int mig_current, mig_pending, mig_max_devices;
    struct scenario_mig mig[SCENARIO_MAX_MIG];

    struct scenario_plist lists[LIST_KINDS];

    bool samples_set;
    unsigned int nsamples;
    struct scenario_sample *samples;

    /* "xid_errors": the XIDs the GPU raises, in order (fake_events.c) */
    bool xids_set;
    unsigned int nxids;
    unsigned long long *xids;

    struct scenario_errors errors;
};

struct scenario {
    const char *driver_version;
    const char *nvml_version;
    int cuda_driver_version;
    nvmlReturn_t init_error; /* NVML_SUCCESS when nvmlInit should succeed */
    struct scenario_errors errors;
    /* "delays_ms": calls that stall before answering (a slow or hung
     * driver); entries reuse scenario_error with code holding the ms */
    struct scenario_errors delays;
    /* "abort_in": the call that abort()s the process (a crash inside the
     * driver, in whichever thread calls it); NULL: none */
    const char *abort_in;
    unsigned int ndevices;
    struct scenario_device *devices;
    struct arena *arena; /* owns every pointer above */
};

/* Parses len bytes of JSON text.  On success returns 0 and *out (free with
 * scenario_free).  On failure returns -1 and writes one line into err:
 * "FILE:LINE:COLUMN: what is wrong", FILE being the name passed in. */
int scenario_parse(const char *text, size_t len, const char *file, struct scenario **out,
                   char err[SCENARIO_ERROR_MAX]);

/* Reads and parses a file; errors as scenario_parse (a missing file names it). */
int scenario_load(const char *path, struct scenario **out, char err[SCENARIO_ERROR_MAX]);

/* Accepts NULL. */
void scenario_free(struct scenario *sc);

/* Error code for a name such as "NOT_SUPPORTED" or "NVML_ERROR_NOT_SUPPORTED"
 * (also "SUCCESS"); returns false when the name is unknown. */
/* Milliseconds the scenario's "delays_ms" map makes function stall (0: none),
 * matched like the errors maps. */
unsigned int scenario_delay_ms(const struct scenario *sc, const char *function);

bool scenario_error_by_name(const char *name, nvmlReturn_t *code);

/* The text nvmlErrorString gives for a code. */
const char *scenario_error_string(nvmlReturn_t code);

/* Whether name is one of the entry points this library implements (in either
 * build), so a typo in an "errors" key is refused instead of ignored. */
bool scenario_known_function(const char *name);

/* The injected error for function in map, exact name first, then the name
 * without a trailing _vN; NVML_SUCCESS when the map says nothing. */
nvmlReturn_t scenario_injected(const struct scenario_errors *map, const char *function);

/* Number of entries visible in a list now. */
unsigned int scenario_plist_visible(const struct scenario_plist *list);

#endif
