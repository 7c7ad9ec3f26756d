// gemm_operands.cuh: the operand views the GEMM problems are built from (see
// gemm_core.cuh for the Outer/Inner/get protocol). Each names the matrix it
// presents, rows x columns, as Op[outer][k] for A or Op[k][outer] for B.
#pragma once
#include "gemm_core.cuh"

// DenseOp: a strided matrix, element (o, k) at p[o*so + k*sk]. OUTER_FASTEST
// should be true when so == 1.
template <bool OuterFastest>
struct DenseOp {
  static constexpr bool OUTER_FASTEST = OuterFastest;
  struct Outer {
    int off;
    bool ok;
  };
  struct Inner {
    int off;
  };
  const float* p;
  int outer_size, so, sk, step_off;
  __device__ DenseOp(const float* p_, int outer_size_, int so_, int sk_)
      : p(p_), outer_size(outer_size_), so(so_), sk(sk_), step_off(0) {}
  __device__ void set_step(int bk) { step_off = bk * sk; }
  __device__ Outer outer(int o) const { return Outer{o < outer_size ? o * so : 0, o < outer_size}; }
  __device__ Inner inner(int k) const { return Inner{k * sk}; }
  __device__ void advance(Inner& in) const { in.off += step_off; }
  __device__ float get(const Outer& o, const Inner& in) const { return o.ok ? p[o.off + in.off] : 0.0f; }
};

// PlanesOp: a (N, C, P) tensor as the matrix [c][(n, p)]: k = c, outer =
// n*P + p. Convolutions with 1x1 kernels and conv-transpose read their input
// this way.
struct PlanesOp {
  static constexpr bool OUTER_FASTEST = true;
  struct Outer {
    int base;
    bool ok;
  };
  struct Inner {
    int off;
  };
  const float* t;
  int c, p, cols, step_off;
  __device__ PlanesOp(const float* t_, int nimg, int c_, int p_) : t(t_), c(c_), p(p_), cols(nimg * p_), step_off(0) {}
  __device__ void set_step(int bk) { step_off = bk * p; }
  __device__ Outer outer(int o) const {
    if (o >= cols) return Outer{0, false};
    const int img = o / p;
    return Outer{img * c * p + (o - img * p), true};
  }
  __device__ Inner inner(int k) const { return Inner{k * p}; }
  __device__ void advance(Inner& in) const { in.off += step_off; }
  __device__ float get(const Outer& o, const Inner& in) const { return o.ok ? t[o.base + in.off] : 0.0f; }
};

// PlanesTOp: a (N, C, P) tensor as the matrix [c][(n, p)] with the (n, p)
// side as the reduction: outer = c, k = n*P + p. Weight gradients reduce over
// images and pixels this way.
struct PlanesTOp {
  static constexpr bool OUTER_FASTEST = false;
  struct Outer {
    int off;
    bool ok;
  };
  struct Inner {
    int img, pix;
  };
  const float* t;
  int c, p;
  Step2 step;
  __device__ PlanesTOp(const float* t_, int c_, int p_) : t(t_), c(c_), p(p_) {}
  __device__ void set_step(int bk) { step.init(bk, p); }
  __device__ Outer outer(int o) const { return Outer{o < c ? o * p : 0, o < c}; }
  __device__ Inner inner(int k) const { return Inner{k / p, k % p}; }
  __device__ void advance(Inner& in) const { step.add(in.img, in.pix, p); }
  __device__ float get(const Outer& o, const Inner& in) const {
    return o.ok ? t[in.img * c * p + o.off + in.pix] : 0.0f;
  }
};

// ConvGeom is the geometry of a 2-D convolution: input (N, Ci, H, W),
// weight (Co, Ci, KH, KW), output (N, Co, Ho, Wo).
struct ConvGeom {
  int nimg, ci, h, w, co, kh, kw, ho, wo, sh, sw, ph, pw;
};

