/* fake_nvml.c - library state of the fake NVML: init, shutdown, re-reads,
 * handles, and the system-level entry points.
 *
 * NVML's C API is process-global (nvmlInit takes no context), so this file
 * keeps process-global state on purpose: the initialisation count, the
 * scenario in force, and the table whose addresses serve as device handles.
 * One mutex guards all of it; every entry point holds it for its whole call.
 *
 * The scenario file is named by FAKE_NVML_SCENARIO when the first nvmlInit
 * runs.  While initialised, the library stats the file at most once per
 * FAKE_NVML_RECHECK_MS (default 20 ms, CLOCK_MONOTONIC) and re-reads it when
 * its identity, size or times changed; a file that does not parse is
 * reported once and the previous scenario stays in force.  Handles are
 * addresses in a fixed table indexed by (device, MIG slot), so they stay
 * valid across re-reads.
 *
 * The device queries live in fake_device.c, process lists, utilisation
 * samples and MIG in fake_procs.c, events (XIDs) in fake_events.c, the file
 * format in scenario.c.
 */
#include "fake_nvml.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct nvmlDevice_st {
    unsigned char unused; /* only the address matters */
};

enum { SLOTS_PER_DEVICE = SCENARIO_MAX_MIG + 1 };

static struct nvmlDevice_st handle_table[SCENARIO_MAX_DEVICES * SLOTS_PER_DEVICE];

struct file_stamp {
    bool valid;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int init_count;
static struct scenario *current;
static char *scenario_path;
static struct file_stamp loaded_stamp;   /* the file as it was when current was read */
static struct file_stamp reported_stamp; /* a broken version already reported */
static bool missing_reported;
static uint64_t last_check_ns;
static uint64_t recheck_ns;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned long long fake_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000u + (unsigned long long)ts.tv_nsec / 1000u;
}

static void report(const char *line)
{
    fprintf(stderr, "fake-nvml: %s\n", line);
}

static struct file_stamp stamp_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return (struct file_stamp){.valid = false};
    return (struct file_stamp){
        .valid = true,
        .dev = st.st_dev,
        .ino = st.st_ino,
        .size = st.st_size,
        .mtime = st.st_mtim,
        .ctime = st.st_ctim,
    };
}

static bool same_stamp(const struct file_stamp *a, const struct file_stamp *b)
{
    return a->valid == b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static uint64_t recheck_interval_ns(void)
{
    const char *env = getenv("FAKE_NVML_RECHECK_MS");
    char *end = NULL;
    if (env && *env) {
        unsigned long ms = strtoul(env, &end, 10);
        if (*end == '\0')
            return (uint64_t)ms * 1000000u;
    }
    return 20u * 1000000u;
}

/* Under the lock, while initialised: swap in a changed scenario file. */
static void maybe_reload(void)
{
    uint64_t now = monotonic_ns();
    if (now - last_check_ns < recheck_ns)
        return;
    last_check_ns = now;
    struct file_stamp stamp = stamp_of(scenario_path);
    if (!stamp.valid) {
        if (!missing_reported) {
            char line[SCENARIO_ERROR_MAX + 64];
            snprintf(line, sizeof(line), "%s: scenario file vanished; keeping the last one read", scenario_path);
            report(line);
            missing_reported = true;
        }
        return;
    }
    missing_reported = false;
    if (same_stamp(&stamp, &loaded_stamp))
        return;
    struct scenario *fresh = NULL;
    char err[SCENARIO_ERROR_MAX];
    if (scenario_load(scenario_path, &fresh, err) != 0) {
        /* A writer may be half-way through: retry at the next check, but say
         * so only once per version of the file. */
        if (!same_stamp(&stamp, &reported_stamp)) {
            char line[SCENARIO_ERROR_MAX + 64];
            snprintf(line, sizeof(line), "%s (keeping the previous scenario)", err);
            report(line);
            reported_stamp = stamp;
        }
        return;
    }
    scenario_free(current);
    current = fresh;
    loaded_stamp = stamp;
}

nvmlDevice_t fake_handle(unsigned int dev, int mig)
{
    return &handle_table[dev * SLOTS_PER_DEVICE + (unsigned int)(mig + 1)];
}

/* Maps a handle back to (device, slot); false for anything not from the table. */
static bool decode_handle(nvmlDevice_t handle, unsigned int *dev, int *mig)
{
    uintptr_t base = (uintptr_t)handle_table;
    uintptr_t addr = (uintptr_t)handle;
    if (addr < base || addr >= base + sizeof(handle_table) || (addr - base) % sizeof(handle_table[0]) != 0)
        return false;
    size_t i = (addr - base) / sizeof(handle_table[0]);
    *dev = (unsigned int)(i / SLOTS_PER_DEVICE);
    *mig = (int)(i % SLOTS_PER_DEVICE) - 1;
    return true;
}

nvmlReturn_t fake_injected(const struct scenario *sc, unsigned int dev, int mig, const char *function)
{
    nvmlReturn_t rc = NVML_SUCCESS;
    if (dev < sc->ndevices) {
        const struct scenario_device *d = &sc->devices[dev];
        if (mig >= 0)
            rc = scenario_injected(&d->mig[mig].errors, function);
        if (rc == NVML_SUCCESS)
            rc = scenario_injected(&d->errors, function);
    }
    return rc != NVML_SUCCESS ? rc : scenario_injected(&sc->errors, function);
}

/* A "delays_ms" entry: the call sleeps holding the library lock, as a hung
 * driver call blocks every other caller too. */
static void stall(const char *function)
{
    if (current->abort_in && strcmp(current->abort_in, function) == 0)
        abort();
    unsigned int ms = scenario_delay_ms(current, function);
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&left, &left) != 0)
        ;
}

