/* snapshot_ingest.c - a pushed snapshot document read in one pass into a
 * node's facts (snapshot_ingest.h).
 *
 * A small JSON reader over the buffer (the grammar, UTF-8 and escape rules
 * of jansson, which doc_snapshot_decode_buffer uses, duplicate keys
 * refused, at most 2048 levels deep) feeds the document's structure: the
 * top level, its sources, GPUs (with their MIG instances and the "clocks"
 * and "pcie" groups) and processes.  The members of one record are first
 * only noted (a value and where it starts); when the record's object ends
 * they are checked in field-table order, as snapshot_decode.c checks them,
 * into a scratch model record from which the facts are copied.  So the
 * types, ranges and the "later key of one slot wins" rule are the field
 * table's, written once; a key the table does not know is skipped, its
 * value still checked as JSON.
 */
#include "doc/snapshot_ingest.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fields.h"
#include "core/grow.h"
#include "core/model.h"
#include "core/snapshot.h"
#include "doc/snapshot_doc.h"

#define MAX_DEPTH 2048        /* jansson's JSON_PARSER_MAX_DEPTH */
#define KEY_SLOTS 128         /* per key table, a power of two */

/* ------------------------------------------------------------ key tables */

/* Members that are not fields of one record. */
enum special {
    SP_NONE,
    SP_SCHEMA_VERSION, SP_TS, SP_DRIVER_VERSION, SP_CUDA_VERSION, SP_NVML_VERSION,
    SP_SOURCES, SP_GPUS, SP_PROCS,                    /* the top level */
    SP_GROUP, SP_MIGS,                                /* a GPU */
    SP_ENGINES, SP_HOST_VISIBLE, SP_CONTAINER,        /* a process */
    SP_NAME, SP_STARTED, SP_MESSAGE,                  /* a source */
};

struct key {
    const char *key;
    size_t len;
    uint64_t hash;
    const struct field_def *field;   /* NULL: special */
    enum special special;
    unsigned member;                 /* index into the record's noted members */
};

struct key_table {
    size_t base;                     /* where its members are noted in parser.notes */
    struct key keys[FIELDS_MAX + 16];
    size_t count;
    unsigned slots[KEY_SLOTS];       /* key index + 1; 0 empty */
};

static struct key_table top_keys, device_keys, mig_keys, process_keys, source_keys;
static struct key_table group_keys[4];     /* "clocks", "pcie", ... in table order */
static const char *group_names[4];
static size_t group_count;
static size_t note_count;        /* members of all tables */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static pthread_key_t scratch_key;    /* each thread's parser, kept between documents */

/* FNV-1a over eight bytes at a time, then the tail byte by byte: keys are
 * hashed ~1,600 times a document. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    const uint64_t prime = 1099511628211ull;
    uint64_t h = 1469598103934665603ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof w);
        h = (h ^ w) * prime;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * prime;
    return h | 1;                          /* 0 marks an empty slot */
}

static void table_add(struct key_table *t, const char *key, const struct field_def *f,
                      enum special sp)
{
    struct key *k = &t->keys[t->count];
    *k = (struct key){key, strlen(key), hash_bytes(key, strlen(key)), f, sp,
                      (unsigned)t->count};
    size_t i = k->hash & (KEY_SLOTS - 1);
    while (t->slots[i])
        i = (i + 1) & (KEY_SLOTS - 1);
    t->slots[i] = (unsigned)++t->count;
}

static const struct key *table_find(const struct key_table *t, const char *s, size_t n,
                                    uint64_t hash)
{
    for (size_t i = hash & (KEY_SLOTS - 1); t->slots[i]; i = (i + 1) & (KEY_SLOTS - 1)) {
        const struct key *k = &t->keys[t->slots[i] - 1];
        if (k->hash == hash && k->len == n && memcmp(k->key, s, n) == 0)
            return k;
    }
    return NULL;
}

static struct key_table *group_table(const char *group)
{
    for (size_t i = 0; i < group_count; i++)
        if (!strcmp(group_names[i], group))
            return &group_keys[i];
    group_names[group_count] = group;
    return &group_keys[group_count++];
}

static bool scratch_key_failed;

static void free_scratch(void *arg);

