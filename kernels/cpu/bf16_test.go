package cpu

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// TestBF16Round checks round-to-nearest-even on hand cases: exact values,
// both kinds of tie, overflow to infinity, NaN kept (quiet), subnormals to
// a zero of their sign.
func TestBF16Round(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // 1 + 2^-8: a tie, to the even 1
		{0x3f818000, 0x3f82}, // 1 + 3*2^-8: a tie, to the even 1 + 2^-6
		{0x3f808001, 0x3f81}, // just above the tie
		{0xbf80ffff, 0xbf81}, // -(1 + 255*2^-16): up in magnitude
		{0x7f7fffff, 0x7f80}, // the largest float32 rounds to +Inf
		{0x7f800000, 0x7f80}, // +Inf
		{0x7f800001, 0x7fc0}, // a signalling NaN becomes quiet
		{0x00000001, 0x0000}, // subnormal: zero
		{0x807fffff, 0x8000}, // negative subnormal: -0
		{0x00800000, 0x0080}, // the smallest normal stays
	} {
		if got := bf16Round(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("bf16Round(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// bf16Inputs is random data with a share of exact ties and zeros, so the
// rounding of pairsKernel is tried where it matters.
func bf16Inputs(g *tensor.RNG, n int) []float32 {
	v := randSlice(g, n)
	for i := range v {
		switch i % 7 {
		case 3:
			v[i] = math.Float32frombits(math.Float32bits(v[i])&0xffff0000 | 0x8000) // a tie
		case 5:
			v[i] = 0
		}
	}
	return v
}

// TestPairsKernelMatchesGo: the AVX512_BF16 pair packing equals the Go
// rounding bit for bit, for both panel widths, and writes nothing past.
func TestPairsKernelMatchesGo(t *testing.T) {
	if !bf16Available {
		t.Skip("this CPU lacks AVX512_BF16: only the Go pair packing can run here")
	}
	g := tensor.NewRNG(21)
	for _, width := range []int{gemmMR, gemmNR} {
		for _, kp := range []int{1, 2, 3, 17, 128} {
			src := bf16Inputs(g, 2*kp*width)
			want, got := make([]uint32, kp*width+3), make([]uint32, kp*width+3)
			for i := range got {
				want[i], got[i] = 0xdeadbeef, 0xdeadbeef
			}
			pairsGo(kp, want, src, width)
			pairsKernel(kp, &got[0], &src[0], width)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("width %d kp %d: word %d = %#08x, want %#08x", width, kp, i, got[i], want[i])
				}
			}
		}
	}
}

// TestGemmBMatchesGo: the BF16 12x32 kernel equals its Go version bit for
// bit (the products are exact and both add in the same order) for 1-12
// rows, odd and even pair counts, both store modes, with and without bias,
// and leaves everything outside the tile alone.
func TestGemmBMatchesGo(t *testing.T) {
	if !bf16Available {
		t.Skip("this CPU lacks AVX512_BF16: only the Go BF16 kernel can run here")
	}
	saved := CurrentISA()
	defer SetISA(saved)
	g := tensor.NewRNG(22)
	pairs := func(n int) []uint32 {
		v := bf16Inputs(g, 2*n)
		out := make([]uint32, n)
		pairsGo(n/1, out, v, 1)
		return out
	}
	for rows := 1; rows <= 2*gemmMR; rows++ {
		for _, kp := range []int{1, 2, 3, 5, 128} {
			for i, acc := range []bool{false, true, false, true} {
				var bias []float32
				if i >= 2 {
					bias = randSlice(g, rows)
				}
				a0, a1 := pairs(gemmMR*kp), pairs(gemmMR*kp)
				b0, b1 := pairs(gemmNR*kp), pairs(gemmNR*kp)
				ldc := 2*gemmNR + 5
				c0 := randSlice(g, (2*gemmMR+1)*ldc)
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				must(t, SetISA(ISARef))
				microGemmB(rows, kp, a0, a1, b0, b1, want, ldc, bias, acc)
				must(t, SetISA(ISAAVX512))
				microGemmB(rows, kp, a0, a1, b0, b1, got, ldc, bias, acc)
				for x := range c0 {
					if got[x] != want[x] {
						t.Fatalf("rows %d kp %d acc %v bias %v: element %d (row %d, column %d) = %g, want %g",
							rows, kp, acc, bias != nil, x, x/ldc, x%ldc, got[x], want[x])
					}
				}
			}
		}
	}
}

// TestSgemmBF16 runs the BF16 GEMM at sizes around every cutoff (the 12x32
// tile, KC, MC, odd k) with every transpose, alpha, beta and bias, on each
// path (the Go BF16 kernel where the CPU lacks AVX512_BF16), against the
// float64 product of the unrounded operands. The bound: bfloat16 keeps 8
// significant bits, so rounding an operand changes it by at most u = 2^-8
// of itself (half its spacing), a product of two by at most 2u + u^2 =
// 2^-7 + 2^-16 of itself; the float32 sums add at most k*2^-24 of the sum
// of |products| (the usual gamma_k); so |error| <= (2^-7 + 2^-16 +
// 1.01*k*2^-24) * |alpha| * sum_p |a_ip b_pj| (+ the rounding of beta*c and
// bias, covered by a few float32 ulps of the result).
func TestSgemmBF16(t *testing.T) {
	g := tensor.NewRNG(23)
	forEachISA(t, func(t *testing.T, _ ISA) {
		b := New(3)
		b.bf16 = true // set directly: SetBF16 refuses a CPU without BF16, and the Go kernel runs anywhere
		for _, c := range []gemmCase{
			{1, 1, 1, false, false, 1, 0}, {12, 32, 2, false, false, 1, 0}, {13, 33, 3, true, false, 0.5, 1},
			{11, 31, 257, false, true, 1, 0.5}, {25, 100, 256, true, true, -1, 0}, {150, 70, 513, false, false, 1, 1},
			{7, 3100, 19, false, false, 1, 0},
		} {
			for _, withBias := range []bool{false, true} {
				if withBias && (c.transA || c.transB || c.alpha != 1 || c.beta != 0) {
					continue // sgemmBias is the plain product
				}
				lda, ldb := c.k, c.n
				if c.transA {
					lda = c.m
				}
				if c.transB {
					ldb = c.k
				}
				a, bm := bf16Inputs(g, c.m*c.k), bf16Inputs(g, c.k*c.n)
				c0 := randSlice(g, c.m*c.n)
				var bias []float32
				if withBias {
					bias = randSlice(g, c.m)
				}
				got := append([]float32(nil), c0...)
				if withBias {
					b.sgemmBias(c.m, c.n, c.k, a, lda, bm, ldb, bias, got, c.n)
				} else {
					b.sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, bm, ldb, c.beta, got, c.n)
				}
				if c.k > 1 {
					fp32 := append([]float32(nil), c0...)
					New(3).sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, bm, ldb, c.beta, fp32, c.n)
					if !withBias {
						requireRounded(t, c.String(), got, fp32)
					}
				}
				at := func(i, p int) float64 {
					if c.transA {
						return float64(a[p*lda+i])
					}
					return float64(a[i*lda+p])
				}
				bt := func(p, j int) float64 {
					if c.transB {
						return float64(bm[j*ldb+p])
					}
					return float64(bm[p*ldb+j])
				}
				gamma := math.Ldexp(1, -7) + math.Ldexp(1, -16) + 1.01*float64(c.k)*math.Ldexp(1, -24)
				for i := 0; i < c.m; i++ {
					for j := 0; j < c.n; j++ {
						var sum, mag float64
						for p := 0; p < c.k; p++ {
							sum += at(i, p) * bt(p, j)
							mag += math.Abs(at(i, p) * bt(p, j))
						}
						want := float64(c.alpha)*sum + float64(c.beta)*float64(c0[i*c.n+j])
						if bias != nil {
							want += float64(bias[i])
						}
						bound := gamma*math.Abs(float64(c.alpha))*mag + 4*math.Ldexp(math.Abs(want)+1, -24)
						if d := math.Abs(float64(got[i*c.n+j]) - want); !(d <= bound) {
							t.Fatalf("%v bias %v: C[%d][%d] = %g, want %g +- %.3g (off by %.3g)", c, withBias, i, j, got[i*c.n+j], want, bound, d)
						}
					}
				}
			}
		}
	})
}

