/* remote_opts.c - the option table of the remote options (--remote and
 * friends), which come before the command: `gpuctl --remote HOST list`.
 * Listed in --help's overview, the man page and the completions like the
 * commands' tables (optgen.c).
 */
#include <stddef.h>

#include "cli/opts.h"

static const struct options_spec remote_specs[] = {
    {.name = "remote", .type = OPTIONS_STRING, .metavar = "HOSTS", .group = "Hosts",
     .help = "run the command on these hosts over ssh ([user@]host[:port], comma separated)",
     .offset = offsetof(struct remote_request, remote)},
    {.name = "hosts", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "run the command on the hosts listed in FILE, one a line, '#' starts a comment",
     .offset = offsetof(struct remote_request, hosts_file)},
    {.name = "remote-path", .type = OPTIONS_STRING, .metavar = "PATH",
     .help = "the name or path of gpuctl on the remote hosts (default gpuctl)",
     .offset = offsetof(struct remote_request, remote_path)},
    {.name = "ssh-user", .type = OPTIONS_STRING, .metavar = "USER", .group = "ssh",
     .help = "log in as USER where a host does not name one",
     .offset = offsetof(struct remote_request, ssh_user)},
    {.name = "ssh-port", .type = OPTIONS_UINT, .metavar = "PORT", .min = 1, .max = 65535,
     .help = "connect to PORT where a host does not name one",
     .offset = offsetof(struct remote_request, ssh_port)},
    {.name = "ssh-key", .type = OPTIONS_STRING, .metavar = "FILE",
     .help = "the private key to log in with (ssh -i)",
     .offset = offsetof(struct remote_request, ssh_key)},
    {.name = "ssh-config", .type = OPTIONS_STRING, .metavar = "FILE",
     .env = "GPUCTL_SSH_CONFIG",
     .help = "read this ssh configuration instead of ~/.ssh/config (ssh -F)",
     .offset = offsetof(struct remote_request, ssh_config)},
    {.name = "ssh-fanout", .type = OPTIONS_UINT, .metavar = "N", .min = 1, .max = 1024,
     .help = "connect to at most N hosts at once (default 32)",
     .offset = offsetof(struct remote_request, ssh_fanout)},
    {.name = "ssh-timeout", .type = OPTIONS_NUMBER, .metavar = "SEC", .min = 1, .max = 86400,
     .help = "give each host at most SEC seconds to answer (default 30)",
     .offset = offsetof(struct remote_request, ssh_timeout)},
    {.name = "ssh-accept-new", .type = OPTIONS_FLAG,
     .help = "add the key of a host never seen before to known_hosts (a changed key is still "
             "refused)",
     .offset = offsetof(struct remote_request, ssh_accept_new)},
    {.name = "ssh-password", .type = OPTIONS_FLAG,
     .help = "log in with a password read from the terminal (or stdin's first line), handed "
             "to ssh through SSH_ASKPASS; keys are better",
     .offset = offsetof(struct remote_request, ssh_password)},
};

const struct options_command remote_options = {
    .name = "remote",
    .usage = "gpuctl --remote HOSTS [REMOTE OPTIONS] COMMAND [OPTIONS]",
    .about = "Runs list, kill, reset, select, audit --summary, audit --rogue, guard "
             "--test-policies "
             "or config show on other machines over the system ssh and draws their answers "
             "here, one HOST column for all; top on one host runs the monitor here on its "
             "frames.",
    .specs = remote_specs,
    .count = sizeof remote_specs / sizeof remote_specs[0],
};
