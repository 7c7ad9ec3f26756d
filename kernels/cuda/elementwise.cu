// elementwise.cu: element-wise and layout kernels, one thread per element in
// a grid-stride loop (any 1-D block and grid size). Forward kernels overwrite
// their output; *_backward kernels accumulate (+=) into their gradients.
// Outputs may alias inputs where the Backend contract allows it (add, scale,
// leaky_relu), so these pointers are not __restrict__.
#include "common.cuh"

// fill_f32: y[i] = v. y: (n)
SUTURE_KERNEL void fill_f32(float* y, float v, int n) {
  GRID_STRIDE_LOOP(i, n) y[i] = v;
}

// add_f32: y = a + b. y, a, b: (n)
SUTURE_KERNEL void add_f32(float* y, const float* a, const float* b, int n) {
  GRID_STRIDE_LOOP(i, n) y[i] = a[i] + b[i];
}

// scale_f32: y = s*x. y, x: (n)
SUTURE_KERNEL void scale_f32(float* y, const float* x, float s, int n) {
  GRID_STRIDE_LOOP(i, n) y[i] = s * x[i];
}

// axpy_f32: y += a*x. y, x: (n)
SUTURE_KERNEL void axpy_f32(float* y, const float* x, float a, int n) {
  GRID_STRIDE_LOOP(i, n) y[i] += a * x[i];
}

// leaky_relu_forward: y = x > 0 ? x : slope*x. y, x: (n)
SUTURE_KERNEL void leaky_relu_forward(float* y, const float* x, float slope, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : slope * v;
  }
}

// leaky_relu_backward: dx += dy * (y > 0 ? 1 : slope), y the forward output.
// dx, dy, y: (n)
SUTURE_KERNEL void leaky_relu_backward(float* dx, const float* dy, const float* y, float slope, int n) {
#ifdef SUTURE_FAULT_LEAKY_RELU_BACKWARD
  // The emulator's planted fault (kernels/emu/emu_fault_leaky.cpp): half the
  // slope, as a wrong constant would. nvcc never sees this defined.
  slope *= 0.5f;
#endif
  GRID_STRIDE_LOOP(i, n) dx[i] += y[i] > 0.0f ? dy[i] : slope * dy[i];
}

// bias_add: y[n, c, s] += b[c]. y: (N, C, S) with n = N*C*S elements, b: (C)
SUTURE_KERNEL void bias_add(float* y, const float* __restrict__ b, int c, int s, int n) {
  GRID_STRIDE_LOOP(i, n) y[i] += b[(i / s) % c];
}

// concat_forward copies one part into its channel range of the joined tensor.
// y: (N, cy, S), x: (N, cx, S) with n = N*cx*S elements; x lands at channels
// [coff, coff+cx) of y.
SUTURE_KERNEL void concat_forward(float* __restrict__ y, const float* __restrict__ x, int cy, int cx, int coff,
                                  int s, int n) {
  const int part = cx * s;
  GRID_STRIDE_LOOP(i, n) {
    const int img = i / part, r = i - img * part;
    y[img * cy * s + coff * s + r] = x[i];
  }
}

// concat_backward: dx += dy's channel range [coff, coff+cx).
// dx: (N, cx, S) with n = N*cx*S elements, dy: (N, cy, S)
SUTURE_KERNEL void concat_backward(float* __restrict__ dx, const float* __restrict__ dy, int cy, int cx, int coff,
                                   int s, int n) {
  const int part = cx * s;
  GRID_STRIDE_LOOP(i, n) {
    const int img = i / part, r = i - img * part;
    dx[i] += dy[img * cy * s + coff * s + r];
  }
}

// batch_norm_frozen_forward applies fixed statistics:
// y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c].
// y, x: (N, C, S) with n elements; mean, var: (C); gamma, beta: (C) or null.
SUTURE_KERNEL void batch_norm_frozen_forward(float* y, const float* x, const float* __restrict__ mean,
                                             const float* __restrict__ var, const float* __restrict__ gamma,
                                             const float* __restrict__ beta, float eps, int c, int s, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int ch = (i / s) % c;
    const float scale = rsqrtf(var[ch] + eps) * (gamma ? gamma[ch] : 1.0f);
    const float shift = (beta ? beta[ch] : 0.0f) - mean[ch] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// batch_norm_frozen_backward_data: dx += dy * gamma[c] / sqrt(var[c] + eps).
// dx, dy: (N, C, S) with n elements; var: (C); gamma: (C) or null.
SUTURE_KERNEL void batch_norm_frozen_backward_data(float* dx, const float* dy, const float* __restrict__ var,
                                                   const float* __restrict__ gamma, float eps, int c, int s, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const int ch = (i / s) % c;
    dx[i] += dy[i] * rsqrtf(var[ch] + eps) * (gamma ? gamma[ch] : 1.0f);
  }
}

// mse_backward: da += f*(a-b), db -= f*(a-b), f = scale*2/n; da or db may be
// null. da, db, a, b: (n)
SUTURE_KERNEL void mse_backward(float* da, float* db, const float* a, const float* b, float f, int n) {
  GRID_STRIDE_LOOP(i, n) {
    const float g = f * (a[i] - b[i]);
    if (da) da[i] += g;
    if (db) db[i] -= g;
  }
}