// BenchmarkSgemmBF16: sgemm/{fp32,bf16}/N, C = A*B at N^3 on the current
// path, FP32 against BF16 operands in one run (2 threads, GOMAXPROCS).
func BenchmarkSgemmBF16(b *testing.B) {
	if !bf16Available {
		b.Skip("this CPU lacks AVX512_BF16")
	}
	for _, n := range []int{256, 1024} {
		g := tensor.NewRNG(1)
		a, bm, c := g.Rand(n, n), g.Rand(n, n), tensor.New(n, n)
		for _, bf := range []bool{false, true} {
			name := "fp32"
			if bf {
				name = "bf16"
			}
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				be := New(0)
				must(b, be.SetBF16(bf))
				loop(b, 2*float64(n)*float64(n)*float64(n), func() {
					be.sgemm(false, false, n, n, n, 1, a.Data, n, bm.Data, n, 0, c.Data, n)
				})
			})
		}
	}
}

// TestConvBackwardFilterBF16 runs the BF16 weight gradient of 3x3 (and
// other) convolutions at channel counts around the 8-row groups and plane
// widths around the 32-pixel runs, stride 1 and 2, on each path, against
// float64 sums of the unrounded operands within the bound of
// TestSgemmBF16 (the sum over n*ho*wo products, k of the bound); the bias
// gradient stays FP32 and must match the reference's.
func TestConvBackwardFilterBF16(t *testing.T) {
	g := tensor.NewRNG(24)
	type conv struct{ n, ci, co, h, w, k, s, p int }
	forEachISA(t, func(t *testing.T, _ ISA) {
		be := New(3)
		be.bf16 = true
		for _, c := range []conv{
			{1, 1, 1, 3, 3, 3, 1, 1}, {2, 3, 7, 9, 31, 3, 1, 1}, {2, 5, 8, 17, 33, 3, 1, 1},
			{1, 4, 9, 16, 16, 3, 2, 1}, {3, 2, 17, 12, 40, 3, 1, 0}, {2, 6, 16, 8, 8, 2, 2, 0},
		} {
			p := kernels.Conv(c.s, c.p)
			d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, c.k, c.k}, p)
			x, dy := bf16Inputs(g, c.n*c.ci*c.h*c.w), bf16Inputs(g, c.n*c.co*d.ho*d.wo)
			dw0 := randSlice(g, c.co*c.ci*c.k*c.k)
			dw, db := append([]float32(nil), dw0...), make([]float32, c.co)
			be.conv2dBackwardFilterFast(dw, db, dy, x, d)
			dw32 := append([]float32(nil), dw0...)
			New(3).conv2dBackwardFilterFast(dw32, make([]float32, c.co), dy, x, d)
			requireRounded(t, fmt.Sprintf("%+v", c), dw, dw32)
			dbRef := make([]float32, c.co)
			biasGradRef(dbRef, dy, c.n, c.co, d.ho*d.wo)
			for i := range db {
				if math.Abs(float64(db[i]-dbRef[i])) > 1e-5*(1+math.Abs(float64(dbRef[i]))) {
					t.Fatalf("%+v: db[%d] = %g, want %g", c, i, db[i], dbRef[i])
				}
			}
			for co := 0; co < c.co; co++ {
				for ci := 0; ci < c.ci; ci++ {
					for kh := 0; kh < c.k; kh++ {
						for kw := 0; kw < c.k; kw++ {
							var sum, mag float64
							terms := 0
							for n := 0; n < c.n; n++ {
								for oh := 0; oh < d.ho; oh++ {
									for ow := 0; ow < d.wo; ow++ {
										ih, iw := oh*c.s-c.p+kh, ow*c.s-c.p+kw
										if ih < 0 || ih >= c.h || iw < 0 || iw >= c.w {
											continue
										}
										v := float64(dy[((n*c.co+co)*d.ho+oh)*d.wo+ow]) * float64(x[((n*c.ci+ci)*c.h+ih)*c.w+iw])
										sum += v
										mag += math.Abs(v)
										terms++
									}
								}
							}
							i := ((co*c.ci+ci)*c.k+kh)*c.k + kw
							want := float64(dw0[i]) + sum
							gamma := math.Ldexp(1, -7) + math.Ldexp(1, -16) + 1.01*float64(terms+1)*math.Ldexp(1, -24)
							bound := gamma*mag + 2*math.Ldexp(math.Abs(want)+1, -24)
							if diff := math.Abs(float64(dw[i]) - want); !(diff <= bound) {
								t.Fatalf("%+v: dw[%d][%d][%d][%d] = %g, want %g +- %.3g", c, co, ci, kh, kw, dw[i], want, bound)
							}
						}
					}
				}
			}
		}
	})
}

