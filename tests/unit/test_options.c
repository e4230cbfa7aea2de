/* test_options.c - the option-table parser: both spellings of every kind of
 * option, short names and aliases, optional values, lists, ranges, the
 * environment fallback and the messages a bad value gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/options.h"

struct req {
    bool details, visible;
    const char *output, *mode;
    unsigned long count;
    double watch;
    struct options_list pid, user, pair;
};

#define R(f) offsetof(struct req, f)

static const struct options_spec specs[] = {
    {.name = "details", .type = OPTIONS_FLAG, .help = "more", .offset = R(details)},
    {.name = "only-visible", .short_name = "ov", .type = OPTIONS_FLAG, .help = "visible",
     .offset = R(visible)},
    {.name = "output", .short_name = "o", .type = OPTIONS_CHOICE, .choices = "table|json",
     .metavar = "FORMAT", .env = "TEST_OPTIONS_OUTPUT", .help = "format", .offset = R(output)},
    {.name = "monitor", .short_name = "m", .aliases = "--mode --guard-monitor",
     .type = OPTIONS_CHOICE, .choices = "auto|full|compact", .flags = OPTIONS_OPTIONAL_VALUE,
     .metavar = "MODE", .help = "mode", .offset = R(mode)},
    {.name = "count", .type = OPTIONS_UINT, .min = 1, .max = 10, .metavar = "N",
     .help = "count", .offset = R(count)},
    {.name = "watch", .type = OPTIONS_NUMBER, .min = 0.001, .max = 60,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "SEC", .help = "watch", .offset = R(watch)},
    {.name = "pid", .short_name = "p", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1,
     .max = 4194304, .what = "a process id", .min_values = 1, .metavar = "PID",
     .help = "pids", .offset = R(pid)},
    {.name = "user", .short_name = "u", .type = OPTIONS_LIST, .elem = OPTIONS_STRING,
     .flags = OPTIONS_OPTIONAL_VALUE, .metavar = "USER", .help = "users", .offset = R(user)},
    {.name = "pair", .type = OPTIONS_LIST, .elem = OPTIONS_NUMBER, .min = 0, .max = 100,
     .min_values = 2, .max_values = 2, .metavar = "TH", .help = "pair", .offset = R(pair)},
};

static const struct options_command cmd = {
    .name = "test", .usage = "gpuctl test [OPTIONS]", .about = "A test.\n",
    .specs = specs, .count = sizeof specs / sizeof specs[0],
};

struct run {
    struct req r;
    struct options_parsed p;
    struct error e;
    int rc;
};

/* Parses the NULL-terminated arguments after the command name. */
static struct run *parse(const char *first, ...)
{
    static struct run run;
    char *argv[32] = {"test"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    options_parsed_clear(&run.p);
    memset(&run, 0, sizeof run);
    run.rc = options_parse(&cmd, argc, argv, &run.r, &run.p, &run.e);
    return &run;
}

static int teardown(void **state)
{
    (void)state;
    options_parsed_clear(&parse(NULL)->p);
    return 0;
}

static void test_value_in_the_next_argument_or_after_an_equals_sign(void **state)
{
    (void)state;
    assert_int_equal(parse("--output", "json", NULL)->rc, 0);
    assert_string_equal(parse("--output", "json", NULL)->r.output, "json");
    assert_string_equal(parse("--output=json", NULL)->r.output, "json");
    assert_string_equal(parse("-o", "table", NULL)->r.output, "table");
    assert_string_equal(parse("-o=json", NULL)->r.output, "json");
    assert_int_equal(parse("--count=7", NULL)->r.count, 7);
}

static void test_multi_letter_short_names_and_aliases(void **state)
{
    (void)state;
    assert_true(parse("-ov", NULL)->r.visible);
    assert_string_equal(parse("--mode", "full", NULL)->r.mode, "full");
    assert_string_equal(parse("--guard-monitor=compact", NULL)->r.mode, "compact");
    assert_string_equal(parse("-m", "compact", NULL)->r.mode, "compact");
    /* -o and -ov are different options: a prefix is not a match */
    struct run *r = parse("-ov", "-o", "json", NULL);
    assert_true(r->r.visible);
    assert_string_equal(r->r.output, "json");
}

static void test_one_letter_short_name_takes_an_attached_value(void **state)
{
    (void)state;
    struct run *r = parse("-p12", "-ojson", NULL);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->r.pid.values[0], "12");
    assert_string_equal(r->r.output, "json");
    assert_true(parse("-ov", NULL)->r.visible);
    assert_string_equal(parse("-px", NULL)->e.msg, "--pid: 'x' is not a process id");
}

