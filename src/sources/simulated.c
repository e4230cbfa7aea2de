/* simulated.c - the simulated GPU source (`--simulate GPUSxPROCS`).
 *
 * Each GPU follows a mean-reverting random walk for its load, and the
 * other metrics follow the load the way real boards do (memory traffic,
 * temperature, power, clocks, fan), so charts and alerts behave as on a
 * machine under work.  Everything comes from one seeded generator stepped
 * once per refresh, so the same seed and the same calls give the same
 * values.  Processes are attached to real local pids, chosen once and
 * replaced when they exit; GPU memory and SM load are split among each
 * GPU's processes.  snapshot.c starts this source alone when simulation is
 * on and never otherwise.
 */
#include "sources/simulated.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sources/rootfs.h"

/* Linux's PID_MAX_LIMIT: no process has a pid at or above it. */
#define SIM_FAKE_PID_BASE 4194304

struct sim_model {
    const char *name;
    unsigned mem_gib;
    unsigned power_limit_w;
    unsigned idle_w;
    unsigned sm_max_mhz;
    unsigned mem_mhz;
    unsigned pcie_gen;
};

static const struct sim_model sim_models[] = {
    {"Simulated H100 80GB HBM3", 80, 700, 70, 1980, 2619, 5},
    {"Simulated A100-SXM4-40GB", 40, 400, 55, 1410, 1215, 4},
    {"Simulated L40S", 48, 350, 35, 2520, 9001, 4},
};
#define SIM_MODEL_COUNT (sizeof sim_models / sizeof sim_models[0])

struct sim_gpu {
    double util;        /* percent */
    double target;      /* where the walk drifts to; moves now and then */
    double mem_frac;    /* of total */
    double temp;
    uint64_t energy_uj;
};

struct sim_proc {
    pid_t pid;
    unsigned gpu;
    double weight;      /* its share of the GPU's memory and load */
    bool graphics;
};

struct sim_state {
    struct simulated_spec spec;
    uint64_t rng;
    struct timespec last;
    struct sim_gpu gpus[SIMULATED_MAX_GPUS];
    struct sim_proc *procs;
    size_t proc_count;
};

static struct simulated_spec sim_config;
static bool sim_on;

void simulated_configure(const struct simulated_spec *spec)
{
    sim_on = spec != NULL;
    if (spec)
        sim_config = *spec;
}

bool simulated_enabled(void)
{
    return sim_on;
}

int simulated_parse_spec(const char *text, size_t len, struct simulated_spec *out,
                         struct error *e)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf || memchr(text, '\0', len))
        return error_set(e, -EINVAL, "--simulate: expected GPUSxPROCS, e.g. 4x8");
    memcpy(buf, text, len);
    buf[len] = '\0';
    unsigned long gpus, procs;
    unsigned long long seed = 1;
    int used = 0;
    int n = sscanf(buf, "%lux%lu%n", &gpus, &procs, &used);
    if (n != 2 || strpbrk(buf, "-+ \t") || !strchr(buf, 'x'))
        return error_set(e, -EINVAL, "--simulate %s: expected GPUSxPROCS, e.g. 4x8", buf);
    if (buf[used] == ':') {
        char *end;
        if (!buf[used + 1] || buf[used + 1] == '-')
            return error_set(e, -EINVAL, "--simulate %s: the seed after ':' must be a number",
                             buf);
        seed = strtoull(buf + used + 1, &end, 10);
        if (*end)
            return error_set(e, -EINVAL, "--simulate %s: the seed after ':' must be a number",
                             buf);
    } else if (buf[used]) {
        return error_set(e, -EINVAL, "--simulate %s: expected GPUSxPROCS, e.g. 4x8", buf);
    }
    if (gpus < 1 || gpus > SIMULATED_MAX_GPUS)
        return error_set(e, -EINVAL, "--simulate %s: the number of GPUs must be 1 to %d", buf,
                         SIMULATED_MAX_GPUS);
    if (procs > SIMULATED_MAX_PROCS)
        return error_set(e, -EINVAL, "--simulate %s: at most %d processes", buf,
                         SIMULATED_MAX_PROCS);
    out->gpus = (unsigned)gpus;
    out->procs = (unsigned)procs;
    out->seed = seed;
    return 0;
}

