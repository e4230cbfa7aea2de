/* test_config.c - defaults, config.toml, GPUCTL_* variables and flags, their
 * precedence and origins, and every way configuration is refused.
 *
 * Each test gets a fresh temporary XDG_CONFIG_HOME and HOME and a clean
 * GPUCTL_* environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

struct fixture {
    char dir[256];     /* XDG_CONFIG_HOME */
    char file[512];    /* $dir/gpuctl/config.toml */
};

static const char *const env_vars[] = {
    "GPUCTL_LOG_LEVEL",    "GPUCTL_OUTPUT_FORMAT",  "GPUCTL_USE_COLORS",  "GPUCTL_TABLE_WIDTH",
    "GPUCTL_DEFAULT_TIMEOUT", "GPUCTL_WATCH_INTERVAL", "GPUCTL_SHOW_DETAILS",
    "GPUCTL_AUDIT_RECORD_ON_LIST", "GPUCTL_AUDIT_RETENTION_DAYS",
};

#define KNOWN_KEYS "known keys: log_level, output_format, use_colors, table_width, " \
                   "default_timeout_secs, watch_interval_secs, show_details, " \
                   "audit.record_on_list, audit.retention_days, " \
                   "cluster.node_retention_hours, cluster.idle_util_pct, " \
                   "cluster.idle_min_memory_mib, cluster.idle_minutes, cluster.low_util_pct, " \
                   "cluster.hold_minutes, cluster.fair_share_factor, cluster.top_users"

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/gpuctl-test-config-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->file, sizeof f->file, "%s/gpuctl/config.toml", f->dir);
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
    setenv("XDG_CONFIG_HOME", f->dir, 1);
    setenv("HOME", f->dir, 1);
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    mkdir(dir, 0700);   /* may exist already */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void write_config(const struct fixture *f, const char *text)
{
    write_file(f->file, text);
}

/* Loads and expects success, printing the error otherwise. */
static void load_ok(struct config *c, const char *path)
{
    struct error e = {0};
    int rc = config_load(c, path, &e);
    if (rc != 0)
        print_message("config_load: %s\n", e.msg);
    assert_int_equal(rc, 0);
}

/* Loads and expects failure with exactly `want` (after the file path when
 * with_path) and the configuration untouched. */
static void load_fails(const struct fixture *f, const char *want, bool with_path)
{
    struct config c, before;
    config_defaults(&c);
    struct error e = {0};
    assert_int_equal(config_set_from_flag(&c, CONFIG_TABLE_WIDTH, "33", &e), 0);
    memcpy(&before, &c, sizeof c);
    int rc = config_load(&c, NULL, &e);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s%s", with_path ? f->file : "", want);
    if (rc >= 0 || strcmp(e.msg, expected) != 0)
        fail_msg("rc %d\nwant: %s\ngot:  %s", rc, expected, e.msg);
    assert_memory_equal(&c, &before, sizeof c);
}

static void value_text_is(const struct config *c, enum config_key key, const char *want)
{
    char buf[64];
    config_value_text(c, key, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* ------------------------------------------------------------ defaults */

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.log_level, LOG_WARN);
    assert_int_equal(c.output_format, OUTPUT_TABLE);
    assert_true(c.use_colors);
    assert_int_equal(c.table_width, 0);
    assert_int_equal(c.default_timeout_secs, 5);
    assert_true(c.watch_interval_secs == 2.0);
    assert_false(c.show_details);
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        assert_int_equal(c.origin[k], CONFIG_FROM_DEFAULT);
    assert_string_equal(c.file_path, "");
    assert_false(c.file_found);
}

static void test_missing_default_file_is_fine(void **state)
{
    struct fixture *f = *state;
    struct config c;
    memset(&c, 0x5a, sizeof c);
    load_ok(&c, NULL);
    struct config d;
    config_defaults(&d);
    assert_int_equal(c.log_level, d.log_level);
    assert_int_equal(c.default_timeout_secs, 5);
    assert_false(c.file_found);
    assert_string_equal(c.file_path, f->file);
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        assert_int_equal(c.origin[k], CONFIG_FROM_DEFAULT);
}

