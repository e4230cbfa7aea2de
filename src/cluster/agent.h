/* agent.h - `gpuctl agent`: a node that registers with a coordinator and
 * pushes its snapshot document on every frame of the sampling loop.
 *
 * One thread, one request at a time: a push that is slow delays the next
 * one and frames taken meanwhile are dropped (the feed keeps only the
 * newest), so requests never pile up.  A 404 (the coordinator restarted
 * and forgot the node) registers again at once and repeats the push; any
 * other failure waits with exponential back-off and jitter (so a fleet
 * that lost its coordinator does not come back in lock-step).  Each push
 * carries the agent's sequence number (?seq=N, from 1).
 *
 * HTTP goes through libcurl, loaded on first use (core/curl_load.h).
 * Nothing here prints: what happens is told through the log callback.
 */
#ifndef GPUCTL_CLUSTER_AGENT_H
#define GPUCTL_CLUSTER_AGENT_H

#include <stddef.h>

#include "cluster/registry.h"
#include "core/config.h"
#include "core/error.h"
#include "feed/feed.h"

struct cluster_agent_options {
    const char *coordinator;           /* base URL, "http://host:port" */
    const char *token;                 /* bearer token; NULL: none */
    const char *node_id;               /* NULL: cluster_agent_machine_id */
    const char *api_url;               /* this node's gpuctl serve, for forwarded actions */
    struct feed_options feed;          /* interval_s: the sampling interval */
    double push_interval_s;            /* at most one push this often; 0: every frame */
    long timeout_s;                    /* per request */
    double backoff_max_s;              /* the longest wait after failures */
    int stop_fd;                       /* cluster_agent_run returns once readable */
    void (*log)(void *cls, enum log_level level, const char *message);
    void *cls;
};

/* The node id from /etc/machine-id (the first 32 hex digits), written into
 * buf.  -ENOENT or -EINVAL with e filled when it cannot be read. */
int cluster_agent_machine_id(char buf[CLUSTER_NODE_ID_MAX], struct error *e);

/* The machine's host name and its addresses (every interface that is up,
 * loopback and IPv6 link-local left out) into info; info->id untouched. */
void cluster_agent_identity(struct cluster_node_info *info);

/* One HTTP request: a POST of body[0..len) as JSON, or a GET when body is
 * NULL, with the bearer token unless NULL, within timeout_s.  *status gets
 * the answer's status, *answer its bytes (NUL-terminated; free it).  -EIO
 * with e filled when no answer came (connection refused, timeout),
 * -ENOMEM, or libcurl's loading error. */
int cluster_http_request(const char *url, const char *token, const char *body, size_t len,
                         long timeout_s, long *status, char **answer, size_t *answer_len,
                         struct error *e);

/* GETs url (with the bearer token unless NULL) within timeout_s; *body
 * receives the answer (NUL-terminated, free it) and *len its length.
 * -EIO with e filled when no answer came or it was not 200 (the error
 * document's message then), -ENOMEM. */
int cluster_http_get(const char *url, const char *token, long timeout_s, char **body,
                     size_t *len, struct error *e);

/* Runs until stop_fd is readable.  Returns 0, or a negative code with e
 * filled when it could not start (no GPU source, libcurl missing, a bad
 * URL or node id).  Failures while running are logged and retried. */
int cluster_agent_run(const struct cluster_agent_options *o, struct error *e);

/* The agent on a thread of its own, pushing the frames of a feed that is
 * someone else's (gpuctl serve --coordinator-url: one sampling loop for the
 * node's API and its pushes).  o's strings and feed must outlive it; its
 * stop_fd is not used.  Returns 0, or a negative code with e filled when
 * the options are wrong or libcurl is missing.  Failures while running are
 * logged and retried; one that ends the thread is logged at LOG_ERROR. */
struct cluster_agent;
/* What cluster_agent_start checks first (the URLs, the node id, the token,
 * libcurl), to refuse bad options before anything starts. */
int cluster_agent_check(const struct cluster_agent_options *o, struct error *e);
int cluster_agent_start(struct cluster_agent **out, const struct cluster_agent_options *o,
                        struct feed *feed, struct error *e);
/* Stops the thread and frees it (before the feed stops).  Accepts NULL. */
void cluster_agent_stop(struct cluster_agent *a);

#endif
