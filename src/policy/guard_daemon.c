/* guard_daemon.c - the enforcement loop of `gpuctl guard run`.
 *
 * The loop keeps one record per offending process (pid and start time):
 * when it was first seen violating, whether it was warned, and which
 * (policy, rule) pairs were already stored, so the database gets each
 * violation once and each action once, not once per interval.  A process
 * that stops violating, or exits, is forgotten; if it violates again its
 * grace period starts over.  Evaluation is guard_eval.c's, delivery of
 * warnings guard_notify.c's (webhooks through guard_webhook.c's worker,
 * whose outcomes are recorded here, on the loop's thread, which alone
 * uses the database), signalling ops/kill's.  Snapshots come from a feed
 * subscription (src/feed); a stale frame (the driver has not answered
 * within the sample timeout) is old data and is not acted on.
 *
 * guard.toml is watched between checks, every quarter second: a change is
 * taken once the file has settled (identical on two looks in a row, so a
 * file written in place is not read half-written), and it is also read
 * again if it changed while being read.  A missing, empty or refused file
 * leaves the policies in force and is reported once per change.
 */
#include "policy/guard_daemon.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/snapshot.h"
#include "core/str.h"
#include "feed/feed.h"
#include "ops/kill.h"
#include "policy/guard_notify.h"
#include "policy/guard_webhook.h"

/* How often guard.toml, SIGHUP and webhook outcomes are looked at. */
#define WATCH_PERIOD_S 0.25

struct tracked {
    pid_t pid;
    uint64_t start_ticks;
    double first_seen;               /* monotonic seconds */
    bool warned;
    bool ended;                      /* terminate attempted (or logged, in dry run) */
    bool present;                    /* violating in this round */
    int64_t violation_id;            /* the first stored violation, for actions */
    char (*keys)[128];               /* "policy|rule" already stored */
    size_t key_count;
};

struct daemon {
    const struct guard_daemon_options *o;
    struct guard_config cfg;
    bool have_cfg;
    struct stat cfg_stat;            /* the file last judged ({0}: none was there) */
    struct stat seen;                /* a change seen once, not yet settled */
    bool seen_valid;
    bool said_gone;                  /* the file's absence is reported */
    size_t device_count;
    struct guard_webhook *hooks;     /* started at the first webhook */
    struct feed *feed;
    struct feed_sub *sub;
    struct tracked *tracked;
    size_t tracked_count;
    bool said_disabled;
};

/* ---- small helpers ------------------------------------------------------------------ */

static void say(const struct daemon *d, enum guard_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const struct daemon *d, enum guard_log_level level, const char *fmt, ...)
{
    if (!d->o->log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->o->log(d->o->log_arg, level, msg);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void guard_clock_now(struct guard_clock *out)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    out->wday = tm.tm_wday;
    out->minute = tm.tm_hour * 60 + tm.tm_min;
}

int guard_clock_parse(const char *text, struct guard_clock *out)
{
    struct tm tm = {0};
    int y, mo, dd, h, mi, s = 0, used = 0;
    char sep;
    int n = sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n:%2d%n", &y, &mo, &dd, &sep, &h, &mi, &used, &s,
                   &used);
    if (n < 6 || (sep != 'T' && sep != ' ') || text[used] != '\0' || mo < 1 || mo > 12 ||
        dd < 1 || dd > 31 || h > 23 || mi > 59 || s > 60)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = dd;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    if (mktime(&tm) == (time_t)-1)
        return -EINVAL;
    out->wday = tm.tm_wday;
    out->minute = h * 60 + mi;
    return 0;
}

/* ---- configuration ---------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The policies at start: a bad file is an error, a missing one gives the
 * defaults (disabled). */
static int load_first(struct daemon *d, struct error *e)
{
    struct stat st = {0};
    bool exists = stat(d->o->config_path, &st) == 0;
    int rc = guard_config_load(&d->cfg, d->o->config_path, true, NULL, e);
    if (rc == 0 &&
        (rc = guard_config_check_gpus(&d->cfg, d->device_count, d->o->config_path, e)) < 0)
        guard_config_free(&d->cfg);
    if (rc < 0)
        return rc;
    d->have_cfg = true;
    d->cfg_stat = exists ? st : (struct stat){0};
    return 0;
}

/* Reads the file that st describes and takes its policies when they are
 * valid; otherwise says why and keeps those in force. */
