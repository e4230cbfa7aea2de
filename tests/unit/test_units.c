/* test_units.c - sizes, durations and timestamps: exact strings, every
 * parse error, and the rounding rules units.h promises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/units.h"

static void check_bytes(uint64_t bytes, const char *want)
{
    char buf[UNITS_BYTES_BUFSZ];
    units_format_bytes(bytes, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_format_bytes_small(void **state)
{
    (void)state;
    check_bytes(0, "0B");
    check_bytes(1, "1B");
    check_bytes(512, "512B");
    check_bytes(1023, "1023B");
}

static void test_format_bytes_three_digits(void **state)
{
    (void)state;
    check_bytes(1024, "1.00KiB");
    check_bytes(1536, "1.50KiB");
    check_bytes(12595, "12.3KiB");
    check_bytes(512ull << 20, "512MiB");
    check_bytes(3ull << 29, "1.50GiB");
    check_bytes(100ull << 30, "100GiB");
    check_bytes(80ull << 30, "80.0GiB");
    check_bytes(1ull << 40, "1.00TiB");
    check_bytes(1ull << 50, "1.00PiB");
    check_bytes(1ull << 60, "1.00EiB");
    check_bytes(UINT64_MAX, "16.0EiB");
}

static void test_format_bytes_rounding_edges(void **state)
{
    (void)state;
    check_bytes(10239, "10.0KiB");          /* 9.999 rounds to a new digit */
    check_bytes(102349, "100KiB");          /* 99.95 likewise */
    check_bytes(1023ull * 1024, "1023KiB"); /* whole number over 1000 */
    check_bytes((1ull << 20) - 1, "1.00MiB"); /* 1023.999KiB is not "1024KiB" */
    check_bytes((1ull << 30) - 1, "1.00GiB");
}

static void test_format_bytes_truncates(void **state)
{
    (void)state;
    char buf[4];
    units_format_bytes(1536, buf, sizeof buf);
    assert_string_equal(buf, "1.5");
}

static void test_bytes_to_mib(void **state)
{
    (void)state;
    assert_int_equal(units_bytes_to_mib(0), 0);
    assert_int_equal(units_bytes_to_mib((1u << 20) - 1), 0);
    assert_int_equal(units_bytes_to_mib(1u << 20), 1);
    assert_int_equal(units_bytes_to_mib(81920ull << 20), 81920);
    assert_true(units_bytes_to_mib(UINT64_MAX) == (UINT64_MAX >> 20));
}

static uint64_t parse_ok(const char *s)
{
    struct error e = {0};
    uint64_t v = 12345;
    int rc = units_parse_size(s, strlen(s), &v, &e);
    if (rc != 0)
        fail_msg("parsing \"%s\" failed: %s", s, e.msg);
    return v;
}

static void test_parse_plain_and_binary(void **state)
{
    (void)state;
    assert_true(parse_ok("0") == 0);
    assert_true(parse_ok("4096") == 4096);
    assert_true(parse_ok("4096B") == 4096);
    assert_true(parse_ok("4096b") == 4096);
    assert_true(parse_ok("007") == 7);
    assert_true(parse_ok("1K") == 1024);
    assert_true(parse_ok("1k") == 1024);
    assert_true(parse_ok("1Ki") == 1024);
    assert_true(parse_ok("1KiB") == 1024);
    assert_true(parse_ok("1kib") == 1024);
    assert_true(parse_ok("100KiB") == 102400);
    assert_true(parse_ok("512M") == 512ull << 20);
    assert_true(parse_ok("8G") == 8ull << 30);
    assert_true(parse_ok("2T") == 2ull << 40);
    assert_true(parse_ok("3P") == 3ull << 50);
    assert_true(parse_ok("15EiB") == 15ull << 60);
    assert_true(parse_ok("1 GiB") == 1ull << 30);
    assert_true(parse_ok("18446744073709551615") == UINT64_MAX);
}

static void test_parse_decimal(void **state)
{
    (void)state;
    assert_true(parse_ok("1KB") == 1000);
    assert_true(parse_ok("1kb") == 1000);
    assert_true(parse_ok("5MB") == 5000000);
    assert_true(parse_ok("2GB") == 2000000000ull);
    assert_true(parse_ok("1TB") == 1000000000000ull);
    assert_true(parse_ok("1EB") == 1000000000000000000ull);
    assert_true(parse_ok("18EB") == 18000000000000000000ull);
    assert_true(parse_ok("1.5KB") == 1500);
}

