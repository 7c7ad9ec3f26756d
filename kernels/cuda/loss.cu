// loss.cu: softmax over the class dimension, cross-entropy and soft-Dice
// partial sums. Scores are (N, K, S) with S = H*W; targets (N, S) hold class
// indices as floats, checked by check_targets before any kernel reads them as
// an index. One thread per pixel (softmax, cross-entropy) or per element.
#include "common.cuh"

// check_targets records in *first_bad the smallest index i whose t[i] is not
// an integer in [0, k) (NaN included). *first_bad must start at INT_MAX.
// Integer atomicMin gives the same answer in any order. t: (n)
SUTURE_KERNEL void check_targets(int* first_bad, const float* __restrict__ t, int k, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const float v = t[i];
    if (!(v >= 0.0f && v < (float)k && v == truncf(v))) atomicMin(first_bad, i);
  }
}

// softmax_forward: p[n, :, s] = softmax over classes of x[n, :, s].
// p, x: (N, K, S); npix = N*S.
SUTURE_KERNEL void softmax_forward(float* p, const float* x, int k, int s, int npix) {
  GRID_STRIDE_LOOP(pix, npix) {
    const int img = pix / s, base = img * k * s + (pix - img * s);
    float mx = x[base];
    for (int c = 1; c < k; c++) mx = fmaxf(mx, x[base + c * s]);
    float z = 0.0f;
    for (int c = 0; c < k; c++) {
      const float e = expf(x[base + c * s] - mx);
      p[base + c * s] = e;
      z += e;
    }
    const float inv = 1.0f / z;
    for (int c = 0; c < k; c++) p[base + c * s] *= inv;
  }
}

// softmax_backward: dx += p*(dp - sum over classes of dp*p).
// dx, dp, p: (N, K, S); npix = N*S.
SUTURE_KERNEL void softmax_backward(float* __restrict__ dx, const float* __restrict__ dp,
                                    const float* __restrict__ p, int k, int s, int npix) {
  GRID_STRIDE_LOOP(pix, npix) {
    const int img = pix / s, base = img * k * s + (pix - img * s);
    float dot = 0.0f;
    for (int c = 0; c < k; c++) dot += dp[base + c * s] * p[base + c * s];
    for (int c = 0; c < k; c++) dx[base + c * s] += p[base + c * s] * (dp[base + c * s] - dot);
  }
}

// cross_entropy_forward writes p = softmax(x) and, per block, the partial sum
// of -log p[target] = max + log(sum exp(x - max)) - x[target] over its pixels.
// p, x: (N, K, S); t: (N, S) valid class indices; part: (gridDim.x) float64.
SUTURE_KERNEL void cross_entropy_forward(float* __restrict__ p, double* __restrict__ part,
                                         const float* __restrict__ x, const float* __restrict__ t, int k, int s,
                                         int npix) {
  double loss = 0.0;
  GRID_STRIDE_LOOP(pix, npix) {
    const int img = pix / s, base = img * k * s + (pix - img * s);
    float mx = x[base];
    for (int c = 1; c < k; c++) mx = fmaxf(mx, x[base + c * s]);
    float z = 0.0f;
    for (int c = 0; c < k; c++) {
      const float e = expf(x[base + c * s] - mx);
      p[base + c * s] = e;
      z += e;
    }
    const float inv = 1.0f / z;
    for (int c = 0; c < k; c++) p[base + c * s] *= inv;
    loss += (double)mx + log((double)z) - (double)x[base + (int)t[pix] * s];
  }
  loss = block_sum<double>(loss);
  if (threadIdx.x == 0) part[blockIdx.x] = loss;
}

// cross_entropy_backward: dx += f*(p - onehot(target)), f = scale/(N*S).
// dx, p: (N, K, S) with n elements; t: (N, S).
SUTURE_KERNEL void cross_entropy_backward(float* __restrict__ dx, const float* __restrict__ p,
                                          const float* __restrict__ t, float f, int k, int s, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int img = i / (k * s), r = i - img * k * s, c = r / s;
    const float onehot = (int)t[img * s + (r - c * s)] == c ? 1.0f : 0.0f;
    dx[i] += f * (p[i] - onehot);
  }
}

// dice_sums_partial writes, for class c = blockIdx.x and chunk blockIdx.y,
// the sums over the chunk's pixels of p*[t==c], p and [t==c].
// p: (N, K, S); t: (N, S); npix = N*S; part: (K, chunks, 3) float64.
SUTURE_KERNEL void dice_sums_partial(double* __restrict__ part, const float* __restrict__ p,
                                     const float* __restrict__ t, int k, int s, int npix) {
  const int c = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
  int begin, end;
  chunk_range(npix, chunks, chunk, &begin, &end);
  float tp = 0.0f, ps = 0.0f, ts = 0.0f;
  for (int pix = begin + threadIdx.x; pix < end; pix += blockDim.x) {
    const int img = pix / s;
    const float v = p[(img * k + c) * s + (pix - img * s)];
    const bool hit = (int)t[pix] == c;
    ps += v;
    if (hit) {
      tp += v;
      ts += 1.0f;
    }
  }
  const double btp = block_sum<double>(tp);
  const double bps = block_sum<double>(ps);
  const double bts = block_sum<double>(ts);
  if (threadIdx.x == 0) {
    double* out = part + (c * chunks + chunk) * 3;
    out[0] = btp;
    out[1] = bps;
    out[2] = bts;
  }
}

// dice_sums_finalize overwrites tp, ps, ts (K) with the chunk sums, in order.
SUTURE_KERNEL void dice_sums_finalize(float* __restrict__ tp, float* __restrict__ ps, float* __restrict__ ts,
                                      const double* __restrict__ part, int k, int chunks) {
  GRID_STRIDE_LOOP(c, k) {
    double a = 0.0, b = 0.0, d = 0.0;
    for (int i = 0; i < chunks; i++) {
      a += part[(c * chunks + i) * 3];
      b += part[(c * chunks + i) * 3 + 1];
      d += part[(c * chunks + i) * 3 + 2];
    }
    tp[c] = (float)a;
    ps[c] = (float)b;
    ts[c] = (float)d;
  }
}

// dice_sums_backward: dp[n, c, s] += dtp[c]*[t==c] + dps[c].
// dp: (N, K, S) with n elements; t: (N, S); dtp, dps: (K).
SUTURE_KERNEL void dice_sums_backward(float* __restrict__ dp, const float* __restrict__ t,
                                      const float* __restrict__ dtp, const float* __restrict__ dps, int k, int s,
                                      int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int img = i / (k * s), r = i - img * k * s, c = r / s;
    const bool hit = (int)t[img * s + (r - c * s)] == c;
    dp[i] += dps[c] + (hit ? dtp[c] : 0.0f);
  }
}