static void take_file(struct daemon *d, const struct stat *st, const char *why)
{
    const char *path = d->o->config_path;
    if (st->st_size == 0) {
        d->cfg_stat = *st;
        say(d, GUARD_LOG_ERROR, "%s is empty (keeping the policies in force)", path);
        return;
    }
    struct error e = {0};
    struct guard_config next;
    int rc = guard_config_load(&next, path, false, NULL, &e);
    if (rc == 0 && (rc = guard_config_check_gpus(&next, d->device_count, path, &e)) < 0)
        guard_config_free(&next);
    struct stat after;
    if (stat(path, &after) != 0 || !same_file(&after, st)) {
        /* written while we read it: judge it once it has settled */
        if (rc == 0)
            guard_config_free(&next);
        return;
    }
    d->cfg_stat = *st;
    if (rc < 0) {
        say(d, GUARD_LOG_ERROR, "%s (keeping the policies in force)", e.msg);
        return;
    }
    guard_config_free(&d->cfg);
    d->cfg = next;
    d->said_disabled = false;
    say(d, GUARD_LOG_INFO, "reloaded %s%s", path, why);
}

/* One look at guard.toml; force (SIGHUP) reads it now, settled or not. */
static void watch_config(struct daemon *d, bool force)
{
    struct stat st;
    if (stat(d->o->config_path, &st) != 0) {
        int err = errno;
        d->seen_valid = false;
        if (force || (!d->said_gone && d->cfg_stat.st_ino != 0))
            say(d, GUARD_LOG_ERROR, "cannot read %s: %s (keeping the policies in force until "
                "a valid file is there)", d->o->config_path, strerror(err));
        d->said_gone = true;
        return;
    }
    d->said_gone = false;
    if (!force && same_file(&st, &d->cfg_stat)) {
        d->seen_valid = false;
        return;
    }
    if (!force && !(d->seen_valid && same_file(&st, &d->seen))) {
        d->seen = st;           /* still changing, or just changed: look again */
        d->seen_valid = true;
        return;
    }
    d->seen_valid = false;
    take_file(d, &st, force ? " (SIGHUP)" : "");
}

/* ---- tracking ------------------------------------------------------------------------ */

static struct tracked *track(struct daemon *d, const struct guard_violation *v, double now)
{
    for (size_t i = 0; i < d->tracked_count; i++)
        if (d->tracked[i].pid == v->pid && d->tracked[i].start_ticks == v->start_ticks)
            return &d->tracked[i];
    struct tracked *grown = realloc(d->tracked, (d->tracked_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    d->tracked = grown;
    struct tracked *t = &d->tracked[d->tracked_count++];
    *t = (struct tracked){.pid = v->pid, .start_ticks = v->start_ticks, .first_seen = now};
    return t;
}

static void forget_absent(struct daemon *d)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->tracked_count; i++) {
        if (d->tracked[i].present) {
            d->tracked[i].present = false;
            d->tracked[kept++] = d->tracked[i];
        } else {
            free(d->tracked[i].keys);
        }
    }
    d->tracked_count = kept;
}

/* Stores v unless this process's (policy, rule) is already stored. */
static void store_violation(struct daemon *d, struct tracked *t, const struct guard_violation *v)
{
    char key[128];
    snprintf(key, sizeof key, "%s|%s", v->policy, v->rule);
    for (size_t i = 0; i < t->key_count; i++)
        if (strcmp(t->keys[i], key) == 0)
            return;
    char (*grown)[128] = realloc(t->keys, (t->key_count + 1) * sizeof *grown);
    if (!grown)
        return;
    t->keys = grown;
    str_copy(t->keys[t->key_count++], sizeof key, key);
    say(d, GUARD_LOG_WARN, "violation: %s %s: pid %d (%s, user %s): %s", v->policy, v->rule,
        (int)v->pid, v->name, v->user, v->detail);
    if (!d->o->store)
        return;
    struct error e = {0};
    int64_t id = 0;
    if (policy_store_violation(d->o->store, v, wall_now(), &id, &e) < 0)
        say(d, GUARD_LOG_ERROR, "cannot store the violation: %s", e.msg);
    else if (!t->violation_id)
        t->violation_id = id;
}

static void record(struct daemon *d, const struct tracked *t, const char *action, bool dry,
                   bool ok, const char *message)
{
    if (!d->o->store)
        return;
    struct error e = {0};
    if (policy_store_action(d->o->store, t->violation_id, action, dry, ok, message, wall_now(),
                            &e) < 0)
        say(d, GUARD_LOG_ERROR, "cannot store the action: %s", e.msg);
}

