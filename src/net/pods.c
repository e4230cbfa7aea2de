/* pods.c - pod UIDs to namespaces and names from the kubelet's pod log
 * directories (see pods.h).  The names come from directory entries, so the
 * parser takes (buffer, length) and checks every part; nothing is read
 * inside the directories.
 */
#include "net/pods.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool uid_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9') || c == '-';
}

/* Copies s[0..n) into out (size) when every byte passes ok. */
static bool take_part(const char *s, size_t n, char *out, size_t size, bool (*ok)(char))
{
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ok(s[i]))
            return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

int pods_parse_entry(const char *s, size_t len, struct pod_name *out)
{
    const char *first = memchr(s, '_', len);
    if (!first)
        return -EINVAL;
    const char *rest = first + 1;
    size_t rest_len = len - (size_t)(rest - s);
    const char *second = memchr(rest, '_', rest_len);
    if (!second)
        return -EINVAL;
    const char *uid = second + 1;
    size_t uid_len = len - (size_t)(uid - s);
    if (memchr(uid, '_', uid_len))
        return -EINVAL;
    if (!take_part(s, (size_t)(first - s), out->ns, sizeof out->ns, name_char) ||
        !take_part(rest, (size_t)(second - rest), out->name, sizeof out->name, name_char) ||
        !take_part(uid, uid_len, out->uid, sizeof out->uid, uid_char))
        return -EINVAL;
    return 0;
}

static int by_uid(const void *a, const void *b)
{
    return strcmp(((const struct pod_name *)a)->uid, ((const struct pod_name *)b)->uid);
}

int pods_read(const char *dir, struct pod_names *out, struct error *e)
{
    out->items = NULL;
    out->count = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct pod_name p;
        if (pods_parse_entry(de->d_name, strlen(de->d_name), &p) < 0)
            continue;
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct pod_name *grown = realloc(out->items, ncap * sizeof *grown);
            if (!grown) {
                rc = error_set(e, -ENOMEM, "out of memory listing %s", dir);
                break;
            }
            out->items = grown;
            cap = ncap;
        }
        out->items[out->count++] = p;
    }
    closedir(d);
    if (rc < 0) {
        pods_clear(out);
        return rc;
    }
    if (out->count)
        qsort(out->items, out->count, sizeof *out->items, by_uid);
    return 0;
}

const struct pod_name *pods_find(const struct pod_names *p, const char *uid)
{
    if (!p || !p->count || !uid || !*uid)
        return NULL;
    struct pod_name key;
    size_t n = strlen(uid);
    if (n >= sizeof key.uid)
        return NULL;
    for (size_t i = 0; i <= n; i++)      /* systemd's cgroups write '_' for '-' */
        key.uid[i] = uid[i] == '_' ? '-' : uid[i];
    return bsearch(&key, p->items, p->count, sizeof *p->items, by_uid);
}

void pods_clear(struct pod_names *p)
{
    if (!p)
        return;
    free(p->items);
    p->items = NULL;
    p->count = 0;
}