static void test_default_path(void **state)
{
    struct fixture *f = *state;
    char buf[512];
    config_default_path(buf, sizeof buf);
    assert_string_equal(buf, f->file);
    setenv("XDG_CONFIG_HOME", "relative/dir", 1);   /* ignored, as the XDG spec says */
    setenv("HOME", "/home/someone", 1);
    config_default_path(buf, sizeof buf);
    assert_string_equal(buf, "/home/someone/.config/gpuctl/config.toml");
    setenv("XDG_CONFIG_HOME", "", 1);
    config_default_path(buf, sizeof buf);
    assert_string_equal(buf, "/home/someone/.config/gpuctl/config.toml");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    config_default_path(buf, sizeof buf);
    assert_string_equal(buf, "");
    setenv("HOME", "/h", 1);
    config_default_path(buf, 10);   /* does not fit: nothing rather than a cut path */
    assert_string_equal(buf, "");
    /* no path at all: defaults and the environment still load */
    unsetenv("HOME");
    setenv("GPUCTL_TABLE_WIDTH", "80", 1);
    struct config c;
    load_ok(&c, NULL);
    assert_int_equal(c.table_width, 80);
    assert_string_equal(c.file_path, "");
}

/* ------------------------------------------------------------ the file */

static void test_file_values(void **state)
{
    struct fixture *f = *state;
    write_config(f, "# every key\n"
                    "log_level = \"debug\"\n"
                    "output_format = 'ndjson'\n"
                    "use_colors = false\n"
                    "table_width = 132\n"
                    "default_timeout_secs = 86400\n"
                    "watch_interval_secs = 0.25\n"
                    "show_details = true\n"
                    "[audit]\n"
                    "record_on_list = false\n"
                    "retention_days = 0\n"
                    "[cluster]\n"
                    "node_retention_hours = 0\n"
                    "idle_util_pct = 0\n"
                    "idle_min_memory_mib = 512\n"
                    "idle_minutes = 0.5\n"
                    "low_util_pct = 20\n"
                    "hold_minutes = 90\n"
                    "fair_share_factor = 1.5\n"
                    "top_users = 3\n");
    struct config c;
    load_ok(&c, NULL);
    assert_int_equal(c.cluster_node_retention_hours, 0);
    assert_true(c.cluster_idle_util_pct == 0);
    assert_int_equal(c.cluster_idle_min_memory_mib, 512);
    assert_true(c.cluster_idle_minutes == 0.5);
    assert_true(c.cluster_low_util_pct == 20);
    assert_true(c.cluster_hold_minutes == 90);
    assert_true(c.cluster_fair_share_factor == 1.5);
    assert_int_equal(c.cluster_top_users, 3);
    assert_true(c.file_found);
    assert_false(c.audit_record_on_list);
    assert_int_equal(c.audit_retention_days, 0);
    assert_string_equal(c.file_path, f->file);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.output_format, OUTPUT_NDJSON);
    assert_false(c.use_colors);
    assert_int_equal(c.table_width, 132);
    assert_int_equal(c.default_timeout_secs, 86400);
    assert_true(c.watch_interval_secs == 0.25);
    assert_true(c.show_details);
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        assert_int_equal(c.origin[k], CONFIG_FROM_FILE);
}

static void test_file_partial_and_integer_interval(void **state)
{
    struct fixture *f = *state;
    write_config(f, "watch_interval_secs = 3\nlog_level = \"TRACE\"\n");
    struct config c;
    load_ok(&c, NULL);
    assert_true(c.watch_interval_secs == 3.0);
    assert_int_equal(c.log_level, LOG_TRACE);
    assert_int_equal(c.origin[CONFIG_WATCH_INTERVAL_SECS], CONFIG_FROM_FILE);
    assert_int_equal(c.origin[CONFIG_LOG_LEVEL], CONFIG_FROM_FILE);
    assert_int_equal(c.origin[CONFIG_TABLE_WIDTH], CONFIG_FROM_DEFAULT);
    assert_int_equal(c.default_timeout_secs, 5);
}

