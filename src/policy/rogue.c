/* rogue.c - suspicious-usage detection over the live snapshot and the
 * audit history.
 *
 * The scan first gathers "subjects": each live GPU process, and each
 * process that only the history shows (grouped by pid, user and name).
 * Four detectors then look at every subject that no allow-list covers and
 * add evidence items, each with the confidence it gives alone.  A
 * category's confidence is 1 - prod(1 - c_i) over its items (independent
 * signs reinforce each other but never pass 1); its risk score is that
 * times the category's threat weight.  What is matched is always a whole
 * name (the executable's file name, argv[0]'s, the kernel's comm) or a
 * whole argument, so a path such as /opt/cuda-12/bin/train never counts as
 * a miner.  Reading configuration is rogue_config.c's, /proc facts
 * rogue_facts.c's, and what to print the CLI's.
 */
#include "policy/rogue.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)

/* ---- history ---------------------------------------------------------------------- */

int rogue_history_add(struct rogue_history *h, const struct rogue_sample *s)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct rogue_sample *grown = realloc(h->items, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        h->items = grown;
        h->cap = cap;
    }
    struct rogue_sample *d = &h->items[h->count];
    *d = *s;
    d->cmdline = NULL;
    if (s->cmdline && !(d->cmdline = strdup(s->cmdline)))
        return -ENOMEM;
    h->count++;
    return 0;
}

void rogue_history_free(struct rogue_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        free(h->items[i].cmdline);
    free(h->items);
    *h = (struct rogue_history){0};
}

/* ---- subjects --------------------------------------------------------------------- */

struct subject {
    pid_t pid;
    bool live;
    const struct host_process *host;    /* live only */
    struct rogue_facts facts;           /* live only */
    char user[64], name[64];
    const char *cmdline;                /* borrowed from the snapshot or history */
    int gpu;
    struct opt_u64 mem_bytes;           /* live: now, summed over its GPUs;
                                         * history only: the peak of that sum */
    struct opt_f64 sm_pct;              /* live: summed over its GPUs */
    struct opt_f64 elapsed_s;           /* live: from /proc; history only: from its
                                         * start time (else the first row) to its last row */
    size_t *samples;                    /* indices into the history, by time */
    size_t sample_count;
};

struct scan {
    const struct rogue_config *cfg;
    const struct rogue_input *in;
    struct subject *subjects;
    size_t count;
    struct rogue_report *out;
};

static struct subject *find_subject(struct scan *s, pid_t pid, const char *user, const char *name)
{
    for (size_t i = 0; i < s->count; i++) {
        struct subject *sub = &s->subjects[i];
        if (sub->pid != pid)
            continue;
        /* comm is cut at 15 characters; history names may be longer */
        if (strncmp(sub->name, name, 15) == 0 && (!*user || !*sub->user ||
                                                   strcmp(sub->user, user) == 0))
            return sub;
    }
    return NULL;
}

static void add_live_gpu(struct subject *sub, const struct gpu_process *gp)
{
    if (sub->gpu < 0)
        sub->gpu = gp->device_index;
    if (gp->gpu_mem_bytes.known)
        OPT_SET(sub->mem_bytes, sub->mem_bytes.v + gp->gpu_mem_bytes.v);
    if (gp->sm_pct.known)
        OPT_SET(sub->sm_pct, sub->sm_pct.v + gp->sm_pct.v);
}

static int gather_live(struct scan *s)
{
    const struct snapshot *snap = s->in->snap;
    if (!snap)
        return 0;
    for (size_t i = 0; i < snap->hproc_count; i++) {
        const struct host_process *hp = &snap->hprocs[i];
        if (!hp->exists)
            continue;
        struct subject *sub = &s->subjects[s->count++];
        *sub = (struct subject){.pid = hp->pid, .live = true, .host = hp, .gpu = -1,
                                .cmdline = hp->cmdline};
        str_copy(sub->user, sizeof sub->user, hp->user);
        str_copy(sub->name, sizeof sub->name, hp->name);
        sub->elapsed_s = hp->elapsed_s;
        (s->in->read_facts ? s->in->read_facts : rogue_facts_read)(hp->pid, &sub->facts);
        for (size_t g = 0; g < snap->gproc_count; g++)
            if (snap->gprocs[g].pid == hp->pid)
                add_live_gpu(sub, &snap->gprocs[g]);
    }
    s->out->live_processes = s->count;
    return 0;
}

