/* Fuzz target: CUDA_VISIBLE_DEVICES parsing against a fixed device set. */
#include <string.h>

#include "core/filter.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct device devs[3];
    memset(devs, 0, sizeof devs);
    for (int i = 0; i < 3; i++) {
        devs[i].vendor = VENDOR_NVIDIA;
        devs[i].index = i;
        devs[i].uuid[0] = 'G';
        memcpy(devs[i].uuid, "GPU-0123-4567", 14);
        devs[i].uuid[4] = (char)('a' + i);
    }
    int out[4];
    size_t n;
    filter_cuda_visible((const char *)data, size, devs, 3, out, 4, &n);
    for (size_t i = 0; i < n; i++)
        if (out[i] < 0 || out[i] > 2)
            __builtin_trap();
    return 0;
}
