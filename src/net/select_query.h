/* select_query.h - GET /api/v1/select's query string read as the options
 * of `gpuctl select`.
 *
 * Each parameter is a long option of select's table (`count`,
 * `min_free_memory` or `min-free-memory`, `max_gpu_utilization`, ...),
 * checked by that table as the command line is, so a bad value is refused
 * with the sentence the CLI prints.  Called on a server thread; keeps no
 * state.
 */
#ifndef GPUCTL_NET_SELECT_QUERY_H
#define GPUCTL_NET_SELECT_QUERY_H

#include <stdbool.h>

#include "core/error.h"
#include "core/options.h"
#include "net/http.h"
#include "ops/select.h"

#define SELECT_QUERY_MAX_USERS 32

struct select_query {
    struct select_constraints c;
    bool uuid;                                  /* format=uuid */
    const char *users[SELECT_QUERY_MAX_USERS];  /* account_as_free, into users_buf */
    char users_buf[1024];
};

/* Fills q from req's query against table (select's option table) the way
 * `gpuctl select` reads its command line: count wins over min_count and
 * max_count, no maximum unless one is given.  self_user is whom
 * account_as_free without a name means.  The MCP tool's names min_free_gb
 * (GiB) and max_util_pct are taken too.  Options that shape printed output
 * or wait (sep, newline, null, wait) are refused: the answer is a
 * document.  Returns 0, or -EINVAL with e naming the parameter. */
int select_query_read(const struct options_command *table, const struct http_request *req,
                      const char *self_user, struct select_query *q, struct error *e);

#endif