/* Takes the lock; every path out of a call_begin_* leaves it held. */
static nvmlReturn_t enter(struct call *c)
{
    pthread_mutex_lock(&lock);
    *c = (struct call){0};
    if (init_count == 0)
        return NVML_ERROR_UNINITIALIZED;
    maybe_reload();
    c->sc = current;
    return NVML_SUCCESS;
}

nvmlReturn_t call_begin_system(struct call *c, const char *function, nvmlReturn_t args)
{
    nvmlReturn_t rc = enter(c);
    if (rc != NVML_SUCCESS)
        return rc;
    if (args != NVML_SUCCESS)
        return args;
    stall(function);
    return scenario_injected(&current->errors, function);
}

nvmlReturn_t call_begin_device(struct call *c, nvmlDevice_t handle, const char *function, nvmlReturn_t args)
{
    nvmlReturn_t rc = enter(c);
    if (rc != NVML_SUCCESS)
        return rc;
    unsigned int dev;
    int mig;
    if (!decode_handle(handle, &dev, &mig))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (dev >= current->ndevices)
        return NVML_ERROR_GPU_IS_LOST; /* the scenario no longer has this GPU */
    struct scenario_device *d = &current->devices[dev];
    if (mig >= 0 && !(d->mig_set && d->mig_current && d->mig[mig].present))
        return NVML_ERROR_INVALID_ARGUMENT; /* a destroyed MIG device's handle */
    c->dev = d;
    c->dev_index = dev;
    c->mig = mig >= 0 ? &d->mig[mig] : NULL;
    c->mig_slot = mig >= 0 ? (unsigned int)mig : 0;
    if (args != NVML_SUCCESS)
        return args;
    stall(function);
    return fake_injected(current, dev, mig, function);
}

nvmlReturn_t call_end(struct call *c, nvmlReturn_t rc)
{
    (void)c;
    pthread_mutex_unlock(&lock);
    return rc;
}

nvmlReturn_t fake_copy_string(char *dst, unsigned int length, const char *src)
{
    size_t n = strlen(src);
    if ((size_t)length < n + 1)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, n + 1);
    return NVML_SUCCESS;
}

/* ---- init and shutdown ---------------------------------------------------- */

/* Under the lock, with no scenario loaded: reads the one named by the
 * environment and makes it current. */
static nvmlReturn_t first_init(void)
{
    const char *path = getenv("FAKE_NVML_SCENARIO");
    if (!path || !*path) {
        report("FAKE_NVML_SCENARIO is not set; answering as a machine without the NVIDIA driver");
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    struct file_stamp stamp = stamp_of(path);
    struct scenario *sc = NULL;
    char err[SCENARIO_ERROR_MAX];
    if (scenario_load(path, &sc, err) != 0) {
        report(err);
        return NVML_ERROR_UNKNOWN;
    }
    if (sc->init_error != NVML_SUCCESS) {
        nvmlReturn_t rc = sc->init_error;
        scenario_free(sc);
        return rc;
    }
    scenario_path = strdup(path);
    if (!scenario_path) {
        scenario_free(sc);
        return NVML_ERROR_MEMORY;
    }
    current = sc;
    loaded_stamp = stamp;
    reported_stamp = (struct file_stamp){0};
    missing_reported = false;
    recheck_ns = recheck_interval_ns();
    last_check_ns = monotonic_ns();
    return NVML_SUCCESS;
}

static nvmlReturn_t init_common(void)
{
    pthread_mutex_lock(&lock);
    nvmlReturn_t rc = init_count > 0 ? NVML_SUCCESS : first_init();
    if (rc == NVML_SUCCESS)
        init_count++;
    pthread_mutex_unlock(&lock);
    return rc;
}

FAKE_API nvmlReturn_t nvmlInit(void)
{
    return init_common();
}

FAKE_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags; /* NO_GPUS / NO_ATTACH change nothing for a scenario */
    return init_common();
}

