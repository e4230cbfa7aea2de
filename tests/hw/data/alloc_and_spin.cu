// alloc_and_spin.cu - a known CUDA workload for tests/hw: holds a given
// amount of device memory and keeps the GPU busy until its stdin closes.
//
//     nvcc -O2 -o alloc_and_spin alloc_and_spin.cu
//     ./alloc_and_spin MIB [CUDA_DEVICE]     prints "ready" once allocated
//
// It measures nothing itself: the tests read it through gpuctl and nvidia-smi.
#include <cuda_runtime.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

__global__ void spin(float *p, size_t n, int rounds)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float v = p[i];
    for (int r = 0; r < rounds; r++)
        v = v * 0.999f + 0.001f;
    p[i] = v;
}

static int check(cudaError_t rc, const char *what)
{
    if (rc == cudaSuccess)
        return 0;
    fprintf(stderr, "alloc_and_spin: %s: %s\n", what, cudaGetErrorString(rc));
    return 1;
}

static int stdin_closed(void)
{
    struct pollfd pfd = {0, POLLIN, 0};
    return poll(&pfd, 1, 0) != 0;   // EOF (or any input) ends the run
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    int device = argc > 2 ? atoi(argv[2]) : 0;
    size_t bytes = mib << 20, n = bytes / sizeof(float);
    float *p = NULL;
    if (check(cudaSetDevice(device), "cudaSetDevice") || check(cudaMalloc(&p, bytes), "cudaMalloc") ||
        check(cudaMemset(p, 0, bytes), "cudaMemset") ||
        check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"))
        return 1;
    printf("ready\n");
    fflush(stdout);
    while (!stdin_closed()) {
        spin<<<(unsigned)((n + 255) / 256), 256>>>(p, n, 64);
        if (check(cudaDeviceSynchronize(), "kernel"))
            return 1;
    }
    return check(cudaFree(p), "cudaFree");
}
