/* rogue_facts.h - what suspicious-usage detection reads about a process
 * beyond a snapshot: its executable (and whether it was deleted), its I/O
 * counters and how many sockets it holds.
 *
 * Every read goes through sources/rootfs.h, so tests can use fixture trees;
 * a fact that cannot be read (another user's process) stays unknown.
 */
#ifndef GPUCTL_POLICY_ROGUE_FACTS_H
#define GPUCTL_POLICY_ROGUE_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"

/* The counters of /proc/PID/io that detection uses, in bytes. */
struct rogue_io {
    struct opt_u64 rchar, wchar, read_bytes, write_bytes;
};

/* Parses /proc/PID/io contents (len bytes, no NUL needed).  Unknown keys
 * are skipped; a known key with a malformed number gives -ERROR_PARSE (the
 * other counters are still filled). */
int rogue_parse_io(const char *buf, size_t len, struct rogue_io *out);

struct rogue_facts {
    char exe[512];          /* target of /proc/PID/exe, without " (deleted)"; "" unknown */
    bool exe_known;
    bool exe_deleted;
    struct rogue_io io;
    struct opt_u64 sockets; /* descriptors that are sockets */
    struct opt_u64 fds;     /* all descriptors */
};

/* Reads the facts of pid; never fails (what cannot be read stays unknown). */
void rogue_facts_read(pid_t pid, struct rogue_facts *out);

/* Network-ish output of a process, bytes: what it wrote (wchar) minus what
 * reached storage (write_bytes).  Unknown unless both are known. */
struct opt_u64 rogue_io_net_out(const struct rogue_io *io);

#endif
