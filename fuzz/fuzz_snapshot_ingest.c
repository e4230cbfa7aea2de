/* fuzz_snapshot_ingest.c - the coordinator's one-pass decoder
 * (doc_snapshot_ingest) on arbitrary bytes, against the jansson-based
 * doc_snapshot_decode_buffer: it must never crash or leak, must accept
 * exactly what that one accepts, refuse with a reason and nothing handed
 * back, and read the same facts from what both accept.  One known
 * difference: jansson skips a NUL byte right after a number or a literal
 * (its one character of look-ahead is put back as "nothing"), which JSON
 * does not allow and ingest refuses; so input holding a NUL byte may be
 * refused by ingest alone. */
#include <stdlib.h>
#include <string.h>

#include "cluster/summary.h"
#include "doc/snapshot_doc.h"
#include "doc/snapshot_ingest.h"
#include "fuzz.h"

static bool f64_same(struct opt_f64 a, struct opt_f64 b)
{
    return a.known == b.known && (!a.known || !memcmp(&a.v, &b.v, sizeof a.v));
}

static bool same_facts(const struct cluster_node_facts *a, const struct cluster_node_facts *b)
{
    if (a->gpu_count != b->gpu_count || a->proc_count != b->proc_count ||
        a->host_count != b->host_count)
        return false;
    for (size_t i = 0; i < a->gpu_count; i++) {
        const struct cluster_gpu_facts *x = &a->gpus[i], *y = &b->gpus[i];
        if (x->index != y->index || strcmp(x->uuid, y->uuid) || strcmp(x->name, y->name) ||
            x->mem_total_bytes.known != y->mem_total_bytes.known ||
            x->mem_total_bytes.v != y->mem_total_bytes.v ||
            x->mem_used_bytes.known != y->mem_used_bytes.known ||
            x->mem_used_bytes.v != y->mem_used_bytes.v || !f64_same(x->util_pct, y->util_pct) ||
            x->power_mw.known != y->power_mw.known || x->power_mw.v != y->power_mw.v)
            return false;
    }
    for (size_t i = 0; i < a->proc_count; i++) {
        const struct cluster_process_facts *x = &a->procs[i], *y = &b->procs[i];
        if (x->gpu_index != y->gpu_index || x->pid != y->pid ||
            x->gpu_mem_bytes.known != y->gpu_mem_bytes.known ||
            x->gpu_mem_bytes.v != y->gpu_mem_bytes.v || !f64_same(x->sm_pct, y->sm_pct))
            return false;
    }
    for (size_t i = 0; i < a->host_count; i++) {
        const struct cluster_host_facts *x = &a->hosts[i], *y = &b->hosts[i];
        if (x->pid != y->pid || strcmp(x->user, y->user) || x->uid.known != y->uid.known ||
            x->uid.v != y->uid.v || !f64_same(x->elapsed_s, y->elapsed_s))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snapshot *s = NULL;
    struct cluster_node_facts mine, theirs;
    struct error e1 = {0}, e2 = {0};
    int rc1 = doc_snapshot_decode_buffer((const char *)data, size, &s, &e1);
    int rc2 = doc_snapshot_ingest((const char *)data, size, &mine, &e2);
    bool nul = memchr(data, '\0', size) != NULL;
    if (rc2 == 0 && rc1 != 0)
        abort();           /* ingest accepts what jansson refuses */
    if (rc1 == 0 && rc2 != 0 && !nul)
        abort();           /* ingest refuses what jansson accepts */
    if (rc2 != 0) {
        if (!e2.msg[0] || mine.gpu_count || mine.proc_count || mine.host_count)
            abort();       /* a refusal says why and hands back nothing */
        snapshot_free(s);
        return 0;
    }
    if (cluster_node_facts_from_snapshot(&theirs, s, &e1) == 0 && !same_facts(&mine, &theirs))
        abort();
    cluster_node_facts_clear(&theirs);
    cluster_node_facts_clear(&mine);
    snapshot_free(s);
    return 0;
}
