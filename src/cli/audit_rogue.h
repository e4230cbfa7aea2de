/* audit_rogue.h - `gpuctl audit --rogue` and the --rogue-* options:
 * suspicious-usage detection and the management of rogue.toml.
 *
 * The audit command hands its whole argument list here when
 * cli_audit_wants_rogue() says any of these options is present.
 */
#ifndef GPUCTL_CLI_AUDIT_ROGUE_H
#define GPUCTL_CLI_AUDIT_ROGUE_H

#include <stdbool.h>

/* True when argv holds --rogue or any --rogue-* option. */
bool cli_audit_wants_rogue(int argc, char **argv);

/* Help text of these options, for audit's own help. */
extern const char cli_audit_rogue_help[];

/* Runs `audit` with those options; argv[0] is "audit". */
int cli_audit_rogue(int argc, char **argv);

#endif