static void build_tables(void)
{
    size_t n;
    const struct field_def *t = fields_all(&n);
    for (size_t i = 0; i < n; i++) {
        const struct field_def *f = &t[i];
        if (f->flags & FIELD_F_NO_DOC)
            continue;
        if (f->scope == FIELD_HOST) {
            table_add(&top_keys, f->key, f, SP_NONE);
        } else if (f->scope == FIELD_MIG) {
            table_add(&mig_keys, f->key, f, SP_NONE);
        } else if (f->scope == FIELD_GPU_PROCESS || f->scope == FIELD_HOST_PROCESS) {
            table_add(&process_keys, f->key, f, SP_NONE);
        } else if (f->group) {
            struct key_table *g = group_table(f->group);
            if (!table_find(&device_keys, f->group, strlen(f->group),
                            hash_bytes(f->group, strlen(f->group))))
                table_add(&device_keys, f->group, NULL, SP_GROUP);
            table_add(g, f->key, f, SP_NONE);
        } else {
            table_add(&device_keys, f->key, f, SP_NONE);
        }
    }
    static const struct { struct key_table *t; const char *key; enum special sp; } extra[] = {
        {&top_keys, "schema_version", SP_SCHEMA_VERSION}, {&top_keys, "ts", SP_TS},
        {&top_keys, "driver_version", SP_DRIVER_VERSION},
        {&top_keys, "cuda_version", SP_CUDA_VERSION},
        {&top_keys, "nvml_version", SP_NVML_VERSION}, {&top_keys, "sources", SP_SOURCES},
        {&top_keys, "gpus", SP_GPUS}, {&top_keys, "procs", SP_PROCS},
        {&device_keys, "mig_instances", SP_MIGS},
        {&process_keys, "engines_pct", SP_ENGINES},
        {&process_keys, "host_visible", SP_HOST_VISIBLE},
        {&process_keys, "container", SP_CONTAINER},
        {&source_keys, "name", SP_NAME}, {&source_keys, "started", SP_STARTED},
        {&source_keys, "message", SP_MESSAGE},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        table_add(extra[i].t, extra[i].key, NULL, extra[i].sp);
    if (pthread_key_create(&scratch_key, free_scratch) != 0)
        scratch_key_failed = true;
    struct key_table *all[] = {&top_keys, &device_keys, &mig_keys, &process_keys, &source_keys,
                               &group_keys[0], &group_keys[1], &group_keys[2], &group_keys[3]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        all[i]->base = note_count;
        note_count += all[i]->count;
    }
}

/* ------------------------------------------------------------ the reader */

enum kind { V_NULL, V_TRUE, V_FALSE, V_INT, V_REAL, V_STRING, V_OBJECT, V_ARRAY };

/* One value as read: scalars whole, containers only where they start. */
struct value {
    enum kind kind;
    size_t at;                 /* byte offset of its first character */
    long long i;               /* V_INT */
    double d;                  /* V_INT and V_REAL */
    const char *s;             /* V_STRING: the text between the quotes, */
    size_t slen;               /* as written */
    bool escaped;              /* it holds a backslash */
};

/* A member of a record, noted until the record's object ends. */
struct noted {
    struct value v;
    unsigned gen;              /* the record it belongs to; stale otherwise */
};

/* A key seen in the object being read, for refusing duplicates.  Slots
 * of other objects (a lower gen) count as empty, so no table is cleared. */
struct seen_key {
    uint64_t hash;
    uint32_t at, len;          /* the key as written */
    uint32_t gen;              /* the object it was seen in */
    bool escaped;
};

struct parser {
    const char *buf;
    size_t len, pos;
    unsigned depth;
    struct error *e;
    struct cluster_node_facts *out;
    struct seen_key *seen;     /* a stack of open objects' hash tables */
    size_t seen_top, seen_cap;
    char *text;                /* unescaped text (keys, values) */
    size_t text_cap;
    char *text2;               /* a second key, when two are compared */
    size_t text2_cap;
    unsigned gen;              /* numbers records */
    uint32_t key_gen;          /* numbers objects */
    struct noted *notes;       /* the open record of each key table (note_count) */
};

/* Where a value sits, for messages: "gpus[1].mig_instances[0]". */
struct where {
    const char *array;         /* "gpus", "procs", "sources" or "" */
    size_t index;
    const char *sub;           /* "mig_instances" or NULL */
    size_t sub_index;
};

static const char *prefix_text(const struct where *w, char *buf, size_t size)
{
    if (!w->array[0])
        snprintf(buf, size, "%s", "");
    else if (w->sub)
        snprintf(buf, size, "%s[%zu].%s[%zu].", w->array, w->index, w->sub, w->sub_index);
    else
        snprintf(buf, size, "%s[%zu].", w->array, w->index);
    return buf;
}

static int syntax(struct parser *p, size_t at, const char *what)
{
    return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: %s", at, what);
}

static const char *kind_text(const struct value *v)
{
    static const char *const names[] = {
        [V_NULL] = "null", [V_TRUE] = "true", [V_FALSE] = "false", [V_INT] = "an integer",
        [V_REAL] = "a real", [V_STRING] = "a string", [V_OBJECT] = "an object",
        [V_ARRAY] = "an array",
    };
    return v ? names[v->kind] : "nothing";
}

/* "snapshot document, byte N: gpus[1].clocks.sm_mhz: expected X, got Y"; a
 * missing value has no byte of its own: the record's is given. */
static int bad(struct parser *p, const struct where *w, const char *group, const char *key,
               const struct value *v, size_t record_at, const char *expected)
{
    char prefix[96];
    return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: %s%s%s%s: expected %s, "
                     "got %s", v ? v->at : record_at, prefix_text(w, prefix, sizeof prefix),
                     group ? group : "", group ? "." : "", key, expected, kind_text(v));
}

static int out_of_memory(struct parser *p)
{
    return error_set(p->e, -ENOMEM, "out of memory decoding the snapshot document");
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->buf[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

/* The next character after white space, or 0 at the end. */
static char peek(struct parser *p)
{
    /* compact documents have no white space: look before calling */
    if (p->pos < p->len && (unsigned char)p->buf[p->pos] > ' ')
        return p->buf[p->pos];
    skip_ws(p);
    return p->pos < p->len ? p->buf[p->pos] : 0;
}

static int expect(struct parser *p, char c, const char *what)
{
    if (peek(p) != c)
        return syntax(p, p->pos, what);
    p->pos++;
    return 0;
}

/* ---- strings */

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
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

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * no overlong forms, surrogates or code points above U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* A \u escape at s (after the backslash, n bytes left): its length, 0 if
 * invalid (a lone surrogate, \u0000, bad hex); the code point in *cp. */
static size_t unicode_escape(const char *s, size_t n, unsigned *cp)
{
    unsigned v, lo;
    if (n < 5 || hex4(s + 1, &v) < 0 || v == 0 || (v >= 0xDC00 && v <= 0xDFFF))
        return 0;
    if (v < 0xD800 || v > 0xDBFF) {
        *cp = v;
        return 5;
    }
    if (n < 11 || s[5] != '\\' || s[6] != 'u' || hex4(s + 7, &lo) < 0 || lo < 0xDC00 ||
        lo > 0xDFFF)
        return 0;
    *cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    return 11;
}

static inline bool plain_byte(unsigned char c);

/* How many of the 8 bytes at s, from the first, need no look: no quote,
 * backslash, control character or byte of a multi-byte character.  The
 * zero-byte test may flag a byte after a real one, never before it, so on
 * a little-endian machine the lowest flag is the first byte to look at. */
static inline unsigned plain_prefix8(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t x;
    memcpy(&x, s, sizeof x);
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint64_t special = (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                        ((x - ones * 0x20) & ~x) | x) & highs;
    if (!special)
        return 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (unsigned)__builtin_ctzll(special) / 8;
#else
    unsigned k = 0;
    while (plain_byte(s[k]))
        k++;
    return k;
#endif
}

static inline bool plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* The length of the escape at s (its backslash; n bytes left), 0 if it is
 * not one JSON allows. */
static size_t escape_length(const char *s, size_t n)
{
    unsigned cp;
    if (n < 2)
        return 0;
    switch (s[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 2;
    case 'u': {
        size_t step = unicode_escape(s + 1, n - 1, &cp);
        return step ? 1 + step : 0;
    }
    default:
        return 0;
    }
}

/* Reads the string at pos (its opening quote) into v: eight bytes at a
 * time while nothing needs a look, then byte by byte to the next thing
 * that does. */
static int read_string(struct parser *p, struct value *v)
{
    const unsigned char *b = (const unsigned char *)p->buf;
    size_t i = p->pos + 1, n = p->len;
    *v = (struct value){.kind = V_STRING, .at = p->pos, .s = p->buf + i};
    for (;;) {
        while (i + 8 <= n) {
            unsigned k = plain_prefix8(b + i);
            i += k;
            if (k < 8)
                break;
        }
        while (i < n && plain_byte(b[i]))
            i++;
        if (i >= n)
            return syntax(p, p->pos, "a string does not end");
        unsigned char c = b[i];
        size_t step;
        if (c == '"')
            break;
        if (c < 0x20)
            return syntax(p, i, "a control character in a string");
        if (c == '\\') {
            v->escaped = true;
            if (!(step = escape_length(p->buf + i, n - i)))
                return syntax(p, i, "an invalid escape in a string");
        } else if (!(step = utf8_length(b + i, n - i))) {
            return syntax(p, i, "invalid UTF-8 in a string");
        }
        i += step;
    }
    v->slen = i - (p->pos + 1);
    p->pos = i + 1;
    return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string's text, escapes resolved (a read string's escapes are valid),
 * NUL-terminated in *buf (grown as needed); its length in *len.  NULL when
 * out of memory. */
static const char *unescape(const char *s, size_t n, char **buf, size_t *cap, size_t *len)
{
    if (n + 1 > *cap) {
        char *grown = realloc(*buf, n + 1);
        if (!grown)
            return NULL;
        *buf = grown;
        *cap = n + 1;
    }
    char *o = *buf;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            o[k++] = s[i++];
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        if (s[i + 1] == 'u') {
            unsigned cp = 0;
            size_t step = unicode_escape(s + i + 1, n - i - 1, &cp);
            k += put_utf8(o + k, cp);
            i += 1 + step;
        } else {
            o[k++] = to[strchr(from, s[i + 1]) - from];
            i += 2;
        }
    }
    o[k] = '\0';
    *len = k;
    return o;
}

/* The text of a read string (the parser's buffer when it was escaped). */
static const char *string_text(struct parser *p, const struct value *v, size_t *len)
{
    if (!v->escaped) {
        *len = v->slen;
        return v->s;
    }
    return unescape(v->s, v->slen, &p->text, &p->text_cap, len);
}

/* ---- numbers */

static const double exact_powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The real written in s[0..n): exactly when its digits fit 2^53 and its
 * power of ten is exact (then one rounding, as strtod), else strtod on a
 * copy.  -ERANGE on overflow, as jansson refuses it. */
static int real_value(const char *s, size_t n, double *out)
{
    uint64_t digits = 0;
    int ndigits = 0, exp10 = 0;
    size_t i = s[0] == '-';
    bool exact = true;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (digits || s[i] != '0')
            digits = digits * 10 + (uint64_t)(s[i] - '0'), exact &= ++ndigits <= 15;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, exp10--)
            if (digits || s[i] != '0')
                digits = digits * 10 + (uint64_t)(s[i] - '0'), exact &= ++ndigits <= 15;
    if (i < n) {   /* the exponent */
        int sign = 1, e = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            sign = s[i++] == '-' ? -1 : 1;
        for (; i < n; i++)
            e = e < 10000 ? e * 10 + (s[i] - '0') : e;
        exp10 += sign * e;
    }
    if (exact && exp10 >= -22 && exp10 <= 22) {
        double d = (double)digits;
        d = exp10 < 0 ? d / exact_powers[-exp10] : d * exact_powers[exp10];
        *out = s[0] == '-' ? -d : d;
        return 0;
    }
    char small[64], *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    errno = 0;
    double d = strtod(copy, NULL);
    int rc = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL) ? -ERANGE : 0;
    if (copy != small)
        free(copy);
    *out = d;
    return rc;
}

