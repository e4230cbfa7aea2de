/* sweep.c - times drm_sweep (src/sources/drm.c) on the trees named by
 * GPUCTL_PROC_ROOT / GPUCTL_SYS_ROOT.  Built and run by bench/fdinfo/run
 * against a build's libgpuctl-internal.a; not part of the project's build.
 *
 *   sweep RUNS WARMUP   ->  one line: runs, median/p90/min ms, fds, DRM fds, clients
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sources/drm.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 50, warmup = argc > 2 ? atoi(argv[2]) : 3;
    struct error e = {0};
    struct drm_card *cards;
    size_t ncards;
    if (runs < 1 || drm_sysfs_scan(&cards, &ncards, &e) < 0 || ncards == 0) {
        fprintf(stderr, "sweep: no DRM card in the sys root (%s)\n", e.msg);
        return 2;
    }
    double *t = calloc((size_t)runs, sizeof *t);
    struct drm_sweep s = {0};
    for (int i = -warmup; i < runs; i++) {
        drm_sweep_free(&s);
        double t0 = now_ms();
        if (drm_sweep(cards, ncards, &s, &e) < 0) {
            fprintf(stderr, "sweep: %s\n", e.msg);
            return 2;
        }
        if (i >= 0)
            t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, by_value);
    printf("%d %.3f %.3f %.3f %zu %zu %zu\n", runs, t[runs / 2], t[(runs * 9) / 10], t[0],
           s.fds_seen, s.drm_fds, s.count);
    drm_sweep_free(&s);
    free(t);
    free(cards);
    return 0;
}
