/* compare.c - `gpuctl compare BASE.json CANDIDATE.json [--threshold PCT]`:
 * the table (or JSON) of deltas between two run reports and the CI verdict
 * as the exit status: 1 when the candidate regressed, 0 when it did not.
 *
 * Reading and comparing are src/jobs/compare.c's, the JSON document
 * src/doc/compare_doc.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/table.h"
#include "doc/compare_doc.h"
#include "doc/json.h"
#include "jobs/compare.h"

#define DEFAULT_THRESHOLD_PCT 10.0

struct compare_args {
    struct cli_common common;
    const char *files[2];
    size_t file_count;
    double threshold;
    bool json;
};

/* The option table (compare_opts.c) fills a compare_request. */
static int parse_args(struct compare_args *a, int argc, char **argv)
{
    struct compare_request q = {.threshold = DEFAULT_THRESHOLD_PCT};
    struct options_parsed p;
    int rc = cli_parse_options(&compare_options, argc, argv, &q, &p, &a->common);
    for (size_t i = 0; rc == 0 && i < p.operand_count; i++)
        a->files[a->file_count++] = p.operands[i];
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->threshold = q.threshold;
    a->json = q.json;
    if (a->file_count != 2)
        return cli_usage_error("compare", "name two reports: gpuctl compare BASE.json "
                               "CANDIDATE.json");
    return 0;
}

static void value_text(struct opt_f64 v, char *buf, size_t size)
{
    if (!v.known)
        snprintf(buf, size, "N/A");
    else if (v.v == floor(v.v) && fabs(v.v) < 1e15)
        snprintf(buf, size, "%.0f", v.v);
    else
        snprintf(buf, size, "%.3f", v.v);
}

static int print_table(const struct compare_result *res)
{
    struct table_column cols[] = {
        {"", TABLE_LEFT, false, 0}, {"NAME", TABLE_LEFT, true, 8},
        {"BASE", TABLE_RIGHT, false, 0}, {"CANDIDATE", TABLE_RIGHT, false, 0},
        {"DELTA", TABLE_RIGHT, false, 0}, {"VERDICT", TABLE_LEFT, false, 0},
    };
    struct table *t = table_new(cols, 6);
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < res->count; i++) {
        const struct compare_row *row = &res->rows[i];
        char b[32], c[32];
        value_text(row->base, b, sizeof b);
        value_text(row->candidate, c, sizeof c);
        table_row(t);
        table_cell(t, 0, "%s", doc_compare_kind_name(row->kind));
        table_cell(t, 0, "%s", row->name);
        table_cell(t, 0, "%s", b);
        table_cell(t, 0, "%s", c);
        if (row->delta_pct.known)
            table_cell(t, 0, "%+.1f%%", row->delta_pct.v);
        else
            table_cell(t, 0, "%s", !row->base.known ? "new" : !row->candidate.known ? "gone"
                                                                                   : "N/A");
        table_cell(t, row->regression ? TABLE_STYLE_RED : 0, "%s",
                   row->regression ? "REGRESSION" : row->gated ? "ok" : "");
    }
    int rc = table_render(t, stdout, NULL);
    table_free(t);
    printf("%s (threshold %.1f%%)\n", res->regression ? "regression" : "no regression",
           res->threshold_pct);
    return rc;
}

static int print_json(const struct compare_result *res)
{
    struct error e = {0};
    json_t *root = doc_compare_build(res, &e);
    return root ? doc_json_write(root, stdout, false) : e.code;
}

static void warn_mismatch(const struct compare_result *res)
{
    if (strcmp(res->base_method, res->candidate_method) != 0)
        fprintf(stderr, "gpuctl: warning: the reports measured the total differently (%s, %s)\n",
                res->base_method[0] ? res->base_method : "?",
                res->candidate_method[0] ? res->candidate_method : "?");
    if (res->group_by_differs)
        fputs("gpuctl: warning: the reports group processes differently; groups may not "
              "match\n", stderr);
}

int cmd_compare(int argc, char **argv)
{
    struct compare_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct cli_ctx ctx = {0};
    if ((rc = cli_load_config(&ctx, &a.common)) != 0)
        return rc;
    struct compare_doc docs[2] = {{0}};
    struct error e = {0};
    for (int i = 0; i < 2; i++) {
        if (compare_load(a.files[i], &docs[i], &e) < 0) {
            compare_doc_clear(&docs[0]);
            return cli_fail(&e);
        }
    }
    struct compare_result res;
    rc = compare_docs(&docs[0], &docs[1], a.threshold, &res);
    compare_doc_clear(&docs[0]);
    compare_doc_clear(&docs[1]);
    if (rc < 0) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    warn_mismatch(&res);
    rc = a.json ? print_json(&res) : print_table(&res);
    bool regression = res.regression;
    compare_result_clear(&res);
    if (rc < 0) {
        fprintf(stderr, "gpuctl: writing the comparison failed: %s\n", strerror(-rc));
        return EXIT_GENERAL;
    }
    return regression ? EXIT_GENERAL : EXIT_OK;
}
