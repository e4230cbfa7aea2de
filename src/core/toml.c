/* toml.c - a strict TOML 1.0 reader: a buffer in, a read-only tree out.
 *
 * One pass over the bytes builds the tree and enforces every rule of the
 * specification on the way, including the ones about defining things twice.
 * Each table and array remembers how it came to be (made_by below), which is
 * all those rules need:
 *
 *   - a value written after '=' (inline table, static array) is frozen:
 *     nothing may add to it afterwards;
 *   - [a.b] creates "a" implicitly; a later [a] may still define it once;
 *   - a table defined by a header cannot be defined again, nor extended by
 *     dotted keys from another table;
 *   - a table defined by dotted keys cannot be defined again by a header,
 *     though a header may define sub-tables inside it;
 *   - only arrays created by [[a]] may be appended to by [[a]].
 *
 * Positions are scanned as byte offsets and turned into line:column by
 * locate(), which walks forward from where it last stopped, so the
 * document is read about twice in all however many keys it has.
 *
 * What this leaves to others: the meaning of keys (config.c and friends),
 * and writing TOML.  Values are never converted between types here.
 */
#include "core/toml.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a table or array came to be; decides what may be added to it later. */
enum made_by {
    MADE_BY_VALUE,        /* written after '=' (or inside such a value): frozen */
    MADE_BY_HEADER,       /* [t], or one table of [[t]] */
    MADE_BY_IMPLICIT,     /* a super-table a header named on the way: [a.b] makes a */
    MADE_BY_DOTTED,       /* a table a dotted key made: a.b = 1 makes a */
    MADE_BY_ARRAY_HEADER, /* the array [[t]] appends to */
};

struct entry {
    char *key;
    size_t key_len;
    struct toml_pos pos;
    struct toml_value *value;
};

/* Tables with this many keys get a hash index, so a document with many keys
 * in one table is not quadratic to read. */
#define TABLE_INDEX_FROM 8

struct toml_value {
    enum toml_type type;
    enum made_by made_by;
    unsigned depth;
    struct toml_pos pos;
    union {
        struct {
            char *ptr;
            size_t len;
        } str;
        int64_t integer;
        double real;
        bool boolean;
        struct toml_datetime dt;
        struct {
            struct toml_value **items;
            size_t count, cap;
        } array;
        struct {
            struct entry *entries;
            size_t count, cap;
            uint32_t *slots;  /* entry index + 1; 0 is an empty slot */
            size_t nslots;    /* a power of two, or 0 with no index */
        } table;
    } u;
};

struct key_part {
    char *name;          /* owned until moved into a table */
    size_t len;
    size_t off;          /* byte offset of the part in the document */
    struct toml_pos pos;
};

struct key_path {
    struct key_part part[TOML_MAX_DEPTH];
    size_t count;
};

struct parser {
    const char *buf;
    size_t len;
    size_t off;
    size_t bom;                  /* 3 when the document starts with a BOM */
    const char *filename;
    struct error *e;
    /* locate() cursor: the line and column of byte loc_off */
    size_t loc_off;
    unsigned loc_line, loc_col;
    struct toml_value *root;
    struct toml_value *current;  /* the table the last header opened */
    locale_t c_numeric;          /* for strtod_l, created on the first float */
};

struct sbuf {
    char *ptr;
    size_t len, cap;
};

/* ---------------------------------------------------------------- positions */

static struct toml_pos locate(struct parser *p, size_t off)
{
    if (off > p->len)
        off = p->len;
    if (off < p->loc_off) {
        p->loc_off = p->bom;
        p->loc_line = 1;
        p->loc_col = 1;
    }
    while (p->loc_off < off) {
        unsigned char c = (unsigned char)p->buf[p->loc_off++];
        if (c == '\n') {
            p->loc_line++;
            p->loc_col = 1;
        } else if ((c & 0xC0) != 0x80) {
            p->loc_col++;
        }
    }
    return (struct toml_pos){p->loc_line, p->loc_col};
}

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, size_t off, const char *fmt, ...)
{
    struct toml_pos pos = locate(p, off);
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return error_set(p->e, -ERROR_PARSE, "%s:%u:%u: %s", p->filename, pos.line, pos.column,
                     msg);
}

static int out_of_memory(struct parser *p)
{
    return error_set(p->e, -ENOMEM, "%s: out of memory while parsing", p->filename);
}

/* ------------------------------------------------------------ byte helpers */

static bool at_end(const struct parser *p)
{
    return p->off >= p->len;
}

static int peek_at(const struct parser *p, size_t ahead)
{
    return p->off + ahead < p->len ? (unsigned char)p->buf[p->off + ahead] : -1;
}

static int peek(const struct parser *p)
{
    return peek_at(p, 0);
}

static bool is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_newline_at(const struct parser *p, size_t off)
{
    if (off >= p->len)
        return false;
    if (p->buf[off] == '\n')
        return true;
    return p->buf[off] == '\r' && off + 1 < p->len && p->buf[off + 1] == '\n';
}

static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Characters that can make up a number, date, time, boolean, inf or nan. */
static bool is_token_char(int c)
{
    return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(struct parser *p)
{
    while (!at_end(p) && (p->buf[p->off] == ' ' || p->buf[p->off] == '\t'))
        p->off++;
}

/* Names the character at off for "found ..." in messages. */
static const char *describe_at(const struct parser *p, size_t off, char *buf, size_t size)
{
    if (off >= p->len)
        return "end of file";
    if (is_newline_at(p, off))
        return "end of line";
    unsigned char c = (unsigned char)p->buf[off];
    if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, size, "'%c'", c);
    } else if (c < 0x80) {
        snprintf(buf, size, "U+%04X", c);
    } else {
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;   /* the document is valid UTF-8 */
        if (n > p->len - off)
            n = p->len - off;
        snprintf(buf, size, "'%.*s'", (int)n, p->buf + off);
    }
    return buf;
}

#define DESCRIBE(p, off) describe_at((p), (off), (char[16]){0}, 16)

/* Appends s for a message: control bytes become '?', and text that does
 * not fit ends in "...", after which further appends add nothing.  size is
 * at least 8. */
static void show_append(char *out, size_t size, size_t *used, const char *s, size_t n)
{
    size_t limit = size - 4;   /* room for "..." and the NUL */
    for (size_t i = 0; i < n && *used <= limit; i++) {
        if (*used == limit) {
            memcpy(out + *used, "...", 3);
            *used = size - 1;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        out[(*used)++] = is_control(c) || c == '\t' ? '?' : (char)c;
    }
    out[*used] = '\0';
}

/* The first `upto` parts of a key, joined by dots, for messages. */
static const char *show_key(const struct key_path *kp, size_t upto, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < upto; i++) {
        if (i > 0)
            show_append(out, size, &used, ".", 1);
        show_append(out, size, &used, kp->part[i].name, kp->part[i].len);
    }
    return out;
}

