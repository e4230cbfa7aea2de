/* config_doc.h - the document of the effective configuration (`gpuctl
 * config show --output json`): the file read, and for every setting its
 * value, where it came from and its environment variable.
 */
#ifndef GPUCTL_DOC_CONFIG_DOC_H
#define GPUCTL_DOC_CONFIG_DOC_H

#include <jansson.h>

#include "core/config.h"
#include "core/error.h"

/* New reference, or NULL with e filled (-ENOMEM). */
json_t *doc_config_build(const struct config *c, struct error *e);

#endif