/* splitmix64: small, fast and good enough for plausible noise */
static uint64_t sim_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double sim_uniform(uint64_t *state)
{
    return (double)(sim_next(state) >> 11) / 9007199254740992.0;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static bool pid_exists(pid_t pid)
{
    char path[256];
    return rootfs_path(path, sizeof path, ROOTFS_PROC, "%d", (int)pid) == 0 &&
           access(path, F_OK) == 0;
}

static bool pid_taken(const struct sim_state *s, pid_t pid)
{
    for (size_t i = 0; i < s->proc_count; i++)
        if (s->procs[i].pid == pid)
            return true;
    return false;
}

/* A user process (kernel threads have an empty command line). */
static bool is_user_process(pid_t pid)
{
    char path[256], buf[8];
    size_t len = 0;
    return rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/cmdline", (int)pid) == 0 &&
           rootfs_read_file(path, buf, sizeof buf, &len) == 0 && len > 0;
}

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* The pids under /proc, ascending (one directory pass). */
static size_t list_pids(pid_t **out)
{
    char path[256];
    *out = NULL;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%s", "") < 0)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0, cap = 0;
    pid_t *pids = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid >= SIM_FAKE_PID_BASE)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            pid_t *p = realloc(pids, ncap * sizeof *p);
            if (!p)
                break;
            pids = p;
            cap = ncap;
        }
        pids[n++] = (pid_t)pid;
    }
    closedir(d);
    if (n)
        qsort(pids, n, sizeof *pids, pid_cmp);
    *out = pids;
    return n;
}

/* Gives every process whose pid is 0 a real user pid not yet used, in
 * ascending order, and an impossible pid when none is left. */
static void assign_pids(struct sim_state *s)
{
    pid_t *pids;
    size_t n = list_pids(&pids), next = 0;
    for (size_t i = 0; i < s->proc_count; i++) {
        if (s->procs[i].pid)
            continue;
        pid_t pid = 0;
        while (!pid && next < n) {
            pid_t cand = pids[next++];
            if (!pid_taken(s, cand) && is_user_process(cand))
                pid = cand;
        }
        s->procs[i].pid = pid ? pid : (pid_t)(SIM_FAKE_PID_BASE + i);
    }
    free(pids);
}

static int sim_init(void **state, struct error *e)
{
    if (!sim_on)
        return error_set(e, -ENODEV, "simulation is off (--simulate GPUSxPROCS)");
    struct sim_state *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory");
    s->spec = sim_config;
    s->rng = sim_config.seed;
    s->proc_count = sim_config.procs;
    if (s->proc_count && !(s->procs = calloc(s->proc_count, sizeof *s->procs))) {
        free(s);
        return error_set(e, -ENOMEM, "out of memory");
    }
    for (unsigned g = 0; g < s->spec.gpus; g++) {
        struct sim_gpu *gpu = &s->gpus[g];
        gpu->target = 20 + 70 * sim_uniform(&s->rng);
        gpu->util = gpu->target;
        gpu->mem_frac = 0.1 + 0.6 * sim_uniform(&s->rng);
        gpu->temp = 35 + 0.4 * gpu->util;
    }
    for (size_t i = 0; i < s->proc_count; i++) {
        s->procs[i].gpu = (unsigned)(i % s->spec.gpus);
        s->procs[i].weight = 0.2 + sim_uniform(&s->rng);
        s->procs[i].graphics = sim_uniform(&s->rng) < 0.1;
    }
    assign_pids(s);
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    *state = s;
    return 0;
}

