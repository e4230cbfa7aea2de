/* cupti.c - libgpuctl-trace.so: the recorder inside a CUDA process.
 *
 * CUDA loads this library through CUDA_INJECTION64_PATH and calls
 * InitializeInjection (this works for statically linked cudart too, which
 * LD_PRELOAD does not reach); NVTX loads it through NVTX_INJECTION64_PATH
 * and calls InitializeInjectionNvtx2; a program linked with it may call
 * gpuctl_trace_init.  Whichever comes first starts the recorder once.
 *
 * This file is only the CUDA glue: CUPTI's activity buffers (kernels,
 * memcpy, memset) handed to the collector, the launch callback that
 * attributes a launch to the thread's scope path, NVTX ranges turned into
 * scopes, and the exported scope API.  The hot path, the collector and the
 * log format live in recorder.c, collector.c and log.c, which know nothing
 * of CUDA.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cupti.h>
#include <nvtx3/nvToolsExt.h>

#include "gpuctl/trace.h"
#include "trace/collector.h"
#include "trace/recorder.h"

#define ACTIVITY_BUFFER_BYTES (8u << 20)   /* bursts of ~40k kernel records */
#define ACTIVITY_ALIGN 8

int InitializeInjection(void);
int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_export_table);

static struct trace_rt g_rt;
static struct trace_collector *g_collector;
static struct trace_rt *_Atomic g_active;      /* set once everything is ready */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_start_rc;
static char g_activity_error[256];
static bool g_cupti_on;
static int64_t g_activity_offset;
static CUpti_SubscriberHandle g_subscriber;

/* Completed CUPTI buffers waiting for the collector.  CUPTI calls back on
 * its own threads, never an application's hot path, so a mutex is fine. */
struct done_buffer {
    uint8_t *buf;
    size_t valid;
    struct done_buffer *next;
};
static pthread_mutex_t g_done_mu = PTHREAD_MUTEX_INITIALIZER;
static struct done_buffer *g_done_head, **g_done_tail = &g_done_head;
static uint64_t g_lost_buffers;

/* ---- CUPTI activity buffers ---------------------------------------------------- */

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = aligned_alloc(ACTIVITY_ALIGN, ACTIVITY_BUFFER_BYTES);
    *size = *buffer ? ACTIVITY_BUFFER_BYTES : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer,
                                      size_t size, size_t valid)
{
    (void)ctx;
    (void)stream;
    (void)size;
    struct done_buffer *d = malloc(sizeof *d);
    pthread_mutex_lock(&g_done_mu);
    if (!d) {
        g_lost_buffers++;
        free(buffer);
    } else {
        *d = (struct done_buffer){buffer, valid, NULL};
        *g_done_tail = d;
        g_done_tail = &d->next;
    }
    pthread_mutex_unlock(&g_done_mu);
}

static uint64_t on_clock(uint64_t t)
{
    return (uint64_t)((int64_t)t + g_activity_offset);
}

static const char *copy_kind(uint8_t k)
{
    switch (k) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOA: return "HtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOH: return "AtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOA: return "AtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOD: return "AtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOA: return "DtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH: return "HtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP: return "PtoP";
    default: return "unknown";
    }
}

static void kernel_record(struct trace_collector *c, const CUpti_ActivityKernel10 *k)
{
    struct trace_kernel r = {
        .name = k->name, .start_ns = on_clock(k->start), .end_ns = on_clock(k->end),
        .device = k->deviceId, .context = k->contextId, .stream = k->streamId,
        .correlation = k->correlationId,
        .grid = {k->gridX, k->gridY, k->gridZ}, .block = {k->blockX, k->blockY, k->blockZ},
        .registers = k->registersPerThread, .static_smem = k->staticSharedMemory,
        .dynamic_smem = k->dynamicSharedMemory,
        .local_mem_per_thread = k->localMemoryPerThread,
    };
    trace_collector_kernel(c, &r);
}

static void activity_record(struct trace_collector *c, const CUpti_Activity *rec)
{
    switch (rec->kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
        kernel_record(c, (const CUpti_ActivityKernel10 *)rec);
        break;
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const CUpti_ActivityMemcpy6 *m = (const CUpti_ActivityMemcpy6 *)rec;
        struct trace_copy r = {
            .kind = copy_kind(m->copyKind), .bytes = m->bytes,
            .start_ns = on_clock(m->start), .end_ns = on_clock(m->end),
            .device = m->deviceId, .context = m->contextId, .stream = m->streamId,
            .correlation = m->correlationId,
        };
        trace_collector_copy(c, &r);
        break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
        const CUpti_ActivityMemset4 *m = (const CUpti_ActivityMemset4 *)rec;
        struct trace_copy r = {
            .kind = NULL, .bytes = m->bytes, .value = m->value,
            .start_ns = on_clock(m->start), .end_ns = on_clock(m->end),
            .device = m->deviceId, .context = m->contextId, .stream = m->streamId,
            .correlation = m->correlationId,
        };
        trace_collector_copy(c, &r);
        break;
    }
    default:
        break;
    }
}

