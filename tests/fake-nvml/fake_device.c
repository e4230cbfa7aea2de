/* fake_device.c - the per-device queries of the fake NVML: identity, PCI,
 * memory, utilisation, thermals, power, fans, clocks, PCIe, ECC and modes.
 *
 * Each entry point validates its arguments the way the NVML reference
 * describes (NULL outputs and out-of-range enums are INVALID_ARGUMENT,
 * versioned structs must carry the right version word), then answers from
 * the scenario: a value the scenario leaves out is NOT_SUPPORTED.  A MIG
 * device handle answers name, UUID and memory; everything else here is
 * NOT_SUPPORTED for it.  Locking, handles and injected errors are
 * fake_nvml.c's; process lists and MIG queries are fake_procs.c's.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fake_nvml.h"

#define FIELD(member) offsetof(struct scenario_device, member)

/* Answers an optional unsigned field of the whole GPU into *value. */
static nvmlReturn_t query_checked(nvmlDevice_t device, const char *function, bool args_ok, size_t field,
                                  unsigned int *value)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, function, fake_args(args_ok));
    if (rc == NVML_SUCCESS) {
        const struct opt_uint *v = (const struct opt_uint *)((const char *)c.dev + field);
        if (c.mig || !v->set)
            rc = NVML_ERROR_NOT_SUPPORTED;
        else
            *value = v->value;
    }
    return call_end(&c, rc);
}

static nvmlReturn_t query_uint(nvmlDevice_t device, const char *function, size_t field, unsigned int *out)
{
    return query_checked(device, function, out != NULL, field, out);
}

/* ---- identity ------------------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(index != NULL));
    if (rc == NVML_SUCCESS && c.mig)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *index = c.dev_index;
    return call_end(&c, rc);
}

static nvmlReturn_t identity_string(nvmlDevice_t device, const char *function, char *buf, unsigned int length,
                                    bool uuid)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, function, fake_args(buf != NULL));
    if (rc == NVML_SUCCESS) {
        const char *value = c.mig ? (uuid ? c.mig->uuid : c.mig->name) : (uuid ? c.dev->uuid : c.dev->name);
        rc = value ? fake_copy_string(buf, length, value) : NVML_ERROR_NOT_SUPPORTED;
    }
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    return identity_string(device, __func__, name, length, false);
}

FAKE_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    return identity_string(device, __func__, uuid, length, true);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minorNumber)
{
    return query_uint(device, __func__, FIELD(minor_number), minorNumber);
}

/* ---- PCI ------------------------------------------------------------------ */

/* NVML prints bus ids in upper-case hex; the 16-byte field has room only for
 * a 4-digit domain. */
static void format_bus_id(const struct scenario_device *d, bool wide, char *buf, size_t size)
{
    if (wide)
        snprintf(buf, size, "%08X:%02X:%02X.%X", d->pci_domain, d->pci_bus, d->pci_device, d->pci_function);
    else
        snprintf(buf, size, "%04X:%02X:%02X.%X", d->pci_domain & 0xFFFFu, d->pci_bus, d->pci_device,
                 d->pci_function);
}

static nvmlReturn_t pci_begin(struct call *c, nvmlDevice_t device, const char *function, bool args_ok)
{
    nvmlReturn_t rc = call_begin_device(c, device, function, fake_args(args_ok));
    if (rc == NVML_SUCCESS && (c->mig || !c->dev->pci_set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    return rc;
}

FAKE_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_v1_t *pci)
{
    struct call c;
    nvmlReturn_t rc = pci_begin(&c, device, __func__, pci != NULL);
    if (rc == NVML_SUCCESS) {
        const struct scenario_device *d = c.dev;
        memset(pci, 0, sizeof(*pci));
        format_bus_id(d, false, pci->busId, sizeof(pci->busId));
        pci->domain = d->pci_domain;
        pci->bus = d->pci_bus;
        pci->device = d->pci_device;
        pci->pciDeviceId = d->pci_device_id;
        pci->pciSubSystemId = d->pci_subsystem_id;
    }
    return call_end(&c, rc);
}

#ifndef FAKE_NVML_LEGACY
static nvmlReturn_t pci_info_wide(nvmlDevice_t device, const char *function, nvmlPciInfo_t *pci)
{
    struct call c;
    nvmlReturn_t rc = pci_begin(&c, device, function, pci != NULL);
    if (rc == NVML_SUCCESS) {
        const struct scenario_device *d = c.dev;
        memset(pci, 0, sizeof(*pci));
        format_bus_id(d, false, pci->busIdLegacy, sizeof(pci->busIdLegacy));
        format_bus_id(d, true, pci->busId, sizeof(pci->busId));
        pci->domain = d->pci_domain;
        pci->bus = d->pci_bus;
        pci->device = d->pci_device;
        pci->pciDeviceId = d->pci_device_id;
        pci->pciSubSystemId = d->pci_subsystem_id;
    }
    return call_end(&c, rc);
}
#endif

/* ---- memory --------------------------------------------------------------- */

static const struct scenario_memory *memory_of(const struct call *c)
{
    const struct scenario_memory *m = c->mig ? &c->mig->memory : &c->dev->memory;
    return m->set ? m : NULL;
}

/* The first memory call predates the "reserved" figure: its "used" counts
 * the driver's reservation too, so that total = free + used still holds. */
FAKE_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(memory != NULL));
    const struct scenario_memory *m = rc == NVML_SUCCESS ? memory_of(&c) : NULL;
    if (rc == NVML_SUCCESS && !m)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *memory = (nvmlMemory_t){.total = m->total, .free = m->free, .used = m->used + m->reserved};
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetBAR1MemoryInfo(nvmlDevice_t device, nvmlBAR1Memory_t *bar1Memory)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(bar1Memory != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->bar1_set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *bar1Memory = (nvmlBAR1Memory_t){
            .bar1Total = c.dev->bar1_total, .bar1Free = c.dev->bar1_free, .bar1Used = c.dev->bar1_used};
    return call_end(&c, rc);
}

