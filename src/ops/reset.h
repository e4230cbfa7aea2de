/* reset.h - resetting a GPU, vendor by vendor.
 *
 * NVML has no reset call, so an NVIDIA GPU is reset by running
 * `nvidia-smi --gpu-reset -i <bus id>` (an action, which ARCHITECTURE.md
 * decision 11 allows; nothing is ever read from it but its verdict).
 * Other vendors answer -ENOTSUP with the reason.  Choosing the GPUs and
 * ending the processes on them first are the caller's (cli/reset.c with
 * ops/kill.h).
 */
#ifndef GPUCTL_OPS_RESET_H
#define GPUCTL_OPS_RESET_H

#include <limits.h>
#include <stddef.h>

#include "core/error.h"
#include "core/model.h"

struct reset_method {
    enum vendor vendor;
    char program[PATH_MAX];      /* the program that will run (NVIDIA: nvidia-smi) */
    char device_arg[96];         /* how the program is told the GPU: bus id, else UUID */
};

/* How d can be reset on this machine.  path_env is the PATH to look for
 * programs in (NULL or "" finds none; empty entries, meaning the current
 * directory, are skipped).  Returns 0, or -ENOTSUP saying what is missing:
 * nvidia-smi on PATH, a way to name the GPU, or any reset method at all
 * for the vendor. */
int reset_prepare(const struct device *d, const char *path_env, struct reset_method *out,
                  struct error *e);

/* A reset needs root: -EPERM with a message naming the GPU otherwise. */
int reset_check_privilege(const struct device *d, struct error *e);

/* The command reset_run runs, for messages: "nvidia-smi --gpu-reset -i 0000:18:00.0". */
void reset_command_text(const struct reset_method *m, char *buf, size_t size);

/* Resets d with m, waiting for the program to finish.  *output gets what
 * it wrote to stdout and stderr together (malloc'd, caller frees; NULL
 * when it wrote nothing or could not start).  Returns 0 when it succeeded;
 * -EIO when it failed (the message gives the command and its exit status
 * or signal, the output is in *output); -errno when it could not be
 * started. */
int reset_run(const struct device *d, const struct reset_method *m, char **output,
              struct error *e);

#endif