#define SHOW_KEY(kp, upto) show_key((kp), (upto), (char[96]){0}, 96)

static const char *type_with_article(enum toml_type type)
{
    switch (type) {
    case TOML_TABLE: return "a table";
    case TOML_ARRAY: return "an array";
    case TOML_STRING: return "a string";
    case TOML_INTEGER: return "an integer";
    case TOML_FLOAT: return "a float";
    case TOML_BOOLEAN: return "a boolean";
    case TOML_OFFSET_DATETIME: return "an offset date-time";
    case TOML_LOCAL_DATETIME: return "a local date-time";
    case TOML_LOCAL_DATE: return "a local date";
    case TOML_LOCAL_TIME: return "a local time";
    }
    return "a value";
}

/* ----------------------------------------------------------- string buffer */

static int sbuf_append(struct parser *p, struct sbuf *sb, const char *s, size_t n)
{
    if (sb->cap - sb->len <= n) {
        size_t cap = sb->cap ? sb->cap : 32;
        while (cap - sb->len <= n) {
            if (cap > SIZE_MAX / 2)
                return out_of_memory(p);
            cap *= 2;
        }
        char *grown = realloc(sb->ptr, cap);
        if (!grown)
            return out_of_memory(p);
        sb->ptr = grown;
        sb->cap = cap;
    }
    memcpy(sb->ptr + sb->len, s, n);
    sb->len += n;
    sb->ptr[sb->len] = '\0';
    return 0;
}

static int sbuf_byte(struct parser *p, struct sbuf *sb, char c)
{
    return sbuf_append(p, sb, &c, 1);
}

/* Makes sure an empty result is still an allocated "" string. */
static int sbuf_finish(struct parser *p, struct sbuf *sb)
{
    return sb->ptr ? 0 : sbuf_append(p, sb, "", 0);
}

/* ------------------------------------------------------------------- nodes */

static int new_value(struct parser *p, enum toml_type type, enum made_by made_by,
                     unsigned depth, struct toml_pos pos, size_t off, struct toml_value **out)
{
    *out = NULL;
    if (depth > TOML_MAX_DEPTH)
        return fail(p, off, "document nests deeper than %d levels", TOML_MAX_DEPTH);
    struct toml_value *v = calloc(1, sizeof *v);
    if (!v)
        return out_of_memory(p);
    v->type = type;
    v->made_by = made_by;
    v->depth = depth;
    v->pos = pos;
    *out = v;
    return 0;
}

static void free_value(struct toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case TOML_STRING:
        free(v->u.str.ptr);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            free_value(v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < v->u.table.count; i++) {
            free(v->u.table.entries[i].key);
            free_value(v->u.table.entries[i].value);
        }
        free(v->u.table.entries);
        free(v->u.table.slots);
        break;
    default:
        break;
    }
    free(v);
}

void toml_free(struct toml_value *root)
{
    free_value(root);
}

static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;  /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool entry_is(const struct entry *e, const char *key, size_t len)
{
    return e->key_len == len && memcmp(e->key, key, len) == 0;
}

static struct entry *table_find(const struct toml_value *t, const char *key, size_t len)
{
    struct entry *entries = t->u.table.entries;
    if (!t->u.table.slots) {
        for (size_t i = 0; i < t->u.table.count; i++)
            if (entry_is(&entries[i], key, len))
                return &entries[i];
        return NULL;
    }
    size_t mask = t->u.table.nslots - 1;
    for (size_t s = hash_key(key, len) & mask; t->u.table.slots[s]; s = (s + 1) & mask) {
        struct entry *e = &entries[t->u.table.slots[s] - 1];
        if (entry_is(e, key, len))
            return e;
    }
    return NULL;
}

static void index_put(struct toml_value *t, size_t i)
{
    struct entry *e = &t->u.table.entries[i];
    size_t mask = t->u.table.nslots - 1;
    size_t s = hash_key(e->key, e->key_len) & mask;
    while (t->u.table.slots[s])
        s = (s + 1) & mask;
    t->u.table.slots[s] = (uint32_t)(i + 1);
}

/* Keeps the index at most half full, so probes stay short. */
static int index_update(struct parser *p, struct toml_value *t)
{
    size_t count = t->u.table.count;
    if (count < TABLE_INDEX_FROM)
        return 0;
    if (t->u.table.slots && count * 2 <= t->u.table.nslots) {
        index_put(t, count - 1);
        return 0;
    }
    size_t nslots = t->u.table.nslots ? t->u.table.nslots * 2 : 4 * TABLE_INDEX_FROM;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return out_of_memory(p);
    free(t->u.table.slots);
    t->u.table.slots = slots;
    t->u.table.nslots = nslots;
    for (size_t i = 0; i < count; i++)
        index_put(t, i);
    return 0;
}

/* Adds key = value to table t.  Takes ownership of key and value, also on
 * failure. */
static int table_add(struct parser *p, struct toml_value *t, char *key, size_t len,
                     struct toml_pos pos, struct toml_value *value)
{
    if (t->u.table.count == t->u.table.cap) {
        size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 4;
        struct entry *grown = cap < UINT32_MAX ? realloc(t->u.table.entries, cap * sizeof *grown)
                                               : NULL;
        if (!grown) {
            free(key);
            free_value(value);
            return out_of_memory(p);
        }
        t->u.table.entries = grown;
        t->u.table.cap = cap;
    }
    t->u.table.entries[t->u.table.count++] = (struct entry){key, len, pos, value};
    return index_update(p, t);
}

/* Appends item to array a, taking ownership of item, also on failure. */
static int array_push(struct parser *p, struct toml_value *a, struct toml_value *item)
{
    if (a->u.array.count == a->u.array.cap) {
        size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 4;
        struct toml_value **grown = cap < SIZE_MAX / sizeof *grown
                                        ? realloc(a->u.array.items, cap * sizeof *grown)
                                        : NULL;
        if (!grown) {
            free_value(item);
            return out_of_memory(p);
        }
        a->u.array.items = grown;
        a->u.array.cap = cap;
    }
    a->u.array.items[a->u.array.count++] = item;
    return 0;
}

/* A new table named by part inside parent; the part's name moves into it. */
static int add_table(struct parser *p, struct toml_value *parent, struct key_part *part,
                     enum made_by made_by, struct toml_value **out)
{
    int rc = new_value(p, TOML_TABLE, made_by, parent->depth + 1, part->pos, part->off, out);
    if (rc < 0)
        return rc;
    rc = table_add(p, parent, part->name, part->len, part->pos, *out);
    part->name = NULL;
    return rc;
}

/* ------------------------------------------------------------ comments, eol */

static int skip_comment(struct parser *p)
{
    p->off++;  /* '#' */
    while (!at_end(p) && !is_newline_at(p, p->off)) {
        unsigned char c = (unsigned char)p->buf[p->off];
        if (is_control(c))
            return fail(p, p->off, "control character U+%04X is not allowed in a comment", c);
        p->off++;
    }
    return 0;
}