static void activity_poll(void *ctx, struct trace_collector *c, bool flush)
{
    (void)ctx;
    if (!g_cupti_on)
        return;
    if (flush)
        cuptiActivityFlushAll(0);     /* completes buffers through buffer_completed */
    pthread_mutex_lock(&g_done_mu);
    struct done_buffer *d = g_done_head;
    g_done_head = NULL;
    g_done_tail = &g_done_head;
    pthread_mutex_unlock(&g_done_mu);
    while (d) {
        CUpti_Activity *rec = NULL;
        while (cuptiActivityGetNextRecord(d->buf, d->valid, &rec) == CUPTI_SUCCESS)
            activity_record(c, rec);
        struct done_buffer *next = d->next;
        free(d->buf);
        free(d);
        d = next;
    }
}

static uint64_t activity_dropped(void *ctx)
{
    (void)ctx;
    size_t dropped = 0;
    if (g_cupti_on && cuptiActivityGetNumDroppedRecords(NULL, 0, &dropped) != CUPTI_SUCCESS)
        dropped = 0;
    pthread_mutex_lock(&g_done_mu);
    uint64_t lost = g_lost_buffers;     /* whole buffers: counted as one each */
    g_lost_buffers = 0;
    pthread_mutex_unlock(&g_done_mu);
    return dropped + lost;
}

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