static void test_empty_file(void **state)
{
    struct fixture *f = *state;
    write_config(f, "");
    struct config c;
    load_ok(&c, NULL);
    assert_true(c.file_found);
    assert_int_equal(c.origin[CONFIG_LOG_LEVEL], CONFIG_FROM_DEFAULT);
}

static void test_explicit_path(void **state)
{
    struct fixture *f = *state;
    char other[512];
    snprintf(other, sizeof other, "%s/elsewhere.toml", f->dir);
    write_file(other, "output_format = \"csv\"\n");
    write_config(f, "output_format = \"json\"\n");   /* not read: the explicit path wins */
    struct config c;
    load_ok(&c, other);
    assert_int_equal(c.output_format, OUTPUT_CSV);
    assert_string_equal(c.file_path, other);
    assert_true(c.file_found);
}

static void test_explicit_path_missing_is_an_error(void **state)
{
    struct fixture *f = *state;
    char missing[512], want[600];
    snprintf(missing, sizeof missing, "%s/none.toml", f->dir);
    snprintf(want, sizeof want, "config file %s does not exist", missing);
    struct config c, before;
    config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    struct error e = {0};
    assert_int_equal(config_load(&c, missing, &e), -ENOENT);
    assert_string_equal(e.msg, want);
    assert_memory_equal(&c, &before, sizeof c);
    assert_int_equal(config_load(&c, "", &e), -EINVAL);
    assert_string_equal(e.msg, "the config file path is empty");
    char *long_path = malloc(5000);
    assert_non_null(long_path);
    memset(long_path, 'p', 4999);
    long_path[4999] = '\0';
    assert_int_equal(config_load(&c, long_path, &e), -ENAMETOOLONG);
    assert_string_equal(e.msg, "config file path is too long (4999 bytes)");
    free(long_path);
    assert_memory_equal(&c, &before, sizeof c);
}

static void test_unreadable_files(void **state)
{
    struct fixture *f = *state;
    char want[1024];
    struct config c;
    struct error e = {0};
    /* the default location is a directory */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gpuctl", f->dir);
    mkdir(dir, 0700);
    assert_int_equal(mkdir(f->file, 0700), 0);
    snprintf(want, sizeof want, "config file %s is a directory, not a file", f->file);
    assert_int_equal(config_load(&c, NULL, &e), -EISDIR);
    assert_string_equal(e.msg, want);
    /* a path through a regular file */
    char through[600];
    snprintf(through, sizeof through, "%s/x", f->file);
    rmdir(f->file);
    write_config(f, "");
    snprintf(want, sizeof want, "cannot open config file %s: Not a directory", through);
    assert_int_equal(config_load(&c, through, &e), -ENOTDIR);
    assert_string_equal(e.msg, want);
    /* too large */
    FILE *fp = fopen(f->file, "w");
    assert_non_null(fp);
    for (int i = 0; i < 1024 * 1024 / 16 + 1; i++)
        fputs("# padding......\n", fp);
    fclose(fp);
    snprintf(want, sizeof want, "config file %s is larger than 1048576 bytes", f->file);
    assert_int_equal(config_load(&c, NULL, &e), -EFBIG);
    assert_string_equal(e.msg, want);
}

static void test_permission_denied(void **state)
{
    struct fixture *f = *state;
    if (geteuid() == 0)
        skip();   /* root reads files whatever their mode */
    write_config(f, "log_level = \"info\"\n");
    assert_int_equal(chmod(f->file, 0), 0);
    char want[1024];
    snprintf(want, sizeof want, "cannot open config file %s: Permission denied", f->file);
    struct config c;
    struct error e = {0};
    assert_int_equal(config_load(&c, NULL, &e), -EACCES);
    assert_string_equal(e.msg, want);
}

