/* ndjson.c - one trace log line to its top-level members (see ndjson.h).
 *
 * A strict recursive-descent JSON reader (RFC 8259): numbers, escapes,
 * surrogate pairs and UTF-8 are checked, nesting is limited, and the first
 * error rejects the whole line.  Unescaped strings go to a scratch buffer
 * sized once from the line length (an unescaped string is never longer
 * than its source).  What the members mean is analyze.c's business.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace/ndjson.h"

#define MAX_NEST 32

struct pstate {
    const char *p, *end;
    char *out;                /* scratch write position */
};

void ndj_line_init(struct ndj_line *l)
{
    memset(l, 0, sizeof *l);
}

void ndj_line_free(struct ndj_line *l)
{
    if (!l)
        return;
    free(l->scratch);
    ndj_line_init(l);
}

static void ws(struct pstate *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(struct pstate *s, unsigned *out)
{
    if (s->end - s->p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *s->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct pstate *s, unsigned cp)
{
    if (cp < 0x80) {
        *s->out++ = (char)cp;
    } else if (cp < 0x800) {
        *s->out++ = (char)(0xc0 | cp >> 6);
        *s->out++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *s->out++ = (char)(0xe0 | cp >> 12);
        *s->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *s->out++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *s->out++ = (char)(0xf0 | cp >> 18);
        *s->out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *s->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *s->out++ = (char)(0x80 | (cp & 0x3f));
    }
}

static int escape(struct pstate *s)
{
    if (s->p >= s->end)
        return -1;
    char c = *s->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = memchr(from, c, sizeof from - 1);
    if (k) {
        *s->out++ = to[k - from];
        return 0;
    }
    if (c != 'u')
        return -1;
    unsigned cp;
    if (hex4(s, &cp) < 0)
        return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo;
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
            return -1;
        s->p += 2;
        if (hex4(s, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    put_utf8(s, cp);
    return 0;
}

/* Length of a valid UTF-8 sequence at p (checked against end), else 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = *p;
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
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Parses a string at s->p (at the opening quote) into the scratch buffer. */
static int string(struct pstate *s, const char **out, size_t *len)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    s->p++;
    char *start = s->out;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            *len = (size_t)(s->out - start);
            *s->out++ = '\0';
            *out = start;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            s->p++;
            if (escape(s) < 0)
                return -1;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
        if (n == 0)
            return -1;
        memcpy(s->out, s->p, n);
        s->out += n;
        s->p += n;
    }
    return -1;
}

static int number(struct pstate *s, struct ndj_field *f)
{
    const char *b = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return -1;
    if (*s->p == '0') {
        s->p++;
    } else if (*s->p >= '1' && *s->p <= '9') {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    } else {
        return -1;
    }
    bool integral = true;
    if (s->p < s->end && *s->p == '.') {
        integral = false;
        s->p++;
        const char *d = s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        if (s->p == d)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        integral = false;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        const char *d = s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        if (s->p == d)
            return -1;
    }
    char tmp[64];
    size_t n = (size_t)(s->p - b);
    if (n >= sizeof tmp) {
        integral = false;
        n = sizeof tmp - 1;   /* a 63-digit prefix is as good as any double */
    }
    memcpy(tmp, b, n);
    tmp[n] = '\0';
    f->type = NDJ_NUM;
    f->num = strtod(tmp, NULL);
    f->is_int = false;
    if (integral && n <= 19) {
        char *end;
        errno = 0;
        long long v = strtoll(tmp, &end, 10);
        if (!errno && *end == '\0') {
            f->is_int = true;
            f->i = v;
        }
    }
    if (!isfinite(f->num))
        return -1;
    return 0;
}

static int literal(struct pstate *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int value(struct pstate *s, struct ndj_field *f, int depth);

/* An array: strings or integers are kept (up to NDJ_MAX_ITEMS); mixed or
 * nested content is validated and marked NDJ_OTHER. */
static int array(struct pstate *s, struct ndj_field *f, int depth)
{
    s->p++;
    f->count = 0;
    f->type = NDJ_STR_ARRAY;      /* an empty array reads as an empty path */
    bool any = false, strs = true, ints = true;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        ws(s);
        struct ndj_field item = {0};
        if (value(s, &item, depth + 1) < 0)
            return -1;
        strs = strs && item.type == NDJ_STR;
        ints = ints && item.type == NDJ_NUM && item.is_int;
        if (f->count < NDJ_MAX_ITEMS) {
            if (item.type == NDJ_STR) {
                f->items[f->count] = item.str;
                f->item_lens[f->count] = item.str_len;
            } else if (item.type == NDJ_NUM && item.is_int) {
                f->ints[f->count] = item.i;
            }
            f->count++;
        } else {
            strs = ints = false;
        }
        any = true;
        ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != ']')
            return -1;
        s->p++;
        break;
    }
    f->type = any && strs ? NDJ_STR_ARRAY : any && ints ? NDJ_INT_ARRAY : NDJ_OTHER;
    return 0;
}

static int object(struct pstate *s, struct ndj_line *top, int depth)
{
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        ws(s);
        const char *key;
        size_t klen;
        if (string(s, &key, &klen) < 0)
            return -1;
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        ws(s);
        struct ndj_field tmp, *f = &tmp;
        if (top && top->count < NDJ_MAX_FIELDS)
            f = &top->fields[top->count];
        memset(f, 0, offsetof(struct ndj_field, items));
        f->key = key;
        if (value(s, f, depth + 1) < 0)
            return -1;
        if (f != &tmp)
            top->count++;
        ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != '}')
            return -1;
        s->p++;
        return 0;
    }
}

