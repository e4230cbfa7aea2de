/* audit.c - `gpuctl audit`: arguments, the records of a window (table,
 * JSON, NDJSON, CSV), and the subcommands record, import and export.
 *
 * Everything stored or computed is the store's (src/store): this file
 * turns flags into a filter, opens the database read-only for queries (a
 * query never creates a database or takes the write lock) and renders
 * rows as they stream in (the JSON objects are src/doc/audit_doc.c's).  The
 * summary's rendering is audit_out.c's, list's recording audit_hook.c's.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/audit_rogue.h"
#include "cli/audit.h"
#include "cli/opts.h"
#include "core/csv.h"
#include "core/filter.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"
#include "doc/audit_doc.h"
#include "doc/json.h"

#define DEFAULT_HOURS 24
#define DEFAULT_TOP 10
#define DEFAULT_INTERVAL_S 60
#define MAX_HOURS 876000UL      /* 100 years */

struct audit_args {
    struct cli_common common;
    struct options_parsed parsed;
    struct audit_request q;          /* filled by the option table, audit_opts.c */
    const char *sub;                 /* NULL, "record", "import", "export" */
    const char *hours, *user, *process, *output, *top, *interval, *count, *format, *file;
    bool summary, gpus;
};

/* ---- arguments ------------------------------------------------------------------ */

/* The subcommand (first argument) and import's FILE. */
static int take_operands(struct audit_args *a, char **argv)
{
    const struct options_parsed *p = &a->parsed;
    if (p->operand_count == 0)
        return 0;
    const char *sub = p->operands[0];
    if (sub != argv[1] || (strcmp(sub, "record") != 0 && strcmp(sub, "import") != 0 &&
                           strcmp(sub, "export") != 0))
        return cli_unknown_argument("audit", sub, "(subcommands: record, import FILE, export)");
    a->sub = sub;
    if (p->operand_count > 1) {
        if (strcmp(sub, "import") != 0)
            return cli_unknown_argument("audit", p->operands[1],
                                        "(subcommands: record, import FILE, export)");
        a->file = p->operands[1];
    }
    return 0;
}

/* Which options each form accepts: a flag that a form would ignore is an
 * error, not silently dropped. */
static int check_combination(const struct audit_args *a)
{
    const char *sub = a->sub ? a->sub : "";
    bool query = !a->sub, rec = strcmp(sub, "record") == 0, imp = strcmp(sub, "import") == 0;
    bool exp = strcmp(sub, "export") == 0;
    const char *cmd = "audit";   /* 'gpuctl help audit' covers record, import, export */
    if ((a->summary || a->gpus || a->top || a->output) && !query)
        return cli_usage_error(cmd, "--summary, --gpus, --top and --output belong to "
                                    "'gpuctl audit' itself");
    if ((a->hours || a->user || a->process) && !(query || exp))
        return cli_usage_error(cmd, "--hours, --user and --process select what to show or "
                                    "export");
    if ((a->interval || a->count) && !rec)
        return cli_usage_error(cmd, "--interval and --count belong to 'gpuctl audit record'");
    if (a->format && !exp)
        return cli_usage_error(cmd, "--format belongs to 'gpuctl audit export'");
    if (a->summary && a->gpus)
        return cli_usage_error("audit", "--summary already covers the GPUs; use one of "
                                        "--summary and --gpus");
    if (a->top && !a->summary)
        return cli_usage_error("audit", "--top needs --summary");
    if (a->gpus && (a->user || a->process))
        return cli_usage_error("audit", "--user and --process choose processes; GPU rows "
                                        "(--gpus) are not filtered by them");
    if (imp && !a->file)
        return cli_usage_error("audit", "name the file to import: gpuctl audit import "
                                         "FILE.jsonl");
    if (exp && a->format && strcmp(a->format, "jsonl") != 0)
        return cli_usage_error("audit", "--format: '%s' is not supported; use jsonl",
                               a->format);
    return 0;
}

