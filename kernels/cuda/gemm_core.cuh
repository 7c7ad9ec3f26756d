// gemm_core.cuh: one tiled SGEMM main loop shared by the dense GEMM and every
// convolution (as an implicit GEMM: the im2col matrix is never built).
//
// A block computes a BM x BN tile of C = A * B (A: M x K, B: K x N) with 256
// threads; each thread owns a TM x TN register block of C, rows ty + i*BM/TM
// and columns tx + j*BN/TN (interleaved, so shared-memory reads are
// conflict-free and the epilogue's stores are coalesced). The K loop steps
// by BK: the next tiles are fetched from global memory into registers while
// the current ones, in shared memory, feed the outer products.
//
// blockIdx.x tiles N, blockIdx.y tiles M, blockIdx.z splits K (split-K: each
// z slice sums its own range of K and the problem's store puts the partial
// in its own workspace slice, reduced later in a fixed order).
//
// A problem supplies two operands and a store. An operand hides its layout
// behind three functions, so index arithmetic is paid once per thread, not
// once per element:
//   Outer outer(int o)       context of row m (A) or column n (B), o may be
//                            out of range (then get returns 0);
//   Inner inner(int k)       context of reduction index k; advance() moves it
//                            on by BK with carries, no division;
//   float get(Outer, Inner)  the element, or 0 outside the matrix (padding).
// OUTER_FASTEST picks the load order: consecutive threads take consecutive
// outer indices (coalesced when those are contiguous in memory) or
// consecutive k.
#pragma once
#include "common.cuh"

template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct TileConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int THREADS = (BM / TM) * (BN / TN);
};

// The three tile configurations; the Go launch code picks one per call (or a
// test forces one) and launches <problem>_<s|m|l> with 256 threads.
typedef TileConfig<32, 32, 16, 2, 2> TileS;
typedef TileConfig<64, 64, 16, 4, 4> TileM;
typedef TileConfig<128, 128, 8, 8, 8> TileL;

// Rows of the shared tiles are padded by 4 floats: k-fastest stores then hit
// different banks, and rows stay 16-byte aligned.
constexpr int kTilePad = 4;

// TileLoader moves a BK x BO tile of one operand from global memory into
// registers (fetch) and from registers into shared memory (store).
template <int BK, int BO, int THREADS, class Op>
struct TileLoader {
  static constexpr bool OUTER_FASTEST = Op::OUTER_FASTEST;
  static constexpr int R = BK * BO / THREADS;                   // elements per thread
  static constexpr int OSTEP = OUTER_FASTEST ? 0 : THREADS / BK;  // outer stride between them
  static constexpr int KSTEP = OUTER_FASTEST ? THREADS / BO : 0;  // k stride between them
  static_assert(THREADS % BO == 0 && THREADS % BK == 0, "tile does not divide the block");

  typename Op::Outer outer[OUTER_FASTEST ? 1 : R];
  typename Op::Inner inner[OUTER_FASTEST ? R : 1];
  int o_local, k_local;  // this thread's first element within the tile
  float reg[R];

  __device__ __forceinline__ TileLoader(const Op& op, int tid, int o_base, int k_begin) {
    if (OUTER_FASTEST) {
      o_local = tid % BO;
      k_local = tid / BO;
      outer[0] = op.outer(o_base + o_local);
      for (int r = 0; r < R; r++) inner[r] = op.inner(k_begin + k_local + r * KSTEP);
    } else {
      k_local = tid % BK;
      o_local = tid / BK;
      inner[0] = op.inner(k_begin + k_local);
      for (int r = 0; r < R; r++) outer[r] = op.outer(o_base + o_local + r * OSTEP);
    }
  }

  // fetch loads the tile starting at k0 into registers; k >= k_end reads 0.
  __device__ __forceinline__ void fetch(const Op& op, int k0, int k_end) {
#pragma unroll
    for (int r = 0; r < R; r++) {
      const int k = k0 + k_local + r * KSTEP;
      const typename Op::Outer& o = outer[OUTER_FASTEST ? 0 : r];
      const typename Op::Inner& in = inner[OUTER_FASTEST ? r : 0];
      reg[r] = k < k_end ? op.get(o, in) : 0.0f;
    }
    for (int r = 0; r < (OUTER_FASTEST ? R : 1); r++) op.advance(inner[r]);
  }

  __device__ __forceinline__ void store(float (*tile)[BO + kTilePad]) const {
#pragma unroll
    for (int r = 0; r < R; r++) tile[k_local + r * KSTEP][o_local + r * OSTEP] = reg[r];
  }
};

