/* policy_file.h - what rogue.toml and guard.toml share: their place under
 * $XDG_CONFIG_HOME/gpuctl/, reading them whole, replacing them atomically,
 * string lists matched exactly or by glob, and writing TOML values.
 *
 * Reading TOML is core/toml.h's; this only writes the few value kinds the
 * two policy files hold (numbers, booleans, strings, arrays of strings).
 */
#ifndef GPUCTL_POLICY_POLICY_FILE_H
#define GPUCTL_POLICY_POLICY_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "core/toml.h"

/* Policy files are small; larger ones are refused rather than read. */
#define POLICY_FILE_MAX (4 * 1024 * 1024)

/* A list of owned strings; policy_strlist_free accepts a zeroed list. */
struct policy_strlist {
    char **items;
    size_t count;
};

void policy_strlist_free(struct policy_strlist *l);
/* Appends a copy of s; -ENOMEM. */
int policy_strlist_add(struct policy_strlist *l, const char *s);
/* Removes every item equal to s; returns how many were removed. */
size_t policy_strlist_remove(struct policy_strlist *l, const char *s);
bool policy_strlist_has(const struct policy_strlist *l, const char *s);
/* Deep copy into *dst (which is overwritten, not freed); -ENOMEM. */
int policy_strlist_copy(struct policy_strlist *dst, const struct policy_strlist *src);
/* Splits "a,b,c" (empty items dropped) and appends each; -ENOMEM. */
int policy_strlist_split(struct policy_strlist *l, const char *csv);

/* True when name equals an item or matches it as a glob (fnmatch, '*', '?',
 * '[...]'); case-insensitive when fold is set.  An empty name never
 * matches. */
bool policy_glob_any(const struct policy_strlist *patterns, const char *name, bool fold);

/* Writes "$XDG_CONFIG_HOME/gpuctl/<file>" (else ~/.config/gpuctl/<file>)
 * into buf; -ENOENT with a message when neither variable gives a path. */
int policy_config_path(char *buf, size_t size, const char *file, struct error *e);

/* Reads the whole file (at most POLICY_FILE_MAX) into *buf, NUL-terminated,
 * caller frees.  -ENOENT when it does not exist (with a message). */
int policy_read_file(const char *path, char **buf, size_t *len, struct error *e);

/* Replaces path with len bytes of text: written to a temporary file in the
 * same folder (created 0755 if missing), fsynced, renamed over it, and the
 * folder fsynced, so a reader sees the old file or the new one, never half
 * of one, and a crash keeps one of the two. */
int policy_write_file(const char *path, const char *text, size_t len, struct error *e);

/* Takes an exclusive lock on the lock file lock_path (created, with its
 * folder, when missing) for as long as *fd stays open, and writes our pid
 * into it.  -EBUSY with a message naming the holder's pid when another
 * process has it.  The caller closes *fd (or exits) to release it. */
int policy_lock_file(const char *lock_path, const char *what, int *fd, struct error *e);

/* Parses the file at path with core/toml.  -ENOENT when it is missing. */
int policy_parse_toml_file(const char *path, struct toml_value **root, struct error *e);

/* "file:line:column: " prefix for a message about value v. */
int policy_toml_error(struct error *e, const char *file, const struct toml_value *v,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* TOML writing into a memory stream (open_memstream). */
void policy_toml_string(FILE *f, const char *s);
void policy_toml_key(FILE *f, const char *key);        /* bare when it can be, else quoted */
void policy_toml_number(FILE *f, double v);            /* integers without ".0" */
void policy_toml_strlist(FILE *f, const struct policy_strlist *l);

/* Reads a TOML array of strings into l (appending); a non-array or a
 * non-string element is an error naming its position. */
int policy_toml_get_strlist(const struct toml_value *v, const char *file, const char *what,
                            struct policy_strlist *l, struct error *e);

#endif
