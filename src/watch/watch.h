/* watch.h - the logger behind `gpuctl watch`: which GPU processes to log,
 * the columns of a row, the rules for an existing output file, and the
 * fixed sampling schedule.
 *
 * The loop itself (signals, sleeping, flags) is the CLI's; this module
 * turns one snapshot into rows and decides about files and times, so each
 * of those can be tested alone.
 */
#ifndef GPUCTL_WATCH_WATCH_H
#define GPUCTL_WATCH_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "core/error.h"
#include "core/outfile.h"
#include "core/snapshot.h"

enum watch_format { WATCH_CSV, WATCH_JSONL };

#define WATCH_BASIC_COLUMNS 7
#define WATCH_EXTENDED_COLUMNS 11

/* The column names, in order: the first WATCH_BASIC_COLUMNS always, all
 * WATCH_EXTENDED_COLUMNS with --extended.  Static storage. */
extern const char *const watch_columns[WATCH_EXTENDED_COLUMNS];

/* --match: a PCRE2 pattern on the full command line, or, when the pattern
 * does not compile, the same text as a literal substring. */
struct watch_matcher {
    void *re;               /* pcre2_code, NULL for a literal */
    void *match_data;
    char *literal;          /* owned; NULL for a regex */
    char why[256];          /* with a literal: why the pattern was no regex */
};

/* Returns 0 (check m->literal to see which kind it became) or -ENOMEM. */
int watch_matcher_init(struct watch_matcher *m, const char *pattern, struct error *e);
bool watch_matcher_hits(const struct watch_matcher *m, const char *text);
void watch_matcher_clear(struct watch_matcher *m);   /* accepts a zeroed one */

/* Which processes are logged: all GPU processes when both are empty. */
struct watch_select {
    const pid_t *pids;
    size_t pid_count;
    const struct watch_matcher *match;   /* NULL: no pattern */
};

/* Opens path for logging under the header rules: without append, or when
 * the file is absent or empty, it is (re)created and *write_header is set
 * (CSV only); with append and content, the first line must be the header
 * of these columns, else -EEXIST with a message naming the file and both
 * headers.  JSON lines have no header: there the first record must have
 * exactly these keys.
 * Without append the log is written to a temporary file beside path,
 * which replaces path at the caller's first outfile_publish (once the
 * first sample is on disk): a watch that fails before then leaves an
 * existing log as it was.  With append, path itself grows.
 * *out is the caller's to outfile_commit or outfile_discard. */
int watch_open_output(const char *path, bool append, bool extended, enum watch_format format,
                      struct outfile *out, bool *write_header, struct error *e);

/* Writes the header record (CSV). */
int watch_write_header(FILE *out, bool extended);

/* Writes one row per selected GPU process in s: all share the snapshot's
 * wall-clock time as local ISO 8601 to the second.  With extended, the
 * host columns are filled from s (memory, RSS, cpu_pct_interval) and the
 * threads' CPUs are read now.  *rows gets the number written.  Returns 0
 * or -errno on a write error (the data may sit in out's buffer until the
 * caller flushes it). */
int watch_write_sample(FILE *out, enum watch_format format, bool extended,
                       const struct snapshot *s, const struct watch_select *sel, size_t *rows);

/* "8/9/11": the CPUs joined by '/', "" for none.  Returns buf. */
char *watch_format_cpus(const int *cpus, size_t count, char *buf, size_t size);

/* The fixed schedule: sample k is due at start + k * interval, so a slow
 * sample never shifts the ones after it (no drift over hours); samples
 * whose time has passed are skipped, not caught up in a burst. */
struct watch_schedule {
    struct timespec start;     /* CLOCK_MONOTONIC of sample 0 */
    int64_t interval_ns;
    uint64_t k;                /* the sample last due */
};

void watch_schedule_init(struct watch_schedule *s, const struct timespec *start,
                         double interval_s);
/* Advances to the first sample due after now and returns its time;
 * *skipped (may be NULL) gets how many were passed over. */
struct timespec watch_schedule_next(struct watch_schedule *s, const struct timespec *now,
                                    uint64_t *skipped);

#endif