/* Each bad file, and the exact message after the file's path. */
static void test_bad_files(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"log_level = \"info\"\nuse_colors true\n",
         ":2:12: expected '=' after key \"use_colors\", found 't'"},
        {"use_colors = \"yes\"\n", ":1:14: use_colors: expected a boolean, found string"},
        {"show_details = 1\n", ":1:16: show_details: expected a boolean, found integer"},
        {"log_level = 3\n", ":1:13: log_level: expected a string, found integer"},
        {"log_level = \"verbose\"\n",
         ":1:13: log_level: expected one of error, warn, info, debug, trace, found \"verbose\""},
        {"output_format = \"xml\"\n",
         ":1:17: output_format: expected one of table, json, csv, ndjson, found \"xml\""},
        {"output_format = \"json\\u0000\"\n",
         ":1:17: output_format: expected one of table, json, csv, ndjson, found \"json?\""},
        {"default_timeout_secs = 0\n",
         ":1:24: default_timeout_secs: must be between 1 and 86400, found 0"},
        {"default_timeout_secs = 86401\n",
         ":1:24: default_timeout_secs: must be between 1 and 86400, found 86401"},
        {"default_timeout_secs = 2.5\n",
         ":1:24: default_timeout_secs: expected an integer, found float"},
        {"default_timeout_secs = 9223372036854775807\n",
         ":1:24: default_timeout_secs: must be between 1 and 86400, found 9223372036854775807"},
        {"table_width = -5\n", ":1:15: table_width: must be between 0 and 2147483647, found -5"},
        {"table_width = 4294967296\n",
         ":1:15: table_width: must be between 0 and 2147483647, found 4294967296"},
        {"table_width = \"80\"\n", ":1:15: table_width: expected an integer, found string"},
        {"watch_interval_secs = 0.0\n",
         ":1:23: watch_interval_secs: must be greater than 0 and at most 86400, found 0"},
        {"watch_interval_secs = -1\n",
         ":1:23: watch_interval_secs: must be greater than 0 and at most 86400, found -1"},
        {"watch_interval_secs = nan\n",
         ":1:23: watch_interval_secs: must be greater than 0 and at most 86400, found nan"},
        {"watch_interval_secs = inf\n",
         ":1:23: watch_interval_secs: must be greater than 0 and at most 86400, found inf"},
        {"watch_interval_secs = 'fast'\n",
         ":1:23: watch_interval_secs: expected a number, found string"},
        {"watch_interval_secs = [1]\n",
         ":1:23: watch_interval_secs: expected a number, found array"},
        {"use_colors = {}\n", ":1:14: use_colors: expected a boolean, found table"},
        {"use_colors = 1979-05-27\n", ":1:14: use_colors: expected a boolean, found local date"},
        {"colour = true\n", ":1:1: unknown key \"colour\"; " KNOWN_KEYS},
        {"log_level = \"info\"\n  Use_Colors = true\n",
         ":2:3: unknown key \"Use_Colors\"; " KNOWN_KEYS},
        {"[display]\nwidth = 3\n", ":1:2: unknown key \"display\"; " KNOWN_KEYS},
        {"log.level = \"info\"\n", ":1:1: unknown key \"log\"; " KNOWN_KEYS},
        {"\"bad\\u0007key\" = 1\n", ":1:1: unknown key \"bad?key\"; " KNOWN_KEYS},
        {"log_level = 'info'\nlog_level = 'debug'\n",
         ":2:1: key \"log_level\" is defined twice (first at line 1, column 1)"},
        {"log_level = \"info\xff\"\n", ":1:18: invalid UTF-8: unexpected byte 0xFF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_config(f, cases[i].text);
        load_fails(f, cases[i].message, true);
    }
}

/* ------------------------------------------------------------ environment */

static void test_env_overrides_file(void **state)
{
    struct fixture *f = *state;
    write_config(f, "log_level = \"info\"\ntable_width = 100\n");
    setenv("GPUCTL_LOG_LEVEL", "debug", 1);
    setenv("GPUCTL_SHOW_DETAILS", "yes", 1);
    setenv("GPUCTL_TABLE_WIDTH", "", 1);   /* empty counts as unset */
    struct config c;
    load_ok(&c, NULL);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.origin[CONFIG_LOG_LEVEL], CONFIG_FROM_ENV);
    assert_true(c.show_details);
    assert_int_equal(c.origin[CONFIG_SHOW_DETAILS], CONFIG_FROM_ENV);
    assert_int_equal(c.table_width, 100);
    assert_int_equal(c.origin[CONFIG_TABLE_WIDTH], CONFIG_FROM_FILE);
    assert_int_equal(c.origin[CONFIG_OUTPUT_FORMAT], CONFIG_FROM_DEFAULT);
}