static int value(struct pstate *s, struct ndj_field *f, int depth)
{
    if (depth > MAX_NEST || s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        f->type = NDJ_STR;
        return string(s, &f->str, &f->str_len);
    case '{':
        f->type = NDJ_OTHER;
        return object(s, NULL, depth);
    case '[':
        return array(s, f, depth);
    case 't':
        f->type = NDJ_BOOL;
        f->b = true;
        return literal(s, "true");
    case 'f':
        f->type = NDJ_BOOL;
        f->b = false;
        return literal(s, "false");
    case 'n':
        f->type = NDJ_NULL;
        return literal(s, "null");
    default:
        return number(s, f);
    }
}

int ndj_parse(struct ndj_line *l, const char *buf, size_t len)
{
    l->count = 0;
    if (l->scratch_cap < len + 1) {
        size_t cap = len + 1 < 4096 ? 4096 : len + 1;
        char *p = realloc(l->scratch, cap);
        if (!p)
            return -ENOMEM;
        l->scratch = p;
        l->scratch_cap = cap;
    }
    struct pstate s = {buf, buf + len, l->scratch};
    ws(&s);
    if (s.p >= s.end || *s.p != '{' || object(&s, l, 0) < 0) {
        l->count = 0;
        return -1;
    }
    ws(&s);
    if (s.p != s.end) {
        l->count = 0;
        return -1;
    }
    return 0;
}

const struct ndj_field *ndj_get(const struct ndj_line *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->fields[i].key, key) == 0)
            return &l->fields[i];
    return NULL;
}

const char *ndj_str(const struct ndj_line *l, const char *key)
{
    const struct ndj_field *f = ndj_get(l, key);
    return f && f->type == NDJ_STR ? f->str : NULL;
}

bool ndj_num(const struct ndj_line *l, const char *key, double *out)
{
    const struct ndj_field *f = ndj_get(l, key);
    if (!f || f->type != NDJ_NUM)
        return false;
    *out = f->num;
    return true;
}

bool ndj_u64(const struct ndj_line *l, const char *key, uint64_t *out)
{
    const struct ndj_field *f = ndj_get(l, key);
    if (!f || f->type != NDJ_NUM || !f->is_int || f->i < 0)
        return false;
    *out = (uint64_t)f->i;
    return true;
}