static size_t digits_from(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* Reads the number at pos into v: an integer when it has no fraction or
 * exponent (as jansson, which refuses one beyond long long), else a real. */
static int read_number(struct parser *p, struct value *v)
{
    const char *s = p->buf;
    size_t i = p->pos, n = p->len;
    *v = (struct value){.kind = V_INT, .at = p->pos};
    if (s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return syntax(p, p->pos, "invalid number");
    if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
        return syntax(p, p->pos, "invalid number (a leading zero)");
    i = digits_from(s, i, n);
    if (i < n && s[i] == '.') {
        v->kind = V_REAL;
        size_t f = digits_from(s, i + 1, n);
        if (f == i + 1)
            return syntax(p, p->pos, "invalid number");
        i = f;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        v->kind = V_REAL;
        size_t x = i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-') ? i + 2 : i + 1;
        size_t end = digits_from(s, x, n);
        if (end == x)
            return syntax(p, p->pos, "invalid number");
        i = end;
    }
    size_t len = i - p->pos;
    p->pos = i;
    if (v->kind == V_REAL) {
        int rc = real_value(s + v->at, len, &v->d);
        if (rc == -ENOMEM)
            return out_of_memory(p);
        return rc < 0 ? syntax(p, v->at, "real number overflow") : 0;
    }
    bool neg = s[v->at] == '-';
    unsigned long long mag = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (size_t k = v->at + neg; k < i; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (mag > (limit - d) / 10)
            return syntax(p, v->at, neg ? "too big negative integer" : "too big integer");
        mag = mag * 10 + d;
    }
    v->i = neg ? (mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag)
               : (long long)mag;
    v->d = (double)v->i;
    return 0;
}

/* ---- objects, arrays and skipping */

static int read_value(struct parser *p, struct value *v);

/* The unescaped text of a seen key, in buf. */
static const char *seen_text(struct parser *p, const struct seen_key *k, char **buf, size_t *cap,
                             size_t *len)
{
    if (!k->escaped) {
        *len = k->len;
        return p->buf + k->at;
    }
    return unescape(p->buf + k->at, k->len, buf, cap, len);
}

static bool same_key(struct parser *p, const struct seen_key *a, const struct seen_key *b)
{
    if (!a->escaped && !b->escaped)
        return a->len == b->len && !memcmp(p->buf + a->at, p->buf + b->at, a->len);
    size_t la, lb;
    const char *ta = seen_text(p, a, &p->text, &p->text_cap, &la);
    const char *tb = seen_text(p, b, &p->text2, &p->text2_cap, &lb);
    return ta && tb && la == lb && !memcmp(ta, tb, la);
}

/* An open object's keys: a hash table of cap slots at p->seen[base]. */
struct object_keys {
    size_t base, cap, count;
    uint32_t gen;
};

static int open_keys(struct parser *p, struct object_keys *k, size_t cap, uint32_t gen)
{
    while (p->seen_top + cap > p->seen_cap) {
        size_t n = p->seen_cap ? p->seen_cap * 2 : 1024;
        struct seen_key *grown = realloc(p->seen, n * sizeof *grown);
        if (!grown)
            return out_of_memory(p);
        memset(grown + p->seen_cap, 0, (n - p->seen_cap) * sizeof *grown);
        p->seen = grown;
        p->seen_cap = n;
    }
    *k = (struct object_keys){p->seen_top, cap, 0, gen};
    p->seen_top += cap;
    return 0;
}

static void close_keys(struct parser *p, const struct object_keys *k)
{
    p->seen_top = k->base;
}

/* Adds key to the open object's table (the top of the stack: any object
 * inside it has closed); -ERROR_PARSE when it is there already. */
static int note_key(struct parser *p, struct object_keys *k, const struct seen_key *key)
{
    if ((k->count + 1) * 2 > k->cap) {   /* rehash into twice the room, in place */
        struct object_keys old = *k;
        struct seen_key *copy = malloc(old.cap * sizeof *copy);
        if (!copy)
            return out_of_memory(p);
        memcpy(copy, p->seen + old.base, old.cap * sizeof *copy);
        p->seen_top = old.base;
        int rc = open_keys(p, k, old.cap * 2, ++p->key_gen);
        for (size_t i = 0; rc == 0 && i < old.cap; i++)
            if (copy[i].gen == old.gen)
                rc = note_key(p, k, &copy[i]);
        free(copy);
        if (rc < 0)
            return rc;
    }
    struct seen_key *t = p->seen + k->base;
    size_t i = key->hash & (k->cap - 1);
    for (; t[i].gen == k->gen; i = (i + 1) & (k->cap - 1))
        if (t[i].hash == key->hash && same_key(p, &t[i], key))
            return syntax(p, key->at - 1, "duplicate object key");
    t[i] = *key;
    t[i].gen = k->gen;
    k->count++;
    return 0;
}

/* Called for each member of an object, at its value (after the colon); it
 * must read the value.  text is the key, unescaped and NUL-terminated only
 * when it was escaped; k its entry in the object's key table (NULL: not
 * one of its keys, or the object has no table). */
typedef int member_fn(struct parser *p, const char *text, size_t len, const struct key *k,
                      void *ctx);

/* The keys of an object being read: those of its table as a bit each, the
 * others (few: the agent writes none) in a hash table opened at the first. */
struct object_seen {
    const struct key_table *table;
    uint64_t bits[(FIELDS_MAX + 16 + 63) / 64];
    size_t next;                  /* the table entry expected next */
    struct object_keys others;
    bool others_open;
};

/* Which key of the object's table text is, trying first the one after the
 * last (documents list a record's keys in table order); notes it, and
 * refuses it when it came before. */
static int known_key(struct parser *p, struct object_seen *o, const struct value *k,
                     const char *text, size_t len, const struct key **out)
{
    const struct key_table *t = o->table;
    const struct key *hit = NULL;
    *out = NULL;
    if (o->next < t->count && t->keys[o->next].len == len &&
        !memcmp(t->keys[o->next].key, text, len))
        hit = &t->keys[o->next];
    else
        hit = table_find(t, text, len, hash_bytes(text, len));
    if (!hit)
        return 0;
    uint64_t bit = 1ull << (hit->member % 64);
    if (o->bits[hit->member / 64] & bit)
        return syntax(p, k->at, "duplicate object key");
    o->bits[hit->member / 64] |= bit;
    o->next = hit->member + 1;
    *out = hit;
    return 0;
}

/* Notes a key that is not the table's (or of an object without one). */
static int other_key(struct parser *p, struct object_seen *o, const struct value *k,
                     const char *text, size_t len)
{
    if (!o->others_open) {
        int rc = open_keys(p, &o->others, 64, ++p->key_gen);
        if (rc < 0)
            return rc;
        o->others_open = true;
    }
    struct seen_key seen = {hash_bytes(text, len), (uint32_t)k->at + 1, (uint32_t)k->slen, 0,
                            k->escaped};
    return note_key(p, &o->others, &seen);
}

/* Reads the object at pos, calling fn for each member; table: the keys it
 * expects (NULL: none). */
static int each_member(struct parser *p, const struct key_table *table, member_fn *fn,
                       void *ctx)
{
    if (++p->depth > MAX_DEPTH)
        return syntax(p, p->pos, "maximum parsing depth reached");
    p->pos++;   /* '{' */
    struct object_seen seen = {.table = table};
    int rc = 0;
    if (peek(p) == '}') {
        p->pos++;
        goto done;
    }
    for (;;) {
        struct value k;
        if (peek(p) != '"') {
            rc = syntax(p, p->pos, "string or '}' expected");
            break;
        }
        if ((rc = read_string(p, &k)) < 0)
            break;
        size_t len;
        const char *text = string_text(p, &k, &len);
        const struct key *known = NULL;
        if (!text) {
            rc = out_of_memory(p);
            break;
        }
        if (table && (rc = known_key(p, &seen, &k, text, len, &known)) < 0)
            break;
        if (!known && (rc = other_key(p, &seen, &k, text, len)) < 0)
            break;
        if ((rc = expect(p, ':', "':' expected")) < 0)
            break;
        if (k.escaped) {    /* fn may read strings into p->text: keep the key apart */
            text = unescape(k.s, k.slen, &p->text2, &p->text2_cap, &len);
            if (!text) {
                rc = out_of_memory(p);
                break;
            }
        }
        peek(p);
        if ((rc = fn(p, text, len, known, ctx)) < 0)
            break;
        char c = peek(p);
        p->pos++;
        if (c == '}')
            break;
        if (c != ',') {
            rc = syntax(p, p->pos - 1, "',' or '}' expected");
            break;
        }
    }
done:
    if (seen.others_open)
        close_keys(p, &seen.others);
    p->depth--;
    return rc;
}

static int skip_member(struct parser *p, const char *text, size_t len, const struct key *k,
                       void *ctx)
{
    (void)text, (void)len, (void)k, (void)ctx;
    struct value v;
    return read_value(p, &v);
}

/* Called for each element of an array, at the element. */
typedef int element_fn(struct parser *p, size_t index, void *ctx);

static int each_element(struct parser *p, element_fn *fn, void *ctx)
{
    if (++p->depth > MAX_DEPTH)
        return syntax(p, p->pos, "maximum parsing depth reached");
    p->pos++;   /* '[' */
    int rc = 0;
    if (peek(p) == ']') {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (size_t i = 0;; i++) {
        skip_ws(p);
        if ((rc = fn(p, i, ctx)) < 0)
            break;
        char c = peek(p);
        p->pos++;
        if (c == ']')
            break;
        if (c != ',') {
            rc = syntax(p, p->pos - 1, "',' or ']' expected");
            break;
        }
    }
    p->depth--;
    return rc;
}

static int skip_element(struct parser *p, size_t index, void *ctx)
{
    (void)index, (void)ctx;
    struct value v;
    return read_value(p, &v);
}

static int read_literal(struct parser *p, const char *word, enum kind kind, struct value *v)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->buf + p->pos, word, n) != 0)
        return syntax(p, p->pos, "invalid token");
    *v = (struct value){.kind = kind, .at = p->pos};
    p->pos += n;
    return 0;
}

