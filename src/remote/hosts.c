/* hosts.c - parsing the host lists of --remote and --hosts (hosts.h).
 *
 * Only syntax is checked here; whether a name resolves, which user and
 * port ssh's own configuration picks for an alias, and whether a host
 * answers are ssh's business when the command runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/hosts.h"

#define HOSTS_FILE_MAX (4u << 20)
#define PART_MAX 255

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* A user or host name: word characters only, not starting with '-'. */
static bool plain_word(const char *s, size_t len, bool colons)
{
    if (len == 0 || len > PART_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!word_char(s[i]) && !(colons && (s[i] == ':' || s[i] == '%')))
            return false;
    return true;
}

static int parse_port(const char *s, size_t len, unsigned *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -EINVAL;
    *port = (unsigned)v;
    return 0;
}

static char *dup_part(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* The host part: "name", "name:port", "[v6]" or "[v6]:port". */
static int parse_host_part(const char *s, size_t len, struct remote_host *h, const char **why)
{
    const char *name = s, *port = NULL;
    size_t name_len = len, port_len = 0;
    bool bracketed = len > 0 && s[0] == '[';
    if (bracketed) {
        const char *close = memchr(s, ']', len);
        if (!close) {
            *why = "'[' without ']'";
            return -EINVAL;
        }
        name = s + 1;
        name_len = (size_t)(close - name);
        size_t after = len - (size_t)(close + 1 - s);
        if (after && close[1] != ':') {
            *why = "text after ']' that is not ':PORT'";
            return -EINVAL;
        }
        if (after) {
            port = close + 2;
            port_len = after - 1;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon) {
            if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
                *why = "an IPv6 address needs brackets: [ADDRESS]:PORT";
                return -EINVAL;
            }
            name_len = (size_t)(colon - s);
            port = colon + 1;
            port_len = len - name_len - 1;
        }
    }
    if (!plain_word(name, name_len, bracketed)) {
        *why = "the host is empty, starts with '-' or holds a character no host name has";
        return -EINVAL;
    }
    if (port && parse_port(port, port_len, &h->port) < 0) {
        *why = "the port is not a number from 1 to 65535";
        return -EINVAL;
    }
    h->name = dup_part(name, name_len);
    return h->name ? 0 : -ENOMEM;
}

int remote_host_parse(const char *buf, size_t len, struct remote_host *h, struct error *e)
{
    memset(h, 0, sizeof *h);
    const char *why = NULL;
    const char *at = memchr(buf, '@', len);
    const char *host = buf;
    size_t host_len = len;
    if (at) {
        size_t user_len = (size_t)(at - buf);
        if (!plain_word(buf, user_len, false)) {
            why = "the user is empty, starts with '-' or holds a character no user name has";
            goto bad;
        }
        if (!(h->user = dup_part(buf, user_len)))
            goto nomem;
        host = at + 1;
        host_len = len - user_len - 1;
    }
    int rc = parse_host_part(host, host_len, h, &why);
    if (rc == -ENOMEM)
        goto nomem;
    if (rc < 0)
        goto bad;
    if (!(h->label = dup_part(buf, len)))
        goto nomem;
    return 0;
bad:
    return error_set(e, -EINVAL, "host '%.*s': %s", (int)(len > 200 ? 200 : len), buf, why);
nomem:
    return error_set(e, -ENOMEM, "out of memory");
}

void remote_host_clear(struct remote_host *h)
{
    if (!h)
        return;
    free(h->label);
    free(h->user);
    free(h->name);
    memset(h, 0, sizeof *h);
}

static int add_entry(struct remote_host_list *l, const char *s, size_t len, struct error *e)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct remote_host *grown = realloc(l->hosts, cap * sizeof *grown);
        if (!grown)
            return error_set(e, -ENOMEM, "out of memory");
        l->hosts = grown;
        l->cap = cap;
    }
    struct remote_host h;
    int rc = remote_host_parse(s, len, &h, e);
    if (rc < 0) {
        remote_host_clear(&h);
        return rc;
    }
    l->hosts[l->count++] = h;
    return 0;
}

int remote_hosts_add_list(struct remote_host_list *l, const char *buf, size_t len,
                          const char *origin, struct error *e)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && buf[i] != ',')
            continue;
        if (i == start) {
            return error_set(e, -EINVAL, "%s: an empty host name in '%.*s'", origin,
                             (int)(len > 200 ? 200 : len), buf);
        }
        int rc = add_entry(l, buf + start, i - start, e);
        if (rc < 0) {
            error_prefix(e, "%s", origin);
            return rc;
        }
        start = i + 1;
    }
    return 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int remote_hosts_add_text(struct remote_host_list *l, const char *buf, size_t len,
                          const char *origin, struct error *e)
{
    size_t line_no = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        line_no++;
        const char *hash = memchr(buf + pos, '#', end - pos);
        size_t stop = hash ? (size_t)(hash - buf) : end;
        size_t a = pos, b = stop;
        while (a < b && blank(buf[a]))
            a++;
        while (b > a && blank(buf[b - 1]))
            b--;
        if (b > a) {
            int rc = add_entry(l, buf + a, b - a, e);
            if (rc < 0) {
                error_prefix(e, "%s:%zu", origin, line_no);
                return rc;
            }
        }
        pos = end + 1;
    }
    return 0;
}

int remote_hosts_load_file(struct remote_host_list *l, const char *path, struct error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(e, -errno, "cannot open the hosts file %s: %s", path, strerror(errno));
    char *buf = malloc(HOSTS_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return error_set(e, -ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, HOSTS_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = error_set(e, -EIO, "cannot read the hosts file %s", path);
    else if (n > HOSTS_FILE_MAX)
        rc = error_set(e, -EFBIG, "the hosts file %s is larger than 4 MiB", path);
    else
        rc = remote_hosts_add_text(l, buf, n, path, e);
    free(buf);
    return rc;
}

void remote_hosts_clear(struct remote_host_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        remote_host_clear(&l->hosts[i]);
    free(l->hosts);
    memset(l, 0, sizeof *l);
}