FAKE_API nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&lock);
    nvmlReturn_t rc = NVML_SUCCESS;
    if (init_count == 0) {
        rc = NVML_ERROR_UNINITIALIZED;
    } else if (--init_count == 0) {
        fake_events_reset();
        scenario_free(current);
        current = NULL;
        free(scenario_path);
        scenario_path = NULL;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

FAKE_API const char *nvmlErrorString(nvmlReturn_t result)
{
    return scenario_error_string(result);
}

/* ---- system queries ------------------------------------------------------- */

static nvmlReturn_t system_string(const char *function, char *buf, unsigned int length, bool driver)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, function, fake_args(buf != NULL));
    if (rc == NVML_SUCCESS)
        rc = fake_copy_string(buf, length, driver ? c.sc->driver_version : c.sc->nvml_version);
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    return system_string(__func__, version, length, true);
}

FAKE_API nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    return system_string(__func__, version, length, false);
}

static nvmlReturn_t cuda_version(const char *function, int *version)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, function, fake_args(version != NULL));
    if (rc == NVML_SUCCESS)
        *version = c.sc->cuda_driver_version;
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    return cuda_version(__func__, cudaDriverVersion);
}

static nvmlReturn_t device_count(const char *function, unsigned int *count)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, function, fake_args(count != NULL));
    if (rc == NVML_SUCCESS)
        *count = c.sc->ndevices;
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return device_count(__func__, deviceCount);
}

/* The device's own "errors" entry for this function applies too: a GPU the
 * caller may not open answers NO_PERMISSION here on a real system. */
static nvmlReturn_t handle_by_index(const char *function, unsigned int index, nvmlDevice_t *device)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, function, fake_args(device != NULL));
    if (rc == NVML_SUCCESS && index >= c.sc->ndevices)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        rc = fake_injected(c.sc, index, -1, function);
    if (rc == NVML_SUCCESS)
        *device = fake_handle(index, -1);
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index(__func__, index, device);
}

/* Full GPUs first, then MIG devices of GPUs in MIG mode (NVML accepts both). */
static bool find_uuid(const struct scenario *sc, const char *uuid, unsigned int *dev, int *mig)
{
    for (unsigned int d = 0; d < sc->ndevices; d++) {
        if (sc->devices[d].uuid && strcmp(sc->devices[d].uuid, uuid) == 0) {
            *dev = d;
            *mig = -1;
            return true;
        }
    }
    for (unsigned int d = 0; d < sc->ndevices; d++) {
        const struct scenario_device *g = &sc->devices[d];
        for (int m = 0; g->mig_set && g->mig_current && m < SCENARIO_MAX_MIG; m++) {
            if (g->mig[m].present && g->mig[m].uuid && strcmp(g->mig[m].uuid, uuid) == 0) {
                *dev = d;
                *mig = m;
                return true;
            }
        }
    }
    return false;
}

FAKE_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, __func__, fake_args(uuid != NULL && device != NULL));
    unsigned int dev = 0;
    int mig = -1;
    if (rc == NVML_SUCCESS && !find_uuid(c.sc, uuid, &dev, &mig))
        rc = NVML_ERROR_NOT_FOUND;
    if (rc == NVML_SUCCESS)
        rc = fake_injected(c.sc, dev, mig, __func__);
    if (rc == NVML_SUCCESS)
        *device = fake_handle(dev, mig);
    return call_end(&c, rc);
}

#ifndef FAKE_NVML_LEGACY
FAKE_API nvmlReturn_t nvmlInit_v2(void)
{
    return init_common();
}

FAKE_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return cuda_version(__func__, cudaDriverVersion);
}

FAKE_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    return device_count(__func__, deviceCount);
}

FAKE_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index(__func__, index, device);
}
#endif