static void test_env_values(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool value;
    } bools[] = {{"1", true},   {"0", false},    {"true", true}, {"FALSE", false},
                 {"Yes", true}, {"no", false},   {"ON", true},   {"off", false}};
    struct config c;
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        setenv("GPUCTL_USE_COLORS", bools[i].text, 1);
        load_ok(&c, NULL);
        assert_int_equal(c.use_colors, bools[i].value);
        assert_int_equal(c.origin[CONFIG_USE_COLORS], CONFIG_FROM_ENV);
    }
    setenv("GPUCTL_OUTPUT_FORMAT", "JSON", 1);
    setenv("GPUCTL_TABLE_WIDTH", "0", 1);
    setenv("GPUCTL_DEFAULT_TIMEOUT", "1", 1);
    setenv("GPUCTL_WATCH_INTERVAL", "0.5", 1);
    setenv("GPUCTL_LOG_LEVEL", "error", 1);
    load_ok(&c, NULL);
    assert_int_equal(c.output_format, OUTPUT_JSON);
    assert_int_equal(c.table_width, 0);
    assert_int_equal(c.origin[CONFIG_TABLE_WIDTH], CONFIG_FROM_ENV);
    assert_int_equal(c.default_timeout_secs, 1);
    assert_true(c.watch_interval_secs == 0.5);
    assert_int_equal(c.log_level, LOG_ERROR);
    setenv("GPUCTL_WATCH_INTERVAL", "86400", 1);
    load_ok(&c, NULL);
    assert_true(c.watch_interval_secs == 86400.0);
}

static void test_bad_env(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *var, *value, *message;
    } cases[] = {
        {"GPUCTL_USE_COLORS", "maybe", "environment variable GPUCTL_USE_COLORS=\"maybe\": expected "
                                       "a boolean (true/false, yes/no, on/off, 1/0)"},
        {"GPUCTL_SHOW_DETAILS", "2", "environment variable GPUCTL_SHOW_DETAILS=\"2\": expected a "
                                     "boolean (true/false, yes/no, on/off, 1/0)"},
        {"GPUCTL_LOG_LEVEL", "verbose", "environment variable GPUCTL_LOG_LEVEL=\"verbose\": "
                                        "expected one of error, warn, info, debug, trace"},
        {"GPUCTL_OUTPUT_FORMAT", "xml", "environment variable GPUCTL_OUTPUT_FORMAT=\"xml\": "
                                        "expected one of table, json, csv, ndjson"},
        {"GPUCTL_TABLE_WIDTH", "-1", "environment variable GPUCTL_TABLE_WIDTH=\"-1\": must be "
                                     "between 0 and 2147483647"},
        {"GPUCTL_TABLE_WIDTH", "wide", "environment variable GPUCTL_TABLE_WIDTH=\"wide\": "
                                       "expected an integer"},
        {"GPUCTL_TABLE_WIDTH", "80 ", "environment variable GPUCTL_TABLE_WIDTH=\"80 \": expected "
                                      "an integer"},
        {"GPUCTL_TABLE_WIDTH", " 80", "environment variable GPUCTL_TABLE_WIDTH=\" 80\": leading "
                                      "blanks are not allowed"},
        {"GPUCTL_TABLE_WIDTH", "99999999999999999999", "environment variable GPUCTL_TABLE_WIDTH="
                                                       "\"99999999999999999999\": expected an "
                                                       "integer"},
        {"GPUCTL_DEFAULT_TIMEOUT", "0", "environment variable GPUCTL_DEFAULT_TIMEOUT=\"0\": must "
                                        "be between 1 and 86400"},
        {"GPUCTL_DEFAULT_TIMEOUT", "1.5", "environment variable GPUCTL_DEFAULT_TIMEOUT=\"1.5\": "
                                          "expected an integer"},
        {"GPUCTL_WATCH_INTERVAL", "0", "environment variable GPUCTL_WATCH_INTERVAL=\"0\": must be "
                                       "greater than 0 and at most 86400"},
        {"GPUCTL_WATCH_INTERVAL", "nan", "environment variable GPUCTL_WATCH_INTERVAL=\"nan\": "
                                         "must be greater than 0 and at most 86400"},
        {"GPUCTL_WATCH_INTERVAL", "86400.5", "environment variable GPUCTL_WATCH_INTERVAL="
                                             "\"86400.5\": must be greater than 0 and at most "
                                             "86400"},
        {"GPUCTL_WATCH_INTERVAL", "2s", "environment variable GPUCTL_WATCH_INTERVAL=\"2s\": "
                                        "expected a number"},
        {"GPUCTL_LOG_LEVEL", "a\tb\x1b[31m", "environment variable GPUCTL_LOG_LEVEL=\"a?b?[31m\": "
                                             "expected one of error, warn, info, debug, trace"},
    };
    char long_value[300];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    setenv("GPUCTL_OUTPUT_FORMAT", long_value, 1);   /* long values are cut in messages */
    load_fails(f, "environment variable GPUCTL_OUTPUT_FORMAT=\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
                  "vvvvvvvvvvvvvvvvvvvvvvvvvvvv...\": expected one of table, json, csv, ndjson",
               false);
    unsetenv("GPUCTL_OUTPUT_FORMAT");
    write_config(f, "log_level = \"info\"\n");   /* a good file is refused with the variable */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv(cases[i].var, cases[i].value, 1);
        load_fails(f, cases[i].message, false);
        unsetenv(cases[i].var);
    }
}

