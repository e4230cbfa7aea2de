/* compare_doc.c - the comparison document (compare_doc.h).  The deltas
 * and the verdict are src/jobs/compare.c's.
 */
#include "doc/compare_doc.h"

#include "doc/build.h"
#include "doc/json.h"

const char *doc_compare_kind_name(enum compare_kind k)
{
    return k == COMPARE_GROUP ? "group" : "metric";
}

static json_t *row_json(struct doc_build *b, const struct compare_row *row)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "kind", json_string(doc_compare_kind_name(row->kind)));
    doc_put(b, o, "name", doc_json_text(row->name));
    doc_put(b, o, "base", doc_json_f64(row->base, -1));
    doc_put(b, o, "candidate", doc_json_f64(row->candidate, -1));
    doc_put(b, o, "delta_pct", doc_json_f64(row->delta_pct, -1));
    doc_put(b, o, "gated", json_boolean(row->gated));
    doc_put(b, o, "regression", json_boolean(row->regression));
    return o;
}

json_t *doc_compare_build(const struct compare_result *res, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *rows = doc_array(&b);
    for (size_t i = 0; rows && i < res->count; i++)
        doc_append(&b, rows, row_json(&b, &res->rows[i]));
    doc_put(&b, root, "threshold_pct", doc_json_real(res->threshold_pct, DOC_JSON_PCT_DECIMALS));
    doc_put(&b, root, "regression", json_boolean(res->regression));
    doc_put(&b, root, "base_method", doc_json_str(res->base_method));
    doc_put(&b, root, "candidate_method", doc_json_str(res->candidate_method));
    doc_put(&b, root, "rows", rows);
    return doc_finish(&b, root, e);
}
