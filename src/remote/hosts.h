/* hosts.h - the hosts a remote command goes to: `--remote h1,h2`, `--hosts
 * FILE` (one host a line, `#` comments) and the `[user@]host[:port]` form of
 * each entry, IPv6 addresses in brackets (`[::1]:2222`).
 *
 * Every entry is checked before anything runs: a host or user that could
 * be read by ssh as an option (a leading '-') or that holds characters no
 * host name or ssh alias has is refused with the entry named, so what
 * reaches ssh's command line is always one plain word.
 *
 * Threads: no state; any thread.
 */
#ifndef GPUCTL_REMOTE_HOSTS_H
#define GPUCTL_REMOTE_HOSTS_H

#include <stddef.h>

#include "core/error.h"

struct remote_host {
    char *label;      /* as written, for the HOST column: "alice@gpu1:2222" */
    char *user;       /* NULL: ssh's (or --ssh-user) */
    char *name;       /* host name, address or ssh alias, brackets removed */
    unsigned port;    /* 0: ssh's (or --ssh-port) */
};

struct remote_host_list {
    struct remote_host *hosts;
    size_t count, cap;
};

/* Parses one entry of len bytes (no surrounding blanks) into h.  -EINVAL
 * with e naming the entry and what is wrong; -ENOMEM.  Clear h with
 * remote_host_clear either way. */
int remote_host_parse(const char *buf, size_t len, struct remote_host *h, struct error *e);
void remote_host_clear(struct remote_host *h);           /* accepts NULL */

/* Appends the comma-separated entries of buf (`--remote a,b`); empty
 * entries between commas are an error.  Errors as remote_host_parse, the
 * message prefixed with origin ("--remote"). */
int remote_hosts_add_list(struct remote_host_list *l, const char *buf, size_t len,
                          const char *origin, struct error *e);

/* Appends the entries of a hosts file's text: one a line, blank lines and
 * everything from '#' ignored, blanks around an entry trimmed.  Errors name
 * origin and the line ("hosts.txt:3: ..."). */
int remote_hosts_add_text(struct remote_host_list *l, const char *buf, size_t len,
                          const char *origin, struct error *e);

/* Reads path (at most 4 MiB) and adds its entries as remote_hosts_add_text. */
int remote_hosts_load_file(struct remote_host_list *l, const char *path, struct error *e);

void remote_hosts_clear(struct remote_host_list *l);     /* accepts NULL */

#endif