static char *activity_demangle(void *ctx, const char *name)
{
    (void)ctx;
    if (strncmp(name, "_Z", 2) != 0)
        return NULL;
    /* The C++ runtime a CUDA program carries; none, and names stay mangled. */
    cxa_demangle_fn fn = (cxa_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (!fn)
        return NULL;
    int status = -1;
    char *out = fn(name, NULL, NULL, &status);
    if (status != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static const struct trace_activity_ops activity_ops = {
    .poll = activity_poll, .dropped = activity_dropped, .demangle = activity_demangle,
};

/* ---- launch callback ----------------------------------------------------------- */

static const CUpti_CallbackId runtime_launches[] = {
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunch_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunch_ptsz_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernelMultiDevice_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000,
    CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_ptsz_v10000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060,
    CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000,
    CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_ptsz_v13000,
};

static const CUpti_CallbackId driver_launches[] = {
    CUPTI_DRIVER_TRACE_CBID_cuLaunch,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchGrid,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchGridAsync,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernelMultiDevice,
    CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch,
    CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz,
};

/* Runs on the launching thread: one atomic store, nothing else.  Both the
 * runtime call and the driver call it makes are attributed, since the
 * kernel record carries the correlation id of one of them. */
static void CUPTIAPI on_callback(void *userdata, CUpti_CallbackDomain domain,
                                 CUpti_CallbackId cbid, const void *data)
{
    (void)userdata;
    (void)domain;
    (void)cbid;
    const CUpti_CallbackData *cb = data;
    struct trace_rt *rt = atomic_load_explicit(&g_active, memory_order_acquire);
    if (rt && cb->callbackSite == CUPTI_API_ENTER)
        trace_attrib_launch(rt, cb->correlationId);
}

static uint64_t CUPTIAPI cupti_clock(void)
{
    return trace_now_ns();
}

/* ---- start and stop ------------------------------------------------------------ */

static int cupti_fail(const char *what, CUptiResult r)
{
    const char *msg = NULL;
    if (cuptiGetResultString(r, &msg) != CUPTI_SUCCESS || !msg)
        msg = "unknown CUPTI error";
    snprintf(g_activity_error, sizeof g_activity_error, "CUPTI %s failed: %s", what, msg);
    return -1;
}

static int enable_kind(CUpti_ActivityKind kind)
{
    CUptiResult r = cuptiActivityEnable(kind);
    return r == CUPTI_SUCCESS ? 0 : cupti_fail("cuptiActivityEnable", r);
}

static const char *g_activity_clock = "none";

static int cupti_start(unsigned kinds)
{
    /* Without a driver CUPTI answers CUPTI_ERROR_UNKNOWN; say what is missing. */
    if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD) &&
        !dlopen("libcuda.so.1", RTLD_LAZY)) {
        snprintf(g_activity_error, sizeof g_activity_error,
                 "no CUDA driver: libcuda.so.1 cannot be loaded");
        return -1;
    }
    uint64_t before = trace_now_ns(), cupti_ts = 0;
    if (cuptiActivityRegisterTimestampCallback(cupti_clock) == CUPTI_SUCCESS) {
        g_activity_offset = 0;
        g_activity_clock = "monotonic";
    } else if (cuptiGetTimestamp(&cupti_ts) == CUPTI_SUCCESS) {
        g_activity_offset = (int64_t)((before + trace_now_ns()) / 2) - (int64_t)cupti_ts;
        g_activity_clock = "offset";
    }
    size_t bytes = ACTIVITY_BUFFER_BYTES;
    cuptiActivitySetAttribute(CUPTI_ACTIVITY_ATTR_DEVICE_BUFFER_SIZE, &(size_t){sizeof bytes},
                              &bytes);
    CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (r != CUPTI_SUCCESS)
        return cupti_fail("cuptiActivityRegisterCallbacks", r);
    if ((kinds & TRACE_KIND_KERNEL && enable_kind(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) < 0) ||
        (kinds & TRACE_KIND_MEMCPY && enable_kind(CUPTI_ACTIVITY_KIND_MEMCPY) < 0) ||
        (kinds & TRACE_KIND_MEMSET && enable_kind(CUPTI_ACTIVITY_KIND_MEMSET) < 0))
        return -1;
    g_cupti_on = true;
    if (!(kinds & TRACE_KIND_KERNEL))
        return 0;
    r = cuptiSubscribe(&g_subscriber, on_callback, NULL);
    if (r != CUPTI_SUCCESS)
        return cupti_fail("cuptiSubscribe", r);
    for (size_t i = 0; i < sizeof runtime_launches / sizeof runtime_launches[0]; i++)
        cuptiEnableCallback(1, g_subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, runtime_launches[i]);
    for (size_t i = 0; i < sizeof driver_launches / sizeof driver_launches[0]; i++)
        cuptiEnableCallback(1, g_subscriber, CUPTI_CB_DOMAIN_DRIVER_API, driver_launches[i]);
    return 0;
}

static void at_exit(void)
{
    struct trace_rt *rt = atomic_exchange(&g_active, NULL);
    if (!rt || !g_collector)
        return;
    if (g_cupti_on)
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    trace_collector_stop(g_collector);
    /* The collector and the rings stay allocated: CUPTI or another thread may
     * still call in while the process ends. */
}

/* A forked child (data-loader workers, subprocess helpers) has no collector
 * thread and must not append to its parent's logs: it records nothing. */
static void on_fork_child(void)
{
    atomic_store(&g_active, NULL);
    g_collector = NULL;
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

static void start_once(void)
{
    struct trace_config cfg;
    struct error e = {0};
    int rc = trace_config_load(&cfg, env_get, &e);
    if (rc == 0)
        rc = trace_rt_init(&g_rt, &cfg, &e);
    if (rc < 0) {
        fprintf(stderr, "gpuctl-trace: %s; not recording\n", e.msg);
        g_start_rc = rc;
        return;
    }
    struct timespec wall;
    uint64_t mono = trace_now_ns();
    clock_gettime(CLOCK_REALTIME, &wall);
    if (cfg.kinds & (TRACE_KIND_KERNEL | TRACE_KIND_MEMCPY | TRACE_KIND_MEMSET) &&
        cupti_start(cfg.kinds) < 0) {
        fprintf(stderr, "gpuctl-trace: %s; recording scopes and system samples only\n",
                g_activity_error);
        g_cupti_on = false;
    }
    struct trace_collector_info info = {
        .ops = &activity_ops,
        .clock = {mono, (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec,
                  g_activity_clock, g_activity_offset},
        .activity_status = g_activity_error[0] ? g_activity_error : NULL,
        .version = GPUCTL_TRACE_VERSION,
    };
    if ((rc = trace_collector_open(&g_collector, &g_rt, &info, &e)) < 0 ||
        (rc = trace_collector_start(g_collector, &e)) < 0) {
        fprintf(stderr, "gpuctl-trace: %s; not recording\n", e.msg);
        if (g_cupti_on)
            cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        g_start_rc = rc;
        return;
    }
    atomic_store_explicit(&g_active, &g_rt, memory_order_release);
    pthread_atfork(NULL, NULL, on_fork_child);
    atexit(at_exit);
}

int gpuctl_trace_init(void)
{
    /* Programs that link the library get their NVTX ranges too, provided
     * NVTX has not been used yet: it reads this variable on first use. */
    Dl_info self;
    if (!getenv("NVTX_INJECTION64_PATH") && dladdr((void *)gpuctl_trace_init, &self) &&
        self.dli_fname)
        setenv("NVTX_INJECTION64_PATH", self.dli_fname, 0);
    pthread_once(&g_once, start_once);
    return g_start_rc;
}

int InitializeInjection(void)
{
    pthread_once(&g_once, start_once);
    return 1;
}

/* ---- scopes: the public API and NVTX ------------------------------------------- */

/* Scopes opened before the recorder ran: they are not on the recorder's
 * stack, so their ends must not pop it. */
static _Thread_local unsigned tls_unrecorded;

void gpuctl_scope_begin(const char *name)
{
    struct trace_rt *rt = atomic_load_explicit(&g_active, memory_order_acquire);
    if (!rt || !(rt->cfg.kinds & TRACE_KIND_SCOPE) || !name) {
        tls_unrecorded++;
        return;
    }
    trace_scope_begin(rt, name, strlen(name), trace_now_ns());
}

void gpuctl_scope_end(void)
{
    struct trace_rt *rt = atomic_load_explicit(&g_active, memory_order_acquire);
    if (rt && trace_scope_depth() > 0)
        trace_scope_end(rt, trace_now_ns());
    else if (tls_unrecorded)
        tls_unrecorded--;
}

static int nvtx_push(const char *msg)
{
    struct trace_rt *rt = atomic_load_explicit(&g_active, memory_order_acquire);
    if (!rt || !(rt->cfg.kinds & TRACE_KIND_NVTX) || !msg) {
        tls_unrecorded++;
        return 0;
    }
    trace_scope_begin(rt, msg, strlen(msg), trace_now_ns());
    return (int)trace_scope_depth() - 1;
}

static int nvtx_pop(void)
{
    struct trace_rt *rt = atomic_load_explicit(&g_active, memory_order_acquire);
    if (rt && trace_scope_depth() > 0) {
        trace_scope_end(rt, trace_now_ns());
        return (int)trace_scope_depth();
    }
    if (tls_unrecorded)
        tls_unrecorded--;
    return 0;
}

static int NVTX_API nvtx_range_push_a(const char *msg)
{
    return nvtx_push(msg);
}

static int NVTX_API nvtx_range_push_ex(const nvtxEventAttributes_t *attr)
{
    if (attr && attr->messageType == NVTX_MESSAGE_TYPE_ASCII)
        return nvtx_push(attr->message.ascii);
    return nvtx_push(NULL);
}

static int NVTX_API nvtx_range_pop(void)
{
    return nvtx_pop();
}

static int NVTX_API nvtx_domain_range_push_ex(nvtxDomainHandle_t domain,
                                              const nvtxEventAttributes_t *attr)
{
    (void)domain;
    return nvtx_range_push_ex(attr);
}

static int NVTX_API nvtx_domain_range_pop(nvtxDomainHandle_t domain)
{
    (void)domain;
    return nvtx_pop();
}

static void set_entry(NvtxFunctionTable table, unsigned size, unsigned id,
                      NvtxFunctionPointer fn)
{
    if (table && id <= size && table[id])
        *table[id] = fn;
}

int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_export_table)
{
    pthread_once(&g_once, start_once);
    const NvtxExportTableCallbacks *cb = get_export_table(NVTX_ETID_CALLBACKS);
    if (!cb || cb->struct_size < sizeof *cb || !cb->GetModuleFunctionTable)
        return 0;
    NvtxFunctionTable table = NULL;
    unsigned size = 0;
    if (cb->GetModuleFunctionTable(NVTX_CB_MODULE_CORE, &table, &size)) {
        set_entry(table, size, NVTX_CBID_CORE_RangePushA, (NvtxFunctionPointer)nvtx_range_push_a);
        set_entry(table, size, NVTX_CBID_CORE_RangePushEx,
                  (NvtxFunctionPointer)nvtx_range_push_ex);
        set_entry(table, size, NVTX_CBID_CORE_RangePop, (NvtxFunctionPointer)nvtx_range_pop);
    }
    table = NULL;
    size = 0;
    if (cb->GetModuleFunctionTable(NVTX_CB_MODULE_CORE2, &table, &size)) {
        set_entry(table, size, NVTX_CBID_CORE2_DomainRangePushEx,
                  (NvtxFunctionPointer)nvtx_domain_range_push_ex);
        set_entry(table, size, NVTX_CBID_CORE2_DomainRangePop,
                  (NvtxFunctionPointer)nvtx_domain_range_pop);
    }
    return 1;
}
