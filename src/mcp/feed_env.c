/* feed_env.c - GPU state for the MCP tools from a feed (see feed_env.h):
 * the newest frame for reads, a frame begun after the request for
 * actions, and the feed's own error when it has none to give.
 */
#include <errno.h>
#include <time.h>

#include "mcp/feed_env.h"

static double interval_s(const struct config *cfg)
{
    return cfg && cfg->watch_interval_secs > 0 ? cfg->watch_interval_secs : 1;
}

int mcp_feed_env_start(struct mcp_feed_env *fe, struct error *e)
{
    if (!fe->start_tried && !fe->feed) {
        fe->start_tried = true;
        const struct config *cfg = fe->env.cfg;
        const struct feed_options fo = {
            .interval_s = interval_s(cfg),
            .snap = {.processes = true, .host_processes = true,
                     .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE},
            .timeout_s = cfg ? cfg->default_timeout_secs : 5,
            .cache_identities = true,
        };
        if (feed_start(&fe->feed, &fo, &fe->start_error) < 0)
            fe->feed = NULL;
        fe->own = fe->feed != NULL;
    }
    if (fe->feed)
        return 0;
    *e = fe->start_error;
    return e->code ? e->code : -ENODEV;
}

void mcp_feed_env_clear(struct mcp_feed_env *fe)
{
    if (fe && fe->own)
        feed_stop(fe->feed);
    if (fe)
        fe->feed = NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t latest_seq(struct feed *f)
{
    struct feed_frame *fr = feed_latest(f);
    uint64_t seq = fr ? fr->seq : 0;
    feed_frame_unref(fr);
    return seq;
}

/* Waits on a subscription of its own for a frame numbered need or later,
 * not stale when fresh. */
static struct feed_frame *wait_for(struct feed *feed, uint64_t need, bool fresh, double limit,
                                   struct error *e)
{
    struct feed_sub *sub;
    if (feed_subscribe(feed, &sub, e) < 0)
        return NULL;
    double deadline = now_s() + limit;
    struct feed_frame *f = feed_sub_take(sub);
    feed_kick(feed);
    for (double left = limit; !(f && f->seq >= need && !(fresh && f->stale));
         left = deadline - now_s()) {
        feed_frame_unref(f);
        f = NULL;
        if (left <= 0) {
            error_set(e, -ETIMEDOUT, "the GPU sources gave no %sdata within %g s",
                      fresh ? "fresh " : "", limit);
            break;
        }
        f = feed_sub_wait(sub, (int)(left * 1000) + 1);
        if (!f && feed_sub_error(sub, e) < 0)
            break;
        if (!f || f->seq < need)
            feed_kick(feed);
    }
    feed_unsubscribe(sub);
    return f;
}

/* A frame for a read (the newest), or for an action (fresh: one whose pass
 * began after now).  NULL with e filled when none comes within
 * default_timeout_secs and one interval. */
static struct feed_frame *frame_for(struct mcp_feed_env *fe, bool fresh, struct error *e)
{
    const struct config *cfg = fe->env.cfg;
    double limit = (cfg ? cfg->default_timeout_secs : 5) + interval_s(cfg);
    if (!fresh) {
        struct feed_frame *f = feed_latest(fe->feed);
        return f ? f : wait_for(fe->feed, 1, false, limit, e);
    }
    /* A pass already running began before the request: its frame is not
     * fresh, the one after it is. */
    struct feed_status st;
    feed_status(fe->feed, &st);
    return wait_for(fe->feed, latest_seq(fe->feed) + (st.busy ? 2 : 1), true, limit, e);
}

static int take_snapshot(void *arg, bool fresh, const struct snapshot **out, void **token,
                         struct error *e)
{
    struct mcp_feed_env *fe = arg;
    *out = NULL;
    *token = NULL;
    int rc = mcp_feed_env_start(fe, e);
    if (rc < 0)
        return rc;
    struct feed_frame *f = frame_for(fe, fresh, e);
    if (!f)
        return e->code ? e->code : -ETIMEDOUT;
    *out = f->snap;
    *token = f;
    return 0;
}

static void release_snapshot(void *arg, void *token)
{
    (void)arg;
    feed_frame_unref(token);
}

void mcp_feed_env_init(struct mcp_feed_env *fe, struct feed *feed, const struct config *cfg,
                       const struct options_command *(*tables)(const char *command))
{
    *fe = (struct mcp_feed_env){
        .env = {.snapshot = take_snapshot, .release = release_snapshot, .ctx = fe,
                .options_table = tables, .cfg = cfg},
        .feed = feed,
    };
}
