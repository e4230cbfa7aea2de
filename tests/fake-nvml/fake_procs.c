/* fake_procs.c - process lists, per-process utilisation samples and MIG
 * queries of the fake NVML.
 *
 * Process lists follow NVML's sizing protocol: a call whose *infoCount is
 * below the number of entries sets *infoCount to that number and answers
 * INSUFFICIENT_SIZE (infos may then be NULL); an empty list with a count of
 * 0 is SUCCESS.  Right after a call answered INSUFFICIENT_SIZE, the next
 * growth wave of that list (scenario "process_growth") joins it, so a client
 * that fetches exactly the size it was told meets a list that grew, as it
 * may on a real machine, and must retry.  The unsuffixed calls write the
 * 16-byte entry, _v2 and _v3 the 24-byte one with instance ids.
 *
 * A full GPU in MIG mode lists its own entries followed by every MIG
 * device's (the aggregate view NVML gives a privileged caller); a MIG handle
 * lists only its own.  State and locking are fake_nvml.c's.
 */
#include <stddef.h>

#include "fake_nvml.h"

/* The lists a handle shows, in order; returns how many. */
static unsigned int lists_of(const struct call *c, enum scenario_list kind,
                             struct scenario_plist *out[SCENARIO_MAX_MIG + 1])
{
    if (c->mig) {
        out[0] = &c->mig->lists[kind];
        return 1;
    }
    unsigned int n = 0;
    out[n++] = &c->dev->lists[kind];
    for (int m = 0; c->dev->mig_set && c->dev->mig_current && m < SCENARIO_MAX_MIG; m++)
        if (c->dev->mig[m].present)
            out[n++] = &c->dev->mig[m].lists[kind];
    return n;
}

static void write_entry(void *infos, size_t entry_size, unsigned int i, const struct scenario_process *p)
{
    if (entry_size == sizeof(nvmlProcessInfo_v1_t)) {
        nvmlProcessInfo_v1_t *e = (nvmlProcessInfo_v1_t *)infos + i;
        e->pid = p->pid;
        e->usedGpuMemory = p->used_memory;
    } else {
        nvmlProcessInfo_v2_t *e = (nvmlProcessInfo_v2_t *)infos + i;
        e->pid = p->pid;
        e->usedGpuMemory = p->used_memory;
        e->gpuInstanceId = p->gpu_instance_id;
        e->computeInstanceId = p->compute_instance_id;
    }
}

static nvmlReturn_t running_processes(nvmlDevice_t device, const char *function, enum scenario_list kind,
                                      unsigned int *count, void *infos, size_t entry_size)
{
    struct call c;
    nvmlReturn_t rc =
        call_begin_device(&c, device, function, fake_args(count != NULL && (*count == 0 || infos != NULL)));
    if (rc != NVML_SUCCESS)
        return call_end(&c, rc);
    struct scenario_plist *lists[SCENARIO_MAX_MIG + 1];
    unsigned int nlists = lists_of(&c, kind, lists);
    bool present = false;
    unsigned int total = 0;
    for (unsigned int l = 0; l < nlists; l++) {
        present = present || lists[l]->present;
        total += scenario_plist_visible(lists[l]);
    }
    if (!present)
        return call_end(&c, NVML_ERROR_NOT_SUPPORTED);
    if (*count < total) {
        *count = total;
        if (lists[0]->joined < lists[0]->nwaves)
            lists[0]->joined++;
        return call_end(&c, NVML_ERROR_INSUFFICIENT_SIZE);
    }
    unsigned int written = 0;
    for (unsigned int l = 0; l < nlists; l++) {
        unsigned int visible = scenario_plist_visible(lists[l]);
        for (unsigned int i = 0; i < visible; i++)
            write_entry(infos, entry_size, written++, &lists[l]->items[i]);
    }
    *count = written;
    return call_end(&c, NVML_SUCCESS);
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                           nvmlProcessInfo_v1_t *infos)
{
    return running_processes(device, __func__, LIST_COMPUTE, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                            nvmlProcessInfo_v1_t *infos)
{
    return running_processes(device, __func__, LIST_GRAPHICS, infoCount, infos, sizeof(*infos));
}

/* ---- per-process utilisation ---------------------------------------------- */

static unsigned long long sample_time(const struct scenario_sample *s, unsigned long long now)
{
    return s->stamped ? s->timestamp : now;
}

/* Samples newer than lastSeenTimeStamp; with a NULL buffer, the size of
 * buffer that holds every sample the device keeps.  No sample at all (or
 * none newer) is NOT_FOUND, as the NVML reference describes. */
FAKE_API nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                                      nvmlProcessUtilizationSample_t *utilization,
                                                      unsigned int *processSamplesCount,
                                                      unsigned long long lastSeenTimeStamp)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(processSamplesCount != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->samples_set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc != NVML_SUCCESS)
        return call_end(&c, rc);
    const struct scenario_device *d = c.dev;
    unsigned long long now = fake_now_us();
    unsigned int newer = 0;
    for (unsigned int i = 0; i < d->nsamples; i++)
        newer += sample_time(&d->samples[i], now) > lastSeenTimeStamp;
    if (d->nsamples == 0 || (utilization && newer == 0)) {
        *processSamplesCount = 0;
        return call_end(&c, NVML_ERROR_NOT_FOUND);
    }
    if (!utilization || *processSamplesCount < newer) {
        *processSamplesCount = utilization ? newer : d->nsamples;
        return call_end(&c, NVML_ERROR_INSUFFICIENT_SIZE);
    }
    unsigned int n = 0;
    for (unsigned int i = 0; i < d->nsamples; i++) {
        const struct scenario_sample *s = &d->samples[i];
        unsigned long long ts = sample_time(s, now);
        if (ts <= lastSeenTimeStamp)
            continue;
        utilization[n++] = (nvmlProcessUtilizationSample_t){
            .pid = s->pid, .timeStamp = ts, .smUtil = s->sm, .memUtil = s->mem, .encUtil = s->enc, .decUtil = s->dec};
    }
    *processSamplesCount = n;
    return call_end(&c, NVML_SUCCESS);
}