/* ---- utilisation ---------------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(utilization != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->util_gpu.set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *utilization = (nvmlUtilization_t){.gpu = c.dev->util_gpu.value, .memory = c.dev->util_memory.value};
    return call_end(&c, rc);
}

static nvmlReturn_t codec_utilization(nvmlDevice_t device, const char *function, bool encoder, unsigned int *util,
                                      unsigned int *period)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, function, fake_args(util != NULL && period != NULL));
    const struct opt_uint *u = NULL, *p = NULL;
    if (rc == NVML_SUCCESS && !c.mig) {
        u = encoder ? &c.dev->encoder_util : &c.dev->decoder_util;
        p = encoder ? &c.dev->encoder_period_us : &c.dev->decoder_period_us;
    }
    if (rc == NVML_SUCCESS && (!u || !u->set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        *util = u->value;
        *period = p->value;
    }
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t device, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs)
{
    return codec_utilization(device, __func__, true, utilization, samplingPeriodUs);
}

FAKE_API nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t device, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs)
{
    return codec_utilization(device, __func__, false, utilization, samplingPeriodUs);
}

/* ---- thermals and power --------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType,
                                               unsigned int *temp)
{
    return query_checked(device, __func__, temp != NULL && sensorType == NVML_TEMPERATURE_GPU, FIELD(temperature),
                         temp);
}

FAKE_API nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t device,
                                                        nvmlTemperatureThresholds_t thresholdType,
                                                        unsigned int *temp)
{
    bool valid = (unsigned int)thresholdType < NVML_TEMPERATURE_THRESHOLD_COUNT;
    size_t field = FIELD(thresholds) + (valid ? (size_t)thresholdType : 0) * sizeof(struct opt_uint);
    return query_checked(device, __func__, temp != NULL && valid, field, temp);
}

FAKE_API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    return query_uint(device, __func__, FIELD(power_usage_mw), power);
}

FAKE_API nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
    return query_uint(device, __func__, FIELD(enforced_limit_mw), limit);
}

FAKE_API nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    return query_uint(device, __func__, FIELD(management_limit_mw), limit);
}

/* ---- fans ----------------------------------------------------------------- */

/* fan < 0: the first fan, as the unversioned call reports. */
static nvmlReturn_t fan_speed(nvmlDevice_t device, const char *function, int fan, unsigned int *speed)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, function, fake_args(speed != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->fans_set || (fan < 0 && c.dev->nfans == 0)))
        rc = NVML_ERROR_NOT_SUPPORTED;
    else if (rc == NVML_SUCCESS && fan >= 0 && (unsigned int)fan >= c.dev->nfans)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *speed = c.dev->fans[fan < 0 ? 0 : fan];
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int *speed)
{
    return fan_speed(device, __func__, -1, speed);
}

/* ---- clocks --------------------------------------------------------------- */

static nvmlReturn_t clock_info(nvmlDevice_t device, const char *function, bool max, nvmlClockType_t type,
                               unsigned int *clock)
{
    bool valid = (unsigned int)type < NVML_CLOCK_COUNT;
    size_t field = (max ? FIELD(max_clocks) : FIELD(clocks)) + (valid ? (size_t)type : 0) * sizeof(struct opt_uint);
    return query_checked(device, function, clock != NULL && valid, field, clock);
}

FAKE_API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock)
{
    return clock_info(device, __func__, false, type, clock);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock)
{
    return clock_info(device, __func__, true, type, clock);
}

