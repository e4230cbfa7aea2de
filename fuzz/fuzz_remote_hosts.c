/* Fuzz target: host lists of --hosts files and --remote, and the shell
 * quoting of what they produce.  Every host accepted must be one plain
 * word ssh cannot read as an option. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "remote/hosts.h"
#include "remote/ssh.h"

static void check(const struct remote_host_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        const struct remote_host *h = &l->hosts[i];
        if (!h->name[0] || h->name[0] == '-' || (h->user && h->user[0] == '-') ||
            h->port > 65535 || strpbrk(h->name, " \t\n'\"$;&|<>`\\"))
            __builtin_trap();
        const char *words[] = {h->label, h->name};
        char *q = remote_shell_quote(words, 2);
        free(q);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct remote_host_list l = {0};
    struct error e = {0};
    remote_hosts_add_text(&l, (const char *)data, size, "fuzz", &e);
    check(&l);
    remote_hosts_clear(&l);
    remote_hosts_add_list(&l, (const char *)data, size, "--remote", &e);
    check(&l);
    remote_hosts_clear(&l);
    return 0;
}