// winoModel is Winograd F(2x2, 3x3) in float64 for the convolution of src
// (n, k, ih, iw) padded by (ph, pw) with the 3x3 kernels g (m, k): the
// exact outputs (oh, ow) and, for each, the bound on a BF16 run's error:
// the transformed operands U = G g G^T and V = B^T d B are rounded to
// bfloat16 (at most 2^-8 of themselves, after float32 transforms that add
// 2^-24 more), so each product U*V is off by at most 2^-7 + 2^-16 of
// itself, the float32 sums over k add k*2^-24, and the output transform
// A^T M A adds the 3x3 of |A^T| weights: bound(y) = gamma * sum_ab
// |A^T_ia A^T_jb| sum_c |U_ab| |V_ab|, plus a few float32 ulps.
func winoModel(src, g []float32, n, k, ih, iw, m, oh, ow, ph, pw int) (y, bound []float64) {
	bt := [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	gm := [4][3]float64{{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}}
	at := [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
	u := make([][4][4]float64, m*k)
	for i := range u {
		for a := 0; a < 4; a++ {
			for b := 0; b < 4; b++ {
				for r := 0; r < 3; r++ {
					for c := 0; c < 3; c++ {
						u[i][a][b] += gm[a][r] * gm[b][c] * float64(g[i*9+r*3+c])
					}
				}
			}
		}
	}
	y, bound = make([]float64, n*m*oh*ow), make([]float64, n*m*oh*ow)
	gamma := math.Ldexp(1, -7) + math.Ldexp(1, -16) + 1.01*float64(k+2)*math.Ldexp(1, -24)
	for s := 0; s < n; s++ {
		for ty := 0; 2*ty < oh; ty++ {
			for tx := 0; 2*tx < ow; tx++ {
				v := make([][4][4]float64, k)
				for c := 0; c < k; c++ {
					var d [4][4]float64
					for r := 0; r < 4; r++ {
						for q := 0; q < 4; q++ {
							yy, xx := 2*ty+r-ph, 2*tx+q-pw
							if yy >= 0 && yy < ih && xx >= 0 && xx < iw {
								d[r][q] = float64(src[((s*k+c)*ih+yy)*iw+xx])
							}
						}
					}
					for a := 0; a < 4; a++ {
						for b := 0; b < 4; b++ {
							for r := 0; r < 4; r++ {
								for q := 0; q < 4; q++ {
									v[c][a][b] += bt[a][r] * bt[b][q] * d[r][q]
								}
							}
						}
					}
				}
				for o := 0; o < m; o++ {
					var mm, mag [4][4]float64
					for c := 0; c < k; c++ {
						for a := 0; a < 4; a++ {
							for b := 0; b < 4; b++ {
								mm[a][b] += u[o*k+c][a][b] * v[c][a][b]
								mag[a][b] += math.Abs(u[o*k+c][a][b] * v[c][a][b])
							}
						}
					}
					for i := 0; i < 2 && 2*ty+i < oh; i++ {
						for j := 0; j < 2 && 2*tx+j < ow; j++ {
							var sum, bd float64
							for a := 0; a < 4; a++ {
								for b := 0; b < 4; b++ {
									sum += at[i][a] * at[j][b] * mm[a][b]
									bd += math.Abs(at[i][a]*at[j][b]) * mag[a][b]
								}
							}
							idx := ((s*m+o)*oh+2*ty+i)*ow + 2*tx + j
							y[idx], bound[idx] = sum, gamma*bd
						}
					}
				}
			}
		}
	}
	return y, bound
}

// TestWinogradBF16 runs the BF16 Winograd forward and backward-data at
// channel counts around the 12-row tiles and the 128-channel chunks (an odd
// last chunk), tile counts giving odd panel counts and several blocks, on
// each path, against winoModel.
func TestWinogradBF16(t *testing.T) {
	defer func(v, f bool) { winoAlways, wino4FP32 = v, f }(winoAlways, wino4FP32)
	winoAlways, wino4FP32 = true, false // F(2x2) on bfloat16 pairs on every plane
	g := tensor.NewRNG(25)
	type conv struct{ n, ci, co, h, w, p int }
	forEachISA(t, func(t *testing.T, _ ISA) {
		be := New(3)
		be.bf16 = true
		for _, c := range []conv{{1, 3, 5, 6, 9, 1}, {2, 24, 13, 12, 40, 1}, {1, 129, 7, 5, 5, 1}, {1, 8, 25, 9, 66, 0}, {3, 20, 14, 8, 8, 1}} {
			d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, kernels.Conv(1, c.p))
			x, w, bias := bf16Inputs(g, c.n*c.ci*c.h*c.w), bf16Inputs(g, c.co*c.ci*9), randSlice(g, c.co)
			y := make([]float32, c.n*c.co*d.ho*d.wo)
			if forwardAlgo(d) != algoWinograd {
				t.Fatalf("%+v: forward runs %v, not winograd", c, forwardAlgo(d))
			}
			be.conv2dFast(y, x, w, bias, d)
			y32 := make([]float32, len(y))
			New(3).conv2dFast(y32, x, w, bias, d)
			requireRounded(t, fmt.Sprintf("%+v forward", c), y, y32)
			want, bound := winoModel(x, w, c.n, c.ci, c.h, c.w, c.co, d.ho, d.wo, c.p, c.p)
			for i := range y {
				wi := want[i] + float64(bias[(i/(d.ho*d.wo))%c.co])
				if diff := math.Abs(float64(y[i]) - wi); !(diff <= bound[i]+4*math.Ldexp(math.Abs(wi)+1, -24)) {
					t.Fatalf("%+v forward: y[%d] = %g, want %g +- %.3g", c, i, y[i], wi, bound[i])
				}
			}
			// Backward-data: dx += conv(dy padded by 2-p) with the flipped,
			// transposed kernels.
			if backwardDataAlgo(d) != algoWinograd {
				t.Fatalf("%+v: backward-data runs %v, not winograd", c, backwardDataAlgo(d))
			}
			dy := bf16Inputs(g, len(y))
			dx0 := randSlice(g, len(x))
			dx := append([]float32(nil), dx0...)
			be.conv2dBackwardDataFast(dx, dy, w, d)
			wt := make([]float32, len(w))
			for co := 0; co < c.co; co++ {
				for ci := 0; ci < c.ci; ci++ {
					for tap := 0; tap < 9; tap++ {
						wt[(ci*c.co+co)*9+tap] = w[(co*c.ci+ci)*9+8-tap]
					}
				}
			}
			want, bound = winoModel(dy, wt, c.n, c.co, d.ho, d.wo, c.ci, c.h, c.w, 2-c.p, 2-c.p)
			for i := range dx {
				wi := want[i] + float64(dx0[i])
				if diff := math.Abs(float64(dx[i]) - wi); !(diff <= bound[i]+4*math.Ldexp(math.Abs(wi)+1, -24)) {
					t.Fatalf("%+v backward-data: dx[%d] = %g, want %g +- %.3g", c, i, dx[i], wi, bound[i])
				}
			}
		}
	})
}

// requireRounded fails unless got (a BF16 run) differs from the FP32 run's
// result somewhere by more than float32 rounding could: the BF16 path ran.
func requireRounded(t *testing.T, name string, got, fp32 []float32) {
	t.Helper()
	for i := range got {
		if math.Abs(float64(got[i]-fp32[i])) > math.Ldexp(math.Abs(float64(fp32[i]))+1, -14) {
			return
		}
	}
	t.Fatalf("%s: the BF16 result equals the FP32 one to 2^-14: the BF16 path did not run", name)
}

// TestConvBackwardFilterBF16Groups: the BF16 backward-filter lays groups of
// samples end to end (bf16_filter.go); any grouping and thread count gives
// results within the bound of TestConvBackwardFilterBF16, and one grouping
// gives the same bits on every thread count.
func TestConvBackwardFilterBF16Groups(t *testing.T) {
	if !HasBF16() {
		t.Skip("no AVX512_BF16")
	}
	saved := bf16GroupElems
	defer func() { bf16GroupElems = saved }()
	g := tensor.NewRNG(25)
	type conv struct{ n, ci, co, h, w, k, s, p int }
	for _, c := range []conv{
		{5, 3, 9, 10, 11, 3, 1, 1}, {3, 4, 9, 16, 16, 3, 2, 1}, {4, 2, 8, 6, 7, 3, 1, 2},
		{3, 2, 17, 12, 40, 3, 1, 0}, {4, 6, 16, 8, 8, 2, 2, 0}, {7, 8, 8, 4, 4, 3, 1, 1},
		{3, 3, 8, 5, 70, 3, 1, 1}, {3, 2, 9, 4, 66, 3, 1, 2}, {2, 2, 8, 5, 64, 3, 1, 0}, {4, 2, 8, 6, 7, 1, 1, 1}, {2, 3, 8, 3, 70, 1, 1, 1},
	} {
		p := kernels.Conv(c.s, c.p)
		d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, c.k, c.k}, p)
		x, dy := bf16Inputs(g, c.n*c.ci*c.h*c.w), bf16Inputs(g, c.n*c.co*d.ho*d.wo)
		want, mag := make([]float32, c.co*c.ci*c.k*c.k), make([]float32, c.co*c.ci*c.k*c.k)
		New(3).conv2dBackwardFilterFast(want, nil, dy, x, d)
		New(3).conv2dBackwardFilterFast(mag, nil, absSlice(dy), absSlice(x), d)
		for _, elems := range []int{1, 3000, 1 << 22} {
			bf16GroupElems = elems
			var first []float32
			for _, threads := range []int{1, 2, 3, 5} {
				be := New(threads)
				be.bf16 = true
				dw := make([]float32, len(want))
				be.conv2dBackwardFilterFast(dw, nil, dy, x, d)
				name := fmt.Sprintf("%+v elems %d threads %d", c, elems, threads)
				requireRounded(t, name, dw, want)
				for i := range dw {
					if diff := math.Abs(float64(dw[i] - want[i])); !(diff <= math.Ldexp(float64(mag[i]), -6)+1e-6) {
						t.Fatalf("%s: dw[%d] = %g, want %g (sum of |products| %g)", name, i, dw[i], want[i], mag[i])
					}
				}
				if first == nil {
					first = dw
				} else if !slices.Equal(first, dw) {
					t.Fatalf("%+v elems %d: threads %d differs from threads 1", c, elems, threads)
				}
			}
		}
	}
}

