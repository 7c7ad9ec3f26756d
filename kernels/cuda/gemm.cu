// gemm.cu: the dense SGEMM and every convolution as a tiled implicit GEMM on
// the main loop of gemm_core.cuh, each in three tile configurations
// (<name>_s 32x32, _m 64x64, _l 128x128; 256 threads). Forward problems
// overwrite their output; backward-data problems accumulate (+=) into dx;
// backward-filter problems either accumulate into dw (one K split) or write
// per-split partials that splitk_reduce adds to dw in a fixed order.
#include "gemm_operands.cuh"

// ---------------------------------------------------------------- SGEMM
// C = alpha*op(A)*op(B) + beta*C, row-major; beta == 0 never reads C.
// c: (m, ldc); op(a): (m, k) stored (m, lda) or, transposed, (k, lda);
// op(b): (k, n) stored (k, ldb) or, transposed, (n, ldb).
template <bool TransA, bool TransB>
struct SgemmProblem {
  typedef DenseOp<TransA> OpA;
  typedef DenseOp<!TransB> OpB;
  int M, N, K;
  OpA a;
  OpB b;
  float* c;
  int ldc;
  float alpha, beta;
  __device__ SgemmProblem(float* c_, const float* a_, const float* b_, int m, int n, int k, int lda, int ldb,
                          int ldc_, float alpha_, float beta_)
      : M(m), N(n), K(k),
        a(a_, m, TransA ? 1 : lda, TransA ? lda : 1),
        b(b_, n, TransB ? ldb : 1, TransB ? 1 : ldb),
        c(c_), ldc(ldc_), alpha(alpha_), beta(beta_) {}
  __device__ void store(int m, int n, float v) const {
    float* out = c + m * ldc + n;
    *out = beta == 0.0f ? alpha * v : alpha * v + beta * *out;
  }
};

#define SGEMM_PARAMS                                                                                          \
  (float* c, const float* a, const float* b, int m, int n, int k, int lda, int ldb, int ldc, float alpha, \
   float beta)
#define SGEMM_ARGS (c, a, b, m, n, k, lda, ldb, ldc, alpha, beta)
SUTURE_GEMM_KERNELS(sgemm_nn, SgemmProblem<false SUTURE_COMMA false>, SGEMM_PARAMS, SGEMM_ARGS)
SUTURE_GEMM_KERNELS(sgemm_nt, SgemmProblem<false SUTURE_COMMA true>, SGEMM_PARAMS, SGEMM_ARGS)
SUTURE_GEMM_KERNELS(sgemm_tn, SgemmProblem<true SUTURE_COMMA false>, SGEMM_PARAMS, SGEMM_ARGS)
SUTURE_GEMM_KERNELS(sgemm_tt, SgemmProblem<true SUTURE_COMMA true>, SGEMM_PARAMS, SGEMM_ARGS)

// ------------------------------------------------------------ stores
// PlanesStore writes C[c][(n, p)] to a (N, C, P) tensor: overwrite plus an
// optional bias per c (forward), or accumulate (backward-data).
struct PlanesStore {
  float* t;
  const float* bias;
  int c, p, accumulate;
  __device__ void put(int m, int col, float v) const {
    const int img = col / p;
    float* out = t + (img * c + m) * p + (col - img * p);
    if (accumulate) {
      *out += v;
    } else {
      *out = bias ? v + bias[m] : v;
    }
  }
};

// SplitStore writes a weight gradient tile: += into dw (accumulate, one K
// split) or its split's slice of the (splits, M, N) workspace.
struct SplitStore {
  float* out;
  int M, N, accumulate;
  __device__ void put(int m, int n, float v) const {
    if (accumulate) {
      out[m * N + n] += v;
    } else {
      out[(blockIdx.z * M + m) * N + n] = v;
    }
  }
};

// ------------------------------------------------------- convolution
#define CONV_PARAMS_TAIL \
  int nimg, int ci, int h, int w, int co, int kh, int kw, int ho, int wo, int sh, int sw, int ph, int pw
#define CONV_GEOM ConvGeom{nimg, ci, h, w, co, kh, kw, ho, wo, sh, sw, ph, pw}

// conv2d_forward: y = conv(x, w) + bias as Y[co][(n, oh, ow)] =
// W[co][(ci, kh, kw)] * im2col(x). y: (N, Co, Ho, Wo), x: (N, Ci, H, W),
// w: (Co, Ci, KH, KW), bias: (Co) or null.
struct ConvForward {
  typedef DenseOp<false> OpA;
  typedef Im2colOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  PlanesStore st;
  __device__ ConvForward(float* y, const float* x, const float* wt, const float* bias, const ConvGeom& g)
      : M(g.co), N(g.nimg * g.ho * g.wo), K(g.ci * g.kh * g.kw),
        a(wt, g.co, g.ci * g.kh * g.kw, 1), b(x, g), st{y, bias, g.co, g.ho * g.wo, 0} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_forward, ConvForward,
                    (float* y, const float* x, const float* wt, const float* bias, CONV_PARAMS_TAIL),
                    (y, x, wt, bias, CONV_GEOM))