/* ---- PCIe ----------------------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t device, unsigned int *currLinkGen)
{
    return query_uint(device, __func__, FIELD(pcie_gen), currLinkGen);
}

FAKE_API nvmlReturn_t nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t device, unsigned int *currLinkWidth)
{
    return query_uint(device, __func__, FIELD(pcie_width), currLinkWidth);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t device, unsigned int *maxLinkGen)
{
    return query_uint(device, __func__, FIELD(pcie_max_gen), maxLinkGen);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMaxPcieLinkWidth(nvmlDevice_t device, unsigned int *maxLinkWidth)
{
    return query_uint(device, __func__, FIELD(pcie_max_width), maxLinkWidth);
}

#ifndef FAKE_NVML_LEGACY
FAKE_API nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t device, unsigned int *value)
{
    return query_uint(device, __func__, FIELD(pcie_replay_counter), value);
}
#endif

FAKE_API nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t device, nvmlPcieUtilCounter_t counter,
                                                  unsigned int *value)
{
    bool valid = (unsigned int)counter < NVML_PCIE_UTIL_COUNT;
    size_t field = counter == NVML_PCIE_UTIL_RX_BYTES ? FIELD(pcie_rx_kbps) : FIELD(pcie_tx_kbps);
    return query_checked(device, __func__, value != NULL && valid, field, value);
}

/* ---- ECC and modes -------------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                                  nvmlEccCounterType_t counterType, unsigned long long *eccCounts)
{
    bool valid = (unsigned int)errorType < NVML_MEMORY_ERROR_TYPE_COUNT &&
                 (unsigned int)counterType < NVML_ECC_COUNTER_TYPE_COUNT;
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(eccCounts != NULL && valid));
    const struct opt_ull *v = rc == NVML_SUCCESS && !c.mig ? &c.dev->ecc[errorType][counterType] : NULL;
    if (rc == NVML_SUCCESS && (!v || !v->set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *eccCounts = v->value;
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, nvmlEnableState_t *mode)
{
    unsigned int value = 0;
    nvmlReturn_t rc = query_checked(device, __func__, mode != NULL, FIELD(persistence_mode), &value);
    if (rc == NVML_SUCCESS)
        *mode = value ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return rc;
}

FAKE_API nvmlReturn_t nvmlDeviceGetDisplayActive(nvmlDevice_t device, nvmlEnableState_t *isActive)
{
    unsigned int value = 0;
    nvmlReturn_t rc = query_checked(device, __func__, isActive != NULL, FIELD(display_active), &value);
    if (rc == NVML_SUCCESS)
        *isActive = value ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return rc;
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, nvmlComputeMode_t *mode)
{
    unsigned int value = 0;
    nvmlReturn_t rc = query_checked(device, __func__, mode != NULL, FIELD(compute_mode), &value);
    if (rc == NVML_SUCCESS)
        *mode = (nvmlComputeMode_t)value;
    return rc;
}

FAKE_API nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t device, nvmlPstates_t *pState)
{
    unsigned int value = 0;
    nvmlReturn_t rc = query_checked(device, __func__, pState != NULL, FIELD(pstate), &value);
    if (rc == NVML_SUCCESS)
        *pState = (nvmlPstates_t)value;
    return rc;
}

/* ---- entry points a newer driver adds ------------------------------------- */

#ifndef FAKE_NVML_LEGACY
FAKE_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return pci_info_wide(device, __func__, pci);
}

FAKE_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return pci_info_wide(device, __func__, pci);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    nvmlReturn_t args = fake_args(memory != NULL);
    if (args == NVML_SUCCESS && memory->version != nvmlMemory_v2)
        args = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, args);
    const struct scenario_memory *m = rc == NVML_SUCCESS ? memory_of(&c) : NULL;
    if (rc == NVML_SUCCESS && !m)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        memory->total = m->total;
        memory->reserved = m->reserved;
        memory->free = m->free;
        memory->used = m->used;
    }
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t device, nvmlTemperature_v1_t *temperature)
{
    nvmlReturn_t args = fake_args(temperature != NULL);
    if (args == NVML_SUCCESS && temperature->version != nvmlTemperature_v1)
        args = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    else if (args == NVML_SUCCESS && temperature->sensorType != NVML_TEMPERATURE_GPU)
        args = NVML_ERROR_INVALID_ARGUMENT;
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, args);
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->temperature.set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        temperature->temperature = (int)c.dev->temperature.value;
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetFanSpeed_v2(nvmlDevice_t device, unsigned int fan, unsigned int *speed)
{
    return fan_speed(device, __func__, fan > SCENARIO_MAX_FANS ? SCENARIO_MAX_FANS : (int)fan, speed);
}

FAKE_API nvmlReturn_t nvmlDeviceGetNumFans(nvmlDevice_t device, unsigned int *numFans)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(numFans != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->fans_set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *numFans = c.dev->nfans;
    return call_end(&c, rc);
}
#endif
