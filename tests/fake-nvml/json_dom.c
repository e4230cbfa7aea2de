/* json_dom.c - one-pass recursive-descent JSON reader into an arena tree.
 *
 * Every read is bounds-checked against the end of the buffer (the text need
 * not be NUL-terminated).  Strings are checked for valid UTF-8 and decoded
 * (escapes, surrogate pairs) into NUL-terminated copies.  Member lookup is a
 * linear scan: scenario objects have a few dozen members at most, while the
 * long lists (processes) are arrays.  What the values mean is scenario.c's
 * business.
 */
#include "json_dom.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

struct reader {
    const char *start;
    const char *p;
    const char *end;
    struct arena *arena;
    const char *error;
    size_t error_offset;
};

static bool fail(struct reader *r, const char *at, const char *message)
{
    if (!r->error) {
        r->error = message;
        r->error_offset = (size_t)(at - r->start);
    }
    return false;
}

static void skip_space(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static struct json_value *new_value(struct reader *r, enum json_type type, const char *at)
{
    struct json_value *v = arena_alloc(r->arena, sizeof(*v));
    if (!v) {
        fail(r, at, "out of memory");
        return NULL;
    }
    v->type = type;
    v->offset = (size_t)(at - r->start);
    return v;
}

/* Length of the valid UTF-8 sequence at s (2 to 4 bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, const unsigned char *end)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo; /* no overlong forms */
        hi = c == 0xED ? 0x9F : hi; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits after "\u" at p, or -1. */
static long read_u16(const char *p, const char *end)
{
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    long value = 0;
    for (int i = 2; i < 6; i++) {
        int d = hex_digit(p[i]);
        if (d < 0)
            return -1;
        value = value * 16 + d;
    }
    return value;
}

static char *put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | (cp >> 18));
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* One escape at *p (which points at the backslash); appends its bytes. */
static bool decode_escape(struct reader *r, const char **p, char **out)
{
    static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
    const char *at = *p;
    if (at + 1 >= r->end)
        return fail(r, at, "unfinished escape");
    const char *simple = strchr(simple_in, at[1]);
    if (simple && at[1] != '\0') {
        *(*out)++ = simple_out[simple - simple_in];
        *p = at + 2;
        return true;
    }
    long unit = read_u16(at, r->end);
    if (unit < 0)
        return fail(r, at, "invalid escape");
    unsigned long cp = (unsigned long)unit;
    *p = at + 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return fail(r, at, "unpaired UTF-16 surrogate in \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        long low = read_u16(*p, r->end);
        if (low < 0xDC00 || low > 0xDFFF)
            return fail(r, at, "unpaired UTF-16 surrogate in \\u escape");
        cp = 0x10000 + (((unsigned long)unit - 0xD800) << 10) + ((unsigned long)low - 0xDC00);
        *p += 6;
    }
    *out = put_utf8(*out, cp);
    return true;
}

/* At an opening quote: a decoded, NUL-terminated copy of the string. */
static bool read_string(struct reader *r, const char **value, size_t *length)
{
    const char *open = r->p;
    const char *q = open + 1;
    bool escapes = false;
    while (q < r->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return fail(r, q, "control character in a string");
        if (c == '\\') {
            escapes = true;
            q += q + 1 < r->end ? 2 : 1;
        } else if (c >= 0x80) {
            size_t n = utf8_sequence((const unsigned char *)q, (const unsigned char *)r->end);
            if (n == 0)
                return fail(r, q, "invalid UTF-8 in a string");
            q += n;
        } else {
            q++;
        }
    }
    if (q >= r->end)
        return fail(r, open, "unterminated string");
    size_t raw = (size_t)(q - open - 1);
    char *copy = arena_alloc(r->arena, raw + 1);
    if (!copy)
        return fail(r, open, "out of memory");
    char *out = copy;
    if (!escapes) {
        memcpy(copy, open + 1, raw);
        out += raw;
    } else {
        const char *p = open + 1;
        while (p < q) {
            if (*p == '\\') {
                if (!decode_escape(r, &p, &out))
                    return false;
            } else {
                *out++ = *p++;
            }
        }
    }
    *out = '\0';
    *value = copy;
    *length = (size_t)(out - copy);
    r->p = q + 1;
    return true;
}

static bool digits(struct reader *r)
{
    const char *first = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > first;
}