// conv2d_backward_data: dx += W^T * dy seen through the convolution:
// DX[ci][(n, ih, iw)] += W[(co, kh, kw)][ci] * col2im(dy).
// dx: (N, Ci, H, W), dy: (N, Co, Ho, Wo), w: (Co, Ci, KH, KW).
struct ConvBackwardData {
  typedef WeightTOp OpA;
  typedef Col2imOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  PlanesStore st;
  __device__ ConvBackwardData(float* dx, const float* dy, const float* wt, const ConvGeom& g)
      : M(g.ci), N(g.nimg * g.h * g.w), K(g.co * g.kh * g.kw),
        a(wt, g.ci, g.kh * g.kw), b(dy, g), st{dx, nullptr, g.ci, g.h * g.w, 1} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_backward_data, ConvBackwardData,
                    (float* dx, const float* dy, const float* wt, CONV_PARAMS_TAIL), (dx, dy, wt, CONV_GEOM))

// conv2d_backward_filter: DW[co][(ci, kh, kw)] += sum over (n, oh, ow) of
// dy[n, co, oh, ow] * im2col(x), split over K = N*Ho*Wo by blockIdx.z.
// out: dw (Co, Ci, KH, KW) when accumulate, else the (splits, Co, Ci*KH*KW)
// workspace; dy: (N, Co, Ho, Wo), x: (N, Ci, H, W).
struct ConvBackwardFilter {
  typedef PlanesTOp OpA;
  typedef Im2colTOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  SplitStore st;
  __device__ ConvBackwardFilter(float* out, const float* dy, const float* x, int accumulate, const ConvGeom& g)
      : M(g.co), N(g.ci * g.kh * g.kw), K(g.nimg * g.ho * g.wo),
        a(dy, g.co, g.ho * g.wo), b(x, g), st{out, g.co, g.ci * g.kh * g.kw, accumulate} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_backward_filter, ConvBackwardFilter,
                    (float* out, const float* dy, const float* x, int accumulate, CONV_PARAMS_TAIL),
                    (out, dy, x, accumulate, CONV_GEOM))

// --------------------------------------- 1x1 convolution (the stitch)
// Stride 1, no padding: the convolution is a plain GEMM per image over the
// P = H*W pixels, without any im2col index arithmetic.

// conv2d_pointwise_forward: Y[co][(n, p)] = W[co][ci] * X[ci][(n, p)] + bias.
// y: (N, Co, P), x: (N, Ci, P), w: (Co, Ci), bias: (Co) or null.
struct PointwiseForward {
  typedef DenseOp<false> OpA;
  typedef PlanesOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  PlanesStore st;
  __device__ PointwiseForward(float* y, const float* x, const float* wt, const float* bias, int nimg, int ci,
                              int co, int p)
      : M(co), N(nimg * p), K(ci), a(wt, co, ci, 1), b(x, nimg, ci, p), st{y, bias, co, p, 0} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_pointwise_forward, PointwiseForward,
                    (float* y, const float* x, const float* wt, const float* bias, int nimg, int ci, int co, int p),
                    (y, x, wt, bias, nimg, ci, co, p))

// conv2d_pointwise_backward_data: DX[ci][(n, p)] += W[co][ci] * DY[co][(n, p)].
// dx: (N, Ci, P), dy: (N, Co, P), w: (Co, Ci).
struct PointwiseBackwardData {
  typedef DenseOp<true> OpA;
  typedef PlanesOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  PlanesStore st;
  __device__ PointwiseBackwardData(float* dx, const float* dy, const float* wt, int nimg, int ci, int co, int p)
      : M(ci), N(nimg * p), K(co), a(wt, ci, 1, ci), b(dy, nimg, co, p), st{dx, nullptr, ci, p, 1} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_pointwise_backward_data, PointwiseBackwardData,
                    (float* dx, const float* dy, const float* wt, int nimg, int ci, int co, int p),
                    (dx, dy, wt, nimg, ci, co, p))

// conv2d_pointwise_backward_filter: DW[co][ci] += sum over (n, p) of
// dy[n, co, p] * x[n, ci, p]; out as in conv2d_backward_filter.
// dy: (N, Co, P), x: (N, Ci, P).
struct PointwiseBackwardFilter {
  typedef PlanesTOp OpA;
  typedef PlanesTOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  SplitStore st;
  __device__ PointwiseBackwardFilter(float* out, const float* dy, const float* x, int accumulate, int nimg, int ci,
                                     int co, int p)
      : M(co), N(ci), K(nimg * p), a(dy, co, p), b(x, ci, p), st{out, co, ci, accumulate} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv2d_pointwise_backward_filter, PointwiseBackwardFilter,
                    (float* out, const float* dy, const float* x, int accumulate, int nimg, int ci, int co, int p),
                    (out, dy, x, accumulate, nimg, ci, co, p))