// Im2colOp: the input as the im2col matrix [(ci, kh, kw)][(n, oh, ow)] =
// x[n, ci, oh*sh - ph + kh, ow*sw - pw + kw] (0 in the padding), never stored.
struct Im2colOp {
  static constexpr bool OUTER_FASTEST = true;
  struct Outer {
    int base, ih0, iw0;
    bool ok;
  };
  struct Inner {
    int ci, kh, kw;
  };
  const float* x;
  ConvGeom g;
  Step3 step;
  __device__ Im2colOp(const float* x_, const ConvGeom& g_) : x(x_), g(g_) {}
  __device__ void set_step(int bk) { step.init(bk, g.kh, g.kw); }
  __device__ Outer outer(int o) const {
    const int per_img = g.ho * g.wo;
    if (o >= g.nimg * per_img) return Outer{0, 0, 0, false};
    const int img = o / per_img, pix = o - img * per_img;
    const int oh = pix / g.wo, ow = pix - oh * g.wo;
    return Outer{img * g.ci * g.h * g.w, oh * g.sh - g.ph, ow * g.sw - g.pw, true};
  }
  __device__ Inner inner(int k) const {
    const int khw = g.kh * g.kw, ci = k / khw, r = k - ci * khw, kh = r / g.kw;
    return Inner{ci, kh, r - kh * g.kw};
  }
  __device__ void advance(Inner& in) const { step.add(in.ci, in.kh, in.kw, g.kh, g.kw); }
  __device__ float get(const Outer& o, const Inner& in) const {
    const int ih = o.ih0 + in.kh, iw = o.iw0 + in.kw;
    if (!o.ok || (unsigned)ih >= (unsigned)g.h || (unsigned)iw >= (unsigned)g.w) return 0.0f;
    return x[o.base + (in.ci * g.h + ih) * g.w + iw];
  }
};

// Im2colTOp: the im2col matrix with the pixel side as the reduction:
// [(n, oh, ow)][(ci, kh, kw)], outer = (ci, kh, kw).
struct Im2colTOp {
  static constexpr bool OUTER_FASTEST = false;
  struct Outer {
    int off, kh, kw;
    bool ok;
  };
  struct Inner {
    int img, oh, ow;
  };
  const float* x;
  ConvGeom g;
  Step3 step;
  __device__ Im2colTOp(const float* x_, const ConvGeom& g_) : x(x_), g(g_) {}
  __device__ void set_step(int bk) { step.init(bk, g.ho, g.wo); }
  __device__ Outer outer(int o) const {
    const int khw = g.kh * g.kw;
    if (o >= g.ci * khw) return Outer{0, 0, 0, false};
    const int ci = o / khw, r = o - ci * khw, kh = r / g.kw;
    return Outer{ci * g.h * g.w, kh, r - kh * g.kw, true};
  }
  __device__ Inner inner(int k) const {
    const int per_img = g.ho * g.wo, img = k / per_img, pix = k - img * per_img, oh = pix / g.wo;
    return Inner{img, oh, pix - oh * g.wo};
  }
  __device__ void advance(Inner& in) const { step.add(in.img, in.oh, in.ow, g.ho, g.wo); }
  __device__ float get(const Outer& o, const Inner& in) const {
    const int ih = in.oh * g.sh - g.ph + o.kh, iw = in.ow * g.sw - g.pw + o.kw;
    if (!o.ok || (unsigned)ih >= (unsigned)g.h || (unsigned)iw >= (unsigned)g.w) return 0.0f;
    return x[in.img * g.ci * g.h * g.w + o.off + ih * g.w + iw];
  }
};

// Col2imOp: the output gradient seen from the input pixels, the matrix
// [(co, kh, kw)][(n, ih, iw)] = dy[n, co, oh, ow] where ih = oh*sh - ph + kh
// (and likewise iw); 0 where no output pixel reads (ih, iw) through (kh, kw).
struct Col2imOp {
  static constexpr bool OUTER_FASTEST = true;
  struct Outer {
    int base, th0, tw0;
    bool ok;
  };
  struct Inner {
    int co, kh, kw;
  };
  const float* dy;
  ConvGeom g;
  Step3 step;
  __device__ Col2imOp(const float* dy_, const ConvGeom& g_) : dy(dy_), g(g_) {}
  __device__ void set_step(int bk) { step.init(bk, g.kh, g.kw); }
  __device__ Outer outer(int o) const {
    const int per_img = g.h * g.w;
    if (o >= g.nimg * per_img) return Outer{0, 0, 0, false};
    const int img = o / per_img, pix = o - img * per_img, ih = pix / g.w;
    return Outer{img * g.co * g.ho * g.wo, ih + g.ph, pix - ih * g.w + g.pw, true};
  }
  __device__ Inner inner(int k) const {
    const int khw = g.kh * g.kw, co = k / khw, r = k - co * khw, kh = r / g.kw;
    return Inner{co, kh, r - kh * g.kw};
  }
  __device__ void advance(Inner& in) const { step.add(in.co, in.kh, in.kw, g.kh, g.kw); }
  __device__ float get(const Outer& o, const Inner& in) const {
    int oh = o.th0 - in.kh, ow = o.tw0 - in.kw;
    if (!o.ok || oh < 0 || ow < 0) return 0.0f;
    if (g.sh != 1) {
      const int q = oh / g.sh;
      if (q * g.sh != oh) return 0.0f;
      oh = q;
    }
    if (g.sw != 1) {
      const int q = ow / g.sw;
      if (q * g.sw != ow) return 0.0f;
      ow = q;
    }
    if (oh >= g.ho || ow >= g.wo) return 0.0f;
    return dy[o.base + (in.co * g.ho + oh) * g.wo + ow];
  }
};