static void test_parse_fractions_round_to_nearest(void **state)
{
    (void)state;
    assert_true(parse_ok("1.5K") == 1536);
    assert_true(parse_ok("1.5GiB") == 3ull << 29);
    assert_true(parse_ok("0.1K") == 102);            /* 102.4 */
    assert_true(parse_ok("0.0005K") == 1);           /* 0.512 */
    assert_true(parse_ok("0.00048828125K") == 1);    /* exactly 0.5: halves go up */
    assert_true(parse_ok("0.00048828124K") == 0);    /* just under 0.5 */
    assert_true(parse_ok("1.0005KB") == 1001);       /* 1000.5 */
    assert_true(parse_ok("1.0004KB") == 1000);
    assert_true(parse_ok("0.999999999999999999K") == 1024);
    assert_true(parse_ok("15.99999999999999999E") == 18446744073709551604ull);
    assert_true(parse_ok("15.999999999999999999E") == UINT64_MAX);   /* rounds up to it */
    assert_true(parse_ok("18.446744073709551615EB") == UINT64_MAX);
    assert_true(parse_ok("1.000000000000000000K") == 1024);  /* 18 digits allowed */
}

static void test_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    static const char text[] = {'5', '1', '2', 'M', 'x', 'y'};
    uint64_t v = 0;
    assert_int_equal(units_parse_size(text, 4, &v, NULL), 0);
    assert_true(v == 512ull << 20);
}

static void test_parse_round_trips_format(void **state)
{
    (void)state;
    char buf[UNITS_BYTES_BUFSZ];
    units_format_bytes(3ull << 29, buf, sizeof buf);
    assert_true(parse_ok(buf) == 3ull << 29);
    units_format_bytes(512ull << 20, buf, sizeof buf);
    assert_true(parse_ok(buf) == 512ull << 20);
}

/* Parses s (len bytes), expects failure with code and both phrases in the
 * message, and the output untouched. */
static void parse_fails_len(const char *s, size_t len, int code, const char *phrase,
                            const char *column)
{
    struct error e = {0};
    uint64_t v = 777;
    int rc = units_parse_size(s, len, &v, &e);
    assert_int_equal(rc, code);
    assert_int_equal(e.code, code);
    assert_true(v == 777);
    if (!strstr(e.msg, phrase) || !strstr(e.msg, column))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", e.msg, phrase, column);
}

static void parse_fails(const char *s, int code, const char *phrase, const char *column)
{
    parse_fails_len(s, strlen(s), code, phrase, column);
}

static void test_parse_errors_number(void **state)
{
    (void)state;
    parse_fails("", -EINVAL, "invalid size \"\": expected a number", "at column 1");
    parse_fails("-1", -EINVAL, "takes no sign", "at column 1");
    parse_fails("+1K", -EINVAL, "takes no sign", "at column 1");
    parse_fails("abc", -EINVAL, "\"abc\": expected a digit, found 'a'", "at column 1");
    parse_fails(" 1", -EINVAL, "found a space", "at column 1");
    parse_fails(".5K", -EINVAL, "found '.'", "at column 1");
    parse_fails("1.", -EINVAL, "expected a digit after the decimal point", "at column 3");
    parse_fails("1.K", -EINVAL, "expected a digit after the decimal point", "at column 3");
    parse_fails("1.1234567890123456789K", -EINVAL, "too many digits after the decimal point",
                "at column 21");
}

static void test_parse_errors_unit(void **state)
{
    (void)state;
    parse_fails("1x", -EINVAL, "expected a unit", "found 'x' at column 2");
    parse_fails("1Kx", -EINVAL, "the unit ends early, found 'x'", "at column 3");
    parse_fails("1KiBB", -EINVAL, "the unit ends early, found 'B'", "at column 5");
    parse_fails("1BB", -EINVAL, "the unit ends early, found 'B'", "at column 3");
    parse_fails("1  K", -EINVAL, "found a space", "at column 3");
    parse_fails("1 ", -EINVAL, "expected a unit after the space", "at column 3");
    parse_fails("1.5.3K", -EINVAL, "found '.'", "at column 4");
    parse_fails("1K ", -EINVAL, "the unit ends early, found a space", "at column 3");
    parse_fails_len("1\0K", 3, -EINVAL, "\"1?K\"", "found byte \\x00 at column 2");
    parse_fails("1\xc3\xa9", -EINVAL, "found byte \\xC3", "at column 2");
}

static void test_parse_errors_fraction_of_byte(void **state)
{
    (void)state;
    parse_fails("1.5", -EINVAL, "a fraction of a byte", "at column 2");
    parse_fails("10.25B", -EINVAL, "a fraction of a byte", "at column 3");
}

static void test_parse_errors_too_large(void **state)
{
    (void)state;
    parse_fails("18446744073709551616", -ERANGE, "too large", "at column 20");
    parse_fails("99999999999999999999999", -ERANGE, "too large", "at column 20");
    parse_fails("16E", -ERANGE, "too large", "at column 3");
    parse_fails("16 EiB", -ERANGE, "too large", "at column 4");
    parse_fails("17179869184G", -ERANGE, "too large", "at column 12");
    parse_fails("19EB", -ERANGE, "too large", "at column 3");
    parse_fails("18.446744073709551616EB", -ERANGE, "too large", "at column 22");
}

