/* csv.h - writing RFC 4180 CSV.
 *
 * Fields containing a comma, quote, CR or LF are quoted with inner quotes
 * doubled; records end in CRLF as the RFC says.  Text is written as given
 * (no escaping of leading '=' or '+' for spreadsheets: the data stays
 * exact, and importing it safely is the reader's choice).
 */
#ifndef GPUCTL_CORE_CSV_H
#define GPUCTL_CORE_CSV_H

#include <stddef.h>
#include <stdio.h>

/* NULL fields are written empty.  A record of one empty field is written
 * as "" so that it is not a blank line, which many readers skip.  Returns
 * 0 or -errno on a write error; like any stdio output, a failure that is
 * still in out's buffer shows up at the caller's fflush or fclose. */
int csv_write_record(FILE *out, const char *const *fields, size_t count);

#endif
