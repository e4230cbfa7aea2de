/* json_out.h - the small pieces every JSON-printing command shares: adding
 * keys that may be missing, unknown-as-null values, and writing a document
 * with its write errors reported.
 */
#ifndef GPUCTL_CLI_JSON_OUT_H
#define GPUCTL_CLI_JSON_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/model.h"

/* Sets key to value, taking the reference; a NULL value (ENOMEM) is skipped. */
void json_out_put(json_t *obj, const char *key, json_t *value);

/* The string, or null when it is NULL or empty. */
json_t *json_out_str(const char *s);

/* RFC 3339 UTC, or null when unknown or unrepresentable. */
json_t *json_out_time(struct opt_f64 epoch);

/* Writes root (pretty, or one line when compact) and a newline, flushes,
 * and drops the reference.  Returns 0 or -errno. */
int json_out_write(json_t *root, FILE *out, bool compact);

#endif