/* ---- actions ------------------------------------------------------------------------- */

static char *webhook_body(const struct daemon *d, const struct guard_violation *v,
                          const char *action)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:f, s:s}", "event",
                            "guard_violation", "action", action, "policy", v->policy, "rule",
                            v->rule, "pid", (int)v->pid, "user", v->user, "process",
                            v->name, "detail", v->detail, "grace_period_secs",
                            d->cfg.grace_period_secs, "enforcement",
                            d->cfg.enforcement == GUARD_HARD ? "hard" : "soft");
    if (!doc)
        return NULL;
    json_object_set_new(doc, "gpu", v->gpu >= 0 ? json_integer(v->gpu) : json_null());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* Hands the POST to the worker; its outcome is recorded when collected. */
static void queue_webhook(struct daemon *d, struct tracked *t, const struct guard_violation *v)
{
    struct error e = {0};
    char *body = webhook_body(d, v, "warn");
    long timeout = d->o->webhook_timeout_s > 0 ? d->o->webhook_timeout_s : 5;
    int rc = body ? 0 : error_set(&e, -ENOMEM, "out of memory");
    if (rc == 0 && !d->hooks)
        rc = guard_webhook_start(&d->hooks, timeout, &e);
    if (rc == 0)
        rc = guard_webhook_post(d->hooks, d->cfg.webhook_url, body, t->violation_id, &e);
    free(body);
    if (rc < 0) {
        say(d, GUARD_LOG_ERROR, "%s", e.msg);
        record(d, t, "webhook", false, false, e.msg);
    }
}

/* Logs and records the webhook outcomes the worker has finished. */
static void collect_webhooks(struct daemon *d)
{
    struct guard_webhook_result done[16];
    size_t n;
    while (d->hooks && (n = guard_webhook_collect(d->hooks, done, 16)) > 0)
        for (size_t i = 0; i < n; i++) {
            if (!done[i].ok)
                say(d, GUARD_LOG_ERROR, "%s", done[i].message);
            struct error e = {0};
            if (d->o->store && done[i].tag &&
                policy_store_action(d->o->store, done[i].tag, "webhook", false, done[i].ok,
                                    done[i].message, wall_now(), &e) < 0)
                say(d, GUARD_LOG_ERROR, "cannot store the action: %s", e.msg);
        }
}

static void warn(struct daemon *d, struct tracked *t, const struct guard_violation *v)
{
    char msg[600];
    snprintf(msg, sizeof msg, "process %d (%s) of user %s breaks %s (%s): %s; it will be ended "
             "if this lasts %g s more", (int)v->pid, v->name, v->user, v->policy, v->rule,
             v->detail, d->cfg.grace_period_secs);
    say(d, GUARD_LOG_WARN, "warning: %s", msg);
    record(d, t, "warn", false, true, msg);
    if (d->cfg.syslog) {
        guard_notify_syslog(msg);
        record(d, t, "syslog", false, true, NULL);
    }
    struct error e = {0};
    if (d->cfg.webhook_url[0])
        queue_webhook(d, t, v);
    if (d->cfg.notify_terminals) {
        size_t written = 0;
        char note[128];
        int rc = guard_notify_terminals(v->user, v->pid, msg, &written, &e);
        snprintf(note, sizeof note, "%zu terminal%s", written, written == 1 ? "" : "s");
        record(d, t, "terminal", false, rc == 0, rc == 0 ? note : e.msg);
    }
    t->warned = true;
}

static void terminate(struct daemon *d, struct tracked *t, const struct guard_violation *v)
{
    t->ended = true;
    struct kill_set set;
    struct error e = {0};
    char msg[600];
    bool ok = false;
    int rc = kill_set_init(&set, &e);
    if (rc == 0)
        rc = kill_set_add(&set, v->pid, v->start_ticks, KILL_ROLE_TARGET, 0, &e);
    if (rc == -ESRCH || rc == -ESTALE) {
        snprintf(msg, sizeof msg, "pid %d had already exited", (int)v->pid);
        ok = true;
    } else if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", e.msg);
    } else if (kill_set_check(&set, false) > 0) {
        snprintf(msg, sizeof msg, "refused: %s", set.items[0].refusal.msg);
    } else {
        struct kill_run_options ko = {.signal = SIGTERM, .force = true,
                                      .timeout_ms = d->o->kill_timeout_ms ? d->o->kill_timeout_ms
                                                                         : 5000};
        rc = kill_set_run(&set, &ko, &e);
        const struct kill_entry *en = &set.items[0];
        ok = rc == 0 && (en->outcome == KILL_OUTCOME_TERMINATED ||
                         en->outcome == KILL_OUTCOME_KILLED);
        snprintf(msg, sizeof msg, "pid %d (%s) %s%s%s", (int)v->pid, v->name,
                 kill_outcome_name(en->outcome), en->failure.msg[0] ? ": " : "",
                 en->failure.msg);
    }
    kill_set_free(&set);
    say(d, ok ? GUARD_LOG_WARN : GUARD_LOG_ERROR, "terminate: %s", msg);
    record(d, t, "terminate", false, ok, msg);
}

