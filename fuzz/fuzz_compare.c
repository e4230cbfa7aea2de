/* fuzz_compare.c - compare_parse on arbitrary bytes (a run report is a
 * file anyone may hand to `gpuctl compare`), then a comparison of the
 * document with itself, which must find no regression. */
#include <stdlib.h>

#include "fuzz.h"
#include "jobs/compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct compare_doc d;
    struct error e = {0};
    if (compare_parse((const char *)data, size, "fuzz.json", &d, &e) < 0)
        return 0;
    struct compare_result r;
    if (compare_docs(&d, &d, 0.0, &r) == 0) {
        /* JSON has no NaN and group names are unique, so no row can grow. */
        if (r.regression)
            abort();
        compare_result_clear(&r);
    }
    compare_doc_clear(&d);
    return 0;
}