static int parse_args(struct audit_args *a, int argc, char **argv)
{
    int rc = cli_parse_options(&audit_options, argc, argv, &a->q, &a->parsed, &a->common);
    if (rc == 0)
        rc = take_operands(a, argv);
    if (rc)
        return rc;
    const struct audit_request *q = &a->q;
    a->hours = q->hours;
    a->user = q->user;
    a->process = q->process;
    a->output = q->output;
    a->top = q->top;
    a->interval = q->interval;
    a->count = q->count;
    a->format = q->format;
    a->summary = q->summary;
    a->gpus = q->gpus;
    if (audit_rogue_wanted(q))
        return 0;          /* audit_rogue.c checks the rogue form's combinations */
    return check_combination(a);
}

/* ---- the window and the filter ------------------------------------------------------ */

static int build_filter(const struct audit_args *a, bool all_by_default,
                        struct audit_filter *f)
{
    unsigned long hours = DEFAULT_HOURS;
    if (a->hours && !cli_parse_uint(a->hours, MAX_HOURS, &hours))
        return cli_usage_error("audit", "--hours: '%s' is not a whole number of hours "
                                        "from 1 to %lu", a->hours, MAX_HOURS);
    if (a->hours && hours == 0)
        return cli_usage_error("audit", "--hours: must be at least 1");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    f->to_ms = now_ms + 1;   /* a sample taken this millisecond is included */
    f->from_ms = !a->hours && all_by_default ? INT64_MIN / 2
                                             : now_ms - (int64_t)hours * 3600 * 1000;
    f->user = a->user;
    f->process = a->process;
    if (a->process) {
        /* checked here too, so a bad pattern is refused even before
         * anything has been recorded */
        struct filter check = {0};
        struct error e = {0};
        int rc = filter_set_regex(&check, a->process, &e);
        filter_clear(&check);
        if (rc)
            return cli_usage_error("audit", "--process: %s", e.msg);
    }
    return 0;
}

/* Opens for queries; *db stays NULL when nothing has been recorded yet
 * (then every query is empty, which is the truth). */
static int open_for_query(struct audit_db **db)
{
    struct error e = {0};
    int rc = audit_open(NULL, AUDIT_OPEN_READONLY, db, &e);
    if (rc == -ENOENT) {
        *db = NULL;
        return 0;
    }
    char warning[512];
    if (!rc && audit_take_warning(*db, warning, sizeof warning))
        fprintf(stderr, "gpuctl: %s: %s\n", config_log_level_name(LOG_WARN), warning);
    return rc ? cli_fail(&e) : 0;
}

/* ---- records ----------------------------------------------------------------------- */

struct emit {
    enum output_format format;
    FILE *out;
    struct table *table;
    size_t count;
    int write_error;
};

/* JSON objects stream out: the document's array gets one compact object
 * per line, so months of history never sit in memory. */
static void emit_json_object(struct emit *em, json_t *o)
{
    if (!o) {
        em->write_error = ENOMEM;
        return;
    }
    bool doc = em->format == OUTPUT_JSON;
    if (doc)
        fputs(em->count ? ",\n    " : "\n    ", em->out);
    if (json_dumpf(o, em->out, doc_json_dump_flags(true)) < 0)
        em->write_error = errno ? errno : EIO;
    if (!doc)
        fputc('\n', em->out);
    json_decref(o);
}

/* A whole number with a unit ("45%", "70 W"), or N/A. */
static void cell_opt_text(struct table *t, bool known, const char *suffix, double v)
{
    if (known)
        table_cell(t, 0, "%.0f%s", v, suffix);
    else
        table_cell(t, TABLE_STYLE_DIM, "N/A");
}

static void cell_bytes(struct table *t, struct opt_u64 v)
{
    char buf[32];
    if (!v.known) {
        table_cell(t, TABLE_STYLE_DIM, "N/A");
        return;
    }
    units_format_bytes(v.v, buf, sizeof buf);
    table_cell(t, 0, "%s", buf);
}

static const char *text_or(const char *s, const char *unknown)
{
    return s && *s ? s : unknown;
}

/* A CSV number with the given decimals (-1: as short as exact), or empty. */
static void fmt_num(char *buf, size_t size, bool known, int decimals, double v)
{
    if (known && decimals < 0)
        snprintf(buf, size, "%g", v);
    else if (known)
        snprintf(buf, size, "%.*f", decimals, v);
    else
        buf[0] = '\0';
}

