package cpu

import (
	"fmt"
	"math"
	"testing"

	"suture/tensor"
)

// wfCase is one weight-gradient case: n samples of ci channels (h, w), co
// output channels, padding p.
type wfCase struct{ n, ci, co, h, w, p int }

// wfModel is the Winograd weight gradient in float64: for every (co, ci)
// pair the 4x4 sums S = sum_t Z_t .* V_t and M = sum_t |Z_t| .* |V_t| of
// the transforms of dy's 2x2 tiles and x's 4x4 patches, returned as
// dg = G^T S G and mag = |G|^T M |G| (both (co, ci, 3, 3)). mag bounds how
// far a sum of products of rounded Z and V can move dg: each product's
// rounding error is at most a fraction of |Z||V|.
func wfModel(c wfCase, x, dy []float32) (dg, mag []float64) {
	ho, wo := c.h+2*c.p-2, c.w+2*c.p-2
	th, tw := (ho+1)/2, (wo+1)/2
	at := func(img []float32, rows, cols, r, q int) float64 {
		if r < 0 || r >= rows || q < 0 || q >= cols {
			return 0
		}
		return float64(img[r*cols+q])
	}
	bt := [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	a := [4][2]float64{{1, 0}, {1, 1}, {1, -1}, {0, -1}}
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	dg, mag = make([]float64, c.co*c.ci*9), make([]float64, c.co*c.ci*9)
	for m := 0; m < c.co; m++ {
		for k := 0; k < c.ci; k++ {
			var s, sm [4][4]float64
			for n := 0; n < c.n; n++ {
				xi := x[(n*c.ci+k)*c.h*c.w:][:c.h*c.w]
				yi := dy[(n*c.co+m)*ho*wo:][:ho*wo]
				for ty := 0; ty < th; ty++ {
					for tx := 0; tx < tw; tx++ {
						var v, z [4][4]float64
						for i := 0; i < 4; i++ {
							for j := 0; j < 4; j++ {
								for p := 0; p < 4; p++ {
									for q := 0; q < 4; q++ {
										v[i][j] += bt[i][p] * at(xi, c.h, c.w, 2*ty-c.p+p, 2*tx-c.p+q) * bt[j][q]
									}
								}
								for p := 0; p < 2; p++ {
									for q := 0; q < 2; q++ {
										z[i][j] += a[i][p] * at(yi, ho, wo, 2*ty+p, 2*tx+q) * a[j][q]
									}
								}
								s[i][j] += z[i][j] * v[i][j]
								sm[i][j] += math.Abs(z[i][j] * v[i][j])
							}
						}
					}
				}
			}
			for r := 0; r < 3; r++ {
				for q := 0; q < 3; q++ {
					o := ((m*c.ci+k)*3+r)*3 + q
					for i := 0; i < 4; i++ {
						for j := 0; j < 4; j++ {
							dg[o] += g[i][r] * s[i][j] * g[j][q]
							mag[o] += math.Abs(g[i][r]) * sm[i][j] * math.Abs(g[j][q])
						}
					}
				}
			}
		}
	}
	return dg, mag
}

// TestWinogradFilterAccuracy bounds the rounding error of the Winograd
// weight gradient against an exact (float64) sum, next to the direct
// path's, on layers with 32 to 320 channels and planes from 4x4 to 33x31:
// the transforms add a few roundings per product, so the error may grow
// by a small factor, not by orders of magnitude.
func TestWinogradFilterAccuracy(t *testing.T) {
	defer func(w, a bool) { useWinograd, winoAlways = w, a }(useWinograd, winoAlways)
	g := tensor.NewRNG(31)
	for _, c := range []wfCase{{2, 32, 24, 33, 31, 1}, {3, 128, 64, 8, 8, 1}, {8, 320, 40, 4, 4, 1}, {1, 40, 48, 12, 10, 0}} {
		ho, wo := c.h+2*c.p-2, c.w+2*c.p-2
		x, dy := randSlice(g, c.n*c.ci*c.h*c.w), randSlice(g, c.n*c.co*ho*wo)
		d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, convParams(convCase{c.n, c.ci, c.co, c.h, c.w, 3, 3, 1, 1, c.p, c.p}))
		exact, mag := wfModel(c, x, dy)
		scale := 0.0
		for _, v := range mag {
			scale = max(scale, v)
		}
		maxErr := func(winograd bool) float64 {
			useWinograd, winoAlways = winograd, winograd
			if got := backwardFilterAlgo(d, false); (got == algoWinograd) != winograd {
				t.Fatalf("%+v: the dispatch picks %v", c, got)
			}
			dw := make([]float32, c.co*c.ci*9)
			New(2).conv2dBackwardFilterFast(dw, nil, dy, x, d)
			e := 0.0
			for i, v := range dw {
				e = max(e, math.Abs(float64(v)-exact[i]))
			}
			return e / scale
		}
		direct, wino := maxErr(false), maxErr(true)
		t.Logf("%+v: max error / max sum|terms|: direct %.2e, Winograd %.2e", c, direct, wino)
		if wino > 8*direct+1e-7 {
			t.Errorf("%+v: Winograd error %.2e, more than 8x the direct path's %.2e", c, wino, direct)
		}
	}
}

