// common.cuh: what every kernel file shares: the entry-point macro, the
// grid-stride loop, and deterministic warp and block reductions.
//
// The same sources are compiled by nvcc into PTX (make ptx) and by g++ under
// the CUDA emulator (kernels/emu), so they use only what the emulator maps:
// static __shared__ arrays (no extern __shared__), 1-D thread blocks for the
// reductions, __syncthreads, __shfl_*_sync and integer atomics.
#pragma once

// Kernels are extern "C" so their PTX names are the plain names the Go launch
// code uses. The emulator's fault-injection build redefines this to give a
// second, deliberately broken copy of a kernel C++ linkage inside a namespace.
#ifndef SUTURE_KERNEL
#define SUTURE_KERNEL extern "C" __global__
#endif

// SUTURE_TILE_SYNC is the barrier between filling a shared-memory tile and
// reading it. It is a macro only so the emulator's self-test can compile a
// variant without it and check that the tests then fail; nvcc never sees
// SUTURE_FAULT_NO_TILE_SYNC defined.
#ifdef SUTURE_FAULT_NO_TILE_SYNC
#define SUTURE_TILE_SYNC() ((void)0)
#else
#define SUTURE_TILE_SYNC() __syncthreads()
#endif

// Every element index fits in an int: the launch code refuses tensors of 2^30
// elements or more, so i + blockDim.x*gridDim.x cannot overflow either.
#define GRID_STRIDE_LOOP(i, n) \
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// warp_sum returns, in lane 0, the sum of v over the 32 lanes of the warp, in
// a fixed tree order (lane i adds lane i+16, then i+8, ...).
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// block_sum returns the sum of v over the block to every thread. blockDim.x
// must be a multiple of 32 (at most 1024) and blockDim.y == blockDim.z == 1.
// The order is fixed by the geometry, so results are bitwise reproducible.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T warp_totals[32];
  __shared__ T total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) warp_totals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x >> 5;
    T w = lane < warps ? warp_totals[lane] : T(0);
    w = warp_sum(w);
    if (lane == 0) total = w;
  }
  __syncthreads();
  T result = total;
  // A second call may overwrite total: everyone must have read it first.
  __syncthreads();
  return result;
}

// chunk_range splits [0, count) into chunks of equal size (the last shorter)
// and returns chunk c as [begin, end).
__device__ __forceinline__ void chunk_range(int count, int chunks, int c, int* begin, int* end) {
  const int size = (count + chunks - 1) / chunks;
  *begin = min(count, c * size);
  *end = min(count, *begin + size);
}