static int newline_or_fail(struct parser *p, const char *after)
{
    if (at_end(p))
        return 0;
    if (p->buf[p->off] == '\n') {
        p->off++;
        return 0;
    }
    if (is_newline_at(p, p->off)) {
        p->off += 2;
        return 0;
    }
    if (p->buf[p->off] == '\r')
        return fail(p, p->off, "a carriage return must be followed by a line feed");
    return fail(p, p->off, "expected a new line after %s, found %s", after,
                DESCRIBE(p, p->off));
}

/* The rest of a line: blanks, an optional comment, the line break. */
static int finish_line(struct parser *p, const char *after)
{
    skip_ws(p);
    if (peek(p) == '#') {
        int rc = skip_comment(p);
        if (rc < 0)
            return rc;
    }
    return newline_or_fail(p, after);
}

/* Blanks, comments and line breaks, as allowed between array elements. */
static int skip_blank_lines(struct parser *p)
{
    for (;;) {
        skip_ws(p);
        if (peek(p) == '#') {
            int rc = skip_comment(p);
            if (rc < 0)
                return rc;
        } else if (peek(p) == '\n') {
            p->off++;
        } else if (is_newline_at(p, p->off)) {
            p->off += 2;
        } else {
            return 0;
        }
    }
}

/* ----------------------------------------------------------------- strings */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int append_utf8(struct parser *p, struct sbuf *sb, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sbuf_append(p, sb, out, n);
}

/* \uXXXX or \UXXXXXXXX at p->off (the backslash). */
static int scan_unicode_escape(struct parser *p, struct sbuf *sb, int digits)
{
    size_t at = p->off;
    char letter = p->buf[at + 1];
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++) {
        int h = hex_value(peek_at(p, 2 + (size_t)i));
        if (h < 0)
            return fail(p, at, "escape \\%c needs exactly %d hexadecimal digits", letter, digits);
        cp = cp << 4 | (uint32_t)h;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return fail(p, at, "escape \\%c%0*X is a surrogate, not a Unicode scalar value", letter,
                    digits, cp);
    if (cp > 0x10FFFF)
        return fail(p, at, "escape \\%c%0*X is beyond U+10FFFF", letter, digits, cp);
    p->off += 2 + (size_t)digits;
    return append_utf8(p, sb, cp);
}

/* An escape sequence at p->off (the backslash) inside a basic string. */
static int scan_escape(struct parser *p, struct sbuf *sb)
{
    int c = peek_at(p, 1);
    char plain;
    switch (c) {
    case 'b': plain = '\b'; break;
    case 't': plain = '\t'; break;
    case 'n': plain = '\n'; break;
    case 'f': plain = '\f'; break;
    case 'r': plain = '\r'; break;
    case '"': plain = '"'; break;
    case '\\': plain = '\\'; break;
    case 'u': return scan_unicode_escape(p, sb, 4);
    case 'U': return scan_unicode_escape(p, sb, 8);
    default:
        if (c > 0x20 && c < 0x7f)
            return fail(p, p->off, "invalid escape sequence \"\\%c\"", c);
        return fail(p, p->off, "invalid escape sequence: '\\' followed by %s",
                    DESCRIBE(p, p->off + 1));
    }
    p->off += 2;
    return sbuf_byte(p, sb, plain);
}

/* One ordinary character of a string body at p->off: control characters are
 * refused, anything else (already valid UTF-8) is copied byte by byte. */
static int string_byte(struct parser *p, struct sbuf *sb)
{
    unsigned char c = (unsigned char)p->buf[p->off];
    if (is_control(c))
        return fail(p, p->off, "control character U+%04X must be escaped in a string", c);
    p->off++;
    return sbuf_byte(p, sb, (char)c);
}

/* "..." or '...' on one line; p->off is at the opening quote. */
static int scan_single_line_string(struct parser *p, struct sbuf *sb)
{
    size_t start = p->off;
    char quote = p->buf[p->off++];
    for (;;) {
        if (at_end(p))
            return fail(p, start, "string is not closed before the end of the file");
        char c = p->buf[p->off];
        int rc;
        if (c == quote) {
            p->off++;
            return sbuf_finish(p, sb);
        }
        if (is_newline_at(p, p->off))
            return fail(p, start, "string is not closed before the end of the line "
                                  "(multi-line strings use %c%c%c)", quote, quote, quote);
        if (c == '\\' && quote == '"')
            rc = scan_escape(p, sb);
        else
            rc = string_byte(p, sb);
        if (rc < 0)
            return rc;
    }
}

/* A run of closing quotes in a multi-line string: up to two quotes right
 * before the closing three belong to the content.  Returns 1 when the
 * string ended, 0 when the quotes were content. */
static int scan_quote_run(struct parser *p, struct sbuf *sb, char quote)
{
    size_t run = 0;
    while (peek_at(p, run) == quote)
        run++;
    if (run > 5)
        return fail(p, p->off + 5, "too many quotes: a multi-line string may end with at most "
                                   "two quotes before the closing three");
    size_t content = run < 3 ? run : run - 3;
    for (size_t i = 0; i < content; i++) {
        int rc = sbuf_byte(p, sb, quote);
        if (rc < 0)
            return rc;
    }
    p->off += run;
    return run >= 3;
}

/* A backslash at the end of a line in a multi-line basic string swallows the
 * line break and all blanks and line breaks after it.  Returns 1 when that
 * happened, 0 when the backslash starts an ordinary escape. */