static int sim_enumerate(void *state, struct device_list *out, struct error *e)
{
    struct sim_state *s = state;
    for (unsigned g = 0; g < s->spec.gpus; g++) {
        const struct sim_model *m = &sim_models[g % SIM_MODEL_COUNT];
        struct device *d;
        if (device_list_push(out, &d) < 0)
            return error_set(e, -ENOMEM, "out of memory");
        d->vendor = VENDOR_SIMULATED;
        d->source_slot = (int)g;
        snprintf(d->uuid, sizeof d->uuid, "GPU-5151a7ed-%04x-4000-8000-%012llx", g,
                 (unsigned long long)(s->spec.seed & 0xffffffffffffull));
        snprintf(d->name, sizeof d->name, "%s", m->name);
        snprintf(d->pci_bus_id, sizeof d->pci_bus_id, "0000:%02x:00.0", 0x10 + g);
        snprintf(d->driver, sizeof d->driver, "simulated");
        snprintf(d->driver_version, sizeof d->driver_version, "simulated");
        OPT_SET(d->mem_total_bytes, (uint64_t)m->mem_gib << 30);
        OPT_SET(d->power_limit_mw, (uint64_t)m->power_limit_w * 1000);
        OPT_SET(d->clock_sm_max_mhz, m->sm_max_mhz);
        OPT_SET(d->clock_graphics_max_mhz, m->sm_max_mhz);
        OPT_SET(d->clock_mem_max_mhz, m->mem_mhz);
        OPT_SET(d->pcie_gen_max, m->pcie_gen);
        OPT_SET(d->pcie_width_max, 16);
        OPT_SET(d->temp_slowdown_c, 87);
        OPT_SET(d->temp_shutdown_c, 92);
        OPT_SET(d->persistence_mode, 1);
        OPT_SET(d->display_active, 0);
        OPT_SET(d->compute_mode, COMPUTE_MODE_DEFAULT);
        OPT_SET(d->mig_mode, 0);
        OPT_SET(d->mig_mode_pending, 0);
    }
    return 0;
}

/* One step of a GPU's walk; a new target now and then, as jobs come and go. */
static void sim_step(struct sim_state *s, struct sim_gpu *gpu)
{
    if (sim_uniform(&s->rng) < 0.05)
        gpu->target = 100 * sim_uniform(&s->rng);
    double noise = (sim_uniform(&s->rng) - 0.5) * 12;
    gpu->util = clamp(gpu->util + 0.3 * (gpu->target - gpu->util) + noise, 0, 100);
    gpu->mem_frac = clamp(gpu->mem_frac + (sim_uniform(&s->rng) - 0.5) * 0.02, 0.05, 0.95);
    /* temperature lags the load (per step, not per second, so a seed
     * gives the same values whatever the interval) */
    double want = 32 + 0.5 * gpu->util;
    gpu->temp += (want - gpu->temp) * 0.3;
}

static void sim_fill(const struct sim_state *s, const struct sim_gpu *gpu, struct device *d)
{
    const struct sim_model *m = &sim_models[(unsigned)d->source_slot % SIM_MODEL_COUNT];
    double load = gpu->util / 100;
    uint64_t total = (uint64_t)m->mem_gib << 30;
    uint64_t used = (uint64_t)(gpu->mem_frac * (double)total) & ~0xfffffull;
    OPT_SET(d->mem_used_bytes, used);
    OPT_SET(d->mem_free_bytes, total - used);
    OPT_SET(d->util_gpu_pct, round(gpu->util));
    OPT_SET(d->util_mem_pct, round(gpu->util * 0.6));
    OPT_SET(d->util_enc_pct, 0);
    OPT_SET(d->util_dec_pct, 0);
    OPT_SET(d->temp_c, (int64_t)lround(gpu->temp));
    OPT_SET(d->temp_mem_c, (int64_t)lround(gpu->temp + 6));
    uint64_t power_w = m->idle_w + (uint64_t)(load * (m->power_limit_w - m->idle_w) * 0.95);
    OPT_SET(d->power_mw, power_w * 1000);
    OPT_SET(d->energy_uj, gpu->energy_uj);
    OPT_SET(d->fan_pct, round(30 + 0.6 * gpu->util));
    unsigned sm = (unsigned)(m->sm_max_mhz * (0.35 + 0.65 * load));
    OPT_SET(d->clock_sm_mhz, sm);
    OPT_SET(d->clock_graphics_mhz, sm);
    OPT_SET(d->clock_mem_mhz, m->mem_mhz);
    OPT_SET(d->pcie_gen, m->pcie_gen);
    OPT_SET(d->pcie_width, 16);
    OPT_SET(d->pcie_rx_kbps, (uint64_t)(load * 4e6));
    OPT_SET(d->pcie_tx_kbps, (uint64_t)(load * 1e6));
    OPT_SET(d->pstate, load > 0.05 ? 0 : 8);
    OPT_SET(d->ecc_volatile_corrected, 0);
    OPT_SET(d->ecc_volatile_uncorrected, 0);
    (void)s;
}