static void test_optional_value_is_taken_only_when_valid(void **state)
{
    (void)state;
    struct run *r = parse("-m", NULL);
    assert_int_equal(r->rc, 0);
    assert_null(r->r.mode);
    assert_true(options_given(&cmd, &r->p, "monitor"));
    assert_false(options_given(&cmd, &r->p, "output"));
    r = parse("--watch", "2.5", NULL);
    assert_true(r->r.watch == 2.5);
    r = parse("--watch", "--details", NULL);
    assert_true(r->r.details && r->r.watch == 0 && options_given(&cmd, &r->p, "watch"));
    r = parse("--watch=0", NULL);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->e.msg, "--watch: '0' is not a number from 0.001 to 60");
}

static void test_lists_take_arguments_up_to_the_next_option_split_on_commas(void **state)
{
    (void)state;
    struct run *r = parse("--pid", "1", "2,3", "--details", "-p", "4", NULL);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->r.pid.count, 4);
    assert_string_equal(r->r.pid.values[0], "1");
    assert_string_equal(r->r.pid.values[2], "3");
    assert_string_equal(r->r.pid.values[3], "4");
    r = parse("--pid=5,6", NULL);
    assert_int_equal(r->r.pid.count, 2);
    r = parse("-u", NULL);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->r.user.count, 0);
    assert_true(options_given(&cmd, &r->p, "user"));
}

static void test_fixed_count_list_stops_at_its_count(void **state)
{
    (void)state;
    struct run *r = parse("--pair", "10", "75", "extra", NULL);
    assert_int_equal(r->rc, -EINVAL);
    assert_string_equal(r->e.msg, "unexpected argument 'extra'");
    r = parse("--pair", "10", NULL);
    assert_string_equal(r->e.msg, "option '--pair' needs two values");
    r = parse("--pair", "10,75", NULL);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->r.pair.count, 2);
}

static void test_bad_values_name_the_option_as_written(void **state)
{
    (void)state;
    /* a bad value is named by the long name whatever the spelling */
    assert_string_equal(parse("-p", "x", NULL)->e.msg, "--pid: 'x' is not a process id");
    assert_string_equal(parse("--pid", "0", NULL)->e.msg, "--pid: '0' is not a process id");
    assert_string_equal(parse("--output=xml", NULL)->e.msg,
                        "--output: 'xml' is not one of table, json");
    assert_string_equal(parse("--count", "11", NULL)->e.msg,
                        "--count: '11' is not a whole number from 1 to 10");
    assert_string_equal(parse("--count", "-1", NULL)->e.msg,
                        "--count: '-1' is not a whole number from 1 to 10");
    assert_string_equal(parse("--pid", NULL)->e.msg, "option '--pid' needs at least one value");
    assert_string_equal(parse("--output", NULL)->e.msg, "option '--output' needs a value");
    assert_string_equal(parse("--details=yes", NULL)->e.msg,
                        "option '--details' takes no value");
    assert_string_equal(parse("--frob", NULL)->e.msg, "unknown option '--frob'");
    assert_string_equal(parse("extra", NULL)->e.msg, "unexpected argument 'extra'");
}