/* Reads any value at pos (after white space); an object or array is
 * checked and skipped. */
static int read_value(struct parser *p, struct value *v)
{
    if (p->pos >= p->len)
        return syntax(p, p->pos, "unexpected end of the document");
    char c = p->buf[p->pos];
    *v = (struct value){.at = p->pos};
    switch (c) {
    case '{':
        v->kind = V_OBJECT;
        return each_member(p, NULL, skip_member, NULL);
    case '[':
        v->kind = V_ARRAY;
        return each_element(p, skip_element, NULL);
    case '"':
        return read_string(p, v);
    case 't':
        return read_literal(p, "true", V_TRUE, v);
    case 'f':
        return read_literal(p, "false", V_FALSE, v);
    case 'n':
        return read_literal(p, "null", V_NULL, v);
    default:
        return read_number(p, v);
    }
}

/* ------------------------------------------------------------ fields */

/* The value, read as the field-table says, into the record's slot.
 * Mirrors snapshot_decode.c's decode_field, kind by kind. */
struct field_ctx {
    struct parser *p;
    const struct where *w;
    size_t record_at;
};

static int bad_field(const struct field_ctx *c, const struct field_def *f, const struct value *v,
                     const char *expected)
{
    return bad(c->p, c->w, f->group, f->key, v, c->record_at, expected);
}

