/* fake_nvml.h - what the entry-point files of the fake NVML share.
 *
 * Every NVML entry point that needs an initialised library runs between
 * call_begin_*() and call_end(): begin takes the one library lock, refuses
 * the call when NVML is not initialised, re-reads the scenario when its file
 * changed, resolves the device handle, reports bad arguments and then any
 * error the scenario injects for that function; end releases the lock.  The
 * body in between reads the scenario through struct call.
 *
 * None of these names is exported from the shared library (the build hides
 * everything but the FAKE_API entry points).
 */
#ifndef FAKE_NVML_INTERNAL_H
#define FAKE_NVML_INTERNAL_H

#include <stdbool.h>

#include "nvml_abi.h"
#include "scenario.h"

struct call {
    struct scenario *sc;
    struct scenario_device *dev; /* NULL for system calls */
    struct scenario_mig *mig;    /* non-NULL when the handle is a MIG device */
    unsigned int dev_index;
    unsigned int mig_slot;
};

/* NVML_SUCCESS when ok, else NVML_ERROR_INVALID_ARGUMENT. */
static inline nvmlReturn_t fake_args(bool ok)
{
    return ok ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

/* For calls without a device.  args is what the caller's own argument check
 * found (fake_args(), or a version mismatch); it is returned after the
 * initialisation check.  Always pair with call_end, whatever is returned. */
nvmlReturn_t call_begin_system(struct call *c, const char *function, nvmlReturn_t args);

/* As call_begin_system, for calls on a device or MIG device handle. */
nvmlReturn_t call_begin_device(struct call *c, nvmlDevice_t handle, const char *function, nvmlReturn_t args);

/* Releases the lock; returns rc. */
nvmlReturn_t call_end(struct call *c, nvmlReturn_t rc);

/* The error a scenario injects for function on device dev (slot mig, or -1
 * for the whole GPU): MIG map, then the GPU's, then the top-level one. */
nvmlReturn_t fake_injected(const struct scenario *sc, unsigned int dev, int mig, const char *function);

/* The stable handle of device index dev, or of its MIG slot (mig >= 0). */
nvmlDevice_t fake_handle(unsigned int dev, int mig);

/* Copies src into an NVML string buffer of length bytes (NUL included). */
nvmlReturn_t fake_copy_string(char *dst, unsigned int length, const char *src);

/* Frees every event set (fake_events.c); under the lock, at the last shutdown. */
void fake_events_reset(void);

/* CLOCK_REALTIME in microseconds, the clock of NVML's sample timestamps. */
unsigned long long fake_now_us(void);

#endif
