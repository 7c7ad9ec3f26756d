// cuda_emu.h maps the CUDA C dialect of kernels/cuda/*.cu onto C++17 so g++
// compiles those files unmodified and the emulator (emu_runtime.cpp) runs them:
//   - __global__/__device__ vanish: kernels are plain functions;
//   - __shared__ is static thread_local: one block runs at a time on an OS
//     thread, so its CUDA threads (fibers on that OS thread) share it;
//   - threadIdx/blockIdx/blockDim/gridDim are thread_local dim3s; the
//     scheduler sets threadIdx before it resumes a fiber;
//   - __syncthreads and the warp shuffles are barriers that switch fibers;
//   - atomics are __atomic builtins (blocks run on several OS threads).
#pragma once

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct dim3 {
  unsigned x, y, z;
};

namespace suture_emu {
extern thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;

// syncthreads is __syncthreads: a barrier over the block's threads that
// reports a deadlock (some threads exited or wait elsewhere).
void syncthreads(const char* file, int line);
// warp_exchange publishes v for this lane, waits for the warp, and returns
// the value of lane src (the caller's own value when src is this lane).
uint64_t warp_exchange(unsigned mask, uint64_t v, int src, const char* file, int line);
// lane is threadIdx's linear index modulo 32.
int lane();

template <class T>
inline uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
  uint64_t b = 0;
  memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
inline T from_bits(uint64_t b) {
  T v;
  memcpy(&v, &b, sizeof(T));
  return v;
}

template <class T>
inline T shfl_down(const char* file, int line, unsigned mask, T v, unsigned delta, int width = 32) {
  const int l = lane(), seg = l % width;
  const int src = seg + (int)delta < width ? l + (int)delta : l;
  return from_bits<T>(warp_exchange(mask, to_bits(v), src, file, line));
}
template <class T>
inline T shfl_up(const char* file, int line, unsigned mask, T v, unsigned delta, int width = 32) {
  const int l = lane(), seg = l % width;
  const int src = seg >= (int)delta ? l - (int)delta : l;
  return from_bits<T>(warp_exchange(mask, to_bits(v), src, file, line));
}
template <class T>
inline T shfl_xor(const char* file, int line, unsigned mask, T v, int lane_mask, int width = 32) {
  const int l = lane(), seg_base = l - l % width, src = l ^ lane_mask;
  return from_bits<T>(warp_exchange(mask, to_bits(v), src < seg_base + width ? src : l, file, line));
}
template <class T>
inline T shfl_idx(const char* file, int line, unsigned mask, T v, int src_lane, int width = 32) {
  const int l = lane(), seg_base = l - l % width;
  return from_bits<T>(warp_exchange(mask, to_bits(v), seg_base + src_lane % width, file, line));
}
}  // namespace suture_emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __restrict__ __restrict

#define threadIdx (::suture_emu::thread_idx)
#define blockIdx (::suture_emu::block_idx)
#define blockDim (::suture_emu::block_dim)
#define gridDim (::suture_emu::grid_dim)
#define warpSize 32

#define __syncthreads() ::suture_emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ((void)::suture_emu::warp_exchange(0xffffffffu, 0, ::suture_emu::lane(), __FILE__, __LINE__))
#define __shfl_down_sync(...) ::suture_emu::shfl_down(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) ::suture_emu::shfl_up(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) ::suture_emu::shfl_xor(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_sync(...) ::suture_emu::shfl_idx(__FILE__, __LINE__, __VA_ARGS__)

// Device math that libm lacks or names differently.
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }

// Atomics: blocks run concurrently on several OS threads.
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline int atomicCAS(int* p, int expected, int desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
inline int atomicMin(int* p, int v) {
  int old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (v < old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicMax(int* p, int v) {
  int old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (v > old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline float atomicAdd(float* p, float v) {
  float old, sum;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  do {
    sum = old + v;
  } while (!__atomic_compare_exchange(p, &old, &sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}
