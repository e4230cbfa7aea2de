/* list_gpus.c - a small program on libgpuctl: each GPU in CUDA's order
 * (CUDA_VISIBLE_DEVICES applied), its memory, utilisation and performance
 * state, its MIG instances and the processes on it with their users.
 * Unknown values print as "N/A", never as 0.
 *
 *     cc list_gpus.c $(pkg-config --cflags --libs gpuctl) -o list_gpus
 */
#include <gpuctl/gpuctl.h>
#include <stdio.h>
#include <stdlib.h>

static void print_number(const gpuctl_snapshot *s, enum gpuctl_scope scope, size_t item,
                         const char *key, double scale, const char *unit)
{
    double v;
    int field = gpuctl_field_find(scope, key);
    if (field >= 0 && gpuctl_get_double(s, scope, item, field, &v) == 0)
        printf(" %s=%.0f%s", key, v * scale, unit);
    else
        printf(" %s=N/A", key);
}

static const char *text(const gpuctl_snapshot *s, enum gpuctl_scope scope, size_t item,
                        const char *key)
{
    const char *t = gpuctl_get_string(s, scope, item, gpuctl_field_find(scope, key));
    return t ? t : "N/A";
}

static void print_processes(const gpuctl_snapshot *s, size_t device)
{
    int dev_index = gpuctl_field_find(GPUCTL_SCOPE_GPU_PROCESS, "gpu_index");
    uint64_t index;
    if (gpuctl_device_u64(s, device, GPUCTL_DEVICE_INDEX, &index) != 0)
        return;
    for (size_t p = 0; p < gpuctl_process_count(s); p++) {
        double on;
        if (gpuctl_get_double(s, GPUCTL_SCOPE_GPU_PROCESS, p, dev_index, &on) != 0 ||
            on != (double)index)
            continue;
        uint64_t pid = 0;
        gpuctl_process_u64(s, p, GPUCTL_PROCESS_PID, &pid);
        printf("    pid %llu", (unsigned long long)pid);
        print_number(s, GPUCTL_SCOPE_GPU_PROCESS, p, "used_mem_bytes", 1.0 / 1048576, "MiB");
        size_t h;
        const char *user = "N/A";
        if (gpuctl_process_host(s, p, &h) == 0)
            user = text(s, GPUCTL_SCOPE_HOST_PROCESS, h, "user");
        printf(" user=%s\n", user);
    }
}

int main(void)
{
    char err[256];
    gpuctl *g;
    if (gpuctl_open(&g, err, sizeof err) != 0) {
        fprintf(stderr, "list_gpus: %s\n", err);
        return 2;
    }
    gpuctl_snapshot *s;
    if (gpuctl_snapshot_take(g, &s, err, sizeof err) != 0) {
        fprintf(stderr, "list_gpus: %s\n", err);
        gpuctl_close(g);
        return 2;
    }
    size_t order[64], n;
    if (gpuctl_cuda_devices(s, getenv("CUDA_VISIBLE_DEVICES"), order, 64, &n) != 0)
        n = 0;
    for (size_t c = 0; c < n; c++) {
        size_t d = order[c];
        uint64_t index = 0;
        gpuctl_device_u64(s, d, GPUCTL_DEVICE_INDEX, &index);
        printf("cuda:%zu (gpu:%llu) %s", c, (unsigned long long)index,
               text(s, GPUCTL_SCOPE_DEVICE, d, "name"));
        print_number(s, GPUCTL_SCOPE_DEVICE, d, "mem_used_mb", 1.0 / 1048576, "MiB");
        print_number(s, GPUCTL_SCOPE_DEVICE, d, "util_pct", 1, "%");
        printf(" pstate=%s\n", text(s, GPUCTL_SCOPE_DEVICE, d, "pstate"));
        for (size_t m = 0; m < gpuctl_mig_count(s); m++) {
            size_t parent;
            char profile[64];
            if (gpuctl_mig_parent(s, m, &parent) != 0 || parent != d)
                continue;
            if (gpuctl_mig_profile(s, m, profile, sizeof profile) != 0)
                snprintf(profile, sizeof profile, "N/A");
            printf("  mig %s profile=%s", text(s, GPUCTL_SCOPE_MIG, m, "uuid"), profile);
            print_number(s, GPUCTL_SCOPE_MIG, m, "mem_used_mb", 1.0 / 1048576, "MiB");
            printf("\n");
        }
        print_processes(s, d);
    }
    gpuctl_snapshot_free(s);
    gpuctl_close(g);
    return 0;
}