static int on_proc(const struct audit_proc_record *r, void *arg)
{
    struct emit *em = arg;
    if (em->format == OUTPUT_JSON || em->format == OUTPUT_NDJSON) {
        emit_json_object(em, doc_audit_proc_record(r, NULL));
    } else if (em->format == OUTPUT_CSV) {
        char t[48], gpu[16], pid[16], start[32], mem[32], sm[16];
        doc_audit_time_rfc3339(r->time_ms, t, sizeof t);
        snprintf(gpu, sizeof gpu, "%d", r->gpu_index);
        snprintf(pid, sizeof pid, "%d", (int)r->pid);
        fmt_num(start, sizeof start, r->start_time_s.known, 0, (double)r->start_time_s.v);
        fmt_num(mem, sizeof mem, r->gpu_mem_bytes.known, 0, (double)r->gpu_mem_bytes.v);
        fmt_num(sm, sizeof sm, r->sm_pct.known, -1, r->sm_pct.v);
        const char *f[] = {t, r->host, gpu, pid, start, r->user, r->name, mem, sm,
                           r->container, r->cmdline};
        if (csv_write_record(em->out, f, sizeof f / sizeof f[0]) < 0)
            em->write_error = errno ? errno : EIO;
    } else {
        char t[32];
        cli_audit_time_local(r->time_ms, t, sizeof t);
        table_row(em->table);
        table_cell(em->table, 0, "%s", t);
        table_cell(em->table, 0, "%s", r->host);
        table_cell(em->table, 0, "%d", r->gpu_index);
        table_cell(em->table, 0, "%d", (int)r->pid);
        table_cell(em->table, 0, "%s", text_or(r->user, "N/A"));
        table_cell(em->table, 0, "%s", text_or(r->name, "N/A"));
        cell_bytes(em->table, r->gpu_mem_bytes);
        cell_opt_text(em->table, r->sm_pct.known, "", r->sm_pct.v);
        table_cell(em->table, 0, "%s", text_or(r->container, "-"));
        table_cell(em->table, 0, "%s", text_or(r->cmdline, "N/A"));
    }
    em->count++;
    return em->write_error ? -em->write_error : 0;
}

static int on_gpu(const struct audit_gpu_record *r, void *arg)
{
    struct emit *em = arg;
    if (em->format == OUTPUT_JSON || em->format == OUTPUT_NDJSON) {
        emit_json_object(em, doc_audit_gpu_record(r, NULL));
    } else if (em->format == OUTPUT_CSV) {
        char t[48], gpu[16], used[32], total[32], util[16], temp[16], watts[32];
        doc_audit_time_rfc3339(r->time_ms, t, sizeof t);
        snprintf(gpu, sizeof gpu, "%d", r->gpu_index);
        fmt_num(used, sizeof used, r->mem_used_bytes.known, 0, (double)r->mem_used_bytes.v);
        fmt_num(total, sizeof total, r->mem_total_bytes.known, 0,
                (double)r->mem_total_bytes.v);
        fmt_num(util, sizeof util, r->util_pct.known, -1, r->util_pct.v);
        fmt_num(temp, sizeof temp, r->temp_c.known, 0, (double)r->temp_c.v);
        fmt_num(watts, sizeof watts, r->power_mw.known, 3, (double)r->power_mw.v / 1000.0);
        const char *f[] = {t, r->host, gpu, r->uuid, r->vendor == VENDOR_UNKNOWN ? ""
                           : model_vendor_name(r->vendor), r->name, used, total, util, temp,
                           watts};
        if (csv_write_record(em->out, f, sizeof f / sizeof f[0]) < 0)
            em->write_error = errno ? errno : EIO;
    } else {
        char t[32];
        cli_audit_time_local(r->time_ms, t, sizeof t);
        table_row(em->table);
        table_cell(em->table, 0, "%s", t);
        table_cell(em->table, 0, "%s", r->host);
        table_cell(em->table, 0, "%d", r->gpu_index);
        table_cell(em->table, 0, "%s", text_or(r->name, "N/A"));
        cell_bytes(em->table, r->mem_used_bytes);
        cell_opt_text(em->table, r->util_pct.known, "%", r->util_pct.v);
        cell_opt_text(em->table, r->temp_c.known, "°C", (double)r->temp_c.v);
        cell_opt_text(em->table, r->power_mw.known, " W", (double)r->power_mw.v / 1000.0);
    }
    em->count++;
    return em->write_error ? -em->write_error : 0;
}

