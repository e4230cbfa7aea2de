/* json.c - NDJSON line encoding for the recorder (see json.h).
 *
 * Knows nothing about what the lines mean; record layouts are in
 * collector.c and documented in docs/json/trace.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/json.h"

void tjson_init(struct tjson *j)
{
    memset(j, 0, sizeof *j);
    j->first = true;
}

void tjson_free(struct tjson *j)
{
    if (!j)
        return;
    free(j->p);
    tjson_init(j);
}

void tjson_reset(struct tjson *j)
{
    j->len = 0;
    j->oom = false;
    j->first = true;
    j->after_key = false;
}

static bool reserve(struct tjson *j, size_t more)
{
    if (j->oom)
        return false;
    if (j->len + more + 1 <= j->cap)
        return true;
    size_t cap = j->cap ? j->cap : 512;
    while (cap < j->len + more + 1)
        cap *= 2;
    char *p = realloc(j->p, cap);
    if (!p) {
        j->oom = true;
        return false;
    }
    j->p = p;
    j->cap = cap;
    return true;
}

void tjson_raw(struct tjson *j, const char *s, size_t len)
{
    if (!reserve(j, len))
        return;
    memcpy(j->p + j->len, s, len);
    j->len += len;
    j->p[j->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void tjson_str(struct tjson *j, const char *s, size_t len)
{
    /* worst case: every byte becomes a 6-byte escape */
    if (!reserve(j, len * 6 + 2))
        return;
    char *o = j->p + j->len;
    *o++ = '"';
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            const char *short_esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                                    : NULL;
            if (short_esc) {
                memcpy(o, short_esc, 2);
                o += 2;
            } else {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            }
            i++;
        } else {
            size_t n = utf8_seq(u + i, len - i);
            if (n == 0) {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(o, u + i, n);
                o += n;
                i += n;
            }
        }
    }
    *o++ = '"';
    j->len = (size_t)(o - j->p);
    j->p[j->len] = '\0';
}

/* Before any value, key or bracket: a comma unless it is the first member
 * or the value of the key just written. */
static void sep(struct tjson *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first)
        tjson_raw(j, ",", 1);
    j->first = false;
}

/* A scalar value in place (after a key or as an array element). */
static void value(struct tjson *j, const char *s, size_t len)
{
    sep(j);
    tjson_raw(j, s, len);
}

void tjson_open(struct tjson *j, char bracket)
{
    sep(j);
    tjson_raw(j, &bracket, 1);
    j->first = true;
}

void tjson_close(struct tjson *j, char bracket)
{
    tjson_raw(j, &bracket, 1);
    j->first = false;
}

void tjson_key(struct tjson *j, const char *key)
{
    sep(j);
    tjson_raw(j, "\"", 1);
    tjson_raw(j, key, strlen(key));
    tjson_raw(j, "\":", 2);
    j->after_key = true;
}

void tjson_kstr(struct tjson *j, const char *key, const char *s)
{
    tjson_key(j, key);
    if (s) {
        sep(j);
        tjson_str(j, s, strlen(s));
    } else {
        value(j, "null", 4);
    }
}

void tjson_kstrn(struct tjson *j, const char *key, const char *s, size_t len)
{
    tjson_key(j, key);
    sep(j);
    tjson_str(j, s, len);
}

void tjson_ku64(struct tjson *j, const char *key, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    tjson_key(j, key);
    value(j, buf, (size_t)n);
}

void tjson_ki64(struct tjson *j, const char *key, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    tjson_key(j, key);
    value(j, buf, (size_t)n);
}

void tjson_kf64(struct tjson *j, const char *key, double v)
{
    tjson_key(j, key);
    if (!isfinite(v)) {
        value(j, "null", 4);
    } else {
        char buf[40];
        int n = snprintf(buf, sizeof buf, "%.6g", v);
        value(j, buf, (size_t)n);
    }
}

void tjson_kbool(struct tjson *j, const char *key, bool v)
{
    tjson_key(j, key);
    value(j, v ? "true" : "false", v ? 4 : 5);
}

void tjson_knull(struct tjson *j, const char *key)
{
    tjson_key(j, key);
    value(j, "null", 4);
}

void tjson_kopt_u64(struct tjson *j, const char *key, struct opt_u64 v)
{
    if (v.known)
        tjson_ku64(j, key, v.v);
    else
        tjson_knull(j, key);
}

void tjson_kopt_i64(struct tjson *j, const char *key, struct opt_i64 v)
{
    if (v.known)
        tjson_ki64(j, key, v.v);
    else
        tjson_knull(j, key);
}

void tjson_kopt_f64(struct tjson *j, const char *key, struct opt_f64 v)
{
    if (v.known)
        tjson_kf64(j, key, v.v);
    else
        tjson_knull(j, key);
}

void tjson_elem_str(struct tjson *j, const char *s, size_t len)
{
    sep(j);
    tjson_str(j, s, len);
}

void tjson_elem_i64(struct tjson *j, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    value(j, buf, (size_t)n);
}
