/* policy_file.c - the file handling rogue.toml and guard.toml share.
 *
 * Both files are read whole, validated whole by their own modules, and only
 * then replaced whole (temporary file + rename), so a refused change never
 * leaves half a file behind.  Writing goes through the few TOML value kinds
 * the policy files use; comments a person added to a file are not kept when
 * gpuctl rewrites it (docs/configuration.md says so).
 */
#include "policy/policy_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void policy_strlist_free(struct policy_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

int policy_strlist_add(struct policy_strlist *l, const char *s)
{
    char **grown = realloc(l->items, (l->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    l->items = grown;
    l->items[l->count] = strdup(s);
    if (!l->items[l->count])
        return -ENOMEM;
    l->count++;
    return 0;
}

size_t policy_strlist_remove(struct policy_strlist *l, const char *s)
{
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i], s) == 0) {
            free(l->items[i]);
            removed++;
        } else {
            l->items[kept++] = l->items[i];
        }
    }
    l->count = kept;
    return removed;
}

bool policy_strlist_has(const struct policy_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

int policy_strlist_copy(struct policy_strlist *dst, const struct policy_strlist *src)
{
    *dst = (struct policy_strlist){0};
    for (size_t i = 0; i < src->count; i++)
        if (policy_strlist_add(dst, src->items[i]) < 0) {
            policy_strlist_free(dst);
            return -ENOMEM;
        }
    return 0;
}

int policy_strlist_split(struct policy_strlist *l, const char *csv)
{
    char *copy = strdup(csv);
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            rc = policy_strlist_add(l, tok);
    free(copy);
    return rc;
}

bool policy_glob_any(const struct policy_strlist *patterns, const char *name, bool fold)
{
    if (!name || !*name)
        return false;
    for (size_t i = 0; i < patterns->count; i++) {
        const char *p = patterns->items[i];
        if ((fold ? strcasecmp(p, name) : strcmp(p, name)) == 0)
            return true;
        if (fnmatch(p, name, fold ? FNM_CASEFOLD : 0) == 0)
            return true;
    }
    return false;
}

int policy_config_path(char *buf, size_t size, const char *file, struct error *e)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n = -1;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/gpuctl/%s", xdg, file);
    else if (home && home[0])
        n = snprintf(buf, size, "%s/.config/gpuctl/%s", home, file);
    if (n < 0 || (size_t)n >= size)
        return error_set(e, -ENOENT, "cannot place %s: neither XDG_CONFIG_HOME nor HOME gives "
                         "a usable folder (pass the file's path)", file);
    return 0;
}

int policy_read_file(const char *path, char **buf, size_t *len, struct error *e)
{
    *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > POLICY_FILE_MAX) {
        close(fd);
        return error_set(e, -EFBIG, "%s is not a policy file (larger than %d bytes or "
                         "unreadable)", path, POLICY_FILE_MAX);
    }
    char *data = malloc((size_t)st.st_size + 1);
    if (!data) {
        close(fd);
        return error_set(e, -ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            free(data);
            close(fd);
            return error_set(e, -err, "cannot read %s: %s", path, strerror(err));
        }
        got += (size_t)n;
    }
    close(fd);
    data[got] = '\0';
    *buf = data;
    *len = got;
    return 0;
}

static int make_parent(const char *path, struct error *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return error_set(e, -errno, "cannot create %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return error_set(e, -errno, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The rename itself reaches the disk only when the folder is synced. */
static int sync_parent(const char *path, struct error *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot open %s to sync it: %s", dir, strerror(errno));
    int rc = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
    close(fd);
    if (rc < 0)
        return error_set(e, rc, "cannot sync %s: %s", dir, strerror(-rc));
    return 0;
}

int policy_write_file(const char *path, const char *text, size_t len, struct error *e)
{
    int rc = make_parent(path, e);
    if (rc < 0)
        return rc;
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return error_set(e, -ENAMETOOLONG, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return error_set(e, -errno, "cannot write %s: %s", tmp, strerror(errno));
    rc = write_all(fd, text, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return error_set(e, rc, "cannot write %s: %s", path, strerror(-rc));
    }
    return sync_parent(path, e);
}

int policy_lock_file(const char *lock_path, const char *what, int *fd, struct error *e)
{
    int rc = make_parent(lock_path, e);
    if (rc < 0)
        return rc;
    int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0)
        return error_set(e, -errno, "cannot open the lock file %s: %s", lock_path,
                         strerror(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        char holder[32] = "";
        ssize_t n = pread(lfd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(lfd);
        if (err == EWOULDBLOCK)
            return error_set(e, -EBUSY, "%s is already running (pid %s holds %s)", what,
                             holder[0] ? holder : "unknown", lock_path);
        return error_set(e, -err, "cannot lock %s: %s", lock_path, strerror(err));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(lfd, 0) < 0 || pwrite(lfd, pid, (size_t)len, 0) != len) {
        int err = errno;
        close(lfd);
        return error_set(e, -err, "cannot write %s: %s", lock_path, strerror(err));
    }
    *fd = lfd;
    return 0;
}

int policy_parse_toml_file(const char *path, struct toml_value **root, struct error *e)
{
    char *buf;
    size_t len;
    int rc = policy_read_file(path, &buf, &len, e);
    if (rc < 0)
        return rc;
    rc = toml_parse(buf, len, path, root, e);
    free(buf);
    return rc;
}

int policy_toml_error(struct error *e, const char *file, const struct toml_value *v,
                      const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct toml_pos pos = toml_value_pos(v);
    return error_set(e, -ERROR_PARSE, "%s:%u:%u: %s", file, pos.line, pos.column, msg);
}

void policy_toml_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void policy_toml_key(FILE *f, const char *key)
{
    bool bare = *key != '\0';
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            bare = false;
    if (bare)
        fputs(key, f);
    else
        policy_toml_string(f, key);
}

void policy_toml_number(FILE *f, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    /* the shortest form that reads back as the same double */
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
    if (!strpbrk(buf, ".eEn"))
        fputs(".0", f);
}

void policy_toml_strlist(FILE *f, const struct policy_strlist *l)
{
    fputc('[', f);
    for (size_t i = 0; i < l->count; i++) {
        fputs(i ? ", " : "", f);
        policy_toml_string(f, l->items[i]);
    }
    fputc(']', f);
}

int policy_toml_get_strlist(const struct toml_value *v, const char *file, const char *what,
                            struct policy_strlist *l, struct error *e)
{
    if (toml_type(v) != TOML_ARRAY)
        return policy_toml_error(e, file, v, "%s must be an array of strings, not a %s", what,
                                 toml_type_name(toml_type(v)));
    for (size_t i = 0; i < toml_array_size(v); i++) {
        const struct toml_value *item = toml_array_get(v, i);
        size_t len;
        const char *s = toml_get_string(item, &len);
        if (!s || strlen(s) != len || len == 0)
            return policy_toml_error(e, file, item, "%s: every item must be a non-empty "
                                     "string", what);
        if (policy_strlist_add(l, s) < 0)
            return error_set(e, -ENOMEM, "out of memory reading %s", file);
    }
    return 0;
}