static const struct table_column proc_columns[] = {
    {"TIME", TABLE_LEFT, false, 0},     {"HOST", TABLE_LEFT, true, 4},
    {"GPU", TABLE_RIGHT, false, 0},     {"PID", TABLE_RIGHT, false, 0},
    {"USER", TABLE_LEFT, true, 4},      {"NAME", TABLE_LEFT, true, 4},
    {"GPU MEM", TABLE_RIGHT, false, 0}, {"SM%", TABLE_RIGHT, false, 0},
    {"CONTAINER", TABLE_LEFT, true, 4}, {"COMMAND", TABLE_LEFT, true, 7},
};
static const char *const proc_csv[] = {"time", "host", "gpu", "pid", "start_time", "user",
                                       "name", "gpu_memory_bytes", "sm_pct", "container",
                                       "command"};
static const struct table_column gpu_columns[] = {
    {"TIME", TABLE_LEFT, false, 0},   {"HOST", TABLE_LEFT, true, 4},
    {"GPU", TABLE_RIGHT, false, 0},   {"NAME", TABLE_LEFT, true, 4},
    {"MEM USED", TABLE_RIGHT, false, 0}, {"UTIL", TABLE_RIGHT, false, 0},
    {"TEMP", TABLE_RIGHT, false, 0},  {"POWER", TABLE_RIGHT, false, 0},
};
static const char *const gpu_csv[] = {"time", "host", "gpu", "uuid", "vendor", "name",
                                      "memory_used_bytes", "memory_total_bytes",
                                      "utilization_pct", "temperature_c", "power_w"};

/* The document's head, one member per line; the array of records follows,
 * streamed. */
static int json_head(FILE *out, const struct doc_audit_query_request *r)
{
    struct error e = {0};
    json_t *head = doc_audit_query_head(r, &e);
    if (!head)
        return e.code;
    const char *key;
    json_t *v;
    fputs("{\n", out);
    json_object_foreach(head, key, v) {
        char *text = json_dumps(v, doc_json_dump_flags(true) | JSON_ENCODE_ANY);
        fprintf(out, "  \"%s\": %s,\n", key, text ? text : "null");
        free(text);
    }
    fprintf(out, "  \"%s\": [", doc_audit_query_key(r));
    json_decref(head);
    return 0;
}

static int run_query(struct audit_db *db, const struct audit_filter *f, bool gpus,
                     struct emit *em, struct error *e)
{
    if (!db)
        return 0;
    if (gpus)
        return audit_query_gpus(db, f, on_gpu, em, e);
    return audit_query_processes(db, f, on_proc, em, e);
}