static void act(struct daemon *d, struct tracked *t, const struct guard_violation *v,
                double now)
{
    bool hard = d->cfg.enforcement == GUARD_HARD;
    bool grace_over = now - t->first_seen >= d->cfg.grace_period_secs;
    if (!hard && grace_over && !t->ended)
        say(d, GUARD_LOG_WARN, "pid %d (%s) still breaks %s after the %g s grace period: "
            "escalating to hard enforcement", (int)v->pid, v->name, v->policy,
            d->cfg.grace_period_secs);
    bool end = hard || grace_over;
    if (d->cfg.dry_run) {
        if (end && !t->ended) {
            char msg[400];
            snprintf(msg, sizeof msg, "would terminate pid %d (%s, user %s): %s %s", (int)v->pid,
                     v->name, v->user, v->policy, v->rule);
            say(d, GUARD_LOG_WARN, "dry run: %s", msg);
            record(d, t, "terminate", true, true, msg);
            t->ended = true;
        } else if (!end && !t->warned) {
            char msg[400];
            snprintf(msg, sizeof msg, "would warn user %s about pid %d (%s): %s %s", v->user,
                     (int)v->pid, v->name, v->policy, v->rule);
            say(d, GUARD_LOG_WARN, "dry run: %s", msg);
            record(d, t, "warn", true, true, msg);
            t->warned = true;
        }
        return;
    }
    if (end && !t->ended)
        terminate(d, t, v);
    else if (!end && !t->warned)
        warn(d, t, v);
}

/* ---- one round ----------------------------------------------------------------------- */

static void round_once(struct daemon *d, const struct snapshot *snap)
{
    struct error e = {0};
    d->device_count = snap->device_count;
    if (!d->cfg.enabled) {
        if (!d->said_disabled)
            say(d, GUARD_LOG_INFO, "guard is disabled in %s (gpuctl guard --enable); "
                "watching the file", d->o->config_path);
        d->said_disabled = true;
        return;
    }
    struct guard_clock clock;
    if (d->o->fixed_clock)
        clock = *d->o->fixed_clock;
    else
        guard_clock_now(&clock);
    struct guard_violations vs;
    if (guard_evaluate(&d->cfg, snap, &clock, &vs, &e) < 0) {
        say(d, GUARD_LOG_ERROR, "%s", e.msg);
        return;
    }
    double now = mono_now();
    for (size_t i = 0; i < vs.count; i++) {
        struct tracked *t = track(d, &vs.items[i], now);
        if (!t) {
            say(d, GUARD_LOG_ERROR, "out of memory tracking violations");
            break;
        }
        t->present = true;
        store_violation(d, t, &vs.items[i]);
        act(d, t, &vs.items[i], now);
    }
    say(d, GUARD_LOG_DEBUG, "checked %zu GPU processes: %zu violations", snap->gproc_count,
        vs.count);
    forget_absent(d);
    guard_violations_free(&vs);
}

/* What happens between checks: SIGHUP, guard.toml, webhook outcomes. */
static void between_rounds(struct daemon *d)
{
    bool force = d->o->reload && *d->o->reload;
    if (force)
        *d->o->reload = 0;
    watch_config(d, force);
    collect_webhooks(d);
}

static bool stopped(const struct daemon *d)
{
    return d->o->stop && *d->o->stop;
}

static double interval_s(const struct daemon *d)
{
    return d->o->interval_override_s > 0 ? d->o->interval_override_s
                                         : d->cfg.check_interval_secs;
}

/* A fresh frame, or NULL when this wait found none: a stale frame is
 * reported and dropped, a failed sample reported (*failed set). */
