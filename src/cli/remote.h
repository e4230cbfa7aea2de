/* remote.h - the CLI's side of remote work: `gpuctl --remote HOSTS COMMAND`
 * (remote.c runs the command on every host over ssh, remote_show.c draws
 * the answers) and the pieces of commands it reuses.
 */
#ifndef GPUCTL_CLI_REMOTE_H
#define GPUCTL_CLI_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/snapshot.h"
#include "ops/select.h"
#include "remote/ssh.h"
#include "store/audit.h"

/* How many arguments from argv[i] form one remote option (1 or 2: its
 * value), or 0 when argv[i] is not one. */
int cli_remote_option_span(int argc, char **argv, int i);

/* Runs command (argv[0]) with its arguments on the hosts the remote
 * options (ropts[0..rcount-1]) name; prints and returns the exit code. */
int cli_remote_run(char **ropts, int rcount, int argc, char **argv);

/* gpuctl started by ssh as its SSH_ASKPASS program (remote/askpass.h). */
int cli_remote_askpass(const char *prompt);

/* What one host answered. */
struct cli_remote_host {
    const char *label;            /* as the user wrote it */
    enum remote_status status;
    int exit_code;                /* this host's share of gpuctl's exit code */
    char error[600];              /* one line; "" when ok */
    json_t *doc;                  /* the document it printed (may be set on failure too) */
    struct snapshot *snap;        /* list and select: doc decoded */
    struct audit_summary *summary;/* audit --summary: doc decoded */
};

/* select across hosts: select's arguments checked as cmd_select checks
 * them, minus what only makes sense on this machine.  Implemented in
 * select.c. */
struct cli_select_hosts {
    struct select_constraints k;
    bool uuid;                    /* --format uuid */
    bool processes;               /* --account-as-free: the owners of processes matter */
    void *args;                   /* select.c's own */
};
/* Returns 0, or the exit code after printing the usage error.  Clear with
 * cli_select_hosts_clear either way. */
int cli_select_hosts_parse(int argc, char **argv, struct cli_select_hosts *out);
void cli_select_hosts_clear(struct cli_select_hosts *s);
/* The selection as CUDA_VISIBLE_DEVICES wants it ("0,2"), newly allocated;
 * NULL when a device has no UUID to print in that format or on ENOMEM. */
char *cli_select_ids(const struct select_result *res, bool uuid);

/* list --watch across hosts (remote_watch.c): runs argvs[i] (ssh running
 * `gpuctl list --watch … --output ndjson`) for every host and draws their
 * frames until Ctrl-C or every stream ends.  Returns the exit code: 0, or
 * 1 when a host failed before the stop. */
struct cli_remote_watch {
    const char *const *labels;
    char **const *argvs;
    size_t n;
    char *const *envp;            /* NULL: this process's */
    double interval_secs;         /* the hosts' --watch interval */
    double first_frame_secs;      /* a host's deadline for its first frame */
    bool details, containers, ascii, color;
    bool screen;                  /* draw over the previous frame (a terminal) */
};
int cli_remote_watch(const struct cli_remote_watch *opt);

/* top on one host (remote_top.c): the frames of argv (ssh running
 * `gpuctl list --watch … --details --output ndjson`) for the monitor.
 * argv stays the caller's.  Returns 0 or -errno with e filled. */
struct cli_remote_top;
struct tui_source;
int cli_remote_top_open(struct cli_remote_top **out, const char *label, char **argv,
                        char *const *envp, double first_frame_secs, struct error *e);
const struct tui_source *cli_remote_top_source(struct cli_remote_top *t);
void cli_remote_top_close(struct cli_remote_top *t);          /* accepts NULL */

/* Drawing the answers (remote_show.c).  Each returns 0, or 1 after saying
 * that writing failed; select turns a host without enough devices into a
 * failure. */
int cli_remote_show_list(struct cli_remote_host *hosts, size_t n, bool details,
                         bool containers, bool ascii, bool color, FILE *out);
int cli_remote_show_kill(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                         FILE *out);
int cli_remote_show_reset(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                          FILE *out);
/* The merged summary of the hosts that answered (the others on stderr);
 * with json the document of the merged summary into *merged_doc instead
 * of printing. */
int cli_remote_show_audit(struct cli_remote_host *hosts, size_t n, size_t top, bool json,
                          json_t **merged_doc, FILE *out);
int cli_remote_show_rogue(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                          FILE *out);
int cli_remote_show_policies(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                             FILE *out);
int cli_remote_show_config(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                           FILE *out);
int cli_remote_show_select(struct cli_remote_host *hosts, size_t n,
                           const struct cli_select_hosts *sel, FILE *out);

#endif