/* ---- MIG ------------------------------------------------------------------ */

FAKE_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(currentMode != NULL && pendingMode != NULL));
    if (rc == NVML_SUCCESS && (c.mig || !c.dev->mig_set))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS) {
        *currentMode = c.dev->mig_current;
        *pendingMode = c.dev->mig_pending;
    }
    return call_end(&c, rc);
}

static unsigned int mig_capacity(const struct scenario_device *d)
{
    return d->mig_set && d->mig_current ? d->mig_max_devices : 0;
}

/* Zero when the GPU has no MIG or it is disabled, as the reference says. */
FAKE_API nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(count != NULL));
    if (rc == NVML_SUCCESS && c.mig)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *count = mig_capacity(c.dev);
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                          nvmlDevice_t *migDevice)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(migDevice != NULL));
    if (rc == NVML_SUCCESS && c.mig)
        rc = NVML_ERROR_INVALID_ARGUMENT; /* a MIG device has no MIG devices */
    else if (rc == NVML_SUCCESS && !c.dev->mig_set)
        rc = NVML_ERROR_NOT_SUPPORTED;
    else if (rc == NVML_SUCCESS && index >= mig_capacity(c.dev))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    else if (rc == NVML_SUCCESS && !c.dev->mig[index].present)
        rc = NVML_ERROR_NOT_FOUND;
    if (rc == NVML_SUCCESS)
        *migDevice = fake_handle(c.dev_index, (int)index);
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, __func__, fake_args(isMigDevice != NULL));
    if (rc == NVML_SUCCESS)
        *isMigDevice = c.mig != NULL;
    return call_end(&c, rc);
}

/* A full GPU handle has no instance ids: NOT_SUPPORTED, per the reference's
 * "device doesn't support this feature". */
static nvmlReturn_t instance_id(nvmlDevice_t device, const char *function, bool compute, unsigned int *id)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, device, function, fake_args(id != NULL));
    if (rc == NVML_SUCCESS && !c.mig)
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc == NVML_SUCCESS)
        *id = compute ? c.mig->compute_instance_id : c.mig->gpu_instance_id;
    return call_end(&c, rc);
}

FAKE_API nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, __func__, false, id);
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, __func__, true, id);
}

FAKE_API nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device)
{
    struct call c;
    nvmlReturn_t rc = call_begin_device(&c, migDevice, __func__, fake_args(device != NULL));
    if (rc == NVML_SUCCESS && !c.mig)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *device = fake_handle(c.dev_index, -1);
    return call_end(&c, rc);
}

/* ---- entry points a newer driver adds ------------------------------------- */

#ifndef FAKE_NVML_LEGACY
FAKE_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                              nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_COMPUTE, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                              nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_COMPUTE, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                               nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_GRAPHICS, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                               nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_GRAPHICS, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                              nvmlProcessInfo_v1_t *infos)
{
    return running_processes(device, __func__, LIST_MPS, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                                 nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_MPS, infoCount, infos, sizeof(*infos));
}

FAKE_API nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                                 nvmlProcessInfo_v2_t *infos)
{
    return running_processes(device, __func__, LIST_MPS, infoCount, infos, sizeof(*infos));
}
#endif
