/* options.h - the option tables: one table per command names every option
 * once (long and short name, the spellings of the tools people come from,
 * value type and range, environment variable, configuration key, help
 * sentence) and says where its value goes in the command's request struct.
 *
 * One parser reads any command line against its table; --help, the man
 * page's option lists and the shell completions are generated from the same
 * tables (src/cli/optgen.c), so an option cannot exist in one and be missing
 * from another.  Value checks fill a struct error and never print, so every
 * front end reports a bad value with the same sentence.
 *
 * Thread use: none of these functions keep state; call them from any thread.
 */
#ifndef GPUCTL_CORE_OPTIONS_H
#define GPUCTL_CORE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

enum options_type {
    OPTIONS_FLAG,     /* bool; takes no value */
    OPTIONS_STRING,   /* const char *, pointing into argv or the environment */
    OPTIONS_CHOICE,   /* const char *, one of spec->choices ("table|json") */
    OPTIONS_UINT,     /* unsigned long, min..max */
    OPTIONS_NUMBER,   /* double, min..max */
    OPTIONS_LIST,     /* struct options_list: values up to the next option,
                         each split on commas, every one checked as spec->elem */
};

/* spec->flags */
#define OPTIONS_OPTIONAL_VALUE 0x1u /* the value may be left out ("--watch", "--watch 2",
                                       "--watch=2"); a following argument is taken only
                                       when it is a valid value */
#define OPTIONS_LIST_WHILE_VALID 0x4u /* a list takes the following arguments only while
                                        each is a valid value, so `--pid 42 log.csv`
                                        leaves the operand alone */
#define OPTIONS_ENV_DOCUMENTED 0x2u /* spec->env is read by the command itself (it has its
                                       own syntax); options_apply_env leaves it alone */

/* The values of an OPTIONS_LIST option, in the order given.  The strings
 * belong to the struct options_parsed that filled it. */
struct options_list {
    const char **values;
    size_t count;
};

struct options_spec {
    const char *name;        /* "output" for --output */
    const char *short_name;  /* "o" for -o; nvitop's "ov" and "1" are short names too; a
                                one-letter one also takes its value attached, "-c1" */
    const char *aliases;     /* other whole spellings, space separated:
                                "--guard-memory-limit --no-unicode" */
    enum options_type type;
    unsigned flags;
    const char *metavar;     /* "FORMAT", "SEC", "PID" */
    const char *what;        /* what a bad value is not: "a process id"; NULL: said from
                                the type and range ("a whole number from 0 to 10") */
    const char *choices;     /* OPTIONS_CHOICE (and a CHOICE list): "table|json" */
    double min, max;         /* OPTIONS_UINT / OPTIONS_NUMBER (and their lists) */
    enum options_type elem;  /* OPTIONS_LIST: each value's type (STRING, CHOICE, UINT, NUMBER) */
    unsigned min_values;     /* OPTIONS_LIST: fewest values (0 only with OPTIONAL_VALUE) */
    unsigned max_values;     /* OPTIONS_LIST: most values, 0 for no limit */
    const char *env;         /* environment variables it falls back to, first set wins,
                                space separated: "GPUCTL_MONITOR_MODE NVITOP_MONITOR_MODE" */
    const char *config_key;  /* the config.toml key it overrides, for the docs */
    const char *group;       /* --help heading this option starts; NULL: the previous one */
    const char *help;        /* one sentence, no trailing period */
    size_t offset;           /* where the value goes: offsetof(request, field) */
};

struct options_command {
    const char *name;        /* "list" */
    const char *usage;       /* "gpuctl list [OPTIONS]" */
    const char *about;       /* what the command does, before the options in --help */
    const char *epilog;      /* after the options in --help; may be NULL */
    const char *operands;    /* words allowed as the first argument ("run status"), for
                                completions; NULL when the command takes none */
    unsigned max_operands;   /* how many non-option arguments it takes (0: none) */
    const char *operand_hint;/* added to "unexpected argument 'x'": " (put a command after '--')" */
    const struct options_spec *specs;
    size_t count;
    bool stop_at_operand;    /* the first argument that is not an option ends option parsing
                                (select -- CMD, run CMD ARGS) */
};

/* Options every command takes, after its own (a command's own spec of the
 * same name wins): --config, --log-level, -h/--help, -V/--version. */
extern const struct options_command options_common;

#define OPTIONS_MAX 128

/* What a parse found besides the request's values.  Owns the storage of
 * every list; release it with options_parsed_clear. */
struct options_parsed {
    unsigned char from[OPTIONS_MAX]; /* per spec: OPTIONS_FROM_* */
    bool help, version;
    const char *config_path, *log_level, *simulate;
    char **operands;         /* arguments that are not options, in order (borrowed from argv) */
    size_t operand_count;
    char **rest;             /* after "--" (or the first operand with stop_at_operand) */
    int rest_count;
    bool dashdash;           /* rest started at "--" */
    void **owned;
    size_t owned_count, owned_cap;
};

enum { OPTIONS_FROM_NONE, OPTIONS_FROM_FLAG, OPTIONS_FROM_ENV };

/* Parses argv[1..argc-1] (argv[0] is the command's name) against cmd and
 * options_common, storing each value at its spec's offset in req.  A bad
 * value, an unknown option or a missing value is -EINVAL with one sentence
 * naming the option and the value ("--pid: 'x' is not a PID (a whole number
 * from 1 to 4194304)"), as is an argument beyond cmd->max_operands
 * ("unexpected argument 'x'").  argv is not modified.  p is cleared first; call
 * options_parsed_clear even after a failure. */
int options_parse(const struct options_command *cmd, int argc, char **argv, void *req,
                  struct options_parsed *p, struct error *e);

/* For each option not given as a flag whose spec names environment
 * variables (and not OPTIONS_ENV_DOCUMENTED): the first non-empty one is
 * parsed like a flag's value; a bad value is -EINVAL naming the variable. */
int options_apply_env(const struct options_command *cmd, void *req, struct options_parsed *p,
                      struct error *e);

/* Checks one value against a spec as the parser would, without storing it
 * (a list's value may hold several, comma separated): for front ends that
 * take values from elsewhere (HTTP query strings, MCP arguments). */
int options_check_value(const struct options_spec *s, const char *value, struct error *e);

void options_parsed_clear(struct options_parsed *p);

/* The spec named name ("output", without dashes) in cmd, or NULL. */
const struct options_spec *options_find(const struct options_command *cmd, const char *name);
/* Whether the option named name was given (flag or environment). */
bool options_given(const struct options_command *cmd, const struct options_parsed *p,
                   const char *name);

/* The --help text of cmd: usage, about, each group of options with its
 * spellings, then the common options and the epilog. */
int options_write_help(const struct options_command *cmd, FILE *out);

/* The value part alone: "FORMAT", "[SEC]", "PID...", "TH1 TH2"; "" for a
 * flag. */
void options_format_value(const struct options_spec *s, char *buf, size_t size);

/* "--output FORMAT", "-o, --output FORMAT", "--watch [SEC]": how spec s is
 * written in help and the man page (without aliases). */
void options_format_synopsis(const struct options_spec *s, char *buf, size_t size);

#endif