/* ------------------------------------------------------------ flags */

static void test_flag_overrides_env(void **state)
{
    (void)state;
    setenv("GPUCTL_OUTPUT_FORMAT", "csv", 1);
    struct config c;
    struct error e = {0};
    load_ok(&c, NULL);
    assert_int_equal(c.output_format, OUTPUT_CSV);
    assert_int_equal(config_set_from_flag(&c, CONFIG_OUTPUT_FORMAT, "json", &e), 0);
    assert_int_equal(c.output_format, OUTPUT_JSON);
    assert_int_equal(c.origin[CONFIG_OUTPUT_FORMAT], CONFIG_FROM_FLAG);
    assert_int_equal(config_set_from_flag(&c, CONFIG_DEFAULT_TIMEOUT_SECS, "120", &e), 0);
    assert_int_equal(c.default_timeout_secs, 120);
    assert_int_equal(config_set_from_flag(&c, CONFIG_WATCH_INTERVAL_SECS, "1e-3", &e), 0);
    assert_true(c.watch_interval_secs == 0.001);
    assert_int_equal(config_set_from_flag(&c, CONFIG_USE_COLORS, "off", &e), 0);
    assert_false(c.use_colors);
    assert_int_equal(config_set_from_flag(&c, CONFIG_LOG_LEVEL, "Debug", &e), 0);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.origin[CONFIG_LOG_LEVEL], CONFIG_FROM_FLAG);
    assert_int_equal(c.origin[CONFIG_TABLE_WIDTH], CONFIG_FROM_DEFAULT);
}

static void test_bad_flags(void **state)
{
    (void)state;
    static const struct {
        enum config_key key;
        const char *value, *message;
    } cases[] = {
        {CONFIG_LOG_LEVEL, "loud", "invalid value \"loud\" for log_level: expected one of error, "
                                   "warn, info, debug, trace"},
        {CONFIG_OUTPUT_FORMAT, "", "invalid value \"\" for output_format: expected one of table, "
                                   "json, csv, ndjson"},
        {CONFIG_USE_COLORS, "si", "invalid value \"si\" for use_colors: expected a boolean "
                                  "(true/false, yes/no, on/off, 1/0)"},
        {CONFIG_TABLE_WIDTH, "-3", "invalid value \"-3\" for table_width: must be between 0 "
                                   "and 2147483647"},
        {CONFIG_TABLE_WIDTH, "2147483648", "invalid value \"2147483648\" for table_width: must be "
                                           "between 0 and 2147483647"},
        {CONFIG_DEFAULT_TIMEOUT_SECS, "86401", "invalid value \"86401\" for default_timeout_secs: "
                                               "must be between 1 and 86400"},
        {CONFIG_WATCH_INTERVAL_SECS, "-0.5", "invalid value \"-0.5\" for watch_interval_secs: "
                                             "must be greater than 0 and at most 86400"},
        {CONFIG_SHOW_DETAILS, "", "invalid value \"\" for show_details: expected a boolean "
                                  "(true/false, yes/no, on/off, 1/0)"},
    };
    struct config c, before;
    config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct error e = {0};
        assert_int_equal(config_set_from_flag(&c, cases[i].key, cases[i].value, &e), -EINVAL);
        assert_string_equal(e.msg, cases[i].message);
        assert_memory_equal(&c, &before, sizeof c);
    }
    struct error e = {0};
    assert_int_equal(config_set_from_flag(&c, CONFIG_KEY_COUNT, "1", &e), -EINVAL);
    assert_int_equal(config_set_from_flag(&c, CONFIG_LOG_LEVEL, NULL, &e), -EINVAL);
}

