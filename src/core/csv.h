/* csv.h - writing RFC 4180 CSV.
 *
 * Fields containing a comma, quote, CR or LF are quoted with inner quotes
 * doubled; records end in CRLF as the RFC says.
 */
#ifndef GPUCTL_CORE_CSV_H
#define GPUCTL_CORE_CSV_H

#include <stddef.h>
#include <stdio.h>

/* NULL fields are written empty.  Returns 0 or -errno on a write error. */
int csv_write_record(FILE *out, const char *const *fields, size_t count);

#endif
