// workload.cu - a CUDA program with known kernels for tests/hw/test_trace_hw.py:
// 1000 launches of scale<<<128, 256>>> (600 inside the gpuctl scopes
// outer/inner, 400 inside the NVTX range "nvtx_range") and one tiny<<<1, 32>>>
// outside any scope.  Built with nvcc against libgpuctl-trace.so, once with
// the shared and once with the static CUDA runtime.
#include <cstdio>
#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>

#include "gpuctl/trace.h"

__global__ void scale(float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = x[i] * 1.0001f;
}

__global__ void tiny(float *x)
{
    x[threadIdx.x] += 1.0f;
}

#define CHECK(call)                                                              \
    do {                                                                         \
        cudaError_t err_ = (call);                                               \
        if (err_ != cudaSuccess) {                                               \
            std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(err_));   \
            return 2;                                                            \
        }                                                                        \
    } while (0)

int main()
{
    const int n = 128 * 256;
    float *x = nullptr;
    CHECK(cudaMalloc(&x, n * sizeof(float)));
    CHECK(cudaMemset(x, 0, n * sizeof(float)));
    {
        GPUCTL_SCOPE("outer");
        {
            GPUCTL_SCOPE("inner");
            for (int i = 0; i < 600; i++)
                scale<<<128, 256>>>(x, n);
        }
    }
    nvtxRangePushA("nvtx_range");
    for (int i = 0; i < 400; i++)
        scale<<<128, 256>>>(x, n);
    nvtxRangePop();
    tiny<<<1, 32>>>(x);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaFree(x));
    return 0;
}
