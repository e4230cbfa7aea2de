// launches.cu - N launches of a kernel of about 5 us, then a synchronise;
// prints the wall time in seconds (bench/trace/run).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

__global__ void spin(long long cycles)
{
    long long start = clock64();
    while (clock64() - start < cycles)
        ;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 100000;
    if (cudaFree(0) != cudaSuccess)
        return 1;
    spin<<<1, 32>>>(1000);
    cudaDeviceSynchronize();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++)
        spin<<<1, 32>>>(7500);      // ~5 us at 1.5 GHz
    if (cudaDeviceSynchronize() != cudaSuccess)
        return 1;
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    std::printf("%.6f\n", dt.count());
    return 0;
}
