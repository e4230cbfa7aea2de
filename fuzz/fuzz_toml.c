/* fuzz_toml.c - feeds arbitrary bytes to toml_parse() and walks whatever
 * tree comes back through every accessor.
 *
 * Besides memory errors (the sanitizers' job) it checks the reader's
 * promises, aborting when one is broken: a failure always fills the error
 * record with "fuzz.toml:" and a position, a success always yields a table
 * whose keys can be found again by name and whose positions are 1-based.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/toml.h"
#include "fuzz.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void walk(const struct toml_value *v, unsigned depth)
{
    check(depth <= TOML_MAX_DEPTH);
    struct toml_pos pos = toml_value_pos(v);
    check(pos.line >= 1 && pos.column >= 1);
    check(toml_type_name(toml_type(v)) != NULL);
    struct toml_entry ent;
    for (size_t i = 0; toml_table_at(v, i, &ent); i++) {
        check(ent.key != NULL && ent.key[ent.key_len] == '\0');
        check(ent.key_pos.line >= 1 && ent.key_pos.column >= 1);
        if (strlen(ent.key) == ent.key_len)
            check(toml_table_get(v, ent.key) == ent.value);
        walk(ent.value, depth + 1);
    }
    for (size_t i = 0; i < toml_array_size(v); i++)
        walk(toml_array_get(v, i), depth + 1);
    size_t len = 0;
    const char *s = toml_get_string(v, &len);
    check(!s || s[len] == '\0');
    double d;
    int64_t n;
    bool b;
    struct toml_datetime dt;
    (void)toml_get_number(v, &d);
    (void)toml_get_int(v, &n);
    (void)toml_get_bool(v, &b);
    if (toml_get_datetime(v, &dt))
        check(dt.month >= 0 && dt.month <= 12 && dt.hour <= 23 && dt.second <= 60);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct toml_value *root = (struct toml_value *)&root;
    struct error e = {0};
    int rc = toml_parse((const char *)data, size, "fuzz.toml", &root, &e);
    if (rc == 0) {
        check(root != NULL && toml_type(root) == TOML_TABLE);
        walk(root, 0);
        toml_free(root);
    } else {
        check(root == NULL);
        check(rc == -ERROR_PARSE || rc == -ENOMEM);
        check(strncmp(e.msg, "fuzz.toml:", 10) == 0);
    }
    return 0;
}