static void test_common_options_help_version_config(void **state)
{
    (void)state;
    struct run *r = parse("--details", "-V", NULL);
    assert_true(r->p.version);
    r = parse("-h", NULL);
    assert_true(r->p.help);
    r = parse("--config=/x.toml", "--log-level", "debug", NULL);
    assert_string_equal(r->p.config_path, "/x.toml");
    assert_string_equal(r->p.log_level, "debug");
    assert_string_equal(parse("--log-level", "loud", NULL)->e.msg,
                        "--log-level: 'loud' is not one of error, warn, info, debug, trace");
}

static void test_double_dash_ends_the_options(void **state)
{
    (void)state;
    struct run *r = parse("--details", "--", "--output", "x", NULL);
    assert_int_equal(r->rc, 0);
    assert_true(r->p.dashdash);
    assert_int_equal(r->p.rest_count, 2);
    assert_string_equal(r->p.rest[0], "--output");
    assert_null(r->r.output);
}

static void test_environment_fills_what_the_flags_left_out(void **state)
{
    (void)state;
    setenv("TEST_OPTIONS_OUTPUT", "json", 1);
    struct run *r = parse(NULL);
    assert_int_equal(options_apply_env(&cmd, &r->r, &r->p, &r->e), 0);
    assert_string_equal(r->r.output, "json");
    r = parse("--output", "table", NULL);
    assert_int_equal(options_apply_env(&cmd, &r->r, &r->p, &r->e), 0);
    assert_string_equal(r->r.output, "table");
    setenv("TEST_OPTIONS_OUTPUT", "xml", 1);
    r = parse(NULL);
    assert_int_equal(options_apply_env(&cmd, &r->r, &r->p, &r->e), -EINVAL);
    assert_string_equal(r->e.msg, "TEST_OPTIONS_OUTPUT: 'xml' is not one of table, json");
    unsetenv("TEST_OPTIONS_OUTPUT");
}

static void test_help_lists_every_spelling(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(options_write_help(&cmd, f), 0);
    fclose(f);
    assert_non_null(strstr(text, "usage: gpuctl test [OPTIONS]\n"));
    assert_non_null(strstr(text, "  -ov, --only-visible"));
    assert_non_null(strstr(text, "  -m, --monitor [MODE]"));
    assert_non_null(strstr(text, "(also --mode --guard-monitor)"));
    assert_non_null(strstr(text, "  --pair TH1 TH2"));
    assert_non_null(strstr(text, "  -p, --pid PID..."));
    assert_non_null(strstr(text, "  -V, --version"));
    free(text);
}

static void test_check_value_matches_the_parser(void **state)
{
    (void)state;
    struct error e = {0};
    assert_int_equal(options_check_value(&specs[6], "12", &e), 0);
    assert_int_equal(options_check_value(&specs[6], "0", &e), -EINVAL);
    assert_string_equal(e.msg, "--pid: '0' is not a process id");
    assert_int_equal(options_check_value(&specs[2], "json", &e), 0);
    assert_int_equal(options_check_value(&specs[6], "3,4", &e), 0);
    assert_int_equal(options_check_value(&specs[6], "3,x", &e), -EINVAL);
    assert_string_equal(e.msg, "--pid: 'x' is not a process id");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_in_the_next_argument_or_after_an_equals_sign),
        cmocka_unit_test(test_multi_letter_short_names_and_aliases),
        cmocka_unit_test(test_one_letter_short_name_takes_an_attached_value),
        cmocka_unit_test(test_optional_value_is_taken_only_when_valid),
        cmocka_unit_test(test_lists_take_arguments_up_to_the_next_option_split_on_commas),
        cmocka_unit_test(test_fixed_count_list_stops_at_its_count),
        cmocka_unit_test(test_bad_values_name_the_option_as_written),
        cmocka_unit_test(test_common_options_help_version_config),
        cmocka_unit_test(test_double_dash_ends_the_options),
        cmocka_unit_test(test_environment_fills_what_the_flags_left_out),
        cmocka_unit_test(test_help_lists_every_spelling),
        cmocka_unit_test(test_check_value_matches_the_parser),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