// TestWinogradFilterBF16: the BF16 Winograd weight gradient on each path
// against the float64 model, within a bound derived from bfloat16's
// rounding: Z and V are rounded to bfloat16 (relative error u = 2^-8 each,
// so a product is off by at most (2u + u^2)|Z||V|), the products are
// summed in float32 over at most n*tiles terms (gamma of TestSgemmBF16),
// and the output transform G^T S G adds the same fractions of |G|^T M |G|;
// the float32 transforms before the rounding add a few 2^-24 of it.
func TestWinogradFilterBF16(t *testing.T) {
	defer func(w, a bool) { useWinograd, winoAlways = w, a }(useWinograd, winoAlways)
	useWinograd, winoAlways = true, true
	g := tensor.NewRNG(32)
	forEachISA(t, func(t *testing.T, _ ISA) {
		for _, c := range []wfCase{{1, 1, 1, 3, 3, 1}, {2, 5, 9, 17, 33, 1}, {3, 24, 17, 12, 40, 0}, {4, 33, 8, 8, 8, 2}} {
			ho, wo := c.h+2*c.p-2, c.w+2*c.p-2
			name := fmt.Sprintf("%+v", c)
			x, dy := bf16Inputs(g, c.n*c.ci*c.h*c.w), bf16Inputs(g, c.n*c.co*ho*wo)
			d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, convParams(convCase{c.n, c.ci, c.co, c.h, c.w, 3, 3, 1, 1, c.p, c.p}))
			if backwardFilterAlgo(d, true) != algoWinograd {
				t.Fatalf("%s: not the Winograd path", name)
			}
			be := New(3)
			be.bf16 = true
			dw0 := randSlice(g, c.co*c.ci*9)
			dw := append([]float32(nil), dw0...)
			be.conv2dBackwardFilterFast(dw, nil, dy, x, d)
			dw32 := append([]float32(nil), dw0...)
			New(3).conv2dBackwardFilterFast(dw32, nil, dy, x, d)
			requireRounded(t, name, dw, dw32)
			exact, mag := wfModel(c, x, dy)
			terms := c.n * ((ho + 1) / 2) * ((wo + 1) / 2)
			gamma := math.Ldexp(1, -7) + math.Ldexp(1, -16) + 1.01*float64(terms+1)*math.Ldexp(1, -24) + 16*math.Ldexp(1, -24)
			for i := range dw {
				want := float64(dw0[i]) + exact[i]
				bound := gamma*mag[i] + 2*math.Ldexp(math.Abs(want)+1, -24)
				if diff := math.Abs(float64(dw[i]) - want); !(diff <= bound) {
					t.Fatalf("%s: dw[%d] = %g, want %g +- %.3g", name, i, dw[i], want, bound)
				}
			}
		}
	})
}

// TestWeightGradientOrders: the transforms one channel at a time (wfRows)
// and the dot sums with dy's rows outer (dotRowsOuter) only reorder memory
// traffic, so the weight gradients, direct and Winograd, FP32 and BF16, on
// every path, must be the bits of the old orders: at plane widths around
// the 8-tile runs (narrow planes, row ends) and channel counts around the
// 4- and 8-row kernels and the 3-tap groups.
func TestWeightGradientOrders(t *testing.T) {
	defer func(w, a, r, o bool) { useWinograd, winoAlways, wfRows, dotRowsOuter = w, a, r, o }(useWinograd, winoAlways, wfRows, dotRowsOuter)
	g := tensor.NewRNG(33)
	forEachISA(t, func(t *testing.T, _ ISA) {
		for _, c := range []wfCase{{2, 5, 9, 17, 33, 1}, {3, 24, 17, 12, 40, 0}, {1, 13, 12, 4, 6, 1}, {2, 7, 20, 34, 18, 1}, {4, 33, 8, 8, 8, 1}} {
			ho, wo := c.h+2*c.p-2, c.w+2*c.p-2
			x, dy := randSlice(g, c.n*c.ci*c.h*c.w), randSlice(g, c.n*c.co*ho*wo)
			d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, convParams(convCase{c.n, c.ci, c.co, c.h, c.w, 3, 3, 1, 1, c.p, c.p}))
			dw0 := randSlice(g, c.co*c.ci*9)
			for _, wino := range []bool{false, true} {
				for _, bf := range []bool{false, true} {
					if bf && !HasBF16() {
						continue
					}
					run := func(newOrder bool) []float32 {
						useWinograd, winoAlways, wfRows, dotRowsOuter = wino, wino, newOrder, newOrder
						be := New(2)
						be.bf16 = bf
						dw := append([]float32(nil), dw0...)
						be.conv2dBackwardFilterFast(dw, nil, dy, x, d)
						return dw
					}
					sameBits(t, fmt.Sprintf("%+v winograd=%v bf16=%v", c, wino, bf), run(true), run(false))
				}
			}
		}
	})
}
