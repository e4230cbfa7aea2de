/* guard_daemon.c - the enforcement loop of `gpuctl guard run`.
 *
 * The loop keeps one record per offending process (pid and start time):
 * when it was first seen violating, whether it was warned, and which
 * (policy, rule) pairs were already stored, so the database gets each
 * violation once and each action once, not once per interval.  A process
 * that stops violating, or exits, is forgotten; if it violates again its
 * grace period starts over.  Evaluation is guard_eval.c's, delivery of
 * warnings guard_notify.c's, signalling ops/kill's.
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
#include "ops/kill.h"
#include "policy/guard_notify.h"

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
    struct stat cfg_stat;
    struct snapshot_ctx *sctx;
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

static bool file_changed(const struct daemon *d, const struct stat *st)
{
    return st->st_ino != d->cfg_stat.st_ino || st->st_size != d->cfg_stat.st_size ||
           st->st_mtim.tv_sec != d->cfg_stat.st_mtim.tv_sec ||
           st->st_mtim.tv_nsec != d->cfg_stat.st_mtim.tv_nsec ||
           st->st_ctim.tv_nsec != d->cfg_stat.st_ctim.tv_nsec;
}

/* Loads the file when it changed.  At start a bad file is an error; later
 * it is reported and the policies in force stay. */
static int reload(struct daemon *d, size_t device_count, struct error *e)
{
    struct stat st = {0};
    bool exists = stat(d->o->config_path, &st) == 0;
    if (d->have_cfg && exists && !file_changed(d, &st))
        return 0;
    if (d->have_cfg && !exists && d->cfg_stat.st_ino == 0)
        return 0;
    struct guard_config next;
    int rc = guard_config_load(&next, d->o->config_path, true, NULL, e);
    if (rc == 0 && (rc = guard_config_check_gpus(&next, device_count, d->o->config_path, e)) < 0)
        guard_config_free(&next);
    if (rc < 0) {
        if (!d->have_cfg)
            return rc;
        say(d, GUARD_LOG_ERROR, "%s (keeping the policies in force)", e->msg);
        d->cfg_stat = st;
        return 0;
    }
    if (d->have_cfg) {
        guard_config_free(&d->cfg);
        say(d, GUARD_LOG_INFO, "reloaded %s", d->o->config_path);
    }
    d->cfg = next;
    d->have_cfg = true;
    d->cfg_stat = exists ? st : (struct stat){0};
    d->said_disabled = false;
    return 0;
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
    if (d->cfg.webhook_url[0]) {
        char *body = webhook_body(d, v, "warn");
        int rc = body ? guard_notify_webhook(d->cfg.webhook_url, body, 10, &e)
                      : error_set(&e, -ENOMEM, "out of memory");
        free(body);
        if (rc < 0)
            say(d, GUARD_LOG_ERROR, "%s", e.msg);
        record(d, t, "webhook", false, rc == 0, rc == 0 ? d->cfg.webhook_url : e.msg);
    }
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

static void round_once(struct daemon *d)
{
    struct error e = {0};
    struct snapshot *snap = NULL;
    struct snapshot_options so = {.processes = true, .host_processes = true,
                                  .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    if (snapshot_take(d->sctx, &so, &snap, &e) < 0) {
        say(d, GUARD_LOG_ERROR, "snapshot failed: %s", e.msg);
        return;
    }
    if (reload(d, snap->device_count, &e) < 0)
        say(d, GUARD_LOG_ERROR, "%s", e.msg);
    if (!d->cfg.enabled) {
        if (!d->said_disabled)
            say(d, GUARD_LOG_INFO, "guard is disabled in %s (gpuctl guard --enable); "
                "watching the file", d->o->config_path);
        d->said_disabled = true;
        snapshot_free(snap);
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
        snapshot_free(snap);
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
    snapshot_free(snap);
}

static void pause_for(const struct daemon *d, double seconds)
{
    double until = mono_now() + seconds;
    while (!(d->o->stop && *d->o->stop)) {
        double left = until - mono_now();
        if (left <= 0)
            break;
        double step = left < 0.1 ? left : 0.1;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e9)};
        nanosleep(&ts, NULL);
    }
}

int guard_daemon_run(const struct guard_daemon_options *o, struct error *e)
{
    struct daemon d = {.o = o};
    int rc = snapshot_ctx_open(&d.sctx, e);
    struct snapshot *snap = NULL;
    struct snapshot_options so = {0};
    if (rc == 0)
        rc = snapshot_take(d.sctx, &so, &snap, e);
    if (rc == 0)
        rc = reload(&d, snap->device_count, e);
    snapshot_free(snap);
    if (rc == 0)
        say(&d, GUARD_LOG_INFO, "guard running: %s, %s enforcement%s, every %g s, grace %g s",
            o->config_path, d.cfg.enforcement == GUARD_HARD ? "hard" : "soft",
            d.cfg.dry_run ? " (dry run)" : "",
            o->interval_override_s > 0 ? o->interval_override_s : d.cfg.check_interval_secs,
            d.cfg.grace_period_secs);
    while (rc == 0 && !(o->stop && *o->stop)) {
        round_once(&d);
        if (o->once)
            break;
        pause_for(&d, o->interval_override_s > 0 ? o->interval_override_s
                                                 : d.cfg.check_interval_secs);
    }
    for (size_t i = 0; i < d.tracked_count; i++)
        free(d.tracked[i].keys);
    free(d.tracked);
    if (d.have_cfg)
        guard_config_free(&d.cfg);
    snapshot_ctx_close(d.sctx);
    return rc;
}
