/* json_out.c - shared JSON output helpers for the commands (json_out.h).
 *
 * Each command's schema stays in its own renderer; this file only holds
 * what would otherwise be copied between them.
 */
#include "cli/json_out.h"

#include <errno.h>

#include "core/units.h"

void json_out_put(json_t *obj, const char *key, json_t *value)
{
    if (value)
        json_object_set_new(obj, key, value);
}

json_t *json_out_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *json_out_time(struct opt_f64 epoch)
{
    char buf[40];
    if (!epoch.known || units_format_rfc3339_utc(epoch.v, buf, sizeof buf) < 0)
        return json_null();
    return json_string(buf);
}

int json_out_write(json_t *root, FILE *out, bool compact)
{
    size_t flags = JSON_PRESERVE_ORDER | (compact ? JSON_COMPACT : JSON_INDENT(2));
    errno = 0;
    int rc = json_dumpf(root, out, flags);
    json_decref(root);
    if (rc < 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
        return -(errno ? errno : EIO);
    return 0;
}
