/* fake_events.c - the event API of the fake NVML: event sets, registering
 * GPUs for XID critical errors, and waiting for the XIDs a scenario lists.
 *
 * A device's "xid_errors" array is the sequence of XIDs its GPU raises.
 * Each event set keeps, per GPU, how many of them it has delivered, so a
 * set registered for XIDs delivers the whole list one event per wait, and
 * appending to the list in a re-read scenario raises new XIDs under a
 * running program.  Sets live in a fixed table whose addresses are the
 * handles (as with devices); they are process-global like the rest of
 * NVML's state, touched only under the library lock (between
 * call_begin_* and call_end), and all freed by the last nvmlShutdown.
 *
 * The legacy build has none of these entry points: it stands for a driver
 * without the event API, whose XID data simply does not exist.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"

#define FAKE_EVENT_SETS 16

struct nvmlEventSet_st {
    bool used;
    unsigned long long types[SCENARIO_MAX_DEVICES];   /* registered event types per GPU */
    unsigned int delivered[SCENARIO_MAX_DEVICES];     /* xid_errors entries handed out */
};

static struct nvmlEventSet_st sets[FAKE_EVENT_SETS];

void fake_events_reset(void)
{
    memset(sets, 0, sizeof(sets));
}

#ifndef FAKE_NVML_LEGACY

/* Whether set is an address from the table (in use or not); no lock needed. */
static bool in_table(nvmlEventSet_t set)
{
    uintptr_t base = (uintptr_t)sets, addr = (uintptr_t)set;
    return addr >= base && addr < base + sizeof(sets) && (addr - base) % sizeof(sets[0]) == 0;
}

static unsigned long long supported_types(const struct scenario_device *dev)
{
    return dev->xids_set ? (unsigned long long)nvmlEventTypeXidCriticalError : 0;
}

FAKE_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, __func__, fake_args(set != NULL));
    if (rc == NVML_SUCCESS) {
        rc = NVML_ERROR_MEMORY; /* every slot taken */
        for (size_t i = 0; i < FAKE_EVENT_SETS && rc != NVML_SUCCESS; i++) {
            if (!sets[i].used) {
                memset(&sets[i], 0, sizeof(sets[i]));
                sets[i].used = true;
                *set = &sets[i];
                rc = NVML_SUCCESS;
            }
        }
    }
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    struct call c;
    nvmlReturn_t rc = call_begin_system(&c, __func__, fake_args(in_table(set)));
    if (rc == NVML_SUCCESS && !set->used)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        set->used = false;
    return call_end(&c, rc);
}

/* MIG device handles have no events of their own (NVML reports a MIG
 * instance's XIDs on its GPU's handle). */
FAKE_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(eventTypes != NULL));
    if (rc == NVML_SUCCESS && c.mig)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *eventTypes = supported_types(c.dev);
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes,
                                               nvmlEventSet_t set)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(in_table(set)));
    if (rc == NVML_SUCCESS && !set->used)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS && (c.mig || (eventTypes & ~supported_types(c.dev)) != 0))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        set->types[c.dev_index] |= eventTypes;
    return call_end(&c, rc);
}

/* The next XID of the first GPU (in index order) that has one the set has
 * not delivered yet. */
static bool take_event(const struct scenario *sc, nvmlEventSet_t set, nvmlEventData_t *out)
{
    for (unsigned int d = 0; d < sc->ndevices; d++) {
        const struct scenario_device *dev = &sc->devices[d];
        if (!(set->types[d] & (unsigned long long)nvmlEventTypeXidCriticalError) || !dev->xids_set ||
            set->delivered[d] >= dev->nxids)
            continue;
        *out = (nvmlEventData_t){
            .device = fake_handle(d, -1),
            .eventType = (unsigned long long)nvmlEventTypeXidCriticalError,
            .eventData = dev->xids[set->delivered[d]++],
            .gpuInstanceId = NVML_NO_INSTANCE_ID,
            .computeInstanceId = NVML_NO_INSTANCE_ID,
        };
        return true;
    }
    return false;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Looks for an event every 10 ms until timeoutms has passed, without
 * holding the lock in between (other threads' calls go on, and each look
 * may find a re-read scenario with more XIDs).  0 looks once. */
static nvmlReturn_t wait_event(const char *function, nvmlEventSet_t set, void *data, nvmlEventData_t *out,
                               unsigned int timeoutms)
{
    uint64_t deadline = monotonic_ms() + timeoutms;
    for (;;) {
        struct call c;
        nvmlReturn_t rc = call_begin_system(&c, function, fake_args(data != NULL && in_table(set)));
        if (rc == NVML_SUCCESS && !set->used)
            rc = NVML_ERROR_INVALID_ARGUMENT;
        if (rc == NVML_SUCCESS && !take_event(c.sc, set, out))
            rc = NVML_ERROR_TIMEOUT;
        call_end(&c, rc);
        uint64_t now = monotonic_ms();
        if (rc != NVML_ERROR_TIMEOUT || now >= deadline)
            return rc;
        uint64_t nap = deadline - now < 10 ? deadline - now : 10;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap * 1000000L};
        nanosleep(&ts, NULL);
    }
}

FAKE_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    nvmlEventData_t ev;
    nvmlReturn_t rc = wait_event(__func__, set, data, &ev, timeoutms);
    if (rc == NVML_SUCCESS)
        *data = ev;
    return rc;
}

/* The older layout: the same event without the MIG instance ids. */
FAKE_API nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_v1_t *data, unsigned int timeoutms)
{
    nvmlEventData_t ev;
    nvmlReturn_t rc = wait_event(__func__, set, data, &ev, timeoutms);
    if (rc == NVML_SUCCESS)
        *data = (nvmlEventData_v1_t){.device = ev.device, .eventType = ev.eventType, .eventData = ev.eventData};
    return rc;
}

#endif