/* ------------------------------------------------------------ refusal is whole */

static void test_refusal_is_whole(void **state)
{
    struct fixture *f = *state;
    struct config c, before;
    struct error e = {0};
    write_config(f, "log_level = \"info\"\n");
    load_ok(&c, NULL);
    assert_int_equal(config_set_from_flag(&c, CONFIG_OUTPUT_FORMAT, "json", &e), 0);
    memcpy(&before, &c, sizeof c);
    /* one good key, then one bad key: nothing of it is applied */
    write_config(f, "log_level = \"trace\"\ntable_width = 90\nuse_colors = \"no\"\n");
    assert_int_equal(config_load(&c, NULL, &e), -EINVAL);
    assert_memory_equal(&c, &before, sizeof c);
    /* a good file with a bad variable: nothing either */
    write_config(f, "log_level = \"trace\"\n");
    setenv("GPUCTL_DEFAULT_TIMEOUT", "forever", 1);
    assert_int_equal(config_load(&c, NULL, &e), -EINVAL);
    assert_memory_equal(&c, &before, sizeof c);
    /* a file that is not TOML: nothing */
    unsetenv("GPUCTL_DEFAULT_TIMEOUT");
    write_config(f, "log_level = \"trace\"\n[[\n");
    assert_int_equal(config_load(&c, NULL, &e), -ERROR_PARSE);
    assert_memory_equal(&c, &before, sizeof c);
    /* and once fixed, it all applies */
    write_config(f, "log_level = \"trace\"\n");
    load_ok(&c, NULL);
    assert_int_equal(c.log_level, LOG_TRACE);
    assert_int_equal(c.output_format, OUTPUT_TABLE);   /* config_load replaced the flag too */
}

/* ------------------------------------------------------------ names, text */

static void test_value_text_and_origins(void **state)
{
    struct fixture *f = *state;
    write_config(f, "watch_interval_secs = 0.1\ntable_width = 120\n");
    setenv("GPUCTL_LOG_LEVEL", "info", 1);
    struct config c;
    struct error e = {0};
    load_ok(&c, NULL);
    assert_int_equal(config_set_from_flag(&c, CONFIG_SHOW_DETAILS, "1", &e), 0);
    value_text_is(&c, CONFIG_LOG_LEVEL, "info");
    value_text_is(&c, CONFIG_OUTPUT_FORMAT, "table");
    value_text_is(&c, CONFIG_USE_COLORS, "true");
    value_text_is(&c, CONFIG_TABLE_WIDTH, "120");
    value_text_is(&c, CONFIG_DEFAULT_TIMEOUT_SECS, "5");
    value_text_is(&c, CONFIG_WATCH_INTERVAL_SECS, "0.1");
    value_text_is(&c, CONFIG_SHOW_DETAILS, "true");
    assert_string_equal(config_origin_name(c.origin[CONFIG_LOG_LEVEL]), "environment");
    assert_string_equal(config_origin_name(c.origin[CONFIG_WATCH_INTERVAL_SECS]), "file");
    assert_string_equal(config_origin_name(c.origin[CONFIG_SHOW_DETAILS]), "flag");
    assert_string_equal(config_origin_name(c.origin[CONFIG_USE_COLORS]), "default");
    config_defaults(&c);
    value_text_is(&c, CONFIG_WATCH_INTERVAL_SECS, "2.0");
    c.watch_interval_secs = 1.0 / 3;
    value_text_is(&c, CONFIG_WATCH_INTERVAL_SECS, "0.3333333333333333");
    c.watch_interval_secs = 1e-7;
    value_text_is(&c, CONFIG_WATCH_INTERVAL_SECS, "1e-07");
    char small[4];
    config_value_text(&c, CONFIG_LOG_LEVEL, small, sizeof small);
    assert_string_equal(small, "war");
}