static int sim_refresh(void *state, struct device *devices, size_t count, struct error *e)
{
    (void)e;
    struct sim_state *s = state;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - s->last.tv_sec) + (now.tv_nsec - s->last.tv_nsec) / 1e9;
    s->last = now;
    for (size_t i = 0; i < count; i++) {
        unsigned g = (unsigned)devices[i].source_slot;
        if (g >= s->spec.gpus)
            continue;
        struct sim_gpu *gpu = &s->gpus[g];
        sim_step(s, gpu);
        const struct sim_model *m = &sim_models[g % SIM_MODEL_COUNT];
        double watts = m->idle_w + gpu->util / 100 * (m->power_limit_w - m->idle_w) * 0.95;
        gpu->energy_uj += (uint64_t)(watts * dt * 1e6);
        sim_fill(s, gpu, &devices[i]);
    }
    return 0;
}

/* Sum of the weights of each GPU's processes, to split its figures. */
static void weights_per_gpu(const struct sim_state *s, double *sum)
{
    for (unsigned g = 0; g < s->spec.gpus; g++)
        sum[g] = 0;
    for (size_t i = 0; i < s->proc_count; i++)
        sum[s->procs[i].gpu] += s->procs[i].weight;
}

/* A chosen real pid that exited is replaced by another real one. */
static void replace_exited(struct sim_state *s)
{
    bool any = false;
    for (size_t i = 0; i < s->proc_count; i++) {
        if (s->procs[i].pid < SIM_FAKE_PID_BASE && !pid_exists(s->procs[i].pid)) {
            s->procs[i].pid = 0;
            any = true;
        }
    }
    if (any)
        assign_pids(s);
}

static int sim_processes(void *state, struct device *devices, size_t count,
                         struct gpu_process_list *out, struct error *e)
{
    struct sim_state *s = state;
    double sum[SIMULATED_MAX_GPUS];
    replace_exited(s);
    weights_per_gpu(s, sum);
    for (size_t k = 0; k < count; k++) {
        const struct device *d = &devices[k];
        unsigned g = (unsigned)d->source_slot;
        if (g >= s->spec.gpus)
            continue;
        for (size_t i = 0; i < s->proc_count; i++) {
            const struct sim_proc *p = &s->procs[i];
            if (p->gpu != g)
                continue;
            struct gpu_process *gp;
            if (gpu_process_list_push(out, &gp) < 0)
                return error_set(e, -ENOMEM, "out of memory");
            double share = sum[g] > 0 ? p->weight / sum[g] : 0;
            gp->pid = p->pid;
            gp->device_index = d->index;
            gp->type = p->graphics ? GPU_PROC_GRAPHICS : GPU_PROC_COMPUTE;
            if (d->mem_used_bytes.known)
                OPT_SET(gp->gpu_mem_bytes,
                        (uint64_t)(share * 0.9 * (double)d->mem_used_bytes.v) & ~0xfffffull);
            if (d->util_gpu_pct.known)
                OPT_SET(gp->sm_pct, round(share * d->util_gpu_pct.v));
        }
    }
    return 0;
}

static void sim_shutdown(void *state)
{
    struct sim_state *s = state;
    if (!s)
        return;
    free(s->procs);
    free(s);
}

const struct source_ops simulated_source = {
    .name = "simulated",
    .init = sim_init,
    .enumerate = sim_enumerate,
    .refresh = sim_refresh,
    .processes = sim_processes,
    .shutdown = sim_shutdown,
};
