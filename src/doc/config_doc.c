/* config_doc.c - the configuration document (config_doc.h).  The values
 * are spelled by core/config.c, as a configuration file would hold them.
 */
#include "doc/config_doc.h"

#include "doc/build.h"
#include "doc/json.h"

static json_t *key_json(struct doc_build *b, const struct config *c, enum config_key k)
{
    char value[128];
    config_value_text(c, k, value, sizeof value);
    json_t *o = doc_object(b);
    doc_put(b, o, "value", doc_json_text(value));
    doc_put(b, o, "source", json_string(config_origin_name(c->origin[k])));
    doc_put(b, o, "env", json_string(config_key_env(k)));
    return o;
}

json_t *doc_config_build(const struct config *c, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *keys = doc_object(&b);
    doc_put(&b, root, "file", doc_json_str(c->file_path));
    doc_put(&b, root, "file_found", json_boolean(c->file_found));
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        doc_put(&b, keys, config_key_name((enum config_key)k), key_json(&b, c, (enum config_key)k));
    doc_put(&b, root, "keys", keys);
    return doc_finish(&b, root, e);
}
