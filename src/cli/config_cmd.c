/* config_cmd.c - `gpuctl config show`: every setting's effective value and
 * where it came from, as a table or the configuration document
 * (src/doc/config_doc.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/table.h"
#include "core/term.h"
#include "doc/config_doc.h"
#include "doc/json.h"

static int show_json(const struct config *c)
{
    struct error e = {0};
    json_t *root = doc_config_build(c, &e);
    if (!root)
        return cli_fail(&e);
    int rc = doc_json_write(root, stdout, false);
    return rc < 0 ? cli_output_failed(rc) : EXIT_OK;
}

static int show_table(const struct config *c, bool ascii)
{
    const struct table_column cols[] = {
        {"KEY", TABLE_LEFT, false, 0}, {"VALUE", TABLE_LEFT, true, 5},
        {"SOURCE", TABLE_LEFT, false, 0}, {"ENVIRONMENT", TABLE_LEFT, false, 0},
    };
    struct table *t = table_new(cols, 4);
    if (!t)
        return EXIT_GENERAL;
    for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
        char value[128];
        config_value_text(c, (enum config_key)k, value, sizeof value);
        table_row(t);
        table_cell(t, 0, "%s", config_key_name((enum config_key)k));
        table_cell(t, 0, "%s", value);
        table_cell(t, 0, "%s", config_origin_name(c->origin[k]));
        table_cell(t, 0, "%s", config_key_env((enum config_key)k));
    }
    printf("config file: %s%s\n", c->file_path[0] ? c->file_path : "(none)",
           c->file_path[0] && !c->file_found ? " (not present; defaults apply)" : "");
    struct table_render_options o = {
        .ascii = ascii, .color = term_use_color(STDOUT_FILENO, c->use_colors),
        .width = c->table_width ? c->table_width : term_width(STDOUT_FILENO)};
    int rc = table_render(t, stdout, &o);
    table_free(t);
    if (rc == 0 && fflush(stdout) != 0)
        rc = -(errno ? errno : EIO);
    return rc < 0 ? cli_output_failed(rc) : EXIT_OK;
}

int cmd_config(int argc, char **argv)
{
    struct cli_common common = {0};
    struct config_request q = {0};
    struct options_parsed p;
    int rc = cli_parse_options(&config_options, argc, argv, &q, &p, &common);
    const char *action = p.operand_count ? p.operands[0] : NULL;
    options_parsed_clear(&p);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!action || strcmp(action, "show") != 0)
        return cli_usage_error("config", action ? "unknown action '%s'" : "missing action%s",
                               action ? action : " (show)");
    struct cli_ctx ctx = {0};
    rc = cli_load_config(&ctx, &common);
    struct error e = {0};
    if (rc == 0 && q.output &&
        config_set_from_flag(&ctx.cfg, CONFIG_OUTPUT_FORMAT, q.output, &e) < 0)
        return cli_usage_error("config", "--output: %s", e.msg);
    if (rc)
        return rc;
    return ctx.cfg.output_format == OUTPUT_JSON ? show_json(&ctx.cfg)
                                                : show_table(&ctx.cfg, q.ascii);
}