static int skip_line_ending_backslash(struct parser *p)
{
    size_t j = p->off + 1;
    while (j < p->len && (p->buf[j] == ' ' || p->buf[j] == '\t'))
        j++;
    if (!is_newline_at(p, j))
        return 0;
    p->off = j;
    for (;;) {
        if (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\n')
            p->off++;
        else if (is_newline_at(p, p->off))
            p->off += 2;
        else
            return 1;
    }
}

/* """...""" or '''...'''; p->off is at the opening quotes. */
static int scan_multi_line_string(struct parser *p, struct sbuf *sb)
{
    size_t start = p->off;
    char quote = p->buf[p->off];
    p->off += 3;
    if (is_newline_at(p, p->off))   /* a line break right after the opening is trimmed */
        p->off += p->buf[p->off] == '\n' ? 1 : 2;
    for (;;) {
        if (at_end(p))
            return fail(p, start, "multi-line string is not closed before the end of the file");
        char c = p->buf[p->off];
        int rc;
        if (c == quote) {
            rc = scan_quote_run(p, sb, quote);
            if (rc == 1)
                return sbuf_finish(p, sb);
        } else if (c == '\\' && quote == '"') {
            rc = skip_line_ending_backslash(p);
            if (rc == 0)
                rc = scan_escape(p, sb);
        } else if (c == '\n') {
            p->off++;
            rc = sbuf_byte(p, sb, '\n');
        } else if (is_newline_at(p, p->off)) {
            p->off += 2;   /* CRLF is stored as LF */
            rc = sbuf_byte(p, sb, '\n');
        } else {
            rc = string_byte(p, sb);
        }
        if (rc < 0)
            return rc;
    }
}

static bool starts_multi_line(const struct parser *p)
{
    int q = peek(p);
    return peek_at(p, 1) == q && peek_at(p, 2) == q;
}

/* ---------------------------------------------------------------------- keys */

static void key_path_free(struct key_path *kp)
{
    if (!kp)
        return;
    for (size_t i = 0; i < kp->count; i++)
        free(kp->part[i].name);
    kp->count = 0;
}

static int parse_simple_key(struct parser *p, struct key_part *part)
{
    struct sbuf sb = {0};
    int rc;
    part->off = p->off;
    part->pos = locate(p, p->off);
    part->name = NULL;
    int c = peek(p);
    if (c == '"' || c == '\'') {
        if (starts_multi_line(p))
            return fail(p, p->off, "a multi-line string cannot be a key");
        rc = scan_single_line_string(p, &sb);
    } else {
        size_t start = p->off;
        while (!at_end(p) && is_bare_key_char((unsigned char)p->buf[p->off]))
            p->off++;
        if (p->off == start)
            return fail(p, start, "expected a key, found %s", DESCRIBE(p, start));
        rc = sbuf_append(p, &sb, p->buf + start, p->off - start);
    }
    if (rc < 0) {
        free(sb.ptr);
        return rc;
    }
    part->name = sb.ptr;
    part->len = sb.len;
    return 0;
}

/* key, or key.key.key with blanks allowed around the dots. */
static int parse_key(struct parser *p, struct key_path *kp)
{
    kp->count = 0;
    for (;;) {
        if (kp->count == TOML_MAX_DEPTH)
            return fail(p, p->off, "key has more than %d dotted parts", TOML_MAX_DEPTH);
        int rc = parse_simple_key(p, &kp->part[kp->count]);
        if (rc < 0)
            return rc;
        kp->count++;
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        p->off++;
        skip_ws(p);
    }
}

/* --------------------------------------------------------- numbers, dates */

/* digit *( ["_"] digit ) starting at t[*i]; false when there is no digit or
 * an underscore is not between two digits. */
static bool scan_digits(const char *t, size_t n, size_t *i, int base)
{
    size_t k = *i;
    if (k >= n || hex_value((unsigned char)t[k]) < 0 || hex_value((unsigned char)t[k]) >= base)
        return false;
    for (k++; k < n; k++) {
        int d = hex_value((unsigned char)t[k]);
        if (t[k] == '_') {
            int next = k + 1 < n ? hex_value((unsigned char)t[k + 1]) : -1;
            if (next < 0 || next >= base)
                return false;
        } else if (d < 0 || d >= base) {
            break;
        }
    }
    *i = k;
    return true;
}

/* The value of digits (underscores skipped); false beyond limit. */
static bool digits_value(const char *t, size_t n, int base, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '_')
            continue;
        uint64_t d = (uint64_t)hex_value((unsigned char)t[i]);
        if (v > (limit - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}

struct token {
    const char *text;
    size_t len;
    size_t off;                /* where it starts in the document */
};

#define SHOW_TOKEN(tok) show_token((tok), (char[64]){0}, 64)

static const char *show_token(const struct token *tok, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    show_append(out, size, &used, tok->text, tok->len);
    return out;
}

static bool is_number_digit(const struct token *tok, size_t i)
{
    bool hex = tok->len > 1 && tok->text[0] == '0' && tok->text[1] == 'x';
    int c = (unsigned char)tok->text[i];
    return hex ? hex_value(c) >= 0 : is_digit(c);
}

static const char *number_hint(const struct token *tok)
{
    const char *t = tok->text;
    size_t n = tok->len;
    for (size_t i = 0; i < n; i++) {
        bool digit_before = i > 0 && is_number_digit(tok, i - 1);
        bool digit_after = i + 1 < n && is_number_digit(tok, i + 1);
        if (t[i] == '_' && !(digit_before && digit_after))
            return ": an underscore must sit between two digits";
        if (t[i] == '.' && !(i > 0 && is_digit(t[i - 1]) && i + 1 < n && is_digit(t[i + 1])))
            return ": a decimal point needs digits on both sides";
    }
    return "";
}

static int scalar(struct parser *p, enum toml_type type, unsigned depth, const struct token *tok,
                  struct toml_value **out)
{
    return new_value(p, type, MADE_BY_VALUE, depth, locate(p, tok->off), tok->off, out);
}

/* 0x, 0o and 0b integers: never signed, never beyond INT64_MAX. */
static int parse_prefixed_integer(struct parser *p, const struct token *tok, unsigned depth,
                                  struct toml_value **out)
{
    const char *t = tok->text;
    int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    size_t i = 2;
    if (!scan_digits(t, tok->len, &i, base) || i != tok->len)
        return fail(p, tok->off, "invalid %s integer %s%s",
                    base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary",
                    SHOW_TOKEN(tok), number_hint(tok));
    uint64_t v;
    if (!digits_value(t + 2, tok->len - 2, base, INT64_MAX, &v))
        return fail(p, tok->off, "integer %s does not fit in 64 bits (signed)", SHOW_TOKEN(tok));
    int rc = scalar(p, TOML_INTEGER, depth, tok, out);
    if (rc == 0)
        (*out)->u.integer = (int64_t)v;
    return rc;
}

static int make_float(struct parser *p, const struct token *tok, unsigned depth, double value,
                      struct toml_value **out)
{
    int rc = scalar(p, TOML_FLOAT, depth, tok, out);
    if (rc == 0)
        (*out)->u.real = value;
    return rc;
}

/* A float already checked against the grammar, converted in the C locale. */
static int convert_float(struct parser *p, const struct token *tok, unsigned depth,
                         struct toml_value **out)
{
    if (!p->c_numeric)
        p->c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    char *clean = malloc(tok->len + 1);
    if (!clean || !p->c_numeric) {
        free(clean);
        return out_of_memory(p);
    }
    size_t n = 0;
    for (size_t i = 0; i < tok->len; i++)
        if (tok->text[i] != '_')
            clean[n++] = tok->text[i];
    clean[n] = '\0';
    char *end;
    double v = strtod_l(clean, &end, p->c_numeric);
    bool whole = end == clean + n;
    free(clean);
    if (!whole)
        return fail(p, tok->off, "invalid float %s", SHOW_TOKEN(tok));
    if (isinf(v))
        return fail(p, tok->off, "float %s is out of range", SHOW_TOKEN(tok));
    return make_float(p, tok, depth, v, out);
}

static int parse_number(struct parser *p, const struct token *tok, unsigned depth,
                        struct toml_value **out)
{
    const char *t = tok->text;
    size_t n = tok->len, i = 0;
    bool negative = t[0] == '-';
    if (t[0] == '+' || t[0] == '-')
        i = 1;
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
        double v = t[i] == 'i' ? INFINITY : NAN;
        return make_float(p, tok, depth, negative ? -v : v, out);
    }
    if (n - i > 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b')) {
        if (i > 0)
            return fail(p, tok->off, "a hexadecimal, octal or binary integer cannot have a "
                                     "sign: %s", SHOW_TOKEN(tok));
        return parse_prefixed_integer(p, tok, depth, out);
    }
    size_t int_start = i;
    if (!scan_digits(t, n, &i, 10))
        return fail(p, tok->off, "invalid number %s%s", SHOW_TOKEN(tok), number_hint(tok));
    if (t[int_start] == '0' && i - int_start > 1)
        return fail(p, tok->off, "leading zeros are not allowed: %s", SHOW_TOKEN(tok));
    size_t int_end = i;
    bool is_float = false;
    if (i < n && t[i] == '.') {
        i++;
        is_float = scan_digits(t, n, &i, 10);
        if (!is_float)
            return fail(p, tok->off, "invalid float %s%s", SHOW_TOKEN(tok), number_hint(tok));
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        is_float = scan_digits(t, n, &i, 10);
        if (!is_float)
            return fail(p, tok->off, "invalid float %s: the exponent needs digits%s",
                        SHOW_TOKEN(tok), number_hint(tok));
    }
    if (i != n)
        return fail(p, tok->off, "invalid number %s%s", SHOW_TOKEN(tok), number_hint(tok));
    if (is_float)
        return convert_float(p, tok, depth, out);
    uint64_t magnitude;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!digits_value(t + int_start, int_end - int_start, 10, limit, &magnitude))
        return fail(p, tok->off, "integer %s does not fit in 64 bits (signed)", SHOW_TOKEN(tok));
    int rc = scalar(p, TOML_INTEGER, depth, tok, out);
    if (rc == 0)
        (*out)->u.integer = !negative ? (int64_t)magnitude
                            : magnitude > (uint64_t)INT64_MAX ? INT64_MIN
                                                              : -(int64_t)magnitude;
    return rc;
}

