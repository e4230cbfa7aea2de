/* ssh.h - the command lines of the system ssh for remote work (decision 17),
 * the quoting of the remote command, the private directory of the shared
 * connections, and what ssh's exit status and stderr say about a host.
 *
 * Host-key checking is never turned off: the user's known_hosts and
 * configuration apply, and the only relaxation is
 * StrictHostKeyChecking=accept-new (a key never seen before is added; a
 * changed key is still refused).  Nothing here runs a shell locally: the
 * remote command is the one string ssh hands the remote shell, built by
 * remote_shell_quote so every argument arrives as one word.
 *
 * Threads: no state; any thread.
 */
#ifndef GPUCTL_REMOTE_SSH_H
#define GPUCTL_REMOTE_SSH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "remote/hosts.h"

struct remote_ssh_options {
    const char *program;        /* NULL: "ssh", found on PATH */
    const char *user;           /* --ssh-user, for hosts written without user@ */
    unsigned port;              /* --ssh-port, for hosts written without :port; 0: ssh's */
    const char *identity;       /* --ssh-key: -i FILE */
    const char *config;         /* --ssh-config: -F FILE */
    const char *control_dir;    /* private directory of the ControlPath sockets; NULL: no
                                   shared connections */
    unsigned control_persist;   /* seconds a shared connection outlives its last use */
    unsigned connect_timeout;   /* seconds; 0: ssh's */
    bool batch;                 /* BatchMode=yes: never prompt (no terminal) */
    bool accept_new;            /* StrictHostKeyChecking=accept-new */
    bool password;              /* a password comes from SSH_ASKPASS: one prompt, and no
                                   BatchMode, which would forbid asking for it */
};

/* The words of argv[0..n-1] as one POSIX shell command line: words of
 * plain characters as they are, anything else in single quotes (a quote
 * inside written '\'' ).  Newly allocated; NULL on ENOMEM. */
char *remote_shell_quote(const char *const *argv, size_t n);

/* The argv of ssh running command on h: a NULL-terminated array of newly
 * allocated strings (free with remote_argv_free).  -ENOMEM with e filled. */
int remote_ssh_argv(const struct remote_ssh_options *o, const struct remote_host *h,
                    const char *command, char ***out, struct error *e);
void remote_argv_free(char **argv);                     /* accepts NULL */

/* Makes (or checks) the private directory for the shared connections:
 * $XDG_RUNTIME_DIR/gpuctl-ssh, else /tmp/gpuctl-ssh-UID; it must be a
 * directory (not a link) owned by the caller with mode 0700, or it is not
 * used (-EPERM naming it and why).  Writes the path into buf. */
int remote_control_dir(char *buf, size_t size, struct error *e);

enum remote_status {
    REMOTE_OK,                  /* ssh ran the command and it exited 0 */
    REMOTE_FAILED,              /* the remote command exited non-zero */
    REMOTE_UNREACHABLE,         /* no connection: refused, no route, name unknown, timeout */
    REMOTE_HOST_KEY_CHANGED,    /* known_hosts holds another key for the host */
    REMOTE_HOST_KEY_UNKNOWN,    /* no key known and none may be accepted */
    REMOTE_AUTH_FAILED,         /* the server refused every way of logging in */
    REMOTE_NOT_FOUND,           /* the remote shell found no gpuctl (exit 127) */
    REMOTE_TIMEOUT,             /* the host's deadline passed */
    REMOTE_SSH_FAILED,          /* ssh failed in another way (exit 255) */
    REMOTE_BAD_OUTPUT,          /* ran, but what it printed is not the document expected */
};

/* "ok", "failed", "unreachable", "host_key_changed", ... (the JSON spelling). */
const char *remote_status_name(enum remote_status s);

/* What happened on a host, from the wait status of ssh (exited is false
 * when it was killed at the deadline) and its stderr (len bytes).  Writes
 * a one-line explanation into msg ("unreachable: Connection refused",
 * "host key changed", "gpuctl not found on the remote"); empty for
 * REMOTE_OK. */
enum remote_status remote_classify(int wait_status, bool timed_out, const char *err,
                                   size_t len, char *msg, size_t size);

#endif
