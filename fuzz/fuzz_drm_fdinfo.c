/* fuzz_drm_fdinfo.c - drm_fdinfo_parse and the size parser on arbitrary
 * bytes (and the debugfs clients parser): no crash, no read past the input,
 * names always terminated and within the limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sources/drm_fdinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drm_fdinfo f;
    int rc = drm_fdinfo_parse((const char *)data, size, &f);
    if ((rc != 0 && rc != -ENOENT) || f.engine_count > DRM_FDINFO_MAX_ENGINES ||
        f.region_count > DRM_FDINFO_MAX_REGIONS)
        abort();
    for (size_t i = 0; i < f.engine_count; i++)
        if (strnlen(f.engines[i].name, DRM_FDINFO_NAME_MAX) == DRM_FDINFO_NAME_MAX ||
            !f.engines[i].name[0])
            abort();
    for (size_t i = 0; i < f.region_count; i++) {
        if (strnlen(f.regions[i].name, DRM_FDINFO_NAME_MAX) == DRM_FDINFO_NAME_MAX)
            abort();
        (void)drm_fdinfo_region_used(&f.regions[i]);
        (void)drm_fdinfo_region_is_vram(f.regions[i].name);
    }
    if (strnlen(f.driver, sizeof f.driver) == sizeof f.driver ||
        strnlen(f.pdev, sizeof f.pdev) == sizeof f.pdev)
        abort();
    uint64_t bytes;
    (void)drm_fdinfo_parse_size((const char *)data, size, &bytes);
    pid_t pids[8];
    size_t n;
    if (drm_fdinfo_parse_clients((const char *)data, size, pids, 8, &n) == 0)
        for (size_t i = 0; i < n && i < 8; i++)
            if (pids[i] <= 0)
                abort();
    return 0;
}