static int out_of_range(const struct field_ctx *c, const struct field_def *f,
                        const struct value *v)
{
    char prefix[96];
    return error_set(c->p->e, -ERROR_PARSE, "snapshot document, byte %zu: %s%s%s%s: %lld is out "
                     "of range", v->at, prefix_text(c->w, prefix, sizeof prefix),
                     f->group ? f->group : "", f->group ? "." : "", f->key, v->i);
}

static int integer_in(const struct field_ctx *c, const struct field_def *f,
                      const struct value *v, long long lo, long long hi)
{
    if (!v || v->kind != V_INT)
        return bad_field(c, f, v, "an integer");
    return v->i < lo || v->i > hi ? out_of_range(c, f, v) : 0;
}

static bool is_number(const struct value *v)
{
    return v->kind == V_INT || v->kind == V_REAL;
}

static int name_of(const struct field_ctx *c, const struct field_def *f, const struct value *v,
                   long long *out, bool *known)
{
    if (v->kind != V_STRING)
        return bad_field(c, f, v, "a string");
    size_t len;
    const char *s = string_text(c->p, v, &len);
    if (!s)
        return out_of_memory(c->p);
    *known = false;
    for (size_t i = 0; i < f->name_count; i++)
        if (f->names[i] && strlen(f->names[i]) == len && !memcmp(f->names[i], s, len)) {
            *out = (long long)i;
            *known = true;
            break;
        }
    return 0;
}

static int field_u64(const struct field_ctx *c, const struct field_def *f, const struct value *v,
                     struct opt_u64 *o)
{
    if (f->json == FIELD_JSON_MILLI) {
        if (!is_number(v))
            return bad_field(c, f, v, "a number");
        if (!(v->d >= 0 && v->d <= 1e15))
            return bad_field(c, f, v, "a number from 0 to 1e15");
        OPT_SET(*o, (uint64_t)llround(v->d * 1000.0));
        return 0;
    }
    bool mib = f->json == FIELD_JSON_MIB;
    int rc = integer_in(c, f, v, 0, mib ? (LLONG_MAX >> 20) : LLONG_MAX);
    if (rc == 0)
        OPT_SET(*o, mib ? (uint64_t)v->i << 20 : (uint64_t)v->i);
    return rc;
}

/* An RFC 3339 UTC time: the text in a NUL-terminated copy for the shared
 * parser. */
static int field_time(const struct field_ctx *c, const struct field_def *f,
                      const struct value *v, struct opt_f64 *o)
{
    if (v->kind != V_STRING)
        return bad_field(c, f, v, "an RFC 3339 UTC time");
    size_t len;
    const char *s = string_text(c->p, v, &len);
    char small[64], *copy = s && len < sizeof small ? small : malloc(len + 1);
    if (!s || !copy)
        return out_of_memory(c->p);
    memcpy(copy, s, len);
    copy[len] = '\0';
    double t;
    bool ok = doc_snapshot_parse_time(copy, &t);
    if (copy != small)
        free(copy);
    if (!ok)
        return bad_field(c, f, v, "an RFC 3339 UTC time");
    OPT_SET(*o, t);
    return 0;
}

static int field_text(const struct field_ctx *c, const struct field_def *f,
                      const struct value *v, void *slot)
{
    if (v->kind != V_STRING)
        return bad_field(c, f, v, "a string");
    if (f->kind == FIELD_STRPTR)
        return 0;   /* a command line: checked, not kept */
    size_t len;
    const char *s = string_text(c->p, v, &len);
    if (!s)
        return out_of_memory(c->p);
    if (f->kind == FIELD_STR)   /* a read string holds no NUL: \u0000 is refused */
        doc_snapshot_copy_text(slot, f->size, s, len);
    else
        *(char *)slot = len == 1 && (unsigned char)s[0] < 0x80 ? s[0] : '?';
    return 0;
}

static int field_i64(const struct field_ctx *c, const struct field_def *f, const struct value *v,
                     struct opt_i64 *o)
{
    if (f->kind == FIELD_BOOL) {
        if (v->kind != V_TRUE && v->kind != V_FALSE)
            return bad_field(c, f, v, "true or false");
        OPT_SET(*o, v->kind == V_TRUE);
        return 0;
    }
    long long x = 0;
    bool known = true;
    int rc = f->json == FIELD_JSON_NAME ? name_of(c, f, v, &x, &known)
                                        : integer_in(c, f, v, LLONG_MIN, LLONG_MAX);
    if (rc == 0 && known)
        OPT_SET(*o, f->json == FIELD_JSON_NAME ? x : v->i);
    return rc;
}

static int field_always_known(const struct field_ctx *c, const struct field_def *f,
                              const struct value *v, void *slot)
{
    long long x = 0;
    bool known = true;
    int rc;
    if (f->json == FIELD_JSON_NAME) {
        if (!v || v->kind == V_NULL)
            return 0;
        rc = name_of(c, f, v, &x, &known);
    } else {
        bool is_int = f->kind == FIELD_INT;
        rc = integer_in(c, f, v, is_int ? INT_MIN : 0, is_int ? INT_MAX : UINT_MAX);
        x = rc == 0 ? v->i : 0;
    }
    if (rc < 0 || !known)
        return rc;
    if (f->kind == FIELD_INT)
        *(int *)slot = (int)x;
    else
        *(unsigned *)slot = (unsigned)x;
    return 0;
}

