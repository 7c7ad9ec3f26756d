package cpu

import (
	"fmt"
	"math"
	"testing"

	"suture/tensor"
)

// withKernels runs f once on each instruction-set path this CPU has (ref,
// avx2, avx512), naming each run after its path.
func withKernels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forEachISA(t, func(t *testing.T, _ ISA) { f(t) })
}

type gemmCase struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float32
}

func (c gemmCase) String() string {
	return fmt.Sprintf("m%d n%d k%d tA%v tB%v a%g b%g", c.m, c.n, c.k, c.transA, c.transB, c.alpha, c.beta)
}

// gemmCases covers every blocking cutoff: the register tile (MR=6, NR=16),
// the vector width 8, the K, M and N cache blocks, the split-K cutoff, odd
// sizes and all four
// transpose combinations with the alpha/beta cases that differ in the driver.
func gemmCases() []gemmCase {
	var cs []gemmCase
	trans := [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}}
	ms := []int{1, 5, 6, 7, 8, 9, 13}
	ns := []int{1, 7, 8, 9, 15, 16, 17, 33}
	ks := []int{1, 7, 8, 9, 64}
	ab := [][2]float32{{1, 0}, {1, 1}, {0.5, -0.75}, {-2, 0}}
	i := 0
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks {
				tr, s := trans[i%4], ab[(i/4)%4]
				cs = append(cs, gemmCase{m, n, k, tr[0], tr[1], s[0], s[1]})
				i++
			}
		}
	}
	big := []gemmCase{
		{63, 64, 65, false, false, 1, 0}, {64, 65, 63, true, true, 1, 1},
		{65, 63, 64, true, false, 0.5, 2}, {143, 31, 255, false, true, 1, 0},
		{144, 17, 256, false, false, 1, 1}, {145, 47, 257, true, true, -1, 0.5},
		{150, 40, 513, false, true, 1, 0}, {7, 3073, 9, false, false, 1, 1},
		{13, 3071, 5, true, false, 1, 0}, {289, 290, 291, true, false, 1, 0},
		{3, 5, 0, false, false, 1, 0}, {3, 5, 0, false, false, 1, 0.5},
		// Few tiles, long sums: parts cut k (split-K) with 2 and 3 threads.
		{13, 20, 1100, false, false, 1, 0}, {6, 16, 1537, false, false, 0.5, 1},
		{30, 33, 2049, false, false, 1, -0.5}, {32, 32, 1536, false, false, 1, 1},
		// Large both ways, several K blocks and an N block edge.
		{200, 150, 513, false, false, -1, 0.5}, {257, 3100, 70, false, false, 1, 0},
		{128, 128, 64, false, false, 1, 1},
	}
	for _, c := range big {
		for _, tr := range trans {
			c.transA, c.transB = tr[0], tr[1]
			cs = append(cs, c)
		}
	}
	return cs
}

func randSlice(g *tensor.RNG, n int) []float32 {
	return g.Rand(max(n, 1)).Data[:n]
}

// TestSgemmMatchesReference runs the packed SGEMM, with each micro-kernel and
// 1, 2 and 3 goroutines, against gemmRef on random data; beta == 0 cases start
// from a NaN-filled C, which must not leak into the result.
func TestSgemmMatchesReference(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(7)
		for _, c := range gemmCases() {
			lda, ldb := c.k, c.n
			if c.transA {
				lda = c.m
			}
			if c.transB {
				ldb = c.k
			}
			a, bm := randSlice(g, c.m*c.k), randSlice(g, c.k*c.n)
			c0 := randSlice(g, c.m*c.n)
			if c.beta == 0 {
				for i := range c0 {
					c0[i] = float32(math.NaN())
				}
			}
			want := append([]float32(nil), c0...)
			gemmRef(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, bm, ldb, c.beta, want, c.n)
			for _, threads := range []int{1, 2, 3} {
				got := append([]float32(nil), c0...)
				New(threads).sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, bm, ldb, c.beta, got, c.n)
				tol := 1e-5 * float64(c.k+1)
				if err := tensor.CloseError(fmt.Sprintf("%v threads %d", c, threads), got, tensor.To64(want), tol, 1e-4); err != nil {
					t.Error(err)
				}
			}
		}
	})
}

// TestSgemmStrided checks leading dimensions larger than the matrix widths
// (sub-matrices of bigger buffers): elements outside C must stay untouched.
func TestSgemmStrided(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(8)
		m, n, k := 19, 37, 29
		lda, ldb, ldc := k+3, n+5, n+7
		a, bm := randSlice(g, m*lda), randSlice(g, k*ldb)
		c0 := randSlice(g, m*ldc)
		want := append([]float32(nil), c0...)
		gemmRef(false, false, m, n, k, 1.5, a, lda, bm, ldb, 0.5, want, ldc)
		got := append([]float32(nil), c0...)
		New(2).sgemm(false, false, m, n, k, 1.5, a, lda, bm, ldb, 0.5, got, ldc)
		if err := tensor.CloseError("strided", got, tensor.To64(want), 1e-4, 1e-4); err != nil {
			t.Error(err)
		}
	})
}

