package cpu

import (
	"fmt"
	"math"
	"testing"

	"suture/kernels"
	"suture/tensor"
)

// withWino4 runs f with F(4x4, 3x3) taken by every Winograd pass, on the
// avx512 path (the only one that has it); it skips, saying why, elsewhere.
func withWino4(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if !avx512Available {
		t.Skip("F(4x4, 3x3) runs on the avx512 path only: this CPU lacks AVX-512 F/BW/VL")
	}
	saved := CurrentISA()
	defer func(always bool, minW, minF int) {
		winoAlways, wino4MinWidth, wino4FilterMinWidth = always, minW, minF
		if err := SetISA(saved); err != nil {
			t.Fatal(err)
		}
	}(winoAlways, wino4MinWidth, wino4FilterMinWidth)
	if err := SetISA(ISAAVX512); err != nil {
		t.Fatal(err)
	}
	winoAlways, wino4MinWidth, wino4FilterMinWidth = true, 1, 1
	f(t)
}

// wino4Cases are winogradCases plus tile rows around the 16-tile runs of
// the kernels (widths 4*15 to 4*17, clipped tiles at the right and bottom)
// and the blocks (the 128-channel chunks take 16-tile blocks).
func wino4Cases() []convCase {
	return append(winogradCases(),
		convCase{1, 3, 5, 60, 61, 3, 3, 1, 1, 1, 1},
		convCase{2, 4, 7, 13, 64, 3, 3, 1, 1, 1, 1},
		convCase{1, 5, 6, 9, 66, 3, 3, 1, 1, 0, 0},
		convCase{1, 6, 3, 10, 70, 3, 3, 1, 1, 2, 2},
		convCase{3, 16, 13, 17, 19, 3, 3, 1, 1, 1, 1},
		convCase{1, 129, 8, 8, 68, 3, 3, 1, 1, 1, 1},
		convCase{2, 24, 30, 36, 36, 3, 3, 1, 1, 1, 1},
		// Planes 8 tiles wide (29 to 32): pairs of tile rows per 16 lanes,
		// a bottom row left alone, samples sharing blocks.
		convCase{3, 16, 13, 16, 32, 3, 3, 1, 1, 1, 1},
		convCase{2, 7, 9, 13, 29, 3, 3, 1, 1, 1, 1},
		convCase{5, 6, 7, 8, 30, 3, 3, 1, 1, 0, 0},
		convCase{2, 30, 26, 21, 32, 3, 3, 1, 1, 2, 2},
	)
}

// TestWinograd4MatchesReference runs every case through the public conv
// entry points with F(4x4, 3x3) forced on, against the plain reference,
// 1 to 3 goroutines.
func TestWinograd4MatchesReference(t *testing.T) {
	withWino4(t, func(t *testing.T) {
		g := tensor.NewRNG(41)
		for _, threads := range []int{1, 2, 3} {
			fast := New(threads)
			for _, c := range wino4Cases() {
				d := makeConvDims(tensor.Shape{c.n, c.ci, c.h, c.w}, tensor.Shape{c.co, c.ci, 3, 3},
					kernels.ConvParams{StrideH: 1, StrideW: 1, PadH: c.ph, PadW: c.pw})
				if a := fast.forwardAlgo(d); a != algoWinograd4 {
					t.Fatalf("%v: forward runs %v", c, a)
				}
				if a := backwardFilterAlgo(d, false); a != algoWinograd4 {
					t.Fatalf("%v: backward-filter runs %v", c, a)
				}
				checkConvAgainstRef(t, fast, c, g)
			}
		}
	})
}

// TestWinograd4Deterministic: the same bits for any thread count.
func TestWinograd4Deterministic(t *testing.T) {
	withWino4(t, func(t *testing.T) {
		for _, c := range []convCase{{3, 20, 12, 33, 71, 3, 3, 1, 1, 1, 1}, {5, 20, 13, 8, 8, 3, 3, 1, 1, 1, 1}, {3, 26, 19, 6, 10, 3, 3, 1, 1, 1, 1}} {
			winogradDeterministic(t, c)
		}
	})
}

