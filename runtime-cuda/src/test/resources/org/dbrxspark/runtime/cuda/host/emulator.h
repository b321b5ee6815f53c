// Runs CUDA kernels on the host, for the checks of CudaHostTest: a block's threads are host
// threads, __syncthreads a barrier across them, a warp shuffle a barrier and an exchange across its
// 32 threads, __shared__ a static (blocks run one after another). Only what the backend's kernels
// use is here.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

using std::max;
using std::min;

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};
thread_local Dim3 threadIdx, blockIdx;
Dim3 blockDim, gridDim;
thread_local std::barrier<>* blockBarrier;
thread_local std::barrier<>* warpBarrier;
thread_local float* warpSlots;

#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() blockBarrier->arrive_and_wait()

static float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
static unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }

static float __shfl_down_sync(unsigned, float v, int offset) {
  int lane = threadIdx.x % 32;
  warpSlots[lane] = v;
  warpBarrier->arrive_and_wait();
  float r = lane + offset < 32 ? warpSlots[lane + offset] : v;
  warpBarrier->arrive_and_wait();
  return r;
}

// kernel() on a [gx, gy] grid of bx-thread blocks.
template <typename Kernel>
void launch(unsigned gx, unsigned gy, unsigned bx, Kernel kernel) {
  gridDim = {gx, gy, 1};
  blockDim = {bx, 1, 1};
  for (unsigned y = 0; y < gy; y++) {
    for (unsigned x = 0; x < gx; x++) {
      std::barrier<> block(bx);
      std::vector<std::barrier<>*> warps;
      std::vector<std::vector<float>> slots;
      for (unsigned w = 0; w < (bx + 31) / 32; w++) {
        warps.push_back(new std::barrier<>(min(32u, bx - 32 * w)));
        slots.emplace_back(32);
      }
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < bx; t++) {
        threads.emplace_back([&, t] {
          threadIdx = {t, 0, 0};
          blockIdx = {x, y, 0};
          blockBarrier = &block;
          warpBarrier = warps[t / 32];
          warpSlots = slots[t / 32].data();
          kernel();
        });
      }
      for (std::thread& thread : threads) {
        thread.join();
      }
      for (std::barrier<>* warp : warps) {
        delete warp;
      }
    }
  }
}