static bool two_digits(const char *t, int *out)
{
    if (!is_digit(t[0]) || !is_digit(t[1]))
        return false;
    *out = (t[0] - '0') * 10 + (t[1] - '0');
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD at the start of t (n >= 10 checked by the caller). */
static int parse_date_part(struct parser *p, const struct token *tok, struct toml_datetime *dt)
{
    const char *t = tok->text;
    int hi, lo;
    if (tok->len < 10 || !two_digits(t, &hi) || !two_digits(t + 2, &lo) || t[4] != '-' ||
        !two_digits(t + 5, &dt->month) || t[7] != '-' || !two_digits(t + 8, &dt->day))
        return fail(p, tok->off, "invalid date %s (expected YYYY-MM-DD)", SHOW_TOKEN(tok));
    dt->year = hi * 100 + lo;
    if (dt->month < 1 || dt->month > 12)
        return fail(p, tok->off, "invalid date %s: the month must be 01 to 12", SHOW_TOKEN(tok));
    int days = days_in_month(dt->year, dt->month);
    if (dt->day < 1 || dt->day > days)
        return fail(p, tok->off, "invalid date %s: the day must be 01 to %02d in that month",
                    SHOW_TOKEN(tok), days);
    return 0;
}

/* HH:MM:SS[.fraction] at t; stores how many characters it used. */
static int parse_time_part(struct parser *p, const struct token *tok, size_t at,
                           struct toml_datetime *dt, size_t *used)
{
    const char *t = tok->text + at;
    size_t n = tok->len - at;
    if (n < 8 || !two_digits(t, &dt->hour) || t[2] != ':' || !two_digits(t + 3, &dt->minute) ||
        t[5] != ':' || !two_digits(t + 6, &dt->second))
        return fail(p, tok->off, "invalid time in %s (expected HH:MM:SS)", SHOW_TOKEN(tok));
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
        return fail(p, tok->off, "invalid time in %s: hour, minute or second out of range",
                    SHOW_TOKEN(tok));
    size_t i = 8;
    if (i < n && t[i] == '.') {
        i++;
        if (i >= n || !is_digit(t[i]))
            return fail(p, tok->off, "invalid time in %s: a decimal point needs digits after it",
                        SHOW_TOKEN(tok));
        int scale = 100000000;
        for (; i < n && is_digit(t[i]); i++, scale /= 10)
            dt->nanosecond += (t[i] - '0') * scale;   /* digits past nanoseconds add 0 */
    }
    *used = i;
    return 0;
}

/* "Z", "z" or +HH:MM / -HH:MM, exactly filling t. */
static int parse_offset_part(struct parser *p, const struct token *tok, size_t at,
                             struct toml_datetime *dt)
{
    const char *t = tok->text + at;
    size_t n = tok->len - at;
    int hours, minutes;
    if (n == 1 && (t[0] == 'Z' || t[0] == 'z'))
        return 0;
    if (n != 6 || (t[0] != '+' && t[0] != '-') || !two_digits(t + 1, &hours) || t[3] != ':' ||
        !two_digits(t + 4, &minutes))
        return fail(p, tok->off, "invalid date-time %s: expected 'Z' or an offset like +01:00 "
                                 "after the time", SHOW_TOKEN(tok));
    if (hours > 23 || minutes > 59)
        return fail(p, tok->off, "invalid date-time %s: the offset is out of range",
                    SHOW_TOKEN(tok));
    dt->offset_minutes = (t[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
    return 0;
}

static int parse_datetime(struct parser *p, const struct token *tok, unsigned depth,
                          struct toml_value **out)
{
    struct toml_datetime dt = {0};
    enum toml_type type = TOML_LOCAL_DATE;
    int rc = parse_date_part(p, tok, &dt);
    if (rc == 0 && tok->len > 10) {
        char sep = tok->text[10];
        size_t used = 0;
        if (sep != 'T' && sep != 't' && sep != ' ')
            return fail(p, tok->off, "invalid date-time %s: expected 'T' or a space between "
                                     "date and time", SHOW_TOKEN(tok));
        rc = parse_time_part(p, tok, 11, &dt, &used);
        type = TOML_LOCAL_DATETIME;
        if (rc == 0 && 11 + used < tok->len) {
            rc = parse_offset_part(p, tok, 11 + used, &dt);
            type = TOML_OFFSET_DATETIME;
        }
    }
    if (rc == 0)
        rc = scalar(p, type, depth, tok, out);
    if (rc == 0)
        (*out)->u.dt = dt;
    return rc;
}

static int parse_local_time(struct parser *p, const struct token *tok, unsigned depth,
                            struct toml_value **out)
{
    struct toml_datetime dt = {0};
    size_t used = 0;
    int rc = parse_time_part(p, tok, 0, &dt, &used);
    if (rc == 0 && used != tok->len)
        return fail(p, tok->off, "invalid local time %s: nothing may follow the seconds",
                    SHOW_TOKEN(tok));
    if (rc == 0)
        rc = scalar(p, TOML_LOCAL_TIME, depth, tok, out);
    if (rc == 0)
        (*out)->u.dt = dt;
    return rc;
}

static bool token_is(const struct token *tok, const char *word)
{
    return tok->len == strlen(word) && memcmp(tok->text, word, tok->len) == 0;
}

/* Numbers, dates, times, booleans, inf and nan: a run of token characters,
 * plus the time after a date when a space separates them. */
static int parse_bare_value(struct parser *p, unsigned depth, struct toml_value **out)
{
    struct token tok = {p->buf + p->off, 0, p->off};
    while (!at_end(p) && is_token_char((unsigned char)p->buf[p->off]))
        p->off++;
    tok.len = p->off - tok.off;
    const char *t = tok.text;
    bool date_like = tok.len >= 5 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) &&
                     is_digit(t[3]) && t[4] == '-';
    if (date_like && tok.len == 10 && peek(p) == ' ' && is_digit(peek_at(p, 1))) {
        p->off++;
        while (!at_end(p) && is_token_char((unsigned char)p->buf[p->off]))
            p->off++;
        tok.len = p->off - tok.off;
    }
    if (token_is(&tok, "true") || token_is(&tok, "false")) {
        int rc = scalar(p, TOML_BOOLEAN, depth, &tok, out);
        if (rc == 0)
            (*out)->u.boolean = t[0] == 't';
        return rc;
    }
    if (date_like)
        return parse_datetime(p, &tok, depth, out);
    if (tok.len >= 3 && is_digit(t[0]) && is_digit(t[1]) && t[2] == ':')
        return parse_local_time(p, &tok, depth, out);
    if (is_digit(t[0]) || t[0] == '+' || t[0] == '-' || token_is(&tok, "inf") ||
        token_is(&tok, "nan"))
        return parse_number(p, &tok, depth, out);
    return fail(p, tok.off, "expected a value, found %s (strings must be quoted)",
                SHOW_TOKEN(&tok));
}

/* ------------------------------------------------------------------ values */

static int parse_value(struct parser *p, unsigned depth, struct toml_value **out);
static int parse_keyval(struct parser *p, struct toml_value *table);

static int parse_string_value(struct parser *p, unsigned depth, struct toml_value **out)
{
    size_t start = p->off;
    struct toml_pos pos = locate(p, start);
    struct sbuf sb = {0};
    int rc = starts_multi_line(p) ? scan_multi_line_string(p, &sb)
                                  : scan_single_line_string(p, &sb);
    if (rc == 0)
        rc = new_value(p, TOML_STRING, MADE_BY_VALUE, depth, pos, start, out);
    if (rc < 0) {
        free(sb.ptr);
        return rc;
    }
    (*out)->u.str.ptr = sb.ptr;
    (*out)->u.str.len = sb.len;
    return 0;
}

static int parse_array(struct parser *p, unsigned depth, struct toml_value **out)
{
    size_t start = p->off;
    struct toml_value *a;
    int rc = new_value(p, TOML_ARRAY, MADE_BY_VALUE, depth, locate(p, start), start, &a);
    if (rc < 0)
        return rc;
    p->off++;  /* '[' */
    for (;;) {
        rc = skip_blank_lines(p);
        if (rc == 0 && at_end(p))
            rc = fail(p, start, "array is not closed before the end of the file");
        if (rc < 0)
            break;
        if (peek(p) == ']')
            break;
        struct toml_value *item;
        rc = parse_value(p, depth + 1, &item);
        if (rc == 0)
            rc = array_push(p, a, item);
        if (rc == 0)
            rc = skip_blank_lines(p);
        if (rc < 0)
            break;
        if (peek(p) == ',')
            p->off++;
        else if (peek(p) == ']')
            break;
        else if (at_end(p))
            rc = fail(p, start, "array is not closed before the end of the file");
        else
            rc = fail(p, p->off, "expected ',' or ']' after an array element, found %s",
                      DESCRIBE(p, p->off));
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        free_value(a);
        return rc;
    }
    p->off++;  /* ']' */
    *out = a;
    return 0;
}

static int inline_table_step(struct parser *p, struct toml_value *t, bool *done)
{
    skip_ws(p);
    if (is_newline_at(p, p->off))
        return fail(p, p->off, "an inline table must be written on one line");
    int rc = parse_keyval(p, t);
    if (rc < 0)
        return rc;
    skip_ws(p);
    int c = peek(p);
    if (c == '}') {
        p->off++;
        *done = true;
        return 0;
    }
    if (c != ',') {
        if (is_newline_at(p, p->off) || at_end(p))
            return fail(p, p->off, "an inline table must be closed with '}' on the same line");
        return fail(p, p->off, "expected ',' or '}' in an inline table, found %s",
                    DESCRIBE(p, p->off));
    }
    p->off++;
    skip_ws(p);
    if (peek(p) == '}')
        return fail(p, p->off, "an inline table cannot end with a comma");
    return 0;
}

static int parse_inline_table(struct parser *p, unsigned depth, struct toml_value **out)
{
    size_t start = p->off;
    struct toml_value *t;
    int rc = new_value(p, TOML_TABLE, MADE_BY_VALUE, depth, locate(p, start), start, &t);
    if (rc < 0)
        return rc;
    p->off++;  /* '{' */
    skip_ws(p);
    bool done = peek(p) == '}';
    if (done)
        p->off++;
    while (!done && rc == 0)
        rc = inline_table_step(p, t, &done);
    if (rc < 0) {
        free_value(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int parse_value(struct parser *p, unsigned depth, struct toml_value **out)
{
    int c = peek(p);
    *out = NULL;
    if (c == '"' || c == '\'')
        return parse_string_value(p, depth, out);
    if (c == '[')
        return parse_array(p, depth, out);
    if (c == '{')
        return parse_inline_table(p, depth, out);
    if (c >= 0 && is_token_char(c))
        return parse_bare_value(p, depth, out);
    return fail(p, p->off, "expected a value, found %s", DESCRIBE(p, p->off));
}

/* ------------------------------------------------- key/value pairs, headers */

/* Dotted key a.b.c = v: a and b may be new tables, or tables that dotted
 * keys made, or super-tables a header made implicitly; never tables that a
 * header defined, inline tables, arrays or other values. */
static int check_dotted_step(struct parser *p, const struct key_path *kp, size_t i,
                             const struct toml_value *v)
{
    char what[64];
    if (v->type != TOML_TABLE)
        snprintf(what, sizeof what, "is already %s", type_with_article(v->type));
    else if (v->made_by == MADE_BY_VALUE)
        snprintf(what, sizeof what, "is an inline table, which cannot be extended");
    else if (v->made_by == MADE_BY_HEADER)
        snprintf(what, sizeof what, "is a table defined by a header");
    else
        return 0;
    return fail(p, kp->part[i].off, "cannot define key \"%s\": \"%s\" %s (line %u, column %u)",
                SHOW_KEY(kp, kp->count), SHOW_KEY(kp, i + 1), what, v->pos.line, v->pos.column);
}

/* Finds (making what is missing) the table a dotted key's last part goes in,
 * and checks that part is still free. */
static int walk_dotted_key(struct parser *p, struct toml_value *table, struct key_path *kp,
                           struct toml_value **target)
{
    struct toml_value *cur = table;
    for (size_t i = 0; i + 1 < kp->count; i++) {
        struct key_part *part = &kp->part[i];
        struct entry *e = table_find(cur, part->name, part->len);
        int rc;
        if (!e) {
            rc = add_table(p, cur, part, MADE_BY_DOTTED, &cur);
        } else {
            rc = check_dotted_step(p, kp, i, e->value);
            cur = e->value;
            if (cur->made_by == MADE_BY_IMPLICIT)   /* from now on it counts as dotted-defined */
                cur->made_by = MADE_BY_DOTTED;
        }
        if (rc < 0)
            return rc;
    }
    const struct key_part *last = &kp->part[kp->count - 1];
    const struct entry *e = table_find(cur, last->name, last->len);
    if (e)
        return fail(p, last->off, "key \"%s\" is defined twice (first at line %u, column %u)",
                    SHOW_KEY(kp, kp->count), e->pos.line, e->pos.column);
    *target = cur;
    return 0;
}

static int parse_keyval(struct parser *p, struct toml_value *table)
{
    struct key_path kp;
    struct toml_value *target = NULL, *value = NULL;
    int rc = parse_key(p, &kp);
    if (rc == 0 && peek(p) != '=')
        rc = fail(p, p->off, "expected '=' after key \"%s\", found %s", SHOW_KEY(&kp, kp.count),
                  DESCRIBE(p, p->off));
    if (rc == 0) {
        p->off++;
        skip_ws(p);
        rc = walk_dotted_key(p, table, &kp, &target);
    }
    if (rc == 0)
        rc = parse_value(p, target->depth + 1, &value);
    if (rc == 0) {
        struct key_part *last = &kp.part[kp.count - 1];
        rc = table_add(p, target, last->name, last->len, last->pos, value);
        last->name = NULL;
    }
    key_path_free(&kp);
    return rc;
}

/* [a.b.c] or [[a.b.c]]: the super-tables a and b may be new (made
 * implicitly), existing tables that are not inline, or arrays of tables
 * (whose last table is meant). */
static int walk_header(struct parser *p, struct key_path *kp, bool array,
                       struct toml_value **parent)
{
    const char *open = array ? "[[" : "[", *close = array ? "]]" : "]";
    struct toml_value *cur = p->root;
    for (size_t i = 0; i + 1 < kp->count; i++) {
        struct key_part *part = &kp->part[i];
        struct entry *e = table_find(cur, part->name, part->len);
        if (!e) {
            int rc = add_table(p, cur, part, MADE_BY_IMPLICIT, &cur);
            if (rc < 0)
                return rc;
            continue;
        }
        struct toml_value *v = e->value;
        if (v->type == TOML_TABLE && v->made_by != MADE_BY_VALUE) {
            cur = v;
            continue;
        }
        if (v->type == TOML_ARRAY && v->made_by == MADE_BY_ARRAY_HEADER) {
            cur = v->u.array.items[v->u.array.count - 1];
            continue;
        }
        const char *what = v->type == TOML_TABLE ? "an inline table, which cannot be extended"
                           : v->type == TOML_ARRAY ? "a static array, not an array of tables"
                                                   : type_with_article(v->type);
        return fail(p, part->off, "cannot define table %s%s%s: \"%s\" is %s (line %u, column %u)",
                    open, SHOW_KEY(kp, kp->count), close, SHOW_KEY(kp, i + 1), what, v->pos.line,
                    v->pos.column);
    }
    *parent = cur;
    return 0;
}

static int define_table(struct parser *p, struct key_path *kp)
{
    struct toml_value *parent;
    int rc = walk_header(p, kp, false, &parent);
    if (rc < 0)
        return rc;
    struct key_part *last = &kp->part[kp->count - 1];
    struct entry *e = table_find(parent, last->name, last->len);
    if (!e)
        return add_table(p, parent, last, MADE_BY_HEADER, &p->current);
    struct toml_value *v = e->value;
    const char *name = SHOW_KEY(kp, kp->count);
    if (v->type == TOML_TABLE && v->made_by == MADE_BY_IMPLICIT) {
        v->made_by = MADE_BY_HEADER;
        v->pos = e->pos = last->pos;
        p->current = v;
        return 0;
    }
    char why[64] = "is already defined";
    if (v->type == TOML_TABLE && v->made_by == MADE_BY_DOTTED)
        snprintf(why, sizeof why, "was already defined by dotted keys");
    else if (v->type == TOML_TABLE && v->made_by == MADE_BY_VALUE)
        snprintf(why, sizeof why, "is already defined as an inline table");
    else if (v->type == TOML_ARRAY && v->made_by == MADE_BY_ARRAY_HEADER)
        snprintf(why, sizeof why, "is already defined as an array of tables");
    else if (v->type != TOML_TABLE)
        snprintf(why, sizeof why, "is already defined as %s", type_with_article(v->type));
    return fail(p, last->off, "table [%s] %s (line %u, column %u)", name, why, v->pos.line,
                v->pos.column);
}

static int append_array_table(struct parser *p, struct key_path *kp)
{
    struct toml_value *parent, *array, *table;
    int rc = walk_header(p, kp, true, &parent);
    if (rc < 0)
        return rc;
    struct key_part *last = &kp->part[kp->count - 1];
    struct toml_pos pos = last->pos;
    size_t off = last->off;
    struct entry *e = table_find(parent, last->name, last->len);
    if (!e) {
        rc = new_value(p, TOML_ARRAY, MADE_BY_ARRAY_HEADER, parent->depth + 1, pos, off, &array);
        if (rc < 0)
            return rc;
        rc = table_add(p, parent, last->name, last->len, pos, array);
        last->name = NULL;
        if (rc < 0)
            return rc;
    } else if (e->value->type == TOML_ARRAY && e->value->made_by == MADE_BY_ARRAY_HEADER) {
        array = e->value;
    } else {
        const struct toml_value *v = e->value;
        const char *what = v->type == TOML_ARRAY ? "a static array, which cannot be extended"
                           : v->type == TOML_TABLE ? "a table"
                                                   : type_with_article(v->type);
        return fail(p, off, "cannot append to [[%s]]: \"%s\" is %s (line %u, column %u)",
                    SHOW_KEY(kp, kp->count), SHOW_KEY(kp, kp->count), what, v->pos.line,
                    v->pos.column);
    }
    rc = new_value(p, TOML_TABLE, MADE_BY_HEADER, array->depth + 1, pos, off, &table);
    if (rc == 0)
        rc = array_push(p, array, table);
    if (rc == 0)
        p->current = table;
    return rc;
}

static int parse_header(struct parser *p)
{
    bool array = peek_at(p, 1) == '[';
    p->off += array ? 2 : 1;
    skip_ws(p);
    struct key_path kp;
    int rc = parse_key(p, &kp);
    if (rc == 0 && (peek(p) != ']' || (array && peek_at(p, 1) != ']'))) {
        size_t at = peek(p) == ']' ? p->off + 1 : p->off;   /* "[[a]" lacks the second ']' */
        rc = fail(p, at, "expected '%s' after table name \"%s\", found %s", array ? "]]" : "]",
                  SHOW_KEY(&kp, kp.count), DESCRIBE(p, at));
    }
    if (rc == 0) {
        p->off += array ? 2 : 1;
        rc = array ? append_array_table(p, &kp) : define_table(p, &kp);
    }
    key_path_free(&kp);
    return rc;
}

static int parse_document(struct parser *p)
{
    while (!at_end(p)) {
        skip_ws(p);
        int c = peek(p), rc;
        if (c == '[') {
            rc = parse_header(p);
            if (rc == 0)
                rc = finish_line(p, "the table header");
        } else if (c == '#' || c == '\n' || c == '\r' || c < 0) {
            rc = finish_line(p, "the comment");
        } else {
            rc = parse_keyval(p, p->current);
            if (rc == 0)
                rc = finish_line(p, "the value");
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The whole document must be UTF-8 (no overlong forms, no surrogates). */
static int validate_utf8(struct parser *p)
{
    const unsigned char *s = (const unsigned char *)p->buf;
    for (size_t i = p->off; i < p->len;) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1Fu, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0Fu, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return fail(p, i, "invalid UTF-8: unexpected byte 0x%02X", c);
        }
        for (size_t k = 1; k < n; k++) {
            if (i + k >= p->len || (s[i + k] & 0xC0) != 0x80)
                return fail(p, i, "invalid UTF-8: incomplete sequence starting with byte 0x%02X",
                            c);
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min)
            return fail(p, i, "invalid UTF-8: overlong encoding of U+%04X", cp);
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return fail(p, i, "invalid UTF-8: encoded surrogate U+%04X", cp);
        if (cp > 0x10FFFF)
            return fail(p, i, "invalid UTF-8: code point beyond U+10FFFF");
        i += n;
    }
    return 0;
}

int toml_parse(const char *buf, size_t len, const char *filename, struct toml_value **root,
               struct error *e)
{
    if (!root || (!buf && len))
        return error_set(e, -EINVAL, "toml_parse: no document or no place for the result");
    *root = NULL;
    struct parser p = {
        .buf = buf, .len = len, .filename = filename ? filename : "<input>", .e = e,
        .loc_line = 1, .loc_col = 1,
    };
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p.off = p.bom = p.loc_off = 3;
    int rc = validate_utf8(&p);
    if (rc == 0)
        rc = new_value(&p, TOML_TABLE, MADE_BY_HEADER, 0, (struct toml_pos){1, 1}, 0, &p.root);
    if (rc == 0) {
        p.current = p.root;
        rc = parse_document(&p);
    }
    if (p.c_numeric)
        freelocale(p.c_numeric);
    if (rc < 0) {
        free_value(p.root);
        return rc;
    }
    *root = p.root;
    return 0;
}

/* --------------------------------------------------------------- accessors */

enum toml_type toml_type(const struct toml_value *v)
{
    return v->type;
}

const char *toml_type_name(enum toml_type type)
{
    const char *with_article = type_with_article(type);
    return strchr(with_article, ' ') + 1;
}

struct toml_pos toml_value_pos(const struct toml_value *v)
{
    return v ? v->pos : (struct toml_pos){0, 0};
}

size_t toml_table_size(const struct toml_value *t)
{
    return t && t->type == TOML_TABLE ? t->u.table.count : 0;
}

bool toml_table_at(const struct toml_value *t, size_t i, struct toml_entry *out)
{
    if (i >= toml_table_size(t))
        return false;
    const struct entry *e = &t->u.table.entries[i];
    *out = (struct toml_entry){e->key, e->key_len, e->pos, e->value};
    return true;
}

const struct toml_value *toml_table_get(const struct toml_value *t, const char *key)
{
    if (!t || t->type != TOML_TABLE || !key)
        return NULL;
    const struct entry *e = table_find(t, key, strlen(key));
    return e ? e->value : NULL;
}

const struct toml_value *toml_table_get_path(const struct toml_value *t, const char *path)
{
    if (!path)
        return NULL;
    for (;;) {
        if (!t || t->type != TOML_TABLE)
            return NULL;
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        const struct entry *e = table_find(t, path, n);
        if (!e || !dot)
            return e ? e->value : NULL;
        t = e->value;
        path = dot + 1;
    }
}

size_t toml_array_size(const struct toml_value *a)
{
    return a && a->type == TOML_ARRAY ? a->u.array.count : 0;
}

const struct toml_value *toml_array_get(const struct toml_value *a, size_t i)
{
    return i < toml_array_size(a) ? a->u.array.items[i] : NULL;
}

bool toml_get_bool(const struct toml_value *v, bool *out)
{
    if (!v || v->type != TOML_BOOLEAN)
        return false;
    *out = v->u.boolean;
    return true;
}

bool toml_get_int(const struct toml_value *v, int64_t *out)
{
    if (!v || v->type != TOML_INTEGER)
        return false;
    *out = v->u.integer;
    return true;
}

bool toml_get_float(const struct toml_value *v, double *out)
{
    if (!v || v->type != TOML_FLOAT)
        return false;
    *out = v->u.real;
    return true;
}

bool toml_get_number(const struct toml_value *v, double *out)
{
    if (v && v->type == TOML_INTEGER) {
        *out = (double)v->u.integer;
        return true;
    }
    return toml_get_float(v, out);
}

bool toml_get_datetime(const struct toml_value *v, struct toml_datetime *out)
{
    if (!v || (v->type != TOML_OFFSET_DATETIME && v->type != TOML_LOCAL_DATETIME &&
               v->type != TOML_LOCAL_DATE && v->type != TOML_LOCAL_TIME))
        return false;
    *out = v->u.dt;
    return true;
}

const char *toml_get_string(const struct toml_value *v, size_t *len)
{
    if (!v || v->type != TOML_STRING)
        return NULL;
    if (len)
        *len = v->u.str.len;
    return v->u.str.ptr;
}
