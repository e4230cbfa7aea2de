/* fuzz_options.c - the option parser (core/options.c) on arbitrary command
 * lines against every real option table (the src/cli tables).
 *
 * The first byte picks the table; the rest is split on NUL and newline
 * into arguments.  Besides not crashing, checks what options.h promises:
 * a failure is -EINVAL with a one-line message, argv is left unmodified,
 * every list value the parse kept passes options_check_value, and a
 * successful parse's rest lies inside argv.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "fuzz.h"

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

#define MAX_ARGS 64
#define REQUEST_BYTES 4096     /* larger than any request struct */

static size_t table_count(void)
{
    size_t n = 0;
    while (cli_option_tables[n])
        n++;
    return n;
}

/* Every list the parse filled holds values its spec accepts. */
static void check_lists(const struct options_command *cmd, const unsigned char *req)
{
    for (size_t i = 0; i < cmd->count; i++) {
        const struct options_spec *s = &cmd->specs[i];
        if (s->type != OPTIONS_LIST)
            continue;
        const struct options_list *l = (const void *)(req + s->offset);
        for (size_t k = 0; k < l->count; k++) {
            struct error e = {0};
            CHECK(strchr(l->values[k], ',') == NULL);
            CHECK(options_check_value(s, l->values[k], &e) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const struct options_command *cmd = cli_option_tables[data[0] % table_count()];
    char *text = malloc(size);
    CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *argv[MAX_ARGS + 2] = {(char *)cmd->name};
    int argc = 1;
    for (char *a = text; argc <= MAX_ARGS && a < text + size - 1;) {
        size_t len = strcspn(a, "\n");
        a[len] = '\0';
        argv[argc++] = a;
        a += len + 1;
    }
    char *copy[MAX_ARGS + 2];
    memcpy(copy, argv, sizeof copy);
    _Alignas(max_align_t) unsigned char req[REQUEST_BYTES] = {0};
    struct options_parsed p;
    struct error e = {0};
    int rc = options_parse(cmd, argc, argv, req, &p, &e);
    CHECK(memcmp(copy, argv, sizeof copy) == 0);
    if (rc < 0) {
        CHECK(rc == -EINVAL && e.code == rc && e.msg[0] && !strchr(e.msg, '\n'));
    } else {
        CHECK(rc == 0);
        check_lists(cmd, req);
        CHECK(p.rest_count >= 0 && p.rest_count < argc);
        if (p.rest_count)
            CHECK(p.rest >= argv + 1 && p.rest + p.rest_count == argv + argc);
        CHECK(p.operand_count <= cmd->max_operands);
    }
    options_parsed_clear(&p);
    free(text);
    return 0;
}