// ------------------------------------ conv-transpose, kernel == stride
#define CONVT_PARAMS_TAIL int nimg, int ci, int h, int w, int co, int kh, int kw
#define CONVT_GEOM ConvTGeom{nimg, ci, h, w, co, kh, kw}

// conv_transpose2d_forward: Y[(co, i, j)][(n, h, w)] = W[ci][(co, i, j)]^T *
// X[ci][(n, h, w)] + bias[co], scattered to y[n, co, h*KH + i, w*KW + j].
// y: (N, Co, H*KH, W*KW), x: (N, Ci, H, W), w: (Ci, Co, KH, KW), bias: (Co) or null.
struct ConvTForward {
  typedef DenseOp<true> OpA;
  typedef PlanesOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  float* y;
  const float* bias;
  ConvTGeom g;
  __device__ ConvTForward(float* y_, const float* x, const float* wt, const float* bias_, const ConvTGeom& g_)
      : M(g_.co * g_.kh * g_.kw), N(g_.nimg * g_.h * g_.w), K(g_.ci),
        a(wt, g_.co * g_.kh * g_.kw, 1, g_.co * g_.kh * g_.kw), b(x, g_.nimg, g_.ci, g_.h * g_.w),
        y(y_), bias(bias_), g(g_) {}
  __device__ void store(int m, int n, float v) const {
    const int kk = g.kh * g.kw, co = m / kk, r = m - co * kk, i = r / g.kw, j = r - i * g.kw;
    const int per_img = g.h * g.w, img = n / per_img, pix = n - img * per_img, hh = pix / g.w, ww = pix - hh * g.w;
    y[((img * g.co + co) * g.h * g.kh + hh * g.kh + i) * g.w * g.kw + ww * g.kw + j] = bias ? v + bias[co] : v;
  }
};
SUTURE_GEMM_KERNELS(conv_transpose2d_forward, ConvTForward,
                    (float* y, const float* x, const float* wt, const float* bias, CONVT_PARAMS_TAIL),
                    (y, x, wt, bias, CONVT_GEOM))

// conv_transpose2d_backward_data: DX[ci][(n, h, w)] += W[ci][(co, i, j)] *
// DY[(co, i, j)][(n, h, w)]. dx: (N, Ci, H, W), dy: (N, Co, H*KH, W*KW),
// w: (Ci, Co, KH, KW).
struct ConvTBackwardData {
  typedef DenseOp<false> OpA;
  typedef UpsampledOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  PlanesStore st;
  __device__ ConvTBackwardData(float* dx, const float* dy, const float* wt, const ConvTGeom& g)
      : M(g.ci), N(g.nimg * g.h * g.w), K(g.co * g.kh * g.kw),
        a(wt, g.ci, g.co * g.kh * g.kw, 1), b(dy, g), st{dx, nullptr, g.ci, g.h * g.w, 1} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv_transpose2d_backward_data, ConvTBackwardData,
                    (float* dx, const float* dy, const float* wt, CONVT_PARAMS_TAIL), (dx, dy, wt, CONVT_GEOM))

// conv_transpose2d_backward_filter: DW[ci][(co, i, j)] += sum over (n, h, w)
// of x[n, ci, h, w] * dy[n, co, h*KH + i, w*KW + j]; out as in
// conv2d_backward_filter. dy: (N, Co, H*KH, W*KW), x: (N, Ci, H, W).
struct ConvTBackwardFilter {
  typedef PlanesTOp OpA;
  typedef UpsampledTOp OpB;
  int M, N, K;
  OpA a;
  OpB b;
  SplitStore st;
  __device__ ConvTBackwardFilter(float* out, const float* dy, const float* x, int accumulate, const ConvTGeom& g)
      : M(g.ci), N(g.co * g.kh * g.kw), K(g.nimg * g.h * g.w),
        a(x, g.ci, g.h * g.w), b(dy, g), st{out, g.ci, g.co * g.kh * g.kw, accumulate} {}
  __device__ void store(int m, int n, float v) const { st.put(m, n, v); }
};
SUTURE_GEMM_KERNELS(conv_transpose2d_backward_filter, ConvTBackwardFilter,
                    (float* out, const float* dy, const float* x, int accumulate, CONVT_PARAMS_TAIL),
                    (out, dy, x, accumulate, CONVT_GEOM))

// splitk_reduce: dst[i] += sum over z of ws[z*n + i], z in order.
// dst: (n), ws: (splits, n).
SUTURE_KERNEL void splitk_reduce(float* __restrict__ dst, const float* __restrict__ ws, int splits, int n) {
  GRID_STRIDE_LOOP(i, n) {
    float s = 0.0f;
    for (int z = 0; z < splits; z++) s += ws[z * n + i];
    dst[i] += s;
  }
}
