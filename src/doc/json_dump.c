/* json_dump.c - serialising a document to text, byte for byte as jansson's
 * json_dumps does with doc_json_dump_flags (key order kept, reals with 15
 * significant digits, indented by 2 or compact), in a fraction of its time.
 *
 * jansson writes each token through a callback, formats every integer and
 * real with snprintf, and escapes strings one code point at a time: for the
 * 350 KB document of `gpuctl list --output json` on 8 GPUs x 256
 * processes that was 20 M of the command's 45 M instructions.  Here tokens
 * go into one growing buffer, unescaped runs of a string are copied whole,
 * integers are converted by hand, and a real that is a short decimal (all
 * of ours: documents round to the field's precision) is written from its
 * digits; any other real still goes through snprintf and jansson's own
 * touch-ups, so the text never differs (tests/unit/test_doc_json.c compares
 * the two on every kind of value).  The same token writers (json_text.h)
 * serve sink.c's text sink, which writes a document without a tree.
 * Building documents is json.c's.
 */
#include "doc/json.h"
#include "doc/json_text.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct doc_text *o, size_t more)
{
    if (o->failed)
        return false;
    if (o->len + more < o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap <= o->len + more)
        cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
        o->failed = true;
        return false;
    }
    o->buf = b;
    o->cap = cap;
    return true;
}

void doc_text_put(struct doc_text *o, const char *s, size_t n)
{
    if (reserve(o, n)) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    }
}

void doc_text_char(struct doc_text *o, char c)
{
    if (reserve(o, 1))
        o->buf[o->len++] = c;
}

/* A newline and depth * 2 spaces when indenting; a space between items
 * only in jansson's default (neither indented nor compact) mode, which
 * documents never use. */
void doc_text_indent(struct doc_text *o, bool compact, size_t depth)
{
    if (compact || !reserve(o, 1 + 2 * depth))
        return;
    o->buf[o->len++] = '\n';
    memset(o->buf + o->len, ' ', 2 * depth);
    o->len += 2 * depth;
}

/* Bytes that a JSON string must escape: the quote, the backslash and the
 * control characters (jansson escapes nothing else without ENSURE_ASCII or
 * ESCAPE_SLASH). */
static bool plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

void doc_text_string(struct doc_text *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    doc_text_char(o, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && plain((unsigned char)s[run]))
            run++;
        doc_text_put(o, s + i, run - i);
        if (run == n)
            break;
        unsigned char c = (unsigned char)s[run];
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        doc_text_put(o, esc, len);
        i = run + 1;
    }
    doc_text_char(o, '"');
}

void doc_text_integer(struct doc_text *o, json_int_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    /* negated as unsigned, so the most negative value has no overflow */
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    doc_text_put(o, p, (size_t)(tmp + sizeof tmp - p));
}

/* jansson's jsonp_dtostr: "%.15g", ".0" added when there is neither a dot
 * nor an exponent, and the exponent without '+' and leading zeros. */
static void put_real_printf(struct doc_text *o, double v)
{
    char b[48];
    int n = snprintf(b, sizeof b, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof b - 3) {
        o->failed = true;
        return;
    }
    size_t len = (size_t)n;
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        memcpy(b + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(b, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - b) + 1);
            len -= (size_t)(end - start);
        }
    }
    doc_text_put(o, b, len);
}

/* v written as the decimal m / 10^k when v is the double nearest to such a
 * decimal of at most 15 significant digits with k <= 6, in the range where
 * "%.15g" writes no exponent (1e-4 <= |v| < 1e15): "%.15g" then prints
 * exactly that decimal with its trailing zeros stripped (a double holds 15
 * decimal digits: DBL_DIG).  False for any other v. */
static bool put_real_short(struct doc_text *o, double v)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    if (v == 0) {
        if (signbit(v))
            doc_text_put(o, "-0.0", 4);
        else
            doc_text_put(o, "0.0", 3);
        return true;
    }
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return false;
    for (int k = 0; k <= 6; k++) {
        double scaled = a * pow10[k];
        if (scaled >= 1e15)
            return false;
        double m = nearbyint(scaled);
        if (m / pow10[k] != a)
            continue;
        uint64_t digits = (uint64_t)m;
        char tmp[40];
        char *p = tmp + sizeof tmp;
        int frac = k;
        /* trailing zeros of the fraction are not written */
        while (frac > 0 && digits % 10 == 0) {
            digits /= 10;
            frac--;
        }
        if (frac == 0)
            *--p = '0', *--p = '.';
        for (int i = 0; i < frac; i++) {
            *--p = (char)('0' + digits % 10);
            digits /= 10;
        }
        if (frac > 0)
            *--p = '.';
        do {
            *--p = (char)('0' + digits % 10);
            digits /= 10;
        } while (digits);
        if (v < 0)
            *--p = '-';
        doc_text_put(o, p, (size_t)(tmp + sizeof tmp - p));
        return true;
    }
    return false;
}

void doc_text_real(struct doc_text *o, double v)
{
    if (!put_real_short(o, v))
        put_real_printf(o, v);
}

static void dump(struct doc_text *o, const json_t *v, bool compact, size_t depth);

static void dump_object(struct doc_text *o, const json_t *v, bool compact, size_t depth)
{
    void *it = json_object_iter((json_t *)v);
    doc_text_char(o, '{');
    if (!it) {
        doc_text_char(o, '}');
        return;
    }
    doc_text_indent(o, compact, depth + 1);
    while (it) {
        doc_text_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
        doc_text_put(o, ": ", compact ? 1 : 2);
        dump(o, json_object_iter_value(it), compact, depth + 1);
        it = json_object_iter_next((json_t *)v, it);
        if (it) {
            doc_text_char(o, ',');
            doc_text_indent(o, compact, depth + 1);
        } else {
            doc_text_indent(o, compact, depth);
        }
    }
    doc_text_char(o, '}');
}

static void dump_array(struct doc_text *o, const json_t *v, bool compact, size_t depth)
{
    size_t n = json_array_size(v);
    doc_text_char(o, '[');
    if (n == 0) {
        doc_text_char(o, ']');
        return;
    }
    doc_text_indent(o, compact, depth + 1);
    for (size_t i = 0; i < n; i++) {
        dump(o, json_array_get(v, i), compact, depth + 1);
        if (i + 1 < n) {
            doc_text_char(o, ',');
            doc_text_indent(o, compact, depth + 1);
        } else {
            doc_text_indent(o, compact, depth);
        }
    }
    doc_text_char(o, ']');
}

static void dump(struct doc_text *o, const json_t *v, bool compact, size_t depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        dump_object(o, v, compact, depth);
        break;
    case JSON_ARRAY:
        dump_array(o, v, compact, depth);
        break;
    case JSON_STRING:
        doc_text_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        doc_text_integer(o, json_integer_value(v));
        break;
    case JSON_REAL:
        doc_text_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        doc_text_put(o, "true", 4);
        break;
    case JSON_FALSE:
        doc_text_put(o, "false", 5);
        break;
    case JSON_NULL:
        doc_text_put(o, "null", 4);
        break;
    }
}

char *doc_text_finish(struct doc_text *o, size_t *len)
{
    doc_text_char(o, '\0');
    if (o->failed) {
        free(o->buf);
        *o = (struct doc_text){0};
        errno = ENOMEM;
        return NULL;
    }
    if (len)
        *len = o->len - 1;
    char *text = o->buf;
    *o = (struct doc_text){0};
    return text;
}

char *doc_json_dumps(const json_t *root, bool compact, size_t *len)
{
    struct doc_text o = {0};
    dump(&o, root, compact, 0);
    return doc_text_finish(&o, len);
}
