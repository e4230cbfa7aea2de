/* json.c - shared JSON helpers of the document builders (json.h).
 *
 * Each document's schema stays in its own builder; this file holds only
 * what would otherwise be copied between them, and the two rules every
 * document follows: strings from outside never lose their key for not being
 * UTF-8, and numbers never carry binary noise.  It does not decide which
 * keys exist (the builders and core/fields do).
 */
#include "doc/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/term.h"
#include "core/units.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char replacement[] = "\xEF\xBF\xBD";

void doc_json_put(json_t *obj, const char *key, json_t *value)
{
    if (value)
        json_object_set_new(obj, key, value);
}

bool doc_json_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        i += term_utf8_decode(s + i, len - i, &cp);
        if (cp == TERM_INVALID_CODEPOINT || cp == 0)
            return false;
    }
    return true;
}

char *doc_json_repaired(const char *s, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = term_utf8_decode(s + i, len - i, &cp);
        if (cp == TERM_INVALID_CODEPOINT || cp == 0) {
            memcpy(buf + o, replacement, 3);
            o += 3;
        } else {
            memcpy(buf + o, s + i, n);
            o += n;
        }
        i += n;
    }
    buf[o] = '\0';
    *out_len = o;
    return buf;
}

static json_t *repaired(const char *s, size_t len)
{
    size_t n;
    char *buf = doc_json_repaired(s, len, &n);
    if (!buf)
        return NULL;
    json_t *j = json_stringn_nocheck(buf, n);
    free(buf);
    return j;
}

json_t *doc_json_stringn(const char *s, size_t len)
{
    if (doc_json_utf8_valid(s, len))
        return json_stringn_nocheck(s, len);
    return repaired(s, len);
}

json_t *doc_json_text(const char *s)
{
    return s ? doc_json_stringn(s, strlen(s)) : json_null();
}

json_t *doc_json_str(const char *s)
{
    return s && *s ? doc_json_stringn(s, strlen(s)) : json_null();
}

json_t *doc_json_time(struct opt_f64 epoch)
{
    char buf[40];
    if (!epoch.known || units_format_rfc3339_utc(epoch.v, buf, sizeof buf) < 0)
        return json_null();
    return json_string(buf);
}

double doc_json_round(double v, int precision)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (precision < 0 || !isfinite(v))
        return v;
    if (precision > 9)
        precision = 9;
    double scaled = v * pow10[precision];
    /* Beyond 2^52 a double has no fraction left to round. */
    if (fabs(scaled) >= 4503599627370496.0)
        return v;
    double r = round(scaled) / pow10[precision];
    return r == 0 ? 0.0 : r;     /* no "-0.0" */
}

json_t *doc_json_real(double v, int precision)
{
    return isfinite(v) ? json_real(doc_json_round(v, precision)) : json_null();
}

json_t *doc_json_u64(struct opt_u64 o)
{
    return o.known ? json_integer((json_int_t)o.v) : json_null();
}

json_t *doc_json_i64(struct opt_i64 o)
{
    return o.known ? json_integer((json_int_t)o.v) : json_null();
}

json_t *doc_json_f64(struct opt_f64 o, int precision)
{
    return o.known ? doc_json_real(o.v, precision) : json_null();
}

json_t *doc_json_bool(struct opt_i64 o)
{
    return o.known ? json_boolean(o.v != 0) : json_null();
}

size_t doc_json_dump_flags(bool compact)
{
    return JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)
         | (compact ? JSON_COMPACT : JSON_INDENT(2));
}

/* The document is serialised into memory and written with one call:
 * json_dumpf hands stdio thousands of tiny pieces, which cost a list of
 * 256 processes a third of its serialisation time. */
int doc_json_write(json_t *root, FILE *out, bool compact)
{
    errno = 0;
    size_t len = 0;
    char *text = doc_json_dumps(root, compact, &len);
    json_decref(root);
    if (!text)
        return -(errno ? errno : ENOMEM);
    bool written = fwrite(text, 1, len, out) == len && fputc('\n', out) != EOF;
    free(text);
    if (!written || fflush(out) == EOF)
        return -(errno ? errno : EIO);
    return 0;
}