// TestWinograd4Kernels: the AVX-512 transform kernels give the bits of
// winoF4InputTile and winoF4OutputTile, lane for lane (inputs of mixed
// magnitudes, so that a changed order of operations would show), and write
// only the lanes, rows and columns their masks name.
func TestWinograd4Kernels(t *testing.T) {
	if !avx512Available {
		t.Skip("no AVX-512 F/BW/VL on this CPU: the kernels cannot run")
	}
	g := tensor.NewRNG(42)
	mixed := func(n int) []float32 {
		s := g.Rand(n).Data
		for i := range s {
			s[i] *= float32(math.Pow(10, float64(i%7-3)))
		}
		return s
	}
	const n, pitch, xs = 3, 23, 3*16 + 5
	checkWino4Transform(t, "input", mixed, pitch, 7*pitch, 3, []int{16, 5, 1}, winoInput4, winoF4InputTile,
		func(src []float32, o, ps, i, j int) float32 { return src[o+(j%4)*ps+i*pitch+j/4] })
	kt := make([]float32, 36*16)
	const mStep, ow, yStep = 17, 67, 4 * 67
	m := mixed(n*mStep + 35*xs + 16)
	bias := mixed(n)
	for _, acc := range []bool{false, true} {
		for _, rc := range [][3]int{{4, 64, 32}, {3, 23, 32}, {1, 1, 32}, {2, 48, 32}, {4, 64, 33}, {3, 40, 35}} {
			rows, cols, hi := rc[0], rc[1], rc[2]
			y := mixed(n * yStep)
			y0 := append([]float32(nil), y...)
			winoOutput4(n, y, yStep, ow, m, mStep, xs, bias, 1, acc, kt, rows, int(uint64(1)<<cols-1), hi)
			for c := 0; c < n; c++ {
				for l := 0; l < 16; l++ {
					tile := winoF4OutputTile(m[c*mStep+l:], xs, bias[c])
					for r := 0; r < 4; r++ {
						for q := 0; q < 4; q++ {
							i := c*yStep + r*ow + 4*l + q
							if l >= 8 {
								i += hi - 32
							}
							w := tile[r][q]
							if acc {
								w += y0[i]
							}
							if r >= rows || 4*l+q >= cols {
								w = y0[i]
							}
							if math.Float32bits(y[i]) != math.Float32bits(w) {
								t.Fatalf("output (accumulate %v, %d rows, %d columns, hi %d): channel %d lane %d (%d, %d): %v, want %v", acc, rows, cols, hi, c, l, r, q, y[i], w)
							}
						}
					}
				}
			}
		}
	}
}

// TestWinograd4GradKernel: winoGrad4KernelZ gives the bits of
// winoF4GradTile lane for lane and writes only the lanes its mask names.
func TestWinograd4GradKernel(t *testing.T) {
	if !avx512Available {
		t.Skip("no AVX-512 F/BW/VL on this CPU: the kernel cannot run")
	}
	g := tensor.NewRNG(44)
	mixed := func(n int) []float32 {
		s := g.Rand(n).Data
		for i := range s {
			s[i] *= float32(math.Pow(10, float64(i%5-2)))
		}
		return s
	}
	const pitch = 21
	checkWino4Transform(t, "Z", mixed, pitch, 5*pitch, 2, []int{16, 7, 1}, winoGrad4, winoF4GradTile,
		func(src []float32, o, ps, i, j int) float32 { return src[o+j*ps+i*pitch] })
}

// checkWino4Transform checks that kernel gives the bits of mirror lane for
// lane, on 3 channels of mixed-magnitude inputs whose phase planes are ps
// apart (rows pitch apart), writing only the lanes of its mask, for each
// count of lanes; with 16 lanes also split, lanes 8-15 read hiRows rows
// down. at reads element (i, j) of the patch whose first element is at
// src[o].
func checkWino4Transform(t *testing.T, name string, mixed func(int) []float32, pitch, ps, hiRows int, lanesList []int,
	kernel func(n int, dst []float32, dstStep, xs int, src []float32, srcStep, g, ps int, kt []float32, mask, hi int),
	mirror func(dst []float32, xs int, at func(i, j int) float32),
	at func(src []float32, o, ps, i, j int) float32) {
	t.Helper()
	const n, xs, dstStep = 3, 3*16 + 5, 16
	srcStep := 4 * ps
	src := mixed(n*srcStep + 64)
	kt := make([]float32, 36*16)
	want := make([]float32, 36)
	for _, lanes := range lanesList {
		v := mixed(36*xs + n*dstStep)
		v0 := append([]float32(nil), v...)
		hi := 0
		if lanes == 16 {
			hi = hiRows * pitch // and again split
		}
		for ; hi >= 0; hi -= hiRows * pitch {
			kernel(n, v, dstStep, xs, src, srcStep, pitch, ps, kt, 1<<lanes-1, hi)
			for c := 0; c < n; c++ {
				for l := 0; l < 16; l++ {
					lo := l
					if hi > 0 && l >= 8 {
						lo = hi + l - 8
					}
					mirror(want, 1, func(i, j int) float32 { return at(src, c*srcStep+lo, ps, i, j) })
					for xi := 0; xi < 36; xi++ {
						w := want[xi]
						if l >= lanes {
							w = v0[c*dstStep+xi*xs+l]
						}
						if got := v[c*dstStep+xi*xs+l]; math.Float32bits(got) != math.Float32bits(w) {
							t.Fatalf("%s, %d lanes, hi %d: channel %d lane %d xi %d: %v, want %v", name, lanes, hi, c, l, xi, got, w)
						}
					}
				}
			}
		}
	}
}

