/* askpass.c - the SSH_ASKPASS hand-off of --ssh-password (askpass.h).
 *
 * The front end reads the password (from the terminal or stdin) and calls
 * remote_askpass_init; main() calls remote_askpass_answer when gpuctl was
 * started by ssh as its askpass program.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "remote/askpass.h"

extern char **environ;

#define PASSWORD_MAX 4096

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -(n < 0 ? errno : EIO);
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int build_env(struct remote_askpass *a, struct error *e)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return error_set(e, -errno, "cannot find gpuctl's own path for SSH_ASKPASS: %s",
                         strerror(errno));
    self[n] = '\0';
    size_t count = 0;
    for (char **v = environ; *v; v++)
        count++;
    a->envp = calloc(count + 4, sizeof *a->envp);
    if (!a->envp)
        return error_set(e, -ENOMEM, "out of memory");
    size_t k = 0;
    for (char **v = environ; *v; v++) {
        static const char *const ours[] = {"SSH_ASKPASS=", "SSH_ASKPASS_REQUIRE=",
                                           REMOTE_ASKPASS_ENV "="};
        bool replaced = false;
        for (size_t i = 0; i < 3; i++)
            replaced |= strncmp(*v, ours[i], strlen(ours[i])) == 0;
        if (!replaced && !(a->envp[k++] = strdup(*v)))
            return error_set(e, -ENOMEM, "out of memory");
    }
    if (asprintf(&a->envp[k++], "SSH_ASKPASS=%s", self) < 0 ||
        !(a->envp[k++] = strdup("SSH_ASKPASS_REQUIRE=force")) ||
        asprintf(&a->envp[k++], REMOTE_ASKPASS_ENV "=/proc/%d/fd/%d", (int)getpid(), a->fd) < 0) {
        a->envp[k - 1] = NULL;
        return error_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

int remote_askpass_init(struct remote_askpass *a, const char *password, size_t len,
                        struct error *e)
{
    a->fd = -1;
    a->envp = NULL;
    if (len > PASSWORD_MAX || memchr(password, '\n', len))
        return error_set(e, -EINVAL, "the ssh password is longer than %d bytes or holds a "
                         "line break", PASSWORD_MAX);
    a->fd = memfd_create("gpuctl-askpass", MFD_CLOEXEC);
    if (a->fd < 0)
        return error_set(e, -errno, "cannot keep the ssh password in memory: %s",
                         strerror(errno));
    int rc = write_all(a->fd, password, len);
    if (rc < 0)
        return error_set(e, rc, "cannot keep the ssh password in memory: %s", strerror(-rc));
    return build_env(a, e);
}

void remote_askpass_clear(struct remote_askpass *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    for (char **v = a->envp; v && *v; v++)
        free(*v);
    free(a->envp);
    a->fd = -1;
    a->envp = NULL;
}

int remote_askpass_answer(const char *prompt, FILE *out, struct error *e)
{
    const char *path = getenv(REMOTE_ASKPASS_ENV);
    if (!path || !*path)
        return error_set(e, -EINVAL, "%s is not set", REMOTE_ASKPASS_ENV);
    if (!strcasestr(prompt, "password"))
        return error_set(e, -EPERM, "gpuctl answers ssh only with the password; refused to "
                         "answer '%.200s'", prompt);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot read the password from %s: %s", path,
                         strerror(errno));
    char buf[PASSWORD_MAX + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) == sizeof buf)
            break;
    }
    close(fd);
    int rc = 0;
    if (fwrite(buf, 1, len, out) != len || fputc('\n', out) == EOF || fflush(out) == EOF)
        rc = error_set(e, -EIO, "cannot write the password to ssh");
    explicit_bzero(buf, sizeof buf);
    return rc;
}
