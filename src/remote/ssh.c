/* ssh.c - ssh's command line, the remote command's quoting, the private
 * directory of shared connections, and reading ssh's failures (ssh.h).
 *
 * Running ssh and collecting its output is fanout.c's job; deciding what a
 * host's document means is the front end's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "remote/ssh.h"

/* ---- quoting ------------------------------------------------------------------- */

/* Characters no POSIX shell treats specially anywhere in a word. */
static bool shell_plain(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-_./=:,+@%", c)))
            return false;
    }
    return true;
}

char *remote_shell_quote(const char *const *argv, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(' ', f);
        if (shell_plain(argv[i])) {
            fputs(argv[i], f);
            continue;
        }
        fputc('\'', f);
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'')
                fputs("'\\''", f);
            else
                fputc(*c, f);
        }
        fputc('\'', f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- ssh's argv -------------------------------------------------------------------- */

struct argv_builder {
    char **v;
    size_t n, cap;
    bool failed;
};

static void push(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void push(struct argv_builder *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 32;
        char **grown = realloc(b->v, cap * sizeof *grown);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->v = grown;
        b->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&b->v[b->n], fmt, ap);
    va_end(ap);
    if (rc < 0) {
        b->failed = true;
        return;
    }
    b->v[++b->n] = NULL;
}

/* A short name for the host as written, so that two aliases of one
 * machine (one of them with another HostKeyAlias, say) never share a
 * connection: ssh's %C alone hashes only the resolved host, port and user. */
static unsigned long long label_hash(const char *s)
{
    unsigned long long h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int remote_ssh_argv(const struct remote_ssh_options *o, const struct remote_host *h,
                    const char *command, char ***out, struct error *e)
{
    struct argv_builder b = {0};
    const char *user = h->user ? h->user : o->user;
    unsigned port = h->port ? h->port : o->port;
    push(&b, "%s", o->program ? o->program : "ssh");
    if (o->config)
        push(&b, "-F%s", o->config);
    push(&b, "-T");                                   /* no terminal on the remote side */
    if (o->batch && !o->password)
        push(&b, "-oBatchMode=yes");
    if (o->password) {
        push(&b, "-oNumberOfPasswordPrompts=1");
        push(&b, "-oPreferredAuthentications=password,keyboard-interactive");
    }
    if (o->accept_new)
        push(&b, "-oStrictHostKeyChecking=accept-new");
    if (o->connect_timeout)
        push(&b, "-oConnectTimeout=%u", o->connect_timeout);
    if (o->control_dir) {
        push(&b, "-oControlMaster=auto");
        push(&b, "-oControlPath=%s/%%C-%016llx", o->control_dir, label_hash(h->label));
        push(&b, "-oControlPersist=%u", o->control_persist ? o->control_persist : 60);
    }
    if (o->identity)
        push(&b, "-i%s", o->identity);
    if (user)
        push(&b, "-l%s", user);
    if (port)
        push(&b, "-p%u", port);
    push(&b, "%s", h->name);     /* checked by hosts.c: never starts with '-' */
    push(&b, "%s", command);
    if (b.failed) {
        remote_argv_free(b.v);
        return error_set(e, -ENOMEM, "out of memory");
    }
    *out = b.v;
    return 0;
}

void remote_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* ---- the private directory --------------------------------------------------------- */

int remote_control_dir(char *buf, size_t size, struct error *e)
{
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int n = runtime && runtime[0] == '/'
                ? snprintf(buf, size, "%s/gpuctl-ssh", runtime)
                : snprintf(buf, size, "/tmp/gpuctl-ssh-%u", (unsigned)getuid());
    /* A socket path holds 107 bytes; ours add "/" + %C (40) + "-" + 16. */
    if (n < 0 || (size_t)n >= size || n > 107 - 58)
        return error_set(e, -ENAMETOOLONG, "the directory for shared ssh connections is too "
                         "long a path");
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return error_set(e, -errno, "cannot make %s: %s", buf, strerror(errno));
    struct stat st;
    if (lstat(buf, &st) < 0)
        return error_set(e, -errno, "cannot check %s: %s", buf, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(e, -EPERM, "%s is not a directory", buf);
    if (st.st_uid != getuid())
        return error_set(e, -EPERM, "%s belongs to another user", buf);
    if ((st.st_mode & 0777) != 0700)
        return error_set(e, -EPERM, "%s has mode %03o, not 0700", buf,
                         (unsigned)(st.st_mode & 0777));
    return 0;
}

/* ---- reading ssh's failures --------------------------------------------------------- */

static bool has(const char *err, size_t len, const char *needle)
{
    return memmem(err, len, needle, strlen(needle)) != NULL;
}

/* The last line of stderr worth showing: ssh's chatter about adding keys
 * and multiplexing is skipped.  Copied into msg after prefix. */
static void last_line(const char *err, size_t len, const char *prefix, char *msg, size_t size)
{
    size_t end = len;
    while (end > 0) {
        while (end > 0 && (err[end - 1] == '\n' || err[end - 1] == '\r'))
            end--;
        size_t start = end;
        while (start > 0 && err[start - 1] != '\n')
            start--;
        const char *line = err + start;
        size_t n = end - start;
        bool noise = n == 0 || (n >= 8 && memcmp(line, "Warning:", 8) == 0) ||
                     memmem(line, n, "mux_client", 10) || memmem(line, n, "ControlSocket", 13);
        if (!noise) {
            snprintf(msg, size, "%s%.*s", prefix, (int)(n > 300 ? 300 : n), line);
            for (char *c = msg; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
            return;
        }
        end = start;
    }
    snprintf(msg, size, "%s(nothing on stderr)", prefix);
}

static enum remote_status classify_ssh_failure(const char *err, size_t len, char *msg,
                                               size_t size)
{
    if (has(err, len, "REMOTE HOST IDENTIFICATION HAS CHANGED")) {
        snprintf(msg, size, "host key changed: the key in known_hosts does not match (a "
                 "reinstalled host, or someone in between); check it, then fix known_hosts");
        return REMOTE_HOST_KEY_CHANGED;
    }
    if (has(err, len, "Host key verification failed") ||
        (has(err, len, "No ") && has(err, len, "host key is known"))) {
        snprintf(msg, size, "host key unknown: not in known_hosts (add it, or pass "
                 "--ssh-accept-new to accept a key never seen before)");
        return REMOTE_HOST_KEY_UNKNOWN;
    }
    if (has(err, len, "Permission denied") || has(err, len, "Too many authentication")) {
        last_line(err, len, "authentication failed: ", msg, size);
        return REMOTE_AUTH_FAILED;
    }
    static const char *const unreachable[] = {
        "Connection refused", "Connection timed out", "No route to host",
        "Could not resolve hostname", "Network is unreachable", "Connection reset",
        "Connection closed by", "timed out during banner exchange", "Name or service not known",
    };
    for (size_t i = 0; i < sizeof unreachable / sizeof unreachable[0]; i++) {
        if (has(err, len, unreachable[i])) {
            last_line(err, len, "unreachable: ", msg, size);
            return REMOTE_UNREACHABLE;
        }
    }
    last_line(err, len, "ssh failed: ", msg, size);
    return REMOTE_SSH_FAILED;
}

enum remote_status remote_classify(int wait_status, bool timed_out, const char *err,
                                   size_t len, char *msg, size_t size)
{
    msg[0] = '\0';
    if (timed_out) {
        snprintf(msg, size, "no answer before the deadline");
        return REMOTE_TIMEOUT;
    }
    if (!WIFEXITED(wait_status)) {
        snprintf(msg, size, "ssh ended by signal %d", WTERMSIG(wait_status));
        return REMOTE_SSH_FAILED;
    }
    int code = WEXITSTATUS(wait_status);
    if (code == 0)
        return REMOTE_OK;
    if (code == 255)
        return classify_ssh_failure(err, len, msg, size);
    if (code == 127 || (code == 126 && has(err, len, "ermission denied"))) {
        snprintf(msg, size, "gpuctl not found on the remote (install it, or name it with "
                 "--remote-path)");
        return REMOTE_NOT_FOUND;
    }
    last_line(err, len, "", msg, size);
    return REMOTE_FAILED;
}

const char *remote_status_name(enum remote_status s)
{
    static const char *const names[] = {
        [REMOTE_OK] = "ok",
        [REMOTE_FAILED] = "failed",
        [REMOTE_UNREACHABLE] = "unreachable",
        [REMOTE_HOST_KEY_CHANGED] = "host_key_changed",
        [REMOTE_HOST_KEY_UNKNOWN] = "host_key_unknown",
        [REMOTE_AUTH_FAILED] = "auth_failed",
        [REMOTE_NOT_FOUND] = "not_found",
        [REMOTE_TIMEOUT] = "timeout",
        [REMOTE_SSH_FAILED] = "ssh_failed",
        [REMOTE_BAD_OUTPUT] = "bad_output",
    };
    return (unsigned)s < sizeof names / sizeof names[0] && names[s] ? names[s] : "?";
}
