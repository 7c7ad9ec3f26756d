// norm.cu: the element-wise halves of instance norm and batch norm in
// training mode. The statistics come from reduce.cu (group_sums_partial and
// norm_stats_finalize, group = (n, c) plane or channel c); the backward sums
// from norm_backward_partial below. per_sample selects instance norm (one
// group per (n, c)) or batch norm (one group per channel).
#include "common.cuh"

// norm_apply: y = (x - mean[g]) * rstd[g] * gamma[c] + beta[c].
// y, x: (N, C, S) with n elements; mean, rstd: (N*C) or (C); gamma, beta: (C) or null.
SUTURE_KERNEL void norm_apply(float* y, const float* x, const float* __restrict__ mean,
                              const float* __restrict__ rstd, const float* __restrict__ gamma,
                              const float* __restrict__ beta, int c, int s, int per_sample, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int plane = i / s, ch = plane % c, g = per_sample ? plane : ch;
    const float scale = rstd[g] * (gamma ? gamma[ch] : 1.0f);
    y[i] = (x[i] - mean[g]) * scale + (beta ? beta[ch] : 0.0f);
  }
}

// norm_backward_partial writes, for group g = blockIdx.x and chunk
// blockIdx.y, the sums of dy and of dy*xhat with xhat = (x - mean[g])*rstd[g].
// Group geometry as in reduce.cu. part: (groups, chunks, 2) float64.
SUTURE_KERNEL void norm_backward_partial(double* __restrict__ part, const float* __restrict__ dy,
                                         const float* __restrict__ x, const float* __restrict__ mean,
                                         const float* __restrict__ rstd, int seg_len, int segs, int seg_stride,
                                         int group_stride) {
  const int g = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
  int begin, end;
  chunk_range(seg_len * segs, chunks, chunk, &begin, &end);
  const float m = mean[g], r = rstd[g];
  float sdy = 0.0f, sdyx = 0.0f;
  for (int e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const int j = e / seg_len;
    const int off = g * group_stride + j * seg_stride + (e - j * seg_len);
    const float d = dy[off];
    sdy += d;
    sdyx += d * (x[off] - m) * r;
  }
  const double bs = block_sum<double>(sdy);
  const double bx = block_sum<double>(sdyx);
  if (threadIdx.x == 0) {
    part[(g * chunks + chunk) * 2] = bs;
    part[(g * chunks + chunk) * 2 + 1] = bx;
  }
}

// norm_backward_finalize combines the chunks in order: sums[g] = (sum dy,
// sum dy*xhat). sums: (groups, 2) float64.
SUTURE_KERNEL void norm_backward_finalize(double* __restrict__ sums, const double* __restrict__ part, int groups,
                                          int chunks) {
  GRID_STRIDE_LOOP(g, groups) {
    double a = 0.0, b = 0.0;
    for (int c = 0; c < chunks; c++) {
      a += part[(g * chunks + c) * 2];
      b += part[(g * chunks + c) * 2 + 1];
    }
    sums[g * 2] = a;
    sums[g * 2 + 1] = b;
  }
}

// norm_backward_apply: dx += rstd*(dy*gamma - gamma*sum(dy)/count -
// xhat*gamma*sum(dy*xhat)/count), the gradient through the statistics.
// dx, dy, x: (N, C, S) with n elements; mean, rstd: per group; gamma: (C) or
// null; sums: (groups, 2) from norm_backward_finalize.
SUTURE_KERNEL void norm_backward_apply(float* __restrict__ dx, const float* __restrict__ dy,
                                       const float* __restrict__ x, const float* __restrict__ mean,
                                       const float* __restrict__ rstd, const float* __restrict__ gamma,
                                       const double* __restrict__ sums, int c, int s, int count, int per_sample,
                                       int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int plane = i / s, ch = plane % c, g = per_sample ? plane : ch;
    const float gm = gamma ? gamma[ch] : 1.0f;
    const float r = rstd[g];
    const float mg = (float)(sums[g * 2] / count) * gm;
    const float mgx = (float)(sums[g * 2 + 1] / count) * gm;
    const float xh = (x[i] - mean[g]) * r;
    dx[i] += r * (dy[i] * gm - mg - xh * mgx);
  }
}

// norm_param_grads: dgamma[c] += sum over groups of channel c of sum(dy*xhat),
// dbeta[c] += likewise of sum(dy), added in order of n. Either may be null.
// dgamma, dbeta: (C); sums: (groups, 2), groups = N*C (per_sample) or C.
SUTURE_KERNEL void norm_param_grads(float* __restrict__ dgamma, float* __restrict__ dbeta,
                                    const double* __restrict__ sums, int nimg, int c, int per_sample) {
  GRID_STRIDE_LOOP(ch, c) {
    double sdy = 0.0, sdyx = 0.0;
    const int reps = per_sample ? nimg : 1;
    for (int i = 0; i < reps; i++) {
      const int g = per_sample ? i * c + ch : ch;
      sdy += sums[g * 2];
      sdyx += sums[g * 2 + 1];
    }
    if (dgamma) dgamma[ch] += (float)sdyx;
    if (dbeta) dbeta[ch] += (float)sdy;
  }
}
