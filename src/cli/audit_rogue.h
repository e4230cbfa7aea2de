/* audit_rogue.h - `gpuctl audit --rogue` and the --rogue-* options:
 * suspicious-usage detection and the management of rogue.toml.
 *
 * The audit command parses its arguments with its option table
 * (audit_opts.c) and hands them here when audit_rogue_wanted() says any of
 * these options is present.
 */
#ifndef GPUCTL_CLI_AUDIT_ROGUE_H
#define GPUCTL_CLI_AUDIT_ROGUE_H

#include <stdbool.h>

#include "cli/cli.h"
#include "cli/opts.h"

/* True when q holds --rogue or any --rogue-* option. */
bool audit_rogue_wanted(const struct audit_request *q);

/* Runs `audit` with those options. */
int cli_audit_rogue(const struct audit_request *q, const struct cli_common *common);

#endif
