/* fuzz_units_size.c - units_parse_size on arbitrary bytes.
 *
 * Besides not crashing, checks what units.h promises: a failure is
 * -EINVAL or -ERANGE with a message naming a column, the output is left
 * alone on failure, and any size that parses formats back to text that
 * parses to within the three significant digits units_format_bytes keeps.
 */
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "fuzz.h"

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

static void check_round_trip(uint64_t value)
{
    char text[UNITS_BYTES_BUFSZ];
    units_format_bytes(value, text, sizeof text);
    uint64_t back = 0;
    struct error e = {0};
    int rc = units_parse_size(text, strlen(text), &back, &e);
    if (rc == -ERANGE) {
        CHECK(value >= 15ull << 60);   /* "16.0EiB" is one past the largest size */
        return;
    }
    CHECK(rc == 0);
    uint64_t diff = back > value ? back - value : value - back;
    CHECK(diff <= value / 199 + 1);   /* half a unit in the third digit */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t value = 0xdeadbeef;
    struct error e = {0};
    int rc = units_parse_size((const char *)data, size, &value, &e);
    if (rc == 0) {
        CHECK(e.code == 0);
        check_round_trip(value);
        return 0;
    }
    CHECK(rc == -EINVAL || rc == -ERANGE);
    CHECK(e.code == rc);
    CHECK(value == 0xdeadbeef);
    CHECK(strstr(e.msg, "invalid size \"") == e.msg);
    CHECK(strstr(e.msg, " at column ") != NULL);
    return 0;
}