static void test_names(void **state)
{
    (void)state;
    static const char *const names[] = {"log_level", "output_format", "use_colors", "table_width",
                                        "default_timeout_secs", "watch_interval_secs",
                                        "show_details", "audit.record_on_list",
                                        "audit.retention_days", "cluster.node_retention_hours",
                                        "cluster.idle_util_pct", "cluster.idle_min_memory_mib",
                                        "cluster.idle_minutes", "cluster.low_util_pct",
                                        "cluster.hold_minutes", "cluster.fair_share_factor",
                                        "cluster.top_users"};
    static const char *const envs[] = {"GPUCTL_LOG_LEVEL", "GPUCTL_OUTPUT_FORMAT",
                                       "GPUCTL_USE_COLORS", "GPUCTL_TABLE_WIDTH",
                                       "GPUCTL_DEFAULT_TIMEOUT", "GPUCTL_WATCH_INTERVAL",
                                       "GPUCTL_SHOW_DETAILS", "GPUCTL_AUDIT_RECORD_ON_LIST",
                                       "GPUCTL_AUDIT_RETENTION_DAYS",
                                       "GPUCTL_CLUSTER_NODE_RETENTION_HOURS",
                                       "GPUCTL_CLUSTER_IDLE_UTIL_PCT",
                                       "GPUCTL_CLUSTER_IDLE_MIN_MEMORY_MIB",
                                       "GPUCTL_CLUSTER_IDLE_MINUTES", "GPUCTL_CLUSTER_LOW_UTIL_PCT",
                                       "GPUCTL_CLUSTER_HOLD_MINUTES",
                                       "GPUCTL_CLUSTER_FAIR_SHARE_FACTOR",
                                       "GPUCTL_CLUSTER_TOP_USERS"};
    for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
        enum config_key found;
        assert_string_equal(config_key_name((enum config_key)k), names[k]);
        assert_string_equal(config_key_env((enum config_key)k), envs[k]);
        assert_int_equal(config_key_find(names[k], &found), 0);
        assert_int_equal(found, k);
    }
    enum config_key found;
    assert_int_equal(config_key_find("colour", &found), -EINVAL);
    assert_int_equal(config_key_find(NULL, &found), -EINVAL);

    enum output_format fmt;
    assert_int_equal(config_output_format_parse("NDJSON", &fmt), 0);
    assert_int_equal(fmt, OUTPUT_NDJSON);
    assert_int_equal(config_output_format_parse("yaml", &fmt), -EINVAL);
    assert_string_equal(config_output_format_name(OUTPUT_CSV), "csv");
    assert_string_equal(config_output_format_name((enum output_format)9), "?");
    enum log_level level;
    assert_int_equal(config_log_level_parse("warn", &level), 0);
    assert_int_equal(level, LOG_WARN);
    assert_int_equal(config_log_level_parse("warning", &level), -EINVAL);
    assert_string_equal(config_log_level_name(LOG_TRACE), "trace");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_missing_default_file_is_fine),
        T(test_default_path),
        T(test_file_values),
        T(test_file_partial_and_integer_interval),
        T(test_empty_file),
        T(test_explicit_path),
        T(test_explicit_path_missing_is_an_error),
        T(test_unreadable_files),
        T(test_permission_denied),
        T(test_bad_files),
        T(test_env_overrides_file),
        T(test_env_values),
        T(test_bad_env),
        T(test_flag_overrides_env),
        T(test_bad_flags),
        T(test_refusal_is_whole),
        T(test_value_text_and_origins),
        T(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
