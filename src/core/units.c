/* units.c - sizes, durations and timestamps as people read and write them.
 *
 * Formatting is for tables (short, fixed precision); parsing is for what
 * people type in flags and configuration ("--min-free 1.5G"), so it is
 * strict and exact: integer arithmetic only, so "1.1G" means the same byte
 * count on every machine.  Choosing which unit a column shows, and any
 * localisation, is left to the renderers.
 */
#include "core/units.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- formatting sizes ---------------------------------------------------- */

void units_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char *const unit_names[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%uB", (unsigned)bytes);
        return;
    }
    size_t unit = 0;
    double v = (double)bytes / 1024.0;
    while (v >= 1024.0 && unit + 1 < sizeof unit_names / sizeof unit_names[0]) {
        v /= 1024.0;
        unit++;
    }
    /* The thresholds are where rounding to the precision would add a digit. */
    int decimals;
    if (v < 9.995) {
        decimals = 2;
    } else if (v < 99.95) {
        decimals = 1;
    } else if (v < 1023.5) {
        decimals = 0;
    } else {
        /* 1023.5..1023.99 of a unit would print as "1024": show 1.00 of the next. */
        v /= 1024.0;
        unit++;
        decimals = 2;
    }
    snprintf(buf, size, "%.*f%s", decimals, v, unit_names[unit]);
}

uint64_t units_bytes_to_mib(uint64_t bytes)
{
    return bytes >> 20;
}

/* ---- parsing sizes ------------------------------------------------------- */

#define SIZE_MAX_FRACTION_DIGITS 18
#define SIZE_QUOTE_MAX 40

