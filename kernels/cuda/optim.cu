// optim.cu: optimizer updates over one flat parameter buffer, one thread per
// parameter in a grid-stride loop (PyTorch semantics, as kernels.Backend).
#include "common.cuh"

// sgd_nesterov: g' = g + wd*w; v = mom*v + g'; w -= lr*(g' + mom*v).
// w, v, g: (n)
SUTURE_KERNEL void sgd_nesterov(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ g, float lr,
                                float mom, float wd, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const float gi = g[i] + wd * w[i];
    const float vi = mom * v[i] + gi;
    v[i] = vi;
    w[i] -= lr * (gi + mom * vi);
  }
}

// adamw: w -= lr*wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// w -= step_size * m / (sqrt(v)/sqrt_bc2 + eps), where the host computes
// step_size = lr/(1-b1^step) and sqrt_bc2 = sqrt(1-b2^step) in float64.
// w, m, v, g: (n)
SUTURE_KERNEL void adamw(float* __restrict__ w, float* __restrict__ m, float* __restrict__ v,
                         const float* __restrict__ g, float lr, float b1, float b2, float eps, float wd,
                         float step_size, float sqrt_bc2, int n) {
  GRID_STRIDE_LOOP(i, n) {
    float wi = w[i];
    wi -= lr * wd * wi;
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - step_size * mi / (sqrtf(vi) / sqrt_bc2 + eps);
  }
}