static int push_sample(struct subject *sub, size_t idx)
{
    size_t *grown = realloc(sub->samples, (sub->sample_count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    sub->samples = grown;
    sub->samples[sub->sample_count++] = idx;
    return 0;
}

static int gather_history(struct scan *s)
{
    const struct rogue_history *h = s->in->history;
    if (!h)
        return 0;
    for (size_t i = 0; i < h->count; i++) {
        const struct rogue_sample *r = &h->items[i];
        struct subject *sub = find_subject(s, r->pid, r->user, r->name);
        if (!sub) {
            sub = &s->subjects[s->count++];
            *sub = (struct subject){.pid = r->pid, .gpu = r->gpu, .cmdline = r->cmdline};
            str_copy(sub->user, sizeof sub->user, r->user);
            str_copy(sub->name, sizeof sub->name, r->name);
            s->out->history_processes++;
        }
        if (!sub->cmdline)
            sub->cmdline = r->cmdline;
        if (push_sample(sub, i) < 0)
            return -ENOMEM;
    }
    s->out->history_rows = h->count;
    return 0;
}

static int by_time(const void *a, const void *b, void *arg)
{
    const struct rogue_history *h = arg;
    double x = h->items[*(const size_t *)a].time, y = h->items[*(const size_t *)b].time;
    return (x > y) - (x < y);
}

/* What the history says of a process that no longer runs: its peak GPU
 * memory (rows of one sample time summed over its GPUs) and how long it
 * ran (from its recorded start, else from its first row, to its last). */
static void history_figures(const struct rogue_history *h, struct subject *sub)
{
    if (sub->live || sub->sample_count == 0)
        return;
    qsort_r(sub->samples, sub->sample_count, sizeof *sub->samples, by_time, (void *)h);
    const struct rogue_sample *first = &h->items[sub->samples[0]];
    const struct rogue_sample *last = &h->items[sub->samples[sub->sample_count - 1]];
    struct opt_f64 start = {0};
    for (size_t i = 0; i < sub->sample_count && !start.known; i++)
        start = h->items[sub->samples[i]].start_time;
    double from = start.known && start.v <= first->time ? start.v : first->time;
    if (start.known || sub->sample_count > 1)
        OPT_SET(sub->elapsed_s, last->time - from);
    uint64_t at_once = 0;
    for (size_t i = 0; i < sub->sample_count; i++) {
        const struct rogue_sample *r = &h->items[sub->samples[i]];
        if (i > 0 && r->time != h->items[sub->samples[i - 1]].time)
            at_once = 0;
        if (!r->gpu_mem_bytes.known)
            continue;
        at_once += r->gpu_mem_bytes.v;
        if (!sub->mem_bytes.known || at_once > sub->mem_bytes.v)
            OPT_SET(sub->mem_bytes, at_once);
    }
}

/* ---- names ------------------------------------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* argv[0] of a command line (joined with spaces), into buf. */
static void argv0(const char *cmdline, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!cmdline)
        return;
    size_t n = strcspn(cmdline, " ");
    if (n >= size)
        n = size - 1;
    memcpy(buf, cmdline, n);
    buf[n] = '\0';
}

/* The names a process goes by: comm, argv[0]'s file name, the executable's. */
struct names {
    const char *items[3];
    size_t count;
    char arg0[512];
};

static void subject_names(const struct subject *sub, struct names *n)
{
    n->count = 0;
    argv0(sub->cmdline, n->arg0, sizeof n->arg0);
    if (*sub->name)
        n->items[n->count++] = sub->name;
    if (n->arg0[0] && n->arg0[0] != '[')
        n->items[n->count++] = base_name(n->arg0);
    if (sub->facts.exe_known && sub->facts.exe[0])
        n->items[n->count++] = base_name(sub->facts.exe);
}

static bool allowed(const struct rogue_config *cfg, const struct subject *sub)
{
    if (policy_glob_any(&cfg->allowed_users, sub->user, false))
        return true;
    struct names n;
    subject_names(sub, &n);
    for (size_t i = 0; i < n.count; i++)
        if (policy_glob_any(&cfg->allowed_processes, n.items[i], false))
            return true;
    return policy_glob_any(&cfg->allowed_processes, sub->facts.exe, false) ||
           policy_glob_any(&cfg->allowed_processes, n.arg0, false);
}

/* ---- findings --------------------------------------------------------------------- */

struct draft {
    struct rogue_evidence items[16];
    size_t count;
};

static void evidence(struct draft *d, double confidence, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void evidence(struct draft *d, double confidence, const char *fmt, ...)
{
    if (d->count == sizeof d->items / sizeof d->items[0])
        return;
    struct rogue_evidence *ev = &d->items[d->count++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->text, sizeof ev->text, fmt, ap);
    va_end(ap);
    ev->confidence = confidence;
}

bool rogue_risk_for(const struct rogue_config *cfg, double score, enum rogue_risk *out)
{
    for (int r = ROGUE_RISK_CRITICAL; r >= ROGUE_RISK_LOW; r--)
        if (score >= cfg->risk_thresholds[r]) {
            *out = (enum rogue_risk)r;
            return true;
        }
    return false;
}

static void recommend(const struct subject *sub, enum rogue_category cat, char *buf, size_t size)
{
    if (!sub->live) {
        snprintf(buf, size, "no longer running; review what user %s ran: gpuctl audit --user %s",
                 *sub->user ? sub->user : "?", *sub->user ? sub->user : "?");
        return;
    }
    if (cat == ROGUE_RESOURCE_ABUSE)
        snprintf(buf, size, "ask %s to release the GPU, or end it: gpuctl kill --pid %d",
                 *sub->user ? sub->user : "the owner", (int)sub->pid);
    else
        snprintf(buf, size, "gpuctl kill --pid %d", (int)sub->pid);
}

static int emit(struct scan *s, const struct subject *sub, enum rogue_category cat,
                const struct draft *d)
{
    if (d->count == 0)
        return 0;
    double miss = 1.0;
    for (size_t i = 0; i < d->count; i++)
        miss *= 1.0 - d->items[i].confidence;
    double conf = 1.0 - miss;
    double score = conf * s->cfg->threat_weights[cat];
    enum rogue_risk risk;
    if (conf < s->cfg->min_confidence_threshold || !rogue_risk_for(s->cfg, score, &risk))
        return 0;
    struct rogue_report *r = s->out;
    struct rogue_finding *grown = realloc(r->findings, (r->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    r->findings = grown;
    struct rogue_finding *f = &r->findings[r->count];
    *f = (struct rogue_finding){.category = cat, .pid = sub->pid, .live = sub->live,
                                .gpu = sub->gpu, .confidence = conf, .risk_score = score,
                                .risk = risk};
    str_copy(f->user, sizeof f->user, sub->user);
    str_copy(f->name, sizeof f->name, sub->name);
    str_copy(f->exe, sizeof f->exe, sub->facts.exe);
    f->evidence = malloc(d->count * sizeof *f->evidence);
    if (!f->evidence || (sub->cmdline && !(f->cmdline = strdup(sub->cmdline)))) {
        free(f->evidence);
        return -ENOMEM;
    }
    memcpy(f->evidence, d->items, d->count * sizeof *f->evidence);
    f->evidence_count = d->count;
    recommend(sub, cat, f->recommendation, sizeof f->recommendation);
    r->count++;
    return 0;
}

/* ---- history figures ---------------------------------------------------------------- */

struct trend {
    size_t samples;
    double span_s;
    double sm_mean, sm_min;
    bool sm_known;
    double mem_mean, mem_cv;    /* coefficient of variation of GPU memory */
    bool mem_known;
};

static void history_trend(const struct scan *s, const struct subject *sub, struct trend *t)
{
    *t = (struct trend){.sm_min = INFINITY};
    const struct rogue_history *h = s->in->history;
    double first = INFINITY, last = -INFINITY, sm_sum = 0, m_sum = 0, m_sq = 0;
    size_t sm_n = 0, m_n = 0;
    for (size_t i = 0; i < sub->sample_count; i++) {
        const struct rogue_sample *r = &h->items[sub->samples[i]];
        first = fmin(first, r->time);
        last = fmax(last, r->time);
        if (r->sm_pct.known) {
            sm_sum += r->sm_pct.v;
            t->sm_min = fmin(t->sm_min, r->sm_pct.v);
            sm_n++;
        }
        if (r->gpu_mem_bytes.known) {
            double m = (double)r->gpu_mem_bytes.v;
            m_sum += m;
            m_sq += m * m;
            m_n++;
        }
    }
    t->samples = sub->sample_count;
    t->span_s = sub->sample_count ? last - first : 0;
    if (sm_n) {
        t->sm_known = true;
        t->sm_mean = sm_sum / (double)sm_n;
    }
    if (m_n) {
        t->mem_known = true;
        t->mem_mean = m_sum / (double)m_n;
        double var = fmax(0.0, m_sq / (double)m_n - t->mem_mean * t->mem_mean);
        t->mem_cv = t->mem_mean > 0 ? sqrt(var) / t->mem_mean : 0;
    }
}

static bool sustained(const struct scan *s, const struct trend *t)
{
    return t->samples >= 3 && t->span_s >= s->cfg->sustained_minutes * 60.0;
}

/* ---- detectors -------------------------------------------------------------------- */

static const char *after_eq(const char *tok)
{
    const char *eq = strchr(tok, '=');
    return eq && tok[0] == '-' ? eq + 1 : NULL;
}

static void miner_arguments(const struct scan *s, const struct subject *sub, struct draft *d)
{
    if (!sub->cmdline)
        return;
    char *copy = strdup(sub->cmdline);
    if (!copy)
        return;
    size_t hits = 0;
    char *save = NULL;
    /* argv[0] is a name, judged by the name test */
    char *tok = strtok_r(copy, " ", &save);
    for (tok = tok ? strtok_r(NULL, " ", &save) : NULL; tok && hits < 3;
         tok = strtok_r(NULL, " ", &save)) {
        const char *value = after_eq(tok);
        if (policy_glob_any(&s->cfg->miner_arguments, tok, true) ||
            (value && policy_glob_any(&s->cfg->miner_arguments, value, true))) {
            evidence(d, 0.6, "argument '%s' matches a miner argument pattern", tok);
            hits++;
        } else if (rogue_wallet_like(tok) || (value && rogue_wallet_like(value))) {
            evidence(d, 0.5, "argument '%s' looks like a wallet address", tok);
            hits++;
        }
    }
    free(copy);
}

static void miner_behaviour(const struct scan *s, const struct subject *sub, struct draft *d)
{
    struct trend t;
    history_trend(s, sub, &t);
    if (!sustained(s, &t) || !t.sm_known || !t.mem_known)
        return;
    if (t.sm_mean < s->cfg->miner_min_sm_pct || t.sm_min < s->cfg->miner_min_sm_pct - 10 ||
        t.mem_cv > 0.05)
        return;
    const struct host_process *hp = sub->host;
    bool cpu_low = hp && hp->cpu_pct.known && hp->cpu_pct.v <= s->cfg->miner_max_cpu_pct;
    if (hp && hp->cpu_pct.known && !cpu_low)
        return;
    evidence(d, cpu_low ? 0.6 : 0.45,
             "SM %.0f%% on average (never under %.0f%%) over %.0f min with steady memory "
             "(variation %.1f%%)%s", t.sm_mean, t.sm_min, t.span_s / 60.0, t.mem_cv * 100.0,
             cpu_low ? " and low host CPU" : "");
    if (cpu_low)
        snprintf(d->items[d->count - 1].text + strlen(d->items[d->count - 1].text),
                 sizeof d->items[0].text - strlen(d->items[d->count - 1].text), " (%.1f%%)",
                 hp->cpu_pct.v);
}

static int detect_miner(struct scan *s, const struct subject *sub)
{
    struct draft d = {0};
    struct names n;
    subject_names(sub, &n);
    for (size_t i = 0; i < n.count; i++)
        if (policy_glob_any(&s->cfg->miner_names, n.items[i], true)) {
            evidence(&d, 0.9, "executable name '%s' is a known miner", n.items[i]);
            break;
        }
    miner_arguments(s, sub, &d);
    miner_behaviour(s, sub, &d);
    return emit(s, sub, ROGUE_CRYPTO_MINER, &d);
}

static bool in_temp_dir(const struct rogue_config *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->temp_directories.count; i++) {
        const char *dir = cfg->temp_directories.items[i];
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        if (strncmp(path, dir, n) == 0 && path[n] == '/')
            return true;
    }
    return false;
}

static int detect_suspicious(struct scan *s, const struct subject *sub)
{
    struct draft d = {0};
    struct names n;
    subject_names(sub, &n);
    const char *where = sub->facts.exe_known ? sub->facts.exe : n.arg0;
    if (where[0] == '/' && in_temp_dir(s->cfg, where))
        evidence(&d, 0.4, "runs from a temporary directory: %s", where);
    if (sub->facts.exe_deleted)
        evidence(&d, 0.5, "its executable %s has been deleted", sub->facts.exe);
    if (n.arg0[0] == '[')
        evidence(&d, 0.8, "its command line '%s' imitates a kernel thread", n.arg0);
    for (size_t i = 0; i < n.count; i++)
        if (policy_glob_any(&s->cfg->system_process_names, n.items[i], false)) {
            evidence(&d, 0.7, "named '%s' like a system process, yet uses a GPU", n.items[i]);
            break;
        }
    if (policy_glob_any(&s->cfg->suspicious_users, sub->user, false))
        evidence(&d, 0.3, "runs as service account '%s'", sub->user);
    return emit(s, sub, ROGUE_SUSPICIOUS_PROCESS, &d);
}

static int detect_abuse(struct scan *s, const struct subject *sub)
{
    const struct rogue_config *cfg = s->cfg;
    struct draft d = {0};
    if (sub->mem_bytes.known && (double)sub->mem_bytes.v > cfg->max_memory_usage_gb * GIB) {
        double ratio = cfg->max_memory_usage_gb > 0
                           ? (double)sub->mem_bytes.v / (cfg->max_memory_usage_gb * GIB) : 2;
        evidence(&d, fmin(1.0, 0.5 + 0.5 * (ratio - 1)), "%s %.1f GiB of GPU memory "
                 "(limit %g GiB)", sub->live ? "holds" : "held up to",
                 (double)sub->mem_bytes.v / GIB, cfg->max_memory_usage_gb);
    }
    if (sub->elapsed_s.known && sub->elapsed_s.v > cfg->max_duration_hours * 3600.0) {
        double ratio = cfg->max_duration_hours > 0
                           ? sub->elapsed_s.v / (cfg->max_duration_hours * 3600.0) : 2;
        evidence(&d, fmin(1.0, 0.5 + 0.25 * (ratio - 1)), "%s %.1f hours (limit %g)",
                 sub->live ? "has run" : "ran at least", sub->elapsed_s.v / 3600.0,
                 cfg->max_duration_hours);
    }
    struct trend t;
    history_trend(s, sub, &t);
    if (sustained(s, &t) && t.sm_known && t.sm_mean > cfg->max_utilization_pct)
        evidence(&d, 0.6, "SM %.0f%% on average over %.0f min (limit %g%%)", t.sm_mean,
                 t.span_s / 60.0, cfg->max_utilization_pct);
    else if (sub->sm_pct.known && sub->sm_pct.v > cfg->max_utilization_pct)
        evidence(&d, 0.3, "SM %.0f%% now (limit %g%%)", sub->sm_pct.v, cfg->max_utilization_pct);
    return emit(s, sub, ROGUE_RESOURCE_ABUSE, &d);
}

static int detect_exfiltration(struct scan *s, const struct subject *sub)
{
    const struct rogue_facts *f = &sub->facts;
    struct opt_u64 out = rogue_io_net_out(&f->io);
    const struct host_process *hp = sub->host;
    if (!sub->live || !out.known || !f->sockets.known || f->sockets.v == 0 || !hp ||
        !hp->elapsed_s.known)
        return 0;
    double rate = (double)out.v / fmax(hp->elapsed_s.v, 1.0) / MIB;
    if (rate <= s->cfg->max_network_output_mb_per_sec)
        return 0;
    struct draft d = {0};
    evidence(&d, 0.6, "wrote %.1f MiB outside storage (%.1f MiB/s over its %.0f s life; limit "
             "%g) with %llu socket%s open", (double)out.v / MIB, rate, hp->elapsed_s.v,
             s->cfg->max_network_output_mb_per_sec, (unsigned long long)f->sockets.v,
             f->sockets.v == 1 ? "" : "s");
    if (f->sockets.v >= 10)
        evidence(&d, 0.3, "%llu sockets open", (unsigned long long)f->sockets.v);
    return emit(s, sub, ROGUE_DATA_EXFILTRATION, &d);
}

/* ---- wallets ---------------------------------------------------------------------- */

static bool all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

bool rogue_wallet_like(const char *arg)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    size_t n = strcspn(arg, ".");      /* "wallet.worker" is the usual user name */
    if (n == 42 && arg[0] == '0' && arg[1] == 'x')
        return all_of(arg + 2, 40, hex);
    if ((n == 95 || n == 106) && (arg[0] == '4' || arg[0] == '8'))
        return all_of(arg, n, b58);
    if (n >= 42 && n <= 62 && strncmp(arg, "bc1", 3) == 0)
        return all_of(arg + 3, n - 3, "qpzry9x8gf2tvdw0s3jn54khce6mua7l");
    return false;
}

/* ---- the scan ----------------------------------------------------------------------- */

static int by_risk(const void *a, const void *b)
{
    const struct rogue_finding *x = a, *y = b;
    if (x->risk_score != y->risk_score)
        return x->risk_score > y->risk_score ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (int)x->category - (int)y->category;
}

static void free_subjects(struct scan *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->subjects[i].samples);
    free(s->subjects);
}

int rogue_scan(const struct rogue_config *cfg, const struct rogue_input *in,
               struct rogue_report *out, struct error *e)
{
    *out = (struct rogue_report){0};
    size_t most = (in->snap ? in->snap->hproc_count : 0) + (in->history ? in->history->count : 0);
    struct scan s = {.cfg = cfg, .in = in, .out = out,
                     .subjects = calloc(most ? most : 1, sizeof *s.subjects)};
    if (!s.subjects || gather_live(&s) < 0 || gather_history(&s) < 0) {
        free_subjects(&s);
        return error_set(e, -ENOMEM, "out of memory scanning for suspicious usage");
    }
    for (size_t i = 0; in->history && i < s.count; i++)
        history_figures(in->history, &s.subjects[i]);
    int rc = 0;
    for (size_t i = 0; i < s.count && rc == 0; i++) {
        const struct subject *sub = &s.subjects[i];
        if (allowed(cfg, sub))
            continue;
        rc = detect_miner(&s, sub);
        if (rc == 0)
            rc = detect_suspicious(&s, sub);
        if (rc == 0)
            rc = detect_abuse(&s, sub);
        if (rc == 0)
            rc = detect_exfiltration(&s, sub);
    }
    free_subjects(&s);
    if (rc < 0) {
        rogue_report_free(out);
        return error_set(e, rc, "out of memory scanning for suspicious usage");
    }
    if (out->count)
        qsort(out->findings, out->count, sizeof *out->findings, by_risk);
    return 0;
}

void rogue_report_free(struct rogue_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->findings[i].evidence);
        free(r->findings[i].cmdline);
    }
    free(r->findings);
    *r = (struct rogue_report){0};
}
