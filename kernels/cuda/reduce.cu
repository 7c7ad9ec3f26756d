// reduce.cu: deterministic reductions. Every reduction runs in two passes:
// blocks write partial results to a workspace in a fixed layout, then a
// finalize kernel combines the partials in a fixed order. No float atomics,
// so a result depends only on the launch geometry, never on timing.
//
// Grouped reductions (bias gradient, norm statistics) see a group as `segs`
// segments of `seg_len` contiguous elements: element e of group g lives at
// g*group_stride + (e/seg_len)*seg_stride + e%seg_len. An instance-norm plane
// is one segment; a batch-norm channel is N segments of H*W, C*H*W apart.
#include "common.cuh"

__device__ __forceinline__ int group_offset(int g, int e, int seg_len, int seg_stride, int group_stride) {
  const int j = e / seg_len;
  return g * group_stride + j * seg_stride + (e - j * seg_len);
}

// group_sums_partial writes, for group g = blockIdx.x and chunk blockIdx.y,
// the sum of (x - shift) and of (x - shift)^2 over the chunk, where shift is
// the group's first element when use_shift != 0 (it keeps the variance
// E[(x-shift)^2] - E[x-shift]^2 free of cancellation) and 0 otherwise.
// part: (groups, chunks, 2) float64; blockDim.x a multiple of 32.
SUTURE_KERNEL void group_sums_partial(double* __restrict__ part, const float* __restrict__ x, int seg_len, int segs,
                                      int seg_stride, int group_stride, int use_shift) {
  const int g = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
  int begin, end;
  chunk_range(seg_len * segs, chunks, chunk, &begin, &end);
  const float shift = use_shift ? x[g * group_stride] : 0.0f;
  float s = 0.0f, q = 0.0f;
  for (int e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const float v = x[group_offset(g, e, seg_len, seg_stride, group_stride)] - shift;
    s += v;
    q += v * v;
  }
  const double bs = block_sum<double>(s);
  const double bq = block_sum<double>(q);
  if (threadIdx.x == 0) {
    part[(g * chunks + chunk) * 2] = bs;
    part[(g * chunks + chunk) * 2 + 1] = bq;
  }
}

// norm_stats_finalize combines the chunks of each group in order into the
// mean and rstd = 1/sqrt(biased variance + eps) of its count elements.
// mean, rstd: (groups); part: (groups, chunks, 2) from group_sums_partial
// with use_shift = 1 on the same x.
SUTURE_KERNEL void norm_stats_finalize(float* __restrict__ mean, float* __restrict__ rstd,
                                       const double* __restrict__ part, const float* __restrict__ x, int groups,
                                       int chunks, int count, int group_stride, float eps) {
  GRID_STRIDE_LOOP(g, groups) {
    double s = 0.0, q = 0.0;
    for (int c = 0; c < chunks; c++) {
      s += part[(g * chunks + c) * 2];
      q += part[(g * chunks + c) * 2 + 1];
    }
    const double m = s / count;
    const double var = fmax(q / count - m * m, 0.0);
    mean[g] = (float)(m + (double)x[g * group_stride]);
    rstd[g] = (float)(1.0 / sqrt(var + (double)eps));
  }
}

// bias_grad_finalize: db[g] += the sum over the group, from the chunks of
// group_sums_partial with use_shift = 0. db: (groups)
SUTURE_KERNEL void bias_grad_finalize(float* __restrict__ db, const double* __restrict__ part, int groups,
                                      int chunks) {
  GRID_STRIDE_LOOP(g, groups) {
    double s = 0.0;
    for (int c = 0; c < chunks; c++) s += part[(g * chunks + c) * 2];
    db[g] += (float)s;
  }
}

// sum_partial writes one partial sum per block of: a (mode 0), a^2 (mode 1)
// or (a-b)^2 (mode 2), over all n elements. part: (gridDim.x) float64.
SUTURE_KERNEL void sum_partial(double* __restrict__ part, const float* __restrict__ a, const float* __restrict__ b,
                               int mode, int n) {
  double s = 0.0;
  GRID_STRIDE_LOOP(i, n) {
    const float v = a[i];
    if (mode == 0) {
      s += v;
    } else if (mode == 1) {
      s += (double)v * v;
    } else {
      const double d = (double)v - b[i];
      s += d * d;
    }
  }
  s = block_sum<double>(s);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// sum_finalize: out[0] = sum of the m partials, in an order fixed by the
// block size. Launch with one block. out: (1), part: (m) float64.
SUTURE_KERNEL void sum_finalize(double* __restrict__ out, const double* __restrict__ part, int m) {
  double s = 0.0;
  for (int i = threadIdx.x; i < m; i += blockDim.x) s += part[i];
  s = block_sum<double>(s);
  if (threadIdx.x == 0) out[0] = s;
}