struct size_input {
    const char *s;
    size_t len;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The text for a message: printable ASCII kept, anything else '?', long
 * input cut with "..." so the message stays readable. */
static void quote_input(const struct size_input *in, char *buf, size_t size)
{
    size_t o = 0;
    size_t n = in->len < SIZE_QUOTE_MAX ? in->len : SIZE_QUOTE_MAX;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        char c = in->s[i];
        buf[o++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    if (in->len > n && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

/* Names one input character: 'x', or \xHH for anything unprintable. */
static void describe_char(char c, char *buf, size_t size)
{
    if (c >= 0x21 && c < 0x7F)
        snprintf(buf, size, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, size, "a space");
    else
        snprintf(buf, size, "byte \\x%02X", (unsigned)(unsigned char)c);
}

/* col is 0-based here; messages use 1-based columns like an editor. */
static int size_error(struct error *e, int code, const struct size_input *in, size_t col,
                      const char *problem)
{
    char quoted[SIZE_QUOTE_MAX + 8];
    quote_input(in, quoted, sizeof quoted);
    return error_set(e, code, "invalid size \"%s\": %s at column %zu", quoted, problem,
                     col + 1);
}

static int size_error_at_char(struct error *e, const struct size_input *in, size_t col,
                              const char *what)
{
    char c[24], problem[96];
    describe_char(in->s[col], c, sizeof c);
    snprintf(problem, sizeof problem, "%s %s", what, c);
    return size_error(e, -EINVAL, in, col, problem);
}

static int size_too_large(struct error *e, const struct size_input *in, size_t col)
{
    return size_error(e, -ERANGE, in, col, "too large (the most is 18446744073709551615 bytes)");
}

/* What the parse found, before the arithmetic. */
struct size_parts {
    uint64_t whole;
    const char *fraction;   /* digits after the point, not NUL-terminated */
    size_t fraction_len;
    size_t point_col;       /* where the '.' was, for the error about bytes */
    unsigned base;          /* 1024, 1000, or 1 for plain bytes */
    unsigned power;         /* multiplier = base^power */
    size_t unit_col;
};

static int parse_number(const struct size_input *in, size_t *i, struct size_parts *p,
                        struct error *e)
{
    const char *s = in->s;
    if (in->len == 0)
        return size_error(e, -EINVAL, in, 0, "expected a number such as 512M or 1.5GiB");
    if (s[0] == '+' || s[0] == '-')
        return size_error(e, -EINVAL, in, 0, "a size takes no sign");
    if (!is_digit(s[0]))
        return size_error_at_char(e, in, 0, "expected a digit, found");
    for (; *i < in->len && is_digit(s[*i]); (*i)++) {
        unsigned d = (unsigned)(s[*i] - '0');
        if (p->whole > (UINT64_MAX - d) / 10)
            return size_too_large(e, in, *i);
        p->whole = p->whole * 10 + d;
    }
    if (*i == in->len || s[*i] != '.')
        return 0;
    p->point_col = (*i)++;
    p->fraction = s + *i;
    for (; *i < in->len && is_digit(s[*i]); (*i)++)
        p->fraction_len++;
    if (p->fraction_len == 0)
        return size_error(e, -EINVAL, in, *i, "expected a digit after the decimal point");
    if (p->fraction_len > SIZE_MAX_FRACTION_DIGITS)
        return size_error(e, -EINVAL, in, p->point_col + 1 + SIZE_MAX_FRACTION_DIGITS,
                          "too many digits after the decimal point (at most 18)");
    return 0;
}

/* Unit grammar: "" | B | P | Pi | PiB | PB, P one of K M G T P E. */
static int parse_unit(const struct size_input *in, size_t *i, struct size_parts *p,
                      struct error *e)
{
    static const char prefixes[] = "kmgtpe";
    const char *s = in->s;
    p->base = 1;
    p->power = 0;
    if (*i < in->len && s[*i] == ' ') {
        if (++*i == in->len)
            return size_error(e, -EINVAL, in, *i, "expected a unit after the space");
    }
    p->unit_col = *i;
    if (*i == in->len)
        return 0;
    char c = lower(s[*i]);
    const char *prefix = c ? strchr(prefixes, c) : NULL;
    if (c == 'b') {
        (*i)++;
    } else if (prefix) {
        p->power = (unsigned)(prefix - prefixes) + 1;
        p->base = 1024;
        (*i)++;
        if (*i < in->len && lower(s[*i]) == 'i') {
            (*i)++;
            if (*i < in->len && lower(s[*i]) == 'b')
                (*i)++;
        } else if (*i < in->len && lower(s[*i]) == 'b') {
            p->base = 1000;
            (*i)++;
        }
    } else {
        return size_error_at_char(e, in, *i,
                                  "expected a unit (B, K, KiB, KB, M, G, T, P, E), found");
    }
    if (*i < in->len)
        return size_error_at_char(e, in, *i, "the unit ends early, found");
    return 0;
}

/* round(0.fraction * base^power) exactly: multiply the decimal digits by the
 * base's prime factor (2 for 1024, 10 for 1000) one step at a time, moving
 * carries into the integer part; what is left decides the rounding. */
static uint64_t scale_fraction(const char *digits, size_t n, unsigned base, unsigned power)
{
    unsigned char d[SIZE_MAX_FRACTION_DIGITS];
    unsigned factor = base == 1024 ? 2 : 10;
    unsigned steps = power * (base == 1024 ? 10 : 3);
    uint64_t whole = 0;

    for (size_t k = 0; k < n; k++)
        d[k] = (unsigned char)(digits[k] - '0');
    for (unsigned step = 0; step < steps; step++) {
        unsigned carry = 0;
        for (size_t k = n; k-- > 0;) {
            unsigned v = d[k] * factor + carry;
            d[k] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        whole = whole * factor + carry;
    }
    if (n > 0 && d[0] >= 5)
        whole++;
    return whole;
}

int units_parse_size(const char *s, size_t len, uint64_t *out, struct error *e)
{
    struct size_input in = {s, len};
    struct size_parts p = {0};
    size_t i = 0;
    int rc = parse_number(&in, &i, &p, e);
    if (rc == 0)
        rc = parse_unit(&in, &i, &p, e);
    if (rc < 0)
        return rc;
    if (p.fraction_len > 0 && p.power == 0)
        return size_error(e, -EINVAL, &in, p.point_col,
                          "a fraction of a byte (use a unit such as 1.5K, or whole bytes)");

    uint64_t multiplier = 1;
    for (unsigned k = 0; k < p.power; k++)
        multiplier *= p.base;   /* at most 1024^6 = 2^60: cannot overflow */
    if (p.whole > UINT64_MAX / multiplier)
        return size_too_large(e, &in, p.unit_col);
    uint64_t value = p.whole * multiplier;
    uint64_t part = scale_fraction(p.fraction, p.fraction_len, p.base, p.power);
    if (part > UINT64_MAX - value)
        return size_too_large(e, &in, p.unit_col);
    *out = value + part;
    return 0;
}

/* ---- times --------------------------------------------------------------- */

void units_format_elapsed(double seconds, char *buf, size_t size)
{
    if (!isfinite(seconds) || seconds < 0 || seconds >= 0x1p64) {
        snprintf(buf, size, "?");
        return;
    }
    uint64_t t = (uint64_t)seconds;
    unsigned sec = (unsigned)(t % 60), min = (unsigned)(t / 60 % 60);
    unsigned hours = (unsigned)(t / 3600 % 24);
    uint64_t days = t / 86400;
    if (days > 0)
        snprintf(buf, size, "%llu-%02u:%02u:%02u", (unsigned long long)days, hours, min, sec);
    else if (hours > 0)
        snprintf(buf, size, "%02u:%02u:%02u", hours, min, sec);
    else
        snprintf(buf, size, "%02u:%02u", min, sec);
}

/* 0000-01-01T00:00:00Z and the second after 9999-12-31T23:59:59Z: the
 * years RFC 3339's four digits can write. */
#define RFC3339_FIRST_EPOCH (-62167219200.0)
#define RFC3339_END_EPOCH 253402300800.0

/* v (0 <= v < 10^width) as width decimal digits with leading zeros. */
static void put_digits(char *out, int v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

int units_format_rfc3339_utc(double epoch_seconds, char *buf, size_t size)
{
    if (!isfinite(epoch_seconds) || epoch_seconds < RFC3339_FIRST_EPOCH
        || epoch_seconds >= RFC3339_END_EPOCH)
        return -EINVAL;
    if (size < UNITS_RFC3339_BUFSZ)
        return -ENOSPC;
    int64_t whole = (int64_t)epoch_seconds;
    if ((double)whole > epoch_seconds)
        whole--;   /* the cast truncated a negative time towards zero */
    time_t t = (time_t)whole;
    if ((int64_t)t != whole)
        return -EINVAL;   /* 32-bit time_t */
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -EINVAL;
    /* written by hand, not with snprintf: a list of 256 processes formats
     * 264 start times, and snprintf was most of their cost; the range
     * checked above keeps the year to four digits */
    put_digits(buf, tm.tm_year + 1900, 4);
    buf[4] = '-';
    put_digits(buf + 5, tm.tm_mon + 1, 2);
    buf[7] = '-';
    put_digits(buf + 8, tm.tm_mday, 2);
    buf[10] = 'T';
    put_digits(buf + 11, tm.tm_hour, 2);
    buf[13] = ':';
    put_digits(buf + 14, tm.tm_min, 2);
    buf[16] = ':';
    put_digits(buf + 17, tm.tm_sec, 2);
    memcpy(buf + 19, "Z", 2);
    return 0;
}

int units_format_rfc3339_utc_ms(double epoch_seconds, char *buf, size_t size)
{
    if (size < UNITS_RFC3339_MS_BUFSZ)
        return -ENOSPC;
    char whole[UNITS_RFC3339_BUFSZ];
    int rc = units_format_rfc3339_utc(epoch_seconds, whole, sizeof whole);
    if (rc < 0)
        return rc;
    int ms = (int)((epoch_seconds - floor(epoch_seconds)) * 1000.0);
    ms = ms < 0 ? 0 : ms > 999 ? 999 : ms;
    whole[strlen(whole) - 1] = '\0';                 /* the 'Z' goes after the fraction */
    int n = snprintf(buf, size, "%s.%03dZ", whole, ms);
    return (n > 0 && (size_t)n < size) ? 0 : -ENOSPC;
}