// WeightTOp: a conv weight (Co, Ci, KH, KW) as the matrix [ci][(co, kh, kw)].
struct WeightTOp {
  static constexpr bool OUTER_FASTEST = false;
  struct Outer {
    int off;
    bool ok;
  };
  struct Inner {
    int co, r;
  };
  const float* w;
  int ci, khw;
  Step2 step;
  __device__ WeightTOp(const float* w_, int ci_, int khw_) : w(w_), ci(ci_), khw(khw_) {}
  __device__ void set_step(int bk) { step.init(bk, khw); }
  __device__ Outer outer(int o) const { return Outer{o < ci ? o * khw : 0, o < ci}; }
  __device__ Inner inner(int k) const { return Inner{k / khw, k % khw}; }
  __device__ void advance(Inner& in) const { step.add(in.co, in.r, khw); }
  __device__ float get(const Outer& o, const Inner& in) const {
    return o.ok ? w[in.co * ci * khw + o.off + in.r] : 0.0f;
  }
};

// ConvTGeom: conv-transpose with kernel == stride: input (N, Ci, H, W),
// weight (Ci, Co, KH, KW), output (N, Co, H*KH, W*KW).
struct ConvTGeom {
  int nimg, ci, h, w, co, kh, kw;
};

// UpsampledOp: the conv-transpose output (gradient) as the matrix
// [(co, i, j)][(n, h, w)] = y[n, co, h*KH + i, w*KW + j].
struct UpsampledOp {
  static constexpr bool OUTER_FASTEST = true;
  struct Outer {
    int base;
    bool ok;
  };
  struct Inner {
    int co, i, j;
  };
  const float* y;
  ConvTGeom g;
  Step3 step;
  __device__ UpsampledOp(const float* y_, const ConvTGeom& g_) : y(y_), g(g_) {}
  __device__ void set_step(int bk) { step.init(bk, g.kh, g.kw); }
  __device__ Outer outer(int o) const {
    const int per_img = g.h * g.w;
    if (o >= g.nimg * per_img) return Outer{0, false};
    const int img = o / per_img, pix = o - img * per_img, h = pix / g.w, w = pix - h * g.w;
    return Outer{img * g.co * per_img * g.kh * g.kw + h * g.kh * g.w * g.kw + w * g.kw, true};
  }
  __device__ Inner inner(int k) const {
    const int kk = g.kh * g.kw, co = k / kk, r = k - co * kk, i = r / g.kw;
    return Inner{co, i, r - i * g.kw};
  }
  __device__ void advance(Inner& in) const { step.add(in.co, in.i, in.j, g.kh, g.kw); }
  __device__ float get(const Outer& o, const Inner& in) const {
    if (!o.ok) return 0.0f;
    const int wk = g.w * g.kw;
    return y[o.base + (in.co * g.h * g.kh + in.i) * wk + in.j];
  }
};

// UpsampledTOp: the same matrix with the pixel side as the reduction:
// [(n, h, w)][(co, i, j)], outer = (co, i, j).
struct UpsampledTOp {
  static constexpr bool OUTER_FASTEST = false;
  struct Outer {
    int off;
    bool ok;
  };
  struct Inner {
    int img, h, w;
  };
  const float* y;
  ConvTGeom g;
  Step3 step;
  __device__ UpsampledTOp(const float* y_, const ConvTGeom& g_) : y(y_), g(g_) {}
  __device__ void set_step(int bk) { step.init(bk, g.h, g.w); }
  __device__ Outer outer(int o) const {
    const int kk = g.kh * g.kw;
    if (o >= g.co * kk) return Outer{0, false};
    const int co = o / kk, r = o - co * kk, i = r / g.kw, j = r - i * g.kw;
    return Outer{(co * g.h * g.kh + i) * g.w * g.kw + j, true};
  }
  __device__ Inner inner(int k) const {
    const int per_img = g.h * g.w, img = k / per_img, pix = k - img * per_img, h = pix / g.w;
    return Inner{img, h, pix - h * g.w};
  }
  __device__ void advance(Inner& in) const { step.add(in.img, in.h, in.w, g.h, g.w); }
  __device__ float get(const Outer& o, const Inner& in) const {
    if (!o.ok) return 0.0f;
    const int plane = g.h * g.kh * g.w * g.kw;
    return y[in.img * g.co * plane + in.h * g.kh * g.w * g.kw + in.w * g.kw + o.off];
  }
};
