/* fuzz_rogue_io.c - rogue_parse_io (/proc/PID/io contents) on arbitrary
 * bytes: never reads past the buffer, and a counter it reports known is
 * one the text holds. */
#include <stdlib.h>

#include "fuzz.h"
#include "policy/rogue_facts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rogue_io io;
    int rc = rogue_parse_io((const char *)data, size, &io);
    if (rc != 0 && rc != -ERROR_PARSE)
        abort();
    struct opt_u64 out = rogue_io_net_out(&io);
    if (out.known && (!io.wchar.known || out.v > io.wchar.v))
        abort();
    return 0;
}
