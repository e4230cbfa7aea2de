/* error.h - the one error record every layer below the CLI fills in.
 *
 * A function that can fail returns 0 or a negative errno-style code and, on
 * failure, writes a sentence a person can act on into a caller-provided
 * struct error.  Only src/cli turns these into printed messages and exit
 * codes.  This header has no dependencies, so every layer may include it.
 */
#ifndef GPUCTL_CORE_ERROR_H
#define GPUCTL_CORE_ERROR_H

#include <errno.h>

#define ERROR_MSG_MAX 512

/* Project codes beyond the errno range, returned negated like errno values. */
enum {
    ERROR_GPU_LIBRARY = 4096, /* a GPU library (NVML) failed or is missing */
    ERROR_PARSE,              /* malformed outside input (file, config, scenario) */
};

struct error {
    int code;                  /* negative errno-style code, 0 when clear */
    char msg[ERROR_MSG_MAX];   /* human sentence naming the object */
};

/* Records code and a printf-style message; returns code so callers can write
 * `return error_set(e, -ENOENT, "...")`.  e may be NULL. */
int error_set(struct error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (adds context on the way up). */
void error_prefix(struct error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void error_clear(struct error *e);

#endif