static struct json_value *read_number(struct reader *r)
{
    const char *at = r->p;
    bool negative = *r->p == '-';
    if (negative)
        r->p++;
    const char *int_start = r->p;
    if (!digits(r)) {
        fail(r, at, "invalid number");
        return NULL;
    }
    if (*int_start == '0' && r->p - int_start > 1) {
        fail(r, at, "numbers may not have leading zeros");
        return NULL;
    }
    const char *int_end = r->p;
    bool real = false;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        real = true;
        if (!digits(r)) {
            fail(r, at, "invalid number");
            return NULL;
        }
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        real = true;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (!digits(r)) {
            fail(r, at, "invalid number");
            return NULL;
        }
    }
    unsigned long long magnitude = 0;
    const unsigned long long limit = negative ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (const char *d = int_start; d < int_end && !real; d++) {
        unsigned int digit = (unsigned int)(*d - '0');
        if (magnitude > (limit - digit) / 10)
            real = true; /* too large for a long long */
        else
            magnitude = magnitude * 10 + digit;
    }
    struct json_value *v = new_value(r, real ? JSON_REAL : JSON_INTEGER, at);
    if (v && !real)
        v->integer = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    return v;
}

static struct json_value *read_value(struct reader *r, unsigned int depth);

static bool literal(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail(r, r->p, "expected a value");
    r->p += n;
    return true;
}

/* Links child after *tail; counts it in parent. */
static void append(struct json_value *parent, struct json_value ***tail, struct json_value *child)
{
    **tail = child;
    *tail = &child->next;
    parent->length++;
}

static struct json_value *read_array(struct reader *r, unsigned int depth)
{
    struct json_value *arr = new_value(r, JSON_ARRAY, r->p);
    if (!arr)
        return NULL;
    struct json_value **tail = &arr->first;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        struct json_value *item = read_value(r, depth + 1);
        if (!item)
            return NULL;
        append(arr, &tail, item);
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return arr;
        }
        fail(r, r->p, "expected ',' or ']'");
        return NULL;
    }
}

static struct json_value *read_member(struct reader *r, unsigned int depth, const struct json_value *obj)
{
    skip_space(r);
    const char *name_at = r->p;
    const char *key;
    size_t key_len;
    if (r->p >= r->end || *r->p != '"') {
        fail(r, r->p, "expected a member name in double quotes");
        return NULL;
    }
    if (!read_string(r, &key, &key_len))
        return NULL;
    if (strlen(key) != key_len) {
        fail(r, name_at, "NUL character in a member name");
        return NULL;
    }
    for (const struct json_value *m = obj->first; m; m = m->next) {
        if (strcmp(m->key, key) == 0) {
            fail(r, name_at, "duplicate member name");
            return NULL;
        }
    }
    skip_space(r);
    if (r->p >= r->end || *r->p != ':') {
        fail(r, r->p, "expected ':'");
        return NULL;
    }
    r->p++;
    struct json_value *value = read_value(r, depth + 1);
    if (value)
        value->key = key;
    return value;
}

static struct json_value *read_object(struct reader *r, unsigned int depth)
{
    struct json_value *obj = new_value(r, JSON_OBJECT, r->p);
    if (!obj)
        return NULL;
    struct json_value **tail = &obj->first;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        struct json_value *member = read_member(r, depth, obj);
        if (!member)
            return NULL;
        append(obj, &tail, member);
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return obj;
        }
        fail(r, r->p, "expected ',' or '}'");
        return NULL;
    }
}

static struct json_value *read_value(struct reader *r, unsigned int depth)
{
    skip_space(r);
    if (depth > JSON_MAX_DEPTH) {
        fail(r, r->p, "nested too deeply");
        return NULL;
    }
    if (r->p >= r->end) {
        fail(r, r->p, "expected a value");
        return NULL;
    }
    const char *at = r->p;
    switch (*r->p) {
    case '{':
        return read_object(r, depth);
    case '[':
        return read_array(r, depth);
    case '"': {
        struct json_value *v = new_value(r, JSON_STRING, at);
        return v && read_string(r, &v->string, &v->length) ? v : NULL;
    }
    case 't':
        return literal(r, "true") ? new_value(r, JSON_TRUE, at) : NULL;
    case 'f':
        return literal(r, "false") ? new_value(r, JSON_FALSE, at) : NULL;
    case 'n':
        return literal(r, "null") ? new_value(r, JSON_NULL, at) : NULL;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return read_number(r);
        fail(r, at, "expected a value");
        return NULL;
    }
}

struct json_value *json_parse(const char *text, size_t len, struct arena *arena, size_t *error_offset, char *error,
                              size_t size)
{
    struct reader r = {.start = text, .p = text, .end = text + len, .arena = arena};
    struct json_value *root = read_value(&r, 0);
    if (root) {
        skip_space(&r);
        if (r.p < r.end) {
            fail(&r, r.p, "unexpected text after the JSON value");
            root = NULL;
        }
    }
    if (!root) {
        *error_offset = r.error_offset;
        snprintf(error, size, "%s", r.error ? r.error : "invalid JSON");
    }
    return root;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (const struct json_value *m = obj->first; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

void json_position(const char *text, size_t len, size_t offset, unsigned int *line, unsigned int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*column)++;
        }
    }
}