static void test_parse_error_quotes_long_text_briefly(void **state)
{
    (void)state;
    char text[200];
    memset(text, 'x', sizeof text);
    struct error e = {0};
    uint64_t v;
    assert_int_equal(units_parse_size(text, sizeof text, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "xxx...\""));
    assert_true(strlen(e.msg) < 160);
    /* e may be NULL: the code alone comes back. */
    assert_int_equal(units_parse_size(text, sizeof text, &v, NULL), -EINVAL);
}

static void check_elapsed(double seconds, const char *want)
{
    char buf[UNITS_ELAPSED_BUFSZ];
    units_format_elapsed(seconds, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_elapsed(void **state)
{
    (void)state;
    check_elapsed(0, "00:00");
    check_elapsed(59.9, "00:59");
    check_elapsed(307, "05:07");
    check_elapsed(3599, "59:59");
    check_elapsed(3600, "01:00:00");
    check_elapsed(3723, "01:02:03");
    check_elapsed(86399, "23:59:59");
    check_elapsed(86400, "1-00:00:00");
    check_elapsed(3 * 86400 + 4 * 3600 + 5 * 60 + 6, "3-04:05:06");
    check_elapsed(400.0 * 86400, "400-00:00:00");
    check_elapsed(-1, "?");
    check_elapsed(-0.0001, "?");
    check_elapsed(NAN, "?");
    check_elapsed(INFINITY, "?");
    check_elapsed(1e30, "?");
}

static void check_rfc3339(double t, const char *want)
{
    char buf[UNITS_RFC3339_BUFSZ];
    memset(buf, 'z', sizeof buf);
    assert_int_equal(units_format_rfc3339_utc(t, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
}

static void test_rfc3339(void **state)
{
    (void)state;
    check_rfc3339(0, "1970-01-01T00:00:00Z");
    check_rfc3339(1795239120, "2026-11-21T05:32:00Z");
    check_rfc3339(1795239120.999, "2026-11-21T05:32:00Z");
    check_rfc3339(-0.5, "1969-12-31T23:59:59Z");
    check_rfc3339(-1, "1969-12-31T23:59:59Z");
    check_rfc3339(951782400, "2000-02-29T00:00:00Z");
    check_rfc3339(-62167219200.0, "0000-01-01T00:00:00Z");
    check_rfc3339(253402300799.0, "9999-12-31T23:59:59Z");
}

static void test_rfc3339_with_milliseconds_truncates_the_fraction(void **state)
{
    (void)state;
    char buf[UNITS_RFC3339_MS_BUFSZ];
    assert_int_equal(units_format_rfc3339_utc_ms(1795239120.25, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-21T05:32:00.250Z");
    assert_int_equal(units_format_rfc3339_utc_ms(1795239120.9996, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-21T05:32:00.999Z");
    assert_int_equal(units_format_rfc3339_utc_ms(-0.5, buf, sizeof buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.500Z");
    assert_int_equal(units_format_rfc3339_utc_ms(0, buf, sizeof buf - 1), -ENOSPC);
    assert_int_equal(units_format_rfc3339_utc_ms(NAN, buf, sizeof buf), -EINVAL);
}

static void test_rfc3339_errors(void **state)
{
    (void)state;
    char buf[UNITS_RFC3339_BUFSZ];
    assert_int_equal(units_format_rfc3339_utc(NAN, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(INFINITY, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(-INFINITY, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(253402300800.0, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(-62167219201.0, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(1e300, buf, sizeof buf), -EINVAL);
    assert_int_equal(units_format_rfc3339_utc(0, buf, UNITS_RFC3339_BUFSZ - 1), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_bytes_small),
        cmocka_unit_test(test_format_bytes_three_digits),
        cmocka_unit_test(test_format_bytes_rounding_edges),
        cmocka_unit_test(test_format_bytes_truncates),
        cmocka_unit_test(test_bytes_to_mib),
        cmocka_unit_test(test_parse_plain_and_binary),
        cmocka_unit_test(test_parse_decimal),
        cmocka_unit_test(test_parse_fractions_round_to_nearest),
        cmocka_unit_test(test_parse_reads_only_len_bytes),
        cmocka_unit_test(test_parse_round_trips_format),
        cmocka_unit_test(test_parse_errors_number),
        cmocka_unit_test(test_parse_errors_unit),
        cmocka_unit_test(test_parse_errors_fraction_of_byte),
        cmocka_unit_test(test_parse_errors_too_large),
        cmocka_unit_test(test_parse_error_quotes_long_text_briefly),
        cmocka_unit_test(test_elapsed),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_rfc3339_with_milliseconds_truncates_the_fraction),
        cmocka_unit_test(test_rfc3339_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
