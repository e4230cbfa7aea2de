/* askpass.h - handing a password to ssh without a command line
 * (--ssh-password).
 *
 * The password goes into an anonymous memory file (memfd) that only this
 * process holds; ssh is started with SSH_ASKPASS naming gpuctl itself,
 * SSH_ASKPASS_REQUIRE=force and GPUCTL_ASKPASS_FILE naming that file as
 * /proc/PID/fd/N.  When ssh asks, gpuctl runs as its askpass program
 * (remote_askpass_answer), reads the file and prints the password on the
 * pipe ssh reads.  The password is never in an argv, never in an
 * environment and never on disk; it is readable only by processes that
 * may read this process's descriptors (the same user), and only while this
 * process lives.
 *
 * Threads: no state beyond the struct; any thread.
 */
#ifndef GPUCTL_REMOTE_ASKPASS_H
#define GPUCTL_REMOTE_ASKPASS_H

#include <stdio.h>

#include "core/error.h"

/* The variable that tells a gpuctl started by ssh that it is the askpass. */
#define REMOTE_ASKPASS_ENV "GPUCTL_ASKPASS_FILE"

struct remote_askpass {
    int fd;          /* the memfd, -1 when none */
    char **envp;     /* this process's environment plus the askpass variables */
};

/* Stores password (len bytes) and builds the environment for ssh.  -errno
 * with e filled.  Clear with remote_askpass_clear either way. */
int remote_askpass_init(struct remote_askpass *a, const char *password, size_t len,
                        struct error *e);
void remote_askpass_clear(struct remote_askpass *a);      /* accepts NULL */

/* gpuctl as ssh's askpass program: answers a prompt that asks for a
 * password with the password from $GPUCTL_ASKPASS_FILE and a newline on
 * out; any other prompt (a host key question) is refused with -EPERM, so
 * a key is never accepted by answering with a password. */
int remote_askpass_answer(const char *prompt, FILE *out, struct error *e);

#endif
