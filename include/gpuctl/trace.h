/* gpuctl/trace.h - scopes for gpuctl's kernel flight recorder
 * (libgpuctl-trace.so).
 *
 * A scope names a phase of a program ("epoch", "forward", "allreduce").
 * Scopes nest per thread; every kernel is attributed to the scope path that
 * was open on the thread that launched it.  NVTX push/pop ranges are
 * recorded as scopes too, so code already annotated with NVTX needs none of
 * this.
 *
 *     #include <gpuctl/trace.h>        link with -lgpuctl-trace
 *
 *     void train_step(void) {
 *         GPUCTL_SCOPE("step");        // ends when the block is left
 *         ...
 *     }
 *
 * Run the program under `gpuctl trace -- PROGRAM` (CUDA loads the recorder
 * through CUDA_INJECTION64_PATH), or call gpuctl_trace_init() early in the
 * program.  While no recorder runs the calls cost a few nanoseconds and
 * record nothing.  A scope's name is copied once per distinct name, so a
 * temporary buffer is fine.  The calls take no lock, allocate nothing and
 * make no system call.
 */
#ifndef GPUCTL_TRACE_PUBLIC_H
#define GPUCTL_TRACE_PUBLIC_H

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the recorder in this process (configuration from GPUCTL_TRACE_*
 * environment variables, see gpuctl(1)).  Returns 0 when it runs (also
 * when it already ran), or a negative errno-style code after printing why
 * on stderr.  Call it before the first CUDA call for a complete record. */
int gpuctl_trace_init(void);

/* Opens a scope on the calling thread. */
void gpuctl_scope_begin(const char *name);
/* Closes the calling thread's innermost scope. */
void gpuctl_scope_end(void);

static inline void gpuctl_scope_cleanup__(int *unused)
{
    (void)unused;
    gpuctl_scope_end();
}

#define GPUCTL_SCOPE_CAT2__(a, b) a##b
#define GPUCTL_SCOPE_CAT__(a, b) GPUCTL_SCOPE_CAT2__(a, b)
/* Opens a scope that ends when the enclosing block is left, by any path. */
#define GPUCTL_SCOPE(name)                                                          \
    __attribute__((cleanup(gpuctl_scope_cleanup__), unused)) int                    \
    GPUCTL_SCOPE_CAT__(gpuctl_scope__, __LINE__) = (gpuctl_scope_begin(name), 0)

#ifdef __cplusplus
}
#endif

#endif
