/* units.h - turning numbers into human text and human sizes into numbers.
 *
 * Binary multiples throughout (KiB = 1024), the way GPU memory is reported.
 */
#ifndef GPUCTL_CORE_UNITS_H
#define GPUCTL_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Buffer sizes that always hold the whole result (NUL included). */
#define UNITS_BYTES_BUFSZ 16   /* longest: "1023KiB", "16.0EiB" */
#define UNITS_ELAPSED_BUFSZ 32
#define UNITS_RFC3339_BUFSZ 21

/* "0B", "512KiB", "1.50GiB": three significant digits, no space.  Below
 * 1KiB the exact byte count ("1023B"); from 1000 to 1023 of a unit the
 * whole number ("1023MiB"), as three digits would have to round it away.
 * Units go up to EiB.  The text is cut to fit size (which must be > 0). */
void units_format_bytes(uint64_t bytes, char *buf, size_t size);

/* Whole MiB, rounded down: bytes / 1048576. */
uint64_t units_bytes_to_mib(uint64_t bytes);

/* Parses "512M", "8G", "1.5GiB", "100KiB", "4096" (bytes), "2T".
 * K/M/G/T/P/E, Ki/Mi/Gi/Ti/Pi/Ei and KiB..EiB are binary; KB/MB/GB/TB/PB/EB
 * are decimal (SI); a trailing "B" alone means bytes.  Case-insensitive
 * units, no sign, optional single space before the unit, nothing before
 * the number or after the unit.
 *
 * A fraction ("1.5G", at most 18 digits after the point) needs a multiplier
 * and is rounded to the nearest byte, halves up ("0.1K" = 102, "1.5K" =
 * 1536); a fraction of a plain byte count ("1.5", "1.5B") is refused.
 * Values above UINT64_MAX bytes are refused as too large.
 *
 * Errors (-EINVAL, -ERANGE for too large) name the text and the 1-based
 * column of the offending character. */
int units_parse_size(const char *s, size_t len, uint64_t *out, struct error *e);

/* Elapsed time the way ps shows etime: "MM:SS", "HH:MM:SS", "D-HH:MM:SS",
 * whole seconds rounded down.  Negative or non-finite input, or more
 * seconds than a uint64_t holds, gives "?". */
void units_format_elapsed(double seconds, char *buf, size_t size);

/* RFC 3339 UTC with seconds: "2026-11-21T05:32:00Z", fractions rounded
 * down (towards the past).  Returns -EINVAL for times that cannot be
 * represented (non-finite, outside time_t, or a year outside 0000..9999),
 * -ENOSPC when buf is shorter than UNITS_RFC3339_BUFSZ. */
int units_format_rfc3339_utc(double epoch_seconds, char *buf, size_t size);
/* The same with milliseconds, "2026-01-02T03:04:05.678Z" (the fraction
 * truncated, never rounded into the next second), for samples taken more
 * often than once a second; -ENOSPC below UNITS_RFC3339_MS_BUFSZ. */
#define UNITS_RFC3339_MS_BUFSZ 25
int units_format_rfc3339_utc_ms(double epoch_seconds, char *buf, size_t size);

#endif
