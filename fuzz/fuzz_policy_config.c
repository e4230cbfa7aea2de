/* fuzz_policy_config.c - guard.toml and rogue.toml readers on arbitrary
 * bytes.  Whatever is accepted must write back as TOML that reads to the
 * same text again (the writer and the reader agree). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy/guard_config.h"
#include "policy/rogue_config.h"

static void guard(const char *data, size_t size)
{
    struct guard_config c, back;
    struct error e = {0};
    if (guard_config_parse(&c, data, size, "fuzz", &e) < 0)
        return;
    char *text = guard_config_to_toml(&c);
    if (!text || guard_config_parse(&back, text, strlen(text), "again", &e) < 0)
        abort();
    char *again = guard_config_to_toml(&back);
    if (!again || strcmp(text, again) != 0)
        abort();
    free(text);
    free(again);
    guard_config_free(&c);
    guard_config_free(&back);
}

static void rogue(const char *data, size_t size)
{
    struct rogue_config c, back;
    struct error e = {0};
    if (rogue_config_parse(&c, data, size, "fuzz", &e) < 0)
        return;
    char *text = rogue_config_to_toml(&c);
    if (!text || rogue_config_parse(&back, text, strlen(text), "again", &e) < 0)
        abort();
    char *again = rogue_config_to_toml(&back);
    if (!again || strcmp(text, again) != 0)
        abort();
    free(text);
    free(again);
    rogue_config_free(&c);
    rogue_config_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    guard((const char *)data, size);
    rogue((const char *)data, size);
    return 0;
}