static int show_records(const struct cli_ctx *ctx, const struct audit_args *a,
                        struct audit_db *db, const struct audit_filter *f)
{
    struct emit em = {.format = ctx->cfg.output_format, .out = stdout};
    if (em.format == OUTPUT_TABLE) {
        em.table = a->gpus ? table_new(gpu_columns, sizeof gpu_columns / sizeof gpu_columns[0])
                           : table_new(proc_columns,
                                       sizeof proc_columns / sizeof proc_columns[0]);
        if (!em.table) {
            fputs("gpuctl: out of memory\n", stderr);
            return EXIT_GENERAL;
        }
    } else if (em.format == OUTPUT_CSV) {
        if (a->gpus)
            csv_write_record(stdout, gpu_csv, sizeof gpu_csv / sizeof gpu_csv[0]);
        else
            csv_write_record(stdout, proc_csv, sizeof proc_csv / sizeof proc_csv[0]);
    } else if (em.format == OUTPUT_JSON) {
        struct doc_audit_query_request r = {.filter = f, .database = db ? audit_path(db) : NULL,
                                            .gpus = a->gpus};
        int hr = json_head(stdout, &r);
        if (hr < 0) {
            fputs("gpuctl: out of memory\n", stderr);
            return EXIT_GENERAL;
        }
    }
    struct error e = {0};
    int rc = run_query(db, f, a->gpus, &em, &e);
    if (em.format == OUTPUT_JSON)
        fputs(em.count ? "\n  ]\n}\n" : "]\n}\n", stdout);
    if (!rc && em.table) {
        if (em.count == 0)
            printf("No %s recorded in the last %s hours%s.\n", a->gpus ? "GPU samples"
                   : "GPU processes", a->hours ? a->hours : "24",
                   a->user || a->process ? " that match" : "");
        else
            rc = table_render(em.table, stdout, &(struct table_render_options){
                .ascii = false, .color = term_use_color(1, ctx->cfg.use_colors),
                .width = ctx->cfg.table_width ? ctx->cfg.table_width : term_width(1)});
    }
    table_free(em.table);
    if (rc == -EPIPE || em.write_error == EPIPE)
        return EXIT_GENERAL;
    if (em.write_error || (rc < 0 && !e.msg[0]) || fflush(stdout) == EOF) {
        fprintf(stderr, "gpuctl: cannot write the output: %s\n",
                strerror(em.write_error ? em.write_error : rc < 0 ? -rc : errno));
        return EXIT_GENERAL;
    }
    return rc ? cli_fail(&e) : EXIT_OK;
}

static int show_summary(const struct cli_ctx *ctx, const struct audit_args *a,
                        struct audit_db *db, const struct audit_filter *f)
{
    unsigned long top = DEFAULT_TOP;
    if (a->top && (!cli_parse_uint(a->top, 100000, &top) || top == 0))
        return cli_usage_error("audit", "--top: '%s' is not a whole number from 1 to 100000",
                               a->top);
    struct audit_summary empty = {.from_ms = f->from_ms, .to_ms = f->to_ms}, *s = &empty;
    for (int i = 0; i < 24; i++)
        empty.hours[i].hour = i;
    struct error e = {0};
    if (db && audit_summary(db, f, top, &s, &e) != 0)
        return cli_fail(&e);
    enum output_format fmt = ctx->cfg.output_format;
    int rc = cli_audit_print_summary(s, fmt, fmt == OUTPUT_NDJSON, ctx, stdout);
    if (s != &empty)
        audit_summary_free(s);
    if (rc < 0 && rc != -EPIPE)
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
    return rc < 0 ? EXIT_GENERAL : EXIT_OK;
}

/* ---- output format ---------------------------------------------------------------- */

static int apply_output(struct cli_ctx *ctx, const struct audit_args *a)
{
    struct error e = {0};
    const char *value = a->output;
    if (value && strcmp(value, "jsonl") == 0)
        value = "ndjson";
    if (value && config_set_from_flag(&ctx->cfg, CONFIG_OUTPUT_FORMAT, value, &e) < 0)
        return cli_usage_error("audit", "--output: %s (or jsonl)", e.msg);
    if (a->summary && ctx->cfg.output_format == OUTPUT_CSV) {
        if (ctx->cfg.origin[CONFIG_OUTPUT_FORMAT] == CONFIG_FROM_FLAG)
            return cli_usage_error("audit", "--summary has no CSV form; use table, json or "
                                            "jsonl");
        ctx->cfg.output_format = OUTPUT_TABLE;   /* a configured default that cannot apply */
    }
    return 0;
}

/* ---- subcommands -------------------------------------------------------------------- */

static void report_bad_line(size_t line, const char *reason, void *arg)
{
    fprintf(stderr, "gpuctl: %s:%zu: %s; line skipped\n", (const char *)arg, line, reason);
}

