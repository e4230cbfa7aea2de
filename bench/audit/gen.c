/* gen.c - fills an audit database with synthetic history for bench/audit,
 * through the store's own API (audit_record_samples), so the rows, the
 * interning and the rollups are exactly what recording writes.
 *
 * One host with 8 GPUs sampled every 60 s; jobs of 30 users and 40
 * program names start and end at random (deterministic seed) so about
 * PROCS processes run at any time, each with its own command line.  Stops
 * at ROWS process rows.  Usage: gen DB ROWS [PROCS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/audit.h"

#define GPUS 8
#define USERS 30
#define NAMES 40
#define BATCH 200

struct job {
    int user, name, gpu, cmd;
    pid_t pid;
    int64_t start_s;
    int left;                  /* samples to live */
    uint64_t mem_mib;
    int sm;
};

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void new_job(struct job *j, int64_t now_s, pid_t *pid)
{
    j->user = (int)(next() % USERS);
    j->name = (int)(next() % NAMES);
    j->gpu = (int)(next() % GPUS);
    j->cmd = (int)(next() % 5000);
    j->pid = ++*pid;
    j->start_s = now_s;
    j->left = 30 + (int)(next() % 600);
    j->mem_mib = 256 + next() % 30000;
    j->sm = (int)(next() % 101);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen DB ROWS [PROCS]\n");
        return 2;
    }
    long long rows = atoll(argv[2]);
    int procs = argc > 3 ? atoi(argv[3]) : 77;
    struct audit_db *db;
    struct error e = {0};
    if (audit_open(argv[1], 0, &db, &e) != 0) {
        fprintf(stderr, "gen: %s\n", e.msg);
        return 1;
    }
    audit_set_retention_days(db, 0);
    static char users[USERS][16], names[NAMES][24], cmds[5000][96];
    for (int i = 0; i < USERS; i++)
        snprintf(users[i], sizeof users[i], "user%02d", i);
    for (int i = 0; i < NAMES; i++)
        snprintf(names[i], sizeof names[i], "prog%02d", i);
    for (int i = 0; i < 5000; i++)
        snprintf(cmds[i], sizeof cmds[i], "python /home/u/exp%04d/train.py --lr 0.%04d --epochs %d",
                 i, i * 7 % 10000, i % 300);
    struct job *jobs = calloc((size_t)procs, sizeof *jobs);
    struct audit_sample *samples = calloc(BATCH, sizeof *samples);
    struct audit_proc_record *prow = calloc((size_t)procs * BATCH, sizeof *prow);
    struct audit_gpu_record *grow = calloc((size_t)GPUS * BATCH, sizeof *grow);
    char uuids[GPUS][48];
    pid_t pid = 1000;
    int64_t t_s = (int64_t)time(NULL) - (rows / procs) * 60 - 60;
    for (int i = 0; i < procs; i++)
        new_job(&jobs[i], t_s, &pid);
    for (int g = 0; g < GPUS; g++)
        snprintf(uuids[g], sizeof uuids[g], "GPU-bench-%02d", g);
    long long done = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (done < rows) {
        size_t ns = 0;
        for (; ns < BATCH && done < rows; ns++) {
            t_s += 60;
            struct audit_sample *s = &samples[ns];
            struct audit_proc_record *pr = &prow[ns * (size_t)procs];
            struct audit_gpu_record *gr = &grow[ns * GPUS];
            *s = (struct audit_sample){.time_ms = t_s * 1000, .host = "bench-host",
                                       .gpus = gr, .gpu_count = GPUS, .procs = pr};
            for (int g = 0; g < GPUS; g++) {
                gr[g] = (struct audit_gpu_record){.gpu_index = g, .uuid = uuids[g],
                                                  .vendor = VENDOR_NVIDIA, .name = "H100"};
                OPT_SET(gr[g].mem_used_bytes, (next() % 80000) << 20);
                OPT_SET(gr[g].mem_total_bytes, 81920ull << 20);
                OPT_SET(gr[g].util_pct, (double)(next() % 101));
                OPT_SET(gr[g].temp_c, 30 + (int64_t)(next() % 50));
                OPT_SET(gr[g].power_mw, 100000 + next() % 600000);
            }
            for (int i = 0; i < procs && done < rows; i++, done++) {
                struct job *j = &jobs[i];
                if (j->left-- <= 0)
                    new_job(j, t_s, &pid);
                struct audit_proc_record *p = &pr[s->proc_count++];
                *p = (struct audit_proc_record){.gpu_index = j->gpu, .pid = j->pid,
                                                .user = users[j->user], .name = names[j->name],
                                                .cmdline = cmds[j->cmd], .container = ""};
                OPT_SET(p->start_time_s, j->start_s);
                OPT_SET(p->gpu_mem_bytes, (j->mem_mib + next() % 64) << 20);
                OPT_SET(p->sm_pct, (double)((j->sm + (int)(next() % 11)) % 101));
            }
        }
        if (audit_record_samples(db, samples, ns, 60, &e) != 0) {
            fprintf(stderr, "gen: %s\n", e.msg);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("generated %lld process rows in %.1f s (%.2f us/row)\n", done, secs,
           secs * 1e6 / (double)done);
    audit_close(db);
    free(jobs);
    free(samples);
    free(prow);
    free(grow);
    return 0;
}
