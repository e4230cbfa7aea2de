/* build.h - assembling a document without checking every allocation at
 * its call site: the builders of src/doc put values through a struct
 * doc_build, which remembers whether any allocation failed, and
 * doc_finish turns a failed build into NULL and an error record.
 */
#ifndef GPUCTL_DOC_BUILD_H
#define GPUCTL_DOC_BUILD_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"

struct doc_build {
    bool failed;     /* an allocation or insertion failed: the document is incomplete */
};

json_t *doc_object(struct doc_build *b);
json_t *doc_array(struct doc_build *b);

/* Sets key to value, taking the reference.  A NULL obj or value marks the
 * build failed (value is released). */
void doc_put(struct doc_build *b, json_t *obj, const char *key, json_t *value);
/* Appends value to arr, taking the reference; NULL marks the build failed. */
void doc_append(struct doc_build *b, json_t *arr, json_t *value);

/* root when the build succeeded; otherwise releases root, fills e (-ENOMEM)
 * and returns NULL. */
json_t *doc_finish(struct doc_build *b, json_t *root, struct error *e);

/* v rounded to `digits` significant digits (1..15), so that a document
 * serialised with doc_json_dump_flags shows exactly those digits; null
 * when v is not finite. */
json_t *doc_real_digits(double v, int digits);

#endif