static struct feed_frame *take_fresh(struct daemon *d, int wait_ms, bool *failed)
{
    struct feed_frame *fr = feed_sub_wait(d->sub, wait_ms);
    struct error e = {0};
    if (!fr && feed_sub_error(d->sub, &e) < 0) {
        say(d, GUARD_LOG_ERROR, "snapshot failed: %s", e.msg);
        *failed = true;
    }
    if (fr && fr->stale) {
        say(d, GUARD_LOG_WARN, "no check this interval: the GPU driver has not answered "
            "for %.0f s", fr->stale_for_s);
        feed_frame_unref(fr);
        return NULL;
    }
    return fr;
}

/* The next fresh frame, or NULL when told to stop (or, with once, when the
 * sample failed).  Until it comes: with between, SIGHUP, guard.toml and
 * webhook outcomes every WATCH_PERIOD_S, and the interval guard.toml sets. */
static struct feed_frame *next_frame(struct daemon *d, bool between)
{
    double next_look = 0;
    while (!stopped(d)) {
        double now = mono_now();
        if (between && (now >= next_look || (d->o->reload && *d->o->reload))) {
            between_rounds(d);
            struct error ignored = {0};
            (void)feed_set_interval(d->feed, interval_s(d), &ignored);   /* checked: > 0 */
            next_look = now + WATCH_PERIOD_S;
        }
        bool failed = false;
        struct feed_frame *fr = take_fresh(d, 50, &failed);
        if (fr || (failed && d->o->once))
            return fr;
    }
    return NULL;
}

/* The feed, at the override or the default interval until guard.toml
 * (which needs the number of GPUs) is read; then at its interval. */
static int start_feed(struct daemon *d, struct error *e)
{
    const struct feed_options fo = {
        .interval_s = d->o->interval_override_s > 0 ? d->o->interval_override_s
                                                    : GUARD_DEFAULT_INTERVAL_S,
        .snap = {.processes = true, .host_processes = true,
                 .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE},
        .timeout_s = d->o->sample_timeout_s,
    };
    int rc = feed_start(&d->feed, &fo, e);
    if (rc == 0)
        rc = feed_subscribe(d->feed, &d->sub, e);
    return rc;
}

/* One guard per guard.toml: a second would double every warning, action
 * and record. */
static int lock_config(struct daemon *d, int *fd, struct error *e)
{
    char lock_path[4200], what[4200];
    if (snprintf(lock_path, sizeof lock_path, "%s.lock", d->o->config_path) >=
        (int)sizeof lock_path)
        return error_set(e, -ENAMETOOLONG, "path too long: %s", d->o->config_path);
    snprintf(what, sizeof what, "a guard for %s", d->o->config_path);
    return policy_lock_file(lock_path, what, fd, e);
}

int guard_daemon_run(const struct guard_daemon_options *o, struct error *e)
{
    struct daemon d = {.o = o};
    int lock_fd = -1;
    int rc = lock_config(&d, &lock_fd, e);
    if (rc == 0)
        rc = start_feed(&d, e);
    struct feed_frame *fr = rc == 0 ? next_frame(&d, false) : NULL;
    if (fr) {
        d.device_count = fr->snap->device_count;
        rc = load_first(&d, e);
    }
    if (rc == 0 && fr)
        rc = feed_set_interval(d.feed, interval_s(&d), e);
    if (rc == 0 && fr)
        say(&d, GUARD_LOG_INFO, "guard running: %s, %s enforcement%s, every %g s, grace %g s",
            o->config_path, d.cfg.enforcement == GUARD_HARD ? "hard" : "soft",
            d.cfg.dry_run ? " (dry run)" : "", interval_s(&d), d.cfg.grace_period_secs);
    while (rc == 0 && fr) {
        round_once(&d, fr->snap);
        feed_frame_unref(fr);
        fr = o->once ? NULL : next_frame(&d, true);
    }
    feed_frame_unref(fr);
    feed_unsubscribe(d.sub);
    feed_stop(d.feed);
    /* --once delivers its webhooks; a stopped daemon cancels what is left */
    guard_webhook_stop(d.hooks, o->once);
    collect_webhooks(&d);
    guard_webhook_free(d.hooks);
    for (size_t i = 0; i < d.tracked_count; i++)
        free(d.tracked[i].keys);
    free(d.tracked);
    if (d.have_cfg)
        guard_config_free(&d.cfg);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