static int read_field(const struct field_ctx *c, const struct field_def *f,
                      const struct value *v, void *rec)
{
    void *slot = fields_slot(f, rec);
    if (f->kind == FIELD_INT || f->kind == FIELD_UINT)
        return field_always_known(c, f, v, slot);
    if (!v || v->kind == V_NULL)
        return 0;
    switch (f->kind) {
    case FIELD_U64:
        return field_u64(c, f, v, slot);
    case FIELD_I64:
    case FIELD_BOOL:
        return field_i64(c, f, v, slot);
    case FIELD_F64:
        if (f->json == FIELD_JSON_TIME)
            return field_time(c, f, v, slot);
        if (!is_number(v))
            return bad_field(c, f, v, "a number");
        OPT_SET(*(struct opt_f64 *)slot, v->d);
        return 0;
    case FIELD_STR:
    case FIELD_STRPTR:
    case FIELD_CHAR:
        return field_text(c, f, v, slot);
    case FIELD_INT:
    case FIELD_UINT:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------ records */

/* Notes the value of a record's member (its key in t); specials go to
 * special_fn.  Objects under a group key are read into p->group. */
struct record {
    const struct key_table *table;
    unsigned gen;
    int (*special)(struct parser *p, const struct key *k, struct record *r);
    struct value host_visible;        /* a process's, when a boolean */
    bool has_host_visible;
    size_t engines_at;                /* a process's engines_pct object; 0: none */
    size_t migs_at;                   /* a GPU's mig_instances array; 0: none */
    struct value groups[4];           /* a GPU's group members, as found */
    bool has_group[4];
    const struct where *w;
    struct parser *p;
};

/* The member noted for key k of record r, or NULL. */
static struct noted *noted_of(const struct record *r, const struct key *k)
{
    struct noted *n = &r->p->notes[r->table->base + k->member];
    return n->gen == r->gen ? n : NULL;
}

/* Remembers an object at a group key ("clocks") by reading its members
 * into p->group[g]. */
struct group_read {
    struct parser *p;
    size_t g;
    unsigned gen;
};

static int group_member(struct parser *p, const char *text, size_t len, const struct key *k,
                        void *ctx)
{
    (void)text, (void)len;
    struct group_read *gr = ctx;
    struct value v;
    int rc = read_value(p, &v);
    if (rc == 0 && k)
        p->notes[group_keys[gr->g].base + k->member] = (struct noted){v, gr->gen};
    return rc;
}

static int record_member(struct parser *p, const char *text, size_t len, const struct key *k,
                         void *ctx)
{
    struct record *r = ctx;
    if (!k)
        return skip_member(p, text, len, NULL, NULL);
    if (k->special == SP_GROUP && p->pos < p->len && p->buf[p->pos] == '{') {
        size_t g = 0;
        while (strcmp(group_names[g], k->key))
            g++;
        r->has_group[g] = true;
        r->groups[g] = (struct value){.kind = V_OBJECT, .at = p->pos};
        struct group_read gr = {p, g, r->gen};
        return each_member(p, &group_keys[g], group_member, &gr);
    }
    if (!k->field && r->special && k->special != SP_GROUP)
        return r->special(p, k, r);
    struct value v;
    int rc = read_value(p, &v);
    if (rc < 0)
        return rc;
    if (k->special == SP_GROUP) {
        size_t g = 0;
        while (strcmp(group_names[g], k->key))
            g++;
        r->has_group[g] = true;
        r->groups[g] = v;
    } else {
        p->notes[r->table->base + k->member] = (struct noted){v, r->gen};
    }
    return 0;
}

/* Every noted field of scope, in table order, into rec. */
static int read_record(struct record *r, enum field_scope scope, size_t record_at, void *rec)
{
    struct parser *p = r->p;
    struct field_ctx c = {p, r->w, record_at};
    const struct key_table *t = r->table;
    for (size_t i = 0; i < t->count; i++) {
        const struct key *k = &t->keys[i];
        if (k->special == SP_GROUP) {
            size_t g = 0;
            while (strcmp(group_names[g], k->key))
                g++;
            const struct key_table *gt = &group_keys[g];
            const struct value *gv = r->has_group[g] ? &r->groups[g] : NULL;
            if (gv && gv->kind != V_OBJECT && gv->kind != V_NULL)
                return bad(p, r->w, NULL, k->key, gv, record_at, "an object");
            bool members = gv && gv->kind == V_OBJECT;
            for (size_t j = 0; j < gt->count; j++) {
                const struct noted *n = &p->notes[gt->base + gt->keys[j].member];
                int rc = read_field(&c, gt->keys[j].field,
                                    members && n->gen == r->gen ? &n->v : NULL, rec);
                if (rc < 0)
                    return rc;
            }
            continue;
        }
        if (!k->field || k->field->scope != scope)
            continue;
        const struct noted *n = noted_of(r, k);
        int rc = read_field(&c, k->field, n ? &n->v : NULL, rec);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Opens a record at pos (an object, else the array element's error). */
static int begin_record(struct parser *p, struct record *r, const struct key_table *t,
                        const struct where *w, const char *what)
{
    memset(r, 0, sizeof *r);
    r->table = t;
    r->gen = ++p->gen;
    r->w = w;
    r->p = p;
    if (p->pos >= p->len || p->buf[p->pos] != '{') {
        struct value v;
        int rc = read_value(p, &v);
        if (rc < 0)
            return rc;
        char prefix[96];
        prefix_text(w, prefix, sizeof prefix);
        prefix[strlen(prefix) - 1] = '\0';   /* no trailing '.' */
        return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: %s: expected %s",
                         v.at, prefix, what);
    }
    return 0;
}

/* ------------------------------------------------------------ GPUs */

static int mig_element(struct parser *p, size_t index, void *ctx)
{
    struct where w = *(const struct where *)ctx;
    w.sub = "mig_instances";
    w.sub_index = index;
    struct record r;
    size_t at = p->pos;
    int rc = begin_record(p, &r, &mig_keys, &w, "an object");
    if (rc == 0)
        rc = each_member(p, r.table, record_member, &r);
    struct mig_instance scratch;
    memset(&scratch, 0, sizeof scratch);
    return rc < 0 ? rc : read_record(&r, FIELD_MIG, at, &scratch);
}

static int device_special(struct parser *p, const struct key *k, struct record *r)
{
    struct value v;
    if (k->special == SP_MIGS && p->pos < p->len && p->buf[p->pos] == '[') {
        r->migs_at = p->pos;
        return each_element(p, mig_element, (void *)r->w);
    }
    int rc = read_value(p, &v);
    if (rc == 0 && k->special == SP_MIGS && v.kind != V_NULL)
        return bad(p, r->w, NULL, "mig_instances", &v, 0, "an array");
    return rc;
}

static int gpu_element(struct parser *p, size_t index, void *ctx)
{
    (void)ctx;
    struct where w = {"gpus", index, NULL, 0};
    struct record r;
    size_t at = p->pos;
    int rc = begin_record(p, &r, &device_keys, &w, "an object");
    if (rc < 0)
        return rc;
    r.special = device_special;
    if ((rc = each_member(p, r.table, record_member, &r)) < 0)
        return rc;
    struct device d;
    memset(&d, 0, sizeof d);
    if ((rc = read_record(&r, FIELD_DEVICE, at, &d)) < 0)
        return rc;
    struct cluster_node_facts *f = p->out;
    if (f->gpu_count && d.index <= f->gpus[f->gpu_count - 1].index)
        return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: gpus[%zu].gpu_index: "
                         "%d after %d; GPUs must be in increasing index order", at, index,
                         d.index, f->gpus[f->gpu_count - 1].index);
    struct cluster_gpu_facts *g = cluster_node_facts_add_gpu(f);
    if (!g)
        return out_of_memory(p);
    g->index = d.index;
    memcpy(g->uuid, d.uuid, sizeof g->uuid);
    memcpy(g->name, d.name, sizeof g->name);
    g->mem_total_bytes = d.mem_total_bytes;
    g->mem_used_bytes = d.mem_used_bytes;
    g->util_pct = d.util_gpu_pct;
    g->power_mw = d.power_mw;
    return 0;
}

/* ------------------------------------------------------------ processes */

struct engines_read {
    const struct where *w;
    size_t count;
};

static int engine_member(struct parser *p, const char *text, size_t len, const struct key *k,
                         void *ctx)
{
    (void)k;
    struct engines_read *er = ctx;
    char key[48];   /* reading the value may reuse the key's buffer */
    snprintf(key, sizeof key, "%.*s", (int)(len < 32 ? len : 32), text);
    struct value v;
    int rc = read_value(p, &v);
    if (rc < 0)
        return rc;
    if (er->count++ == GPU_PROC_MAX_ENGINES) {
        char prefix[96];
        return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: %sengines_pct: more "
                         "than %d engine classes", v.at, prefix_text(er->w, prefix, sizeof prefix),
                         GPU_PROC_MAX_ENGINES);
    }
    if (v.kind != V_NULL && !is_number(&v))
        return bad(p, er->w, "engines_pct", key, &v, 0, "a number");
    return 0;
}

static int process_special(struct parser *p, const struct key *k, struct record *r)
{
    struct value v;
    if (k->special == SP_ENGINES && p->pos < p->len && p->buf[p->pos] == '{') {
        r->engines_at = p->pos;
        struct engines_read er = {r->w, 0};
        return each_member(p, NULL, engine_member, &er);
    }
    int rc = read_value(p, &v);
    if (rc < 0)
        return rc;
    if (k->special == SP_ENGINES && v.kind != V_NULL)
        return bad(p, r->w, NULL, "engines_pct", &v, 0, "an object");
    if (k->special == SP_HOST_VISIBLE && (v.kind == V_TRUE || v.kind == V_FALSE)) {
        r->host_visible = v;
        r->has_host_visible = true;
    }
    return 0;
}

/* Whether the entry carries host facts: host_visible, or when that is not
 * a boolean, any host field that is not null (snapshot_decode.c's rule). */
static bool has_host_facts(const struct record *r)
{
    if (r->has_host_visible)
        return r->host_visible.kind == V_TRUE;
    const struct key_table *t = r->table;
    for (size_t i = 0; i < t->count; i++) {
        const struct key *k = &t->keys[i];
        const struct noted *n = noted_of(r, k);
        if (k->field && k->field->scope == FIELD_HOST_PROCESS && n && n->v.kind != V_NULL)
            return true;
    }
    return false;
}

static int process_facts(struct parser *p, struct record *r, size_t at)
{
    struct gpu_process gp;
    memset(&gp, 0, sizeof gp);
    int rc = read_record(r, FIELD_GPU_PROCESS, at, &gp);
    if (rc < 0)
        return rc;
    struct cluster_process_facts *pf = cluster_node_facts_add_process(p->out);
    if (!pf)
        return out_of_memory(p);
    *pf = (struct cluster_process_facts){gp.device_index, gp.pid, gp.gpu_mem_bytes, gp.sm_pct};
    if (!has_host_facts(r))
        return 0;
    struct host_process hp;
    memset(&hp, 0, sizeof hp);
    if ((rc = read_record(r, FIELD_HOST_PROCESS, at, &hp)) < 0)
        return rc;
    struct cluster_host_facts *h = cluster_node_facts_add_host(p->out);
    if (!h)
        return out_of_memory(p);
    h->pid = gp.pid;
    memcpy(h->user, hp.user, sizeof h->user);
    h->uid = hp.uid;
    h->elapsed_s = hp.elapsed_s;
    return 0;
}

static int process_element(struct parser *p, size_t index, void *ctx)
{
    (void)ctx;
    struct where w = {"procs", index, NULL, 0};
    struct record r;
    size_t at = p->pos;
    int rc = begin_record(p, &r, &process_keys, &w, "an object");
    if (rc < 0)
        return rc;
    r.special = process_special;
    if ((rc = each_member(p, r.table, record_member, &r)) < 0)
        return rc;
    return process_facts(p, &r, at);
}

/* ------------------------------------------------------------ the top level */

struct source_read {
    struct value name, started, message;
    bool has_name, has_started, has_message;
};

static int source_member(struct parser *p, const char *text, size_t len, const struct key *k,
                         void *ctx)
{
    (void)text, (void)len;
    struct source_read *s = ctx;
    struct value v;
    int rc = read_value(p, &v);
    if (rc < 0 || !k)
        return rc;
    if (k->special == SP_NAME)
        s->name = v, s->has_name = true;
    else if (k->special == SP_STARTED)
        s->started = v, s->has_started = true;
    else
        s->message = v, s->has_message = true;
    return 0;
}

static int source_element(struct parser *p, size_t index, void *ctx)
{
    (void)ctx;
    struct where w = {"sources", index, NULL, 0};
    struct record r;
    size_t at = p->pos;
    if (index >= SNAPSHOT_MAX_SOURCES)
        return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: sources: more than "
                         "%d entries", at, SNAPSHOT_MAX_SOURCES);
    int rc = begin_record(p, &r, &source_keys, &w, "an object");
    struct source_read s = {0};
    if (rc == 0)
        rc = each_member(p, &source_keys, source_member, &s);
    if (rc < 0)
        return rc;
    if (!s.has_name || s.name.kind != V_STRING)
        return bad(p, &w, NULL, "name", s.has_name ? &s.name : NULL, at, "a string");
    if (s.has_started && s.started.kind != V_TRUE && s.started.kind != V_FALSE)
        return bad(p, &w, NULL, "started", &s.started, at, "true or false");
    if (s.has_message && s.message.kind != V_NULL && s.message.kind != V_STRING)
        return bad(p, &w, NULL, "message", &s.message, at, "a string");
    return 0;
}

/* The array at a top-level key: each element through fn; null is none. */
static int top_array(struct parser *p, const char *key, element_fn *fn)
{
    static const struct where top = {"", 0, NULL, 0};
    if (p->pos < p->len && p->buf[p->pos] == '[')
        return each_element(p, fn, NULL);
    struct value v;
    int rc = read_value(p, &v);
    if (rc == 0 && v.kind != V_NULL)
        return bad(p, &top, NULL, key, &v, 0, "an array");
    return rc;
}

static int top_special(struct parser *p, const struct key *k, struct record *r)
{
    switch (k->special) {
    case SP_SOURCES:
        return top_array(p, "sources", source_element);
    case SP_GPUS:
        return top_array(p, "gpus", gpu_element);
    case SP_PROCS:
        return top_array(p, "procs", process_element);
    default:
        break;
    }
    struct value v;
    int rc = read_value(p, &v);
    if (rc == 0)
        p->notes[top_keys.base + k->member] = (struct noted){v, r->gen};
    return rc;
}

/* The top-level value at a special key; NULL when absent or null. */
static const struct value *top_value(const struct record *r, enum special sp)
{
    for (size_t i = 0; i < top_keys.count; i++)
        if (top_keys.keys[i].special == sp) {
            const struct noted *n = noted_of(r, &top_keys.keys[i]);
            return n && n->v.kind != V_NULL ? &n->v : NULL;
        }
    return NULL;
}

/* schema_version, ts and the version texts, as snapshot_decode.c checks
 * them. */
static int check_top(struct parser *p, struct record *r)
{
    static const struct where top = {"", 0, NULL, 0};
    const struct value *v = top_value(r, SP_SCHEMA_VERSION);
    if (v && (v->kind != V_INT || v->i < 1))
        return bad(p, &top, NULL, "schema_version", v, 0, "an integer from 1");
    if (v && v->i > DOC_SNAPSHOT_SCHEMA_VERSION)
        return error_set(p->e, -ERROR_PARSE, "snapshot document, byte %zu: schema_version %lld "
                         "is newer than this gpuctl reads (%d); update gpuctl", v->at, v->i,
                         DOC_SNAPSHOT_SCHEMA_VERSION);
    struct host_info host;
    memset(&host, 0, sizeof host);
    int rc = read_record(r, FIELD_HOST, 0, &host);
    if (rc < 0)
        return rc;
    static const struct field_def ts = {.key = "ts", .kind = FIELD_F64,
                                        .json = FIELD_JSON_TIME};
    struct field_ctx c = {p, &top, 0};
    struct opt_f64 when;
    if ((v = top_value(r, SP_TS)) && (rc = field_time(&c, &ts, v, &when)) < 0)
        return rc;
    static const struct { enum special sp; const char *key; } texts[] = {
        {SP_DRIVER_VERSION, "driver_version"}, {SP_CUDA_VERSION, "cuda_version"},
        {SP_NVML_VERSION, "nvml_version"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((v = top_value(r, texts[i].sp)) && v->kind != V_STRING)
            return bad(p, &top, NULL, texts[i].key, v, 0, "a string");
    return 0;
}

static int read_document(struct parser *p)
{
    static const struct where top = {"", 0, NULL, 0};
    if (peek(p) != '{') {
        if (p->pos < p->len && p->buf[p->pos] == '[') {
            struct value v;
            int rc = read_value(p, &v);
            return rc < 0 ? rc : syntax(p, v.at, "expected a JSON object");
        }
        return syntax(p, p->pos, "'{' expected: a snapshot document is a JSON object");
    }
    struct record r;
    int rc = begin_record(p, &r, &top_keys, &top, "an object");
    if (rc < 0)
        return rc;
    r.special = top_special;
    if ((rc = each_member(p, r.table, record_member, &r)) < 0)
        return rc;
    skip_ws(p);   /* not peek: a NUL byte is not the end */
    if (p->pos < p->len)
        return syntax(p, p->pos, "end of the document expected");
    return check_top(p, &r);
}

static void free_scratch(void *arg)
{
    struct parser *p = arg;
    if (!p)
        return;
    free(p->notes);
    free(p->seen);
    free(p->text);
    free(p->text2);
    free(p);
}

/* The calling thread's parser: its buffers are kept from one document to
 * the next (a coordinator's threads read thousands a second, and fresh
 * buffers each time would scatter holes through the heap between the
 * nodes' long-lived samples).  The record and object numbers go on; long
 * before they could wrap, the notes and key tables are cleared. */
static struct parser *get_scratch(void)
{
    struct parser *p = scratch_key_failed ? NULL : pthread_getspecific(scratch_key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (p && !(p->notes = calloc(note_count, sizeof *p->notes))) {
            free(p);
            p = NULL;
        }
        if (p && !scratch_key_failed && pthread_setspecific(scratch_key, p) != 0) {
            free_scratch(p);
            p = NULL;
        }
        return p;
    }
    if (p->gen > UINT_MAX / 2 || p->key_gen > UINT32_MAX / 2) {
        memset(p->notes, 0, note_count * sizeof *p->notes);
        memset(p->seen, 0, p->seen_cap * sizeof *p->seen);
        p->gen = 0;
        p->key_gen = 0;
    }
    return p;
}

/* Hands the parser back: kept for the thread's next document (freed with
 * the thread), or freed now when there is no per-thread key. */
static void put_scratch(struct parser *p)
{
    p->buf = NULL;
    p->e = NULL;
    p->out = NULL;
    if (scratch_key_failed)
        free_scratch(p);
}

int doc_snapshot_ingest(const char *buf, size_t len, struct cluster_node_facts *out,
                        struct error *e)
{
    pthread_once(&tables_once, build_tables);
    memset(out, 0, sizeof *out);
    if (len > UINT32_MAX)
        return error_set(e, -ERROR_PARSE, "snapshot document: %zu bytes; at most 4 GiB", len);
    struct parser *p = get_scratch();
    if (!p)
        return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    p->buf = buf;
    p->len = len;
    p->pos = 0;
    p->depth = 0;
    p->seen_top = 0;
    p->e = e;
    p->out = out;
    int rc = read_document(p);
    put_scratch(p);
    if (rc < 0)
        cluster_node_facts_clear(out);
    else
        cluster_node_facts_finish(out);
    return rc;
}