func absSlice(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(math.Abs(float64(x)))
	}
	return out
}

// TestCvtBF16MatchesRound: cvtBF16 (the kernel on runs of 32 and on the
// tail) equals bf16Round value by value, special values included, for
// lengths around the run of 32, and writes nothing past.
func TestCvtBF16MatchesRound(t *testing.T) {
	g := tensor.NewRNG(26)
	special := []uint32{0x3f808000, 0x3f818000, 0xbf80ffff, 0x7f7fffff, 0x7f800000,
		0x7f800001, 0x00000001, 0x807fffff, 0x00800000, 0xff800000, 0x80000000}
	for _, n := range []int{1, 2, 7, 31, 32, 33, 63, 64, 65, 90, 130} {
		src := bf16Inputs(g, n)
		for i, b := range special {
			if 3*i < n {
				src[3*i] = math.Float32frombits(b)
			}
		}
		got := make([]uint16, n+1)
		got[n] = 0xbeef
		cvtBF16(got[:n], src)
		for i, v := range src {
			if want := bf16Round(v); got[i] != want {
				t.Fatalf("n %d: value %d (%#08x) = %#04x, want %#04x", n, i, math.Float32bits(v), got[i], want)
			}
		}
		if got[n] != 0xbeef {
			t.Fatalf("n %d: wrote past the end", n)
		}
	}
}
