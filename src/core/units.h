/* units.h - turning numbers into human text and human sizes into numbers.
 *
 * Binary multiples throughout (KiB = 1024), the way GPU memory is reported.
 */
#ifndef GPUCTL_CORE_UNITS_H
#define GPUCTL_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* "0B", "512KiB", "1.50GiB": three significant digits, no space. */
void units_format_bytes(uint64_t bytes, char *buf, size_t size);

/* Whole MiB, rounded down: bytes / 1048576. */
uint64_t units_bytes_to_mib(uint64_t bytes);

/* Parses "512M", "8G", "1.5GiB", "100KiB", "4096" (bytes), "2T".
 * K/M/G/T, Ki/Mi/Gi/Ti and KiB..TiB are binary; KB/MB/GB/TB are decimal
 * (SI); a trailing "B" alone means bytes.  Case-insensitive units, no sign,
 * optional single space before the unit.  Errors name the text and the
 * offending position. */
int units_parse_size(const char *s, size_t len, uint64_t *out, struct error *e);

/* Elapsed time the way ps shows etime: "MM:SS", "HH:MM:SS", "D-HH:MM:SS".
 * Negative or non-finite input gives "?". */
void units_format_elapsed(double seconds, char *buf, size_t size);

/* RFC 3339 UTC with seconds: "2026-11-21T05:32:00Z".  Returns -EINVAL for
 * times that cannot be represented. */
int units_format_rfc3339_utc(double epoch_seconds, char *buf, size_t size);

#endif