static int cmd_import(struct cli_ctx *ctx, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "gpuctl: cannot open %s: %s\n", path, strerror(errno));
        return errno == EACCES ? EXIT_PERMISSION : EXIT_GENERAL;
    }
    struct audit_db *db = NULL;
    struct error e = {0};
    struct audit_import_stats st;
    int rc = audit_open(NULL, 0, &db, &e);
    if (!rc) {
        audit_set_retention_days(db, (unsigned)ctx->cfg.audit_retention_days);
        rc = audit_import_jsonl(db, in, report_bad_line, (void *)path, &st, &e);
        if (rc)
            error_prefix(&e, "%s: import stopped after line %zu", path, st.lines);
    }
    if (in != stdin)
        fclose(in);
    if (rc) {
        audit_close(db);
        return cli_fail(&e);
    }
    fprintf(stderr, "gpuctl: imported %zu GPU and %zu process records (%zu samples) from %s "
            "into %s", st.gpu_records, st.process_records, st.samples, path, audit_path(db));
    if (st.skipped_samples)
        fprintf(stderr, "; %zu sample%s (%zu records) already stored, not added again",
                st.skipped_samples, st.skipped_samples == 1 ? "" : "s", st.skipped_records);
    if (st.bad_lines)
        fprintf(stderr, "; skipped %zu bad line%s", st.bad_lines, st.bad_lines == 1 ? "" : "s");
    fputc('\n', stderr);
    audit_close(db);
    return st.bad_lines ? EXIT_GENERAL : EXIT_OK;
}

static int write_line(const char *line, size_t len, void *arg)
{
    (void)arg;
    if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
        return -(errno ? errno : EIO);
    return 0;
}

static int cmd_export(const struct audit_args *a)
{
    struct audit_filter f;
    int rc = build_filter(a, true, &f);
    struct audit_db *db = NULL;
    if (!rc)
        rc = open_for_query(&db);
    if (rc || !db)
        return rc;
    struct error e = {0};
    rc = audit_export_jsonl(db, &f, write_line, NULL, &e);
    audit_close(db);
    if (rc == 0 && fflush(stdout) == EOF)
        rc = -(errno ? errno : EIO);
    if (rc < 0 && !e.msg[0]) {
        if (rc != -EPIPE)
            fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
        return EXIT_GENERAL;
    }
    return rc ? cli_fail(&e) : EXIT_OK;
}

/* ---- command ------------------------------------------------------------------------- */

static int cmd_query(struct cli_ctx *ctx, const struct audit_args *a)
{
    struct audit_filter f;
    struct audit_db *db = NULL;
    int rc = apply_output(ctx, a);
    if (!rc)
        rc = build_filter(a, false, &f);
    if (!rc)
        rc = open_for_query(&db);
    if (rc)
        return rc;
    rc = a->summary ? show_summary(ctx, a, db, &f) : show_records(ctx, a, db, &f);
    audit_close(db);
    return rc;
}

/* The options that mean nothing to the rogue scan and its settings. */
static int check_rogue_form(const struct audit_args *a)
{
    static const char *const others[] = {"user", "process", "gpus", "summary", "top",
                                         "interval", "count", "format"};
    if (a->sub)
        return cli_usage_error("audit", "'%s' does not go with --rogue", a->sub);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (options_given(&audit_options, &a->parsed, others[i]))
            return cli_usage_error("audit", "--%s does not go with --rogue", others[i]);
    return 0;
}

static int run_audit(struct audit_args *a)
{
    /* --rogue and --rogue-*: suspicious-usage detection (cli/audit_rogue.c) */
    if (audit_rogue_wanted(&a->q)) {
        int rc = check_rogue_form(a);
        return rc ? rc : cli_audit_rogue(&a->q, &a->common);
    }
    struct cli_ctx ctx = {0};
    int rc = cli_load_config(&ctx, &a->common);
    if (rc != 0)
        return rc;
    if (!a->sub)
        return cmd_query(&ctx, a);
    if (strcmp(a->sub, "record") == 0)
        return cli_audit_record(&ctx, a->interval, a->count);
    if (strcmp(a->sub, "import") == 0)
        return cmd_import(&ctx, a->file);
    return cmd_export(a);
}

int cmd_audit(int argc, char **argv)
{
    struct audit_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc == 0)
        rc = run_audit(&a);
    options_parsed_clear(&a.parsed);
    return rc < 0 ? EXIT_OK : rc;
}
