// selftest_kernels.cu: deliberately wrong kernels and small probes for the
// emulator's own tests (kernels/emu). They are not part of the PTX module.
#include "../cuda/common.cuh"

// selftest_early_exit: threads i >= n return before a __syncthreads the
// others wait at: a deadlock the emulator must report. y: (blockDim.x)
SUTURE_KERNEL void selftest_early_exit(float* y, int n) {
  const int i = threadIdx.x;
  if (i >= n) return;
  y[i] = 1.0f;
  __syncthreads();
  y[i] += 1.0f;
}

// selftest_divergent_sync: odd and even threads wait at different barriers.
// y: (blockDim.x)
SUTURE_KERNEL void selftest_divergent_sync(float* y) {
  if (threadIdx.x % 2) {
    y[threadIdx.x] = 1.0f;
    __syncthreads();
  } else {
    y[threadIdx.x] = 2.0f;
    __syncthreads();
  }
}

// selftest_write_past_end writes y[0..n], one element past its (n) buffer:
// AddressSanitizer must report it with this file and line.
SUTURE_KERNEL void selftest_write_past_end(float* y, int n) {
  GRID_STRIDE_LOOP(i, n + 1) y[i] = 1.0f;
}

// selftest_warp_sums: out[w] = sum of x over warp w of the block, and
// out[warps + lane] = x shuffled by shfl_xor(lane ^ 1), for checking the
// shuffle emulation. x: (blockDim.x), out: (warps + blockDim.x)
SUTURE_KERNEL void selftest_warp_sums(float* out, const float* x) {
  const int warps = (blockDim.x + 31) / 32;
  const float v = x[threadIdx.x];
  const float s = warp_sum(v);
  if ((threadIdx.x & 31) == 0) out[threadIdx.x >> 5] = s;
  out[warps + threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 1);
}

// selftest_block_sum: out[blockIdx.x] = sum of x over the block's elements.
// x: (gridDim.x*blockDim.x), out: (gridDim.x) float64
SUTURE_KERNEL void selftest_block_sum(double* out, const float* x) {
  const double s = block_sum<double>(x[blockIdx.x * blockDim.x + threadIdx.x]);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// selftest_thread_ids: ids[t] = the linear (block, thread) index seen by
// thread t of a 3-D grid of 3-D blocks, to check the index variables.
// ids: (total threads) as float
SUTURE_KERNEL void selftest_thread_ids(float* ids) {
  const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int per_block = blockDim.x * blockDim.y * blockDim.z;
  ids[b * per_block + t] = (float)(b * per_block + t);
}

// selftest_barriers passes iters __syncthreads, for timing the emulator's
// fiber switches. y: (blockDim.x)
SUTURE_KERNEL void selftest_barriers(float* y, int iters) {
  float v = 0.0f;
  for (int i = 0; i < iters; i++) {
    v += 1.0f;
    __syncthreads();
  }
  y[threadIdx.x] = v;
}
