/* stdio.c - MCP over stdin and stdout: splits the input into lines, hands
 * each to the server (mcp/server.c) and writes each answer as one line.
 *
 * The transport reads what is there, then acts on the cancellations among
 * the whole lines it holds before anything else, so a request cancelled
 * while it still waited in the pipe is never run (and never answered, as
 * notifications/cancelled asks).  Logging is the front end's, on stderr.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/jsonrpc.h"
#include "mcp/stdio.h"

struct line_buf {
    char *data;
    size_t len, cap;
    bool skipping;          /* inside a line that was too long, up to its newline */
};

static int write_all(int fd, const char *p, size_t n, struct error *e)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return error_set(e, -errno, "cannot write an MCP message to stdout: %s",
                             strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_reply(int fd, char *reply, size_t len, struct error *e)
{
    if (!reply)
        return 0;
    /* The text and its newline in one write, so a reader never sees half. */
    char *line = realloc(reply, len + 1);
    if (!line) {
        free(reply);
        return error_set(e, -ENOMEM, "out of memory writing an MCP message");
    }
    line[len] = '\n';
    int rc = write_all(fd, line, len + 1, e);
    free(line);
    return rc;
}

static int handle_line(struct mcp_server *s, int out_fd, const char *p, size_t n,
                       struct error *e)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == n)
        return 0;             /* blank lines separate nothing; they are skipped */
    char *reply;
    size_t len;
    if (mcp_server_handle(s, p, n, &reply, &len) < 0)
        return error_set(e, -ENOMEM, "out of memory answering an MCP message");
    return send_reply(out_fd, reply, len, e);
}

static int refuse_long_line(int out_fd, struct error *e)
{
    json_t *m = mcp_rpc_error(NULL, MCP_RPC_INVALID_REQUEST,
                              "message is larger than the limit of 4194304 bytes", NULL);
    size_t len = 0;
    char *text = m ? mcp_rpc_dump(m, &len) : NULL;
    json_decref(m);
    if (!text)
        return error_set(e, -ENOMEM, "out of memory answering an MCP message");
    return send_reply(out_fd, text, len, e);
}

/* Cancellations first (see the top of the file): each whole line that may
 * be one is handled now and blanked, so the pass in order skips it. */
static int cancellations_first(struct mcp_server *s, struct line_buf *b, int out_fd,
                               struct error *e)
{
    char *p = b->data, *end = b->data + b->len;
    char *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
        if (mcp_server_maybe_cancel(p, (size_t)(nl - p))) {
            int rc = handle_line(s, out_fd, p, (size_t)(nl - p), e);
            if (rc < 0)
                return rc;
            memset(p, ' ', (size_t)(nl - p));
        }
        p = nl + 1;
    }
    return 0;
}

/* Handles every whole line in b and keeps the unfinished rest. */
static int drain(struct mcp_server *s, struct line_buf *b, int out_fd, struct error *e)
{
    int rc = b->skipping ? 0 : cancellations_first(s, b, out_fd, e);
    char *p = b->data, *end = b->data + b->len;
    char *nl;
    while (rc == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
        if (b->skipping)
            b->skipping = false;
        else
            rc = handle_line(s, out_fd, p, (size_t)(nl - p), e);
        p = nl + 1;
    }
    b->len = (size_t)(end - p);
    memmove(b->data, p, b->len);
    if (rc == 0 && b->len > MCP_RPC_MAX_MESSAGE) {
        /* A line this long is refused now, and the rest of it dropped. */
        b->len = 0;
        if (!b->skipping)
            rc = refuse_long_line(out_fd, e);
        b->skipping = true;
    }
    return rc;
}

int mcp_stdio_run(struct mcp_server *s, int in_fd, int out_fd, struct error *e)
{
    struct line_buf b = {0};
    int rc = 0;
    for (;;) {
        if (b.cap - b.len < 65536) {
            size_t cap = b.cap ? b.cap * 2 : 65536;
            char *d = realloc(b.data, cap);
            if (!d) {
                rc = error_set(e, -ENOMEM, "out of memory reading MCP messages");
                break;
            }
            b.data = d;
            b.cap = cap;
        }
        ssize_t n = read(in_fd, b.data + b.len, b.cap - b.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = error_set(e, -errno, "cannot read MCP messages from stdin: %s",
                           strerror(errno));
            break;
        }
        if (n == 0) {
            /* A last message without its newline still counts. */
            if (b.len > 0 && !b.skipping)
                rc = handle_line(s, out_fd, b.data, b.len, e);
            break;
        }
        b.len += (size_t)n;
        if ((rc = drain(s, &b, out_fd, e)) < 0)
            break;
    }
    free(b.data);
    return rc;
}
