/* outfile.c - output files replaced atomically (outfile.h): write beside,
 * fsync, rename.
 *
 * The temporary file is created with O_EXCL under a name of our own
 * (".NAME.PID.N" in the destination's directory) rather than mkstemp's, so
 * the kernel applies the umask to a new file exactly as it would to the
 * destination, without touching the process-wide umask.
 */
#include "core/outfile.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRIES 100

static void outfile_clear(struct outfile *o)
{
    free(o->path);
    free(o->tmp);
    *o = (struct outfile){0};
}

/* "DIR/.BASE.PID.N" for path "DIR/BASE" (or ".BASE.PID.N"). */
static char *temp_name(const char *path, unsigned n)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t size = strlen(path) + 48;
    char *t = malloc(size);
    if (t)
        snprintf(t, size, "%.*s.%s.%ld.%u", dir_len, path, base, (long)getpid(), n);
    return t;
}

static int open_temp(struct outfile *o, const struct stat *old, bool exists, struct error *e)
{
    for (unsigned n = 0; n < TRIES; n++) {
        char *t = temp_name(o->path, n);
        if (!t)
            return error_set(e, -ENOMEM, "out of memory");
        int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            int err = errno;
            free(t);
            if (err == EEXIST)
                continue;
            return error_set(e, -err, "cannot write %s: %s", o->path, strerror(err));
        }
        o->tmp = t;
        if (exists)
            (void)fchmod(fd, old->st_mode & 07777);   /* keep the old file's mode */
        o->f = fdopen(fd, "w");
        if (!o->f) {
            int err = errno;
            close(fd);
            unlink(t);
            return error_set(e, -err, "cannot write %s: %s", o->path, strerror(err));
        }
        return 0;
    }
    return error_set(e, -EEXIST, "cannot write %s: no free temporary name beside it", o->path);
}

int outfile_open(struct outfile *o, const char *path, struct error *e)
{
    *o = (struct outfile){0};
    if (!(o->path = strdup(path)))
        return error_set(e, -ENOMEM, "out of memory");
    struct stat st;
    bool exists = stat(path, &st) == 0;
    int rc;
    if (exists && !S_ISREG(st.st_mode)) {
        o->f = fopen(path, "we");
        rc = o->f ? 0 : error_set(e, -errno, "cannot write %s: %s", path, strerror(errno));
    } else {
        rc = open_temp(o, &st, exists, e);
    }
    if (rc < 0)
        outfile_clear(o);
    return rc;
}

int outfile_open_append(struct outfile *o, const char *path, struct error *e)
{
    *o = (struct outfile){0};
    if (!(o->path = strdup(path)))
        return error_set(e, -ENOMEM, "out of memory");
    if (!(o->f = fopen(path, "a+e"))) {
        int err = errno;
        outfile_clear(o);
        return error_set(e, -err, "cannot open %s: %s", path, strerror(err));
    }
    return 0;
}

const char *outfile_write_path(const struct outfile *o)
{
    return o->tmp ? o->tmp : o->path;
}

/* The rename reaches the disk only when the directory is synced too. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);   /* durability only: the rename is done either way */
        close(fd);
    }
    free(dir);
}

/* Flush and sync; a terminal or pipe cannot be synced (EINVAL), and needs
 * not be. */
static int flush_sync(struct outfile *o, struct error *e)
{
    if (fflush(o->f) == EOF || (fsync(fileno(o->f)) < 0 && errno != EINVAL))
        return error_set(e, -errno, "cannot write %s: %s", o->path, strerror(errno));
    return 0;
}

int outfile_publish(struct outfile *o, struct error *e)
{
    int rc = flush_sync(o, e);
    if (rc < 0 || !o->tmp || o->published)
        return rc;
    if (rename(o->tmp, o->path) < 0)
        return error_set(e, -errno, "cannot replace %s: %s", o->path, strerror(errno));
    o->published = true;
    sync_dir(o->path);
    return 0;
}

int outfile_commit(struct outfile *o, struct error *e)
{
    if (!o->f)
        return error_set(e, -EBADF, "%s is not open", o->path ? o->path : "output file");
    int rc = outfile_publish(o, e);
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) == EOF && rc == 0)
        rc = error_set(e, -errno, "cannot write %s: %s", o->path, strerror(errno));
    if (rc < 0 && o->tmp && !o->published)
        unlink(o->tmp);
    outfile_clear(o);
    return rc;
}

void outfile_discard(struct outfile *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    if (o->tmp && !o->published)
        unlink(o->tmp);
    outfile_clear(o);
}