// TestSgemmAsmMatchesGeneric compares the micro-kernels for 1-6 rows with
// the plain-Go one on both store modes, with and without bias, and checks
// that the rows past the tile are left alone.
func TestSgemmAsmMatchesGeneric(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2+FMA on this CPU: only the generic kernel can run")
	}
	g := tensor.NewRNG(9)
	saved := useAsm
	defer func() { useAsm = saved }()
	for rows := 1; rows <= gemmMR; rows++ {
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 255, 256, 257} {
			for i, acc := range []bool{false, true, false, true} {
				var bias []float32
				if i >= 2 {
					bias = randSlice(g, rows)
				}
				a, bm := randSlice(g, gemmMR*k), randSlice(g, gemmNR*k)
				ldc := gemmNR + 3
				c0 := randSlice(g, gemmMR*ldc)
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				gemmKernelGo(rows, k, a, bm, want, ldc, bias, acc)
				useAsm = true
				microGemmRows(rows, k, a, bm, got, ldc, bias, acc)
				useAsm = saved
				name := fmt.Sprintf("rows %d k %d acc %v bias %v", rows, k, acc, bias != nil)
				if err := tensor.CloseError(name, got, tensor.To64(want), 1e-5*float64(k), 1e-5); err != nil {
					t.Error(err)
				}
				for x := rows * ldc; x < len(c0); x++ {
					if got[x] != c0[x] || want[x] != c0[x] {
						t.Errorf("%s: element %d past the tile's rows changed", name, x)
						break
					}
				}
			}
		}
	}
}

// TestMicroKernelsAsmMatchGeneric compares the conv and dot kernels'
// assembly with their plain-Go versions on random data.
func TestMicroKernelsAsmMatchGeneric(t *testing.T) {
	if !asmAvailable {
		t.Skip("no AVX2+FMA on this CPU: only the generic kernels can run")
	}
	g := tensor.NewRNG(10)
	src := randSlice(g, 4096)
	for _, k := range []int{1, 2, 3, 7, 288} {
		for _, acc := range []bool{false, true} {
			a := randSlice(g, convMR*k)
			offs := make([]int, k)
			for i := range offs {
				offs[i] = g.IntN(2048)
			}
			bias := randSlice(g, convMR)
			sg := convSegs{srcOff: [convNS]int{5, 100, 1001}, cOff: [convNS]int{0, 9, 40}}
			ldc := 61
			c0 := randSlice(g, convMR*ldc)
			want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
			convKernel4x24Go(k, a, offs, src, want, ldc, &sg, bias, acc)
			useAsm = true
			microConv(k, a, offs, 2047, src, got, ldc, &sg, bias, acc)
			if err := tensor.CloseError(fmt.Sprintf("conv k %d acc %v", k, acc), got, tensor.To64(want), 1e-5*float64(k), 1e-5); err != nil {
				t.Error(err)
			}
		}
	}
	for _, n := range []int{8, 16, 24, 1024} {
		dy := randSlice(g, dotMR*n+5*dotMR)
		o := [dotNR]int{0, 1, 7}
		ldo := dotMR + 2
		out0 := randSlice(g, dotNR*ldo)
		want, got := append([]float32(nil), out0...), append([]float32(nil), out0...)
		dotKernel4x3Go(n, dy, n+5, src, &o, want, ldo)
		dotKernel4x3(n, &dy[0], n+5, &src[0], o[0], o[1], o[2], &got[0], ldo)
		if err := tensor.CloseError(fmt.Sprintf("dot n %d", n), got, tensor.To64(want), 1e-5*float64(n), 1e-5); err != nil {
			t.Error(err)
		}
	}
}

// TestSgemmBiasMatchesReference: the bias fused into the GEMM's tile stores
// equals gemmRef followed by a bias add, at the tile, K-block and split-K
// cutoffs, with both kernels and 1 to 3 goroutines; C starts as NaN.
func TestSgemmBiasMatchesReference(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		g := tensor.NewRNG(18)
		for _, s := range [][3]int{{1, 1, 1}, {5, 17, 7}, {7, 33, 0}, {13, 15, 257}, {32, 300, 32}, {13, 20, 1100}, {150, 40, 513}} {
			m, n, k := s[0], s[1], s[2]
			a, bm, bias := randSlice(g, m*k), randSlice(g, k*n), randSlice(g, m)
			want := make([]float32, m*n)
			gemmRef(false, false, m, n, k, 1, a, k, bm, n, 0, want, n)
			for i := 0; i < m; i++ {
				for x := 0; x < n; x++ {
					want[i*n+x] += bias[i]
				}
			}
			for _, threads := range []int{1, 2, 3} {
				got := make([]float32, m*n)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				New(threads).sgemmBias(m, n, k, a, k, bm, n, bias, got, n)
				if err := tensor.CloseError(fmt.Sprintf("m%d n%d k%d threads %d", m, n, k, threads), got, tensor.To64(want), 1e-5*float64(k+1), 1e-4); err != nil {
					t.Error(err)
				}
			}
		}
	})
}