// f4F2Errors runs run with F(4x4, 3x3) on, then off (F(2x2, 3x3)), and
// returns each result's largest error against want relative to want's
// largest magnitude.
func f4F2Errors(want []float64, run func() []float32) (e4, e2 float64) {
	rel := func() float64 {
		var maxErr, maxW float64
		for i, v := range run() {
			maxErr = max(maxErr, math.Abs(float64(v)-want[i]))
			maxW = max(maxW, math.Abs(want[i]))
		}
		return maxErr / maxW
	}
	e4 = rel()
	defer func(saved bool) { useWino4 = saved }(useWino4)
	useWino4 = false
	return e4, rel()
}

// TestWinograd4FilterError measures the weight gradient's rounding by
// F(4x4, 3x3) and F(2x2, 3x3) against a float64 sum, on a layer of 32
// channels in and out over 8 samples of 64x64 (a sum of 32768 products per
// weight): the largest error relative to the largest |dw|. The bound, 2^-16,
// is the forward's (TestWinograd4Error).
func TestWinograd4FilterError(t *testing.T) {
	withWino4(t, func(t *testing.T) {
		const n, ci, co, h, w = 8, 32, 32, 64, 64
		g := tensor.NewRNG(45)
		x, dy := g.Rand(n, ci, h, w), g.Rand(n, co, h, w)
		p := kernels.ConvParams{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
		want := make([]float64, co*ci*9)
		for s := 0; s < n; s++ {
			for o := 0; o < co; o++ {
				for c := 0; c < ci; c++ {
					for kh := 0; kh < 3; kh++ {
						for kw := 0; kw < 3; kw++ {
							var sum float64
							for i := max(0, 1-kh); i < min(h, h+1-kh); i++ {
								xr := x.Data[((s*ci+c)*h+i+kh-1)*w:]
								yr := dy.Data[((s*co+o)*h+i)*w:]
								for j := max(0, 1-kw); j < min(w, w+1-kw); j++ {
									sum += float64(xr[j+kw-1]) * float64(yr[j])
								}
							}
							want[((o*ci+c)*3+kh)*3+kw] += sum
						}
					}
				}
			}
		}
		e4, e2 := f4F2Errors(want, func() []float32 {
			dw := tensor.New(co, ci, 3, 3)
			must(t, New(2).Conv2dBackwardFilter(dw, nil, dy, x, p))
			return dw.Data
		})
		t.Logf("largest error / largest |dw|: F(4x4, 3x3) %.3g, F(2x2, 3x3) %.3g (ratio %.1f)", e4, e2, e4/e2)
		if e4 > 1.0/65536 {
			t.Errorf("F(4x4, 3x3): largest error %.3g of the largest |dw|, above 2^-16", e4)
		}
	})
}

// TestWinograd4Error measures the rounding of F(4x4, 3x3) and F(2x2, 3x3)
// against a float64 sum on a U-Net layer's shape (64 channels in and out,
// inputs and weights uniform in [-1, 1)): the largest error over the
// outputs, relative to the largest output. F(4x4)'s transforms scale by up
// to 5 (B) and 8 (A), and its weights' by 1/6 and 1/24 are not exact, so it
// rounds more; the bound, 2^-16 (about 64 float32 ulps of the largest
// output), is what a sum of 576 products rounded at most a few times per
// term in its transforms stays under, with room.
func TestWinograd4Error(t *testing.T) {
	withWino4(t, func(t *testing.T) {
		const n, ci, co, h, w = 2, 64, 64, 32, 32
		g := tensor.NewRNG(43)
		x, wt := g.Rand(n, ci, h, w), g.Rand(co, ci, 3, 3)
		p := kernels.ConvParams{StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
		want := make([]float64, n*co*h*w)
		for s := 0; s < n; s++ {
			for o := 0; o < co; o++ {
				for i := 0; i < h; i++ {
					for j := 0; j < w; j++ {
						var sum float64
						for c := 0; c < ci; c++ {
							for kh := 0; kh < 3; kh++ {
								for kw := 0; kw < 3; kw++ {
									ih, iw := i+kh-1, j+kw-1
									if ih >= 0 && ih < h && iw >= 0 && iw < w {
										sum += float64(x.Data[((s*ci+c)*h+ih)*w+iw]) * float64(wt.Data[((o*ci+c)*3+kh)*3+kw])
									}
								}
							}
						}
						want[((s*co+o)*h+i)*w+j] = sum
					}
				}
			}
		}
		e4, e2 := f4F2Errors(want, func() []float32 {
			y := tensor.New(n, co, h, w)
			must(t, New(2).Conv2d(y, x, wt, nil, p))
			return y.Data
		})
		t.Logf("largest error / largest output: F(4x4, 3x3) %.3g, F(2x2, 3x3) %.3g (ratio %.1f)", e4, e2, e4/e2)
		if e4 > 1.0/65536 {
			t.Errorf("F(4x4, 3x3): largest error %.3g of the largest output, above 2^-16", e4)
		}
	})
}

// BenchmarkWinograd4Weights: the F(4x4, 3x3) weight transform alone,
// wino4weights/MxK.
func BenchmarkWinograd4Weights(b *testing.B) {
	for _, s := range [][2]int{{64, 64}, {256, 256}} {
		m, k := s[0], s[1]
		w := tensor.NewRNG(4).Rand(m, k, 3, 3).Data
		up := make([]float32, 36*m6(m)*k)
		b.Run(fmt.Sprintf("%dx%d", m, k), func(b *testing.B) {
			for b.Loop() {
				winograd4Weights(1, up, m, k, w, false)
			}
		})
	}
}

// TestWino4Worth: which U-Net layers take F(4x4, 3x3) on the avx512 path:
// forward and backward-data from 32 wide, also in BF16 runs (in FP32);
// the weight gradient from 32 wide with 24 channels on both sides, FP32
// runs only.
func TestWino4Worth(t *testing.T) {
	if !avx512Available {
		t.Skip("F(4x4, 3x3) runs on the avx512 path only: this CPU lacks AVX-512 F/BW/VL")
	}
	saved := CurrentISA()
	defer func() {
		if err := SetISA(saved); err != nil {
			t.Fatal(err)
		}
	}()
	if err := SetISA(ISAAVX512); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ow         int
		bf16, want bool
	}{{128, false, true}, {32, false, true}, {16, false, false}, {128, true, true}, {16, true, false}} {
		if got := wino4Worth(c.bf16, c.ow); got != c.want {
			t.Errorf("wino4Worth(%v, %d) = %v, want %v", c.bf16, c.ow, got, c.want)
		}
	}
	for _, c := range []struct {
		ci, co, ow int
		bf16, want bool
	}{{32, 32, 128, false, true}, {64, 64, 64, false, true}, {24, 48, 128, false, true}, {128, 128, 32, false, true}, {256, 256, 16, false, false}, {16, 32, 128, false, false}, {64, 64, 64, true, false}} {
		if got := wino4FilterWorth(c.ci, c.co, c.ow, c.bf16); got != c.want {
			t.Errorf("wino4FilterWorth(%d, %d, %d, %v) = %v, want %v", c.ci, c.co, c.ow, c.bf16, got, c.want)
		}
	}
}

// TestWinograd4InBF16Runs: in a BF16 run the forward and backward-data
// passes that take F(4x4, 3x3) run it in FP32, the bits of an FP32 run
// (where the CPU has BF16).
func TestWinograd4InBF16Runs(t *testing.T) {
	if !HasBF16() {
		t.Skip("no AVX512_BF16 on this CPU: no BF16 runs")
	}
	withWino4(t, func(t *testing.T) {
		g := tensor.NewRNG(47)
		c := convCase{2, 24, 26, 33, 40, 3, 3, 1, 1, 1, 1}
		d := makeConvDims([]int{c.n, c.ci, c.h, c.w}, []int{c.co, c.ci, 3, 3}, convParams(c))
		x, w, bias := randSlice(g, c.n*c.ci*c.h*c.w), randSlice(g, c.co*c.ci*9), randSlice(g, c.co)
		dy, dx0 := randSlice(g, c.n*c.co*d.ho*d.wo), randSlice(g, len(x))
		run := func(bf16 bool) (y, dx []float32) {
			be := New(2)
			must(t, be.SetBF16(bf16))
			if a := be.forwardAlgo(d); a != algoWinograd4 {
				t.Fatalf("bf16 %v: forward runs %v", bf16, a)
			}
			if a := be.backwardDataAlgo(d); a != algoWinograd4 {
				t.Fatalf("bf16 %v: backward-data runs %v", bf16, a)
			}
			y, dx = make([]float32, c.n*c.co*d.ho*d.wo), append([]float32(nil), dx0...)
			be.conv2dFast(y, x, w, bias, d)
			be.conv2dBackwardDataFast(dx, dy, w, d)
			return y, dx
		}
		yb, dxb := run(true)
		y, dx := run(false)
		sameBits(t, "forward", yb, y)
		sameBits(t, "backward-data", dxb, dx)
	})
}