// gemm_tile runs the main loop for one block and hands each result to
// prob.store(m, n, value) (only for m < M, n < N).
template <class Cfg, class Prob>
__device__ __forceinline__ void gemm_tile(Prob prob) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
  constexpr int THREADS = Cfg::THREADS;
  prob.a.set_step(BK);
  prob.b.set_step(BK);
  __shared__ float As[BK][BM + kTilePad];  // As[k][m]
  __shared__ float Bs[BK][BN + kTilePad];  // Bs[k][n]

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m_base = blockIdx.y * BM, n_base = blockIdx.x * BN;

  // This block's share of K, whole BK steps so tiles stay aligned.
  const int steps = (prob.K + BK - 1) / BK;
  const int steps_per_split = (steps + gridDim.z - 1) / gridDim.z;
  const int k_begin = min(prob.K, (int)blockIdx.z * steps_per_split * BK);
  const int k_end = min(prob.K, k_begin + steps_per_split * BK);

  TileLoader<BK, BM, THREADS, typename Prob::OpA> la(prob.a, tid, m_base, k_begin);
  TileLoader<BK, BN, THREADS, typename Prob::OpB> lb(prob.b, tid, n_base, k_begin);

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

  if (k_begin < k_end) {
    la.fetch(prob.a, k_begin, k_end);
    lb.fetch(prob.b, k_begin, k_end);
  }
  for (int k0 = k_begin; k0 < k_end; k0 += BK) {
    la.store(As);
    lb.store(Bs);
    SUTURE_TILE_SYNC();
    if (k0 + BK < k_end) {  // next tiles travel while this one is used
      la.fetch(prob.a, k0 + BK, k_end);
      lb.fetch(prob.b, k0 + BK, k_end);
    }
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float ra[TM], rb[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) ra[i] = As[kk][ty + i * (BM / TM)];
#pragma unroll
      for (int j = 0; j < TN; j++) rb[j] = Bs[kk][tx + j * (BN / TN)];
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(ra[i], rb[j], acc[i][j]);
    }
    __syncthreads();  // before the next store overwrites the tiles
  }

#pragma unroll
  for (int i = 0; i < TM; i++) {
    const int m = m_base + ty + i * (BM / TM);
    if (m >= prob.M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      const int n = n_base + tx + j * (BN / TN);
      if (n < prob.N) prob.store(m, n, acc[i][j]);
    }
  }
}

// Step3 adds a fixed step (BK) to an index kept as mixed-radix digits
// (hi, mid, lo), with carries instead of a division per element.
struct Step3 {
  int hi, mid, lo;  // BK split into the three digits
  __device__ __forceinline__ void init(int step, int mid_size, int lo_size) {
    hi = step / (mid_size * lo_size);
    const int r = step - hi * mid_size * lo_size;
    mid = r / lo_size;
    lo = r - mid * lo_size;
  }
  // add moves (h, m, l) on by the step; radices mid_size and lo_size.
  __device__ __forceinline__ void add(int& h, int& m, int& l, int mid_size, int lo_size) const {
    l += lo;
    if (l >= lo_size) {
      l -= lo_size;
      m++;
    }
    m += mid;
    if (m >= mid_size) {
      m -= mid_size;
      h++;
    }
    h += hi;
  }
};

// Step2 is Step3 for two digits (hi, lo).
struct Step2 {
  int hi, lo;
  __device__ __forceinline__ void init(int step, int lo_size) {
    hi = step / lo_size;
    lo = step - hi * lo_size;
  }
  __device__ __forceinline__ void add(int& h, int& l, int lo_size) const {
    l += lo;
    if (l >= lo_size) {
      l -= lo_size;
      h++;
    }
    h += hi;
  }
};

// SUTURE_GEMM_KERNELS defines <name>_s, <name>_m and <name>_l, one kernel per
// tile configuration, each taking PARAMS and building Problem ARGS.
#define SUTURE_COMMA ,
#define SUTURE_GEMM_KERNELS(name, Problem, PARAMS, ARGS)                                      \
  SUTURE_KERNEL void __launch_bounds__(256) name##_s PARAMS { gemm_tile<TileS>(Problem ARGS); } \
  SUTURE_KERNEL void __launch_bounds__(256) name##_m PARAMS { gemm_tile<TileM>(Problem ARGS); } \
  SUTURE_KERNEL void __launch_bounds__(256) name##_l PARAMS { gemm_tile<TileL>(Problem ARGS); }
